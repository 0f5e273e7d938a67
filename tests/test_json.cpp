// JSON codec: round trips through both envelopes, golden texts, smpl-repl and
// Debezium messages, the nlohmann integration, value edge cases and bad input.
#include <rowcast/codec/json.hpp>
#include <rowcast/detail/text.hpp>

#include "support/code_points.hpp"
#include "support/random_event.hpp"
#include "support/sample_events.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <limits>
#include <random>
#include <string>

using namespace rowcast;

namespace {

// Golden documents, written by hand from docs/json.md (not taken from the encoder), pretty-printed;
// they are compared with the encoder's output structurally, key order included, after nlohmann
// parses both (nlohmann::ordered_json). "@DESC@" stands for hosts_update's 200-character description,
// @OLD@/@NEW@ for its images and @TYPES@ for its "types" array (the same in both envelopes),
// @RC@ for the common fields of its "rowcast" object, @SMALL_TYPES@ for small_insert's "types";
// expand() puts them in.
constexpr const char* golden_hosts_rowcast = R"({
  "schema": "inventory",
  "table": "hosts",
  "timestamp": "2026-11-22 13:05:10",
  "operation": "update",
  "primary": "id",
  "keys": ["id"],
  "columns": ["id", "hostname", "ip", "mac", "modified", "price", "note", "description"],
  "new": @NEW@,
  "old": @OLD@,
  "rowcast": {
    @RC@,
    "types": @TYPES@
  }
})";

// The Debezium connector's encodings (docs/json.md "Debezium envelope"): DATETIME(6) as epoch
// microseconds, DECIMAL(12,4) as Connect Decimal bytes (1234.5000 -> unscaled 12345000 =
// 00 bc 5e a8 -> "ALxeqA=="), MariaDB GTID -> connector "mariadb".
constexpr const char* golden_hosts_debezium = R"({
  "before": @DOLD@,
  "after": @DNEW@,
  "source": {
    "version": "rowcast-0.1.0",
    "connector": "mariadb",
    "name": "rowcast",
    "ts_ms": 1795352710000,
    "snapshot": "false",
    "db": "inventory",
    "sequence": null,
    "ts_us": 1795352710000000,
    "ts_ns": 1795352710000000000,
    "table": "hosts",
    "server_id": 101,
    "gtid": "0-101-5567",
    "file": "binlog.000012",
    "pos": 48213,
    "row": 0,
    "thread": null,
    "query": null
  },
  "transaction": {"id": "0-101-5567", "total_order": 4, "data_collection_order": 1},
  "op": "u",
  "ts_ms": 1795352710012,
  "ts_us": 1795352710012345,
  "ts_ns": 1795352710012345000,
  "rowcast": {
    @RC@,
    "columns": ["id", "hostname", "ip", "mac", "modified", "price", "note", "description"],
    "keys": ["id"],
    "types": @TYPES@
  }
})";

// small_insert(): no commit or capture time (so no "timestamp", Debezium times 0), no gtid.
constexpr const char* golden_small_rowcast = R"({
  "schema": "shop",
  "table": "items",
  "operation": "insert",
  "primary": "id",
  "keys": ["id"],
  "columns": ["id", "name", "qty", "at"],
  "new": {"id": 7, "name": "widget", "qty": 3, "at": "2026-11-22T13:05:10.000000Z"},
  "rowcast": {
    "version": 1,
    "sequence": 77,
    "transaction": {"id": "0-101-5568", "last": true},
    "source": {"file": "binlog.000012", "offset": 49000, "server_id": 101},
    "types": @SMALL_TYPES@
  }
})";

constexpr const char* golden_small_debezium = R"({
  "before": null,
  "after": {"id": 7, "name": "widget", "qty": 3, "at": "2026-11-22T13:05:10Z"},
  "source": {
    "version": "rowcast-0.1.0",
    "connector": "mysql",
    "name": "rowcast",
    "ts_ms": 0,
    "snapshot": "false",
    "db": "shop",
    "sequence": null,
    "ts_us": 0,
    "ts_ns": 0,
    "table": "items",
    "server_id": 101,
    "gtid": null,
    "file": "binlog.000012",
    "pos": 49000,
    "row": 0,
    "thread": null,
    "query": null
  },
  "transaction": {"id": "0-101-5568", "total_order": 1, "data_collection_order": 1},
  "op": "c",
  "ts_ms": null,
  "ts_us": null,
  "ts_ns": null,
  "rowcast": {
    "version": 1,
    "sequence": 77,
    "transaction": {"id": "0-101-5568", "last": true},
    "source": {"file": "binlog.000012", "offset": 49000, "server_id": 101},
    "columns": ["id", "name", "qty", "at"],
    "keys": ["id"],
    "types": @SMALL_TYPES@
  }
})";

/// The golden in compact form (nlohmann's dump of the hand-written document, key order kept).
std::string compact(std::string_view pretty) { return nlohmann::ordered_json::parse(pretty).dump(); }

/// `text` read by nlohmann (an independent, strict RFC 8259 parser), keys in written order.
nlohmann::ordered_json parsed(std::string_view text) { return nlohmann::ordered_json::parse(text); }

constexpr std::string_view hosts_types = R"([
      {"type": "bigint", "unsigned": true, "nullable": false},
      {"type": "varchar", "length": 255, "charset": "utf8mb4", "nullable": false},
      {"type": "varchar", "length": 45, "charset": "ascii"},
      {"type": "char", "length": 17, "charset": "ascii"},
      {"type": "datetime", "fsp": 6, "nullable": false},
      {"type": "decimal", "precision": 12, "scale": 4},
      {"type": "varchar", "length": 64, "charset": "utf8mb4"},
      {"type": "text", "charset": "utf8mb4"}
    ])";

constexpr std::string_view small_types = R"([
      {"type": "int", "nullable": false},
      {"type": "varchar", "length": 32, "nullable": false},
      {"type": "int", "unsigned": true},
      {"type": "timestamp"}
    ])";

constexpr std::string_view hosts_rowcast_fields = R"("version": 1,
    "sequence": 1000042,
    "transaction": {"id": "0-101-5567", "position": 3, "last": true},
    "source": {"file": "binlog.000012", "offset": 48213, "gtid": "0-101-5567", "server_id": 101},
    "commit_time": "2026-11-22T13:05:10.000000Z",
    "capture_time": "2026-11-22T13:05:10.012345Z")";

constexpr std::string_view hosts_old = R"({
    "id": 42,
    "hostname": "www.example.com",
    "ip": "192.0.2.10",
    "mac": "00:00:5e:00:53:01",
    "modified": "2026-11-22T13:00:10.123456",
    "price": "1234.5000",
    "note": null,
    "description": "@DESC@"
  })";

constexpr std::string_view hosts_old_dbz = R"({
    "id": 42,
    "hostname": "www.example.com",
    "ip": "192.0.2.10",
    "mac": "00:00:5e:00:53:01",
    "modified": 1795352410123456,
    "price": "ALxeqA==",
    "note": null,
    "description": "@DESC@"
  })";

constexpr std::string_view hosts_new_dbz = R"({
    "id": 42,
    "hostname": "www.example.com",
    "ip": "192.0.2.11",
    "mac": "00:00:5e:00:53:01",
    "modified": 1795352700654321,
    "price": "ALxeqA==",
    "note": null,
    "description": "@DESC@"
  })";

constexpr std::string_view hosts_new = R"({
    "id": 42,
    "hostname": "www.example.com",
    "ip": "192.0.2.11",
    "mac": "00:00:5e:00:53:01",
    "modified": "2026-11-22T13:05:00.654321",
    "price": "1234.5000",
    "note": null,
    "description": "@DESC@"
  })";

std::string expand(std::string s) {
    const std::string d(200, 'd');
    for (std::size_t p; (p = s.find("@TYPES@")) != std::string::npos;) s.replace(p, 7, hosts_types);
    for (std::size_t p; (p = s.find("@RC@")) != std::string::npos;) s.replace(p, 4, hosts_rowcast_fields);
    for (std::size_t p; (p = s.find("@SMALL_TYPES@")) != std::string::npos;) s.replace(p, 13, small_types);
    for (std::size_t p; (p = s.find("@DOLD@")) != std::string::npos;) s.replace(p, 6, hosts_old_dbz);
    for (std::size_t p; (p = s.find("@DNEW@")) != std::string::npos;) s.replace(p, 6, hosts_new_dbz);
    for (std::size_t p; (p = s.find("@OLD@")) != std::string::npos;) s.replace(p, 5, hosts_old);
    for (std::size_t p; (p = s.find("@NEW@")) != std::string::npos;) s.replace(p, 5, hosts_new);
    for (std::size_t p; (p = s.find("@DESC@")) != std::string::npos;) s.replace(p, 6, d);
    return s;
}

constexpr json_envelope all_envelopes[] = {json_envelope::rowcast, json_envelope::debezium, json_envelope::maxwell,
                                           json_envelope::smpl_repl};

json_codec rowcast_codec() { return json_codec{}; }
json_codec debezium_codec() { return json_codec{json_options{json_envelope::debezium}}; }

std::string enc(json_codec& c, const event& e) {
    std::string s;
    c.encode(e, s);
    return s;
}

event dec(json_codec& c, std::string_view s) {
    event e;
    auto r = c.decode(s, e);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error_value().message) << "\n" << s;
    if (r) {
        EXPECT_EQ(*r, s.size());
    }
    return e;
}

std::string error_of(json_codec& c, std::string_view s) {
    event e;
    auto r = c.decode(s, e);
    if (r) return "";
    return r.error_value().message;
}

errc code_of(std::string_view s) {
    json_codec c;
    event e;
    auto r = c.decode(s, e);
    EXPECT_FALSE(r.has_value()) << s;
    if (r) return errc{};
    return static_cast<errc>(r.error_value().code.value());
}

// An event of one row with the given column types and values.
event one_row(std::vector<column> cols, std::vector<value> vals, event_kind k = event_kind::insert) {
    event e;
    e.kind = k;
    e.schema = "s";
    e.table = "t";
    e.columns = make_columns(std::move(cols));
    if (k != event_kind::delete_) e.after = vals;
    if (k != event_kind::insert) e.before = std::move(vals);
    return e;
}

column col(std::string name, sql_type t, bool is_unsigned = false) {
    column c;
    c.name = std::move(name);
    c.type.type = t;
    c.type.is_unsigned = is_unsigned;
    return c;
}

}  // namespace

TEST(Json, Concept) {
    static_assert(event_codec<json_codec>);
    EXPECT_EQ(json_codec::name, "json");
    EXPECT_EQ(json_codec::content_type, "application/json");
}

