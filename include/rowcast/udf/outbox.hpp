// rowcast/udf/outbox.hpp: the trigger path's transactional mode, consumer side
// (docs/udf.md, "Transactional mode"). No database client needed: the store that
// answers "is this outbox row committed?" is a template parameter; the one on a
// MariaDB/MySQL server is rowcast/udf/outbox_mariadb.hpp (rowcast's client).
//
// In transactional mode each generated trigger inserts a row into an InnoDB
// outbox table (id from UUID(): udf::outbox_id_expression) in the user's transaction, then calls
// rowcast_event(..., id): the event carries transaction.id = "outbox:<id>"
// (outbox_transaction_id()). The loadable function still writes the event at
// once (the low-latency doorbell); the outbox row commits or rolls back with the
// change. outbox_gate, an event_sink in front of the real sink, passes an event
// on only once its row is committed, and drops it when its row is gone:
//   - committed: the row is visible to a READ COMMITTED read (store.find_committed);
//   - undecided: a locking read of the row (store.decide) waits, bounded, for the
//     inserting transaction: the row then is there (committed), is not (rolled
//     back: the event is dropped, logged and counted; a rolled-back change is not
//     a lost change), or the wait ran out (still open: the gate holds);
//   - order: events go on in the order they come (the spool's, trigger-firing
//     order). The gate stops at the first event whose transaction is still open
//     and returns errc::unavailable (transient) after passing on the prefix before
//     it; the caller delivers the batch again later (run(), the spool reader) and
//     the gate skips what it already passed on or dropped. So an event never
//     overtakes an earlier one, of the same row or not;
//   - rows of events passed on are removed (store.remove, one statement per
//     batch) at the start of the next write() or at flush(), i.e. after the
//     caller has retired the batch. A crash in between leaves those rows (at most
//     a batch; see docs/udf.md for the clean-up statement);
//   - events without an outbox id (plain-mode triggers, rowcast_json) go on
//     unchecked and are counted (ungated); on a try again of the batch they are
//     known by (source.file, sequence), which the spool reader and the loadable
//     function fill in; an event whose transaction.id starts
//     with "outbox:" but names no valid id is refused: on_rejected (or the log),
//     counted, not passed on.
// An event passed on whose batch fails later in the sink is in at-least-once
// territory, as everywhere in the pipeline.
//
// The store (concept outbox_store):
//   find_committed(ids, out) -> result<void>           appends the ids whose rows are committed
//   decide(id)               -> result<outbox_state>   committed, rolled_back or open (bounded wait)
//   remove(ids)              -> result<void>           deletes the rows
// Store errors are returned by write() as they are (a lost server: errc::unavailable,
// transient, so run() retries with its backoff); nothing is consumed then.
//
// Thread-safety: one thread at a time (as any sink).
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

/// What transaction.id starts with when the event names an outbox row.
inline constexpr std::string_view outbox_prefix = "outbox:";

/// "outbox:<id>" (decimal): the transaction.id of an event whose outbox row is `id`.
inline std::string outbox_transaction_id(std::uint64_t id) { return std::string(outbox_prefix) + std::to_string(id); }

/// The outbox row an event names: nullopt when transaction.id does not start with
/// "outbox:"; errc::invalid_value when it does but the rest is not a decimal 1..2^64-1.
template <class S>
result<std::optional<std::uint64_t>> outbox_id(const basic_event<S>& e) {
    const std::string_view t = e.transaction.id;
    if (!t.starts_with(outbox_prefix)) return std::optional<std::uint64_t>{};
    const std::string_view digits = t.substr(outbox_prefix.size());
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || id == 0 || digits.front() == '+')
        return error::make(errc::invalid_value, "outbox", "transaction.id",
                           "'" + std::string(t.substr(0, 40)) + "' is not outbox:<decimal id>");
    return std::optional<std::uint64_t>{id};
}

/// What a locking read says about an outbox row.
enum class outbox_state {
    committed,    ///< the row is there: its transaction committed
    rolled_back,  ///< the row is not there: its transaction (or statement) rolled back
    open,         ///< its transaction is still open (the bounded wait ran out)
};

template <class S>
concept outbox_store = requires(S& s, std::span<const std::uint64_t> ids, std::vector<std::uint64_t>& out, std::uint64_t id) {
    { s.find_committed(ids, out) } -> std::same_as<result<void>>;
    { s.decide(id) } -> std::same_as<result<outbox_state>>;
    { s.remove(ids) } -> std::same_as<result<void>>;
};

