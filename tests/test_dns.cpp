// DNS component: key files, wire format, TSIG, and the update client against a
// private BIND named (tests/support/named_server.hpp; ctest label "named").
#include <rowcast/dns/client.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/dns/tsig.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/named_server.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

using rowcast::result;
using namespace rowcast::dns;
using errc = rowcast::dns::errc;
using rowcast::test::named_server;
using rowcast::test::named_server_options;

namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// ---------------------------------------------------------------- key files

TEST(KeyFile, ParsesTsigKeygenOutput) {
    auto k = parse_key_file(
        "key \"rowcast-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"vGD9qKjZZ6jOfBzntiuxbBfbbWopTcJb267ApH5RUhY=\";\n};\n");
    ASSERT_TRUE(k) << k.error_value().message;
    ASSERT_EQ(k->size(), 1u);
    EXPECT_EQ((*k)[0].name, "rowcast-key");
    EXPECT_EQ((*k)[0].algorithm, tsig_algorithm::hmac_sha256);
    EXPECT_EQ((*k)[0].secret.size(), 32u);
}

TEST(KeyFile, SeveralKeysAndComments) {
    auto k = parse_key_file(
        "# generated\nkey a.example { algorithm HMAC-SHA512; secret \"AAAA\"; }; // one\n"
        "/* two\n */ key \"b\" { secret \"AAECAw==\"; algorithm hmac-sha1; };\n");
    ASSERT_TRUE(k) << k.error_value().message;
    ASSERT_EQ(k->size(), 2u);
    EXPECT_EQ((*k)[0].algorithm, tsig_algorithm::hmac_sha512);
    EXPECT_EQ((*k)[1].secret, std::string("\0\1\2\3", 4));
    EXPECT_TRUE(find_key(*k, "B"));
    EXPECT_FALSE(find_key(*k, "c"));
    EXPECT_FALSE(find_key(*k));
}

TEST(KeyFile, Errors) {
    const char* bad[] = {
        "",
        "key \"k\" { algorithm hmac-md5; secret \"AAAA\"; };",
        "key \"k\" { algorithm hmac-sha256; secret \"not base64!\"; };",
        "key \"k\" { algorithm hmac-sha256; };",
        "key \"k\" { secret \"AAAA\"; };",
        "key \"k\" { algorithm hmac-sha256; secret \"AAAA\" };",
        "key \"k\" { algorithm hmac-sha256; secret \"AAAA\"; }",
        "key \"k\" { algorithm hmac-sha256; secret \"AAAA\";",
        "key \"bad name\" { algorithm hmac-sha256; secret \"AAAA\"; };",
        "zone \"k\" { };",
        "key \"k\" { algorithm hmac-sha256; secret \"AAAA; };",
        "key \"k\" { color red; };",
    };
    for (const char* t : bad) {
        auto k = parse_key_file(t, "k.conf");
        ASSERT_FALSE(k) << t;
        EXPECT_TRUE(is(k.error_value(), errc::key_file));
        EXPECT_EQ(k.error_value().message.rfind("[rowcast.dns.key_file] k.conf line ", 0), 0u) << k.error_value().message;
    }
    auto missing = load_key_file("/nonexistent/key.conf");
    ASSERT_FALSE(missing);
    EXPECT_TRUE(is(missing.error_value(), errc::key_file));
}

// ---------------------------------------------------------------- wire format

TEST(Wire, NameEncoding) {
    std::string o;
    ASSERT_TRUE(encode_name("Host.Example.Test.", o, true));
    EXPECT_EQ(o, std::string("\4host\7example\4test\0", 19));
    o.clear();
    EXPECT_FALSE(encode_name("a..b", o));
    EXPECT_FALSE(encode_name("my host.example.test", o));
    EXPECT_FALSE(encode_name(std::string(64, 'a') + ".test", o));
    std::string longname;
    for (int i = 0; i < 5; ++i) longname += std::string(60, 'x') + ".";
    EXPECT_FALSE(encode_name(longname, o));
    EXPECT_TRUE(o.empty());
    EXPECT_TRUE(name_in_zone("a.Example.test.", "example.test"));
    EXPECT_TRUE(name_in_zone("example.test", "example.test."));
    EXPECT_FALSE(name_in_zone("aexample.test", "example.test"));
}

TEST(Wire, AddressRdata) {
    EXPECT_EQ(*rdata::a("192.0.2.1"), std::string("\xc0\x00\x02\x01", 4));
    EXPECT_FALSE(rdata::a("192.0.2.300"));
    EXPECT_FALSE(rdata::a(""));
    EXPECT_TRUE(is(rdata::a("x").error_value(), errc::invalid_address));
    EXPECT_EQ(rdata::aaaa("2001:db8::1")->size(), 16u);
    EXPECT_FALSE(rdata::aaaa("192.0.2.1"));
}

TEST(Wire, UpdateRoundTripsThroughTheParser) {
    update_message u("example.test");
    u.require_no_rrset("h.example.test", rr_type::cname);
    u.add("h.example.test", rr_type::a, 300, *rdata::a("192.0.2.7"));
    u.remove("h.example.test", rr_type::a, *rdata::a("192.0.2.8"));
    auto w = u.encode(0x1234);
    ASSERT_TRUE(w);
    auto p = parse_message(bytes(*w));
    ASSERT_TRUE(p) << p.error_value().message;
    EXPECT_EQ(p->id, 0x1234);
    EXPECT_EQ(p->opcode(), opcode_update);
    EXPECT_EQ(p->qdcount, 1);
    EXPECT_EQ(p->ancount, 1);  // prerequisites
    EXPECT_EQ(p->nscount, 2);  // updates
    EXPECT_EQ(p->question_name, "example.test");
    ASSERT_EQ(p->authority.size(), 2u);
    EXPECT_EQ(p->authority[0].text, "192.0.2.7");
    EXPECT_EQ(p->authority[1].klass, rr_class::none);
}

TEST(Wire, ParserHandlesCompressionAndRejectsLoops) {
    // Header (1 question, 1 answer), question "a.test" at 12, answer name = pointer to 12, CNAME -> "b" + ptr.
    std::string m("\0\1\x80\0\0\1\0\1\0\0\0\0", 12);
    m += std::string("\1a\4test\0", 8);
    m += std::string("\0\5\0\1", 4);
    m += std::string("\xc0\x0c\0\5\0\1\0\0\0\x3c\0\4\1b\xc0\x0e", 16);
    auto p = parse_message(bytes(m));
    ASSERT_TRUE(p) << p.error_value().message;
    ASSERT_EQ(p->answers.size(), 1u);
    EXPECT_EQ(p->answers[0].name, "a.test");
    EXPECT_EQ(p->answers[0].text, "b.test");
    // A pointer to itself, a forward pointer, a truncated pointer.
    std::string loop("\0\1\x80\0\0\1\0\0\0\0\0\0\xc0\x0c\0\1\0\1", 18);
    EXPECT_FALSE(parse_message(bytes(loop)));
    std::string fwd("\0\1\x80\0\0\1\0\0\0\0\0\0\xc0\x0e\0\0\1\0\1", 19);
    EXPECT_FALSE(parse_message(bytes(fwd)));
    std::string cut("\0\1\x80\0\0\1\0\0\0\0\0\0\xc0", 13);
    EXPECT_FALSE(parse_message(bytes(cut)));
    EXPECT_FALSE(parse_message(bytes(std::string("\0\1", 2))));
    auto e = parse_message(bytes(loop));
    EXPECT_TRUE(is(e.error_value(), errc::reply_malformed));
}

TEST(Wire, ParserSurvivesRandomInput) {
    std::mt19937 rng(42);
    for (int i = 0; i < 20000; ++i) {
        std::string m(rng() % 80, '\0');
        for (auto& c : m) c = static_cast<char>(rng() % 4 == 0 ? 0xc0 : rng());
        if (m.size() >= 12) m[4] = 0, m[5] = static_cast<char>(rng() % 3);
        (void)parse_message(bytes(m));
    }
}

// HMAC computed here with OpenSSL directly (not through rowcast's tsig code).
std::string openssl_hmac(const EVP_MD* md, const std::string& secret, const std::string& data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), out, &len);
    return std::string(reinterpret_cast<const char*>(out), len);
}
void be16(std::string& o, unsigned v) {
    o += static_cast<char>((v >> 8) & 0xff);
    o += static_cast<char>(v & 0xff);
}
void be32(std::string& o, std::uint32_t v) {
    be16(o, v >> 16);
    be16(o, v & 0xffff);
}
// An uncompressed wire name ("a.b" -> 1a1b0).
std::string wire_name(const std::string& name) {
    std::string o;
    std::size_t at = 0;
    while (at < name.size()) {
        const auto dot = std::min(name.find('.', at), name.size());
        o += static_cast<char>(dot - at);
        o += name.substr(at, dot - at);
        at = dot + 1;
    }
    return o + '\0';
}
// Signs `reply` as a server does (RFC 8945 §4.3.3): HMAC over the request MAC (length
// prefixed), the reply, and the TSIG variables; appends the TSIG RR and bumps ARCOUNT.
std::string server_sign(std::string reply, const std::string& key_name, const std::string& alg, const EVP_MD* md,
                        const std::string& secret, const std::string& request_mac, std::uint64_t time,
                        std::uint16_t fudge = 300, std::uint16_t error = 0) {
    std::string vars = wire_name(key_name);
    be16(vars, 255);  // class ANY
    be32(vars, 0);    // TTL
    vars += wire_name(alg);
    be16(vars, static_cast<unsigned>(time >> 32));
    be32(vars, static_cast<std::uint32_t>(time));
    be16(vars, fudge);
    be16(vars, error);
    be16(vars, 0);  // other length
    std::string digest;
    be16(digest, static_cast<unsigned>(request_mac.size()));
    digest += request_mac + reply + vars;
    const std::string mac = openssl_hmac(md, secret, digest);
    std::string rd = wire_name(alg);
    be16(rd, static_cast<unsigned>(time >> 32));
    be32(rd, static_cast<std::uint32_t>(time));
    be16(rd, fudge);
    be16(rd, static_cast<unsigned>(mac.size()));
    rd += mac;
    rd += reply.substr(0, 2);  // original ID
    be16(rd, error);
    be16(rd, 0);
    std::string rr = wire_name(key_name);
    be16(rr, 250);  // TSIG
    be16(rr, 255);
    be32(rr, 0);
    be16(rr, static_cast<unsigned>(rd.size()));
    rr += rd;
    const unsigned ar = (static_cast<unsigned char>(reply[10]) << 8 | static_cast<unsigned char>(reply[11])) + 1;
    reply[10] = static_cast<char>(ar >> 8);
    reply[11] = static_cast<char>(ar & 0xff);
    return reply + rr;
}