TEST(Json, RandomRoundTripBothEnvelopes) {
    for (auto env : all_envelopes) {
        json_codec c{json_options{env}};
        test::event_generator gen(env == json_envelope::rowcast ? 11 : 12);
        event back;  // reused: decoding must not depend on what it held
        std::string s;
        for (int i = 0; i < 5000; ++i) {
            const event e = gen.next();
            s.clear();
            c.encode(e, s);
            ASSERT_TRUE(detail::valid_utf8(s)) << s;
            auto r = c.decode(s, back);
            ASSERT_TRUE(r.has_value()) << r.error_value().message << "\n" << s;
            ASSERT_EQ(*r, s.size());
            ASSERT_EQ(back, e) << s;
            // A fresh codec (no cached column list) gives the same event.
            json_codec fresh{json_options{env}};
            event e2;
            ASSERT_TRUE(fresh.decode(s, e2).has_value());
            ASSERT_EQ(e2, e);
        }
    }
}

TEST(Json, SampleEventsRoundTrip) {
    for (auto env : all_envelopes) {
        json_codec c{json_options{env}};
        for (const event& e : {test::hosts_update(), test::small_insert(), test::wide_insert()}) {
            const std::string s = enc(c, e);
            EXPECT_EQ(dec(c, s), e) << s;
            EXPECT_EQ(dec(c, s), e) << s;  // again, with the cached column list
        }
    }
}

TEST(Json, EncodeView) {
    for (auto env : all_envelopes) {
        json_codec c{json_options{env}};
        test::event_generator gen(31);
        for (int i = 0; i < 200; ++i) {
            const event e = gen.next();
            std::string a, b;
            c.encode(e, a);
            c.encode(to_view(e), b);
            ASSERT_EQ(a, b);
        }
    }
}

TEST(Json, EncodeAppends) {
    json_codec c;
    std::string out = "prefix:";
    c.encode(test::small_insert(), out);
    ASSERT_TRUE(out.starts_with("prefix:"));
    EXPECT_EQ(parsed(out.substr(7)), parsed(expand(golden_small_rowcast)));
}

TEST(Json, RepeatedTableSharesColumnList) {
    json_codec c;
    const std::string s1 = enc(c, test::hosts_update());
    event a, b;
    ASSERT_TRUE(c.decode(s1, a).has_value());
    ASSERT_TRUE(c.decode(s1, b).has_value());
    EXPECT_EQ(a.columns, b.columns);  // same pointer: the list was cached
    EXPECT_EQ(a, test::hosts_update());
    // A different table in between gets its own list, and the cache follows.
    event d;
    ASSERT_TRUE(c.decode(enc(c, test::small_insert()), d).has_value());
    EXPECT_EQ(d, test::small_insert());
    ASSERT_TRUE(c.decode(s1, b).has_value());
    EXPECT_EQ(b, test::hosts_update());
}

// The decoder keeps several column lists (issue 18 item 4): tables in turn each keep theirs;
// lists that share their names but not their types or keys are told apart; more tables
// than the cache holds still decode right (evicted lists are rebuilt).
TEST(Json, SeveralTablesKeepTheirColumnLists) {
    json_codec c;
    auto variant = [](int k, bool other_type, bool other_key) {
        event e = test::small_insert();
        e.table += "_" + std::to_string(k);
        std::vector<column> cols = e.columns->columns;
        if (other_type) cols[0].type.is_unsigned = !cols[0].type.is_unsigned;
        if (other_key) cols[0].primary_key = !cols[0].primary_key;
        e.columns = make_columns(std::move(cols));
        if (other_type) {
            for (auto& v : e.after)
                if (auto* i = std::get_if<std::int64_t>(&v); i && *i >= 0) v = static_cast<std::uint64_t>(*i);
        }
        return e;
    };
    const std::vector<event> two = {variant(0, false, false), variant(0, true, false), variant(0, false, true)};
    std::vector<std::string> texts;
    for (const auto& e : two) texts.push_back(enc(c, e));
    event out;
    std::vector<columns_ptr> first(two.size());
    for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < two.size(); ++i) {
            ASSERT_TRUE(c.decode(texts[i], out).has_value()) << i;
            EXPECT_EQ(out, two[i]) << round << " " << i;
            if (round == 0) first[i] = out.columns;
            else EXPECT_EQ(out.columns, first[i]) << "list " << i << " not kept";  // same pointer: cached
        }
    std::vector<std::string> many;
    std::vector<event> evs;
    for (int k = 0; k < 70; ++k) {  // more than the 64 lists kept
        evs.push_back(variant(k, k % 2 == 1, false));
        auto cols = evs.back().columns->columns;
        cols[1].name += std::to_string(k);
        evs.back().columns = make_columns(std::move(cols));
        many.push_back(enc(c, evs.back()));
    }
    for (int round = 0; round < 2; ++round)
        for (std::size_t i = 0; i < many.size(); ++i) {
            ASSERT_TRUE(c.decode(many[i], out).has_value()) << i;
            EXPECT_EQ(out, evs[i]) << i;
        }
}

TEST(Json, GoldenHostsUpdate) {
    json_codec c = rowcast_codec(), d = debezium_codec();
    EXPECT_EQ(parsed(enc(c, test::hosts_update())), parsed(expand(golden_hosts_rowcast)));
    EXPECT_EQ(parsed(enc(d, test::hosts_update())), parsed(expand(golden_hosts_debezium)));
    // Compact output: nothing between the tokens.
    EXPECT_EQ(enc(c, test::hosts_update()), compact(expand(golden_hosts_rowcast)));
    EXPECT_EQ(dec(c, expand(golden_hosts_rowcast)), test::hosts_update());
    EXPECT_EQ(dec(c, expand(golden_hosts_debezium)), test::hosts_update());
}

TEST(Json, GoldenSmallInsert) {
    json_codec c = rowcast_codec(), d = debezium_codec();
    EXPECT_EQ(parsed(enc(c, test::small_insert())), parsed(expand(golden_small_rowcast)));
    EXPECT_EQ(parsed(enc(d, test::small_insert())), parsed(expand(golden_small_debezium)));
    EXPECT_EQ(enc(d, test::small_insert()), compact(expand(golden_small_debezium)));
    EXPECT_EQ(dec(d, expand(golden_small_rowcast)), test::small_insert());
    EXPECT_EQ(dec(d, expand(golden_small_debezium)), test::small_insert());
}

TEST(Json, SmplReplMessage) {
    json_codec c;
    const event e = dec(c, test::smpl_repl_message);
    EXPECT_EQ(e.kind, event_kind::update);
    EXPECT_EQ(e.schema, "test");
    EXPECT_EQ(e.table, "test");
    ASSERT_EQ(e.column_count(), 4u);
    const char* names[] = {"test_id", "name", "value", "modified"};
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ((*e.columns)[i].name, names[i]);
        EXPECT_EQ((*e.columns)[i].type.type, sql_type::unknown);
        EXPECT_EQ((*e.columns)[i].primary_key, i == 0) << i;  // "primary", not "keys"
    }
    EXPECT_EQ(e.after, (std::vector<value>{text{"1"}, text{"foo"}, text{"bar"}, text{"2010-09-09 13:00:10"}}));
    EXPECT_EQ(e.before, (std::vector<value>{text{"1"}, text{"shizzle"}, text{"nizzle"}, text{"2010-09-09 13:00:10"}}));
    EXPECT_EQ(e.commit_time, time_point{std::chrono::seconds{1284037210}});
    EXPECT_EQ(e.capture_time, time_point{});
    EXPECT_EQ(e.sequence, 0u);
    EXPECT_TRUE(e.transaction.id.empty());
    // And it survives our own round trip.
    EXPECT_EQ(dec(c, enc(c, e)), e);
}

TEST(Json, SmplReplWithoutColumnsAndWithExtraFields) {
    json_codec c;
    const event e = dec(c, R"({"schema":"test","table":"t","operation":"update","x-extra":{"a":[1,2,{"b":null}]},)"
                           R"("new":{"b":"2","a":"1"},"old":{"b":"0","c":"3"},"primary":["a","b"],"zzz":true})");
    ASSERT_EQ(e.column_count(), 3u);
    EXPECT_EQ((*e.columns)[0].name, "b");
    EXPECT_EQ((*e.columns)[1].name, "a");
    EXPECT_EQ((*e.columns)[2].name, "c");
    EXPECT_TRUE((*e.columns)[0].primary_key);
    EXPECT_TRUE((*e.columns)[1].primary_key);
    EXPECT_FALSE((*e.columns)[2].primary_key);
    EXPECT_EQ(e.after, (std::vector<value>{text{"2"}, text{"1"}, absent{}}));
    EXPECT_EQ(e.before, (std::vector<value>{text{"0"}, absent{}, text{"3"}}));
    EXPECT_EQ(e.commit_time, time_point{});
}

TEST(Json, UntypedValuesTakeTheirJsonForm) {
    json_codec c;
    const event e = dec(c, R"({"operation":"insert","new":{"a":-5,"b":18446744073709551615,"c":1.5,"d":true,)"
                           R"("e":{"base64":"AAE="},"f":{"k":[1]},"g":[1,2],"h":{"$type":"date","value":"2024-01-02"},"i":null}})");
    EXPECT_EQ(e.after, (std::vector<value>{std::int64_t{-5}, std::uint64_t{18446744073709551615ULL}, 1.5, std::int64_t{1},
                                          bytes{std::string("\0\1", 2)}, json_text{R"({"k":[1]})"}, json_text{"[1,2]"},
                                          date{2024, 1, 2}, null_value{}}));
}

