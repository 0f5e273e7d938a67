// rowcast/snapshot/initial.hpp: a consistent copy of the rows that already exist, as
// events, with the binlog position the live stream continues from (docs/snapshot.md).
//
//   rowcast::snapshot::options o;
//   o.connection = {.host = "db1", .user = "cdc", .password = pw};
//   o.tables = {"shop.*", "crm.customers"};
//   rowcast::snapshot::initial_snapshot snap(o);
//   rowcast::run(snap, sink, stop);              // every row once, table by table, chunk by chunk
//   snap.start();                                // where the binlog stream must start
//
// Consistency: one REPEATABLE READ transaction opened WITH CONSISTENT SNAPSHOT; on MariaDB
// the status variables binlog_snapshot_file / binlog_snapshot_position give the binlog
// point of exactly that snapshot without any lock (GTID: BINLOG_GTID_POS() of that point).
// MySQL 8: FLUSH TABLES WITH READ LOCK held only across START TRANSACTION WITH CONSISTENT
// SNAPSHOT and SHOW MASTER STATUS (these statements are tested against MariaDB; there is no
// MySQL server in the test setup).
//
// Events: each row is an `insert` whose transaction id starts with "snapshot:"
// (is_snapshot_read(), event.hpp; the JSON codec writes op "r"), its source position the
// snapshot's start, its values typed exactly as the binlog path types them (the session
// runs with time_zone '+00:00' and the utf8mb4 character set). A chunk is one transaction:
// begin, at most `chunk_rows` rows, commit.
//
// Chunks: keyset pagination on the primary key (or the columns named in options::keys),
// "WHERE key > last ORDER BY key LIMIT chunk_rows", rows streamed (mysql::connection::query(),
// one row at a time): memory is one row plus the column list, whatever the table size; a row
// larger than connection.max_result_bytes (64 MiB by default) is [rowcast.snapshot.limit_exceeded]. A table with no primary key
// and no key named is read in one scan as one chunk (still streamed; no resume inside it),
// or refused with options::without_key = refuse.
//
// Resume: with a transactional_sink, the cursor published after every chunk is a
// snapshot cursor (to_cursor(progress)): the start position, the table and the last key
// delivered. A new initial_snapshot given that sink resumes after that key in a new
// consistent read; the start position stays the first one, so the stream replays the
// changes made in between (full row images: the consumer converges; see docs/snapshot.md).
// After the last chunk the cursor published is the binlog cursor of the start position
// (binlog/checkpoint.hpp to_cursor), which binlog::follower resumes from.
//
// Errors: the query connection's are the client's (rowcast/mysql/connection.hpp) under
// component "snapshot", with what was being done appended: [rowcast.snapshot.io_error]
// (connection lost) and [rowcast.snapshot.unavailable] (a passing server error): transient,
// the next process() reconnects and carries on after the last chunk;
// [rowcast.snapshot.refused] (privileges: SELECT on the tables, RELOAD for MySQL's FLUSH
// TABLES WITH READ LOCK; TLS that cannot be had or does not verify),
// [rowcast.snapshot.limit_exceeded] (a row over connection.max_result_bytes),
// [rowcast.snapshot.invalid_value] "<schema>.<table>.<column>: ..." for a value that
// cannot be typed (permanent), [rowcast.snapshot.unsupported] (no binlog on the server,
// a table without key when refused).
// Thread-safety: one thread at a time; stop() from any thread.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/snapshot/detail/plan.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace snapshot {

/// What a table without a primary key (and without options::keys) gets.
enum class without_key_policy : std::uint8_t {
    scan,    ///< one consistent scan as one chunk (streamed; a resume restarts the table)
    refuse,  ///< [rowcast.snapshot.unsupported]: name a key in options::keys
};

