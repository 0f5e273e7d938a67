// Spool transport: spool_writer + spool_reader on a real directory with real inotify.
#include <rowcast/codec/binary.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/random_event.hpp"
#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <thread>

#include <sys/stat.h>
#include <sys/wait.h>

using namespace rowcast;
using rowcast::test::temp_dir;

namespace {

event numbered(std::uint64_t seq, std::uint32_t producer = 0) {
    event e = test::small_insert();
    e.sequence = seq;
    e.source.server_id = producer;
    e.source.file.clear();
    return e;
}

spool_reader_options quiet(const std::filesystem::path& dir, std::vector<std::string>* logs = nullptr) {
    spool_reader_options o;
    o.directory = dir;
    o.retry_initial = std::chrono::milliseconds(1);
    o.retry_max = std::chrono::milliseconds(4);
    o.lost_directory_poll = std::chrono::milliseconds(5);
    o.log = [logs](log_level, std::string_view, std::string_view m) {
        if (logs) logs->emplace_back(m);
    };
    return o;
}

std::size_t files_in(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir))
        if (f.is_regular_file()) ++n;
    return n;
}

// Drives process() until `want` events were delivered or ~10 s of idle polling passed.
template <class Reader, class H>
void drain(Reader& r, H&& h, std::size_t want) {
    for (int idle = 0; r.stats().delivered < want && idle < 2000;) {
        auto n = r.process(h);
        ASSERT_TRUE(n) << n.error_value().message;
        if (*n == 0) {
            pollfd p{r.native_handle(), POLLIN, 0};
            ::poll(&p, 1, 5);
            ++idle;
        }
    }
}

}  // namespace

TEST(SpoolWriter, WritesAtomicallyWithSortableNames) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    std::vector<std::string> names;
    for (int i = 0; i < 50; ++i) names.push_back(w.write_file(numbered(static_cast<std::uint64_t>(i))).value());
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
    EXPECT_EQ(files_in(dir.path()), 50u);
    for (const auto& n : names) {
        EXPECT_EQ(n.find('.'), n.size() - std::string(".binary").size()) << n;
        EXPECT_NE(n.find("-" + std::to_string(::getpid()) + "."), std::string::npos) << n;
    }
    EXPECT_EQ(w.sequence(), 50u);
}

TEST(SpoolWriter, FileModeIgnoresUmask) {
    temp_dir dir;
    const mode_t old = ::umask(0077);
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::file, 0644}).value();
    auto name = w.write_file(numbered(1)).value();
    ::umask(old);
    struct stat st {};
    ASSERT_EQ(::stat((dir.path() / name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(SpoolWriter, MissingDirectoryIsAClearError) {
    temp_dir dir;
    auto r = spool_writer<binary_codec>::open({dir.path() / "nope"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, errc::io_error);
    EXPECT_NE(r.error_value().message.find("cannot open spool directory"), std::string::npos);
    EXPECT_NE(r.error_value().message.find("nope"), std::string::npos);
    std::ofstream(dir.path() / "file") << "x";
    auto r2 = spool_writer<binary_codec>::open({dir.path() / "file"});
    ASSERT_FALSE(r2);
    EXPECT_NE(r2.error_value().message.find("Not a directory"), std::string::npos) << r2.error_value().message;
}

TEST(SpoolWriter, NamesNeverCollideAcrossThreads) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    std::vector<std::thread> threads;
    std::vector<std::vector<std::string>> names(4);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 250; ++i) names[t].push_back(w.write_file(numbered(static_cast<std::uint64_t>(i), t)).value());
        });
    for (auto& t : threads) t.join();
    std::set<std::string> all;
    for (auto& v : names) {
        EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));  // each thread's files sort in its production order
        all.insert(v.begin(), v.end());
    }
    EXPECT_EQ(all.size(), 1000u);
    EXPECT_EQ(files_in(dir.path()), 1000u);
}

TEST(SpoolReader, DeliversWaitingFilesInOrderThenFollowsNewOnes) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    for (std::uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(w.write(numbered(i)));
    auto r = spool_reader<binary_codec>::open(quiet(dir.path())).value();
    EXPECT_EQ(r.pending(), 20u);
    std::vector<std::uint64_t> got;
    auto h = [&](const event& e) { got.push_back(e.sequence); };
    drain(r, h, 20);
    for (std::uint64_t i = 20; i < 40; ++i) ASSERT_TRUE(w.write(numbered(i)));
    drain(r, h, 40);
    ASSERT_EQ(got.size(), 40u);
    for (std::uint64_t i = 0; i < 40; ++i) EXPECT_EQ(got[i], i);
    EXPECT_EQ(files_in(dir.path()), 0u);
}

