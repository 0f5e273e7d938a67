// rowcast-bench-dns (issue 4 §5), Google Benchmark: spool-to-zone throughput with batching beside
// BIND's single-update rate, measured in the same run against one private named on loopback
// (tests/support/named_server.hpp), and the delay from a change to its name resolving at named at a
// steady rate. Each benchmark runs once (Iterations(1), manual time = the measured span); the
// figures are counters:
//
//   SingleUpdate       the dns::client sending one A record per UPDATE message, sequentially (what
//                      nsupdate does: BIND fsyncs its journal per message): records_per_s
//   SpoolToZone        N insert events (A + PTR each) written to a spool with spool_writer, then
//                      drained by spool_reader + dns::sink (max_batch 500), as rowcast-dns does
//                      (the clock runs over the drain only, not the spool writes): events_per_s,
//                      records_per_s (records put in the zones: 2 per event), update_rrs_per_s
//                      (every RR of the UPDATE sections, the sink's `records` counter), messages,
//                      and ratio_to_single = records_per_s / SingleUpdate's records_per_s of the
//                      same run, records against records (the target: >= 10)
//   DelaySpoolWrite    R events/s for S seconds; per event: from spool_writer::write returning to
//                      the first answer of named holding the name: median_ms, p99_ms, max_ms
//   DelayInsertCommit  (built with MariaDB, the UDF and rowcast-dns) the whole path: a private
//                      MariaDB with rowcast_udf and the generated triggers on inventory.hosts, the
//                      rowcast-dns binary (a separate process) applying the spool; R INSERTs/s
//                      (autocommit) for S seconds; per row: from the INSERT's commit returning to
//                      the name resolving at named: median_ms, p99_ms, max_ms (target: p99 < 100)
//
//   rowcast-bench-dns [--events N] [--single N] [--rate R] [--seconds S] [--records-per-message N]
//                     [--smoke] [Google Benchmark flags, e.g. --benchmark_format=json]
// --smoke runs tiny sizes (ctest) and fails only if something does not work.
#include "support/named_server.hpp"
#include "support/temp_dir.hpp"
#if ROWCAST_BENCH_WITH_UDF
#include "support/process.hpp"
#include "support/udf_server.hpp"
#endif

#include <rowcast/codec/binary.hpp>
#include <rowcast/dns/client.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>

namespace dns = rowcast::dns;
using clk = std::chrono::steady_clock;

namespace {

struct settings {
    int events = 20000, single = 2000, rate = 200, secs = 10, per_message = 0;
};
settings g;
std::unique_ptr<rowcast::test::named_server> g_named;
dns::client_options g_client;
double g_single_rate = 0;  // SingleUpdate's figure, for SpoolToZone's ratio
bool g_failed = false;     // a benchmark could not measure (exit 1)

void fail(benchmark::State& state, const std::string& why) {
    g_failed = true;
    state.SkipWithError(why.c_str());
}

rowcast::columns_ptr cols() {
    static const auto c = rowcast::make_columns({{"id", {}}, {"hostname", {}}, {"ip", {}}});
    return c;
}

rowcast::event insert_event(int i, const std::string& prefix) {
    rowcast::event e;
    e.kind = rowcast::event_kind::insert;
    e.schema = "inventory";
    e.table = "hosts";
    e.columns = cols();
    e.after = {rowcast::value(std::int64_t{i}), rowcast::value(rowcast::text{prefix + std::to_string(i)}),
               rowcast::value(rowcast::text{"10." + std::to_string((i >> 16) & 255) + "." +
                                            std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255)})};
    return e;
}

double seconds_since(clk::time_point t) { return std::chrono::duration<double>(clk::now() - t).count(); }

