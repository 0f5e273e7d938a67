// Tests of rowcast::yaml_codec: round trips, golden texts, hostile strings,
// document streams, the legacy tmod form, and bad input.
#include <rowcast/codec/yaml.hpp>

#include "support/code_points.hpp"
#include "support/random_event.hpp"
#include "support/sample_events.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <limits>
#include <string>

using namespace rowcast;

namespace {

event roundtrip(const event& e, std::string* text = nullptr) {
    yaml_codec c;
    std::string out;
    c.encode(e, out);
    if (text) *text = out;
    auto r = rowcast::decode(c, out);
    if (!r) ADD_FAILURE() << r.error_value().message << "\n" << out;
    return r ? *r : event{};
}

event one_column(value v, column_type t = {.type = sql_type::varchar}, event_kind k = event_kind::insert) {
    event e;
    e.kind = k;
    e.schema = "s";
    e.table = "t";
    e.columns = make_columns({{"c", t, false, true}});
    if (k != event_kind::delete_) e.after = {v};
    if (k != event_kind::insert) e.before = {v};
    return e;
}

std::string error_of(std::string_view in, yaml_options o = {}) {
    yaml_codec c(o);
    event e;
    auto r = c.decode(in, e);
    if (r) return "OK";
    return r.error_value().message;
}

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// Structural equality of two yaml-cpp trees (yaml-cpp is independent of rowcast's emitter): node
// types, scalar texts, tags ("?" plain, "!" quoted), sequence items and mapping keys in order.
::testing::AssertionResult same_tree(const YAML::Node& a, const YAML::Node& b, const std::string& path = "$") {
    if (a.Type() != b.Type()) return ::testing::AssertionFailure() << path << ": node types differ";
    if (a.IsScalar() && (a.Scalar() != b.Scalar() || a.Tag() != b.Tag()))
        return ::testing::AssertionFailure() << path << ": '" << a.Scalar() << "' (tag " << a.Tag() << ") vs '"
                                             << b.Scalar() << "' (tag " << b.Tag() << ")";
    if (a.IsSequence() || a.IsMap()) {
        if (a.size() != b.size()) return ::testing::AssertionFailure() << path << ": sizes differ";
        auto i = a.begin();
        auto j = b.begin();
        for (std::size_t k = 0; i != a.end(); ++i, ++j, ++k) {
            if (a.IsSequence()) {
                if (auto r = same_tree(*i, *j, path + "[" + std::to_string(k) + "]"); !r) return r;
                continue;
            }
            if (i->first.Scalar() != j->first.Scalar())
                return ::testing::AssertionFailure() << path << ": key '" << i->first.Scalar() << "' vs '"
                                                     << j->first.Scalar() << "'";
            if (auto r = same_tree(i->second, j->second, path + "." + i->first.Scalar()); !r) return r;
        }
    }
    return ::testing::AssertionSuccess();
}

}  // namespace

TEST(Yaml, ConceptAndNames) {
    static_assert(event_codec<yaml_codec>);
    EXPECT_EQ(yaml_codec::name, "yaml");
    EXPECT_EQ(yaml_codec::content_type, "application/yaml");
}

TEST(Yaml, RandomRoundTrips) {
    test::event_generator gen(20240611);
    yaml_codec c;
    std::string buf;
    for (int i = 0; i < 3500; ++i) {
        const event e = gen.next();
        buf.clear();
        c.encode(e, buf);
        ASSERT_TRUE(detail::valid_utf8(buf)) << buf;
        event d;
        auto r = c.decode(buf, d);
        ASSERT_TRUE(r) << r.error_value().message << "\n" << buf;
        ASSERT_EQ(*r, buf.size());
        ASSERT_TRUE(d == e) << "event " << i << "\n" << buf;
        // Every document is also plain YAML for a generic reader.
        ASSERT_NO_THROW(YAML::Load(buf));
    }
}

TEST(Yaml, RandomStreamOfDocuments) {
    test::event_generator gen(7);
    yaml_codec c;
    std::string buf;
    std::vector<event> events;
    for (int i = 0; i < 200; ++i) {
        events.push_back(gen.next());
        c.encode(events.back(), buf);
    }
    std::string_view rest = buf;
    for (const auto& want : events) {
        event d;
        auto r = c.decode(rest, d);
        ASSERT_TRUE(r) << r.error_value().message;
        EXPECT_TRUE(d == want);
        rest.remove_prefix(*r);
    }
    EXPECT_TRUE(rest.empty());
}

