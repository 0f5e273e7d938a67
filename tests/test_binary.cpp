// The binary codec: exact round trips, framing, column-list sharing, the golden
// encoding, and hostile input (truncation, bit flips, garbage, oversized lengths).
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/concept.hpp>

#include "support/random_event.hpp"
#include "support/sample_events.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------
// Allocation counting (whole binary): lets tests assert "does not allocate".
namespace {
std::atomic<std::size_t> g_allocs{0};
std::atomic<std::size_t> g_alloc_bytes{0};
}  // namespace

void* operator new(std::size_t n) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    g_alloc_bytes.fetch_add(n, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace rowcast;

namespace {

struct alloc_scope {
    std::size_t count0 = g_allocs.load(), bytes0 = g_alloc_bytes.load();
    std::size_t count() const { return g_allocs.load() - count0; }
    std::size_t bytes() const { return g_alloc_bytes.load() - bytes0; }
};

std::string enc(binary_codec& c, const event& e) {
    std::string s;
    c.encode(e, s);
    return s;
}

std::string hex(std::string_view s) {
    static const char* d = "0123456789abcdef";
    std::string h;
    for (unsigned char ch : s) {
        h += d[ch >> 4];
        h += d[ch & 15];
    }
    return h;
}

// A hand-written event body, for crafting inputs the encoder never writes.
struct raw {
    std::string b;
    raw& u8(unsigned v) {
        b += static_cast<char>(v);
        return *this;
    }
    raw& varint(std::uint64_t v) {
        while (v >= 0x80) {
            b += static_cast<char>((v & 0x7F) | 0x80);
            v >>= 7;
        }
        b += static_cast<char>(v);
        return *this;
    }
    raw& le(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) b += static_cast<char>((v >> (8 * i)) & 0xFF);
        return *this;
    }
    raw& str(std::string_view s) {
        varint(s.size());
        b += s;
        return *this;
    }
    raw& bytes(std::string_view s) {
        b += s;
        return *this;
    }
    // Event header fields up to (not including) the column block: a `kind` event with empty strings.
    static raw head(unsigned kind) {
        raw r;
        r.u8(kind).varint(0).le(0, 8).le(0, 8);         // kind, sequence, commit, capture
        r.str("").str("").str("");                      // schema, table, statement
        r.str("").varint(0).u8(0);                      // transaction id, position, last
        r.str("").varint(0).str("").varint(0);          // source file, offset, gtid, server id
        return r;
    }
    std::string frame(std::uint32_t len_adjust = 0) const {
        std::string f = "RC";
        f += '\x01';
        f += '\0';
        const auto len = static_cast<std::uint32_t>(8 + b.size()) + len_adjust;
        for (int i = 0; i < 4; ++i) f += static_cast<char>((len >> (8 * i)) & 0xFF);
        return f + b;
    }
};

// Body offset where raw::head ends (8-byte header + 1+1+8+8+1+1+1+1+1+1+1+1+1+1).
constexpr std::size_t head_end = 8 + 28;

void expect_error(const result<std::size_t>& r, errc code, std::string_view needle = {}) {
    ASSERT_FALSE(r.has_value()) << "decoded " << *r << " bytes";
    EXPECT_EQ(r.error_value().code, make_error_code(code)) << r.error_value().message;
    const std::string prefix = "[rowcast.binary." + std::string(to_string(code)) + "] at byte ";
    EXPECT_EQ(r.error_value().message.rfind(prefix, 0), 0u) << r.error_value().message;
    if (!needle.empty()) {
        EXPECT_NE(r.error_value().message.find(needle), std::string::npos) << r.error_value().message;
    }
}

// Decodes with both decode and decode_view; both must agree on success or errc.
void check_both(binary_codec& c, std::string_view in) {
    event e;
    event_view v;
    auto a = c.decode(in, e);
    auto b = c.decode_view(in, v);
    ASSERT_EQ(a.has_value(), b.has_value());
    if (a) {
        ASSERT_EQ(*a, *b);
        ASSERT_EQ(to_owning(v), e);
        // Canonical: re-encoding gives exactly the consumed bytes.
        std::string again;
        c.encode(e, again);
        ASSERT_EQ(again, in.substr(0, *a));
    } else {
        ASSERT_EQ(a.error_value().code, b.error_value().code);
        ASSERT_EQ(a.error_value().message.rfind("[rowcast.binary.", 0), 0u);
        ASSERT_NE(a.error_value().message.find("at byte "), std::string::npos) << a.error_value().message;
    }
}

event every_kind_event() {
    std::vector<column> cols;
    auto add = [&](std::string name, column_type t) {
        column c;
        c.name = std::move(name);
        c.type = std::move(t);
        c.nullable = cols.size() % 2 == 0;
        c.primary_key = cols.empty();
        cols.push_back(std::move(c));
    };
    for (int i = 0; i < 21; ++i) {
        column_type t;
        t.type = static_cast<sql_type>(i % sql_type_count);
        t.is_unsigned = i % 3 == 0;
        t.length = static_cast<std::uint32_t>(i == 5 ? 0xFFFFFFFFu : i * 7);
        t.precision = static_cast<std::uint8_t>(i == 6 ? 65 : 0);
        t.scale = static_cast<std::uint8_t>(i == 6 ? 30 : i == 7 ? 3 : 0);
        t.fsp = static_cast<std::uint8_t>(i % 7);
        if (i % 4 == 1) t.charset = "utf8mb4";
        if (i == 16 || i == 17) t.members = {"a", "", "c,d", std::string("n\0l", 3)};
        if (i == 18) t.geometry_type = "multipolygon";
        add("c" + std::to_string(i), t);
    }
    std::uint32_t nan_bits = 0x7FC01234u;
    float fnan;
    std::memcpy(&fnan, &nan_bits, 4);
    std::uint64_t dnan_bits = 0xFFF8DEADBEEF0001ULL;
    double dnan;
    std::memcpy(&dnan, &dnan_bits, 8);
    event e;
    e.kind = event_kind::update;
    e.schema = std::string("s\0chema", 7);
    e.table = "t\xFF\xFE";
    e.columns = make_columns(cols);
    e.before = {absent{},
                null_value{},
                std::numeric_limits<std::int64_t>::min(),
                std::numeric_limits<std::uint64_t>::max(),
                fnan,
                -0.0,
                decimal{"-12.3400"},
                text{"invalid \xC3\x28 utf8 \xFF"},
                bytes{std::string("\0\x01\0\xFF", 4)},
                date{0, 0, 0},
                rowcast::time{-(838LL * 3600 + 59 * 60 + 59) * 1000000},
                datetime{{9999, 12, 31}, 23, 59, 59, 999999},
                timestamp{std::numeric_limits<std::int64_t>::min()},
                year{2155},
                bit{~0ULL, 64},
                enum_value{"c,d", 3},
                set_value{"a,c,d", 0x8000000000000005ULL},
                json_text{"{\"a\": [1, null]}"},
                geometry{4326, std::string("\x01\x01\0\0\0", 5) + std::string(16, '\x7F')},
                text{std::string(1 << 20, 'x')},
                std::numeric_limits<std::int64_t>::max()};
    e.after = {null_value{},
               absent{},
               std::int64_t{0},
               std::uint64_t{0},
               -0.0f,
               dnan,
               decimal{"0"},
               text{""},
               bytes{std::string(1 << 20, '\0')},
               date{2024, 12, 31},
               rowcast::time{0},
               datetime{},
               timestamp{0},
               year{0},
               bit{0, 1},
               enum_value{"", 0},
               set_value{"", 0},
               json_text{""},
               geometry{0, ""},
               std::numeric_limits<double>::infinity(),
               -std::numeric_limits<float>::infinity()};
    e.statement = "UPDATE t SET x = 1";
    e.sequence = std::numeric_limits<std::uint64_t>::max();
    e.transaction = {"3e11fa47-71ca-11e1-9e33-c80aa9429562:17", 0xFFFFFFFFu, true};
    e.source = {"binlog.000001", std::numeric_limits<std::uint64_t>::max(), "0-1-2", 0xFFFFFFFFu};
    e.commit_time = time_point{std::chrono::microseconds{-1}};
    e.capture_time = time_point{std::chrono::microseconds{std::numeric_limits<std::int64_t>::max()}};
    return e;
}

}  // namespace

