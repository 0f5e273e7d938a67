// rowcast_udf.so (examples/udf) inside a private MariaDB: hand-written triggers call
// rowcast_event(); the spool is read back with spool_reader and the typed values checked.
#include "support/udf_server.hpp"

#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#include <rowcast/journal/source.hpp>
#include <rowcast/journal/writer.hpp>
#include <rowcast/udf/outbox.hpp>
#include <rowcast/udf/outbox_mariadb.hpp>
#include <rowcast/udf/triggers.hpp>
#include <rowcast/os/atomic_file.hpp>
#if defined(ROWCAST_TEST_UDF_DATAGRAM)
#include <rowcast/datagram/consumer.hpp>
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

#include <fcntl.h>
#include <sys/stat.h>
#include <ctime>

using namespace rowcast;
using rowcast::test::db_connection;
using rowcast::test::udf_server;
namespace fs = std::filesystem;

namespace {

// One column of a hand-written trigger: its descriptor and how OLD/NEW are passed.
struct trig_col {
    std::string descriptor;
    std::string expr = "{}.`{c}`";  // {} -> OLD/NEW, {c} -> the column name
    std::string name;
};

std::string expr_for(const trig_col& c, const std::string& image) {
    std::string e = c.expr;
    for (std::size_t at; (at = e.find("{c}")) != std::string::npos;) e.replace(at, 3, c.name);
    for (std::size_t at; (at = e.find("{}")) != std::string::npos;) e.replace(at, 2, image);
    return e;
}

// Hand-written AFTER INSERT/UPDATE/DELETE triggers using the argument convention.
void create_triggers(db_connection& c, const std::string& schema, const std::string& table,
                     const std::vector<trig_col>& cols) {
    for (const auto& [op, suffix, has_old, has_new] :
         {std::tuple{"insert", "ai", false, true}, std::tuple{"update", "au", true, true},
          std::tuple{"delete", "ad", true, false}}) {
        std::string call = "rowcast_event('" + schema + "', '" + table + "', '" + op + "'";
        for (const auto& col : cols) {
            call += ", " + c.quote(col.descriptor);
            call += ", " + (has_old ? expr_for(col, "OLD") : std::string("NULL"));
            call += ", " + (has_new ? expr_for(col, "NEW") : std::string("NULL"));
        }
        call += ")";
        const std::string upper = std::string(op) == "insert" ? "INSERT" : std::string(op) == "update" ? "UPDATE" : "DELETE";
        c.query("CREATE TRIGGER `" + schema + "`.`" + table + "_" + suffix + "` AFTER " + upper + " ON `" + schema +
                "`.`" + table + "` FOR EACH ROW BEGIN IF " + call +
                " IS NULL THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'rowcast_event failed'; END IF; END");
    }
}

const std::vector<trig_col>& hosts_cols() {
    static const std::vector<trig_col> cols = {
        {"`id` bigint(20) unsigned not null primary key", "{}.`{c}`", "id"},
        {"`mac` char(17) character set ascii", "{}.`{c}`", "mac"},
        {"`ip` varchar(45)", "{}.`{c}`", "ip"},
        {"`hostname` varchar(255) not null", "{}.`{c}`", "hostname"},
    };
    return cols;
}

void create_hosts(db_connection& c) {
    c.query("CREATE DATABASE IF NOT EXISTS inv CHARACTER SET utf8mb4");
    c.query("CREATE TABLE inv.hosts (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, mac CHAR(17) CHARACTER SET ascii, "
            "ip VARCHAR(45), hostname VARCHAR(255) NOT NULL)");
    create_triggers(c, "inv", "hosts", hosts_cols());
}

// The every-type table and its triggers.
const std::vector<trig_col>& every_cols() {
    static const std::vector<trig_col> cols = {
        {"`id` int(11) not null primary key", "{}.`{c}`", "id"},
        {"`ti` tinyint(4)", "{}.`{c}`", "ti"},
        {"`tiu` tinyint(3) unsigned", "{}.`{c}`", "tiu"},
        {"`si` smallint(6)", "{}.`{c}`", "si"},
        {"`mi` mediumint(9)", "{}.`{c}`", "mi"},
        {"`i` int(11)", "{}.`{c}`", "i"},
        {"`bi` bigint(20)", "{}.`{c}`", "bi"},
        {"`biu` bigint(20) unsigned", "{}.`{c}`", "biu"},
        {"`de` decimal(20,6)", "{}.`{c}`", "de"},
        {"`fl` float", "{}.`{c}`", "fl"},
        {"`db` double", "{}.`{c}`", "db"},
        {"`bt` bit(12)", "{}.`{c}` + 0", "bt"},
        {"`yr` year(4)", "{}.`{c}`", "yr"},
        {"`d` date", "{}.`{c}`", "d"},
        {"`tm` time(6)", "{}.`{c}`", "tm"},
        {"`dt` datetime(6)", "{}.`{c}`", "dt"},
        {"`ts` timestamp(6)", "IF({}.`{c}` IS NULL, NULL, IFNULL(UNIX_TIMESTAMP({}.`{c}`), 0))", "ts"},
        {"`ch` char(10)", "{}.`{c}`", "ch"},
        {"`vc` varchar(100)", "{}.`{c}`", "vc"},
        {"`tx` text", "{}.`{c}`", "tx"},
        {"`lat` varchar(20) character set latin1", "CONVERT({}.`{c}` USING utf8mb4)", "lat"},
        {"`bn` binary(4)", "{}.`{c}`", "bn"},
        {"`vb` varbinary(50)", "{}.`{c}`", "vb"},
        {"`bl` blob", "{}.`{c}`", "bl"},
        {"`en` enum('small','medium','large')", "{}.`{c}`", "en"},
        {"`st` set('a','b','c','d')", "{}.`{c}`", "st"},
        {"`js` json", "{}.`{c}`", "js"},
        {"`g` point", "{}.`{c}`", "g"},
        {"`u` uuid", "{}.`{c}`", "u"},
        {"`i6` inet6", "{}.`{c}`", "i6"},
    };
    return cols;
}

void create_every(db_connection& c) {
    c.query("CREATE DATABASE IF NOT EXISTS inv CHARACTER SET utf8mb4");
    c.query(R"(CREATE TABLE inv.every (
        id INT NOT NULL PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT,
        bi BIGINT, biu BIGINT UNSIGNED, de DECIMAL(20,6), fl FLOAT, db DOUBLE, bt BIT(12), yr YEAR, d DATE,
        tm TIME(6), dt DATETIME(6), ts TIMESTAMP(6) NULL, ch CHAR(10), vc VARCHAR(100), tx TEXT,
        lat VARCHAR(20) CHARACTER SET latin1, bn BINARY(4), vb VARBINARY(50), bl BLOB,
        en ENUM('small','medium','large'), st SET('a','b','c','d'), js JSON, g POINT, u UUID, i6 INET6))");
    create_triggers(c, "inv", "every", every_cols());
}

std::string value_text(const value& v) {
    // A short, readable rendering for failure messages.
    return std::string(to_string(v.kind()));
}

}  // namespace

TEST(Udf, HostsInsertUpdateDeleteAsJson) {
    udf_server db({"codec = json", "durability = file"});
    auto c = db.connect();
    create_hosts(c);
    c.query("INSERT INTO inv.hosts VALUES (42, '00:00:5e:00:53:01', '192.0.2.10', 'www.example.com')");
    c.query("UPDATE inv.hosts SET ip = '192.0.2.11' WHERE id = 42");
    c.query("DELETE FROM inv.hosts WHERE id = 42");
    auto events = db.take<json_codec>(3);
    ASSERT_EQ(events.size(), 3u);
    const auto& ins = events[0];
    EXPECT_EQ(ins.kind, event_kind::insert);
    EXPECT_EQ(ins.schema, "inv");
    EXPECT_EQ(ins.table, "hosts");
    ASSERT_EQ(ins.column_count(), 4u);
    EXPECT_EQ((*ins.columns)[0].name, "id");
    EXPECT_TRUE((*ins.columns)[0].primary_key);
    EXPECT_TRUE((*ins.columns)[0].type.is_unsigned);
    EXPECT_EQ((*ins.columns)[0].type.type, sql_type::bigint);
    EXPECT_EQ((*ins.columns)[1].type.type, sql_type::char_);
    EXPECT_EQ((*ins.columns)[1].type.length, 17u);
    EXPECT_TRUE(ins.before.empty());
    EXPECT_EQ(ins.after, (std::vector<value>{std::uint64_t{42}, text{"00:00:5e:00:53:01"}, text{"192.0.2.10"},
                                             text{"www.example.com"}}));
    EXPECT_NE(ins.capture_time.time_since_epoch().count(), 0);
    const auto& upd = events[1];
    EXPECT_EQ(upd.kind, event_kind::update);
    EXPECT_EQ(upd.before, ins.after);
    EXPECT_EQ(upd.after[2], value(text{"192.0.2.11"}));
    const auto& del = events[2];
    EXPECT_EQ(del.kind, event_kind::delete_);
    EXPECT_EQ(del.before, upd.after);
    EXPECT_TRUE(del.after.empty());
    // The trigger path's sequence: set by the UDF, strictly increasing in the server process.
    EXPECT_GT(ins.sequence, 0u);
    EXPECT_LT(ins.sequence, upd.sequence);
    EXPECT_LT(upd.sequence, del.sequence);
    EXPECT_EQ(db.spool_files(), 0u);
}

