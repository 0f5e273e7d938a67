// Spread benchmarks (issue 12 §4), against the test daemon of tests/support/spread_daemon.hpp
// started by this binary (loopback TCP; the daemon is a test peer, not Spread itself):
//  - SendVsRaw: events/s written by spread::producer<binary_codec> (encode, group name,
//    envelope, message header, send) beside raw ::send() calls of the very same bytes (the
//    frames the producer writes, prepared before the timing) on a loopback TCP connection to
//    a thread that reads and discards them; both in every iteration. Counters rowcast_eps,
//    raw_eps and ratio (rowcast / raw).
//  - Through: events/s from spread::producer through the daemon to spread::consumer (decode,
//    sink): a producer thread writes, the consumer's process() delivers to a counting sink.
// `--smoke` runs each once, briefly (the ctest smoke test: never a timing threshold);
// ROWCAST_BENCH_SPREAD_EVENTS sets the events per iteration (default 20,000).
#include <rowcast/codec/binary.hpp>
#include <rowcast/spread/consumer.hpp>
#include <rowcast/spread/detail/fragment.hpp>
#include <rowcast/spread/detail/wire.hpp>
#include <rowcast/spread/producer.hpp>

#include "bench_main.hpp"
#include "support/sample_events.hpp"
#include "support/spread_daemon.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

using namespace rowcast;
namespace ds = rowcast::detail::spread;

namespace {

std::size_t events_per_iteration = 20000;
std::unique_ptr<test::spread_daemon> daemon_ptr;
int names = 0;

test::spread_daemon& the_daemon() {
    if (!daemon_ptr) daemon_ptr = std::make_unique<test::spread_daemon>();
    return *daemon_ptr;
}

spread::client_options client_opts(const char* prefix) {
    spread::client_options o;
    o.port = static_cast<std::uint16_t>(the_daemon().port());
    o.name = prefix + std::to_string(++names);
    o.membership = false;
    return o;
}

std::vector<event> make_events(std::size_t n) {
    std::vector<event> v;
    v.reserve(n);
    const event a = test::small_insert(), b = test::hosts_update();
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back(i % 2 ? b : a);
        v.back().sequence = i + 1;
    }
    return v;
}

const std::string tmpl = "rc.<schema>.<table>";
std::vector<std::string> groups_of(const std::vector<event>& events) {
    return {spread::group_name(tmpl, events[0].schema, events[0].table), spread::group_name(tmpl, events[1].schema, events[1].table)};
}

// The frames the producer writes for `events` (private group `pg`), one string each.
std::vector<std::string> frames(const std::vector<event>& events, const std::string& pg) {
    std::vector<std::string> out;
    binary_codec codec;
    std::uint64_t seq[2] = {0, 0};
    for (std::size_t i = 0; i < events.size(); ++i) {
        const std::string payload = encode(codec, events[i]);
        std::string body;
        ds::put_envelope(body, ++seq[i % 2], 0, 1, static_cast<std::uint32_t>(payload.size()));
        body += payload;
        const std::string g = spread::group_name(tmpl, events[i].schema, events[i].table);
        std::string f;
        ds::encode(f, static_cast<std::uint32_t>(spread::service::agreed), pg, {g}, ds::codec_type("binary"), body);
        out.push_back(std::move(f));
    }
    return out;
}

// A loopback TCP connection whose far end a thread reads and discards.
struct drain {
    int listener = -1, fd = -1;
    std::thread reader;
    drain() {
        listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(listener, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(listener, 1) != 0 ||
            ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            std::abort();
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) std::abort();
        const int peer = ::accept(listener, nullptr, nullptr);
        reader = std::thread([peer] {
            std::vector<char> buf(1 << 16);
            while (::recv(peer, buf.data(), buf.size(), 0) > 0) {
            }
            ::close(peer);
        });
    }
    ~drain() {
        ::shutdown(fd, SHUT_RDWR);
        ::close(fd);
        reader.join();
        ::close(listener);
    }
};

using seconds_d = std::chrono::duration<double>;

