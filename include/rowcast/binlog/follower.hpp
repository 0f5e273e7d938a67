// rowcast/binlog/follower.hpp: follow a running server as a replica:
// stream (stream.hpp) -> parser -> handler, with the resume position, reconnects
// with bounded exponential backoff, dead-peer detection by heartbeats,
// checkpoints (checkpoint.hpp) and stop().
//
//   rowcast::binlog::follower_options o;
//   o.stream.connection = {.host = "db1", .port = 3306, .user = "repl", .password = pw};
//   o.stream.gtid = "0-1-100";          // or o.stream.file = "binlog.000042", o.stream.position = 4
//   rowcast::binlog::follower f(o);
//   auto r = f.run(my_handler, my_store);   // returns after f.stop(), or on a fatal error
//
// Positions and errors: see stream.hpp. The follower retries transport errors
// and server errors that mean "try again later" (1040, 1053, 1077, 1079,
// 1152-1161, 1317, 1927); everything else ends run().
//
// Thread-safety: run() runs on one thread; stop() may be called from any thread
// or a signal handler; current_position() and stats() from any thread.
#pragma once

#include <rowcast/backoff.hpp>
#include <rowcast/log.hpp>
#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/binlog/gtid.hpp>
#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/binlog/stream.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

// ---------------------------------------------------------------------------
// follower

/// When the follower saves its position to a checkpoint store. A save happens
/// after a transaction (or standalone DDL) whose callbacks succeeded when either
/// rule is due, and always when run() returns.
struct checkpoint_policy {
    std::uint64_t every_transactions = 1;        ///< save after this many transactions (0 = not by count)
    std::chrono::milliseconds every{0};          ///< save when this long has passed since the last save (0 = not by time)
};

struct follower_options {
    stream_options stream;   ///< server, credentials, start position (used when the store has none)
    parser_options parser;
    checkpoint_policy checkpoint;
    std::chrono::milliseconds backoff_initial{200};  ///< first wait before reconnecting
    std::chrono::milliseconds backoff_max{10000};    ///< the wait doubles up to this
    /// Consecutive failed connection attempts before run() gives up with the last
    /// error (0 = retry forever). A connection that delivered a transaction resets the count
    /// (and the backoff); events the server sends at every connect (ROTATE, FORMAT_DESCRIPTION,
    /// heartbeats) do not.
    unsigned max_retries = 0;
};

struct follower_stats {
    std::uint64_t connects = 0;        ///< successful connections (the first included)
    std::uint64_t reconnects = 0;      ///< connections after a loss
    std::uint64_t events = 0;          ///< events received (heartbeats included)
    std::uint64_t heartbeats = 0;
    std::uint64_t transactions = 0;    ///< transactions and standalone DDL handled
    std::uint64_t interrupted = 0;     ///< transactions reported as interrupted rollbacks
    std::uint64_t checkpoints = 0;     ///< successful store.save() / sink.publish() calls
    /// parser_options::hold_for_xid: transactions over hold_max_bytes, released before their XID (xid 0)
    std::uint64_t xid_unknown = 0;

    /// The counters as rowcast metrics (rowcast/stats.hpp).
    template <class V>
    void visit(V&& v) const {
        v(rowcast::detail::counter("connects", connects, "successful connections"));
        v(rowcast::detail::counter("reconnects", reconnects, "connections after a loss"));
        v(rowcast::detail::counter("events", events, "binlog events received, heartbeats included"));
        v(rowcast::detail::counter("heartbeats", heartbeats, "heartbeats received"));
        v(rowcast::detail::counter("transactions", transactions, "transactions and standalone DDL handled"));
        v(rowcast::detail::counter("interrupted", interrupted, "transactions cut by a lost connection"));
        v(rowcast::detail::counter("checkpoints", checkpoints, "positions saved or published"));
        v(rowcast::detail::counter("xid_unknown", xid_unknown, "transactions released before their XID (over the hold limit)"));
    }
};

