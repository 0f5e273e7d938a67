// rowcast-bench-datagram: the datagram transports (issue 11) between two hosts made of
// network namespaces (tests/support/netns.hpp; needs root, iproute2, nftables), each
// beside a raw baseline of the same bytes measured in the same run, interleaved.
// Each rowcast side is measured beside two baselines, in the same run, the order rotated every
// iteration: "raw", the system calls alone on the very bytes the rowcast side put on the wire
// (the target: rowcast >= 0.8x raw), and "codec", raw plus the binary codec's work on
// the same events (encode before the send, decode after the receive): the floor of any sender or
// receiver that has events rather than bytes; what rowcast costs beyond it is the transport
// (framing, sequence numbers, retransmit ring, MAC, ordering). Produce benchmarks warm the
// retransmit ring (one fill, untimed) first. Socket buffers: the defaults on every sending
// socket, 64 MiB on every receiving one.
//   UdpProduce/hmac/ring  rowcast: udp_producer::write of 10 batches of 64 events (encode, frame,
//                   HMAC, one sendmmsg() per batch: ~7 datagrams of <= 1,400 bytes), a ring of
//                   `ring` datagrams; raw: one sendmmsg() per batch of the very datagrams that
//                   batch put on the wire (captured once), from a socket in the same namespace
//                   with the same multicast interface and loopback off; the same receiver socket
//                   (the other host, joined to the group) gets all, drained outside the clock.
//   NetlinkProduce/hmac/ring  rowcast: netlink_producer::write of the same batches (one sendto()
//                   per 16 KiB datagram: one per batch); raw: sendto() of those captured datagrams
//                   to the same group (the table's), one per datagram; one subscriber (all
//                   groups) receives all, drained outside the clock after each run.
//   UdpConsume      udp_consumer::process (recvmmsg + HMAC check + order + decode) vs raw
//                   recvmmsg() of the same datagrams (a second socket in the group) and raw
//                   recvmmsg() + decode of their events (a third)
//   UdpLoss5        events/s delivered end to end with 5 % random loss (nftables) and repair
//   UdpDelay        capture-to-delivery delay p50/p99 (µs) at 10,000 events/s
// NetlinkConsume  netlink_consumer::process vs raw recvmmsg() of the same datagrams (a second
//                 subscriber) and recvmmsg() + decode (a third), as UdpConsume; hmac:0
//                 authenticates by the sender's uid instead (netlink_options::senders = {0},
//                 SCM_CREDENTIALS) and sends no MAC.
// Where the time goes, in process (no socket, no namespaces):
//   EncodeCpu       binary_codec::encode of the benchmark's event (bytes_per_event)
//   DecodeCpu       binary_codec::decode of it into a kept event
//   ProduceCpu      producer::write of 64 events over a link that sends nowhere
//                   (max: datagram size 1400 as UDP, 16384 as netlink; hmac 0/1)
//   Sha256, HmacSha256, HmacSha256EvpMac   per message size: the hash alone, the MAC as
//                   detail/hmac.hpp computes it (key states copied), and a re-initialised
//                   EVP_MAC context (the alternative it was measured against)
// The produce benchmarks run with HMAC-SHA256 (hmac:1, the configuration datagram.md
// recommends) and without (hmac:0: framing and encoding only); ring:64 (a ring that stays in
// the CPU's cache) against the default 4096 shows what the ring's memory costs.
// Counters: rowcast_eps, raw_eps, ratio (rowcast_eps / raw_eps, wall time), cpu_ratio (the same
// from the benchmark thread's CPU time, user + system: steadier on a loaded machine), codec_eps,
// codec_ratio, codec_cpu_ratio (against the codec baseline), eps, p50_us, p99_us.
// --smoke runs each once, briefly (ctest bench.datagram.smoke).
#include <rowcast/codec/binary.hpp>
#include <rowcast/datagram/consumer.hpp>
#include <rowcast/datagram/producer.hpp>

#include "support/netns.hpp"
#include "support/sample_events.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include <net/if.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/eventfd.h>

using namespace rowcast;
using namespace rowcast::datagram;
using seconds_d = std::chrono::duration<double>;