struct outbox_gate_options {
    /// Events whose transaction.id is "outbox:" + garbage; default: logged as errors.
    std::function<void(const event&, const error&)> on_rejected;
    /// At most this many ids per remove() statement.
    std::size_t remove_batch = 1000;
    log_sink log;  ///< component "outbox"; default: rowcast::log
};

/// Counters since construction (visitable: rowcast/stats.hpp).
struct outbox_gate_stats {
    std::uint64_t committed = 0;    ///< events passed on after their row was seen committed
    std::uint64_t rolled_back = 0;  ///< events dropped: their row was rolled back
    std::uint64_t ungated = 0;      ///< events without an outbox id, passed on unchecked
    std::uint64_t rejected = 0;     ///< events with a malformed outbox id, not passed on
    std::uint64_t held = 0;         ///< write() calls that stopped at a transaction still open
    std::uint64_t lookups = 0;      ///< find_committed() calls
    std::uint64_t decisions = 0;    ///< decide() calls (locking reads)
    std::uint64_t removed = 0;      ///< outbox rows deleted
    std::uint64_t pending_removal = 0;  ///< gauge: rows waiting for remove()

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("committed", committed, "events passed on, their outbox row committed"));
        v(detail::counter("rolled_back", rolled_back, "events dropped, their outbox row rolled back"));
        v(detail::counter("ungated", ungated, "events without an outbox id, passed on unchecked"));
        v(detail::counter("rejected", rejected, "events with a malformed outbox id"));
        v(detail::counter("held", held, "writes that stopped at a transaction still open"));
        v(detail::counter("lookups", lookups, "READ COMMITTED lookups of outbox rows"));
        v(detail::counter("decisions", decisions, "locking reads waiting for a transaction"));
        v(detail::counter("removed", removed, "outbox rows deleted"));
        v(detail::gauge("pending_removal", static_cast<std::int64_t>(pending_removal), "outbox rows waiting to be deleted"));
    }
};

/// An event_sink that passes an event on to `Sink` only once its outbox row is
/// committed (see the top of this header). Holds references to the store and the sink.
template <outbox_store Store, event_sink Sink>
class outbox_gate {
public:
    outbox_gate(Store& store, Sink& sink, outbox_gate_options o = {}) : store_(&store), sink_(&sink), opt_(std::move(o)) {
        if (opt_.remove_batch == 0) opt_.remove_batch = 1;
    }

    result<void> write(const event& e) { return write(std::span<const event>(&e, 1)); }

    /// Passes on the batch's committed events in order, drops the rolled-back ones;
    /// errc::unavailable when it stopped at a transaction still open (the prefix before
    /// it went on: write the same events again later), or the store's or sink's error.
    result<void> write(std::span<const event> batch) {
        if (auto r = remove_applied(); !r) log(log_level::warning, r.error_value().message + " (retried later)");
        // Which rows of this batch are committed, in one READ COMMITTED lookup.
        ids_.clear();
        for (const event& e : batch)
            if (auto id = outbox_id(e); id && *id && !seen_.contains(**id)) ids_.push_back(**id);
        committed_.clear();
        if (!ids_.empty()) {
            ++stats_.lookups;
            if (auto r = store_->find_committed(ids_, committed_); !r) return r;
            std::sort(committed_.begin(), committed_.end());
        }
        std::size_t run = 0;  // start of the events to pass on together
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const event& e = batch[i];
            auto id = outbox_id(e);
            if (!id) {
                if (auto r = pass(batch, run, i); !r) return r;
                run = i + 1;
                reject(e, id.error_value());
                continue;
            }
            if (!*id) {  // no outbox id: goes with the run, unless an earlier try passed it on
                if (seen_plain_.contains(plain_key(e))) {
                    if (auto r = pass(batch, run, i); !r) return r;
                    run = i + 1;
                }
                continue;
            }
            const std::uint64_t n = **id;
            if (seen_.contains(n)) {  // passed on or dropped by an earlier try of this batch
                if (auto r = pass(batch, run, i); !r) return r;
                run = i + 1;
                continue;
            }
            if (std::binary_search(committed_.begin(), committed_.end(), n)) continue;
            ++stats_.decisions;
            auto state = store_->decide(n);
            if (!state) {
                if (auto r = pass(batch, run, i); !r) return r;
                return state.error_value();
            }
            if (*state == outbox_state::committed) {
                if (auto r = refresh(batch, i + 1); !r) return r;  // what else committed meanwhile
                continue;
            }
            if (auto r = pass(batch, run, i); !r) return r;
            run = i + 1;
            if (*state == outbox_state::open) {
                ++stats_.held;
                return error::make(errc::unavailable, "outbox", "row " + std::to_string(n),
                                   "its transaction is still open; holding " + std::to_string(batch.size() - i) +
                                       " events behind it (" + std::string(e.schema) + "." + std::string(e.table) + " " +
                                       std::string(to_string(e.kind)) + ")");
            }
            seen_.insert(n);
            ++stats_.rolled_back;
            log(log_level::info, "dropped " + std::string(to_string(e.kind)) + " of " + e.schema + "." + e.table +
                                     ": outbox row " + std::to_string(n) + " was rolled back" +
                                     (e.source.file.empty() ? std::string() : " (" + e.source.file + ")"));
            if (auto r = refresh(batch, i + 1); !r) return r;
        }
        if (auto r = pass(batch, run, batch.size()); !r) return r;
        // The whole batch is decided: the caller retires it, so the rows can go (next write or flush).
        removable_.insert(removable_.end(), passed_.begin(), passed_.end());
        passed_.clear();
        seen_.clear();
        seen_plain_.clear();
        stats_.pending_removal = removable_.size();
        return {};
    }

    /// Flushes the sink, then removes the outbox rows of the events passed on (a failure
    /// is returned; they stay queued). In this order a sink that holds events until its
    /// flush() has them before their rows go: a crash in between leaves rows, never loses events.
    result<void> flush() {
        if (auto r = sink_->flush(); !r) return r;
        return remove_applied();
    }

    const outbox_gate_stats& stats() const noexcept { return stats_; }

