// Filters (pipeline/filter.hpp): globs, pattern forms, DDL attribution, column
// removal with a shared reduced column list, and filtered_sink: no empty BEGIN/COMMIT
// pair, the same output event by event and in batches, failures that change nothing,
// and the transactional forwarding (publish after a dropped group, discard).
#include <rowcast/codec/binary.hpp>
#include <rowcast/pipeline/filter.hpp>
#include <rowcast/transport/spool_sink.hpp>

#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

using namespace rowcast;

namespace {

// A recording sink; fails (taking nothing) while `fail_next` > 0.
struct recording_sink {
    std::vector<event> got;
    int fail_next = 0;
    std::size_t batches = 0;
    result<void> write(const event& e) {
        if (fail_next > 0) {
            --fail_next;
            return error::make(errc::unavailable, "test", "sink", "busy");
        }
        got.push_back(e);
        return {};
    }
    result<void> write(std::span<const event> b) {
        if (fail_next > 0) {
            --fail_next;
            return error::make(errc::unavailable, "test", "sink", "busy");
        }
        ++batches;
        got.insert(got.end(), b.begin(), b.end());
        return {};
    }
    result<void> flush() { return {}; }
};

// The least transactional sink: records calls.
struct txn_recorder : recording_sink {
    std::vector<std::string> calls;
    result<std::optional<std::string>> load_cursor() { return std::optional<std::string>("c0"); }
    result<void> publish(std::string_view c) {
        calls.push_back("publish " + std::string(c) + " after " + std::to_string(got.size()));
        return {};
    }
    result<void> discard() {
        calls.push_back("discard");
        return {};
    }
};

static_assert(event_sink<filtered_sink<recording_sink>>);
static_assert(!transactional_sink<filtered_sink<recording_sink>>);
static_assert(transactional_sink<filtered_sink<txn_recorder>>);
static_assert(transactional_sink<filtered_sink<txn_recorder&>>);
static_assert(transactional_sink<filtered_sink<spool_sink<binary_codec>>>);

event marker(event_kind k, std::string statement = {}, std::string schema = {}) {
    event e;
    e.kind = k;
    e.statement = std::move(statement);
    e.schema = std::move(schema);
    return e;
}

event row(std::string schema, std::string table, std::uint64_t seq = 0) {
    event e = test::small_insert();
    e.schema = std::move(schema);
    e.table = std::move(table);
    e.sequence = seq;
    return e;
}

event_filter make(filter_rules r) {
    auto f = event_filter::make(r);
    if (!f) throw std::runtime_error(f.error_value().message);
    return std::move(*f);
}

std::string describe(const std::vector<event>& v) {
    std::string s;
    for (const auto& e : v) {
        if (!s.empty()) s += ' ';
        s += to_string(e.kind);
        if (is_row_event(e.kind)) s += ":" + e.schema + "." + e.table;
    }
    return s;
}

// Reference glob: translate to a regex.
bool glob_by_regex(const std::string& pattern, const std::string& text) {
    std::string re;
    for (char c : pattern) re += c == '*' ? std::string(".*") : c == '?' ? std::string(".") : std::string(1, c);
    return std::regex_match(text, std::regex(re));
}

}  // namespace

TEST(Glob, Basics) {
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("*", "anything"));
    EXPECT_TRUE(glob_match("fx", "fx"));
    EXPECT_FALSE(glob_match("fx", "fx2"));
    EXPECT_TRUE(glob_match("fx*", "fx2"));
    EXPECT_TRUE(glob_match("f?", "fx"));
    EXPECT_FALSE(glob_match("f?", "f"));
    EXPECT_TRUE(glob_match("*_log", "audit_log"));
    EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
    EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
    EXPECT_FALSE(glob_match("Hosts", "hosts"));  // case-sensitive
    static_assert(glob_match("t?_*", "t1_x"));
}