TEST(Udf, EveryColumnTypeIsTypedExactly) {
    udf_server db({"codec = binary", "durability = none"});
    auto c = db.connect();
    create_every(c);
    c.query("SET time_zone = '+02:00'");
    c.query(R"(INSERT INTO inv.every VALUES (1, -128, 255, -32768, 8388607, -2147483648, -9223372036854775808,
        18446744073709551615, '-12345678901234.123456', 0.1, 2.718281828459045, b'101010101010', 2024, '2024-02-29',
        '-838:59:59.000000', '2026-11-22 13:00:10.123456', '2026-11-22 15:05:10.654321', 'abc', 'héllo wörld ✓',
        'long text', 'café', X'00010200', X'00FF00', X'DEADBEEF00', 'medium', 'c,a', '{"a": [1, 2]}',
        ST_GeomFromText('POINT(1 2)', 4326), 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', '2001:db8::1'))");
    c.query("INSERT INTO inv.every (id) VALUES (2)");
    c.query("SET sql_mode = ''");
    c.query("INSERT INTO inv.every (id, ts, dt, d, yr, en) VALUES (3, '0000-00-00 00:00:00', '0000-00-00 00:00:00', "
            "'2024-00-00', 0, '')");
    c.query("UPDATE inv.every SET biu = 0, fl = -1.5, en = 'large', st = '', bt = b'1', i = NULL WHERE id = 1");
    c.query("DELETE FROM inv.every WHERE id = 2");
    auto events = db.take<binary_codec>(5);
    ASSERT_EQ(events.size(), 5u);

    const std::vector<value> row1 = {
        std::int64_t{1}, std::int64_t{-128}, std::uint64_t{255}, std::int64_t{-32768}, std::int64_t{8388607},
        std::int64_t{-2147483648LL}, std::int64_t{INT64_MIN}, std::uint64_t{UINT64_MAX},
        decimal{"-12345678901234.123456"}, 0.1f, 2.718281828459045, bit{0b101010101010, 12}, year{2024},
        date{2024, 2, 29}, rowcast::time{-(838LL * 3600 + 59 * 60 + 59) * 1000000}, datetime{{2026, 11, 22}, 13, 0, 10, 123456},
        timestamp{1795352710654321}, text{"abc"}, text{"héllo wörld ✓"}, text{"long text"}, text{"café"},
        bytes{std::string("\x00\x01\x02\x00", 4)}, bytes{std::string("\x00\xff\x00", 3)},
        bytes{std::string("\xde\xad\xbe\xef\x00", 5)}, enum_value{"medium", 2}, set_value{"a,c", 5},
        json_text{R"({"a": [1, 2]})"}, value{},  // geometry: checked below against ST_AsBinary
        text{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}, text{"2001:db8::1"}};
    const auto& e1 = events[0];
    EXPECT_EQ(e1.kind, event_kind::insert);
    ASSERT_EQ(e1.after.size(), every_cols().size());
    for (std::size_t i = 0; i < row1.size(); ++i) {
        if (i == 27) continue;
        EXPECT_EQ(e1.after[i], row1[i]) << "column " << (*e1.columns)[i].name << " kind " << value_text(e1.after[i]);
    }
    // Geometry: SRID and WKB as the server gives them.
    auto wkb = c.rows("SELECT ST_SRID(g), ST_AsBinary(g) FROM inv.every WHERE id = 1");
    ASSERT_EQ(wkb.size(), 1u);
    EXPECT_EQ(e1.after[27], value(geometry{4326, *wkb[0][1]}));
    // The SELECTed text agrees with the typed values.
    auto sel = c.rows("SELECT de, dt, tm, UNIX_TIMESTAMP(ts), HEX(bl), st FROM inv.every WHERE id = 1");
    EXPECT_EQ(sel[0][0], "-12345678901234.123456");
    EXPECT_EQ(sel[0][1], "2026-11-22 13:00:10.123456");
    EXPECT_EQ(sel[0][2], "-838:59:59.000000");
    EXPECT_EQ(sel[0][3], "1795352710.654321");
    EXPECT_EQ(sel[0][4], "DEADBEEF00");
    // Column types from the descriptors.
    const auto& cols = *e1.columns;
    EXPECT_EQ(cols[8].type.precision, 20);
    EXPECT_EQ(cols[8].type.scale, 6);
    EXPECT_EQ(cols[11].type.length, 12u);
    EXPECT_EQ(cols[15].type.fsp, 6);
    EXPECT_EQ(cols[20].type.charset, "latin1");
    EXPECT_EQ(cols[24].type.members, (std::vector<std::string>{"small", "medium", "large"}));
    EXPECT_EQ(cols[26].type.type, sql_type::json);
    EXPECT_EQ(cols[27].type.geometry_type, "point");
    EXPECT_EQ(cols[28].type.type, sql_type::uuid);
    EXPECT_EQ(cols[29].type.type, sql_type::inet6);

    // Row 2: every column but id is NULL.
    const auto& e2 = events[1];
    EXPECT_EQ(e2.after[0], value(std::int64_t{2}));
    for (std::size_t i = 1; i < e2.after.size(); ++i) EXPECT_TRUE(e2.after[i].is_null()) << (*e2.columns)[i].name;
    // Row 3: zero dates and the zero TIMESTAMP, YEAR 0, the '' ENUM error value.
    const auto& e3 = events[2];
    EXPECT_EQ(e3.after[16], value(timestamp{0}));
    EXPECT_EQ(e3.after[15], value(datetime{}));
    EXPECT_EQ(e3.after[13], value(date{2024, 0, 0}));
    EXPECT_EQ(e3.after[12], value(year{0}));
    EXPECT_EQ(e3.after[24], value(enum_value{"", 0}));
    // The update: before is row 1, after has the changes.
    const auto& u = events[3];
    EXPECT_EQ(u.kind, event_kind::update);
    for (std::size_t i = 0; i < row1.size(); ++i)
        if (i != 27) {
            EXPECT_EQ(u.before[i], row1[i]) << (*u.columns)[i].name;
        }
    EXPECT_EQ(u.after[7], value(std::uint64_t{0}));
    EXPECT_EQ(u.after[9], value(-1.5f));
    EXPECT_EQ(u.after[24], value(enum_value{"large", 3}));
    EXPECT_EQ(u.after[25], value(set_value{"", 0}));
    EXPECT_EQ(u.after[11], value(bit{1, 12}));
    EXPECT_TRUE(u.after[5].is_null());
    EXPECT_EQ(u.after[1], u.before[1]);
    // The delete of row 2.
    EXPECT_EQ(events[4].kind, event_kind::delete_);
    EXPECT_EQ(events[4].before, e2.after);
    // All events of the table share one column list (the cache).
    EXPECT_EQ(events[0].columns.get(), events[0].columns.get());
}

TEST(Udf, HostileArgumentsGiveErrorsNeverACrash) {
    udf_server db({"codec = binary", "durability = none"});
    auto c = db.connect();
    auto err = [&](const std::string& sql) { return std::string(c.expect_error(sql).what()); };
    EXPECT_NE(err("SELECT rowcast_event('a', 'b')").find("expected 3 + 3*N arguments"), std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('a', 'b', 'insert', '`x` int', 1)").find("got 5"), std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event()").find("got 0"), std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event(NULL, 't', 'insert', '`x` int', NULL, 1)").find("schema is NULL"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'merge', '`x` int', NULL, 1)").find("operation must be"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', '`x` intt', NULL, 1)").find("unknown type 'intt'"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', '`x int', NULL, 1)").find("unterminated"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', NULL, NULL, 1)").find("descriptor (argument 4) is NULL"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 'abc')").find("not an integer"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', '`x` enum(''a'')', NULL, 'b')").find("not a member"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', '`x` date', NULL, 'yesterday')").find("not a date"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', CONCAT('`x` ', REPEAT('(', 100000)), NULL, 1)")
                  .find("has no type"),
              std::string::npos);
    EXPECT_NE(err("SELECT rowcast_json()").find("expected 1 argument"), std::string::npos);
    EXPECT_NE(err("SELECT rowcast_json('not json')").find("[rowcast.json."), std::string::npos);
    EXPECT_NE(err("SELECT rowcast_json(NULL)").find("NULL"), std::string::npos);
    EXPECT_EQ(db.spool_files(), 0u);  // no event from any failed call

    // Descriptors from a column (not constant): checked per row; row 1 is good, row 2 fails the statement.
    c.query("CREATE DATABASE h; CREATE TABLE h.d (n INT PRIMARY KEY, d VARCHAR(100))");
    c.query("INSERT INTO h.d VALUES (1, '`x` int'), (2, '`x` nonsense'), (3, NULL)");
    EXPECT_NE(err("SELECT rowcast_event('s', 't', 'insert', d, NULL, 7) FROM h.d ORDER BY n").find("unknown type"),
              std::string::npos);
    auto first = db.take<binary_codec>(1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].after[0], value(std::int64_t{7}));

    // A binary value with NUL bytes and a 1 MB blob arrive exactly.
    const std::string one_mb = [] {
        std::string s(1 << 20, '\0');
        for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 131 % 251);
        return s;
    }();
    c.query("CREATE TABLE h.b (id INT PRIMARY KEY, b LONGBLOB)");
    c.query("SELECT rowcast_event('s', 't', 'insert', '`b` varbinary(10)', NULL, X'00610062')");
    c.query("INSERT INTO h.b VALUES (1, " + c.quote(one_mb) + ")");
    EXPECT_EQ(c.scalar("SELECT rowcast_event('h', 'b', 'insert', '`id` int pk', NULL, id, '`b` longblob', NULL, b) "
                       "FROM h.b"),
              "0");
    auto events = db.take<binary_codec>(2);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].after[0], value(bytes{std::string("\0a\0b", 4)}));
    ASSERT_EQ(events[1].after.size(), 2u);
    EXPECT_EQ(events[1].after[1], value(bytes{one_mb}));

    // Over max_event_size: a clear error naming the limit, no event.
    db.write_config({"codec = binary", "durability = none", "max_event_size = 65536"});
    EXPECT_NE(err("SELECT rowcast_event('h', 'b', 'insert', '`id` int pk', NULL, id, '`b` longblob', NULL, b) FROM h.b")
                  .find("exceeds max_event_size 65536"),
              std::string::npos);
    // Many columns in one call.
    std::string wide = "SELECT rowcast_event('s', 'wide', 'update'";
    for (int i = 0; i < 500; ++i) wide += ", '`c" + std::to_string(i) + "` int', " + std::to_string(i) + ", NULL";
    wide += ")";
    EXPECT_EQ(c.scalar(wide), "0");
    auto w = db.take<binary_codec>(1);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].column_count(), 500u);
    EXPECT_EQ(w[0].before[499], value(std::int64_t{499}));
    EXPECT_TRUE(w[0].after[0].is_null());
    // The server is still there.
    EXPECT_TRUE(db.server().alive());
    EXPECT_EQ(c.scalar("SELECT 1"), "1");
}

TEST(Udf, ConfigErrorsNameTheFileAndLine) {
    udf_server db({"codec = binary"});
    auto c = db.connect();
    const std::string call = "SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 1)";
    const std::string file = db.config_file().string();
    std::filesystem::remove(db.config_file());
    std::string m = c.expect_error(call).what();
    EXPECT_NE(m.find(file + ": cannot read: No such file"), std::string::npos) << m;

    db.write_config({"codec = binary", "", "codec = xml"});
    m = c.expect_error(call).what();
    EXPECT_NE(m.find(file + ":5: codec 'xml'"), std::string::npos) << m;

    db.write_config({"colour = blue"});
    m = c.expect_error(call).what();
    EXPECT_NE(m.find(file + ":3: unknown key 'colour'"), std::string::npos) << m;

    db.write_config({"codec = binary"}, false);
    m = c.expect_error(call).what();
    EXPECT_NE(m.find(file + ": spool_directory is not set"), std::string::npos) << m;

    // A spool directory the server's user cannot write.
    const auto locked = db.server().dir() / "locked";
    std::filesystem::create_directory(locked);
    ::chmod(locked.c_str(), 0755);
    db.write_config({"spool_directory = " + locked.string(), "codec = binary"}, false);
    m = c.expect_error(call).what();
    if (db.server().running_as_mysql()) {
        EXPECT_NE(m.find("spool directory is not writable: Permission denied"), std::string::npos) << m;
    }

    // Back to a good config: works again.
    db.write_config({"codec = binary", "durability = file_and_directory", "file_mode = 0600"});
    EXPECT_EQ(c.scalar(call), "0");
    ASSERT_EQ(db.spool_files(), 1u);
    for (const auto& f : std::filesystem::directory_iterator(db.spool()))
        if (f.is_regular_file()) {
            EXPECT_EQ(static_cast<unsigned>(f.status().permissions()) & 0777u, 0600u);
        }
}

