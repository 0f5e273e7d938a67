// Text forms shared by the text codecs and components: temporal values, base64, UTF-8,
// hex digits and string escapes, decimals.
#include <rowcast/detail/text.hpp>

#include "support/random_event.hpp"

#include <gtest/gtest.h>

using namespace rowcast;
using namespace rowcast::detail;

namespace {
template <class T, class F>
std::string fmt(F f, const T& v) {
    std::string s;
    f(s, v);
    return s;
}
}  // namespace

TEST(Text, Date) {
    EXPECT_EQ(fmt(append_date, date{2010, 9, 9}), "2010-09-09");
    EXPECT_EQ(fmt(append_date, date{0, 0, 0}), "0000-00-00");
    date d;
    EXPECT_TRUE(parse_date("0000-00-00", d));
    EXPECT_EQ(d, (date{0, 0, 0}));
    EXPECT_TRUE(parse_date("2024-00-15", d));
    EXPECT_FALSE(parse_date("2024-13-01", d));
    EXPECT_FALSE(parse_date("2024-1-01", d));
    EXPECT_FALSE(parse_date("", d));
}

TEST(Text, DateTime) {
    datetime d{{2010, 9, 9}, 13, 0, 10, 5};
    EXPECT_EQ(fmt([](std::string& s, const datetime& x) { append_datetime(s, x); }, d), "2010-09-09T13:00:10.000005");
    datetime p;
    ASSERT_TRUE(parse_datetime("2010-09-09 13:00:10", p));
    EXPECT_EQ(p, (datetime{{2010, 9, 9}, 13, 0, 10, 0}));
    ASSERT_TRUE(parse_datetime("2010-09-09T13:00:10.5", p));
    EXPECT_EQ(p.microsecond, 500000u);
    ASSERT_TRUE(parse_datetime("0000-00-00 00:00:00", p));
    EXPECT_FALSE(parse_datetime("2010-09-09T24:00:00", p));
    EXPECT_FALSE(parse_datetime("2010-09-09T13:00:10.1234567", p));
    EXPECT_FALSE(parse_datetime("2010-09-09T13:00:10.", p));
    EXPECT_FALSE(parse_datetime("2010-09-09X13:00:10", p));
}

TEST(Text, Time) {
    EXPECT_EQ(fmt(append_time, rowcast::time{0}), "00:00:00.000000");
    EXPECT_EQ(fmt(append_time, rowcast::time{-(838LL * 3600 + 59 * 60 + 59) * 1000000}), "-838:59:59.000000");
    EXPECT_EQ(fmt(append_time, rowcast::time{-1}), "-00:00:00.000001");
    rowcast::time t;
    ASSERT_TRUE(parse_time("-838:59:59.000000", t));
    EXPECT_EQ(t.microseconds, -(838LL * 3600 + 59 * 60 + 59) * 1000000);
    ASSERT_TRUE(parse_time("25:00:00", t));
    EXPECT_EQ(t.microseconds, 25LL * 3600 * 1000000);
    EXPECT_FALSE(parse_time("12:60:00", t));
    EXPECT_FALSE(parse_time(":00:00", t));
    EXPECT_FALSE(parse_time("1:00", t));
}