TEST(Tsig, SignedRequestParsesAndVerifiesWithTheSameKey) {
    tsig_key k{"rowcast-key", tsig_algorithm::hmac_sha384, std::string(48, 'k')};
    update_message u("example.test");
    u.add("h.example.test", rr_type::a, 60, *rdata::a("192.0.2.1"));
    auto w = u.encode(7);
    ASSERT_TRUE(w);
    const std::string unsigned_request = *w;
    auto mac = tsig_sign(*w, k, 1700000000);
    ASSERT_TRUE(mac);
    EXPECT_EQ(mac->size(), 48u);
    auto p = parse_message(bytes(*w));
    ASSERT_TRUE(p) << p.error_value().message;
    ASSERT_TRUE(p->tsig);
    EXPECT_EQ(p->tsig->algorithm, "hmac-sha384");
    EXPECT_EQ(p->tsig->time_signed, 1700000000u);
    EXPECT_EQ(p->tsig->mac, *mac);
    EXPECT_EQ(p->arcount, 1);
    // The request's MAC is the HMAC an independent computation gets (request + variables).
    std::string vars = wire_name("rowcast-key");
    be16(vars, 255);
    be32(vars, 0);
    vars += wire_name("hmac-sha384");
    be16(vars, 0);
    be32(vars, 1700000000u);
    be16(vars, 300);
    be16(vars, 0);
    be16(vars, 0);
    EXPECT_EQ(*mac, openssl_hmac(EVP_sha384(), k.secret, unsigned_request + vars));
    // A reply signed with the same key over this request verifies through tsig_verify; with
    // another secret, another request MAC or another key name it does not.
    std::string reply = unsigned_request.substr(0, 12);
    reply[2] = static_cast<char>(reply[2] | 0x80);  // QR
    for (int i = 4; i < 12; ++i) reply[i] = 0;      // no sections
    const std::string signed_reply =
        server_sign(reply, "rowcast-key", "hmac-sha384", EVP_sha384(), k.secret, *mac, 1700000005);
    auto rp = parse_message(bytes(signed_reply));
    ASSERT_TRUE(rp) << rp.error_value().message;
    auto ok = tsig_verify(bytes(signed_reply), *rp, *mac, k, 1700000010);
    EXPECT_TRUE(ok) << ok.error_value().message;
    tsig_key other = k;
    other.secret[0] = 'x';
    auto bad = tsig_verify(bytes(signed_reply), *rp, *mac, other, 1700000010);
    ASSERT_FALSE(bad);
    EXPECT_TRUE(is(bad.error_value(), errc::reply_bad_mac)) << bad.error_value().message;
    auto wrong_request = tsig_verify(bytes(signed_reply), *rp, std::string(48, 'm'), k, 1700000010);
    ASSERT_FALSE(wrong_request);
    EXPECT_TRUE(is(wrong_request.error_value(), errc::reply_bad_mac));
    other = k;
    other.name = "other-key";
    auto wrong_name = tsig_verify(bytes(signed_reply), *rp, *mac, other, 1700000010);
    ASSERT_FALSE(wrong_name);
    EXPECT_TRUE(is(wrong_name.error_value(), errc::reply_bad_key));
}

// ---------------------------------------------------------------- TSIG known answers (BIND)

// Messages signed by BIND 9 (dig, nsupdate, named): tests/data/dns/README.md.
class TsigKnownAnswer : public ::testing::Test {
protected:
    static std::string read(const std::string& name) {
        std::ifstream in(std::string(ROWCAST_DNS_DATA) + "/" + name, std::ios::binary);
        std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_FALSE(s.empty()) << "missing test data " << name;
        return s;
    }
    static tsig_key key() {
        auto k = parse_key_file(
            "key \"kat-key\" { algorithm hmac-sha256; secret \"cm93Y2FzdCB0c2lnIGtub3duLWFuc3dlciBrZXkgMDE=\"; };");
        EXPECT_TRUE(k) << k.error_value().message;
        return (*k)[0];
    }
    struct exchange {
        std::string request, reply, request_mac;
        parsed_message parsed_request, parsed_reply;
    };
    static exchange load(const std::string& name) {
        exchange x;
        x.request = read(name + ".request.bin");
        x.reply = read(name + ".reply.bin");
        auto q = parse_message(bytes(x.request));
        EXPECT_TRUE(q && q->tsig) << name;
        if (q) x.parsed_request = *q;
        if (q && q->tsig) x.request_mac = q->tsig->mac;
        auto r = parse_message(bytes(x.reply));
        EXPECT_TRUE(r) << name;
        if (r) x.parsed_reply = *r;
        return x;
    }
    // tsig_verify of `reply` (parsed again) against the exchange's request MAC.
    static result<void> verify(const std::string& reply, const std::string& request_mac, const tsig_key& k,
                               std::uint64_t now) {
        auto p = parse_message(bytes(reply));
        if (!p) return p.error_value();
        return tsig_verify(bytes(reply), *p, request_mac, k, now);
    }
    static void expect_error(const result<void>& r, errc e) {
        ASSERT_FALSE(r) << "expected " << to_string(e);
        EXPECT_TRUE(is(r.error_value(), e)) << r.error_value().message;
    }
};

TEST_F(TsigKnownAnswer, RepliesSignedByNamedVerify) {
    for (const char* name : {"query_soa", "update_a"}) {
        auto x = load(name);
        ASSERT_TRUE(x.parsed_reply.tsig) << name;
        EXPECT_EQ(x.parsed_reply.rcode(), 0) << name;
        const auto t = x.parsed_reply.tsig->time_signed;
        EXPECT_TRUE(verify(x.reply, x.request_mac, key(), t)) << name;
        // anywhere within the fudge of the reply's time
        const auto fudge = x.parsed_reply.tsig->fudge;
        EXPECT_TRUE(verify(x.reply, x.request_mac, key(), t + fudge)) << name;
        EXPECT_TRUE(verify(x.reply, x.request_mac, key(), t - fudge)) << name;
    }
}

// rowcast signs the request bytes dig and nsupdate sent (TSIG removed) to the same MAC and record.
TEST_F(TsigKnownAnswer, RequestsSignLikeDigAndNsupdate) {
    for (const char* name : {"query_soa", "update_a"}) {
        auto x = load(name);
        const auto& t = *x.parsed_request.tsig;
        std::string msg = x.request.substr(0, t.offset);
        const unsigned ar = x.parsed_request.arcount - 1u;
        msg[10] = static_cast<char>(ar >> 8);
        msg[11] = static_cast<char>(ar & 0xff);
        auto mac = tsig_sign(msg, key(), t.time_signed, t.fudge);
        ASSERT_TRUE(mac) << mac.error_value().message;
        EXPECT_EQ(*mac, t.mac) << name;
        EXPECT_EQ(msg, x.request) << name;
    }
}

