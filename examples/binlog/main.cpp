// rowcast-binlog: prints binlog events as rowcast events, a structured mysqlbinlog,
// from binlog files or from a running server followed as a replica.
//
//   rowcast-binlog [options] FILE...                      files
//   rowcast-binlog --host H|--socket S [options]          follow a server (COM_BINLOG_DUMP)
//     --format json|yaml|binary   output: JSON Lines (default), YAML documents, or the binary codec
//     --schema NAME               only events of this database (repeatable)
//     --table NAME                only rows of this table (repeatable; "db.table" or "table")
//     --start-position N          files: emit only events at file offsets >= N (first file); earlier
//                                 TABLE_MAP/FORMAT_DESCRIPTION events are still read.
//                                 follow: the offset in --start-file to start at (default 4)
//     --stop-position N           files: stop at the first event at offset >= N (last file)
//     --statements-as-ddl         pass statement-based DML through as ddl events instead of failing
//     --no-checksum-verify        do not verify CRC32 trailers
//   follow mode:
//     --host H --port N           server address (port 3306 by default), or
//     --socket PATH               its Unix socket
//     --user U --password P       credentials (mysql_native_password); the password may come
//                                 from the environment variable MYSQL_PWD instead
//     --server-id N               this replica's id (default 4242; unique among replicas)
//     --start-file F              first binlog file (default: the oldest the server has)
//     --gtid STATE                start after this GTID state ("0-1-42,…" MariaDB, "uuid:1-42" MySQL)
//     --checkpoint FILE           resume from FILE if it exists; save the position there after
//                                 every transaction (atomic; see docs/binlog.md)
//     --spool DIR                 write the events (in --format) into the spool directory DIR
//                                 instead of stdout, each committed transaction exactly once
//                                 across kill -9 and restarts (needs --checkpoint; see
//                                 docs/binlog.md "Checkpoints and resume")
//     --spool-durability D        none|file|full (default full): fsyncs of staged files, the
//                                 checkpoint and the directories (full survives a power loss)
//     --stop-at-end               stop at the current end of the binlog instead of waiting
//     --start-at-current          without a saved checkpoint, start at the server's current end
//                                 (only changes made from now on; needs BINLOG MONITOR /
//                                 REPLICATION CLIENT for SHOW MASTER STATUS)
//     --heartbeat-ms N            heartbeat period asked of the server (default 5000; 0 = none)
//   SIGINT/SIGTERM stop following cleanly (the checkpoint is saved).
// Column names come from TABLE_MAP metadata (binlog_row_metadata=FULL); "@1", "@2"… otherwise.
// Exit codes: 0 ok, 1 a file could not be decoded or the server failed (the error says
// where and why), 2 usage.
#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/binlog/spool_sink.hpp>
#include <rowcast/binlog/follower.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace {

int usage(const char* msg) {
    std::fprintf(stderr,
                 "rowcast-binlog: %s\nusage: rowcast-binlog [--format json|yaml|binary] [--schema DB]... [--table T]...\n"
                 "       [--start-position N] [--stop-position N] [--statements-as-ddl] [--no-checksum-verify] FILE...\n"
                 "   or: rowcast-binlog (--host H [--port N] | --socket PATH) [--user U] [--password P] [--server-id N]\n"
                 "       [--start-file F] [--start-position N] [--gtid STATE] [--checkpoint FILE] [--stop-at-end]\n"
                 "       [--start-at-current] [--heartbeat-ms N] [--spool DIR [--spool-durability none|file|full]] [--format …]\n"
                 "       [--schema DB]... [--table T]...\n",
                 msg);
    return 2;
}

bool parse_number(const char* v, std::uint64_t& out) {
    if (!v || !*v) return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtoull(v, &end, 10);
    return end && !*end && errno == 0;
}

// The follower being run, for the signal handler (stop() is async-signal-safe).
std::atomic<rowcast::binlog::follower*> g_follower{nullptr};
extern "C" void on_signal(int) {
    if (auto* f = g_follower.load()) f->stop();
}