TEST(Glob, AgreesWithARegexOnRandomInput) {
    std::mt19937_64 rng(42);
    auto str = [&](std::string_view alphabet, std::size_t max) {
        std::string s(rng() % (max + 1), ' ');
        for (auto& c : s) c = alphabet[rng() % alphabet.size()];
        return s;
    };
    for (int i = 0; i < 20000; ++i) {
        const std::string p = str("ab*?", 6), t = str("ab", 8);
        ASSERT_EQ(glob_match(p, t), glob_by_regex(p, t)) << "pattern '" << p << "' text '" << t << "'";
    }
}

TEST(FilterRules, PatternFormsAndErrors) {
    auto f = make({.include_tables = {"fx.kv", "audit"}});
    EXPECT_TRUE(f.table_passes("fx", "kv"));
    EXPECT_FALSE(f.table_passes("fx", "other"));
    EXPECT_TRUE(f.table_passes("any", "audit"));  // "table" = "*.table"
    EXPECT_FALSE(f.table_passes("other", "kv"));

    auto q = make({.include_tables = {"`my.db`.`t``x`"}});
    EXPECT_TRUE(q.table_passes("my.db", "t`x"));
    EXPECT_FALSE(q.table_passes("my", "db"));

    struct bad_case {
        filter_rules rules;
        std::string message;
    };
    const bad_case bad[] = {
        {{.include_tables = {"a.b.c"}},
         "[rowcast.filter.invalid_value] include_tables 'a.b.c': a table pattern is 'db.table' or 'table'"},
        {{.exclude_schemas = {"a.b"}},
         "[rowcast.filter.invalid_value] exclude_schemas 'a.b': a schema pattern is one name (backquote a name "
         "holding '.')"},
        {{.exclude_columns = {"a.b.c.d"}},
         "[rowcast.filter.invalid_value] exclude_columns 'a.b.c.d': a column pattern is 'db.table.column', "
         "'table.column' or 'column'"},
        {{.include_tables = {""}}, "[rowcast.filter.invalid_value] include_tables '': a table pattern is 'db.table' or 'table'"},
        {{.include_tables = {"fx."}}, "[rowcast.filter.invalid_value] include_tables 'fx.': a table pattern is 'db.table' or 'table'"},
        {{.include_tables = {"`fx"}}, "[rowcast.filter.invalid_value] include_tables '`fx': a table pattern is 'db.table' or 'table'"},
    };
    for (const auto& b : bad) {
        auto r = event_filter::make(b.rules);
        ASSERT_FALSE(r) << b.message;
        EXPECT_EQ(r.error_value().message, b.message);
    }
    EXPECT_TRUE(event_filter().empty());
    EXPECT_TRUE(make({}).empty());
    EXPECT_FALSE(make({.exclude_columns = {"pw"}}).empty());
}

TEST(FilterRules, SchemaAndTableRulesCombine) {
    auto f = make({.include_schemas = {"app*"}, .exclude_schemas = {"app_test"}, .exclude_tables = {"*.tmp_*"}});
    EXPECT_TRUE(f.table_passes("app", "hosts"));
    EXPECT_TRUE(f.table_passes("app2", "hosts"));
    EXPECT_FALSE(f.table_passes("app_test", "hosts"));
    EXPECT_FALSE(f.table_passes("app", "tmp_1"));
    EXPECT_FALSE(f.table_passes("mysql", "user"));
}

TEST(FilterRules, Columns) {
    auto f = make({.include_columns = {"app.users.*"}, .exclude_columns = {"*.users.password", "secret"}});
    EXPECT_TRUE(f.column_passes("app", "users", "name"));
    EXPECT_FALSE(f.column_passes("app", "users", "password"));
    EXPECT_FALSE(f.column_passes("app", "hosts", "secret"));
    EXPECT_TRUE(f.column_passes("app", "hosts", "ip"));
    auto only = make({.include_columns = {"app.hosts.id", "app.hosts.ip"}});
    EXPECT_TRUE(only.column_passes("app", "hosts", "ip"));
    EXPECT_FALSE(only.column_passes("app", "hosts", "mac"));
    EXPECT_TRUE(only.column_passes("app", "other", "mac"));  // no include rule for that table: all columns
}