// The golden documents are written by hand from docs/yaml.md (its example is hosts_update()), and
// compared both structurally after yaml-cpp reads them and byte for byte (the layout is documented).
TEST(Yaml, GoldenHostsUpdate) {
    std::string text;
    EXPECT_TRUE(roundtrip(test::hosts_update(), &text) == test::hosts_update());
    const std::string d(200, 'd');
    const std::string want = "---\n"
                             "schema: inventory\n"
                             "table: hosts\n"
                             "timestamp: \"2026-11-22 13:05:10\"\n"
                             "operation: update\n"
                             "primary: id\n"
                             "keys:\n  - id\n"
                             "columns:\n  - id\n  - hostname\n  - ip\n  - mac\n  - modified\n  - price\n  - note\n"
                             "  - description\n"
                             "new:\n"
                             "  id: 42\n"
                             "  hostname: www.example.com\n"
                             "  ip: \"192.0.2.11\"\n"
                             "  mac: \"00:00:5e:00:53:01\"\n"
                             "  modified: \"2026-11-22T13:05:00.654321\"\n"
                             "  price: \"1234.5000\"\n"
                             "  note: null\n"
                             "  description: " + d + "\n"
                             "old:\n"
                             "  id: 42\n"
                             "  hostname: www.example.com\n"
                             "  ip: \"192.0.2.10\"\n"
                             "  mac: \"00:00:5e:00:53:01\"\n"
                             "  modified: \"2026-11-22T13:00:10.123456\"\n"
                             "  price: \"1234.5000\"\n"
                             "  note: null\n"
                             "  description: " + d + "\n"
                             "rowcast:\n"
                             "  version: 1\n"
                             "  sequence: 1000042\n"
                             "  transaction:\n    id: \"0-101-5567\"\n    position: 3\n    last: true\n"
                             "  source:\n    file: binlog.000012\n    offset: 48213\n    gtid: \"0-101-5567\"\n"
                             "    server_id: 101\n"
                             "  commit_time: \"2026-11-22T13:05:10.000000Z\"\n"
                             "  capture_time: \"2026-11-22T13:05:10.012345Z\"\n"
                             "  types:\n"
                             "    - type: bigint\n      unsigned: true\n      nullable: false\n"
                             "    - type: varchar\n      length: 255\n      charset: utf8mb4\n      nullable: false\n"
                             "    - type: varchar\n      length: 45\n      charset: ascii\n"
                             "    - type: char\n      length: 17\n      charset: ascii\n"
                             "    - type: datetime\n      fsp: 6\n      nullable: false\n"
                             "    - type: decimal\n      precision: 12\n      scale: 4\n"
                             "    - type: varchar\n      length: 64\n      charset: utf8mb4\n"
                             "    - type: text\n      charset: utf8mb4\n"
                             "...\n";
    EXPECT_TRUE(same_tree(YAML::Load(text), YAML::Load(want)));
    EXPECT_EQ(text, want);
}

TEST(Yaml, GoldenSmallInsert) {
    std::string text;
    EXPECT_TRUE(roundtrip(test::small_insert(), &text) == test::small_insert());
    const std::string want =
              "---\n"
              "schema: shop\n"
              "table: items\n"
              "operation: insert\n"
              "primary: id\n"
              "keys:\n  - id\n"
              "columns:\n  - id\n  - name\n  - qty\n  - at\n"
              "new:\n"
              "  id: 7\n"
              "  name: widget\n"
              "  qty: 3\n"
              "  at: \"2026-11-22T13:05:10.000000Z\"\n"
              "rowcast:\n"
              "  version: 1\n"
              "  sequence: 77\n"
              "  transaction:\n    id: \"0-101-5568\"\n    last: true\n"
              "  source:\n    file: binlog.000012\n    offset: 49000\n    server_id: 101\n"
              "  types:\n"
              "    - type: int\n      nullable: false\n"
              "    - type: varchar\n      length: 32\n      nullable: false\n"
              "    - type: int\n      unsigned: true\n"
              "    - type: timestamp\n"
              "...\n";
    EXPECT_TRUE(same_tree(YAML::Load(text), YAML::Load(want)));
    EXPECT_EQ(text, want);
}

TEST(Yaml, WideInsertRoundTrip) { EXPECT_TRUE(roundtrip(test::wide_insert()) == test::wide_insert()); }