/// No checkpoint store (run(h) without one).
struct no_checkpoint_store {
    result<std::optional<position>> load() { return std::optional<position>{}; }
    result<void> save(const position&) { return {}; }
};

/// Follows a server: stream -> parser -> handler, reconnecting after losses.
/// The handler sees each transaction once, whole, unless the connection breaks
/// inside it: then it gets rollback(t) with t.interrupted = true (rows of that
/// transaction already passed to it must be discarded), and the transaction is
/// delivered again whole after reconnecting, resuming from the last handled one.
class follower {
public:
    explicit follower(follower_options o) : opt_(std::move(o)), parser_(opt_.parser) {
        if (opt_.parser.hold_for_xid) src_.adapter.hold_for_xid(opt_.parser.hold_max_bytes);
        stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        stop_errno_ = stop_fd_ ? 0 : errno;
    }
    follower(const follower&) = delete;
    follower& operator=(const follower&) = delete;

    /// Runs until stop(), the end of the binlog (stream.stop_at_end), or a fatal error.
    template <class H>
        requires handler<H>
    result<void> run(H& h) {
        no_checkpoint_store none;
        return run(h, none);
    }

    /// Same, resuming from store.load() when it holds a position and saving to it
    /// according to follower_options::checkpoint. A failing save ends run() with its error.
    template <class H, checkpoint_store S>
        requires handler<H>
    result<void> run(H& h, S& store);

    /// Asks run() to return (after reporting a transaction in progress as interrupted and
    /// saving the checkpoint). Async-signal-safe; the follower stays stopped.
    void stop() noexcept {
        stop_.store(true);
        if (stop_fd_) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto n = ::write(stop_fd_.get(), &one, sizeof one);
        }
    }
    bool stop_requested() const noexcept { return stop_.load(); }

    /// Where a restart would resume (the last handled transaction's end, GTID state in GTID mode).
    position current_position() const {
        std::lock_guard<std::mutex> l(mu_);
        return pos_;
    }
    follower_stats stats() const {
        std::lock_guard<std::mutex> l(mu_);
        return stats_;
    }
    /// The last error that caused a reconnect (empty message if none).
    error last_error() const {
        std::lock_guard<std::mutex> l(mu_);
        return last_error_;
    }

    // ---- event_source (pipeline/source.hpp) -------------------------------------
    // The follower as a source for rowcast::run() or the caller's poll loop, feeding any
    // event_sink through an event_adapter. process(sink) connects when not connected
    // (blocking within connection.connect_timeout), then decodes the events the socket
    // has (it waits only for the rest of a packet it started, within the read timeout).
    // A failed connect or a lost connection is returned as the error (transient when
    // the server may come back: rowcast::run() logs it and retries after its backoff,
    // up to its max_attempts); the next process() connects again from the last handled
    // transaction. A transaction the connection broke inside is discarded by a
    // transactional_sink (discard()), or reported to a plain sink as a rollback event
    // whose cause is end_cause::interrupted; it is delivered again whole after the
    // reconnect. A sink error is treated the same way (the transaction is redelivered).
    // With a transactional_sink the follower starts from its load_cursor() (binlog
    // cursor: checkpoint.hpp to_cursor) and calls publish(to_cursor(position)) after
    // transactions per follower_options::checkpoint, and when stopped or done: each
    // transaction reaches the sink once, across restarts.
    // stop() or a stop_token ends it (done() turns true; run() returns success). After
    // rowcast::run(follower, sink, stop) returns on a stop, call process(sink) once more to
    // publish the last position (follower.run(sink, stop) does).

    /// The socket while connected; -1 otherwise (next_timeout() then says when to connect).
    int native_handle() const noexcept { return src_.conn ? src_.conn->native_handle() : -1; }

    /// Connected: time left before silence means a dead peer; disconnected: 0 (connect now).
    std::chrono::milliseconds next_timeout() const {
        if (src_.done) return std::chrono::milliseconds(-1);
        if (!src_.conn || src_.conn->buffered()) return std::chrono::milliseconds(0);
        const auto left = src_.last_data + dead_peer_after() - std::chrono::steady_clock::now();
        return std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(left));
    }

    /// True after stop(), at the end of the binlog with stream.stop_at_end, or after a
    /// permanent error.
    bool done() const noexcept { return src_.done || stop_requested(); }

    template <event_sink Sink>
    result<std::size_t> process(Sink& sink);

    /// Blocking: rowcast::run(*this, sink, stop, opt); stop_token and stop() both end it.
    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& opt = {}) {
        std::stop_callback on_stop(stop, [this] { this->stop(); });
        auto r = rowcast::run(*this, sink, stop, opt);
        if (!src_.done) {  // stopped between steps: one more step publishes the position and returns
            auto last = process(sink);
            if (r && !last) return last.error_value();
        }
        return r;
    }
    const parser_stats& decode_stats() const noexcept { return parser_.stats(); }
    /// Skips `n` sequence numbers after the event being delivered (parser::reserve_sequence):
    /// for a sink that inserts n events after it (the incremental snapshot's reads). Call it
    /// from that sink's write().
    void reserve_sequence(std::uint64_t n) noexcept { parser_.reserve_sequence(n); }

