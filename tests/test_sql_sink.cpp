// Issue 20: the database sink (rowcast/sql/sink.hpp). Two private MariaDB servers:
// a source whose binlog `rowcast-binlog --sink mysql://…` follows, and a destination.
// A randomized workload over every column type runs on the source while two followers
// (replicate mode, changelog mode) are killed with SIGKILL at random moments and
// restarted; at the end the replicated table equals the source (SELECT of both) and the
// changelog holds every committed change once, in order. Label "mariadb".
#include "support/mariadb_server.hpp"
#include "support/process.hpp"

#include <rowcast/sql/sink.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace rowcast;
using namespace std::chrono_literals;
using rowcast::test::db_connection;
using rowcast::test::mariadb_server;
using rowcast::test::process;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Every column type the binlog carries with FULL metadata (UUID/INET need a schema provider).
constexpr const char* table_sql =
    "CREATE TABLE app.t (id INT NOT NULL PRIMARY KEY, ti TINYINT, su SMALLINT UNSIGNED, mi MEDIUMINT, bi BIGINT, "
    "bu BIGINT UNSIGNED, dc DECIMAL(40,12), f FLOAT, d DOUBLE, b BIT(13), y YEAR, dt DATE, tm TIME(3), "
    "dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, c CHAR(5), vc VARCHAR(40), vl VARCHAR(20) CHARACTER SET latin1, "
    "bn BINARY(4), vb VARBINARY(16), tx TEXT, bl BLOB, e ENUM('a','b','c'), s SET('x','y','z'), j JSON, "
    "g POINT) ENGINE=InnoDB";

class values {
public:
    explicit values(unsigned seed) : rng_(seed) {}

    // One row's values after `id`, as SQL literals (c quotes strings for the source connection).
    std::string row(db_connection& c) {
        std::string s;
        auto add = [&](std::string v) { s += ", " + (pick(10) == 0 ? std::string("NULL") : v); };
        add(std::to_string(range(-128, 127)));
        add(std::to_string(range(0, 65535)));
        add(std::to_string(range(-8388608, 8388607)));
        add(std::to_string(static_cast<std::int64_t>(rng_())));
        add(std::to_string(static_cast<std::uint64_t>(rng_())));
        add((pick(2) ? "-" : "") + std::to_string(range(0, 999999999)) + std::to_string(range(0, 999999999)) + "." +
            std::to_string(range(100000, 999999)) + std::to_string(range(100000, 999999)));
        char b[64];
        std::snprintf(b, sizeof b, "%.9g", std::ldexp(real(), range(-60, 60)));
        add(b);
        std::snprintf(b, sizeof b, "%.17g", std::ldexp(real(), range(-300, 300)));
        add(b);
        add(std::to_string(range(0, 8191)));
        add(pick(8) == 0 ? "0" : std::to_string(range(1901, 2155)));
        std::snprintf(b, sizeof b, "'%04d-%02d-%02d'", range(0, 9999), range(0, 12), range(0, 28));
        add(pick(8) == 0 ? "'0000-00-00'" : b);
        std::snprintf(b, sizeof b, "'%s%03d:%02d:%02d.%03d'", pick(2) ? "-" : "", range(0, 838), range(0, 59),
                      range(0, 59), range(0, 999));
        add(b);
        std::snprintf(b, sizeof b, "'%04d-%02d-%02d %02d:%02d:%02d.%06d'", range(1000, 9999), range(1, 12),
                      range(1, 28), range(0, 23), range(0, 59), range(0, 59), range(0, 999999));
        add(b);
        std::snprintf(b, sizeof b, "'%04d-%02d-%02d %02d:%02d:%02d.%06d'", range(1971, 2037), range(1, 12),
                      range(1, 28), range(0, 23), range(0, 59), range(0, 59), range(0, 999999));
        add(b);
        add(c.quote(text(5)));
        add(c.quote(text(40)));
        add(c.quote(pick(2) ? "caf\xC3\xA9 \xC3\xBC" : "plain"));
        add("X'" + hex(4) + "'");
        add("X'" + hex(static_cast<std::size_t>(range(0, 16))) + "'");
        add(c.quote(text(static_cast<std::size_t>(range(0, 300)))));
        add("X'" + hex(static_cast<std::size_t>(range(0, 200))) + "'");
        add(std::string("'") + "abc"[pick(3)] + "'");
        add(std::string("'") + (pick(2) ? "x," : "") + (pick(2) ? "y," : "") + "z'");
        add(c.quote("{\"k\": " + std::to_string(range(0, 1000)) + ", \"s\": \"caf\xC3\xA9 " + std::to_string(range(0, 99)) + "\"}"));
        add("ST_GeomFromText('POINT(" + std::to_string(range(-180, 180)) + ".5 " + std::to_string(range(-90, 90)) + ")')");
        return s;
    }