void SendVsRaw(benchmark::State& state) {
    const auto events = make_events(events_per_iteration);
    spread::producer_options po;
    po.client = client_opts("p");
    auto prod = spread::producer<binary_codec>::open(po).value();
    const auto raw = frames(events, prod.connection().private_group());
    auto rx = spread::client::connect(client_opts("r")).value();  // a member, so the daemon delivers
    for (const auto& g : groups_of(events)) rx.join(g).value();
    for (const auto& g : groups_of(events))
        if (!test::spread_daemon::wait_for([&] { return the_daemon().members(g).size() == 1; })) std::abort();
    drain d;
    std::size_t received = 0;
    double t_rowcast = 0, t_raw = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& e : events)
            if (!prod.write(e)) state.SkipWithError("producer write failed");
        const auto t1 = std::chrono::steady_clock::now();
        for (const auto& f : raw)
            if (::send(d.fd, f.data(), f.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(f.size())) state.SkipWithError("raw send failed");
        const auto t2 = std::chrono::steady_clock::now();
        t_rowcast += seconds_d(t1 - t0).count();
        t_raw += seconds_d(t2 - t1).count();
        state.SetIterationTime(seconds_d(t2 - t0).count());
        for (std::size_t want = received + events.size(); received < want;) {  // untimed: keep the daemon's queue short
            auto m = rx.receive_for(std::chrono::seconds(30));
            if (!m || !*m) {
                state.SkipWithError("the receiver got nothing for 30 s");
                break;
            }
            ++received;
        }
    }
    const double n = static_cast<double>(events.size() * static_cast<std::size_t>(state.iterations()));
    state.counters["rowcast_eps"] = n / t_rowcast;
    state.counters["raw_eps"] = n / t_raw;
    state.counters["ratio"] = t_raw / t_rowcast;
    state.counters["bytes_per_event"] = static_cast<double>(prod.connection_stats().bytes_sent) /
                                        static_cast<double>(prod.stats().events);
}

void Through(benchmark::State& state) {
    const auto events = make_events(events_per_iteration);
    spread::consumer_options co;
    co.client = client_opts("c");
    co.client.membership = false;
    co.groups = groups_of(events);
    auto src = spread::consumer<binary_codec>::open(co).value();
    for (const auto& g : co.groups)
        if (!test::spread_daemon::wait_for([&] { return the_daemon().members(g).size() == 1; })) std::abort();
    spread::producer_options po;
    po.client = client_opts("p");
    auto prod = spread::producer<binary_codec>::open(po).value();
    std::size_t delivered = 0;
    auto sink = callback_sink([&](const event&) { ++delivered; });
    for (auto _ : state) {
        const std::size_t want = delivered + events.size();
        std::atomic<bool> failed{false};
        std::string why, writer_why;
        std::thread writer([&] {
            for (const auto& e : events)
                if (auto w = prod.write(e); !w) {
                    writer_why = w.error_value().message;
                    failed = true;
                    return;
                }
        });
        while (delivered < want && !failed) {
            auto r = src.process(sink);
            if (!r) {
                why = r.error_value().message;
                break;
            }
            const auto next = src.next_timeout().count();  // 0: messages already buffered
            pollfd p{src.native_handle(), POLLIN, 0};
            if (delivered < want && ::poll(&p, 1, next < 0 ? 30000 : static_cast<int>(next)) == 0 && next < 0)
                why = "nothing for 30 s";
            if (!why.empty()) break;
        }
        writer.join();
        if (!why.empty() || failed) {
            const std::string msg = why.empty() ? writer_why : why;
            state.SkipWithError(msg.c_str());
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(events.size()) * static_cast<std::int64_t>(state.iterations()));
    state.counters["lost"] = static_cast<double>(src.stats().lost);
}

}  // namespace

int main(int argc, char** argv) {
    auto run = rowcast::bench::parse_run(argc, argv, "ROWCAST_BENCH_SPREAD_EVENTS", events_per_iteration, 2.0);
    events_per_iteration = run.events;
    benchmark::RegisterBenchmark("SendVsRaw", SendVsRaw)->UseManualTime()->MinTime(run.min_time)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("Through", Through)->MinTime(run.min_time)->UseRealTime()->Unit(benchmark::kMillisecond);
    rowcast::bench::run_registered(run);
    daemon_ptr.reset();
    return 0;
}
