// rowcast-dns end to end (issue 4 §4): a private MariaDB with rowcast_udf and the generated
// triggers on inventory.hosts writes the spool; rowcast-dns (a separate process) applies it to a
// private named. Checks: 1,000 inserts -> A + PTR; IPv6 rows -> AAAA + ip6.arpa PTR; 200 updates
// move records; 200 deletes remove them; rowcast-dns killed with SIGKILL in the middle and
// restarted; at the end the zones (AXFR) equal what the table says, exactly. Bad rows are
// quarantined with reasons. A wrong key holds the events until the key file is fixed.
// Also: bad configs exit 2 with a clear message; SIGTERM stops cleanly (exit 0). Issue 19 item 12:
// the transactional mode (outbox) keeps the zone equal to the table through rollbacks, deadlocks
// and a mariadbd kill; the plain mode invents a record on rollback.
#include "support/named_server.hpp"
#include "support/process.hpp"
#include "support/udf_server.hpp"

#include <rowcast/dns/client.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/udf/outbox_mariadb.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <tuple>
#include <set>
#include <sstream>

#include <csignal>

using rowcast::test::named_server;
using rowcast::test::udf_server;

namespace {

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

rowcast::test::process start_rowcast_dns(const std::vector<std::string>& args, const std::filesystem::path& log) {
    std::vector<std::string> a = {ROWCAST_DNS_EXE};
    a.insert(a.end(), args.begin(), args.end());
    return rowcast::test::process::start({a, {}, log, {}});
}

// Runs rowcast-dns to completion; returns exit code and output.
std::pair<int, std::string> run_dns(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
    const auto log = scratch / "run-dns.log";
    std::filesystem::remove(log);
    auto p = start_rowcast_dns(args, log);
    // A config that should fail but is accepted would run forever: stop it after a while (liveness guard).
    if (auto rc = p.wait_for(std::chrono::seconds(30))) return {*rc, slurp(log)};
    const int rc = p.stop(SIGTERM);
    return {rc == 0 ? 99 : rc, slurp(log) + "\n(was still running: stopped by the test)"};
}

// Waits (liveness guard, not a timed assertion) until pred() holds or ~limit seconds pass.
template <class P>
bool eventually(P pred, int limit_s = 240) {
    for (int i = 0; i < limit_s * 20; ++i) {
        if (pred()) return true;
        ::usleep(50000);
    }
    return pred();
}

std::size_t spool_files(const std::filesystem::path& d) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(d, ec))
        if (f.is_regular_file() && f.path().filename().string()[0] != '.') ++n;
    return n;
}

std::string write_config(const std::filesystem::path& dir, const named_server& ns, const std::filesystem::path& key,
                          const std::filesystem::path& spool, const std::string& extra = "") {
    const auto p = dir / "rowcast-dns.yaml";
    std::ofstream f(p);
    f << "server: 127.0.0.1\nport: " << ns.port() << "\nkey_file: " << key.string() << "\n"
      << "timeout_ms: 2000\nattempts: 2\nttl: 300\n"
      << "forward_zones: [example.test]\n"
      << "reverse_zones: [2.0.192.in-addr.arpa, 10.in-addr.arpa, 8.b.d.0.1.0.0.2.ip6.arpa]\n"
      << "tables:\n  - {schema: inventory, table: hosts, host_column: hostname, address_column: ip, mac_column: mac}\n"
      << "spool:\n  directory: " << spool.string() << "\n  codec: binary\n  max_batch: 500\n  retry_max_ms: 300\n"
      << extra;
    return p.string();
}

std::string rev4(const std::string& ip) {
    std::vector<std::string> parts;
    std::stringstream ss(ip);
    for (std::string x; std::getline(ss, x, '.');) parts.push_back(x);
    return parts[3] + "." + parts[2] + "." + parts[1] + "." + parts[0] + ".in-addr.arpa.";
}