TEST(Json, PlainDebeziumMessage) {
    json_codec c;
    const event e = dec(c, R"({"schema":{"type":"struct"},"payload":{"before":null,"after":{"id":1,"name":"x"},)"
                           R"("source":{"version":"2.5.0.Final","connector":"mysql","name":"dbserver1","ts_ms":1700000000000,)"
                           R"("snapshot":"false","db":"inventory","sequence":null,"table":"customers","server_id":223344,)"
                           R"("gtid":null,"file":"mysql-bin.000003","pos":805,"row":0,"thread":7,"query":null},)"
                           R"("op":"c","ts_ms":1700000000123,"transaction":{"id":"tx-1","total_order":3,"data_collection_order":1}}})");
    EXPECT_EQ(e.kind, event_kind::insert);
    EXPECT_EQ(e.schema, "inventory");
    EXPECT_EQ(e.table, "customers");
    EXPECT_EQ(e.source.file, "mysql-bin.000003");
    EXPECT_EQ(e.source.offset, 805u);
    EXPECT_EQ(e.source.server_id, 223344u);
    EXPECT_EQ(e.source.thread, 7u);
    EXPECT_EQ(e.transaction.id, "tx-1");
    EXPECT_EQ(e.transaction.position, 2u);
    EXPECT_EQ(e.commit_time, time_point{std::chrono::milliseconds{1700000000000}});
    EXPECT_EQ(e.capture_time, time_point{std::chrono::milliseconds{1700000000123}});
    EXPECT_EQ(e.after, (std::vector<value>{std::int64_t{1}, text{"x"}}));
    EXPECT_TRUE(e.before.empty());

    const event d = dec(c, R"({"before":{"id":1},"after":null,"source":{"db":"a","table":"b"},"op":"d"})");
    EXPECT_EQ(d.kind, event_kind::delete_);
    EXPECT_EQ(d.before, (std::vector<value>{std::int64_t{1}}));
    EXPECT_EQ(dec(c, R"({"status":"BEGIN","id":"571","event_count":null,"data_collections":null,"ts_ms":1})").kind,
              event_kind::begin);
    const event end = dec(c, R"({"status":"END","id":"571","ts_ms":1486500577691,"event_count":2,"data_collections":[]})");
    EXPECT_EQ(end.kind, event_kind::commit);
    EXPECT_EQ(end.transaction.id, "571");
    EXPECT_EQ(end.commit_time, time_point{std::chrono::milliseconds{1486500577691}});
    const event ddl = dec(c, R"j({"source":{"db":"inventory"},"databaseName":"inventory","ddl":"CREATE TABLE t (a INT)","tableChanges":[]})j");
    EXPECT_EQ(ddl.kind, event_kind::ddl);
    EXPECT_EQ(ddl.statement, "CREATE TABLE t (a INT)");
    EXPECT_EQ(ddl.schema, "inventory");
}

TEST(Json, NonRowEventsBothEnvelopes) {
    event b;
    b.kind = event_kind::begin;
    b.schema = "db";
    b.transaction = {"0-1-9", 0, false};
    b.commit_time = time_point{std::chrono::seconds{100}};
    event cm = b;
    cm.kind = event_kind::commit;
    cm.transaction.position = 4;
    cm.statement = std::string(to_string(end_cause::non_transactional));  // the end cause travels in every envelope
    event rb = b;
    rb.kind = event_kind::rollback;
    event ddl;
    ddl.kind = event_kind::ddl;
    ddl.schema = "db";
    ddl.table = "t";
    ddl.statement = "ALTER TABLE t ADD c INT";
    ddl.capture_time = time_point{std::chrono::seconds{5}};
    for (auto env : all_envelopes)
        for (const event& e : {b, cm, rb, ddl}) {
            json_codec c{json_options{env}};
            EXPECT_EQ(dec(c, enc(c, e)), e) << enc(c, e);
        }
    json_codec d = debezium_codec();
    EXPECT_NE(enc(d, b).find(R"("status":"BEGIN")"), std::string::npos);
    EXPECT_NE(enc(d, cm).find(R"("status":"END")"), std::string::npos);
    EXPECT_NE(enc(d, rb).find(R"("status":"ROLLBACK")"), std::string::npos);
    EXPECT_NE(enc(d, ddl).find(R"("ddl":"ALTER TABLE t ADD c INT")"), std::string::npos);
    json_codec c;
    EXPECT_NE(enc(c, ddl).find(R"("operation":"ddl")"), std::string::npos);
}

TEST(Json, NlohmannAdlSerializer) {
    const event e = test::hosts_update();
    nlohmann::json j = e;
    EXPECT_EQ(j["schema"], "inventory");
    EXPECT_EQ(j["new"]["id"], 42);
    EXPECT_EQ(j.get<event>(), e);
    nlohmann::ordered_json oj = e;
    EXPECT_EQ(oj.dump(), enc(*std::make_unique<json_codec>(), e));  // same text, same key order
    EXPECT_EQ(oj.get<event>(), e);
    // Sorted keys (nlohmann::json) put "new" before "rowcast"/"types": still exact.
    test::event_generator gen(21);
    for (int i = 0; i < 500; ++i) {
        const event r = gen.next();
        nlohmann::json rj = r;
        ASSERT_EQ(rj.get<event>(), r) << rj.dump();
    }
    nlohmann::json bad = nlohmann::json::parse(R"({"operation":"insert","columns":["id"],"new":{"id":"x"},)"
                                                R"("rowcast":{"version":1,"types":[{"type":"int"}]}})");
    try {
        (void)bad.get<event>();
        FAIL() << "no exception";
    } catch (const rowcast::exception& ex) {
        EXPECT_NE(std::string(ex.what()).find("[rowcast.json.type_mismatch] at $.new.id"), std::string::npos) << ex.what();
    }
}

TEST(Json, ColumnOrderPreserved) {
    std::vector<column> cols = {col("zeta", sql_type::int_), col("alpha", sql_type::int_), col("mid", sql_type::int_)};
    const event e = one_row(cols, {std::int64_t{1}, std::int64_t{2}, std::int64_t{3}});
    json_codec c;
    const std::string s = enc(c, e);
    EXPECT_NE(s.find(R"("new":{"zeta":1,"alpha":2,"mid":3})"), std::string::npos) << s;
    EXPECT_NE(s.find(R"("columns":["zeta","alpha","mid"])"), std::string::npos) << s;
    // Keys in another order (a reordering tool in between) map by name.
    const std::string sorted = nlohmann::json::parse(s).dump();
    EXPECT_EQ(dec(c, sorted), e);
    json_codec fresh;
    EXPECT_EQ(dec(fresh, sorted), e);
}

TEST(Json, NanInfinityAndNegativeZero) {
    std::vector<column> cols = {col("f", sql_type::float_), col("d", sql_type::double_), col("g", sql_type::double_),
                                col("h", sql_type::double_), col("z", sql_type::double_)};
    const event e = one_row(cols, {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), -0.0});
    json_codec c;
    const std::string s = enc(c, e);
    EXPECT_NE(s.find(R"("new":{"f":"NaN","d":"Infinity","g":"-Infinity","h":"NaN","z":-0.0})"), std::string::npos) << s;
    EXPECT_EQ(dec(c, s), e);  // bitwise equality
    // A float in a double column is tagged.
    const event t = one_row({col("d", sql_type::double_)}, {1.5f});
    EXPECT_NE(enc(c, t).find(R"({"$type":"float32","value":1.5})"), std::string::npos);
    EXPECT_EQ(dec(c, enc(c, t)), t);
}

TEST(Json, IntegerExtremesExact) {
    std::vector<column> cols = {col("u", sql_type::bigint, true), col("i", sql_type::bigint), col("x", sql_type::bigint)};
    const event e = one_row(cols, {std::numeric_limits<std::uint64_t>::max(), std::numeric_limits<std::int64_t>::min(),
                                   std::numeric_limits<std::int64_t>::max()});
    json_codec c;
    const std::string s = enc(c, e);
    EXPECT_NE(s.find(R"("new":{"u":18446744073709551615,"i":-9223372036854775808,"x":9223372036854775807})"),
              std::string::npos) << s;
    EXPECT_EQ(dec(c, s), e);
    // A signed value in an unsigned column keeps its kind through the tagged form.
    const event t = one_row({col("u", sql_type::int_, true)}, {std::int64_t{-1}});
    EXPECT_NE(enc(c, t).find(R"({"$type":"int64","value":-1})"), std::string::npos);
    EXPECT_EQ(dec(c, enc(c, t)), t);
}