    int range(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    int pick(int n) { return range(0, n - 1); }

private:
    double real() { return std::uniform_real_distribution<double>(-1.0, 1.0)(rng_); }
    std::string hex(std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += "0123456789ABCDEF"[pick(16)], s += "0123456789ABCDEF"[pick(16)];
        return s;
    }
    std::string text(std::size_t n) {  // characters: ASCII, quotes, backslash, 2-, 3- and 4-byte UTF-8
        static const char* pieces[] = {"a", "Z", "'", "\\", "\"", " ", "\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x98\x80", "%"};
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += pieces[pick(10)];
        return s;
    }
    std::mt19937_64 rng_;
};

std::vector<test::db_row> table_rows(db_connection& c, const std::string& table, const std::string& columns = "*") {
    c.query("SET time_zone = '+00:00'");
    return c.rows("SELECT " + columns + " FROM " + table + " ORDER BY id");
}

std::string show(const test::db_row& r) {
    std::string s;
    for (const auto& cell : r) s += (cell ? *cell : std::string("NULL")) + " | ";
    return s;
}

// One source and one destination server for the suite, started on first use (ctest runs each
// test in its own process: a test that needs only the destination starts only that).
class SqlSink : public ::testing::Test {
protected:
    static mariadb_server& source() {
        if (!source_) {
            source_ = std::make_unique<mariadb_server>();
            auto src = source_->connect();
            src.query("CREATE USER repl@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')");
            src.query("GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO repl@'%'");
            src.query("CREATE DATABASE app CHARACTER SET utf8mb4");
        }
        return *source_;
    }
    static mariadb_server& dest() {
        if (!dest_) dest_ = std::make_unique<mariadb_server>(test::mariadb_server_options{.binlog = false});
        return *dest_;
    }
    // Options of a replicate-mode sink into `database` on `server`, as root over its socket.
    static sql::sink_options replicate_into(mariadb_server& server, std::string database) {
        sql::sink_options o;
        o.connection.socket = server.socket().string();
        o.connection.user = "root";
        o.database = std::move(database);
        o.mode = sql::sink_mode::replicate;
        return o;
    }
    static void TearDownTestSuite() {
        source_.reset();
        dest_.reset();
    }
    static inline std::unique_ptr<mariadb_server> source_, dest_;
};

}  // namespace