TEST_F(TsigKnownAnswer, EveryFailureMode) {
    auto x = load("query_soa");
    const auto& t = *x.parsed_reply.tsig;
    const auto now = t.time_signed;
    const auto k = key();
    // unsigned: the reply without its TSIG record
    std::string bare = x.reply.substr(0, t.offset);
    bare[11] = static_cast<char>(bare[11] - 1);
    expect_error(verify(bare, x.request_mac, k, now), errc::reply_unsigned);
    // bad MAC: one bit of the MAC changed
    const std::size_t mac_at = x.reply.find(t.mac);
    ASSERT_NE(mac_at, std::string::npos);
    std::string flipped = x.reply;
    flipped[mac_at + 5] = static_cast<char>(flipped[mac_at + 5] ^ 0x01);
    expect_error(verify(flipped, x.request_mac, k, now), errc::reply_bad_mac);
    // truncated MAC: its first 16 bytes (MAC size and RDLENGTH shortened to match)
    std::string cut = x.reply.substr(0, mac_at + 16) + x.reply.substr(mac_at + t.mac.size());
    const std::size_t size_at = mac_at - 2, rdlen_at = t.offset + wire_name("kat-key").size() + 8;
    cut[size_at] = 0;
    cut[size_at + 1] = 16;
    const unsigned rdlen = (static_cast<unsigned char>(x.reply[rdlen_at]) << 8 | static_cast<unsigned char>(x.reply[rdlen_at + 1])) -
                           static_cast<unsigned>(t.mac.size() - 16);
    cut[rdlen_at] = static_cast<char>(rdlen >> 8);
    cut[rdlen_at + 1] = static_cast<char>(rdlen & 0xff);
    ASSERT_TRUE(parse_message(bytes(cut)));
    EXPECT_EQ(parse_message(bytes(cut))->tsig->mac.size(), 16u);
    expect_error(verify(cut, x.request_mac, k, now), errc::reply_bad_mac);
    // time outside the fudge, either way
    expect_error(verify(x.reply, x.request_mac, k, now + t.fudge + 1), errc::reply_bad_time);
    expect_error(verify(x.reply, x.request_mac, k, now - t.fudge - 1), errc::reply_bad_time);
    // wrong key: another secret, another name
    tsig_key other = k;
    other.secret[3] = static_cast<char>(other.secret[3] ^ 0x20);
    expect_error(verify(x.reply, x.request_mac, other, now), errc::reply_bad_mac);
    other = k;
    other.name = "other-key";
    expect_error(verify(x.reply, x.request_mac, other, now), errc::reply_bad_key);
    // wrong algorithm: the same secret with HMAC-SHA512
    other = k;
    other.algorithm = tsig_algorithm::hmac_sha512;
    expect_error(verify(x.reply, x.request_mac, other, now), errc::reply_bad_key);
    // the reply to another request (its MAC differs)
    auto u = load("update_a");
    expect_error(verify(x.reply, u.request_mac, k, now), errc::reply_bad_mac);
}

// named's unsigned error forms (RFC 8945 §5.3.2): BADSIG and BADKEY with an empty MAC are its verdict.
TEST_F(TsigKnownAnswer, UnsignedBadsigAndBadkeyFromNamed) {
    auto s = load("badsig");
    ASSERT_TRUE(s.parsed_reply.tsig);
    EXPECT_TRUE(s.parsed_reply.tsig->mac.empty());
    expect_error(verify(s.reply, s.request_mac, key(), s.parsed_reply.tsig->time_signed), errc::notauth_badsig);
    auto b = load("badkey");
    ASSERT_TRUE(b.parsed_reply.tsig);
    tsig_key unknown = key();
    unknown.name = "unknown-key";
    expect_error(verify(b.reply, b.request_mac, unknown, b.parsed_reply.tsig->time_signed), errc::notauth_badkey);
    // An unsigned BADTIME is not one of them: BADTIME is signed (RFC 8945 §5.2.3), so this is forged.
    std::string badtime = s.reply;
    const std::size_t err_at = badtime.size() - 4;  // error (2), other length (2) end the record
    ASSERT_EQ(static_cast<unsigned char>(badtime[err_at + 1]), 16u);
    badtime[err_at + 1] = 18;
    expect_error(verify(badtime, s.request_mac, key(), s.parsed_reply.tsig->time_signed), errc::reply_bad_mac);
}

// ---------------------------------------------------------------- against named

class NamedTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        named_server_options o;
        o.keys = {{"rowcast-key", "hmac-sha256"}, {"k-sha1", "hmac-sha1"},     {"k-sha224", "hmac-sha224"},
                  {"k-sha384", "hmac-sha384"},   {"k-sha512", "hmac-sha512"}};
        o.forward_records = {"alias IN CNAME ns", "taken IN A 192.0.2.250"};
        server_ = std::make_unique<named_server>(o);
    }
    static void TearDownTestSuite() { server_.reset(); }

    static tsig_key key(const std::string& name = "rowcast-key") {
        auto keys = load_key_file(server_->key_file(name));
        EXPECT_TRUE(keys) << keys.error_value().message;
        return (*keys)[0];
    }
    static client_options opts(std::optional<tsig_key> k) {
        client_options o;
        o.server = "127.0.0.1";
        o.port = static_cast<std::uint16_t>(server_->port());
        o.key = std::move(k);
        o.timeout = std::chrono::milliseconds(5000);
        return o;
    }
    static client make_client(const std::string& keyname = "rowcast-key") { return client(opts(key(keyname))); }

    static std::unique_ptr<named_server> server_;
};
std::unique_ptr<named_server> NamedTest::server_;

using Strings = std::vector<std::string>;

TEST_F(NamedTest, AddAndDeleteAddressAndPtr) {
    auto c = make_client();
    update_message f("example.test");
    f.require_no_rrset("host1.example.test", rr_type::cname);
    f.add("host1.example.test", rr_type::a, 300, *rdata::a("192.0.2.1"));
    f.add("host1.example.test", rr_type::aaaa, 300, *rdata::aaaa("2001:db8::1"));
    auto r = c.send_update(f);
    ASSERT_TRUE(r) << r.error_value().message;
    update_message rev("2.0.192.in-addr.arpa");
    rev.add("1.2.0.192.in-addr.arpa", rr_type::ptr, 300, *rdata::name("host1.example.test"));
    ASSERT_TRUE(c.send_update(rev));
    EXPECT_EQ(server_->dig("host1.example.test", "A"), Strings{"192.0.2.1"});
    EXPECT_EQ(server_->dig("host1.example.test", "AAAA"), Strings{"2001:db8::1"});
    EXPECT_EQ(server_->dig("1.2.0.192.in-addr.arpa", "PTR"), Strings{"host1.example.test."});
    // Our own query agrees.
    auto l = c.lookup("host1.example.test", rr_type::a);
    ASSERT_TRUE(l) << l.error_value().message;
    EXPECT_EQ(*l, Strings{"192.0.2.1"});
    // Re-adding the same record is harmless (serial unchanged).
    const auto serial = server_->soa_serial();
    ASSERT_TRUE(c.send_update(f));
    EXPECT_EQ(server_->soa_serial(), serial);
    // Delete the specific records.
    update_message d("example.test");
    d.remove("host1.example.test", rr_type::a, *rdata::a("192.0.2.1"));
    d.remove("host1.example.test", rr_type::aaaa, *rdata::aaaa("2001:db8::1"));
    ASSERT_TRUE(c.send_update(d));
    EXPECT_TRUE(server_->dig("host1.example.test", "A").empty());
    EXPECT_TRUE(server_->dig("host1.example.test", "AAAA").empty());
    auto gone = c.lookup("host1.example.test", rr_type::a);
    ASSERT_TRUE(gone);
    EXPECT_TRUE(gone->empty());
    // Deleting an absent record: NOERROR.
    EXPECT_TRUE(c.send_update(d));
}

TEST_F(NamedTest, EveryAlgorithm) {
    int i = 10;
    for (const char* k : {"k-sha1", "k-sha224", "rowcast-key", "k-sha384", "k-sha512"}) {
        auto c = make_client(k);
        update_message u("example.test");
        const std::string name = std::string("alg-") + k + ".example.test";
        const std::string ip = "192.0.2." + std::to_string(i++);
        u.add(name, rr_type::a, 300, *rdata::a(ip));
        auto r = c.send_update(u);
        ASSERT_TRUE(r) << k << ": " << r.error_value().message;
        EXPECT_EQ(server_->dig(name, "A"), Strings{ip}) << k;
        auto q = c.query(name, rr_type::a);  // signed query, verified reply
        ASSERT_TRUE(q) << q.error_value().message;
        EXPECT_TRUE(q->tsig);
    }
}

TEST_F(NamedTest, TcpForcedAndForLargeMessages) {
    auto o = opts(key());
    o.force_tcp = true;
    client c(o);
    update_message u("example.test");
    u.add("tcp1.example.test", rr_type::a, 300, *rdata::a("192.0.2.30"));
    ASSERT_TRUE(c.send_update(u));
    EXPECT_EQ(c.stats().tcp, 1u);
    EXPECT_EQ(server_->dig("tcp1.example.test", "A"), Strings{"192.0.2.30"});

    auto c2 = make_client();
    update_message big("example.test");
    for (int i = 0; i < 200; ++i)
        big.add("bulk" + std::to_string(i) + ".Example.TEST", rr_type::a, 300, *rdata::a("192.0.2.40"));
    auto r = c2.send_update(big);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(c2.stats().tcp, 1u);
    EXPECT_EQ(server_->dig("bulk199.example.test", "A"), Strings{"192.0.2.40"});
}

