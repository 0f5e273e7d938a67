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
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// Context of one callback. Views are valid during the call only.
struct txn_info {
    std::string_view id;        ///< transaction id: the GTID if the server logs one, else "<file>:<offset of begin>"
    std::uint64_t sequence = 0; ///< 1-based number of this callback since the parser started (FlexCDC's GSN)
    std::string_view gtid;      ///< "domain-server-seq" (MariaDB), "uuid:n" (MySQL), or empty
    std::string_view file;      ///< binlog file of the event
    std::uint64_t offset = 0;   ///< offset of the event that caused the callback
    std::uint32_t server_id = 0;
    std::uint32_t timestamp = 0;  ///< event timestamp (seconds since the epoch, UTC)
    bool non_transactional = false;  ///< commit of a group with no XID (see above)
    bool xa = false;            ///< commit/rollback of an XA transaction (XA PREPARE / XA ROLLBACK)
    /// rollback only, from the replication follower (stream.hpp): the stream broke inside this
    /// transaction; it is delivered again whole after reconnecting. Its rows already reported
    /// must be discarded (the server did not roll anything back).
    bool interrupted = false;
};

using image = std::span<const value>;

/// The callbacks a binlog handler implements. Each returns void or result<void>.
template <class H>
concept handler = requires(H& h, const txn_info& t, const table_info& tb, image img, std::string_view s) {
    h.begin(t);
    h.commit(t);
    h.rollback(t);
    h.insert(t, tb, img);
    h.delete_row(t, tb, img);
    h.update_before(t, tb, img);
    h.update_after(t, tb, img);
    h.ddl(t, s, s);
};

/// Calls f() (a handler callback) and turns a void return into success.
template <class F>
result<void> invoke_callback(F&& f) {
    if constexpr (std::is_void_v<decltype(f())>) {
        f();
        return {};
    } else {
        return f();
    }
}

/// A handler that builds rowcast events and passes each to `sink(const event&)`
/// (the sink may return void or result<void>). Row events are held back by one
/// so the transaction's last row event carries transaction.last = true; memory
/// stays one event. Events: begin, insert/update/delete (update = one event with
/// both images), commit or rollback, ddl. transaction.id is the txn_info id,
/// transaction.position counts the rows within the transaction from 0,
/// source = {file, offset of the rows event, GTID, server id}, commit_time = the
/// event timestamp, sequence = the parser's sequence number.
template <class Sink>
class event_adapter {
public:
    explicit event_adapter(Sink sink) : sink_(std::move(sink)) {}

    result<void> begin(const txn_info& t) {
        position_ = 0;
        return emit(make(event_kind::begin, t));
    }
    result<void> commit(const txn_info& t) {
        auto r = flush(true);
        if (!r) return r;
        event e = make(event_kind::commit, t);
        if (t.non_transactional) e.statement = "non-transactional";
        else if (t.xa) e.statement = "XA PREPARE";
        return emit(std::move(e));
    }
    result<void> rollback(const txn_info& t) {
        auto r = flush(true);
        if (!r) return r;
        event e = make(event_kind::rollback, t);
        if (t.interrupted) e.statement = "interrupted";
        return emit(std::move(e));
    }
    result<void> insert(const txn_info& t, const table_info& tb, image after) {
        auto r = flush(false);
        if (!r) return r;
        event e = make_row(event_kind::insert, t, tb);
        e.after.assign(after.begin(), after.end());
        held_ = std::move(e);
        return {};
    }
    result<void> delete_row(const txn_info& t, const table_info& tb, image before) {
        auto r = flush(false);
        if (!r) return r;
        event e = make_row(event_kind::delete_, t, tb);
        e.before.assign(before.begin(), before.end());
        held_ = std::move(e);
        return {};
    }
    result<void> update_before(const txn_info& t, const table_info& tb, image before) {
        auto r = flush(false);
        if (!r) return r;
        event e = make_row(event_kind::update, t, tb);
        e.before.assign(before.begin(), before.end());
        held_ = std::move(e);
        pending_after_ = true;
        return {};
    }
    result<void> update_after(const txn_info&, const table_info&, image after) {
        if (!held_ || !pending_after_)
            return error::make(errc::invalid_value, "binlog", "adapter", "update_after without update_before");
        held_->after.assign(after.begin(), after.end());
        pending_after_ = false;
        return {};
    }
    result<void> ddl(const txn_info& t, std::string_view schema, std::string_view statement) {
        auto r = flush(true);
        if (!r) return r;
        event e = make(event_kind::ddl, t);
        e.schema = schema;
        e.statement = statement;
        return emit(std::move(e));
    }
    /// Emits a held row event (with last = false) if the input ended mid-transaction.
    result<void> finish() { return flush(false); }

    Sink& sink() noexcept { return sink_; }

private:
    event make(event_kind k, const txn_info& t) const {
        event e;
        e.kind = k;
        e.sequence = t.sequence;
        e.transaction.id = t.id;
        e.source = {std::string(t.file), t.offset, std::string(t.gtid), t.server_id};
        e.commit_time = time_point{std::chrono::seconds{t.timestamp}};
        return e;
    }
    event make_row(event_kind k, const txn_info& t, const table_info& tb) {
        event e = make(k, t);
        e.schema = tb.schema;
        e.table = tb.table;
        e.columns = tb.columns;
        e.transaction.position = position_++;
        return e;
    }
    result<void> flush(bool last) {
        if (!held_) return {};
        held_->transaction.last = last;
        event e = std::move(*held_);
        held_.reset();
        pending_after_ = false;
        return emit(std::move(e));
    }
    result<void> emit(event e) {
        if constexpr (std::is_void_v<decltype(sink_(std::as_const(e)))>) {
            sink_(std::as_const(e));
            return {};
        } else {
            return sink_(std::as_const(e));
        }
    }

    Sink sink_;
    std::optional<event> held_;
    bool pending_after_ = false;
    std::uint32_t position_ = 0;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