struct options {
    /// The query connection: the same options as the stream's (TLS, authentication;
    /// docs/connecting.md). A row larger than connection.max_result_bytes is limit_exceeded.
    mysql::connect_options connection;
    /// "schema.table", or "schema.*" for every base table of a schema. Copied in name order.
    std::vector<std::string> tables;
    std::size_t chunk_rows = 4096;  ///< rows per chunk (transaction); at least 1
    /// "schema.table" -> columns that identify a row, for tables without a primary key (a
    /// UNIQUE NOT NULL key; a key that is not unique loses rows at chunk edges).
    std::map<std::string, std::vector<std::string>, std::less<>> keys;
    without_key_policy without_key = without_key_policy::scan;
};

/// Where a snapshot stands (what its cursor holds).
struct progress {
    binlog::position start;    ///< the binlog point of the (first) consistent read: where the stream starts
    std::string schema, table; ///< the table being copied (empty: none yet)
    detail::snapshot::cells last_key;  ///< the key cells of the last row delivered (empty: from the first row)
    friend bool operator==(const progress&, const progress&) = default;
};

/// True for a cursor written by to_cursor(progress).
inline bool is_snapshot_cursor(std::string_view c) noexcept { return c.starts_with(binlog::snapshot_cursor_prefix); }

/// "snapshot=1\nfile=..\noffset=..\ngtid=..\nschema=..\ntable=..\nkey=x<hex>,x<hex>,.." (a NULL cell: "-").
inline std::string to_cursor(const progress& p) {
    return std::string(binlog::snapshot_cursor_prefix) + binlog::to_cursor(p.start) + "\nschema=" + p.schema + "\ntable=" + p.table +
           "\nkey=" + detail::snapshot::key_text(p.last_key);
}

/// Parses to_cursor()'s text; `where` names its origin in errors.
inline result<progress> parse_cursor(std::string_view c, std::string_view where) {
    auto bad = [&](std::string_view what) {
        return error::make(errc::invalid_value, "snapshot", where, std::string(what) + " (the cursor is kept; fix or remove it)");
    };
    if (!is_snapshot_cursor(c)) return bad("not a snapshot cursor");
    c.remove_prefix(binlog::snapshot_cursor_prefix.size());
    // file, offset, gtid: the binlog cursor's three lines
    std::size_t cut = 0;
    for (int i = 0; i < 3; ++i) {
        cut = c.find('\n', cut);
        if (cut == std::string_view::npos) return bad("truncated");
        ++cut;
    }
    progress p;
    auto pos = binlog::parse_cursor(c.substr(0, cut - 1), where);
    if (!pos) return pos.error_value();
    p.start = std::move(*pos);
    std::string_view rest = c.substr(cut);
    auto line = [&](std::string_view key, std::string_view& v) {
        const std::size_t nl = std::min(rest.find('\n'), rest.size());
        const std::string_view l = rest.substr(0, nl);
        rest = nl < rest.size() ? rest.substr(nl + 1) : std::string_view();
        if (!l.starts_with(key) || l.size() <= key.size() || l[key.size()] != '=') return false;
        v = l.substr(key.size() + 1);
        return true;
    };
    std::string_view schema, table, key;
    if (!line("schema", schema) || !line("table", table) || !line("key", key) || !rest.empty())
        return bad("expected schema=, table= and key= lines");
    p.schema = schema;
    p.table = table;
    while (!key.empty()) {
        const std::size_t comma = std::min(key.find(','), key.size());
        const std::string_view part = key.substr(0, comma);
        key = comma < key.size() ? key.substr(comma + 1) : std::string_view();
        if (part == "-") {
            p.last_key.emplace_back();
            continue;
        }
        std::string v;
        if (!part.starts_with("x") || !detail::snapshot::unhex(part.substr(1), v)) return bad("bad key cell");
        p.last_key.emplace_back(std::move(v));
    }
    return p;
}