namespace {
constexpr unsigned port = 5998;
constexpr std::size_t batch = 64, batches = 10;
std::unique_ptr<test::netns_lab> lab;

udp_options net() { return {.group = "239.77.0.9", .port = port, .interface = "eth0", .loopback = false, .receive_buffer = 64 << 20}; }
key_set keys() {
    key_set k;
    k.add(1, "0123456789abcdef0123456789abcdef").value();
    return k;
}
producer_options popts(bool mac = true) {
    producer_options p;
    if (mac) p.keys = keys();
    p.heartbeat = std::chrono::milliseconds(50);
    return p;
}
consumer_options copts() {
    consumer_options c;
    c.keys = keys();
    c.nak_interval = std::chrono::milliseconds(5);
    c.nak_tries = 40;
    c.catch_up = 1 << 20;
    return c;
}
std::vector<event> events(std::uint64_t from, std::size_t n) {
    std::vector<event> v;
    for (std::size_t i = 0; i < n; ++i) {
        event e = test::small_insert();
        e.sequence = from + i;
        v.push_back(std::move(e));
    }
    return v;
}
struct null_sink {
    std::size_t n = 0;
    std::vector<std::int64_t>* delays = nullptr;
    result<void> write(const event&) { return {}; }
    result<void> write(std::span<const event> b) {
        n += b.size();
        if (delays) {
            const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
            for (const auto& e : b) delays->push_back((now - e.capture_time).count());
        }
        return {};
    }
    result<void> flush() { return {}; }
};
/// Reads every datagram waiting on `rx` (a receiving link: raw recvmmsg), up to `want`;
/// returns the count (gives up after 20 ms without any).
template <class Link>
std::size_t drain_raw(Link& rx, std::size_t want) {
    static detail::datagram::recv_buffers b(64, 65536);  // kept: 4 MiB zero-filled per call would evict the caches
    std::size_t got = 0;
    for (int idle = 0; got < want && idle < 1000;) {
        const int n = rx.receive(b, false);
        if (n > 0) {
            got += static_cast<std::size_t>(n);
            idle = 0;
        } else {
            ++idle;
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    }
    return got;
}
/// Raw sendmmsg of `d` (at most 64 datagrams: one call, as udp_link::send) to `to` on `fd`.
void raw_sendmmsg(int fd, const std::vector<std::string>& d, const sockaddr* to, socklen_t len) {
    iovec iov[64];
    mmsghdr m[64];
    const std::size_t n = std::min<std::size_t>(64, d.size());
    for (std::size_t i = 0; i < n; ++i) {
        iov[i] = {const_cast<char*>(d[i].data()), d[i].size()};
        m[i] = {};
        m[i].msg_hdr.msg_iov = &iov[i];
        m[i].msg_hdr.msg_iovlen = 1;
        m[i].msg_hdr.msg_name = const_cast<sockaddr*>(to);
        m[i].msg_hdr.msg_namelen = len;
    }
    for (std::size_t done = 0; done < n;) {
        const int r = ::sendmmsg(fd, m + done, static_cast<unsigned>(n - done), 0);
        if (r <= 0) break;
        done += static_cast<std::size_t>(r);
    }
}
/// Captures what `send()` puts on the wire, through a receiving link of the same kind.
template <class Link, class Send>
std::vector<std::string> capture(Link& rx, Send send) {
    detail::datagram::recv_buffers b(64, 65536);
    send();
    std::vector<std::string> out;
    for (int idle = 0; idle < 200;) {
        const int n = rx.receive(b, false);
        if (n > 0) {
            for (int i = 0; i < n; ++i) out.emplace_back(b.bytes(static_cast<std::size_t>(i)));
            idle = 0;
        } else {
            ++idle;
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }
    return out;
}
/// Writes `ev` (one write per batch) through `tx` and returns, per batch, the datagrams it
/// sent as `rx` received them (so a raw baseline can repeat the same system calls).
template <class Producer, class Link>
std::vector<std::vector<std::string>> capture_batches(Producer& tx, Link& rx, const std::vector<std::vector<event>>& ev) {
    std::vector<std::size_t> counts;
    auto flat = capture(rx, [&] {
        for (const auto& b : ev) {
            const auto before = tx.stats().datagrams;
            tx.write(b).value();
            counts.push_back(tx.stats().datagrams - before);
        }
    });
    std::vector<std::vector<std::string>> out;
    std::size_t at = 0;
    for (const std::size_t n : counts) {
        if (at + n > flat.size()) throw std::runtime_error("capture: datagrams lost on the way");
        out.emplace_back(std::make_move_iterator(flat.begin() + static_cast<std::ptrdiff_t>(at)),
                         std::make_move_iterator(flat.begin() + static_cast<std::ptrdiff_t>(at + n)));
        at += n;
    }
    return out;
}
std::size_t total_size(const std::vector<std::vector<std::string>>& w) {
    std::size_t n = 0;
    for (const auto& b : w) n += b.size();
    return n;
}

/// Wall and thread CPU time (CLOCK_THREAD_CPUTIME_ID: user + system time of this thread,
/// including the kernel's work inside its system calls) of one run.
struct spent {
    double wall = 0, cpu = 0;
};
inline double thread_cpu() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
template <class F>
spent timed(F&& f) {
    const auto w0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu();
    f();
    return {seconds_d(std::chrono::steady_clock::now() - w0).count(), thread_cpu() - c0};
}
/// Counters of a rowcast/raw pair over `events`: rowcast_eps, raw_eps, ratio (wall time), and
/// cpu_ratio (this thread's CPU time: steadier than wall time on a loaded machine).
void ratio_counters(benchmark::State& state, double events, spent rc, spent raw) {
    state.counters["rowcast_eps"] = events / rc.wall;
    state.counters["raw_eps"] = events / raw.wall;
    state.counters["ratio"] = raw.wall / rc.wall;
    state.counters["cpu_ratio"] = raw.cpu / rc.cpu;
}
/// Against the raw side plus the codec's work on the same events (encode before a send,
/// decode after a receive): codec_eps, codec_ratio (wall) and codec_cpu_ratio. What remains
/// is what the transport adds: framing, sequence numbers, ring, MAC, ordering.
void codec_counters(benchmark::State& state, double events, spent rc, spent cod) {
    state.counters["codec_eps"] = events / cod.wall;
    state.counters["codec_ratio"] = cod.wall / rc.wall;
    state.counters["codec_cpu_ratio"] = cod.cpu / rc.cpu;
}

/// Runs `rowcast_run`, `raw_run` and `codec_run` (raw_run plus the codec's work on the same
/// events: the floor any sender or receiver of these events has) in turn, the order rotated
/// every iteration, each timed, then `after()` outside the clock. `warm` untimed rounds first
/// (the producer's retransmit ring fills its slots once: page faults that a long-running
/// producer pays once, not per event).
template <class Rowcast, class Raw, class Codec, class After>
void interleave(benchmark::State& state, std::size_t n, std::size_t warm, Rowcast rowcast_run, Raw raw_run, Codec codec_run,
                After after) {
    for (std::size_t i = 0; i < warm; ++i) {
        rowcast_run(), after(), raw_run(), after(), codec_run(), after();
    }
    spent rc, raw, cod;
    std::int64_t it = 0;
    auto add = [](spent& to, spent s) {
        to.wall += s.wall;
        to.cpu += s.cpu;
        return s.wall;
    };
    for (auto _ : state) {
        double w = 0;
        const int first = static_cast<int>(it++ % 3);
        for (int k = 0; k < 3; ++k) {
            switch ((first + k) % 3) {
                case 0: w += add(rc, timed(rowcast_run)); break;
                case 1: w += add(raw, timed(raw_run)); break;
                default: w += add(cod, timed(codec_run)); break;
            }
            after();
        }
        state.SetIterationTime(w);
    }
    const double events = static_cast<double>(n) * static_cast<double>(state.iterations());
    ratio_counters(state, events, rc, raw);
    codec_counters(state, events, rc, cod);
}

/// The events of `ev` encoded (appended to `out`, cleared first): the codec's share of a send.
void encode_all(binary_codec& c, const std::vector<std::vector<event>>& ev, std::string& out) {
    out.clear();
    for (const auto& b : ev)
        for (const auto& e : b) c.encode(e, out);
    benchmark::DoNotOptimize(out.data());
}
/// Ring slots the producer fills before its steady state, in rounds of `per_round` datagrams.
std::size_t warm_rounds(std::size_t ring, std::size_t per_round) { return ring / std::max<std::size_t>(1, per_round) + 2; }

void UdpProduce(benchmark::State& state) {
    const bool mac = state.range(0) != 0;
    auto po = popts(mac);
    po.ring = static_cast<std::size_t>(state.range(1));
    auto tx = lab->in(0, [&] { return udp_producer<binary_codec>::open(net(), std::move(po)).value(); });
    auto rx = lab->in(1, [] { return udp_link::open_receiver(net()).value(); });
    std::vector<std::vector<event>> ev;
    for (std::size_t i = 0; i < batches; ++i) ev.push_back(events(i * batch, batch));
    const auto wire = capture_batches(tx, rx, ev);
    const int raw = lab->in(0, [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); });
    detail::unique_fd raw_fd(raw);
    const int off = 0;
    ::setsockopt(raw, IPPROTO_IP, IP_MULTICAST_LOOP, &off, sizeof off);
    ip_mreqn via{};
    via.imr_ifindex = lab->in(0, [] { return static_cast<int>(::if_nametoindex("eth0")); });
    ::setsockopt(raw, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "239.77.0.9", &to.sin_addr);
    const std::size_t datagrams = total_size(wire);
    binary_codec codec;
    std::string encoded;
    auto raw_run = [&] { for (const auto& b : wire) raw_sendmmsg(raw, b, reinterpret_cast<const sockaddr*>(&to), sizeof to); };
    interleave(
        state, batch * batches, warm_rounds(static_cast<std::size_t>(state.range(1)), datagrams), [&] { for (const auto& b : ev) benchmark::DoNotOptimize(tx.write(b)); },
        raw_run,
        [&] {
            encode_all(codec, ev, encoded);
            raw_run();
        },
        [&] { drain_raw(rx, datagrams); });  // the receiver's buffer never fills: every datagram is queued, none dropped
    state.counters["datagrams_per_iteration"] = static_cast<double>(datagrams);
}

void NetlinkProduce(benchmark::State& state) {
    const bool mac = state.range(0) != 0;
    auto po = popts(mac);
    po.ring = static_cast<std::size_t>(state.range(1));
    auto tx = lab->in(0, [&] { return netlink_producer<binary_codec>::open({}, std::move(po)).value(); });
    auto rx = lab->in(0, [] {
        netlink_options o;
        o.receive_buffer = 64 << 20;
        return netlink_link::open_receiver(o).value();
    });
    std::vector<std::vector<event>> ev;
    for (std::size_t i = 0; i < batches; ++i) ev.push_back(events(i * batch, batch));
    const auto wire = capture_batches(tx, rx, ev);
    const std::size_t datagrams = total_size(wire);
    auto raw = lab->in(0, [] { return detail::unique_fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK)); });
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    to.nl_groups = 1u << (tx.link().channel_of(ev[0][0].schema + "." + ev[0][0].table) - 1);  // the producer's group
    binary_codec codec;
    std::string encoded;
    auto raw_run = [&] {
        for (const auto& b : wire)
            for (const auto& d : b) ::sendto(raw.get(), d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    };
    interleave(
        state, batch * batches, warm_rounds(static_cast<std::size_t>(state.range(1)), datagrams), [&] { for (const auto& b : ev) benchmark::DoNotOptimize(tx.write(b)); },
        raw_run,
        [&] {
            encode_all(codec, ev, encoded);
            raw_run();
        },
        [&] { drain_raw(rx, datagrams); });  // keep the subscriber's buffer from overflowing
    state.counters["datagrams_per_iteration"] = static_cast<double>(datagrams);
}

/// The consume benchmarks: per iteration `tx` writes 10 batches of 64 events (outside the
/// clock, then `settle` for them to arrive); then, in an order rotated every iteration, `in`
/// delivers them all (recvmmsg + MAC check + order + decode); `raw`, a second receiver of the
/// same datagrams, reads them with recvmmsg() into buffers made once, as the consumer's are;
/// and `dec`, a third, reads them so and decodes each event into kept events as the consumer
/// does (the codec's floor: codec_ratio).
template <class Tx, class In, class Raw>
void consume_vs_raw(benchmark::State& state, Tx& tx, In& in, Raw& raw, Raw& dec, std::chrono::milliseconds settle) {
    std::uint64_t next = 0;
    null_sink sink;
    detail::datagram::recv_buffers b(64, 65536);
    binary_codec codec;
    std::vector<event> kept(batch * batches);
    spent rc, rw, cd;
    std::int64_t it = 0;
    for (auto _ : state) {
        state.PauseTiming();
        const auto before = tx.stats().datagrams;
        for (std::size_t i = 0; i < batches; ++i, next += batch) tx.write(events(next, batch)).value();
        const std::size_t wire = tx.stats().datagrams - before;
        std::this_thread::sleep_for(settle);
        state.ResumeTiming();
        const std::size_t want = sink.n + batch * batches;
        auto rowcast_run = [&] {
            while (sink.n < want) benchmark::DoNotOptimize(in.process(sink));
        };
        auto raw_run = [&] {
            for (std::size_t got = 0; got < wire;) {
                const int n = raw.receive(b, false);
                if (n > 0) got += static_cast<std::size_t>(n);
            }
        };
        auto codec_run = [&] {
            std::size_t used = 0;
            for (std::size_t got = 0; got < wire;) {
                const int n = dec.receive(b, false);
                for (int i = 0; i < n; ++i) {
                    auto f = parse_frame(b.bytes(static_cast<std::size_t>(i)));
                    if (!f) continue;
                    (void)for_each_event(*f, [&](std::string_view e) -> result<void> {
                        if (used < kept.size()) benchmark::DoNotOptimize(codec.decode(e, kept[used++]));
                        return {};
                    });
                }
                if (n > 0) got += static_cast<std::size_t>(n);
            }
        };
        const int first = static_cast<int>(it++ % 3);
        for (int k = 0; k < 3; ++k) {
            switch ((first + k) % 3) {
                case 0: {
                    const spent a = timed(rowcast_run);
                    rc.wall += a.wall, rc.cpu += a.cpu;
                    break;
                }
                case 1: {
                    const spent r = timed(raw_run);
                    rw.wall += r.wall, rw.cpu += r.cpu;
                    break;
                }
                default: {
                    const spent d = timed(codec_run);
                    cd.wall += d.wall, cd.cpu += d.cpu;
                    break;
                }
            }
        }
    }
    const double n = static_cast<double>(batch * batches) * static_cast<double>(state.iterations());
    ratio_counters(state, n, rc, rw);
    codec_counters(state, n, rc, cd);
}

void UdpConsume(benchmark::State& state) {
    auto tx = lab->in(0, [] { return udp_producer<binary_codec>::open(net(), popts()).value(); });
    auto in = lab->in(1, [] { return udp_consumer<binary_codec>::open(net(), copts()).value(); });
    auto raw = lab->in(1, [] { return udp_link::open_receiver(net()).value(); });
    auto dec = lab->in(1, [] { return udp_link::open_receiver(net()).value(); });
    consume_vs_raw(state, tx, in, raw, dec, std::chrono::milliseconds(5));
}

// NetlinkConsume/hmac:1: keys; hmac:0: no keys, only uid 0's datagrams accepted (netlink_options::senders).
void NetlinkConsume(benchmark::State& state) {
    const bool mac = state.range(0) != 0;
    netlink_options nl;
    nl.receive_buffer = 64 << 20;
    netlink_options in_nl = nl;
    consumer_options co = copts();
    if (!mac) {
        in_nl.senders = {0};
        co.keys = key_set{};
    }
    auto tx = lab->in(0, [&] { return netlink_producer<binary_codec>::open({}, popts(mac)).value(); });
    auto in = lab->in(0, [&] { return netlink_consumer<binary_codec>::open(in_nl, co).value(); });
    auto raw = lab->in(0, [&] { return netlink_link::open_receiver(nl).value(); });
    auto dec = lab->in(0, [&] { return netlink_link::open_receiver(nl).value(); });
    consume_vs_raw(state, tx, in, raw, dec, std::chrono::milliseconds(0));  // delivered within sendto()
}

void UdpLoss5(benchmark::State& state) {
    lab->loss(1, port, 5);
    auto tx = lab->in(0, [] { return udp_producer<binary_codec>::open(net(), popts()).value(); });
    auto in = lab->in(1, [] { return udp_consumer<binary_codec>::open(net(), copts()).value(); });
    const std::size_t n = static_cast<std::size_t>(state.range(0));
    null_sink sink;
    std::uint64_t next = 0;
    double t = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        std::thread w([&] {
            for (std::size_t i = 0; i < n; i += batch) {
                tx.write(events(next + i, batch)).value();
                std::this_thread::sleep_for(std::chrono::microseconds(100));
            }
        });
        const std::size_t want = sink.n + n;
        while (sink.n < want) {
            in.process(sink).value();
            pollfd p{in.native_handle(), POLLIN, 0};
            ::poll(&p, 1, 1);
        }
        w.join();
        next += n;
        t += seconds_d(std::chrono::steady_clock::now() - t0).count();
        state.SetIterationTime(seconds_d(std::chrono::steady_clock::now() - t0).count());
    }
    lab->clear_loss(1);
    state.counters["eps"] = static_cast<double>(n) * static_cast<double>(state.iterations()) / t;
    state.counters["repaired"] = static_cast<double>(in.stats().repaired);
    state.counters["unrecoverable"] = static_cast<double>(in.stats().unrecoverable);
}