TEST(DdlTarget, TableStatements) {
    struct tcase {
        std::string sql;
        std::vector<std::pair<std::string, std::string>> tables;
    };
    const tcase cases[] = {
        {"CREATE TABLE t (a INT)", {{"def", "t"}}},
        {"create table if not exists `db`.`t` (a int)", {{"db", "t"}}},
        {"CREATE OR REPLACE TEMPORARY TABLE x.y LIKE z", {{"x", "y"}}},
        {"ALTER TABLE kv ADD COLUMN b INT", {{"def", "kv"}}},
        {"ALTER ONLINE IGNORE TABLE IF EXISTS fx . kv ENGINE=InnoDB", {{"fx", "kv"}}},
        {"DROP TABLE `a`,b.c /* generated by server */", {{"def", "a"}, {"b", "c"}}},
        {"DROP TEMPORARY TABLE IF EXISTS `t1`", {{"def", "t1"}}},
        {"TRUNCATE TABLE fx.kv", {{"fx", "kv"}}},
        {"truncate kv", {{"def", "kv"}}},
        {"RENAME TABLE a TO b, fx.c TO other.d", {{"def", "a"}, {"def", "b"}, {"fx", "c"}, {"other", "d"}}},
        {"CREATE UNIQUE INDEX i ON fx.kv (a)", {{"fx", "kv"}}},
        {"DROP INDEX IF EXISTS i ON kv", {{"def", "kv"}}},
        {"  /*!40000 ALTER TABLE `t` DISABLE KEYS */", {{"def", "t"}}},
        {"CREATE TABLE `we``ird` (a INT)", {{"def", "we`ird"}}},
        {"CREATE TABLE héllo (a INT)", {{"def", "héllo"}}},
    };
    for (const auto& c : cases) {
        const ddl_target t = parse_ddl_target(c.sql, "def");
        EXPECT_EQ(t.what, ddl_target::kind::tables) << c.sql;
        EXPECT_EQ(t.tables, c.tables) << c.sql;
    }
}

TEST(DdlTarget, SchemaStatementsAndUnattributed) {
    for (auto [sql, schema] : {std::pair{"CREATE DATABASE shop", "shop"}, {"create schema if not exists `s-1`", "s-1"},
                               {"DROP DATABASE IF EXISTS old", "old"}, {"ALTER DATABASE shop CHARACTER SET utf8mb4", "shop"}}) {
        const ddl_target t = parse_ddl_target(sql, "def");
        EXPECT_EQ(t.what, ddl_target::kind::schema) << sql;
        EXPECT_EQ(t.schema, schema) << sql;
    }
    for (const char* sql : {"GRANT SELECT ON *.* TO u", "CREATE VIEW v AS SELECT 1", "DROP TRIGGER tr",
                            "ALTER DATABASE CHARACTER SET utf8mb4", "CREATE USER x", "/* c */ CREATE TABLE t (a INT)",
                            "CREATE TABLE", "DROP TABLE IF", "RENAME TABLE a", "CREATE FUNCTION f() RETURNS INT RETURN 1",
                            "CREATE TABLE `unclosed (a INT)", "ANALYZE TABLE t", ""}) {
        const ddl_target t = parse_ddl_target(sql, "def");
        EXPECT_EQ(t.what, ddl_target::kind::none) << sql;
        EXPECT_TRUE(t.tables.empty()) << sql;
    }
}

