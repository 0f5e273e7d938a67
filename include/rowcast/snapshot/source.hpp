// rowcast/snapshot/source.hpp: the initial snapshot joined to the live binlog stream, as
// one event_source: the rows that exist, then every change from exactly the snapshot's
// binlog position, no gap and no duplicate (docs/snapshot.md).
//
//   rowcast::snapshot::source_options o;
//   o.mode = rowcast::snapshot::mode::initial;
//   o.snapshot.connection = {...};  o.snapshot.tables = {"shop.*"};
//   o.follower.stream.connection = {...};     // the replication connection
//   rowcast::snapshot::snapshot_source src(o);
//   src.run(spool_sink, stop);                // resumable across kill -9 with a transactional sink
//
// Modes (what happens at start):
//   initial      a snapshot when there is no saved position (a fresh start), the rest of an
//                unfinished one when the saved cursor is a snapshot cursor; else streaming
//                from the saved position
//   when_needed  as initial, and also a snapshot when the saved binlog file is no longer on
//                the server (purged: SHOW BINARY LOGS does not list it)
//   never        streaming only (from the saved position, else from follower.stream)
// With a plain (non-transactional) sink there is no saved position: initial and
// when_needed take a snapshot at every start.
//
// After the snapshot the follower starts at initial_snapshot::start() (GTID mode when the
// server gave a GTID position). With source_options::incremental the stream runs through
// an incremental_snapshot (incremental.hpp): incremental snapshots asked by its signal
// table or its options, each chunk delivered in the stream at its high watermark, resumed
// from the cursor; mode never with it streams from the start and takes only those.
// Errors: those of initial_snapshot, incremental_snapshot and binlog::follower.
// Thread-safety: one thread at a time; stop() from any thread or a signal handler.
#pragma once

#include <rowcast/binlog/follower.hpp>
#include <rowcast/snapshot/incremental.hpp>
#include <rowcast/snapshot/initial.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace snapshot {

enum class mode : std::uint8_t { initial, when_needed, never };

constexpr std::string_view to_string(mode m) noexcept {
    return m == mode::initial ? "initial" : m == mode::when_needed ? "when_needed" : "never";
}
/// "initial", "when_needed", "never".
constexpr std::optional<mode> parse_mode(std::string_view s) noexcept {
    for (mode m : {mode::initial, mode::when_needed, mode::never})
        if (to_string(m) == s) return m;
    return std::nullopt;
}

struct source_options {
    snapshot::mode mode = snapshot::mode::initial;
    options snapshot;                   ///< tables, chunking, the query connection
    binlog::follower_options follower;  ///< the replication connection (its start position is set by the snapshot)
    /// Incremental snapshots while streaming (incremental.hpp): signals from this signal
    /// table, and options::tables asked at start. None: the stream alone.
    std::optional<incremental_options> incremental;
};

/// The snapshot's counters, the incremental snapshots', then the follower's (zero before streaming).
struct source_stats {
    snapshot_stats snapshot;
    incremental_stats incremental;
    binlog::follower_stats follower;
    template <class V>
    void visit(V&& v) const {
        snapshot.visit(v);
        incremental.visit(v);
        follower.visit(v);
    }
};

class snapshot_source {
public:
    explicit snapshot_source(source_options o) : opt_(std::move(o)), snap_(opt_.snapshot) {
        if (opt_.incremental) incr_.emplace(*opt_.incremental);
    }
    snapshot_source(const snapshot_source&) = delete;
    snapshot_source& operator=(const snapshot_source&) = delete;

    int native_handle() const noexcept { return follower_ ? follower_->native_handle() : -1; }
    std::chrono::milliseconds next_timeout() const {
        if (follower_ && incr_ && incr_->ready() && !follower_->done()) return std::chrono::milliseconds(0);
        if (follower_) return follower_->next_timeout();
        return std::chrono::milliseconds(done() ? -1 : 0);
    }
    bool done() const noexcept { return stop_.load() || (follower_ && follower_->done()); }

    /// Ends the run (async-signal-safe).
    void stop() noexcept {
        stop_.store(true);
        snap_.stop();
        if (follower_) follower_->stop();
    }

