// rowcast/snapshot/incremental.hpp: the incremental snapshot while streaming, by the DBLog
// watermark method (Andreakis & Papapanagiotou, "DBLog: A Watermark Based Change-Data-
// Capture Framework", 2020; Debezium's incremental snapshots). docs/snapshot.md.
//
//   rowcast::snapshot::incremental_options o;
//   o.connection = {.host = "db1", .user = "cdc", .password = pw};
//   o.signal_table = "ops.rowcast_signal";     // signals read from the stream, watermarks written to it
//   o.tables = {"shop.orders"};                // optional: asked once at start (see below)
//   rowcast::snapshot::incremental_snapshot inc(o);
//   inc.process(follower, sink);               // in place of follower.process(sink), in a poll loop
// snapshot_source (source.hpp) does this for you with source_options::incremental.
//
// Method: one table at a time, chunks of `chunk_rows` rows in primary-key order. For a chunk:
// INSERT a low watermark row into the signal table, SELECT the chunk (key > the last key
// delivered ORDER BY key LIMIT chunk_rows) into memory, INSERT a high watermark row. While
// the stream is between the two watermarks, a row event of that table drops the rows with
// the keys of its images from the chunk (the stream carries a newer state); at the high
// watermark the rows left are delivered as snapshot reads (insert events whose transaction
// id starts with "snapshot:", is_snapshot_read(); op "r" in the Debezium envelope) inside
// the high watermark's transaction, right after its row, before the stream goes on. So no
// change is lost, reordered or overwritten by an older snapshot row, and writers are never
// blocked (no lock, no long transaction).
//
// Signals (Debezium's shape): a row inserted into the signal table
//   CREATE TABLE ops.rowcast_signal (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL,
//                                    data VARCHAR(2048) NULL);
//   INSERT INTO ops.rowcast_signal VALUES ('s1', 'execute-snapshot',
//       '{"data-collections": ["shop.orders", "crm.*"], "type": "incremental"}');
// (columns by position: id, type, data), read from the binlog stream: `execute-snapshot`
// queues the tables (schema.table or schema.*), `stop-snapshot` removes the listed tables
// (all without data-collections). options::tables is written as such a signal at the
// first process(), with INSERT IGNORE and the id "rowcast-request-<crc32 of the list>": a
// restart with the same list asks nothing again (delete that row to ask again).
// Watermark rows: id "<random hex>-open" / "-close", type snapshot-window-open / -close.
//
// Tables without a primary key (or a key named in options::keys) are refused: asked by
// options::tables, the first process() fails with [rowcast.snapshot.unsupported]; asked by
// a signal, the table is skipped with that error logged and the stream goes on. A signal
// that cannot be read is logged as an error and ignored (it stays in the signal table).
//
// Resume: with a transactional_sink the cursor published with each transaction is the
// stream's cursor, followed while an incremental snapshot is queued by
//   incremental=1
//   key=x3432,..     (the last key delivered of the first table; empty: from its start)
//   table=shop.orders
//   table=crm.*      (the queue, in order)
// so kill -9 resumes at the next chunk after the last one the sink acknowledged (the chunk
// in progress is read again under new watermarks). Without a queue the cursor is the
// stream's alone (binlog/checkpoint.hpp), which binlog::follower resumes from.
//
// Privileges: SELECT on the tables and information_schema, INSERT on the signal table.
// Errors: [rowcast.snapshot.io_error] / [rowcast.snapshot.unavailable] (the query
// connection is lost, a passing server error: transient, the chunk is read again),
// [rowcast.snapshot.refused] (privileges, TLS), [rowcast.snapshot.limit_exceeded] (a chunk
// over connection.max_result_bytes: lower chunk_rows), [rowcast.snapshot.
// invalid_value] (a cell that cannot be typed, a damaged cursor), [rowcast.snapshot.
// unsupported] (see above). Thread-safety: one thread at a time.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/codec/detail/json/read.hpp>
#include <rowcast/detail/crc32.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/snapshot/detail/plan.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace snapshot {