TEST(Yaml, LegacyTmodInsert) {
    yaml_codec c;
    event e;
    const std::string_view msg = test::tmod_message;
    auto r = c.decode(msg, e);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(*r, msg.size());
    EXPECT_EQ(e.kind, event_kind::insert);
    ASSERT_EQ(e.column_count(), 4u);
    const char* names[] = {"id", "mac", "ip", "host"};
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ((*e.columns)[i].name, names[i]);
        EXPECT_EQ((*e.columns)[i].type.type, sql_type::unknown);
    }
    ASSERT_EQ(e.after.size(), 4u);
    EXPECT_TRUE(e.before.empty());
    EXPECT_EQ(e.after[0], value{text{"3"}});
    EXPECT_EQ(e.after[1], value{text{"00:00:00:01:02:03"}});
    EXPECT_EQ(e.after[2], value{null_value{}});  // "ip:" with nothing: NULL
    EXPECT_EQ(e.after[3], value{text{"www"}});
    // What the legacy message decodes to survives the full format.
    EXPECT_TRUE(roundtrip(e) == e);
}

TEST(Yaml, LegacyTmodUpdateAndDelete) {
    yaml_codec c;
    event e;
    ASSERT_TRUE(c.decode("---\nop: upd\nid: 3\nhost: 'a: b'\n", e));
    EXPECT_EQ(e.kind, event_kind::update);
    ASSERT_EQ(e.after.size(), 2u);
    EXPECT_EQ(e.after[1], value{text{"a: b"}});
    ASSERT_EQ(e.before.size(), 2u);
    EXPECT_TRUE(e.before[0].is_absent() && e.before[1].is_absent());

    ASSERT_TRUE(c.decode("---\nop: del\nid: 0x1F\nv: 1e3\n", e));
    EXPECT_EQ(e.kind, event_kind::delete_);
    EXPECT_TRUE(e.after.empty());
    ASSERT_EQ(e.before.size(), 2u);
    EXPECT_EQ(e.before[0], value{text{"0x1F"}});
    EXPECT_EQ(e.before[1], value{text{"1e3"}});

    EXPECT_TRUE(starts_with(error_of("---\nop: frob\nid: 1\n"), "[rowcast.yaml.invalid_value] at op: "));
    EXPECT_TRUE(starts_with(error_of("---\nop: ins\nid: [1]\n"), "[rowcast.yaml.type_mismatch] at id: "));
    EXPECT_TRUE(starts_with(error_of("---\nop: ins\nid: 1\nid: 2\n"), "[rowcast.yaml.invalid_value] at id: "));
}

TEST(Yaml, HostileStrings) {
    const std::string strings[] = {
        "", " ", "null", "Null", "NULL", "~", "true", "False", "yes", "no", "on", "off", "Y", "n", "0x1F", "1e3",
        "0o17", "012", "-1", "+1", ".5", "1_000", ".inf", "-.inf", ".nan", "nan", "inf", "Infinity", " lead",
        "trail ", "a: b", "a:b", "- x", "-", "--- x", "---", "...", "# c", "a #c", "a#c", ":", "[x]", "{a: 1}",
        "&a", "*a", "!tag", "|", ">", "%", "@x", "`x", "\"q\"", "'s'", "?", "? x", ",", "multi\nline",
        "cr\rlf\r\n", "tab\there", std::string("nul\0in", 6), std::string(1, '\0'), "\x01\x1f\x7f",
        "4-byte \xF0\x9F\x98\x80", "\xE6\x97\xA5\xE6\x9C\xAC", "nel \xC2\x85 c1 \xC2\x9F", "ls \xE2\x80\xA8 ps \xE2\x80\xA9",
        "bom \xEF\xBB\xBF", "\xEF\xBF\xBE\xEF\xBF\xBF", "back\\slash", "  ", "a  b", "2024-01-01", "12:30:00",
        "00:00:00:01:02:03", "<<", "=", "a,b", "é", "\xC2\xA0nbsp"};
    for (const auto& s : strings) {
        for (sql_type t : {sql_type::varchar, sql_type::unknown}) {
            const event e = one_column(text{s}, {.type = t}, event_kind::update);
            std::string out;
            const event d = roundtrip(e, &out);
            EXPECT_TRUE(d == e) << "string [" << s << "]\n" << out;
            EXPECT_TRUE(detail::valid_utf8(out));
            // A generic YAML reader sees the same string.
            const YAML::Node n = YAML::Load(out);
            EXPECT_EQ(n["new"]["c"].as<std::string>(), s) << out;
            EXPECT_EQ(n["new"]["c"].Tag() == "?", detail::yaml_plain_ok(s));
        }
        // Also as names: column, schema, table, statement.
        event e = one_column(text{"v"});
        e.schema = s;
        e.table = s;
        e.statement = s;
        e.columns = make_columns({{s.empty() ? std::string("x") : s, {}, false, true}});
        EXPECT_TRUE(roundtrip(e) == e) << "name [" << s << "]";
    }
    // Plain where it is safe.
    std::string out;
    roundtrip(one_column(text{"www.example.com"}), &out);
    EXPECT_NE(out.find("  c: www.example.com\n"), std::string::npos);
}