TEST(Text, Timestamp) {
    EXPECT_EQ(fmt(append_timestamp, timestamp{0}), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(fmt(append_timestamp, timestamp{-1}), "1969-12-31T23:59:59.999999Z");
    EXPECT_EQ(fmt(append_timestamp, timestamp{2147483647LL * 1000000}), "2038-01-19T03:14:07.000000Z");
    timestamp t;
    ASSERT_TRUE(parse_timestamp("2038-01-19T03:14:07Z", t));
    EXPECT_EQ(t.microseconds, 2147483647LL * 1000000);
    ASSERT_TRUE(parse_timestamp("0000-00-00 00:00:00", t));
    EXPECT_EQ(t.microseconds, 0);
    ASSERT_TRUE(parse_timestamp("1970-01-01 00:00:01+00:00", t));
    EXPECT_EQ(t.microseconds, 1000000);
    EXPECT_FALSE(parse_timestamp("2020-00-01T00:00:00Z", t));
}

TEST(Text, TemporalRoundTripProperty) {
    test::event_generator gen(3);
    for (int i = 0; i < 20000; ++i) {
        timestamp t{gen.timestamp_us()};
        std::string s;
        append_timestamp(s, t);
        timestamp back;
        ASSERT_TRUE(parse_timestamp(s, back)) << s;
        ASSERT_EQ(back, t) << s;
        rowcast::time tm{gen.pick(-3020399999999, 3020399999999)};
        s.clear();
        append_time(s, tm);
        rowcast::time tb;
        ASSERT_TRUE(parse_time(s, tb)) << s;
        ASSERT_EQ(tb, tm);
    }
}

TEST(Text, Base64) {
    for (std::string in : {std::string(""), std::string("f"), std::string("fo"), std::string("foo"),
                           std::string("foob"), std::string("\0\xff\x10", 3)}) {
        std::string enc;
        append_base64(enc, in);
        std::string dec;
        ASSERT_TRUE(decode_base64(enc, dec)) << enc;
        EXPECT_EQ(dec, in);
    }
    std::string e;
    append_base64(e, "foobar");
    EXPECT_EQ(e, "Zm9vYmFy");
    std::string d;
    EXPECT_FALSE(decode_base64("Zm9", d));
    EXPECT_FALSE(decode_base64("Zm=v", d));
    EXPECT_FALSE(decode_base64("Z!9v", d));
}

TEST(Text, Utf8) {
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("plain ascii text long enough for the fast path"));
    EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80 \xE6\x97\xA5"));
    EXPECT_FALSE(valid_utf8("\xC3\x28"));
    EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong
    EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
    EXPECT_FALSE(valid_utf8("abc\xE6\x97"));       // truncated
}

TEST(Text, Utf8EncodeAndSequences) {
    std::string s;
    for (std::uint32_t cp : {0x24u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xFFFFu, 0x10000u, 0x10FFFFu}) append_utf8(s, cp);
    EXPECT_EQ(s, "\x24\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF");
    EXPECT_TRUE(valid_utf8(s));
    auto seq = [](std::string_view t) {
        const auto* p = reinterpret_cast<const unsigned char*>(t.data());
        return utf8_seq(p, p + t.size());
    };
    EXPECT_EQ(seq("\xC2\x80"), 2u);
    EXPECT_EQ(seq("\xE6\x97\xA5x"), 3u);
    EXPECT_EQ(seq("\xF0\x9F\x98\x80"), 4u);
    EXPECT_EQ(seq("\xC0\xAF"), 0u);      // overlong
    EXPECT_EQ(seq("\xED\xA0\x80"), 0u);  // surrogate
    EXPECT_EQ(seq("\xE6\x97"), 0u);      // truncated
    EXPECT_EQ(seq("\x80"), 0u);          // continuation byte
}

TEST(Text, HexAndEscapes) {
    EXPECT_EQ(hex_byte(0x0a), "0a");
    EXPECT_EQ(hex_byte(0xff), "ff");
    EXPECT_EQ(std::string_view(hex_upper, 16), "0123456789ABCDEF");
    EXPECT_EQ(short_escape('"'), '"');
    EXPECT_EQ(short_escape('\\'), '\\');
    EXPECT_EQ(short_escape('\n'), 'n');
    EXPECT_EQ(short_escape('\b'), 'b');
    EXPECT_EQ(short_escape('\b', false), 0);  // YAML writes \x08
    EXPECT_EQ(short_escape('a'), 0);
    std::string out;
    for (unsigned char c : {'"', '\\', '\b', '\f', '\n', '\r', '\t', '\0', '\x1f'}) append_json_escape(out, c);
    EXPECT_EQ(out, R"(\"\\\b\f\n\r\t\u0000\u001f)");
}

TEST(Text, Decimal) {
    EXPECT_TRUE(valid_decimal("0"));
    EXPECT_TRUE(valid_decimal("-12.340"));
    EXPECT_TRUE(valid_decimal(".5"));
    EXPECT_FALSE(valid_decimal(""));
    EXPECT_FALSE(valid_decimal("-"));
    EXPECT_FALSE(valid_decimal("1e5"));
    EXPECT_FALSE(valid_decimal("1.2.3"));
}
