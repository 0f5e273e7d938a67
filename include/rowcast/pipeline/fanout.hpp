// rowcast/pipeline/fanout.hpp: one source, several sinks. `fanout_sink` is a
// transactional_sink (pipeline/sink.hpp) that hands every group of events to N
// sinks, each behind its own bounded queue and worker thread, and advances the
// source's cursor only when every sink has acknowledged the group.
//
//   rowcast::fanout_sink out({.checkpoint = "/var/lib/rowcastd/cursor"});
//   out.add("spool", rowcast::spool_writer<rowcast::json_codec>::open({.directory = d}).value());
//   out.add("stdout", rowcast::stream_sink(STDOUT_FILENO, rowcast::json_codec{}), {.queue_capacity = 1000});
//   if (auto r = out.start(); !r) ...           // loads the checkpoint, starts the workers
//   follower.run(out, stop);                    // resumes from out.load_cursor()
//   out.drain(std::chrono::seconds(10));        // waits for the sinks, saves the last cursor
//
// Flow. write(e) stages the event; publish(c) closes the groups staged so far
// (up to the last group end: a commit, a rollback, or a DDL outside a
// transaction) into one item with cursor `c` and puts it on every sink's queue.
// Each worker writes the item's events to its sink and then, if the sink is a
// transactional_sink and the item has a cursor, publishes it there; otherwise it
// flushes the sink. That success is the sink's acknowledgement. When every sink
// has acknowledged an item its cursor is saved in the checkpoint file (atomic
// replace, pipeline/checkpoint.hpp), and load_cursor() returns it after a restart.
// So across kill -9 nothing is lost: the source resumes from the last cursor all
// sinks acknowledged; a sink that was ahead receives those groups again
// (at-least-once per sink).
//
// Sources without cursors (the spool reader removes its files once write()
// returned) use acknowledge::on_write: write(batch) queues the batch and returns
// only when every sink has acknowledged it.
//
// Back-pressure and failures. A queue holds at most queue_capacity events (an
// item larger than that is admitted into an empty queue). publish() and write()
// wait up to room_wait for room, then return errc::unavailable (transient: run()
// retries), and the staged events stay. A sink whose write or flush fails is
// retried by its worker with the backoff of `retry`, the same item again (after
// discard() on a transactional sink), forever: a failing sink holds the pipeline
// (its queue fills, then the source waits), it never drops an event. Each
// failure is logged (component "fanout", naming the sink) and the sink's `up`
// gauge is 0 until a delivery succeeds.
//
// Lag (per sink): the age of the oldest event the sink has not acknowledged,
// from the event's commit_time (its capture_time when the commit time is unknown;
// events with neither do not count), and 0 when its queue is empty.
//
// Errors: start(): the checkpoint's load error. publish()/write(): unavailable
// (no room in time, or stopping), the checkpoint's save error once reported by a
// worker (io_error). flush(): unavailable while some sink has not acknowledged.
//
// Thread-safety: write/publish/discard/flush/load_cursor from one thread (the
// source's); stats(), sink_stats(), stop() and drain() from any thread. add()
// before start() only. The sinks are used by their worker threads only.
#pragma once

#include <rowcast/backoff.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

/// When fanout_sink acknowledges to its source (see the top of this header).
enum class acknowledge {
    on_publish,  ///< a transactional source: publish() queues, the checkpoint follows the sinks
    on_write,    ///< a source without cursors: write() returns once every sink has the events
};

struct fanout_options {
    std::filesystem::path checkpoint;  ///< the cursor store; empty: cursors are not kept across restarts
    durability checkpoint_durability = durability::file_and_directory;
    acknowledge mode = acknowledge::on_publish;
    /// Longest wait of publish()/write() for room in the queues, and of flush() for the
    /// sinks, before errc::unavailable (the caller retries).
    std::chrono::milliseconds room_wait{1000};
    /// A failing sink's retries: first wait, doubling up to max (max_attempts is ignored: forever).
    backoff_policy retry{.initial = std::chrono::milliseconds(100), .max = std::chrono::milliseconds(5000)};
    log_sink log;  ///< default: rowcast::log (component "fanout")
};

