// rowcast/pipeline/sink.hpp: what every producer (a place events are written to)
// looks like, so that any source can feed any sink through rowcast::run().
//
// event_sink: write one event, write a batch, flush.
//     s.write(const event&)              -> result<void>
//     s.write(std::span<const event>)    -> result<void>   (all or, on error, a prefix: see below)
//     s.flush()                          -> result<void>   (what was written is where it goes)
// A write that fails has not consumed its event: the caller keeps it and tries
// again (rowcast::run() does, after a backoff, when the error is transient:
// rowcast::is_transient) or stops. A failed batch write may have taken a prefix
// of the batch; sinks that can say how much implement write_some() (below).
//
// transactional_sink: an event_sink whose writes are *staged* and become
// visible to consumers together, with an opaque resume cursor, in one atomic step:
//     s.load_cursor()                    -> result<std::optional<std::string>>
//     s.publish(std::string_view cursor) -> result<void>
//     s.discard()                        -> result<void>
// Group ends: a commit, a rollback, or a DDL event outside a transaction (a
// begin opens a transaction). publish(c) makes every staged event up to the last
// group end visible and stores `c` with them atomically: after a crash at any
// instant either both are there or neither. Events after the last group end (a
// transaction in progress) stay staged. `c` must be the source's resume point
// right after that last group end. discard() drops the events staged after the
// last group end (the source lost that transaction midway and will deliver it
// again whole). load_cursor() is the cursor stored by the last publish, also
// across restarts (open() of the sink recovers what a crash left staged); nullopt
// if nothing was ever published. With a source that resumes from it (the binlog
// follower) this gives exactly-once delivery.
//
// Thread-safety: a sink is used by one thread at a time unless its own header
// says otherwise.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

ROWCAST_NAMESPACE_BEGIN

template <class S>
concept event_sink = requires(S& s, const event& e, std::span<const event> batch) {
    { s.write(e) } -> std::same_as<result<void>>;
    { s.write(batch) } -> std::same_as<result<void>>;
    { s.flush() } -> std::same_as<result<void>>;
};

template <class S>
concept transactional_sink = event_sink<S> && requires(S& s, std::string_view cursor) {
    { s.load_cursor() } -> std::same_as<result<std::optional<std::string>>>;
    { s.publish(cursor) } -> std::same_as<result<void>>;
    { s.discard() } -> std::same_as<result<void>>;
};

/// True for the events that end a group (see the top of this header) given whether a
/// transaction is open; updates `in_txn`.
inline bool ends_group(const event& e, bool& in_txn) noexcept {
    switch (e.kind) {
        case event_kind::begin: in_txn = true; return false;
        case event_kind::commit:
        case event_kind::rollback: in_txn = false; return true;
        case event_kind::ddl: return !in_txn;
        default: return false;
    }
}

/// Writes `batch` to `sink` one event at a time (for sinks whose batch write is no
/// faster than single writes). Returns the first error; `written` says how many went.
template <class Sink>
result<void> write_each(Sink& sink, std::span<const event> batch, std::size_t* written = nullptr) {
    std::size_t n = 0;
    for (const event& e : batch) {
        if (auto r = sink.write(e); !r) {
            if (written) *written = n;
            return r;
        }
        ++n;
    }
    if (written) *written = n;
    return {};
}

namespace detail {
/// The one place a callback's return becomes a result<void>: calls f(a...); void is
/// success, bool false a failure ("[rowcast.<component>.unsupported] <who>: returned
/// false"), result<void> is taken as it is. Exceptions pass through.
template <class F, class... A>
result<void> call_to_result(std::string_view component, std::string_view who, F&& f, A&&... a) {
    using R = std::invoke_result_t<F&&, A...>;
    if constexpr (std::is_void_v<R>) {
        std::invoke(std::forward<F>(f), std::forward<A>(a)...);
        return {};
    } else if constexpr (std::is_same_v<R, bool>) {
        if (std::invoke(std::forward<F>(f), std::forward<A>(a)...)) return {};
        return error::make(errc::unsupported, component, who, "returned false");
    } else {
        static_assert(std::is_same_v<R, result<void>>, "a callback returns void, bool or rowcast::result<void>");
        return std::invoke(std::forward<F>(f), std::forward<A>(a)...);
    }
}

/// call_to_result() for user code that may throw: an exception is a failure whose
/// message is what(); `who` names the callback in messages.
template <class F, class... A>
result<void> invoke_to_result(std::string_view component, std::string_view who, F& f, A&&... a) {
    try {
        return call_to_result(component, who, f, std::forward<A>(a)...);
    } catch (const std::exception& ex) {
        return error::make(errc::unsupported, component, who, std::string("threw: ") + ex.what());
    } catch (...) {
        return error::make(errc::unsupported, component, who, "threw a non-standard exception");
    }
}
}  // namespace detail

/// An event_sink over a callable: F(const event&) or F(std::span<const event>), returning
/// void, bool or result<void> (see detail::invoke_to_result). A callable taking spans
/// gets single events as one-element spans; one taking events gets batches one by one.
///
///   auto print = rowcast::callback_sink([](const rowcast::event& e) { std::puts(e.table.c_str()); });
template <class F>
    requires std::invocable<F&, const event&> || std::invocable<F&, std::span<const event>>
class callback_sink {
public:
    explicit callback_sink(F f) : f_(std::move(f)) {}

    result<void> write(const event& e) {
        if constexpr (std::invocable<F&, const event&>) return detail::invoke_to_result("pipeline", "sink callback", f_, e);
        else return detail::invoke_to_result("pipeline", "sink callback", f_, std::span<const event>(&e, 1));
    }
    result<void> write(std::span<const event> batch) {
        if constexpr (std::invocable<F&, std::span<const event>>)
            return detail::invoke_to_result("pipeline", "sink callback", f_, batch);
        else return write_each(*this, batch);
    }
    result<void> flush() { return {}; }

    F& callback() noexcept { return f_; }

private:
    F f_;
};

template <class F>
callback_sink(F) -> callback_sink<F>;

/// A reference to a sink, itself a sink (to hand a sink that must outlive the call to
/// something that takes sinks by value).
template <event_sink S>
class sink_ref {
public:
    explicit sink_ref(S& s) noexcept : s_(&s) {}
    result<void> write(const event& e) { return s_->write(e); }
    result<void> write(std::span<const event> b) { return s_->write(b); }
    result<void> flush() { return s_->flush(); }
    S& get() const noexcept { return *s_; }

private:
    S* s_;
};

ROWCAST_NAMESPACE_END
