// rowcast/event.hpp: the Event model shared by every source and sink.
//
// An event is one change: a row inserted, updated or deleted, a transaction
// boundary (begin, commit, rollback) or a schema change (DDL text). It comes in
// two forms from one template:
//  - `event`      = basic_event<std::string>: owns all its data;
//  - `event_view` = basic_event<std::string_view>: strings and bytes point into
//    a decode buffer and are valid only while that buffer is; its image vectors
//    keep their capacity, so decoding into the same view again does not allocate.
// `to_owning(view)` and `to_view(event)` convert between the two.
//
// Row images (`before`, `after`) are aligned with `columns`: image[i] is the
// value of columns->columns[i]. An image is empty when the kind has none
// (insert: no before; delete: no after; begin/commit/rollback/ddl: neither).
// A column left out of an image (binlog_row_image=MINIMAL) holds `absent{}`,
// which is not NULL.
//
// Thread-safety: plain values. The shared column list is immutable.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

/// Microseconds since the Unix epoch, UTC. The epoch itself (0) means "unknown".
using time_point = std::chrono::sys_time<std::chrono::microseconds>;

/// What an event is. Part of the binary format: never reorder.
enum class event_kind : std::uint8_t {
    insert = 0,  ///< after image only
    update,      ///< before and after images
    delete_,     ///< before image only
    begin,       ///< a transaction starts
    commit,      ///< a transaction commits
    rollback,    ///< a transaction rolls back (non-transactional changes already sent stay done)
    ddl,         ///< schema change: `statement` holds the DDL text, `schema` the default database
};
inline constexpr std::size_t event_kind_count = 7;

/// "insert", "update", "delete", "begin", "commit", "rollback", "ddl".
constexpr std::string_view to_string(event_kind k) noexcept {
    constexpr std::string_view names[] = {"insert", "update", "delete", "begin", "commit", "rollback", "ddl"};
    auto i = static_cast<std::size_t>(k);
    return i < event_kind_count ? names[i] : std::string_view("?");
}

/// Parses the names written by to_string(event_kind).
constexpr bool parse_event_kind(std::string_view s, event_kind& out) noexcept {
    for (std::size_t i = 0; i < event_kind_count; ++i)
        if (to_string(static_cast<event_kind>(i)) == s) {
            out = static_cast<event_kind>(i);
            return true;
        }
    return false;
}

/// True for insert, update and delete.
constexpr bool is_row_event(event_kind k) noexcept {
    return k == event_kind::insert || k == event_kind::update || k == event_kind::delete_;
}

/// Why a transaction ended as it did: the typed reading of a commit or rollback
/// event's `statement`, which carries it on the wire (so every codec and every
/// existing consumer sees the same text):
///   none               ""                   an ordinary COMMIT / ROLLBACK
///   non_transactional  "non-transactional"  commit of a group with no XID: only
///                                           non-transactional tables changed (MariaDB
///                                           logs them even when the client rolled back)
///   xa_prepare         "XA PREPARE"         commit: the prepared part of an XA transaction
///   interrupted        "interrupted"        rollback: the source lost the transaction
///                                           midway; it is delivered again whole
enum class end_cause : std::uint8_t { none, non_transactional, xa_prepare, interrupted };

constexpr std::string_view to_string(end_cause c) noexcept {
    switch (c) {
        case end_cause::none: return "";
        case end_cause::non_transactional: return "non-transactional";
        case end_cause::xa_prepare: return "XA PREPARE";
        case end_cause::interrupted: return "interrupted";
    }
    return "";
}

/// The end cause a commit/rollback statement text names (none for any other text).
constexpr end_cause parse_end_cause(std::string_view statement) noexcept {
    for (end_cause c : {end_cause::non_transactional, end_cause::xa_prepare, end_cause::interrupted})
        if (statement == to_string(c)) return c;
    return end_cause::none;
}

