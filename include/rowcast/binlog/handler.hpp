// rowcast/binlog/handler.hpp: the FlexCDC-style handler concept the binlog
// parser drives, and `event_adapter`, a handler that turns the callbacks into
// rowcast events for any sink.
//
// Callbacks, in binlog order (each receives a `txn_info` with the transaction
// id and the sequence number of this callback):
//   begin(t)                          a transaction starts
//   insert(t, table, after)           one inserted row
//   delete_row(t, table, before)      one deleted row
//   update_before(t, table, before)   the before image of one updated row,
//   update_after(t, table, after)     then its after image
//   commit(t)                         XID, QUERY "COMMIT" or XA PREPARE ends the transaction
//   rollback(t)                       QUERY "ROLLBACK" (non-transactional changes already
//                                     reported stay done) or XA ROLLBACK; from the live
//                                     follower also a transaction cut by a disconnect
//                                     (t.interrupted, delivered again whole later)
//   ddl(t, schema, statement)         a schema change (standalone, no begin/commit)
// Images are std::span<const value> aligned with table.columns; columns left
// out by binlog_row_image=MINIMAL hold absent{}. Spans are valid during the call only.
// A callback returning result<void> with an error stops the parser with that error.
//
// A group that ends with QUERY "COMMIT" and no XID changed only non-transactional
// tables (MariaDB logs such changes even when the client rolled back, e.g. the
// Aria row of fixture 01): commit's t.non_transactional is true then, and the
// adapter marks the commit event's statement "non-transactional".
//
// Thread-safety: callbacks run on the parser's thread.
#pragma once

#include <rowcast/binlog/types.hpp>
#include <rowcast/binlog/detail/arena.hpp>
#include <rowcast/error.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/version.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// Row callbacks: what the parser knows of the rows after this one (txn_info::rows_after).
enum class rows_after : std::uint8_t {
    unknown,  ///< the next event was not seen yet
    more,     ///< more rows of this transaction follow (in this event, or a TABLE_MAP/rows event is next)
    none,     ///< the transaction ends next (XID / XA_PREPARE): this is its last row
};

/// Context of one callback. Views are valid during the call only.
struct txn_info {
    std::string_view id;        ///< transaction id: the GTID if the server logs one, else "<file>:<offset of begin>"
    std::uint64_t sequence = 0; ///< 1-based number of this callback since the parser started (FlexCDC's GSN)
    std::string_view gtid;      ///< "domain-server-seq" (MariaDB), "uuid:n" (MySQL), or empty
    std::string_view file;      ///< binlog file of the event
    std::uint64_t offset = 0;   ///< offset of the event that caused the callback
    std::uint32_t server_id = 0;
    std::uint32_t timestamp = 0;  ///< event timestamp (seconds since the epoch, UTC)
    /// Commit time of the transaction in µs since the epoch (UTC) when the binlog has it: MySQL
    /// 8.0.1+'s GTID/ANONYMOUS_GTID original_commit_timestamp; 0 otherwise (MariaDB's headers
    /// have whole seconds only: use `timestamp`).
    std::int64_t commit_us = 0;
    /// When the parser decoded the event (µs since the epoch, UTC; the system clock), if
    /// parser_options::capture_time is set; else 0.
    std::int64_t capture_us = 0;
    /// Id of the connection that wrote the transaction (thread_id of its BEGIN QUERY event; a
    /// DDL: of its own QUERY event); 0 when the binlog does not say (MariaDB starts
    /// transactions with a GTID event, which carries none before MariaDB 11.5).
    std::uint64_t thread = 0;
    /// Row callbacks: the 0-based index of the row within its rows event (update_before and
    /// update_after of one row carry the same value).
    std::uint32_t row = 0;
    /// Row callbacks: the statement that changed the rows, from MariaDB's ANNOTATE_ROWS
    /// (binlog_annotate_row_events=ON) or MySQL's ROWS_QUERY (binlog_rows_query_log_events=ON)
    /// event before them; empty when the server does not log it.
    std::string_view statement;
    bool non_transactional = false;  ///< commit of a group with no XID (see above)
    /// commit only: the InnoDB XID of the XID event that ended the transaction; 0 when it ended
    /// otherwise (QUERY "COMMIT", XA PREPARE) or for other callbacks.
    std::uint64_t xid = 0;
    bool xa = false;            ///< commit/rollback of an XA transaction (XA PREPARE / XA ROLLBACK)
    /// rollback only, from the replication follower (follower.hpp): the stream broke inside this
    /// transaction; it is delivered again whole after reconnecting. Its rows already reported
    /// must be discarded (the server did not roll anything back).
    bool interrupted = false;
    /// Row callbacks only (update_before/update_after of one row carry the same value).
    /// event_adapter emits a row at once when this is known, and holds it back to the next
    /// callback (copying a view row) only when it is unknown.
    binlog::rows_after rows_after = binlog::rows_after::unknown;
};