// docs/yaml.md: words that YAML 1.1 or 1.2 resolve to null, booleans or special floats (any case), and
// numbers, are never written plain (a generic reader would not see a string). The expectation is this
// list, not the emitter's own yaml_plain_ok.
TEST(Yaml, ResolvableWordsAndNumbersAreQuoted) {
    const char* words[] = {"null", "Null", "NULL", "nUlL", "~", "true", "True", "TRUE", "false", "False", "FALSE",
                           "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y",
                           "n", "N", "nan", "NaN", "NAN", "inf", "Inf", "INF", "infinity", "Infinity", "INFINITY",
                           ".nan", ".NaN", ".inf", "-.inf", "+.inf", "0", "-1", "+1", "1.5", "1e3", "0x1F", "0o17",
                           "012", "1_000", "1:30", "2024-01-01"};
    for (const char* w : words) {
        std::string out;
        roundtrip(one_column(text{w}), &out);
        const YAML::Node n = YAML::Load(out);
        EXPECT_EQ(n["new"]["c"].Tag(), "!") << w << " is written plain:\n" << out;
        EXPECT_EQ(n["new"]["c"].as<std::string>(), w);
    }
    for (const char* plain : {"nulls", "yesterday", "noon", "offset", "infinite", "www.example.com", "x"}) {
        std::string out;
        roundtrip(one_column(text{plain}), &out);
        EXPECT_NE(out.find(std::string("  c: ") + plain + "\n"), std::string::npos) << out;
    }
}

TEST(Yaml, LongColumnNames) {
    for (std::size_t n : {1000u, 1100u, 5000u}) {
        event e = one_column(bytes{"ab"}, {.type = sql_type::blob}, event_kind::update);
        e.columns = make_columns({{std::string(n, 'k'), {.type = sql_type::blob}, false, true},
                                  {std::string(n / 4, '\x05'), {}, false, true}});
        e.before = {bytes{"ab"}, text{"x"}};
        e.after = {bytes{"cd"}, std::int64_t{5}};
        EXPECT_TRUE(roundtrip(e) == e) << n;
    }
}

TEST(Yaml, EscapesAreExact) {
    std::string out;
    roundtrip(one_column(text{std::string("a\0b\n\t\"\\\x7f\xC2\x85", 10)}), &out);
    EXPECT_NE(out.find("  c: \"a\\x00b\\n\\t\\\"\\\\\\x7F\\u0085\"\n"), std::string::npos) << out;
}

TEST(Yaml, InvalidUtf8) {
    const std::string bad = "invalid \xC3\x28 utf8 \xFF";
    std::string out;
    const event e = one_column(text{bad});
    EXPECT_TRUE(roundtrip(e, &out) == e);
    EXPECT_TRUE(detail::valid_utf8(out));
    EXPECT_NE(out.find("$type: text\n    base64: "), std::string::npos) << out;
    event s = one_column(text{"x"});
    s.statement = bad;
    EXPECT_TRUE(roundtrip(s, &out) == s);
    EXPECT_TRUE(detail::valid_utf8(out));
    // Names are metadata: invalid bytes become U+FFFD (lossy by design).
    event n = one_column(text{"x"});
    n.schema = "sch\xFF";
    const event d = roundtrip(n, &out);
    EXPECT_EQ(d.schema, "sch\xEF\xBF\xBD");
}