private:
    template <class H>
    struct tracker {
        follower& f;
        H& h;
        bool in_txn = false;
        std::uint32_t server_id = 0, timestamp = 0;

        result<void> begin(const txn_info& t) {
            in_txn = true;
            server_id = t.server_id;
            timestamp = t.timestamp;
            return invoke_callback([&] { return h.begin(t); });
        }
        result<void> commit(const txn_info& t) { return end(t, false); }
        result<void> rollback(const txn_info& t) { return end(t, true); }
        result<void> insert(const txn_info& t, const table_info& tb, image a) {
            return invoke_callback([&] { return h.insert(t, tb, a); });
        }
        result<void> delete_row(const txn_info& t, const table_info& tb, image b) {
            return invoke_callback([&] { return h.delete_row(t, tb, b); });
        }
        result<void> update_before(const txn_info& t, const table_info& tb, image b) {
            return invoke_callback([&] { return h.update_before(t, tb, b); });
        }
        result<void> update_after(const txn_info& t, const table_info& tb, image a) {
            return invoke_callback([&] { return h.update_after(t, tb, a); });
        }
        result<void> ddl(const txn_info& t, std::string_view schema, std::string_view stmt) {
            auto r = invoke_callback([&] { return h.ddl(t, schema, stmt); });
            if (r && !in_txn) f.on_boundary(t.gtid);
            return r;
        }
        result<void> end(const txn_info& t, bool rb) {
            auto r = rb ? invoke_callback([&] { return h.rollback(t); }) : invoke_callback([&] { return h.commit(t); });
            in_txn = false;
            if (r && !t.interrupted) f.on_boundary(t.gtid);
            return r;
        }
    };

    void on_boundary(std::string_view gtid) {
        std::lock_guard<std::mutex> l(mu_);
        pos_.file = parser_.file();
        if (cur_ && cur_->next_position != 0) pos_.offset = cur_->next_position;
        if (gtid_mode_ && !gtid.empty() && state_.add(gtid)) pos_.gtid = state_.str();
        ++stats_.transactions;
        ++unsaved_;
        ++boundaries_;
    }

    // The connection broke inside a transaction: the parser reports it as interrupted
    // (parser::interrupt) and forgets the connection's state.
    template <class H>
    result<void> interrupt(tracker<H>& t) {
        const bool open = t.in_txn || parser_.in_transaction();
        auto res = parser_.interrupt(t, current_position().offset);
        t.in_txn = false;
        if (open) {
            std::lock_guard<std::mutex> l(mu_);
            ++stats_.interrupted;
        }
        return res;
    }

    template <class S>
    result<void> save(S& store, bool force) {
        using clock = std::chrono::steady_clock;
        if (unsaved_ == 0) return {};
        const auto now = clock::now();
        const bool by_count = opt_.checkpoint.every_transactions > 0 && unsaved_ >= opt_.checkpoint.every_transactions;
        const bool by_time = opt_.checkpoint.every.count() > 0 && now - last_save_ >= opt_.checkpoint.every;
        if (!force && !by_count && !by_time) return {};
        auto r = store.save(current_position());
        if (!r) return r;
        unsaved_ = 0;
        last_save_ = now;
        std::lock_guard<std::mutex> l(mu_);
        ++stats_.checkpoints;
        return {};
    }

    // Waits the backoff's next delay before reconnecting; false if stop() was called meanwhile.
    bool wait_before_reconnect(rowcast::backoff& b) {
        pollfd p{stop_fd_.get(), POLLIN, 0};
        const int ms = static_cast<int>(b.next().value_or(opt_.backoff_max).count());
        rowcast::log(log_level::warning, "binlog",
                     last_error().message + "; reconnecting in " + std::to_string(ms) + " ms (try " +
                         std::to_string(b.attempts()) + ")");
        while (::poll(&p, 1, ms) < 0 && errno == EINTR) {
        }
        return !stop_requested();
    }

    // Counts a handled event; between transactions a ROTATE moves the resume point to the new file.
    void note_event(const raw_event& ev, const stream& s, bool in_txn) {
        std::lock_guard<std::mutex> l(mu_);
        ++stats_.events;
        stats_.heartbeats = heartbeats_before_ + s.heartbeats();
        stats_.xid_unknown = src_.adapter.xid_unknown();
        if (ev.type == static_cast<std::uint8_t>(event_type::rotate) && !in_txn && !s.next_file().empty() &&
            (pos_.file != s.next_file() || pos_.offset != s.position())) {
            pos_.file = s.next_file();
            pos_.offset = s.position();
            ++unsaved_;
        }
    }

    void note_error(const error& e) {
        std::lock_guard<std::mutex> l(mu_);
        last_error_ = e;
    }

    // The adapter's sink in event_source mode: forwards to the current process() call's sink.
    struct source_state;
    struct sink_forward {
        source_state* st;
        result<void> operator()(const event& e);
    };
    struct source_state {
        source_state() : adapter(sink_forward{this}) {}
        source_state(const source_state&) = delete;
        source_state& operator=(const source_state&) = delete;
        bool started = false;
        bool done = false;
        bool sink_failed = false;
        std::optional<stream> conn;
        std::chrono::steady_clock::time_point last_data{};
        std::function<result<void>(const event&)> out;
        event_adapter<sink_forward> adapter;
    };

    std::chrono::milliseconds dead_peer_after() const {
        if (opt_.stream.heartbeat_period.count() > 0)
            return opt_.stream.heartbeat_period * std::max(1u, opt_.stream.heartbeat_misses);
        return opt_.stream.connection.read_timeout.count() > 0 ? opt_.stream.connection.read_timeout
                                                                 : std::chrono::milliseconds(60000);
    }

    result<void> start_position() {
        {
            std::lock_guard<std::mutex> l(mu_);
            pos_ = position{opt_.stream.file, opt_.stream.position, opt_.stream.gtid.value_or("")};
        }
        gtid_mode_ = opt_.stream.gtid.has_value();
        return {};
    }
    // The options name where to start (a file, or a GTID state): worth saving before the first transaction.
    bool has_start_position() const {
        std::lock_guard<std::mutex> l(mu_);
        return !pos_.file.empty() || !pos_.gtid.empty();
    }
    result<void> adopt_position(const position& p) {
        {
            std::lock_guard<std::mutex> l(mu_);
            pos_ = p;
        }
        if (!p.gtid.empty()) gtid_mode_ = true;
        return {};
    }
    result<void> load_gtid_state() {
        auto g = gtid_state::parse(current_position().gtid);
        if (!g) return g.error_value();
        state_ = std::move(*g);
        return {};
    }
    stream_options resume_options() const {
        stream_options so = opt_.stream;
        std::lock_guard<std::mutex> l(mu_);
        so.file = pos_.file;
        so.position = pos_.offset;
        if (gtid_mode_) so.gtid = pos_.gtid;
        else so.gtid.reset();
        return so;
    }

    source_state src_;
    follower_options opt_;
    parser parser_;
    detail::unique_fd stop_fd_;
    int stop_errno_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    position pos_;                       // guarded by mu_
    follower_stats stats_;               // guarded by mu_
    error last_error_;                   // guarded by mu_
    gtid_state state_;
    bool gtid_mode_ = false;
    const raw_event* cur_ = nullptr;
    std::uint64_t unsaved_ = 0;
    std::uint64_t boundaries_ = 0;  // transactions handled since construction (run() thread only)
    std::uint64_t heartbeats_before_ = 0;  // heartbeats of earlier connections
    std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
};

