// rowcast::spread (client, producer, consumer) against tests/support/spread_daemon.hpp, a
// single test daemon written from the protocol description, in normal and hostile modes.
#include <rowcast/codec/binary.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/spread/client.hpp>
#include <rowcast/spread/consumer.hpp>
#include <rowcast/spread/detail/fragment.hpp>
#include <rowcast/spread/detail/wire.hpp>
#include <rowcast/spread/producer.hpp>
#ifdef ROWCAST_TEST_TEXT_CODECS
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#endif

#include "support/sample_events.hpp"
#include "support/spread_daemon.hpp"
#include "support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>

using namespace rowcast;
using rowcast::test::spread_daemon;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

namespace {

static_assert(event_sink<spread::producer<binary_codec>>, "spread::producer models event_sink");
static_assert(event_source<spread::consumer<binary_codec>>, "spread::consumer models event_source");

spread::client_options opts(const spread_daemon& d, std::string name) {
    spread::client_options o;
    o.port = static_cast<std::uint16_t>(d.port());
    o.name = std::move(name);
    o.connect_timeout = 5s;
    o.reconnect = {.initial = 10ms, .max = 100ms};
    return o;
}

spread::client connect(const spread_daemon& d, std::string name, bool membership = true) {
    auto o = opts(d, std::move(name));
    o.membership = membership;
    return spread::client::connect(o).value();
}

// The next message (a liveness guard, not a timing assertion).
spread::message next(spread::client& c) {
    auto m = c.receive_for(20s);
    if (!m) throw rowcast::exception(m.error_value());
    if (!*m) throw std::runtime_error("no message within 20 s");
    return std::move(**m);
}

// The next message of kind `k`, skipping others.
spread::message next_of(spread::client& c, spread::message_kind k) {
    for (;;) {
        auto m = next(c);
        if (m.kind == k) return m;
    }
}

// The error receive() reports after the daemon's crafted bytes.
error hostile_error(spread_daemon& d, std::string bytes, bool close_after = false) {
    static int n = 0;
    const std::string name = "victim" + std::to_string(++n);  // a fresh name: the last one may linger a moment
    auto c = connect(d, name);
    d.inject(name, std::move(bytes), close_after);
    for (;;) {
        auto m = c.receive_for(20s);
        if (!m) {
            EXPECT_FALSE(c.connected()) << "a bad daemon message drops the connection";
            return m.error_value();
        }
        if (!*m) throw std::runtime_error("no error within 20 s");
    }
}

}  // namespace

// --- the client ---------------------------------------------------------------------------

TEST(SpreadClient, ConnectsWithNullAuthenticationAndLearnsItsPrivateGroup) {
    spread_daemon d;
    auto c = connect(d, "alice");
    EXPECT_EQ(c.private_group(), "#alice#testd");
    EXPECT_EQ(c.daemon_version(), "5.0.1");
    EXPECT_TRUE(c.connected());
    EXPECT_GE(c.native_handle(), 0);
    auto anon = connect(d, "");  // the daemon picks a name
    EXPECT_THAT(anon.private_group(), ::testing::StartsWith("#r"));
}

TEST(SpreadClient, ConnectsOverTheUnixSocket) {
    rowcast::test::temp_dir dir;
    spread_daemon d({.unix_path = (dir.path() / "4803").string()});
    auto o = opts(d, "unixy");
    o.unix_socket = (dir.path() / "4803").string();
    auto c = spread::client::connect(o).value();
    c.join("g").value();
    EXPECT_EQ(next(c).kind, spread::message_kind::membership);
}

TEST(SpreadClient, DuplicateNameIsRejectedAsTransient) {
    spread_daemon d;
    auto a = connect(d, "dup");
    auto b = spread::client::connect(opts(d, "dup"));
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error_value().code, make_error_code(errc::unavailable));
    EXPECT_THAT(b.error_value().message, HasSubstr("REJECT_NOT_UNIQUE"));
}

