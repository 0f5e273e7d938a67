// rowcast-binlog: prints binlog events as rowcast events, a structured mysqlbinlog,
// from binlog files or from a running server followed as a replica (docs/programs.md,
// docs/binlog.md).
//
//   rowcast-binlog [options] FILE...                          files
//   rowcast-binlog (-h HOST | -S SOCKET) [options]            follow a server (COM_BINLOG_DUMP)
//
// Output: --codec json|yaml|binary (JSON Lines, YAML documents, binary records) and
// --envelope rowcast|debezium|maxwell|smpl-repl, to stdout or (follow mode, --spool DIR --checkpoint FILE)
// into a spool exactly once. The filter options (--schema, --table, --column and
// their --exclude-… forms) are those of every program. Column names come from
// TABLE_MAP metadata (binlog_row_metadata=FULL); with --schema-history FILE from the
// column lists valid at each event's position (recorded in follow mode from the live
// schema: docs/binlog.md "Schema history"); "@1", "@2"… otherwise. Follow mode with
// --snapshot initial|when_needed and --snapshot-table: the existing rows first, chunk by chunk
// (resumed from the checkpoint after a kill), then the stream from the snapshot's position
// (docs/snapshot.md).
// Exit status: 0 ok (also stopped by SIGINT/SIGTERM), 1 a file could not be decoded or
// the server failed (the error says where and why), 2 usage, 3 the files end inside a
// transaction (its rows withheld, or with --incomplete=mark delivered and then closed by a
// rollback "interrupted"; a warning names it).
#include "../common/cli_codec.hpp"

#include <rowcast/binlog/file_source.hpp>
#include <rowcast/binlog/follower.hpp>
#include <rowcast/binlog/schema_history.hpp>
#include <rowcast/binlog/mariadb_schema_provider.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/sql/sink.hpp>
#include <rowcast/snapshot/source.hpp>
#include <rowcast/binlog/spool_sink.hpp>
#include <rowcast/codec/by_name.hpp>
#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/pipeline/checkpointed_sink.hpp>
#include <rowcast/pipeline/filter.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/transport/stream_sink.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

/// Files: the input ended inside a transaction (its rows withheld or marked; see --incomplete).
constexpr int exit_incomplete = 3;

struct options {
    rowcast_cli::codec_choice output;
    rowcast::filter_rules rules;
    rowcast::binlog::file_source_options files;
    std::optional<std::uint64_t> start, stop;
    bool no_checksum = false;
    // follow mode
    rowcast_cli::connection_flags conn;
    rowcast::binlog::follower_options follow;
    std::uint64_t heartbeat_ms = 5000;
    std::string start_file, gtid, checkpoint, spool, schema_history, sink;
    std::string key_separator;  // stdout: keyed lines (stream_sink_options::key_separator)
    bool start_at_current = false;
    bool incomplete_seen = false;  // files: the input ended inside a transaction
    std::optional<unsigned> max_retries;
    std::optional<std::size_t> xid_hold_bytes;  // parser_options::hold_for_xid / hold_max_bytes
    // --snapshot: the existing rows first (docs/snapshot.md)
    std::string snapshot_mode = "never";
    std::vector<std::string> snapshot_tables;
    std::size_t snapshot_chunk_rows = 4096;
    std::size_t snapshot_max_result_bytes = std::size_t{64} << 20;  // connect_options::max_result_bytes
    // --signal-table / --incremental-snapshot: incremental snapshots while streaming
    std::string signal_table;
    std::vector<std::string> incremental_tables;
    rowcast::durability durability = rowcast::durability::file_and_directory;
};

void print_stats(const rowcast::binlog::parser_stats& st) {
    std::fprintf(stderr, "rowcast-binlog: %llu events, %llu row events, %llu rows, %llu transactions, %llu ignorable skipped\n",
                 static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(st.row_events),
                 static_cast<unsigned long long>(st.rows), static_cast<unsigned long long>(st.transactions),
                 static_cast<unsigned long long>(st.skipped_ignorable));
}

