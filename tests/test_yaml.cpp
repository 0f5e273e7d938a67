// Tests of rowcast::yaml_codec: round trips, golden texts, hostile strings,
// document streams, the legacy tmod form, and bad input.
#include <rowcast/codec/yaml.hpp>

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
                             "    - type: text\n      charset: utf8mb4\n";
    EXPECT_EQ(text, want);
}

TEST(Yaml, GoldenSmallInsert) {
    std::string text;
    EXPECT_TRUE(roundtrip(test::small_insert(), &text) == test::small_insert());
    EXPECT_EQ(text,
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
              "    - type: timestamp\n");
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
    buf += "...\n\n";
    c.encode(test::hosts_update(), buf);
    buf += "\n\n";
    event e;
    std::string_view rest = buf;
    auto r = c.decode(rest, e);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(e == test::small_insert());
    rest.remove_prefix(*r);
    ASSERT_TRUE(rest.starts_with("---\n"));
    r = c.decode(rest, e);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_TRUE(e == test::hosts_update());
    EXPECT_EQ(*r, rest.size());
    // Legacy messages back to back.
    std::string two = std::string(test::tmod_message) + test::tmod_message;
    r = c.decode(two, e);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, std::string_view(test::tmod_message).size());
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

TEST(Yaml, TruncatedDocumentsNeverCrash) {
    std::string doc;
    yaml_codec c;
    c.encode(test::hosts_update(), doc);
    int ok = 0;
    for (std::size_t n = 0; n < doc.size(); ++n) {
        event e;
        auto r = c.decode(std::string_view(doc).substr(0, n), e);
        if (r) ++ok;
        else EXPECT_TRUE(starts_with(r.error_value().message, "[rowcast.yaml.")) << r.error_value().message;
    }
    // A cut that removes whole trailing optional fields may still decode; most cuts do not.
    EXPECT_LT(ok, static_cast<int>(doc.size()));
}

TEST(Yaml, GarbageNeverCrashes) {
    test::event_generator gen(5);
    yaml_codec c;
    for (int i = 0; i < 3000; ++i) {
        std::string s;
        const auto n = gen.pick(0, 120);
        for (std::int64_t j = 0; j < n; ++j) {
            static const char alphabet[] = "-:{}[]\"'\\ \n\t#&*!|>?,abc019.\xFF";
            s += alphabet[gen.pick(0, sizeof alphabet - 2)];
        }
        event e;
        (void)c.decode(s, e);
    }
    std::string doc;
    c.encode(test::hosts_update(), doc);
    for (int i = 0; i < 2000; ++i) {
        std::string s = doc;
        for (int k = 0; k < 3; ++k) s[static_cast<std::size_t>(gen.pick(0, static_cast<std::int64_t>(s.size()) - 1))] =
            static_cast<char>(gen.pick(0, 255));
        event e;
        (void)c.decode(s, e);
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
    // Flow style, comments, other quoting and a missing rowcast section are fine.
    yaml_codec c;
    event e;
    auto r = c.decode("--- # hand written\n"
                      "{schema: s, table: t, operation: delete, columns: [id, name],\n"
                      " old: {id: 5, name: 'it''s'}, timestamp: '2010-09-09 13:00:10'}\n",
                      e);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(e.kind, event_kind::delete_);
    ASSERT_EQ(e.before.size(), 2u);
    EXPECT_EQ(e.before[0], value{std::int64_t{5}});  // unknown type: numbers as written
    EXPECT_EQ(e.before[1], value{text{"it's"}});
    EXPECT_EQ(e.commit_time.time_since_epoch().count(), 1284037210000000);
}
