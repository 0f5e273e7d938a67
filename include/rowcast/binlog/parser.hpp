// rowcast/binlog/parser.hpp: decodes framed binlog events (see reader.hpp)
// and drives a handler (see handler.hpp).
//
//   rowcast::binlog::parser p(options);
//   auto r = rowcast::binlog::read_file(path, my_handler, options);   // whole file
// or, event by event: p.feed(raw_event, handler) for each event of a reader.
//
// What it understands: FORMAT_DESCRIPTION, ROTATE, QUERY (BEGIN, COMMIT,
// ROLLBACK, SAVEPOINT, XA, DDL; compressed QUERY of MariaDB), XID, TABLE_MAP
// with all optional metadata, WRITE/UPDATE/DELETE_ROWS v1 and v2 (and
// MariaDB's zlib-compressed variants), MariaDB GTID/GTID_LIST/BINLOG_CHECKPOINT/
// ANNOTATE_ROWS, MySQL GTID/ANONYMOUS_GTID/PREVIOUS_GTIDS, XA_PREPARE,
// ROWS_QUERY, HEARTBEAT, STOP, MySQL 8 TRANSACTION_PAYLOAD (zstd; inner
// events are decoded in a streaming way and positioned at the payload event)
// and PARTIAL_UPDATE_ROWS (the JSON diff is applied to the before image).
//
// Errors are [rowcast.binlog.<errc>] "<file> at offset N: <what>":
//  - a rows event that cannot be decoded (unknown table id, column count
//    mismatch, a value that does not fit its type, corrupt compression) is an
//    error, never a skip; so is an event type that may carry rows but is not
//    supported (v0 rows, statement-based DML, LOAD DATA,
//    encrypted binlogs);
//  - unknown event types flagged ignorable are skipped and counted in stats();
//    unknown types without the flag are an error.
//
// Thread-safety: one parser per thread; handlers run on the caller's thread.
#pragma once

#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/reader.hpp>
#include <rowcast/binlog/schema_provider.hpp>
#include <rowcast/binlog/types.hpp>
#include <rowcast/binlog/detail/json_diff.hpp>
#include <rowcast/binlog/detail/table_map.hpp>
#include <rowcast/binlog/detail/values.hpp>
#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/error.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

struct parser_options {
    schema_provider* provider = nullptr;  ///< asked for columns when TABLE_MAP has no names (not owned)
    std::size_t max_uncompressed = std::size_t{1} << 30;  ///< limit for one decompressed event (bytes)
    bool verify_checksum = true;          ///< passed to the reader by read_file()
    /// Passed to the reader by read_file(): the header's end position must equal offset + size
    /// (true for binlog files; turn off for relay logs, whose positions are the source's).
    bool check_end_positions = true;
    /// Statement-based DML (binlog_format=STATEMENT/MIXED) carries no rows. false: an
    /// error; true: passed to ddl() with its text (the changed rows stay unknown).
    bool statements_as_ddl = false;
    /// true: each callback's txn_info::capture_us is the system clock's time (µs) when its event
    /// was decoded (events' capture_time; Debezium's top-level ts_ms/ts_us/ts_ns). false: 0, and
    /// decoding the same binlog twice gives equal events. rowcast-binlog --capture-time and
    /// rowcastd's binlog `capture_time` turn it on.
    bool capture_time = false;
    /// true: the sources' event adapter (file_source, follower; binlog::event_adapter::hold_for_xid)
    /// holds each transaction's events until its end and releases them with the XID of its XID
    /// event in every event's transaction.xid (Maxwell's "xid" on every row); commit's
    /// txn_info::xid is filled either way. Off by default (events flow as they are decoded);
    /// rowcast-binlog and rowcastd turn it on when the Maxwell envelope is selected.
    bool hold_for_xid = false;
    /// hold_for_xid: memory one held transaction may use (bytes, estimated from its events'
    /// strings and values; >= 1). A larger transaction is released as it goes with xid 0
    /// (unknown), with a warning through rowcast::log, counted in xid_unknown of the source's stats.
    std::size_t hold_max_bytes = std::size_t{64} << 20;
};

struct parser_stats {
    std::uint64_t events = 0;             ///< events fed (inner payload events included)
    std::uint64_t skipped_ignorable = 0;  ///< unknown events skipped because flagged ignorable
    std::uint64_t skipped_other = 0;      ///< known events without row data that were not reported (INTVAR, …)
    std::uint64_t row_events = 0;         ///< rows events decoded
    std::uint64_t rows = 0;               ///< rows reported
    std::uint64_t transactions = 0;       ///< commits + rollbacks reported
    std::uint64_t ddl = 0;
    /// parser_options::hold_for_xid: transactions over hold_max_bytes, released before their XID
    /// with xid 0 (counted by the sources' event adapter: file_source::stats())
    std::uint64_t xid_unknown = 0;

