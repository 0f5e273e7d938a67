// rowcast/stats.hpp: one statistics model for every component.
//
// A component's statistics are named counters (monotonic since the object was
// opened: events delivered, retries…) and gauges (a current level: files pending,
// connected or not…). Each component's stats struct has a member
//     template <class V> void visit(V&& v) const     // v(const metric&) per value
// so one reader (a metrics endpoint, a status plugin, a test) reads every
// component the same way. Names are lowercase snake_case, unique within the
// component ("delivered", "quarantined"); the reader adds a prefix per component
// instance (stats_registry below does: "spool_reader.delivered").
//
//   rowcast::stats_registry reg;
//   reg.add("spool", [&r] { return r.stats(); });      // anything with visit()
//   reg.visit([](std::string_view prefix, const rowcast::metric& m) {
//       std::printf("%.*s_%.*s %lld\n", ...);
//   });
//
// Thread-safety: metric and the visit() members are plain reads of values; a
// stats_registry may be used from any thread (add/remove/visit are serialised);
// the snapshot functions it calls run on the visiting thread, so they must be
// safe to call there (the components' stats() accessors say whether they are).
#pragma once

#include <rowcast/version.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

enum class metric_kind { counter, gauge };

/// One value of a component's statistics.
struct metric {
    std::string_view name;  ///< snake_case, unique within its component
    metric_kind kind;
    std::int64_t value;     ///< counters never decrease; gauges go up and down
    std::string_view help;  ///< one line for people (may be empty)
    /// The value is in units of 10^-decimals of the name's unit: a lag kept in milliseconds
    /// is {"lag_seconds", gauge, 1500, …, 3} = 1.5 s. 0 for whole units (most metrics).
    int decimals = 0;
};

/// A type whose statistics can be visited: `s.visit(f)` calls f(const metric&) once per value.
template <class S>
concept visitable_stats = requires(const S& s, void (*f)(const metric&)) { s.visit(f); };

namespace detail {
inline metric counter(std::string_view name, std::uint64_t v, std::string_view help = {}) {
    return {name, metric_kind::counter, static_cast<std::int64_t>(v), help};
}
inline metric gauge(std::string_view name, std::int64_t v, std::string_view help = {}, int decimals = 0) {
    return {name, metric_kind::gauge, v, help, decimals};
}
}  // namespace detail

/// The statistics of several components under prefixes, read by one visitor.
class stats_registry {
public:
    using visitor = std::function<void(std::string_view prefix, const metric&)>;

    /// Registers `snapshot`, a callable returning a visitable_stats value, under `prefix`
    /// (e.g. "spool_reader", "follower"). Returns an id for remove().
    template <class F>
        requires visitable_stats<std::invoke_result_t<F&>>
    std::uint64_t add(std::string prefix, F snapshot) {
        std::lock_guard lock(mutex_);
        const std::uint64_t id = ++next_id_;
        entries_.push_back({id, std::move(prefix), [f = std::move(snapshot)](const std::string& p, const visitor& v) mutable {
                                const auto s = f();
                                s.visit([&](const metric& m) { v(p, m); });
                            }});
        return id;
    }

    /// Forgets the entry `id` (unknown ids are ignored).
    void remove(std::uint64_t id) {
        std::lock_guard lock(mutex_);
        std::erase_if(entries_, [id](const entry& e) { return e.id == id; });
    }

    /// Calls v(prefix, metric) for every value of every registered component, in registration order.
    void visit(const visitor& v) const {
        std::lock_guard lock(mutex_);
        for (const auto& e : entries_) e.read(e.prefix, v);
    }

private:
    struct entry {
        std::uint64_t id;
        std::string prefix;
        std::function<void(const std::string&, const visitor&)> read;
    };
    mutable std::mutex mutex_;
    std::vector<entry> entries_;
    std::uint64_t next_id_ = 0;
};

ROWCAST_NAMESPACE_END