// ---------------------------------------------------------------------------
// Round trips

TEST(BinaryCodec, SatisfiesViewCodec) {
    static_assert(view_codec<binary_codec>);
    EXPECT_EQ(binary_codec::name, "binary");
    EXPECT_EQ(binary_codec::content_type, "application/x-rowcast");
    binary_options o;
    EXPECT_EQ(o.max_event_size, 16u << 20);
    EXPECT_EQ(o.max_columns, 4096u);
}

TEST(BinaryCodec, SampleEventsRoundTrip) {
    binary_codec c;
    for (const event& e : {test::hosts_update(), test::small_insert(), test::wide_insert()}) {
        const std::string b = enc(c, e);
        event d;
        auto n = c.decode(b, d);
        ASSERT_TRUE(n) << n.error_value().message;
        EXPECT_EQ(*n, b.size());
        EXPECT_EQ(d, e);
        event_view v;
        ASSERT_TRUE(c.decode_view(b, v));
        EXPECT_EQ(v, to_view(e));
        EXPECT_EQ(to_owning(v), e);
        EXPECT_EQ(decode(c, b).value(), e);
    }
}

TEST(BinaryCodec, EveryValueKindAndFieldRoundTripsExactly) {
    binary_codec c;
    const event e = every_kind_event();
    std::vector<bool> seen(value_kind_count);
    for (const auto& v : e.before) seen[static_cast<std::size_t>(v.kind())] = true;
    for (bool s : seen) EXPECT_TRUE(s);
    const std::string b = enc(c, e);
    event d;
    auto n = c.decode(b, d);
    ASSERT_TRUE(n) << n.error_value().message;
    EXPECT_EQ(*n, b.size());
    EXPECT_EQ(d, e);
    EXPECT_EQ(*d.columns, *e.columns);
    // Float bits survive exactly (NaN payloads, -0.0).
    std::uint32_t fb;
    std::memcpy(&fb, &std::get<float>(d.before[4]), 4);
    EXPECT_EQ(fb, 0x7FC01234u);
    std::uint64_t db;
    std::memcpy(&db, &std::get<double>(d.after[5]), 8);
    EXPECT_EQ(db, 0xFFF8DEADBEEF0001ULL);
    EXPECT_TRUE(std::signbit(std::get<double>(d.before[5])));
    EXPECT_TRUE(d.before[0].is_absent());
    EXPECT_TRUE(d.before[1].is_null());
    EXPECT_EQ(std::get<bytes>(d.after[8]).data.size(), 1u << 20);

    event_view v;
    ASSERT_TRUE(c.decode_view(b, v));
    EXPECT_EQ(v, to_view(e));
    EXPECT_EQ(to_owning(v), e);
    // Views point into the input.
    const auto& t = std::get<text_view>(v.before[7]).utf8;
    EXPECT_GE(t.data(), b.data());
    EXPECT_LE(t.data() + t.size(), b.data() + b.size());
}