TEST(DnsBinary, BadConfigsExitTwoWithAClearMessage) {
    rowcast::test::temp_dir d("rowcast-dns-cfg");
    named_server ns;
    std::filesystem::create_directories(d.path() / "spool");
    auto good = write_config(d.path(), ns, ns.key_file(), d.path() / "spool");
    auto [rc, out] = run_dns({"--check", good}, d.path());
    EXPECT_EQ(rc, 0) << out;
    struct bad_case {
        std::string text, expect;
    };
    const std::string base = slurp(good);
    const std::vector<bad_case> cases = {
        {"server: [1, 2\n", "YAML"},
        {base + "colour: blue\n", "colour at line"},
        {base + "port: 70000\n", "given twice"},
        {std::string(base).replace(base.find("port: "), 6, "port: 7"), "is out of range (1-65535)"},
        {"server: 127.0.0.1\n", "key_file at line 1: is required"},
        {std::string(base).replace(base.find("key_file: "), 10, "key_file: /nonexistent"), "cannot be read"},
        {std::string(base).replace(base.find("server: 127.0.0.1"), 17, "server: ns.example"), "must be an IPv4 or IPv6 address"},
        {std::string(base).replace(base.find("[example.test]"), 14, "[\"bad zone\"]"), "forward zone"},
        {std::string(base).replace(base.find("codec: binary"), 13, "codec: xml"), "spool.codec"},
    };
    for (const auto& c : cases) {
        const auto p = d.path() / "bad.yaml";
        std::ofstream(p) << c.text;
        auto [brc, bout] = run_dns({p.string()}, d.path());
        EXPECT_EQ(brc, 2) << c.text << "\n" << bout;
        EXPECT_NE(bout.find("rowcast-dns: config "), std::string::npos) << bout;
        EXPECT_NE(bout.find(c.expect), std::string::npos) << "want '" << c.expect << "' in: " << bout;
    }
    // A key file that does not parse.
    const auto badkey = d.path() / "bad.key";
    std::ofstream(badkey) << "key \"k\" { algorithm hmac-md5; secret \"AAAA\"; };\n";
    auto kp = write_config(d.path(), ns, badkey, d.path() / "spool");
    auto [krc, kout] = run_dns({kp}, d.path());
    EXPECT_EQ(krc, 2);
    EXPECT_NE(kout.find("[rowcast.dns.key_file]"), std::string::npos) << kout;
}

class DnsEndToEnd : public ::testing::Test {
protected:
    void SetUp() override {
        ns_ = std::make_unique<named_server>();
        db_ = std::make_unique<udf_server>(std::vector<std::string>{"codec = binary", "durability = none"});
        auto c = db_->connect();
        c.query("CREATE DATABASE inventory");
        c.query("CREATE TABLE inventory.hosts (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, mac CHAR(17) NULL, "
                "ip VARCHAR(45) NULL, hostname VARCHAR(255) NOT NULL)");
        auto tool = rowcast::test::run_triggers_tool(
            {"--socket", db_->server().socket().string(), "-u", "root", "--apply", "inventory", "hosts"},
            db_->server().dir());
        ASSERT_EQ(tool.exit_code, 0) << tool.err;
        log_ = db_->server().dir() / "rowcast-dns.log";
    }
    void TearDown() override {
        stop_dns(SIGTERM);
        db_.reset();
        ns_.reset();
    }
    void start_dns(const std::string& config) { dns_ = start_rowcast_dns({config}, log_); }
    int stop_dns(int sig) { return dns_.stop(sig); }
    bool drained() const { return spool_files(db_->spool()) == 0; }

    // What the table says the zones must hold (A/AAAA and PTR lines in axfr() form).
    void expected_zone(std::vector<std::string>& fwd, std::vector<std::string>& rev10, std::vector<std::string>& rev6) {
        auto c = db_->connect();
        for (const auto& row : c.rows("SELECT hostname, ip FROM inventory.hosts WHERE ip IS NOT NULL")) {
            const std::string h = *row[0], ip = *row[1];
            if (h.find(' ') != std::string::npos || ip == "192.0.2.300") continue;  // the bad rows
            const std::string fq = h + ".example.test.";
            if (ip.find(':') != std::string::npos) {
                fwd.push_back(fq + " AAAA " + ip);
                rev6.push_back("ptr6:" + fq);
            } else {
                fwd.push_back(fq + " A " + ip);
                rev10.push_back(rev4(ip) + " PTR " + fq);
            }
        }
        std::sort(fwd.begin(), fwd.end());
        std::sort(rev10.begin(), rev10.end());
        std::sort(rev6.begin(), rev6.end());
    }

    std::unique_ptr<named_server> ns_;
    std::unique_ptr<udf_server> db_;
    std::filesystem::path log_;
    rowcast::test::process dns_;
};

