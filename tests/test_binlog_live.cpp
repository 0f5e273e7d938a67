// Binlog parser against a live private MariaDB (label "mariadb"): a randomized
// workload over many column types (multi-row statements, a large transaction,
// an ALTER TABLE in the middle, updates and deletes, a rolled-back
// transaction) is written; after FLUSH BINARY LOGS the server's binlog files
// are decoded (with mariadb_schema_provider refining UUID/INET6/JSON) and the
// table state rebuilt from the decoded rows must equal the rows SELECTed.
#include "support/binlog_rows.hpp"
#include "support/mariadb_server.hpp"

#include <rowcast/binlog/mariadb_schema_provider.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/detail/text.hpp>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace rb = rowcast::binlog;
using namespace rowcast;
using rowcast::test::mariadb_server;

namespace {

// The text MariaDB returns for a column (with the SELECT list below): UNIX_TIMESTAMP(ts) for
// timestamps, the shortest round-trip text for DOUBLE (compared as a number), else server_text().
std::optional<std::string> as_server_text(const value& v, const column&) {
    std::string s;
    if (const auto* x = std::get_if<timestamp>(&v)) {
        const std::int64_t sec = x->microseconds / 1000000, us = x->microseconds % 1000000;
        char buf[40];
        std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(sec), static_cast<long long>(us));
        return std::string(buf);
    }
    if (const auto* d = std::get_if<double>(&v)) {
        detail::append_number(s, *d);
        return s;
    }
    return rowcast::test::server_text(v);
}

struct state_handler {
    std::map<std::string, std::map<std::string, std::vector<std::optional<std::string>>>> tables;  // table -> pk -> row
    std::map<std::string, columns_ptr> shapes;
    std::size_t rows = 0, commits = 0, rollbacks = 0, ddls = 0;
    std::vector<std::optional<std::string>> render(const rb::table_info& t, rb::image img) {
        std::vector<std::optional<std::string>> r;
        for (std::size_t i = 0; i < img.size(); ++i) r.push_back(as_server_text(img[i], (*t.columns)[i]));
        return r;
    }
    static std::string key(rb::image img) { return std::to_string(std::get<std::int64_t>(img[0])); }
    void begin(const rb::txn_info&) {}
    void commit(const rb::txn_info&) { ++commits; }
    void rollback(const rb::txn_info&) { ++rollbacks; }
    void insert(const rb::txn_info&, const rb::table_info& t, rb::image a) {
        ++rows;
        shapes[t.table] = t.columns;
        tables[t.table][key(a)] = render(t, a);
    }
    void delete_row(const rb::txn_info&, const rb::table_info& t, rb::image b) {
        ++rows;
        tables[t.table].erase(key(b));
    }
    std::string pending;
    void update_before(const rb::txn_info&, const rb::table_info&, rb::image b) { pending = key(b); }
    void update_after(const rb::txn_info&, const rb::table_info& t, rb::image a) {
        ++rows;
        shapes[t.table] = t.columns;
        tables[t.table].erase(pending);
        tables[t.table][key(a)] = render(t, a);
    }
    void ddl(const rb::txn_info&, std::string_view, std::string_view) { ++ddls; }
};

std::string rand_text(std::mt19937_64& rng, std::size_t max) {
    static const char* pieces[] = {"a", "Z", " ", "ü", "é", "世", "😀", "''", "\\\\", "0", "\"", "x"};
    std::string s;
    const std::size_t n = rng() % (max + 1);
    for (std::size_t i = 0; i < n; ++i) s += pieces[rng() % 12];
    return s;
}

