// rowcast-make-seeds <out dir> [random events per codec, default 200]
//
// Writes seed corpora for the fuzzers: <out>/binary/, <out>/json/, <out>/yaml/,
// one file per encoded event (the reference events of tests/support/sample_events.hpp
// and deterministic random events from tests/support/random_event.hpp), plus the
// hand-written messages rowcast must read (the smpl-repl JSON, the tmod YAML).
// The text codecs are written only when their component is part of this build
// (ROWCAST_SEEDS_JSON, ROWCAST_SEEDS_YAML, set by tests/fuzz/CMakeLists.txt).
// With the dns component (ROWCAST_SEEDS_DNS), <out>/dns/ gets what fuzz_dns reads:
// UPDATE requests and queries from rowcast's own builder (unsigned and TSIG-signed),
// replies as BIND sends them (NOERROR, REFUSED, YXRRSET, NXRRSET, NOTAUTH, NOTZONE,
// signed with fuzz_dns's key over its request MAC so verification runs to the end;
// BADSIG/BADKEY unsigned, BADTIME signed with the server time), query answers with
// compression pointers (A, AAAA, PTR, CNAME, SOA), a TC reply, replies cut short,
// and BIND key files (every algorithm, several keys, comments).
// <out>/spread/ gets Spread daemon streams for fuzz_spread: data messages carrying rowcast's
// envelope (whole and fragmented), membership (join, leave, network with two vs-sets),
// transitional, self-leave, reject, a big-endian message, several messages in one stream.
// <out>/datagram/ gets what fuzz_datagram reads: series of unauthenticated frames
// (2-byte length, frame) with packed events, fragments, out-of-order and repeated
// sequences, heartbeats and a `gone` answer.
// <out>/journal/ gets journal segments for fuzz_journal: a header and binary records, whole
// and with a torn last record.
#include "support/random_event.hpp"
#include "support/sample_events.hpp"
#include "support/spread_daemon.hpp"

#include <rowcast/spread/detail/fragment.hpp>

#include <rowcast/codec/binary.hpp>
#include <rowcast/datagram/frame.hpp>
#include <rowcast/journal/detail/format.hpp>
#include <rowcast/event.hpp>
#ifdef ROWCAST_SEEDS_JSON
#include <rowcast/codec/json.hpp>
#endif
#ifdef ROWCAST_SEEDS_YAML
#include <rowcast/codec/yaml.hpp>
#endif
#ifdef ROWCAST_SEEDS_DNS
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/dns/tsig.hpp>
#endif

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<rowcast::event> seed_events(std::size_t random_count) {
    std::vector<rowcast::event> events = {rowcast::test::hosts_update(), rowcast::test::small_insert(),
                                          rowcast::test::wide_insert()};
    rowcast::test::event_generator gen(20261122);
    for (std::size_t i = 0; i < random_count; ++i) events.push_back(gen.next());
    return events;
}

bool write_file(const fs::path& p, std::string_view bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(f);
}

// Encodes every event with `codec` into dir/<prefix>-<n>; returns the number written, or -1.
template <class Codec>
long write_corpus(Codec codec, const fs::path& dir, std::string_view prefix, const std::vector<rowcast::event>& events) {
    fs::create_directories(dir);
    long n = 0;
    for (const auto& e : events) {
        const std::string bytes = rowcast::encode(codec, e);
        if (!write_file(dir / (std::string(prefix) + "-" + std::to_string(n)), bytes)) return -1;
        ++n;
    }
    return n;
}

#ifdef ROWCAST_SEEDS_DNS
namespace dns = rowcast::dns;

// What fuzz_dns verifies replies with (keep in step with tests/fuzz/fuzz_dns.cpp).
const dns::tsig_key fuzz_key{"rowcast-key", dns::tsig_algorithm::hmac_sha256, std::string(32, 'k')};
constexpr std::string_view fuzz_request_mac = "0123456789abcdef0123456789abcdef";
constexpr std::uint64_t fuzz_time = 1700000000;