template <class H, checkpoint_store S>
    requires handler<H>
result<void> follower::run(H& h, S& store) {
    if (!stop_fd_) return detail::os_error(stop_errno_, "binlog", "follower", "eventfd failed");
    {
        std::lock_guard<std::mutex> l(mu_);
        pos_ = position{opt_.stream.file, opt_.stream.position, opt_.stream.gtid.value_or("")};
    }
    gtid_mode_ = opt_.stream.gtid.has_value();
    auto loaded = store.load();
    if (!loaded) return loaded.error_value();
    if (*loaded) {
        std::lock_guard<std::mutex> l(mu_);
        pos_ = **loaded;
        if (!pos_.gtid.empty()) gtid_mode_ = true;
    }
    {
        auto g = gtid_state::parse(pos_.gtid);
        if (!g) return g.error_value();
        state_ = std::move(*g);
    }
    if (!*loaded && has_start_position()) {  // saved before anything else: a stop before the first transaction keeps it
        auto sv = store.save(current_position());
        if (!sv) return sv;
    }
    tracker<H> t{*this, h};
    auto finish = [&](result<void> r) -> result<void> {
        auto s = save(store, true);
        if (!r) return r;
        return s;
    };
    rowcast::backoff wait({.initial = opt_.backoff_initial, .max = opt_.backoff_max});
    unsigned failures = 0;
    while (!stop_requested()) {
        stream_options so = opt_.stream;
        {
            std::lock_guard<std::mutex> l(mu_);
            so.file = pos_.file;
            so.position = pos_.offset;
            if (gtid_mode_) so.gtid = pos_.gtid;
            else so.gtid.reset();
        }
        stream s;
        auto c = s.connect(so, stop_fd_.get());
        if (!c) {
            if (s.stop_requested() || stop_requested()) break;
            if (!s.retryable() || (opt_.max_retries > 0 && ++failures >= opt_.max_retries)) return finish(c.error_value());
            note_error(c.error_value());
            if (!wait_before_reconnect(wait)) break;
            continue;
        }
        {
            std::lock_guard<std::mutex> l(mu_);
            if (++stats_.connects > 1) ++stats_.reconnects;
        }
        parser_.reset();
        t.in_txn = false;
        raw_event ev;
        for (;;) {
            auto n = s.next(ev);
            if (!n) {
                auto ir = interrupt(t);
                parser_.reset();
                if (!ir) return finish(ir);
                if (s.stop_requested() || stop_requested()) return finish({});
                if (!s.retryable()) return finish(n.error_value());
                note_error(n.error_value());
                if (opt_.max_retries > 0 && ++failures >= opt_.max_retries) return finish(n.error_value());
                if (!wait_before_reconnect(wait)) return finish({});
                break;
            }
            if (!*n) {  // end of the binlog (stop_at_end)
                auto ir = interrupt(t);
                return finish(ir);
            }
            if (parser_.file() != s.file()) parser_.set_file(s.file());
            cur_ = &ev;
            const std::uint64_t boundaries = boundaries_;
            auto r = parser_.feed(ev, t);
            cur_ = nullptr;
            if (!r) return finish(r);
            if (boundaries_ != boundaries) {  // progress: a transaction handled (not just ROTATE/FDE/heartbeats)
                failures = 0;
                wait.reset();
            }
            note_event(ev, s, t.in_txn);
            auto sv = save(store, false);
            if (!sv) return sv;
            if (stop_requested()) {  // data may flow without a pause in which a wait would see the stop
                auto ir = interrupt(t);
                parser_.reset();
                return finish(ir);
            }
        }
        heartbeats_before_ += s.heartbeats();
    }
    return finish({});
}