TEST(Udf, OnErrorContinueReturnsACodeAndTheStatementGoesOn) {
    udf_server db({"codec = binary", "on_error = continue"});
    auto c = db.connect();
    EXPECT_EQ(c.scalar("SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 'abc')"), "2");
    EXPECT_EQ(c.scalar("SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 5)"), "0");
    db.write_config({"codec = binary", "on_error = continue", "max_event_size = 1024"});
    EXPECT_EQ(c.scalar("SELECT rowcast_event('s', 't', 'insert', '`x` blob', NULL, REPEAT('x', 2000))"), "3");
    EXPECT_EQ(db.spool_files(), 1u);
}

TEST(Udf, DefaultOnErrorFailsTheTriggeringStatement) {
    udf_server db({"codec = binary"});
    auto c = db.connect();
    create_hosts(c);
    // The spool directory disappears: the INSERT fails instead of losing its event.
    std::filesystem::rename(db.spool(), db.spool().string() + ".gone");
    std::string m = c.expect_error("INSERT INTO inv.hosts VALUES (1, NULL, NULL, 'a')").what();
    EXPECT_NE(m.find("rowcast_event"), std::string::npos) << m;
    EXPECT_EQ(c.scalar("SELECT COUNT(*) FROM inv.hosts"), "0");
    std::filesystem::rename(db.spool().string() + ".gone", db.spool());
    c.query("INSERT INTO inv.hosts VALUES (1, NULL, NULL, 'a')");
    EXPECT_EQ(db.take<binary_codec>(1).size(), 1u);
}

// Documented caveat: a UDF's side effect is not transactional. A rolled-back
// transaction's events are in the spool already.
TEST(Udf, RolledBackTransactionStillProducedItsEvents) {
    udf_server db({"codec = yaml", "durability = none"});
    auto c = db.connect();
    create_hosts(c);
    c.query("START TRANSACTION");
    c.query("INSERT INTO inv.hosts VALUES (7, NULL, '192.0.2.7', 'rolled-back.example')");
    c.query("ROLLBACK");
    EXPECT_EQ(c.scalar("SELECT COUNT(*) FROM inv.hosts"), "0");
    auto events = db.take<yaml_codec>(1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].after[3], value(text{"rolled-back.example"}));
    EXPECT_TRUE(events[0].after[1].is_null());
}

TEST(Udf, RowcastJsonTakesHandWrittenMessages) {
    udf_server db({"codec = binary"});
    auto c = db.connect();
    EXPECT_EQ(c.scalar(R"(SELECT rowcast_json(JSON_OBJECT('schema', 'inv', 'table', 'hosts', 'operation', 'update',
        'primary', 'id', 'columns', JSON_ARRAY('id', 'hostname'),
        'old', JSON_OBJECT('id', '42', 'hostname', 'www'), 'new', JSON_OBJECT('id', '42', 'hostname', 'web'))))"),
              "0");
    auto events = db.take<binary_codec>(1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, event_kind::update);
    EXPECT_EQ(events[0].schema, "inv");
    EXPECT_EQ(events[0].table, "hosts");
    ASSERT_EQ(events[0].column_count(), 2u);
    EXPECT_EQ(events[0].after[1], value(text{"web"}));
    EXPECT_EQ(events[0].before[1], value(text{"www"}));
}

TEST(Udf, ManyThreadsAtOnce) {
    udf_server db({"codec = binary", "durability = none"});
    {
        auto c = db.connect();
        create_hosts(c);
    }
    constexpr int threads = 4, per_thread = 150;
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
            try {
                auto c = db.connect();
                for (int i = 0; i < per_thread; ++i)
                    c.query("INSERT INTO inv.hosts VALUES (" + std::to_string(t * 1000 + i) + ", NULL, NULL, 'h" +
                            std::to_string(i) + "')");
            } catch (...) {
                ++failures;
            }
        });
    for (auto& t : ts) t.join();
    EXPECT_EQ(failures.load(), 0);
    auto events = db.take<binary_codec>(threads * per_thread);
    ASSERT_EQ(events.size(), static_cast<std::size_t>(threads * per_thread));
    std::set<std::uint64_t> ids;
    for (const auto& e : events) ids.insert(std::get<std::uint64_t>(e.after[0]));
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(threads * per_thread));
}

// DROP FUNCTION releases the library (glibc keeps it mapped: libstdc++ unique symbols; docs/udf.md) and
// CREATE takes it again; no static destructor may misbehave either way.
TEST(Udf, SurvivesDropAndRecreate) {
    udf_server db({"codec = binary"});
    auto c = db.connect();
    const std::string call = "SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 1)";
    for (int round = 0; round < 3; ++round) {
        EXPECT_EQ(c.scalar(call), "0");
        c.query("DROP FUNCTION rowcast_event");
        c.query("DROP FUNCTION rowcast_json");
        c.query("CREATE FUNCTION rowcast_event RETURNS INTEGER SONAME 'rowcast_udf.so'");
        c.query("CREATE FUNCTION rowcast_json RETURNS INTEGER SONAME 'rowcast_udf.so'");
    }
    EXPECT_EQ(db.take<binary_codec>(3).size(), 3u);
    EXPECT_TRUE(db.server().alive());
}

// `DO rowcast_event(…)` discards the function's error (seen on MariaDB 10.11), so a trigger must
// test the result (IF … IS NULL THEN SIGNAL, as rowcast-triggers writes) or assign it.
#if defined(ROWCAST_TEST_UDF_DATAGRAM)
// output = udp: the function sends each event straight to a multicast group (here on lo), signed.
TEST(Udf, SendsStraightToUdpMulticast) {
    udf_server db;
    const std::string group = "239.78." + std::to_string(::getpid() % 250) + ".1";
    const std::string secret = "0123456789abcdef0123456789abcdef";
    const auto key = db.server().dir() / "multicast.key";
    std::ofstream(key, std::ios::binary) << secret;
    std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::group_read |
                                          std::filesystem::perms::others_read);
    const unsigned port = 20000 + static_cast<unsigned>(::getpid() % 20000);
    db.write_config({"output = udp", "udp_group = " + group, "udp_port = " + std::to_string(port), "udp_interface = lo",
                     "datagram_key = 7:" + key.string(), "datagram_source_id = 42"},
                    false);
    datagram::consumer_options co;
    co.keys.add(7, secret).value();
    auto rx = datagram::udp_consumer<binary_codec>::open(
                  {.group = group, .port = static_cast<std::uint16_t>(port), .interface = "lo"}, std::move(co))
                  .value();
    auto c = db.connect();
    create_hosts(c);
    // A 10-row statement (the init runs for every row inside a trigger), then 10 single-row ones.
    std::string many = "INSERT INTO inv.hosts VALUES ";
    for (int i = 1; i <= 10; ++i) many += (i > 1 ? ", (" : "(") + std::to_string(i) + ", '00:00:5e:00:53:01', '192.0.2.10', 'h')";
    c.query(many);
    for (int i = 11; i <= 20; ++i)
        c.query("INSERT INTO inv.hosts VALUES (" + std::to_string(i) + ", '00:00:5e:00:53:01', '192.0.2.10', 'h')");
    std::vector<event> got;
    auto sink = callback_sink([&](const event& e) { got.push_back(e); });
    for (int idle = 0; got.size() < 20 && idle < 500; ++idle) {
        ASSERT_TRUE(rx.process(sink));
        pollfd p{rx.native_handle(), POLLIN, 0};
        ::poll(&p, 1, 10);
    }
    ASSERT_EQ(got.size(), 20u);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].table, "hosts");
        EXPECT_EQ(got[i].after[0], value(std::uint64_t{i + 1}));
    }
    EXPECT_EQ(rx.stats().forged + rx.stats().unauthenticated, 0u);
    // One producer (one epoch) for all 20 rows: it stays open between calls, so a receiver's
    // repair request has someone to answer it (it was opened and closed per row before).
    EXPECT_EQ(rx.stats().restarts, 0u);
    EXPECT_EQ(rx.stats().replayed, 0u);
    EXPECT_EQ(db.spool_files(), 0u);
}
#endif

// output = journal: every row change is one record appended by the server's one writer; the
// journal_source reads back exactly the table's changes, in order.
namespace {
// The row ids a journal directory holds, read until `n` arrived (a liveness guard of 500 idle
// waits of 10 ms).
std::vector<std::uint64_t> journal_ids(const std::filesystem::path& dir, std::size_t n) {
    auto src = journal_source<binary_codec>::open({.directory = dir, .tail_poll = std::chrono::milliseconds(5)}).value();
    std::vector<std::uint64_t> ids;
    auto sink = callback_sink([&](const event& e) { ids.push_back(std::get<std::uint64_t>(e.after[0])); });
    for (int idle = 0; ids.size() < n && idle < 500; ++idle) {
        EXPECT_TRUE(src.process(sink));
        pollfd p{src.native_handle(), POLLIN, 0};
        ::poll(&p, 1, 10);
    }
    return ids;
}
}  // namespace