TEST(Json, InvalidUtf8TextIsTaggedBase64) {
    const event e = one_row({col("t", sql_type::varchar), col("ok", sql_type::varchar)},
                            {text{"bad \xC3\x28 \xFF"}, text{"ctl \x01\x1f \" \\ / \n\t ü"}});
    json_codec c;
    const std::string s = enc(c, e);
    EXPECT_TRUE(detail::valid_utf8(s));
    EXPECT_NE(s.find(R"("t":{"$type":"text","base64":"YmFkIMMoIP8="})"), std::string::npos) << s;
    EXPECT_NE(s.find(R"("ok":"ctl \u0001\u001f \" \\ / \n\t ü")"), std::string::npos) << s;
    EXPECT_EQ(dec(c, s), e);
    // \u escapes including a surrogate pair decode to UTF-8.
    const event u = dec(c, R"({"operation":"insert","new":{"a":"\u00fc\ud83d\ude00\/"}})");
    EXPECT_EQ(u.after[0], value{text{"ü\xF0\x9F\x98\x80/"}});
}

TEST(Json, AbsentVersusNull) {
    std::vector<column> cols = {col("a", sql_type::int_), col("b", sql_type::int_), col("c", sql_type::int_)};
    const event e = one_row(cols, {std::int64_t{1}, absent{}, null_value{}}, event_kind::update);
    json_codec c;
    const std::string s = enc(c, e);
    EXPECT_NE(s.find(R"("new":{"a":1,"c":null})"), std::string::npos) << s;
    EXPECT_EQ(dec(c, s), e);
}

TEST(Json, ZeroDatesAndNegativeTime) {
    std::vector<column> cols = {col("d", sql_type::date), col("dt", sql_type::datetime), col("ts", sql_type::timestamp),
                                col("t", sql_type::time), col("t2", sql_type::time), col("y", sql_type::year)};
    const event e = one_row(cols, {date{0, 0, 0}, datetime{}, timestamp{0},
                                   rowcast::time{-(838LL * 3600 + 59 * 60 + 59) * 1000000}, rowcast::time{-1}, year{0}});
    json_codec c;
    const std::string s = enc(c, e);
    EXPECT_NE(s.find(R"("new":{"d":"0000-00-00","dt":"0000-00-00T00:00:00.000000","ts":"1970-01-01T00:00:00.000000Z",)"
                     R"("t":"-838:59:59.000000","t2":"-00:00:00.000001","y":0})"),
              std::string::npos) << s;
    EXPECT_EQ(dec(c, s), e);
    // MySQL's zero TIMESTAMP text decodes as 0.
    const event z = dec(c, R"({"operation":"insert","columns":["ts"],"new":{"ts":"0000-00-00 00:00:00"},)"
                           R"("rowcast":{"version":1,"types":[{"type":"timestamp"}]}})");
    EXPECT_EQ(z.after[0], value{timestamp{0}});
}

TEST(Json, TaggedFormsForMismatchedValues) {
    column e = col("e", sql_type::enum_);
    e.type.members = {"small", "large"};
    column s = col("s", sql_type::set);
    s.type.members = {"a", "b", "c"};
    column b = col("b", sql_type::bit);
    b.type.length = 3;
    const event ev = one_row({e, e, s, s, b, b, col("g", sql_type::geometry), col("j", sql_type::json)},
                             {enum_value{"large", 2}, enum_value{"large", 7}, set_value{"a,c", 5}, set_value{"a,c", 1},
                              bit{5, 3}, bit{5, 8}, geometry{4326, std::string("\1\2", 2)}, json_text{"{\"a\":1}"}});
    json_codec c;
    const std::string out = enc(c, ev);
    EXPECT_NE(out.find(R"("new":{"e":"large")"), std::string::npos) << out;
    EXPECT_NE(out.find(R"({"$type":"enum","value":"large","index":7})"), std::string::npos) << out;
    EXPECT_NE(out.find(R"(["a","c"])"), std::string::npos) << out;
    EXPECT_NE(out.find(R"({"$type":"set","value":["a","c"],"mask":1})"), std::string::npos) << out;
    EXPECT_NE(out.find(R"({"$type":"bit","value":5,"width":8})"), std::string::npos) << out;
    EXPECT_NE(out.find(R"({"srid":4326,"wkb":"AQI="})"), std::string::npos) << out;
    EXPECT_NE(out.find(R"("j":"{\"a\":1}")"), std::string::npos) << out;
}

// DECIMAL text the decoders accept (leading zeros, '+', a bare '.') is not always a JSON
// number: every envelope must still write a message it reads back (fuzz_json found "05249658.5"
// written bare by the Maxwell writer).
TEST(Json, DecimalTextThatIsNoJsonNumberRoundTrips) {
    // (also at the column's own scale, where Debezium's Decimal bytes would otherwise drop the
    // leading zero or the '+': "05.50" came back "5.50")
    for (const char* d : {"05249658.50802527009283344", "-05.5", "007", "+1.5", ".5", "-.5", "5.", "0", "-0", "0.25",
                          "-12.3400", "05.50", "+1.50", "-05.50"}) {
        const std::string_view text(d);
        column c = col("d", sql_type::decimal);
        c.type.precision = 30;
        c.type.scale = text.find('.') == std::string_view::npos ? 0 : static_cast<std::uint8_t>(text.size() - text.find('.') - 1);
        const event ev = one_row({c}, {decimal{d}});
        for (auto env : all_envelopes) {
            json_codec w{json_options{env}};
            const std::string out = enc(w, ev);
            json_codec r{json_options{env}};
            const event back = dec(r, out);
            EXPECT_EQ(back, ev) << d << " in " << out;
        }
    }
}

// Maxwell's "xid" is transaction.xid (the InnoDB XID; left out when 0, unknown), never a
// transaction id that happens to be digits ("000005" is no JSON integer: fuzz_json found it written
// bare when ids were taken for XIDs). Every envelope's extension carries the xid.
TEST(Json, MaxwellXidIsTheTransactionXid) {
    json_options bare_opt{json_envelope::maxwell};
    bare_opt.extension = false;
    json_codec bare{bare_opt};
    for (const char* id : {"000005", "0", "42", "18446744073709551615"}) {
        event ev;
        ev.kind = event_kind::rollback;
        ev.schema = "s";
        ev.transaction.id = id;
        EXPECT_EQ(enc(bare, ev).find("\"xid\""), std::string::npos) << id;
        for (auto env : all_envelopes) {
            json_codec w{json_options{env}};
            const std::string out = enc(w, ev);
            json_codec r{json_options{env}};
            EXPECT_EQ(dec(r, out), ev) << id << " in " << out;
        }
    }
    for (std::uint64_t xid : {std::uint64_t{1}, std::uint64_t{23396}, ~std::uint64_t{0}}) {
        event ev = test::small_insert();
        ev.transaction.xid = xid;
        for (auto env : all_envelopes) {
            json_codec w{json_options{env}};
            const std::string out = enc(w, ev);
            json_codec r{json_options{env}};
            EXPECT_EQ(dec(r, out), ev) << xid << " in " << out;
        }
        const std::string out = enc(bare, ev);
        EXPECT_NE(out.find(",\"xid\":" + std::to_string(xid) + ","), std::string::npos) << out;
        json_codec r;
        const event back = dec(r, out);
        EXPECT_EQ(back.transaction.xid, xid);
        EXPECT_EQ(back.transaction.id, std::to_string(xid));
    }
}

TEST(Json, JsonLines) {
    json_codec c;
    test::event_generator gen(5);
    std::vector<event> events;
    std::string buf;
    for (int i = 0; i < 50; ++i) {
        events.push_back(gen.next());
        c.encode(events.back(), buf);
        buf += i % 3 == 0 ? "\r\n" : "\n";
    }
    std::string_view rest = buf;
    event e;
    std::size_t n = 0;
    while (!rest.empty()) {
        auto r = c.decode(rest, e);
        ASSERT_TRUE(r.has_value()) << r.error_value().message;
        ASSERT_LT(n, events.size());
        EXPECT_EQ(e, events[n]);
        ++n;
        rest.remove_prefix(*r);
    }
    EXPECT_EQ(n, events.size());
    // decode() of the whole buffer as one event is trailing data.
    auto one = rowcast::decode(c, buf);
    ASSERT_FALSE(one.has_value());
    EXPECT_EQ(one.error_value().code, make_error_code(errc::trailing_data));
}

TEST(Json, TypeMismatchMessage) {
    json_codec c;
    std::string s = compact(expand(golden_hosts_rowcast));
    const std::size_t at = s.find(R"("id":42)") + 5;
    s.replace(at, 2, R"("42")");
    EXPECT_EQ(error_of(c, s), "[rowcast.json.type_mismatch] at $.new.id (byte " + std::to_string(at) +
                                  "): expected an integer for column id (bigint unsigned), got a string");
}

// A cut JSON spool file (or line) never decodes as another event: every proper prefix of a
// document fails, except a prefix that only drops trailing white space (same event).
TEST(Json, TruncatedInputNeverDecodesAsAnotherEvent) {
    std::vector<std::pair<std::string, event>> docs;
    json_codec c, d = debezium_codec();
    for (const auto& [text, e] : {std::pair{expand(golden_hosts_rowcast), test::hosts_update()},
                                  std::pair{expand(golden_hosts_debezium), test::hosts_update()},
                                  std::pair{expand(golden_small_rowcast), test::small_insert()}})
        docs.emplace_back(text, e);
    docs.emplace_back(test::smpl_repl_message, dec(c, test::smpl_repl_message));
    test::event_generator gen(4242);
    for (int i = 0; i < 40; ++i) {
        const event e = gen.next();
        docs.emplace_back(enc(i % 2 ? c : d, e) + "\n", e);  // JSON Lines: the newline may be cut
    }
    std::size_t same = 0;
    for (const auto& [full, want] : docs) {
        for (std::size_t n = 0; n < full.size(); ++n) {
            event e;
            auto r = c.decode(std::string_view(full).substr(0, n), e);
            if (!r) {
                ASSERT_EQ(r.error_value().message.rfind("[rowcast.json.", 0), 0u) << r.error_value().message;
                continue;
            }
            // Only white space may be missing.
            ASSERT_EQ(full.find_first_not_of(" \n\r\t", n), std::string::npos) << n << "\n" << full;
            ASSERT_EQ(e, want) << full.substr(0, n);
            ++same;
        }
    }
    EXPECT_GE(same, 40u);  // the random lines' cut newlines
}

// Every code-point class in values, names and the statement: the output is RFC 8259 JSON that
// nlohmann (an independent, strict parser) reads back as the same strings, and each ASCII
// character is spelt as docs/json.md says.
TEST(Json, EveryCodePointClassReadsBackWithNlohmann) {
    json_codec c;
    for (const std::string& s : test::valid_code_point_classes()) {
        event e = one_row({col("k" + s, sql_type::varchar), col("j", sql_type::text)}, {text{s}, text{s}},
                          event_kind::update);
        e.schema = s;
        e.table = s;
        e.statement = s;
        e.transaction.id = s;
        const std::string out = enc(c, e);
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
        EXPECT_EQ(j["new"]["k" + s], s) << out;
        EXPECT_EQ(j["old"]["j"], s) << out;
        EXPECT_EQ(j["schema"], s);
        EXPECT_EQ(j["table"], s);
        EXPECT_EQ(j["columns"][0], "k" + s);
        EXPECT_EQ(j["rowcast"]["statement"], s);
        EXPECT_EQ(j["rowcast"]["transaction"]["id"], s);
        EXPECT_EQ(dec(c, out), e);
    }
}

TEST(Json, EscapesAreSpeltAsDocumented) {
    // docs/json.md "Strings": " \\ \b \f \n \r \t as two-character escapes, other C0 controls as
    // \u00XX (lower-case hex), everything else (DEL, C1, U+2028/2029, non-BMP) as UTF-8.
    auto spelt = [](unsigned char ch) -> std::string {
        switch (ch) {
            case '"': return "\\\"";
            case '\\': return "\\\\";
            case 0x08: return "\\b";
            case 0x0c: return "\\f";
            case 0x0a: return "\\n";
            case 0x0d: return "\\r";
            case 0x09: return "\\t";
            default: break;
        }
        if (ch < 0x20) {
            const char hex[] = "0123456789abcdef";
            return std::string("\\u00") + hex[ch >> 4] + hex[ch & 15];
        }
        return std::string(1, static_cast<char>(ch));
    };
    json_codec c;
    for (int ch = 0; ch < 0x80; ++ch) {
        const std::string s = std::string("a") + static_cast<char>(ch) + "b";
        const std::string out = enc(c, one_row({col("c", sql_type::varchar)}, {text{s}}));
        const std::string want = "\"c\":\"a" + spelt(static_cast<unsigned char>(ch)) + "b\"";
        EXPECT_NE(out.find(want), std::string::npos) << ch << ": " << out;
    }
    for (const char* raw : {"\xE2\x80\xA8", "\xE2\x80\xA9", "\xC2\x85", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
        const std::string out = enc(c, one_row({col("c", sql_type::varchar)}, {text{raw}}));
        EXPECT_NE(out.find(std::string("\"c\":\"") + raw + "\""), std::string::npos) << out;
    }
}

// Invalid UTF-8: a value keeps its bytes through {"$type":"text","base64":…} (statement: {"base64":…}),
// a name gets U+FFFD for each byte that starts no valid sequence; nlohmann accepts the output.
TEST(Json, InvalidUtf8IsRefusedOrReplacedAsDocumented) {
    json_codec c;
    for (const auto& [bad, replaced] : test::invalid_utf8_cases()) {
        event e = one_row({col("c", sql_type::varchar)}, {text{bad}});
        e.schema = bad;
        e.statement = bad;
        const std::string out = enc(c, e);
        nlohmann::json j;
        ASSERT_NO_THROW(j = nlohmann::json::parse(out)) << out;
        EXPECT_EQ(j["new"]["c"]["$type"], "text") << out;
        EXPECT_TRUE(j["new"]["c"]["base64"].is_string()) << out;
        EXPECT_TRUE(j["rowcast"]["statement"]["base64"].is_string()) << out;
        EXPECT_EQ(j["schema"], replaced) << out;
        event want = e;
        want.schema = replaced;
        EXPECT_EQ(dec(c, out), want);
        // The decoder refuses invalid UTF-8 inside a JSON string.
        const std::string raw = R"({"operation":"insert","new":{"c":")" + bad + R"("}})";
        EXPECT_EQ(code_of(raw), errc::invalid_value) << raw;
    }
}

// Strictness the mutation check (scripts/mutate.py) found untested: raw control characters in
// strings, broken surrogate pairs and malformed numbers are refused.
TEST(Json, DecoderRefusesRawControlsBadSurrogatesAndBadNumbers) {
    for (int ch = 0; ch < 0x20; ++ch) {
        const std::string raw = std::string(R"({"operation":"insert","new":{"c":"a)") + static_cast<char>(ch) + R"(b"}})";
        EXPECT_EQ(code_of(raw), errc::syntax_error) << ch;
    }
    for (const char* esc : {R"(\ud83d\u0041)", R"(\ud83d\ud83d)", R"(\ud83dx)", R"(\ude00)"})
        EXPECT_EQ(code_of(std::string(R"({"operation":"insert","new":{"c":")") + esc + R"("}})"), errc::invalid_value) << esc;
    for (const char* num : {"1e", "1e+", "1E-", "1.", "1.e5", "-", "-a", "+1", ".5", "01", "1ee2"})
        EXPECT_EQ(code_of(std::string(R"({"operation":"insert","new":{"c":)") + num + "}}"), errc::syntax_error) << num;
    // The valid forms next to them decode.
    json_codec c;
    const event e = dec(c, R"({"operation":"insert","new":{"a":1e5,"b":-0.5E-3,"c":0}})");
    EXPECT_EQ(e.after, (std::vector<value>{1e5, -0.5e-3, std::int64_t{0}}));
}

// The natural forms of ENUM and SET are chosen only when they give back the exact value; both are
// spelt as docs/value-mapping.md says.
TEST(Json, EnumAndSetNaturalFormsAreExact) {
    column en = col("e", sql_type::enum_), st = col("s", sql_type::set);
    en.type.members = {"a", "b", "c"};
    st.type.members = {"a", "b", "c"};
    json_codec c;
    const event e = one_row({en, st}, {enum_value{"b", 2}, set_value{"a,c", 5}});
    const std::string s = enc(c, e);
    EXPECT_NE(s.find(R"("new":{"e":"b","s":["a","c"]})"), std::string::npos) << s;
    EXPECT_EQ(dec(c, s), e);
    const event odd = one_row({en, st}, {enum_value{"b", 3}, set_value{"a,c", 6}});
    const std::string t = enc(c, odd);
    EXPECT_NE(t.find(R"("s":{"$type":"set","value":["a","c"],"mask":6})"), std::string::npos) << t;
    EXPECT_EQ(dec(c, t), odd);
}

// smpl-repl's "timestamp" is the commit time truncated toward the past, also before 1970.
TEST(Json, SqlTimestampTruncatesTowardThePast) {
    json_codec c;
    for (const auto& [us, want] : {std::pair{std::int64_t{-1500000}, "1969-12-31 23:59:58"},
                                   std::pair{std::int64_t{-1000000}, "1969-12-31 23:59:59"},
                                   std::pair{std::int64_t{1500000}, "1970-01-01 00:00:01"},
                                   std::pair{std::int64_t{-86400000001}, "1969-12-30 23:59:59"}}) {
        event e = one_row({col("id", sql_type::int_)}, {std::int64_t{1}});
        e.commit_time = time_point{std::chrono::microseconds{us}};
        const std::string s = enc(c, e);
        EXPECT_NE(s.find(std::string(R"("timestamp":")") + want + "\""), std::string::npos) << us << ": " << s;
        EXPECT_EQ(dec(c, s), e);
    }
}

TEST(Json, BadInputClearErrors) {
    EXPECT_EQ(code_of(""), errc::truncated);
    EXPECT_EQ(code_of("   \n"), errc::truncated);
    EXPECT_EQ(code_of("[1,2]"), errc::syntax_error);
    EXPECT_EQ(code_of("garbage"), errc::syntax_error);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",}"), errc::syntax_error);
    EXPECT_EQ(code_of("{\"operation\" \"insert\"}"), errc::syntax_error);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"new\":{\"a\":01}}"), errc::syntax_error);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"new\":{\"a\":\"\x01\"}}"), errc::syntax_error);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"new\":{\"a\":\"\\x\"}}"), errc::syntax_error);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"new\":{\"a\":\"\\ud800\"}}"), errc::invalid_value);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"new\":{\"a\":\"\xC3\x28\"}}"), errc::invalid_value);  // not UTF-8
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"new\":{\"a\":tru}}"), errc::syntax_error);
    EXPECT_EQ(code_of("{\"table\":\"t\"}"), errc::missing_field);
    EXPECT_EQ(code_of("{\"operation\":\"insert\"}"), errc::missing_field);
    EXPECT_EQ(code_of("{\"operation\":\"update\",\"new\":{}}"), errc::missing_field);
    EXPECT_EQ(code_of("{\"operation\":\"delete\",\"new\":{},\"old\":{}}"), errc::invalid_value);
    EXPECT_EQ(code_of("{\"operation\":\"upsert\"}"), errc::invalid_value);
    EXPECT_EQ(code_of("{\"operation\":5}"), errc::type_mismatch);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"new\":{\"a\":1,\"a\":2}}"), errc::invalid_value);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"columns\":[\"a\"],\"new\":{\"b\":1}}"), errc::invalid_value);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"columns\":[\"a\",\"a\"],\"new\":{}}"), errc::invalid_value);
    EXPECT_EQ(code_of("{\"operation\":\"insert\",\"columns\":[\"a\"],\"primary\":\"b\",\"new\":{}}"), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","columns":["a"],"new":{},"rowcast":{"version":1,"types":[]}})"),
              errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","columns":["a"],"new":{},"rowcast":{"version":2}})"),
              errc::unsupported_version);
    EXPECT_EQ(code_of(R"({"operation":"insert","columns":["a"],"new":{},"rowcast":{"types":[{"type":"varchar2"}]}})"),
              errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","new":{"a":{"$type":"nope","value":1}}})"), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","new":{"a":{"$type":"bytes","base64":"!!!!"}}})"), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","new":{"a":{"$type":"date","value":"2024-13-01"}}})"), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","new":{"a":{"$type":"bit","value":1}}})"), errc::missing_field);
    EXPECT_EQ(code_of(R"({"op":"x"})"), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"rowcast":{"version":1}})"), errc::missing_field);  // no envelope fields: default envelope
    {
        json_codec d = debezium_codec();  // …or the configured one
        EXPECT_EQ(error_of(d, R"({"rowcast":{"version":1}})").rfind("[rowcast.json.missing_field] at $.op", 0), 0u)
            << error_of(d, R"({"rowcast":{"version":1}})");
    }
    EXPECT_EQ(code_of(R"({"rowcast":{"commit_time":"yesterday"},"operation":"begin"})"), errc::invalid_value);
    // Huge numbers.
    const std::string typed = R"(,"rowcast":{"version":1,"types":[{"type":"bigint","unsigned":true}]}})";
    EXPECT_EQ(code_of(R"({"operation":"insert","columns":["a"],"new":{"a":184467440737095516160})" + typed), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","columns":["a"],"new":{"a":-1})" + typed), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","columns":["a"],"new":{"a":1e400})" + typed), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","new":{"a":1e400}})"), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"operation":"insert","new":{"a":)" + std::string(100000, '9') + "}}"), errc::invalid_value);
    EXPECT_EQ(code_of(R"({"rowcast":{"sequence":18446744073709551616},"operation":"begin"})"), errc::invalid_value);
}