TEST_F(NamedTest, ServerErrorsAreNamed) {
    auto one = [](const char* name) {
        update_message u("example.test");
        u.add(std::string(name) + ".example.test", rr_type::a, 300, *rdata::a("192.0.2.99"));
        return u;
    };
    auto expect = [](result<parsed_message> r, errc e) {
        ASSERT_FALSE(r) << "expected " << to_string(e);
        EXPECT_TRUE(is(r.error_value(), e)) << r.error_value().message;
    };
    // Unknown key name.
    tsig_key unknown = key();
    unknown.name = "nobody";
    expect(client(opts(unknown)).send_update(one("e1")), errc::notauth_badkey);
    // Right name, wrong secret.
    tsig_key wrong = key();
    wrong.secret[0] = static_cast<char>(wrong.secret[0] ^ 1);
    expect(client(opts(wrong)).send_update(one("e2")), errc::notauth_badsig);
    // Right name, other algorithm.
    tsig_key otheralg = key();
    otheralg.algorithm = tsig_algorithm::hmac_sha512;
    expect(client(opts(otheralg)).send_update(one("e3")), errc::notauth_badkey);
    // No key.
    expect(client(opts(std::nullopt)).send_update(one("e4")), errc::refused);
    // Clock 600 s off: BADTIME, signed reply.
    auto skew = opts(key());
    skew.clock_offset = 600;
    auto r = client(skew).send_update(one("e5"));
    expect(r, errc::notauth_badtime);
    EXPECT_NE(r.error_value().message.find("server time"), std::string::npos);
    // Name outside the zone.
    auto c = make_client();
    update_message out("example.test");
    out.add("x.elsewhere.test", rr_type::a, 300, *rdata::a("192.0.2.1"));
    expect(c.send_update(out), errc::notzone);
    // Zone not served.
    update_message ns("unserved.test");
    ns.add("x.unserved.test", rr_type::a, 300, *rdata::a("192.0.2.1"));
    expect(c.send_update(ns), errc::notauth);
    // Type not granted by update-policy.
    update_message txt("example.test");
    txt.add("t.example.test", rr_type::txt, 300, std::string("\2hi", 3));
    expect(c.send_update(txt), errc::refused);
    for (const char* n : {"e1", "e2", "e3", "e4", "e5"}) EXPECT_TRUE(server_->dig(std::string(n) + ".example.test", "A").empty());
}

TEST_F(NamedTest, PrerequisitesAndCname) {
    auto c = make_client();
    auto expect = [](result<parsed_message> r, errc e) {
        ASSERT_FALSE(r) << "expected " << to_string(e);
        EXPECT_TRUE(is(r.error_value(), e)) << r.error_value().message;
    };
    // A at a CNAME: NOERROR, nothing changes; guarded: YXRRSET.
    update_message a("example.test");
    a.add("alias.example.test", rr_type::a, 300, *rdata::a("192.0.2.5"));
    ASSERT_TRUE(c.send_update(a));
    auto noa = c.lookup("alias.example.test", rr_type::a);  // answers hold the CNAME chain, no A at alias
    ASSERT_TRUE(noa);
    EXPECT_TRUE(noa->empty());
    auto cn = c.lookup("alias.example.test", rr_type::cname);
    ASSERT_TRUE(cn);
    EXPECT_EQ(*cn, Strings{"ns.example.test"});
    update_message g("example.test");
    g.require_no_rrset("alias.example.test", rr_type::cname);
    g.add("alias.example.test", rr_type::a, 300, *rdata::a("192.0.2.5"));
    expect(c.send_update(g), errc::yxrrset);
    // Value-dependent RRset exists: NXRRSET when the value differs.
    update_message v("example.test");
    v.require_record("taken.example.test", rr_type::a, *rdata::a("192.0.2.1"));
    expect(c.send_update(v), errc::nxrrset);
    update_message v2("example.test");
    v2.require_record("taken.example.test", rr_type::a, *rdata::a("192.0.2.250"));
    EXPECT_TRUE(c.send_update(v2));
    update_message v3("example.test");
    v3.require_rrset("absent.example.test", rr_type::a);
    expect(c.send_update(v3), errc::nxrrset);
    // Name in use / not in use.
    update_message y("example.test");
    y.require_no_name("taken.example.test");
    expect(c.send_update(y), errc::yxdomain);
    update_message n("example.test");
    n.require_name("absent.example.test");
    expect(c.send_update(n), errc::nxdomain);
}