std::string random_values(std::mt19937_64& rng, int id, bool with_extra) {
    auto pick = [&](int pct_null, const std::string& v) { return static_cast<int>(rng() % 100) < pct_null ? std::string("NULL") : v; };
    char buf[256];
    std::string r = "(" + std::to_string(id);
    r += "," + pick(10, std::to_string(static_cast<std::int64_t>(rng() % 4294967296ULL) - 2147483648LL));
    r += "," + pick(10, std::to_string(rng() % 4294967296ULL));
    r += "," + pick(10, std::to_string(static_cast<std::int64_t>(rng())));
    std::snprintf(buf, sizeof buf, "%s%llu.%06llu", rng() % 2 ? "-" : "", static_cast<unsigned long long>(rng() % 100000000000000ULL),
                  static_cast<unsigned long long>(rng() % 1000000));
    r += "," + pick(10, buf);
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(rng() % 200000) - 100000);
    r += "," + pick(10, std::string(buf) + "/8");
    std::snprintf(buf, sizeof buf, "'%04d-%02d-%02d'", 1000 + static_cast<int>(rng() % 9000), 1 + static_cast<int>(rng() % 12),
                  1 + static_cast<int>(rng() % 28));
    r += "," + pick(10, buf);
    std::snprintf(buf, sizeof buf, "'%s%d:%02d:%02d.%03d'", rng() % 2 ? "-" : "", static_cast<int>(rng() % 839),
                  static_cast<int>(rng() % 60), static_cast<int>(rng() % 60), static_cast<int>(rng() % 1000));
    r += "," + pick(10, buf);
    std::snprintf(buf, sizeof buf, "'%04d-%02d-%02d %02d:%02d:%02d.%06d'", 1000 + static_cast<int>(rng() % 9000),
                  1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28), static_cast<int>(rng() % 24),
                  static_cast<int>(rng() % 60), static_cast<int>(rng() % 60), static_cast<int>(rng() % 1000000));
    r += "," + pick(10, buf);
    std::snprintf(buf, sizeof buf, "FROM_UNIXTIME(%llu.%06llu)", 1 + static_cast<unsigned long long>(rng() % 2147483000ULL),
                  static_cast<unsigned long long>(rng() % 1000000));
    r += "," + pick(10, buf);
    r += "," + pick(10, "'" + rand_text(rng, 40) + "'");
    r += "," + pick(10, "'" + std::string(rng() % 2 ? "caf\xc3\xa9 " : "") + "l\xc3\xa4tin1'");
    std::string blob = "X'";
    const std::size_t bl = rng() % 3 == 0 ? 70000 : rng() % 40;
    for (std::size_t i = 0; i < bl; ++i) {
        std::snprintf(buf, sizeof buf, "%02X", static_cast<unsigned>(rng() % 256));
        blob += buf;
    }
    r += "," + pick(10, blob + "'");
    static const char* enums[] = {"'red'", "'green'", "'blue'"};
    r += "," + pick(10, enums[rng() % 3]);
    static const char* sets[] = {"''", "'a'", "'b,d'", "'a,b,c,d'", "'c'"};
    r += "," + pick(10, sets[rng() % 5]);
    r += "," + pick(10, "b'" + std::string(1 + rng() % 9, '1') + "0'");
    r += "," + pick(10, "'{\"k\": " + std::to_string(rng() % 1000) + ", \"s\": \"" + "t" + std::to_string(rng() % 77) + "\"}'");
    std::snprintf(buf, sizeof buf, "'%08llx-%04llx-4%03llx-8%03llx-%012llx'", static_cast<unsigned long long>(rng() & 0xffffffff),
                  static_cast<unsigned long long>(rng() & 0xffff), static_cast<unsigned long long>(rng() & 0xfff),
                  static_cast<unsigned long long>(rng() & 0xfff), static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
    r += "," + pick(10, buf);
    std::snprintf(buf, sizeof buf, "'2001:db8::%llx'", static_cast<unsigned long long>(rng() % 65536));
    r += "," + pick(10, rng() % 4 == 0 ? std::string("'::ffff:10.0.0.") + std::to_string(rng() % 256) + "'" : std::string(buf));
    r += "," + pick(10, std::to_string(1901 + rng() % 255));
    if (with_extra) r += "," + pick(10, std::to_string(rng() % 1000));
    return r + ")";
}