void print_follower(const rowcast::binlog::follower& f) {
    print_stats(f.decode_stats());
    const auto pos = f.current_position();
    const auto fs = f.stats();
    std::fprintf(stderr, "rowcast-binlog: position %s:%llu%s%s, %llu connects, %llu reconnects, %llu interrupted\n",
                 pos.file.c_str(), static_cast<unsigned long long>(pos.offset), pos.gtid.empty() ? "" : " gtid ",
                 pos.gtid.c_str(), static_cast<unsigned long long>(fs.connects),
                 static_cast<unsigned long long>(fs.reconnects), static_cast<unsigned long long>(fs.interrupted));
}

// Follow mode: the follower into `sink` until stopped, the end (--stop-at-end) or a failure
// that is not retried; every retry is logged with its reason by rowcast::run.
template <class Sink>
rowcast::result<void> follow(rowcast::binlog::follower& f, Sink& sink, std::stop_token stop,
                             const rowcast::run_options& ro) {
    auto r = f.run(sink, stop, ro);
    print_follower(f);
    return r;
}

// --snapshot initial|when_needed: the snapshot, then the follower from its position.
template <class Sink>
rowcast::result<void> follow(rowcast::snapshot::snapshot_source& src, Sink& sink, std::stop_token stop,
                             const rowcast::run_options& ro) {
    auto r = src.run(sink, stop, ro);
    const auto& st = src.snapshot().stats();
    std::fprintf(stderr, "rowcast-binlog: snapshot: %llu rows in %llu chunks, %llu tables finished\n",
                 static_cast<unsigned long long>(st.rows), static_cast<unsigned long long>(st.chunks),
                 static_cast<unsigned long long>(st.tables));
    if (const auto* inc = src.incremental()) {
        const auto& is = inc->stats();
        std::fprintf(stderr, "rowcast-binlog: incremental snapshot: %llu rows in %llu chunks (%llu dropped in windows), "
                             "%llu tables finished, %zu queued\n",
                     static_cast<unsigned long long>(is.rows), static_cast<unsigned long long>(is.chunks),
                     static_cast<unsigned long long>(is.dropped), static_cast<unsigned long long>(is.tables),
                     inc->current().tables.size());
    }
    if (const auto* f = src.follower()) print_follower(*f);
    return r;
}