// Signs a reply as a server does (RFC 8945 §5.3): MAC over the request MAC (length-prefixed),
// the reply, and the TSIG variables; appends the TSIG record. Without `with_mac`: an unsigned
// TSIG carrying only `error` (what BIND sends with BADSIG/BADKEY).
void sign_reply(std::string& msg, std::uint16_t error, std::string_view other, bool with_mac) {
    std::string mac;
    if (with_mac) {
        std::string buf;
        rowcast::detail::dns::put16(buf, static_cast<std::uint16_t>(fuzz_request_mac.size()));
        buf += fuzz_request_mac;
        buf += msg;
        rowcast::detail::dns::put_variables(buf, fuzz_key, fuzz_time, 300, error, other);
        mac = rowcast::detail::dns::hmac(fuzz_key, buf);
    }
    std::string rr;
    (void)dns::encode_name(fuzz_key.name, rr, true);
    rowcast::detail::dns::put16(rr, dns::rr_type::tsig);
    rowcast::detail::dns::put16(rr, dns::rr_class::any);
    rowcast::detail::dns::put32(rr, 0);
    std::string rd;
    (void)dns::encode_name(dns::to_string(fuzz_key.algorithm), rd, true);
    rowcast::detail::dns::put16(rd, static_cast<std::uint16_t>(fuzz_time >> 32));
    rowcast::detail::dns::put32(rd, static_cast<std::uint32_t>(fuzz_time & 0xffffffffu));
    rowcast::detail::dns::put16(rd, 300);
    rowcast::detail::dns::put16(rd, static_cast<std::uint16_t>(mac.size()));
    rd += mac;
    rd += msg.substr(0, 2);  // original ID
    rowcast::detail::dns::put16(rd, error);
    rowcast::detail::dns::put16(rd, static_cast<std::uint16_t>(other.size()));
    rd += other;
    rowcast::detail::dns::put16(rr, static_cast<std::uint16_t>(rd.size()));
    rr += rd;
    msg += rr;
    rowcast::detail::dns::set16(msg, 10, static_cast<std::uint16_t>(((static_cast<unsigned char>(msg[10]) << 8) |
                                                             static_cast<unsigned char>(msg[11])) + 1));
}

// The reply header and question/zone section of `request` (counts of the other sections zero).
std::string reply_to(const std::string& request, std::uint16_t rcode, bool tc = false) {
    std::string r = request.substr(0, 12);
    const std::uint16_t flags = static_cast<std::uint16_t>(((static_cast<unsigned char>(request[2]) << 8) | 0x8000 |
                                                            (tc ? 0x0200 : 0) | 0x0400 | rcode));
    rowcast::detail::dns::set16(r, 2, flags);
    for (std::size_t at : {6u, 8u, 10u}) rowcast::detail::dns::set16(r, at, 0);
    // The question (or zone) section: the request's first name + type + class.
    std::size_t p = 12;
    while (p < request.size() && request[p] != 0) p += 1 + static_cast<unsigned char>(request[p]);
    r += request.substr(12, p + 5 - 12);
    return r;
}

// Appends an answer record whose owner is a pointer to the question name (offset 12).
void add_answer(std::string& msg, std::uint16_t type, std::string_view rdata) {
    msg += '\xc0';
    msg += '\x0c';
    rowcast::detail::dns::put16(msg, type);
    rowcast::detail::dns::put16(msg, dns::rr_class::in);
    rowcast::detail::dns::put32(msg, 300);
    rowcast::detail::dns::put16(msg, static_cast<std::uint16_t>(rdata.size()));
    msg += rdata;
    rowcast::detail::dns::set16(msg, 6, static_cast<std::uint16_t>(((static_cast<unsigned char>(msg[6]) << 8) |
                                                            static_cast<unsigned char>(msg[7])) + 1));
}