void UdpDelay(benchmark::State& state) {
    auto tx = lab->in(0, [] { return udp_producer<binary_codec>::open(net(), popts()).value(); });
    auto in = lab->in(1, [] { return udp_consumer<binary_codec>::open(net(), copts()).value(); });
    const std::size_t n = static_cast<std::size_t>(state.range(0));
    std::vector<std::int64_t> delays;
    null_sink sink;
    sink.delays = &delays;
    for (auto _ : state) {
        std::thread w([&] {
            auto at = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < n; ++i) {  // 10,000 events/s: one every 100 µs
                at += std::chrono::microseconds(100);
                std::this_thread::sleep_until(at);
                event e = test::small_insert();
                e.capture_time = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
                tx.write(e).value();
            }
        });
        const std::size_t want = sink.n + n;
        while (sink.n < want) {
            pollfd p{in.native_handle(), POLLIN, 0};
            ::poll(&p, 1, 1);
            in.process(sink).value();
        }
        w.join();
    }
    std::sort(delays.begin(), delays.end());
    state.counters["p50_us"] = static_cast<double>(delays[delays.size() / 2]);
    state.counters["p99_us"] = static_cast<double>(delays[delays.size() * 99 / 100]);
}

// --- Where a producer's time goes, without a socket (no namespaces needed) ------------------