TEST(BinaryCodec, RandomEventsRoundTrip) {
    binary_codec c;
    std::size_t huge = 0;
    for (std::uint64_t seed = 0; seed < 2; ++seed) {
        test::random_options o;
        o.allow_huge = seed == 1;
        test::event_generator g(1000 + seed, o);
        const int count = seed == 1 ? 500 : 5000;
        for (int i = 0; i < count; ++i) {
            const event e = g.next();
            const std::string b = enc(c, e);
            if (b.size() > (1u << 20)) ++huge;
            event d;
            auto n = c.decode(b, d);
            ASSERT_TRUE(n) << "seed " << seed << " event " << i << ": " << n.error_value().message;
            ASSERT_EQ(*n, b.size());
            ASSERT_EQ(d, e) << "seed " << seed << " event " << i;
            event_view v;
            auto m = c.decode_view(b, v);
            ASSERT_TRUE(m) << m.error_value().message;
            ASSERT_EQ(*m, b.size());
            ASSERT_EQ(v, to_view(e));
            ASSERT_EQ(to_owning(v), e);
            std::string again;
            c.encode(v, again);
            ASSERT_EQ(again, b);
        }
    }
    EXPECT_GT(huge, 0u);
}

TEST(BinaryCodec, DecodeReusesTheSameEvent) {
    binary_codec c;
    test::event_generator g(7);
    event into;
    event_view view;
    for (int i = 0; i < 500; ++i) {
        const event e = g.next();
        const std::string b = enc(c, e);
        ASSERT_TRUE(c.decode(b, into));
        ASSERT_EQ(into, e);
        ASSERT_TRUE(c.decode_view(b, view));
        ASSERT_EQ(to_owning(view), e);
    }
}

TEST(BinaryCodec, ConcatenatedEventsDecodeInSequence) {
    binary_codec c;
    test::event_generator g(42);
    std::vector<event> events;
    std::string buf;
    for (int i = 0; i < 60; ++i) {
        events.push_back(i % 3 == 0 ? test::hosts_update() : g.next());
        c.encode(events.back(), buf);  // appends
    }
    std::string_view in = buf;
    event e;
    event_view v;
    for (const auto& want : events) {
        auto n = c.decode(in, e);
        ASSERT_TRUE(n) << n.error_value().message;
        EXPECT_EQ(e, want);
        auto m = c.decode_view(in, v);
        ASSERT_TRUE(m);
        EXPECT_EQ(*m, *n);
        EXPECT_EQ(to_owning(v), want);
        auto p = c.peek_size(in);
        ASSERT_TRUE(p);
        EXPECT_EQ(*p, *n);
        in.remove_prefix(*n);
    }
    EXPECT_TRUE(in.empty());
}