/// Per-sink options of fanout_sink::add().
struct fanout_sink_options {
    std::size_t queue_capacity = 10000;  ///< events queued before the source waits (>= 1)
};

/// One sink's counters and levels (rowcast/stats.hpp).
struct fanout_sink_stats {
    std::uint64_t events_out = 0;   ///< events acknowledged by the sink
    std::uint64_t failures = 0;     ///< failed deliveries (each retried)
    std::int64_t queue_depth = 0;   ///< gauge: events queued and not yet acknowledged
    bool up = true;                 ///< gauge: false from a failed delivery to the next success
    std::int64_t lag_ms = 0;        ///< gauge: age of the oldest unacknowledged event (see the top)

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("events_out", events_out, "events the sink acknowledged"));
        v(detail::counter("failures", failures, "failed deliveries to the sink, each retried"));
        v(detail::gauge("queue_depth", queue_depth, "events queued for the sink and not yet acknowledged"));
        v(detail::gauge("up", up ? 1 : 0, "1 when the last delivery succeeded, 0 while the sink fails"));
        v(detail::gauge("lag_seconds", lag_ms, "age of the oldest event the sink has not acknowledged (commit time)", 3));
    }
};

/// The fan-out's own counters.
struct fanout_stats {
    std::uint64_t events_in = 0;    ///< events accepted from the source
    std::uint64_t groups = 0;       ///< items queued (publish() calls with events, on_write batches)
    std::uint64_t checkpoints = 0;  ///< cursors saved after every sink acknowledged
    std::int64_t lag_ms = 0;        ///< gauge: the largest lag over the sinks

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("events_in", events_in, "events accepted from the source"));
        v(detail::counter("groups", groups, "groups of events queued to the sinks"));
        v(detail::counter("checkpoints", checkpoints, "cursors saved once every sink acknowledged"));
        v(detail::gauge("lag_seconds", lag_ms, "the largest lag over the sinks (seconds from commit time)", 3));
    }
};

namespace detail::fanout {

using clock = std::chrono::system_clock;

// A group of events with the cursor that follows it.
struct item {
    std::shared_ptr<const std::vector<event>> events;
    std::string cursor;  // empty: none (flush the sinks instead of publishing)
    std::uint64_t seq = 0;
    std::optional<time_point> oldest;  // the earliest commit (or capture) time in it
};

inline std::optional<time_point> event_time(const event& e) {
    if (e.commit_time.time_since_epoch().count() != 0) return e.commit_time;
    if (e.capture_time.time_since_epoch().count() != 0) return e.capture_time;
    return std::nullopt;
}

// A sink behind a virtual call: what the worker needs of it.
struct erased {
    virtual ~erased() = default;
    virtual result<void> deliver(std::span<const event> events, std::string_view cursor) = 0;
    virtual result<void> discard() = 0;
};

template <class S>
struct erased_model final : erased {
    explicit erased_model(S s) : sink(std::move(s)) {}
    result<void> deliver(std::span<const event> events, std::string_view cursor) override {
        if (!events.empty())
            if (auto r = sink.write(events); !r) return r;
        if constexpr (transactional_sink<S>) {
            if (!cursor.empty()) return sink.publish(cursor);
        }
        return sink.flush();
    }
    result<void> discard() override {
        if constexpr (transactional_sink<S>) return sink.discard();
        else return {};
    }
    S sink;
};

struct lane {
    std::string name;
    std::size_t capacity = 1;
    std::unique_ptr<erased> sink;
    std::deque<item> queue;
    std::size_t depth = 0;          // events in queue
    std::uint64_t acked = 0;        // seq of the last acknowledged item
    fanout_sink_stats stats;
    std::thread worker;
};

}  // namespace detail::fanout

class fanout_sink {
public:
    explicit fanout_sink(fanout_options o = {}) : st_(std::make_unique<shared>(std::move(o))) {}
    fanout_sink(fanout_sink&&) noexcept = default;
    fanout_sink& operator=(fanout_sink&&) = delete;
    fanout_sink(const fanout_sink&) = delete;
    ~fanout_sink() {
        if (st_) stop();
    }

