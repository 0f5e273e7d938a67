// Connecting securely (docs/connecting.md): TLS in every mode and the authentication plugins,
// for rowcast's client (rowcast/mysql/detail/protocol.hpp; the replication stream and
// rowcast/mysql/connection.hpp share it; the snapshot over TLS: test_snapshot.cpp SnapshotTls).
// The query client's results, errors and bounds:
//   MariaDbTls.Client*  result sets (NULL, binary cells, metadata), execute(), server errors
//                       with codes (deadlock, lock wait), a large result streamed within a
//                       small bound, TLS, the schema provider over TLS
//   AuthServer.Hostile* malformed result-set packets from tests/support/mysql_auth_server.hpp
//   Scramble.*      known-answer vectors (caching_sha2_password: go-sql-driver/mysql auth_test.go;
//                   Ed25519: RFC 8032 §7.1 tests 1 and 2, a 32-byte password being an RFC seed)
//   MariaDbTls.*    one private MariaDB with a certificate made by the test (openssl), started once
//   AuthServer.*    caching_sha2_password / sha256_password against tests/support/mysql_auth_server.hpp
//                   (MySQL is not in Debian)
#include "support/mariadb_server.hpp"
#include "support/mysql_auth_server.hpp"

#include <rowcast/binlog/follower.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/binlog/mariadb_schema_provider.hpp>
#include <rowcast/binlog/stream.hpp>
#include <rowcast/mysql/detail/auth.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/mysql/detail/protocol.hpp>
#include <rowcast/mysql/tls_options.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace rb = rowcast::binlog;
namespace mp = rowcast::detail::mysql;
namespace my = rowcast::mysql;
using rowcast::errc;
using rowcast::make_error_code;
using rowcast::mysql::ssl_mode;
using namespace std::chrono_literals;

namespace {

std::string hex(std::string_view s) {
    std::string o;
    for (unsigned char c : s) o += rowcast::detail::hex_byte(c);
    return o;
}
std::string unhex(std::string_view h) {
    std::string o;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) o += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
    return o;
}

TEST(Scramble, CachingSha2KnownAnswers) {
    const std::string nonce{10, 47, 74, 111, 75, 73, 34, 48, 88, 76, 114, 74, 37, 13, 3, 80, 82, 2, 23, 21};
    EXPECT_EQ(hex(mp::caching_sha2_scramble("secret", nonce)), "f490e76f66d9d86665ce54d98c78d0acfe2fb0b08b423da807144873d30b312c");
    EXPECT_EQ(hex(mp::caching_sha2_scramble("secret2", nonce)), "abc3934a012cf342e876071c8ee202de51785b430258a7a0138bc79c4d800bc6");
    EXPECT_EQ(mp::caching_sha2_scramble("", nonce), "");
}

TEST(Scramble, Ed25519KnownAnswers) {
    EXPECT_EQ(hex(mp::ed25519_password_signature(unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"), "")),
              "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    EXPECT_EQ(hex(mp::ed25519_password_signature(unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"), unhex("72"))),
              "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

TEST(Scramble, SslModeNames) {
    EXPECT_EQ(rowcast::mysql::parse_ssl_mode("verify_identity"), ssl_mode::verify_identity);
    EXPECT_EQ(rowcast::mysql::parse_ssl_mode("REQUIRED"), ssl_mode::required);
    EXPECT_FALSE(rowcast::mysql::parse_ssl_mode("yes"));
    EXPECT_EQ(rowcast::mysql::to_string(ssl_mode::verify_ca), "VERIFY_CA");
}

// ---------------------------------------------------------------------------
// A MariaDB with TLS, started once for the suite.

class MariaDbTls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        certs_ = std::make_unique<rowcast::test::test_certificates>();
        server_ = std::make_unique<rowcast::test::mariadb_server>(rowcast::test::mariadb_server_options{
            .config_lines = {"ssl_ca=" + certs_->ca(), "ssl_cert=" + certs_->server_cert(), "ssl_key=" + certs_->server_key()}});
        auto root = server_->connect();
        root.query("CREATE USER repl@'%' IDENTIFIED BY 's3cret'");
        root.query("GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR, SELECT ON *.* TO repl@'%'");
        root.query("INSTALL SONAME 'auth_ed25519'");
        root.query("CREATE USER ed@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-s3cret')");
        root.query("GRANT REPLICATION SLAVE ON *.* TO ed@'%'");
        root.query("CREATE DATABASE app");
        root.query("CREATE TABLE app.t (id INT PRIMARY KEY, name VARCHAR(40))");
        root.query("INSERT INTO app.t VALUES (1, 'one'), (2, 'two')");
    }
    static void TearDownTestSuite() {
        server_.reset();
        certs_.reset();
    }
    static mp::connect_options conn(ssl_mode m, std::string host = "127.0.0.1") {
        mp::connect_options o;
        o.host = std::move(host);
        o.port = static_cast<std::uint16_t>(server_->port());
        o.user = "repl";
        o.password = "s3cret";
        o.tls.mode = m;
        o.tls.ca = certs_->ca();
        return o;
    }
    // What the server says about the session: its Ssl_cipher ("" without TLS).
    static std::string server_cipher(mp::connection& c) {
        auto rs = c.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        EXPECT_TRUE(rs) << rs.error_value().message;
        if (!rs || rs->rows.size() != 1 || !rs->rows[0][1]) return "?";
        return *rs->rows[0][1];
    }
    static std::unique_ptr<rowcast::test::test_certificates> certs_;
    static std::unique_ptr<rowcast::test::mariadb_server> server_;
};
std::unique_ptr<rowcast::test::test_certificates> MariaDbTls::certs_;
std::unique_ptr<rowcast::test::mariadb_server> MariaDbTls::server_;
struct MariaDbTlsAccess : MariaDbTls {
    using MariaDbTls::conn;
};

