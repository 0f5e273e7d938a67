// Spool transport: spool_writer + spool_reader on a real directory with real inotify.
#include <rowcast/codec/binary.hpp>
#ifdef ROWCAST_TEST_TEXT_CODECS
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#endif
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_txn_writer.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/random_event.hpp"
#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"
#include "support/watchdog.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <map>
#include <thread>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

// A sink that writes asynchronously has the events only after flush(): the reader removes a batch's
// files only once the sink's flush succeeded (a kill -9 after the removal then loses nothing).
TEST(SpoolReader, FilesStayUntilTheSinkFlushed) {
    temp_dir dir;
    auto w = spool_writer<binary_codec>::open({dir.path(), spool_durability::none}).value();
    for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(w.write(numbered(i)));
    auto r = spool_reader<binary_codec>::open(quiet(dir.path())).value();
    struct async_sink {
        std::size_t written = 0;
        bool flush_fails = true;
        result<void> write(const event&) { return ++written, result<void>{}; }
        result<void> write(std::span<const event> b) { return written += b.size(), result<void>{}; }
        result<void> flush() {
            if (flush_fails) return error::make(errc::unavailable, "test", "sink", "not acknowledged yet");
            return {};
        }
    } sink;
    auto n = r.process(sink);
    ASSERT_FALSE(n);
    EXPECT_EQ(sink.written, 5u);
    EXPECT_EQ(files_in(dir.path()), 5u);  // written, not flushed: kept
    EXPECT_EQ(r.pending(), 5u);
    sink.flush_fails = false;
    ASSERT_EQ(r.process(sink).value(), 5u);
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

// --- hostile or broken spool contents (issue 19 §1, §5, §6, §9; issue 21) -------------------

namespace {
std::vector<std::string> names_in(const std::filesystem::path& dir) {
    std::vector<std::string> v;
    for (const auto& f : std::filesystem::directory_iterator(dir)) v.push_back(f.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
}
bool any_log(const std::vector<std::string>& logs, std::string_view a, std::string_view b = {}) {
    for (const auto& l : logs)
        if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    return false;
}
}  // namespace

// A FIFO, a socket and a symbolic link (to a victim file) named like events: quarantined as they
// are, without blocking and without following the link; the real events around them delivered.
// The reader runs in a child under a liveness guard: an open() that blocks on the FIFO is a hang.
TEST(SpoolReader, FifoSocketAndSymlinkAreQuarantinedWithoutBlockingOrFollowing) {
    temp_dir dir;
    const auto spool = dir.path() / "spool";
    std::filesystem::create_directory(spool);
    const auto victim = dir.path() / "victim";
    std::ofstream(victim) << "precious";
    auto w = spool_writer<binary_codec>::open({spool, spool_durability::none}).value();
    ASSERT_TRUE(w.write(numbered(1)));
    ASSERT_EQ(::mkfifo((spool / "0000000000000000001-000000000001-1.binary").c_str(), 0600), 0);
    std::filesystem::create_symlink(victim, spool / "0000000000000000002-000000000001-1.binary");
    {
        const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        const auto sp = (spool / "0000000000000000003-000000000001-1.binary").string();
        ASSERT_LT(sp.size(), sizeof a.sun_path);
        std::memcpy(a.sun_path, sp.c_str(), sp.size() + 1);
        ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ::close(sock);
    }
    ASSERT_TRUE(w.write(numbered(2)));
    const auto log_path = dir.path() / "log";
    const auto out = test::run_in_child([&] {
        std::vector<std::string> logs;
        auto r = spool_reader<binary_codec>::open(quiet(spool, &logs));
        if (!r) return 2;
        std::vector<std::uint64_t> got;
        for (int i = 0; i < 2000 && (got.size() < 2 || r->pending() > 0); ++i) {
            if (!r->process([&](const event& e) { got.push_back(e.sequence); })) return 3;
            ::usleep(1000);
        }
        std::ofstream f(log_path);
        for (const auto& l : logs) f << l << "\n";
        return got == std::vector<std::uint64_t>{1, 2} && r->stats().quarantined == 3 ? 0 : 4;
    });
    ASSERT_FALSE(out.hung) << "the reader blocked";
    EXPECT_EQ(out.status, 0) << test::slurp(log_path);
    EXPECT_EQ(test::slurp(victim), "precious");
    const auto q = spool / "quarantine";
    EXPECT_TRUE(std::filesystem::is_fifo(q / "0000000000000000001-000000000001-1.binary"));
    EXPECT_TRUE(std::filesystem::is_symlink(q / "0000000000000000002-000000000001-1.binary"));
    EXPECT_TRUE(std::filesystem::is_socket(q / "0000000000000000003-000000000001-1.binary"));
    EXPECT_NE(test::slurp(q / "0000000000000000001-000000000001-1.binary.reason").find("a FIFO"), std::string::npos);
    EXPECT_NE(test::slurp(q / "0000000000000000002-000000000001-1.binary.reason").find("a symbolic link"), std::string::npos);
    EXPECT_NE(test::slurp(q / "0000000000000000003-000000000001-1.binary.reason").find("a socket"), std::string::npos);
    EXPECT_EQ(names_in(spool), (std::vector<std::string>{"quarantine"}));
}

// Issue 21: a file holding a valid event followed by anything else is quarantined whole, never
// delivered with the rest dropped; a second event appended counts as junk too.
// Each codec: a file is one event and nothing else; text codecs allow trailing white space only
// (YAML: rowcast's documents end with "...", so what follows the marker is junk too).
template <class Codec>
void valid_event_followed_by_junk_is_quarantined() {
    temp_dir dir;
    Codec codec;
    const std::string one = encode(codec, numbered(1));
    const std::string ext = "." + std::string(std::string_view(Codec::name));
    auto name = [&](int n) { return "000000000000000000" + std::to_string(n) + "-000000000001-1" + ext; };
    std::ofstream(dir.path() / name(1), std::ios::binary) << one << "junk";
    std::ofstream(dir.path() / name(2), std::ios::binary) << one << one;
    std::ofstream(dir.path() / name(3), std::ios::binary) << one << '\0';
    std::ofstream(dir.path() / name(4), std::ios::binary) << one;
    std::vector<std::string> logs;
    auto r = spool_reader<Codec>::open(quiet(dir.path(), &logs)).value();
    std::vector<std::string> got;
    drain(r, [&](const event& e) { got.push_back(e.source.file); }, 1);
    EXPECT_EQ(got, (std::vector<std::string>{name(4)})) << Codec::name;
    EXPECT_EQ(r.stats().quarantined, 3u) << Codec::name;
    const auto q = dir.path() / "quarantine";
    EXPECT_EQ(test::slurp(q / name(1)), one + "junk");
    for (int n : {1, 2, 3}) {
        const auto reason = test::slurp(q / (name(n) + ".reason"));
        EXPECT_TRUE(reason.find("bytes after the event") != std::string::npos || reason.find("syntax") != std::string::npos)
            << Codec::name << " " << name(n) << ": " << reason;
    }
}

TEST(SpoolReader, ValidEventFollowedByJunkIsQuarantined) {
    valid_event_followed_by_junk_is_quarantined<binary_codec>();
#ifdef ROWCAST_TEST_TEXT_CODECS
    valid_event_followed_by_junk_is_quarantined<json_codec>();
    valid_event_followed_by_junk_is_quarantined<yaml_codec>();
#endif
}

// Issue 21: max_file_size is a limit in bytes: a file of exactly that size is read, one byte more
// is quarantined with the sizes in the reason (and not read into memory).
TEST(SpoolReader, FileOverMaxFileSizeIsQuarantined) {
    temp_dir dir;
    binary_codec codec;
    const std::string one = encode(codec, numbered(1));
    std::ofstream(dir.path() / "0000000000000000001-000000000001-1.binary", std::ios::binary) << one;
    std::ofstream(dir.path() / "0000000000000000002-000000000001-1.binary", std::ios::binary) << one << 'x';
    auto o = quiet(dir.path());
    o.max_file_size = one.size();
    auto r = spool_reader<binary_codec>::open(o).value();
    std::vector<std::uint64_t> got;
    drain(r, [&](const event& e) { got.push_back(e.sequence); }, 1);
    EXPECT_EQ(got, (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(r.stats().quarantined, 1u);
    const auto reason = test::slurp(dir.path() / "quarantine" / "0000000000000000002-000000000001-1.binary.reason");
    EXPECT_NE(reason.find("file of " + std::to_string(one.size() + 1) + " bytes exceeds max_file_size " +
                          std::to_string(one.size())),
              std::string::npos)
        << reason;
}

// Issue 19 §1: a quarantine/ (or done/) that is a symbolic link is refused: nothing goes where it
// points; the file stays in the spool and is quarantined once the directory is real.
TEST(SpoolReader, QuarantineOrDoneThatIsASymlinkIsRefusedAndTheFileKept) {
    temp_dir dir;
    const auto spool = dir.path() / "spool", elsewhere = dir.path() / "elsewhere";
    std::filesystem::create_directory(spool);
    std::filesystem::create_directory(elsewhere);
    std::vector<std::string> logs;
    auto r = spool_reader<binary_codec>::open(quiet(spool, &logs)).value();
    std::filesystem::create_directory_symlink(elsewhere, spool / "quarantine");
    std::filesystem::create_directory_symlink(elsewhere, spool / "done");
    std::ofstream(spool / "0000000000000000001-000000000001-1.binary") << "garbage";
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(r.process([](const event&) {}));
        ::usleep(1000);
    }
    EXPECT_TRUE(std::filesystem::is_empty(elsewhere));
    EXPECT_TRUE(std::filesystem::exists(spool / "0000000000000000001-000000000001-1.binary"));
    EXPECT_TRUE(any_log(logs, "a symbolic link", "is kept")) << (logs.empty() ? "" : logs.back());
    // A reader opened now refuses the linked quarantine at once.
    auto again = spool_reader<binary_codec>::open(quiet(spool));
    ASSERT_FALSE(again);
    EXPECT_NE(again.error_value().message.find("a symbolic link"), std::string::npos) << again.error_value().message;
    std::filesystem::remove(spool / "quarantine");
    std::filesystem::create_directory(spool / "quarantine");
    for (int i = 0; i < 2000 && r.stats().quarantined == 0; ++i) {
        ASSERT_TRUE(r.process([](const event&) {}));
        ::usleep(1000);
    }
    EXPECT_EQ(r.stats().quarantined, 1u);
    EXPECT_TRUE(std::filesystem::exists(spool / "quarantine" / "0000000000000000001-000000000001-1.binary"));
    // done/ as a link: the delivered file is not moved there.
    auto w = spool_writer<binary_codec>::open({spool, spool_durability::none}).value();
    const auto name = w.write_file(numbered(5)).value();
    auto o = quiet(spool);
    o.after = spool_after::move_to_done;
    auto d = spool_reader<binary_codec>::open(o).value();
    for (int i = 0; i < 50; ++i) (void)d.process([](const event&) {});
    EXPECT_TRUE(std::filesystem::is_empty(elsewhere));
    EXPECT_TRUE(std::filesystem::exists(spool / name));  // delivered, not retired: kept (at-least-once)
}

// Issue 19 §6: a missing spool directory is an error of open(), and nothing is created.
TEST(SpoolReader, MissingDirectoryIsAnErrorAndNothingIsCreated) {
    temp_dir dir;
    auto o = quiet(dir.path() / "typo");
    auto r = spool_reader<binary_codec>::open(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, errc::io_error);
    EXPECT_NE(r.error_value().message.find("typo: cannot open spool directory: No such file or directory"),
              std::string::npos)
        << r.error_value().message;
    EXPECT_FALSE(spool_reader<binary_codec>::check(o));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "typo"));
    auto ok = quiet(dir.path());
    EXPECT_TRUE(spool_reader<binary_codec>::check(ok));
    EXPECT_EQ(ok.quarantine_directory, dir.path() / "quarantine");
}

// Issue 19 §9: temporaries left by a killed writer (".….tmp", older than stale_temporary_age) are
// moved to the quarantine with a reason and reported, at open and later; fresh ones, staged files
// and links are left alone.
TEST(SpoolReader, StaleTemporariesAreReclaimedAndReported) {
    temp_dir dir;
    auto age = [&](const char* name, std::chrono::seconds old) {
        std::ofstream(dir.path() / name) << "half an ev";
        const auto t = std::chrono::system_clock::now() - old;
        timespec ts[2];
        ts[0].tv_sec = ts[1].tv_sec = std::chrono::system_clock::to_time_t(t);
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        ASSERT_EQ(::utimensat(AT_FDCWD, (dir.path() / name).c_str(), ts, 0), 0);
    };
    age(".0000000000000000001-000000000001-1.binary.tmp", std::chrono::hours(2));
    age(".0000000000000000002-000000000001-1.binary.tmp", std::chrono::seconds(0));
    age(".stage-txn-1_1-000000000001.binary", std::chrono::hours(2));
    std::filesystem::create_symlink(dir.path() / "victim", dir.path() / ".old-link.tmp");
    std::vector<std::string> logs;
    auto o = quiet(dir.path(), &logs);
    o.stale_temporary_age = std::chrono::seconds(600);
    auto r = spool_reader<binary_codec>::open(o).value();
    EXPECT_EQ(r.stats().reclaimed, 1u);
    const auto q = dir.path() / "quarantine";
    EXPECT_EQ(test::slurp(q / "0000000000000000001-000000000001-1.binary.tmp"), "half an ev");
    EXPECT_NE(test::slurp(q / "0000000000000000001-000000000001-1.binary.tmp.reason").find("stale temporary file"),
              std::string::npos);
    EXPECT_TRUE(any_log(logs, "quarantined", ".0000000000000000001-000000000001-1.binary.tmp"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / ".0000000000000000002-000000000001-1.binary.tmp"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / ".stage-txn-1_1-000000000001.binary"));
    EXPECT_TRUE(std::filesystem::is_symlink(dir.path() / ".old-link.tmp"));
    EXPECT_EQ(r.stats().quarantined, 1u);
    EXPECT_GE(r.next_timeout().count(), 0);  // a sweep is scheduled even with nothing pending
    // Later: one that turns stale while the reader runs (a short age, so the next sweep comes soon).
    o.stale_temporary_age = std::chrono::seconds(2);
    auto r2 = spool_reader<binary_codec>::open(o).value();
    age(".0000000000000000003-000000000001-1.binary.tmp", std::chrono::hours(1));
    for (int i = 0; i < 1000 && r2.stats().reclaimed == 0; ++i) {
        pollfd p{r2.native_handle(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(r2.next_timeout().count(), 0, 20)));
        ASSERT_TRUE(r2.process([](const event&) {}));
    }
    EXPECT_EQ(r2.stats().reclaimed, 1u);
    EXPECT_TRUE(std::filesystem::exists(q / "0000000000000000003-000000000001-1.binary.tmp"));
}

// Issue 19 §1: the staging lock file is never opened through a link planted in the spool.
TEST(SpoolTxnWriter, LockFileThatIsASymlinkIsRefused) {
    temp_dir dir;
    const auto spool = dir.path() / "spool";
    std::filesystem::create_directory(spool);
    std::filesystem::create_symlink(dir.path() / "victim", spool / ".stage-txn.lock");
    auto w = spool_txn_writer<binary_codec>::open({spool, spool_durability::none});
    ASSERT_FALSE(w);
    EXPECT_NE(w.error_value().message.find("symbolic link"), std::string::npos) << w.error_value().message;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "victim"));
}