/// A link that sends nowhere: what remains of producer::write is encode + frame + MAC.
struct null_link {
    struct options {
        std::size_t max_datagram = 1400;
    };
    static constexpr std::string_view name = "null";
    static result<null_link> open_sender(const options& o) {
        null_link l;
        l.max_ = o.max_datagram;
        l.fd_ = detail::unique_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));  // polled by nobody
        return l;
    }
    int fd() const noexcept { return fd_.get(); }
    std::size_t max_datagram() const noexcept { return max_; }
    std::uint32_t channel_of(std::string_view) const noexcept { return 1; }
    int send(std::span<const detail::datagram::out_datagram> d) noexcept {
        for (const auto& o : d) benchmark::DoNotOptimize(o.bytes.data());
        return 0;
    }
    int receive(detail::datagram::recv_buffers&, bool) noexcept { return 0; }
    detail::unique_fd fd_;
    std::size_t max_ = 1400;
};

// ProduceCpu/<max_datagram>/<hmac>: producer::write of 64 events over null_link.
void ProduceCpu(benchmark::State& state) {
    auto po = popts(state.range(1) != 0);
    po.service_thread = false;
    auto p = producer<binary_codec, null_link>::open({static_cast<std::size_t>(state.range(0))}, std::move(po)).value();
    const auto ev = events(0, batch);
    for (auto _ : state) benchmark::DoNotOptimize(p.write(ev));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}