const char* select_list(bool with_extra) {
    return with_extra
               ? "SELECT id,i,u,bi,dc,f,dt,tm,dtm,UNIX_TIMESTAMP(ts),vc,l1,bl,e,s,bt+0,j,uu,ip,y,extra FROM t ORDER BY id"
               : "SELECT id,i,u,bi,dc,f,dt,tm,dtm,UNIX_TIMESTAMP(ts),vc,l1,bl,e,s,bt+0,j,uu,ip,y FROM t ORDER BY id";
}

}  // namespace

TEST(BinlogLive, RandomWorkloadDecodesToTheServersRows) {
    mariadb_server server;
    auto c = server.connect();
    c.query("SET time_zone='+00:00'");
    c.query("CREATE DATABASE w");
    c.query("USE w");
    c.query(
        "CREATE TABLE t (id INT PRIMARY KEY, i INT, u INT UNSIGNED, bi BIGINT, dc DECIMAL(20,6), f DOUBLE, dt DATE,"
        " tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(6) NULL, vc VARCHAR(200) CHARACTER SET utf8mb4,"
        " l1 VARCHAR(20) CHARACTER SET latin1, bl MEDIUMBLOB, e ENUM('red','green','blue'), s SET('a','b','c','d'),"
        " bt BIT(10), j JSON, uu UUID, ip INET6, y YEAR) ENGINE=InnoDB");
    std::mt19937_64 rng(20261122);
    int next_id = 1;
    bool extra = false;
    std::vector<int> live;
    auto insert_rows = [&](int n) {
        std::string q = "INSERT INTO t VALUES ";
        for (int k = 0; k < n; ++k) {
            if (k) q += ",";
            q += random_values(rng, next_id, extra);
            live.push_back(next_id++);
        }
        c.query(q);
    };
    for (int round = 0; round < 60; ++round) {
        if (round == 30) {  // ALTER TABLE in the middle
            c.query("ALTER TABLE t ADD COLUMN extra INT NULL AFTER y");
            extra = true;
        }
        const int op = static_cast<int>(rng() % 10);
        if (op < 4 || live.size() < 5) {
            insert_rows(1 + static_cast<int>(rng() % 5));  // multi-row statements
        } else if (op < 7) {
            const int id = live[rng() % live.size()];
            std::string v = random_values(rng, id, extra);
            c.query("REPLACE INTO t VALUES " + v);  // update via delete+insert or update
            c.query("UPDATE t SET i = i + 1, vc = CONCAT(IFNULL(vc,''), '+'), dc = -dc WHERE id = " +
                    std::to_string(live[rng() % live.size()]));
        } else if (op < 9) {
            const auto pos = rng() % live.size();
            c.query("DELETE FROM t WHERE id = " + std::to_string(live[pos]));
            live.erase(live.begin() + static_cast<long>(pos));
        } else {
            c.query("BEGIN");
            insert_rows(2);
            c.query("UPDATE t SET e = 'blue' WHERE id <= " + std::to_string(next_id));
            c.query("ROLLBACK");  // absent from the binlog
            live.resize(live.size() - 2);
        }
        if (round == 45) {  // a large transaction
            c.query("BEGIN");
            for (int k = 0; k < 20; ++k) insert_rows(50);
            c.query("UPDATE t SET y = 2000 WHERE id % 3 = 0");
            c.query("COMMIT");
        }
    }
    c.query("FLUSH BINARY LOGS");
    auto logs = c.rows("SHOW BINARY LOGS");
    ASSERT_GE(logs.size(), 2u);

    auto schema_conn = rowcast::mysql::connection::open(server.client_options()).value();
    rb::mariadb_schema_provider provider(schema_conn);
    rb::parser_options o;
    o.provider = &provider;
    state_handler h;
    std::uint64_t row_events = 0;
    for (std::size_t i = 0; i + 1 < logs.size(); ++i) {
        const auto path = (server.dir() / "binlog" / *logs[i][0]).string();
        auto st = rb::read_file(path, h, o);
        ASSERT_TRUE(st) << st.error_value().message;
        row_events += st->row_events;
    }
    EXPECT_GT(row_events, 30u);
    EXPECT_GT(h.rows, 1000u);
    EXPECT_EQ(h.rollbacks, 0u);
    ASSERT_TRUE(h.shapes.count("t"));
    EXPECT_EQ(h.shapes["t"]->size(), 21u);
    EXPECT_EQ((*h.shapes["t"])[17].type.type, sql_type::uuid);
    EXPECT_EQ((*h.shapes["t"])[16].type.type, sql_type::json);

    auto expected = c.rows(select_list(true));
    const auto& got = h.tables["t"];
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_GT(expected.size(), 1000u);
    std::map<std::string, const std::vector<std::optional<std::string>>*> by_id;
    for (auto& [id, row] : got) by_id[id] = &row;
    for (const auto& exp : expected) {
        auto it = by_id.find(*exp[0]);
        ASSERT_NE(it, by_id.end()) << "row " << *exp[0] << " missing";
        auto row = *it->second;
        if (row.size() + 1 == exp.size()) row.push_back(std::nullopt);  // written before ALTER ... ADD COLUMN extra
        ASSERT_EQ(row.size(), exp.size());
        for (std::size_t k = 0; k < exp.size(); ++k) {
            std::optional<std::string> e = exp[k];
            if (e && k == 7) {  // TIME(3): the server prints 3 digits, the decoder's text has 6
                *e += "000";
            }
            if (e && k == 5) {  // DOUBLE: compare numerically
                EXPECT_EQ(std::stod(*e), std::stod(row[k].value_or("nan"))) << "row " << *exp[0] << " col " << k;
                continue;
            }
            EXPECT_EQ(row[k], e) << "row " << *exp[0] << " column " << k;
        }
    }
}