// A UDP relay between the client and named that can tamper with replies.
class udp_relay {
public:
    // forge_first: an unsigned REFUSED with the request's ID (what anyone on the path can send)
    // goes out before the real reply; forge_only: it is the only reply.
    enum class mode { pass, flip_mac, wrong_id, drop, truncate, forge_first, forge_only };
    udp_relay(unsigned upstream, mode m) : mode_(m) {
        fd_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("relay bind");
        port_ = ntohs(a.sin_port);
        // TCP on the same port: forwarded to named unchanged (for the TC -> TCP retry).
        tcp_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        const int one = 1;
        ::setsockopt(tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(tcp_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(tcp_.get(), 8) != 0)
            tcp_.reset();
        up_ = a;
        up_.sin_port = htons(static_cast<std::uint16_t>(upstream));
        thread_ = std::thread([this] { loop(); });
    }
    ~udp_relay() {
        stop_ = true;
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    int seen() const { return seen_; }
    int tcp_seen() const { return tcp_seen_; }

private:
    void loop() {
        rowcast::detail::unique_fd up(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        ::connect(up.get(), reinterpret_cast<sockaddr*>(&up_), sizeof up_);
        char buf[65536];
        while (!stop_) {
            pollfd p[2] = {{fd_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
            if (::poll(p, tcp_ ? 2 : 1, 50) <= 0) continue;
            if (tcp_ && (p[1].revents & POLLIN)) {
                relay_tcp();
                continue;
            }
            if (!(p[0].revents & POLLIN)) continue;
            sockaddr_in from{};
            socklen_t fl = sizeof from;
            const ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
            if (n <= 0) continue;
            ++seen_;
            if ((mode_ == mode::forge_first || mode_ == mode::forge_only) && n >= 12) {
                char forged[12];
                std::memcpy(forged, buf, 12);
                forged[2] = static_cast<char>(0x80 | (buf[2] & 0x78));  // QR, the request's opcode
                forged[3] = 5;                                           // REFUSED
                std::memset(forged + 4, 0, 8);
                ::sendto(fd_.get(), forged, sizeof forged, 0, reinterpret_cast<sockaddr*>(&from), fl);
                if (mode_ == mode::forge_only) continue;
            }
            ::send(up.get(), buf, static_cast<std::size_t>(n), 0);
            pollfd q{up.get(), POLLIN, 0};
            if (::poll(&q, 1, 5000) <= 0) continue;
            const ssize_t m = ::recv(up.get(), buf, sizeof buf, 0);
            if (m <= 12) continue;
            if (mode_ == mode::drop) continue;
            if (mode_ == mode::flip_mac) buf[m - 10] = static_cast<char>(buf[m - 10] ^ 0x55);  // inside the MAC
            if (mode_ == mode::wrong_id) buf[1] = static_cast<char>(buf[1] ^ 1);
            ssize_t out = m;
            if (mode_ == mode::truncate) {  // header only, TC set, every count 0
                buf[2] = static_cast<char>(buf[2] | 0x02);
                std::memset(buf + 4, 0, 8);
                out = 12;
            }
            ::sendto(fd_.get(), buf, static_cast<std::size_t>(out), 0, reinterpret_cast<sockaddr*>(&from), fl);
        }
    }
    static bool read_n(int fd, char* p, std::size_t n) {
        while (n > 0) {
            const ssize_t r = ::recv(fd, p, n, 0);
            if (r <= 0) return false;
            p += r;
            n -= static_cast<std::size_t>(r);
        }
        return true;
    }
    void relay_tcp() {
        rowcast::detail::unique_fd c(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c) return;
        ++tcp_seen_;
        timeval tv{5, 0};
        ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string msg(2, '\0');
        if (!read_n(c.get(), msg.data(), 2)) return;
        const std::size_t len = (static_cast<unsigned char>(msg[0]) << 8) | static_cast<unsigned char>(msg[1]);
        msg.resize(2 + len);
        if (!read_n(c.get(), msg.data() + 2, len)) return;
        rowcast::detail::unique_fd u(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        ::setsockopt(u.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (::connect(u.get(), reinterpret_cast<sockaddr*>(&up_), sizeof up_) != 0) return;
        if (::send(u.get(), msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) return;
        std::string rep(2, '\0');
        if (!read_n(u.get(), rep.data(), 2)) return;
        const std::size_t rlen = (static_cast<unsigned char>(rep[0]) << 8) | static_cast<unsigned char>(rep[1]);
        rep.resize(2 + rlen);
        if (!read_n(u.get(), rep.data() + 2, rlen)) return;
        (void)::send(c.get(), rep.data(), rep.size(), MSG_NOSIGNAL);
    }
    rowcast::detail::unique_fd fd_, tcp_;
    std::atomic<int> tcp_seen_{0};
    sockaddr_in up_{};
    std::uint16_t port_ = 0;
    mode mode_;
    std::atomic<bool> stop_{false};
    std::atomic<int> seen_{0};
    std::thread thread_;
};

TEST_F(NamedTest, TruncatedReplyIsRetriedOverTcp) {
    udp_relay relay(server_->port(), udp_relay::mode::truncate);
    auto o = opts(key());
    o.port = relay.port();
    client c(o);
    update_message u("example.test");
    u.add("truncated.example.test", rr_type::a, 300, *rdata::a("192.0.2.63"));
    auto r = c.send_update(u);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(c.stats().truncated, 1u);
    EXPECT_EQ(c.stats().tcp, 1u);
    EXPECT_EQ(relay.seen(), 1);
    EXPECT_EQ(relay.tcp_seen(), 1);
    EXPECT_EQ(server_->dig("truncated.example.test", "A"), Strings{"192.0.2.63"});
}

// A reply whose MAC does not verify is ignored as forged (the real one never comes here):
// each try waits out its timeout, then the try is repeated; the error names the bad MAC.
TEST_F(NamedTest, TamperedReplyIsRejectedAndRetried) {
    udp_relay relay(server_->port(), udp_relay::mode::flip_mac);
    auto o = opts(key());
    o.port = relay.port();
    o.attempts = 2;
    o.timeout = std::chrono::milliseconds(300);
    client c(o);
    update_message u("example.test");
    u.add("tampered.example.test", rr_type::a, 300, *rdata::a("192.0.2.60"));
    auto r = c.send_update(u);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is(r.error_value(), errc::reply_bad_mac)) << r.error_value().message;
    EXPECT_NE(r.error_value().message.find("ignored"), std::string::npos) << r.error_value().message;
    EXPECT_EQ(c.stats().tries, 2u);
    EXPECT_EQ(c.stats().forged, 2u);
    // The change did reach the zone: the outcome was unknown, not failed.
    EXPECT_EQ(server_->dig("tampered.example.test", "A"), Strings{"192.0.2.60"});
}

// An unsigned REFUSED racing the real reply is not the server's verdict: it is ignored
// (counted), and the signed reply that follows it is the answer.
TEST_F(NamedTest, ForgedUnsignedReplyIsIgnoredAndTheRealOneTaken) {
    update_message u("example.test");
    u.add("forged.example.test", rr_type::a, 300, *rdata::a("192.0.2.64"));
    udp_relay relay(server_->port(), udp_relay::mode::forge_first);
    auto o = opts(key());
    o.port = relay.port();
    o.attempts = 1;
    client c(o);
    auto r = c.send_update(u);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(c.stats().forged, 1u);
    EXPECT_EQ(c.stats().tries, 1u);
    EXPECT_EQ(server_->dig("forged.example.test", "A"), Strings{"192.0.2.64"});
    // Only forged replies: no verdict, the try times out with the reason.
    udp_relay only(server_->port(), udp_relay::mode::forge_only);
    o.port = only.port();
    o.timeout = std::chrono::milliseconds(300);
    client c2(o);
    auto r2 = c2.send_update(u);
    ASSERT_FALSE(r2);
    EXPECT_TRUE(is(r2.error_value(), errc::reply_unsigned)) << r2.error_value().message;
    EXPECT_NE(r2.error_value().message.find("RCODE 5"), std::string::npos) << r2.error_value().message;
    EXPECT_EQ(c2.stats().forged, 1u);
}

TEST_F(NamedTest, WrongIdIgnoredThenTimeout) {
    udp_relay relay(server_->port(), udp_relay::mode::wrong_id);
    auto o = opts(key());
    o.port = relay.port();
    o.attempts = 2;
    o.timeout = std::chrono::milliseconds(300);
    client c(o);
    update_message u("example.test");
    u.add("wrongid.example.test", rr_type::a, 300, *rdata::a("192.0.2.61"));
    auto r = c.send_update(u);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is(r.error_value(), errc::timeout)) << r.error_value().message;
    EXPECT_EQ(c.stats().tries, 2u);
    EXPECT_EQ(c.stats().stray, 2u);
}

TEST_F(NamedTest, SilentServerTimesOutAfterBoundedRetries) {
    udp_relay relay(server_->port(), udp_relay::mode::drop);
    auto o = opts(key());
    o.port = relay.port();
    o.attempts = 3;
    o.timeout = std::chrono::milliseconds(200);
    client c(o);
    update_message u("example.test");
    u.add("silent.example.test", rr_type::a, 300, *rdata::a("192.0.2.62"));
    auto r = c.send_update(u);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is(r.error_value(), errc::timeout));
    EXPECT_EQ(r.error_value().message.rfind("[rowcast.dns.timeout] update of zone example.test: ", 0), 0u)
        << r.error_value().message;
    EXPECT_EQ(c.stats().tries, 3u);
    EXPECT_EQ(relay.seen(), 3);
}

TEST_F(NamedTest, ReverseZoneIpv6) {
    auto c = make_client();
    update_message u("8.b.d.0.1.0.0.2.ip6.arpa");
    const std::string rev = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
    u.add(rev, rr_type::ptr, 300, *rdata::name("v6.example.test"));
    ASSERT_TRUE(c.send_update(u));
    EXPECT_EQ(server_->dig(rev, "PTR"), Strings{"v6.example.test."});
}

}  // namespace

// ---------------------------------------------------------------- the sink

namespace sinktest {

using rowcast::event;
using rowcast::event_kind;
using rowcast::value;

rowcast::columns_ptr host_columns() {
    static const auto cols = rowcast::make_columns({{"id", {}}, {"hostname", {}}, {"ip", {}}, {"mac", {}}});
    return cols;
}

std::vector<value> image(int id, std::optional<std::string> host, std::optional<std::string> ip, std::string mac = "00:11:22:33:44:55") {
    std::vector<value> v;
    v.emplace_back(std::int64_t{id});
    v.emplace_back(host ? value(rowcast::text{*host}) : value(rowcast::null_value{}));
    v.emplace_back(ip ? value(rowcast::text{*ip}) : value(rowcast::null_value{}));
    v.emplace_back(rowcast::text{std::move(mac)});
    return v;
}

event ins(int id, std::string host, std::string ip) {
    event e;
    e.kind = event_kind::insert;
    e.schema = "inventory";
    e.table = "hosts";
    e.columns = host_columns();
    e.after = image(id, std::move(host), std::move(ip));
    return e;
}
event upd(int id, std::string h1, std::string ip1, std::string h2, std::string ip2, std::string mac2 = "00:11:22:33:44:55") {
    event e;
    e.kind = event_kind::update;
    e.schema = "inventory";
    e.table = "hosts";
    e.columns = host_columns();
    e.before = image(id, std::move(h1), std::move(ip1));
    e.after = image(id, std::move(h2), std::move(ip2), std::move(mac2));
    return e;
}
event del(int id, std::string host, std::string ip) {
    event e;
    e.kind = event_kind::delete_;
    e.schema = "inventory";
    e.table = "hosts";
    e.columns = host_columns();
    e.before = image(id, std::move(host), std::move(ip));
    return e;
}

}  // namespace sinktest

// A fresh named per test: each test owns the whole 192.0.2.0/24 reverse zone.
class SinkTest : public ::testing::Test {
protected:
    void SetUp() override {
        named_server_options o;
        o.forward_records = {"alias IN CNAME ns"};
        o.other_records = {"cn IN CNAME ns.example.test."};
        server_ = std::make_unique<named_server>(o);
    }
    void TearDown() override { server_.reset(); }

    struct rejected_event {
        rowcast::event e;
        rowcast::error err;
    };

    sink make_sink(std::optional<tsig_key> k = std::nullopt) {
        if (!k) k = (*load_key_file(server_->key_file()))[0];
        sink_options s;
        s.tables = {{"inventory", "hosts", "hostname", "ip", "mac"}};
        s.forward_zones = forward_zones_;
        s.reverse_zones = {"2.0.192.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"};
        s.ttl = 120;
        s.on_rejected = [this](const rowcast::event& e, const rowcast::error& err) { rejected_.push_back({e, err}); };
        s.log = [this](rowcast::log_level, std::string_view, std::string_view m) { logs_.emplace_back(m); };
        client_options c;
        c.port = static_cast<std::uint16_t>(server_->port());
        c.key = k;
        auto r = sink::create(s, c);
        EXPECT_TRUE(r) << r.error_value().message;
        return std::move(*r);
    }

    tsig_key good_key() const { return (*load_key_file(server_->key_file()))[0]; }
    // The right name and algorithm with another secret (the server answers BADSIG).
    tsig_key wrong_key() const {
        auto k = good_key();
        k.secret[3] = static_cast<char>(k.secret[3] ^ 0x20);
        return k;
    }

    // Changes a record as another client would (outside the table).
    void change_behind_our_back(sink& s, const std::string& zone, const std::string& host, const char* from, const char* to) {
        client other(s.dns_client().options());
        update_message u(zone);
        u.remove(host, rr_type::a, *rdata::a(from));
        if (to) u.add(host, rr_type::a, 120, *rdata::a(to));
        ASSERT_TRUE(other.send_update(u));
    }

    std::vector<std::string> forward_zones_{"example.test"};
    std::unique_ptr<named_server> server_;
    std::vector<rejected_event> rejected_;
    std::vector<std::string> logs_;
};

TEST_F(SinkTest, ConfigErrors) {
    client_options c;
    sink_options s;
    EXPECT_TRUE(is(sink::create(s, c).error_value(), errc::bad_config));
    s.tables = {{"", ""}};
    s.forward_zones = {"example.test"};
    EXPECT_FALSE(sink::create(s, c));
    s.tables = {{"", "hosts"}};
    s.reverse_zones = {"example.test"};
    auto r = sink::create(s, c);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error_value().message.find("in-addr.arpa"), std::string::npos);
}

TEST_F(SinkTest, BadRowsAreRejectedAndNothingIsSent) {
    using namespace sinktest;
    auto s = make_sink();
    std::vector<rowcast::event> ev = {ins(1, "my host", "192.0.2.1"), ins(2, "ok1", "192.0.2.300"),
                                      ins(3, "-lead", "192.0.2.3"),   ins(4, "a_b", "192.0.2.4"),
                                      ins(5, "x.outside.test.", "192.0.2.5"), ins(6, "ok2", ""),
                                      ins(7, std::string(64, 'a'), "192.0.2.7")};
    auto r = s.apply(ev);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(s.stats().messages, 0u);
    ASSERT_EQ(rejected_.size(), ev.size());
    const errc want[] = {errc::invalid_name, errc::invalid_address, errc::invalid_name, errc::invalid_name,
                         errc::invalid_name, errc::invalid_address, errc::invalid_name};
    for (std::size_t i = 0; i < ev.size(); ++i) EXPECT_TRUE(is(rejected_[i].err, want[i])) << rejected_[i].err.message;
    EXPECT_NE(rejected_[0].err.message.find("'my host'"), std::string::npos) << rejected_[0].err.message;
    EXPECT_NE(rejected_[1].err.message.find("192.0.2.300"), std::string::npos);
    EXPECT_TRUE(server_->dig("ok1.example.test", "A").empty());
}

// An address outside every reverse zone: its PTR is skipped (counted each time) and the gap is
// logged once (per /24, /64 for IPv6), naming the zone that would cover it.
TEST_F(SinkTest, ReverseZoneGapIsLoggedOncePerGap) {
    using namespace sinktest;
    auto s = make_sink();
    std::vector<rowcast::event> ev = {ins(1, "gap1", "198.51.100.1"), ins(2, "gap2", "198.51.100.2"),
                                      ins(3, "gap3", "203.0.113.5"),  ins(4, "gap4", "2001:db9::1"),
                                      ins(5, "covered", "192.0.2.9")};
    ASSERT_TRUE(s.apply(ev));
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{ins(6, "gap5", "198.51.100.3")}));
    EXPECT_EQ(s.stats().ptr_skipped, 5u);
    std::vector<std::string> gaps;
    for (const auto& m : logs_)
        if (m.find("no reverse zone covers") != std::string::npos) gaps.push_back(m);
    ASSERT_EQ(gaps.size(), 3u) << ::testing::PrintToString(logs_);
    EXPECT_NE(gaps[0].find("198.51.100.1"), std::string::npos) << gaps[0];
    EXPECT_NE(gaps[0].find("100.51.198.in-addr.arpa"), std::string::npos) << gaps[0];
    EXPECT_NE(gaps[1].find("113.0.203.in-addr.arpa"), std::string::npos) << gaps[1];
    EXPECT_NE(gaps[2].find("0.0.0.0.9.b.d.0.1.0.0.2.ip6.arpa"), std::string::npos) << gaps[2];
    EXPECT_EQ(server_->dig("9.2.0.192.in-addr.arpa", "PTR"), Strings{"covered.example.test."});
}

// The DNS sink is an event_sink: a spool of events reaches the zone through one run() call.
static_assert(rowcast::event_sink<sink>);
static_assert(rowcast::visitable_stats<sink_stats>);
TEST_F(SinkTest, SpoolToZoneIsOneRunCall) {
    using namespace sinktest;
    auto s = make_sink();
    rowcast::test::temp_dir dir;
    auto w = rowcast::spool_writer<rowcast::binary_codec>::open({dir.path(), rowcast::spool_durability::none}).value();
    for (int i = 1; i <= 12; ++i) ASSERT_TRUE(w.write(ins(i, "run" + std::to_string(i), "192.0.2." + std::to_string(i))));
    ASSERT_TRUE(w.write(ins(13, "bad host", "192.0.2.13")));  // rejected, reported, not retried
    auto reader = rowcast::spool_reader<rowcast::binary_codec>::open({.directory = dir.path()}).value();
    std::stop_source stop;
    struct stop_after_all {  // the DNS sink, stopping the run once all 13 events went through
        sink* s;
        std::stop_source* stop;
        std::size_t n = 0;
        rowcast::result<void> note(rowcast::result<void> r, std::size_t k) {
            if (r && (n += k) >= 13) stop->request_stop();
            return r;
        }
        rowcast::result<void> write(const rowcast::event& e) { return note(s->write(e), 1); }
        rowcast::result<void> write(std::span<const rowcast::event> b) { return note(s->write(b), b.size()); }
        rowcast::result<void> flush() { return s->flush(); }
    } out{&s, &stop};
    auto r = rowcast::run(reader, out, stop.get_token());
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(reader.pending(), 0u);
    for (int i = 1; i <= 12; ++i)
        EXPECT_EQ(server_->dig("run" + std::to_string(i) + ".example.test", "A"),
                  std::vector<std::string>{"192.0.2." + std::to_string(i)});
    ASSERT_EQ(rejected_.size(), 1u);
    std::vector<std::string> names;
    s.stats().visit([&](const rowcast::metric& m) { names.emplace_back(m.name); });
    EXPECT_NE(std::find(names.begin(), names.end(), "rejected"), names.end());
}

TEST_F(SinkTest, InsertUpdateDeleteInBatches) {
    using namespace sinktest;
    auto s = make_sink();
    std::vector<rowcast::event> ev;
    for (int i = 1; i <= 150; ++i) ev.push_back(ins(i, "h" + std::to_string(i), "192.0.2." + std::to_string(i)));
    ev.push_back(ins(300, "six", "2001:db8::6"));
    auto r = s.apply(ev);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(rejected_.empty());
    EXPECT_LE(s.stats().messages, 4u);  // 151 adds (+ guards) forward, 151 PTRs in two reverse zones
    EXPECT_EQ(server_->dig("h7.example.test", "A"), Strings{"192.0.2.7"});
    EXPECT_EQ(server_->dig("150.2.0.192.in-addr.arpa", "PTR"), Strings{"h150.example.test."});
    EXPECT_EQ(server_->dig("six.example.test", "AAAA"), Strings{"2001:db8::6"});
    EXPECT_EQ(server_->dig("6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR"),
              Strings{"six.example.test."});

    // Updates: host change, address change, A -> AAAA, MAC only, then a second move of the same name.
    const auto before = s.stats().messages;
    std::vector<rowcast::event> up = {upd(1, "h1", "192.0.2.1", "renamed1", "192.0.2.1"),
                                      upd(2, "h2", "192.0.2.2", "h2", "192.0.2.202"),
                                      upd(3, "h3", "192.0.2.3", "h3", "2001:db8::3"),
                                      upd(4, "h4", "192.0.2.4", "H4.example.test.", "192.0.2.4", "aa:bb:cc:dd:ee:ff"),
                                      upd(5, "h5", "192.0.2.5", "h5", "192.0.2.205"),
                                      upd(5, "h5", "192.0.2.205", "h5b", "192.0.2.206")};
    r = s.apply(up);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(s.stats().unchanged, 1u);
    EXPECT_TRUE(std::any_of(logs_.begin(), logs_.end(), [](const std::string& l) {
        return l.find("update of h4.example.test changes neither host nor address (mac 00:11:22:33:44:55 -> "
                      "aa:bb:cc:dd:ee:ff)") != std::string::npos;
    }));
    EXPECT_LE(s.stats().messages - before, 3u);
    EXPECT_TRUE(server_->dig("h1.example.test", "A").empty());
    EXPECT_EQ(server_->dig("renamed1.example.test", "A"), Strings{"192.0.2.1"});
    EXPECT_EQ(server_->dig("1.2.0.192.in-addr.arpa", "PTR"), Strings{"renamed1.example.test."});
    EXPECT_EQ(server_->dig("h2.example.test", "A"), Strings{"192.0.2.202"});
    EXPECT_TRUE(server_->dig("2.2.0.192.in-addr.arpa", "PTR").empty());
    EXPECT_EQ(server_->dig("202.2.0.192.in-addr.arpa", "PTR"), Strings{"h2.example.test."});
    EXPECT_TRUE(server_->dig("h3.example.test", "A").empty());
    EXPECT_EQ(server_->dig("h3.example.test", "AAAA"), Strings{"2001:db8::3"});
    EXPECT_EQ(server_->dig("h4.example.test", "A"), Strings{"192.0.2.4"});
    EXPECT_TRUE(server_->dig("h5.example.test", "A").empty());
    EXPECT_EQ(server_->dig("h5b.example.test", "A"), Strings{"192.0.2.206"});
    EXPECT_TRUE(server_->dig("205.2.0.192.in-addr.arpa", "PTR").empty());

    // Replaying both batches after a "crash" converges to the same zone.
    ASSERT_TRUE(s.apply(ev));
    ASSERT_TRUE(s.apply(up));
    EXPECT_TRUE(server_->dig("h1.example.test", "A").empty());
    EXPECT_EQ(server_->dig("h2.example.test", "A"), Strings{"192.0.2.202"});
    EXPECT_EQ(server_->dig("h5b.example.test", "A"), Strings{"192.0.2.206"});

    // Deletes remove the specific records.
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{del(2, "h2", "192.0.2.202"), del(300, "six", "2001:db8::6")}));
    EXPECT_TRUE(server_->dig("h2.example.test", "A").empty());
    EXPECT_TRUE(server_->dig("202.2.0.192.in-addr.arpa", "PTR").empty());
    EXPECT_TRUE(server_->dig("six.example.test", "AAAA").empty());
    EXPECT_EQ(server_->dig("h7.example.test", "A"), Strings{"192.0.2.7"});
}

