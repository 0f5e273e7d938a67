// rowcast-binlog: prints binlog events as rowcast events, a structured mysqlbinlog,
// from binlog files or from a running server followed as a replica (docs/programs.md,
// docs/binlog.md).
//
//   rowcast-binlog [options] FILE...                          files
//   rowcast-binlog (-h HOST | -S SOCKET) [options]            follow a server (COM_BINLOG_DUMP)
//
// Output: --codec json|yaml|binary (JSON Lines, YAML documents, binary records) and
// --envelope rowcast|debezium, to stdout or (follow mode, --spool DIR --checkpoint FILE)
// into a spool exactly once. The filter options (--schema, --table, --column and
// their --exclude-… forms) are those of every program. Column names come from
// TABLE_MAP metadata (binlog_row_metadata=FULL); "@1", "@2"… otherwise.
// Exit status: 0 ok (also stopped by SIGINT/SIGTERM), 1 a file could not be decoded or
// the server failed (the error says where and why), 2 usage.
#include "../common/cli.hpp"

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/binlog/follower.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/binlog/spool_sink.hpp>
#include <rowcast/codec/by_name.hpp>
#include <rowcast/pipeline/filter.hpp>
#include <rowcast/transport/stream_sink.hpp>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

struct options {
    rowcast_cli::codec_choice output;
    rowcast::filter_rules rules;
    std::vector<std::string> files;
    std::optional<std::uint64_t> start, stop;
    rowcast::binlog::parser_options parser;
    rowcast::binlog::reader_options reader;
    // follow mode
    rowcast_cli::connection_flags conn;
    rowcast::binlog::follower_options follow;
    std::uint64_t heartbeat_ms = 5000;
    std::string start_file, gtid, checkpoint, spool;
    bool start_at_current = false;
    rowcast::durability durability = rowcast::durability::file_and_directory;
};

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

// Files: every event of every file through the parser into `sink`.
template <class Sink>
rowcast::result<void> read_files(const options& o, Sink& sink) {
    bool emitting = true;
    auto emit = [&](const rowcast::event& e) -> rowcast::result<void> { return emitting ? sink.write(e) : rowcast::result<void>{}; };
    rowcast::binlog::event_adapter adapter(std::ref(emit));
    rowcast::binlog::parser parser(o.parser);
    for (std::size_t f = 0; f < o.files.size(); ++f) {
        auto rd = rowcast::binlog::file_reader::open(o.files[f], o.reader);
        if (!rd) return rd.error_value();
        const auto slash = o.files[f].find_last_of('/');
        parser.set_file(slash == std::string::npos ? o.files[f] : o.files[f].substr(slash + 1));
        rowcast::binlog::raw_event ev;
        for (;;) {
            auto n = rd->next(ev);
            if (!n) return n.error_value();
            if (!*n) break;
            if (o.stop && f + 1 == o.files.size() && ev.offset >= *o.stop) break;
            emitting = !(o.start && f == 0 && ev.offset < *o.start);
            if (auto r = parser.feed(ev, adapter); !r) return r;
        }
    }
    (void)adapter.finish();
    print_stats(parser.stats());
    return sink.flush();
}

// Follow mode: the follower's events through `sink`; `store` is its checkpoint store.
template <class Sink, class Store>
rowcast::result<void> follow(rowcast::binlog::follower& f, Sink& sink, Store& store) {
    auto emit = [&](const rowcast::event& e) { return sink.write(e); };
    rowcast::binlog::event_adapter adapter(std::ref(emit));
    g_follower = &f;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    auto r = f.run(adapter, store);
    g_follower = nullptr;
    if (auto fl = sink.flush(); r && !fl) r = fl;
    print_stats(f.decode_stats());
    const auto pos = f.current_position();
    const auto fs = f.stats();
    std::fprintf(stderr, "rowcast-binlog: position %s:%llu%s%s, %llu connects, %llu reconnects, %llu interrupted\n",
                 pos.file.c_str(), static_cast<unsigned long long>(pos.offset), pos.gtid.empty() ? "" : " gtid ",
                 pos.gtid.c_str(), static_cast<unsigned long long>(fs.connects),
                 static_cast<unsigned long long>(fs.reconnects), static_cast<unsigned long long>(fs.interrupted));
    return r;
}

