// rowcast-bench-dns: spool-to-zone throughput with batching beside BIND's single-update rate,
// measured in the same run against one private named on loopback (tests/support/named_server.hpp),
// and the delay from an event entering the spool to its name resolving at named at a steady rate.
//
//   rowcast-bench-dns [--events N] [--single N] [--rate R] [--seconds S] [--records-per-message N]
//
//   single-update rate  the dns::client sending one A record per UPDATE message, sequentially
//                       (what nsupdate does: BIND fsyncs its journal per message)
//   spool to zone       N insert events (A + PTR each) written to a spool with spool_writer, then
//                       drained by spool_reader + dns::sink (max_batch 500), as rowcast-dns does
//   delay               R events/s for S seconds; per event: from spool_writer::write returning to
//                       the first answer of named holding the name (median, p99)
// Prints one line per figure; --smoke runs tiny sizes (ctest) and checks only that all worked.
#include "support/named_server.hpp"
#include "support/temp_dir.hpp"

#include <rowcast/codec/binary.hpp>
#include <rowcast/dns/client.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>

namespace dns = rowcast::dns;
using clk = std::chrono::steady_clock;

namespace {

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

}  // namespace

int main(int argc, char** argv) {
    int events = 20000, single = 2000, rate = 200, secs = 10, per_message = 0;
    bool smoke = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto num = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
        if (a == "--events") events = num();
        else if (a == "--single") single = num();
        else if (a == "--rate") rate = num();
        else if (a == "--seconds") secs = num();
        else if (a == "--records-per-message") per_message = num();
        else if (a == "--smoke") smoke = true;
        else {
            std::fprintf(stderr, "usage: rowcast-bench-dns [--events N] [--single N] [--rate R] [--seconds S] "
                                 "[--records-per-message N] [--smoke]\n");
            return 2;
        }
    }
    if (smoke) events = 300, single = 50, rate = 100, secs = 1;
    rowcast::test::named_server ns;
    auto key = dns::find_key(dns::load_key_file(ns.key_file()).value()).value();
    dns::client_options co;
    co.port = static_cast<std::uint16_t>(ns.port());
    co.key = key;

    // 1. One record per message.
    dns::client c(co);
    auto t0 = clk::now();
    for (int i = 0; i < single; ++i) {
        dns::update_message u("example.test");
        u.add("single" + std::to_string(i) + ".example.test", dns::rr_type::a, 300, dns::rdata::a("192.0.2.1").value());
        if (auto r = c.send_update(u); !r) {
            std::fprintf(stderr, "single update failed: %s\n", r.error_value().message.c_str());
            return 1;
        }
    }
    const double single_rate = single / seconds_since(t0);
    std::printf("single-update rate (1 A per UPDATE, UDP, sequential): %.0f records/s (%d messages)\n", single_rate, single);

    // 2. Spool to zone.
    dns::sink_options so;
    so.tables = {{"inventory", "hosts", "hostname", "ip", ""}};
    so.forward_zones = {"example.test"};
    so.reverse_zones = {"10.in-addr.arpa"};
    if (per_message > 0) so.max_records_per_message = static_cast<std::size_t>(per_message);
    auto sink = dns::sink::create(so, co).value();
    rowcast::test::temp_dir spool("rowcast-bench-dns");
    {
        auto w = rowcast::spool_writer<rowcast::binary_codec>::open({spool.path(), rowcast::spool_durability::none}).value();
        for (int i = 0; i < events; ++i) (void)w.write(insert_event(i, "bulk")).value();
    }
    rowcast::spool_reader_options ro;
    ro.directory = spool.path();
    ro.max_batch = 500;
    auto reader = rowcast::spool_reader<rowcast::binary_codec>::open(ro).value();
    std::uint64_t done = 0;
    auto handler = [&](std::span<const rowcast::event> b) -> rowcast::result<void> {
        auto r = sink.apply(b);
        if (r) done += b.size();
        else std::fprintf(stderr, "batch failed: %s\n", r.error_value().message.c_str());
        return r;
    };
    t0 = clk::now();
    while (done < static_cast<std::uint64_t>(events)) {
        auto n = reader.process(handler);
        if (!n) return 1;
        if (*n == 0 && seconds_since(t0) > 600) return 1;
    }
    const double spool_rate = events / seconds_since(t0);
    std::printf("spool to zone (insert = A + PTR, batches of 500): %.0f events/s (%d events, %llu messages) = %.1fx the "
                "single-update rate\n",
                spool_rate, events, static_cast<unsigned long long>(sink.stats().messages), spool_rate / single_rate);

    // 3. Delay at a steady rate.
    std::atomic<bool> stop{false};
    std::thread consumer([&] {
        while (!stop) {
            (void)reader.process(handler);
            pollfd p{reader.native_handle(), POLLIN, 0};
            ::poll(&p, 1, 5);
        }
    });
    auto w = rowcast::spool_writer<rowcast::binary_codec>::open({spool.path(), rowcast::spool_durability::none}).value();
    const int total = rate * secs;
    std::vector<clk::time_point> written(static_cast<std::size_t>(total));
    std::atomic<int> produced{0};
    std::thread producer([&] {
        const auto start = clk::now();
        for (int i = 0; i < total; ++i) {
            std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / rate));
            (void)w.write(insert_event(1000000 + i, "lat")).value();
            written[static_cast<std::size_t>(i)] = clk::now();
            produced.store(i + 1, std::memory_order_release);
        }
    });
    dns::client q(co);
    std::vector<double> delays;
    for (int i = 0; i < total; ++i) {
        const std::string name = "lat" + std::to_string(1000000 + i) + ".example.test";
        while (produced.load(std::memory_order_acquire) <= i) std::this_thread::sleep_for(std::chrono::microseconds(100));
        for (;;) {
            auto r = q.lookup(name, dns::rr_type::a);
            if (r && !r->empty()) break;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        delays.push_back(std::chrono::duration<double, std::milli>(clk::now() - written[static_cast<std::size_t>(i)]).count());
    }
    producer.join();
    stop = true;
    consumer.join();
    std::sort(delays.begin(), delays.end());
    auto pct = [&](double p) { return delays[std::min(delays.size() - 1, static_cast<std::size_t>(p * static_cast<double>(delays.size())))]; };
    std::printf("delay spool write -> name resolves at %d events/s for %d s: median %.2f ms, p99 %.2f ms, max %.2f ms\n", rate,
                secs, pct(0.5), pct(0.99), delays.back());
    return 0;
}