void print_stats(const rowcast::binlog::parser_stats& st) {
    std::fprintf(stderr, "rowcast-binlog: %llu events, %llu row events, %llu rows, %llu transactions, %llu ignorable skipped\n",
                 static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(st.row_events),
                 static_cast<unsigned long long>(st.rows), static_cast<unsigned long long>(st.transactions),
                 static_cast<unsigned long long>(st.skipped_ignorable));
}

// Follows into a spool directory, exactly once (binlog/spool_sink.hpp): `write` (the
// output function the adapter's sink calls) stages into the spool sink, which is also
// the follower's checkpoint store.
template <class Codec, class Adapter>
rowcast::result<void> follow_into_spool(rowcast::binlog::follower& f, Adapter& adapter,
                                        std::function<rowcast::result<void>(const rowcast::event&)>& write,
                                        rowcast::binlog::spool_sink_options so) {
    auto sink = rowcast::binlog::spool_sink<Codec>::open(std::move(so));
    if (!sink) return sink.error_value();
    const auto& rec = sink->recovery();
    if (rec.published > 0 || rec.removed > 0)
        std::fprintf(stderr, "rowcast-binlog: spool recovery: %zu staged events published (checkpointed before a crash), "
                             "%zu removed (not checkpointed; delivered again)\n", rec.published, rec.removed);
    write = [&s = *sink](const rowcast::event& e) { return s(e); };
    auto r = f.run(adapter, *sink);
    write = [](const rowcast::event&) -> rowcast::result<void> {  // the sink is gone
        return rowcast::error::make(rowcast::errc::io_error, "binlog", "spool", "spool sink closed");
    };
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::string format = "json";
    std::set<std::string> schemas, tables;
    std::uint64_t start = 0, stop = UINT64_MAX;
    bool start_given = false;
    rowcast::binlog::parser_options po;
    rowcast::binlog::reader_options ro;
    std::vector<std::string> files;
    // follow mode
    rowcast::binlog::follower_options fo;
    fo.stream.connection.host.clear();
    std::string checkpoint;
    bool start_at_current = false;
    std::string spool;
    rowcast::spool_durability spool_durability = rowcast::spool_durability::file_and_directory;
    if (const char* pw = std::getenv("MYSQL_PWD")) fo.stream.connection.password = pw;
    if (const char* u = std::getenv("USER")) fo.stream.connection.user = u;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        std::uint64_t n = 0;
        if (a == "--format") {
            const char* v = next();
            if (!v) return usage("--format needs a value");
            format = v;
            if (format != "json" && format != "yaml" && format != "binary") return usage("unknown format");
        } else if (a == "--schema") {
            const char* v = next();
            if (!v) return usage("--schema needs a value");
            schemas.insert(v);
        } else if (a == "--table") {
            const char* v = next();
            if (!v) return usage("--table needs a value");
            tables.insert(v);
        } else if (a == "--start-position" || a == "--stop-position") {
            if (!parse_number(next(), n)) return usage("positions are byte offsets");
            (a == "--start-position" ? start : stop) = n;
            if (a == "--start-position") start_given = true;
        } else if (a == "--statements-as-ddl") {
            po.statements_as_ddl = true;
        } else if (a == "--no-checksum-verify") {
            ro.verify_checksum = false;
            fo.stream.verify_checksum = false;
        } else if (a == "--host" || a == "--socket" || a == "--user" || a == "--password" || a == "--start-file" ||
                   a == "--gtid" || a == "--checkpoint" || a == "--spool") {
            const char* v = next();
            if (!v) return usage((a + " needs a value").c_str());
            if (a == "--host") fo.stream.connection.host = v;
            else if (a == "--socket") fo.stream.connection.socket = v;
            else if (a == "--user") fo.stream.connection.user = v;
            else if (a == "--password") fo.stream.connection.password = v;
            else if (a == "--start-file") fo.stream.file = v;
            else if (a == "--gtid") fo.stream.gtid = v;
            else if (a == "--spool") spool = v;
            else checkpoint = v;
        } else if (a == "--spool-durability") {
            const std::string v = next() ? argv[i] : "";
            if (v == "none") spool_durability = rowcast::spool_durability::none;
            else if (v == "file") spool_durability = rowcast::spool_durability::file;
            else if (v == "full") spool_durability = rowcast::spool_durability::file_and_directory;
            else return usage("--spool-durability needs none, file or full");
        } else if (a == "--port") {
            if (!parse_number(next(), n) || n == 0 || n > 65535) return usage("--port needs a port number");
            fo.stream.connection.port = static_cast<std::uint16_t>(n);
        } else if (a == "--server-id") {
            if (!parse_number(next(), n) || n == 0 || n > 0xFFFFFFFFu) return usage("--server-id needs a number from 1 to 2^32-1");
            fo.stream.server_id = static_cast<std::uint32_t>(n);
        } else if (a == "--heartbeat-ms") {
            if (!parse_number(next(), n) || n > 3600000) return usage("--heartbeat-ms needs milliseconds");
            fo.stream.heartbeat_period = std::chrono::milliseconds(n);
        } else if (a == "--stop-at-end") {
            fo.stream.stop_at_end = true;
        } else if (a == "--start-at-current") {
            start_at_current = true;
        } else if (!a.empty() && a[0] == '-') {
            return usage(("unknown option " + a).c_str());
        } else {
            files.push_back(a);
        }
    }
    const bool follow = !fo.stream.connection.host.empty() || !fo.stream.connection.socket.empty();
    if (follow && !files.empty()) return usage("give binlog files or a server (--host/--socket), not both");
    if (!follow && files.empty()) return usage("no binlog file given (or --host/--socket to follow a server)");
    if (follow && stop != UINT64_MAX) return usage("--stop-position is for files");
    if (follow && fo.stream.gtid && (!fo.stream.file.empty() || start_given))
        return usage("--gtid and --start-file/--start-position exclude each other");
    if (!follow && (!checkpoint.empty() || fo.stream.gtid || !fo.stream.file.empty()))
        return usage("--checkpoint, --gtid and --start-file need --host or --socket");
    if (!spool.empty() && (!follow || checkpoint.empty()))
        return usage("--spool needs --host or --socket and --checkpoint (the spool and the checkpoint commit together)");
    if (follow && start_at_current && (fo.stream.gtid || !fo.stream.file.empty() || start_given))
        return usage("--start-at-current excludes --gtid, --start-file and --start-position");
    if (!follow && start_at_current) return usage("--start-at-current needs --host or --socket");
    if (follow && start_given) fo.stream.position = start;
    if (follow && fo.stream.connection.host.empty()) fo.stream.connection.host = "localhost";

    // The output: every wanted event goes to `write` (the sink). Another sink (a spool
    // directory, …) only has to provide a function of the same shape.
    rowcast::json_codec json;
    rowcast::yaml_codec yaml;
    rowcast::binary_codec binary;
    std::string out;
    std::function<rowcast::result<void>(const rowcast::event&)> write = [&](const rowcast::event& e) -> rowcast::result<void> {
        out.clear();
        if (format == "json") {
            json.encode(e, out);
            out += '\n';
        } else if (format == "yaml") {
            yaml.encode(e, out);
        } else {
            binary.encode(e, out);
        }
        if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size())
            return rowcast::error::make(rowcast::errc::io_error, "binlog", "stdout", "write failed");
        // Live: a transaction's end reaches the reader before the checkpoint says it was handled.
        if (follow && (e.kind == rowcast::event_kind::commit || e.kind == rowcast::event_kind::rollback ||
                       e.kind == rowcast::event_kind::ddl) && std::fflush(stdout) != 0)
            return rowcast::error::make(rowcast::errc::io_error, "binlog", "stdout", "write failed");
        return {};
    };

    bool emitting = true;
    auto wanted = [&](const rowcast::event& e) {
        if (!schemas.empty() && !e.schema.empty() && !schemas.count(e.schema)) return false;
        if (!schemas.empty() && e.kind == rowcast::event_kind::ddl && e.schema.empty()) return false;
        if (!tables.empty() && rowcast::is_row_event(e.kind) && !tables.count(e.table) &&
            !tables.count(e.schema + "." + e.table))
            return false;
        return true;
    };
    auto sink = [&](const rowcast::event& e) -> rowcast::result<void> {
        if (!emitting || !wanted(e)) return {};
        return write(e);
    };
    rowcast::binlog::event_adapter<decltype(sink)> adapter(sink);

    if (follow) {
        fo.parser = po;
        if (start_at_current) {  // a saved checkpoint still wins: run() resumes from it
            auto now = rowcast::binlog::current_server_position(fo.stream.connection);
            if (!now) {
                std::fprintf(stderr, "rowcast-binlog: %s\n", now.error_value().message.c_str());
                return 1;
            }
            fo.stream.file = now->file;
            fo.stream.position = now->offset;
        }
        rowcast::binlog::follower f(fo);
        g_follower = &f;
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        rowcast::result<void> r;
        if (!spool.empty()) {
            rowcast::binlog::spool_sink_options so;
            so.spool.directory = spool;
            so.spool.durability = spool_durability;
            so.checkpoint = checkpoint;
            if (format == "json") r = follow_into_spool<rowcast::json_codec>(f, adapter, write, std::move(so));
            else if (format == "yaml") r = follow_into_spool<rowcast::yaml_codec>(f, adapter, write, std::move(so));
            else r = follow_into_spool<rowcast::binary_codec>(f, adapter, write, std::move(so));
        } else if (!checkpoint.empty()) {
            rowcast::binlog::state_file store(checkpoint);
            r = f.run(adapter, store);
        } else {
            r = f.run(adapter);
        }
        g_follower = nullptr;
        std::fflush(stdout);
        print_stats(f.decode_stats());
        const auto pos = f.current_position();
        const auto fs = f.stats();
        std::fprintf(stderr, "rowcast-binlog: position %s:%llu%s%s, %llu reconnects, %llu interrupted\n", pos.file.c_str(),
                     static_cast<unsigned long long>(pos.offset), pos.gtid.empty() ? "" : " gtid ", pos.gtid.c_str(),
                     static_cast<unsigned long long>(fs.reconnects), static_cast<unsigned long long>(fs.interrupted));
        if (!r) {
            std::fprintf(stderr, "rowcast-binlog: %s\n", r.error_value().message.c_str());
            return 1;
        }
        return 0;
    }

    rowcast::binlog::parser parser(po);
    for (std::size_t f = 0; f < files.size(); ++f) {
        auto rd = rowcast::binlog::file_reader::open(files[f], ro);
        if (!rd) {
            std::fprintf(stderr, "rowcast-binlog: %s\n", rd.error_value().message.c_str());
            return 1;
        }
        const auto slash = files[f].find_last_of('/');
        parser.set_file(slash == std::string::npos ? files[f] : files[f].substr(slash + 1));
        rowcast::binlog::raw_event ev;
        for (;;) {
            auto n = rd->next(ev);
            if (!n) {
                std::fprintf(stderr, "rowcast-binlog: %s\n", n.error_value().message.c_str());
                return 1;
            }
            if (!*n) break;
            if (f + 1 == files.size() && ev.offset >= stop) break;
            emitting = !(f == 0 && ev.offset < start);
            auto r = parser.feed(ev, adapter);
            if (!r) {
                std::fprintf(stderr, "rowcast-binlog: %s\n", r.error_value().message.c_str());
                return 1;
            }
        }
    }
    (void)adapter.finish();
    print_stats(parser.stats());
    return 0;
}