TEST(Yaml, NumbersExact) {
    const value vals[] = {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                          std::numeric_limits<std::uint64_t>::max(), std::uint64_t{0}};
    for (const auto& v : vals) {
        const bool u = v.kind() == value_kind::uint64;
        EXPECT_TRUE(roundtrip(one_column(v, {sql_type::bigint, u})) == one_column(v, {sql_type::bigint, u}));
        EXPECT_TRUE(roundtrip(one_column(v)) == one_column(v));  // tagged in a text column
    }
    const double ds[] = {-0.0, 0.0, 1.0, 0.1, 5e-324, std::numeric_limits<double>::max(), 1e300, -2.5e-300,
                         std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                         std::numeric_limits<double>::quiet_NaN()};
    for (double d : ds) {
        const event e = one_column(d, {sql_type::double_});
        std::string out;
        EXPECT_TRUE(roundtrip(e, &out) == e) << out;
        const event f = one_column(static_cast<float>(d), {sql_type::float_});
        EXPECT_TRUE(roundtrip(f, &out) == f) << out;
        const event g = one_column(d, {sql_type::unknown});
        EXPECT_TRUE(roundtrip(g, &out) == g) << out;
    }
    std::string out;
    roundtrip(one_column(-0.0, {sql_type::double_}), &out);
    EXPECT_NE(out.find("  c: -0.0\n"), std::string::npos);
    roundtrip(one_column(std::numeric_limits<double>::quiet_NaN(), {sql_type::double_}), &out);
    EXPECT_NE(out.find("  c: \"NaN\"\n"), std::string::npos);
}

TEST(Yaml, EveryKindTaggedAndNatural) {
    test::event_generator gen(99);
    for (std::size_t t = 0; t < sql_type_count; ++t) {
        column_type ct;
        ct.type = static_cast<sql_type>(t);
        ct.length = 5;
        ct.members = {"a", "b", "c"};
        for (int i = 0; i < 20; ++i) {
            const value v = gen.value_for(ct);
            const event e = one_column(v, ct, event_kind::update);
            EXPECT_TRUE(roundtrip(e) == e);
            const event mismatch = one_column(v, {.type = sql_type::unknown});  // tagged
            EXPECT_TRUE(roundtrip(mismatch) == mismatch);
        }
    }
    // Values a natural form cannot hold exactly are tagged.
    const column_type en{.type = sql_type::enum_, .members = {"a", "b"}};
    for (const value& v : {value{enum_value{"b", 1}}, value{enum_value{"zz", 0}}, value{set_value{"a", 3}},
                           value{bit{5, 7}}, value{decimal{"abc"}}, value{timestamp{std::numeric_limits<std::int64_t>::max()}},
                           value{rowcast::time{std::numeric_limits<std::int64_t>::min()}}}) {
        const event e = one_column(v, en);
        EXPECT_TRUE(roundtrip(e) == e);
    }
}

TEST(Yaml, SeveralDocumentsAndMarkers) {
    yaml_codec c;
    std::string buf = "# a comment\n\n";
    c.encode(test::small_insert(), buf);
    ASSERT_TRUE(buf.ends_with("\n...\n"));  // rowcast writes the document end marker
    buf += "\n# between\n";
    c.encode(test::hosts_update(), buf);
    buf += "\n\n";
    event e;
    std::string_view rest = buf;
    auto r = c.decode(rest, e);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(e == test::small_insert());
    rest.remove_prefix(*r);
    ASSERT_TRUE(rest.starts_with("# between\n---\n"));
    r = c.decode(rest, e);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(e == test::hosts_update());
    EXPECT_EQ(*r, rest.size());
    // Legacy messages back to back.
    std::string two = std::string(test::tmod_message) + test::tmod_message;
    r = c.decode(two, e);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, std::string_view(test::tmod_message).size());
    // Without its "..." line a rowcast document is refused (it may be a cut file); a legacy one is not.
    std::string open = buf.substr(0, buf.find("...\n"));
    EXPECT_TRUE(starts_with(error_of(open), "[rowcast.yaml.truncated] at byte ")) << error_of(open);
    EXPECT_TRUE(starts_with(error_of(open + "---\n"), "[rowcast.yaml.truncated]"));
    EXPECT_EQ(error_of(open + "..."), "OK");  // the marker is the last line: nothing is missing
    EXPECT_EQ(error_of(test::tmod_message), "OK");
    // Nothing left: truncated.
    EXPECT_TRUE(starts_with(error_of("\n  \n# only a comment\n"), "[rowcast.yaml.truncated]"));
}

TEST(Yaml, NonRowEvents) {
    for (event_kind k : {event_kind::begin, event_kind::commit, event_kind::rollback, event_kind::ddl}) {
        event e;
        e.kind = k;
        e.schema = "db";
        if (k == event_kind::ddl) e.statement = "ALTER TABLE t ADD c INT";
        e.sequence = 5;
        EXPECT_TRUE(roundtrip(e) == e);
    }
}