using image = std::span<const value>;
/// A row image of views (see view_handler): strings point into the event being decoded
/// or into the parser's per-row scratch arena; valid during the callback only.
using view_image = std::span<const value_view>;

/// The callbacks of a binlog handler whose images are `Img`. Each returns void or result<void>.
template <class H, class Img>
concept handler_of = requires(H& h, const txn_info& t, const table_info& tb, Img img, std::string_view s) {
    h.begin(t);
    h.commit(t);
    h.rollback(t);
    h.insert(t, tb, img);
    h.delete_row(t, tb, img);
    h.update_before(t, tb, img);
    h.update_after(t, tb, img);
    h.ddl(t, s, s);
};

/// A handler with owning images (`image`).
template <class H>
concept handler = handler_of<H, image>;

/// A handler with images of views (`view_image`): the parser decodes without
/// allocating per value. Text in UTF-8/utf8mb3/ASCII, binary data, MariaDB JSON and
/// GEOMETRY WKB point into the binlog event; latin1 text (converted), DECIMAL, MySQL
/// JSON, SET names, re-padded BINARY and UUID/INET text are rendered into a scratch
/// arena that the parser resets before the next row; ENUM names point into the
/// table's column list. Copy what must outlive the call (rowcast::to_owning). A type
/// satisfying both concepts is driven with views.
template <class H>
concept view_handler = handler_of<H, view_image>;

/// What parser::feed() and read_file() accept.
template <class H>
concept any_handler = handler<H> || view_handler<H>;

/// Calls f() (a handler callback) and turns a void return into success.
template <class F>
result<void> invoke_callback(F&& f) {
    return rowcast::detail::call_to_result("binlog", "handler", std::forward<F>(f));
}

}  // namespace binlog
namespace detail::binlog {
using namespace ::rowcast::binlog;  // the public binlog types, unqualified
// Bytes an owning event holds: itself, its strings and its values (what holding it costs).
inline std::size_t event_footprint(const event& e) noexcept {
    std::size_t n = sizeof(event) + e.schema.size() + e.table.size() + e.statement.size() + e.transaction.id.size() +
                    e.source.file.size() + e.source.gtid.size() + (e.before.size() + e.after.size()) * sizeof(value);
    auto payload = [](const value& v) -> std::size_t {
        switch (v.kind()) {
            case value_kind::decimal: return std::get_if<decimal>(&v)->digits.size();
            case value_kind::text: return std::get_if<text>(&v)->utf8.size();
            case value_kind::bytes: return std::get_if<bytes>(&v)->data.size();
            case value_kind::enumeration: return std::get_if<enum_value>(&v)->name.size();
            case value_kind::set: return std::get_if<set_value>(&v)->names.size();
            case value_kind::json: return std::get_if<json_text>(&v)->text.size();
            case value_kind::geometry: return std::get_if<geometry>(&v)->wkb.size();
            default: return 0;
        }
    };
    for (const auto& v : e.before) n += payload(v);
    for (const auto& v : e.after) n += payload(v);
    return n;
}
// The event adapters' shared implementation: S = std::string builds owning events
// (strings and images assigned into reused events: no allocation once capacities
// have grown), S = std::string_view builds event_views (a row event held back past
// its callback has its strings copied into the adapter's arena, so it survives the
// next rows event; one emitted at once points where the parser's views point).
template <class Sink, class S>
class event_adapter_base {
public:
    using event_type = basic_event<S>;
    explicit event_adapter_base(Sink sink) : sink_(std::move(sink)) {}