struct incremental_options {
    /// The query connection: the same options as the stream's (TLS, authentication;
    /// docs/connecting.md). A chunk of more than connection.max_result_bytes bytes (its rows
    /// are held while the window is open) is limit_exceeded.
    mysql::connect_options connection;
    std::string signal_table;         ///< "schema.table" (required): signals in, watermarks out
    std::vector<std::string> tables;  ///< asked at the first process() (schema.table or schema.*)
    std::size_t chunk_rows = 1024;    ///< rows per chunk (held in memory while its window is open); at least 1
    /// "schema.table" -> columns identifying a row, for a table without a primary key
    /// (a UNIQUE NOT NULL key).
    std::map<std::string, std::vector<std::string>, std::less<>> keys;
    /// Called between a chunk's SELECT and its high watermark with the table and the rows
    /// read (tests use it to change those rows inside the window).
    std::function<void(std::string_view table, std::size_t rows)> window_hook;
};

/// What an incremental snapshot has left to do (what its cursor part holds).
struct incremental_progress {
    std::vector<std::string> tables;    ///< the queue; the first is being copied
    detail::snapshot::cells last_key;   ///< the key cells of the last row delivered of tables[0]
    friend bool operator==(const incremental_progress&, const incremental_progress&) = default;
};

/// Splits a cursor into the stream's part and the incremental part (empty when none).
inline std::pair<std::string_view, std::string_view> split_cursor(std::string_view c) noexcept {
    const auto at = c.find(binlog::incremental_cursor_marker);
    if (at == std::string_view::npos) return {c, {}};
    return {c.substr(0, at), c.substr(at + 1)};
}

/// "incremental=1\nkey=..\ntable=..\n.." (appended to the stream's cursor after a newline).
inline std::string to_cursor_part(const incremental_progress& p) {
    std::string out = "incremental=1\nkey=" + detail::snapshot::key_text(p.last_key);
    for (const auto& t : p.tables) out += "\ntable=" + t;
    return out;
}

/// Parses to_cursor_part()'s text; `where` names its origin in errors.
inline result<incremental_progress> parse_cursor_part(std::string_view c, std::string_view where) {
    auto bad = [&](std::string_view what) {
        return error::make(errc::invalid_value, "snapshot", where,
                           "incremental part: " + std::string(what) + " (the cursor is kept; fix or remove it)");
    };
    incremental_progress p;
    bool first = true, key_seen = false;
    while (!c.empty()) {
        const std::size_t nl = std::min(c.find('\n'), c.size());
        const std::string_view l = c.substr(0, nl);
        c = nl < c.size() ? c.substr(nl + 1) : std::string_view();
        if (first) {
            if (l != "incremental=1") return bad("expected incremental=1");
            first = false;
        } else if (l.starts_with("key=") && !key_seen) {
            key_seen = true;
            std::string_view key = l.substr(4);
            while (!key.empty()) {
                const std::size_t comma = std::min(key.find(','), key.size());
                const std::string_view part = key.substr(0, comma);
                key = comma < key.size() ? key.substr(comma + 1) : std::string_view();
                std::string v;
                if (part == "-") p.last_key.emplace_back();
                else if (part.starts_with("x") && detail::snapshot::unhex(part.substr(1), v)) p.last_key.emplace_back(std::move(v));
                else return bad("bad key cell");
            }
        } else if (l.starts_with("table=") && key_seen && l.size() > 6) {
            p.tables.emplace_back(l.substr(6));
        } else {
            return bad("unexpected line '" + std::string(l.substr(0, 40)) + "'");
        }
    }
    if (first || !key_seen) return bad("truncated");
    return p;
}

struct incremental_stats {
    std::uint64_t signals = 0;   ///< execute-snapshot / stop-snapshot signals taken
    std::uint64_t refused = 0;   ///< signals or tables refused (logged)
    std::uint64_t tables = 0;    ///< tables finished
    std::uint64_t chunks = 0;    ///< chunks delivered (windows closed)
    std::uint64_t rows = 0;      ///< snapshot rows delivered
    std::uint64_t dropped = 0;   ///< chunk rows dropped because the stream changed them inside the window
    std::uint64_t redone = 0;    ///< windows abandoned and read again (DDL, an image without its key)