    /// The counters as rowcast metrics (rowcast/stats.hpp).
    template <class V>
    void visit(V&& v) const {
        v(rowcast::detail::counter("events", events, "binlog events fed to the parser"));
        v(rowcast::detail::counter("skipped_ignorable", skipped_ignorable, "unknown events skipped as ignorable"));
        v(rowcast::detail::counter("skipped_other", skipped_other, "known events without row data"));
        v(rowcast::detail::counter("row_events", row_events, "rows events decoded"));
        v(rowcast::detail::counter("rows", rows, "rows reported"));
        v(rowcast::detail::counter("transactions", transactions, "commits and rollbacks reported"));
        v(rowcast::detail::counter("ddl", ddl, "DDL statements reported"));
        v(rowcast::detail::counter("xid_unknown", xid_unknown, "transactions released before their XID (over the hold limit)"));
    }
};

}  // namespace binlog
namespace detail::binlog {
using namespace ::rowcast::binlog;  // the public binlog types, unqualified
inline std::string trim_query(std::string_view q) {
    while (!q.empty() && (q.front() == ' ' || q.front() == '\n' || q.front() == '\t' || q.front() == '\r')) q.remove_prefix(1);
    while (!q.empty() && (q.back() == ' ' || q.back() == '\n' || q.back() == '\t' || q.back() == '\r' || q.back() == '\0'))
        q.remove_suffix(1);
    return std::string(q);
}
inline bool starts_with_word(std::string_view q, std::string_view w) {
    if (q.size() < w.size()) return false;
    for (std::size_t i = 0; i < w.size(); ++i) {
        char a = q[i];
        if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 32);
        if (a != w[i]) return false;
    }
    if (q.size() == w.size()) return true;
    const char n = q[w.size()];
    return !((n >= 'A' && n <= 'Z') || (n >= 'a' && n <= 'z') || (n >= '0' && n <= '9') || n == '_');
}
}  // namespace detail::binlog
namespace binlog {

class parser {
public:
    explicit parser(parser_options opt = {}) : opt_(opt) {}

    /// Name of the binlog file being read (used in positions and errors).
    void set_file(std::string file) { file_ = std::move(file); }
    const std::string& file() const noexcept { return file_; }
    const parser_stats& stats() const noexcept { return stats_; }
    /// Forgets the state tied to one connection: table maps, a partial transaction, the
    /// pending GTID and annotation. The sequence number, statistics, file name and the
    /// FORMAT_DESCRIPTION's post-header lengths stay. The replication stream calls it
    /// after a reconnect (the server resends FORMAT_DESCRIPTION and TABLE_MAPs).
    void reset() noexcept {
        forget_table_maps();
        gtid_.clear();
        txn_id_.clear();
        annotate_.clear();
        commit_us_ = 0;
        txn_thread_ = 0;
        in_txn_ = false;
        standalone_ = false;
        in_payload_ = false;
        cur_ = nullptr;
    }
    /// True between a reported begin() and its commit()/rollback().
    bool in_transaction() const noexcept { return in_txn_; }
    /// Skips `n` sequence numbers: the next callback's is the last one's + n + 1. For a sink
    /// that delivers n events of its own right after the current one (an incremental
    /// snapshot's reads at its high watermark), so that sequence stays strictly increasing.
    void reserve_sequence(std::uint64_t n) noexcept { sequence_ += n; }

    /// The source lost the transaction in progress midway (a broken replication
    /// connection): reports it to `h` as rollback(t) with t.interrupted = true (its id,
    /// GTID, file, server id and timestamp as at its begin; t.offset = `offset`, where
    /// the source will resume), then forgets the connection's state (reset()). Nothing
    /// is reported when no transaction is open. The handler's rows of that transaction
    /// must be discarded; the source delivers it again whole.
    template <any_handler H>
    result<void> interrupt(H& h, std::uint64_t offset) {
        result<void> r;
        if (in_txn_) {
            txn_info t;
            t.id = txn_id_;
            t.sequence = ++sequence_;
            t.gtid = gtid_;
            t.file = file_;
            t.offset = offset;
            t.server_id = txn_server_id_;
            t.timestamp = txn_timestamp_;
            t.commit_us = commit_us_;
            t.thread = txn_thread_;
            t.capture_us = capture_now();
            t.interrupted = true;
            in_txn_ = false;
            r = invoke_callback([&] { return h.rollback(t); });
        }
        reset();
        return r;
    }
    /// Table description for a table id from the last TABLE_MAP, or null.
    table_ptr table(std::uint64_t id) const {
        auto it = tables_.find(id);
        return it == tables_.end() ? nullptr : it->second;
    }