TEST_F(DnsEndToEnd, TableDrivesZoneThroughKillAndRestart) {
    const auto cfg = write_config(db_->server().dir(), *ns_, ns_->key_file(), db_->spool());
    start_dns(cfg);
    auto c = db_->connect();
    // 1,000 IPv4 inserts in statements of 50 rows, rowcast-dns killed with SIGKILL half way.
    for (int s = 0; s < 20; ++s) {
        std::string q = "INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ";
        for (int k = 0; k < 50; ++k) {
            const int i = s * 50 + k;
            q += (k ? "," : "") + std::string("('00:00:00:00:") + std::to_string(10 + i / 100) + ":" +
                 std::to_string(10 + i % 90) + "','10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
                 "','h" + std::to_string(i) + "')";
        }
        c.query(q);
        if (s == 9) {
            ASSERT_TRUE(eventually([&] { return spool_files(db_->spool()) < 500; })) << slurp(log_);
            EXPECT_EQ(stop_dns(SIGKILL), 128 + SIGKILL);
            start_dns(cfg);
        }
    }
    // 50 IPv6 rows, and two bad rows.
    for (int i = 0; i < 50; ++i)
        c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '2001:db8::" + std::to_string(i + 1) +
                "', 'v6-" + std::to_string(i) + "')");
    c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '192.0.2.10', 'bad host')");
    c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '192.0.2.300', 'badaddr')");
    ASSERT_TRUE(eventually([&] { return drained(); })) << slurp(log_);
    EXPECT_EQ(ns_->dig("h1.example.test", "A"), std::vector<std::string>{"10.0.0.2"});
    EXPECT_EQ(ns_->dig("2.0.0.10.in-addr.arpa", "PTR"), std::vector<std::string>{"h1.example.test."});
    EXPECT_EQ(ns_->dig("v6-0.example.test", "AAAA"), std::vector<std::string>{"2001:db8::1"});
    EXPECT_EQ(ns_->dig("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR"),
              std::vector<std::string>{"v6-0.example.test."});

    // 200 updates: 100 renames, 50 address moves, 50 both; plus 20 MAC-only changes (nothing to send).
    c.query("UPDATE inventory.hosts SET hostname = CONCAT('r', hostname) WHERE hostname LIKE 'h%' AND id BETWEEN 1 AND 100");
    c.query("UPDATE inventory.hosts SET ip = CONCAT('10.1.0.', id) WHERE id BETWEEN 101 AND 150");
    c.query("UPDATE inventory.hosts SET ip = CONCAT('10.2.0.', id - 150), hostname = CONCAT('m', hostname) "
            "WHERE id BETWEEN 151 AND 200");
    c.query("UPDATE inventory.hosts SET mac = '00:00:00:00:00:01' WHERE id BETWEEN 201 AND 220");
    // 200 deletes.
    c.query("DELETE FROM inventory.hosts WHERE id BETWEEN 801 AND 1000");
    ASSERT_TRUE(eventually([&] { return drained(); })) << slurp(log_);
    EXPECT_TRUE(ns_->dig("h0.example.test", "A").empty());
    EXPECT_EQ(ns_->dig("rh0.example.test", "A"), std::vector<std::string>{"10.0.0.1"});

    // The zones equal the table, exactly.
    std::vector<std::string> fwd, rev10, rev6;
    expected_zone(fwd, rev10, rev6);
    EXPECT_EQ(fwd.size(), 800u + 50u);
    std::vector<std::string> zone_fwd;
    for (auto& l : ns_->axfr("example.test"))
        if (l.rfind("ns.example.test.", 0) != 0) zone_fwd.push_back(l);
    EXPECT_EQ(zone_fwd, fwd);
    EXPECT_EQ(ns_->axfr("10.in-addr.arpa"), rev10);
    std::vector<std::string> zone6;
    for (auto& l : ns_->axfr("8.b.d.0.1.0.0.2.ip6.arpa")) zone6.push_back("ptr6:" + l.substr(l.rfind(' ') + 1));
    std::sort(zone6.begin(), zone6.end());
    EXPECT_EQ(zone6, rev6);
    EXPECT_TRUE(ns_->axfr("2.0.192.in-addr.arpa").empty());

    // The bad rows are in quarantine with their reasons.
    std::string reasons;
    for (const auto& f : std::filesystem::directory_iterator(db_->spool() / "quarantine"))
        if (f.path().extension() == ".reason") reasons += slurp(f.path());
    EXPECT_NE(reasons.find("[rowcast.dns.invalid_name] host 'bad host'"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("[rowcast.dns.invalid_address]"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("192.0.2.300"), std::string::npos) << reasons;

    // SIGTERM: clean stop.
    EXPECT_EQ(stop_dns(SIGTERM), 0);
    EXPECT_NE(slurp(log_).find("stopped:"), std::string::npos);
}

// Also issue 4 §2: bad rows inside the held batch are quarantined exactly once each, with their
// reasons, when the batch finally goes through (not once per retry), and the rest is applied.
TEST_F(DnsEndToEnd, WrongKeyHoldsEventsUntilTheKeyIsFixed) {
    const auto key = db_->server().dir() / "dns.key";
    auto keys = rowcast::dns::load_key_file(ns_->key_file());
    ASSERT_TRUE(keys);
    // Same name and algorithm, another secret.
    std::ofstream(key) << "key \"rowcast-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0IHRoYXQgaXMgbm90IHRoZSBvbmUgbmFtZWQga25vd3M=\";\n};\n";
    const auto cfg = write_config(db_->server().dir(), *ns_, key, db_->spool());
    auto c = db_->connect();
    // Every row is in the spool before rowcast-dns starts, so they form one batch.
    for (int i = 0; i < 20; ++i) {
        c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '192.0.2." + std::to_string(i + 1) +
                "', 'k" + std::to_string(i) + "')");
        if (i == 5) c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '192.0.2.99', 'bad host')");
        if (i == 12) c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '192.0.2.300', 'badaddr')");
    }
    start_dns(cfg);
    auto count = [&](const std::string& what) {
        const std::string l = slurp(log_);
        std::size_t n = 0;
        for (std::size_t at = l.find(what); at != std::string::npos; at = l.find(what, at + 1)) ++n;
        return n;
    };
    // Held and retried several times.
    ASSERT_TRUE(eventually([&] { return count("notauth_badsig") >= 3 && count("; retrying in ") >= 3; })) << slurp(log_);
    EXPECT_NE(slurp(log_).find("notauth_badsig"), std::string::npos);
    EXPECT_EQ(spool_files(db_->spool()), 22u);  // held, not dropped
    EXPECT_TRUE(ns_->dig("k0.example.test", "A").empty());
    EXPECT_FALSE(std::filesystem::exists(db_->spool() / "quarantine") &&
                 !std::filesystem::is_empty(db_->spool() / "quarantine"));
    // Fix the key file: rowcast-dns reads it again after an authentication failure.
    std::filesystem::copy_file(ns_->key_file(), key, std::filesystem::copy_options::overwrite_existing);
    ASSERT_TRUE(eventually([&] { return drained(); })) << slurp(log_);
    EXPECT_EQ(ns_->dig("k19.example.test", "A"), std::vector<std::string>{"192.0.2.20"});
    EXPECT_EQ(ns_->dig("1.2.0.192.in-addr.arpa", "PTR"), std::vector<std::string>{"k0.example.test."});
    EXPECT_EQ(stop_dns(SIGTERM), 0);
    // Each bad row once: two events, two reasons.
    std::vector<std::string> events, reasons;
    for (const auto& f : std::filesystem::directory_iterator(db_->spool() / "quarantine"))
        (f.path().extension() == ".reason" ? reasons : events).push_back(slurp(f.path()));
    EXPECT_EQ(events.size(), 2u);
    ASSERT_EQ(reasons.size(), 2u);
    std::sort(reasons.begin(), reasons.end());
    EXPECT_NE(reasons[0].find("[rowcast.dns.invalid_address]"), std::string::npos) << reasons[0];
    EXPECT_NE(reasons[1].find("[rowcast.dns.invalid_name] host 'bad host'"), std::string::npos) << reasons[1];
    EXPECT_EQ(count("quarantined "), 2u) << slurp(log_);
}

