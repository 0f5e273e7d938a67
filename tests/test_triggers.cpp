// rowcast-triggers (examples/triggers) against a private MariaDB with rowcast_udf.so installed.
#include "support/every_type.hpp"
#include "support/udf_server.hpp"

#include <rowcast/codec/binary.hpp>

#include <gtest/gtest.h>

using namespace rowcast;
using rowcast::test::run_triggers_tool;
using rowcast::test::udf_server;

namespace {

std::vector<std::string> sock_args(udf_server& db, std::vector<std::string> rest) {
    std::vector<std::string> a = {"--socket", db.server().socket().string(), "-u", "root"};
    a.insert(a.end(), rest.begin(), rest.end());
    return a;
}

std::set<std::string> triggers_of(test::db_connection& c, const std::string& schema, const std::string& table) {
    std::set<std::string> out;
    for (auto& r : c.rows("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = " +
                          c.quote(schema) + " AND EVENT_OBJECT_TABLE = " + c.quote(table)))
        out.insert(*r[0]);
    return out;
}

}  // namespace

TEST(Triggers, GeneratesAndAppliesOnHostsAndEveryTypeTable) {
    udf_server db;
    auto c = db.connect();
    c.query("CREATE DATABASE inv CHARACTER SET utf8mb4");
    c.query("CREATE TABLE inv.hosts (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, mac CHAR(17) CHARACTER SET ascii, "
            "ip VARCHAR(45), hostname VARCHAR(255) NOT NULL)");
    c.query(test::every_type_ddl("inv.every"));
    c.query("CREATE VIEW inv.v AS SELECT id FROM inv.hosts");  // not a base table: skipped
    auto r = run_triggers_tool(sock_args(db, {"--apply", "inv"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(triggers_of(c, "inv", "hosts"),
              (std::set<std::string>{"rowcast_hosts_ai", "rowcast_hosts_au", "rowcast_hosts_ad"}));
    EXPECT_EQ(triggers_of(c, "inv", "every"),
              (std::set<std::string>{"rowcast_every_ai", "rowcast_every_au", "rowcast_every_ad"}));

    c.query("SET time_zone = '+02:00'");
    c.query("INSERT INTO inv.hosts VALUES (42, '00:00:5e:00:53:01', '192.0.2.10', 'www.example.com')");
    c.query("UPDATE inv.hosts SET ip = NULL WHERE id = 42");
    c.query("DELETE FROM inv.hosts");
    c.query("INSERT INTO inv.every VALUES " + test::every_type_values(1));
    c.query("UPDATE inv.every SET ti = 1 WHERE id = 1");
    auto events = db.take<binary_codec>(5);
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0].after, (std::vector<value>{std::uint64_t{42}, text{"00:00:5e:00:53:01"}, text{"192.0.2.10"},
                                                   text{"www.example.com"}}));
    const auto& hc = *events[0].columns;
    EXPECT_TRUE(hc[0].primary_key);
    EXPECT_FALSE(hc[0].nullable);
    EXPECT_FALSE(hc[1].primary_key);
    EXPECT_EQ(hc[1].type.charset, "ascii");
    EXPECT_EQ(events[1].kind, event_kind::update);
    EXPECT_TRUE(events[1].after[2].is_null());
    EXPECT_EQ(events[2].kind, event_kind::delete_);

    const auto expected = test::every_type_expected(1);
    const auto& ins = events[3];
    ASSERT_EQ(ins.after.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        if (i != 27) {
            EXPECT_EQ(ins.after[i], expected[i]) << (*ins.columns)[i].name;
        }
    auto wkb = c.rows("SELECT ST_AsBinary(g) FROM inv.every WHERE id = 1");
    EXPECT_EQ(ins.after[27], value(geometry{4326, *wkb[0][0]}));
    EXPECT_EQ((*ins.columns)[26].type.type, sql_type::json);      // LONGTEXT + CHECK(json_valid)
    EXPECT_EQ((*ins.columns)[31].type.type, sql_type::longtext);  // plain LONGTEXT stays text
    EXPECT_EQ((*ins.columns)[20].type.charset, "latin1");
    EXPECT_EQ(events[4].before[1], value(std::int64_t{-128}));
    EXPECT_EQ(events[4].after[1], value(std::int64_t{1}));
}

TEST(Triggers, PrintedScriptRunsInTheMariadbClient) {
    udf_server db;
    auto c = db.connect();
    c.query("CREATE DATABASE s CHARACTER SET utf8mb4; CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(10))");
    auto r = run_triggers_tool(sock_args(db, {"s", "t"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("DELIMITER ;;"), std::string::npos);
    EXPECT_NE(r.out.find("CREATE OR REPLACE TRIGGER `s`.`rowcast_t_ai`"), std::string::npos) << r.out;
    EXPECT_TRUE(triggers_of(c, "s", "t").empty());  // printing changes nothing
    const auto script = db.server().dir() / "script.sql";
    std::ofstream(script) << r.out;
    const std::string cmd = "/usr/bin/mariadb --defaults-file=" + db.server().config_file().string() + " < " +
                            script.string() + " 2>" + (db.server().dir() / "client.err").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    EXPECT_EQ(triggers_of(c, "s", "t").size(), 3u);
    c.query("INSERT INTO s.t VALUES (1, 'x')");
    auto events = db.take<binary_codec>(1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].after[1], value(text{"x"}));
}

TEST(Triggers, ReservedWordsUnicodeAndBacktickNames) {
    udf_server db;
    auto c = db.connect();
    c.query("CREATE DATABASE `sel``ect` CHARACTER SET utf8mb4");
    c.query("CREATE TABLE `sel``ect`.`order` (`select` INT PRIMARY KEY, `na``me` VARCHAR(20), `größe` INT, "
            "`名前` VARCHAR(20), `it's` VARCHAR(5), `a\\b` INT, `lat` VARCHAR(5) CHARACTER SET latin1)");
    auto r = run_triggers_tool(sock_args(db, {"--apply", "sel`ect", "order"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(triggers_of(c, "sel`ect", "order").size(), 3u);
    c.query("INSERT INTO `sel``ect`.`order` VALUES (1, 'n`m', 3, '山田', 'o''k', 5, 'é')");
    auto events = db.take<binary_codec>(1);
    ASSERT_EQ(events.size(), 1u);
    const auto& e = events[0];
    EXPECT_EQ(e.schema, "sel`ect");
    EXPECT_EQ(e.table, "order");
    ASSERT_EQ(e.column_count(), 7u);
    const auto& cols = *e.columns;
    EXPECT_EQ(cols[0].name, "select");
    EXPECT_TRUE(cols[0].primary_key);
    EXPECT_EQ(cols[1].name, "na`me");
    EXPECT_EQ(cols[2].name, "größe");
    EXPECT_EQ(cols[3].name, "名前");
    EXPECT_EQ(cols[4].name, "it's");
    EXPECT_EQ(cols[5].name, "a\\b");
    EXPECT_EQ(e.after, (std::vector<value>{std::int64_t{1}, text{"n`m"}, std::int64_t{3}, text{"山田"}, text{"o'k"},
                                           std::int64_t{5}, text{"é"}}));
    // A long table name still gives trigger names within MariaDB's 64 characters.
    const std::string long_name(60, 'x');
    c.query("CREATE TABLE `sel``ect`.`" + long_name + "` (id INT PRIMARY KEY)");
    r = run_triggers_tool(sock_args(db, {"--apply", "sel`ect", long_name}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(triggers_of(c, "sel`ect", long_name).size(), 3u);
}

TEST(Triggers, RefusesExistingTriggersUnlessAlongsideAndDropsOnlyOurs) {
    udf_server db;
    auto c = db.connect();
    c.query("CREATE DATABASE s; CREATE TABLE s.t (id INT PRIMARY KEY); CREATE TABLE s.audit (n INT)");
    c.query("CREATE TRIGGER s.audit_ai AFTER INSERT ON s.t FOR EACH ROW INSERT INTO s.audit VALUES (NEW.id)");
    c.query("CREATE TRIGGER s.rowcast_t_custom BEFORE UPDATE ON s.t FOR EACH ROW SET @x = 1");
    auto r = run_triggers_tool(sock_args(db, {"--apply", "s", "t"}), db.server().dir());
    EXPECT_EQ(r.exit_code, 1);  // a runtime error (docs/programs.md); the message says why
    EXPECT_NE(r.err.find("`audit_ai` (AFTER INSERT)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--alongside"), std::string::npos) << r.err;
    EXPECT_EQ(triggers_of(c, "s", "t"), (std::set<std::string>{"audit_ai", "rowcast_t_custom"}));

    r = run_triggers_tool(sock_args(db, {"--apply", "--alongside", "s", "t"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(triggers_of(c, "s", "t").size(), 5u);
    // Ours runs after the existing AFTER INSERT trigger.
    auto order = c.rows("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = 's' AND "
                        "EVENT_MANIPULATION = 'INSERT' AND ACTION_TIMING = 'AFTER' ORDER BY ACTION_ORDER");
    ASSERT_EQ(order.size(), 2u);
    EXPECT_EQ(order[0][0], "audit_ai");
    EXPECT_EQ(order[1][0], "rowcast_t_ai");
    c.query("INSERT INTO s.t VALUES (9)");
    EXPECT_EQ(c.scalar("SELECT n FROM s.audit"), "9");
    EXPECT_EQ(db.take<binary_codec>(1).size(), 1u);
    // Running again (e.g. after ALTER TABLE) replaces ours.
    c.query("ALTER TABLE s.t ADD COLUMN extra VARCHAR(5)");
    r = run_triggers_tool(sock_args(db, {"--apply", "--alongside", "s", "t"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    c.query("INSERT INTO s.t VALUES (10, 'new')");
    auto events = db.take<binary_codec>(1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].column_count(), 2u);

    // --drop (printed, then applied) removes exactly ours.
    r = run_triggers_tool(sock_args(db, {"--drop", "s", "t"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("DROP TRIGGER IF EXISTS `s`.`rowcast_t_ai`"), std::string::npos) << r.out;
    EXPECT_EQ(triggers_of(c, "s", "t").size(), 5u);
    r = run_triggers_tool(sock_args(db, {"--drop", "--apply", "s"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(triggers_of(c, "s", "t"), (std::set<std::string>{"audit_ai", "rowcast_t_custom"}));
    c.query("INSERT INTO s.t VALUES (11, NULL)");
    EXPECT_EQ(db.spool_files(), 0u);
}

TEST(Triggers, ClearErrorsAndExitCodes) {
    udf_server db;
    auto c = db.connect();
    c.query("CREATE DATABASE s; CREATE TABLE s.t (id INT PRIMARY KEY)");
    c.query("CREATE USER 'gen'@'127.0.0.1' IDENTIFIED BY 'sekret'; GRANT ALL ON s.* TO 'gen'@'127.0.0.1'");
    // With the binlog on, a user without SUPER may create triggers only with this (docs/udf.md).
    c.query("SET GLOBAL log_bin_trust_function_creators = 1");
    const auto scratch = db.server().dir();
    // Usage errors exit 2, runtime errors 1 (docs/programs.md), each with a message naming the problem.
    auto r = run_triggers_tool({}, scratch);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("SCHEMA is required"), std::string::npos) << r.err;
    r = run_triggers_tool({"--frobnicate", "s"}, scratch);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("not expected: --frobnicate"), std::string::npos) << r.err;
    r = run_triggers_tool({"--port=0", "s"}, scratch);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("--port"), std::string::npos) << r.err;
    r = run_triggers_tool(sock_args(db, {"nosuchschema"}), scratch);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("schema `nosuchschema` not found"), std::string::npos) << r.err;
    r = run_triggers_tool(sock_args(db, {"s", "nosuchtable"}), scratch);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("`s`.`nosuchtable` not found"), std::string::npos) << r.err;
    const std::string port = std::to_string(db.server().port());
    r = run_triggers_tool({"-h", "127.0.0.1", "-P", port, "-u", "gen", "-p", "wrong", "s"}, scratch);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Access denied"), std::string::npos) << r.err;
    // -pPASSWORD attached, as the mysql client takes it
    r = run_triggers_tool({"-h", "127.0.0.1", "-P", port, "-u", "gen", "-pwrong", "s"}, scratch);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Access denied"), std::string::npos) << r.err;
    // TCP with the password from MYSQL_PWD.
    r = run_triggers_tool({"-h", "127.0.0.1", "--port=" + port, "--user=gen", "--apply", "s"}, scratch,
                          "MYSQL_PWD=sekret");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(triggers_of(c, "s", "t").size(), 3u);
}

TEST(Triggers, GeneratedAndInvisibleColumns) {
    udf_server db;
    auto c = db.connect();
    c.query("CREATE DATABASE s; CREATE TABLE s.g (id INT PRIMARY KEY, v INT AS (id * 2) VIRTUAL, "
            "st INT AS (id + 1) STORED, h INT INVISIBLE)");
    auto r = run_triggers_tool(sock_args(db, {"--apply", "s"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    c.query("INSERT INTO s.g (id, h) VALUES (3, 7)");
    c.query("UPDATE s.g SET id = 4");
    auto events = db.take<binary_codec>(2);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].after, (std::vector<value>{std::int64_t{3}, std::int64_t{6}, std::int64_t{4}, std::int64_t{7}}));
    EXPECT_EQ(events[1].after, (std::vector<value>{std::int64_t{4}, std::int64_t{8}, std::int64_t{5}, std::int64_t{7}}));
    EXPECT_EQ(events[1].before, events[0].after);
}

// --- The generator's SQL on its own (no server): rowcast/udf/triggers.hpp -----------------------
#include <rowcast/udf/columns.hpp>
#include <rowcast/udf/triggers.hpp>

namespace {
udf::table_description sample_table() {
    udf::table_description t;
    t.schema = "inv";
    t.table = "hosts";
    t.columns = {{"id", "bigint(20) unsigned", "bigint", "", false, true, false},
                 {"flags", "bit(3)", "bit", "", true, false, false},
                 {"seen", "timestamp(6)", "timestamp", "", true, false, false},
                 {"name", "varchar(20)", "varchar", "latin1", true, false, false},
                 {"doc", "longtext", "longtext", "utf8mb4", true, false, false}};
    const std::vector<std::string> checks = {"json_valid(`doc`)", "`id` > 0"};
    udf::mark_json_columns(t.columns, checks);
    return t;
}
}  // namespace

TEST(TriggerSql, QuotesIdentifiersAndStringsForAnySqlMode) {
    EXPECT_EQ(udf::quote_identifier("a`b"), "`a``b`");
    EXPECT_EQ(udf::quote_identifier("größe"), "`größe`");
    EXPECT_EQ(udf::quote_string("it's"), "'it''s'");
    EXPECT_EQ(udf::quote_string("a\\b"), "X'615C62'");
    EXPECT_EQ(udf::quote_string(std::string("\n", 1)), "X'0A'");
    EXPECT_EQ(udf::quote_string(""), "''");
}

TEST(TriggerSql, NamesFitSixtyFourCharactersWithAHash) {
    EXPECT_EQ(udf::trigger_name("rowcast_", "hosts", "ai"), "rowcast_hosts_ai");
    const std::string long_table(70, 'x');
    const std::string n = udf::trigger_name("rowcast_", long_table, "au");
    EXPECT_EQ(n.size(), 64u);
    EXPECT_EQ(n.rfind("rowcast_xxx", 0), 0u);
    EXPECT_EQ(n.substr(n.size() - 3), "_au");
    EXPECT_NE(n, udf::trigger_name("rowcast_", long_table + "y", "au"));  // the hash tells them apart
    // Multi-byte names are cut at a character boundary and counted in characters.
    std::string unicode;
    for (int i = 0; i < 60; ++i) unicode += "é";
    const std::string u = udf::trigger_name("rowcast_", unicode, "ad");
    std::size_t chars = 0;
    for (unsigned char c : u) chars += (c & 0xC0) != 0x80;
    EXPECT_EQ(chars, 64u);
    EXPECT_TRUE(rowcast::detail::valid_utf8(u));
    EXPECT_EQ(udf::trigger_names("t", {}), (std::vector<std::string>{"rowcast_t_ai", "rowcast_t_au", "rowcast_t_ad"}));
}

TEST(TriggerSql, DescriptorsAndValueExpressionsPerType) {
    const auto t = sample_table();
    EXPECT_TRUE(t.columns[4].json);
    EXPECT_FALSE(t.columns[3].json);
    EXPECT_EQ(udf::column_descriptor(t.columns[0]), "`id` bigint(20) unsigned not null primary key");
    EXPECT_EQ(udf::column_descriptor(t.columns[3]), "`name` varchar(20) character set latin1");
    EXPECT_EQ(udf::column_descriptor(t.columns[4]), "`doc` json");
    EXPECT_EQ(udf::value_expression(t.columns[0], "NEW"), "NEW.`id`");
    EXPECT_EQ(udf::value_expression(t.columns[1], "OLD"), "OLD.`flags` + 0");
    EXPECT_EQ(udf::value_expression(t.columns[2], "NEW"),
              "IF(NEW.`seen` IS NULL, NULL, IFNULL(UNIX_TIMESTAMP(NEW.`seen`), 0))");
    EXPECT_EQ(udf::value_expression(t.columns[3], "NEW"), "CONVERT(NEW.`name` USING utf8mb4)");
    EXPECT_EQ(udf::value_expression(t.columns[4], "NEW"), "NEW.`doc`");
    // Every descriptor the generator writes is one rowcast_event() parses back.
    for (const auto& c : t.columns) {
        auto parsed = udf::parse_descriptor(udf::column_descriptor(c));
        ASSERT_TRUE(parsed) << parsed.error_value().message;
        EXPECT_EQ(parsed->name, c.name);
        EXPECT_EQ(parsed->primary_key, c.primary_key);
        EXPECT_EQ(parsed->nullable, c.nullable);
    }
}

TEST(TriggerSql, PlansCreateRefusalAlongsideAndDrop) {
    auto t = sample_table();
    auto plan = udf::plan_create(t, {});
    ASSERT_TRUE(plan.refused_for.empty());
    ASSERT_EQ(plan.statements.size(), 3u);
    EXPECT_EQ(plan.statements[0].rfind("CREATE OR REPLACE TRIGGER `inv`.`rowcast_hosts_ai`\nAFTER INSERT ON `inv`.`hosts` "
                                       "FOR EACH ROW\nBEGIN\n  IF `rowcast_event`('inv', 'hosts', 'insert',\n"
                                       "      '`id` bigint(20) unsigned not null primary key', NULL, NEW.`id`",
                                       0),
              0u)
        << plan.statements[0];
    EXPECT_NE(plan.statements[1].find("'`id` bigint(20) unsigned not null primary key', OLD.`id`, NEW.`id`"),
              std::string::npos);
    EXPECT_NE(plan.statements[2].find("OLD.`id`, NULL"), std::string::npos);
    EXPECT_NE(plan.statements[2].find("SIGNAL SQLSTATE '45000'"), std::string::npos);
    // Our own triggers already there do not block; another one does, unless alongside.
    t.triggers = {{"rowcast_hosts_ai", "INSERT", "AFTER", 1}, {"audit_ai", "INSERT", "AFTER", 2},
                  {"check_bu", "UPDATE", "BEFORE", 1}};
    plan = udf::plan_create(t, {});
    EXPECT_TRUE(plan.statements.empty());
    EXPECT_EQ(udf::describe_triggers(plan.refused_for), "`audit_ai` (AFTER INSERT), `check_bu` (BEFORE UPDATE)");
    udf::trigger_options alongside;
    alongside.alongside = true;
    alongside.function = "my_event";
    plan = udf::plan_create(t, alongside);
    ASSERT_EQ(plan.statements.size(), 3u);
    EXPECT_NE(plan.statements[0].find("FOR EACH ROW FOLLOWS `audit_ai`"), std::string::npos);
    EXPECT_EQ(plan.statements[1].find("FOLLOWS"), std::string::npos);  // a BEFORE trigger is not followed
    EXPECT_NE(plan.statements[0].find("IF `my_event`("), std::string::npos);
    EXPECT_EQ(udf::drop_statements(t, {}, true),
              (std::vector<std::string>{"DROP TRIGGER IF EXISTS `inv`.`rowcast_hosts_ai`"}));
    EXPECT_EQ(udf::drop_statements(t, {}, false).size(), 3u);
    const std::vector<std::string> stmts = {"A", "B"};
    EXPECT_EQ(udf::trigger_script("inv", stmts), "-- generated by rowcast-triggers for schema `inv`\nDELIMITER ;;\nA;;\nB;;\nDELIMITER ;\n");
}

namespace {
using rowcast::test::run_triggers_tool;
}

// Transactional mode (issue 19 item 12): each trigger inserts an outbox row (id from UUID()) in the
// same transaction and passes its id as rowcast_event()'s last argument.
TEST(TriggerSql, TransactionalModeInsertsAnOutboxRowAndPassesItsId) {
    const auto t = sample_table();
    udf::trigger_options o;
    o.outbox = "rowcast_outbox";
    const auto plan = udf::plan_create(t, o);
    ASSERT_EQ(plan.statements.size(), 3u);
    for (const auto& s : plan.statements) {
        EXPECT_NE(s.find("BEGIN\n  DECLARE rowcast_outbox_id BIGINT UNSIGNED DEFAULT CAST(CONV(LEFT(REPLACE(UUID(), '-', ''), 16), 16, "
                         "10) AS UNSIGNED);\n"
                         "  INSERT INTO `inv`.`rowcast_outbox` (id) VALUES (rowcast_outbox_id);\n  IF `rowcast_event`("),
                  std::string::npos)
            << s;
        EXPECT_NE(s.find(",\n      rowcast_outbox_id) IS NULL THEN"), std::string::npos) << s;
    }
    o.outbox_schema = "q`s";
    EXPECT_NE(udf::plan_create(t, o).statements[0].find("INSERT INTO `q``s`.`rowcast_outbox` (id)"), std::string::npos);
    EXPECT_EQ(udf::outbox_table_sql("inv", "ob"),
              "CREATE TABLE IF NOT EXISTS `inv`.`ob` (\n  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,\n"
              "  created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)\n) ENGINE=InnoDB"
              " COMMENT 'rowcast outbox: one row per change, removed once applied'");
    // Plain mode is unchanged: no outbox.
    EXPECT_EQ(udf::plan_create(t, {}).statements[0].find("rowcast_outbox"), std::string::npos);
}

TEST(Triggers, TransactionalCreatesTheOutboxAndLeavesItWithoutTriggers) {
    udf_server db;
    auto c = db.connect();
    c.query("CREATE DATABASE inv");
    c.query("CREATE TABLE inv.hosts (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, hostname VARCHAR(255) NOT NULL)");
    auto r = run_triggers_tool(sock_args(db, {"--apply", "--transactional", "inv"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(c.scalar("SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'inv' AND TABLE_NAME = "
                       "'rowcast_outbox'"),
              "InnoDB");
    EXPECT_EQ(triggers_of(c, "inv", "hosts").size(), 3u);
    EXPECT_TRUE(triggers_of(c, "inv", "rowcast_outbox").empty());
    // Run again (the outbox exists now): still no triggers on it; naming it is refused.
    r = run_triggers_tool(sock_args(db, {"--apply", "--transactional", "inv"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(triggers_of(c, "inv", "rowcast_outbox").empty());
    r = run_triggers_tool(sock_args(db, {"--transactional", "inv", "rowcast_outbox"}), db.server().dir());
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("is the outbox table"), std::string::npos) << r.err;
    // A committed insert leaves an outbox row and an event naming it; a rolled-back one leaves no row.
    c.query("INSERT INTO inv.hosts VALUES (1, 'a')");
    c.query("BEGIN");
    c.query("INSERT INTO inv.hosts VALUES (2, 'b')");
    c.query("ROLLBACK");
    auto events = db.take<binary_codec>(2);
    ASSERT_EQ(events.size(), 2u);
    const auto rows = c.rows("SELECT id FROM inv.rowcast_outbox");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(events[0].transaction.id, "outbox:" + *rows[0][0]);
    EXPECT_TRUE(events[1].transaction.id.starts_with("outbox:"));
    EXPECT_NE(events[1].transaction.id, events[0].transaction.id);
    // The printed script creates the outbox first.
    r = run_triggers_tool(sock_args(db, {"--transactional", "--outbox", "ob", "inv", "hosts"}), db.server().dir());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("CREATE TABLE IF NOT EXISTS `inv`.`ob`"), r.out.find("DELIMITER ;;\n") + 13) << r.out;
}