TEST(SpreadClient, RefusesBadNamesAndSizesBeforeSending) {
    spread_daemon d;
    EXPECT_EQ(spread::client::connect(opts(d, "elevenbytes")).error_value().code, make_error_code(errc::invalid_value));
    EXPECT_EQ(spread::client::connect(opts(d, "a b")).error_value().code, make_error_code(errc::invalid_value));
    auto c = connect(d, "sizes");
    EXPECT_FALSE(c.join(""));
    EXPECT_FALSE(c.join("has#hash"));
    EXPECT_FALSE(c.join(std::string(32, 'g')));
    EXPECT_TRUE(c.join(std::string(31, 'g')));
    c.join("g").value();
    EXPECT_FALSE(c.multicast(spread::service::agreed, "a b", 0, "x"));
    EXPECT_FALSE(c.multicast(static_cast<spread::service>(0x30), "g", 0, "x"));  // agreed|safe
    std::vector<std::string_view> many(101, "g");
    EXPECT_FALSE(c.multicast(spread::service::agreed, many, 0, "x"));
    // The size cap: data + 32 per group <= 143152 (the daemon crashes from 143153 on).
    auto big = c.multicast(spread::service::agreed, "g", 0, std::string(143121, 'x'));
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error_value().code, make_error_code(errc::limit_exceeded));
    std::vector<std::string_view> two{"g", "h"};
    EXPECT_FALSE(c.multicast(spread::service::agreed, two, 0, std::string(143089, 'x')));
    ASSERT_TRUE(c.multicast(spread::service::agreed, "g", 0, std::string(143120, 'x')));
    EXPECT_TRUE(c.multicast(spread::service::agreed, two, 0, std::string(143088, 'x')));
    auto m = next_of(c, spread::message_kind::regular);
    EXPECT_EQ(m.data.size(), 143120u);
    EXPECT_TRUE(spread_daemon::wait_for([&] { return d.messages() == 2; }));
    EXPECT_EQ(d.max_message_size(), 143152u);
    EXPECT_FALSE(d.crashed());
    EXPECT_EQ(d.violations(), 0u);
}

TEST(SpreadClient, EveryServiceTypeIsDeliveredWithItsBitsTypeAndData) {
    spread_daemon d;
    auto rx = connect(d, "rx", false);
    auto tx = connect(d, "tx", false);
    rx.join("svc").value();
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("svc").size() == 1; }));
    const spread::service all[] = {spread::service::unreliable, spread::service::reliable, spread::service::fifo,
                                   spread::service::causal,     spread::service::agreed,   spread::service::safe};
    std::int16_t type = -3;
    for (auto s : all) tx.multicast(s, "svc", type++, "payload " + std::string(to_string(s))).value();
    type = -3;
    for (auto s : all) {
        auto m = next(rx);
        EXPECT_EQ(m.kind, spread::message_kind::regular);
        EXPECT_EQ(m.svc(), s);
        EXPECT_EQ(m.mess_type, type++);
        EXPECT_EQ(m.sender, "#tx#testd");
        EXPECT_EQ(m.groups, std::vector<std::string>{"svc"});
        EXPECT_EQ(m.data, "payload " + std::string(to_string(s)));
        EXPECT_FALSE(m.endian_mismatch);
    }
    // Point to point, and SELF_DISCARD: the sender in the group does not get its own copy.
    tx.multicast(spread::service::fifo, "#rx#testd", 7, "direct").value();
    EXPECT_EQ(next(rx).data, "direct");
    tx.join("svc").value();
    tx.multicast(spread::service::agreed, "svc", 1, "not to me", true).value();
    tx.multicast(spread::service::agreed, "svc", 1, "to me too").value();
    auto m = next(rx);
    EXPECT_EQ(m.data, "not to me");
    EXPECT_EQ(m.type, 0x10u | 0x40u);
    EXPECT_EQ(next(tx).data, "to me too");
    EXPECT_EQ(tx.stats().sent, 9u);
}

TEST(SpreadClient, MembershipMessagesForJoinLeaveAndDisconnect) {
    spread_daemon d;
    auto a = connect(d, "a");
    a.join("m").value();
    auto m = next(a);
    EXPECT_EQ(m.kind, spread::message_kind::membership);
    EXPECT_TRUE(m.caused_by_join());
    EXPECT_EQ(m.sender, "m");
    EXPECT_EQ(m.groups, std::vector<std::string>{"#a#testd"});
    EXPECT_EQ(m.changed_member(), "#a#testd");
    {
        auto b = connect(d, "b");
        b.join("m").value();
        for (auto* c : {&a, &b}) {
            auto j = next(*c);
            EXPECT_TRUE(j.caused_by_join());
            EXPECT_EQ(j.groups, (std::vector<std::string>{"#a#testd", "#b#testd"}));
            EXPECT_EQ(j.changed_member(), "#b#testd");
        }
        const auto gid = m.gid;
        b.leave("m").value();
        auto self = next(b);
        EXPECT_EQ(self.kind, spread::message_kind::self_leave);
        EXPECT_EQ(self.sender, "m");
        auto l = next(a);
        EXPECT_TRUE(l.caused_by_leave());
        EXPECT_EQ(l.groups, std::vector<std::string>{"#a#testd"});
        EXPECT_EQ(l.changed_member(), "#b#testd");
        EXPECT_NE(l.gid, gid);
        b.join("m").value();  // joining again
        EXPECT_TRUE(next(a).caused_by_join());
    }  // b disconnects
    auto gone = next(a);
    EXPECT_TRUE(gone.caused_by_disconnect());
    EXPECT_EQ(gone.changed_member(), "#b#testd");
}

