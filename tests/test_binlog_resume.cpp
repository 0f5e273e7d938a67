// Issue 5 "Resume": `rowcast-binlog --spool DIR --checkpoint FILE` follows a
// private MariaDB while a workload of many small transactions runs; it is killed
// with SIGKILL at random moments and restarted from its checkpoint each time. In
// the end the spool holds every committed transaction's events exactly once, in
// commit order, whole, and nothing of the rolled-back ones (label "mariadb"), with
// file+offset positions and with GTID positions.
#include "support/mariadb_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <rowcast/codec/binary.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace rowcast;
using namespace std::chrono_literals;
using rowcast::test::mariadb_server;
using rowcast::test::process;

namespace {

/// One unit the spool must hold: a committed transaction of app.t (its number and
/// the row operations "i<k>" / "u<k>" in order) or a standalone DDL.
struct unit {
    std::string what;  // "txn 12: i1 i2 u1" or "ddl CREATE TABLE d40 (a INT)"
    friend bool operator==(const unit&, const unit&) = default;
    friend std::ostream& operator<<(std::ostream& o, const unit& u) { return o << u.what; }
};

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::int64_t int_at(const std::vector<value>& image, std::size_t i) {
    if (i >= image.size()) return -1;
    if (auto* v = std::get_if<std::int64_t>(&image[i])) return *v;
    if (auto* u = std::get_if<std::uint64_t>(&image[i])) return static_cast<std::int64_t>(*u);
    return -1;
}

/// Reads the spool (published files in name order) into units; structural faults
/// (a row outside a transaction, a transaction cut short, mixed transaction numbers,
/// a rollback) are reported as failures.
std::vector<unit> read_spool(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        const std::string n = f.path().filename().string();
        if (f.is_regular_file() && n[0] != '.') names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    std::vector<unit> out;
    binary_codec codec;
    bool open = false;
    std::int64_t txn = -1;
    std::string ops;
    for (const auto& n : names) {
        event e;
        const std::string bytes = slurp(dir / n);
        auto r = codec.decode(bytes, e);
        EXPECT_TRUE(r) << n << ": " << (r ? "" : r.error_value().message);
        if (!r) continue;
        switch (e.kind) {
            case event_kind::begin:
                EXPECT_FALSE(open) << n << ": begin inside an open transaction (a transaction cut short)";
                open = true;
                txn = -1;
                ops.clear();
                break;
            case event_kind::commit:
                EXPECT_TRUE(open) << n << ": commit without begin";
                if (txn >= 0) out.push_back({"txn " + std::to_string(txn) + ":" + ops});
                open = false;
                break;
            case event_kind::rollback:
                ADD_FAILURE() << n << ": rollback event in the spool (" << e.statement << ")";
                open = false;
                break;
            case event_kind::ddl:
                EXPECT_FALSE(open) << n << ": DDL inside a transaction";
                if (e.statement.find("CREATE TABLE d") != std::string::npos) out.push_back({"ddl " + e.statement});
                break;
            default: {  // rows
                EXPECT_TRUE(open) << n << ": row event outside a transaction";
                if (e.schema != "app" || e.table != "t") break;
                const auto& img = e.kind == event_kind::delete_ ? e.before : e.after;
                const std::int64_t t = int_at(img, 0);
                if (txn >= 0) {
                    EXPECT_EQ(t, txn) << n << ": rows of two transactions in one";
                }
                txn = t;
                ops += (e.kind == event_kind::insert ? " i" : e.kind == event_kind::update ? " u" : " d") +
                       std::to_string(int_at(img, 1));
                break;
            }
        }
    }
    EXPECT_FALSE(open) << "the spool ends inside a transaction";
    return out;
}

std::size_t staged_files(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        const std::string name = f.path().filename().string();
        if (name.starts_with(".stage-") && !name.ends_with(".lock")) ++n;
    }
    return n;
}