// EncodeCpu: binary_codec::encode of the benchmark's event, appended to one buffer.
void EncodeCpu(benchmark::State& state) {
    binary_codec c;
    const auto ev = events(0, batch);
    std::string out;
    for (auto _ : state) {
        out.clear();
        for (const auto& e : ev) c.encode(e, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
    state.counters["bytes_per_event"] = static_cast<double>(out.size()) / batch;
}

// DecodeCpu: binary_codec::decode of the same 64 events into kept events (as a consumer does).
void DecodeCpu(benchmark::State& state) {
    binary_codec c;
    std::vector<std::string> bytes(batch);
    const auto ev = events(0, batch);
    for (std::size_t i = 0; i < batch; ++i) c.encode(ev[i], bytes[i]);
    std::vector<event> out(batch);
    for (auto _ : state)
        for (std::size_t i = 0; i < batch; ++i) benchmark::DoNotOptimize(c.decode(bytes[i], out[i]));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}

// Sha256/<bytes>: plain SHA-256 (OpenSSL EVP; SHA-NI where the CPU has it): the floor of any MAC on it.
void Sha256(benchmark::State& state) {
    const std::string d(static_cast<std::size_t>(state.range(0)), 'x');
    const detail::datagram::md_ctx c(EVP_MD_CTX_new());
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // fetched once, as the MAC's key states are
    unsigned char m[32];
    unsigned int n = 0;
    for (auto _ : state) {
        EVP_DigestInit_ex(c.get(), md, nullptr);
        EVP_DigestUpdate(c.get(), d.data(), d.size());
        EVP_DigestFinal_ex(c.get(), m, &n);
        benchmark::DoNotOptimize(m);
    }
    EVP_MD_free(md);
    state.SetBytesProcessed(state.iterations() * state.range(0));
}

// HmacSha256/<bytes>: the datagram MAC (key states copied per message, detail/hmac.hpp).
void HmacSha256(benchmark::State& state) {
    const std::string d(static_cast<std::size_t>(state.range(0)), 'x');
    detail::datagram::hmac_sha256 h("0123456789abcdef0123456789abcdef");
    unsigned char m[32];
    for (auto _ : state) {
        benchmark::DoNotOptimize(h.compute(d, m));
        benchmark::DoNotOptimize(m);
    }
    state.SetBytesProcessed(state.iterations() * state.range(0));
}

// HmacSha256EvpMac/<bytes>: the alternative measured against it: one EVP_MAC context keyed
// once and re-initialised (EVP_MAC_init without a key) per message.
void HmacSha256EvpMac(benchmark::State& state) {
    const std::string d(static_cast<std::size_t>(state.range(0)), 'x');
    const std::string key = "0123456789abcdef0123456789abcdef";
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
    unsigned char m[32];
    std::size_t n = 0;
    for (auto _ : state) {
        EVP_MAC_init(ctx, nullptr, 0, nullptr);
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(d.data()), d.size());
        EVP_MAC_final(ctx, m, &n, sizeof m);
        benchmark::DoNotOptimize(m);
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
}  // namespace

int main(int argc, char** argv) {
    bool smoke = false;
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0) smoke = true;
        else args.push_back(argv[i]);
    }
    const double min_time = smoke ? 0.001 : 0.5;
    benchmark::RegisterBenchmark("EncodeCpu", EncodeCpu)->MinTime(min_time);
    benchmark::RegisterBenchmark("DecodeCpu", DecodeCpu)->MinTime(min_time);
    benchmark::RegisterBenchmark("ProduceCpu", ProduceCpu)->ArgNames({"max", "hmac"})->ArgsProduct({{1400, 16384}, {0, 1}})->MinTime(min_time);
    benchmark::RegisterBenchmark("Sha256", Sha256)->Arg(64)->Arg(1400)->Arg(16384)->MinTime(min_time);
    benchmark::RegisterBenchmark("HmacSha256", HmacSha256)->Arg(64)->Arg(1400)->Arg(16384)->MinTime(min_time);
    benchmark::RegisterBenchmark("HmacSha256EvpMac", HmacSha256EvpMac)->Arg(64)->Arg(1400)->Arg(16384)->MinTime(min_time);
    if (!test::netns_lab::available()) {
        std::fprintf(stderr, "rowcast-bench-datagram: needs root, iproute2 and nftables\n");
        return smoke ? 0 : 1;
    }
    lab = std::make_unique<test::netns_lab>(2);
    benchmark::RegisterBenchmark("UdpProduce", UdpProduce)->ArgNames({"hmac", "ring"})->Args({1, 4096})->Args({0, 4096})->Args({0, 64})->UseManualTime()->MinTime(min_time);
    benchmark::RegisterBenchmark("NetlinkProduce", NetlinkProduce)->ArgNames({"hmac", "ring"})->Args({1, 4096})->Args({0, 4096})->Args({0, 64})->UseManualTime()->MinTime(min_time);
    benchmark::RegisterBenchmark("UdpConsume", UdpConsume)->MinTime(min_time);
    benchmark::RegisterBenchmark("NetlinkConsume", NetlinkConsume)->ArgName("hmac")->Arg(1)->Arg(0)->MinTime(min_time);
    benchmark::RegisterBenchmark("UdpLoss5", UdpLoss5)->Arg(smoke ? 640 : 20000)->UseManualTime()->Iterations(smoke ? 1 : 3);
    benchmark::RegisterBenchmark("UdpDelay", UdpDelay)->Arg(smoke ? 200 : 10000)->Iterations(1);
    int ac = static_cast<int>(args.size());
    benchmark::Initialize(&ac, args.data());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    lab.reset();
    return 0;
}