// DECIMAL in every precision/scale class of the packed format (integer and fraction parts of 0-8
// leftover digits plus whole 9-digit groups, up to DECIMAL(65,30)), with negative values between
// -1 and 0 (-0.23, -0.000001), values just below/above -1, zeros, extremes and random digits: the
// decoded text equals what SELECT prints.
TEST(BinlogLive, DecimalEveryPrecisionAndScaleWithNegativeFractions) {
    mariadb_server server;
    auto c = server.connect();
    c.query("CREATE DATABASE d");
    c.query("USE d");
    std::vector<std::pair<int, int>> ps;  // (precision, scale)
    for (int intg : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 18, 19, 35})
        for (int scale : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 18, 19, 30})
            if (intg + scale >= 1 && intg + scale <= 65) ps.emplace_back(intg + scale, scale);
    ASSERT_GE(ps.size(), 200u);
    std::string create = "CREATE TABLE t (id INT PRIMARY KEY";
    for (std::size_t i = 0; i < ps.size(); ++i)
        create += ", c" + std::to_string(i) + " DECIMAL(" + std::to_string(ps[i].first) + "," +
                  std::to_string(ps[i].second) + ")";
    c.query(create + ") ENGINE=InnoDB");

    std::mt19937_64 rng(2321);
    auto digits = [&](int n, bool lead_nonzero) {
        std::string d;
        for (int k = 0; k < n; ++k) d += static_cast<char>('0' + (k == 0 && lead_nonzero ? 1 + rng() % 9 : rng() % 10));
        return d;
    };
    // Value kinds: 0 -0.23-like (zero integer part, random fraction), 1 -0.000…1 (smallest negative),
    // 2 -1.5-like, 3 largest negative (all nines), 4 random signed, 5 zero written as -0, 6 positive fraction.
    auto literal = [&](int kind, int p, int s) -> std::string {
        const int intg = p - s;
        if (kind == 5) return "-0";
        if (s == 0 && (kind == 0 || kind == 1 || kind == 6)) kind = 4;
        if (intg == 0 && (kind == 2 || kind == 3)) kind = 0;
        switch (kind) {
            case 0: return "-0." + digits(s, false).substr(0, static_cast<std::size_t>(s - 1)) + "3";
            case 1: return "-0." + std::string(static_cast<std::size_t>(s - 1), '0') + "1";
            case 2: return "-1" + (s ? "." + digits(s, false) : std::string());
            case 3: return "-" + std::string(static_cast<std::size_t>(intg), '9') + (s ? "." + std::string(static_cast<std::size_t>(s), '9') : "");
            case 6: return "0." + digits(s, false);
            default: {
                const int k = intg ? static_cast<int>(rng() % static_cast<unsigned>(intg + 1)) : 0;
                return std::string(rng() % 2 ? "-" : "") + (k ? digits(k, true) : "0") + (s ? "." + digits(s, false) : "");
            }
        }
    };
    std::string q = "INSERT INTO t VALUES ";
    constexpr int kinds = 7, rows = 21;
    for (int r = 0; r < rows; ++r) {
        q += r ? ",(" : "(";
        q += std::to_string(r);
        for (const auto& [p, s] : ps) q += "," + literal(r % kinds, p, s);
        q += ")";
    }
    c.query(q);
    c.query("UPDATE t SET c0 = -c0, c20 = -c20 WHERE id % 2 = 0");  // and as an update's after image
    c.query("FLUSH BINARY LOGS");
    auto logs = c.rows("SHOW BINARY LOGS");
    ASSERT_GE(logs.size(), 2u);
    state_handler h;
    for (std::size_t i = 0; i + 1 < logs.size(); ++i) {
        auto st = rb::read_file((server.dir() / "binlog" / *logs[i][0]).string(), h);
        ASSERT_TRUE(st) << st.error_value().message;
    }
    std::string select = "SELECT id";
    for (std::size_t i = 0; i < ps.size(); ++i) select += ",c" + std::to_string(i);
    const auto expected = c.rows(select + " FROM t ORDER BY id");
    ASSERT_EQ(expected.size(), static_cast<std::size_t>(rows));
    const auto& got = h.tables["t"];
    ASSERT_EQ(got.size(), expected.size());
    std::size_t negative_fractions = 0;
    for (const auto& exp : expected) {
        const auto it = got.find(*exp[0]);
        ASSERT_NE(it, got.end()) << "row " << *exp[0];
        ASSERT_EQ(it->second.size(), exp.size());
        for (std::size_t k = 1; k < exp.size(); ++k) {
            EXPECT_EQ(it->second[k], exp[k]) << "row " << *exp[0] << " DECIMAL(" << ps[k - 1].first << ","
                                             << ps[k - 1].second << ")";
            negative_fractions += exp[k] && exp[k]->starts_with("-0.");
        }
    }
    EXPECT_GT(negative_fractions, 300u);
}