TEST_F(MariaDbTls, EveryModeOfTheStreamClient) {
    struct row {
        ssl_mode mode;
        std::string host;
        bool tls;
    };
    for (const row& r : {row{ssl_mode::disabled, "127.0.0.1", false}, row{ssl_mode::preferred, "127.0.0.1", true},
                         row{ssl_mode::required, "127.0.0.1", true}, row{ssl_mode::verify_ca, "127.0.0.1", true},
                         row{ssl_mode::verify_identity, "localhost", true}}) {
        SCOPED_TRACE(std::string(rowcast::mysql::to_string(r.mode)));
        auto c = mp::connection::open(conn(r.mode, r.host), "test");
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(c->tls(), r.tls);
        const std::string cipher = server_cipher(*c);
        EXPECT_EQ(!cipher.empty(), r.tls) << cipher;
        if (r.tls) {
            EXPECT_EQ(cipher, c->tls_cipher());
        }
        EXPECT_EQ(c->auth_plugin(), "mysql_native_password");
    }
    auto o = conn(ssl_mode::preferred);  // PREFERRED over the Unix socket: plain
    o.socket = server_->socket().string();
    auto c = mp::connection::open(o, "test");
    ASSERT_TRUE(c) << c.error_value().message;
    EXPECT_FALSE(c->tls());
}

TEST_F(MariaDbTls, WrongCaIsRefused) {
    for (ssl_mode m : {ssl_mode::verify_ca, ssl_mode::verify_identity}) {
        auto o = conn(m, "localhost");
        o.tls.ca = certs_->other_ca();
        auto c = mp::connection::open(o, "test");
        ASSERT_FALSE(c);
        EXPECT_EQ(c.error_value().code, rowcast::make_error_code(rowcast::errc::refused));
        EXPECT_NE(c.error_value().message.find("certificate"), std::string::npos) << c.error_value().message;
    }
    auto o = conn(ssl_mode::required);  // REQUIRED does not check the chain
    o.tls.ca = certs_->other_ca();
    EXPECT_TRUE(mp::connection::open(o, "test"));
}

TEST_F(MariaDbTls, HostNameMismatchIsRefusedUnderVerifyIdentity) {
    auto c = mp::connection::open(conn(ssl_mode::verify_identity, "127.0.0.1"), "test");  // the certificate names localhost
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error_value().code, rowcast::make_error_code(rowcast::errc::refused));
    EXPECT_NE(c.error_value().message.find("mismatch"), std::string::npos) << c.error_value().message;
    EXPECT_TRUE(mp::connection::open(conn(ssl_mode::verify_ca, "127.0.0.1"), "test"));
}

TEST_F(MariaDbTls, StreamReadsTheBinlogOverTls) {
    rb::stream_options so;
    so.connection = conn(ssl_mode::verify_identity, "localhost");
    so.stop_at_end = true;
    so.server_id = 777;
    auto s = rb::stream::open(so);
    ASSERT_TRUE(s) << s.error_value().message;
    EXPECT_TRUE(s->tls());
    rb::raw_event ev;
    std::size_t events = 0;
    for (;;) {
        auto n = s->next(ev);
        ASSERT_TRUE(n) << n.error_value().message;
        if (!*n) break;
        ++events;
    }
    EXPECT_GT(events, 5u);  // format description, the DDL, the INSERT's table map and rows…
}

// Counts inserted rows; every other callback is ignored.
struct row_counter {
    std::size_t inserts = 0, commits = 0;
    void begin(const rb::txn_info&) {}
    void commit(const rb::txn_info&) { ++commits; }
    void rollback(const rb::txn_info&) {}
    void insert(const rb::txn_info&, const rb::table_info&, rb::image) { ++inserts; }
    void delete_row(const rb::txn_info&, const rb::table_info&, rb::image) {}
    void update_before(const rb::txn_info&, const rb::table_info&, rb::image) {}
    void update_after(const rb::txn_info&, const rb::table_info&, rb::image) {}
    void ddl(const rb::txn_info&, std::string_view, std::string_view) {}
};