TEST(BinaryCodec, TrailingPartialEventIsTruncated) {
    binary_codec c;
    std::string buf = enc(c, test::small_insert());
    const std::size_t first = buf.size();
    const std::string second = enc(c, test::hosts_update());
    buf += second.substr(0, second.size() / 2);
    event e;
    auto n = c.decode(buf, e);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, first);
    expect_error(c.decode(std::string_view(buf).substr(first), e), errc::truncated, "bytes available");
    // The concept's decode() of exactly one event reports what follows.
    auto one = decode(c, buf);
    ASSERT_FALSE(one);
    EXPECT_EQ(one.error_value().code, make_error_code(errc::trailing_data));
}

// ---------------------------------------------------------------------------
// Column lists

TEST(BinaryCodec, ColumnListsAreShared) {
    binary_codec c;
    event a = test::hosts_update();
    event b = test::hosts_update();
    b.columns = make_columns(a.columns->columns);  // a different pointer with the same content
    std::get<std::uint64_t>(b.after[0]) = 43;
    const std::string ea = enc(c, a), eb = enc(c, b);
    event da, db;
    ASSERT_TRUE(c.decode(ea, da));
    ASSERT_TRUE(c.decode(eb, db));
    EXPECT_EQ(da.columns, db.columns);  // same pointer
    event_view v;
    ASSERT_TRUE(c.decode_view(eb, v));
    EXPECT_EQ(v.columns, da.columns);
    EXPECT_EQ(c.cached_column_lists(), 1u);

    event other;
    ASSERT_TRUE(c.decode(enc(c, test::small_insert()), other));
    EXPECT_NE(other.columns, da.columns);
    EXPECT_EQ(c.cached_column_lists(), 2u);
    event again;
    ASSERT_TRUE(c.decode(ea, again));
    EXPECT_EQ(again.columns, da.columns);
}

TEST(BinaryCodec, ColumnCacheIsBoundedAndCanBeDisabled) {
    binary_options o;
    o.schema_cache_size = 2;
    binary_codec c(o);
    test::event_generator g(3);
    for (int i = 0; i < 50; ++i) {
        event e = g.next();
        event d;
        ASSERT_TRUE(c.decode(enc(c, e), d));
        EXPECT_EQ(d, e);
        EXPECT_LE(c.cached_column_lists(), 2u);
    }
    o.schema_cache_size = 0;
    binary_codec none(o);
    const std::string b = enc(none, test::hosts_update());
    event x, y;
    ASSERT_TRUE(none.decode(b, x));
    ASSERT_TRUE(none.decode(b, y));
    EXPECT_NE(x.columns, y.columns);
    EXPECT_EQ(*x.columns, *y.columns);
    EXPECT_EQ(none.cached_column_lists(), 0u);
    c.clear_cache();
    EXPECT_EQ(c.cached_column_lists(), 0u);
}

TEST(BinaryCodec, EncodeCacheFollowsTheColumnList) {
    // A new list at a recycled address must not reuse the old list's encoding.
    binary_codec c;
    event e = test::small_insert();
    for (int i = 0; i < 20; ++i) {
        std::vector<column> cols = e.columns->columns;
        cols[1].name = "name" + std::to_string(i);
        e.columns = make_columns(std::move(cols));  // the previous list may be freed here
        event d;
        ASSERT_TRUE(c.decode(enc(c, e), d));
        ASSERT_EQ(d, e);
    }
}

TEST(BinaryCodec, NullAndEmptyColumnListsEncodeAlike) {
    binary_codec c;
    event e;
    e.kind = event_kind::commit;
    event f = e;
    f.columns = make_columns({});
    EXPECT_EQ(enc(c, e), enc(c, f));
    event d;
    ASSERT_TRUE(c.decode(enc(c, f), d));
    EXPECT_EQ(d, f);
    EXPECT_EQ(d.columns, nullptr);
}

// ---------------------------------------------------------------------------
// Allocation behaviour

TEST(BinaryCodec, DecodeViewDoesNotAllocateOnceWarm) {
    binary_codec c;
    const std::string b = enc(c, test::hosts_update());
    event_view v;
    ASSERT_TRUE(c.decode_view(b, v));
    alloc_scope s;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.decode_view(b, v));
    EXPECT_EQ(s.count(), 0u);
}

TEST(BinaryCodec, OwningDecodeReusesStorage) {
    binary_codec c;
    const std::string b = enc(c, test::hosts_update());
    event e;
    ASSERT_TRUE(c.decode(b, e));
    alloc_scope s;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(c.decode(b, e));
    EXPECT_EQ(s.count(), 0u);
}

TEST(BinaryCodec, EncodeIntoReservedStringDoesNotAllocate) {
    binary_codec c;
    const event e = test::hosts_update();
    std::string out;
    c.encode(e, out);
    out.reserve(out.size() * 4);
    alloc_scope s;
    for (int i = 0; i < 100; ++i) {
        out.clear();
        c.encode(e, out);
    }
    EXPECT_EQ(s.count(), 0u);
}