TEST(SpoolReader, FillsSourceFileAndKeepsEventIntact) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    event orig = test::hosts_update();
    orig.source.file.clear();
    auto name = w.write_file(orig).value();
    auto r = spool_reader<binary_codec>::open(quiet(dir.path())).value();
    std::vector<event> got;
    drain(r, [&](const event& e) { got.push_back(e); }, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].source.file, name);
    got[0].source.file.clear();
    EXPECT_EQ(got[0], orig);
}

TEST(SpoolReader, BatchHandlerGetsUpToMaxBatch) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    for (std::uint64_t i = 0; i < 25; ++i) ASSERT_TRUE(w.write(numbered(i)));
    auto o = quiet(dir.path());
    o.max_batch = 10;
    auto r = spool_reader<binary_codec>::open(o).value();
    std::vector<std::size_t> sizes;
    std::vector<std::uint64_t> got;
    drain(r, [&](std::span<const event> b) {
        sizes.push_back(b.size());
        for (const auto& e : b) got.push_back(e.sequence);
    }, 25);
    EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5}));
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
    EXPECT_EQ(got.size(), 25u);
}

TEST(SpoolReader, HandlerFailureIsRetriedNeverSkipped) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(w.write(numbered(i)));
    std::vector<std::string> logs;
    auto r = spool_reader<binary_codec>::open(quiet(dir.path(), &logs)).value();
    std::vector<std::uint64_t> got;
    int calls = 0;
    drain(r, [&](const event& e) -> result<void> {
        ++calls;
        if (e.sequence == 2 && calls < 6) return error::make(errc::io_error, "sink", "", "downstream down");
        if (e.sequence == 3 && calls < 8) throw std::runtime_error("boom");
        got.push_back(e.sequence);
        return {};
    }, 5);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(r.stats().failures, 4u);  // three returned errors, one exception
    ASSERT_FALSE(logs.empty());
    bool saw_reason = false, saw_throw = false;
    for (auto& l : logs) {
        saw_reason |= l.find("downstream down") != std::string::npos;
        saw_throw |= l.find("threw: boom") != std::string::npos;
    }
    EXPECT_TRUE(saw_reason);
    EXPECT_TRUE(saw_throw);
}

TEST(SpoolReader, QuarantinesUndecodableAndForeignFilesAndGoesOn) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    ASSERT_TRUE(w.write(numbered(1)));
    std::ofstream(dir.path() / "0000000000000000001-000000000001-1.binary") << "garbage, not a rowcast event";
    std::ofstream(dir.path() / "README.txt") << "someone's notes";
    std::ofstream(dir.path() / ".hidden-temp") << "partial";
    std::filesystem::create_directory(dir.path() / "subdir");
    std::vector<std::string> logs;
    auto r = spool_reader<binary_codec>::open(quiet(dir.path(), &logs)).value();
    std::vector<std::uint64_t> got;
    auto h = [&](const event& e) { got.push_back(e.sequence); };
    drain(r, h, 1);
    ASSERT_TRUE(w.write(numbered(2)));
    drain(r, h, 2);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(r.stats().quarantined, 2u);
    const auto q = dir.path() / "quarantine";
    EXPECT_TRUE(std::filesystem::exists(q / "README.txt"));
    EXPECT_TRUE(std::filesystem::exists(q / "0000000000000000001-000000000001-1.binary"));
    std::ifstream reason(q / "0000000000000000001-000000000001-1.binary.reason");
    std::string line;
    std::getline(reason, line);
    EXPECT_NE(line.find("[rowcast.binary."), std::string::npos) << line;
    std::ifstream reason2(q / "README.txt.reason");
    std::getline(reason2, line);
    EXPECT_NE(line.find("foreign file"), std::string::npos) << line;
    EXPECT_TRUE(std::filesystem::exists(dir.path() / ".hidden-temp"));  // temporary files are left alone
    bool logged = false;
    for (auto& l : logs) logged |= l.find("quarantined") != std::string::npos && l.find("README.txt") != std::string::npos;
    EXPECT_TRUE(logged);
}

TEST(SpoolReader, MoveToDone) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    auto name = w.write_file(numbered(1)).value();
    auto o = quiet(dir.path());
    o.after = spool_after::move_to_done;
    auto r = spool_reader<binary_codec>::open(o).value();
    drain(r, [](const event&) {}, 1);
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "done" / name));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / name));
}