TEST(Udf, JournalOutputCapturesExactlyTheTableChanges) {
    udf_server db;
    const auto journal = db.server().make_server_owned_dir("journal");
    db.write_config({"output = journal", "journal_directory = " + journal.string(), "codec = binary", "durability = none"},
                    false);
    auto c = db.connect();
    create_hosts(c);
    std::string many = "INSERT INTO inv.hosts VALUES ";
    for (int i = 1; i <= 10; ++i)
        many += (i > 1 ? ", (" : "(") + std::to_string(i) + ", '00:00:5e:00:53:01', '192.0.2." + std::to_string(i) + "', 'h')";
    c.query(many);                                                             // 10 rows, one statement
    c.query("UPDATE inv.hosts SET hostname = CONCAT('u', id) WHERE id <= 3");  // 3 rows
    c.query("DELETE FROM inv.hosts WHERE id > 8");                             // 2 rows
    for (int i = 11; i <= 15; ++i)                                             // 5 single-row statements
        c.query("INSERT INTO inv.hosts VALUES (" + std::to_string(i) + ", NULL, '198.51.100.1', 'n')");
    // The server keeps its writer (and the directory's lock) open between statements.
    auto second = journal_writer<binary_codec>::open({journal, journal_durability::none});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error_value().code, errc::unavailable);

    auto src = journal_source<binary_codec>::open({.directory = journal, .tail_poll = std::chrono::milliseconds(5)}).value();
    std::vector<event> got;
    auto sink = callback_sink([&](const event& e) { got.push_back(e); });
    for (int idle = 0; got.size() < 20 && idle < 500; ++idle) {
        ASSERT_TRUE(src.process(sink));
        pollfd p{src.native_handle(), POLLIN, 0};
        ::poll(&p, 1, 10);
    }
    ASSERT_EQ(got.size(), 20u);
    std::map<std::uint64_t, std::vector<value>> table;  // the table rebuilt from the events alone
    for (std::size_t i = 0; i < got.size(); ++i) {
        const event& e = got[i];
        EXPECT_EQ(e.kind, i < 10 || i >= 15 ? event_kind::insert : i < 13 ? event_kind::update : event_kind::delete_) << i;
        if (i > 0) {
            EXPECT_LT(got[i - 1].sequence, e.sequence);
        }
        if (e.kind == event_kind::delete_) {
            table.erase(std::get<std::uint64_t>(e.before[0]));
        } else {
            table[std::get<std::uint64_t>(e.after[0])] = e.after;
        }
    }
    std::map<std::uint64_t, std::vector<value>> actual;
    for (const auto& r : c.rows("SELECT id, mac, ip, hostname FROM inv.hosts")) {
        std::vector<value> v{std::uint64_t{std::stoull(*r[0])}};
        for (std::size_t k = 1; k < 4; ++k) v.push_back(r[k] ? value(text{*r[k]}) : value(null_value{}));
        actual[std::stoull(*r[0])] = v;
    }
    EXPECT_EQ(table, actual);
    EXPECT_EQ(src.stats().quarantined, 0u);
    EXPECT_EQ(db.spool_files(), 0u);

    // The journal directory replaced under the same path (renamed away, a new one made there):
    // the next statements' rows go to the new directory, none to the old one (before, the
    // server's writer went on appending to the renamed directory, which no reader was given).
    const std::filesystem::path old_dir = journal.string() + ".old";
    std::filesystem::rename(journal, old_dir);
    ASSERT_EQ(db.server().make_server_owned_dir("journal"), journal);
    c.query("INSERT INTO inv.hosts VALUES (21, NULL, '198.51.100.2', 'r'), (22, NULL, '198.51.100.3', 'r')");
    c.query("INSERT INTO inv.hosts VALUES (23, NULL, '198.51.100.4', 'r')");
    EXPECT_EQ(journal_ids(journal, 3), (std::vector<std::uint64_t>{21, 22, 23}));
    ASSERT_TRUE(src.process(sink));  // the reader of the renamed directory: nothing new there
    EXPECT_EQ(got.size(), 20u);
}

TEST(Udf, TriggerFormsThatFailTheStatement) {
    udf_server db({"codec = binary"});
    auto c = db.connect();
    c.query("CREATE DATABASE s; CREATE TABLE s.a (v VARCHAR(10)); CREATE TABLE s.b (v VARCHAR(10)); "
            "CREATE TABLE s.d (v VARCHAR(10))");
    c.query("CREATE TRIGGER s.a_ai AFTER INSERT ON s.a FOR EACH ROW "
            "SET @rowcast = rowcast_event('s', 'a', 'insert', '`v` int', NULL, NEW.v)");
    c.query("CREATE TRIGGER s.b_ai AFTER INSERT ON s.b FOR EACH ROW BEGIN IF rowcast_event('s', 'b', 'insert', "
            "'`v` int', NULL, NEW.v) IS NULL THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'lost'; END IF; END");
    c.query("CREATE TRIGGER s.d_ai AFTER INSERT ON s.d FOR EACH ROW DO rowcast_event('s', 'd', 'insert', '`v` int', "
            "NULL, NEW.v)");
    EXPECT_NE(std::string(c.expect_error("INSERT INTO s.a VALUES ('x')").what()).find("not an integer"),
              std::string::npos);
    EXPECT_NE(std::string(c.expect_error("INSERT INTO s.b VALUES ('x')").what()).find("not an integer"),
              std::string::npos);
    c.query("INSERT INTO s.d VALUES ('x')");  // the DO form: the row goes in, the event is lost
    EXPECT_EQ(c.scalar("SELECT COUNT(*) FROM s.a") , "0");
    EXPECT_EQ(c.scalar("SELECT COUNT(*) FROM s.b"), "0");
    EXPECT_EQ(c.scalar("SELECT COUNT(*) FROM s.d"), "1");
    EXPECT_EQ(db.spool_files(), 0u);
}

// The config and the spool writer are kept for the whole server (udf::shared_output) and made
// again when the config file's text changes or the spool directory at its path is another one.
TEST(Udf, ConfigAndSpoolDirectoryChangesTakeEffectAtTheNextStatement) {
    udf_server db({"codec = binary"});
    auto c = db.connect();
    const std::string call = "SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 1)";
    auto names = [&](const fs::path& dir) {
        std::vector<std::string> n;
        for (const auto& f : fs::directory_iterator(dir)) n.push_back(f.path().extension().string());
        std::sort(n.begin(), n.end());
        return n;
    };
    EXPECT_EQ(c.scalar(call), "0");
    db.write_config({"codec = json"});  // read again at each statement: the text decides
    EXPECT_EQ(c.scalar(call), "0");
    EXPECT_EQ(names(db.spool()), (std::vector<std::string>{".binary", ".json"}));
    // The spool directory is replaced under the same path: the next statement writes into the new one.
    const fs::path old = db.spool().string() + ".old";
    fs::rename(db.spool(), old);
    EXPECT_NE(std::string(c.expect_error(call).what()).find("cannot open spool directory"), std::string::npos);
    db.server().make_server_owned_dir("spool");
    EXPECT_EQ(c.scalar(call), "0");
    EXPECT_EQ(names(db.spool()), (std::vector<std::string>{".json"}));
    EXPECT_EQ(names(old).size(), 2u);
}

// The config is looked at once per statement (the init runs per row inside a trigger): every row of
// a multi-row statement goes where the config said at its start, and a change applies to the next one.
TEST(Udf, ConfigChangesApplyToTheNextMultiRowStatement) {
    udf_server db({"codec = binary", "durability = none"});
    const auto journal = db.server().make_server_owned_dir("journal");
    auto c = db.connect();
    create_hosts(c);
    auto insert = [&](int first) {
        std::string sql = "INSERT INTO inv.hosts VALUES ";
        for (int i = first; i < first + 10; ++i)
            sql += (i > first ? ", (" : "(") + std::to_string(i) + ", NULL, '192.0.2.1', 'h')";
        c.query(sql);
    };
    insert(1);
    EXPECT_EQ(db.spool_files(), 10u);
    db.write_config({"output = journal", "journal_directory = " + journal.string(), "codec = binary", "durability = none"});
    insert(11);
    EXPECT_EQ(db.spool_files(), 10u);  // all 10 rows into the journal
    db.write_config({"codec = json", "durability = none"});
    insert(21);
    std::size_t json = 0;
    for (const auto& f : fs::directory_iterator(db.spool())) json += f.path().extension() == ".json";
    EXPECT_EQ(json, 10u);
    EXPECT_EQ(journal_ids(journal, 10), (std::vector<std::uint64_t>{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}));
}

// The status plugin (examples/status-plugin, docs/status-plugin.md) beside the functions: the
// functions' counters through rowcast_udf_read_status_v1(), the spool depth, and the daemon's
// status file read at each query (fresh, stale, damaged, missing), then UNINSTALL.
#if defined(ROWCAST_STATUS_SO)
namespace {
std::map<std::string, std::string> rowcast_status(db_connection& c) {
    std::map<std::string, std::string> out;
    for (const auto& r : c.rows("SHOW GLOBAL STATUS LIKE 'rowcast%'")) {
        std::string name = r[0].value_or("");  // the server shows "Rowcast_…"
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
        out[name] = r[1].value_or("");
    }
    return out;
}
void write_status_file(const std::filesystem::path& p, const std::string& text) {
    ASSERT_TRUE(write_file_atomically(p, text, durability::none, 0644));
}
}  // namespace