TEST(SpreadClient, SeveralClientsInSeveralGroupsSeeOneOrder) {
    spread_daemon d;
    std::vector<spread::client> cs;
    for (const char* n : {"c0", "c1", "c2"}) cs.push_back(connect(d, n, false));
    for (auto& c : cs) c.join("all").value();
    cs[0].join("odd").value();
    cs[2].join("odd").value();
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("all").size() == 3 && d.members("odd").size() == 2; }));
    const std::vector<std::string_view> both{"all", "odd"};
    for (int i = 0; i < 30; ++i)
        for (std::size_t s = 0; s < cs.size(); ++s)
            cs[s].multicast(spread::service::agreed, both, 0, std::to_string(s) + ":" + std::to_string(i)).value();
    std::vector<std::vector<std::string>> seen(cs.size());
    for (std::size_t r = 0; r < cs.size(); ++r)
        for (int k = 0; k < 90; ++k) {
            auto m = next(cs[r]);  // to both groups: delivered once
            EXPECT_EQ(m.groups, (std::vector<std::string>{"all", "odd"}));
            seen[r].push_back(m.data);
        }
    EXPECT_EQ(seen[0], seen[1]);
    EXPECT_EQ(seen[1], seen[2]);
    cs[1].multicast(spread::service::fifo, "odd", 0, "end").value();  // c1 is not in "odd": still sends
    EXPECT_EQ(next(cs[0]).data, "end");
    EXPECT_EQ(next(cs[2]).data, "end");
}

// What one test daemon cannot produce (partitions between daemons, rejects), injected as a
// multi-daemon Spread would send it (protocol notes 6.2, 6.3).
TEST(SpreadClient, NetworkTransitionalAndRejectMessagesAreParsed) {
    spread_daemon d;
    auto c = connect(d, "alice");
    std::string gid;
    for (std::uint32_t v : {1552775919u, 1795314712u, 1u}) spread_daemon::put(gid, v);
    std::string body = gid;
    spread_daemon::put(body, 2);   // two vs-sets
    spread_daemon::put(body, 36);  // the receiver's: the second (4 + 32 bytes after the first's start)
    spread_daemon::put(body, 1);
    spread_daemon::put_name(body, "#bob#d2");
    spread_daemon::put(body, 2);
    spread_daemon::put_name(body, "#alice#testd");
    spread_daemon::put_name(body, "#cw#d1");
    std::string reject = spread_daemon::frame(0x400000, "#alice#testd", {"g", "#alice#testd"}, 5, "refused");
    std::string old_type;
    spread_daemon::put(old_type, 0x10);
    reject.insert(48, old_type);
    d.inject("alice", spread_daemon::frame(0x2000, "g", {}, 0, gid) +
                          spread_daemon::frame(0x1800, "g", {"#alice#testd", "#bob#d2", "#cw#d1"}, 0, body) + reject);
    auto t = next(c);
    EXPECT_EQ(t.kind, spread::message_kind::transitional);
    EXPECT_EQ(t.sender, "g");
    EXPECT_EQ(t.gid, (spread::group_id{1552775919, 1795314712, 1}));
    auto n = next(c);
    EXPECT_EQ(n.kind, spread::message_kind::membership);
    EXPECT_TRUE(n.caused_by_network());
    EXPECT_EQ(n.groups.size(), 3u);
    ASSERT_EQ(n.vs_sets.size(), 2u);
    EXPECT_EQ(n.vs_sets[0], std::vector<std::string>{"#bob#d2"});
    EXPECT_EQ(n.local_vs_set, 1u);
    EXPECT_EQ(n.vs_sets[1], (std::vector<std::string>{"#alice#testd", "#cw#d1"}));
    EXPECT_EQ(n.changed_member(), "");
    auto r = next(c);
    EXPECT_EQ(r.kind, spread::message_kind::reject);
    EXPECT_EQ(r.type, 0x400010u);
    EXPECT_EQ(r.groups.size(), 2u);
    EXPECT_EQ(r.data, "refused");
}

// --- hostile daemon replies ------------------------------------------------------------------

TEST(SpreadHostile, TruncatedHeaderThenCloseIsAConnectionLostMidMessage) {
    spread_daemon d;
    auto e = hostile_error(d, spread_daemon::frame(0x10, "#x#testd", {"g"}, 0, "data").substr(0, 20), true);
    EXPECT_EQ(e.code, make_error_code(errc::unavailable));
    EXPECT_THAT(e.message, HasSubstr("in the middle of a message"));
}

