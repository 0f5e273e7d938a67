// NATS JetStream benchmarks (issue 13 §5), against a private 3-node nats-server cluster
// (tests/support/nats_server.hpp) started by this binary:
//  - PublishVsRaw/<replicas>: events/s through nats::producer<binary_codec> (encode, subject,
//    message id and headers, asynchronous publish, every acknowledgement awaited) beside a raw
//    cnats loop publishing the same bytes (the same payloads and headers, prepared before the
//    timing) with js_PublishMsgAsync and the same in-flight window, then
//    js_PublishAsyncComplete; both interleaved in every iteration. Counters rowcast_eps,
//    raw_eps and ratio (rowcast's rate / raw rate; target >= 0.8).
//  - Consume: events/s through nats::consumer (fetch, decode, sink, acknowledgement) from a
//    stream of the same events, a fresh durable consumer per iteration.
//  - Delay: a producer thread publishing at a steady 2,000 events/s while the consumer
//    delivers them to a sink: source-to-sink delay counters p50_us and p99_us (the event's
//    capture_time is stamped when the producer writes it).
// `--smoke` runs each once, briefly (the ctest smoke test: never a timing threshold);
// ROWCAST_BENCH_NATS_EVENTS sets the events per iteration (default 20,000).
#include <rowcast/codec/binary.hpp>
#include <rowcast/nats/consumer.hpp>
#include <rowcast/nats/producer.hpp>

#include "bench_main.hpp"
#include "support/nats_server.hpp"
#include "support/sample_events.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace rowcast;
namespace dn = rowcast::detail::nats;

namespace {

std::size_t events_per_iteration = 20000;
std::unique_ptr<test::nats_cluster> cluster;
int iteration_counter = 0;

test::nats_cluster& the_cluster() {
    if (!cluster) cluster = std::make_unique<test::nats_cluster>(3);
    return *cluster;
}

// The events: small inserts and host updates at distinct binlog positions.
std::vector<event> make_events(std::size_t n) {
    std::vector<event> v;
    v.reserve(n);
    const event a = test::small_insert(), b = test::hosts_update();
    for (std::size_t i = 0; i < n; ++i) {
        event e = i % 2 ? b : a;
        e.source.offset = 4 + i * 100;
        e.sequence = i + 1;
        v.push_back(std::move(e));
    }
    return v;
}

nats::producer_options producer_opts(const std::string& stream, const std::string& prefix, int replicas,
                                     const std::string& origin) {
    nats::producer_options o;
    o.connection = the_cluster().options();
    o.stream = {.name = stream, .subjects = {prefix + ".>"}, .replicas = replicas};
    o.subject_template = prefix + ".<schema>.<table>";
    o.origin = origin;
    o.max_in_flight = 4096;
    return o;
}

// A raw cnats publisher: the same messages, prepared in advance.
struct raw_message {
    std::string subject, payload;
    std::vector<std::pair<std::string, std::string>> headers;
};
std::vector<raw_message> prepare_raw(const std::vector<event>& events, const std::string& prefix,
                                     const std::string& origin) {
    std::vector<raw_message> out;
    binary_codec codec;
    auto tmpl = dn::subject_template::parse(prefix + ".<schema>.<table>").value();
    std::string prev;  // the producer's order chain: each message names the one before (none first)
    for (const event& e : events) {
        raw_message m;
        tmpl.expand(e.schema, e.table, m.subject);
        codec.encode(e, m.payload);
        std::string id = dn::msg_id(e, origin).value();
        m.headers = {{"Nats-Msg-Id", id},
                     {"Nats-Expected-Last-Msg-Id", prev},
                     {"Rowcast-Codec", "binary"},
                     {"Rowcast-Kind", std::string(to_string(e.kind))},
                     {"Rowcast-Position", dn::position_header(e)},
                     {"Rowcast-Transaction", e.transaction.id},
                     {"Rowcast-Key", dn::key_header(e)}};
        prev = std::move(id);
        out.push_back(std::move(m));
    }
    return out;
}

std::atomic<std::uint64_t> raw_acks{0};
void raw_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr*, void*) {
    if (pa) ++raw_acks;
    natsMsg_Destroy(msg);
}