    template <class V>
    void visit(V&& v) const {
        v(rowcast::detail::counter("incremental_signals", signals, "incremental snapshot signals taken"));
        v(rowcast::detail::counter("incremental_refused", refused, "incremental snapshot signals or tables refused"));
        v(rowcast::detail::counter("incremental_tables", tables, "tables finished by incremental snapshots"));
        v(rowcast::detail::counter("incremental_chunks", chunks, "incremental snapshot chunks delivered"));
        v(rowcast::detail::counter("incremental_rows", rows, "incremental snapshot rows delivered"));
        v(rowcast::detail::counter("incremental_dropped", dropped,
                                   "chunk rows dropped because the stream changed them inside the window"));
        v(rowcast::detail::counter("incremental_redone", redone, "incremental snapshot windows read again"));
    }
};

class incremental_snapshot;

/// The sink the stream writes into while an incremental snapshot runs: it watches the
/// signal table and the chunk's window, delivers the chunk at its high watermark and adds
/// the incremental part to the cursors. Transactional when `Sink` is.
template <class Sink>
class incremental_window_sink {
public:
    incremental_window_sink(incremental_snapshot& s, Sink& inner) noexcept : s_(s), inner_(inner) {}
    result<void> write(const event& e);
    result<void> write(std::span<const event> batch) { return write_each(*this, batch); }
    result<void> flush() { return inner_.flush(); }
    result<std::optional<std::string>> load_cursor()
        requires transactional_sink<Sink>;
    result<void> publish(std::string_view cursor)
        requires transactional_sink<Sink>;
    result<void> discard()
        requires transactional_sink<Sink>;

private:
    incremental_snapshot& s_;
    Sink& inner_;
};

class incremental_snapshot {
public:
    explicit incremental_snapshot(incremental_options o) : opt_(std::move(o)) {
        if (opt_.chunk_rows == 0) opt_.chunk_rows = 1;
        const auto dot = opt_.signal_table.find('.');
        if (dot != std::string::npos) {
            signal_schema_ = opt_.signal_table.substr(0, dot);
            signal_name_ = opt_.signal_table.substr(dot + 1);
        }
        std::random_device rd;
        nonce_ = (std::uint64_t{rd()} << 32) ^ rd();
    }
    incremental_snapshot(const incremental_snapshot&) = delete;
    incremental_snapshot& operator=(const incremental_snapshot&) = delete;

    /// True while tables are queued.
    bool active() const noexcept { return !prog_.tables.empty(); }
    /// True when the next process() has work before the stream's (a request to write or a
    /// chunk to open): a poll loop must not sleep on the stream's descriptor then.
    bool ready() const noexcept {
        return loaded_ && !win_ && (active() || (!requested_ && !opt_.tables.empty()));
    }
    const incremental_progress& current() const noexcept { return prog_; }
    const incremental_stats& stats() const noexcept { return stats_; }

    /// One step: asks for options::tables (first call), opens the next chunk's window when
    /// none is open, then `stream.process()` through the window sink. `stream` is the binlog
    /// follower (any source that resumes from its sink's cursor).
    template <class Src, event_sink Sink>
    result<std::size_t> process(Src& stream, Sink& sink) {
        if (!stream.done())
            if (auto r = prepare(); !r) return r.error_value();
        return pass(stream, sink);
    }

    /// `stream.process()` through the window sink only (the last step after a stop).
    template <class Src, event_sink Sink>
    result<std::size_t> pass(Src& stream, Sink& sink) {
        if constexpr (!transactional_sink<Sink>) loaded_ = true;  // no cursor to resume from
        incremental_window_sink<Sink> w(*this, sink);
        if constexpr (requires(std::uint64_t n) { stream.reserve_sequence(n); }) {  // each read its own sequence
            reserve_ = {&stream, [](void* src, std::uint64_t n) { static_cast<Src*>(src)->reserve_sequence(n); }};
        } else {
            reserve_ = {};
        }
        auto r = stream.process(w);
        reserve_ = {};
        return r;
    }

private:
    template <class>
    friend class incremental_window_sink;

