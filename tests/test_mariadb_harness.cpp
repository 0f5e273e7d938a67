// The private-MariaDB test harness (tests/support/mariadb_server.hpp) against a real mariadbd.
#include "support/mariadb_server.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>

using rowcast::test::db_connection;
using rowcast::test::db_error;
using rowcast::test::mariadb_server;

TEST(MariadbHarness, StartsPrivateServerWithRowBinlog) {
    mariadb_server server({.environment = {{"ROWCAST_HARNESS_PROBE", "hello"}}});
    auto c = server.connect();
    EXPECT_EQ(c.scalar("SELECT @@binlog_format"), "ROW");
    EXPECT_EQ(c.scalar("SELECT @@binlog_row_image"), "FULL");
    EXPECT_EQ(c.scalar("SELECT @@binlog_row_metadata"), "FULL");
    EXPECT_EQ(c.scalar("SELECT @@binlog_checksum"), "CRC32");
    EXPECT_EQ(c.scalar("SELECT @@log_bin"), "1");
    EXPECT_EQ(c.scalar("SELECT @@server_id"), "101");
    EXPECT_EQ(c.scalar("SELECT @@port"), std::to_string(server.port()));
    EXPECT_EQ(c.scalar("SELECT @@plugin_dir"), server.plugin_dir().string() + "/");
    EXPECT_EQ(c.scalar("SELECT @@datadir"), server.data_dir().string() + "/");
    // The system plugins are reachable through the private plugin_dir.
    EXPECT_TRUE(std::filesystem::exists(server.plugin_dir() / "ha_blackhole.so"));
    c.query("INSTALL SONAME 'ha_blackhole'");
    // The environment reached the server process.
    std::ifstream env("/proc/" + std::to_string(server.pid()) + "/environ");
    std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    EXPECT_NE(all.find(std::string("ROWCAST_HARNESS_PROBE=hello\0", 28)), std::string::npos);
    if (server.running_as_mysql()) {
        EXPECT_EQ(c.scalar("SELECT USER()"), "root@localhost");
        struct stat st {};
        ASSERT_EQ(::stat(server.data_dir().c_str(), &st), 0);
        EXPECT_NE(st.st_uid, 0u);  // the server runs as mysql, not root
    }
}

TEST(MariadbHarness, ClientIsBinarySafeAndReportsErrors) {
    mariadb_server server;
    auto c = server.connect();
    c.query("CREATE DATABASE t; CREATE TABLE t.b (id INT PRIMARY KEY, v VARBINARY(64), s VARCHAR(20))");
    const std::string bin("a\0b'\"\\\n\xff", 8);
    c.query("INSERT INTO t.b VALUES (1, " + c.quote(bin) + ", NULL)");
    auto rows = c.rows("SELECT id, v, s FROM t.b");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], "1");
    EXPECT_EQ(rows[0][1], bin);
    EXPECT_FALSE(rows[0][2].has_value());
    auto e = c.expect_error("SELECT * FROM t.nope");
    EXPECT_EQ(e.code(), 1146u);  // ER_NO_SUCH_TABLE
    EXPECT_NE(std::string(e.what()).find("t.nope"), std::string::npos);
    // TCP on the private port works too, with a password.
    c.query("CREATE USER 'u'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT SELECT ON t.* TO 'u'@'127.0.0.1'");
    db_connection tcp({.socket = "", .host = "127.0.0.1", .port = server.port(), .user = "u", .password = "pw"});
    EXPECT_EQ(tcp.scalar("SELECT COUNT(*) FROM t.b"), "1");
    // A wrong password: the harness reports the server's refusal (1045), not just any failure.
    try {
        db_connection bad({.socket = "", .host = "127.0.0.1", .port = server.port(), .user = "u", .password = "wrong"});
        ADD_FAILURE() << "connected with a wrong password";
    } catch (const db_error& e) {
        EXPECT_EQ(e.code(), 1045u) << e.what();  // ER_ACCESS_DENIED_ERROR
        EXPECT_NE(std::string(e.what()).find("Access denied"), std::string::npos) << e.what();
    }
}

TEST(MariadbHarness, StopsInDestructorAndCleansUp) {
    std::filesystem::path dir;
    pid_t pid = 0;
    {
        mariadb_server server;
        dir = server.dir();
        pid = server.pid();
        ASSERT_TRUE(server.alive());
    }
    EXPECT_FALSE(std::filesystem::exists(dir));
    EXPECT_NE(::kill(pid, 0), 0);  // reaped and gone
}

TEST(MariadbHarness, StartupFailureNamesTheErrorLog) {
    try {
        mariadb_server server({.config_lines = {"no_such_option_for_rowcast=1"}});
        FAIL() << "the server started with a bad option";
    } catch (const std::runtime_error& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("no_such_option_for_rowcast"), std::string::npos) << m;
    }
}