// Polls named until `name` has an A record; false after `limit` (a liveness guard, not a measure).
bool wait_resolves(dns::client& q, const std::string& name, std::chrono::seconds limit = std::chrono::seconds(120)) {
    const auto give_up = clk::now() + limit;
    for (;;) {
        auto r = q.lookup(name, dns::rr_type::a);
        if (r && !r->empty()) return true;
        if (clk::now() > give_up) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

// The delay figures of one steady-rate run: `start(i)` makes change i (returns false on failure)
// and the time it counts from is taken when it returns; `name(i)` is the name that must resolve.
void steady_rate_delays(benchmark::State& state, const std::function<bool(int)>& start,
                        const std::function<std::string(int)>& name) {
    const int total = g.rate * g.secs;
    std::vector<clk::time_point> made(static_cast<std::size_t>(total));
    std::atomic<int> produced{0};
    std::atomic<bool> failed{false};
    const auto t0 = clk::now();
    std::thread producer([&] {
        for (int i = 0; i < total && !failed; ++i) {
            std::this_thread::sleep_until(t0 + std::chrono::microseconds(1000000LL * i / g.rate));
            if (!start(i)) failed = true;
            made[static_cast<std::size_t>(i)] = clk::now();
            produced.store(i + 1, std::memory_order_release);
        }
        produced.store(total, std::memory_order_release);
    });
    dns::client q(g_client);
    std::vector<double> ms;
    for (int i = 0; i < total && !failed; ++i) {
        while (produced.load(std::memory_order_acquire) <= i) std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (failed) break;
        if (!wait_resolves(q, name(i))) {
            failed = true;
            break;
        }
        ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - made[static_cast<std::size_t>(i)]).count());
    }
    producer.join();
    if (failed || ms.empty()) {
        fail(state, "a change did not reach named (see the messages above)");
        return;
    }
    state.SetIterationTime(seconds_since(t0));
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(ms.size())))]; };
    state.counters["rate_per_s"] = g.rate;
    state.counters["changes"] = static_cast<double>(ms.size());
    state.counters["median_ms"] = pct(0.5);
    state.counters["p99_ms"] = pct(0.99);
    state.counters["max_ms"] = ms.back();
}

void SingleUpdate(benchmark::State& state) {
    dns::client c(g_client);
    for (auto _ : state) {
        const auto t0 = clk::now();
        for (int i = 0; i < g.single; ++i) {
            dns::update_message u("example.test");
            u.add("single" + std::to_string(i) + ".example.test", dns::rr_type::a, 300, dns::rdata::a("192.0.2.1").value());
            if (auto r = c.send_update(u); !r) {
                fail(state, "single update failed: " + r.error_value().message);
                return;
            }
        }
        const double s = seconds_since(t0);
        state.SetIterationTime(s);
        g_single_rate = g.single / s;
    }
    state.counters["records_per_s"] = g_single_rate;
    state.counters["messages"] = g.single;
}

dns::sink make_sink() {
    dns::sink_options so;
    so.tables = {{"inventory", "hosts", "hostname", "ip", ""}};
    so.forward_zones = {"example.test"};
    so.reverse_zones = {"10.in-addr.arpa"};
    if (g.per_message > 0) so.max_records_per_message = static_cast<std::size_t>(g.per_message);
    return dns::sink::create(so, g_client).value();
}

void SpoolToZone(benchmark::State& state) {
    auto sink = make_sink();
    rowcast::test::temp_dir spool("rowcast-bench-dns");
    for (auto _ : state) {
        {
            auto w = rowcast::spool_writer<rowcast::binary_codec>::open({spool.path(), rowcast::spool_durability::none}).value();
            for (int i = 0; i < g.events; ++i) (void)w.write(insert_event(i, "bulk")).value();
        }
        rowcast::spool_reader_options ro;
        ro.directory = spool.path();
        ro.max_batch = 500;
        auto reader = rowcast::spool_reader<rowcast::binary_codec>::open(ro).value();
        std::uint64_t done = 0;
        std::string failure;
        auto handler = [&](std::span<const rowcast::event> b) -> rowcast::result<void> {
            auto r = sink.apply(b);
            if (r) done += b.size();
            else failure = r.error_value().message;
            return r;
        };
        const auto before = sink.stats();
        const auto t0 = clk::now();
        while (done < static_cast<std::uint64_t>(g.events) && failure.empty()) {
            auto n = reader.process(handler);
            if (!n) failure = n.error_value().message;
        }
        if (!failure.empty()) {
            fail(state, "spool to zone failed: " + failure);
            return;
        }
        const double secs = seconds_since(t0);
        state.SetIterationTime(secs);
        // Each insert puts two records in the zones (A and PTR; fewer only if an address
        // falls outside the reverse zones, counted by ptr_skipped): the ratio compares
        // records/s with SingleUpdate's records/s (one A per message), like for like.
        const auto& st = sink.stats();
        const double records = 2.0 * g.events - static_cast<double>(st.ptr_skipped - before.ptr_skipped);
        const double records_rate = records / secs;
        state.counters["events_per_s"] = g.events / secs;
        state.counters["records_per_s"] = records_rate;
        state.counters["update_rrs_per_s"] = static_cast<double>(st.records - before.records) / secs;
        state.counters["messages"] = static_cast<double>(st.messages - before.messages);
        if (g_single_rate > 0) state.counters["ratio_to_single"] = records_rate / g_single_rate;
    }
}