TEST(FilterRules, DdlByTableThenBySchema) {
    auto f = make({.include_tables = {"fx.kv"}});
    EXPECT_TRUE(f.passes(marker(event_kind::ddl, "ALTER TABLE kv ADD c INT", "fx")));
    EXPECT_FALSE(f.passes(marker(event_kind::ddl, "ALTER TABLE other ADD c INT", "fx")));
    EXPECT_FALSE(f.passes(marker(event_kind::ddl, "ALTER TABLE kv ADD c INT", "app")));
    EXPECT_TRUE(f.passes(marker(event_kind::ddl, "RENAME TABLE fx.kv TO fx.kv_old", "app")));  // any named table
    EXPECT_TRUE(f.passes(marker(event_kind::ddl, "GRANT SELECT ON fx.* TO u", "fx")));          // schema fx
    EXPECT_FALSE(f.passes(marker(event_kind::ddl, "GRANT SELECT ON fx.* TO u", "app")));
    EXPECT_FALSE(f.passes(marker(event_kind::ddl, "GRANT SELECT ON fx.* TO u", "")));
    EXPECT_TRUE(f.passes(marker(event_kind::ddl, "CREATE DATABASE fx", "")));
    EXPECT_FALSE(f.passes(marker(event_kind::ddl, "CREATE DATABASE other", "fx")));

    auto ex = make({.exclude_schemas = {"tmp"}, .exclude_tables = {"*.log"}});
    EXPECT_FALSE(ex.passes(marker(event_kind::ddl, "DROP TABLE log", "app")));
    EXPECT_TRUE(ex.passes(marker(event_kind::ddl, "DROP TABLE log, hosts", "app")));
    EXPECT_FALSE(ex.passes(marker(event_kind::ddl, "CREATE DATABASE tmp", "app")));
    EXPECT_FALSE(ex.passes(marker(event_kind::ddl, "CREATE VIEW v AS SELECT 1", "tmp")));
    EXPECT_TRUE(ex.passes(marker(event_kind::ddl, "CREATE VIEW v AS SELECT 1", "app")));
    EXPECT_TRUE(ex.passes(marker(event_kind::begin)));
}

TEST(FilteredSink, AllFilteredTransactionLeavesNoEmptyPair) {
    recording_sink out;
    filtered_sink s(make({.include_tables = {"fx.kv"}}), out);  // a reference to `out`
    const std::vector<event> in = {
        marker(event_kind::begin),  row("fx", "other"), row("app", "kv"), marker(event_kind::commit),
        marker(event_kind::begin),  row("fx", "other"), row("fx", "kv"),  marker(event_kind::commit),
        marker(event_kind::ddl, "ALTER TABLE other ADD c INT", "fx"),     marker(event_kind::begin),
        marker(event_kind::rollback)};
    for (const auto& e : in) ASSERT_TRUE(s.write(e));
    EXPECT_EQ(describe(out.got), "begin insert:fx.kv commit");
    EXPECT_EQ(s.stats().empty_groups, 2u);
    EXPECT_EQ(s.stats().dropped, 4u);
    EXPECT_EQ(s.stats().passed, 3u);
}

TEST(FilteredSink, EmptyFilterPassesEverythingUnchanged) {
    recording_sink out;
    filtered_sink s(event_filter{}, out);
    const std::vector<event> in = {marker(event_kind::begin), marker(event_kind::commit), row("a", "b")};
    ASSERT_TRUE(s.write(in));
    EXPECT_EQ(out.got, in);
    EXPECT_EQ(out.batches, 1u);
}