TEST(SpreadHostile, DaemonGoingAwayMidBodyIsTransientAndTheClientReconnectsAndRejoins) {
    spread_daemon d;
    auto c = connect(d, "again");
    c.join("keep").value();
    EXPECT_EQ(next(c).kind, spread::message_kind::membership);
    const std::string whole = spread_daemon::frame(0x10, "#x#testd", {"keep"}, 0, std::string(5000, 'b'));
    d.inject("again", whole.substr(0, 3000), true);
    auto r = c.receive_for(20s);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is_transient(r.error_value()));
    EXPECT_THAT(r.error_value().message, HasSubstr("in the middle of a message"));
    d.stop();  // the daemon is gone: reconnects fail (with backoff) until it is back
    auto down = c.receive();
    ASSERT_FALSE(down);
    EXPECT_TRUE(is_transient(down.error_value()));
    d.start();
    std::optional<spread::message> rejoined;
    ASSERT_TRUE(spread_daemon::wait_for([&] {  // receive() reconnects when its backoff allows
        auto m = c.receive();
        if (m && *m) rejoined = std::move(**m);
        return rejoined.has_value();
    }));
    EXPECT_EQ(rejoined->kind, spread::message_kind::membership);  // re-joined
    EXPECT_TRUE(rejoined->caused_by_join());
    EXPECT_EQ(d.members("keep"), std::vector<std::string>{"#again#testd"});
    EXPECT_GE(c.stats().connects, 2u);
    EXPECT_GE(c.stats().disconnects, 1u);
}

TEST(SpreadHostile, WrongEndiannessMarkerIsRefused) {
    spread_daemon d;
    std::string f = spread_daemon::frame(0x10, "#x#testd", {"g"}, 0, "abc");
    f[3] = static_cast<char>(f[3] & 0x7f);  // the marker's high bit cleared, the low one left
    auto e = hostile_error(d, f);
    EXPECT_EQ(e.code, make_error_code(errc::bad_magic));
    EXPECT_THAT(e.message, HasSubstr("endianness marker"));
}

TEST(SpreadHostile, BigEndianDaemonMessagesAreRead) {
    spread_daemon d;
    auto c = connect(d, "bigend");
    d.inject("bigend", spread_daemon::frame(0x04, "#x#testd", {"g"}, 513, "be", true));
    auto m = next(c);
    EXPECT_EQ(m.svc(), spread::service::fifo);
    EXPECT_EQ(m.mess_type, 513);
    EXPECT_TRUE(m.endian_mismatch);
    EXPECT_EQ(m.data, "be");
}

TEST(SpreadHostile, AbsurdLengthsAreRefusedBeforeReading) {
    spread_daemon d;
    std::string f = spread_daemon::frame(0x10, "#x#testd", {"g"}, 0, "");
    std::string huge = f.substr(0, 44);
    spread_daemon::put(huge, 0x7fffffff);
    auto e = hostile_error(d, huge);
    EXPECT_EQ(e.code, make_error_code(errc::limit_exceeded));
    EXPECT_THAT(e.message, HasSubstr("data_len"));
    std::string groups = f.substr(0, 36);
    spread_daemon::put(groups, 5000);
    groups += f.substr(40, 8);
    e = hostile_error(d, groups);
    EXPECT_EQ(e.code, make_error_code(errc::limit_exceeded));
    EXPECT_THAT(e.message, HasSubstr("num_groups"));
    std::string negative = f.substr(0, 44);
    spread_daemon::put(negative, 0xffffffff);
    EXPECT_EQ(hostile_error(d, negative).code, make_error_code(errc::limit_exceeded));
}

TEST(SpreadHostile, UnknownMessageTypesAndBadNamesAreRefused) {
    spread_daemon d;
    auto e = hostile_error(d, spread_daemon::frame(0x00800000, "#x#testd", {"g"}, 0, ""));
    EXPECT_EQ(e.code, make_error_code(errc::unsupported));
    EXPECT_THAT(e.message, HasSubstr("unknown message type 0x00800000"));
    e = hostile_error(d, spread_daemon::frame(0x100, "g", {}, 0, ""));  // a cause without REG/TRANS
    EXPECT_EQ(e.code, make_error_code(errc::unsupported));
    e = hostile_error(d, spread_daemon::frame(0x30, "#x#testd", {"g"}, 0, ""));  // two service bits
    EXPECT_EQ(e.code, make_error_code(errc::invalid_value));
    std::string f = spread_daemon::frame(0x10, "#x#testd", {"g"}, 0, "");
    std::fill(f.begin() + 48, f.begin() + 80, 'n');  // a group slot without NUL: a name of 32 bytes
    e = hostile_error(d, f);
    EXPECT_EQ(e.code, make_error_code(errc::invalid_value));
    EXPECT_THAT(e.message, HasSubstr("without NUL"));
}