long write_dns_corpus(const fs::path& dir) {
    fs::create_directories(dir);
    long n = 0;
    bool ok = true;
    auto put = [&](std::string_view kind, std::string_view bytes) {
        ok = write_file(dir / (std::string(kind) + "-" + std::to_string(n++)), bytes) && ok;
    };
    // Requests from the builder.
    dns::update_message ins("example.test");
    ins.require_no_rrset("h1.example.test", dns::rr_type::cname);
    ins.add("h1.example.test", dns::rr_type::a, 300, dns::rdata::a("192.0.2.1").value());
    dns::update_message mv("example.test");
    mv.require_record("h1.example.test", dns::rr_type::a, dns::rdata::a("192.0.2.1").value());
    mv.remove("h1.example.test", dns::rr_type::a, dns::rdata::a("192.0.2.1").value());
    mv.add("h2.example.test", dns::rr_type::aaaa, 300, dns::rdata::aaaa("2001:db8::2").value());
    dns::update_message ptr("2.0.192.in-addr.arpa");
    ptr.remove("1.2.0.192.in-addr.arpa", dns::rr_type::ptr, dns::rdata::name("h1.example.test").value());
    ptr.add("1.2.0.192.in-addr.arpa", dns::rr_type::ptr, 300, dns::rdata::name("h2.example.test").value());
    ptr.remove_rrset("9.2.0.192.in-addr.arpa", dns::rr_type::ptr);
    ptr.remove_name("8.2.0.192.in-addr.arpa");
    ptr.require_name("7.2.0.192.in-addr.arpa");
    ptr.require_no_name("6.2.0.192.in-addr.arpa");
    dns::update_message big("example.test");
    for (int i = 0; i < 40; ++i)
        big.add("bulk" + std::to_string(i) + ".example.test", dns::rr_type::a, 300, dns::rdata::a("10.0.0.1").value());
    std::vector<std::string> requests;
    for (const auto* u : {&ins, &mv, &ptr, &big}) requests.push_back(u->encode(0x1234).value());
    requests.push_back(dns::encode_query(0x4321, "h1.example.test", dns::rr_type::a).value());
    requests.push_back(dns::encode_query(0x4322, "1.2.0.192.in-addr.arpa", dns::rr_type::ptr).value());
    for (auto& r : requests) {
        put("request", r);
        std::string signed_req = r;
        (void)dns::tsig_sign(signed_req, fuzz_key, fuzz_time);
        put("request-signed", signed_req);
    }
    // Update replies, signed over fuzz_dns's request MAC.
    for (std::uint16_t rcode : {0, 5, 7, 8, 9, 10, 2}) {
        std::string r = reply_to(requests[1], rcode);
        put("reply", r);
        sign_reply(r, 0, {}, true);
        put("reply-signed", r);
    }
    std::string badsig = reply_to(requests[0], 9), badkey = badsig, badtime = badsig;
    sign_reply(badsig, 16, {}, false);
    sign_reply(badkey, 17, {}, false);
    sign_reply(badtime, 18, std::string("\x00\x00\x65\x53\xf1\x00", 6), true);
    put("reply-badsig", badsig);
    put("reply-badkey", badkey);
    put("reply-badtime", badtime);
    // Query answers with compression pointers.
    std::string a = reply_to(requests[4], 0);
    add_answer(a, dns::rr_type::a, dns::rdata::a("192.0.2.1").value());
    add_answer(a, dns::rr_type::aaaa, dns::rdata::aaaa("2001:db8::1").value());
    add_answer(a, dns::rr_type::cname, std::string("\x05" "alias" "\xc0\x0f", 8));  // "alias" + pointer to "example.test"
    std::string soa = "\x02ns\xc0\x0f\x0ahostmaster\xc0\x0f";
    rowcast::detail::dns::put32(soa, 7);
    for (int i = 0; i < 4; ++i) rowcast::detail::dns::put32(soa, 3600);
    add_answer(a, dns::rr_type::soa, soa);
    put("answer", a);
    std::string a_signed = a;
    sign_reply(a_signed, 0, {}, true);
    put("answer-signed", a_signed);
    std::string p = reply_to(requests[5], 0);
    add_answer(p, dns::rr_type::ptr, dns::rdata::name("h1.example.test").value());
    put("answer-ptr", p);
    put("reply-tc", reply_to(requests[3], 0, true));
    put("nxdomain", reply_to(requests[4], 3));
    // Cut short: inside the header, the question, an answer, the TSIG.
    for (std::size_t cut : {std::size_t{5}, std::size_t{20}, a.size() - 3})
        if (cut < a.size()) put("truncated", a.substr(0, cut));
    put("truncated-tsig", a_signed.substr(0, a_signed.size() - 10));
    // Key files as tsig-keygen writes them.
    const char* algs[] = {"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"};
    for (const char* alg : algs)
        put("key", std::string("key \"rowcast-key\" {\n\talgorithm ") + alg +
                       ";\n\tsecret \"a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=\";\n};\n");
    put("key-several", "# comment\n// another\nkey \"a\" { algorithm hmac-sha256; secret \"AAAA\"; };\n"
                       "/* block */ key b. { algorithm hmac-sha512; secret \"c2VjcmV0\"; };\n");
    return ok ? n : -1;
}
#endif

}  // namespace