TEST(FilteredSink, RemovesColumnsAndSharesTheReducedList) {
    recording_sink out;
    filtered_sink s(make({.exclude_columns = {"shop.items.qty", "*.*.at"}}), out);
    event a = row("shop", "items", 1), b = row("shop", "items", 2), u = test::hosts_update();
    ASSERT_TRUE(s.write(a));
    ASSERT_TRUE(s.write(b));
    ASSERT_TRUE(s.write(u));  // no column of hosts matches: unchanged, same list
    ASSERT_EQ(out.got.size(), 3u);
    const auto& r = out.got[0];
    ASSERT_TRUE(r.columns);
    ASSERT_EQ(r.columns->size(), 2u);
    EXPECT_EQ((*r.columns)[0].name, "id");
    EXPECT_EQ((*r.columns)[1].name, "name");
    EXPECT_EQ(r.after.size(), 2u);
    EXPECT_EQ(r.after[0], a.after[0]);
    EXPECT_EQ(r.after[1], a.after[1]);
    EXPECT_TRUE(validate(r));
    EXPECT_EQ(out.got[1].columns, r.columns);  // built once per table version, shared
    EXPECT_EQ(out.got[1].sequence, 2u);
    EXPECT_EQ(out.got[2], u);
    EXPECT_EQ(out.got[2].columns, u.columns);
    EXPECT_EQ(s.stats().reduced, 2u);

    // Update: both images reduced; same column list under another table name is another entry.
    filtered_sink keep_ip(make({.include_columns = {"inventory.hosts.id", "inventory.hosts.ip"}}), out);
    out.got.clear();
    event other = u;
    other.table = "hosts_copy";
    ASSERT_TRUE(keep_ip.write(u));
    ASSERT_TRUE(keep_ip.write(other));
    ASSERT_EQ(out.got[0].columns->size(), 2u);
    EXPECT_EQ(out.got[0].before, (std::vector<value>{u.before[0], u.before[2]}));
    EXPECT_EQ(out.got[0].after, (std::vector<value>{u.after[0], u.after[2]}));
    EXPECT_TRUE(validate(out.got[0]));
    EXPECT_EQ(out.got[1].columns, u.columns);
}

namespace {

// A random stream of transactions and standalone DDL over a few tables.
std::vector<event> random_stream(std::mt19937_64& rng, std::size_t groups) {
    const char* schemas[] = {"fx", "app", "tmp"};
    const char* tables[] = {"kv", "hosts", "log"};
    std::vector<event> v;
    std::uint64_t seq = 0;
    for (std::size_t g = 0; g < groups; ++g) {
        if (rng() % 6 == 0) {
            v.push_back(marker(event_kind::ddl, std::string("ALTER TABLE ") + tables[rng() % 3] + " ADD c INT",
                               schemas[rng() % 3]));
            continue;
        }
        v.push_back(marker(event_kind::begin));
        const std::size_t n = rng() % 5;
        for (std::size_t i = 0; i < n; ++i) v.push_back(row(schemas[rng() % 3], tables[rng() % 3], ++seq));
        v.push_back(marker(rng() % 5 == 0 ? event_kind::rollback : event_kind::commit));
    }
    return v;
}

// The model: per group, the events that pass; the group's BEGIN/COMMIT only around a non-empty set.
std::vector<event> model(const event_filter& f, const std::vector<event>& in) {
    std::vector<event> out, group;
    bool in_txn = false;
    for (const auto& e : in) {
        if (e.kind == event_kind::begin) {
            in_txn = true;
            group = {e};
        } else if (e.kind == event_kind::commit || e.kind == event_kind::rollback) {
            if (group.size() > 1) {
                out.insert(out.end(), group.begin(), group.end());
                out.push_back(e);
            }
            in_txn = false;
        } else if (f.passes(e)) {
            (in_txn ? group : out).push_back(e);
        }
    }
    return out;
}

void expect_no_empty_pair(const std::vector<event>& v) {
    for (std::size_t i = 0; i + 1 < v.size(); ++i)
        EXPECT_FALSE(v[i].kind == event_kind::begin &&
                     (v[i + 1].kind == event_kind::commit || v[i + 1].kind == event_kind::rollback))
            << "empty BEGIN/COMMIT pair at " << i;
}

}  // namespace