    /// Adds a sink (moved in) under `name` (unique; used in logs and metrics). Before start().
    template <event_sink S>
    void add(std::string name, S sink, fanout_sink_options o = {}) {
        auto l = std::make_unique<detail::fanout::lane>();
        l->name = std::move(name);
        l->capacity = std::max<std::size_t>(o.queue_capacity, 1);
        l->sink = std::make_unique<detail::fanout::erased_model<S>>(std::move(sink));
        st_->lanes.push_back(std::move(l));
    }

    /// Loads the checkpoint and starts one worker per sink. Errors: the checkpoint's.
    result<void> start() {
        auto& s = *st_;
        if (!s.opt.checkpoint.empty()) {
            s.file.emplace(s.opt.checkpoint, s.opt.checkpoint_durability);
            auto rec = s.file->load();
            if (!rec) return rec.error_value();
            if (*rec) s.cursor = (*rec)->cursor;
        }
        for (auto& l : s.lanes) l->worker = std::thread([sp = st_.get(), lp = l.get()] { work(*sp, *lp); });
        return {};
    }

    // --- transactional_sink -------------------------------------------------------
    result<void> write(const event& e) { return write(std::span<const event>(&e, 1)); }

    result<void> write(std::span<const event> batch) {
        auto& s = *st_;
        if (s.opt.mode == acknowledge::on_write) return write_acknowledged(batch);
        if (staged_.size() + batch.size() > max_staged())
            return busy("more events staged than the queues hold (the sinks are behind)");
        for (const event& e : batch) {
            staged_.push_back(e);
            if (ends_group(e, in_txn_)) group_end_ = staged_.size();
        }
        return {};
    }

    /// Queues the events up to the last group end with `cursor` (see the top of this header).
    result<void> publish(std::string_view cursor) {
        if (auto f = take_failure(); !f) return f;
        std::vector<event> group(std::make_move_iterator(staged_.begin()),
                                 std::make_move_iterator(staged_.begin() + static_cast<std::ptrdiff_t>(group_end_)));
        if (auto r = enqueue(group, std::string(cursor)); !r) {
            std::move(group.begin(), group.end(), staged_.begin());  // put back: the caller retries
            return r;
        }
        staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(group_end_));
        group_end_ = 0;
        return {};
    }

    /// Drops the events staged after the last group end.
    result<void> discard() {
        staged_.resize(group_end_);
        in_txn_ = false;
        return {};
    }

    /// The cursor every sink acknowledged last (also across restarts: the checkpoint file).
    result<std::optional<std::string>> load_cursor() {
        std::lock_guard l(st_->mu);
        return st_->cursor;
    }

    /// Waits up to room_wait until every sink has acknowledged everything queued.
    result<void> flush() {
        if (auto f = take_failure(); !f) return f;
        if (wait_all_acked(last_seq(), st_->opt.room_wait)) return {};
        return busy("the sinks have not acknowledged everything yet");
    }

    // --- control and statistics --------------------------------------------------
    /// Waits up to `limit` for every queued item to be acknowledged (and its cursor saved),
    /// then stops the workers. Returns false if some sink had not acknowledged everything.
    bool drain(std::chrono::milliseconds limit) {
        const bool all = wait_all_acked(last_seq(), limit);
        stop();
        return all;
    }

    /// Stops the workers now (what is queued and not acknowledged stays unacknowledged:
    /// the checkpoint does not cover it). Idempotent.
    void stop() {
        {
            std::lock_guard l(st_->mu);
            st_->stopping = true;
        }
        st_->cv.notify_all();
        for (auto& l : st_->lanes)
            if (l->worker.joinable()) l->worker.join();
    }

    fanout_stats stats() const {
        std::lock_guard l(st_->mu);
        fanout_stats out = st_->stats;
        const auto now = detail::fanout::clock::now();
        for (const auto& ln : st_->lanes) out.lag_ms = std::max(out.lag_ms, lag_of(*ln, now));
        return out;
    }

    std::size_t sink_count() const noexcept { return st_->lanes.size(); }
    const std::string& sink_name(std::size_t i) const { return st_->lanes.at(i)->name; }

    fanout_sink_stats sink_stats(std::size_t i) const {
        std::lock_guard l(st_->mu);
        const auto& ln = *st_->lanes.at(i);
        fanout_sink_stats out = ln.stats;
        out.queue_depth = static_cast<std::int64_t>(ln.depth);
        out.lag_ms = lag_of(ln, detail::fanout::clock::now());
        return out;
    }

    /// The last cursor saved (what a restart resumes from); empty if none.
    std::string saved_cursor() const {
        std::lock_guard l(st_->mu);
        return st_->cursor.value_or(std::string());
    }

