// rowcast/os/signals.hpp: SIGTERM/SIGINT (and SIGHUP when asked for) taken on a thread of
// their own with sigwait instead of in a signal handler: the one signal service of the
// programs (rowcastd, rowcast-binlog, rowcast-dns, …).
//
//   std::stop_source stop;
//   rowcast::os::signal_thread signals({.on_stop = [&] { stop.request_stop(); },
//                                       .on_reload = [&] { reload(); }});
//
// Construct it before any other thread: the signals are blocked in the constructing
// thread, and threads started later inherit the mask, so no other thread takes them.
// SIGTERM and SIGINT call on_stop; SIGHUP calls on_reload when one is given (without one,
// SIGHUP keeps its default action). on_tick, when given, runs every `tick` (> 0) on the
// same thread, e.g. for an idle timeout.
// The destructor ends and joins the thread promptly (a SIGTERM directed at that thread,
// which takes it without calling on_stop) and leaves the signals blocked: the program is
// ending, and a SIGTERM that arrives during its teardown must not kill it by the default
// action (exit status 143 instead of 0).
//
// Thread-safety: the callbacks run on the signal thread, one at a time.
#pragma once

#include <rowcast/version.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <functional>
#include <thread>

#include <pthread.h>
#include <signal.h>

ROWCAST_NAMESPACE_BEGIN
namespace os {

class signal_thread {
public:
    struct handlers {
        std::function<void()> on_stop;    ///< SIGTERM, SIGINT
        std::function<void()> on_reload;  ///< SIGHUP; empty: SIGHUP is left alone
        std::function<void()> on_tick;    ///< every `tick`; empty: none
        std::chrono::milliseconds tick{100};
    };

    explicit signal_thread(handlers h) : h_(std::move(h)) {
        sigemptyset(&set_);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGINT);
        if (h_.on_reload) sigaddset(&set_, SIGHUP);
        ::pthread_sigmask(SIG_BLOCK, &set_, nullptr);
        thread_ = std::thread([this] { loop(); });
    }
    signal_thread(const signal_thread&) = delete;
    signal_thread& operator=(const signal_thread&) = delete;
    ~signal_thread() {
        done_.store(true);
        ::pthread_kill(thread_.native_handle(), SIGTERM);  // taken by the thread itself (blocked there)
        thread_.join();
    }

private:
    void loop() {
        const bool ticking = static_cast<bool>(h_.on_tick) && h_.tick.count() > 0;
        const auto ms = ticking ? h_.tick.count() : 0;
        const timespec tick{static_cast<std::time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
        while (!done_.load()) {
            int sig = 0;
            if (ticking) {
                sig = ::sigtimedwait(&set_, nullptr, &tick);
                if (sig <= 0) {  // timeout (or EINTR)
                    if (!done_.load()) h_.on_tick();
                    continue;
                }
            } else if (::sigwait(&set_, &sig) != 0) {
                continue;
            }
            if (done_.load()) return;
            if (sig == SIGHUP) {
                h_.on_reload();
            } else if (h_.on_stop) {
                h_.on_stop();
            }
        }
    }

    handlers h_;
    sigset_t set_{};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace os
ROWCAST_NAMESPACE_END