TEST(Udf, StatusPluginShowsCountersSpoolDepthAndDaemonState) {
    udf_server db({"codec = binary", "durability = none"},
                  {"loose-rowcast_status_file={dir}/daemon.prom", "loose-rowcast_status_stale_seconds=600",
                   "loose-rowcast_spool_scan_interval=0"},
                  false);
    const auto status_file = db.server().dir() / "daemon.prom";
    auto c = db.connect();
    EXPECT_TRUE(rowcast_status(c).empty());
    db.server().install_plugin(ROWCAST_STATUS_SO);
    c.query("INSTALL SONAME 'rowcast_status'");

    auto st = rowcast_status(c);
    EXPECT_EQ(st["rowcast_udf_state"], "not loaded");
    EXPECT_EQ(st["rowcast_udf_events_written"], "0");
    EXPECT_EQ(st["rowcast_udf_spool_depth"], "0");
    EXPECT_EQ(st["rowcast_daemon_state"].rfind("unreadable: " + status_file.string() + ": No such file", 0), 0u)
        << st["rowcast_daemon_state"];

    db.create_functions();
    st = rowcast_status(c);
    EXPECT_EQ(st["rowcast_udf_state"], "loaded");
    EXPECT_EQ(st["rowcast_udf_statements"], "0");
    EXPECT_EQ(st["rowcast_udf_failures"], "0");
    EXPECT_EQ(st["rowcast_udf_last_error"], "");

    EXPECT_EQ(c.scalar("SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 1)"), "0");
    EXPECT_EQ(c.scalar("SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 2)"), "0");
    EXPECT_NE(std::string(c.expect_error("SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 'abc')").what())
                  .find("not an integer"), std::string::npos);
    st = rowcast_status(c);
    EXPECT_EQ(st["rowcast_udf_statements"], "3");
    EXPECT_EQ(st["rowcast_udf_events_written"], "2");
    EXPECT_EQ(st["rowcast_udf_failures"], "1");
    EXPECT_NE(st["rowcast_udf_last_error"].find("not an integer"), std::string::npos) << st["rowcast_udf_last_error"];
    EXPECT_FALSE(st["rowcast_udf_last_error_age_seconds"].empty());
    EXPECT_EQ(st["rowcast_udf_spool_depth"], "2");

    write_status_file(status_file,
                      "# HELP rowcast_up 1 while the daemon runs\n# TYPE rowcast_up gauge\nrowcast_up 1\n"
                      "rowcast_lag_seconds 0.5\nrowcast_events_in_total 1234\n"
                      "rowcast_sink_events_out_total{sink=\"dns\"} 1200\nrowcast_sink_events_out_total{sink=\"spool\"} 34\n"
                      "rowcast_sink_up{sink=\"dns\"} 1\nrowcast_sink_up{sink=\"spool\"} 0\n"
                      "rowcast_sink_queue_depth{sink=\"dns\"} 0\nrowcast_sink_queue_depth{sink=\"spool\"} 12\n"
                      "rowcast_reconnects_total 3\nrowcast_gaps_total 0\nrowcast_quarantined_total 1\n"
                      "rowcast_position_info{position=\"binlog.000003:4711\"} 1\n");
    st = rowcast_status(c);
    EXPECT_EQ(st["rowcast_daemon_state"], "up");
    EXPECT_EQ(st["rowcast_daemon_lag_seconds"], "0.5");
    EXPECT_EQ(st["rowcast_daemon_position"], "binlog.000003:4711");
    EXPECT_EQ(st["rowcast_daemon_events_in"], "1234");
    EXPECT_EQ(st["rowcast_daemon_sinks"], "dns=up,spool=down");
    EXPECT_EQ(st["rowcast_daemon_sink_queue_depth"], "dns=0,spool=12");
    EXPECT_EQ(st["rowcast_daemon_sink_events_out"], "dns=1200,spool=34");
    EXPECT_EQ(st["rowcast_daemon_reconnects"], "3");
    EXPECT_EQ(st["rowcast_daemon_quarantined"], "1");
    EXPECT_EQ(c.scalar("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                       "WHERE VARIABLE_NAME = 'ROWCAST_DAEMON_SINKS'"), "dns=up,spool=down");

    // Not rewritten for an hour: stale, the last values still shown.
    const timespec old[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, status_file.c_str(), old, 0), 0);
    st = rowcast_status(c);
    EXPECT_EQ(st["rowcast_daemon_state"].rfind("stale: not rewritten for 3", 0), 0u) << st["rowcast_daemon_state"];
    EXPECT_EQ(st["rowcast_daemon_position"], "binlog.000003:4711");

    write_status_file(status_file, "rowcast_up 0\n");
    EXPECT_EQ(rowcast_status(c)["rowcast_daemon_state"], "down");
    write_status_file(status_file, "rowcast_up 1\nrowcast_lag_seconds{x=\"1\" 2\n");
    st = rowcast_status(c);
    EXPECT_EQ(st["rowcast_daemon_state"],
              "unreadable: [rowcast.stats.syntax_error] " + status_file.string() + ":2: expected ',' or '}' after label x");
    EXPECT_EQ(st["rowcast_daemon_lag_seconds"], "");
    write_status_file(status_file, "rowcast_lag_seconds 1\n");
    EXPECT_EQ(rowcast_status(c)["rowcast_daemon_state"], "unreadable: " + status_file.string() + ": no rowcast_up sample");
    write_status_file(status_file, std::string(2 << 20, '#'));
    EXPECT_NE(rowcast_status(c)["rowcast_daemon_state"].find("limit_exceeded"), std::string::npos);
    std::filesystem::remove(status_file);
    std::filesystem::create_symlink("/etc/passwd", status_file);
    EXPECT_NE(rowcast_status(c)["rowcast_daemon_state"].find("symbolic link"), std::string::npos);

    // Inside a trigger the server runs the function's init (counted as a statement) and deinit for
    // every row, not once per statement: what the per-thread spare site is for (docs/udf.md).
    c.query("CREATE DATABASE s");
    c.query("CREATE TABLE s.t (x INT)");
    c.query("CREATE TRIGGER s.t_ai AFTER INSERT ON s.t FOR EACH ROW "
            "SET @r = rowcast_event('s', 't', 'insert', '`x` int', NULL, NEW.x)");
    const auto inits = std::stoull(rowcast_status(c)["rowcast_udf_statements"]);
    c.query("INSERT INTO s.t VALUES (1), (2), (3), (4), (5)");
    EXPECT_EQ(std::stoull(rowcast_status(c)["rowcast_udf_statements"]) - inits, 5u);

    c.query("UNINSTALL SONAME 'rowcast_status'");
    EXPECT_TRUE(rowcast_status(c).empty());
    EXPECT_EQ(c.scalar("SELECT rowcast_event('s', 't', 'insert', '`x` int', NULL, 3)"), "0");
    EXPECT_TRUE(db.server().alive());
}
#endif

// --- The library parts on their own (no server): rowcast/udf/{columns,call,config,spool_output}.hpp
#include <rowcast/udf/call.hpp>
#include <rowcast/udf/columns.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/udf/spool_output.hpp>

#include <filesystem>
#include <fstream>

namespace {
column parsed(std::string_view d) {
    auto c = udf::parse_descriptor(d);
    EXPECT_TRUE(c) << d << ": " << (c ? "" : c.error_value().message);
    return c ? *c : column{};
}
std::string as_int(long long x) { return std::string(reinterpret_cast<const char*>(&x), sizeof x); }
}  // namespace

TEST(UdfDescriptor, ParsesColumnDefinitions) {
    column c = parsed("`id` bigint(20) unsigned not null primary key");
    EXPECT_EQ(c.name, "id");
    EXPECT_EQ(c.type.type, sql_type::bigint);
    EXPECT_TRUE(c.type.is_unsigned);
    EXPECT_FALSE(c.nullable);
    EXPECT_TRUE(c.primary_key);
    c = parsed("`we``ird name` ENUM('a','b''c','d\\\\e') CHARACTER SET latin1 pk");
    EXPECT_EQ(c.name, "we`ird name");
    EXPECT_EQ(c.type.members, (std::vector<std::string>{"a", "b'c", "d\\e"}));
    EXPECT_EQ(c.type.charset, "latin1");
    EXPECT_TRUE(c.primary_key);
    c = parsed("plain decimal(65,30)");
    EXPECT_EQ(c.type.precision, 65);
    EXPECT_EQ(c.type.scale, 30);
    EXPECT_EQ(parsed("`f` float(30)").type.type, sql_type::double_);
    EXPECT_EQ(parsed("`g` multipolygon").type.geometry_type, "multipolygon");
    for (const char* bad : {"", "`x", "`x` ", "`x` nonsense", "`x` int(", "`x` bit(65)", "`x` time(7)",
                            "`x` enum", "`x` enum('a'", "`x` int primary", "`x` int not", "`x` int extra",
                            "`x` decimal(66,2)", "``` int"}) {
        auto r = udf::parse_descriptor(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error_value().message.rfind("[rowcast.udf.", 0), 0u) << r.error_value().message;
    }
    // The message names the column and what is wrong.
    auto r = udf::parse_descriptor("`x` nonsense");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().message, "[rowcast.udf.syntax_error] column `x`: unknown type 'nonsense'");
    EXPECT_EQ(r.error_value().code, make_error_code(errc::syntax_error));
    r = udf::parse_descriptor("`x` bit(65)");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().message, "[rowcast.udf.invalid_value] column `x`: BIT width must be 1-64");
}

TEST(UdfDescriptor, ConvertsArgumentsAndRejectsMisfits) {
    auto ok = [](const column& c, udf::arg_kind k, std::string_view bytes) {
        auto r = udf::convert_argument(c, k, bytes);
        EXPECT_TRUE(r) << c.name << ": " << (r ? "" : r.error_value().message);
        return r ? *r : value{};
    };
    auto fails = [](const column& c, udf::arg_kind k, std::string_view bytes) {
        auto r = udf::convert_argument(c, k, bytes);
        return !r && r.error_value().code == make_error_code(errc::invalid_value) &&
               r.error_value().message.find("column `" + c.name + "`") != std::string::npos;
    };
    column c = parsed("`u` bigint unsigned");
    EXPECT_EQ(ok(c, udf::arg_kind::integer, as_int(-1)), value(std::uint64_t{UINT64_MAX}));
    EXPECT_EQ(ok(c, udf::arg_kind::decimal, "18446744073709551615"), value(std::uint64_t{UINT64_MAX}));
    EXPECT_TRUE(fails(c, udf::arg_kind::string, "1.5"));
    EXPECT_TRUE(fails(c, udf::arg_kind::integer, "short"));  // wrong size, no overread
    c = parsed("`b` bit(3)");
    EXPECT_TRUE(fails(c, udf::arg_kind::integer, as_int(8)));
    EXPECT_EQ(ok(c, udf::arg_kind::string, std::string("\x05", 1)), value(bit{5, 3}));
    c = parsed("`s` set('a','b','c')");
    EXPECT_EQ(ok(c, udf::arg_kind::integer, as_int(5)), value(set_value{"a,c", 5}));
    EXPECT_TRUE(fails(c, udf::arg_kind::integer, as_int(8)));
    c = parsed("`t` timestamp(6)");
    EXPECT_EQ(ok(c, udf::arg_kind::decimal, "1795352710.654321"), value(timestamp{1795352710654321}));
    EXPECT_EQ(ok(c, udf::arg_kind::string, "2026-11-22 13:05:10.654321"), value(timestamp{1795352710654321}));
    c = parsed("`g` geometry");
    EXPECT_TRUE(fails(c, udf::arg_kind::string, "abc"));
    // Random bytes against every type never crash and never read out of bounds (run under
    // ROWCAST_SANITIZE for the proof).
    std::mt19937 rng(7);
    const char* types[] = {"int", "bigint unsigned", "decimal(10,2)", "float", "double", "bit(7)", "year", "date",
                           "time(6)", "datetime(6)", "timestamp", "enum('x','y')", "set('x','y')", "json", "blob",
                           "varchar(5)", "point", "uuid"};
    for (const char* t : types) {
        auto pc = udf::parse_descriptor(std::string("`c` ") + t);
        ASSERT_TRUE(pc) << t;
        for (int i = 0; i < 300; ++i) {
            std::string bytes(rng() % 24, '\0');
            for (auto& b : bytes) b = static_cast<char>(rng());
            const auto k = static_cast<udf::arg_kind>(rng() % 5);
            (void)udf::convert_argument(*pc, k, bytes);
        }
    }
    for (int i = 0; i < 2000; ++i) {
        std::string d = "`c` ";
        for (std::size_t n = rng() % 30; n > 0; --n) d += "(),'` enumsetintdecimal0123456789\\"[rng() % 35];
        (void)udf::parse_descriptor(d);
    }
}