TEST(SpreadHostile, BrokenMembershipBodiesAreRefused) {
    spread_daemon d;
    std::string body;
    for (std::uint32_t v : {1u, 2u, 3u, 1u, 0u, 1000000u}) spread_daemon::put(body, v);  // a vs-set of a million members
    auto e = hostile_error(d, spread_daemon::frame(0x1100, "g", {"#a#testd"}, 0, body));
    EXPECT_EQ(e.code, make_error_code(errc::limit_exceeded));
    body.clear();
    for (std::uint32_t v : {1u, 2u, 3u, 1u, 8u, 1u}) spread_daemon::put(body, v);  // local offset inside a set
    spread_daemon::put_name(body, "#a#testd");
    e = hostile_error(d, spread_daemon::frame(0x1100, "g", {"#a#testd"}, 0, body));
    EXPECT_EQ(e.code, make_error_code(errc::invalid_value));
    e = hostile_error(d, spread_daemon::frame(0x2000, "g", {}, 0, "short"));  // transitional: 12-byte body
    EXPECT_EQ(e.code, make_error_code(errc::invalid_value));
}

TEST(SpreadHostile, HandshakeRepliesAreChecked) {
    spread_daemon d;
    auto attempt = [&](std::string reply) {
        d.hostile_handshake(std::move(reply));
        auto c = spread::client::connect(opts(d, "hs"));
        EXPECT_FALSE(c);
        return c ? error{} : c.error_value();
    };
    auto e = attempt(std::string{static_cast<char>(-6)});
    EXPECT_THAT(e.message, HasSubstr("REJECT_NOT_UNIQUE"));
    e = attempt(std::string{static_cast<char>(-5)});
    EXPECT_EQ(e.code, make_error_code(errc::refused));
    e = attempt("\x05NU");  // the method list cut short
    EXPECT_EQ(e.code, make_error_code(errc::unavailable));
    EXPECT_THAT(e.message, HasSubstr("authentication list"));
    e = attempt("\x03" "IP ");
    EXPECT_EQ(e.code, make_error_code(errc::refused));
    EXPECT_THAT(e.message, HasSubstr("NULL"));
    std::string long_name = std::string("\x05NULL \x01\x05\x00\x01", 10) + static_cast<char>(40) + "#hs#" + std::string(36, 'd');
    e = attempt(long_name);
    EXPECT_EQ(e.code, make_error_code(errc::invalid_value));
    EXPECT_THAT(e.message, HasSubstr("private group name length 40"));
    e = attempt(std::string("\x05NULL \x01\x05\x00\x01\x0b#other#dddd", 22));  // someone else's name
    EXPECT_EQ(e.code, make_error_code(errc::invalid_value));
    e = attempt(std::string("\x05NULL \x07", 7));  // neither accept nor a reject code
    EXPECT_EQ(e.code, make_error_code(errc::bad_magic));
}

// --- producer and consumer -------------------------------------------------------------------

namespace {

spread::producer_options producer_opts(const spread_daemon& d, std::string name) {
    spread::producer_options o;
    o.client = opts(d, std::move(name));
    return o;
}

template <class... C>
spread::consumer<C...> open_consumer(const spread_daemon& d, std::string name, std::vector<std::string> groups,
                                     std::vector<spread::bad_message>* bad = nullptr) {
    spread::consumer_options o;
    o.client = opts(d, std::move(name));
    o.client.membership = false;
    o.groups = std::move(groups);
    if (bad) o.on_bad = [bad](const spread::bad_message& b) { bad->push_back(b); };
    return spread::consumer<C...>::open(o, C{}...).value();
}

// Runs process() until `n` events reached the sink (a liveness guard, not a timing assertion).
template <class Source, class Sink>
void pump(Source& src, Sink& sink, std::size_t n, const std::function<std::size_t()>& count) {
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (count() < n) {
        auto r = src.process(sink);
        if (!r) throw rowcast::exception(r.error_value());
        if (count() >= n) return;
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("events did not arrive within 20 s");
        pollfd p{src.native_handle(), POLLIN, 0};
        ::poll(&p, 1, src.next_timeout().count() < 0 ? 1000 : static_cast<int>(src.next_timeout().count()));
    }
}

// A daemon, a consumer of rc.shop.items, a producer.
struct one_table {
    spread_daemon d;
    spread::consumer<binary_codec> src = open_consumer<binary_codec>(d, "cons", {"rc.shop.items"});
    spread::producer<binary_codec> prod = spread::producer<binary_codec>::open(producer_opts(d, "prod")).value();
    one_table() {
        if (!spread_daemon::wait_for([&] { return d.members("rc.shop.items").size() == 1; }))
            throw std::runtime_error("the consumer did not join within 20 s");
    }
};

// process() until it fails; the error.
template <class Source, class Sink>
error process_until_error(Source& src, Sink& sink) {
    for (;;) {
        auto r = src.process(sink);
        if (!r) return r.error_value();
        pollfd p{src.native_handle(), POLLIN, 0};
        if (::poll(&p, 1, 20000) == 0) throw std::runtime_error("no error within 20 s");
    }
}

event big_event(std::size_t bytes) {
    event e = rowcast::test::small_insert();
    e.after[1] = text{std::string(bytes, 'L')};
    return e;
}

}  // namespace

