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
#include <rowcast/binlog/detail/values.hpp>
#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/error.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
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
};

struct parser_stats {
    std::uint64_t events = 0;             ///< events fed (inner payload events included)
    std::uint64_t skipped_ignorable = 0;  ///< unknown events skipped because flagged ignorable
    std::uint64_t skipped_other = 0;      ///< known events without row data that were not reported (INTVAR, …)
    std::uint64_t row_events = 0;         ///< rows events decoded
    std::uint64_t rows = 0;               ///< rows reported
    std::uint64_t transactions = 0;       ///< commits + rollbacks reported
    std::uint64_t ddl = 0;

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
        tables_.clear();
        table_raw_.clear();
        last_table_ = nullptr;
        last_raw_ = nullptr;
        gtid_.clear();
        txn_id_.clear();
        annotate_.clear();
        in_txn_ = false;
        standalone_ = false;
        in_payload_ = false;
        cur_ = nullptr;
    }
    /// True between a reported begin() and its commit()/rollback().
    bool in_transaction() const noexcept { return in_txn_; }

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
                return end_txn(h, false, false, false);
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
            case event_type::annotate_rows:
                annotate_.assign(ev.body);
                return {};
            case event_type::rows_query:
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
        return t;
    }

    template <class H>
    result<void> begin_txn(H& h) {
        in_txn_ = true;
        txn_server_id_ = cur_->server_id;
        txn_timestamp_ = cur_->timestamp;
        if (gtid_.empty()) txn_id_ = file_ + ":" + std::to_string(event_offset());
        else txn_id_ = gtid_;
        auto t = info();
        return invoke_callback([&] { return h.begin(t); });
    }

    template <class H>
    result<void> end_txn(H& h, bool rollback, bool non_transactional, bool xa) {
        if (!in_txn_) {
            if (!rollback && !xa) {  // a COMMIT/XID without a begin (file started mid-transaction)
                txn_id_ = gtid_.empty() ? file_ + ":" + std::to_string(event_offset()) : gtid_;
            }
        }
        auto t = info();
        t.non_transactional = non_transactional;
        t.xa = xa;
        in_txn_ = false;
        standalone_ = false;
        ++stats_.transactions;
        auto r = rollback ? invoke_callback([&] { return h.rollback(t); }) : invoke_callback([&] { return h.commit(t); });
        gtid_.clear();
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
            if (in_txn_) return {};  // MariaDB: the GTID already began it
            return begin_txn(h);
        }
        if (starts_with_word(query, "COMMIT")) return end_txn(h, false, true, false);
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
        // DDL
        ++stats_.ddl;
        if (!in_txn_) txn_id_ = gtid_.empty() ? file_ + ":" + std::to_string(event_offset()) : gtid_;
        auto t = info();
        std::string schema(db);
        auto r = invoke_callback([&] { return h.ddl(t, std::string_view(schema), std::string_view(query)); });
        if (!in_txn_) {
            gtid_.clear();
            standalone_ = false;
        }
        // The tables' definitions may have changed: forget cached maps (ids are new after DDL anyway).
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
        if (type == event_type::anonymous_gtid) {
            gtid_.clear();
            return {};
        }
        std::string s;
        detail::binlog::format_uuid(sid, s);
        gtid_ = s + ":" + std::to_string(gno);
        return {};
    }

    result<void> on_table_map(detail::binlog::cursor& c);
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
    std::string annotate_;
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
// TABLE_MAP

}  // namespace binlog
namespace detail::binlog {
using namespace ::rowcast::binlog;  // the public binlog types, unqualified

inline sql_type blob_type(std::uint32_t lenbytes, bool binary) {
    switch (lenbytes) {
        case 1: return binary ? sql_type::tinyblob : sql_type::tinytext;
        case 2: return binary ? sql_type::blob : sql_type::text;
        case 3: return binary ? sql_type::mediumblob : sql_type::mediumtext;
        default: return binary ? sql_type::longblob : sql_type::longtext;
    }
}

inline bool is_numeric_wire(std::uint8_t t) {
    using namespace detail::binlog;
    return t == t_tiny || t == t_short || t == t_int24 || t == t_long || t == t_longlong || t == t_float ||
           t == t_double || t == t_newdecimal || t == t_decimal;
}
inline bool is_character_wire(std::uint8_t t) {
    using namespace detail::binlog;
    return t == t_string || t == t_varchar || t == t_var_string || t == t_blob;
}
inline bool is_enum_set_wire(std::uint8_t t) {
    using namespace detail::binlog;
    return t == t_enum || t == t_set;
}

/// Whether a provider's declared type can be logged as this wire column.
inline bool compatible(const wire_column& w, const column_type& p) {
    using namespace detail::binlog;
    switch (w.type) {
        case t_tiny: return p.type == sql_type::tinyint;
        case t_short: return p.type == sql_type::smallint;
        case t_int24: return p.type == sql_type::mediumint;
        case t_long: return p.type == sql_type::int_;
        case t_longlong: return p.type == sql_type::bigint;
        case t_float: return p.type == sql_type::float_;
        case t_double: return p.type == sql_type::double_;
        case t_newdecimal: return p.type == sql_type::decimal;
        case t_year: return p.type == sql_type::year;
        case t_date: case t_newdate: return p.type == sql_type::date;
        case t_time: case t_time2: return p.type == sql_type::time;
        case t_datetime: case t_datetime2: return p.type == sql_type::datetime;
        case t_timestamp: case t_timestamp2: return p.type == sql_type::timestamp;
        case t_bit: return p.type == sql_type::bit;
        case t_enum: return p.type == sql_type::enum_;
        case t_set: return p.type == sql_type::set;
        case t_varchar: case t_var_string: return p.type == sql_type::varchar || p.type == sql_type::varbinary;
        case t_string:
            return p.type == sql_type::char_ || p.type == sql_type::binary || p.type == sql_type::uuid ||
                   p.type == sql_type::inet6 || p.type == sql_type::inet4;
        case t_blob:
            return p.type == sql_type::tinyblob || p.type == sql_type::blob || p.type == sql_type::mediumblob ||
                   p.type == sql_type::longblob || p.type == sql_type::tinytext || p.type == sql_type::text ||
                   p.type == sql_type::mediumtext || p.type == sql_type::longtext || p.type == sql_type::json;
        case t_json: return p.type == sql_type::json;
        case t_geometry: return p.type == sql_type::geometry;
        default: return false;
    }
}

}  // namespace detail::binlog
namespace binlog {

inline result<void> parser::on_table_map(detail::binlog::cursor& c) {
    using namespace detail::binlog;
    const std::size_t idlen = post_header_len(event_type::table_map, 8) == 6 ? 4 : 6;
    std::uint64_t table_id = 0;
    std::uint16_t flags = 0;
    if (!c.le(idlen, table_id) || !c.le_as(flags)) return bad(errc::truncated, "TABLE_MAP post-header truncated");
    // Same bytes as the last map for this id: keep the shared description.
    {
        if (last_table_ && last_table_->table_id == table_id && *last_raw_ == cur_->body) return {};  // the usual case
        auto it = table_raw_.find(table_id);
        if (it != table_raw_.end() && it->second == cur_->body) {
            auto tt = tables_.find(table_id);
            if (tt != tables_.end()) {
                last_table_ = tt->second.get();
                last_raw_ = &it->second;
                return {};
            }
        }
    }
    auto t = std::make_shared<table_info>();
    t->table_id = table_id;
    std::uint8_t len = 0;
    std::string_view s;
    if (!c.u8(len) || !c.bytes(len, s) || !c.skip(1)) return bad(errc::truncated, "TABLE_MAP schema name truncated");
    t->schema.assign(s);
    if (!c.u8(len) || !c.bytes(len, s) || !c.skip(1)) return bad(errc::truncated, "TABLE_MAP table name truncated");
    t->table.assign(s);
    std::uint64_t n = 0;
    if (!c.packed(n) || n > c.left() || n > 4096) return bad(errc::invalid_value, "TABLE_MAP column count impossible");
    std::string_view types;
    c.bytes(static_cast<std::size_t>(n), types);
    std::uint64_t meta_len = 0;
    std::string_view meta;
    if (!c.packed(meta_len) || !c.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(meta_len, c.left() + 1)), meta))
        return bad(errc::truncated, "TABLE_MAP metadata block truncated");
    std::string_view nullbits;
    if (!c.bytes(static_cast<std::size_t>((n + 7) / 8), nullbits)) return bad(errc::truncated, "TABLE_MAP null bitmap truncated");
    t->wire.resize(static_cast<std::size_t>(n));
    std::vector<column> cols(static_cast<std::size_t>(n));
    cursor m(meta);
    for (std::size_t i = 0; i < n; ++i) {
        auto& w = t->wire[i];
        w.type = static_cast<std::uint8_t>(types[i]);
        w.nullable = (static_cast<unsigned char>(nullbits[i / 8]) >> (i % 8)) & 1;
        std::uint64_t v = 0;
        bool ok = true;
        switch (w.type) {
            case t_float: case t_double: case t_blob: case t_geometry: case t_json:
            case t_timestamp2: case t_datetime2: case t_time2:
            case t_tiny_blob: case t_medium_blob: case t_long_blob:
                ok = m.le(1, v);
                w.meta = static_cast<std::uint16_t>(v);
                w.length = static_cast<std::uint32_t>(v);
                if (w.type != t_json && w.type != t_geometry && w.type != t_blob && w.type != t_tiny_blob &&
                    w.type != t_medium_blob && w.type != t_long_blob)
                    w.length = 0;
                if (w.type == t_tiny_blob || w.type == t_medium_blob || w.type == t_long_blob) w.type = t_blob;
                break;
            case t_varchar: case t_var_string:
                ok = m.le(2, v);
                w.meta = static_cast<std::uint16_t>(v);
                w.length = static_cast<std::uint32_t>(v);
                break;
            case t_bit:
                ok = m.le(2, v);
                w.meta = static_cast<std::uint16_t>(v);
                w.length = (w.meta >> 8) * 8u + (w.meta & 0xff);
                break;
            case t_newdecimal: {
                std::uint8_t p = 0, sc = 0;
                ok = m.u8(p) && m.u8(sc);
                w.meta = static_cast<std::uint16_t>(p << 8 | sc);
                break;
            }
            case t_string: case t_enum: case t_set: {
                std::uint8_t b0 = 0, b1 = 0;
                ok = m.u8(b0) && m.u8(b1);
                w.meta = static_cast<std::uint16_t>(b0 << 8 | b1);
                std::uint8_t real = b0;
                std::uint32_t length = b1;
                if ((real & 0x30) != 0x30) {
                    length = b1 | (static_cast<std::uint32_t>((real & 0x30) ^ 0x30) << 4);
                    real = static_cast<std::uint8_t>(real | 0x30);
                }
                if (real == t_enum || real == t_set) w.type = real;
                else if (real != t_string && w.type == t_string)
                    return bad(errc::unsupported, "STRING column with real type " + std::to_string(real));
                w.length = length;
                break;
            }
            default: break;  // no metadata
        }
        if (!ok) return bad(errc::truncated, "TABLE_MAP column metadata truncated");
    }
    if (m.left() != 0)
        return bad(errc::invalid_value, "TABLE_MAP metadata block has " + std::to_string(m.left()) +
                                            " unexplained bytes (unsupported column format)");

    // Optional metadata (binlog_row_metadata).
    std::vector<std::vector<std::string>> enum_vals, set_vals;
    std::vector<std::uint32_t> geo;
    std::vector<std::uint64_t> pk;
    bool have_signed = false, have_names = false, have_pk = false;
    std::vector<bool> uns(static_cast<std::size_t>(n), false), visible(static_cast<std::size_t>(n), true);
    std::vector<std::string> names;
    std::vector<std::uint32_t> char_coll, es_coll;  // per character / enum-set column, in order
    std::size_t n_char = 0, n_es = 0;
    for (const auto& w : t->wire) {
        if (detail::binlog::is_character_wire(w.type)) ++n_char;
        if (detail::binlog::is_enum_set_wire(w.type)) ++n_es;
    }
    auto read_default_charset = [&](cursor& v, std::size_t count, std::vector<std::uint32_t>& out) -> bool {
        std::uint64_t dflt = 0;
        if (!v.packed(dflt)) return false;
        out.assign(count, static_cast<std::uint32_t>(dflt));
        while (v.left()) {
            std::uint64_t idx = 0, coll = 0;
            if (!v.packed(idx) || !v.packed(coll) || idx >= count) return false;
            out[static_cast<std::size_t>(idx)] = static_cast<std::uint32_t>(coll);
        }
        return true;
    };
    auto read_column_charset = [&](cursor& v, std::size_t count, std::vector<std::uint32_t>& out) -> bool {
        out.clear();
        while (v.left()) {
            std::uint64_t coll = 0;
            if (!v.packed(coll)) return false;
            out.push_back(static_cast<std::uint32_t>(coll));
        }
        return out.size() == count;
    };
    auto read_strings = [&](cursor& v, std::vector<std::vector<std::string>>& out) -> bool {
        while (v.left()) {
            std::uint64_t cnt = 0;
            if (!v.packed(cnt) || cnt > v.left()) return false;
            std::vector<std::string> vals;
            for (std::uint64_t k = 0; k < cnt; ++k) {
                std::uint64_t l = 0;
                std::string_view sv;
                if (!v.packed(l) || !v.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(l, v.left() + 1)), sv)) return false;
                vals.emplace_back(sv);
            }
            out.push_back(std::move(vals));
        }
        return true;
    };
    while (c.left()) {
        std::uint8_t ty = 0;
        std::uint64_t l = 0;
        std::string_view val;
        if (!c.u8(ty) || !c.packed(l) || !c.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(l, c.left() + 1)), val))
            return bad(errc::truncated, "TABLE_MAP optional metadata truncated");
        cursor v(val);
        bool ok = true;
        switch (ty) {
            case 1: {  // SIGNEDNESS: one bit per numeric column, MSB first
                have_signed = true;
                std::size_t k = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    if (!detail::binlog::is_numeric_wire(t->wire[i].type)) continue;
                    if (k / 8 >= val.size()) { ok = false; break; }
                    uns[i] = (static_cast<unsigned char>(val[k / 8]) >> (7 - k % 8)) & 1;
                    ++k;
                }
                break;
            }
            case 2: ok = read_default_charset(v, n_char, char_coll); break;
            case 3: ok = read_column_charset(v, n_char, char_coll); break;
            case 4:
                have_names = true;
                while (v.left()) {
                    std::uint64_t nl = 0;
                    std::string_view nm;
                    if (!v.packed(nl) || !v.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(nl, v.left() + 1)), nm)) { ok = false; break; }
                    names.emplace_back(nm);
                }
                ok = ok && names.size() == n;
                break;
            case 5: ok = read_strings(v, set_vals); break;
            case 6: ok = read_strings(v, enum_vals); break;
            case 7:
                while (v.left()) {
                    std::uint64_t g = 0;
                    if (!v.packed(g)) { ok = false; break; }
                    geo.push_back(static_cast<std::uint32_t>(g));
                }
                break;
            case 8:
                have_pk = true;
                while (v.left()) {
                    std::uint64_t x = 0;
                    if (!v.packed(x) || x >= n) { ok = false; break; }
                    pk.push_back(x);
                }
                break;
            case 9:
                have_pk = true;
                while (v.left()) {
                    std::uint64_t x = 0, prefix = 0;
                    if (!v.packed(x) || !v.packed(prefix) || x >= n) { ok = false; break; }
                    pk.push_back(x);
                }
                break;
            case 10: ok = read_default_charset(v, n_es, es_coll); break;
            case 11: ok = read_column_charset(v, n_es, es_coll); break;
            case 12: {
                for (std::size_t i = 0; i < n; ++i) {
                    if (i / 8 >= val.size()) { ok = false; break; }
                    visible[i] = (static_cast<unsigned char>(val[i / 8]) >> (7 - i % 8)) & 1;
                }
                break;
            }
            default: break;  // newer kinds: ignored
        }
        if (!ok) return bad(errc::invalid_value, "TABLE_MAP optional metadata field " + std::to_string(ty) + " is malformed");
    }
    (void)visible;

    // Build the column list.
    std::size_t ci = 0, ei = 0, en = 0, sn = 0, gi = 0;
    for (std::size_t i = 0; i < n; ++i) {
        auto& w = t->wire[i];
        auto& col = cols[i];
        auto& ct = col.type;
        col.nullable = w.nullable;
        col.name = have_names ? names[i] : "@" + std::to_string(i + 1);
        w.is_unsigned = uns[i];
        ct.is_unsigned = uns[i];
        if (detail::binlog::is_character_wire(w.type)) {
            if (ci < char_coll.size()) w.collation = char_coll[ci];
            ++ci;
        } else if (detail::binlog::is_enum_set_wire(w.type)) {
            if (ei < es_coll.size()) w.collation = es_coll[ei];
            ++ei;
        }
        const auto cs = charset_of(w.collation);
        ct.charset = w.collation ? std::string(to_string(cs)) : std::string();
        const bool binary = cs == charset_kind::binary;
        const unsigned mb = cs == charset_kind::utf8mb4 ? 4 : cs == charset_kind::utf8mb3 ? 3 : 1;
        switch (w.type) {
            case t_tiny: ct.type = sql_type::tinyint; break;
            case t_short: ct.type = sql_type::smallint; break;
            case t_int24: ct.type = sql_type::mediumint; break;
            case t_long: ct.type = sql_type::int_; break;
            case t_longlong: ct.type = sql_type::bigint; break;
            case t_float: ct.type = sql_type::float_; break;
            case t_double: ct.type = sql_type::double_; break;
            case t_newdecimal:
                ct.type = sql_type::decimal;
                ct.precision = static_cast<std::uint8_t>(w.meta >> 8);
                ct.scale = static_cast<std::uint8_t>(w.meta & 0xff);
                break;
            case t_year: ct.type = sql_type::year; break;
            case t_date: case t_newdate: ct.type = sql_type::date; break;
            case t_time: ct.type = sql_type::time; break;
            case t_time2: ct.type = sql_type::time; ct.fsp = static_cast<std::uint8_t>(w.meta); break;
            case t_datetime: ct.type = sql_type::datetime; break;
            case t_datetime2: ct.type = sql_type::datetime; ct.fsp = static_cast<std::uint8_t>(w.meta); break;
            case t_timestamp: ct.type = sql_type::timestamp; break;
            case t_timestamp2: ct.type = sql_type::timestamp; ct.fsp = static_cast<std::uint8_t>(w.meta); break;
            case t_bit: ct.type = sql_type::bit; ct.length = w.length; break;
            case t_varchar: case t_var_string:
                ct.type = binary ? sql_type::varbinary : sql_type::varchar;
                ct.length = w.length / mb;
                break;
            case t_string:
                ct.type = binary ? sql_type::binary : sql_type::char_;
                ct.length = w.length / mb;
                break;
            case t_blob: ct.type = detail::binlog::blob_type(w.length, binary); break;
            case t_json: ct.type = sql_type::json; break;
            case t_geometry: {
                ct.type = sql_type::geometry;
                static constexpr const char* gnames[] = {"", "point", "linestring", "polygon", "multipoint",
                                                        "multilinestring", "multipolygon", "geometrycollection"};
                if (gi < geo.size() && geo[gi] < 8) ct.geometry_type = gnames[geo[gi]];
                ++gi;
                break;
            }
            case t_enum:
            case t_set: {
                const bool is_enum = w.type == t_enum;
                ct.type = is_enum ? sql_type::enum_ : sql_type::set;
                auto& src = is_enum ? enum_vals : set_vals;
                std::size_t& k = is_enum ? en : sn;
                if (k < src.size()) {
                    for (auto& name : src[k]) {
                        std::string u;
                        if (!to_utf8(cs == charset_kind::unknown ? charset_kind::utf8mb4 : cs, name, u).empty())
                            return bad(errc::unsupported, "ENUM/SET member names in collation " + std::to_string(w.collation));
                        ct.members.push_back(std::move(u));
                    }
                }
                ++k;
                break;
            }
            default:
                return bad(errc::unsupported, "column " + std::to_string(i + 1) + " of `" + t->schema + "`.`" + t->table +
                                                  "` has unsupported type " + std::to_string(w.type));
        }
        if (w.collation != 0 && cs == charset_kind::unknown && !binary)
            ct.charset = "collation " + std::to_string(w.collation);
    }
    for (auto i : pk) cols[static_cast<std::size_t>(i)].primary_key = true;
    (void)have_pk;
    t->names_from_metadata = have_names;
    t->signedness_known = have_signed;

    if (have_names && opt_.provider) {
        // Names come from the binlog; a provider only refines types the wire cannot show
        // (MariaDB UUID/INET6/INET4, JSON as LONGTEXT) for columns whose name and type agree.
        auto pr = opt_.provider->columns(t->schema, t->table);
        if (pr && *pr) {
            for (std::size_t i = 0; i < n; ++i) {
                auto pi = (*pr)->find(cols[i].name);
                if (!pi) continue;
                const auto& pc = (**pr)[*pi];
                const auto pt = pc.type.type;
                if ((pt == sql_type::uuid || pt == sql_type::inet6 || pt == sql_type::inet4 || pt == sql_type::json) &&
                    detail::binlog::compatible(t->wire[i], pc.type) &&
                    (pt == sql_type::json || t->wire[i].length == (pt == sql_type::inet4 ? 4u : 16u)))
                    cols[i].type.type = pt;
            }
        }
    }
    if (!have_names && opt_.provider) {
        auto pr = opt_.provider->columns(t->schema, t->table);
        if (!pr) return bad(pr.error_value().code.value() == static_cast<int>(errc::io_error) ? errc::io_error : errc::missing_field,
                            "schema provider: " + pr.error_value().message);
        const columns_ptr& p = *pr;
        if (!p || p->size() != n)
            return bad(errc::type_mismatch, "`" + t->schema + "`.`" + t->table + "`: the binlog has " + std::to_string(n) +
                                                " columns, the schema provider " + std::to_string(p ? p->size() : 0));
        for (std::size_t i = 0; i < n; ++i) {
            const auto& pc = (*p)[i];
            if (!detail::binlog::compatible(t->wire[i], pc.type))
                return bad(errc::type_mismatch, "`" + t->schema + "`.`" + t->table + "` column " + std::to_string(i + 1) + " `" +
                                                    pc.name + "`: the provider says " + std::string(to_string(pc.type.type)) +
                                                    ", the binlog logged type " + std::to_string(t->wire[i].type));
            if ((pc.type.type == sql_type::uuid || pc.type.type == sql_type::inet6) && t->wire[i].length != 16)
                return bad(errc::type_mismatch, "column `" + pc.name + "`: UUID/INET6 must be logged as 16 bytes");
            if (pc.type.type == sql_type::inet4 && t->wire[i].length != 4)
                return bad(errc::type_mismatch, "column `" + pc.name + "`: INET4 must be logged as 4 bytes");
            auto& col = cols[i];
            col.name = pc.name;
            if (!have_pk) col.primary_key = pc.primary_key;
            col.type.type = pc.type.type;
            if (!have_signed) {
                col.type.is_unsigned = pc.type.is_unsigned;
                t->wire[i].is_unsigned = pc.type.is_unsigned;
            }
            if (col.type.members.empty()) col.type.members = pc.type.members;
            if (col.type.charset.empty()) col.type.charset = pc.type.charset;
            if (col.type.length == 0) col.type.length = pc.type.length;
            if (col.type.geometry_type.empty()) col.type.geometry_type = pc.type.geometry_type;
        }
    } else if (have_names) {
        // MariaDB types the wire cannot show: leave as logged (binary). A provider may refine them.
    }
    t->columns = make_columns(std::move(cols));
    auto& raw = table_raw_[table_id];
    raw.assign(cur_->body);
    last_table_ = t.get();
    last_raw_ = &raw;
    tables_[table_id] = std::move(t);
    return {};
}

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
    while (rows.left()) {
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
        result<void> r;
        if (is_write) {
            auto ti = info(next);
            r = deliver<H>([&](auto img) { return h.insert(ti, t, img); }, before_, own_before_);
        } else if (is_update) {
            auto ti = info(next);
            r = deliver<H>([&](auto img) { return h.update_before(ti, t, img); }, before_, own_before_);
            if (!r) return r;
            auto ta = info(next);
            r = deliver<H>([&](auto img) { return h.update_after(ta, t, img); }, after_, own_after_);
        } else {
            auto ti = info(next);
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
