// rowcast/os/signals.hpp: the programs' one signal service. Each test runs in a process of
// its own (gtest_discover_tests), so the signal masks it leaves do not reach other tests.
#include <rowcast/os/signals.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <signal.h>
#include <unistd.h>

using rowcast::os::signal_thread;

namespace {

// Waits (at most a generous bound, never a timing claim) until pred() holds.
template <class Pred>
bool eventually(Pred pred) {
    for (int i = 0; i < 3000 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return pred();
}

bool blocked_here(int sig) {
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    return sigismember(&now, sig) == 1;
}

}  // namespace

TEST(Signals, StopAndReloadRunOnTheSignalThread) {
    std::atomic<int> stops{0}, reloads{0};
    std::atomic<bool> other_thread{true};
    const auto main_id = std::this_thread::get_id();
    {
        signal_thread s({.on_stop = [&] {
                             if (std::this_thread::get_id() == main_id) other_thread = false;
                             ++stops;
                         },
                         .on_reload = [&] { ++reloads; }});
        EXPECT_TRUE(blocked_here(SIGTERM));
        EXPECT_TRUE(blocked_here(SIGINT));
        EXPECT_TRUE(blocked_here(SIGHUP));
        ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
        ASSERT_TRUE(eventually([&] { return reloads.load() == 1; }));
        EXPECT_EQ(stops.load(), 0);
        ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
        ASSERT_TRUE(eventually([&] { return stops.load() == 1; }));
        ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
        ASSERT_TRUE(eventually([&] { return stops.load() == 2; }));
    }
    EXPECT_TRUE(other_thread.load());
    EXPECT_EQ(reloads.load(), 1);
}

TEST(Signals, WithoutReloadHandlerSighupIsLeftAlone) {
    signal_thread s({.on_stop = [] {}});
    EXPECT_TRUE(blocked_here(SIGTERM));
    EXPECT_FALSE(blocked_here(SIGHUP));
}

TEST(Signals, TickRunsUntilTheEnd) {
    std::atomic<int> ticks{0};
    {
        signal_thread s({.on_stop = [] {}, .on_tick = [&] { ++ticks; }, .tick = std::chrono::milliseconds(5)});
        ASSERT_TRUE(eventually([&] { return ticks.load() >= 3; }));
    }
    const int at_end = ticks.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(ticks.load(), at_end);  // joined: no tick after the destructor
}

TEST(Signals, TeardownIsNoStopAndALateSignalDoesNotKill) {
    std::atomic<int> stops{0};
    { signal_thread s({.on_stop = [&] { ++stops; }}); }
    EXPECT_EQ(stops.load(), 0);  // the destructor's own wake-up is not a stop request
    // Still blocked after the thread ended: a SIGTERM during a program's teardown stays
    // pending instead of ending the process with status 143.
    EXPECT_TRUE(blocked_here(SIGTERM));
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    const timespec wait{5, 0};
    EXPECT_EQ(::sigtimedwait(&term, nullptr, &wait), SIGTERM);  // pending, taken here
}