// Why the transactional mode exists: in the plain mode a rolled-back INSERT still reaches the zone.
TEST_F(DnsEndToEnd, PlainModeInventsARecordOnRollback) {
    start_dns(write_config(db_->server().dir(), *ns_, ns_->key_file(), db_->spool()));
    auto c = db_->connect();
    c.query("BEGIN");
    c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '10.9.0.1', 'never-committed')");
    c.query("ROLLBACK");
    c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '10.9.0.2', 'committed')");
    ASSERT_TRUE(eventually([&] { return drained(); })) << slurp(log_);
    EXPECT_EQ(c.scalar("SELECT COUNT(*) FROM inventory.hosts WHERE hostname = 'never-committed'"), "0");
    EXPECT_EQ(ns_->dig("never-committed.example.test", "A"), std::vector<std::string>{"10.9.0.1"});  // invented
    EXPECT_EQ(ns_->dig("committed.example.test", "A"), std::vector<std::string>{"10.9.0.2"});
}

// rowcast-dns's outbox options: a table that does not exist ends it at start (exit 1, the reason);
// connection options without --outbox and a name that is not SCHEMA.TABLE are usage errors.
TEST_F(DnsEndToEnd, OutboxOptionsAreChecked) {
    const auto cfg = write_config(db_->server().dir(), *ns_, ns_->key_file(), db_->spool());
    const std::string sock = db_->server().socket().string();
    auto [rc, out] = run_dns({"--outbox", "inventory.nope", "-S", sock, "-u", "root", cfg}, db_->server().dir());
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find("[rowcast.outbox.not_found]"), std::string::npos) << out;
    std::tie(rc, out) = run_dns({"-S", sock, cfg}, db_->server().dir());
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("the connection options are for --outbox"), std::string::npos) << out;
    std::tie(rc, out) = run_dns({"--outbox", "rowcast_outbox", "-S", sock, cfg}, db_->server().dir());
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("expected SCHEMA.TABLE"), std::string::npos) << out;
}