    enum class phase : std::uint8_t { selected, open, emitted };
    struct window {
        std::string id;                            // the watermark rows' id prefix
        phase at = phase::selected;
        detail::snapshot::cells from, last;        // the key the chunk starts after; its last row's key
        bool last_chunk = false;                   // fewer rows than chunk_rows: the table is done
        std::vector<std::vector<value>> rows;      // key order
        std::vector<bool> gone;                    // dropped by the stream
        std::unordered_map<std::string, std::size_t> index;  // key bytes -> row
        std::chrono::sys_time<std::chrono::microseconds> read_at{};
    };

    std::string where() const { return mysql::describe(opt_.connection); }

    result<mysql::connection*> connection() {
        if (!conn_) {
            auto c = mysql::connection::open(opt_.connection, "snapshot");
            if (!c) return c.error_value();
            if (auto r = detail::snapshot::exec(*c, "SET SESSION time_zone='+00:00'", where()); !r) return r.error_value();
            conn_.emplace(std::move(*c));
        }
        return &*conn_;
    }
    error lost(error e) {  // a failed statement: a new connection next time
        conn_.reset();
        return e;
    }

    static std::string literal(std::string_view s) { return mysql::quote_string(s); }

    result<void> insert_signal(mysql::connection& m, std::string_view verb, const std::string& id, std::string_view type,
                               const std::string& data) {
        const std::string q = std::string(verb) + " INTO " + detail::snapshot::ident(signal_schema_) + "." +
                              detail::snapshot::ident(signal_name_) + " (id, type, data) VALUES (" + literal(id) + "," + literal(type) + "," +
                              literal(data) + ")";
        if (auto r = detail::snapshot::exec(m, q, opt_.signal_table); !r) return lost(r.error_value());
        return {};
    }

    static std::string json_string(std::string_view s) {
        std::string out = "\"";
        for (char c : s) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        return out += '"';
    }

    // options::tables as an execute-snapshot signal (once per list: INSERT IGNORE by id),
    // after checking each table has a key.
    result<void> request(mysql::connection& m) {
        auto names = detail::snapshot::list_tables(m, opt_.tables);
        if (!names) return names.error_value();
        for (const auto& [schema, table] : *names) {
            auto p = detail::snapshot::plan_table(m, schema, table, opt_.keys);
            if (!p) return p.error_value();
            if (p->key.empty()) return no_key(schema + "." + table);
        }
        std::vector<std::string> sorted = opt_.tables;
        std::sort(sorted.begin(), sorted.end());
        std::string list, data = "{\"data-collections\":[";
        for (std::size_t i = 0; i < sorted.size(); ++i) {
            list += sorted[i] + "\n";
            data += (i ? "," : "") + json_string(sorted[i]);
        }
        data += "],\"type\":\"incremental\"}";
        const std::uint32_t crc = detail::crc32(list.data(), list.size());
        std::string id = "rowcast-request-";
        for (int s = 28; s >= 0; s -= 4) id += detail::hex_lower[(crc >> s) & 15];
        return insert_signal(m, "INSERT IGNORE", id, "execute-snapshot", data);
    }

    static error no_key(const std::string& name) {
        return error::make(errc::unsupported, "snapshot", name,
                           "the table has no primary key: an incremental snapshot needs one (or a unique NOT NULL key "
                           "named in the options' keys)");
    }

    void refuse(const error& e) {
        ++stats_.refused;
        rowcast::log(log_level::error, "snapshot", e.message);
    }

    void pop_table() {
        if (!prog_.tables.empty()) prog_.tables.erase(prog_.tables.begin());
        prog_.last_key.clear();
        plan_.reset();
    }