struct snapshot_stats {
    std::uint64_t tables = 0;     ///< tables finished
    std::uint64_t chunks = 0;     ///< chunks delivered
    std::uint64_t rows = 0;       ///< rows delivered
    std::uint64_t reads = 0;      ///< consistent reads opened (more than 1: reconnected or resumed)

    template <class V>
    void visit(V&& v) const {
        v(rowcast::detail::counter("snapshot_tables", tables, "tables copied by the snapshot"));
        v(rowcast::detail::counter("snapshot_chunks", chunks, "snapshot chunks delivered"));
        v(rowcast::detail::counter("snapshot_rows", rows, "snapshot rows delivered"));
        v(rowcast::detail::counter("snapshot_reads", reads, "consistent reads opened by the snapshot"));
    }
};

/// The initial snapshot as an event_source (pipeline/source.hpp): native_handle() -1,
/// next_timeout() 0 until done(); each process() delivers one chunk (it blocks while the
/// server answers the chunk's query).
class initial_snapshot {
public:
    explicit initial_snapshot(options o) : opt_(std::move(o)) {
        if (opt_.chunk_rows == 0) opt_.chunk_rows = 1;
    }
    initial_snapshot(const initial_snapshot&) = delete;
    initial_snapshot& operator=(const initial_snapshot&) = delete;

    /// Resume from a cursor (before the first process(); a transactional sink's
    /// snapshot cursor is taken by process() itself).
    void resume_from(progress p) {
        prog_ = std::move(p);
        resumed_ = true;
    }

    int native_handle() const noexcept { return -1; }
    std::chrono::milliseconds next_timeout() const noexcept { return std::chrono::milliseconds(done() ? -1 : 0); }
    bool done() const noexcept { return done_ || stop_.load(); }
    /// The copy is complete (not just stopped).
    bool finished() const noexcept { return done_; }
    void stop() noexcept { stop_.store(true); }

    /// The binlog point the stream continues from; set by the first process().
    const std::optional<binlog::position>& start() const noexcept { return start_; }
    const progress& current() const noexcept { return prog_; }
    const snapshot_stats& stats() const noexcept { return stats_; }
    /// The sequence of the last event delivered (events are numbered 1, 2, … in this object).
    std::uint64_t last_sequence() const noexcept { return sequence_; }

    template <event_sink Sink>
    result<std::size_t> process(Sink& sink);

    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& o = {}) {
        std::stop_callback on_stop(stop, [this] { this->stop(); });
        return rowcast::run(*this, sink, stop, o);
    }