// Issue 19 item 12: the trigger path in transactional mode (rowcast-triggers --transactional,
// rowcast-dns --outbox). 4 connections run multi-statement transactions on a small set of rows
// (inserts, renames, address moves, deletes), so deadlocks happen (error 1213, counted; one is
// also made on purpose), a fifth of them roll back on purpose, duplicate inserts fail single
// statements, and mariadbd is killed with SIGKILL half way and started again (the transactions
// in flight roll back at recovery). Thousands of statements; at the end the zone equals the table:
// 0 missing, 0 invented, 0 wrong. Their events were all in the spool: the gate dropped the
// rolled-back ones. rowcast-dns is killed with SIGKILL once too.
namespace outbox_load {

struct counts {
    std::atomic<int> statements{0}, commits{0}, rollbacks{0}, deadlocks{0}, lock_timeouts{0}, duplicates{0},
        reconnects{0};
};

bool connection_lost(unsigned code) { return code == 0 || code >= 2000 || code == 1053 || code == 1927 || code == 1152; }

std::string name_of(int id, int rev) { return "x" + std::to_string(id) + "r" + std::to_string(rev); }
std::string ip_of(int id, int side) {
    return "10." + std::to_string(3 + side) + "." + std::to_string(id / 250) + "." + std::to_string(id % 250 + 1);
}

// One connection's work: `txns` transactions of 2-4 statements on ids 1..`ids`.
void worker(const rowcast::test::db_connect_options& o, unsigned seed, int txns, int ids, counts& n, std::string& failure) {
    std::mt19937 rng(seed);
    std::unique_ptr<rowcast::test::db_connection> c;
    auto reconnect = [&] {
        for (int i = 0; i < 1200; ++i) {  // liveness guard: ~120 s
            try {
                c = std::make_unique<rowcast::test::db_connection>(o);
                return;
            } catch (const rowcast::test::db_error&) {
                ::usleep(100000);
            }
        }
        throw std::runtime_error("cannot reconnect");
    };
    try {
        reconnect();
        for (int t = 0; t < txns; ++t) {
            try {
                c->query("BEGIN");
                const int k = 2 + static_cast<int>(rng() % 3);
                for (int s = 0; s < k; ++s) {
                    const int id = 1 + static_cast<int>(rng() % static_cast<unsigned>(ids));
                    const int rev = static_cast<int>(rng() % 1000);
                    std::string q;
                    switch (rng() % 4) {
                        case 0:
                            q = "INSERT INTO inventory.hosts (id, mac, ip, hostname) VALUES (" + std::to_string(id) +
                                ", NULL, '" + ip_of(id, rev % 2) + "', '" + name_of(id, rev) + "')";
                            break;
                        case 1: q = "UPDATE inventory.hosts SET hostname = '" + name_of(id, rev) + "' WHERE id = " + std::to_string(id); break;
                        case 2: q = "UPDATE inventory.hosts SET ip = '" + ip_of(id, rev % 2) + "' WHERE id = " + std::to_string(id); break;
                        default: q = "DELETE FROM inventory.hosts WHERE id = " + std::to_string(id); break;
                    }
                    ++n.statements;
                    try {
                        c->query(q);
                    } catch (const rowcast::test::db_error& e) {
                        if (e.code() != 1062) throw;  // a duplicate key fails the statement only
                        ++n.duplicates;
                    }
                }
                if (rng() % 5 == 0) {
                    c->query("ROLLBACK");
                    ++n.rollbacks;
                } else {
                    c->query("COMMIT");
                    ++n.commits;
                }
            } catch (const rowcast::test::db_error& e) {
                if (e.code() == 1213) {
                    ++n.deadlocks;  // the server rolled the transaction back
                } else if (e.code() == 1205) {
                    ++n.lock_timeouts;
                    c->query("ROLLBACK");
                } else if (connection_lost(e.code())) {
                    ++n.reconnects;
                    reconnect();
                } else {
                    throw;
                }
            }
        }
    } catch (const std::exception& e) {
        failure = e.what();
    }
}

}  // namespace outbox_load