// The replicate and changelog followers run side by side and are killed together.
TEST_F(SqlSink, Kill9ReplicateEqualsSourceAndChangelogHoldsEveryChangeOnce) {
    mariadb_server& source = this->source();
    mariadb_server& dest = this->dest();
    auto src = source.connect();
    src.query(table_sql);
    const auto log = source.dir() / "followers.log";
    auto start = [&](const std::string& mode, bool stop_at_end) {
        std::vector<std::string> a = {ROWCAST_BINLOG_EXE, "--host", "127.0.0.1", "--port", std::to_string(source.port()), "--user", "repl", "--password", "pw",
                                      "--server-id", mode == "replicate" ? "71" : "72", "--heartbeat-ms", "200",
                                      "--sink", "mysql://root@/" + mode + "?mode=" + mode + "&batch=" +
                                                    (mode == "replicate" ? "16" : "1") +
                                                    "&socket=" + dest.socket().string()};
        if (stop_at_end) a.push_back("--stop-at-end");
        return process::start({a, {}, log, {}});
    };

    // The workload: transactions of 1-4 changes (insert, update incl. key changes, delete);
    // every 7th rolled back; an ALTER TABLE … ADD COLUMN midway. `expected`: the changelog's
    // (operation, id) sequence of the committed ones.
    std::vector<std::string> expected;
    std::atomic<bool> done{false};
    std::thread workload([&] {
        auto c = source.connect("app");
        c.query("SET time_zone = '+00:00'");
        values v(20);
        std::vector<int> ids;
        int next_id = 1;
        for (int txn = 1; txn <= 240; ++txn) {
            if (txn == 120) c.query("ALTER TABLE t ADD COLUMN extra VARCHAR(20) NULL");
            std::string sql = "BEGIN;";
            std::vector<std::string> ops;
            std::vector<int> now = ids;
            for (int k = v.range(1, 4); k > 0; --k) {
                const int what = now.empty() ? 0 : v.pick(4);
                if (what <= 1) {
                    const int id = next_id++;
                    sql += " INSERT INTO t VALUES (" + std::to_string(id) + v.row(c) + (txn >= 120 ? ", 'x'" : "") + ");";
                    ops.push_back("insert " + std::to_string(id));
                    now.push_back(id);
                } else if (what == 2) {
                    const std::size_t at = static_cast<std::size_t>(v.pick(static_cast<int>(now.size())));
                    const int id = now[at];
                    int to = id;
                    if (v.pick(3) == 0) to = next_id++;  // the key changes
                    sql += " UPDATE t SET id = " + std::to_string(to) + ", vc = " + c.quote("u" + std::to_string(txn)) +
                           ", d = " + std::to_string(v.range(-5, 5)) + ".25 WHERE id = " + std::to_string(id) + ";";
                    ops.push_back("update_before " + std::to_string(id));
                    ops.push_back("update_after " + std::to_string(to));
                    now[at] = to;
                } else {
                    const std::size_t at = static_cast<std::size_t>(v.pick(static_cast<int>(now.size())));
                    sql += " DELETE FROM t WHERE id = " + std::to_string(now[at]) + ";";
                    ops.push_back("delete " + std::to_string(now[at]));
                    now.erase(now.begin() + static_cast<std::ptrdiff_t>(at));
                }
            }
            const bool rollback = txn % 7 == 0;
            c.query(sql + (rollback ? " ROLLBACK" : " COMMIT"));
            if (!rollback) {
                ids = now;
                expected.insert(expected.end(), ops.begin(), ops.end());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(v.pick(4)));
        }
        done = true;
    });

    std::mt19937 rng(2020);
    int kills = 0, during = 0;
    while (!done || kills < 6) {
        if (!done) ++during;
        auto r = start("replicate", false);
        auto l = start("changelog", false);
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(60, 300)(rng)));
        r.signal(SIGKILL);
        l.signal(SIGKILL);
        const int sr = r.wait(), sl = l.wait();
        if (sr != 128 + SIGKILL || sl != 128 + SIGKILL) {
            ADD_FAILURE() << "a follower exited by itself (" << sr << ", " << sl << "):\n" << slurp(log);
            break;
        }
        ++kills;
        ASSERT_LT(kills, 100) << "liveness guard";
    }
    workload.join();
    for (const char* mode : {"replicate", "changelog"}) {
        auto f = start(mode, true);
        const auto status = f.wait_for(300s);  // liveness guard, not a timing assertion
        ASSERT_TRUE(status.has_value()) << mode << " did not finish:\n" << slurp(log);
        ASSERT_EQ(*status, 0) << mode << ":\n" << slurp(log);
    }
    std::printf("%d kills (%d while the workload ran), %zu committed changes\n", kills, during, expected.size());
    EXPECT_GT(during, 0);

    auto dst = dest.connect();
    // replicate: the destination equals the source, every column.
    const auto want = table_rows(src, "app.t");
    const auto got = table_rows(dst, "replicate.t");
    ASSERT_EQ(got.size(), want.size()) << slurp(log);
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(show(got[i]), show(want[i])) << "row " << i;

    // changelog: every committed change once, in order …
    std::vector<std::string> ops;
    for (const auto& r : dst.rows("SELECT rowcast_op, id FROM changelog.app_t ORDER BY rowcast_id"))
        ops.push_back(r[0].value_or("?") + " " + r[1].value_or("?"));
    ASSERT_EQ(ops.size(), expected.size()) << slurp(log);
    for (std::size_t i = 0; i < ops.size(); ++i) ASSERT_EQ(ops[i], expected[i]) << "change " << i;
    // … with the values: the last image of each live row equals the source's row.
    const std::string cols = "id, ti, su, mi, bi, bu, dc, f, d, b, y, dt, tm, dtm, ts, c, vc, vl, bn, vb, tx, bl, e, s, j, g, extra";
    const auto last = dst.rows(
        "SET time_zone = '+00:00'; SELECT " + cols + " FROM changelog.app_t WHERE rowcast_id IN (SELECT MAX(rowcast_id) FROM "
        "changelog.app_t GROUP BY id) AND rowcast_op IN ('insert', 'update_after') ORDER BY id");
    ASSERT_EQ(last.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(show(last[i]), show(want[i])) << "row " << i;
}