private:
    using table_plan = detail::snapshot::table_plan;

    result<void> open() {
        auto c = mysql::connection::open(opt_.connection, "snapshot");
        if (!c) return c.error_value();
        conn_.emplace(std::move(*c));
        auto p = detail::snapshot::start_consistent_read(*conn_, where());
        if (!p) {
            conn_.reset();
            return p.error_value();
        }
        ++stats_.reads;
        if (!resumed_ && !start_) prog_.start = *p;
        start_ = prog_.start;
        if (!listed_) {
            if (auto r = list_tables(); !r) {
                conn_.reset();
                return r;
            }
            listed_ = true;
            // resume: the first table at or after the cursor's (name order)
            index_ = 0;
            if (!prog_.table.empty()) {
                while (index_ < tables_.size() &&
                       std::pair(tables_[index_].first, tables_[index_].second) < std::pair(prog_.schema, prog_.table))
                    ++index_;
                if (index_ < tables_.size() &&
                    (tables_[index_].first != prog_.schema || tables_[index_].second != prog_.table))
                    prog_.last_key.clear();
            }
        }
        plan_.reset();
        return {};
    }

    std::string where() const { return mysql::describe(opt_.connection); }

    result<void> list_tables() {
        auto t = detail::snapshot::list_tables(*conn_, opt_.tables);
        if (!t) return t.error_value();
        tables_ = std::move(*t);
        return {};
    }

    result<void> make_plan() {
        const auto& [schema, table] = tables_[index_];
        auto p = detail::snapshot::plan_table(*conn_, schema, table, opt_.keys);
        if (!p) return p.error_value();
        if (p->key.empty() && opt_.without_key == without_key_policy::refuse)
            return error::make(errc::unsupported, "snapshot", schema + "." + table,
                               "the table has no primary key: name a unique key in the snapshot options (keys)");
        plan_ = std::move(*p);
        return {};
    }

    void next_table() {
        ++index_;
        ++stats_.tables;
        plan_.reset();
        prog_.last_key.clear();
        if (index_ < tables_.size()) {
            prog_.schema = tables_[index_].first;
            prog_.table = tables_[index_].second;
        }
    }

    template <class Sink>
    result<void> publish(Sink& sink) {
        if constexpr (transactional_sink<Sink>) {
            if (index_ >= tables_.size()) return sink.publish(binlog::to_cursor(prog_.start));
            return sink.publish(to_cursor(prog_));
        } else {
            (void)sink;
            return {};
        }
    }

    // Opens a chunk's transaction id and fills the fixed fields of `e`.
    void prepare_event(event& e, event_kind k, const table_plan& p) const {
        e.kind = k;
        e.schema = k == event_kind::insert ? p.schema : std::string();
        e.table = k == event_kind::insert ? p.table : std::string();
        e.columns = k == event_kind::insert ? p.cols : nullptr;
        e.before.clear();
        if (k != event_kind::insert) e.after.clear();
        // unique per chunk across restarts: the snapshot's start, the table, the key the chunk starts after
        e.transaction.id = std::string(snapshot_transaction_prefix) + prog_.start.file + ":" +
                           std::to_string(prog_.start.offset) + ":" + p.schema + "." + p.table + ":" +
                           detail::snapshot::key_text(prog_.last_key);
        // the rows carry the snapshot's binlog point; a chunk's begin and commit none (they are no
        // binlog group end: a sink that drops what lies before the last group end it saw, like
        // sql::sink, must not take the next chunk, at the same point, for a replay)
        if (k == event_kind::insert) e.source = {prog_.start.file, prog_.start.offset, prog_.start.gtid, 0};
        else e.source = {};
        e.capture_time = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    }

    template <class Sink>
    result<std::size_t> chunk(Sink& sink);

    options opt_;
    std::optional<mysql::connection> conn_;
    std::vector<detail::snapshot::table_name> tables_;
    std::size_t index_ = 0;
    std::optional<table_plan> plan_;
    progress prog_;
    std::optional<binlog::position> start_;
    snapshot_stats stats_;
    std::uint64_t sequence_ = 0;
    bool listed_ = false, resumed_ = false, started_ = false, done_ = false;
    std::atomic<bool> stop_{false};
    event ev_;  // reused for every row: its vectors keep their capacity
};

template <event_sink Sink>
result<std::size_t> initial_snapshot::process(Sink& sink) {
    if (done()) return std::size_t{0};
    if (!started_) {
        if constexpr (transactional_sink<Sink>) {
            auto c = sink.load_cursor();
            if (!c) return c.error_value();
            if (*c && is_snapshot_cursor(**c)) {
                auto p = parse_cursor(**c, "the sink's saved cursor");
                if (!p) return p.error_value();
                resume_from(std::move(*p));
            }
        }
        started_ = true;
    }
    if (!conn_) {
        if (auto r = open(); !r) return r.error_value();
        if (index_ < tables_.size() && prog_.table.empty()) {
            prog_.schema = tables_[index_].first;
            prog_.table = tables_[index_].second;
        }
    }
    if (index_ >= tables_.size()) {
        done_ = true;
        conn_.reset();
        if (auto r = publish(sink); !r) return r.error_value();
        return std::size_t{0};
    }
    prog_.schema = tables_[index_].first;
    prog_.table = tables_[index_].second;
    if (!plan_)
        if (auto r = make_plan(); !r) return r.error_value();
    auto n = chunk(sink);
    if (!n) return n;
    if (index_ >= tables_.size()) {  // the last chunk of the last table: the stream's position is the cursor
        done_ = true;
        conn_.reset();
        if (auto r = publish(sink); !r) return r.error_value();
    }
    return n;
}