TEST_F(DnsEndToEnd, TransactionalModeZoneEqualsTableThroughRollbacksDeadlocksAndAServerKill) {
    auto tool = rowcast::test::run_triggers_tool(
        {"--socket", db_->server().socket().string(), "-u", "root", "--apply", "--transactional", "inventory"},
        db_->server().dir());
    ASSERT_EQ(tool.exit_code, 0) << tool.err;
    const auto cfg = write_config(db_->server().dir(), *ns_, ns_->key_file(), db_->spool());
    dns_ = start_rowcast_dns({"--outbox", "inventory.rowcast_outbox", "--socket", db_->server().socket().string(), "-u",
                              "root", cfg},
                             log_);
    constexpr int ids = 40, txns = 320;
    {
        auto c = db_->connect();
        for (int id = 1; id <= ids; ++id)
            c.query("INSERT INTO inventory.hosts (id, mac, ip, hostname) VALUES (" + std::to_string(id) + ", NULL, '" +
                    outbox_load::ip_of(id, 0) + "', '" + outbox_load::name_of(id, 0) + "')");
    }
    outbox_load::counts n;
    {
        // One deadlock for sure: a and b lock rows 1 and 2, then each wants the other's.
        auto a = db_->connect(), b = db_->connect();
        a.query("BEGIN");
        b.query("BEGIN");
        a.query("UPDATE inventory.hosts SET hostname = 'dla' WHERE id = 1");
        b.query("UPDATE inventory.hosts SET hostname = 'dlb' WHERE id = 2");
        unsigned a_code = 0;
        std::thread t([&] {
            try {
                a.query("UPDATE inventory.hosts SET hostname = 'dla' WHERE id = 2");
            } catch (const rowcast::test::db_error& e) {
                a_code = e.code();
            }
        });
        ::usleep(200000);  // a waits for b's lock (if b comes first, b waits and a's wait is the deadlock)
        unsigned b_code = 0;
        try {
            b.query("UPDATE inventory.hosts SET hostname = 'dlb' WHERE id = 1");
        } catch (const rowcast::test::db_error& e) {
            b_code = e.code();
        }
        if (b_code == 1213) b.query("ROLLBACK");  // b is the victim: a goes on and gets row 2
        t.join();
        ASSERT_TRUE(a_code == 1213 || b_code == 1213) << a_code << " " << b_code;
        n.deadlocks += 1;
        a.query("ROLLBACK");
        if (b_code != 1213) b.query("ROLLBACK");
    }
    std::string failures[4];
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < 4; ++w)
        workers.emplace_back(outbox_load::worker, db_->server().socket_options(), 1000 + w, txns, ids, std::ref(n),
                             std::ref(failures[w]));
    // mariadbd killed half way and started again.
    ASSERT_TRUE(eventually([&] { return n.statements.load() >= 4 * txns * 3 / 2; })) << n.statements.load();
    db_->server().kill(SIGKILL);
    db_->server().restart();
    // rowcast-dns killed too, later: its last batch comes again, the rows it had not removed stay.
    ASSERT_TRUE(eventually([&] { return n.statements.load() >= 4 * txns * 3 * 3 / 4; })) << n.statements.load();
    EXPECT_EQ(stop_dns(SIGKILL), 128 + SIGKILL);
    dns_ = start_rowcast_dns({"--outbox", "inventory.rowcast_outbox", "--socket", db_->server().socket().string(), "-u",
                              "root", cfg},
                             log_);
    for (auto& t : workers) t.join();
    for (const auto& f : failures) ASSERT_TRUE(f.empty()) << f;
    std::printf("workload: %d statements, %d commits, %d rollbacks, %d deadlocks (1213), %d lock timeouts, %d duplicate "
                "keys, %d reconnects\n",
                n.statements.load(), n.commits.load(), n.rollbacks.load(), n.deadlocks.load(), n.lock_timeouts.load(),
                n.duplicates.load(), n.reconnects.load());
    EXPECT_GE(n.statements.load(), 2000);
    EXPECT_GE(n.deadlocks.load(), 1);
    EXPECT_GE(n.rollbacks.load(), 1);
    EXPECT_GE(n.reconnects.load(), 1);
    ASSERT_TRUE(eventually([&] { return drained(); })) << slurp(log_);

    // The zone equals the table: nothing missing, invented or wrong.
    std::vector<std::string> fwd, rev10, rev6;
    expected_zone(fwd, rev10, rev6);
    std::vector<std::string> zone_fwd;
    for (auto& l : ns_->axfr("example.test"))
        if (l.rfind("ns.example.test.", 0) != 0) zone_fwd.push_back(l);
    const auto zone_rev = ns_->axfr("10.in-addr.arpa");
    auto diff = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
        std::vector<std::string> out;
        std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
        return out;
    };
    std::sort(zone_fwd.begin(), zone_fwd.end());
    EXPECT_EQ(diff(fwd, zone_fwd), std::vector<std::string>{}) << "missing from the zone";
    EXPECT_EQ(diff(zone_fwd, fwd), std::vector<std::string>{}) << "invented or wrong in the zone";
    EXPECT_EQ(diff(rev10, zone_rev), std::vector<std::string>{}) << "PTRs missing";
    EXPECT_EQ(diff(zone_rev, rev10), std::vector<std::string>{}) << "PTRs invented or wrong";
    EXPECT_FALSE(fwd.empty());

    // SIGTERM: the gate removes the rows of what it applied; it dropped the rolled-back events. Rows
    // of the batch the killed rowcast-dns applied last (at most max_batch = 500) may be left.
    EXPECT_EQ(stop_dns(SIGTERM), 0);
    const std::string log = slurp(log_);
    const auto at = log.find("outbox: ");
    ASSERT_NE(at, std::string::npos) << log;
    std::printf("rowcast-dns %s\n", log.substr(at, log.find('\n', at) - at).c_str());
    EXPECT_EQ(log.find("outbox: 0 committed"), std::string::npos) << log;
    EXPECT_EQ(log.find(", 0 rolled back"), std::string::npos) << log;
    EXPECT_NE(log.find(" 0 without an outbox id"), std::string::npos) << log;
    const auto left = std::stoul(db_->connect().scalar("SELECT COUNT(*) FROM inventory.rowcast_outbox").value_or("0"));
    EXPECT_LE(left, 500u);
    std::printf("outbox rows left by the killed rowcast-dns: %lu\n", left);
}