TEST(UdfEventBuilder, BuildsTypedEventsFromArguments) {
    udf::column_cache cache;
    udf::event_builder b(1 << 20, cache);
    const std::string id = as_int(7);
    std::vector<udf::argument> args = {
        {udf::arg_kind::string, "inv"},  {udf::arg_kind::string, "hosts"}, {udf::arg_kind::string, "U"},
        {udf::arg_kind::string, "`id` int pk"}, {udf::arg_kind::integer, id}, {udf::arg_kind::integer, id},
        {udf::arg_kind::string, "`ip` varchar(45)"}, {udf::arg_kind::string, "", true}, {udf::arg_kind::string, "192.0.2.1"},
    };
    auto e = b.build(args);
    ASSERT_TRUE(e) << e.error_value().message;
    EXPECT_EQ(e->kind, event_kind::update);
    EXPECT_EQ(e->schema, "inv");
    EXPECT_EQ(e->table, "hosts");
    ASSERT_EQ(e->columns->size(), 2u);
    EXPECT_TRUE((*e->columns)[0].primary_key);
    EXPECT_EQ(e->before, (std::vector<value>{value(std::int64_t{7}), value(null_value{})}));
    EXPECT_EQ(e->after, (std::vector<value>{value(std::int64_t{7}), value(text{"192.0.2.1"})}));
    EXPECT_NE(e->sequence, 0u);
    EXPECT_NE(e->capture_time.time_since_epoch().count(), 0);
    // The same descriptors again: the same column list (cached), a later sequence.
    auto e2 = b.build(args);
    ASSERT_TRUE(e2);
    EXPECT_EQ(e2->columns, e->columns);
    EXPECT_GT(e2->sequence, e->sequence);
    udf::event_builder other(1 << 20, cache);
    EXPECT_EQ(other.build(args)->columns, e->columns);  // shared through the cache

    auto error_of = [&](std::vector<udf::argument> a, std::size_t max = 1 << 20) {
        udf::event_builder eb(max, cache);
        auto r = eb.build(a);
        return r ? std::string("(no error)") : r.error_value().message;
    };
    auto with = [&](std::size_t i, udf::argument x) {
        auto a = args;
        a[i] = x;
        return a;
    };
    EXPECT_EQ(error_of(with(0, {udf::arg_kind::string, "", true})), "[rowcast.udf.invalid_value] argument 1: schema is NULL");
    EXPECT_EQ(error_of(with(2, {udf::arg_kind::string, "merge"})),
              "[rowcast.udf.invalid_value] argument 3: operation must be insert, update or delete, not 'merge'");
    EXPECT_EQ(error_of(with(6, {udf::arg_kind::string, "", true})),
              "[rowcast.udf.invalid_value] column descriptor (argument 7) is NULL");
    EXPECT_EQ(error_of(with(6, {udf::arg_kind::string, "`ip` varchr"})),
              "[rowcast.udf.syntax_error] argument 7: column `ip`: unknown type 'varchr'");
    EXPECT_EQ(error_of(with(5, {udf::arg_kind::string, "abc"})),
              "[rowcast.udf.invalid_value] argument 6 (new value, table `inv`.`hosts`): column `id` (int): "
              "not an integer: 'abc'");
    EXPECT_EQ(error_of({args.begin(), args.begin() + 5}).rfind("[rowcast.udf.unsupported] expected 3 + 3*N arguments (+1: an outbox id), got 5", 0), 0u);
    EXPECT_EQ(error_of(args, 20), "[rowcast.udf.limit_exceeded] event of 61 bytes of values exceeds max_event_size 20");
    EXPECT_FALSE(udf::event_builder::check_descriptor(3, "`x` intt"));
    EXPECT_TRUE(udf::event_builder::check_descriptor(3, "`x` int"));
    EXPECT_EQ(udf::parse_operation("Delete"), event_kind::delete_);
    EXPECT_EQ(udf::parse_operation("i"), event_kind::insert);
    EXPECT_FALSE(udf::parse_operation("upsert"));
}

TEST(UdfConfig, ParsesEveryKeyAndNamesFileAndLineOnErrors) {
    auto c = udf::parse_config("# comment\n; other\n\n spool_directory = /var/spool/x \ncodec=binary\n"
                               "durability = file_and_directory\nfile_mode = 0600\non_error = continue\n"
                               "max_event_size = 4096\n",
                               "/etc/r.conf");
    ASSERT_TRUE(c) << c.error_value().message;
    EXPECT_EQ(c->file, "/etc/r.conf");
    EXPECT_EQ(c->spool_directory, "/var/spool/x");
    EXPECT_EQ(c->codec, "binary");
    EXPECT_EQ(c->durability, spool_durability::file_and_directory);
    EXPECT_EQ(c->file_mode, 0600u);
    EXPECT_FALSE(c->fail_on_error);
    EXPECT_EQ(c->max_event_size, 4096u);
    auto d = udf::parse_config("spool_directory = /s\n", "f");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->codec, "json");
    EXPECT_EQ(d->durability, spool_durability::file);
    EXPECT_TRUE(d->fail_on_error);
    auto err = [](std::string_view text) {
        auto r = udf::parse_config(text, "f.conf");
        return r ? std::string("(no error)") : r.error_value().message;
    };
    EXPECT_EQ(err("spool_directory = /s\ncodec = xml\n"), "[rowcast.udf.invalid_value] f.conf:2: codec 'xml': not json|yaml|binary");
    EXPECT_EQ(err("spool_directory = s\n"), "[rowcast.udf.invalid_value] f.conf:1: spool_directory: not an absolute path");
    EXPECT_EQ(err("spool_directory\n"), "[rowcast.udf.syntax_error] f.conf:1: expected key = value");
    EXPECT_EQ(err("colour = red\n"), "[rowcast.udf.invalid_value] f.conf:1: unknown key 'colour'");
    EXPECT_EQ(err("file_mode = 0999\n"), "[rowcast.udf.invalid_value] f.conf:1: file_mode '0999': not octal like 0640");
    EXPECT_EQ(err("max_event_size = 10\n"), "[rowcast.udf.invalid_value] f.conf:1: max_event_size '10': not 1024-1073741824");
    EXPECT_EQ(err("durability = full\n"), "[rowcast.udf.invalid_value] f.conf:1: durability 'full': not none|file|file_and_directory");
    EXPECT_EQ(err("on_error = ignore\n"), "[rowcast.udf.invalid_value] f.conf:1: on_error 'ignore': not fail|continue");
    EXPECT_EQ(err("codec = json\n"), "[rowcast.udf.missing_field] f.conf: spool_directory is not set");
    auto missing = udf::load_config("/nonexistent/rowcast-udf.conf");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error_value().message.rfind("[rowcast.udf.io_error] /nonexistent/rowcast-udf.conf: cannot read: No such file", 0), 0u);
}

TEST(UdfConfig, DatagramOutputKeys) {
    auto c = udf::parse_config("output = udp\nudp_group = 239.1.2.3\nudp_port = 5999\nudp_interface = eth0\nudp_hops = 4\n"
                               "datagram_key = 3:/etc/k\ndatagram_source_id = 42\n",
                               "f");
    ASSERT_TRUE(c) << c.error_value().message;  // no spool_directory needed
    EXPECT_EQ(c->output, udf::config::output_kind::udp);
    EXPECT_EQ(c->udp_group, "239.1.2.3");
    EXPECT_EQ(c->udp_port, 5999u);
    EXPECT_EQ(c->udp_hops, 4);
    EXPECT_EQ(c->datagram_key_id, 3u);
    EXPECT_EQ(c->datagram_key_file, "/etc/k");
    EXPECT_EQ(c->datagram_source_id, 42u);
    EXPECT_TRUE(udf::parse_config("output = netlink\n", "f"));
    auto err = [](const char* text) { return udf::parse_config(text, "f").error_value().message; };
    EXPECT_EQ(err("output = udp\nudp_port = 1\n"), "[rowcast.udf.missing_field] f: output = udp needs udp_group and udp_port");
    EXPECT_EQ(err("output = tcp\n"), "[rowcast.udf.invalid_value] f:1: output 'tcp': not spool|journal|udp|netlink");
    EXPECT_EQ(err("output = udp\nudp_port = 70000\n"), "[rowcast.udf.invalid_value] f:2: udp_port '70000': not 1-65535");
    EXPECT_EQ(err("datagram_key = 3:relative\n"),
              "[rowcast.udf.invalid_value] f:1: datagram_key '3:relative': not ID:/absolute/file (ID 0-65535)");
}

TEST(UdfConfig, JournalOutputKeys) {
    auto c = udf::parse_config("output = journal\njournal_directory = /var/spool/j\ndurability = none\n", "j.conf").value();
    EXPECT_EQ(c.output, udf::config::output_kind::journal);
    EXPECT_EQ(c.journal_directory, "/var/spool/j");
    EXPECT_TRUE(c.spool_directory.empty());  // not needed with a journal
    auto missing = udf::parse_config("output = journal\n", "j.conf");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error_value().code, errc::missing_field);
    EXPECT_NE(missing.error_value().message.find("journal_directory"), std::string::npos);
    auto relative = udf::parse_config("output = journal\njournal_directory = j\n", "j.conf");
    ASSERT_FALSE(relative);
    EXPECT_EQ(relative.error_value().message, "[rowcast.udf.invalid_value] j.conf:2: journal_directory: not an absolute path");
}

TEST(UdfSpoolOutput, OpensTheNamedCodecAndRefusesOthers) {
    const auto dir = std::filesystem::temp_directory_path() / ("rowcast-udf-out-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    udf::config c;
    c.file = "t.conf";
    c.spool_directory = dir.string();
    c.codec = "yaml";
    auto refused = udf::spool_output<binary_codec, json_codec>::open(c);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error_value().message, "[rowcast.udf.unsupported] t.conf: codec yaml is not built in (built in: binary, json)");
    c.codec = "json";
    auto out = udf::spool_output<binary_codec, json_codec>::open(c);
    ASSERT_TRUE(out) << out.error_value().message;
    EXPECT_EQ(out->codec_name(), "json");
    event e;
    e.kind = event_kind::insert;
    e.schema = "s";
    e.table = "t";
    e.columns = make_columns({parsed("`id` int")});
    e.after = {value(std::int64_t{1})};
    ASSERT_TRUE(out->write(e));
    std::size_t files = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir)) files += f.path().extension() == ".json";
    EXPECT_EQ(files, 1u);
    c.spool_directory = (dir / "missing").string();
    EXPECT_FALSE((udf::spool_output<binary_codec, json_codec>::open(c)));
    std::filesystem::remove_all(dir);
}

// The process-wide state of the functions' inits: the same state while the config text and the
// spool directory stay; a new one when either changes; errors are not cached.
TEST(UdfSharedOutput, ReusedUntilTheConfigTextOrTheSpoolDirectoryChanges) {
    const auto dir = std::filesystem::temp_directory_path() / ("rowcast-udf-shared-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "spool");
    const std::string conf = (dir / "u.conf").string();
    auto write = [&](const std::string& text) { std::ofstream(conf) << text; };
    write("spool_directory = " + (dir / "spool").string() + "\ncodec = binary\n");
    udf::shared_output<binary_codec, json_codec> shared;
    auto a = shared.get(conf);
    ASSERT_TRUE(a) << a.error_value().message;
    auto b = shared.get(conf);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->get(), b->get());
    write("spool_directory = " + (dir / "spool").string() + "\ncodec = json\n");
    auto c = shared.get(conf);
    ASSERT_TRUE(c);
    EXPECT_NE(c->get(), a->get());
    EXPECT_EQ((*c)->cfg.codec, "json");
    EXPECT_EQ((*a)->cfg.codec, "binary");  // a holder keeps the old state
    std::filesystem::rename(dir / "spool", dir / "old");
    auto gone = shared.get(conf);
    ASSERT_FALSE(gone);
    EXPECT_NE(gone.error_value().message.find("cannot open spool directory"), std::string::npos);
    std::filesystem::create_directories(dir / "spool");
    auto d = shared.get(conf);
    ASSERT_TRUE(d) << d.error_value().message;
    EXPECT_NE(d->get(), c->get());
    write("spool_directory = relative\n");
    auto bad = shared.get(conf);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error_value().message.find(conf + ":1: spool_directory: not an absolute path"), std::string::npos);
    std::filesystem::remove_all(dir);
}