    /// Decodes one event and calls the handler: with views if it is a view_handler, else
    /// with owning values (decoded as views, then copied into reused owning images).
    template <any_handler H>
    result<void> feed(const raw_event& ev, H& h) {
        ++stats_.events;
        cur_ = &ev;
        const auto type = static_cast<event_type>(ev.type);
        detail::binlog::cursor c(ev.body);
        switch (type) {
            case event_type::format_description: return on_fde(c);
            case event_type::rotate: return on_rotate(c);
            case event_type::query:
            case event_type::query_compressed: return on_query(c, h, type == event_type::query_compressed);
            case event_type::xid: {
                std::uint64_t xid = 0;
                if (!c.le(8, xid)) return bad(errc::truncated, "XID event too short");
                return end_txn(h, false, false, false, xid);
            }
            case event_type::table_map: return on_table_map(c);
            case event_type::write_rows_v1:
            case event_type::update_rows_v1:
            case event_type::delete_rows_v1:
            case event_type::write_rows_v2:
            case event_type::update_rows_v2:
            case event_type::delete_rows_v2:
            case event_type::write_rows_compressed_v1:
            case event_type::update_rows_compressed_v1:
            case event_type::delete_rows_compressed_v1:
            case event_type::write_rows_compressed_v2:
            case event_type::update_rows_compressed_v2:
            case event_type::delete_rows_compressed_v2:
            case event_type::partial_update_rows: return on_rows(c, type, h);
            case event_type::mariadb_gtid: return on_mariadb_gtid(c, h);
            case event_type::gtid:
            case event_type::anonymous_gtid: return on_mysql_gtid(c, type);
            case event_type::gtid_tagged:  // MySQL 8.3+ serialization not decoded: ids fall back to file:offset
                gtid_.clear();
                ++stats_.skipped_other;
                return {};
            case event_type::xa_prepare: return end_txn(h, false, false, true);
            case event_type::transaction_payload: return on_payload(c, h);
            case event_type::annotate_rows:  // the statement of the rows events that follow
                annotate_.assign(ev.body);
                return {};
            case event_type::rows_query:  // MySQL: a length byte (the text's, mod 256), then the text
                if (!ev.body.empty()) annotate_.assign(ev.body.substr(1));
                return {};
            case event_type::gtid_list:
            case event_type::binlog_checkpoint:
            case event_type::previous_gtids:
            case event_type::heartbeat:
            case event_type::heartbeat_v2:
            case event_type::stop:
            case event_type::intvar:
            case event_type::rand:
            case event_type::user_var:
            case event_type::ignorable:
            case event_type::transaction_context:
            case event_type::view_change:
            case event_type::begin_load_query:
            case event_type::append_block:
            case event_type::delete_file:
                ++stats_.skipped_other;
                return {};
            case event_type::execute_load_query:
                return bad(errc::unsupported, "statement-based LOAD DATA (Execute_load_query) cannot be decoded into rows; "
                                              "use binlog_format=ROW");
            case event_type::write_rows_v0:
            case event_type::update_rows_v0:
            case event_type::delete_rows_v0:
                return bad(errc::unsupported, "pre-5.1.18 rows events (v0) are not supported");
            case event_type::start_encryption:
                return bad(errc::unsupported, "encrypted binlog (Start_encryption) is not supported");
            case event_type::incident:
                return bad(errc::invalid_value, "INCIDENT event: the server lost changes here");
            default:
                if (ev.flags & flag_ignorable) {
                    ++stats_.skipped_ignorable;
                    return {};
                }
                return bad(errc::unsupported, "unknown event type " + std::to_string(ev.type) + " not flagged ignorable");
        }
    }

private:
    error bad(errc e, std::string_view what) const {
        std::string where = file_;
        where += " at offset ";
        where += std::to_string(cur_ ? (in_payload_ ? payload_offset_ : cur_->offset) : 0);
        if (cur_) {
            where += " (";
            where += to_string(static_cast<event_type>(cur_->type));
            where += ')';
        }
        return error::make(e, "binlog", where, what);
    }

    std::uint64_t event_offset() const noexcept { return in_payload_ ? payload_offset_ : cur_->offset; }

    // What follows the last row of the current rows event, from the next event's type when the
    // source knows it (raw_event::next_type): a TABLE_MAP, an annotation or another rows event
    // means more rows of this transaction; XID or XA_PREPARE ends it with no more rows.
    rows_after rows_after_event() const noexcept {
        using et = event_type;
        switch (static_cast<et>(cur_->next_type)) {
            case et::table_map: case et::annotate_rows: case et::rows_query:
            case et::write_rows_v1: case et::update_rows_v1: case et::delete_rows_v1:
            case et::write_rows_v2: case et::update_rows_v2: case et::delete_rows_v2:
            case et::write_rows_compressed_v1: case et::update_rows_compressed_v1: case et::delete_rows_compressed_v1:
            case et::write_rows_compressed_v2: case et::update_rows_compressed_v2: case et::delete_rows_compressed_v2:
            case et::partial_update_rows:
                return rows_after::more;
            case et::xid: case et::xa_prepare: return rows_after::none;
            default: return rows_after::unknown;
        }
    }

    txn_info info(rows_after next = rows_after::unknown) {
        txn_info t;
        t.rows_after = next;
        t.id = txn_id_;
        t.sequence = ++sequence_;
        t.gtid = gtid_;
        t.file = file_;
        t.offset = event_offset();
        t.server_id = cur_->server_id;
        t.timestamp = cur_->timestamp;
        t.commit_us = commit_us_;
        t.thread = txn_thread_;
        t.capture_us = capture_now();
        return t;
    }
    std::int64_t capture_now() const noexcept {
        if (!opt_.capture_time) return 0;
        using namespace std::chrono;
        return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
    }

    // `thread`: the BEGIN QUERY's thread id; 0 when a GTID event or a rows event begins it.
    template <class H>
    result<void> begin_txn(H& h, std::uint64_t thread = 0) {
        in_txn_ = true;
        txn_thread_ = thread;
        txn_server_id_ = cur_->server_id;
        txn_timestamp_ = cur_->timestamp;
        if (gtid_.empty()) txn_id_ = file_ + ":" + std::to_string(event_offset());
        else txn_id_ = gtid_;
        auto t = info();
        return invoke_callback([&] { return h.begin(t); });
    }