TEST(SpreadPipeline, ProducerToConsumerThroughRun) {
    spread_daemon d;
    const std::string tmpl = "rc.<schema>.<table>";
    auto src = open_consumer<binary_codec>(d, "cons", {spread::group_name(tmpl, "shop", "items"),
                                                       spread::group_name(tmpl, "inventory", "hosts"), "rc.-.-"});
    auto prod = spread::producer<binary_codec>::open(producer_opts(d, "prod")).value();
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("rc.shop.items").size() == 1 && d.members("rc.-.-").size() == 1; }));
    std::vector<event> sent;
    event b;
    b.kind = event_kind::begin;
    event c;
    c.kind = event_kind::commit;
    for (int i = 0; i < 20; ++i) {
        sent.push_back(b);
        sent.push_back(rowcast::test::small_insert());
        sent.back().sequence = static_cast<std::uint64_t>(i);
        sent.push_back(rowcast::test::hosts_update());
        sent.push_back(c);
    }
    prod.write(std::span<const event>(sent)).value();
    EXPECT_EQ(prod.stats().events, sent.size());
    std::vector<event> got;
    std::stop_source stop;
    auto sink = callback_sink([&](const event& e) {
        got.push_back(e);
        if (got.size() == sent.size()) stop.request_stop();
    });
    ASSERT_TRUE(src.run(sink, stop.get_token()));
    EXPECT_EQ(got, sent);  // agreed, one sender: its order
    EXPECT_EQ(src.stats().events, sent.size());
    EXPECT_EQ(src.stats().lost, 0u);
    EXPECT_EQ(src.stats().bad, 0u);
}

TEST(SpreadPipeline, LargeEventIsFragmentedUnderTheCapAndReassembled) {
    one_table t;
    auto& [d, src, prod] = t;
    const event big = big_event(400000), small = rowcast::test::small_insert();
    prod.write(big).value();
    prod.write(small).value();
    EXPECT_EQ(prod.stats().fragmented, 1u);
    EXPECT_EQ(prod.stats().messages, 4u);  // 3 fragments + 1
    std::vector<event> got;
    auto sink = callback_sink([&](const event& e) { got.push_back(e); });
    pump(src, sink, 2, [&] { return got.size(); });
    EXPECT_EQ(got[0], big);
    EXPECT_EQ(got[1], small);
    EXPECT_EQ(src.stats().reassembled, 1u);
    EXPECT_LE(d.max_message_size(), 143152u);
    EXPECT_EQ(d.max_message_size(), 143152u);  // full fragments fill the cap exactly
    EXPECT_FALSE(d.crashed());
}

TEST(SpreadPipeline, LargeEventIsRefusedWithoutFragmentationOrWithoutOrder) {
    spread_daemon d;
    auto o = producer_opts(d, "p1");
    o.fragment = false;
    auto p1 = spread::producer<binary_codec>::open(o).value();
    auto r = p1.write(big_event(200000));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, make_error_code(errc::limit_exceeded));
    EXPECT_THAT(r.error_value().message, HasSubstr("fragmentation is off"));
    o = producer_opts(d, "p2");
    o.svc = spread::service::reliable;
    auto p2 = spread::producer<binary_codec>::open(o).value();
    r = p2.write(big_event(200000));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error_value().message, HasSubstr("fifo service or stronger"));
    EXPECT_TRUE(p2.write(rowcast::test::small_insert()));
    EXPECT_TRUE(spread_daemon::wait_for([&] { return d.messages() == 1; }));
    EXPECT_EQ(p1.stats().refused + p2.stats().refused, 2u);
    EXPECT_FALSE(d.crashed());
}