TEST(Yaml, SyntaxErrorsHaveLocation) {
    const std::string m = error_of("---\nschema: x\noperation: insert\nnew: [1, 2\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.syntax_error] at line ")) << m;
    const std::string m2 = error_of("---\nschema: a: b\noperation: insert\n");
    EXPECT_TRUE(starts_with(m2, "[rowcast.yaml.syntax_error] at line ")) << m2;
    const std::string m3 = error_of("---\na: b\n  c: d\n");
    EXPECT_TRUE(starts_with(m3, "[rowcast.yaml.syntax_error] at line 3, column ")) << m3;
}

TEST(Yaml, TypeErrorsNameThePath) {
    std::string doc;
    yaml_codec c;
    c.encode(test::small_insert(), doc);
    auto with = [&](std::string_view from, std::string_view to) {
        std::string d = doc;
        const auto at = d.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        d.replace(at, from.size(), to);
        return error_of(d);
    };
    std::string m = with("  id: 7\n", "  id: \"7\"\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.type_mismatch] at new.id: ")) << m;
    EXPECT_NE(m.find("(line 14, column 7)"), std::string::npos) << m;
    m = with("  id: 7\n", "  id: seven\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.id: ")) << m;
    m = with("  id: 7\n", "  id: 99999999999999999999999\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.id: ")) << m;
    EXPECT_NE(m.find("out of range"), std::string::npos);
    m = with("  qty: 3\n", "  qty: -3\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.qty: ")) << m;
    m = with("  qty: 3\n", "  qty: 0x10\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.qty: ")) << m;
    m = with("  at: \"2026-11-22T13:05:10.000000Z\"\n", "  at: yesterday\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.at: ")) << m;
    m = with("  name: widget\n", "  name: [widget]\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.type_mismatch] at new.name: ")) << m;
    m = with("  name: widget\n", "  nope: widget\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.nope: ")) << m;
    m = with("  qty: 3\n", "  id: 3\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.id: ")) << m;
    m = with("operation: insert\n", "operation: upsert\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at operation: ")) << m;
    m = with("operation: insert\n", "");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.missing_field] at operation: ")) << m;
    m = with("new:\n", "neu:\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.missing_field] at new: ")) << m;
    m = with("  sequence: 77\n", "  sequence: -77\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at rowcast.sequence: ")) << m;
    m = with("    last: true\n", "    last: yes\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at rowcast.transaction.last: ")) << m;
    m = with("  version: 1\n", "  version: 2\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.unsupported_version] at rowcast.version: ")) << m;
    m = with("    - type: int\n      unsigned: true\n", "    - type: integral\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at rowcast.types[2].type: ")) << m;
    m = with("  id: 7\n", "  id:\n    $type: int65\n    value: 1\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.invalid_value] at new.id.$type: ")) << m;
    m = with("  id: 7\n", "  id:\n    $type: int64\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.missing_field] at new.id: ")) << m;
    EXPECT_TRUE(starts_with(error_of("--- [1, 2]\n"), "[rowcast.yaml.type_mismatch] at document: "));
    EXPECT_TRUE(starts_with(error_of("--- just text\n"), "[rowcast.yaml.type_mismatch] at document: "));
    EXPECT_TRUE(starts_with(error_of("---\n"), "[rowcast.yaml.type_mismatch] at document: "));
}

// A cut YAML spool file never decodes as another event: every proper prefix of a document either
// fails or decodes to the identical event (only when just the final newline is missing).
TEST(Yaml, TruncatedDocumentsFailOrDecodeIdentically) {
    std::vector<event> events = {test::hosts_update(), test::small_insert()};
    test::event_generator gen(8080, {.max_columns = 4});
    for (int i = 0; i < 8; ++i) events.push_back(gen.next());
    yaml_codec c;
    std::size_t prefixes = 0, same = 0;
    for (const event& want : events) {
        std::string doc;
        c.encode(want, doc);
        for (std::size_t n = 0; n < doc.size(); ++n, ++prefixes) {
            event e;
            auto r = c.decode(std::string_view(doc).substr(0, n), e);
            if (!r) {
                ASSERT_TRUE(starts_with(r.error_value().message, "[rowcast.yaml.")) << r.error_value().message;
                continue;
            }
            ASSERT_TRUE(e == want) << "prefix of " << n << " bytes decodes as another event:\n" << doc.substr(0, n);
            ASSERT_EQ(n, doc.size() - 1);  // only the final newline may be missing
            ++same;
        }
    }
    EXPECT_EQ(same, events.size());
    EXPECT_GT(prefixes, 2000u);
}