    template <class H>
    result<void> end_txn(H& h, bool rollback, bool non_transactional, bool xa, std::uint64_t xid = 0) {
        if (!in_txn_) {
            if (!rollback && !xa) {  // a COMMIT/XID without a begin (file started mid-transaction)
                txn_id_ = gtid_.empty() ? file_ + ":" + std::to_string(event_offset()) : gtid_;
            }
        }
        auto t = info();
        t.non_transactional = non_transactional;
        t.xa = xa;
        t.xid = xid;
        in_txn_ = false;
        standalone_ = false;
        ++stats_.transactions;
        auto r = rollback ? invoke_callback([&] { return h.rollback(t); }) : invoke_callback([&] { return h.commit(t); });
        gtid_.clear();
        commit_us_ = 0;
        txn_thread_ = 0;
        annotate_.clear();
        return r;
    }

    result<void> on_fde(detail::binlog::cursor& c) {
        std::uint16_t version = 0;
        if (!c.le_as(version)) return bad(errc::truncated, "FORMAT_DESCRIPTION too short");
        if (version != 4) return bad(errc::unsupported_version, "binlog version " + std::to_string(version));
        std::string_view server;
        std::uint32_t created = 0;
        std::uint8_t hlen = 0;
        if (!c.bytes(50, server) || !c.le_as(created) || !c.u8(hlen)) return bad(errc::truncated, "FORMAT_DESCRIPTION too short");
        if (hlen != header_size) return bad(errc::unsupported, "common header length " + std::to_string(hlen));
        server_version_.assign(server.substr(0, server.find('\0')));
        flavour_ = parse_server_version(server_version_);
        std::string_view rest = c.rest();
        if (fde_has_checksum_alg(ev_body_full())) {
            if (rest.size() < 1) return bad(errc::truncated, "FORMAT_DESCRIPTION too short");
            rest.remove_suffix(1);  // checksum algorithm byte (the reader already took the CRC)
        }
        post_header_.assign(rest.begin(), rest.end());
        return {};
    }
    std::string_view ev_body_full() const noexcept {
        // the FDE body with the 4 checksum bytes the reader removed: only the
        // version string matters to fde_has_checksum_alg
        return cur_->body;
    }
    std::size_t post_header_len(event_type t, std::size_t dflt) const noexcept {
        const auto i = static_cast<std::size_t>(t);
        if (i >= 1 && i - 1 < post_header_.size()) return static_cast<unsigned char>(post_header_[i - 1]);
        return dflt;
    }

    result<void> on_rotate(detail::binlog::cursor& c) {
        std::uint64_t pos = 0;
        if (!c.le(8, pos)) return bad(errc::truncated, "ROTATE too short");
        next_file_ = std::string(c.rest());
        return {};
    }

    template <class H>
    result<void> on_query(detail::binlog::cursor& c, H& h, bool compressed) {
        std::uint32_t thread_id = 0, exec_time = 0;
        std::uint8_t db_len = 0;
        std::uint16_t err = 0, status_len = 0;
        if (!c.le_as(thread_id) || !c.le_as(exec_time) || !c.u8(db_len) || !c.le_as(err) || !c.le_as(status_len))
            return bad(errc::truncated, "QUERY post-header truncated");
        const std::size_t ph = post_header_len(event_type::query, 13);
        if (ph > 13 && !c.skip(ph - 13)) return bad(errc::truncated, "QUERY post-header truncated");
        std::string_view db;
        if (!c.skip(status_len) || !c.bytes(db_len, db) || !c.skip(1))
            return bad(errc::truncated, "QUERY status variables or database name exceed the event");
        std::string_view q = c.rest();
        std::string inflated;
        if (compressed) {
            auto e = detail::binlog::mariadb_uncompress(q, inflated, opt_.max_uncompressed);
            if (!e.empty()) return bad(errc::invalid_value, "compressed QUERY: " + e);
            q = inflated;
        }
        const std::string query = detail::binlog::trim_query(q);
        using detail::binlog::starts_with_word;
        if (starts_with_word(query, "BEGIN") || starts_with_word(query, "XA START") ||
            starts_with_word(query, "START TRANSACTION")) {
            if (in_txn_) {  // MariaDB: the GTID already began it
                txn_thread_ = thread_id;
                return {};
            }
            return begin_txn(h, thread_id);
        }
        if (starts_with_word(query, "COMMIT")) {
            if (!txn_thread_) txn_thread_ = thread_id;
            return end_txn(h, false, true, false);
        }
        if (starts_with_word(query, "ROLLBACK")) {
            if (starts_with_word(query, "ROLLBACK TO")) return {};
            return end_txn(h, true, false, false);
        }
        if (starts_with_word(query, "SAVEPOINT") || starts_with_word(query, "RELEASE SAVEPOINT") ||
            starts_with_word(query, "XA END"))
            return {};
        if (starts_with_word(query, "XA COMMIT")) {  // the prepared part was reported at XA PREPARE
            standalone_ = false;
            gtid_.clear();
            ++stats_.skipped_other;
            return {};
        }
        if (starts_with_word(query, "XA ROLLBACK")) {
            in_txn_ = true;
            return end_txn(h, true, false, true);
        }
        if (!opt_.statements_as_ddl &&
            (starts_with_word(query, "INSERT") || starts_with_word(query, "UPDATE") ||
             starts_with_word(query, "DELETE") || starts_with_word(query, "REPLACE") || starts_with_word(query, "LOAD")))
            return bad(errc::unsupported, "statement-based DML cannot be decoded into rows (use binlog_format=ROW): " +
                                              query.substr(0, 80));
        // DDL: a position-aware provider (schema_history.hpp) records the tables' new columns
        // first; the cached TABLE_MAPs are forgotten (a map decoded before the DDL must not be
        // reused after it).
        if (opt_.provider) {
            if (auto pr = opt_.provider->on_ddl(here(), db, query); !pr) return pr.error_value();
        }
        forget_table_maps();
        ++stats_.ddl;
        if (!in_txn_) txn_id_ = gtid_.empty() ? file_ + ":" + std::to_string(event_offset()) : gtid_;
        auto t = info();
        t.thread = thread_id;  // the DDL's own connection
        std::string schema(db);
        auto r = invoke_callback([&] { return h.ddl(t, std::string_view(schema), std::string_view(query)); });
        if (!in_txn_) {
            gtid_.clear();
            commit_us_ = 0;
            standalone_ = false;
        }
        return r;
    }