/// Where an event came from: binlog file + offset and/or GTID, or a spool file name.
template <class S>
struct basic_source_position {
    S file;                        ///< binlog file name or spool file name; empty if none
    std::uint64_t offset = 0;      ///< byte offset of the event in `file`
    S gtid;                        ///< GTID of the transaction ("0-1-42" MariaDB, "uuid:n" MySQL); empty if none
    std::uint32_t server_id = 0;   ///< originating server id; 0 if unknown
    /// 0-based index of the row within its binlog rows event (two rows of one event: 0 and 1;
    /// Debezium's source.row); 0 for other events and sources
    std::uint32_t row = 0;
    /// id of the connection (thread) that wrote the change: the binlog's Query_log_event
    /// (BEGIN) of the transaction, CONNECTION_ID() of the writer; 0 if unknown
    std::uint64_t thread = 0;
    friend bool operator==(const basic_source_position&, const basic_source_position&) = default;
};

/// The event's place in its transaction.
template <class S>
struct basic_transaction_info {
    S id;                          ///< transaction id (GTID, XID or "file:pos" of BEGIN); empty if none
    std::uint32_t position = 0;    ///< 0-based index of this event within the transaction
    bool last = false;             ///< this is the transaction's last row event
    /// The transaction's InnoDB XID: the number in the binlog's XID event at its commit (Maxwell's
    /// "xid"); 0 if unknown. Binlog sources fill it on the commit event, and on every event of the
    /// transaction when they hold it until its XID (binlog::parser_options::hold_for_xid); a
    /// transaction without an XID (non-transactional tables, MariaDB's QUERY "COMMIT", XA) keeps 0.
    std::uint64_t xid = 0;
    friend bool operator==(const basic_transaction_info&, const basic_transaction_info&) = default;
};

template <class S>
struct basic_event {
    using string_type = S;
    using value_type = basic_value<S>;

    event_kind kind = event_kind::insert;
    S schema;                      ///< database name
    S table;                       ///< table name; empty for begin/commit/rollback (and DDL without one)
    columns_ptr columns;           ///< the table's columns, shared; null for non-row events
    std::vector<value_type> before;  ///< before image (update, delete)
    std::vector<value_type> after;   ///< after image (insert, update)
    /// ddl: the DDL text. Row events: the originating SQL statement when the source knows it
    /// (binlog: MariaDB ANNOTATE_ROWS with binlog_annotate_row_events, MySQL ROWS_QUERY with
    /// binlog_rows_query_log_events), else empty. commit/rollback: the end cause (below).
    S statement;

    /// Strictly increasing over the events of one source object (FlexCDC's GSN): binlog events
    /// (numbered from 1 when the parser starts), a snapshot's reads and the stream after them
    /// (snapshot/source.hpp), an incremental snapshot's reads between their high watermark and
    /// the next event. Starts again in a new process: across restarts, order by `source`.
    std::uint64_t sequence = 0;
    basic_transaction_info<S> transaction;
    basic_source_position<S> source;
    /// when the source committed it (UTC, µs); epoch if unknown. Binlog: MySQL 8's GTID event
    /// original_commit_timestamp (µs) when logged, else the event header's whole seconds.
    time_point commit_time{};
    time_point capture_time{};     ///< when rowcast captured it (UTC, µs; the source's clock); epoch if unknown

    /// commit and rollback events: why the transaction ended (see end_cause); none otherwise.
    end_cause cause() const noexcept {
        return kind == event_kind::commit || kind == event_kind::rollback ? parse_end_cause(statement) : end_cause::none;
    }

    /// Number of columns (0 if no column list).
    std::size_t column_count() const noexcept { return columns ? columns->size() : 0; }

    /// Equality compares the column lists by content (not by pointer) and floats by bit pattern.
    friend bool operator==(const basic_event& a, const basic_event& b) noexcept {
        const bool cols_equal = a.columns == b.columns || (a.columns && b.columns && *a.columns == *b.columns) ||
                                (!a.columns && b.columns && b.columns->size() == 0) ||
                                (a.columns && !b.columns && a.columns->size() == 0);
        return a.kind == b.kind && a.schema == b.schema && a.table == b.table && cols_equal &&
               a.before == b.before && a.after == b.after && a.statement == b.statement &&
               a.sequence == b.sequence && a.transaction == b.transaction && a.source == b.source &&
               a.commit_time == b.commit_time && a.capture_time == b.capture_time;
    }
};