// Garbage and mutated documents: an error with rowcast's prefix, or an event that survives its own
// round trip (encode, decode: same event; encode again: same bytes).
TEST(Yaml, GarbageFailsOrRoundTrips) {
    test::event_generator gen(5);
    yaml_codec c;
    std::size_t decoded = 0, failed = 0;
    auto check = [&](const std::string& s) {
        event e;
        auto r = c.decode(s, e);
        if (!r) {
            ASSERT_TRUE(starts_with(r.error_value().message, "[rowcast.yaml.")) << r.error_value().message;
            ++failed;
            return;
        }
        ++decoded;
        std::string once, twice;
        c.encode(e, once);
        event back;
        auto r2 = c.decode(once, back);
        ASSERT_TRUE(r2) << r2.error_value().message << "\n" << once;
        ASSERT_TRUE(back == e) << once;
        c.encode(back, twice);
        ASSERT_EQ(once, twice);
    };
    for (int i = 0; i < 3000; ++i) {
        std::string s;
        const auto n = gen.pick(0, 120);
        for (std::int64_t j = 0; j < n; ++j) {
            static const char alphabet[] = "-:{}[]\"'\\ \n\t#&*!|>?,abc019.\xFF";
            s += alphabet[gen.pick(0, sizeof alphabet - 2)];
        }
        check(s);
    }
    std::string doc;
    c.encode(test::hosts_update(), doc);
    for (int i = 0; i < 2000; ++i) {
        std::string s = doc;
        for (int k = 0; k < 3; ++k) s[static_cast<std::size_t>(gen.pick(0, static_cast<std::int64_t>(s.size()) - 1))] =
            static_cast<char>(gen.pick(0, 255));
        check(s);
    }
    EXPECT_GT(failed, 0u);
    EXPECT_GT(decoded, 0u);  // some mutations (inside a string) still decode
}

// Every code-point class in values, names and the statement reads back through yaml-cpp (an
// independent YAML parser) as the same string, and the output is valid UTF-8.
TEST(Yaml, EveryCodePointClassReadsBackWithYamlCpp) {
    yaml_codec c;
    for (const std::string& s : test::valid_code_point_classes()) {
        event e = one_column(text{s}, {.type = sql_type::varchar}, event_kind::update);
        e.columns = make_columns({{"k" + s, {.type = sql_type::varchar}, false, true}});
        e.schema = s;
        e.table = s;
        e.statement = s;
        e.transaction.id = s;
        std::string out;
        EXPECT_TRUE(roundtrip(e, &out) == e) << out;
        EXPECT_TRUE(detail::valid_utf8(out));
        YAML::Node n;
        ASSERT_NO_THROW(n = YAML::Load(out)) << out;
        EXPECT_EQ(n["new"]["k" + s].as<std::string>(), s) << out;
        EXPECT_EQ(n["old"]["k" + s].as<std::string>(), s) << out;
        EXPECT_EQ(n["schema"].as<std::string>(), s) << out;
        EXPECT_EQ(n["table"].as<std::string>(), s) << out;
        EXPECT_EQ(n["columns"][0].as<std::string>(), "k" + s) << out;
        EXPECT_EQ(n["rowcast"]["statement"].as<std::string>(), s) << out;
        EXPECT_EQ(n["rowcast"]["transaction"]["id"].as<std::string>(), s) << out;
    }
}