// rowcast's query client in every mode, the server's view of the session, and the schema
// provider on it (what rowcast-binlog --schema-history opens next to the stream).
TEST_F(MariaDbTls, ClientInEveryModeAndTheSchemaProvider) {
    for (ssl_mode m : {ssl_mode::disabled, ssl_mode::preferred, ssl_mode::required, ssl_mode::verify_ca,
                       ssl_mode::verify_identity}) {
        SCOPED_TRACE(std::string(rowcast::mysql::to_string(m)));
        auto c = my::connection::open(conn(m, m == ssl_mode::verify_identity ? "localhost" : "127.0.0.1"), "binlog");
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(c->tls(), m != ssl_mode::disabled);
        auto rs = c->query_all("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        ASSERT_TRUE(rs) << rs.error_value().message;
        ASSERT_EQ(rs->rows.size(), 1u);
        EXPECT_EQ(rs->rows[0][1].value_or("?"), c->tls_cipher());
        rb::mariadb_schema_provider provider(*c);
        auto cols = provider.columns("app", "t");
        ASSERT_TRUE(cols) << cols.error_value().message;
        ASSERT_EQ((*cols)->size(), 2u);
        EXPECT_EQ((**cols)[1].name, "name");
        EXPECT_TRUE((**cols)[0].primary_key);
        auto none = provider.columns("app", "no_such_table");
        ASSERT_FALSE(none);
        EXPECT_EQ(none.error_value().code, make_error_code(errc::missing_field));
    }
    auto wrong = conn(ssl_mode::verify_ca);
    wrong.tls.ca = certs_->other_ca();
    auto c = my::connection::open(wrong);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error_value().code, make_error_code(errc::refused)) << c.error_value().message;
}

// A writer account for the client tests.
my::connect_options writer(ssl_mode m = ssl_mode::required) {
    auto o = MariaDbTlsAccess::conn(m);
    o.user = "w";
    o.password = "w-s3cret";
    return o;
}

TEST_F(MariaDbTls, ClientResultSetsKeepNullsAndBinaryCells) {
    auto root = server_->connect();
    root.query("CREATE TABLE app.cells (id INT PRIMARY KEY, s VARCHAR(20) NULL, b VARBINARY(300) NULL)");
    std::string all_bytes, hex_bytes;
    for (int i = 0; i < 256; ++i) {
        all_bytes += static_cast<char>(i);
        hex_bytes += rowcast::detail::hex_byte(static_cast<unsigned>(i));
    }
    root.query("INSERT INTO app.cells VALUES (1, '', X'" + hex_bytes + "'), (2, NULL, NULL), (3, 'h\xc3\xa9', X'')");
    auto c = my::connection::open(conn(ssl_mode::required));
    ASSERT_TRUE(c) << c.error_value().message;
    const char* q = "SELECT id, s, b, NULL AS n FROM app.cells ORDER BY id";
    auto rs = c->query_all(q);
    ASSERT_TRUE(rs) << rs.error_value().message;
    ASSERT_EQ(rs->columns.size(), 4u);
    EXPECT_EQ(rs->columns[0].name, "id");
    EXPECT_EQ(rs->columns[0].table, "cells");
    EXPECT_EQ(rs->columns[0].type, 3);  // MYSQL_TYPE_LONG
    EXPECT_FALSE(rs->columns[0].nullable());
    EXPECT_FALSE(rs->columns[1].binary());
    EXPECT_TRUE(rs->columns[2].binary());
    EXPECT_EQ(rs->columns[3].name, "n");
    ASSERT_EQ(rs->rows.size(), 3u);
    EXPECT_EQ(rs->rows[0][0], "1");
    EXPECT_EQ(rs->rows[0][1], "");              // an empty string is not NULL
    EXPECT_EQ(rs->rows[0][2], all_bytes);       // every byte value, 0 included
    EXPECT_EQ(rs->rows[1][1], std::nullopt);
    EXPECT_EQ(rs->rows[1][2], std::nullopt);
    EXPECT_EQ(rs->rows[2][1], "h\xc3\xa9");     // utf8mb4
    EXPECT_EQ(rs->rows[2][2], "");
    EXPECT_EQ(rs->rows[2][3], std::nullopt);
    // The same rows read one by one.
    auto r = c->query(q);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(r->columns().size(), 4u);
    std::vector<my::row> streamed;
    for (;;) {
        auto more = r->next();
        ASSERT_TRUE(more) << more.error_value().message;
        if (!*more) break;
        streamed.push_back(r->owned());
    }
    EXPECT_EQ(streamed, rs->rows);
    // A statement without rows, and an unread result drained by the next statement.
    auto partial = c->query(q);
    ASSERT_TRUE(partial && partial->next());
    auto none = c->query_all("DO 1");
    ASSERT_TRUE(none) << none.error_value().message;
    EXPECT_TRUE(none->columns.empty());
    EXPECT_FALSE(partial->next());  // ended by the later query: an error, not rows of another result
}