// get(path, statement): the file is looked at once per statement (the init runs per row inside a
// trigger), at the next statement, without a statement always, and at the latest after max_age.
TEST(UdfSharedOutput, LooksAtTheConfigOncePerStatement) {
    const auto dir = std::filesystem::temp_directory_path() / ("rowcast-udf-stmt-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "spool");
    const std::string conf = (dir / "u.conf").string();
    auto write = [&](const std::string& codec) {
        std::ofstream(conf) << "spool_directory = " + (dir / "spool").string() + "\ncodec = " + codec + "\n";
    };
    using namespace std::chrono_literals;
    write("binary");
    udf::shared_output<binary_codec, json_codec> shared;
    int session = 0;
    const udf::statement_id first{&session, 1000}, second{&session, 2000};
    auto a = shared.get(conf, first, 1h);
    ASSERT_TRUE(a) << a.error_value().message;
    write("json");
    auto same = shared.get(conf, first, 1h);  // a later row of the same statement: not looked at
    ASSERT_TRUE(same);
    EXPECT_EQ(same->get(), a->get());
    auto next = shared.get(conf, second, 1h);  // the next statement sees the change
    ASSERT_TRUE(next);
    EXPECT_EQ((*next)->cfg.codec, "json");
    write("binary");
    auto unknown = shared.get(conf, udf::statement_id{}, 1h);  // no statement id: looked at every time
    ASSERT_TRUE(unknown);
    EXPECT_EQ((*unknown)->cfg.codec, "binary");
    write("json");
    ASSERT_TRUE(shared.get(conf, second, 1h));
    shared.reset();  // reset() applies to the per-thread memo too
    auto after_reset = shared.get(conf, second, 1h);
    ASSERT_TRUE(after_reset);
    EXPECT_EQ((*after_reset)->cfg.codec, "json");
    // Within one long statement the change shows once max_age has passed (liveness guard only).
    write("binary");
    std::string codec = "json";
    for (int i = 0; i < 3000 && codec != "binary"; ++i) {
        auto r = shared.get(conf, second, 20ms);
        ASSERT_TRUE(r);
        codec = (*r)->cfg.codec;
        if (codec != "binary") std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(codec, "binary");
    std::filesystem::remove_all(dir);
}

// check_descriptors(): each constant descriptor checked (and cached); the same list again on the
// thread is not looked up; a bad one is refused, naming its argument.
TEST(UdfEventBuilder, CheckDescriptorsChecksEachConstantDescriptorOnce) {
    udf::column_cache cache, other;
    std::vector<udf::argument> args = {{udf::arg_kind::string, "s"}, {udf::arg_kind::string, "t"},
                                       {udf::arg_kind::string, "insert"}, {udf::arg_kind::string, "`id` int"},
                                       {udf::arg_kind::integer, "", true}, {udf::arg_kind::integer, "", true},
                                       {udf::arg_kind::string, "", true}, {udf::arg_kind::integer, "", true},
                                       {udf::arg_kind::integer, "", true}};  // the second descriptor is not constant
    ASSERT_TRUE(udf::event_builder::check_descriptors(args, cache));
    EXPECT_TRUE(cache.find(std::string("\x01") + "`id` int"));
    ASSERT_TRUE(udf::event_builder::check_descriptors(args, other));  // another cache is filled too
    EXPECT_TRUE(other.find(std::string("\x01") + "`id` int"));
    args[6] = {udf::arg_kind::string, "`x` notatype"};
    auto bad = udf::event_builder::check_descriptors(args, cache);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error_value().message.find("argument 7"), std::string::npos) << bad.error_value().message;
    EXPECT_FALSE(udf::event_builder::check_descriptors(args, cache));  // refused again, not remembered
}

// build(args, event&): the same event as build(args), whatever the event held before (another
// kind, an outbox id, other values), with the memory of a text value reused for the next row.
TEST(UdfEventBuilder, BuildsIntoAReusedEvent) {
    udf::column_cache cache;
    udf::event_builder b(1 << 20, cache);
    const std::string id = as_int(7);
    auto args_of = [&](std::string_view op, std::string_view ip) {
        return std::vector<udf::argument>{
            {udf::arg_kind::string, "inv"}, {udf::arg_kind::string, "hosts"}, {udf::arg_kind::string, op},
            {udf::arg_kind::string, "`id` int pk"}, {udf::arg_kind::integer, id}, {udf::arg_kind::integer, id},
            {udf::arg_kind::string, "`ip` varchar(45)"}, {udf::arg_kind::string, "192.0.2.255 (the old address)"},
            {udf::arg_kind::string, ip}};
    };
    auto same_but_stamps = [](event a, event b) {
        a.sequence = b.sequence = 0;
        a.capture_time = b.capture_time = {};
        return a == b;
    };
    event reused;
    reused.transaction.id = "outbox:1";
    reused.statement = "left over";
    for (const auto& [op, ip] : {std::pair{"insert", "2001:db8::1 (a long enough address)"}, std::pair{"update", "192.0.2.1"},
                                 std::pair{"delete", "x"}, std::pair{"insert", "2001:db8::2 (a long enough address)"}}) {
        const auto args = args_of(op, ip);
        ASSERT_TRUE(b.build(args, reused));
        auto fresh = b.build(args);
        ASSERT_TRUE(fresh);
        EXPECT_TRUE(same_but_stamps(reused, *fresh)) << op;
        EXPECT_EQ(reused.transaction.id, "");
        EXPECT_EQ(reused.statement, "");
    }
    const char* held = std::get<text>(reused.after[1]).utf8.data();
    ASSERT_TRUE(b.build(args_of("insert", "2001:db8::3 (a long enough address)"), reused));
    EXPECT_EQ(std::get<text>(reused.after[1]).utf8, "2001:db8::3 (a long enough address)");
    EXPECT_EQ(std::get<text>(reused.after[1]).utf8.data(), held);  // copied into the same string
}

TEST(UdfEventBuilder, CheckedDescriptorsAreRememberedInTheCache) {
    udf::column_cache cache;
    ASSERT_TRUE(udf::event_builder::check_descriptor(3, "`id` int", cache));
    EXPECT_TRUE(cache.find(std::string("\x01") + "`id` int"));
    auto bad = udf::event_builder::check_descriptor(3, "`id` notatype", cache);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error_value().message.find("argument 4"), std::string::npos) << bad.error_value().message;
    EXPECT_FALSE(cache.find(std::string("\x01") + "`id` notatype"));
}

// --- transactional mode (issue 19 item 12) ------------------------------------------------------

