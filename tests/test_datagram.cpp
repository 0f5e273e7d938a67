// Tests of rowcast/datagram/: the frame format and its authentication, the
// receiver's ordering/repair state machine in memory, and the UDP multicast and
// netlink transports with real sockets: hosts made of network namespaces joined by
// a bridge (tests/support/netns.hpp), loss injected by nftables rules.
#include <rowcast/codec/binary.hpp>
#include <rowcast/datagram/consumer.hpp>
#include <rowcast/datagram/producer.hpp>

#include "support/netns.hpp"
#include "support/sample_events.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/hmac.h>

using namespace rowcast;
using namespace rowcast::datagram;
using clock_type = std::chrono::steady_clock;

static_assert(event_sink<udp_producer<binary_codec>>);
static_assert(event_sink<netlink_producer<binary_codec>>);
static_assert(event_source<udp_consumer<binary_codec>>);
static_assert(event_source<netlink_consumer<binary_codec>>);

namespace {

const std::string secret = "0123456789abcdef0123456789abcdef";

key_set keys(std::uint16_t id = 1, const std::string& s = secret) {
    key_set k;
    k.add(id, s).value();
    return k;
}

/// Event i: a small insert into table db.t<i % tables>; every `big`-th event carries a
/// statement of `big_size` bytes (several datagrams).
event make_event(std::uint64_t i, int tables = 45, std::uint64_t big = 0, std::size_t big_size = 5000) {
    event e = test::small_insert();
    e.schema = "db";
    e.table = "t" + std::to_string(i % static_cast<std::uint64_t>(tables));
    e.sequence = i;
    e.source.file = "binlog.000001";
    e.source.offset = 4 + i;
    if (big && i % big == 0) e.statement = std::string(big_size, static_cast<char>('a' + i % 26));
    return e;
}

std::vector<event> make_events(std::uint64_t from, std::uint64_t n, int tables = 45, std::uint64_t big = 0) {
    std::vector<event> v;
    for (std::uint64_t i = from; i < from + n; ++i) v.push_back(make_event(i, tables, big));
    return v;
}

/// Collects what a consumer delivers (not movable: its sink points at it).
struct collector {
    std::vector<event> got;
    callback_sink<std::function<void(std::span<const event>)>> sink{
        [this](std::span<const event> b) { got.insert(got.end(), b.begin(), b.end()); }};
};

/// Steps `c` until `sink` holds `n` events or `guard` passes (a liveness guard, not an assertion).
template <class C>
void pump(C& c, collector& sink, std::size_t n, std::chrono::seconds guard = std::chrono::seconds(20)) {
    const auto end = clock_type::now() + guard;
    while (sink.got.size() < n && clock_type::now() < end) {
        auto r = c.process(sink.sink);
        ASSERT_TRUE(r) << r.error_value().message;
        pollfd p{c.native_handle(), POLLIN, 0};
        const auto t = c.next_timeout().count();
        ::poll(&p, 1, t < 0 || t > 10 ? 10 : static_cast<int>(t));
    }
}
/// Steps `c` for `d` (to let stray datagrams arrive).
template <class C>
void pump_for(C& c, collector& sink, std::chrono::milliseconds d) {
    const auto end = clock_type::now() + d;
    while (clock_type::now() < end) {
        ASSERT_TRUE(c.process(sink.sink));
        pollfd p{c.native_handle(), POLLIN, 0};
        ::poll(&p, 1, 5);
    }
}

void expect_sequences(const std::vector<event>& got, std::uint64_t from, std::uint64_t n, const char* who) {
    ASSERT_EQ(got.size(), n) << who;
    for (std::uint64_t i = 0; i < n; ++i) {
        ASSERT_EQ(got[i].sequence, from + i) << who << " at " << i;
        ASSERT_EQ(got[i], make_event(from + i, 45, got[i].statement.empty() ? 0 : 1)) << who << " at " << i;
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Frame format and authentication

TEST(DatagramFrame, HeaderRoundTripsAndEveryCutIsRefused) {
    frame_header h;
    h.type = frame_type::data;
    h.codec = codec_id::binary;
    h.source_id = 0x0102030405060708;
    h.epoch = 99;
    h.sequence = 1234567;
    h.channel = 7;
    h.fragment_index = 2;
    h.fragment_count = 5;
    h.event_count = 1;
    key_set k = keys(3);
    k.prepare(h);
    std::string d;
    write_header(d, h, "db.orders");
    d += "payload";
    ASSERT_TRUE(k.sign(d));
    auto f = parse_frame(d);
    ASSERT_TRUE(f) << f.error_value().message;
    EXPECT_EQ(f->header.source_id, h.source_id);
    EXPECT_EQ(f->header.sequence, h.sequence);
    EXPECT_EQ(f->header.channel, 7u);
    EXPECT_EQ(f->header.key_id, 3);
    EXPECT_EQ(f->header.fragment_index, 2);
    EXPECT_EQ(f->table, "db.orders");
    EXPECT_EQ(f->payload, "payload");
    EXPECT_EQ(k.verify(*f), key_set::verdict::ok);
    for (std::size_t n = 0; n < d.size(); ++n) {  // every cut: refused or not authentic
        auto g = parse_frame(std::string_view(d).substr(0, n));
        if (g) {
            EXPECT_NE(k.verify(*g), key_set::verdict::ok) << "cut at " << n;
        }
    }
    for (std::size_t i = 0; i < d.size(); ++i) {  // every flipped byte: refused or not authentic
        std::string x = d;
        x[i] = static_cast<char>(x[i] ^ 0x20);
        auto g = parse_frame(x);
        if (g) {
            EXPECT_NE(k.verify(*g), key_set::verdict::ok) << "byte " << i;
        }
    }
}

// The MAC is HMAC-SHA256 exactly (RFC 4231 test cases 2 and 6: a short key, a key longer
// than the block), and agrees with OpenSSL's one-shot HMAC() for every length around the
// block boundaries; a copied key computes the same MACs.
TEST(DatagramFrame, MacIsHmacSha256) {
    auto hex = [](const unsigned char* m) {
        std::string s;
        for (int i = 0; i < 32; ++i) s += "0123456789abcdef"[m[i] >> 4], s += "0123456789abcdef"[m[i] & 15];
        return s;
    };
    unsigned char m[32];
    rowcast::detail::datagram::hmac_sha256 jefe("Jefe");
    ASSERT_TRUE(jefe.ok());
    ASSERT_TRUE(jefe.compute("what do ya want for nothing?", m));
    EXPECT_EQ(hex(m), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    rowcast::detail::datagram::hmac_sha256 big(std::string(131, '\xaa'));
    ASSERT_TRUE(big.compute("Test Using Larger Than Block-Size Key - Hash Key First", m));
    EXPECT_EQ(hex(m), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    const std::string key = "0123456789abcdef0123456789abcdef";
    rowcast::detail::datagram::hmac_sha256 h(key);
    auto copy = h;
    std::string data;
    for (std::size_t n = 0; n < 300; ++n, data.push_back(static_cast<char>(n * 7))) {
        unsigned char want[32];
        unsigned int len = 0;
        ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size(), want, &len),
                  nullptr);
        ASSERT_TRUE(h.compute(data, m));
        ASSERT_EQ(hex(m), hex(want)) << n << " bytes";
        ASSERT_TRUE(copy.check(data, std::string_view(reinterpret_cast<const char*>(want), 32))) << n << " bytes";
    }
}

TEST(DatagramFrame, KeysRotateAndUnauthenticatedFramesAreRefused) {
    key_set sender = keys(1);
    key_set receiver = keys(1);
    ASSERT_TRUE(receiver.add(2, "another secret of 32 bytes......"));
    frame_header h;
    sender.prepare(h);
    std::string d;
    write_header(d, h, {});
    ASSERT_TRUE(sender.sign(d));
    EXPECT_EQ(receiver.verify(parse_frame(d).value()), key_set::verdict::ok);
    ASSERT_TRUE(sender.add(2, "another secret of 32 bytes......"));
    ASSERT_TRUE(sender.activate(2));
    d.clear();
    sender.prepare(h);
    write_header(d, h, {});
    ASSERT_TRUE(sender.sign(d));
    EXPECT_EQ(receiver.verify(parse_frame(d).value()), key_set::verdict::ok);
    ASSERT_TRUE(receiver.activate(2));
    ASSERT_TRUE(receiver.remove(1));
    d.clear();
    h = {};
    write_header(d, h, {});  // no MAC
    EXPECT_EQ(receiver.verify(parse_frame(d).value()), key_set::verdict::unauthenticated);
    EXPECT_FALSE(key_set{}.add(1, "short"));
}

// ---------------------------------------------------------------------------------------------
// The receiver's state machine, in memory: random loss and reordering, NAKs answered from
// the "sender's" list of datagrams (a bounded ring: older ones are gone).

namespace {
struct sim_result {
    std::vector<std::uint64_t> delivered;  // fragment-free: one event per datagram, its sequence
    std::vector<loss_report> losses;
};
sim_result simulate(std::uint64_t n, int loss_pct, std::size_t ring, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<std::string> sent;
    key_set k;
    for (std::uint64_t s = 0; s < n; ++s) {
        frame_header h;
        h.source_id = 5;
        h.epoch = 1;
        h.sequence = s;
        h.event_count = 1;
        std::string d;
        write_header(d, h, "db.t");
        detail::datagram::put32(d, 8);
        detail::datagram::put64(d, s);
        sent.push_back(d);
    }
    sim_result out;
    detail::datagram::receiver rx(
        {.max_pending = 100000, .nak_interval = std::chrono::milliseconds(1), .nak_tries = 50},
        [&](const frame_view& f, std::string_view, bool) { out.delivered.push_back(f.header.sequence); },
        [&](loss_report&& r) { out.losses.push_back(std::move(r)); });
    auto now = clock_type::now();
    detail::datagram::peer from;
    std::vector<std::string> inflight;
    auto feed = [&](const std::string& d) {
        if (static_cast<int>(rng() % 100) < loss_pct) return;
        inflight.push_back(d);
        if (rng() % 4 == 0) std::swap(inflight.back(), inflight[rng() % inflight.size()]);  // reorder
    };
    auto deliver = [&] {
        for (const auto& d : inflight) rx.on_frame(parse_frame(d).value(), d, from, now);
        inflight.clear();
    };
    rx.on_frame(parse_frame(sent[0]).value(), sent[0], from, now);  // a stream starts at the first datagram seen
    for (std::uint64_t s = 1; s < n; ++s) {
        feed(sent[s]);
        if (s % 16 == 15) deliver();
        now += std::chrono::microseconds(100);
        rx.tick(now, [&](const detail::datagram::peer&, std::uint64_t, std::uint64_t, std::uint32_t,
                         const std::vector<std::pair<std::uint64_t, std::uint32_t>>& ranges) {
            for (auto [first, count] : ranges)
                for (std::uint64_t q = first; q < first + count; ++q)
                    if (q + ring >= s) feed(sent[q]);
        });
    }
    for (int round = 0; round < 200; ++round) {  // heartbeats and the tail
        frame_header h;
        h.type = frame_type::heartbeat;
        h.source_id = 5;
        h.epoch = 1;
        h.sequence = n;
        std::string d;
        write_header(d, h, {});
        feed(d);
        deliver();
        now += std::chrono::milliseconds(2);
        rx.tick(now, [&](const detail::datagram::peer&, std::uint64_t, std::uint64_t, std::uint32_t,
                         const std::vector<std::pair<std::uint64_t, std::uint32_t>>& ranges) {
            for (auto [first, count] : ranges)
                for (std::uint64_t q = first; q < first + count; ++q)
                    if (q + ring >= n) feed(sent[q]);
        });
    }
    deliver();
    return out;
}
}  // namespace

TEST(DatagramReceiver, RandomLossAndReorderAreRepairedInOrderExactlyOnce) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        auto r = simulate(3000, seed % 2 ? 5 : 20, 100000, seed);
        ASSERT_EQ(r.delivered.size(), 3000u) << "seed " << seed;
        for (std::uint64_t i = 0; i < 3000; ++i) ASSERT_EQ(r.delivered[i], i) << "seed " << seed;
        for (const auto& l : r.losses) EXPECT_EQ(l.kind, loss_kind::gap) << "seed " << seed << " " << l.reason;
    }
}

TEST(DatagramReceiver, WhatTheRingNoLongerHoldsIsReportedUnrecoverable) {
    auto r = simulate(3000, 20, 8, 7);  // repairs only from the last 8 datagrams
    std::uint64_t lost = 0;
    for (const auto& l : r.losses)
        if (l.kind == loss_kind::unrecoverable) lost += l.last - l.first + 1;
    ASSERT_GT(lost, 0u);
    // every sequence is either delivered once (in order) or inside a reported range
    for (std::size_t i = 1; i < r.delivered.size(); ++i) ASSERT_LT(r.delivered[i - 1], r.delivered[i]);
    EXPECT_EQ(r.delivered.size() + lost, 3000u);
    EXPECT_EQ(r.delivered.front(), 0u);
}

// ---------------------------------------------------------------------------------------------
// UDP multicast between hosts made of network namespaces.

namespace {
constexpr unsigned port = 5999;

#define REQUIRE_LAB()                                                                       \
    if (!test::netns_lab::available()) GTEST_SKIP() << "needs root, iproute2 and nftables"

udp_options net(const std::string& group = "239.77.0.1") {
    return {.group = group, .port = port, .interface = "eth0", .hops = 1, .loopback = false, .receive_buffer = 4 << 20};
}
consumer_options fast_consumer(std::vector<loss_report>* losses = nullptr) {
    consumer_options co;
    co.keys = keys();
    co.nak_interval = std::chrono::milliseconds(5);
    co.nak_tries = 40;
    co.catch_up = 100000;  // started before the senders: a lost first datagram is asked for too
    if (losses) co.on_loss = [losses](const loss_report& r) { losses->push_back(r); };
    return co;
}
producer_options fast_producer() {
    producer_options po;
    po.keys = keys();
    po.heartbeat = std::chrono::milliseconds(10);
    po.ring = 8192;
    return po;
}
/// Sends events [from, from+n) in batches of 20, pausing between batches (pacing, not a timing assertion).
template <class P>
void send_paced(P& p, std::uint64_t from, std::uint64_t n, std::uint64_t big = 0) {
    for (std::uint64_t i = from; i < from + n; i += 20) {
        auto batch = make_events(i, std::min<std::uint64_t>(20, from + n - i), 45, big);
        ASSERT_TRUE(p.write(batch));
        std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
}
}  // namespace

TEST(DatagramUdp, LossOfFiveAndTwentyPercentIsRepairedForEveryReceiver) {
    REQUIRE_LAB();
    test::netns_lab lab(4);
    lab.loss(1, port, 5);
    lab.loss(2, port, 20);
    lab.loss(3, port, 20);
    // host 1: one receiver (5 %); host 2: one (20 %); host 3: two on one host (SO_REUSEPORT, 20 %)
    std::vector<udp_consumer<binary_codec>> rx;
    std::vector<std::vector<loss_report>> losses(4);
    for (int h : {1, 2, 3, 3})
        rx.push_back(lab.in(h, [&] { return udp_consumer<binary_codec>::open(net(), fast_consumer(&losses[rx.size()])).value(); }));
    auto tx = lab.in(0, [] { return udp_producer<binary_codec>::open(net(), fast_producer()).value(); });
    constexpr std::uint64_t n = 2000;
    std::vector<collector> got(rx.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < rx.size(); ++i) threads.emplace_back([&, i] { pump(rx[i], got[i], n); });
    send_paced(tx, 0, n, 97);  // every 97th event is larger than a datagram (fragments)
    for (auto& t : threads) t.join();
    for (std::size_t i = 0; i < rx.size(); ++i) {
        SCOPED_TRACE("receiver " + std::to_string(i));
        expect_sequences(got[i].got, 0, n, "receiver");
        const auto st = rx[i].stats();
        EXPECT_EQ(st.unrecoverable, 0u);
        EXPECT_EQ(st.forged + st.unauthenticated + st.malformed, 0u);
        for (const auto& l : losses[i]) EXPECT_EQ(l.kind, loss_kind::gap) << l.reason;
        if (i > 0) {
            EXPECT_GT(st.repaired, 0u);  // 20 % loss: repairs happened
        }
    }
    EXPECT_GT(tx.stats().repairs, 0u);
    EXPECT_GT(tx.stats().fragmented, 0u);
}

TEST(DatagramUdp, ReceiverRestartAndSenderRestart) {
    REQUIRE_LAB();
    test::netns_lab lab(2);
    lab.loss(1, port, 5);
    producer_options po = fast_producer();
    po.source_id = 77;  // stable across the sender's restart
    auto tx = lab.in(0, [&] { return udp_producer<binary_codec>::open(net(), po).value(); });
    collector a;
    {
        auto rx = lab.in(1, [] { return udp_consumer<binary_codec>::open(net(), fast_consumer()).value(); });
        std::thread t([&] { pump(rx, a, 300); });
        send_paced(tx, 0, 300);
        t.join();
        expect_sequences(a.got, 0, 300, "first receiver");
    }  // the receiver goes away; events 300..399 are sent to nobody
    send_paced(tx, 300, 100);
    consumer_options late = fast_consumer();
    late.catch_up = 0;  // joins where the stream is: its first contact is a heartbeat announcing event 400's datagram
    auto rx = lab.in(1, [&] { return udp_consumer<binary_codec>::open(net(), std::move(late)).value(); });
    collector b;
    pump_for(rx, b, std::chrono::milliseconds(60));  // heartbeats every 10 ms
    std::thread t([&] { pump(rx, b, 300); });
    send_paced(tx, 400, 300);
    t.join();
    expect_sequences(b.got, 400, 300, "restarted receiver");
    EXPECT_EQ(rx.stats().unrecoverable, 0u);
    // the sender restarts (a new epoch, sequences from 0 again): everything it sends arrives
    tx = lab.in(0, [&] { return udp_producer<binary_codec>::open(net(), po).value(); });
    collector c;
    std::thread t2([&] { pump(rx, c, 300); });
    send_paced(tx, 1000, 300);
    t2.join();
    expect_sequences(c.got, 1000, 300, "after the sender's restart");
    EXPECT_EQ(rx.stats().restarts, 1u);
}

TEST(DatagramUdp, ForgedReplayedTruncatedAndUnauthenticatedDatagramsAreDropped) {
    REQUIRE_LAB();
    test::netns_lab lab(2);
    auto rx = lab.in(1, [] { return udp_consumer<binary_codec>::open(net(), fast_consumer()).value(); });
    // a raw sender in host 0 that builds frames by hand
    auto raw = lab.in(0, [] { return udp_link::open_sender(net()).value(); });
    binary_codec codec;
    auto frame = [&](std::uint64_t seq, std::uint64_t epoch, key_set k, std::uint64_t event_no) {
        frame_header h;
        h.codec = codec_id::binary;
        h.source_id = 9;
        h.epoch = epoch;
        h.sequence = seq;
        h.event_count = 1;
        k.prepare(h);
        std::string d, ev;
        write_header(d, h, "db.t" + std::to_string(event_no % 45));
        codec.encode(make_event(event_no), ev);
        detail::datagram::put32(d, static_cast<std::uint32_t>(ev.size()));
        d += ev;
        EXPECT_TRUE(k.sign(d));
        return d;
    };
    auto send = [&](const std::string& d) {
        const detail::datagram::out_datagram o{d};
        ASSERT_EQ(raw.send(std::span(&o, 1)), 0);
    };
    collector got;
    const std::string good0 = frame(0, 10, keys(), 0), good1 = frame(1, 10, keys(), 1);
    send(good0);
    pump(rx, got, 1);
    std::string forged = good1;
    forged[60] ^= 1;  // a changed byte in the event
    send(forged);
    send(frame(1, 10, keys(1, "a different secret of 32 bytes.."), 666));  // right key id, wrong secret
    send(frame(1, 10, keys(2), 666));                                        // a key id the receiver lacks
    send(frame(1, 10, key_set{}, 666));                                      // no MAC
    send(good1.substr(0, good1.size() - 5));                                 // truncated
    send(good0);                                                             // replayed
    send(frame(5, 9, keys(), 666));                                          // an older epoch (replay of an old run)
    send("junk that is not a frame at all, but long enough for a header......");
    send(good1);
    pump(rx, got, 2);
    pump_for(rx, got, std::chrono::milliseconds(50));
    ASSERT_EQ(got.got.size(), 2u);
    EXPECT_EQ(got.got[0], make_event(0));
    EXPECT_EQ(got.got[1], make_event(1));
    const auto st = rx.stats();
    EXPECT_EQ(st.forged, 4u);  // a cut datagram still parses (the MAC is then read from event bytes): its MAC fails
    EXPECT_EQ(st.unauthenticated, 1u);
    EXPECT_EQ(st.malformed, 1u);
    EXPECT_EQ(st.replayed, 2u);
}

TEST(DatagramUdp, TooSlowReceiverReportsTheLossAndGoesOn) {
    REQUIRE_LAB();
    test::netns_lab lab(2);
    udp_options small = net();
    small.receive_buffer = 64 << 10;
    std::vector<loss_report> losses;
    auto rx = lab.in(1, [&] { return udp_consumer<binary_codec>::open(small, fast_consumer(&losses)).value(); });
    producer_options po = fast_producer();
    po.ring = 32;  // too small to repair a burst
    auto tx = lab.in(0, [&] { return udp_producer<binary_codec>::open(net(), po).value(); });
    for (std::uint64_t i = 0; i < 4000; i += 200) ASSERT_TRUE(tx.write(make_events(i, 200)));  // nobody reads meanwhile
    collector got;
    pump_for(rx, got, std::chrono::milliseconds(300));
    std::uint64_t lost = 0;
    for (const auto& l : losses)
        if (l.kind == loss_kind::unrecoverable) {
            lost += l.last - l.first + 1;
            EXPECT_FALSE(l.resume_after.empty());
        }
    EXPECT_GT(lost, 0u);
    EXPECT_EQ(rx.stats().unrecoverable, lost);
    for (std::size_t i = 1; i < got.got.size(); ++i) ASSERT_LT(got.got[i - 1].sequence, got.got[i].sequence);
    // it goes on: later events arrive
    const std::size_t before = got.got.size();
    send_paced(tx, 5000, 100);
    pump(rx, got, before + 100);
    ASSERT_EQ(got.got.size(), before + 100);
    EXPECT_EQ(got.got.back().sequence, 5099u);
}

TEST(DatagramUdp, Ipv6GroupAndTableFilter) {
    REQUIRE_LAB();
    test::netns_lab lab(2);
    consumer_options co = fast_consumer();
    co.tables = {"db.t3", "db.t44"};
    auto rx = lab.in(1, [&] { return udp_consumer<binary_codec>::open(net("ff15::77"), co).value(); });
    auto tx = lab.in(0, [] { return udp_producer<binary_codec>::open(net("ff15::77"), fast_producer()).value(); });
    collector got;
    std::thread t([&] { pump(rx, got, 2 * 450 / 45); });
    send_paced(tx, 0, 450);
    t.join();
    ASSERT_EQ(got.got.size(), 20u);
    for (const auto& e : got.got) EXPECT_TRUE(e.table == "t3" || e.table == "t44") << e.table;
    EXPECT_GT(rx.stats().other_table, 0u);
}

// ---------------------------------------------------------------------------------------------
// Netlink between processes (a private network namespace: netlink is per namespace).

TEST(DatagramNetlink, BetweenProcessesEveryTableInOrder) {
    REQUIRE_LAB();
    test::netns_lab lab(1);
    netlink_options nl;
    nl.receive_buffer = 8 << 20;
    consumer_options co = fast_consumer();
    auto rx = lab.in(0, [&] { return netlink_consumer<binary_codec>::open(nl, co).value(); });
    const std::string ns = lab.host(0);
    constexpr std::uint64_t n = 2000;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // the producer process
        int code = 0;
        try {
            test::netns_lab::in_ns(ns, [&] {
                auto tx = netlink_producer<binary_codec>::open(nl, fast_producer()).value();
                for (std::uint64_t i = 0; i < n; i += 50) {
                    if (!tx.write(make_events(i, 50, 45, 101))) code = 1;
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(500));  // answer late NAKs
                return 0;
            });
        } catch (...) {
            code = 2;
        }
        ::_exit(code);
    }
    collector got;
    pump(rx, got, n);
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // per table (channel) in order, each once
    ASSERT_EQ(got.got.size(), n);
    std::map<std::string, std::uint64_t> last;
    std::set<std::uint64_t> seen;
    for (const auto& e : got.got) {
        auto [it, fresh] = last.emplace(e.table, e.sequence);
        if (!fresh) {
            EXPECT_LT(it->second, e.sequence) << e.table;
            it->second = e.sequence;
        }
        EXPECT_TRUE(seen.insert(e.sequence).second);
        EXPECT_EQ(e, make_event(e.sequence, 45, 101));
    }
    EXPECT_EQ(last.size(), 45u);
    EXPECT_EQ(rx.stats().unrecoverable, 0u);
}

TEST(DatagramNetlink, SubscriberGetsOnlyItsTablesAndOverrunsAreRepaired) {
    REQUIRE_LAB();
    test::netns_lab lab(1);
    netlink_options sub;
    sub.tables = {"db.t5"};
    sub.receive_buffer = 4096;  // tiny: bursts overrun it
    consumer_options co = fast_consumer();
    co.tables = sub.tables;
    auto rx = lab.in(0, [&] { return netlink_consumer<binary_codec>::open(sub, co).value(); });
    auto tx = lab.in(0, [] { return netlink_producer<binary_codec>::open({}, fast_producer()).value(); });
    collector got;
    for (std::uint64_t i = 0; i < 2250; i += 450) ASSERT_TRUE(tx.write(make_events(i, 450)));
    pump(rx, got, 50);
    ASSERT_EQ(got.got.size(), 50u);
    for (std::size_t i = 0; i < got.got.size(); ++i) EXPECT_EQ(got.got[i].sequence, 5 + 45 * i);
    EXPECT_GT(rx.stats().overruns, 0u);
    EXPECT_EQ(rx.stats().unrecoverable, 0u);
}

// The kernel's rule for NETLINK_USERSOCK (checked here, not assumed): any local user may send to
// its multicast groups, only CAP_NET_ADMIN may subscribe. So what an unprivileged process sends
// reaches the consumers: the MAC refuses it, and so does, without keys, a consumer that accepts
// only uid 0's datagrams (netlink_options::senders, the kernel's SCM_CREDENTIALS).
TEST(DatagramNetlink, AnyUserMaySendOnlyRootMaySubscribeMacOrSenderUidRefusesOthers) {
    REQUIRE_LAB();
    test::netns_lab lab(1);
    netlink_options nl;
    auto rx = lab.in(0, [&] { return netlink_consumer<binary_codec>::open(nl, fast_consumer()).value(); });
    netlink_options root_only;
    root_only.senders = {0};
    consumer_options no_keys = fast_consumer();
    no_keys.keys = key_set{};
    auto by_uid = lab.in(0, [&] { return netlink_consumer<binary_codec>::open(root_only, no_keys).value(); });
    const std::string ns = lab.host(0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // an unprivileged local user (nobody)
        int code = 0;
        try {
            test::netns_lab::in_ns(ns, [&] {
                if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
                    code = 10;
                else if (netlink_link::open_receiver(nl))
                    code = 11;  // subscribing must be refused (EPERM)
                else {
                    // one forged frame per kind a receiver must refuse: no MAC, and a wrong MAC
                    for (const auto& forged_keys : {key_set{}, keys(1, "not the secret, 32 bytes long...")}) {
                        producer_options po = fast_producer();
                        po.keys = forged_keys;
                        po.service_thread = false;
                        auto p = netlink_producer<binary_codec>::open(nl, std::move(po)).value();
                        if (!p.write(make_events(0, 3, 1))) code = 12;  // one table: one datagram
                    }
                }
                return 0;
            });
        } catch (...) {
            code = 13;
        }
        ::_exit(code);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    ASSERT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 subscribed, 12 send refused, 13 exception";
    collector got, got_by_uid;
    for (int i = 0; i < 200 && (rx.stats().datagrams < 2 || by_uid.stats().datagrams < 2); ++i) {  // sent before the child ended
        rx.process(got.sink).value();
        by_uid.process(got_by_uid.sink).value();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(rx.stats().datagrams, 2u);  // delivered by the kernel from uid 65534
    EXPECT_EQ(rx.stats().unauthenticated, 1u);
    EXPECT_EQ(rx.stats().forged, 1u);
    EXPECT_TRUE(got.got.empty());
    EXPECT_EQ(by_uid.stats().datagrams, 2u);
    EXPECT_EQ(by_uid.stats().unauthenticated, 2u);  // neither came from uid 0
    EXPECT_TRUE(got_by_uid.got.empty());
    // uid 0 without keys: delivered by the sender check alone
    producer_options po = fast_producer();
    po.keys = key_set{};
    auto tx = lab.in(0, [&] { return netlink_producer<binary_codec>::open(nl, std::move(po)).value(); });
    ASSERT_TRUE(tx.write(make_events(0, 3, 1)));
    pump(by_uid, got_by_uid, 3);
    ASSERT_EQ(got_by_uid.got.size(), 3u);
    for (std::uint64_t i = 0; i < 3; ++i) EXPECT_EQ(got_by_uid.got[i], make_event(i, 1));
    EXPECT_EQ(by_uid.stats().unauthenticated, 2u);
}

// ---------------------------------------------------------------------------------------------
// rowcast-multicast-relay: a spool relayed to netlink multicast by the example program.

#ifdef ROWCAST_RELAY_PROGRAM
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <fstream>
#include <rowcast/transport/spool_writer.hpp>

TEST(DatagramRelay, SpoolToNetlinkThroughTheExampleProgram) {
    REQUIRE_LAB();
    test::netns_lab lab(1);
    test::temp_dir dir("rowcast-relay");
    const auto spool = dir.path() / "spool";
    std::filesystem::create_directory(spool);
    {
        std::ofstream(dir.path() / "key", std::ios::binary) << secret;
    }
    auto writer = spool_writer<binary_codec>::open({.directory = spool}).value();
    for (std::uint64_t i = 0; i < 50; ++i) ASSERT_TRUE(writer.write(make_event(i)));
    consumer_options co = fast_consumer();
    auto rx = lab.in(0, [&] { return netlink_consumer<binary_codec>::open({}, co).value(); });
    auto relay = test::process::start({.argv = {"/usr/bin/ip", "netns", "exec", lab.host(0), ROWCAST_RELAY_PROGRAM, "--spool",
                                                spool.string(), "--codec", "binary", "--netlink", "--key",
                                                "1:" + (dir.path() / "key").string()},
                                       .stdout_file = dir.path() / "relay.log"});
    collector got;
    pump(rx, got, 50);
    relay.stop();
    ASSERT_EQ(got.got.size(), 50u) << test::slurp(dir.path() / "relay.log");
    std::set<std::uint64_t> seqs;
    for (const auto& e : got.got) seqs.insert(e.sequence);
    EXPECT_EQ(seqs.size(), 50u);  // each once (a spool delivers in file-name order)
}
#endif