// ---------------------------------------------------------------------------
// Golden bytes: any format drift fails here. Update docs/binary-format.md with it.

TEST(BinaryCodec, GoldenSmallInsert) {
    binary_codec c;
    const std::string b = enc(c, test::small_insert());
    const std::string golden =
        "5243" "01" "00" "77000000"          // magic "RC", version 1, flags 0, length 119 (u32 LE)
        "00" "4d"                            // kind insert, sequence 77
        "0000000000000000"                   // commit time 0 (i64 LE)
        "0000000000000000"                   // capture time 0
        "04" "73686f70"                      // schema "shop"
        "05" "6974656d73"                    // table "items"
        "00"                                 // statement ""
        "0a" "302d3130312d35353638"          // transaction id "0-101-5568"
        "00" "01"                            // position 0, last
        "0d" "62696e6c6f672e303030303132"    // source file "binlog.000012"
        "e8fe02" "00" "65"                   // offset 49000, gtid "", server id 101
        "19" "04"                            // column block of 25 bytes: 4 columns
        "02" "6964" "04" "02"                //   "id" int, flags primary key
        "04" "6e616d65" "10" "08" "20"       //   "name" varchar, flags length; length 32
        "03" "717479" "04" "05"              //   "qty" int, flags unsigned|nullable
        "02" "6174" "0e" "04"                //   "at" timestamp, flags nullable
        "00"                                 // before image: 0 values
        "04"                                 // after image: 4 values
        "02" "0e"                            //   int64 7 (zigzag 14)
        "07" "06" "776964676574"             //   text "widget"
        "03" "03"                            //   uint64 3
        "0c" "80ad8620dd600600";             //   timestamp 1795352710000000 (i64 LE)
    EXPECT_EQ(hex(b), golden);
    event d;
    ASSERT_TRUE(c.decode(b, d));
    EXPECT_EQ(d, test::small_insert());
}

// source.row and source.thread: header flag 0x01 and two varints after the server id; a record
// without them keeps the original layout (flags 0), which older decoders read.
TEST(BinaryCodec, SourceRowAndThreadUseHeaderFlag) {
    binary_codec c;
    event ev = test::small_insert();
    ev.source.row = 1;
    ev.source.thread = 300;
    const std::string b = enc(c, ev);
    EXPECT_EQ(static_cast<unsigned char>(b[3]), 0x01);
    const std::string plain = enc(c, test::small_insert());
    ASSERT_EQ(b.size(), plain.size() + 3);  // varints 01 and ac 02
    EXPECT_EQ(b.substr(0, 3), plain.substr(0, 3));  // magic and version 1 unchanged
    const std::size_t at = plain.find("\x19\x04");  // the column block follows the server id
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(hex(b.substr(at, 3)), "01ac02");
    event d;
    ASSERT_TRUE(c.decode(b, d));
    EXPECT_EQ(d.source.row, 1u);
    EXPECT_EQ(d.source.thread, 300u);
    EXPECT_EQ(d, ev);
    event_view v;
    ASSERT_TRUE(c.decode_view(b, v));
    EXPECT_EQ(to_owning(v), ev);
    std::string zeros = b;  // the flag with both 0: not the encoder's form
    zeros[at] = '\0';
    zeros[at + 1] = '\0';
    zeros.erase(at + 2, 1);
    zeros[4] = static_cast<char>(zeros[4] - 1);  // length
    expect_error(c.decode(zeros, d), errc::invalid_value, "source row and thread both 0");
    ASSERT_TRUE(c.decode(plain, d));  // the fields are reset by a record without them
    EXPECT_EQ(d.source.row, 0u);
    EXPECT_EQ(d.source.thread, 0u);
}