TEST(Json, ErrorsNameByteOffset) {
    json_codec c;
    EXPECT_EQ(error_of(c, R"({"operation":"insert" "new":{}})"),
              "[rowcast.json.syntax_error] at byte 22: expected ',' or '}' in object");
    EXPECT_EQ(error_of(c, R"({"operation":"insert","new":{"a":"x)"),
              "[rowcast.json.truncated] at byte 35: unexpected end of input inside the JSON object");
}

TEST(Json, Limits) {
    std::string deep = R"({"operation":"begin","x":)";
    for (int i = 0; i < 100000; ++i) deep += '[';
    EXPECT_EQ(code_of(deep), errc::limit_exceeded);
    std::string deep_obj = R"({"operation":"begin","x":)";
    for (int i = 0; i < 100000; ++i) deep_obj += "{\"a\":";
    EXPECT_EQ(code_of(deep_obj), errc::limit_exceeded);
    // Within the limit is fine.
    std::string ok = R"({"operation":"begin","x":)" + std::string(60, '[') + std::string(60, ']') + "}";
    json_codec c;
    event e;
    EXPECT_TRUE(c.decode(ok, e).has_value());

    json_options small;
    small.limits.max_input_size = 100;
    json_codec lim{small};
    const std::string big = compact(expand(golden_hosts_rowcast));
    auto r = lim.decode(big, e);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error_value().code, make_error_code(errc::limit_exceeded));
    json_options few;
    few.limits.max_columns = 3;
    json_codec fc{few};
    r = fc.decode(big, e);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error_value().code, make_error_code(errc::limit_exceeded));
}

TEST(Json, MutatedInputNeverCrashes) {
    json_codec c, d = debezium_codec();
    test::event_generator gen(77);
    std::mt19937_64 rng(78);
    event e, again;
    for (int i = 0; i < 3000; ++i) {
        std::string s = enc(i % 2 ? c : d, gen.next());
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            const std::size_t at = rng() % s.size();
            switch (rng() % 4) {
                case 0: s[at] = static_cast<char>(rng()); break;
                case 1: s.erase(at, 1 + rng() % 8); break;
                case 2: s.insert(at, 1, "{}[]\":,\\0-e"[rng() % 11]); break;
                default: s[at] = "{}[]\":,\\0"[rng() % 9]; break;
            }
            if (s.empty()) s = "{";
        }
        auto r = c.decode(s, e);
        if (!r) {
            ASSERT_EQ(r.error_value().message.rfind("[rowcast.json.", 0), 0u);
            continue;
        }
        // Whatever decoded must survive its own round trip.
        std::string t = enc(c, e);
        ASSERT_TRUE(c.decode(t, again).has_value()) << t;
        ASSERT_EQ(again, e) << t;
    }
}

// --- wire-compatible envelopes: Debezium, Maxwell, smpl-repl strict ------------------------------