    template <class H>
    result<void> on_mariadb_gtid(detail::binlog::cursor& c, H& h) {
        std::uint64_t seq = 0;
        std::uint32_t domain = 0;
        std::uint8_t flags = 0;
        if (!c.le(8, seq) || !c.le_as(domain) || !c.u8(flags)) return bad(errc::truncated, "GTID event too short");
        gtid_ = std::to_string(domain) + "-" + std::to_string(cur_->server_id) + "-" + std::to_string(seq);
        constexpr std::uint8_t fl_standalone = 1, fl_completed_xa = 128;
        // Standalone (DDL) groups and XA COMMIT/ROLLBACK of a prepared transaction have no BEGIN.
        if (flags & (fl_standalone | fl_completed_xa)) {
            standalone_ = true;
            return {};
        }
        if (in_txn_) return bad(errc::invalid_value, "GTID begins a transaction inside another one");
        return begin_txn(h);
    }

    result<void> on_mysql_gtid(detail::binlog::cursor& c, event_type type) {
        std::uint8_t flags = 0;
        std::string_view sid;
        std::uint64_t gno = 0;
        if (!c.u8(flags) || !c.bytes(16, sid) || !c.le(8, gno)) return bad(errc::truncated, "GTID event too short");
        // MySQL 8.0.1+: after the post-header (logical clock fields), immediate_commit_timestamp
        // (7 bytes, µs; bit 55 set: original_commit_timestamp follows, else it is the same).
        commit_us_ = 0;
        const std::size_t ph = post_header_len(type, 42);
        if (ph >= 25 && c.skip(ph - 25) && c.left() >= 7) {
            std::uint64_t immediate = 0, original = 0;
            c.le(7, immediate);
            constexpr std::uint64_t has_original = std::uint64_t{1} << 55;
            if (immediate & has_original) {
                immediate &= ~has_original;
                if (!c.le(7, original)) return bad(errc::truncated, "GTID event: original_commit_timestamp truncated");
            } else {
                original = immediate;
            }
            commit_us_ = static_cast<std::int64_t>(original);  // when the originating server committed it
        }
        if (type == event_type::anonymous_gtid) {
            gtid_.clear();
            return {};
        }
        std::string s;
        detail::binlog::format_uuid(sid, s);
        gtid_ = s + ":" + std::to_string(gno);
        return {};
    }

    result<void> on_table_map(detail::binlog::cursor& c) {
        const std::size_t idlen = post_header_len(event_type::table_map, 8) == 6 ? 4 : 6;
        std::uint64_t table_id = 0;
        std::uint16_t flags = 0;
        if (!c.le(idlen, table_id) || !c.le_as(flags)) return bad(errc::truncated, "TABLE_MAP post-header truncated");
        if (reuse_table_map(table_id)) return {};
        auto t = std::make_shared<table_info>();
        t->table_id = table_id;
        std::optional<detail::binlog::positioned_provider> at;  // the provider asked for this position
        if (opt_.provider) at.emplace(*opt_.provider, here());
        if (auto e = detail::binlog::decode_table_map(c, at ? &*at : nullptr, flavour_, *t)) return bad(e->code, e->what);
        remember_table_map(std::move(t));
        return {};
    }
    // The position of the event being decoded, for a schema provider.
    schema_position here() const noexcept {
        return {file_, event_offset(), in_payload_ ? 0 : cur_->next_position, gtid_};
    }
    void forget_table_maps() noexcept {
        tables_.clear();
        table_raw_.clear();
        last_table_ = nullptr;
        last_raw_ = nullptr;
    }
    // Same bytes as the last map for this id: keep the shared description.
    bool reuse_table_map(std::uint64_t table_id) {
        if (last_table_ && last_table_->table_id == table_id && *last_raw_ == cur_->body) return true;  // the usual case
        auto it = table_raw_.find(table_id);
        if (it == table_raw_.end() || it->second != cur_->body) return false;
        auto tt = tables_.find(table_id);
        if (tt == tables_.end()) return false;
        last_table_ = tt->second.get();
        last_raw_ = &it->second;
        return true;
    }
    void remember_table_map(std::shared_ptr<table_info> t) {
        const std::uint64_t table_id = t->table_id;
        auto& raw = table_raw_[table_id];
        raw.assign(cur_->body);
        last_table_ = t.get();
        last_raw_ = &raw;
        tables_[table_id] = std::move(t);
    }
    template <class H>
    result<void> on_rows(detail::binlog::cursor& c, event_type type, H& h);
    template <class H>
    result<void> on_payload(detail::binlog::cursor& c, H& h);
    std::string decode_image(detail::binlog::cursor& c, const table_info& t, std::string_view present,
                             std::vector<value_view>& out, bool partial_after = false);
    template <class H, class F>
    static result<void> deliver(F&& call, const std::vector<value_view>& img, std::vector<value>& own) {
        if constexpr (view_handler<H>) {
            (void)own;
            return invoke_callback([&] { return call(view_image(img)); });
        } else {
            own.resize(img.size());
            for (std::size_t i = 0; i < img.size(); ++i) detail::binlog::assign_owning(own[i], img[i]);
            return invoke_callback([&] { return call(image(own)); });
        }
    }