    // Before the stream's step: the request, then a new window when none is open.
    result<void> prepare() {
        if (!loaded_) return {};  // the stream has not read the sink's cursor yet (the first step)
        if (signal_schema_.empty() || signal_name_.empty())
            return error::make(errc::invalid_value, "snapshot", opt_.signal_table, "the signal table must be schema.table");
        if (!requested_ && !opt_.tables.empty()) {
            auto m = connection();
            if (!m) return m.error_value();
            if (auto r = request(**m); !r) return is_transient(r.error_value()) ? lost(r.error_value()) : r.error_value();
            requested_ = true;
        }
        if (win_ || prog_.tables.empty()) return {};
        auto m = connection();
        if (!m) return m.error_value();
        while (!prog_.tables.empty() && !plan_) {
            const std::string& front = prog_.tables.front();
            if (front.ends_with(".*") || front.find('.') == std::string::npos) {  // a schema: its tables, in name order
                auto names = detail::snapshot::list_tables(**m, {front});
                if (!names) {
                    if (is_transient(names.error_value())) return lost(names.error_value());
                    refuse(names.error_value());
                    pop_table();
                    continue;
                }
                std::vector<std::string> expanded;
                for (const auto& [s, t] : *names)
                    if (std::find(prog_.tables.begin() + 1, prog_.tables.end(), s + "." + t) == prog_.tables.end())
                        expanded.push_back(s + "." + t);
                prog_.tables.erase(prog_.tables.begin());
                prog_.tables.insert(prog_.tables.begin(), expanded.begin(), expanded.end());
                prog_.last_key.clear();
                continue;
            }
            const auto dot = front.find('.');
            auto p = detail::snapshot::plan_table(**m, front.substr(0, dot), front.substr(dot + 1), opt_.keys);
            if (!p) {
                if (is_transient(p.error_value())) return lost(p.error_value());
                refuse(p.error_value());
                pop_table();
                continue;
            }
            if (p->key.empty() || p->cols->size() == 0) {
                refuse(p->cols->size() == 0 ? error::make(errc::missing_field, "snapshot", front, "no such table") : no_key(front));
                pop_table();
                continue;
            }
            plan_ = std::move(*p);
        }
        if (!plan_) return {};
        return open_window(**m);
    }

    // Low watermark, the chunk's SELECT, high watermark.
    result<void> open_window(mysql::connection& m) {
        const auto& p = *plan_;
        const std::string name = p.schema + "." + p.table;
        window w;
        w.id.reserve(16);
        const std::uint64_t n = nonce_ ^ ++windows_;
        for (int s = 60; s >= 0; s -= 4) w.id += detail::hex_lower[(n >> s) & 15];
        w.from = prog_.last_key;
        const std::string data = "{\"table\":" + json_string(name) + ",\"after\":\"" + detail::snapshot::key_text(w.from) + "\"}";
        if (auto r = insert_signal(m, "INSERT", w.id + "-open", "snapshot-window-open", data); !r) return r;
        const std::string q = detail::snapshot::chunk_query(p.schema, p.table, *p.cols, p.key, w.from, opt_.chunk_rows);
        {
            auto res = m.query(q);
            if (!res) return lost(detail::snapshot::query_error(res.error_value(), name, "chunk query failed"));
            std::string key;
            std::size_t bytes = 0;  // the chunk held in memory: bounded as a whole result is
            const std::size_t max_bytes = opt_.connection.max_result_bytes;
            for (;;) {
                auto more = res->next();
                if (!more) return lost(detail::snapshot::chunk_read_error(more.error_value(), name, max_bytes));
                if (!*more) break;
                const detail::snapshot::row_view row = res->row();
                for (const auto& c : row) bytes += c ? c->size() : 0;
                if (max_bytes > 0 && bytes > max_bytes)
                    return lost(error::make(errc::limit_exceeded, "snapshot", name,
                                            "the chunk has more than " + std::to_string(max_bytes) +
                                                " bytes (connection max_result_bytes): lower chunk_rows or raise the limit (rowcast-binlog "
                                                "--snapshot-max-result-bytes, rowcastd snapshot.max_result_bytes)"));
                std::vector<value> vals;
                std::size_t bad = 0;
                if (auto why = detail::snapshot::type_row(*p.cols, row, vals, bad); !why.empty())
                    return lost(error::make(errc::invalid_value, "snapshot", name + "." + (*p.cols)[bad].name, why));
                detail::snapshot::key_cells(row, p.key, w.last);
                if (!detail::snapshot::image_key(vals, p.key, key))
                    return lost(error::make(errc::invalid_value, "snapshot", name, "a key column is absent"));
                w.index.emplace(key, w.rows.size());
                w.rows.push_back(std::move(vals));
            }
        }
        for (const auto& k : w.last)
            if (!k) return error::make(errc::invalid_value, "snapshot", name, "a key column is NULL: name a NOT NULL key");
        w.last_chunk = w.rows.size() < opt_.chunk_rows;
        if (w.rows.empty()) w.last = w.from;
        w.gone.assign(w.rows.size(), false);
        w.read_at = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
        if (opt_.window_hook) opt_.window_hook(name, w.rows.size());
        if (auto r = insert_signal(m, "INSERT", w.id + "-close", "snapshot-window-close", data); !r) return r;
        win_ = std::move(w);
        return {};
    }

