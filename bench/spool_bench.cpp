// Spool transport benchmarks (issue 3 §6).
//  - SpoolWrite/<durability>: events/s written by spool_writer<binary_codec>, beside
//    RawFileOps/<durability>: the same file operations without rowcast (create, write an
//    equal-size buffer, [fsync], rename, [fsync dir]). Target: >= 0.8x the raw baseline.
//  - SpoolVsRaw/<durability>: both interleaved one for one in one loop, in alternating
//    order (ratio counters), the robust comparison on a file system whose speed drifts.
//  - SpoolDrain: files/s drained by spool_reader from a pre-filled spool of 100,000 files.
//  - SpoolLatency: at a steady 1,000 events/s, the delay from the rename to the handler call,
//    bounded from below by write() returning (return_median_us, return_p99_us…) and from
//    above by the call of write() (encode + file operations + rename: write_median_us…).
// The spool lives under $ROWCAST_BENCH_DIR (default: the system temp directory).
#include <rowcast/codec/binary.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
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
// hits both alike. The order alternates: even iterations write the spool file first, odd
// ones the raw file first, so neither side always follows the other (a warm directory
// entry, a just-flushed journal). Counters: spool_us and raw_us (mean per event over both
// orders), ratio = raw_us / spool_us (spool throughput relative to the raw baseline; the
// target is >= 0.8), and the same ratio from each order alone: ratio_spool_first,
// ratio_raw_first (if they differ much, the order matters on this file system).
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
    // [order][side]: order 0 = spool first, 1 = raw first; side 0 = spool, 1 = raw.
    clk::duration t[2][2]{};
    std::size_t rounds[2]{};
    std::size_t n = 0;
    auto spool_write = [&] {
        if (!w.write(e)) state.SkipWithError("spool write failed");
    };
    auto raw_write = [&] {
        if (!raw_file_write(dfd, payload, n, durability)) state.SkipWithError("raw write failed");
    };
    for (auto _ : state) {
        const std::size_t order = n % 2;
        const auto t0 = clk::now();
        order == 0 ? spool_write() : raw_write();
        const auto t1 = clk::now();
        order == 0 ? raw_write() : spool_write();
        const auto t2 = clk::now();
        t[order][order] += t1 - t0;      // the side that went first is side `order`
        t[order][1 - order] += t2 - t1;
        ++rounds[order];
        if (++n % 1000 == 0) {
            state.PauseTiming();
            clear_dir(spool_dir);
            clear_dir(raw_dir);
            state.ResumeTiming();
        }
    }
    ::close(dfd);
    auto us = [](clk::duration d, std::size_t k) {
        return k ? std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(k) : 0.0;
    };
    const double spool_us = us(t[0][0] + t[1][0], n), raw_us = us(t[0][1] + t[1][1], n);
    state.counters["spool_us"] = spool_us;
    state.counters["raw_us"] = raw_us;
    state.counters["ratio"] = raw_us / spool_us;
    for (std::size_t order : {0, 1})
        if (rounds[order])
            state.counters[order == 0 ? "ratio_spool_first" : "ratio_raw_first"] =
                us(t[order][1], rounds[order]) / us(t[order][0], rounds[order]);
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

// At a steady `rate` for `seconds`, per event, the time points just before
// spool_writer::write (encode + create + write + fchmod + rename), just after it returns, and
// when the reader's handler receives the event (steady clock, one process, two threads).
// With durability none, the rename is write()'s last system call, and the file becomes
// visible somewhere inside it: the delay from the rename to the handler lies between
//  - from return: handler - write() returned: a lower bound (negative when the reader had
//    the event before the rename call returned, which happens here: the reader wakes on the
//    rename's inotify event while the writer is still inside renameat): return_median_us,
//    return_p99_us, return_max_us;
//  - from write: handler - just before write(): an upper bound, and the whole path from a
//    producer's call (encode + file operations + rename) to the consumer: write_median_us,
//    write_p99_us, write_max_us.
// write_call_median_us / write_call_p99_us: the duration of write() itself (the gap between
// the two). The spool has no hook at the rename itself to time it exactly.
void SpoolLatency(benchmark::State& state) {
    const int rate = static_cast<int>(state.range(0));
    const int seconds = static_cast<int>(state.range(1));
    const auto total = static_cast<std::size_t>(rate) * static_cast<std::size_t>(seconds);
    auto dir = bench_dir();
    using clk = std::chrono::steady_clock;
    std::vector<clk::time_point> before_write(total), after_write(total), seen(total);
    for (auto _ : state) {
        auto r = spool_reader<binary_codec>::open(quiet(dir->path())).value();
        auto w = spool_writer<binary_codec>::open({dir->path(), spool_durability::none}).value();
        std::jthread producer([&] {
            event e = test::hosts_update();
            const auto start = clk::now();
            for (std::size_t i = 0; i < total; ++i) {
                std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * static_cast<long long>(i) / rate));
                e.sequence = i;
                before_write[i] = clk::now();
                (void)w.write(e).value();
                after_write[i] = clk::now();
            }
        });
        std::size_t received = 0;
        while (received < total) {
            pollfd p{r.native_handle(), POLLIN, 0};
            ::poll(&p, 1, 100);
            (void)r.process([&](const event& ev) {
                if (ev.sequence < total) seen[ev.sequence] = clk::now();
                ++received;
            });
        }
        producer.join();  // the producer's time points are read only after this
    }
    // Median, p99 and max of to[i] - from[i] in µs, as counters <prefix>median_us…
    auto report = [&](const char* prefix, const std::vector<clk::time_point>& to,
                      const std::vector<clk::time_point>& from) {
        std::vector<double> us(total);
        for (std::size_t i = 0; i < total; ++i)
            us[i] = std::chrono::duration<double, std::micro>(to[i] - from[i]).count();
        std::sort(us.begin(), us.end());
        if (us.empty()) return;
        const std::string p = prefix;
        state.counters[p + "median_us"] = us[us.size() / 2];
        state.counters[p + "p99_us"] = us[us.size() * 99 / 100];
        state.counters[p + "max_us"] = us.back();
    };
    report("return_", seen, after_write);
    report("write_", seen, before_write);
    report("write_call_", after_write, before_write);
}

}  // namespace

BENCHMARK(SpoolWrite)->ArgName("durability")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(RawFileOps)->ArgName("durability")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(SpoolVsRaw)->ArgName("durability")->DenseRange(0, 2)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(SpoolDrain)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(SpoolLatency)->Args({1000, 5})->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
