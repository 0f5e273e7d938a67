// rowcast/daemon/signals.hpp: SIGTERM/SIGINT and SIGHUP for a daemon, handled on
// a thread of their own (sigwait) instead of in a signal handler.
//
//   std::stop_source stop;
//   rowcast::daemon::signal_thread signals({.on_stop = [&] { stop.request_stop(); },
//                                           .on_reload = [&] { reload(); }});
//   // construct it before any other thread: the signals are blocked in the
//   // constructing thread, and threads started later inherit the mask.
//
// SIGTERM and SIGINT call on_stop, SIGHUP calls on_reload, on the signal thread.
// The destructor stops the thread (and unblocks nothing: the process is ending).
//
// Thread-safety: the callbacks run on the signal thread.
#pragma once

#include <rowcast/version.hpp>

#include <csignal>
#include <functional>
#include <thread>

#include <pthread.h>
#include <signal.h>

ROWCAST_NAMESPACE_BEGIN
namespace daemon {

class signal_thread {
public:
    struct handlers {
        std::function<void()> on_stop;
        std::function<void()> on_reload;
    };

    explicit signal_thread(handlers h) : h_(std::move(h)) {
        sigemptyset(&set_);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGHUP);
        sigaddset(&set_, SIGUSR2);  // ends the thread
        ::pthread_sigmask(SIG_BLOCK, &set_, nullptr);
        thread_ = std::thread([this] {
            for (;;) {
                int sig = 0;
                if (::sigwait(&set_, &sig) != 0) continue;
                if (sig == SIGUSR2) return;
                if (sig == SIGHUP) {
                    if (h_.on_reload) h_.on_reload();
                } else if (h_.on_stop) {
                    h_.on_stop();
                }
            }
        });
    }
    signal_thread(const signal_thread&) = delete;
    signal_thread& operator=(const signal_thread&) = delete;
    ~signal_thread() {
        ::pthread_kill(thread_.native_handle(), SIGUSR2);
        thread_.join();
    }

private:
    handlers h_;
    sigset_t set_{};
    std::thread thread_;
};

}  // namespace daemon
ROWCAST_NAMESPACE_END