    parser_options opt_;
    parser_stats stats_;
    std::string file_;
    std::string next_file_;
    std::string server_version_;
    server_flavour flavour_;  // from the FORMAT_DESCRIPTION (unknown before one)
    std::string post_header_;
    const raw_event* cur_ = nullptr;
    bool in_payload_ = false;
    std::uint64_t payload_offset_ = 0;
    std::unordered_map<std::uint64_t, table_ptr> tables_;
    std::unordered_map<std::uint64_t, std::string> table_raw_;
    // The last TABLE_MAP's table and bytes (elements of the maps above; unordered_map
    // elements keep their address): saves the hash lookups of the usual map-then-rows pair.
    const table_info* last_table_ = nullptr;
    const std::string* last_raw_ = nullptr;
    std::string gtid_;
    std::string txn_id_;
    std::string annotate_;   // the statement of the rows events that follow (ANNOTATE_ROWS / ROWS_QUERY)
    std::int64_t commit_us_ = 0;     // the transaction's µs commit time (MySQL GTID event), 0 if none
    std::uint64_t txn_thread_ = 0;   // the open transaction's thread id (BEGIN QUERY), 0 if unknown
    bool in_txn_ = false;
    std::uint32_t txn_server_id_ = 0, txn_timestamp_ = 0;  // of the open transaction's begin
    bool standalone_ = false;
    std::uint64_t sequence_ = 0;
    std::vector<value_view> before_, after_;       // the row being decoded (views)
    std::vector<value> own_before_, own_after_;    // owning copies for handlers without views (reused)
    detail::binlog::arena arena_;                   // rendered values of the current row
    std::string scratch_, inflated_, merged_;
};

// ---------------------------------------------------------------------------
// Rows events

inline std::string parser::decode_image(detail::binlog::cursor& c, const table_info& t, std::string_view present,
                                        std::vector<value_view>& out, bool partial_after) {
    const std::size_t n = t.wire.size();
    // PARTIAL_UPDATE_ROWS after image: value options, then one bit per JSON column
    // telling whether it is logged as a diff against the before image.
    std::string_view partial_bits;
    if (partial_after) {
        std::uint64_t options = 0;
        if (!c.packed(options)) return "partial update value options truncated";
        if (options & 1) {
            std::size_t njson = 0;
            for (const auto& w : t.wire) njson += w.type == detail::binlog::t_json;
            if (!c.bytes((njson + 7) / 8, partial_bits)) return "partial update bitmap truncated";
        }
    }
    std::size_t count = 0;
    for (std::size_t b = 0; b < (n + 7) / 8; ++b) {
        unsigned byte = static_cast<unsigned char>(present[b]);
        if (b == n / 8) byte &= (1u << (n % 8)) - 1;  // bits beyond the last column
        count += static_cast<std::size_t>(std::popcount(byte));
    }
    std::string_view nulls;
    if (!c.bytes((count + 7) / 8, nulls)) return "row null bitmap truncated";
    out.resize(n);  // every element is assigned below
    std::size_t k = 0;
    std::size_t json_seen = 0;  // JSON columns before column i (their index in partial_bits)
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t j = json_seen;
        if (!partial_bits.empty()) json_seen += t.wire[i].type == detail::binlog::t_json;
        if (!((static_cast<unsigned char>(present[i / 8]) >> (i % 8)) & 1)) {
            out[i] = absent{};
            continue;
        }
        const bool is_null = (static_cast<unsigned char>(nulls[k / 8]) >> (k % 8)) & 1;
        ++k;
        if (is_null) {
            out[i] = null_value{};
            continue;
        }
        const auto& col = (*t.columns)[i];
        if (!partial_bits.empty() && t.wire[i].type == detail::binlog::t_json) {
            if ((static_cast<unsigned char>(partial_bits[j / 8]) >> (j % 8)) & 1) {
                const auto* base = i < before_.size() ? std::get_if<json_text_view>(&before_[i]) : nullptr;
                if (!base) return "column " + std::to_string(i + 1) + " `" + col.name + "`: a JSON diff without a before value";
                auto e = detail::binlog::apply_json_diff(c, base->text, merged_);
                if (!e.empty()) return "column " + std::to_string(i + 1) + " `" + col.name + "`: " + e;
                out[i] = json_text_view{arena_.store(merged_)};
                continue;
            }
        }
        if (detail::binlog::decode_common(c, t.wire[i], col.type, out[i])) continue;
        auto e = detail::binlog::decode_value(c, t.wire[i], col.type, out[i], arena_, scratch_);
        if (!e.empty()) return "column " + std::to_string(i + 1) + " `" + col.name + "`: " + e;
    }
    return {};
}