inline result<void> follower::sink_forward::operator()(const event& e) {
    if (!st->out) return error::make(errc::unsupported, "binlog", "follower", "no sink (process() is not running)");
    auto r = st->out(e);
    if (!r) st->sink_failed = true;
    return r;
}

template <event_sink Sink>
result<std::size_t> follower::process(Sink& sink) {
    auto& S = src_;
    if (!stop_fd_) return detail::os_error(stop_errno_, "binlog", "follower", "eventfd failed");
    if (S.done) return std::size_t{0};
    if (!S.started) {
        (void)start_position();
        if constexpr (transactional_sink<Sink>) {
            auto c = sink.load_cursor();
            if (!c) return c.error_value();
            if (*c) {
                auto p = parse_cursor(**c, "the sink's saved cursor");
                if (!p) return p.error_value();
                (void)adopt_position(*p);
            } else if (has_start_position()) {
                // Saved before anything else: a stop before the first transaction keeps the start
                // (with a start "at the server's current end", the next start would skip what came between).
                if (auto pr = sink.publish(to_cursor(current_position())); !pr) return pr.error_value();
                std::lock_guard<std::mutex> l(mu_);
                ++stats_.checkpoints;
            }
        }
        if (auto g = load_gtid_state(); !g) return g.error_value();
        S.started = true;
    }
    std::size_t delivered = 0;
    S.out = [&](const event& e) -> result<void> {
        auto r = sink.write(e);
        if (r) ++delivered;
        return r;
    };
    struct out_reset {
        source_state& s;
        ~out_reset() { s.out = nullptr; }
    } reset_out{S};
    tracker<event_adapter<sink_forward>> t{*this, S.adapter};
    t.in_txn = parser_.in_transaction();

    // Publishes the position to a transactional sink (per the policy, or always when `force`).
    auto publish = [&](bool force) -> result<void> {
        if constexpr (transactional_sink<Sink>) {
            using clock = std::chrono::steady_clock;
            if (unsaved_ == 0) return {};
            const auto now = clock::now();
            const bool by_count = opt_.checkpoint.every_transactions > 0 && unsaved_ >= opt_.checkpoint.every_transactions;
            const bool by_time = opt_.checkpoint.every.count() > 0 && now - last_save_ >= opt_.checkpoint.every;
            if (!force && !by_count && !by_time) return {};
            if (auto r = sink.publish(to_cursor(current_position())); !r) return r;
            unsaved_ = 0;
            last_save_ = now;
            std::lock_guard<std::mutex> l(mu_);
            ++stats_.checkpoints;
        }
        return {};
    };
    // The connection is gone (or the sink refused an event): the open transaction is
    // discarded or reported interrupted, the next process() reconnects from pos_.
    auto lose = [&](const error& why) -> result<void> {
        if (S.conn) heartbeats_before_ += S.conn->heartbeats();
        S.conn.reset();
        note_error(why);
        if constexpr (transactional_sink<Sink>) {
            const bool open = parser_.in_transaction();
            parser_.reset();
            (void)S.adapter.finish();
            if (open) {
                std::lock_guard<std::mutex> l(mu_);
                ++stats_.interrupted;
            }
            return sink.discard();
        } else {
            S.sink_failed = false;
            auto r = interrupt(t);
            if (!r && S.sink_failed) return {};  // the sink still refuses: its error is the one returned
            return r;
        }
    };
    auto finish = [&](result<void> r) -> result<std::size_t> {
        S.done = true;
        auto p = publish(true);
        if (!r) return r.error_value();
        if (!p) return p.error_value();
        return delivered;
    };

    if (stop_requested()) return finish({});
    if (!S.conn) {
        stream s;
        auto c = s.connect(resume_options(), stop_fd_.get());
        if (!c) {
            if (s.stop_requested() || stop_requested()) return finish({});
            note_error(c.error_value());
            const error& e = c.error_value();
            if (!s.retryable()) {
                S.done = true;
                return error{make_error_code(errc::refused), e.message};  // not transient: run() stops
            }
            if (is_transient(e)) return e;
            return error{make_error_code(errc::unavailable), e.message};  // a server error meaning "try later"
        }
        {
            std::lock_guard<std::mutex> l(mu_);
            if (++stats_.connects > 1) ++stats_.reconnects;
        }
        parser_.reset();
        t.in_txn = false;
        S.conn.emplace(std::move(s));
        S.last_data = std::chrono::steady_clock::now();
    }
    raw_event ev;
    for (std::size_t budget = 4096; budget > 0; --budget) {
        stream& s = *S.conn;
        pollfd p{s.native_handle(), POLLIN, 0};
        const int rc = s.buffered() ? 1 : ::poll(&p, 1, 0);  // TLS: decrypted bytes poll(2) cannot see
        if (rc < 0 && errno != EINTR) return detail::os_error(errno, "binlog", "follower", "poll failed");
        if (rc <= 0) {
            if (std::chrono::steady_clock::now() - S.last_data >= dead_peer_after()) {
                const error e = error::make(errc::unavailable, "binlog", s.file(),
                                            "no data and no heartbeat from the server for " +
                                                std::to_string(dead_peer_after().count()) + " ms: connection lost");
                if (auto l = lose(e); !l) return l.error_value();
                return e;
            }
            break;
        }
        auto n = s.next(ev);
        if (!n) {
            const bool stopping = s.stop_requested() || stop_requested();
            const bool retry = s.retryable();
            const error e = n.error_value();
            if (auto l = lose(e); !l) return l.error_value();
            if (stopping) return finish({});
            if (!retry) {
                S.done = true;
                return error{make_error_code(errc::refused), e.message};
            }
            if (is_transient(e)) return e;
            return error{make_error_code(errc::unavailable), e.message};
        }
        if (!*n) {  // the end of the binlog (stop_at_end)
            auto l = lose(error::make(errc::unavailable, "binlog", s.file(), "end of the binlog"));
            return finish(l);
        }
        S.last_data = std::chrono::steady_clock::now();
        if (parser_.file() != s.file()) parser_.set_file(s.file());
        cur_ = &ev;
        const std::uint64_t boundaries = boundaries_;
        auto r = parser_.feed(ev, t);
        cur_ = nullptr;
        if (!r) {
            if (S.sink_failed) {  // redelivered whole after a reconnect
                S.sink_failed = false;
                const error e = r.error_value();
                if (auto l = lose(e); !l) return l.error_value();
                return e;
            }
            S.done = true;
            return finish(r);
        }
        note_event(ev, s, t.in_txn);
        if (boundaries_ != boundaries) {
            if (auto pr = publish(false); !pr) return pr.error_value();
        }
    }
    return delivered;
}

}  // namespace binlog
ROWCAST_NAMESPACE_END