    /// True while the snapshot is being copied.
    bool snapshotting() const noexcept { return phase_ == phase::snapshot; }
    const initial_snapshot& snapshot() const noexcept { return snap_; }
    /// The incremental snapshots (null without source_options::incremental).
    const incremental_snapshot* incremental() const noexcept { return incr_ ? &*incr_ : nullptr; }
    source_stats stats() const {
        return {snap_.stats(), incr_ ? incr_->stats() : incremental_stats{},
                follower_ ? follower_->stats() : binlog::follower_stats{}};
    }
    /// The follower, once streaming (null before).
    const binlog::follower* follower() const noexcept { return follower_ ? &*follower_ : nullptr; }

    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        if (phase_ == phase::decide) {
            auto d = decide(sink);
            if (!d) return d.error_value();
        }
        if (phase_ == phase::snapshot) {
            if (stop_.load()) return std::size_t{0};
            auto n = snap_.process(sink);
            if (!n || !snap_.finished()) return n;
            binlog::follower_options fo = opt_.follower;
            const binlog::position& s = *snap_.start();
            fo.stream.file = s.file;
            fo.stream.position = s.offset;
            if (!s.gtid.empty()) fo.stream.gtid = s.gtid;
            else fo.stream.gtid.reset();
            start_follower(fo);
            return n;
        }
        if (incr_) return incr_->process(*follower_, sink);
        return follower_->process(sink);
    }

    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& o = {}) {
        std::stop_callback on_stop(stop, [this] { this->stop(); });
        auto r = rowcast::run(*this, sink, stop, o);
        if (follower_ && !follower_->done()) {  // one more step publishes the follower's position
            follower_->stop();
            auto last = incr_ ? incr_->pass(*follower_, sink) : follower_->process(sink);
            if (r && !last) return last.error_value();
        }
        return r;
    }

private:
    enum class phase : std::uint8_t { decide, snapshot, stream };

    void start_follower(const binlog::follower_options& fo) {
        follower_.emplace(fo);
        follower_->reserve_sequence(snap_.last_sequence());  // sequence goes on increasing after the snapshot's rows
        if (stop_.load()) follower_->stop();
        phase_ = phase::stream;
    }

    template <class Sink>
    result<void> decide(Sink& sink) {
        std::optional<std::string> saved;
        if constexpr (transactional_sink<Sink>) {
            auto c = sink.load_cursor();
            if (!c) return c.error_value();
            saved = std::move(*c);
        } else {
            (void)sink;
        }
        bool take = false;
        if (saved && is_snapshot_cursor(*saved)) take = true;  // finish what was started, whatever the mode
        else if (!saved) take = opt_.mode != mode::never;
        else if (opt_.mode == mode::when_needed) {  // (without an incremental snapshot's part)
            auto p = binlog::parse_cursor(split_cursor(*saved).first, "the sink's saved cursor");
            if (!p) return p.error_value();
            auto purged = purged_file(p->file);
            if (!purged) return purged.error_value();
            take = *purged;
            if (take)
                rowcast::log(log_level::warning, "snapshot",
                             "the saved binlog file " + p->file + " is no longer on the server: taking a new snapshot");
        }
        if (take) {
            phase_ = phase::snapshot;
        } else {
            start_follower(opt_.follower);
        }
        return {};
    }

    // True when `file` is not among SHOW BINARY LOGS.
    result<bool> purged_file(const std::string& file) {
        auto c = mysql::connection::open(opt_.snapshot.connection, "snapshot");
        if (!c) return c.error_value();
        auto r = detail::snapshot::rows(*c, "SHOW BINARY LOGS", "SHOW BINARY LOGS");
        if (!r) return r.error_value();
        for (const auto& row : *r)
            if (!row.empty() && row[0] == file) return false;
        return true;
    }

    source_options opt_;
    initial_snapshot snap_;
    std::optional<binlog::follower> follower_;
    std::optional<incremental_snapshot> incr_;
    phase phase_ = phase::decide;
    std::atomic<bool> stop_{false};
};

}  // namespace snapshot
ROWCAST_NAMESPACE_END