    /// Holds each transaction's events (begin to commit) and releases them at its commit with the
    /// commit's XID in transaction.xid (0 when it has none); a transaction whose held events reach
    /// `max_bytes` (event_footprint) is released at once and goes on as it comes, with xid 0 (a
    /// warning is logged, xid_unknown() counts it). Rollbacks and finish() release with xid 0.
    void hold_for_xid(std::size_t max_bytes) noexcept {
        hold_on_ = true;
        hold_max_ = max_bytes ? max_bytes : 1;
    }
    /// Transactions released before their XID because they were over the hold_for_xid() limit.
    std::uint64_t xid_unknown() const noexcept { return xid_unknown_; }

    result<void> begin(const txn_info& t) {
        if (auto r = release(0); !r) return r;  // a transaction never ended (not expected from the parser)
        position_ = 0;
        holding_ = hold_on_;
        fill(out_, event_kind::begin, t);
        return emit(out_);
    }
    result<void> commit(const txn_info& t) {
        auto r = flush(true);
        if (!r) return r;
        fill(out_, event_kind::commit, t);
        out_.transaction.xid = t.xid;
        if (t.non_transactional) out_.statement = to_string(end_cause::non_transactional);
        else if (t.xa) out_.statement = to_string(end_cause::xa_prepare);
        if (r = release(t.xid); !r) return r;
        return emit(out_);
    }
    result<void> rollback(const txn_info& t) {
        auto r = flush(true);
        if (!r) return r;
        if (r = release(0); !r) return r;
        fill(out_, event_kind::rollback, t);
        if (t.interrupted) out_.statement = to_string(end_cause::interrupted);
        return emit(out_);
    }
    template <class V>
    result<void> insert(const txn_info& t, const table_info& tb, std::span<const V> after) {
        return row(event_kind::insert, t, tb, after, true);
    }
    template <class V>
    result<void> delete_row(const txn_info& t, const table_info& tb, std::span<const V> before) {
        return row(event_kind::delete_, t, tb, before, false);
    }
    template <class V>
    result<void> update_before(const txn_info& t, const table_info& tb, std::span<const V> before) {
        auto r = row(event_kind::update, t, tb, before, false);
        pending_after_ = true;
        return r;
    }
    template <class V>
    result<void> update_after(const txn_info& t, const table_info&, std::span<const V> after) {
        if (!has_held_ || !pending_after_)
            return error::make(errc::invalid_value, "binlog", "adapter", "update_after without update_before");
        set_image(held_.after, after, !direct_);
        pending_after_ = false;
        if (direct_) return flush(t.rows_after == rows_after::none);
        return {};
    }
    result<void> ddl(const txn_info& t, std::string_view schema, std::string_view statement) {
        auto r = flush(true);
        if (!r) return r;
        fill(out_, event_kind::ddl, t);
        out_.schema = S(schema);
        out_.statement = S(statement);
        return emit(out_);
    }
    /// Emits a held row event (with last = false) and the events held for the XID (with xid 0)
    /// if the input ended mid-transaction.
    result<void> finish() {
        auto r = flush(false);
        if (!r) return r;
        return release(0);
    }

    Sink& sink() noexcept { return sink_; }

private:
    static constexpr bool owning = std::is_same_v<S, std::string>;