// A measurement, not a timed assertion: the delay from an INSERT's COMMIT (autocommit) to the
// name resolving at named, at a steady 200 inserts/s for 5 s, printed and recorded as properties.
TEST_F(DnsEndToEnd, DelayFromCommitToResolvingAt200PerSecond) {
    const auto cfg = write_config(db_->server().dir(), *ns_, ns_->key_file(), db_->spool());
    start_dns(cfg);
    constexpr int rate = 200, total = 1000;
    using clk = std::chrono::steady_clock;
    std::vector<clk::time_point> committed(total);
    std::atomic<int> done{0};
    std::string writer_error;
    std::thread writer([&] {
        try {
            auto c = db_->connect();
            const auto start = clk::now();
            for (int i = 0; i < total; ++i) {
                std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / rate));
                c.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '10.3." + std::to_string(i / 250) +
                        "." + std::to_string(i % 250 + 1) + "', 'lat" + std::to_string(i) + "')");
                committed[static_cast<std::size_t>(i)] = clk::now();
                done.store(i + 1, std::memory_order_release);
            }
        } catch (const std::exception& e) {
            writer_error = e.what();
            done.store(total, std::memory_order_release);
        }
    });
    rowcast::dns::client_options co;
    co.port = static_cast<std::uint16_t>(ns_->port());
    rowcast::dns::client q(co);
    std::vector<double> ms;
    bool stuck = false;
    for (int i = 0; i < total && !stuck; ++i) {
        while (done.load(std::memory_order_acquire) <= i) std::this_thread::sleep_for(std::chrono::microseconds(100));
        if (!writer_error.empty()) break;
        const std::string name = "lat" + std::to_string(i) + ".example.test";
        const auto give_up = clk::now() + std::chrono::seconds(120);  // liveness guard only
        for (;;) {
            auto r = q.lookup(name, rowcast::dns::rr_type::a);
            if (r && !r->empty()) break;
            if (clk::now() > give_up) {
                stuck = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - committed[static_cast<std::size_t>(i)]).count());
    }
    writer.join();
    ASSERT_TRUE(writer_error.empty()) << writer_error;
    ASSERT_FALSE(stuck) << slurp(log_);
    ASSERT_EQ(ms.size(), static_cast<std::size_t>(total));
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2], p99 = ms[ms.size() * 99 / 100];
    std::printf("delay INSERT commit -> name resolves at named, %d inserts/s: median %.2f ms, p99 %.2f ms, max %.2f ms\n",
                rate, median, p99, ms.back());
    RecordProperty("median_ms", std::to_string(median));
    RecordProperty("p99_ms", std::to_string(p99));
}