TEST(BinlogLive, MinimalMetadataNamesFromTheProviderAndMismatchIsAnError) {
    mariadb_server server;
    auto c = server.connect();
    c.query("SET GLOBAL binlog_row_metadata=MINIMAL");
    c.query("FLUSH BINARY LOGS");
    c.query("CREATE DATABASE m");
    c.query("USE m");
    c.query("CREATE TABLE p (id INT PRIMARY KEY, name VARCHAR(20), u UUID, j JSON, e ENUM('x','y'), n INT UNSIGNED)");
    c.query("INSERT INTO p VALUES (1,'one','123e4567-e89b-12d3-a456-426614174000','{\"a\": 1}','y',4294967295),"
            "(2,NULL,NULL,NULL,NULL,NULL)");
    c.query("UPDATE p SET name='uno' WHERE id=1");
    c.query("FLUSH BINARY LOGS");
    auto logs = c.rows("SHOW BINARY LOGS");
    ASSERT_GE(logs.size(), 3u);
    const auto path = (server.dir() / "binlog" / *logs[logs.size() - 2][0]).string();

    auto schema_conn = rowcast::mysql::connection::open(server.client_options()).value();
    rb::mariadb_schema_provider provider(schema_conn);
    rb::parser_options o;
    o.provider = &provider;
    std::vector<rowcast::event> evs;
    rb::event_adapter ad([&](const rowcast::event& e) { evs.push_back(e); });
    auto st = rb::read_file(path, ad, o);
    ASSERT_TRUE(st) << st.error_value().message;
    std::vector<const rowcast::event*> rows;
    for (auto& e : evs)
        if (rowcast::is_row_event(e.kind)) rows.push_back(&e);
    ASSERT_EQ(rows.size(), 3u);
    const auto& cols = *rows[0]->columns;
    ASSERT_EQ(cols.size(), 6u);
    EXPECT_EQ(cols[1].name, "name");
    EXPECT_TRUE(cols[0].primary_key);
    EXPECT_EQ(rows[0]->after[2], value(text{"123e4567-e89b-12d3-a456-426614174000"}));
    EXPECT_EQ(rows[0]->after[3], value(json_text{"{\"a\": 1}"}));
    EXPECT_EQ(rows[0]->after[4], value(enum_value{"y", 2}));
    EXPECT_EQ(rows[0]->after[5], value(std::uint64_t{4294967295u}));  // signedness is in MINIMAL metadata
    EXPECT_EQ(rows[2]->after[1], value(text{"uno"}));

    // The table changes afterwards: reading the old file with the current schema is an error, not a guess.
    c.query("ALTER TABLE p ADD COLUMN z INT");
    std::vector<rowcast::event> evs2;
    rb::event_adapter ad2([&](const rowcast::event& e) { evs2.push_back(e); });
    auto st2 = rb::read_file(path, ad2, o);
    ASSERT_FALSE(st2);
    EXPECT_NE(st2.error_value().message.find("[rowcast.binlog.type_mismatch]"), std::string::npos) << st2.error_value().message;
    for (auto& e : evs2) EXPECT_FALSE(rowcast::is_row_event(e.kind));
    c.query("SET GLOBAL binlog_row_metadata=FULL");
}

