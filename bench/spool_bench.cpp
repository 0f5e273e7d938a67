// Spool transport benchmarks (issue 3 §6).
//  - SpoolWrite/<durability>: events/s written by spool_writer<binary_codec>, beside
//    RawFileOps/<durability>: the same file operations without rowcast (create, write an
//    equal-size buffer, [fsync], rename, [fsync dir]). Target: >= 0.8x the raw baseline.
//  - SpoolVsRaw/<durability>: both interleaved one for one in one loop (ratio counter),
//    the robust comparison on a file system whose speed drifts.
//  - SpoolDrain: files/s drained by spool_reader from a pre-filled spool of 100,000 files.
//  - SpoolLatency: delay from rename to handler call at a steady 1,000 events/s
//    (counters median_us and p99_us).
// The spool lives under $ROWCAST_BENCH_DIR (default: the system temp directory).
#include <rowcast/codec/binary.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

using namespace rowcast;

namespace {

std::unique_ptr<test::temp_dir> bench_dir() {
    if (const char* d = std::getenv("ROWCAST_BENCH_DIR")) setenv("TMPDIR", d, 1);
    return std::make_unique<test::temp_dir>("rowcast-bench");
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Keeps the directory from growing without bound during long runs.
void clear_dir(const std::filesystem::path& p) {
    for (const auto& f : std::filesystem::directory_iterator(p)) std::filesystem::remove(f.path());
}

void SpoolWrite(benchmark::State& state) {
    const auto durability = static_cast<spool_durability>(state.range(0));
    auto dir = bench_dir();
    auto w = spool_writer<binary_codec>::open({dir->path(), durability}).value();
    const event e = test::hosts_update();
    std::size_t n = 0, bytes = 0;
    for (auto _ : state) {
        auto r = w.write(e);
        if (!r) state.SkipWithError(r.error_value().message.c_str());
        if (++n % 2000 == 0) {
            state.PauseTiming();
            clear_dir(dir->path());
            state.ResumeTiming();
        }
    }
    binary_codec codec;
    bytes = rowcast::encode(codec, e).size();
    state.SetItemsProcessed(static_cast<std::int64_t>(n));
    state.SetBytesProcessed(static_cast<std::int64_t>(n * bytes));
}

// The baseline: what the spool writer does, without rowcast: create a temporary file, write
// `payload`, [fsync], rename it into place, [fsync the directory]. Returns false on failure.
bool raw_file_write(int dfd, std::string_view payload, std::size_t n, spool_durability durability) {
    char tmp[64], fin[64];
    std::snprintf(tmp, sizeof tmp, ".raw-%zu.tmp", n);
    std::snprintf(fin, sizeof fin, "%019zu-raw", n);
    const int fd = ::openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return false;
    bool ok = ::write(fd, payload.data(), payload.size()) == static_cast<ssize_t>(payload.size());
    if (durability != spool_durability::none) ok &= ::fsync(fd) == 0;
    ::close(fd);
    ok &= ::renameat(dfd, tmp, dfd, fin) == 0;
    if (durability == spool_durability::file_and_directory) ok &= ::fsync(dfd) == 0;
    return ok;
}

void RawFileOps(benchmark::State& state) {
    const auto durability = static_cast<spool_durability>(state.range(0));
    auto dir = bench_dir();
    binary_codec codec;
    const std::string payload = rowcast::encode(codec, test::hosts_update());
    const int dfd = ::open(dir->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    std::size_t n = 0;
    for (auto _ : state) {
        if (!raw_file_write(dfd, payload, n, durability)) state.SkipWithError("raw write failed");
        if (++n % 2000 == 0) {
            state.PauseTiming();
            clear_dir(dir->path());
            state.ResumeTiming();
        }
    }
    ::close(dfd);
    state.SetItemsProcessed(static_cast<std::int64_t>(n));
    state.SetBytesProcessed(static_cast<std::int64_t>(n * payload.size()));
}

// Spool writes and the raw file operations interleaved one for one in the same loop, so
// that drift in the file system's speed (large here: openat alone varies 5x between runs)
// hits both alike. Counters: spool_us and raw_us (mean per event), ratio = raw_us / spool_us
// (spool throughput relative to the raw baseline; the target is >= 0.8).
void SpoolVsRaw(benchmark::State& state) {
    const auto durability = static_cast<spool_durability>(state.range(0));
    auto dir = bench_dir();
    const auto spool_dir = dir->path() / "spool";
    const auto raw_dir = dir->path() / "raw";
    std::filesystem::create_directory(spool_dir);
    std::filesystem::create_directory(raw_dir);
    auto w = spool_writer<binary_codec>::open({spool_dir, durability}).value();
    const event e = test::hosts_update();
    binary_codec codec;
    const std::string payload = rowcast::encode(codec, e);
    const int dfd = ::open(raw_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    using clk = std::chrono::steady_clock;
    clk::duration spool_t{}, raw_t{};
    std::size_t n = 0;
    for (auto _ : state) {
        const auto t0 = clk::now();
        if (!w.write(e)) state.SkipWithError("spool write failed");
        const auto t1 = clk::now();
        if (!raw_file_write(dfd, payload, n, durability)) state.SkipWithError("raw write failed");
        const auto t2 = clk::now();
        spool_t += t1 - t0;
        raw_t += t2 - t1;
        if (++n % 1000 == 0) {
            state.PauseTiming();
            clear_dir(spool_dir);
            clear_dir(raw_dir);
            state.ResumeTiming();
        }
    }
    ::close(dfd);
    const double spool_us = std::chrono::duration<double, std::micro>(spool_t).count() / static_cast<double>(n);
    const double raw_us = std::chrono::duration<double, std::micro>(raw_t).count() / static_cast<double>(n);
    state.counters["spool_us"] = spool_us;
    state.counters["raw_us"] = raw_us;
    state.counters["ratio"] = raw_us / spool_us;
    state.SetItemsProcessed(static_cast<std::int64_t>(n));
}

spool_reader_options quiet(const std::filesystem::path& p) {
    spool_reader_options o;
    o.directory = p;
    o.log = [](log_level, std::string_view, std::string_view m) { std::fprintf(stderr, "%.*s\n", static_cast<int>(m.size()), m.data()); };
    return o;
}

void SpoolDrain(benchmark::State& state) {
    const auto files = static_cast<std::size_t>(state.range(0));
    auto dir = bench_dir();
    auto w = spool_writer<binary_codec>::open({dir->path(), spool_durability::none}).value();
    const event e = test::hosts_update();
    std::size_t total = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (std::size_t i = 0; i < files; ++i) (void)w.write(e).value();
        state.ResumeTiming();
        auto r = spool_reader<binary_codec>::open(quiet(dir->path())).value();
        std::size_t got = 0;
        while (got < files) {
            auto n = r.process([&](std::span<const event> b) { got += b.size(); });
            if (!n || *n == 0) break;
        }
        if (got != files) state.SkipWithError("not every file was drained");
        total += got;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(total));
}

void SpoolLatency(benchmark::State& state) {
    const int rate = static_cast<int>(state.range(0));
    const int seconds = static_cast<int>(state.range(1));
    auto dir = bench_dir();
    std::vector<double> delays;
    for (auto _ : state) {
        auto r = spool_reader<binary_codec>::open(quiet(dir->path())).value();
        auto w = spool_writer<binary_codec>::open({dir->path(), spool_durability::none}).value();
        const int total = rate * seconds;
        delays.clear();
        delays.reserve(static_cast<std::size_t>(total));
        std::jthread producer([&] {
            event e = test::hosts_update();
            const auto start = std::chrono::steady_clock::now();
            for (int i = 0; i < total; ++i) {
                std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / rate));
                e.sequence = static_cast<std::uint64_t>(i);
                // capture_time is taken just before the write: it includes encode + file ops + rename.
                e.capture_time = time_point{std::chrono::microseconds{now_us()}};
                (void)w.write(e).value();
            }
        });
        while (static_cast<int>(delays.size()) < total) {
            pollfd p{r.native_handle(), POLLIN, 0};
            ::poll(&p, 1, 100);
            (void)r.process([&](const event& ev) {
                delays.push_back(static_cast<double>(now_us() - ev.capture_time.time_since_epoch().count()));
            });
        }
    }
    std::sort(delays.begin(), delays.end());
    if (!delays.empty()) {
        state.counters["median_us"] = delays[delays.size() / 2];
        state.counters["p99_us"] = delays[delays.size() * 99 / 100];
        state.counters["max_us"] = delays.back();
    }
}

}  // namespace

BENCHMARK(SpoolWrite)->ArgName("durability")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(RawFileOps)->ArgName("durability")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(SpoolVsRaw)->ArgName("durability")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(SpoolDrain)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(SpoolLatency)->Args({1000, 5})->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
