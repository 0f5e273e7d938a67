// bench/snapshot_bench.cpp: the initial snapshot (issue 16 §6) against `mariadb-dump
// --single-transaction` of the same table to /dev/null, in the same run, on a private MariaDB
// (tests/support/mariadb_server.hpp).
//
//   Snapshot      rowcast::snapshot::initial_snapshot, chunks of 4096 rows, every row encoded
//                 with the binary codec to /dev/null (stream_sink): rows/s
//   MariadbDump   mariadb-dump --single-transaction (a spawned process) to /dev/null: rows/s
//   Memory        the peak of live heap bytes (this binary counts operator new/delete) while
//                 snapshotting a table of N/10 rows and one of N rows: equal peaks = memory
//                 independent of the table size
//
// Rows: ROWCAST_BENCH_SNAPSHOT_ROWS (default 100,000; the figure is 1,000,000);
// --smoke (the ctest smoke test) uses 2,000 and runs each benchmark once. Never a threshold.
#include "bench_main.hpp"
#include "support/mariadb_server.hpp"
#include "support/process.hpp"

#include <rowcast/codec/binary.hpp>
#include <rowcast/snapshot/initial.hpp>
#include <rowcast/transport/stream_sink.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

// ---- live heap bytes: every operator new/delete of this binary ---------------------------
namespace {
std::atomic<long long> g_live{0}, g_peak{0};
void note_alloc(void* p) {
    if (!p) return;
    const long long now = g_live.fetch_add(static_cast<long long>(malloc_usable_size(p))) +
                          static_cast<long long>(malloc_usable_size(p));
    long long peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
}
void note_free(void* p) {
    if (p) g_live.fetch_sub(static_cast<long long>(malloc_usable_size(p)));
}
}  // namespace

void* operator new(std::size_t n) {
    void* p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    note_alloc(p);
    return p;
}
void operator delete(void* p) noexcept {
    note_free(p);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    note_free(p);
    std::free(p);
}

namespace {

using namespace rowcast;

test::mariadb_server* g_server = nullptr;
std::size_t g_rows = 100000;

mysql::connect_options conn() {
    mysql::connect_options c;
    c.socket = g_server->socket().string();
    c.user = "root";
    return c;
}

// One snapshot of `table` to /dev/null; returns the rows read.
std::uint64_t snapshot_once(const std::string& table) {
    snapshot::options o;
    o.connection = conn();
    o.tables = {table};
    o.chunk_rows = 4096;
    snapshot::initial_snapshot s(o);
    const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    {
        stream_sink out(fd, binary_codec{});
        std::stop_source stop;
        auto r = s.run(out, stop.get_token());
        if (!r) throw std::runtime_error(r.error_value().message);
    }
    ::close(fd);
    return s.stats().rows;
}

void Snapshot(benchmark::State& state) {
    std::uint64_t rows = 0;
    for (auto _ : state) rows += snapshot_once("bench.t");
    state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}

void MariadbDump(benchmark::State& state) {
    for (auto _ : state) {
        const int rc = test::run_process({{ROWCAST_BENCH_MARIADB_DUMP, "--defaults-file=" + g_server->config_file().string(),
                                           "--single-transaction", "bench", "t"},
                                          {},
                                          {},
                                          "/dev/null"});
        if (rc != 0) {
            state.SkipWithError(("mariadb-dump exited " + std::to_string(rc)).c_str());
            return;
        }
    }
    state.counters["rows_per_s"] =
        benchmark::Counter(static_cast<double>(g_rows * state.iterations()), benchmark::Counter::kIsRate);
}

void Memory(benchmark::State& state) {
    for (auto _ : state) {
        for (const char* t : {"bench.small", "bench.t"}) {
            g_peak.store(g_live.load());
            const long long base = g_live.load();
            snapshot_once(t);
            state.counters[std::string(t == std::string("bench.t") ? "full" : "tenth") + "_peak_heap_KiB"] =
                static_cast<double>(g_peak.load() - base) / 1024;
        }
    }
    state.counters["rows_full"] = static_cast<double>(g_rows);
}

}  // namespace

int main(int argc, char** argv) {
    auto s = bench::parse_run(argc, argv, "ROWCAST_BENCH_SNAPSHOT_ROWS", 100000, 0.5);
    if (s.smoke && !std::getenv("ROWCAST_BENCH_SNAPSHOT_ROWS")) s.events = 2000;
    g_rows = s.events;
    test::mariadb_server server;
    g_server = &server;
    {
        auto c = server.connect();
        c.query("CREATE DATABASE bench");
        const std::string cols = "(id INT PRIMARY KEY, a VARCHAR(40), b BIGINT, c DATETIME(6), d DOUBLE, e TEXT)";
        c.query("CREATE TABLE bench.t " + cols);
        c.query("CREATE TABLE bench.small " + cols);
        const std::string fill = " SELECT seq, CONCAT('name-', seq), seq * 7919, '2024-01-01 00:00:00' + INTERVAL seq SECOND,"
                                 " seq / 3, REPEAT('x', seq % 50) FROM bench.seq_1_to_";
        c.query("INSERT INTO bench.t" + fill + std::to_string(g_rows));
        c.query("INSERT INTO bench.small" + fill + std::to_string(std::max<std::size_t>(g_rows / 10, 1)));
    }
    benchmark::RegisterBenchmark("Snapshot", Snapshot)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(s.min_time);
    benchmark::RegisterBenchmark("MariadbDump", MariadbDump)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(s.min_time);
    benchmark::RegisterBenchmark("Memory", Memory)->Iterations(1)->Unit(benchmark::kMillisecond);
    bench::run_registered(s);
    return 0;
}