TEST_F(SinkTest, CnameConflictRejectsOnlyThatEvent) {
    using namespace sinktest;
    auto s = make_sink();
    std::vector<rowcast::event> ev = {ins(1, "c1", "192.0.2.101"), ins(2, "alias", "192.0.2.102"),
                                      ins(3, "c3", "192.0.2.103")};
    auto r = s.apply(ev);
    ASSERT_TRUE(r) << r.error_value().message;
    ASSERT_EQ(rejected_.size(), 1u);
    EXPECT_TRUE(is(rejected_[0].err, errc::cname_conflict)) << rejected_[0].err.message;
    EXPECT_EQ(s.stats().fallbacks, 1u);
    EXPECT_EQ(server_->dig("c1.example.test", "A"), Strings{"192.0.2.101"});
    EXPECT_EQ(server_->dig("c3.example.test", "A"), Strings{"192.0.2.103"});
    EXPECT_TRUE(server_->dig("102.2.0.192.in-addr.arpa", "PTR").empty());
}

TEST_F(SinkTest, ServerRefusalIsAnErrorToRetryNotARejection) {
    using namespace sinktest;
    const auto good = good_key(), wrong = wrong_key();
    auto bad_sink = make_sink(wrong);
    std::vector<rowcast::event> ev = {ins(1, "held1", "192.0.2.151"), ins(2, "held2", "192.0.2.152")};
    auto r = bad_sink.apply(ev);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is(r.error_value(), errc::notauth_badsig)) << r.error_value().message;
    EXPECT_TRUE(rowcast::dns::is_transient(r.error_value()));
    EXPECT_TRUE(rejected_.empty());
    EXPECT_TRUE(server_->dig("held1.example.test", "A").empty());
    auto good_sink = make_sink(good);
    ASSERT_TRUE(good_sink.apply(ev));
    EXPECT_EQ(server_->dig("held2.example.test", "A"), Strings{"192.0.2.152"});
    EXPECT_EQ(server_->dig("151.2.0.192.in-addr.arpa", "PTR"), Strings{"held1.example.test."});
}