// A measurement (not run by default: ~60 s; run it with --gtest_also_run_disabled_tests
// --gtest_filter='*TransactionalModeCost*'), not a timed assertion: the plain and the transactional
// trigger path side by side on the same servers, in 3 alternating rounds (the machine is shared:
// single figures are noisy; the medians are printed at the end). Per mode: inserts/s of one connection (autocommit,
// one row each: the trigger's work), events/s through rowcast-dns from a full spool (files to
// signed updates), and the delay from COMMIT to the name resolving at 200 inserts/s.
TEST_F(DnsEndToEnd, DISABLED_TransactionalModeCostAgainstPlain) {
    using clk = std::chrono::steady_clock;
    const auto cfg = write_config(db_->server().dir(), *ns_, ns_->key_file(), db_->spool());
    rowcast::dns::client_options co;
    co.port = static_cast<std::uint16_t>(ns_->port());
    rowcast::dns::client q(co);
    auto c = db_->connect();
    int next = 0;  // row number: names and addresses never repeat across phases
    auto insert = [&](rowcast::test::db_connection& conn) {
        const int i = next++;
        conn.query("INSERT INTO inventory.hosts (mac, ip, hostname) VALUES (NULL, '10." + std::to_string(3 + i / 62500) +
                   "." + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250 + 1) + "', 'c" + std::to_string(i) + "')");
        return "c" + std::to_string(i) + ".example.test";
    };
    std::map<std::string, std::vector<double>> figures;  // "<mode> <what>" -> one value per round
    for (int round = 0; round < 6; ++round) {
        const bool transactional = round % 2 == 1;
        const std::string mode = transactional ? "transactional" : "plain";
        std::vector<std::string> targs = {"--socket", db_->server().socket().string(), "-u", "root", "--apply"};
        if (transactional) targs.push_back("--transactional");
        targs.insert(targs.end(), {"inventory", "hosts"});
        auto tool = rowcast::test::run_triggers_tool(targs, db_->server().dir());
        ASSERT_EQ(tool.exit_code, 0) << tool.err;
        std::vector<std::string> args = {cfg};
        if (transactional)
            args = {"--outbox", "inventory.rowcast_outbox", "--socket", db_->server().socket().string(), "-u", "root", cfg};
        // Producer: 2,000 single-row autocommit inserts, rowcast-dns not running.
        constexpr int burst = 2000;
        auto t0 = clk::now();
        for (int i = 0; i < burst; ++i) insert(c);
        const double ins_s = std::chrono::duration<double>(clk::now() - t0).count();
        // Consumer: the full spool through rowcast-dns.
        t0 = clk::now();
        dns_ = start_rowcast_dns(args, log_);
        ASSERT_TRUE(eventually([&] { return drained(); })) << slurp(log_);
        const double drain_s = std::chrono::duration<double>(clk::now() - t0).count();
        // Delay at 200 inserts/s: commit -> the name resolves.
        std::vector<double> ms;
        const auto start = clk::now();
        for (int i = 0; i < 600; ++i) {
            std::this_thread::sleep_until(start + std::chrono::microseconds(5000LL * i));
            const std::string name = insert(c);
            const auto committed = clk::now();
            const auto give_up = committed + std::chrono::seconds(60);  // liveness guard only
            for (;;) {
                auto r = q.lookup(name, rowcast::dns::rr_type::a);
                if (r && !r->empty()) break;
                ASSERT_LT(clk::now(), give_up) << slurp(log_);
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
            ms.push_back(std::chrono::duration<double, std::milli>(clk::now() - committed).count());
        }
        std::sort(ms.begin(), ms.end());
        std::printf("%s: %.0f inserts/s (1 connection, autocommit, trigger included); rowcast-dns drained %d events "
                    "in %.2f s = %.0f events/s; delay commit -> resolves at 200/s: median %.2f ms, p99 %.2f ms\n",
                    mode.c_str(), burst / ins_s, burst, drain_s, burst / drain_s, ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
        figures[mode + " inserts/s"].push_back(burst / ins_s);
        figures[mode + " events/s"].push_back(burst / drain_s);
        figures[mode + " delay median ms"].push_back(ms[ms.size() / 2]);
        figures[mode + " delay p99 ms"].push_back(ms[ms.size() * 99 / 100]);
        EXPECT_EQ(stop_dns(SIGTERM), 0);
    }
    for (auto& [what, v] : figures) {
        std::sort(v.begin(), v.end());
        std::printf("median of %zu rounds, %s: %.2f\n", v.size(), what.c_str(), v[v.size() / 2]);
    }
    // The gate alone: 20,000 committed outbox rows, their events through the gate in batches of
    // 500 onto a sink that does nothing (one lookup and one delete per batch).
    c.query("INSERT INTO inventory.rowcast_outbox (id) SELECT seq FROM inventory.seq_1_to_20000");
    std::vector<rowcast::event> events(20000);
    for (std::size_t i = 0; i < events.size(); ++i) events[i].transaction.id = "outbox:" + std::to_string(i + 1);
    rowcast::udf::mariadb_outbox store({.socket = db_->server().socket().string(), .user = "root", .schema = "inventory"});
    rowcast::callback_sink none([](std::span<const rowcast::event>) {});
    rowcast::udf::outbox_gate gate(store, none);
    const auto g0 = clk::now();
    for (std::size_t i = 0; i < events.size(); i += 500)
        ASSERT_TRUE(gate.write(std::span<const rowcast::event>(events).subspan(i, 500)));
    ASSERT_TRUE(gate.flush());
    const double gate_s = std::chrono::duration<double>(clk::now() - g0).count();
    EXPECT_EQ(gate.stats().committed, 20000u);
    std::printf("the gate alone: 20000 events in %.3f s = %.0f events/s (batches of 500: lookup + delete)\n", gate_s,
                20000 / gate_s);
}

}  // namespace