    // Owning: assign (reusing capacity). Views: copied into the arena when `keep` (a row held
    // past its callback), else the view itself.
    void set(S& dst, std::string_view src, bool keep) {
        if constexpr (owning) {
            (void)keep;
            dst.assign(src);
        } else {
            dst = keep ? arena_.store(src) : src;
        }
    }
    void fill(event_type& e, event_kind k, const txn_info& t, bool keep = false) {
        e.kind = k;
        e.sequence = t.sequence;
        set(e.transaction.id, t.id, keep);
        e.transaction.position = 0;
        e.transaction.last = false;
        e.transaction.xid = 0;
        set(e.source.file, t.file, keep);
        e.source.offset = t.offset;
        set(e.source.gtid, t.gtid, keep);
        e.source.server_id = t.server_id;
        e.source.row = t.row;
        e.source.thread = t.thread;
        e.commit_time = t.commit_us ? time_point{std::chrono::microseconds{t.commit_us}}
                                    : time_point{std::chrono::seconds{t.timestamp}};
        e.capture_time = time_point{std::chrono::microseconds{t.capture_us}};
        e.schema = S();
        e.table = S();
        e.statement = S();
        if (!is_row_event(k)) {  // row events keep their image vectors (and strings) for reuse: see row()
            e.columns.reset();
            e.before.clear();
            e.after.clear();
        }
    }
    template <class V>
    void set_image(std::vector<basic_value<S>>& dst, std::span<const V> src, bool keep) {
        if constexpr (owning && std::is_same_v<V, value>) {
            (void)keep;
            dst.assign(src.begin(), src.end());  // element-wise assignment: strings keep their capacity
        } else if constexpr (owning) {
            (void)keep;
            dst.resize(src.size());
            for (std::size_t i = 0; i < src.size(); ++i) detail::binlog::assign_owning(dst[i], src[i]);
        } else if constexpr (std::is_same_v<V, value_view>) {
            if (!keep) {
                dst.assign(src.begin(), src.end());
                return;
            }
            dst.resize(src.size());
            for (std::size_t i = 0; i < src.size(); ++i) detail::binlog::store_view(dst[i], src[i], arena_);
        } else {
            dst.resize(src.size());
            for (std::size_t i = 0; i < src.size(); ++i)
                if (keep) detail::binlog::store_view(dst[i], to_view(src[i]), arena_);
                else dst[i] = to_view(src[i]);
        }
    }
    // A row: emitted at once when the parser knows what follows it (t.rows_after; an update
    // once its after image came), else held back until the next callback says whether it was
    // the transaction's last (a held view row is copied into the arena, as its views expire).
    template <class V>
    result<void> row(event_kind k, const txn_info& t, const table_info& tb, std::span<const V> img, bool is_after) {
        auto r = flush(false);
        if (!r) return r;
        direct_ = t.rows_after != rows_after::unknown;
        const bool keep = !direct_;
        fill(held_, k, t, keep);
        set(held_.schema, tb.schema, keep);
        set(held_.table, tb.table, keep);
        if (held_.columns != tb.columns) held_.columns = tb.columns;
        held_.transaction.position = position_++;
        set(held_.statement, t.statement, keep);
        set_image(is_after ? held_.after : held_.before, img, keep);
        if (k == event_kind::insert) held_.before.clear();
        if (k == event_kind::delete_) held_.after.clear();  // update: update_after sets it
        has_held_ = true;
        pending_after_ = false;
        if (direct_ && k != event_kind::update) return flush(t.rows_after == rows_after::none);
        return {};
    }
    result<void> flush(bool last) {
        if (!has_held_) return {};
        held_.transaction.last = last;
        if (pending_after_) held_.after.clear();  // an update whose after image never came
        has_held_ = false;
        pending_after_ = false;
        auto r = emit(held_);
        if constexpr (!owning) arena_.reset();
        return r;
    }
    result<void> emit(const event_type& e) { return holding_ ? hold(e) : send(e); }
    result<void> send(const event_type& e) { return rowcast::detail::call_to_result("binlog", "sink", sink_, e); }

    // hold_for_xid: an owning copy of `e` (copy assignment into reused events keeps their capacities).
    result<void> hold(const event_type& e) {
        if (waiting_n_ == waiting_.size()) waiting_.emplace_back();
        event& w = waiting_[waiting_n_++];
        if constexpr (owning) w = e;
        else w = to_owning(e);
        waiting_bytes_ += event_footprint(w);
        if (waiting_bytes_ < hold_max_) return {};
        ++xid_unknown_;
        rowcast::log(log_level::warning, "binlog",
                     std::string(w.source.file) + " at offset " + std::to_string(w.source.offset) + ": transaction " +
                         std::string(w.transaction.id) + " is over the hold limit of " + std::to_string(hold_max_) +
                         " bytes (parser_options::hold_max_bytes): its events are released before its XID, with xid 0 "
                         "(unknown)");
        return release(0);
    }
    // The held events go to the sink with `xid`; the rest of the transaction goes as it comes.
    // Cleared even when the sink fails (the source delivers the transaction again from its begin).
    result<void> release(std::uint64_t xid) {
        holding_ = false;
        const std::size_t n = waiting_n_;
        waiting_n_ = 0;
        waiting_bytes_ = 0;
        for (std::size_t i = 0; i < n; ++i) {
            waiting_[i].transaction.xid = xid;
            result<void> r;
            if constexpr (owning) r = send(waiting_[i]);
            else r = send(to_view(waiting_[i]));
            if (!r) return r;
        }
        return {};
    }