TEST_F(SinkTest, OtherTablesAndNullsSendNothing) {
    using namespace sinktest;
    auto s = make_sink();
    auto other = ins(1, "o1", "192.0.2.171");
    other.table = "other";
    rowcast::event nul = ins(2, "n1", "x");
    nul.after = image(2, std::nullopt, "192.0.2.172");
    rowcast::event begin;
    begin.kind = event_kind::begin;
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{other, nul, begin}));
    EXPECT_EQ(s.stats().messages, 0u);
    EXPECT_EQ(s.stats().ignored, 2u);
    EXPECT_TRUE(rejected_.empty());
}

// Issue 4 §2: a replay after a crash converges; the guarded updates that were already applied are
// recognised by looking at the zone (no rejection), a replayed chain of updates of one name too.
TEST_F(SinkTest, ReplayAfterCrashConvergesToTheSameZone) {
    using namespace sinktest;
    auto s = make_sink();
    std::vector<rowcast::event> ev = {ins(1, "r1", "192.0.2.1"), ins(2, "r2", "192.0.2.2"), ins(3, "r3", "192.0.2.3"),
                                      ins(4, "r4", "192.0.2.4")};
    std::vector<rowcast::event> up = {upd(1, "r1", "192.0.2.1", "r1b", "192.0.2.1"),
                                      upd(2, "r2", "192.0.2.2", "r2", "192.0.2.22"),
                                      upd(3, "r3", "192.0.2.3", "r3", "2001:db8::3"),
                                      upd(4, "r4", "192.0.2.4", "r4", "192.0.2.44"),
                                      upd(4, "r4", "192.0.2.44", "r4c", "192.0.2.45"),
                                      del(2, "r2", "192.0.2.22")};
    ASSERT_TRUE(s.apply(ev));
    ASSERT_TRUE(s.apply(up));
    const auto fwd = server_->axfr("example.test"), rev = server_->axfr("2.0.192.in-addr.arpa"),
               rev6 = server_->axfr("8.b.d.0.1.0.0.2.ip6.arpa");
    EXPECT_EQ(server_->dig("r4c.example.test", "A"), Strings{"192.0.2.45"});
    EXPECT_TRUE(server_->dig("r2.example.test", "A").empty());
    EXPECT_EQ(s.stats().already_applied, 0u);

    // The crash came after the update batch was applied but before the spool knew: it comes again.
    ASSERT_TRUE(s.apply(up));
    EXPECT_TRUE(rejected_.empty()) << rejected_.front().err.message;
    EXPECT_GE(s.stats().already_applied, 3u);
    // r4 .4 -> .44 continued by .44 -> r4c .45, and r2 .2 -> .22 continued by the delete of .22,
    // in the same batch.
    EXPECT_EQ(s.stats().superseded, 2u);
    EXPECT_EQ(s.stats().conflicts, 0u);
    EXPECT_EQ(server_->axfr("example.test"), fwd);
    EXPECT_EQ(server_->axfr("2.0.192.in-addr.arpa"), rev);
    EXPECT_EQ(server_->axfr("8.b.d.0.1.0.0.2.ip6.arpa"), rev6);

    // Both batches again as one (a longer replay): the inserts put the old records back and the
    // updates move them again.
    std::vector<rowcast::event> all = ev;
    all.insert(all.end(), up.begin(), up.end());
    ASSERT_TRUE(s.apply(all));
    EXPECT_TRUE(rejected_.empty()) << rejected_.front().err.message;
    EXPECT_EQ(server_->axfr("example.test"), fwd);
    EXPECT_EQ(server_->axfr("2.0.192.in-addr.arpa"), rev);
    EXPECT_EQ(server_->axfr("8.b.d.0.1.0.0.2.ip6.arpa"), rev6);
}

// A record changed outside the table (here by another client): the update's guard fails, the zone
// shows something else, so the event is a conflict naming the records; the rest of the batch goes on.
TEST_F(SinkTest, RecordChangedBehindOurBackIsAConflict) {
    using namespace sinktest;
    auto s = make_sink();
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{ins(1, "m1", "192.0.2.61"), ins(2, "m2", "192.0.2.63")}));
    client other(s.dns_client().options());
    update_message u("example.test");
    u.remove("m1.example.test", rr_type::a, *rdata::a("192.0.2.61"));
    u.add("m1.example.test", rr_type::a, 120, *rdata::a("192.0.2.69"));
    ASSERT_TRUE(other.send_update(u));

    auto r = s.apply(std::vector<rowcast::event>{upd(1, "m1", "192.0.2.61", "m1", "192.0.2.62"),
                                                 upd(2, "m2", "192.0.2.63", "m2", "192.0.2.64")});
    ASSERT_TRUE(r) << r.error_value().message;
    ASSERT_EQ(rejected_.size(), 1u);
    const auto& msg = rejected_[0].err.message;
    EXPECT_TRUE(is(rejected_[0].err, errc::conflict)) << msg;
    EXPECT_NE(msg.find("m1.example.test A 192.0.2.69"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not 192.0.2.61"), std::string::npos) << msg;
    EXPECT_EQ(s.stats().conflicts, 1u);
    EXPECT_EQ(server_->dig("m1.example.test", "A"), Strings{"192.0.2.69"});  // left alone
    EXPECT_TRUE(server_->dig("62.2.0.192.in-addr.arpa", "PTR").empty());     // its PTR not sent
    EXPECT_EQ(server_->dig("61.2.0.192.in-addr.arpa", "PTR"), Strings{"m1.example.test."});
    EXPECT_EQ(server_->dig("m2.example.test", "A"), Strings{"192.0.2.64"});
    EXPECT_EQ(server_->dig("64.2.0.192.in-addr.arpa", "PTR"), Strings{"m2.example.test."});

    // Two rows sharing a name: the guard lists one record, the RRset holds two; the zone shows the
    // old record is there, so the update is sent again requiring the whole RRset.
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{ins(3, "multi", "192.0.2.71"), ins(4, "multi", "192.0.2.72")}));
    ASSERT_TRUE(s.apply(upd(3, "multi", "192.0.2.71", "multi", "192.0.2.73")));
    EXPECT_EQ(rejected_.size(), 1u);
    EXPECT_EQ(server_->dig("multi.example.test", "A"), (Strings{"192.0.2.72", "192.0.2.73"}));

    // Without the guard the update overwrites (documented option).
    sink_options o = s.options();
    o.guard_updates = false;
    auto unguarded = sink::create(o, s.dns_client().options());
    ASSERT_TRUE(unguarded);
    ASSERT_TRUE(unguarded->apply(upd(1, "m1", "192.0.2.61", "m1", "192.0.2.62")));
    EXPECT_EQ(server_->dig("m1.example.test", "A"), (Strings{"192.0.2.62", "192.0.2.69"}));
}

// Issue 4 §2: a batch held by a server refusal and then retried reports each bad event once (on the
// try that goes through), with its reason; the rest of the batch is applied.
TEST_F(SinkTest, RejectionsOfAHeldBatchAreReportedOnce) {
    using namespace sinktest;
    const auto good = good_key(), wrong = wrong_key();
    auto s = make_sink(wrong);
    std::vector<rowcast::event> ev = {ins(1, "q1", "192.0.2.81"), ins(2, "bad host", "192.0.2.82"),
                                      ins(3, "alias", "192.0.2.83"), ins(4, "q4", "192.0.2.300"),
                                      ins(5, "q5", "192.0.2.85")};
    for (int i = 0; i < 3; ++i) {
        auto r = s.apply(ev);
        ASSERT_FALSE(r);
        EXPECT_TRUE(is(r.error_value(), errc::notauth_badsig)) << r.error_value().message;
    }
    EXPECT_TRUE(rejected_.empty());
    EXPECT_EQ(s.stats().rejected, 0u);
    s.dns_client().options().key = good;  // the key file fixed
    ASSERT_TRUE(s.apply(ev));
    ASSERT_EQ(rejected_.size(), 3u);
    EXPECT_TRUE(is(rejected_[0].err, errc::invalid_name)) << rejected_[0].err.message;
    EXPECT_TRUE(is(rejected_[1].err, errc::cname_conflict)) << rejected_[1].err.message;
    EXPECT_TRUE(is(rejected_[2].err, errc::invalid_address)) << rejected_[2].err.message;
    EXPECT_EQ(s.stats().rejected, 3u);
    // The three refused tries are not counted: the stats are those of one application.
    EXPECT_EQ(s.stats().events, ev.size());
    EXPECT_EQ(s.stats().messages, 3u);  // q1 and q5 resent alone after the batch failed on alias's CNAME, one PTR message
    EXPECT_EQ(server_->dig("q1.example.test", "A"), Strings{"192.0.2.81"});
    EXPECT_EQ(server_->dig("q5.example.test", "A"), Strings{"192.0.2.85"});
    EXPECT_EQ(server_->dig("85.2.0.192.in-addr.arpa", "PTR"), Strings{"q5.example.test."});
    EXPECT_TRUE(server_->dig("83.2.0.192.in-addr.arpa", "PTR").empty());
}

