// rowcast/daemon/systemd.hpp: service manager notifications through sd_notify
// (Debian: libsystemd-dev; component rowcast::daemon). Outside systemd (no
// $NOTIFY_SOCKET) every call does nothing.
//
//   rowcast::daemon::systemd::ready();                 // Type=notify: started
//   if (auto w = rowcast::daemon::systemd::watchdog_interval()) ...   // WatchdogSec=
//   rowcast::daemon::systemd::watchdog();              // at least every interval / 2
//   rowcast::daemon::systemd::stopping();
//
// Thread-safety: any thread.
#pragma once

#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <systemd/sd-daemon.h>

ROWCAST_NAMESPACE_BEGIN
namespace daemon::systemd {

/// Sends `state` ("READY=1", "STATUS=…"); false if not under systemd or it failed.
inline bool notify(const std::string& state) { return ::sd_notify(0, state.c_str()) > 0; }

inline bool ready() { return notify("READY=1"); }
inline bool reloading() { return notify("RELOADING=1"); }
inline bool stopping() { return notify("STOPPING=1"); }
inline bool watchdog() { return notify("WATCHDOG=1"); }
inline bool status(std::string_view text) { return notify("STATUS=" + std::string(text)); }

/// The watchdog interval systemd expects pings within (WatchdogSec=), if any.
inline std::optional<std::chrono::microseconds> watchdog_interval() {
    std::uint64_t usec = 0;
    if (::sd_watchdog_enabled(0, &usec) > 0) return std::chrono::microseconds(usec);
    return std::nullopt;
}

}  // namespace daemon::systemd
ROWCAST_NAMESPACE_END