    // ---- what the window sink calls -----------------------------------------------------

    static std::optional<std::string_view> string_of(const std::vector<value>& img, std::size_t i) {
        if (i >= img.size()) return std::nullopt;
        if (auto* t = std::get_if<text>(&img[i])) return std::string_view(t->utf8);
        if (auto* b = std::get_if<bytes>(&img[i])) return std::string_view(b->data);
        return std::nullopt;
    }

    bool is_signal(const event& e) const noexcept {
        return is_row_event(e.kind) && e.table == signal_name_ && e.schema == signal_schema_;
    }
    bool in_window_table(const event& e) const noexcept {
        return win_ && plan_ && is_row_event(e.kind) && e.table == plan_->table && e.schema == plan_->schema;
    }

    void abandon_window(std::string_view why) {
        rowcast::log(log_level::warning, "snapshot", "incremental snapshot of " + plan_->schema + "." + plan_->table +
                                                          ": " + std::string(why) + "; the chunk is read again");
        win_.reset();
        plan_.reset();
        ++stats_.redone;
    }

    // A row of the window's table changed inside the window: its keys leave the chunk.
    void drop_keys(const event& e) {
        if (win_->at != phase::open) return;  // before the low watermark: the SELECT saw it
        const auto& p = *plan_;
        if (e.columns && e.columns->size() != p.cols->size()) return abandon_window("the table's columns changed");
        for (const auto* img : {&e.before, &e.after}) {
            if (img->empty()) continue;
            if (!detail::snapshot::image_key(*img, p.key, key_)) return abandon_window("a row image without its key");
            if (auto it = win_->index.find(key_); it != win_->index.end() && !win_->gone[it->second]) {
                win_->gone[it->second] = true;
                ++stats_.dropped;
            }
        }
    }

    // The data of an execute-snapshot / stop-snapshot signal: its data-collections.
    static result<std::vector<std::string>> collections(std::string_view data, bool& given) {
        given = false;
        std::vector<std::string> out;
        if (data.empty()) return out;
        detail::json_reader r;
        r.s = data.data();
        r.n = data.size();
        r.ws();
        if (!r.open('{')) return error::make(errc::invalid_value, "snapshot", "signal data", "expected a JSON object");
        bool first = true, done = false;
        detail::json_str key, s;
        std::string k, v;
        while (r.member(first, done, key) && !done) {
            detail::assign_json_str(k, key);
            if (k == "data-collections") {
                given = true;
                if (!r.open('[')) return error::make(errc::invalid_value, "snapshot", "signal data", "data-collections: expected an array");
                bool f = true, d = false;
                while (r.element(f, d) && !d) {
                    if (r.peek() != '"' || !r.read_string(s))
                        return error::make(errc::invalid_value, "snapshot", "signal data", "data-collections: expected strings");
                    detail::assign_json_str(v, s);
                    if (v.find('.') == std::string::npos || v.find('\n') != std::string::npos)
                        return error::make(errc::invalid_value, "snapshot", "signal data",
                                           "data-collections: '" + v + "' is not schema.table or schema.*");
                    out.push_back(v);
                }
                if (!d) break;
            } else if (k == "type") {
                if (r.peek() != '"' || !r.read_string(s)) break;
                detail::assign_json_str(v, s);
                std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                if (v != "incremental")
                    return error::make(errc::unsupported, "snapshot", "signal data",
                                       "snapshot type '" + v + "': only incremental snapshots are taken from signals");
            } else {
                return error::make(errc::unsupported, "snapshot", "signal data",
                                   "'" + k + "' is not supported (data-collections and type are)");
            }
        }
        if (!done) return r.err.code ? r.err : error::make(errc::syntax_error, "snapshot", "signal data", "not valid JSON");
        return out;
    }