// transaction.xid: header flag 0x02 and a varint after the 0x01 fields; a record without it keeps
// flags 0 (a record written before the flag existed decodes unchanged, with xid 0).
TEST(BinaryCodec, TransactionXidUsesHeaderFlag) {
    binary_codec c;
    event ev = test::small_insert();
    ev.transaction.xid = 300;
    const std::string b = enc(c, ev);
    EXPECT_EQ(static_cast<unsigned char>(b[3]), 0x02);
    const std::string plain = enc(c, test::small_insert());
    EXPECT_EQ(static_cast<unsigned char>(plain[3]), 0x00);
    ASSERT_EQ(b.size(), plain.size() + 2);  // varint ac 02
    const std::size_t at = plain.find("\x19\x04");  // the column block follows the server id
    ASSERT_NE(at, std::string::npos);
    EXPECT_EQ(hex(b.substr(at, 2)), "ac02");
    event d;
    for (bool view : {false, true}) {  // decode and decode_view
        event_view v;
        ASSERT_TRUE(view ? c.decode_view(b, v).has_value() : c.decode(b, d).has_value());
        if (view) d = to_owning(v);
        EXPECT_EQ(d.transaction.xid, 300u);
        EXPECT_EQ(d, ev);
    }
    ev.source.row = 1;  // both flags: row and thread first, then the xid
    ev.source.thread = 300;
    const std::string both = enc(c, ev);
    EXPECT_EQ(static_cast<unsigned char>(both[3]), 0x03);
    EXPECT_EQ(hex(both.substr(at, 5)), "01ac02ac02");
    ASSERT_TRUE(c.decode(both, d));
    EXPECT_EQ(d, ev);
    std::string zero = b;  // the flag with xid 0: not the encoder's form
    zero[at] = '\0';
    zero.erase(at + 1, 1);
    zero[4] = static_cast<char>(zero[4] - 1);  // length
    expect_error(c.decode(zero, d), errc::invalid_value, "transaction xid 0");
    ASSERT_TRUE(c.decode(plain, d));  // reset by a record without it
    EXPECT_EQ(d.transaction.xid, 0u);
}

// ---------------------------------------------------------------------------
// Hostile input

TEST(BinaryCodec, EveryTruncationIsReportedAsTruncated) {
    binary_codec c;
    test::event_generator g(11);
    std::vector<std::string> encodings = {enc(c, test::small_insert()), enc(c, test::hosts_update()),
                                          enc(c, test::wide_insert())};
    for (int i = 0; i < 6; ++i) encodings.push_back(enc(c, g.next()));
    for (const auto& b : encodings) {
        for (std::size_t k = 0; k < b.size(); ++k) {
            const std::string_view cut = std::string_view(b).substr(0, k);
            event e;
            event_view v;
            auto r = c.decode(cut, e);
            ASSERT_FALSE(r) << "prefix " << k;
            ASSERT_EQ(r.error_value().code, make_error_code(errc::truncated)) << r.error_value().message;
            ASSERT_EQ(r.error_value().message.rfind("[rowcast.binary.truncated] at byte ", 0), 0u);
            auto rv = c.decode_view(cut, v);
            ASSERT_FALSE(rv);
            ASSERT_EQ(rv.error_value().code, make_error_code(errc::truncated));
        }
    }
}

TEST(BinaryCodec, TruncationInsideTheFrameNamesOffsetAndSizes) {
    // The frame's length fits the input, but a string inside claims more than is left.
    raw r = raw::head(3);
    r.b.resize(r.b.size() - 1);
    r.b.erase(1 + 1 + 16, 1);          // drop the empty schema length...
    r.b.insert(1 + 1 + 16, "\xAC\x02");  // ...for a schema of 300 bytes
    binary_codec c;
    event e;
    expect_error(c.decode(r.frame(), e), errc::truncated, "schema length 300 exceeds the");
    EXPECT_NE(c.decode(r.frame(), e).error_value().message.find("at byte 26:"), std::string::npos)
        << c.decode(r.frame(), e).error_value().message;
}

TEST(BinaryCodec, HandWrittenMinimalEventDecodes) {
    raw r = raw::head(4);  // commit
    r.varint(0).varint(0).varint(0);  // no columns, empty images
    binary_codec c;
    event e;
    auto n = c.decode(r.frame(), e);
    ASSERT_TRUE(n) << n.error_value().message;
    EXPECT_EQ(*n, head_end + 3);
    EXPECT_EQ(e.kind, event_kind::commit);
}

TEST(BinaryCodec, BadMagicAndVersion) {
    binary_codec c;
    std::string b = enc(c, test::small_insert());
    event e;
    std::string x = b;
    x[0] = '{';
    expect_error(c.decode(x, e), errc::bad_magic, "at byte 0");
    expect_error(c.decode("{\"kind\":1}", e), errc::bad_magic);
    expect_error(c.decode("X", e), errc::bad_magic);
    x = b;
    x[1] = 'D';
    expect_error(c.decode(x, e), errc::bad_magic);
    x = b;
    x[2] = 2;
    expect_error(c.decode(x, e), errc::unsupported_version, "at byte 2: format version 2");
    x = b;
    x[3] = 4;  // 0x01 (source row and thread follow) and 0x02 (transaction xid) are known; 0x04 is not
    expect_error(c.decode(x, e), errc::unsupported_version, "at byte 3");
    expect_error(c.decode("", e), errc::truncated, "at byte 0");
    expect_error(c.decode("RC", e), errc::truncated, "at byte 2");
    event_view v;
    expect_error(c.decode_view(std::string_view("RC\x09", 3), v), errc::unsupported_version);
}