// Publishes `msgs` with js_PublishMsgAsync and waits for every acknowledgement; false on an error.
bool raw_publish(const nats::connection& c, const std::vector<raw_message>& msgs) {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 4096;
    jo.PublishAsync.AckHandler = &raw_ack;
    auto js = c.jetstream(&jo);
    if (!js) return false;
    raw_acks = 0;
    for (const auto& m : msgs) {
        natsMsg* msg = nullptr;
        if (natsMsg_Create(&msg, m.subject.c_str(), nullptr, m.payload.data(), static_cast<int>(m.payload.size())) != NATS_OK)
            return false;
        for (const auto& [k, v] : m.headers)
            if (!v.empty()) natsMsgHeader_Set(msg, k.c_str(), v.c_str());
        if (js_PublishMsgAsync(js->get(), &msg, nullptr) != NATS_OK) {
            natsMsg_Destroy(msg);
            return false;
        }
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    return js_PublishAsyncComplete(js->get(), &po) == NATS_OK && raw_acks == msgs.size();
}

using seconds_d = std::chrono::duration<double>;

void PublishVsRaw(benchmark::State& state) {
    const int replicas = static_cast<int>(state.range(0));
    const std::string stream = "PUB" + std::to_string(replicas);
    const std::string prefix = "bench" + std::to_string(replicas);
    const auto events = make_events(events_per_iteration);
    auto conn = nats::connection::connect(the_cluster().options()).value();
    double t_rowcast = 0, t_raw = 0;
    for (auto _ : state) {
        const int it = ++iteration_counter;
        const auto raw = prepare_raw(events, prefix, "raw" + std::to_string(it));
        auto p = nats::producer<binary_codec>::open(producer_opts(stream, prefix, replicas, "rc" + std::to_string(it)));
        if (!p) {
            state.SkipWithError(p.error_value().message.c_str());
            return;
        }
        auto run_rowcast = [&]() -> double {
            const auto t0 = std::chrono::steady_clock::now();
            for (const auto& e : events)
                if (auto r = p->write(e); !r) {
                    state.SkipWithError(r.error_value().message.c_str());
                    return -1;
                }
            if (auto f = p->flush(); !f) {
                state.SkipWithError(f.error_value().message.c_str());
                return -1;
            }
            return seconds_d(std::chrono::steady_clock::now() - t0).count();
        };
        auto run_raw = [&]() -> double {
            const auto t0 = std::chrono::steady_clock::now();
            if (!raw_publish(conn, raw)) {
                state.SkipWithError("raw cnats publish failed");
                return -1;
            }
            return seconds_d(std::chrono::steady_clock::now() - t0).count();
        };
        double a = 0, b = 0;
        if (it % 2) {  // alternate which goes first: neither gets a warmer cache or a smaller stream
            a = run_rowcast();
            b = a < 0 ? -1 : run_raw();
        } else {
            b = run_raw();
            a = b < 0 ? -1 : run_rowcast();
        }
        if (a < 0 || b < 0) return;
        t_rowcast += a;
        t_raw += b;
        state.SetIterationTime(a + b);
    }
    const double n = static_cast<double>(events.size()) * static_cast<double>(state.iterations());
    state.counters["rowcast_eps"] = n / t_rowcast;
    state.counters["raw_eps"] = n / t_raw;
    state.counters["ratio"] = t_raw / t_rowcast;
    state.SetItemsProcessed(static_cast<std::int64_t>(2 * n));
}

void Consume(benchmark::State& state) {
    const auto events = make_events(events_per_iteration);
    {
        auto p = nats::producer<binary_codec>::open(producer_opts("CONS", "benchc", 1, "c")).value();
        for (const auto& e : events) p.write(e).value();
        p.flush().value();
    }
    std::uint64_t total = 0;
    for (auto _ : state) {
        nats::consumer_options o;
        o.connection = the_cluster().options();
        o.stream = "CONS";
        o.durable = "bench" + std::to_string(++iteration_counter);
        o.batch = 512;
        auto c = nats::consumer<binary_codec>::open(o).value();
        std::uint64_t got = 0;
        callback_sink count([&](const event&) { ++got; });
        while (got < events.size())
            if (auto r = c.process(count); !r) {
                state.SkipWithError(r.error_value().message.c_str());
                return;
            }
        total += got;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(total));
}

void Delay(benchmark::State& state) {
    const std::size_t n = std::min<std::size_t>(events_per_iteration / 5, 2000);
    for (auto _ : state) {
        const int it = ++iteration_counter;
        const std::string stream = "LAT" + std::to_string(it), prefix = "benchl" + std::to_string(it);
        auto p = nats::producer<binary_codec>::open(producer_opts(stream, prefix, 3, "l")).value();
        nats::consumer_options o;
        o.connection = the_cluster().options();
        o.stream = stream;
        o.durable = "lat";
        o.fetch_wait = std::chrono::milliseconds(20);
        auto c = nats::consumer<binary_codec>::open(o).value();
        std::vector<std::int64_t> delays;
        delays.reserve(n);
        callback_sink sink([&](const event& e) {
            const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
            delays.push_back((now - e.capture_time).count());
        });
        auto events = make_events(n);
        if (auto r = c.process(sink); !r) {  // creates the durable consumer before the clock starts
            state.SkipWithError(r.error_value().message.c_str());
            return;
        }
        std::thread producer([&] {
            const auto start = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < n; ++i) {
                std::this_thread::sleep_until(start + std::chrono::microseconds(500 * i));  // 2,000 events/s
                events[i].capture_time =
                    std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
                (void)p.write(events[i]);
            }
            (void)p.flush();
        });
        while (delays.size() < n)
            if (auto r = c.process(sink); !r) break;
        producer.join();
        std::sort(delays.begin(), delays.end());
        if (delays.empty()) {
            state.SkipWithError("no event arrived");
            return;
        }
        state.counters["p50_us"] = static_cast<double>(delays[delays.size() / 2]);
        state.counters["p99_us"] = static_cast<double>(delays[delays.size() * 99 / 100]);
        state.SetItemsProcessed(static_cast<std::int64_t>(delays.size()));
    }
}

}  // namespace


int main(int argc, char** argv) {
    auto run = rowcast::bench::parse_run(argc, argv, "ROWCAST_BENCH_NATS_EVENTS", events_per_iteration, 3.0);
    events_per_iteration = run.events;
    const double t = run.min_time;
    benchmark::RegisterBenchmark("PublishVsRaw", PublishVsRaw)->Arg(1)->Arg(3)->UseManualTime()->MinTime(t)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("Consume", Consume)->MinTime(t)->UseRealTime()->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("Delay", Delay)->Iterations(1)->Unit(benchmark::kMillisecond);
    rowcast::bench::run_registered(run);
    cluster.reset();
    return 0;
}