TEST_F(MariaDbTls, ClientExecuteReportsTheOkPacket) {
    auto root = server_->connect();
    root.query("CREATE USER IF NOT EXISTS w@'%' IDENTIFIED BY 'w-s3cret'");
    root.query("GRANT ALL ON app.* TO w@'%'");
    auto c = my::connection::open(writer());
    ASSERT_TRUE(c) << c.error_value().message;
    ASSERT_TRUE(c->execute("CREATE TABLE app.ai (id INT AUTO_INCREMENT PRIMARY KEY, v INT)"));
    auto ins = c->execute("INSERT INTO app.ai (v) VALUES (1), (2), (3)");
    ASSERT_TRUE(ins) << ins.error_value().message;
    EXPECT_EQ(ins->affected_rows, 3u);
    EXPECT_EQ(ins->last_insert_id, 1u);
    auto up = c->execute("UPDATE app.ai SET v = v + 1 WHERE id >= 2");
    ASSERT_TRUE(up) << up.error_value().message;
    EXPECT_EQ(up->affected_rows, 2u);
    auto warn = c->execute("SET @x = CAST('12abc' AS SIGNED)");
    ASSERT_TRUE(warn) << warn.error_value().message;
    EXPECT_GE(warn->warnings, 1u);
}

TEST_F(MariaDbTls, ClientServerErrorsCarryCodeAndClass) {
    auto root = server_->connect();
    root.query("CREATE USER IF NOT EXISTS w@'%' IDENTIFIED BY 'w-s3cret'");
    root.query("GRANT ALL ON app.* TO w@'%'");
    root.query("CREATE TABLE IF NOT EXISTS app.locks (id INT PRIMARY KEY, v INT) ENGINE=InnoDB");
    root.query("INSERT IGNORE INTO app.locks VALUES (1, 0), (2, 0)");
    auto c = my::connection::open(conn(ssl_mode::disabled));
    ASSERT_TRUE(c) << c.error_value().message;
    auto syntax = c->query_all("SELEC 1");
    ASSERT_FALSE(syntax);
    EXPECT_EQ(syntax.error_value().code, make_error_code(errc::invalid_value));
    EXPECT_EQ(c->last_server_error().code, 1064);
    EXPECT_EQ(c->last_server_error().sqlstate, "42000");
    EXPECT_NE(syntax.error_value().message.find("server error 1064 (42000)"), std::string::npos) << syntax.error_value().message;
    EXPECT_TRUE(c->usable());
    auto multi = c->execute("DO 1; DO 2");  // no CLIENT_MULTI_STATEMENTS: the server refuses it whole
    ASSERT_FALSE(multi);
    EXPECT_EQ(c->last_server_error().code, 1064);
    auto missing = c->query_all("SELECT * FROM app.no_such_table");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error_value().code, make_error_code(errc::not_found));
    EXPECT_EQ(c->last_server_error().sqlstate, "42S02");
    auto denied = c->execute("INSERT INTO app.t VALUES (9, 'x')");  // repl may only read
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error_value().code, make_error_code(errc::refused));
    EXPECT_FALSE(rowcast::is_transient(denied.error_value()));
    auto still = c->query_all("SELECT COUNT(*) FROM app.t");
    ASSERT_TRUE(still) << still.error_value().message;  // a server error leaves the connection usable
    EXPECT_EQ(still->rows[0][0], "2");

    // Lock wait timeout: a transaction holds the row.
    auto a = my::connection::open(writer(ssl_mode::disabled)), b = my::connection::open(writer(ssl_mode::disabled));
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->execute("START TRANSACTION"));
    ASSERT_TRUE(a->execute("UPDATE app.locks SET v = v + 1 WHERE id = 1"));
    ASSERT_TRUE(b->execute("SET SESSION innodb_lock_wait_timeout = 1"));
    auto waited = b->execute("UPDATE app.locks SET v = v + 1 WHERE id = 1");
    ASSERT_FALSE(waited);
    EXPECT_TRUE(b->last_server_error().lock_wait_timeout());
    EXPECT_EQ(waited.error_value().code, make_error_code(errc::unavailable));
    EXPECT_TRUE(rowcast::is_transient(waited.error_value()));
    // Deadlock: a holds 1 and wants 2, b holds 2 and wants 1; InnoDB picks one of them.
    ASSERT_TRUE(b->execute("SET SESSION innodb_lock_wait_timeout = 50"));
    ASSERT_TRUE(b->execute("START TRANSACTION"));
    ASSERT_TRUE(b->execute("UPDATE app.locks SET v = v + 1 WHERE id = 2"));
    rowcast::result<my::ok_result> from_a = my::ok_result{};
    std::thread t([&] { from_a = a->execute("UPDATE app.locks SET v = v + 1 WHERE id = 2"); });
    auto from_b = b->execute("UPDATE app.locks SET v = v + 1 WHERE id = 1");
    if (from_b) {
        ASSERT_TRUE(b->execute("ROLLBACK"));  // a was the victim: b goes on
    }
    t.join();
    ASSERT_NE(static_cast<bool>(from_a), static_cast<bool>(from_b));
    auto& victim = from_a ? *b : *a;
    const auto& err = from_a ? from_b.error_value() : from_a.error_value();
    EXPECT_TRUE(victim.last_server_error().deadlock()) << err.message;
    EXPECT_EQ(victim.last_server_error().sqlstate, "40001");
    EXPECT_EQ(err.code, make_error_code(errc::unavailable));
    (void)a->execute("ROLLBACK");
    (void)b->execute("ROLLBACK");
}