    Sink sink_;
    event_type held_, out_;  // reused: the sink sees them during its call only
    bool has_held_ = false;
    bool pending_after_ = false;
    bool direct_ = false;  // the held row is emitted by its own callbacks (its views are not copied)
    std::uint32_t position_ = 0;
    // hold_for_xid (off unless asked): the open transaction's events, waiting for its XID.
    bool hold_on_ = false;
    bool holding_ = false;             // the open transaction is being held
    std::size_t hold_max_ = 0;
    std::vector<event> waiting_;       // reused; the first waiting_n_ are held
    std::size_t waiting_n_ = 0, waiting_bytes_ = 0;
    std::uint64_t xid_unknown_ = 0;
    [[no_unique_address]] std::conditional_t<owning, std::monostate, detail::binlog::arena> arena_{};
};
}  // namespace detail::binlog
namespace binlog {

/// A handler that builds rowcast events and passes each to `sink(const event&)`
/// (the sink may return void or result<void>; the event is valid during the call:
/// the adapter reuses it, copy it to keep it). The transaction's last row event
/// carries transaction.last = true: a row event is emitted at once when the parser
/// knows whether more rows follow (txn_info::rows_after: read_file() knows it for
/// all but the row before a read-ahead boundary, a QUERY "COMMIT" or a DDL), else
/// it is held back until the next callback; memory stays one event. Events: begin,
/// insert/update/delete (update = one event with both images), commit or rollback, ddl. transaction.id is the txn_info id,
/// transaction.position counts the rows within the transaction from 0,
/// source = {file, offset of the rows event, GTID, server id, row index within the rows
/// event, thread id (txn_info::thread)}, commit_time = txn_info::commit_us when the binlog
/// has it, else the event timestamp (whole seconds), capture_time = txn_info::capture_us,
/// a row event's statement = the originating SQL (txn_info::statement), sequence = the
/// parser's sequence number. It accepts both
/// owning images and view images (the parser drives it with views and it copies
/// the values into its reused event: no allocation per value in steady state).
/// hold_for_xid(max_bytes) (off by default; what parser_options::hold_for_xid asks of the sources)
/// holds each transaction, begin to commit, and releases it at the commit with transaction.xid =
/// the XID on every event; one over max_bytes goes on as it comes with xid 0, logged and counted
/// (xid_unknown()). The commit event carries the XID either way.
template <class Sink>
class event_adapter : public detail::binlog::event_adapter_base<Sink, std::string> {
public:
    explicit event_adapter(Sink sink) : detail::binlog::event_adapter_base<Sink, std::string>(std::move(sink)) {}
};
template <class Sink>
event_adapter(Sink) -> event_adapter<Sink>;

/// The view form of event_adapter: passes `rowcast::event_view`s to `sink(const event_view&)`,
/// the same events with the same fields. Valid during the sink's call only: strings point
/// into the binlog event, the parser's arena, the txn_info, the table_info, or (for a row
/// event held back, see event_adapter) the adapter's own arena, which is reset after each row event is emitted. Use
/// rowcast::to_owning() to keep one.
template <class Sink>
class event_view_adapter : public detail::binlog::event_adapter_base<Sink, std::string_view> {
public:
    explicit event_view_adapter(Sink sink) : detail::binlog::event_adapter_base<Sink, std::string_view>(std::move(sink)) {}
};
template <class Sink>
event_view_adapter(Sink) -> event_view_adapter<Sink>;

}  // namespace binlog
ROWCAST_NAMESPACE_END
