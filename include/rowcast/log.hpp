// rowcast/log.hpp: the one logging hook every component writes through.
//
// A log record is a level, the component that wrote it ("spool", "binlog",
// "dns", "pipeline", a program's name…) and a message (one line, no trailing
// newline). Records below the minimum level are dropped before they are built
// (log_enabled()). By default records go to stderr as
//     rowcast <component> <level>: <message>
// set_log_sink() replaces that for the whole process (a program routes them to
// syslog or its own logger; a test captures them); set_log_sink({}) restores
// stderr. A component whose options carry its own `log_sink` uses that instead.
//
//   rowcast::set_log_level(rowcast::log_level::debug);
//   rowcast::set_log_sink([](rowcast::log_level l, std::string_view comp, std::string_view msg) {
//       my_logger.write(rowcast::to_string(l), comp, msg);
//   });
//
// Thread-safety: every function here may be called from any thread; the sink is
// called with no rowcast lock held, possibly from several threads at once (it
// must be thread-safe itself). Changing the sink while records are being written
// is safe: each record goes to the old or the new sink.
#pragma once

#include <rowcast/version.hpp>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

ROWCAST_NAMESPACE_BEGIN

/// Severity of a log record, lowest first.
enum class log_level { debug, info, warning, error };

/// "debug", "info", "warning", "error".
constexpr std::string_view to_string(log_level l) noexcept {
    switch (l) {
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warning: return "warning";
        case log_level::error: return "error";
    }
    return "unknown";
}

/// Receives log records: (level, component, message).
using log_sink = std::function<void(log_level, std::string_view component, std::string_view message)>;

namespace detail {
struct log_state {
    std::atomic<int> min_level{static_cast<int>(log_level::info)};
    std::mutex mutex;
    std::shared_ptr<const log_sink> sink;  // null: stderr
};
inline log_state& log_globals() {
    static log_state s;
    return s;
}
inline void log_to_stderr(log_level l, std::string_view component, std::string_view message) {
    const std::string_view level = to_string(l);
    std::fprintf(stderr, "rowcast %.*s %.*s: %.*s\n", static_cast<int>(component.size()), component.data(),
                 static_cast<int>(level.size()), level.data(), static_cast<int>(message.size()), message.data());
}
}  // namespace detail

/// Records below `l` are dropped (default: info).
inline void set_log_level(log_level l) noexcept {
    detail::log_globals().min_level.store(static_cast<int>(l), std::memory_order_relaxed);
}
inline log_level get_log_level() noexcept {
    return static_cast<log_level>(detail::log_globals().min_level.load(std::memory_order_relaxed));
}
/// True if a record of level `l` would be written (build expensive messages only then).
inline bool log_enabled(log_level l) noexcept { return static_cast<int>(l) >= static_cast<int>(get_log_level()); }

/// Routes every record (of every component without its own sink) to `sink`; an
/// empty function restores the default (stderr).
inline void set_log_sink(log_sink sink) {
    auto& g = detail::log_globals();
    std::shared_ptr<const log_sink> p = sink ? std::make_shared<const log_sink>(std::move(sink)) : nullptr;
    std::lock_guard lock(g.mutex);
    g.sink = std::move(p);
}

/// Writes one record through the process-wide sink (if `l` is enabled).
inline void log(log_level l, std::string_view component, std::string_view message) {
    if (!log_enabled(l)) return;
    auto& g = detail::log_globals();
    std::shared_ptr<const log_sink> sink;
    {
        std::lock_guard lock(g.mutex);
        sink = g.sink;
    }
    if (sink) (*sink)(l, component, message);
    else detail::log_to_stderr(l, component, message);
}

/// Writes one record through `own` if it is set (a component's option), else through log().
inline void log(const log_sink& own, log_level l, std::string_view component, std::string_view message) {
    if (!log_enabled(l)) return;
    if (own) own(l, component, message);
    else log(l, component, message);
}

ROWCAST_NAMESPACE_END