template <class Codec>
rowcast::result<void> run(options& o, rowcast::event_filter filter, Codec codec) {
    rowcast_cli::signal_stop stop;
    rowcast::run_options ro;
    // files: a sink that keeps refusing (or a file that cannot be opened) is not waited for long
    ro.retry.max_attempts = o.max_retries.value_or(o.conn.given() ? 0 : 3);
    if (!o.conn.given()) {
        std::optional<rowcast::binlog::schema_history> history;  // read only: nothing is recorded from files
        if (!o.schema_history.empty()) {
            auto h = rowcast::binlog::schema_history::open({.path = o.schema_history});
            if (!h) return h.error_value();
            history.emplace(std::move(*h));
            o.files.parser.provider = &*history;
        }
        auto src = rowcast::binlog::file_source::open(o.files);
        if (!src) return src.error_value();
        rowcast::stream_sink out(STDOUT_FILENO, std::move(codec), {.flush = rowcast::stream_flush::when_full, .key_separator = o.key_separator});
        rowcast::filtered_sink sink(std::move(filter), out);
        auto r = src->run(sink, stop.token(), ro);
        print_stats(src->stats());
        if (r && src->incomplete()) o.incomplete_seen = true;
        return r;
    }
    ro.retry.initial = o.follow.backoff_initial;
    ro.retry.max = o.follow.backoff_max;
    // --schema-history: recorded from the live schema (information_schema, over a second connection)
    std::optional<rowcast::mysql::connection> schema_conn;
    std::optional<rowcast::binlog::mariadb_schema_provider> live;
    std::optional<rowcast::binlog::schema_history> history;
    if (!o.schema_history.empty()) {
        auto c = rowcast::mysql::connection::open(o.follow.stream.connection, "binlog");
        if (!c) return c.error_value();
        schema_conn.emplace(std::move(*c));
        live.emplace(*schema_conn);
        auto h = rowcast::binlog::schema_history::open({.path = o.schema_history, .live = &*live});
        if (!h) return h.error_value();
        history.emplace(std::move(*h));
        o.follow.parser.provider = &*history;
    }
    auto with_source = [&](auto&& go) -> rowcast::result<void> {
        if (o.snapshot_mode != "never" || !o.signal_table.empty()) {
            rowcast::snapshot::source_options so{.mode = *rowcast::snapshot::parse_mode(o.snapshot_mode), .snapshot = {},
                                                 .follower = o.follow};
            so.snapshot.connection = o.follow.stream.connection;  // the same server, TLS and authentication
            so.snapshot.connection.max_result_bytes = o.snapshot_max_result_bytes;
            so.snapshot.tables = o.snapshot_tables;
            so.snapshot.chunk_rows = o.snapshot_chunk_rows;
            if (!o.signal_table.empty())
                so.incremental = rowcast::snapshot::incremental_options{.connection = so.snapshot.connection,
                                                                        .signal_table = o.signal_table,
                                                                        .tables = o.incremental_tables,
                                                                        .chunk_rows = o.snapshot_chunk_rows};
            rowcast::snapshot::snapshot_source src(std::move(so));
            return go(src);
        }
        rowcast::binlog::follower f(o.follow);
        return go(f);
    };
    if (!o.sink.empty()) {  // exactly once into another database: the cursor commits with the rows
        auto so = rowcast::sql::parse_sink_url(o.sink);
        if (!so) return so.error_value();
        if (so->connection.password.empty())
            if (const char* pw = std::getenv("ROWCAST_SINK_PWD")) so->connection.password = pw;
        auto db = rowcast::sql::sink::open(std::move(*so));
        if (!db) return db.error_value();
        rowcast::filtered_sink<rowcast::sql::sink&> sink(std::move(filter), *db);
        auto r = with_source([&](auto& src) { return follow(src, sink, stop.token(), ro); });
        if (auto fl = sink.flush(); r && !fl) r = fl;  // a batch the last publish() kept
        const auto st = db->stats();
        std::fprintf(stderr, "rowcast-binlog: sink: %llu groups in %llu commits, %llu rows, %llu replayed events dropped\n",
                     static_cast<unsigned long long>(st.groups), static_cast<unsigned long long>(st.commits),
                     static_cast<unsigned long long>(st.rows), static_cast<unsigned long long>(st.skipped));
        return r;
    }
    if (!o.spool.empty()) {  // exactly once into the spool: staged events published with the checkpoint
        auto spool = rowcast::binlog::spool_sink<Codec>::open(
            {.spool = {.directory = o.spool, .durability = o.durability}, .checkpoint = o.checkpoint}, std::move(codec));
        if (!spool) return spool.error_value();
        const auto& rec = spool->recovery();
        if (rec.published > 0 || rec.removed > 0)
            std::fprintf(stderr, "rowcast-binlog: spool recovery: %zu staged events published (checkpointed before a crash), "
                                 "%zu removed (not checkpointed; delivered again)\n", rec.published, rec.removed);
        rowcast::filtered_sink sink(std::move(filter), spool->transactional());
        return with_source([&](auto& src) { return follow(src, sink, stop.token(), ro); });
    }
    // stdout: each group's end is written before the checkpoint says it was handled
    rowcast::stream_sink out(STDOUT_FILENO, std::move(codec), {.flush = rowcast::stream_flush::group_end, .key_separator = o.key_separator});
    if (!o.checkpoint.empty()) {
        auto saved = rowcast::checkpointed_sink<decltype(out)&>::open(
            out, rowcast::checkpoint_file(o.checkpoint, rowcast::durability::file_and_directory,
                                          rowcast::binlog::state_file_format));
        if (!saved) return saved.error_value();
        rowcast::filtered_sink sink(std::move(filter), *saved);
        return with_source([&](auto& src) { return follow(src, sink, stop.token(), ro); });
    }
    rowcast::filtered_sink sink(std::move(filter), out);
    return with_source([&](auto& src) { return follow(src, sink, stop.token(), ro); });
}

}  // namespace