void DelaySpoolWrite(benchmark::State& state) {
    auto sink = make_sink();
    rowcast::test::temp_dir spool("rowcast-bench-dns-delay");
    rowcast::spool_reader_options ro;
    ro.directory = spool.path();
    ro.max_batch = 500;
    auto reader = rowcast::spool_reader<rowcast::binary_codec>::open(ro).value();
    auto w = rowcast::spool_writer<rowcast::binary_codec>::open({spool.path(), rowcast::spool_durability::none}).value();
    for (auto _ : state) {
        std::atomic<bool> stop{false};
        std::thread consumer([&] {
            auto handler = [&](std::span<const rowcast::event> b) { return sink.apply(b); };
            while (!stop) {
                (void)reader.process(handler);
                pollfd p{reader.native_handle(), POLLIN, 0};
                ::poll(&p, 1, 5);
            }
        });
        steady_rate_delays(
            state, [&](int i) { return static_cast<bool>(w.write(insert_event(1000000 + i, "lat"))); },
            [](int i) { return "lat" + std::to_string(1000000 + i) + ".example.test"; });
        stop = true;
        consumer.join();
    }
}

#if ROWCAST_BENCH_WITH_UDF
void DelayInsertCommit(benchmark::State& state) {
    rowcast::test::udf_server db({"codec = binary", "durability = none"});
    auto c = db.connect();
    c.query("CREATE DATABASE inventory");
    c.query("CREATE TABLE inventory.hosts (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, mac CHAR(17) NULL, "
            "ip VARCHAR(45) NULL, hostname VARCHAR(255) NOT NULL)");
    auto tool = rowcast::test::run_triggers_tool(
        {"--socket", db.server().socket().string(), "-u", "root", "--apply", "inventory", "hosts"}, db.server().dir());
    if (tool.exit_code != 0) {
        fail(state, "rowcast-triggers failed: " + tool.err);
        return;
    }
    const auto cfg = db.server().dir() / "rowcast-dns.yaml";
    std::ofstream(cfg) << "server: 127.0.0.1\nport: " << g_named->port() << "\nkey_file: " << g_named->key_file().string()
                       << "\nforward_zones: [example.test]\nreverse_zones: [10.in-addr.arpa]\n"
                       << "tables:\n  - {schema: inventory, table: hosts, host_column: hostname, address_column: ip}\n"
                       << "spool:\n  directory: " << db.spool().string() << "\n  codec: binary\n  max_batch: 500\n";
    const auto log = db.server().dir() / "rowcast-dns.log";
    auto daemon = rowcast::test::process::start({{ROWCAST_DNS_EXE, cfg.string()}, {}, log, {}});
    auto writer = db.connect();
    for (auto _ : state) {
        steady_rate_delays(
            state,
            [&](int i) {
                try {
                    writer.query("INSERT INTO inventory.hosts (ip, hostname) VALUES ('10.200." + std::to_string(i / 250) +
                                 "." + std::to_string(i % 250 + 1) + "', 'commit" + std::to_string(i) + "')");
                    return true;
                } catch (const std::exception& e) {
                    std::fprintf(stderr, "INSERT failed: %s\n", e.what());
                    return false;
                }
            },
            [](int i) { return "commit" + std::to_string(i) + ".example.test"; });
    }
    if (daemon.stop(SIGTERM) != 0) std::fprintf(stderr, "rowcast-dns did not stop cleanly; its log: %s\n", log.c_str());
}
#endif

}  // namespace

BENCHMARK(SingleUpdate)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(SpoolToZone)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(DelaySpoolWrite)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
#if ROWCAST_BENCH_WITH_UDF
BENCHMARK(DelayInsertCommit)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
#endif

int main(int argc, char** argv) {
    std::vector<char*> args{argv[0]};
    bool smoke = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto num = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
        if (a == "--events") g.events = num();
        else if (a == "--single") g.single = num();
        else if (a == "--rate") g.rate = num();
        else if (a == "--seconds") g.secs = num();
        else if (a == "--records-per-message") g.per_message = num();
        else if (a == "--smoke") smoke = true;
        else args.push_back(argv[i]);
    }
    if (smoke) g = {300, 50, 100, 1, g.per_message};
    if (g.events <= 0 || g.single <= 0 || g.rate <= 0 || g.secs <= 0) {
        std::fprintf(stderr, "rowcast-bench-dns: --events, --single, --rate and --seconds must be positive\n");
        return 2;
    }
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
    g_named = std::make_unique<rowcast::test::named_server>();
    g_client.port = static_cast<std::uint16_t>(g_named->port());
    g_client.key = dns::find_key(dns::load_key_file(g_named->key_file()).value()).value();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    g_named.reset();
    return g_failed ? 1 : 0;
}