long write_spread_corpus(const fs::path& dir, const std::vector<rowcast::event>& events) {
    using d = rowcast::test::spread_daemon;
    namespace ds = rowcast::detail::spread;
    fs::create_directories(dir);
    long n = 0;
    auto put = [&](const std::string& name, const std::string& bytes) {
        if (!write_file(dir / name, bytes)) return false;
        ++n;
        return true;
    };
    auto envelope = [](std::uint64_t seq, std::uint32_t i, std::uint32_t count, std::uint32_t total, std::string_view chunk) {
        std::string b;
        ds::put_envelope(b, seq, i, count, total);
        return b + std::string(chunk);
    };
    auto memb = [](std::uint32_t cause, const std::vector<std::vector<std::string>>& sets, std::uint32_t local) {
        std::string body;
        for (std::uint32_t v : {1u, 1700000000u, 3u, static_cast<std::uint32_t>(sets.size()), local}) d::put(body, v);
        std::vector<std::string> members;
        for (const auto& s : sets) {
            d::put(body, static_cast<std::uint32_t>(s.size()));
            for (const auto& m : s) {
                d::put_name(body, m);
                members.push_back(m);
            }
        }
        return d::frame(d::reg_memb | cause, "grp", members, 0, body);
    };
    rowcast::binary_codec codec;
    std::string stream;
    for (std::size_t i = 0; i < events.size() && i < 8; ++i) {
        const std::string e = rowcast::encode(codec, events[i]);
        const std::string one = d::frame(d::agreed, "#prod#d1", {"rc.shop.items"}, 3,
                                         envelope(i + 1, 0, 1, static_cast<std::uint32_t>(e.size()), e));
        if (!put("data-" + std::to_string(i), one)) return -1;
        stream += one;
        if (i == 0) {  // the same event in two fragments
            const std::string a = e.substr(0, e.size() / 2), b = e.substr(e.size() / 2);
            const auto t = static_cast<std::uint32_t>(e.size());
            if (!put("fragments", d::frame(d::fifo, "#prod#d1", {"g"}, 3, envelope(9, 0, 2, t, a)) +
                                      d::frame(d::fifo, "#prod#d1", {"g"}, 3, envelope(9, 1, 2, t, b))))
                return -1;
        }
    }
    const bool ok = put("stream", stream) && put("join", memb(d::caused_by_join, {{"#a#d1"}}, 0)) &&
                    put("leave", memb(d::caused_by_leave, {{"#b#d1"}}, 0)) &&
                    put("network", memb(0x800, {{"#bob#d2"}, {"#alice#d1", "#cw#d1"}}, 36)) &&
                    put("transitional", d::frame(d::transition, "grp", {}, 0, std::string(12, '\1'))) &&
                    put("self-leave", d::frame(d::caused_by_leave, "grp", {}, 0, {})) &&
                    put("big-endian", d::frame(d::fifo, "#x#d1", {"g", "h"}, 513, "payload", true)) &&
                    put("reject", [] {
                        std::string f = d::frame(0x400000, "#x#d1", {"g", "#x#d1"}, 0, "data");
                        std::string old;
                        d::put(old, d::agreed);
                        return f.insert(48, old);
                    }());
    return ok ? n : -1;
}