namespace {

std::string golden_file(const std::string& name) {
    std::ifstream in(std::string(ROWCAST_JSON_GOLDEN) + "/" + name, std::ios::binary);
    EXPECT_TRUE(in.good()) << name;
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Every member of `want` is in `got` with the same value and JSON type, recursively; arrays of
/// Connect fields (objects with "field") are matched by field name, other arrays element by
/// element. Paths in `skip` ("payload.source.thread") are not compared. Returns the differences.
void subset_diff(const nlohmann::json& want, const nlohmann::json& got, const std::string& path,
                 const std::set<std::string>& skip, std::vector<std::string>& diffs) {
    if (skip.count(path)) return;
    if (want.is_object()) {
        if (!got.is_object()) return diffs.push_back(path + ": not an object");
        for (auto it = want.begin(); it != want.end(); ++it) {
            const std::string p = path.empty() ? it.key() : path + "." + it.key();
            if (skip.count(p)) continue;
            if (!got.contains(it.key())) {
                diffs.push_back(p + ": missing");
                continue;
            }
            subset_diff(*it, got[it.key()], p, skip, diffs);
        }
        return;
    }
    if (want.is_array()) {
        if (!got.is_array()) return diffs.push_back(path + ": not an array");
        const bool by_field = !want.empty() && want[0].is_object() && want[0].contains("field");
        for (std::size_t i = 0; i < want.size(); ++i) {
            if (by_field) {
                const auto name = want[i]["field"];
                auto it = std::find_if(got.begin(), got.end(), [&](const auto& g) { return g.is_object() && g.value("field", nlohmann::json()) == name; });
                if (it == got.end()) diffs.push_back(path + "[" + name.dump() + "]: missing");
                else subset_diff(want[i], *it, path + "[" + name.get<std::string>() + "]", skip, diffs);
            } else if (i >= got.size()) diffs.push_back(path + "[" + std::to_string(i) + "]: missing");
            else subset_diff(want[i], got[i], path + "[" + std::to_string(i) + "]", skip, diffs);
        }
        if (!by_field && got.size() != want.size()) diffs.push_back(path + ": " + std::to_string(got.size()) + " elements, want " + std::to_string(want.size()));
        return;
    }
    if (want != got || want.type() != got.type()) diffs.push_back(path + ": " + got.dump() + ", want " + want.dump());
}

std::string subset_diff(std::string_view want, std::string_view got, const std::set<std::string>& skip = {}) {
    std::vector<std::string> d;
    subset_diff(nlohmann::json::parse(want), nlohmann::json::parse(got), "", skip, d);
    std::string s;
    for (const auto& x : d) s += x + "\n";
    return s;
}

json_codec wire_codec(json_envelope env, debezium_options o = {}, bool extension = true) {
    json_options opt;
    opt.envelope = env;
    opt.debezium = std::move(o);
    opt.extension = extension;
    return json_codec{opt};
}

debezium_options doc_options(bool schemas) {
    debezium_options o;
    o.server_name = "mysql-server-1";
    o.schemas = schemas;
    o.extension = false;
    return o;
}

// Fields the event model does not hold (re-encoded as null/false or left out):
// the connector's own version, and the older documentation's boolean "snapshot" (today's
// connector writes a string).
const std::set<std::string> dbz_not_modelled = {"payload.source.version", "payload.source.snapshot",
                                                "source.version", "source.snapshot",
                                                "schema.fields[source]"};

column col_n(std::string name, sql_type t, bool pk = false, bool nullable = true) {
    column c = col(std::move(name), t);
    c.primary_key = pk;
    c.nullable = nullable;
    return c;
}

/// A table with a column of every SQL type and one row of natural values (and a NULL).
event every_type_row() {
    std::vector<column> cols;
    std::vector<value> vals;
    auto add = [&](std::string name, column_type t, value v, bool pk = false) {
        column c;
        c.name = std::move(name);
        c.type = std::move(t);
        c.primary_key = pk;
        c.nullable = !pk;
        cols.push_back(std::move(c));
        vals.push_back(std::move(v));
    };
    auto ty = [](sql_type t, bool u = false) {
        column_type x;
        x.type = t;
        x.is_unsigned = u;
        return x;
    };
    column_type dec = ty(sql_type::decimal);
    dec.precision = 20, dec.scale = 6;
    column_type bit12 = ty(sql_type::bit), bit1 = ty(sql_type::bit);
    bit12.length = 12, bit1.length = 1;
    column_type tm = ty(sql_type::time), dt = ty(sql_type::datetime), dt3 = ty(sql_type::datetime), ts = ty(sql_type::timestamp);
    tm.fsp = 6, dt.fsp = 6, dt3.fsp = 3, ts.fsp = 6;
    column_type en = ty(sql_type::enum_), st = ty(sql_type::set);
    en.members = {"small", "medium", "large"};
    st.members = {"a", "b", "c", "d"};
    add("id", ty(sql_type::int_), std::int64_t{1004}, true);
    add("ti", ty(sql_type::tinyint), std::int64_t{-128});
    add("si", ty(sql_type::smallint), std::int64_t{-32768});
    add("mi", ty(sql_type::mediumint), std::int64_t{8388607});
    add("iu", ty(sql_type::int_, true), std::uint64_t{4294967295u});
    add("bi", ty(sql_type::bigint), std::int64_t{INT64_MIN});
    add("biu", ty(sql_type::bigint, true), std::uint64_t{9223372036854775807ULL});
    add("de", dec, decimal{"-12345678901234.123456"});
    add("fl", ty(sql_type::float_), 0.5f);
    add("db", ty(sql_type::double_), 2.718281828459045);
    add("b1", bit1, bit{1, 1});
    add("bt", bit12, bit{0b101010101010, 12});
    add("yr", ty(sql_type::year), year{2024});
    add("d", ty(sql_type::date), date{2024, 2, 29});
    add("tm", tm, rowcast::time{(13LL * 3600 + 5 * 60 + 10) * 1000000 + 123456});
    add("dt", dt, datetime{{2026, 11, 22}, 13, 0, 10, 123456});
    add("dt3", dt3, datetime{{2018, 6, 20}, 6, 37, 3, 0});
    add("ts", ts, timestamp{1795352710654321});
    add("ch", ty(sql_type::char_), text{"abc"});
    add("vc", ty(sql_type::varchar), text{"héllo wörld ✓"});
    add("tt", ty(sql_type::tinytext), text{"t"});
    add("tx", ty(sql_type::text), text{"long text"});
    add("mt", ty(sql_type::mediumtext), text{"m"});
    add("lt", ty(sql_type::longtext), text{"l"});
    add("bn", ty(sql_type::binary), bytes{std::string("\x00\x01\x02\x00", 4)});
    add("vb", ty(sql_type::varbinary), bytes{std::string("\x00\xff\x00", 3)});
    add("tb", ty(sql_type::tinyblob), bytes{"x"});
    add("bl", ty(sql_type::blob), bytes{std::string("\xde\xad\xbe\xef", 4)});
    add("mb", ty(sql_type::mediumblob), bytes{"y"});
    add("lb", ty(sql_type::longblob), bytes{"z"});
    add("en", en, enum_value{"medium", 2});
    add("st", st, set_value{"a,c", 5});
    add("js", ty(sql_type::json), json_text{R"({"a": [1, 2]})"});
    add("g", ty(sql_type::geometry), geometry{4326, std::string("\x01\x01\x00\x00\x00", 5)});
    add("u", ty(sql_type::uuid), text{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"});
    add("i4", ty(sql_type::inet4), text{"192.0.2.1"});
    add("i6", ty(sql_type::inet6), text{"2001:db8::1"});
    add("un", ty(sql_type::unknown), text{"untyped"});
    add("nul", ty(sql_type::varchar), null_value{});
    event e;
    e.kind = event_kind::insert;
    e.schema = "inventory";
    e.table = "every";
    e.columns = make_columns(std::move(cols));
    e.after = std::move(vals);
    e.sequence = 9;
    e.transaction = {"0-1-7", 0, true};
    e.source = {"binlog.000001", 4, "0-1-7", 1};
    e.commit_time = time_point{std::chrono::microseconds{1795352710000000}};
    e.capture_time = time_point{std::chrono::microseconds{1795352710012345}};
    return e;
}

/// JSON types a Kafka Connect JsonConverter accepts for a Connect schema type.
bool connect_accepts(const std::string& type, const nlohmann::json& v) {
    if (type == "int8" || type == "int16" || type == "int32" || type == "int64") return v.is_number_integer();
    if (type == "float32" || type == "float64") return v.is_number() || (v.is_string() && (v == "NaN" || v == "Infinity" || v == "-Infinity"));
    if (type == "boolean") return v.is_boolean();
    if (type == "string") return v.is_string();
    if (type == "bytes") return v.is_string();  // base64
    if (type == "struct") return v.is_object();
    if (type == "array") return v.is_array();
    return false;
}

}  // namespace

TEST(Json, DebeziumGoldenCreateBothWays) {
    json_codec c;
    const std::string g = golden_file("debezium_create.json");
    const event e = dec(c, g);
    EXPECT_EQ(e.kind, event_kind::insert);
    EXPECT_EQ(e.schema, "inventory");
    EXPECT_EQ(e.table, "customers");
    ASSERT_EQ(e.column_count(), 4u);
    // Types and optionality from the Connect schema.
    EXPECT_EQ((*e.columns)[0].type.type, sql_type::int_);
    EXPECT_FALSE((*e.columns)[0].nullable);
    EXPECT_EQ((*e.columns)[1].type.type, sql_type::varchar);
    EXPECT_EQ(e.after, (std::vector<value>{std::int64_t{1004}, text{"Anne"}, text{"Kretchmar"}, text{"annek@noanswer.org"}}));
    EXPECT_EQ(e.source.file, "mysql-bin.000003");
    EXPECT_EQ(e.source.offset, 154u);
    EXPECT_EQ(e.statement, "INSERT INTO customers (first_name, last_name, email) VALUES ('Anne', 'Kretchmar', 'annek@noanswer.org')");
    EXPECT_EQ(e.capture_time, time_point{std::chrono::milliseconds{1465491411815}});
    // Encoded again with the connector's options: every documented field, schema included.
    json_codec d = wire_codec(json_envelope::debezium, doc_options(true));
    const std::string out = enc(d, e);
    EXPECT_EQ(subset_diff(g, out, dbz_not_modelled), "") << out;
    // And our message reads back as the same event (no "rowcast" object: the Connect schema types it).
    EXPECT_EQ(dec(c, out), e) << out;
}

TEST(Json, DebeziumGoldenUpdateDeleteBothWays) {
    json_codec c;
    for (const char* name : {"debezium_update.json", "debezium_delete.json"}) {
        const std::string g = golden_file(name);
        const event e = dec(c, g);
        EXPECT_EQ(e.kind, std::string(name) == "debezium_update.json" ? event_kind::update : event_kind::delete_);
        EXPECT_EQ(e.source.server_id, 223344u);
        EXPECT_EQ(std::get<std::int64_t>(e.before[0]), 1004);  // a number stays a number
        json_codec d = wire_codec(json_envelope::debezium, doc_options(false));
        const std::string out = enc(d, e);
        EXPECT_EQ(subset_diff(g, out, dbz_not_modelled), "") << name << "\n" << out;
        EXPECT_EQ(dec(c, out), e) << out;
    }
}

TEST(Json, DebeziumGoldenTransactionBoundaries) {
    json_codec c;
    const event begin = dec(c, golden_file("debezium_tx_begin.json"));
    const event end = dec(c, golden_file("debezium_tx_end.json"));
    EXPECT_EQ(begin.kind, event_kind::begin);
    EXPECT_EQ(end.kind, event_kind::commit);
    EXPECT_EQ(end.transaction.id, "0e4d5dcd-a33b-11ea-80f1-02010a22a99e:10");
    EXPECT_EQ(end.commit_time, time_point{std::chrono::milliseconds{1486500577691}});
    // The stream the END describes: one row in s1.a, one in s2.a.
    event r1 = one_row({col_n("pk", sql_type::int_, true, false)}, {std::int64_t{1}});
    r1.schema = "s1", r1.table = "a", r1.transaction = {end.transaction.id, 0, false};
    event r2 = r1;
    r2.schema = "s2", r2.transaction.position = 1;
    json_codec d = wire_codec(json_envelope::debezium, doc_options(false));
    EXPECT_EQ(subset_diff(golden_file("debezium_tx_begin.json"), enc(d, begin)), "");
    const std::string row1 = enc(d, r1), row2 = enc(d, r2), out = enc(d, end);
    EXPECT_EQ(subset_diff(golden_file("debezium_tx_end.json"), out), "") << out;
    EXPECT_EQ(enc(d, end), out);  // encoding END again: the same counts
    // Transaction messages have no "op" (a row consumer's format would reject them): they are
    // the transaction topic's messages; row messages carry the per-table order.
    EXPECT_FALSE(nlohmann::json::parse(out).contains("op"));
    EXPECT_EQ(nlohmann::json::parse(row2)["transaction"]["total_order"], 2);
    EXPECT_EQ(nlohmann::json::parse(row2)["transaction"]["data_collection_order"], 1);
    EXPECT_EQ(dec(c, out), end);
}

TEST(Json, DebeziumTransactionCountsPerTable) {
    json_codec d = wire_codec(json_envelope::debezium);
    event b;
    b.kind = event_kind::begin;
    b.transaction.id = "0-1-5";
    event rows[3];
    for (int i = 0; i < 3; ++i) {
        rows[i] = one_row({col_n("id", sql_type::int_, true, false)}, {std::int64_t{i}});
        rows[i].table = i == 1 ? "u" : "t";
        rows[i].transaction = {"0-1-5", static_cast<std::uint32_t>(i), i == 2};
    }
    event end = b;
    end.kind = event_kind::commit;
    (void)enc(d, b);
    std::vector<nlohmann::json> out;
    for (auto& r : rows) out.push_back(nlohmann::json::parse(enc(d, r)));
    EXPECT_EQ(out[0]["transaction"]["data_collection_order"], 1);
    EXPECT_EQ(out[1]["transaction"]["data_collection_order"], 1);
    EXPECT_EQ(out[2]["transaction"]["data_collection_order"], 2);
    EXPECT_EQ(nlohmann::json::parse(enc(d, rows[2]))["transaction"]["data_collection_order"], 2);  // a retry
    const auto e = nlohmann::json::parse(enc(d, end));
    EXPECT_EQ(e["event_count"], 3);
    EXPECT_EQ(e["data_collections"], nlohmann::json::parse(R"([{"data_collection":"s.t","event_count":2},{"data_collection":"s.u","event_count":1}])"));
}

TEST(Json, DebeziumGoldenSchemaChangeBothWays) {
    json_codec c;
    const std::string g = golden_file("debezium_schema_change.json");
    const event e = dec(c, g);
    EXPECT_EQ(e.kind, event_kind::ddl);
    EXPECT_EQ(e.schema, "inventory");
    EXPECT_EQ(e.table, "customers");
    EXPECT_EQ(e.statement, "ALTER TABLE customers ADD middle_name varchar(255) AFTER first_name");
    ASSERT_EQ(e.column_count(), 5u);  // tableChanges: the table after the change
    EXPECT_TRUE((*e.columns)[0].primary_key);
    EXPECT_EQ((*e.columns)[2].name, "middle_name");
    EXPECT_EQ((*e.columns)[2].type.type, sql_type::varchar);
    EXPECT_EQ((*e.columns)[2].type.length, 255u);
    EXPECT_TRUE((*e.columns)[2].nullable);
    json_codec d = wire_codec(json_envelope::debezium, [] {
        auto o = doc_options(false);
        o.server_name = "mysql";
        return o;
    }());
    const std::string out = enc(d, e);
    // Not in the event model: the table's default charset, auto-increment/generated flags and custom attributes.
    std::set<std::string> skip = dbz_not_modelled;
    for (const char* f : {"defaultCharsetName", "attributes"}) skip.insert(std::string("payload.tableChanges[0].table.") + f);
    for (int i = 0; i < 5; ++i)
        for (const char* f : {"autoIncremented", "generated"})
            skip.insert("payload.tableChanges[0].table.columns[" + std::to_string(i) + "]." + f);
    const std::string payload = nlohmann::json::parse(g)["payload"].dump();
    std::set<std::string> pskip;
    for (const auto& s : skip) pskip.insert(s.rfind("payload.", 0) == 0 ? s.substr(8) : s);
    EXPECT_EQ(subset_diff(payload, out, pskip), "") << out;
    EXPECT_EQ(dec(c, out), e);
}

TEST(Json, DebeziumMessageKey) {
    event e = one_row({col_n("id", sql_type::int_, true, false), col_n("name", sql_type::varchar)},
                      {std::int64_t{1001}, text{"x"}});
    e.schema = "inventory", e.table = "customers";
    json_codec d = wire_codec(json_envelope::debezium, doc_options(true));
    std::string key;
    d.encode_key(e, key);
    EXPECT_EQ(subset_diff(golden_file("debezium_key.json"), key), "") << key;
    json_codec bare = wire_codec(json_envelope::debezium);
    key.clear();
    bare.encode_key(e, key);
    EXPECT_EQ(key, R"({"id":1001})");
    event nopk = one_row({col("a", sql_type::int_)}, {std::int64_t{1}});
    key.clear();
    bare.encode_key(nopk, key);
    EXPECT_EQ(key, "null");
}

TEST(Json, DebeziumEveryTypeConsumerView) {
    const event e = every_type_row();
    json_codec d = wire_codec(json_envelope::debezium, [] {
        debezium_options o;
        o.schemas = true;
        return o;
    }());
    const std::string s = enc(d, e);
    const auto j = nlohmann::json::parse(s);
    // A JsonConverter-style check: each value has the JSON type its Connect field says.
    const auto& fields = j["schema"]["fields"];
    const auto after_it = std::find_if(fields.begin(), fields.end(), [](const auto& f) { return f["field"] == "after"; });
    ASSERT_NE(after_it, fields.end());
    for (const auto& f : (*after_it)["fields"]) {
        const std::string name = f["field"];
        const auto& v = j["payload"]["after"][name];
        if (v.is_null()) {
            EXPECT_TRUE(f["optional"].get<bool>()) << name;
            continue;
        }
        EXPECT_TRUE(connect_accepts(f["type"], v)) << name << ": " << v.dump() << " for " << f.dump();
    }
    const auto& a = j["payload"]["after"];
    // The connector's default encodings.
    EXPECT_EQ(a["d"], 19782);                        // days since the epoch
    EXPECT_EQ(a["tm"], 47110123456LL);               // MicroTime
    EXPECT_EQ(a["dt"], 1795352410123456LL);          // MicroTimestamp
    EXPECT_EQ(a["dt3"], 1529476623000LL);            // Timestamp (ms): the connector documentation's example
    EXPECT_EQ(a["ts"], "2026-11-22T13:05:10.654321Z");  // ZonedTimestamp
    EXPECT_EQ(a["b1"], true);                        // BIT(1)
    EXPECT_EQ(a["bt"], "qgo=");                      // BIT(12) 0xaaa little-endian: aa 0a
    EXPECT_EQ(a["st"], "a,c");                       // EnumSet
    EXPECT_EQ(a["bl"], "3q2+7w==");                  // BYTES as base64
    EXPECT_EQ(a["de"], "/1SrVnMU571A");              // Decimal bytes: -12345678901234123456 = ff 54 ab 56 73 14 e7 bd 40, scale 6
    EXPECT_EQ(detail::connect_to_decimal(std::string("\xff\x54\xab\x56\x73\x14\xe7\xbd\x40", 9), 6), "-12345678901234.123456");
    EXPECT_EQ(a["g"], nlohmann::json::parse(R"({"wkb":"AQEAAAA=","srid":4326})"));
    EXPECT_EQ(a["yr"], 2024);
    // Logical type names.
    for (const auto& f : (*after_it)["fields"]) {
        const std::string n = f["field"];
        const std::map<std::string, std::string> names = {{"d", "io.debezium.time.Date"},
                                                          {"tm", "io.debezium.time.MicroTime"},
                                                          {"dt", "io.debezium.time.MicroTimestamp"},
                                                          {"dt3", "io.debezium.time.Timestamp"},
                                                          {"ts", "io.debezium.time.ZonedTimestamp"},
                                                          {"st", "io.debezium.data.EnumSet"},
                                                          {"js", "io.debezium.data.Json"},
                                                          {"de", "org.apache.kafka.connect.data.Decimal"}};
        if (auto it = names.find(n); it != names.end()) {
            EXPECT_EQ(f["name"], it->second) << n;
        }
        if (n == "de") {
            EXPECT_EQ(f["parameters"], nlohmann::json::parse(R"({"scale":"6","connect.decimal.precision":"20"})"));
        }
        if (n == "bt") {
            EXPECT_EQ(f["parameters"]["length"], "12");
        }
        if (n == "en") {
            EXPECT_EQ(f["parameters"]["allowed"], "small,medium,large");
        }
    }
    json_codec c;
    EXPECT_EQ(dec(c, s), e) << s;
}

TEST(Json, DebeziumHandlingModes) {
    const event e = every_type_row();
    debezium_options o;
    o.decimal = decimal_handling::string;
    o.binary = binary_handling::hex;
    o.time = time_precision::connect;
    o.bigint_unsigned = bigint_unsigned_handling::precise;
    json_codec d = wire_codec(json_envelope::debezium, o);
    const std::string s = enc(d, e);
    const auto a = nlohmann::json::parse(s)["after"];
    EXPECT_EQ(a["de"], "-12345678901234.123456");
    EXPECT_EQ(a["bl"], "deadbeef");
    EXPECT_EQ(a["tm"], 47110123);              // ms since midnight
    EXPECT_EQ(a["dt"], 1795352410123LL);       // ms
    EXPECT_EQ(a["biu"], "f/////////8=");       // Decimal(20,0) bytes of 2^63-1
    EXPECT_EQ(dec(d, s), e) << s;              // exact through "rowcast.exact" where the mode loses precision
    o.decimal = decimal_handling::double_;
    o.binary = binary_handling::base64_url_safe;
    o.time = time_precision::adaptive;
    o.bigint_unsigned = bigint_unsigned_handling::long_;
    json_codec d2 = wire_codec(json_envelope::debezium, o);
    const std::string s2 = enc(d2, e);
    const auto a2 = nlohmann::json::parse(s2)["after"];
    EXPECT_TRUE(a2["de"].is_number_float());
    EXPECT_EQ(a2["vb"], "AP8A");
    EXPECT_EQ(a2["biu"], 9223372036854775807LL);
    EXPECT_EQ(dec(d2, s2), e) << s2;
    // Without the "rowcast" object a foreign consumer's decoder reads the connector's forms.
    o = {};
    o.extension = false;
    json_codec bare = wire_codec(json_envelope::debezium, o);
    event dt_only = one_row({col_n("id", sql_type::int_, true, false)}, {std::int64_t{5}});
    EXPECT_EQ(enc(bare, dt_only).find("rowcast\":{"), std::string::npos);
}

// What the binlog source fills (row index, thread id, annotated statement, µs commit time,
// capture time) reaches the foreign consumer's fields and reads back without the "rowcast" object.
TEST(Json, WireEnvelopesCarrySourceRowThreadAndQuery) {
    event e = one_row({col_n("id", sql_type::int_, true, false)}, {std::int64_t{2}});
    e.schema = "s", e.table = "t";
    e.statement = "INSERT INTO t VALUES (1),(2)";
    e.transaction = {"0-1-9", 1, true};
    e.source = {"binlog.000001", 4000, "0-1-9", 1, 1, 42};
    e.commit_time = time_point{std::chrono::microseconds{1702989003486111}};
    e.capture_time = time_point{std::chrono::microseconds{1702989004000001}};
    debezium_options o;
    o.extension = false;
    json_codec d = wire_codec(json_envelope::debezium, o);
    const std::string s = enc(d, e);
    const auto j = nlohmann::json::parse(s);
    EXPECT_EQ(j["source"]["row"], 1) << s;
    EXPECT_EQ(j["source"]["thread"], 42) << s;
    EXPECT_EQ(j["source"]["query"], "INSERT INTO t VALUES (1),(2)") << s;
    EXPECT_EQ(j["source"]["ts_us"], 1702989003486111LL) << s;
    EXPECT_EQ(j["source"]["ts_ms"], 1702989003486LL) << s;
    EXPECT_EQ(j["ts_us"], 1702989004000001LL) << s;
    EXPECT_EQ(j["ts_ns"], 1702989004000001000LL) << s;
    const event back = dec(d, s);
    EXPECT_EQ(back.source.row, 1u);
    EXPECT_EQ(back.source.thread, 42u);
    EXPECT_EQ(back.statement, e.statement);
    json_codec m = wire_codec(json_envelope::maxwell, {}, false);
    const std::string ms = enc(m, e);
    const auto mj = nlohmann::json::parse(ms);
    EXPECT_EQ(mj["thread_id"], 42) << ms;
    EXPECT_EQ(mj["commit"], true) << ms;
    EXPECT_EQ(mj["xoffset"], 1) << ms;
    EXPECT_EQ(dec(m, ms).source.thread, 42u);
    for (json_envelope env : all_envelopes) {  // and exactly through each envelope's "rowcast" object
        json_codec c{json_options{env}};
        EXPECT_EQ(dec(c, enc(c, e)), e) << enc(c, e);
    }
    event unknown = e;  // thread unknown: Debezium's null, no Maxwell thread_id
    unknown.source.thread = 0;
    EXPECT_TRUE(nlohmann::json::parse(enc(d, unknown))["source"]["thread"].is_null());
    EXPECT_FALSE(nlohmann::json::parse(enc(m, unknown)).contains("thread_id"));
}

TEST(Json, MaxwellGoldenBothWays) {
    json_codec c;
    const std::set<std::string> not_modelled = {};
    const std::string gi = golden_file("maxwell_insert.json");
    const event ins = dec(c, gi);
    EXPECT_EQ(ins.kind, event_kind::insert);
    EXPECT_EQ(ins.schema, "test");
    EXPECT_EQ(ins.table, "e");
    EXPECT_EQ(ins.transaction.id, "23396");
    EXPECT_EQ(ins.transaction.xid, 23396u);
    EXPECT_TRUE(ins.transaction.last);
    EXPECT_EQ(ins.source.file, "master.000006");
    EXPECT_EQ(ins.source.offset, 800911u);
    EXPECT_EQ(ins.source.server_id, 23042u);
    EXPECT_EQ(ins.source.thread, 108u);
    EXPECT_EQ(ins.commit_time, time_point{std::chrono::seconds{1477053217}});
    EXPECT_EQ(ins.after, (std::vector<value>{std::int64_t{1}, 4.2341, text{"2016-10-21 05:33:37.523000"},
                                            text{"I am a creature of light."}}));
    json_codec m = wire_codec(json_envelope::maxwell, {}, false);
    EXPECT_EQ(subset_diff(gi, enc(m, ins), not_modelled), "") << enc(m, ins);
    for (const char* name : {"maxwell_update.json", "maxwell_delete.json", "maxwell_table_create.json"}) {
        const std::string g = golden_file(name);
        const event e = dec(c, g);
        const std::string out = enc(m, e);
        EXPECT_EQ(subset_diff(g, out, {"def.charset"}), "") << name << "\n" << out;
        EXPECT_EQ(dec(c, out), e) << out;
    }
    const event up = dec(c, golden_file("maxwell_update.json"));
    EXPECT_EQ(up.before, (std::vector<value>{std::int64_t{1}, 4.2341, text{"2016-10-21 05:33:37.523000"},
                                            text{"I am a creature of light."}}));  // data + old
    const event ddl = dec(c, golden_file("maxwell_table_create.json"));
    EXPECT_EQ(ddl.kind, event_kind::ddl);
    ASSERT_EQ(ddl.column_count(), 4u);
    EXPECT_EQ((*ddl.columns)[2].type.type, sql_type::timestamp);
    EXPECT_EQ((*ddl.columns)[2].type.fsp, 6u);
    EXPECT_TRUE((*ddl.columns)[0].primary_key);
}

TEST(Json, MaxwellEveryTypeConsumerView) {
    event e = every_type_row();
    e.kind = event_kind::update;
    e.before = e.after;
    e.before[1] = std::int64_t{5};
    json_codec m = wire_codec(json_envelope::maxwell);
    const std::string s = enc(m, e);
    const auto j = nlohmann::json::parse(s);
    EXPECT_EQ(j["type"], "update");
    EXPECT_EQ(j["old"], nlohmann::json::parse(R"({"ti":5})"));  // changed columns only
    EXPECT_TRUE(j["ts"].is_number_integer());
    EXPECT_TRUE(j["xoffset"].is_number_integer());
    EXPECT_EQ(j["commit"], true);
    EXPECT_EQ(j["position"], "binlog.000001:4");
    EXPECT_EQ(j["primary_key"], nlohmann::json::parse("[1004]"));
    const auto& d = j["data"];
    EXPECT_EQ(d["dt"], "2026-11-22 13:00:10.123456");
    EXPECT_EQ(d["dt3"], "2018-06-20 06:37:03.000");
    EXPECT_EQ(d["d"], "2024-02-29");
    EXPECT_EQ(d["tm"], "13:05:10.123456");
    EXPECT_EQ(d["ts"], "2026-11-22 13:05:10.654321");
    EXPECT_EQ(d["st"], nlohmann::json::parse(R"(["a","c"])"));
    EXPECT_EQ(d["js"], nlohmann::json::parse(R"({"a":[1,2]})"));  // embedded, not a string
    EXPECT_EQ(d["bl"], "3q2+7w==");
    EXPECT_EQ(d["bt"], 2730);
    EXPECT_TRUE(d["de"].is_number());
    EXPECT_TRUE(d["biu"].is_number_unsigned());
    json_codec c;
    EXPECT_EQ(dec(c, s), e) << s;
}

TEST(Json, SmplReplStrictEveryType) {
    event e = every_type_row();
    json_codec sr = wire_codec(json_envelope::smpl_repl);
    const std::string s = enc(sr, e);
    const auto j = nlohmann::json::parse(s);
    // smpl-repl's sample client: obj['new'][obj['primary']], every value a string.
    ASSERT_TRUE(j["primary"].is_string());
    EXPECT_EQ(j["new"][j["primary"].get<std::string>()], "1004");
    for (const auto& [k, v] : j["new"].items()) EXPECT_TRUE(v.is_string() || (k == "nul" && v.is_null())) << k << ": " << v.dump();
    EXPECT_EQ(j["new"]["dt"], "2026-11-22 13:00:10.123456");
    EXPECT_EQ(j["new"]["dt3"], "2018-06-20 06:37:03.000");
    EXPECT_EQ(j["timestamp"], "2026-11-22 13:05:10");
    json_codec c;
    EXPECT_EQ(dec(c, s), e) << s;
    // A table without a primary key: "primary" is still a column name, "keys" all columns.
    const event nopk = one_row({col("a", sql_type::int_), col("b", sql_type::varchar)}, {std::int64_t{1}, text{"x"}});
    const auto k = nlohmann::json::parse(enc(sr, nopk));
    EXPECT_EQ(k["primary"], "a");
    EXPECT_EQ(k["keys"], nlohmann::json::parse(R"(["a","b"])"));
    EXPECT_EQ(k["new"]["a"], "1");
    EXPECT_EQ(dec(c, enc(sr, nopk)), nopk);
    // The original smpl-repl message, encoded strictly, has its original values.
    const event orig = dec(c, test::smpl_repl_message);
    const auto o = nlohmann::json::parse(enc(sr, orig));
    const auto want = nlohmann::json::parse(test::smpl_repl_message);
    EXPECT_EQ(o["new"], want["new"]);
    EXPECT_EQ(o["old"], want["old"]);
    EXPECT_EQ(o["timestamp"], want["timestamp"]);
    EXPECT_EQ(o["primary"], want["primary"]);
}