TEST(SpreadPipeline, IncompleteAndInterleavedFragmentsAreReported) {
    namespace ds = rowcast::detail::spread;
    spread_daemon d;
    std::vector<spread::bad_message> bad;
    auto src = open_consumer<binary_codec>(d, "cons", {"frag"}, &bad);
    auto raw = connect(d, "forger", false);
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("frag").size() == 1; }));
    binary_codec codec;
    const std::string ok = encode(codec, rowcast::test::small_insert());
    auto send = [&](std::uint64_t seq, std::uint32_t i, std::uint32_t n, std::uint32_t total, std::string_view chunk) {
        std::string body;
        ds::put_envelope(body, seq, i, n, total);
        body += chunk;
        raw.multicast(spread::service::fifo, "frag", 3, body).value();
    };
    const std::string half1 = ok.substr(0, ok.size() / 2), half2 = ok.substr(ok.size() / 2);
    send(1, 0, 3, static_cast<std::uint32_t>(ok.size()), half1);  // 0 of 3 ...
    send(1, 2, 3, static_cast<std::uint32_t>(ok.size()), half2);  // ... then 2 of 3: out of order
    send(2, 1, 2, static_cast<std::uint32_t>(ok.size()), half2);  // a fragment without its start
    send(3, 0, 2, static_cast<std::uint32_t>(ok.size()), half1);  // a sequence interrupted ...
    send(4, 0, 1, static_cast<std::uint32_t>(ok.size()), ok);     // ... by another event: delivered
    send(5, 0, 2, static_cast<std::uint32_t>(ok.size()), half1);  // a sequence that completes
    send(5, 1, 2, static_cast<std::uint32_t>(ok.size()), half2);
    std::vector<event> got;
    auto sink = callback_sink([&](const event& e) { got.push_back(e); });
    pump(src, sink, 2, [&] { return got.size(); });
    ASSERT_EQ(bad.size(), 3u);
    for (const auto& b : bad) {
        EXPECT_EQ(b.group, "frag");
        EXPECT_EQ(b.sender, "#forger#testd");
        EXPECT_THAT(b.reason.message, HasSubstr("#forger#testd"));
    }
    EXPECT_THAT(bad[0].reason.message, HasSubstr("incomplete"));
    EXPECT_THAT(bad[1].reason.message, HasSubstr("without the fragments before it"));
    EXPECT_THAT(bad[2].reason.message, HasSubstr("interrupted"));
    EXPECT_EQ(got.size(), 2u);
    EXPECT_EQ(src.stats().bad, 3u);
}

TEST(SpreadPipeline, UnknownTypeAndUndecodablePayloadAreReportedWithGroupAndSender) {
    namespace ds = rowcast::detail::spread;
    spread_daemon d;
    std::vector<spread::bad_message> bad;
    auto src = open_consumer<binary_codec>(d, "cons", {"t"}, &bad);
    auto raw = connect(d, "forger", false);
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("t").size() == 1; }));
    auto body = [](std::uint64_t seq, std::string_view payload) {
        std::string b;
        ds::put_envelope(b, seq, 0, 1, static_cast<std::uint32_t>(payload.size()));
        return b + std::string(payload);
    };
    binary_codec codec;
    const std::string ok = encode(codec, rowcast::test::small_insert());
    raw.multicast(spread::service::agreed, "t", 99, body(1, ok)).value();         // no codec has type 99
    raw.multicast(spread::service::agreed, "t", 1, body(2, ok)).value();          // json: not in this consumer
    raw.multicast(spread::service::agreed, "t", 3, body(3, "garbage")).value();   // binary, undecodable
    raw.multicast(spread::service::agreed, "t", 3, "no envelope at all, only bytes").value();
    raw.multicast(spread::service::agreed, "t", 3, body(4, ok)).value();
    std::vector<event> got;
    auto sink = callback_sink([&](const event& e) { got.push_back(e); });
    pump(src, sink, 1, [&] { return got.size(); });
    ASSERT_EQ(bad.size(), 4u);
    EXPECT_EQ(bad[0].mess_type, 99);
    EXPECT_THAT(bad[0].reason.message, HasSubstr("names no codec"));
    EXPECT_THAT(bad[1].reason.message, HasSubstr("it decodes binary"));
    EXPECT_EQ(bad[2].mess_type, 3);
    EXPECT_EQ(bad[3].reason.code, make_error_code(errc::bad_magic));
    for (const auto& b : bad) {
        EXPECT_EQ(b.group, "t");
        EXPECT_EQ(b.sender, "#forger#testd");
        EXPECT_THAT(b.reason.message, HasSubstr("#forger#testd"));
    }
    // Without on_bad, process() returns the error (naming group and sender).
    auto strict = open_consumer<binary_codec>(d, "strict", {"t2"});
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("t2").size() == 1; }));
    raw.multicast(spread::service::agreed, "t2", 99, body(1, ok)).value();
    const error e = process_until_error(strict, sink);
    EXPECT_THAT(e.message, HasSubstr("group t2"));
    EXPECT_THAT(e.message, HasSubstr("#forger#testd"));
}