namespace {

// The last argument names the outbox row: an integer (or its decimal text, as the server passes it).
TEST(UdfEventBuilder, OutboxIdArgumentNamesTheRow) {
    udf::column_cache cache;
    udf::event_builder b(1 << 20, cache);
    const std::string id = as_int(7);
    std::vector<udf::argument> args = {
        {udf::arg_kind::string, "inv"}, {udf::arg_kind::string, "hosts"}, {udf::arg_kind::string, "insert"},
        {udf::arg_kind::string, "`id` int pk"}, {udf::arg_kind::integer, "", true}, {udf::arg_kind::integer, id},
        {udf::arg_kind::string, "98765432101234567"}};
    EXPECT_TRUE(udf::event_builder::check_arity(7));
    EXPECT_FALSE(udf::event_builder::check_arity(8));
    EXPECT_FALSE(udf::event_builder::check_arity(4));
    EXPECT_EQ(udf::event_builder::columns_end(7), 6u);
    EXPECT_EQ(udf::event_builder::columns_end(9), 9u);
    auto e = b.build(args);
    ASSERT_TRUE(e) << e.error_value().message;
    EXPECT_EQ(e->transaction.id, "outbox:98765432101234567");
    EXPECT_EQ(e->columns->size(), 1u);
    EXPECT_EQ(udf::outbox_id(*e).value(), std::optional<std::uint64_t>(98765432101234567ull));
    const std::uint64_t big = 18374686479671623680ull;  // an outbox id above INT64_MAX (its top bit set)
    std::string raw(8, '\0');
    std::memcpy(raw.data(), &big, 8);
    args.back() = {udf::arg_kind::integer, raw};
    EXPECT_EQ(b.build(args)->transaction.id, "outbox:18374686479671623680");
    args.pop_back();
    EXPECT_EQ(b.build(args)->transaction.id, "");  // plain mode
    auto error_of = [&](udf::argument last) {
        auto a = args;
        a.push_back(last);
        auto r = b.build(a);
        return r ? std::string("(no error)") : r.error_value().message;
    };
    EXPECT_EQ(error_of({udf::arg_kind::string, "", true}), "[rowcast.udf.invalid_value] argument 7 (outbox id): is NULL");
    EXPECT_EQ(error_of({udf::arg_kind::string, "0"}), "[rowcast.udf.invalid_value] argument 7 (outbox id): is 0");
    EXPECT_EQ(error_of({udf::arg_kind::string, "12x"}),
              "[rowcast.udf.invalid_value] argument 7 (outbox id): '12x' is not an id");
    // What the gate accepts as an id.
    event x;
    for (const char* bad : {"outbox:", "outbox:0", "outbox:-1", "outbox:+1", "outbox:1 ", "outbox:99999999999999999999"}) {
        x.transaction.id = bad;
        EXPECT_FALSE(udf::outbox_id(x)) << bad;
    }
    x.transaction.id = "0-1-42";
    EXPECT_EQ(udf::outbox_id(x).value(), std::nullopt);
}

// An outbox whose rows' fates the test sets: the gate's order, holding, dropping and removal.
struct fake_outbox {
    std::map<std::uint64_t, udf::outbox_state> rows;  // absent: rolled back
    std::vector<std::uint64_t> removed;
    int decides = 0;
    std::optional<error> fail;
    result<void> find_committed(std::span<const std::uint64_t> ids, std::vector<std::uint64_t>& out) {
        if (fail) return *fail;
        for (auto id : ids)
            if (auto it = rows.find(id); it != rows.end() && it->second == udf::outbox_state::committed) out.push_back(id);
        return {};
    }
    result<udf::outbox_state> decide(std::uint64_t id) {
        ++decides;
        if (fail) return *fail;
        auto it = rows.find(id);
        return it == rows.end() ? udf::outbox_state::rolled_back : it->second;
    }
    result<void> remove(std::span<const std::uint64_t> ids) {
        removed.insert(removed.end(), ids.begin(), ids.end());
        for (auto id : ids) rows.erase(id);
        return {};
    }
};

event outbox_event(std::uint64_t id, std::string table = "hosts") {
    static std::uint64_t sequence = 0;
    event e;
    e.sequence = ++sequence;
    e.schema = "inv";
    e.table = std::move(table);
    if (id) e.transaction.id = udf::outbox_transaction_id(id);
    return e;
}

TEST(UdfOutboxGate, PassesCommittedInOrderDropsRolledBackHoldsBehindOpen) {
    using st = udf::outbox_state;
    fake_outbox store;
    store.rows = {{1, st::committed}, {2, st::committed}, {4, st::open}, {5, st::committed}};
    std::vector<std::string> got;
    callback_sink out([&](const event& e) { got.push_back(e.transaction.id.empty() ? "plain" : e.transaction.id); });
    std::vector<std::string> rejected;
    udf::outbox_gate_options o;
    o.on_rejected = [&](const event&, const error& e) { rejected.push_back(e.message); };
    o.log = [](log_level, std::string_view, std::string_view) {};
    udf::outbox_gate gate(store, out, o);
    std::vector<event> batch = {outbox_event(1), outbox_event(0), outbox_event(3), outbox_event(2),
                                outbox_event(4), outbox_event(5)};
    batch[2].source.file = "x.binary";
    // 1 committed, plain, 3 rolled back (dropped), 2 committed, then 4 still open: 5 waits behind it.
    auto r = gate.write(batch);
    ASSERT_FALSE(r);
    EXPECT_TRUE(is_transient(r.error_value()));
    EXPECT_NE(r.error_value().message.find("[rowcast.outbox.unavailable] row 4: its transaction is still open; holding 2"),
              std::string::npos)
        << r.error_value().message;
    EXPECT_EQ(got, (std::vector<std::string>{"outbox:1", "plain", "outbox:2"}));
    EXPECT_TRUE(store.removed.empty());  // not before the batch is done
    // The same batch again (the reader keeps its files): nothing passed twice; 4 committed now.
    store.rows[4] = st::committed;
    const int decides = store.decides;
    ASSERT_TRUE(gate.write(batch));
    EXPECT_EQ(got, (std::vector<std::string>{"outbox:1", "plain", "outbox:2", "outbox:4", "outbox:5"}));
    EXPECT_EQ(store.decides, decides);  // 4 and 5 were seen committed by the lookup
    EXPECT_EQ(gate.stats().committed, 4u);
    EXPECT_EQ(gate.stats().rolled_back, 1u);
    EXPECT_EQ(gate.stats().ungated, 1u);
    EXPECT_EQ(gate.stats().held, 1u);
    EXPECT_EQ(gate.stats().pending_removal, 4u);
    // The rows go at the next write (the batch is retired by then) or at flush.
    std::vector<event> next = {outbox_event(9, "other"), outbox_event(0)};
    next[0].transaction.id = "outbox:nine";
    ASSERT_TRUE(gate.write(next));
    EXPECT_EQ((std::set<std::uint64_t>(store.removed.begin(), store.removed.end())), (std::set<std::uint64_t>{1, 2, 4, 5}));
    ASSERT_EQ(rejected.size(), 1u);
    EXPECT_EQ(rejected[0], "[rowcast.outbox.invalid_value] transaction.id: 'outbox:nine' is not outbox:<decimal id>");
    EXPECT_EQ(got.back(), "plain");
    // A store that fails: nothing consumed, the error as it is.
    store.rows[10] = st::committed;
    store.fail = error::make(errc::unavailable, "outbox", "db", "gone");
    r = gate.write(std::vector<event>{outbox_event(10)});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().message, "[rowcast.outbox.unavailable] db: gone");
    EXPECT_EQ(got.back(), "plain");
    store.fail.reset();
    ASSERT_TRUE(gate.write(std::vector<event>{outbox_event(10)}));
    EXPECT_EQ(got.back(), "outbox:10");
    ASSERT_TRUE(gate.flush());
    EXPECT_EQ(store.removed.back(), 10u);
    EXPECT_EQ(gate.stats().pending_removal, 0u);
}

// The MariaDB outbox store (rowcast's client) against a real server, with generated transactional triggers: a committed
// change is found, an open transaction holds (bounded wait), a rolled-back transaction's and a
// failed statement's rows are gone; removal; a lost server is a transient error.
// inv.hosts (id, hostname) with transactional-mode triggers (an outbox row per change in
// inv.rowcast_outbox) instead of create_hosts()'s plain ones.
void transactional_hosts(rowcast::test::db_connection& c) {
    create_hosts(c);
    c.query("DROP TRIGGER inv.hosts_ai");
    c.query("DROP TRIGGER inv.hosts_au");
    c.query("DROP TRIGGER inv.hosts_ad");
    c.query(udf::outbox_table_sql("inv", "rowcast_outbox"));
    udf::table_description t{"inv", "hosts", {}, {}};
    t.columns = {{"id", "bigint(20) unsigned", "bigint", "", false, true, false},
                 {"hostname", "varchar(255)", "varchar", "utf8mb4", false, false, false}};
    udf::trigger_options to;
    to.outbox = "rowcast_outbox";
    for (const auto& s : udf::plan_create(t, to).statements) c.query(s);
}

// The outbox ids stay unique across restarts of the server, two starts within one second
// included: UUID_SHORT() (the id before 2026-12-04) is server_id, the start second and a counter
// from 0, so a server started again within the same second handed out the same ids, and the next
// captured INSERT failed on the outbox's primary key (or, once the old rows were gone, an old
// event named a new row). Six kill -9 restarts in a row: about half of them land in the second
// of the previous start.
TEST(Udf, OutboxIdsStayUniqueAcrossQuickRestarts) {
    udf_server db({"codec = binary", "durability = none"});
    {
        auto c = db.connect();
        transactional_hosts(c);
    }
    int same_second = 0;
    std::string previous_start;
    for (int k = 0; k < 6; ++k) {
        auto c = db.connect();
        const std::string start = c.scalar("SELECT UUID_SHORT() >> 24 & 0xffffffff").value_or("");
        const bool same = start == previous_start;
        if (same) ++same_second;
        previous_start = start;
        EXPECT_NO_THROW(c.query("INSERT INTO inv.hosts (id, hostname) VALUES (" + std::to_string(k + 1) + ", 'h')"))
            << "restart " << k << (same ? " (same start second as the previous one)" : "");
        db.server().kill(SIGKILL);
        db.server().restart();
    }
    auto c = db.connect();
    EXPECT_EQ(c.scalar("SELECT COUNT(DISTINCT id) FROM inv.rowcast_outbox"), "6");
    std::printf("restarts within the second of the previous start: %d of 5\n", same_second);
}

TEST(Udf, MariadbOutboxDecidesCommittedOpenAndRolledBack) {
    udf_server db({"codec = binary", "durability = none"});
    auto c = db.connect();
    transactional_hosts(c);
    c.query("INSERT INTO inv.hosts (id, hostname) VALUES (1, 'committed')");
    auto open = db.connect();
    open.query("BEGIN");
    open.query("INSERT INTO inv.hosts (id, hostname) VALUES (2, 'open')");
    c.query("BEGIN");
    c.query("INSERT INTO inv.hosts (id, hostname) VALUES (3, 'rolled back')");
    c.query("ROLLBACK");
    // A statement that fails after its first row's trigger ran: that row's outbox row goes with it.
    EXPECT_EQ(c.expect_error("INSERT INTO inv.hosts (id, hostname) VALUES (4, 'stmt'), (1, 'dup')").code(), 1062u);
    auto events = db.take<binary_codec>(4);
    ASSERT_EQ(events.size(), 4u);
    std::vector<std::uint64_t> ids;
    for (const auto& e : events) ids.push_back(udf::outbox_id(e).value().value());

    udf::mariadb_outbox store({.socket = db.server().socket().string(), .user = "root", .schema = "inv", .lock_wait = 1});
    ASSERT_TRUE(store.probe());
    std::vector<std::uint64_t> committed;
    ASSERT_TRUE(store.find_committed(ids, committed));
    EXPECT_EQ(committed, std::vector<std::uint64_t>{ids[0]});
    EXPECT_EQ(store.decide(ids[0]).value(), udf::outbox_state::committed);
    EXPECT_EQ(store.decide(ids[1]).value(), udf::outbox_state::open);  // waited 1 s, still open
    EXPECT_EQ(store.decide(ids[2]).value(), udf::outbox_state::rolled_back);
    EXPECT_EQ(store.decide(ids[3]).value(), udf::outbox_state::rolled_back);
    // The wait ends when the transaction does: committed from another thread while decide() waits.
    udf::mariadb_outbox patient({.socket = db.server().socket().string(), .user = "root", .schema = "inv", .lock_wait = 30});
    std::thread committer([&] {
        ::usleep(300000);
        open.query("COMMIT");
    });
    EXPECT_EQ(patient.decide(ids[1]).value(), udf::outbox_state::committed);
    committer.join();
    // Through the gate: only the committed ones go on, in order.
    std::vector<value> got;
    callback_sink out([&](const event& e) { got.push_back(e.after.at(1)); });
    udf::outbox_gate_options go;
    go.log = [](log_level, std::string_view, std::string_view) {};
    udf::outbox_gate gate(store, out, go);
    ASSERT_TRUE(gate.write(events));
    EXPECT_EQ(got, (std::vector<value>{value(text{"committed"}), value(text{"open"})}));
    EXPECT_EQ(gate.stats().rolled_back, 2u);
    ASSERT_TRUE(gate.flush());
    EXPECT_EQ(c.scalar("SELECT COUNT(*) FROM inv.rowcast_outbox"), "0");
    // Wrong table: permanent; server gone: transient, and back once it is.
    udf::mariadb_outbox wrong({.socket = db.server().socket().string(), .user = "root", .schema = "inv", .table = "nope"});
    auto w = wrong.probe();
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error_value().code, make_error_code(errc::not_found));
    EXPECT_FALSE(is_transient(w.error_value()));
    db.server().kill(SIGKILL);
    auto gone = store.find_committed(ids, committed);
    ASSERT_FALSE(gone);
    EXPECT_TRUE(is_transient(gone.error_value())) << gone.error_value().message;
    db.server().restart();
    committed.clear();
    ASSERT_TRUE(store.find_committed(ids, committed));
    EXPECT_TRUE(committed.empty());  // removed by the gate
}

}  // namespace