private:
    // Passes batch[from, to) on; the outbox ids among them are remembered.
    result<void> pass(std::span<const event> batch, std::size_t from, std::size_t to) {
        if (to <= from) return {};
        if (auto r = sink_->write(batch.subspan(from, to - from)); !r) return r;
        for (std::size_t k = from; k < to; ++k) {
            auto id = outbox_id(batch[k]);
            if (id && *id) {
                seen_.insert(**id);
                passed_.push_back(**id);
                ++stats_.committed;
            } else {
                ++stats_.ungated;
                if (auto key = plain_key(batch[k]); !key.first.empty() || key.second != 0) seen_plain_.insert(std::move(key));
            }
        }
        return {};
    }

    // After waiting for one transaction: looks again at the undecided rows from `from` on.
    result<void> refresh(std::span<const event> batch, std::size_t from) {
        ids_.clear();
        for (std::size_t k = from; k < batch.size(); ++k)
            if (auto id = outbox_id(batch[k]); id && *id && !seen_.contains(**id) &&
                                               !std::binary_search(committed_.begin(), committed_.end(), **id))
                ids_.push_back(**id);
        if (ids_.empty()) return {};
        ++stats_.lookups;
        if (auto r = store_->find_committed(ids_, committed_); !r) return r;
        std::sort(committed_.begin(), committed_.end());
        return {};
    }

    result<void> remove_applied() {
        while (!removable_.empty()) {
            const std::size_t n = std::min(removable_.size(), opt_.remove_batch);
            if (auto r = store_->remove(std::span<const std::uint64_t>(removable_.data(), n)); !r) return r;
            removable_.erase(removable_.begin(), removable_.begin() + static_cast<std::ptrdiff_t>(n));
            stats_.removed += n;
        }
        stats_.pending_removal = 0;
        return {};
    }

    void reject(const event& e, const error& err) {
        ++stats_.rejected;
        if (opt_.on_rejected) opt_.on_rejected(e, err);
        else log(log_level::error, err.message + (e.source.file.empty() ? std::string() : " (" + e.source.file + ")"));
    }

    // An event without an outbox id, told apart by its spool file name and sequence.
    static std::pair<std::string, std::uint64_t> plain_key(const event& e) { return {e.source.file, e.sequence}; }

    void log(log_level l, const std::string& m) const { rowcast::log(opt_.log, l, "outbox", m); }

    Store* store_;
    Sink* sink_;
    outbox_gate_options opt_;
    outbox_gate_stats stats_;
    std::vector<std::uint64_t> ids_, committed_;  // scratch: ids to look up; committed ones (sorted)
    std::unordered_set<std::uint64_t> seen_;      // passed on or dropped by tries of the current batch
    std::set<std::pair<std::string, std::uint64_t>> seen_plain_;  // events without an id, likewise
    std::vector<std::uint64_t> passed_;           // passed on by tries of the current batch
    std::vector<std::uint64_t> removable_;        // rows of retired batches, to delete
};

}  // namespace udf
ROWCAST_NAMESPACE_END