// A result far larger than the bound: whole, it is refused; row by row, every row comes
// through with one row in memory at a time.
TEST_F(MariaDbTls, ClientStreamsALargeResultWithinASmallBound) {
    auto o = conn(ssl_mode::required);
    o.max_result_rows = 1000;
    o.max_result_bytes = std::size_t{1} << 20;  // 1 MiB: also the largest packet (row) accepted
    const char* q = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000) "
                    "SELECT n, REPEAT('x', 200) FROM s";
    auto c = my::connection::open(o);
    ASSERT_TRUE(c) << c.error_value().message;
    ASSERT_TRUE(c->execute("SET SESSION max_recursive_iterations = 1000000"));
    auto all = c->query_all(q);
    ASSERT_FALSE(all);
    EXPECT_EQ(all.error_value().code, make_error_code(errc::limit_exceeded));
    EXPECT_FALSE(c->usable());
    c = my::connection::open(o);
    ASSERT_TRUE(c) << c.error_value().message;
    ASSERT_TRUE(c->execute("SET SESSION max_recursive_iterations = 1000000"));
    auto r = c->query(q);
    ASSERT_TRUE(r) << r.error_value().message;
    std::size_t rows = 0, bytes = 0;
    for (;;) {
        auto more = r->next();
        ASSERT_TRUE(more) << more.error_value().message;
        if (!*more) break;
        ++rows;
        ASSERT_EQ(r->row()[0], std::to_string(rows));
        bytes += r->row()[1]->size();
    }
    EXPECT_EQ(rows, 100000u);
    EXPECT_GT(bytes, 19 * o.max_result_bytes);
    auto big = c->query_all("SELECT REPEAT('y', 2 * 1024 * 1024)");  // one row larger than the bound
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error_value().code, make_error_code(errc::limit_exceeded));
}

TEST_F(MariaDbTls, Ed25519LogsIn) {
    for (ssl_mode m : {ssl_mode::disabled, ssl_mode::required}) {
        auto o = conn(m);
        o.user = "ed";
        o.password = "ed-s3cret";
        auto c = mp::connection::open(o, "test");
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(c->auth_plugin(), "client_ed25519");
        o.password = "wrong";
        auto bad = mp::connection::open(o, "test");
        ASSERT_FALSE(bad);
        EXPECT_NE(bad.error_value().message.find("1045"), std::string::npos) << bad.error_value().message;
    }
}

#ifdef ROWCAST_BINLOG_EXE
// rowcast-binlog's flags reach both of its connections: the stream and the --schema-history one.
TEST_F(MariaDbTls, RowcastBinlogFlags) {
    rowcast::test::temp_dir dir("rowcast-tls-prog");
    // Runs rowcast-binlog to the end of the binlog; its exit status and stderr.
    auto run = [&](const std::string& ca, const std::string& name) {
        const auto out = dir.path() / name;
        const int rc = rowcast::test::run_process(
            {{ROWCAST_BINLOG_EXE, "-h", "localhost", "-P", std::to_string(server_->port()), "-u", "repl", "-p", "s3cret",
              "--ssl-mode=verify_identity", "--ssl-ca=" + ca, "--server-id=778", "--stop-at-end", "--schema-history",
              (dir.path() / (name + ".history")).string()},
             {},
             out,
             out.string() + ".err"});
        std::ifstream in(out.string() + ".err");
        std::stringstream ss;
        ss << in.rdbuf();
        return std::make_pair(rc, ss.str());
    };
    const auto [ok, ok_err] = run(certs_->ca(), "good");
    EXPECT_EQ(ok, 0) << ok_err;
    const auto [bad, bad_err] = run(certs_->other_ca(), "wrong-ca");
    EXPECT_EQ(bad, 1);
    // The --schema-history connection (rowcast's client) opens first and refuses it in its words.
    EXPECT_NE(bad_err.find("[rowcast.binlog.refused]"), std::string::npos) << bad_err;
    EXPECT_NE(bad_err.find("certificate"), std::string::npos) << bad_err;
}
#endif