TEST(BinaryCodec, OversizedLengthsAreLimitExceededWithoutAllocating) {
    binary_codec c;
    event e;
    // A schema claiming 2^40 bytes.
    raw r;
    r.u8(3).varint(0).le(0, 8).le(0, 8).varint(1ULL << 40);
    alloc_scope s;
    auto res = c.decode(r.frame(), e);
    expect_error(res, errc::limit_exceeded, "schema length 1099511627776 exceeds max_string_length");
    EXPECT_LT(s.bytes(), 4096u);

    // A column count of 2^32 and an image of 2^32 values.
    raw cols = raw::head(0);
    cols.varint(6).varint(1ULL << 32).bytes("abcde");
    alloc_scope s2;
    expect_error(c.decode(cols.frame(), e), errc::limit_exceeded, "column count 4294967296 exceeds max_columns 4096");
    raw img = raw::head(4);
    img.varint(0).varint(0xFFFFFFFFu).varint(0);
    expect_error(c.decode(img.frame(), e), errc::limit_exceeded, "before image size 4294967295 exceeds max_columns");
    EXPECT_LT(s2.bytes(), 8192u);

    // A header claiming 4 GiB - 1.
    std::string h = "RC";
    h += '\x01';
    h += '\0';
    h += "\xFF\xFF\xFF\xFF";
    expect_error(c.decode(h, e), errc::limit_exceeded, "at byte 4: event length 4294967295 exceeds max_event_size");

    // A varint over 64 bits and one not minimally encoded.
    raw over;
    over.u8(3).bytes("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F").le(0, 8).le(0, 8).varint(0);
    expect_error(c.decode(over.frame(), e), errc::invalid_value, "at byte 9: sequence varint overflows 64 bits");
    raw longv;
    longv.u8(3).bytes(std::string_view("\x80\x00", 2)).le(0, 8).le(0, 8);
    expect_error(c.decode(longv.frame(), e), errc::invalid_value, "not minimally encoded");
}

TEST(BinaryCodec, ConfiguredLimitsApply) {
    const std::string b = [] {
        binary_codec c;
        return enc(c, test::hosts_update());
    }();
    event e;
    {
        binary_codec c(binary_options{.max_event_size = 100});
        expect_error(c.decode(b, e), errc::limit_exceeded, "max_event_size 100");
    }
    {
        binary_codec c(binary_options{.max_columns = 7});
        expect_error(c.decode(b, e), errc::limit_exceeded, "max_columns 7");
    }
    {
        binary_codec c(binary_options{.max_string_length = 64});
        expect_error(c.decode(b, e), errc::limit_exceeded, "text length 200 exceeds max_string_length 64");
    }
    {
        event en = test::hosts_update();
        std::vector<column> cols = en.columns->columns;
        cols[1].type.members = {"a", "b", "c"};
        cols[2].type.members = {"d", "e"};
        en.columns = make_columns(cols);
        binary_codec w;
        const std::string m = enc(w, en);
        binary_codec c(binary_options{.max_members = 4});
        expect_error(c.decode(m, e), errc::limit_exceeded, "max_members 4");
        binary_codec ok(binary_options{.max_members = 5});
        EXPECT_TRUE(ok.decode(m, e));
    }
}