template <class H>
result<void> parser::on_rows(detail::binlog::cursor& c, event_type type, H& h) {
    using et = event_type;
    const bool v2 = type == et::write_rows_v2 || type == et::update_rows_v2 || type == et::delete_rows_v2 ||
                    type == et::partial_update_rows ||
                    type == et::write_rows_compressed_v2 || type == et::update_rows_compressed_v2 ||
                    type == et::delete_rows_compressed_v2;
    const bool compressed = static_cast<std::uint8_t>(type) >= 166 && static_cast<std::uint8_t>(type) <= 171;
    const bool partial = type == et::partial_update_rows;
    const bool is_update = partial || type == et::update_rows_v1 || type == et::update_rows_v2 ||
                           type == et::update_rows_compressed_v1 || type == et::update_rows_compressed_v2;
    const bool is_write = type == et::write_rows_v1 || type == et::write_rows_v2 ||
                          type == et::write_rows_compressed_v1 || type == et::write_rows_compressed_v2;
    const std::size_t ph = post_header_len(type, v2 ? 10 : 8);
    const std::size_t idlen = ph == 6 ? 4 : 6;
    std::uint64_t table_id = 0;
    std::uint16_t flags = 0;
    if (!c.le(idlen, table_id) || !c.le_as(flags)) return bad(errc::truncated, "rows event post-header truncated");
    if (v2) {
        std::uint16_t extra = 0;
        if (!c.le_as(extra) || extra < 2 || !c.skip(extra - 2u)) return bad(errc::truncated, "rows event extra data truncated");
    }
    const table_info* tp = last_table_ && last_table_->table_id == table_id ? last_table_ : nullptr;
    if (!tp) {
        auto it = tables_.find(table_id);
        if (it == tables_.end())
            return bad(errc::missing_field, "rows event for table id " + std::to_string(table_id) + " without a TABLE_MAP");
        tp = it->second.get();
    }
    const table_info& t = *tp;
    std::uint64_t width = 0;
    if (!c.packed(width)) return bad(errc::truncated, "rows event column count truncated");
    if (width != t.wire.size())
        return bad(errc::type_mismatch, "rows event has " + std::to_string(width) + " columns, its TABLE_MAP " +
                                            std::to_string(t.wire.size()));
    const std::size_t bm = static_cast<std::size_t>((width + 7) / 8);
    std::string_view present1, present2;
    if (!c.bytes(bm, present1)) return bad(errc::truncated, "rows event column bitmap truncated");
    if (is_update && !c.bytes(bm, present2)) return bad(errc::truncated, "rows event column bitmap truncated");
    detail::binlog::cursor rows = c;
    if (compressed) {
        auto e = detail::binlog::mariadb_uncompress(c.rest(), inflated_, opt_.max_uncompressed);
        if (!e.empty()) return bad(errc::invalid_value, "compressed rows: " + e);
        rows = detail::binlog::cursor(inflated_);
    }
    ++stats_.row_events;
    if (!in_txn_) {  // rows outside BEGIN (file read from mid-transaction)
        auto r = begin_txn(h);
        if (!r) return r;
    }
    auto where = [&t] { return "`" + t.schema + "`.`" + t.table + "`"; };  // built on errors only
    if (rows.left() == 0) return bad(errc::truncated, "rows event for " + where() + " has no rows");
    for (std::uint32_t row_index = 0; rows.left(); ++row_index) {
        const std::size_t row_start = rows.pos;
        arena_.reset();  // the previous row's callbacks have returned
        auto e = decode_image(rows, t, present1, before_);
        if (!e.empty()) return bad(errc::invalid_value, where() + " row image: " + e);
        if (is_update) {
            e = decode_image(rows, t, present2, after_, partial);
            if (!e.empty()) return bad(errc::invalid_value, where() + " after image: " + e);
        }
        if (rows.pos == row_start)  // no column in the image: the event cannot be a list of rows
            return bad(errc::invalid_value, where() + ": a row image with no columns");
        ++stats_.rows;
        const rows_after next = rows.left() ? rows_after::more : rows_after_event();
        auto row_info = [&] {
            auto ti = info(next);
            ti.row = row_index;
            ti.statement = annotate_;
            return ti;
        };
        result<void> r;
        if (is_write) {
            auto ti = row_info();
            r = deliver<H>([&](auto img) { return h.insert(ti, t, img); }, before_, own_before_);
        } else if (is_update) {
            auto ti = row_info();
            r = deliver<H>([&](auto img) { return h.update_before(ti, t, img); }, before_, own_before_);
            if (!r) return r;
            auto ta = row_info();
            r = deliver<H>([&](auto img) { return h.update_after(ta, t, img); }, after_, own_after_);
        } else {
            auto ti = row_info();
            r = deliver<H>([&](auto img) { return h.delete_row(ti, t, img); }, before_, own_before_);
        }
        if (!r) return r;
    }
    return {};
}

// ---------------------------------------------------------------------------
// MySQL 8 TRANSACTION_PAYLOAD (zstd): inner events are decompressed as a stream
// and decoded one by one; memory: the largest inner event, not the transaction.