// ---------------------------------------------------------------------------
// caching_sha2_password and sha256_password against the test server.

class AuthServer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        certs_ = std::make_unique<rowcast::test::test_certificates>();
        server_ = std::make_unique<rowcast::test::mysql_auth_server>(*certs_);
    }
    static void TearDownTestSuite() {
        server_.reset();
        certs_.reset();
    }
    static mp::connect_options conn(ssl_mode m) {
        mp::connect_options o;
        o.host = "127.0.0.1";
        o.port = server_->port();
        o.user = "app";
        o.password = "secret";
        o.tls.mode = m;
        return o;
    }
    // Runs one login; returns the client's result and the server's view.
    static std::pair<rowcast::result<mp::connection>, rowcast::test::auth_outcome> login(
        const rowcast::test::auth_server_config& sc, const mp::connect_options& o) {
        auto f = server_->serve(sc);
        auto c = mp::connection::open(o, "test");
        if (c) c->close();
        return {std::move(c), f.get()};
    }
    static std::unique_ptr<rowcast::test::test_certificates> certs_;
    static std::unique_ptr<rowcast::test::mysql_auth_server> server_;
};
std::unique_ptr<rowcast::test::test_certificates> AuthServer::certs_;
std::unique_ptr<rowcast::test::mysql_auth_server> AuthServer::server_;

TEST_F(AuthServer, CachingSha2FastPath) {
    auto [c, out] = login({.cached = true}, conn(ssl_mode::disabled));
    ASSERT_TRUE(c) << c.error_value().message;
    EXPECT_EQ(out.path, "fast");
    EXPECT_EQ(out.client_plugin, "caching_sha2_password");
}

TEST_F(AuthServer, CachingSha2FullPathOverTls) {
    auto [c, out] = login({}, conn(ssl_mode::required));
    ASSERT_TRUE(c) << c.error_value().message;
    EXPECT_TRUE(out.tls);
    EXPECT_EQ(out.path, "full-tls");
}

TEST_F(AuthServer, CachingSha2FullPathWithTheServersKey) {
    auto o = conn(ssl_mode::disabled);
    o.tls.get_server_public_key = true;
    auto [c, out] = login({}, o);
    ASSERT_TRUE(c) << c.error_value().message;
    EXPECT_EQ(out.path, "key-sent+rsa");
}

TEST_F(AuthServer, CachingSha2FullPathWithAPinnedKey) {
    auto o = conn(ssl_mode::disabled);
    o.tls.server_public_key = certs_->rsa_public();
    auto [c, out] = login({}, o);
    ASSERT_TRUE(c) << c.error_value().message;
    EXPECT_EQ(out.path, "full-rsa");
    o.password = "wrong";
    auto [bad, out2] = login({}, o);
    ASSERT_FALSE(bad);
    EXPECT_EQ(out2.path, "full-rsa/rejected");
}

TEST_F(AuthServer, CachingSha2WithoutTlsOrKeyIsRefused) {
    auto [c, out] = login({}, conn(ssl_mode::disabled));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error_value().code, rowcast::make_error_code(rowcast::errc::refused));
    EXPECT_NE(c.error_value().message.find("server_public_key"), std::string::npos) << c.error_value().message;
    EXPECT_FALSE(out.accepted);
}

TEST_F(AuthServer, Sha256PasswordOverTlsAndRsa) {
    {
        auto [c, out] = login({.plugin = "sha256_password"}, conn(ssl_mode::preferred));
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(out.path, "full-tls");
    }
    {
        auto o = conn(ssl_mode::disabled);
        o.tls.get_server_public_key = true;
        auto [c, out] = login({.plugin = "sha256_password"}, o);
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(out.path, "key-sent+rsa");
    }
    {
        auto o = conn(ssl_mode::disabled);
        o.tls.server_public_key = certs_->rsa_public();
        auto [c, out] = login({.plugin = "sha256_password"}, o);
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(out.path, "full-rsa");
    }
}

TEST_F(AuthServer, AuthSwitchRequests) {
    {
        auto [c, out] = login({.plugin = "mysql_native_password", .switch_to = "caching_sha2_password", .cached = true},
                              conn(ssl_mode::disabled));
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(out.path, "fast");
        EXPECT_EQ(c->auth_plugin(), "caching_sha2_password");
    }
    {
        auto [c, out] = login({.plugin = "caching_sha2_password", .switch_to = "mysql_native_password"},
                              conn(ssl_mode::disabled));
        ASSERT_TRUE(c) << c.error_value().message;
        EXPECT_EQ(out.path, "native");
    }
}