    // A row inserted into the signal table: a signal or one of our watermarks.
    result<void> on_signal(const event& e) {
        if (e.kind != event_kind::insert) return {};
        const auto id = string_of(e.after, 0), type = string_of(e.after, 1);
        if (!id || !type) return {};
        if (win_ && *type == "snapshot-window-open" && *id == win_->id + "-open") {
            if (win_->at == phase::selected) win_->at = phase::open;
            return {};
        }
        if (win_ && *type == "snapshot-window-close" && *id == win_->id + "-close") {  // (open: on_event emitted)
            abandon_window("the high watermark came without the low one");
            return {};
        }
        if (*type != "execute-snapshot" && *type != "stop-snapshot") return {};
        bool given = false;
        auto tables = collections(string_of(e.after, 2).value_or(std::string_view()), given);
        std::optional<error> why;
        if (!tables) why = tables.error_value();
        else if (*type == "execute-snapshot" && tables->empty())
            why = error::make(errc::invalid_value, "snapshot", "signal data", "execute-snapshot without data-collections");
        if (why) {
            refuse(error{why->code, why->message + " (signal '" + std::string(*id) + "' in " + opt_.signal_table + ", ignored)"});
            return {};
        }
        ++stats_.signals;
        if (*type == "execute-snapshot") {
            for (auto& t : *tables)
                if (std::find(prog_.tables.begin(), prog_.tables.end(), t) == prog_.tables.end()) prog_.tables.push_back(t);
            rowcast::log(log_level::info, "snapshot", "signal '" + std::string(*id) + "': incremental snapshot queued");
            return {};
        }
        // stop-snapshot: the listed tables (all without a list) leave the queue
        const std::string current = prog_.tables.empty() ? std::string() : prog_.tables.front();
        std::erase_if(prog_.tables, [&](const std::string& t) {
            return !given || std::find(tables->begin(), tables->end(), t) != tables->end();
        });
        if (prog_.tables.empty() || prog_.tables.front() != current) {
            win_.reset();
            plan_.reset();
            prog_.last_key.clear();
        }
        return {};
    }

    bool is_high_watermark(const event& e) const {
        if (!win_ || e.kind != event_kind::insert || !is_signal(e)) return false;
        const auto id = string_of(e.after, 0), type = string_of(e.after, 1);
        return id && type && *type == "snapshot-window-close" && *id == win_->id + "-close";
    }

    // The high watermark: its row, then the chunk's rows left as snapshot reads (the last of
    // them the transaction's last row event when the watermark's row was).
    template <class Sink>
    result<void> emit(const event& hw, Sink& inner) {
        const auto& p = *plan_;
        std::size_t left = 0;
        for (bool g : win_->gone) left += g ? 0 : 1;
        if (left > 0 && hw.transaction.last) {
            event row = hw;
            row.transaction.last = false;
            if (auto r = inner.write(std::as_const(row)); !r) return r;
        } else if (auto r = inner.write(hw); !r) {
            return r;
        }
        ev_.kind = event_kind::insert;
        ev_.schema = p.schema;
        ev_.table = p.table;
        ev_.columns = p.cols;
        ev_.before.clear();
        ev_.transaction = hw.transaction;
        ev_.transaction.last = false;
        ev_.transaction.id = std::string(snapshot_transaction_prefix) + hw.source.file + ":" +
                             std::to_string(hw.source.offset) + ":" + p.schema + "." + p.table + ":" +
                             detail::snapshot::key_text(win_->from);
        ev_.source = hw.source;
        // sequence: hw's + 1, + 2, … with a stream that skips them for its next events
        // (binlog::follower::reserve_sequence), else the watermark's own for every read
        if (reserve_.fn) reserve_.fn(reserve_.src, left);
        ev_.commit_time = {};
        ev_.capture_time = win_->read_at;
        std::uint64_t n = 0;
        for (std::size_t i = 0; i < win_->rows.size(); ++i) {
            if (win_->gone[i]) continue;
            ev_.after = win_->rows[i];
            ev_.transaction.position = hw.transaction.position + static_cast<std::uint32_t>(n + 1);
            ev_.transaction.last = n + 1 == left && hw.transaction.last;
            ev_.sequence = reserve_.fn ? hw.sequence + n + 1 : hw.sequence;
            if (auto r = inner.write(std::as_const(ev_)); !r) return r;  // the stream redelivers the transaction
            ++n;
        }
        win_->at = phase::emitted;
        emitted_ = n;
        return {};
    }