template <class Codec>
rowcast::result<void> run(options& o, rowcast::event_filter filter, Codec codec) {
    const bool following = o.conn.given();
    if (!following) {
        rowcast::stream_sink out(STDOUT_FILENO, std::move(codec), {.flush = rowcast::stream_flush::when_full});
        rowcast::filtered_sink sink(std::move(filter), out);
        return read_files(o, sink);
    }
    rowcast::binlog::follower f(o.follow);
    if (!o.spool.empty()) {  // exactly once into the spool: staged events published with the checkpoint
        auto spool = rowcast::binlog::spool_sink<Codec>::open(
            {.spool = {.directory = o.spool, .durability = o.durability}, .checkpoint = o.checkpoint}, std::move(codec));
        if (!spool) return spool.error_value();
        const auto& rec = spool->recovery();
        if (rec.published > 0 || rec.removed > 0)
            std::fprintf(stderr, "rowcast-binlog: spool recovery: %zu staged events published (checkpointed before a crash), "
                                 "%zu removed (not checkpointed; delivered again)\n", rec.published, rec.removed);
        rowcast::filtered_sink sink(std::move(filter), spool->transactional());
        return follow(f, sink, *spool);
    }
    // stdout: each group's end is written before the checkpoint says it was handled
    rowcast::stream_sink out(STDOUT_FILENO, std::move(codec), {.flush = rowcast::stream_flush::group_end});
    rowcast::filtered_sink sink(std::move(filter), out);
    if (!o.checkpoint.empty()) {
        rowcast::binlog::state_file store(o.checkpoint);
        return follow(f, sink, store);
    }
    rowcast::binlog::no_checkpoint_store none;
    return follow(f, sink, none);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("Prints binlog events as rowcast events (a structured mysqlbinlog), from binlog files or from a "
                 "running server followed as a replica.",
                 "rowcast-binlog");
    rowcast_cli::setup(app,
                       "Files:  rowcast-binlog [options] FILE...\n"
                       "Follow: rowcast-binlog (-h HOST [-P PORT] | -S SOCKET) -u USER [options]\n"
                       "Example: MYSQL_PWD=... rowcast-binlog -h db1 -u repl --table=app.hosts --envelope=debezium "
                       "--checkpoint=/var/lib/rowcast/db1.state");
    options o;
    app.add_option("FILE", o.files, "Binlog files, read in the order given");
    rowcast_cli::add_codec_option(app, o.output.codec,
                                  "Codec of the events written: json (JSON Lines), yaml (documents) or binary");
    rowcast_cli::add_envelope_option(app, o.output.envelope);
    rowcast_cli::add_filter_options(app, o.rules);
    app.add_option("--start-position", o.start,
                   "Files: emit only events at offsets >= N of the first file (earlier TABLE_MAP/FORMAT_DESCRIPTION "
                   "events are still read). Follow: the offset in --start-file to start at (default 4)")
        ->type_name("N");
    app.add_option("--stop-position", o.stop, "Files: stop at the first event at offset >= N of the last file")
        ->type_name("N");
    app.add_flag("--statements-as-ddl", o.parser.statements_as_ddl,
                 "Pass statement-based DML through as ddl events instead of failing");
    bool no_checksum = false;
    app.add_flag("--no-checksum-verify", no_checksum, "Do not verify CRC32 trailers");

    rowcast_cli::add_connection_options(app, o.conn);
    const char* follow_group = "Follow mode";
    auto& so = o.follow.stream;
    app.add_option("--server-id", so.server_id, "This replica's id, unique among replicas")
        ->check(CLI::Range(1u, 0xFFFFFFFFu))->capture_default_str()->group(follow_group);
    app.add_option("--start-file", o.start_file, "First binlog file (default: the oldest the server has)")
        ->group(follow_group);
    auto* gtid = app.add_option("--gtid", o.gtid, "Start after this GTID state (\"0-1-42,...\" MariaDB, \"uuid:1-42\" MySQL)")
                     ->group(follow_group);
    app.add_option("--checkpoint", o.checkpoint,
                   "Resume from FILE if it exists; save the position there after every transaction (atomic)")
        ->group(follow_group);
    app.add_option("--spool", o.spool,
                   "Write the events into the spool directory DIR instead of stdout, each committed transaction "
                   "exactly once across kill -9 and restarts (needs --checkpoint)")
        ->type_name("DIR")->group(follow_group);
    rowcast_cli::add_durability_option(app, o.durability, "With --spool: fsyncs of staged files, the checkpoint and the directories")
        ->group(follow_group);
    app.add_flag("--stop-at-end", so.stop_at_end, "Stop at the current end of the binlog instead of waiting")
        ->group(follow_group);
    app.add_flag("--start-at-current", o.start_at_current,
                 "Without a saved checkpoint, start at the server's current end (needs BINLOG MONITOR / REPLICATION CLIENT)")
        ->group(follow_group);
    app.add_option("--heartbeat-ms", o.heartbeat_ms, "Heartbeat period asked of the server (0 = none)")
        ->check(CLI::Range(0, 3600000))->capture_default_str()->group(follow_group);
    app.add_option("--max-retries", o.follow.max_retries,
                   "Give up after N consecutive failed connection attempts (0 = retry forever); the exit status is then 1")
        ->capture_default_str()->type_name("N")->group(follow_group);
    if (auto status = rowcast_cli::parse(app, argc, argv)) return *status;

    auto spec = o.output.spec();
    if (!spec) return rowcast_cli::usage_error(app, spec.error_value().message);
    auto filter = rowcast::event_filter::make(o.rules);
    if (!filter) return rowcast_cli::usage_error(app, filter.error_value().message);
    const bool following = o.conn.given();
    const bool position_mode = !o.start_file.empty() || o.start;
    if (following && !o.files.empty()) return rowcast_cli::usage_error(app, "give binlog files or a server (--host/--socket), not both");
    if (!following && o.files.empty())
        return rowcast_cli::usage_error(app, "no binlog file given (or --host/--socket to follow a server)");
    if (following && o.stop) return rowcast_cli::usage_error(app, "--stop-position is for files");
    if (following && gtid->count() > 0 && position_mode)
        return rowcast_cli::usage_error(app, "--gtid and --start-file/--start-position exclude each other");
    if (!following && (!o.checkpoint.empty() || gtid->count() > 0 || !o.start_file.empty() || o.start_at_current))
        return rowcast_cli::usage_error(app, "--checkpoint, --gtid, --start-file and --start-at-current need --host or --socket");
    if (!o.spool.empty() && (!following || o.checkpoint.empty()))
        return rowcast_cli::usage_error(
            app, "--spool needs --host or --socket and --checkpoint (the spool and the checkpoint commit together)");
    if (following && o.start_at_current && (gtid->count() > 0 || position_mode))
        return rowcast_cli::usage_error(app, "--start-at-current excludes --gtid, --start-file and --start-position");

    o.reader.verify_checksum = !no_checksum;
    so.verify_checksum = !no_checksum;
    so.heartbeat_period = std::chrono::milliseconds(o.heartbeat_ms);
    so.connection.host = o.conn.host.empty() ? "localhost" : o.conn.host;
    so.connection.port = o.conn.port;
    so.connection.socket = o.conn.socket;
    so.connection.user = o.conn.user;
    so.connection.password = o.conn.password;
    so.file = o.start_file;
    if (o.start && following) so.position = *o.start;
    if (gtid->count() > 0) so.gtid = o.gtid;
    o.follow.parser = o.parser;
    if (following && o.start_at_current) {  // a saved checkpoint still wins: run() resumes from it
        auto now = rowcast::binlog::current_server_position(so.connection);
        if (!now) return rowcast_cli::runtime_error(app, now.error_value().message);
        so.file = now->file;
        so.position = now->offset;
    }
    auto r = rowcast::with_codec(*spec, [&](auto codec) { return run(o, std::move(*filter), std::move(codec)); });
    if (!r) return rowcast_cli::runtime_error(app, r.error_value().message);
    return rowcast_cli::exit_ok;
}