TEST(Yaml, ControlCharactersAreSpeltAsDocumented) {
    // docs/yaml.md "Strings": inside double quotes " \\ \n \t \r as such, other C0 controls and DEL
    // as \xNN (upper-case hex), C1 controls, U+2028/2029, U+FEFF, U+FFFE/FFFF as \uXXXX.
    auto spelt = [](unsigned ch) -> std::string {
        switch (ch) {
            case '"': return "\\\"";
            case '\\': return "\\\\";
            case '\n': return "\\n";
            case '\t': return "\\t";
            case '\r': return "\\r";
            default: break;
        }
        const char hex[] = "0123456789ABCDEF";
        return std::string("\\x") + hex[ch >> 4] + hex[ch & 15];
    };
    for (unsigned ch = 0; ch < 0x80; ++ch) {
        if (ch >= 0x20 && ch != 0x7f && ch != '"' && ch != '\\') continue;
        std::string out;
        roundtrip(one_column(text{std::string("a") + static_cast<char>(ch) + "b"}), &out);
        EXPECT_NE(out.find("  c: \"a" + spelt(ch) + "b\"\n"), std::string::npos) << ch << ":\n" << out;
    }
    const std::pair<const char*, const char*> wide[] = {{"\xC2\x80", "\\u0080"}, {"\xC2\x9F", "\\u009F"},
                                                        {"\xE2\x80\xA8", "\\u2028"}, {"\xE2\x80\xA9", "\\u2029"},
                                                        {"\xEF\xBB\xBF", "\\uFEFF"}, {"\xEF\xBF\xBE", "\\uFFFE"},
                                                        {"\xEF\xBF\xBF", "\\uFFFF"}};
    for (const auto& [raw, esc] : wide) {
        std::string out;
        roundtrip(one_column(text{std::string("a") + raw}), &out);
        EXPECT_NE(out.find(std::string("  c: \"a") + esc + "\"\n"), std::string::npos) << out;
    }
    std::string out;  // non-BMP characters stay UTF-8
    roundtrip(one_column(text{"\xF0\x9F\x98\x80 x"}), &out);
    EXPECT_NE(out.find("  c: \xF0\x9F\x98\x80 x\n"), std::string::npos) << out;
}

// Invalid UTF-8: a value or the statement keeps its bytes through the tagged base64 form, a name
// gets U+FFFD for each byte that starts no valid sequence; yaml-cpp reads the output.
TEST(Yaml, InvalidUtf8IsTaggedOrReplacedAsDocumented) {
    for (const auto& [bad, replaced] : test::invalid_utf8_cases()) {
        event e = one_column(text{bad});
        e.schema = bad;
        e.statement = bad;
        std::string out;
        event want = e;
        want.schema = replaced;
        EXPECT_TRUE(roundtrip(e, &out) == want) << out;
        EXPECT_TRUE(detail::valid_utf8(out));
        YAML::Node n;
        ASSERT_NO_THROW(n = YAML::Load(out)) << out;
        EXPECT_EQ(n["new"]["c"]["$type"].as<std::string>(), "text") << out;
        EXPECT_TRUE(n["new"]["c"]["base64"].IsScalar()) << out;
        EXPECT_EQ(n["schema"].as<std::string>(), replaced) << out;
    }
}

TEST(Yaml, DeepNestingIsRejected) {
    const std::string flow = "---\noperation: insert\nnew: " + std::string(100000, '[') + "\n";
    std::string m = error_of(flow);
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.limit_exceeded] at line 3, column ")) << m;
    std::string block = "---\n";
    for (int i = 0; i < 200; ++i) block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
    m = error_of(block);
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.limit_exceeded]")) << m;
    std::string dashes = "---\n" + std::string(400, '-');
    for (std::size_t i = 5; i < dashes.size(); i += 2) dashes[i] = ' ';
    m = error_of(dashes + "x\n");
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.limit_exceeded]")) << m;
    // Brackets inside quoted strings do not count.
    const event e = one_column(text{std::string(500, '[')});
    EXPECT_TRUE(roundtrip(e) == e);
}

TEST(Yaml, SizeLimit) {
    std::string doc;
    yaml_codec c;
    c.encode(test::hosts_update(), doc);
    const std::string m = error_of(doc, yaml_options{.max_document_size = 100});
    EXPECT_TRUE(starts_with(m, "[rowcast.yaml.limit_exceeded] at byte 0: ")) << m;
    EXPECT_EQ(error_of(doc, yaml_options{.max_document_size = doc.size()}), "OK");
}

TEST(Yaml, HandWrittenInput) {
    // Flow style, comments, other quoting and a missing rowcast section are fine (the end marker is required).
    yaml_codec c;
    event e;
    auto r = c.decode("--- # hand written\n"
                      "{schema: s, table: t, operation: delete, columns: [id, name],\n"
                      " old: {id: 5, name: 'it''s'}, timestamp: '2010-09-09 13:00:10'}\n"
                      "...\n",
                      e);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(e.kind, event_kind::delete_);
    ASSERT_EQ(e.before.size(), 2u);
    EXPECT_EQ(e.before[0], value{std::int64_t{5}});  // unknown type: numbers as written
    EXPECT_EQ(e.before[1], value{text{"it's"}});
    EXPECT_EQ(e.commit_time.time_since_epoch().count(), 1284037210000000);
}