    // After the high watermark's transaction was taken: the next chunk.
    void close_window() {
        ++stats_.chunks;
        stats_.rows += emitted_;
        if (win_->last_chunk) {
            rowcast::log(log_level::info, "snapshot", "incremental snapshot of " + prog_.tables.front() + " finished");
            pop_table();
            ++stats_.tables;
        } else {
            prog_.last_key = win_->last;
        }
        win_.reset();
    }

    template <class Sink>
    result<void> on_event(const event& e, Sink& inner) {
        if (in_window_table(e)) drop_keys(e);
        if (e.kind == event_kind::ddl && win_) abandon_window("a DDL statement");
        else if (e.kind == event_kind::ddl) plan_.reset();
        if (is_high_watermark(e) && win_->at != phase::selected) return emit(e, inner);
        if (auto r = inner.write(e); !r) return r;
        if (is_signal(e)) return on_signal(e);
        if (win_ && win_->at == phase::emitted) {
            if (e.kind == event_kind::commit) close_window();
            else if (e.kind == event_kind::rollback) win_->at = phase::open;  // delivered again
        }
        return {};
    }

    template <class Sink>
    result<std::optional<std::string>> load(Sink& inner) {
        auto c = inner.load_cursor();
        if (!c) return c;
        if (!*c) {
            loaded_ = true;
            return c;
        }
        const auto [head, part] = split_cursor(**c);
        if (!part.empty() && !loaded_) {
            auto p = parse_cursor_part(part, "the sink's saved cursor");
            if (!p) return p.error_value();
            prog_ = std::move(*p);
            plan_.reset();
            win_.reset();
        }
        loaded_ = true;
        return std::optional<std::string>(std::string(head));
    }

    template <class Sink>
    result<void> publish(Sink& inner, std::string_view cursor) {
        if (prog_.tables.empty()) return inner.publish(cursor);
        return inner.publish(std::string(cursor) + "\n" + to_cursor_part(prog_));
    }

    void on_discard() {
        if (win_ && win_->at == phase::emitted) win_->at = phase::open;
    }

    incremental_options opt_;
    std::string signal_schema_, signal_name_;
    std::optional<mysql::connection> conn_;
    incremental_progress prog_;
    std::optional<detail::snapshot::table_plan> plan_;
    std::optional<window> win_;
    incremental_stats stats_;
    std::uint64_t nonce_ = 0, windows_ = 0, emitted_ = 0;
    bool loaded_ = false, requested_ = false;
    std::string key_;  // scratch
    event ev_;
    struct {
        void* src = nullptr;
        void (*fn)(void*, std::uint64_t) = nullptr;
    } reserve_;  // the stream's reserve_sequence() during pass(), if it has one
};

template <class Sink>
result<void> incremental_window_sink<Sink>::write(const event& e) {
    return s_.on_event(e, inner_);
}
template <class Sink>
result<std::optional<std::string>> incremental_window_sink<Sink>::load_cursor()
    requires transactional_sink<Sink>
{
    return s_.load(inner_);
}
template <class Sink>
result<void> incremental_window_sink<Sink>::publish(std::string_view cursor)
    requires transactional_sink<Sink>
{
    return s_.publish(inner_, cursor);
}
template <class Sink>
result<void> incremental_window_sink<Sink>::discard()
    requires transactional_sink<Sink>
{
    s_.on_discard();
    return inner_.discard();
}

}  // namespace snapshot
ROWCAST_NAMESPACE_END
