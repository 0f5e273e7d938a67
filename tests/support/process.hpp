// Test support: child processes for the server harnesses and end-to-end tests.
//
// `process::start(spec)` runs a program (posix_spawn, i.e. fork/exec) with
//   - argv[0] as the path of the executable (no PATH search),
//   - the test's environment plus `spec.env` entries ("NAME=value"; a later entry wins),
//   - stdin from /dev/null, stdout appended to `spec.stdout_file` and stderr to
//     `spec.stderr_file` (empty: the same file as stdout; both empty: /dev/null).
// It throws std::runtime_error when the program cannot be started.
//
// The object owns the child: signal() sends a signal, running() reaps it
// without blocking, wait() blocks, wait_for(deadline) waits at most that long
// (a liveness guard for tests, never a timed assertion), stop() sends SIGTERM
// (or another signal) and SIGKILL after a grace period. The destructor stops and
// reaps a child still running, so no test leaves a zombie or a stray server.
// Exit status: the exit code, or 128 + signal number for a child killed by a signal.
//
// run_process(spec) starts a program and waits for its exit status.
//
// Thread-safety: one thread per process object.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace rowcast::test {

struct process_spec {
    std::vector<std::string> argv;        ///< argv[0]: path of the executable
    std::vector<std::string> env;         ///< "NAME=value" added to the environment
    std::filesystem::path stdout_file;    ///< appended; empty: /dev/null
    std::filesystem::path stderr_file;    ///< appended; empty: same as stdout
};

class process {
public:
    process() = default;
    process(const process&) = delete;
    process& operator=(const process&) = delete;
    process(process&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}
    process& operator=(process&& o) noexcept {
        if (this != &o) {
            stop();
            pid_ = std::exchange(o.pid_, -1);
            status_ = o.status_;
        }
        return *this;
    }
    ~process() { stop(); }

    /// Starts the program. Throws std::runtime_error if it cannot be started.
    static process start(const process_spec& spec) {
        if (spec.argv.empty()) throw std::runtime_error("process: empty argv");
        std::vector<std::string> env_store;
        for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
        for (const auto& kv : spec.env) {
            const auto name = kv.substr(0, kv.find('=') + 1);
            std::erase_if(env_store, [&](const std::string& e) { return e.compare(0, name.size(), name) == 0; });
            env_store.push_back(kv);
        }
        std::vector<char*> envp;
        for (auto& s : env_store) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::vector<std::string> args = spec.argv;
        std::vector<char*> argp;
        for (auto& s : args) argp.push_back(s.data());
        argp.push_back(nullptr);

        const std::string out = spec.stdout_file.empty() ? "/dev/null" : spec.stdout_file.string();
        const std::string err = spec.stderr_file.empty() ? out : spec.stderr_file.string();
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (err == out) posix_spawn_file_actions_adddup2(&fa, 1, 2);
        else posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        pid_t pid = -1;
        const int rc = ::posix_spawn(&pid, argp[0], &fa, nullptr, argp.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("cannot start " + spec.argv[0] + ": " + std::strerror(rc));
        process p;
        p.pid_ = pid;
        return p;
    }

    pid_t pid() const noexcept { return pid_; }
    /// The exit status once reaped (see the header comment).
    std::optional<int> exit_status() const noexcept { return status_; }

    /// Sends `sig` to a child not yet reaped.
    void signal(int sig) const noexcept {
        if (pid_ > 0) ::kill(pid_, sig);
    }

    /// True while the child has not exited (reaps it when it has).
    bool running() noexcept { return pid_ > 0 && !reap(WNOHANG); }

    /// Waits for the exit; returns the exit status.
    int wait() noexcept {
        if (pid_ > 0) reap(0);
        return status_.value_or(-1);
    }

    /// Waits at most `limit`; the exit status, or nullopt if the child is still running.
    std::optional<int> wait_for(std::chrono::milliseconds limit) noexcept {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (running()) {
            if (std::chrono::steady_clock::now() >= until) return std::nullopt;
            ::usleep(10000);
        }
        return status_;
    }

    /// Sends `sig`, waits up to `grace`, then SIGKILL; returns the exit status (-1 if none was started).
    int stop(int sig = SIGTERM, std::chrono::milliseconds grace = std::chrono::seconds(60)) noexcept {
        if (pid_ <= 0) return status_.value_or(-1);
        signal(sig);
        if (auto s = wait_for(grace)) return *s;
        signal(SIGKILL);
        return wait();
    }

private:
    // waitpid with `flags`; true when the child was reaped (status_ set, pid_ cleared).
    bool reap(int flags) noexcept {
        int st = 0;
        pid_t r = -1;
        do {
            r = ::waitpid(pid_, &st, flags);
        } while (r < 0 && errno == EINTR);
        if (r == 0) return false;
        if (r < 0) {  // not our child any more (reaped elsewhere)
            pid_ = -1;
            status_ = -1;
            return true;
        }
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        pid_ = -1;
        return true;
    }

    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// Runs a program to completion; returns its exit status.
inline int run_process(const process_spec& spec) { return process::start(spec).wait(); }

}  // namespace rowcast::test