TEST(BinaryCodec, InvalidValuesAreRejected) {
    binary_codec c;
    event e;
    auto one_value = [](std::string_view payload) {
        raw r = raw::head(0);  // insert, 1 column
        raw block;
        block.varint(1).str("c").u8(0).varint(0);
        r.str(block.b).varint(0).varint(1).bytes(payload);
        return r.frame();
    };
    EXPECT_TRUE(c.decode(one_value(std::string("\x02\x03", 2)), e));  // int64 -2
    EXPECT_EQ(e.after[0], value{std::int64_t{-2}});
    expect_error(c.decode(one_value("\x13"), e), errc::invalid_value, "value kind 19");
    expect_error(c.decode(one_value(std::string("\x09\xE8\x07\x0D\x01", 5)), e), errc::invalid_value,
                 "date 2024-13-1 is out of range");
    expect_error(c.decode(one_value(std::string("\x0E\x00\x00", 3)), e), errc::invalid_value, "bit width 0");
    expect_error(c.decode(one_value(std::string("\x0E\x02\x04", 3)), e), errc::invalid_value, "wider than its 2 bits");
    expect_error(c.decode(one_value(std::string("\x0F\x80\x80\x04\x00", 5)), e), errc::invalid_value,
                 "enum index 65536");
    expect_error(c.decode(one_value(std::string("\x0B\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 9)), e), errc::invalid_value,
                 "datetime");
    // Values the encoder cannot represent validly are rejected on decode, not garbled.
    event bad = test::small_insert();
    bad.after[3] = datetime{{2024, 1, 1}, 24, 0, 0, 0};
    expect_error(c.decode(enc(c, bad), e), errc::invalid_value, "datetime is out of range");
    bad.after[3] = date{2024, 13, 1};
    expect_error(c.decode(enc(c, bad), e), errc::invalid_value, "date 2024-13-1");
    bad.after[3] = bit{8, 2};
    expect_error(c.decode(enc(c, bad), e), errc::invalid_value, "bit value 8");

    // Event-level checks.
    raw k = raw::head(7);
    k.varint(0).varint(0).varint(0);
    expect_error(c.decode(k.frame(), e), errc::invalid_value, "at byte 8: event kind 7");
    raw last = raw::head(4);
    last.b[1 + 1 + 16 + 3 + 2] = 2;  // transaction "last" byte
    last.varint(0).varint(0).varint(0);
    expect_error(c.decode(last.frame(), e), errc::invalid_value, "transaction last is 2");
    raw shape = raw::head(4);
    shape.varint(0).varint(1).u8(1).varint(0);  // a commit with a before image
    expect_error(c.decode(shape.frame(), e), errc::invalid_value, "before image has 1 values where 0 are expected");
    raw trailing = raw::head(4);
    trailing.varint(0).varint(0).varint(0).u8(0);
    expect_error(c.decode(trailing.frame(), e), errc::trailing_data, "1 bytes after the last field");
    raw zero_len = raw::head(4);
    expect_error(c.decode(zero_len.frame(static_cast<std::uint32_t>(-zero_len.b.size())), e), errc::invalid_value,
                 "event length 8");

    // Column block checks.
    auto with_block = [](const raw& block) {
        raw r = raw::head(4);
        r.str(block.b).varint(0).varint(0);
        return r.frame();
    };
    raw ty;
    ty.varint(1).str("c").u8(34).varint(0);
    expect_error(c.decode(with_block(ty), e), errc::invalid_value, "unknown column type 34");
    raw fl;
    fl.varint(1).str("c").u8(1).varint(1u << 9);
    expect_error(c.decode(with_block(fl), e), errc::invalid_value, "unknown column flags");
    raw empty_len;
    empty_len.varint(1).str("c").u8(1).varint(8).varint(0);
    expect_error(c.decode(with_block(empty_len), e), errc::invalid_value, "flagged present but empty");
    raw zero_cols;
    zero_cols.varint(0);
    expect_error(c.decode(with_block(zero_cols), e), errc::invalid_value, "0 columns");
    raw extra;
    extra.varint(1).str("c").u8(1).varint(0).u8(0);
    expect_error(c.decode(with_block(extra), e), errc::invalid_value, "1 bytes after the last column");
}

TEST(BinaryCodec, RandomBitFlipsNeverMisbehave) {
    binary_codec c;
    test::event_generator g(99);
    std::mt19937_64 rng(5);
    std::size_t ok = 0, failed = 0;
    for (int i = 0; i < 300; ++i) {
        const std::string b = enc(c, i % 10 == 0 ? test::hosts_update() : g.next());
        for (int j = 0; j < 20; ++j) {
            std::string x = b;
            const int flips = 1 + static_cast<int>(rng() % 3);
            for (int f = 0; f < flips; ++f) x[rng() % x.size()] ^= static_cast<char>(1u << (rng() % 8));
            check_both(c, x);
            event e;
            (c.decode(x, e) ? ok : failed)++;
        }
    }
    EXPECT_GT(failed, 0u);
    EXPECT_GT(ok, 0u);  // flips inside string payloads still decode
}

TEST(BinaryCodec, GarbageNeverMisbehaves) {
    binary_codec c;
    std::mt19937_64 rng(17);
    for (int i = 0; i < 5000; ++i) {
        std::string x(rng() % 200, '\0');
        for (auto& ch : x) ch = static_cast<char>(rng());
        if (i % 2 == 0 && x.size() >= 8) {  // a plausible header on random bytes
            x[0] = 'R';
            x[1] = 'C';
            x[2] = 1;
            x[3] = 0;
            const auto len = static_cast<std::uint32_t>(x.size() - rng() % 3);
            std::memcpy(&x[4], &len, 4);
        }
        check_both(c, x);
    }
}

TEST(BinaryCodec, PeekSize) {
    binary_codec c;
    const std::string b = enc(c, test::hosts_update());
    auto n = c.peek_size(std::string_view(b).substr(0, 8));
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, b.size());
    EXPECT_FALSE(c.peek_size(std::string_view(b).substr(0, 7)));
    EXPECT_FALSE(c.peek_size("nonsense"));
}