namespace {
event row_event(event_kind k, columns_ptr cols, std::vector<value> img) {
    event e;
    e.kind = k;
    e.schema = "app";
    e.table = "k";
    e.columns = std::move(cols);
    (k == event_kind::delete_ ? e.before : e.after) = std::move(img);
    return e;
}
event marker(event_kind k, std::string statement = {}) {
    event e;
    e.kind = k;
    e.schema = "app";
    e.statement = std::move(statement);
    return e;
}
}  // namespace

// What the sink cannot follow is a clear error, and nothing of it is committed.
TEST_F(SqlSink, RefusesWhatItCannotFollow) {
    mariadb_server& dest = this->dest();
    sql::sink_options o = replicate_into(dest, "r");
    auto s = sql::sink::open(o);
    ASSERT_TRUE(s) << s.error_value().message;
    auto nokey = make_columns({{"a", {.type = sql_type::int_}}, {"b", {.type = sql_type::varchar, .length = 10}}});
    // a table without a primary key and no key named
    ASSERT_TRUE(s->write(marker(event_kind::begin)));
    ASSERT_TRUE(s->write(row_event(event_kind::insert, nokey, {std::int64_t{1}, text{"x"}})));
    ASSERT_TRUE(s->write(marker(event_kind::commit)));
    auto r = s->publish("file=b.000001\noffset=100\ngtid=");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error_value().message.find("[rowcast.sql.unsupported] app.k: the table has no primary key"), std::string::npos)
        << r.error_value().message;
    // DDL that drops or modifies is refused in replicate mode
    auto d = s->write(marker(event_kind::ddl, "ALTER TABLE k MODIFY b INT"));
    ASSERT_FALSE(d);
    EXPECT_NE(d.error_value().message.find("replicate mode cannot apply"), std::string::npos) << d.error_value().message;
    EXPECT_TRUE(s->write(marker(event_kind::ddl, "ALTER TABLE k ADD COLUMN c INT")));
    // nothing committed: no cursor stored
    auto again = sql::sink::open(o);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again->load_cursor());

    // with a key named, the same group goes through; a changed column type is refused
    o.keys["app.k"] = {"a"};
    auto k = sql::sink::open(o);
    ASSERT_TRUE(k);
    ASSERT_TRUE(k->write(marker(event_kind::begin)));
    ASSERT_TRUE(k->write(row_event(event_kind::insert, nokey, {std::int64_t{1}, text{"x"}})));
    ASSERT_TRUE(k->write(marker(event_kind::commit)));
    ASSERT_TRUE(k->publish("file=b.000001\noffset=100\ngtid=")) ;
    EXPECT_EQ(*k->load_cursor(), std::optional<std::string>("file=b.000001\noffset=100\ngtid="));
    auto changed = make_columns({{"a", {.type = sql_type::int_}}, {"b", {.type = sql_type::datetime}}});
    ASSERT_TRUE(k->write(marker(event_kind::begin)));
    ASSERT_TRUE(k->write(row_event(event_kind::insert, changed, {std::int64_t{2}, datetime{}})));
    ASSERT_TRUE(k->write(marker(event_kind::commit)));
    auto t = k->publish("file=b.000001\noffset=200\ngtid=");
    ASSERT_FALSE(t);
    EXPECT_NE(t.error_value().message.find("column 'b' is now DATETIME(0)"), std::string::npos) << t.error_value().message;
    EXPECT_EQ(dest.connect().scalar("SELECT COUNT(*) FROM r.k"), std::optional<std::string>("1"));
}