private:
    struct shared {
        explicit shared(fanout_options o) : opt(std::move(o)) {}
        fanout_options opt;
        std::vector<std::unique_ptr<detail::fanout::lane>> lanes;
        mutable std::mutex mu;
        std::condition_variable cv;
        bool stopping = false;
        std::uint64_t seq = 0;             // last item queued
        std::uint64_t saved = 0;           // last item whose cursor is saved
        std::deque<std::pair<std::uint64_t, std::string>> cursors;  // queued, not yet saved
        std::optional<std::string> cursor; // saved
        std::optional<checkpoint_file> file;
        std::optional<error> failure;      // a checkpoint save error, reported once
        fanout_stats stats;
    };

    static std::int64_t lag_of(const detail::fanout::lane& ln, detail::fanout::clock::time_point now) {
        for (const auto& it : ln.queue) {
            if (!it.oldest) continue;
            const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - *it.oldest).count();
            return std::max<std::int64_t>(age, 0);
        }
        return 0;
    }

    std::size_t max_staged() const {
        std::size_t m = 1;
        for (const auto& l : st_->lanes) m = std::max(m, l->capacity);
        return m;
    }

    result<void> busy(std::string_view what) const {
        return error::make(errc::unavailable, "fanout", "fanout_sink", what);
    }

    result<void> take_failure() {
        std::lock_guard l(st_->mu);
        if (!st_->failure) return {};
        error e = std::move(*st_->failure);
        st_->failure.reset();
        return e;
    }

    // Puts `events` (may be empty: a cursor alone) on every queue, waiting for room.
    result<void> enqueue(std::vector<event>& events, std::string cursor, std::uint64_t* seq_out = nullptr) {
        auto& s = *st_;
        if (events.empty() && cursor.empty()) return {};
        std::unique_lock l(s.mu);
        const auto room = [&] {
            if (s.stopping) return true;
            for (const auto& ln : s.lanes)
                if (!ln->queue.empty() && ln->depth + events.size() > ln->capacity) return false;
            return true;
        };
        if (!s.cv.wait_for(l, s.opt.room_wait, room)) return busy("a sink's queue is full (the sink is behind or failing)");
        if (s.stopping) return busy("stopping");
        detail::fanout::item it;
        it.seq = ++s.seq;
        for (const event& e : events) {
            const auto t = detail::fanout::event_time(e);
            if (t && (!it.oldest || *t < *it.oldest)) it.oldest = t;
        }
        s.stats.events_in += events.size();
        if (!events.empty()) ++s.stats.groups;
        it.events = std::make_shared<const std::vector<event>>(std::move(events));
        it.cursor = std::move(cursor);
        if (!it.cursor.empty()) s.cursors.emplace_back(it.seq, it.cursor);
        for (auto& ln : s.lanes) {
            ln->depth += it.events->size();
            ln->queue.push_back(it);
        }
        if (seq_out) *seq_out = it.seq;
        l.unlock();
        s.cv.notify_all();
        if (s.lanes.empty()) return save_cursor(s);  // nothing to wait for
        return {};
    }

    // on_write: queues the batch and waits for every sink. A write retried after a timeout
    // starts with the events of the batch still being acknowledged (the source delivers
    // the same events again, maybe with more after them): those are not queued twice.
    result<void> write_acknowledged(std::span<const event> batch) {
        if (auto f = take_failure(); !f) return f;
        std::size_t skip = 0;
        if (pending_seq_) {
            if (!wait_all_acked(*pending_seq_, st_->opt.room_wait)) return busy("the sinks have not acknowledged the batch yet");
            pending_seq_.reset();
            skip = std::min(pending_size_, batch.size());
        }
        if (skip == batch.size()) return {};
        std::vector<event> copy(batch.begin() + static_cast<std::ptrdiff_t>(skip), batch.end());
        std::uint64_t seq = 0;
        if (auto r = enqueue(copy, {}, &seq); !r) return r;
        pending_seq_ = seq;
        pending_size_ = batch.size();
        if (!wait_all_acked(seq, st_->opt.room_wait)) return busy("the sinks have not acknowledged the batch yet");
        pending_seq_.reset();
        return {};
    }

    std::uint64_t last_seq() const {
        std::lock_guard l(st_->mu);
        return st_->seq;
    }

    bool wait_all_acked(std::uint64_t seq, std::chrono::milliseconds limit) {
        auto& s = *st_;
        std::unique_lock l(s.mu);
        const auto acked = [&] {
            for (const auto& ln : s.lanes)
                if (ln->acked < seq) return false;
            return s.saved >= seq;
        };
        s.cv.wait_for(l, limit, [&] { return acked() || s.stopping; });
        return acked();
    }

    // Saves the newest cursor every sink acknowledged (called by workers, under no lock).
    static result<void> save_cursor(shared& s) {
        std::unique_lock l(s.mu);
        std::uint64_t all = s.seq;
        for (const auto& ln : s.lanes) all = std::min(all, ln->acked);
        std::optional<std::string> newest;
        while (!s.cursors.empty() && s.cursors.front().first <= all) {
            newest = std::move(s.cursors.front().second);
            s.cursors.pop_front();
        }
        if (newest && s.file) {
            // One saver at a time: the file is written under the lock (a small atomic replace).
            if (auto r = s.file->save({*newest, {}}); !r) {
                s.failure = r.error_value();
                log(s.opt.log, log_level::error, "fanout", r.error_value().message);
                return r;
            }
            ++s.stats.checkpoints;
        }
        if (newest) s.cursor = std::move(newest);
        s.saved = std::max(s.saved, all);
        l.unlock();
        s.cv.notify_all();
        return {};
    }

    static void work(shared& s, detail::fanout::lane& ln) {
        backoff_policy forever = s.opt.retry;
        forever.max_attempts = 0;
        backoff retry(forever);
        for (;;) {
            detail::fanout::item it;
            {
                std::unique_lock l(s.mu);
                s.cv.wait(l, [&] { return s.stopping || !ln.queue.empty(); });
                if (s.stopping) return;
                it = ln.queue.front();
            }
            auto r = ln.sink->deliver(*it.events, it.cursor);
            if (r) {
                retry.reset();
                {
                    std::lock_guard l(s.mu);
                    ln.queue.pop_front();
                    ln.depth -= it.events->size();
                    ln.acked = it.seq;
                    ln.stats.events_out += it.events->size();
                    if (!ln.stats.up) log(s.opt.log, log_level::info, "fanout", "sink '" + ln.name + "' is delivering again");
                    ln.stats.up = true;
                }
                (void)save_cursor(s);
                continue;
            }
            (void)ln.sink->discard();
            const auto wait = retry.next().value_or(s.opt.retry.max);
            std::size_t held = 0;
            {
                std::lock_guard l(s.mu);
                ++ln.stats.failures;
                ln.stats.up = false;
                held = ln.depth;
            }
            log(s.opt.log, log_level::warning, "fanout",
                "sink '" + ln.name + "' failed: " + r.error_value().message + "; holding " +
                    std::to_string(held) + " queued events, retrying in " + std::to_string(wait.count()) + " ms");
            std::unique_lock l(s.mu);
            if (s.cv.wait_for(l, wait, [&] { return s.stopping; })) return;
        }
    }

    std::unique_ptr<shared> st_;
    std::vector<event> staged_;      // source thread only
    std::size_t group_end_ = 0;      // staged_[0, group_end_) is complete groups
    bool in_txn_ = false;
    std::optional<std::uint64_t> pending_seq_;  // on_write: the batch being acknowledged
    std::size_t pending_size_ = 0;
};

ROWCAST_NAMESPACE_END