// fuzz_datagram's input: each frame as a 2-byte big-endian length and its bytes.
long write_datagram_corpus(const fs::path& dir, const std::vector<rowcast::event>& events) {
    namespace dg = rowcast::datagram;
    std::error_code ec;
    fs::create_directories(dir, ec);
    rowcast::binary_codec codec;
    auto frame = [&](dg::frame_type t, std::uint64_t seq, std::uint16_t idx, std::uint16_t count, std::string_view table,
                     std::string_view payload, std::uint16_t events_in) {
        dg::frame_header h;
        h.type = t;
        h.codec = dg::codec_id::binary;
        h.source_id = 1;
        h.epoch = 1;
        h.sequence = seq;
        h.fragment_index = idx;
        h.fragment_count = count;
        h.event_count = events_in;
        std::string d;
        dg::write_header(d, h, table);
        d += payload;
        std::string rec;
        rec.push_back(static_cast<char>(d.size() >> 8));
        rec.push_back(static_cast<char>(d.size()));
        return rec + d;
    };
    long n = 0;
    for (std::size_t base = 0; base + 4 <= events.size() && n < 40; base += 4) {
        std::string series;
        std::uint64_t seq = 0;
        for (std::size_t i = base; i < base + 4; ++i) {
            std::string ev, payload;
            codec.encode(events[i], ev);
            payload.push_back(static_cast<char>(ev.size() >> 24));
            payload.push_back(static_cast<char>(ev.size() >> 16));
            payload.push_back(static_cast<char>(ev.size() >> 8));
            payload.push_back(static_cast<char>(ev.size()));
            if (i % 2 == 0) {
                series += frame(dg::frame_type::data, seq++, 0, 1, events[i].table, payload + ev, 1);
            } else {  // in three fragments
                const std::size_t piece = ev.size() / 3 + 1;
                for (std::uint16_t f = 0; f < 3; ++f)
                    series += frame(dg::frame_type::data, seq++, f, 3, events[i].table,
                                    std::string_view(ev).substr(std::min(ev.size(), f * piece), piece), 1);
            }
        }
        std::string reordered = series;  // the same, then a repeat and a heartbeat announcing a gap
        series += frame(dg::frame_type::heartbeat, seq + 2, 0, 1, {}, {}, 0);
        std::string last;
        last.append(8, '\0');
        series += frame(dg::frame_type::gone, seq, 0, 1, {}, last, 0);
        series += reordered.substr(0, reordered.size() / 2);
        if (!write_file(dir / ("series-" + std::to_string(n++)), series)) return -1;
    }
    return n;
}

// fuzz_mysql_result: what a server sends after COM_QUERY (packets framed with length and
// sequence id from 1): result sets with NULL and binary cells, OK, ERR, a CALL's two results.
std::string mysql_packets(const std::vector<std::string>& payloads, unsigned first_seq = 1) {
    std::string out;
    unsigned seq = first_seq;
    for (const auto& p : payloads) {
        out += static_cast<char>(p.size() & 0xFF);
        out += static_cast<char>((p.size() >> 8) & 0xFF);
        out += static_cast<char>((p.size() >> 16) & 0xFF);
        out += static_cast<char>(seq++ & 0xFF);
        out += p;
    }
    return out;
}
std::string mysql_text(std::string_view s) { return static_cast<char>(s.size()) + std::string(s); }  // < 251 bytes
std::string mysql_column(std::string_view name, char type, unsigned charset) {
    std::string p = mysql_text("def") + mysql_text("app") + mysql_text("t") + mysql_text("t") + mysql_text(name) +
                    mysql_text(name) + '\x0c';
    p += static_cast<char>(charset & 0xFF);
    p += static_cast<char>(charset >> 8);
    p.append("\x50\x00\x00\x00", 4);
    p += type;
    p.append(5, '\0');
    return p;
}
long write_mysql_result_corpus(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string eof("\xfe\x00\x00\x02\x00", 5), eof_more("\xfe\x00\x00\x0a\x00", 5);
    const std::string ok(std::string("\x00\x01\x05\x02\x00\x01\x00", 7)), ok_more(std::string("\x00\x00\x00\x0a\x00\x00\x00", 7));
    const std::string cols = "\x03";
    const std::vector<std::string> rs = {cols, mysql_column("id", '\x03', 63), mysql_column("s", '\xfd', 45),
                                         mysql_column("b", '\xfc', 63), eof,
                                         mysql_text("1") + mysql_text("one") + mysql_text(std::string("\x00\xff\x01", 3)),
                                         mysql_text("2") + "\xfb" + mysql_text(""), eof};
    std::vector<std::string> call = rs;
    call.back() = eof_more;
    call.push_back(ok);
    const std::string err = std::string("\xff\x7a\x04#42S02", 9) + "Table 'app.t' doesn't exist";
    std::vector<std::string> row_err(rs.begin(), rs.begin() + 6);
    row_err.push_back(std::string("\xff\x25\x05#70100", 9) + "Query execution was interrupted");
    const std::vector<std::pair<const char*, std::string>> seeds = {
        {"result", mysql_packets(rs)},
        {"ok", mysql_packets({ok})},
        {"err", mysql_packets({err})},
        {"call", mysql_packets(call)},
        {"ok-more", mysql_packets({ok_more, ok})},
        {"row-err", mysql_packets(row_err)},
        {"infile", mysql_packets({"\xfb/etc/passwd"})},
    };
    for (const auto& [name, bytes] : seeds)
        if (!write_file(dir / name, bytes)) return -1;
    return static_cast<long>(seeds.size());
}