// What the wire envelopes' source fields come from, against the server itself: the DDL's thread
// id is the writer's CONNECTION_ID() (a MariaDB 10.x transaction begins with a GTID event, which has
// none: its rows say 0, never a guess), the rows of one statement are rows 0..n-1 of their rows
// event, and each carries the statement from ANNOTATE_ROWS (binlog_annotate_row_events, on by default).
TEST(BinlogLive, ThreadIdRowIndexAndAnnotatedStatement) {
    mariadb_server server;
    auto c = server.connect();
    c.query("FLUSH BINARY LOGS");
    const std::string insert = "INSERT INTO w.t VALUES (1,'a'),(2,'b'),(3,'c')";
    const std::string update = "UPDATE w.t SET v = CONCAT(v, '!') WHERE id < 3";
    c.query("CREATE DATABASE w");
    c.query("CREATE TABLE w.t (id INT PRIMARY KEY, v VARCHAR(8))");
    c.query(insert);
    c.query(update);
    const auto thread = c.scalar("SELECT CONNECTION_ID()");
    ASSERT_TRUE(thread);
    c.query("FLUSH BINARY LOGS");
    auto logs = c.rows("SHOW BINARY LOGS");
    ASSERT_GE(logs.size(), 3u);
    const auto path = (server.dir() / "binlog" / *logs[logs.size() - 2][0]).string();
    std::vector<rowcast::event> evs;
    rb::event_adapter ad([&](const rowcast::event& e) { evs.push_back(e); });
    auto st = rb::read_file(path, ad);
    ASSERT_TRUE(st) << st.error_value().message;
    std::vector<const rowcast::event*> ins, upd;
    std::size_t ddls = 0;
    for (const auto& e : evs) {
        if (e.kind == event_kind::ddl) {
            ++ddls;
            EXPECT_EQ(std::to_string(e.source.thread), *thread) << e.statement;
        }
        if (e.kind == event_kind::insert) ins.push_back(&e);
        if (e.kind == event_kind::update) upd.push_back(&e);
    }
    EXPECT_EQ(ddls, 2u);
    ASSERT_EQ(ins.size(), 3u);
    ASSERT_EQ(upd.size(), 2u);
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(ins[i]->source.row, i);
        EXPECT_EQ(ins[i]->statement, insert);
        EXPECT_EQ(ins[i]->source.thread, 0u);
    }
    for (std::uint32_t i = 0; i < 2; ++i) {
        EXPECT_EQ(upd[i]->source.row, i);
        EXPECT_EQ(upd[i]->statement, update);
    }
}