// `mode_args`: extra rowcast-binlog options selecting the position mode.
void kill9_resume(const std::vector<std::string>& mode_args) {
    mariadb_server server;
    auto root = server.connect();
    root.query("CREATE USER repl@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')");
    root.query("GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO repl@'%'");
    root.query("CREATE DATABASE app");
    root.query("CREATE TABLE app.t (txn INT NOT NULL, k INT NOT NULL, note VARCHAR(40), PRIMARY KEY (txn, k)) "
               "ENGINE=InnoDB");

    const auto work = server.dir() / "follower";
    const auto spool = work / "spool";
    std::filesystem::create_directories(spool);
    const auto checkpoint = work / "checkpoint";
    const auto log = work / "rowcast-binlog.log";
    auto start_follower = [&](bool stop_at_end) {
        std::vector<std::string> a = {ROWCAST_BINLOG_EXE, "--host", "127.0.0.1", "--port", std::to_string(server.port()),
                                      "--user", "repl", "--password", "pw", "--heartbeat-ms", "200", "--codec",
                                      "binary", "--spool", spool.string(), "--checkpoint", checkpoint.string()};
        a.insert(a.end(), mode_args.begin(), mode_args.end());
        if (stop_at_end) a.push_back("--stop-at-end");
        return process::start({a, {}, log, {}});
    };

    // The workload: transactions 1..total, each inserting 1-3 rows (txn, k) and some
    // updating one; every 9th is rolled back; every 50th is followed by a DDL.
    constexpr int total = 600;
    std::vector<unit> expected;
    std::atomic<bool> workload_done{false};
    std::thread workload([&] {
        auto c = server.connect("app");
        for (int txn = 1; txn <= total; ++txn) {
            const int rows = 1 + txn % 3;
            std::string sql = "BEGIN; INSERT INTO t VALUES ";
            std::string ops;
            for (int k = 1; k <= rows; ++k) {
                sql += (k > 1 ? ", (" : "(") + std::to_string(txn) + ", " + std::to_string(k) + ", 'n')";
                ops += " i" + std::to_string(k);
            }
            sql += ";";
            if (txn % 4 == 0) {
                sql += " UPDATE t SET note = 'updated' WHERE txn = " + std::to_string(txn) + " AND k = 1;";
                ops += " u1";
            }
            const bool rollback = txn % 9 == 0;
            sql += rollback ? " ROLLBACK" : " COMMIT";
            c.query(sql);
            if (!rollback) expected.push_back({"txn " + std::to_string(txn) + ":" + ops});
            if (txn % 50 == 0) {
                const std::string ddl = "CREATE TABLE d" + std::to_string(txn) + " (a INT)";
                c.query(ddl);
                expected.push_back({"ddl " + ddl});
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(txn % 5));
        }
        workload_done = true;
    });

    // Kill the follower at random moments while the workload runs (and a few times after).
    std::mt19937 rng(5150);
    int kills = 0, kills_during_workload = 0;
    while (!workload_done || kills < 8) {
        if (!workload_done) ++kills_during_workload;
        auto f = start_follower(false);
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 700)(rng)));
        f.signal(SIGKILL);
        const int status = f.wait();
        if (status != 128 + SIGKILL) {
            ADD_FAILURE() << "rowcast-binlog exited by itself with " << status << ":\n" << slurp(log);
            break;
        }
        ++kills;
        ASSERT_LT(kills, 200) << "liveness guard";
    }
    workload.join();

    // A last run to the end of the binlog.
    auto f = start_follower(true);
    const auto status = f.wait_for(600s);  // liveness guard, not a timing assertion
    ASSERT_TRUE(status.has_value()) << "rowcast-binlog --stop-at-end did not finish:\n" << slurp(log);
    ASSERT_EQ(*status, 0) << slurp(log);

    const auto got = read_spool(spool);
    EXPECT_EQ(staged_files(spool), 0u);
    ASSERT_EQ(got.size(), expected.size()) << "rowcast-binlog log:\n" << slurp(log);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "unit " << i;
    EXPECT_GT(kills_during_workload, 0);
    // How often a restart found staged files (published: killed between checkpoint and publication;
    // removed: killed before the checkpoint). Informational: where a kill lands is random.
    const std::string text = slurp(log);
    std::size_t recoveries = 0;
    for (auto at = text.find("spool recovery"); at != std::string::npos; at = text.find("spool recovery", at + 1))
        ++recoveries;
    std::printf("%d kills (%d while the workload ran), %zu restarts recovered staged files; "
                "%zu transactions and DDLs delivered exactly once\n",
                kills, kills_during_workload, recoveries, got.size());
    if (!mode_args.empty()) {  // GTID mode: the checkpoint holds the GTID state
        const std::string cp = slurp(checkpoint);
        EXPECT_NE(cp.find("\ngtid=0-101-"), std::string::npos) << cp;
    }
}

// File + offset positions (the follower starts at the oldest binlog).
TEST(BinlogResume, Kill9MidStreamEveryCommittedTransactionOnceInOrder) { kill9_resume({}); }

// GTID positions: an empty start state means "from the oldest binlog, in GTID mode".
TEST(BinlogResume, Kill9MidStreamInGtidMode) { kill9_resume({"--gtid", ""}); }

}  // namespace