// Long names: a batch whose records would not fit one 64 KiB message is split by size, not only
// by record count.
TEST_F(SinkTest, BatchOfLongNamesIsSplitBySize) {
    using namespace sinktest;
    auto s = make_sink();
    const std::string tail = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c');
    auto host = [&](int i) {
        std::string first = "h" + std::to_string(1000 + i);
        first += std::string(40 - first.size(), 'x');
        return first + "." + tail;
    };
    std::vector<rowcast::event> ev;
    for (int i = 1; i <= 200; ++i) ev.push_back(ins(i, host(i), "192.0.2." + std::to_string(i)));
    auto r = s.apply(ev);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(rejected_.empty());
    EXPECT_GE(s.stats().messages, 3u);  // 200 x (prerequisite + add) of ~250-octet names > 64 KiB
    EXPECT_EQ(server_->dig(host(1) + ".example.test", "A"), Strings{"192.0.2.1"});
    EXPECT_EQ(server_->dig(host(200) + ".example.test", "A"), Strings{"192.0.2.200"});
    EXPECT_EQ(server_->dig("200.2.0.192.in-addr.arpa", "PTR"), Strings{host(200) + ".example.test."});
}

// A host moved to another forward zone (issue 4 §2: "forward change in one atomic message" cannot
// hold across zones): sent alone, add first; a quarantined event changes neither zone, whichever
// zone sorts first; replay converges.
TEST_F(SinkTest, HostMovedToAnotherForwardZone) {
    using namespace sinktest;
    forward_zones_ = {"example.test", "other.test"};
    auto s = make_sink();
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{ins(1, "x1", "192.0.2.91"), ins(2, "x2", "192.0.2.92"),
                                                    ins(3, "x3.other.test", "192.0.2.93"), ins(4, "x4", "192.0.2.94"),
                                                    ins(5, "x5", "192.0.2.95")}));
    ASSERT_TRUE(rejected_.empty());
    // x1's record changed outside the table; x3's (in other.test, the zone that sorts last) too.
    change_behind_our_back(s, "example.test", "x1.example.test", "192.0.2.91", "192.0.2.99");
    change_behind_our_back(s, "other.test", "x3.other.test", "192.0.2.93", "192.0.2.98");

    auto r = s.apply(std::vector<rowcast::event>{
        upd(1, "x1", "192.0.2.91", "x1.other.test", "192.0.2.91"),   // old zone's guard fails: conflict
        upd(2, "x2", "192.0.2.92", "cn.other.test", "192.0.2.92"),   // CNAME at the new name
        upd(3, "x3.other.test", "192.0.2.93", "x3", "192.0.2.93"),   // old zone (sorts last) fails: conflict
        upd(4, "x4", "192.0.2.94", "x4.other.test", "192.0.2.96"),   // moves
        upd(5, "x5", "192.0.2.95", "x5.other.test", "192.0.2.95"),   // moves, then back with a new address
        upd(5, "x5.other.test", "192.0.2.95", "x5", "192.0.2.97")});
    ASSERT_TRUE(r) << r.error_value().message;
    ASSERT_EQ(rejected_.size(), 3u);
    EXPECT_TRUE(is(rejected_[0].err, errc::conflict)) << rejected_[0].err.message;
    EXPECT_TRUE(is(rejected_[1].err, errc::cname_conflict)) << rejected_[1].err.message;
    EXPECT_TRUE(is(rejected_[2].err, errc::conflict)) << rejected_[2].err.message;
    // Rejected: neither zone changed, PTRs untouched.
    EXPECT_TRUE(server_->dig("x1.other.test", "A").empty());
    EXPECT_EQ(server_->dig("x1.example.test", "A"), Strings{"192.0.2.99"});
    EXPECT_EQ(server_->dig("x2.example.test", "A"), Strings{"192.0.2.92"});
    EXPECT_EQ(server_->dig("92.2.0.192.in-addr.arpa", "PTR"), Strings{"x2.example.test."});
    EXPECT_TRUE(server_->dig("x3.example.test", "A").empty());
    EXPECT_EQ(server_->dig("x3.other.test", "A"), Strings{"192.0.2.98"});
    EXPECT_EQ(server_->dig("93.2.0.192.in-addr.arpa", "PTR"), Strings{"x3.other.test."});
    // Applied, in event order.
    EXPECT_TRUE(server_->dig("x4.example.test", "A").empty());
    EXPECT_EQ(server_->dig("x4.other.test", "A"), Strings{"192.0.2.96"});
    EXPECT_TRUE(server_->dig("94.2.0.192.in-addr.arpa", "PTR").empty());
    EXPECT_EQ(server_->dig("96.2.0.192.in-addr.arpa", "PTR"), Strings{"x4.other.test."});
    EXPECT_TRUE(server_->dig("x5.other.test", "A").empty());
    EXPECT_EQ(server_->dig("x5.example.test", "A"), Strings{"192.0.2.97"});
    EXPECT_EQ(server_->dig("97.2.0.192.in-addr.arpa", "PTR"), Strings{"x5.example.test."});
    EXPECT_TRUE(server_->dig("95.2.0.192.in-addr.arpa", "PTR").empty());

    // Replay of the moves converges to the same zones.
    const auto fwd = server_->axfr("example.test"), other = server_->axfr("other.test"),
               rev = server_->axfr("2.0.192.in-addr.arpa");
    rejected_.clear();
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{upd(4, "x4", "192.0.2.94", "x4.other.test", "192.0.2.96"),
                                                    upd(5, "x5", "192.0.2.95", "x5.other.test", "192.0.2.95"),
                                                    upd(5, "x5.other.test", "192.0.2.95", "x5", "192.0.2.97")}));
    EXPECT_TRUE(rejected_.empty()) << rejected_.front().err.message;
    EXPECT_EQ(server_->axfr("example.test"), fwd);
    EXPECT_EQ(server_->axfr("other.test"), other);
    EXPECT_EQ(server_->axfr("2.0.192.in-addr.arpa"), rev);

    // A crash between the two messages of a move (the add went to the new zone, the delete not):
    // the replay completes it.
    ASSERT_TRUE(s.apply(ins(6, "x6", "192.0.2.86")));
    client other_client(s.dns_client().options());
    update_message half("other.test");
    half.add("x6.other.test", rr_type::a, 120, *rdata::a("192.0.2.86"));
    ASSERT_TRUE(other_client.send_update(half));
    ASSERT_TRUE(s.apply(upd(6, "x6", "192.0.2.86", "x6.other.test", "192.0.2.86")));
    EXPECT_TRUE(rejected_.empty()) << rejected_.front().err.message;
    EXPECT_TRUE(server_->dig("x6.example.test", "A").empty());
    EXPECT_EQ(server_->dig("x6.other.test", "A"), Strings{"192.0.2.86"});
    EXPECT_EQ(server_->dig("86.2.0.192.in-addr.arpa", "PTR"), Strings{"x6.other.test."});
}

// An event counted as superseded by a later one of its batch (a replayed chain) is a conflict when
// that later event is itself rejected: no PTR is invented for it.
TEST_F(SinkTest, SupersededByARejectedEventIsAConflict) {
    using namespace sinktest;
    auto s = make_sink();
    ASSERT_TRUE(s.apply(ins(1, "s1", "192.0.2.31")));
    change_behind_our_back(s, "example.test", "s1.example.test", "192.0.2.31", "192.0.2.39");
    ASSERT_TRUE(s.apply(std::vector<rowcast::event>{upd(1, "s1", "192.0.2.31", "s1", "192.0.2.32"),
                                                    upd(1, "s1", "192.0.2.32", "s1", "192.0.2.33")}));
    ASSERT_EQ(rejected_.size(), 2u);
    EXPECT_TRUE(is(rejected_[0].err, errc::conflict)) << rejected_[0].err.message;
    EXPECT_TRUE(is(rejected_[1].err, errc::conflict)) << rejected_[1].err.message;
    EXPECT_EQ(s.stats().superseded, 0u);
    EXPECT_EQ(s.stats().conflicts, 2u);
    EXPECT_EQ(server_->dig("s1.example.test", "A"), Strings{"192.0.2.39"});
    EXPECT_TRUE(server_->dig("32.2.0.192.in-addr.arpa", "PTR").empty());
    EXPECT_TRUE(server_->dig("33.2.0.192.in-addr.arpa", "PTR").empty());
    EXPECT_EQ(server_->dig("31.2.0.192.in-addr.arpa", "PTR"), Strings{"s1.example.test."});
}