static int run_main(int argc, char** argv) {
    CLI::App app("Prints binlog events as rowcast events (a structured mysqlbinlog), from binlog files or from a "
                 "running server followed as a replica.",
                 "rowcast-binlog");
    rowcast_cli::setup(app,
                       "Files:  rowcast-binlog [options] FILE...\n"
                       "Follow: rowcast-binlog (-h HOST [-P PORT] | -S SOCKET) -u USER [options]\n"
                       "Example: MYSQL_PWD=... rowcast-binlog -h db1 -u repl --table=app.hosts --envelope=debezium "
                       "--checkpoint=/var/lib/rowcast/db1.state");
    options o;
    app.add_option("FILE", o.files.files, "Binlog files, read in the order given");
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
    app.add_flag("--statements-as-ddl", o.files.parser.statements_as_ddl,
                 "Pass statement-based DML through as ddl events instead of failing");
    app.add_flag("--no-checksum-verify", o.no_checksum, "Do not verify CRC32 trailers");
    auto* capture = app.add_flag("--capture-time", o.files.parser.capture_time,
                                 "Stamp each event with the time it was decoded (capture_time; Debezium's top-level "
                                 "ts_ms/ts_us/ts_ns, which Debezium always fills). On by default with --envelope=debezium, "
                                 "else off; --capture-time=off for output that is the same for the same input");
    app.add_option("--xid-hold-bytes", o.xid_hold_bytes,
                   "Hold each transaction until its XID event, so that every event carries the XID (Maxwell's xid on "
                   "every row), using at most N bytes per transaction (a larger one is written as it goes, with no "
                   "xid, and a warning). Default with --envelope=maxwell: 67108864 (64 MiB); otherwise 0 = no holding")
        ->type_name("N");
    app.add_option("--key-separator", o.key_separator,
                   "stdout, json codec: write each event as one line KEY SEP MESSAGE (the Debezium message key), and "
                   "after a delete in the debezium envelope its tombstone line KEY SEP (empty value): the input of "
                   "kcat -P -K SEP -Z, which sends an empty value as a Kafka tombstone. SEP: e.g. a tab")
        ->type_name("SEP");
    app.add_option("--schema-history", o.schema_history,
                   "Column names and types from this schema history (docs/binlog.md), the version valid at each "
                   "event's position. Files: read only; a table or position it does not cover is an error. Follow: "
                   "recorded (first use of a table and after each DDL, from information_schema over a second "
                   "connection as the same user, who needs SELECT on the tables)")
        ->type_name("FILE");
    app.add_option("--incomplete", o.files.incomplete,
                   "Files: a transaction the input ends inside (no commit): withhold its rows (default), or mark: "
                   "print them, then a rollback event \"interrupted\". Either way a warning and exit status 3")
        ->transform(CLI::CheckedTransformer(std::map<std::string, rowcast::binlog::incomplete_policy>{
                                                {"withhold", rowcast::binlog::incomplete_policy::withhold},
                                                {"mark", rowcast::binlog::incomplete_policy::mark}})
                        .description(""))
        ->type_name("withhold|mark")
        ->default_str("withhold");

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
    app.add_option("--sink", o.sink,
                   "Apply the events to another MariaDB/MySQL instead of stdout, each committed transaction exactly "
                   "once (the position commits with the rows in the destination): "
                   "mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?mode=changelog|replicate&batch=N&...] "
                   "(docs/sql-sink.md; password also from ROWCAST_SINK_PWD)")
        ->type_name("URL")->group(follow_group);
    rowcast_cli::add_durability_option(app, o.durability, "With --spool: fsyncs of staged files, the checkpoint and the directories")
        ->group(follow_group);
    app.add_flag("--stop-at-end", so.stop_at_end, "Stop at the current end of the binlog instead of waiting")
        ->group(follow_group);
    app.add_flag("--start-at-current", o.start_at_current,
                 "Without a saved checkpoint, start at the server's current end (needs BINLOG MONITOR / REPLICATION CLIENT)")
        ->group(follow_group);
    app.add_option("--heartbeat-ms", o.heartbeat_ms, "Heartbeat period asked of the server (0 = none)")
        ->check(CLI::Range(0, 3600000))->capture_default_str()->group(follow_group);
    app.add_option("--max-retries", o.max_retries,
                   "Retry a failed connection (or a refusing output) N times in a row, then give up with exit status 1 "
                   "(default: following 0 = forever; files 3); each retry is logged with its reason")
        ->type_name("N")->group(follow_group);
    app.add_option("--snapshot", o.snapshot_mode,
                   "Copy the existing rows of the --snapshot-table tables first, as read events (op r), then stream "
                   "from exactly the snapshot's position: initial (when no checkpoint holds a position; an unfinished "
                   "snapshot is resumed after its last chunk), when_needed (also when the checkpoint's binlog file is "
                   "purged), never (docs/snapshot.md)")
        ->check(CLI::IsMember({"initial", "when_needed", "never"}))->capture_default_str()->group(follow_group);
    app.add_option("--snapshot-table", o.snapshot_tables, "A table to copy (schema.table, or schema.* for all); repeatable")
        ->type_name("SCHEMA.TABLE")->group(follow_group);
    app.add_option("--snapshot-chunk-rows", o.snapshot_chunk_rows,
                   "Rows per snapshot chunk (one transaction, one checkpoint)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))->capture_default_str()->group(follow_group);
    app.add_option("--snapshot-max-result-bytes", o.snapshot_max_result_bytes,
                   "Largest snapshot row (initial) or chunk (incremental) held in memory, in bytes (1024-1073741824); "
                   "a larger one stops the snapshot with limit_exceeded")
        ->type_name("BYTES")->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30))->capture_default_str()
        ->group(follow_group);
    app.add_option("--signal-table", o.signal_table,
                   "Incremental snapshots while streaming (DBLog watermarks): read execute-snapshot signals from this "
                   "table (id, type, data: Debezium's shape) in the stream and write the chunk watermarks into it "
                   "(needs INSERT on it; docs/snapshot.md)")
        ->type_name("SCHEMA.TABLE")->group(follow_group);
    app.add_option("--incremental-snapshot", o.incremental_tables,
                   "Ask for an incremental snapshot of this table (schema.table or schema.*) while streaming, by an "
                   "execute-snapshot signal written once for the list (a restart with the same list asks nothing "
                   "again); needs --signal-table; repeatable. Chunks of --snapshot-chunk-rows")
        ->type_name("SCHEMA.TABLE")->group(follow_group);
    if (auto status = rowcast_cli::parse(app, argc, argv)) return *status;

    auto spec = o.output.spec();
    if (!spec) return rowcast_cli::usage_error(app, spec.error_value().message);
    if (!o.key_separator.empty() && spec->codec != rowcast::codec_kind::json)
        return rowcast_cli::usage_error(app, "--key-separator needs the json codec (its messages have keys)");
    auto filter = rowcast::event_filter::make(o.rules);
    if (!filter) return rowcast_cli::usage_error(app, filter.error_value().message);
    const bool following = o.conn.given();
    const bool position_mode = !o.start_file.empty() || o.start;
    if (following && !o.files.files.empty()) return rowcast_cli::usage_error(app, "give binlog files or a server (--host/--socket), not both");
    if (!following && o.files.files.empty())
        return rowcast_cli::usage_error(app, "no binlog file given (or --host/--socket to follow a server)");
    if (following && o.stop) return rowcast_cli::usage_error(app, "--stop-position is for files");
    if (following && gtid->count() > 0 && position_mode)
        return rowcast_cli::usage_error(app, "--gtid and --start-file/--start-position exclude each other");
    if (o.snapshot_mode != "never" && (!following || o.snapshot_tables.empty()))
        return rowcast_cli::usage_error(app, "--snapshot needs --host or --socket and at least one --snapshot-table");
    if (!o.incremental_tables.empty() && o.signal_table.empty())
        return rowcast_cli::usage_error(app, "--incremental-snapshot needs --signal-table (its watermarks are written there)");
    if (!o.signal_table.empty() && !following)
        return rowcast_cli::usage_error(app, "--signal-table needs --host or --socket");
    if (!following && (!o.checkpoint.empty() || gtid->count() > 0 || !o.start_file.empty() || o.start_at_current))
        return rowcast_cli::usage_error(app, "--checkpoint, --gtid, --start-file and --start-at-current need --host or --socket");
    if (!o.spool.empty() && (!following || o.checkpoint.empty()))
        return rowcast_cli::usage_error(
            app, "--spool needs --host or --socket and --checkpoint (the spool and the checkpoint commit together)");
    if (!o.sink.empty() && (!following || !o.spool.empty() || !o.checkpoint.empty()))
        return rowcast_cli::usage_error(app, "--sink needs --host or --socket and excludes --spool and --checkpoint (the "
                                             "destination keeps the position)");
    if (following && o.start_at_current && (gtid->count() > 0 || position_mode))
        return rowcast_cli::usage_error(app, "--start-at-current excludes --gtid, --start-file and --start-position");

    // Debezium always fills ts_ms/ts_us/ts_ns with its processing time; Maxwell puts the XID on every row.
    if (capture->count() == 0) o.files.parser.capture_time = spec->envelope == rowcast::json_envelope::debezium;
    const std::size_t hold = o.xid_hold_bytes.value_or(spec->envelope == rowcast::json_envelope::maxwell
                                                           ? rowcast::binlog::parser_options{}.hold_max_bytes
                                                           : 0);
    o.files.parser.hold_for_xid = hold > 0;
    if (hold > 0) o.files.parser.hold_max_bytes = hold;
    o.files.parser.verify_checksum = !o.no_checksum;
    if (o.start) o.files.start_position = *o.start;
    if (o.stop) o.files.stop_position = *o.stop;
    so.verify_checksum = !o.no_checksum;
    so.heartbeat_period = std::chrono::milliseconds(o.heartbeat_ms);
    so.connection = o.conn.options();
    so.file = o.start_file;
    if (o.start && following) so.position = *o.start;
    if (gtid->count() > 0) so.gtid = o.gtid;
    o.follow.parser = o.files.parser;
    if (following && o.start_at_current) {  // a saved checkpoint still wins: run() resumes from it
        auto now = rowcast::binlog::current_server_position(so.connection);
        if (!now) return rowcast_cli::runtime_error(app, now.error_value().message);
        so.file = now->file;
        so.position = now->offset;
    }
    auto r = rowcast::with_codec(*spec, [&](auto codec) { return run(o, std::move(*filter), std::move(codec)); });
    if (!r) return rowcast_cli::runtime_error(app, r.error_value().message);
    if (o.incomplete_seen) return exit_incomplete;
    return rowcast_cli::exit_ok;
}

int main(int argc, char** argv) { return rowcast_cli::guarded("rowcast-binlog", [&] { return run_main(argc, argv); }); }