TEST(SpoolReader, InotifyOverflowMeansRescanNotLoss) {
    temp_dir dir;
    std::ifstream lim("/proc/sys/fs/inotify/max_queued_events");
    std::size_t max_queued = 16384;
    lim >> max_queued;
    auto r = spool_reader<binary_codec>::open(quiet(dir.path())).value();
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    const std::size_t n = max_queued + 500;
    for (std::uint64_t i = 0; i < n; ++i) ASSERT_TRUE(w.write(numbered(i)));
    std::uint64_t next = 0;
    bool in_order = true;
    drain(r, [&](std::span<const event> b) {
        for (const auto& e : b) in_order &= e.sequence == next++;
    }, n);
    EXPECT_EQ(next, n);
    EXPECT_TRUE(in_order);
    EXPECT_GE(r.stats().rescans, 2u);  // the initial scan and the overflow
}

TEST(SpoolReader, DirectoryRemovedAndRecreated) {
    temp_dir dir;
    const auto spool = dir.path() / "spool";
    std::filesystem::create_directory(spool);
    std::vector<std::string> logs;
    auto r = spool_reader<binary_codec>::open(quiet(spool, &logs)).value();
    std::vector<std::uint64_t> got;
    auto h = [&](const event& e) { got.push_back(e.sequence); };
    std::filesystem::remove_all(spool);
    for (int i = 0; i < 100 && !r.directory_lost(); ++i) {
        (void)r.process(h);
        ::usleep(2000);
    }
    EXPECT_TRUE(r.directory_lost());
    std::filesystem::create_directory(spool);
    auto w = spool_writer<binary_codec>::open({spool, spool_durability::none}).value();
    ASSERT_TRUE(w.write(numbered(7)));
    drain(r, h, 1);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{7}));
    bool reported = false;
    for (auto& l : logs) reported |= l.find("waiting for it to reappear") != std::string::npos;
    EXPECT_TRUE(reported);
}

TEST(SpoolReader, RunLoopStopsOnRequest) {
    temp_dir dir;
    auto r = spool_reader<binary_codec>::open(quiet(dir.path())).value();
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    std::atomic<int> got{0};
    std::jthread t([&](std::stop_token st) { ASSERT_TRUE(r.run([&](const event&) { ++got; }, st)); });
    for (std::uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(w.write(numbered(i)));
    for (int i = 0; i < 1000 && got < 10; ++i) ::usleep(2000);
    t.request_stop();
    t.join();
    EXPECT_EQ(got.load(), 10);
}

// kill -9 of the consumer at random moments; every event is delivered at least once,
// none invented, and the first deliveries come in order.
TEST(SpoolReader, SurvivesKill9) {
    temp_dir dir;
    const auto spool = dir.path() / "spool";
    const auto log_path = dir.path() / "delivered.log";
    std::filesystem::create_directory(spool);
    constexpr std::uint64_t total = 600;
    {
        auto w = spool_writer<binary_codec>::open({spool, spool_durability::file}).value();
        for (std::uint64_t i = 0; i < total; ++i) ASSERT_TRUE(w.write(numbered(i)));
    }
    auto consume = [&](bool forever) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            auto r = spool_reader<binary_codec>::open(quiet(spool));
            if (!r) ::_exit(3);
            const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            auto h = [fd](const event& e) {
                const std::string line = std::to_string(e.sequence) + "\n";
                if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return false;
                ::usleep(300);  // a slow sink widens the window for the kill
                return true;
            };
            do {
                if (!r->process(h)) ::_exit(4);
            } while (forever || r->pending() > 0);
            ::_exit(0);
        }
        return pid;
    };
    std::mt19937 rng(42);
    for (int round = 0; round < 5; ++round) {
        const pid_t pid = consume(true);
        ::usleep(std::uniform_int_distribution<int>(5000, 40000)(rng));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
    }
    const pid_t pid = consume(false);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);

    std::ifstream in(log_path);
    std::vector<std::uint64_t> seen;
    for (std::uint64_t v; in >> v;) seen.push_back(v);
    std::set<std::uint64_t> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), total);                  // nothing lost
    EXPECT_LT(*unique.rbegin(), total);               // nothing invented
    EXPECT_LE(seen.size(), total + 5);                // at most one duplicate per kill
    std::vector<std::uint64_t> first;
    std::set<std::uint64_t> done;
    for (auto v : seen)
        if (done.insert(v).second) first.push_back(v);
    EXPECT_TRUE(std::is_sorted(first.begin(), first.end()));  // order kept
    EXPECT_EQ(files_in(spool), 0u);
}