TEST_F(AuthServer, UnknownPluginIsNamed) {
    auto [c, out] = login({.switch_to = "authentication_kerberos_client"}, conn(ssl_mode::disabled));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error_value().code, rowcast::make_error_code(rowcast::errc::unsupported));
    EXPECT_NE(c.error_value().message.find("'authentication_kerberos_client'"), std::string::npos) << c.error_value().message;
}

TEST_F(AuthServer, RequiredTlsThatIsNotOfferedIsRefused) {
    auto [c, out] = login({.offer_tls = false}, conn(ssl_mode::required));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error_value().code, rowcast::make_error_code(rowcast::errc::refused));
    EXPECT_NE(c.error_value().message.find("does not offer TLS"), std::string::npos) << c.error_value().message;
    auto [p, out2] = login({.cached = true, .offer_tls = false}, conn(ssl_mode::preferred));  // PREFERRED: plain
    ASSERT_TRUE(p) << p.error_value().message;
    EXPECT_FALSE(out2.tls);
}


// ---------------------------------------------------------------------------
// A hostile or broken server's result sets: a clear error, never a crash or a huge allocation.

std::string lenenc_text(std::string_view s) {
    std::string o;
    mp::put_lenenc(o, s.size());
    return o.append(s);
}
std::string column_def(std::string_view name) {
    std::string p = lenenc_text("def") + lenenc_text("app") + lenenc_text("t") + lenenc_text("t") + lenenc_text(name) +
                    lenenc_text(name);
    p += '\x0c';
    mp::put_le(p, 45, 2);   // utf8mb4
    mp::put_le(p, 80, 4);   // length
    p += '\xfd';            // VAR_STRING
    mp::put_le(p, 0, 2);    // flags
    p += '\0';              // decimals
    p.append(2, '\0');
    return p;
}
const std::string eof_packet("\xfe\x00\x00\x02\x00", 5);

struct hostile_case {
    const char* what;
    std::vector<std::string> reply;
    std::string raw;
    errc code;
    const char* says;
    bool usable = false;
};

TEST_F(AuthServer, HostileResultSetsAreClearErrors) {
    const std::string row_1 = lenenc_text("1");
    std::string huge_count = "\xfe";
    mp::put_le(huge_count, std::uint64_t{1} << 40, 8);
    std::string oversize;  // a header announcing a 16 MiB packet (more than the 1 MiB bound)
    mp::put_le(oversize, mp::max_packet - 1, 3);
    oversize += '\x01';
    const std::string err_1317 = std::string("\xff\x25\x05#70100", 9) + "Query execution was interrupted";
    const std::vector<hostile_case> cases = {
        {"a valid reply", {"\x01", column_def("a"), eof_packet, row_1, eof_packet}, "", errc{}, "", true},
        {"a column count of 2^40", {huge_count}, "", errc::invalid_value, "bad column count"},
        {"a truncated column definition", {"\x01", "\x03" "def\x10" "ap"}, "", errc::invalid_value, "malformed column definition 1"},
        {"rows without the EOF after the columns", {"\x01", column_def("a"), row_1}, "", errc::invalid_value, "no EOF"},
        {"a cell longer than its row", {"\x01", column_def("a"), eof_packet, "\x05" "ab"}, "", errc::invalid_value, "malformed row"},
        {"bytes after the last cell", {"\x01", column_def("a"), eof_packet, row_1 + "zz"}, "", errc::invalid_value, "malformed row"},
        {"too few cells", {"\x02", column_def("a"), column_def("b"), eof_packet, row_1}, "", errc::invalid_value, "malformed row"},
        {"a bad length prefix", {"\x02", column_def("a"), column_def("b"), eof_packet, row_1 + "\xff"}, "", errc::invalid_value,
         "malformed row"},
        {"a truncated ERR packet", {"\x01", column_def("a"), eof_packet, "\xff\x01"}, "", errc::invalid_value, "malformed ERR"},
        {"a packet out of sequence", {"\x01"}, std::string("\x01\x00\x00\x07\x01", 5), errc::invalid_value, "out of order"},
        {"a packet over the bound", {"\x01"}, oversize.substr(0, 3) + '\x02', errc::limit_exceeded, "exceeds the limit"},
        {"the connection closed mid-result", {"\x01", column_def("a"), eof_packet, row_1}, "", errc::io_error, "closed"},
        {"LOCAL INFILE asked for", {"\xfb/etc/passwd"}, "", errc::invalid_value, "LOCAL INFILE"},
        {"a malformed OK packet", {std::string("\x00\xfc", 2)}, "", errc::invalid_value, "malformed OK"},
        {"an ERR packet in place of a row", {"\x01", column_def("a"), eof_packet, row_1, err_1317}, "", errc::unavailable,
         "server error 1317 (70100)", true},
    };
    for (const auto& hc : cases) {
        SCOPED_TRACE(hc.what);
        for (bool streamed : {false, true}) {
            SCOPED_TRACE(streamed ? "query()" : "query_all()");
            auto f = server_->serve({.cached = true, .reply = hc.reply, .raw_reply = hc.raw});
            auto o = conn(ssl_mode::disabled);
            o.max_result_bytes = std::size_t{1} << 20;
            auto c = my::connection::open(o, "test");
            ASSERT_TRUE(c) << c.error_value().message;
            rowcast::result<void> r;
            std::size_t rows = 0;
            if (!streamed) {
                auto rs = c->query_all("SELECT a FROM t");
                if (rs) rows = rs->rows.size();
                else r = rs.error_value();
            } else if (auto rd = c->query("SELECT a FROM t"); !rd) {
                r = rd.error_value();
            } else {
                for (;;) {
                    auto more = rd->next();
                    if (!more) {
                        r = more.error_value();
                        break;
                    }
                    if (!*more) break;
                    ++rows;
                }
            }
            const auto out = f.get();
            EXPECT_EQ(out.command, "\x03SELECT a FROM t");
            if (hc.code == errc{}) {
                ASSERT_TRUE(r) << r.error_value().message;
                EXPECT_EQ(rows, 1u);
                continue;
            }
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error_value().code, make_error_code(hc.code)) << r.error_value().message;
            EXPECT_NE(r.error_value().message.find(hc.says), std::string::npos) << r.error_value().message;
            EXPECT_EQ(c->usable(), hc.usable) << r.error_value().message;
        }
    }
}