// A stored cursor that carries an incremental snapshot's part (binlog/checkpoint.hpp) still
// guards against replays after a restart: its position part is read.
TEST_F(SqlSink, ReplayBeforeAStoredIncrementalCursorIsDropped) {
    sql::sink_options o = replicate_into(this->dest(), "r_incr");
    auto s = sql::sink::open(o);
    ASSERT_TRUE(s) << s.error_value().message;
    auto cols = make_columns({{"id", {.type = sql_type::int_}, true}});
    ASSERT_TRUE(s->write(marker(event_kind::begin)));
    ASSERT_TRUE(s->write(row_event(event_kind::insert, cols, {std::int64_t{1}})));
    ASSERT_TRUE(s->write(marker(event_kind::commit)));
    ASSERT_TRUE(s->publish("file=c.000001\noffset=300\ngtid=\nincremental=1\nkey=\ntable=app.t"));
    auto again = sql::sink::open(o);
    ASSERT_TRUE(again) << again.error_value().message;
    event replay = marker(event_kind::begin);
    replay.source.file = "c.000001";
    replay.source.offset = 250;
    ASSERT_TRUE(again->write(replay));
    EXPECT_EQ(again->stats().skipped, 1u);
}

#ifdef ROWCASTD_EXE
// rowcastd: a binlog source into a mysql sink (changelog) behind the fan-out, whose own checkpoint
// may lag the destination's; rowcastd is killed with SIGKILL at random moments. Every committed
// change is in the changelog once, in order (replays from the fan-out's older cursor are dropped).
TEST_F(SqlSink, Kill9RowcastdChangelogOnce) {
    mariadb_server& source = this->source();
    mariadb_server& dest = this->dest();
    auto src = source.connect();
    src.query("CREATE TABLE app.h (id INT NOT NULL PRIMARY KEY, v VARCHAR(20), n DECIMAL(10,3)) ENGINE=InnoDB");
    const auto dir = source.dir() / "rowcastd";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "rowcastd.yaml")
        << "source:\n  type: binlog\n  socket: " << source.socket().string()
        << "\n  user: root\n  server_id: 73\n  heartbeat_ms: 200\n"
        << "checkpoint: " << (dir / "cursor").string() << "\nfilters:\n  include_tables: [app.h]\n"
        << "sinks:\n  - type: mysql\n    name: log\n    url: \"mysql://root@/dlog?mode=changelog&socket="
        << dest.socket().string() << "\"\n";
    const auto log = dir / "rowcastd.log";
    auto start = [&] { return process::start({{ROWCASTD_EXE, (dir / "rowcastd.yaml").string()}, {}, log, {}}); };

    std::vector<std::string> expected;
    std::atomic<bool> done{false};
    std::thread workload([&] {
        auto c = source.connect("app");
        for (int txn = 1; txn <= 200; ++txn) {
            const bool rollback = txn % 9 == 0;
            c.query("BEGIN; INSERT INTO h VALUES (" + std::to_string(txn) + ", 'v', " + std::to_string(txn) +
                    ".125); UPDATE h SET v = 'w' WHERE id = " + std::to_string(txn) + (rollback ? "; ROLLBACK" : "; COMMIT"));
            if (!rollback)
                for (const char* op : {"insert ", "update_before ", "update_after "}) expected.push_back(op + std::to_string(txn));
            std::this_thread::sleep_for(std::chrono::milliseconds(txn % 6));
        }
        done = true;
    });
    std::mt19937 rng(73);
    int kills = 0;
    while (!done || kills < 4) {
        auto d = start();
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 400)(rng)));
        d.signal(SIGKILL);
        if (const int st = d.wait(); st != 128 + SIGKILL) {
            ADD_FAILURE() << "rowcastd exited by itself (" << st << "):\n" << slurp(log);
            break;
        }
        ASSERT_LT(++kills, 100) << "liveness guard";
    }
    workload.join();
    // A last run until the changelog has everything (a liveness guard, not a timing assertion), then SIGTERM.
    auto d = start();
    auto dst = dest.connect();
    std::size_t have = 0;
    for (int i = 0; i < 600 && have < expected.size(); ++i) {
        std::this_thread::sleep_for(100ms);
        try {
            have = std::stoul(dst.scalar("SELECT COUNT(*) FROM dlog.app_h").value_or("0"));
        } catch (const test::db_error&) {
        }
    }
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << slurp(log);
    std::vector<std::string> ops;
    for (const auto& r : dst.rows("SELECT rowcast_op, id FROM dlog.app_h ORDER BY rowcast_id"))
        ops.push_back(r[0].value_or("?") + " " + r[1].value_or("?"));
    ASSERT_EQ(ops.size(), expected.size()) << slurp(log);
    for (std::size_t i = 0; i < ops.size(); ++i) ASSERT_EQ(ops[i], expected[i]) << "change " << i;
    std::printf("%d kills of rowcastd, %zu changes once\n", kills, expected.size());
}
#endif
