// rowcast/pipeline/source.hpp: what every consumer of a change stream (a place
// events come from) looks like, for the caller's poll/epoll loop and for
// rowcast::run().
//
// event_source (checked against any event_sink; event_source_for<S, Sink> for one):
//     s.native_handle()  -> int                 a descriptor that becomes readable when
//                                               process() has work; -1 if the source has
//                                               none (next_timeout() alone drives it)
//     s.next_timeout()   -> std::chrono::milliseconds
//                                               how long the caller may wait before calling
//                                               process() even if the descriptor stays
//                                               quiet: 0 = now, -1 = no deadline
//     s.process(sink)    -> result<std::size_t> a step: delivers the events that are ready
//                                               to `sink` and returns how many. It does not
//                                               wait for new input (a source documents any
//                                               bounded wait, e.g. the rest of a packet it
//                                               started reading)
//     s.done()           -> bool                no event will ever come again (the end of
//                                               the files given, stop-at-end reached)
//     s.run(sink, stop)  -> result<void>        blocking: rowcast::run(s, sink, stop)
//
// Errors from process(): the source could not go on, or the sink refused an event
// (the sink's error is returned as it is). Either way nothing was consumed that was
// not delivered: calling process() again retries from the same event. Whether to
// retry is the caller's choice; rowcast::run() retries transient errors
// (rowcast::is_transient) after a backoff and stops on the others.
//
// Thread-safety: one thread at a time per source unless its header says otherwise.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <span>
#include <stop_token>

ROWCAST_NAMESPACE_BEGIN

namespace detail {
/// The least event_sink: what event_source is checked against.
struct archetype_sink {
    result<void> write(const event&) { return {}; }
    result<void> write(std::span<const event>) { return {}; }
    result<void> flush() { return {}; }
};
}  // namespace detail

template <class S, class Sink>
concept event_source_for =
    event_sink<Sink> && requires(S& s, const S& cs, Sink& sink, std::stop_token stop) {
        { cs.native_handle() } -> std::convertible_to<int>;
        { cs.next_timeout() } -> std::convertible_to<std::chrono::milliseconds>;
        { cs.done() } -> std::convertible_to<bool>;
        { s.process(sink) } -> std::same_as<result<std::size_t>>;
        { s.run(sink, stop) } -> std::same_as<result<void>>;
    };

template <class S>
concept event_source = event_source_for<S, detail::archetype_sink>;

ROWCAST_NAMESPACE_END