template <class Sink>
result<std::size_t> initial_snapshot::chunk(Sink& sink) {
    const table_plan& p = *plan_;
    const std::string name = p.schema + "." + p.table;
    const std::size_t limit = p.key.empty() ? 0 : opt_.chunk_rows;
    const std::string q = detail::snapshot::chunk_query(p.schema, p.table, *p.cols, p.key, prog_.last_key, limit);
    auto lost = [&](const error& e) -> error {
        conn_.reset();  // the consistent read is gone: the next process() opens a new one after the last chunk
        return e;
    };
    auto res = conn_->query(q);
    if (!res) return lost(detail::snapshot::query_error(res.error_value(), name, "chunk query failed"));

    std::size_t rows = 0;
    bool opened = false;  // the chunk's begin was written
    detail::snapshot::cells last;
    // A refused row or a failed write: the chunk is dropped by a transactional sink (or
    // closed by an interrupted rollback for a plain one) and read again by the next process().
    auto abandon = [&](error e) -> error {
        if (opened) {
            if constexpr (transactional_sink<Sink>) {
                (void)sink.discard();
            } else {
                prepare_event(ev_, event_kind::rollback, p);
                ev_.statement = std::string(to_string(end_cause::interrupted));
                ev_.sequence = ++sequence_;
                (void)sink.write(std::as_const(ev_));
                ev_.statement.clear();
            }
        }
        return e;
    };
    for (;;) {
        auto more = res->next();
        if (!more)
            return lost(abandon(detail::snapshot::chunk_read_error(more.error_value(), name, opt_.connection.max_result_bytes)));
        if (!*more) break;
        const detail::snapshot::row_view row = res->row();
        if (stop_.load()) return abandon(error::make(errc::unavailable, "snapshot", name, "stopped inside a chunk"));
        if (rows == 0) {
            prepare_event(ev_, event_kind::begin, p);
            ev_.sequence = ++sequence_;
            if (auto w = sink.write(std::as_const(ev_)); !w) return w.error_value();
            opened = true;
            prepare_event(ev_, event_kind::insert, p);
        }
        std::size_t bad = 0;
        if (auto why = detail::snapshot::type_row(*p.cols, row, ev_.after, bad); !why.empty())
            return abandon(error::make(errc::invalid_value, "snapshot", name + "." + (*p.cols)[bad].name, why));
        ev_.transaction.position = static_cast<std::uint32_t>(rows + 1);
        ev_.sequence = ++sequence_;
        if (auto w = sink.write(std::as_const(ev_)); !w) return abandon(w.error_value());
        ++rows;
        if (!p.key.empty()) detail::snapshot::key_cells(row, p.key, last);  // the key of the last row read
    }
    for (const auto& k : last)
        if (!k) return abandon(error::make(errc::invalid_value, "snapshot", name, "a key column is NULL: name a NOT NULL key"));
    if (rows > 0) {
        prepare_event(ev_, event_kind::commit, p);
        ev_.sequence = ++sequence_;
        ev_.transaction.position = static_cast<std::uint32_t>(rows + 1);
        if (auto w = sink.write(std::as_const(ev_)); !w) return abandon(w.error_value());
        ++stats_.chunks;
        stats_.rows += rows;
    }
    if (p.key.empty() || rows < limit) next_table();
    else prog_.last_key = std::move(last);
    if (index_ < tables_.size())  // (after the last table process() publishes the stream's start)
        if (auto r = publish(sink); !r) return r.error_value();
    return rows + (rows > 0 ? 2 : 0);
}

}  // namespace snapshot
ROWCAST_NAMESPACE_END
