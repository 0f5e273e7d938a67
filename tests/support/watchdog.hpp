// Test support: code that must not block (opening a FIFO, a loop that must notice a stop) run
// in a forked child under a liveness guard. The child's exit status is the function's return
// value; a child still running after `guard` is killed (SIGKILL) and reported as hung, so a
// regression fails the test instead of hanging the suite. A guard, never a timed assertion:
// `guard` is far longer than the work takes.
//
// Fork only from a single-threaded test (as GoogleTest runs them). The child ends with _exit:
// no destructors, no GoogleTest output of its own.
#pragma once

#include <chrono>
#include <csignal>
#include <exception>
#include <functional>

#include <sys/wait.h>
#include <unistd.h>

namespace rowcast::test {

struct child_outcome {
    bool hung = false;  ///< still running after the guard: killed
    int status = -1;    ///< exit code, or 128 + signal number
};

inline child_outcome run_in_child(const std::function<int()>& fn, std::chrono::seconds guard = std::chrono::seconds(60)) {
    const pid_t pid = ::fork();
    if (pid < 0) return {false, -1};
    if (pid == 0) {
        int rc = 125;
        try {
            rc = fn();
        } catch (...) {
            rc = 126;
        }
        ::_exit(rc);
    }
    const auto until = std::chrono::steady_clock::now() + guard;
    child_outcome out;
    for (;;) {
        int st = 0;
        const pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            out.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            return out;
        }
        if (r < 0) return out;
        if (std::chrono::steady_clock::now() >= until) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &st, 0);
            out.hung = true;
            return out;
        }
        ::usleep(5000);
    }
}

}  // namespace rowcast::test