template <class H>
result<void> parser::on_payload(detail::binlog::cursor& c, H& h) {
    std::uint64_t payload_size = 0, ctype = 0, usize = 0;
    bool have_size = false;
    while (c.left()) {
        std::uint64_t ty = 0, len = 0;
        if (!c.packed(ty)) return bad(errc::truncated, "TRANSACTION_PAYLOAD header truncated");
        if (ty == 0) break;  // end of the header fields
        if (!c.packed(len) || len > c.left()) return bad(errc::truncated, "TRANSACTION_PAYLOAD field truncated");
        detail::binlog::cursor f(c.here(), static_cast<std::size_t>(len));
        c.skip(static_cast<std::size_t>(len));
        std::uint64_t v = 0;
        if (!f.packed(v)) return bad(errc::invalid_value, "TRANSACTION_PAYLOAD field malformed");
        if (ty == 1) { payload_size = v; have_size = true; }
        else if (ty == 2) ctype = v;
        else if (ty == 3) usize = v;
    }
    std::string_view payload = c.rest();
    if (have_size && payload_size != payload.size())
        return bad(errc::invalid_value, "TRANSACTION_PAYLOAD size field disagrees with the event");
    if (ctype != 0 && ctype != 255) return bad(errc::unsupported, "TRANSACTION_PAYLOAD compression " + std::to_string(ctype));
    (void)usize;
    const raw_event* outer = cur_;
    const std::uint64_t outer_off = outer->offset;
    struct dctx_free {
        void operator()(ZSTD_DCtx* p) const noexcept { ZSTD_freeDCtx(p); }
    };
    std::unique_ptr<ZSTD_DCtx, dctx_free> dctx(ctype == 0 ? ZSTD_createDCtx() : nullptr);
    if (ctype == 0 && !dctx) return bad(errc::io_error, "ZSTD_createDCtx failed");
    ZSTD_inBuffer in{payload.data(), payload.size(), 0};
    std::string buf;      // undecoded bytes of the decompressed stream
    std::size_t used = 0; // consumed prefix of buf
    std::string chunk(ctype == 0 ? ZSTD_DStreamOutSize() : 0, '\0');
    std::size_t raw_pos = 0;
    bool stream_done = ctype != 0;
    auto pull = [&](std::size_t need) -> result<bool> {  // make buf hold `need` unconsumed bytes
        while (buf.size() - used < need) {
            if (ctype == 255) {
                const std::size_t k = std::min(payload.size() - raw_pos, std::size_t{1} << 20);
                if (k == 0) return false;
                buf.append(payload.data() + raw_pos, k);
                raw_pos += k;
                continue;
            }
            if (stream_done && in.pos >= in.size) return false;
            ZSTD_outBuffer out{chunk.data(), chunk.size(), 0};
            const std::size_t rc = ZSTD_decompressStream(dctx.get(), &out, &in);
            if (ZSTD_isError(rc)) return bad(errc::invalid_value, std::string("zstd: ") + ZSTD_getErrorName(rc));
            if (used > (std::size_t{1} << 20) && used * 2 > buf.size()) {
                buf.erase(0, used);
                used = 0;
            }
            buf.append(chunk.data(), out.pos);
            if (rc == 0 && in.pos >= in.size && out.pos < out.size) stream_done = true;
            if (out.pos == 0 && in.pos >= in.size) {
                if (rc != 0) return bad(errc::truncated, "zstd stream ends early");
                return false;
            }
        }
        return true;
    };
    in_payload_ = true;
    payload_offset_ = outer_off;
    struct reset_guard {
        parser* p;
        const raw_event* outer;
        ~reset_guard() {
            p->in_payload_ = false;
            p->cur_ = outer;
        }
    } guard{this, outer};
    for (;;) {
        auto r = pull(header_size);
        if (!r) return r.error_value();
        if (!*r) {
            if (buf.size() != used) return bad(errc::truncated, "TRANSACTION_PAYLOAD ends inside an inner event header");
            break;
        }
        raw_event inner;
        parse_header(reinterpret_cast<const unsigned char*>(buf.data() + used), inner);
        if (inner.size < header_size || inner.size > opt_.max_uncompressed)
            return bad(errc::invalid_value, "TRANSACTION_PAYLOAD inner event has impossible length " + std::to_string(inner.size));
        r = pull(inner.size);
        if (!r) return r.error_value();
        if (!*r) return bad(errc::truncated, "TRANSACTION_PAYLOAD ends inside an inner event");
        inner.offset = outer_off;
        inner.body = std::string_view(buf.data() + used + header_size, inner.size - header_size);
        used += inner.size;
        if (buf.size() - used >= header_size) inner.next_type = static_cast<std::uint8_t>(buf[used + 4]);
        if (inner.type == static_cast<std::uint8_t>(event_type::transaction_payload) ||
            inner.type == static_cast<std::uint8_t>(event_type::format_description))
            return bad(errc::invalid_value, "TRANSACTION_PAYLOAD holds a nested payload or FORMAT_DESCRIPTION");
        auto fr = feed(inner, h);
        cur_ = outer;
        if (!fr) return fr;
        in_payload_ = true;
    }
    return {};
}

/// Reads a whole binlog file and drives `h` (a handler or a view_handler). Returns the parser's statistics.
template <any_handler H>
result<parser_stats> read_file(const std::string& path, H& h, parser_options opt = {}) {
    reader_options ro;
    ro.verify_checksum = opt.verify_checksum;
    ro.check_end_positions = opt.check_end_positions;
    auto rd = file_reader::open(path, ro);
    if (!rd) return rd.error_value();
    parser p(opt);
    const auto slash = path.find_last_of('/');
    p.set_file(slash == std::string::npos ? path : path.substr(slash + 1));
    raw_event ev;
    for (;;) {
        auto n = rd->next(ev);
        if (!n) return n.error_value();
        if (!*n) break;
        auto r = p.feed(ev, h);
        if (!r) return r.error_value();
    }
    return p.stats();
}

}  // namespace binlog
ROWCAST_NAMESPACE_END