TEST(SpreadPipeline, GapsAndRestartsAreCounted) {
    namespace ds = rowcast::detail::spread;
    spread_daemon d;
    auto src = open_consumer<binary_codec>(d, "cons", {"gap"});
    auto raw = connect(d, "seq", false);
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("gap").size() == 1; }));
    binary_codec codec;
    const std::string ok = encode(codec, rowcast::test::small_insert());
    for (std::uint64_t s : {1, 2, 6, 1}) {
        std::string b;
        ds::put_envelope(b, s, 0, 1, static_cast<std::uint32_t>(ok.size()));
        raw.multicast(spread::service::fifo, "gap", 3, b + ok).value();
    }
    std::size_t n = 0;
    auto sink = callback_sink([&](const event&) { ++n; });
    pump(src, sink, 4, [&] { return n; });
    EXPECT_EQ(src.stats().lost, 3u);
    EXPECT_EQ(src.stats().restarts, 1u);
}

TEST(SpreadPipeline, AFailingSinkKeepsTheEventForTheNextStep) {
    one_table t;
    auto& [d, src, prod] = t;
    prod.write(rowcast::test::small_insert()).value();
    int calls = 0;
    std::vector<event> got;
    auto sink = callback_sink([&](const event& e) -> result<void> {
        if (++calls == 1) return error::make(errc::unavailable, "test", "sink", "busy");
        got.push_back(e);
        return {};
    });
    EXPECT_TRUE(is_transient(process_until_error(src, sink)));  // the first (failing) write
    EXPECT_EQ(src.stats().pending, 1);
    EXPECT_EQ(src.next_timeout().count(), 0);
    auto r = src.process(sink);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 1u);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], rowcast::test::small_insert());
}

#ifdef ROWCAST_TEST_TEXT_CODECS
TEST(SpreadPipeline, TheMessageTypeChoosesTheCodec) {
    spread_daemon d;
    auto src = open_consumer<json_codec, yaml_codec, binary_codec>(d, "cons", {"rc.shop.items"});
    auto pj = spread::producer<json_codec>::open(producer_opts(d, "pj")).value();
    auto py = spread::producer<yaml_codec>::open(producer_opts(d, "py")).value();
    auto pb = spread::producer<binary_codec>::open(producer_opts(d, "pb")).value();
    ASSERT_TRUE(spread_daemon::wait_for([&] { return d.members("rc.shop.items").size() == 1; }));
    const event e = rowcast::test::small_insert();
    pj.write(e).value();
    py.write(e).value();
    pb.write(e).value();
    std::vector<event> got;
    auto sink = callback_sink([&](const event& x) { got.push_back(x); });
    pump(src, sink, 3, [&] { return got.size(); });
    for (const auto& g : got) EXPECT_EQ(g.after, e.after);
    EXPECT_EQ(src.stats().bad, 0u);
}
#endif

// --- pure parts ------------------------------------------------------------------------------

TEST(SpreadNames, GroupNamesAreEscapedAndShortenedDeterministically) {
    EXPECT_EQ(spread::group_name("rc.<schema>.<table>", "shop", "items"), "rc.shop.items");
    EXPECT_EQ(spread::group_name("rc.<schema>.<table>", "", ""), "rc.-.-");
    EXPECT_EQ(spread::group_name("rc.<schema>.<table>", "a b", "t#"), "rc.a%20b.t%23");
    const std::string long1 = spread::group_name("rc.<schema>.<table>", "inventory", "a_rather_long_table_name_1");
    const std::string long2 = spread::group_name("rc.<schema>.<table>", "inventory", "a_rather_long_table_name_2");
    EXPECT_EQ(long1.size(), 31u);
    EXPECT_NE(long1, long2);
    EXPECT_EQ(long1, spread::group_name("rc.<schema>.<table>", "inventory", "a_rather_long_table_name_1"));
    EXPECT_TRUE(rowcast::detail::spread::check_group_name(long1, false).empty());
}

TEST(SpreadNames, ServiceNamesParse) {
    EXPECT_EQ(spread::parse_service("safe").value(), spread::service::safe);
    EXPECT_FALSE(spread::parse_service("total"));
}

TEST(SpreadReassembly, MemoryIsBoundedBeforeAnythingIsKept) {
    namespace ds = rowcast::detail::spread;
    ds::reassembler r(1000, 1);
    ds::envelope e{.seq = 1, .index = 0, .count = 2, .total = 5000, .chunk = "x"};
    auto o = r.add("#a#d", "g", e);
    ASSERT_TRUE(o.broken);
    EXPECT_EQ(o.broken->code, make_error_code(errc::limit_exceeded));
    e.index = 1;
    EXPECT_FALSE(r.add("#a#d", "g", e).broken);  // the rest of a reported sequence: not reported twice
    e = {.seq = 1, .index = 0, .count = 2, .total = 2, .chunk = "x"};
    EXPECT_FALSE(r.add("#a#d", "g", e).broken);
    EXPECT_EQ(r.in_progress(), 1u);
    auto second = r.add("#b#d", "g", e);  // a second sender over max_partial = 1
    ASSERT_TRUE(second.broken);
    EXPECT_THAT(second.broken->message, HasSubstr("senders with fragmented events"));
}