using event = basic_event<std::string>;
using event_view = basic_event<std::string_view>;
using source_position = basic_source_position<std::string>;
using transaction_info = basic_transaction_info<std::string>;

/// The transaction id prefix of the rows of a snapshot (snapshot/initial.hpp): they are
/// `insert` events whose transaction.id starts with it (Debezium's op "r", "read").
inline constexpr std::string_view snapshot_transaction_prefix = "snapshot:";

/// True for a row read by a snapshot rather than changed in the binlog.
template <class S>
bool is_snapshot_read(const basic_event<S>& e) noexcept {
    return e.kind == event_kind::insert && std::string_view(e.transaction.id).starts_with(snapshot_transaction_prefix);
}

/// Copies a view (and what it points to) into an owning event. The column list is shared, not copied.
inline event to_owning(const event_view& v) {
    event e;
    e.kind = v.kind;
    e.schema = v.schema;
    e.table = v.table;
    e.columns = v.columns;
    e.before.reserve(v.before.size());
    for (const auto& x : v.before) e.before.push_back(to_owning(x));
    e.after.reserve(v.after.size());
    for (const auto& x : v.after) e.after.push_back(to_owning(x));
    e.statement = v.statement;
    e.sequence = v.sequence;
    e.transaction = {std::string(v.transaction.id), v.transaction.position, v.transaction.last, v.transaction.xid};
    e.source = {std::string(v.source.file), v.source.offset, std::string(v.source.gtid), v.source.server_id,
                v.source.row, v.source.thread};
    e.commit_time = v.commit_time;
    e.capture_time = v.capture_time;
    return e;
}

/// A view of an owning event, valid while `e` lives and is not modified.
inline event_view to_view(const event& e) {
    event_view v;
    v.kind = e.kind;
    v.schema = e.schema;
    v.table = e.table;
    v.columns = e.columns;
    v.before.reserve(e.before.size());
    for (const auto& x : e.before) v.before.push_back(to_view(x));
    v.after.reserve(e.after.size());
    for (const auto& x : e.after) v.after.push_back(to_view(x));
    v.statement = e.statement;
    v.sequence = e.sequence;
    v.transaction = {e.transaction.id, e.transaction.position, e.transaction.last, e.transaction.xid};
    v.source = {e.source.file, e.source.offset, e.source.gtid, e.source.server_id, e.source.row, e.source.thread};
    v.commit_time = e.commit_time;
    v.capture_time = e.capture_time;
    return v;
}

/// Checks an event's shape: images present as its kind requires and aligned
/// with its columns. Decoders call this; producers may too. Errors name the field.
template <class S>
result<void> validate(const basic_event<S>& e, std::string_view component = "event") {
    const std::size_t n = e.column_count();
    auto bad = [&](std::string_view where, std::string_view what) {
        return error::make(errc::invalid_value, component, where, what);
    };
    if (static_cast<std::size_t>(e.kind) >= event_kind_count) return bad("kind", "unknown event kind");
    const bool need_before = e.kind == event_kind::update || e.kind == event_kind::delete_;
    const bool need_after = e.kind == event_kind::update || e.kind == event_kind::insert;
    if (need_before && e.before.size() != n)
        return bad("before", "before image has " + std::to_string(e.before.size()) + " values for " +
                                 std::to_string(n) + " columns");
    if (need_after && e.after.size() != n)
        return bad("after", "after image has " + std::to_string(e.after.size()) + " values for " +
                                std::to_string(n) + " columns");
    if (!need_before && !e.before.empty())
        return bad("before", std::string("a ") + std::string(to_string(e.kind)) + " event has no before image");
    if (!need_after && !e.after.empty())
        return bad("after", std::string("a ") + std::string(to_string(e.kind)) + " event has no after image");
    return {};
}

ROWCAST_NAMESPACE_END