// Events OpenSSL has decrypted already are invisible to poll(2): the follower as an event source
// (process(), what rowcast::run() and rowcastd drive) must read them (stream::buffered()) instead of
// polling the socket. Here the test server sends the whole binlog
// (tests/data/binlog/mariadb/04_no_checksum.binlog) and the end-of-binlog EOF in one write, so one TLS
// record holds every event and then nothing more arrives while the connection stays open: a follower
// that polled first waits for the dead-peer deadline, reconnects and fails (one connection served).
TEST_F(AuthServer, FollowerReadsEventsTlsHasBufferedBeforeWaiting) {
    std::ifstream in(std::string(ROWCAST_BINLOG_FIXTURES) + "/mariadb/04_no_checksum.binlog", std::ios::binary);
    const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(file.size(), 4u);
    std::vector<std::string> stream;
    std::string rotate(19, '\0');  // the artificial ROTATE a server sends first
    rotate[4] = 4;
    rotate[17] = 0x20;
    mp::put_le(rotate, 4, 8);
    rotate += "binlog.000001";
    rotate[9] = static_cast<char>(rotate.size());
    stream.push_back(std::string(1, '\0') + rotate);
    for (std::size_t at = 4; at + 19 <= file.size();) {
        std::uint64_t n = 0;
        mp::reader(std::string_view(file).substr(at + 9, 4)).le(4, n);
        ASSERT_GE(n, 19u);
        stream.push_back(std::string(1, '\0') + file.substr(at, n));
        at += n;
    }
    stream.push_back(eof_packet);
    const std::vector<std::string> setup = {"\x03", column_def("format"), column_def("checksum"), column_def("log_bin"),
                                            eof_packet, lenenc_text("ROW") + lenenc_text("NONE") + lenenc_text("1"),
                                            eof_packet};
    const std::string ok("\x00\x00\x00\x02\x00\x00\x00", 7);
    auto f = server_->serve({.cached = true, .replies = {setup, {ok}, {ok}, stream}});
    rb::follower_options fo;
    fo.stream.connection = conn(ssl_mode::required);
    fo.stream.connection.connect_timeout = 2s;
    fo.stream.stop_at_end = true;
    fo.stream.heartbeat_period = 200ms;  // a wrong wait shows as a reconnect after 600 ms
    rb::follower fl(fo);
    std::size_t inserts = 0, commits = 0;
    auto sink = rowcast::callback_sink([&](const rowcast::event& e) {
        inserts += e.kind == rowcast::event_kind::insert;
        commits += e.kind == rowcast::event_kind::commit;
    });
    rowcast::run_options ro;
    ro.retry.max_attempts = 1;
    std::stop_source stop;
    auto r = fl.run(sink, stop.get_token(), ro);
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_EQ(commits, 5u);  // the file's five XIDs
    EXPECT_GT(inserts, 0u);
    EXPECT_EQ(fl.stats().reconnects, 0u);
    const auto out = f.get();
    EXPECT_TRUE(out.tls);
    EXPECT_EQ(out.command[0], '\x12');  // COM_BINLOG_DUMP
}

}  // namespace
