// rowcast/pipeline/run.hpp: run(source, sink, stop): the one loop that moves
// events from any event_source to any event_sink.
//
//   auto reader = rowcast::spool_reader<rowcast::json_codec>::open({.directory = dir}).value();
//   auto out = rowcast::stream_sink(stdout, rowcast::json_codec{});
//   std::stop_source stop;                      // stop.request_stop() from a signal thread
//   rowcast::result<void> r = rowcast::run(reader, out, stop.get_token());
//
// The loop: process(sink); if the source is done(), stop; otherwise wait (poll)
// for the source's descriptor, its next_timeout() or the stop request, and go
// again. The same for every pair:
//   - failures: an error from process() (the source's own or the sink's, which the
//     source returns without consuming the event) that is transient
//     (rowcast::is_transient) is logged and retried after the backoff of
//     run_options::retry (reset by the next step that delivers an event); when
//     retry.max_attempts consecutive tries have failed, or the error is permanent,
//     run() returns it. Nothing is skipped: the event that failed is the next one tried;
//   - back-pressure: a sink that cannot take more returns a transient error
//     (errc::unavailable) and is retried the same way, so a slow sink slows the
//     source down instead of losing events;
//   - the end: on stop, on done() and on a returned error, the sink is flushed
//     (a flush error is returned if nothing else was).
// run() returns success when stopped or when the source is done.
//
// Thread-safety: run() uses the source and the sink on the calling thread only;
// `stop` may be requested from any thread (or from a signal handler through a
// std::stop_source that the handler itself does not touch: request it from a thread
// that waits on a self-pipe or sigwait()).
#pragma once

#include <rowcast/backoff.hpp>
#include <rowcast/error.hpp>
#include <rowcast/log.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/pipeline/source.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN

struct run_options {
    /// Waits between retries of a transient failure; max_attempts bounds consecutive
    /// failed tries (0 = retry forever).
    backoff_policy retry{.initial = std::chrono::milliseconds(100), .max = std::chrono::milliseconds(30000)};
    /// Longest single wait when the source gives neither a descriptor nor a deadline.
    std::chrono::milliseconds idle_poll{1000};
    log_sink log;  ///< default: rowcast::log (component "pipeline")
};

/// Counters of one run() call (pass a pointer to read them while it runs from the same thread,
/// or after it returns).
struct run_stats {
    std::uint64_t steps = 0;      ///< process() calls
    std::uint64_t events = 0;     ///< events the source reported delivered
    std::uint64_t retries = 0;    ///< transient failures retried
    std::uint64_t failures = 0;   ///< process() errors (retried or not)

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("steps", steps, "process() calls"));
        v(detail::counter("events", events, "events delivered to the sink"));
        v(detail::counter("retries", retries, "transient failures retried after a backoff"));
        v(detail::counter("failures", failures, "process() errors, retried or not"));
    }
};

namespace detail {
// Waits until `fd` is readable, `wake` is readable, or `timeout` passes (-1: none; capped
// by `idle` when fd is -1 too). EINTR ends the wait early (the caller loops anyway).
inline result<void> wait_for(int fd, int wake, std::chrono::milliseconds timeout, std::chrono::milliseconds idle) {
    pollfd fds[2] = {{wake, POLLIN, 0}, {fd, POLLIN, 0}};
    const nfds_t n = fd >= 0 ? 2 : 1;
    std::int64_t ms = timeout.count();
    if (ms < 0 && fd < 0) ms = idle.count();
    if (ms > 60000) ms = 60000;  // re-check the world at least once a minute
    if (::poll(fds, n, static_cast<int>(ms)) < 0 && errno != EINTR)
        return os_error(errno, "pipeline", "poll", "cannot wait for the source");
    return {};
}
}  // namespace detail

/// Moves events from `source` to `sink` until `stop` is requested, the source is done,
/// or a failure that is not retried (see the top of this header).
template <class Source, event_sink Sink>
    requires event_source_for<Source, Sink>
result<void> run(Source& source, Sink& sink, std::stop_token stop, const run_options& opt = {},
                 run_stats* stats = nullptr) {
    run_stats local;
    run_stats& st = stats ? *stats : local;
    detail::unique_fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake) return detail::os_error(errno, "pipeline", "eventfd", "cannot create the stop descriptor");
    std::stop_callback on_stop(stop, [fd = wake.get()] {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(fd, &one, sizeof one);
    });
    backoff retry(opt.retry);
    auto finish = [&](result<void> r) -> result<void> {
        auto f = sink.flush();
        if (r && !f) return f;
        return r;
    };
    while (!stop.stop_requested()) {
        ++st.steps;
        auto r = source.process(sink);
        if (!r) {
            ++st.failures;
            const error& e = r.error_value();
            if (!is_transient(e)) return finish(e);
            const auto wait = retry.next();
            if (!wait) {
                log(opt.log, log_level::error, "pipeline",
                    e.message + "; giving up after " + std::to_string(retry.attempts()) + " tries");
                return finish(e);
            }
            ++st.retries;
            log(opt.log, log_level::warning, "pipeline",
                e.message + "; retrying in " + std::to_string(wait->count()) + " ms (try " +
                    std::to_string(retry.attempts()) + ")");
            if (auto w = detail::wait_for(-1, wake.get(), *wait, *wait); !w) return finish(w);
            continue;
        }
        if (*r > 0) {
            st.events += *r;
            retry.reset();
        }
        if (source.done()) break;
        if (auto w = detail::wait_for(source.native_handle(), wake.get(), source.next_timeout(), opt.idle_poll); !w)
            return finish(w);
    }
    return finish({});
}

ROWCAST_NAMESPACE_END