// Journal segments (rowcast/journal/detail/format.hpp): the header, then binary-codec records.
long write_journal_corpus(const fs::path& dir, const std::vector<rowcast::event>& events) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    namespace fmt = rowcast::detail::journal;
    std::string segment = fmt::make_header("binary"), rec;
    rowcast::binary_codec codec;
    for (std::size_t i = 0; i < events.size() && i < 8; ++i) {
        fmt::begin_record(rec);
        codec.encode(events[i], rec);
        fmt::finish_record(rec);
        segment += rec;
    }
    const std::string torn = segment + rec.substr(0, rec.size() / 2);
    if (!write_file(dir / "segment", segment) || !write_file(dir / "torn", torn) ||
        !write_file(dir / "cursor", "journal_segment=3\njournal_offset=1234"))
        return -1;
    return 3;
}

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s <out dir> [random events per codec]\n", argv[0]);
        return 2;
    }
    const fs::path out = argv[1];
    const std::size_t random_count = argc == 3 ? std::strtoul(argv[2], nullptr, 10) : 200;
    const auto events = seed_events(random_count);
    bool ok = true;
    auto report = [&](const char* what, long n) {
        if (n < 0) {
            std::fprintf(stderr, "make_seeds: writing %s seeds failed\n", what);
            ok = false;
        } else {
            std::printf("make_seeds: %ld %s seeds\n", n, what);
        }
    };
    report("binary", write_corpus(rowcast::binary_codec{}, out / "binary", "event", events));
#ifdef ROWCAST_SEEDS_JSON
    report("json", write_corpus(rowcast::json_codec{}, out / "json", "event", events));
    report("json (debezium)",
           write_corpus(rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::debezium}},
                        out / "json", "debezium", events));
    {
        rowcast::json_options schemas{.envelope = rowcast::json_envelope::debezium};
        schemas.debezium.schemas = true;
        schemas.debezium.extension = false;  // Debezium's own shape: types from the Connect schema
        report("json (debezium schema+payload)", write_corpus(rowcast::json_codec{schemas}, out / "json", "connect", events));
    }
    report("json (maxwell)",
           write_corpus(rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::maxwell}},
                        out / "json", "maxwell", events));
    {
        rowcast::json_options bare{.envelope = rowcast::json_envelope::maxwell};
        bare.extension = false;  // Maxwell's own shape: the top-level "xid", "xoffset", "commit" are read
        report("json (maxwell without rowcast)", write_corpus(rowcast::json_codec{bare}, out / "json", "maxwell-bare", events));
    }
    report("json (smpl-repl strict)",
           write_corpus(rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::smpl_repl}},
                        out / "json", "smpl-strict", events));
    fs::create_directories(out / "json");
    ok = write_file(out / "json" / "smpl-repl", rowcast::test::smpl_repl_message) && ok;
#endif
#ifdef ROWCAST_SEEDS_YAML
    report("yaml", write_corpus(rowcast::yaml_codec{}, out / "yaml", "event", events));
    fs::create_directories(out / "yaml");
    ok = write_file(out / "yaml" / "tmod", rowcast::test::tmod_message) && ok;
#endif
    report("datagram", write_datagram_corpus(out / "datagram", events));
#ifdef ROWCAST_SEEDS_DNS
    report("dns", write_dns_corpus(out / "dns"));
#endif
    report("spread", write_spread_corpus(out / "spread", events));
    report("mysql_result", write_mysql_result_corpus(out / "mysql_result"));
    report("journal", write_journal_corpus(out / "journal", events));
    return ok ? 0 : 1;
}