TEST(FilteredSink, PropertyMatchesTheModelEventByEventAndInBatchesDespiteFailures) {
    const filter_rules rule_sets[] = {
        {.include_tables = {"fx.kv"}},
        {.exclude_schemas = {"tmp"}, .exclude_tables = {"log"}},
        {.include_schemas = {"app", "fx"}, .include_tables = {"h*", "kv"}},
        {.include_schemas = {"nothing"}},
    };
    std::mt19937_64 rng(7);
    for (const auto& rules : rule_sets) {
        const event_filter f = make(rules);
        for (int round = 0; round < 30; ++round) {
            const auto in = random_stream(rng, 40);
            const auto want = model(f, in);
            // one by one, the downstream failing now and then (the same event is written again)
            recording_sink one;
            filtered_sink s1(f, one);
            for (const auto& e : in) {
                if (rng() % 7 == 0) one.fail_next = 1 + static_cast<int>(rng() % 2);
                result<void> r;
                for (int tries = 0; !(r = s1.write(e)) && tries < 5; ++tries) {
                }
                ASSERT_TRUE(r);
            }
            ASSERT_EQ(describe(one.got), describe(want));
            EXPECT_EQ(one.got, want);
            expect_no_empty_pair(one.got);
            // in random batches, with failures: a failed batch is written again whole
            recording_sink many;
            filtered_sink s2(f, many);
            for (std::size_t i = 0; i < in.size();) {
                const std::size_t n = std::min<std::size_t>(in.size() - i, 1 + rng() % 9);
                if (rng() % 5 == 0) many.fail_next = 1;
                const std::span<const event> batch(in.data() + i, n);
                result<void> r;
                for (int tries = 0; !(r = s2.write(batch)) && tries < 3; ++tries) {
                }
                ASSERT_TRUE(r);
                i += n;
            }
            EXPECT_EQ(many.got, want);
        }
    }
}

TEST(FilteredSink, TransactionalForwarding) {
    txn_recorder out;
    filtered_sink s(make({.include_tables = {"fx.kv"}}), out);
    ASSERT_EQ(*s.load_cursor(), std::optional<std::string>("c0"));
    ASSERT_TRUE(s.write(marker(event_kind::begin)));
    ASSERT_TRUE(s.write(row("app", "x")));
    ASSERT_TRUE(s.write(marker(event_kind::commit)));
    ASSERT_TRUE(s.publish("c1"));  // a dropped group still moves the cursor on
    ASSERT_TRUE(s.write(marker(event_kind::begin)));
    ASSERT_TRUE(s.discard());  // the held BEGIN is forgotten
    ASSERT_TRUE(s.write(row("fx", "kv")));  // outside a transaction now: no BEGIN before it
    EXPECT_EQ(describe(out.got), "insert:fx.kv");
    EXPECT_EQ(out.calls, (std::vector<std::string>{"publish c1 after 0", "discard"}));
}

TEST(FilteredSink, IntoASpoolSinkOnlyWantedTransactionsArePublished) {
    test::temp_dir dir;
    std::filesystem::create_directory(dir.path() / "spool");
    auto spool = spool_sink<binary_codec>::open(
                     {.spool = {.directory = dir.path() / "spool", .durability = spool_durability::none},
                      .checkpoint = dir.path() / "cursor"})
                     .value();
    filtered_sink s(make({.include_tables = {"fx.kv"}}), std::move(spool));
    std::mt19937_64 rng(3);
    const auto in = random_stream(rng, 60);
    bool in_txn = false;
    int cursor = 0;
    for (const auto& e : in) {
        ASSERT_TRUE(s.write(e));
        if (ends_group(e, in_txn)) {
            auto p = s.publish("pos=" + std::to_string(++cursor));
            ASSERT_TRUE(p) << p.error_value().message;
        }
    }
    EXPECT_EQ(*s.load_cursor(), std::optional<std::string>("pos=" + std::to_string(cursor)));
    std::vector<std::filesystem::path> files;
    for (const auto& f : std::filesystem::directory_iterator(dir.path() / "spool"))
        if (f.is_regular_file() && !f.path().filename().string().starts_with(".")) files.push_back(f.path());
    std::sort(files.begin(), files.end());
    std::vector<event> got;
    binary_codec codec;
    for (const auto& p : files) {
        std::ifstream f(p, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        got.push_back(decode(codec, bytes).value());
    }
    const auto want = model(make({.include_tables = {"fx.kv"}}), in);
    EXPECT_EQ(describe(got), describe(want));
    expect_no_empty_pair(got);
}
