// Database sink benchmark (issue 20 §6): source changes applied per second by
// rowcast::sql::sink (replicate mode) against the destination's own rate for the same
// statements sent by a plain client, measured in the same run on the same servers.
//
// Setup (not timed): two private MariaDB servers (tests/support/mariadb_server.hpp); on
// the source, N single-row transactions on app.t (id INT PK, a INT, s VARCHAR(40),
// d DOUBLE): 60% INSERT, 30% UPDATE, 10% DELETE, each statement also kept as text.
// VsPlainClient, per iteration (each on a fresh destination database holding the empty table;
// the sink opened before the clock starts):
//   - plain:    the N statements sent to the destination by one libmariadb client,
//               autocommit (one transaction each, as on the source): the baseline;
//   - batch1:   a binlog::follower from the start of the source's binlog (stop_at_end)
//               into sql::sink, one destination transaction per source transaction;
//   - batch100: the same with batch_transactions = 100.
// Counters: <x>_changes_per_s and ratio_<x> = <x> / plain (issue 20's target with
// batching: ratio_batch100 >= 0.5). The sink side includes reading and decoding the binlog.
// `--smoke`: N = 300 (ctest bench.sql_sink.smoke; never a timing threshold);
// ROWCAST_BENCH_SQL_EVENTS overrides N. The run exits 1 if a destination table differs
// from the source's (row count and a checksum).
#include <rowcast/binlog/follower.hpp>
#include <rowcast/sql/sink.hpp>

#include "bench_main.hpp"
#include "support/mariadb_server.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <stop_token>
#include <string>
#include <vector>

namespace {

using rowcast::test::mariadb_server;
using clock_type = std::chrono::steady_clock;

struct setup {
    std::unique_ptr<mariadb_server> source, dest;
    std::vector<std::string> statements;
    std::string checksum;
};

std::size_t events = 20000;
std::unique_ptr<setup> world;  // lives until exit

std::string table_checksum(rowcast::test::db_connection& c, const std::string& table) {
    return c.scalar("SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CRC32(CONCAT_WS('|', id, a, s, d))), 0)) FROM " + table)
        .value_or("");
}

void make_world() {
    world = std::make_unique<setup>();
    world->source = std::make_unique<mariadb_server>();
    world->dest = std::make_unique<mariadb_server>(rowcast::test::mariadb_server_options{.binlog = false});
    auto c = world->source->connect();
    c.query("CREATE USER repl@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')");
    c.query("GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO repl@'%'");
    c.query("CREATE DATABASE app CHARACTER SET utf8mb4");
    const std::string create = "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT, s VARCHAR(40), d DOUBLE) ENGINE=InnoDB";
    c.query("USE app");
    c.query(create);
    world->statements.push_back(create);
    std::mt19937 rng(7);
    std::vector<int> live;
    int next = 1;
    for (std::size_t i = 0; i < events; ++i) {
        const unsigned dice = rng() % 10;
        std::string sql;
        if (dice < 6 || live.empty()) {
            sql = "INSERT INTO t VALUES (" + std::to_string(next) + ", " + std::to_string(rng() % 100000) + ", 'row " +
                  std::to_string(next) + "', " + std::to_string(rng() % 1000) + ".125)";
            live.push_back(next++);
        } else if (dice < 9) {
            sql = "UPDATE t SET a = a + 1, s = 'updated' WHERE id = " + std::to_string(live[rng() % live.size()]);
        } else {
            const std::size_t at = rng() % live.size();
            sql = "DELETE FROM t WHERE id = " + std::to_string(live[at]);
            live.erase(live.begin() + static_cast<std::ptrdiff_t>(at));
        }
        c.query(sql);
        world->statements.push_back(sql);
    }
    world->checksum = table_checksum(c, "app.t");
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// The destination's own rate: the statements from one plain client, autocommit.
double run_plain(rowcast::test::db_connection& d) {
    d.query("DROP DATABASE IF EXISTS plain");
    d.query("CREATE DATABASE plain CHARACTER SET utf8mb4");
    d.query("USE plain");
    d.query(world->statements[0]);
    const auto t0 = clock_type::now();
    for (std::size_t i = 1; i < world->statements.size(); ++i) d.query(world->statements[i]);
    const double s = seconds_since(t0);
    if (table_checksum(d, "plain.t") != world->checksum) {
        std::fprintf(stderr, "plain client: the destination differs from the source\n");
        std::exit(1);
    }
    return s;
}

// The sink: a follower from the start of the source's binlog, stop at its end.
double run_sink(rowcast::test::db_connection& d, std::size_t batch) {
    const std::string db = "sink" + std::to_string(batch);
    d.query("DROP DATABASE IF EXISTS " + db);  // the same start as the plain client's: database and table exist
    d.query("CREATE DATABASE " + db + " CHARACTER SET utf8mb4");
    d.query("USE " + db);
    d.query(world->statements[0]);
    rowcast::sql::sink_options so;
    so.connection.socket = world->dest->socket().string();
    so.connection.user = "root";
    so.database = db;
    so.mode = rowcast::sql::sink_mode::replicate;
    so.batch_transactions = batch;
    rowcast::binlog::follower_options fo;
    fo.stream.connection.host = "127.0.0.1";
    fo.stream.connection.port = static_cast<std::uint16_t>(world->source->port());
    fo.stream.connection.user = "repl";
    fo.stream.connection.password = "pw";
    fo.stream.server_id = 90;
    fo.stream.stop_at_end = true;
    auto sink = rowcast::sql::sink::open(so);  // connects, creates the state table
    if (!sink) {
        std::fprintf(stderr, "%s\n", sink.error_value().message.c_str());
        std::exit(1);
    }
    const auto t0 = clock_type::now();
    rowcast::binlog::follower f(fo);
    std::stop_source stop;
    auto r = f.run(*sink, stop.get_token());
    if (r) r = sink->flush();
    const double s = seconds_since(t0);
    if (!r) {
        std::fprintf(stderr, "%s\n", r.error_value().message.c_str());
        std::exit(1);
    }
    if (table_checksum(d, db + ".t") != world->checksum) {
        std::fprintf(stderr, "sink (batch %zu): the destination differs from the source\n", batch);
        std::exit(1);
    }
    return s;
}

void VsPlainClient(benchmark::State& state) {
    auto d = world->dest->connect();
    double plain = 0, b1 = 0, b100 = 0;
    for (auto _ : state) {
        plain += run_plain(d);
        b1 += run_sink(d, 1);
        b100 += run_sink(d, 100);
    }
    const double n = static_cast<double>(events) * static_cast<double>(state.iterations());
    state.counters["plain_changes_per_s"] = n / plain;
    state.counters["batch1_changes_per_s"] = n / b1;
    state.counters["batch100_changes_per_s"] = n / b100;
    state.counters["ratio_batch1"] = plain / b1;
    state.counters["ratio_batch100"] = plain / b100;
}
BENCHMARK(VsPlainClient)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
    auto s = rowcast::bench::parse_run(argc, argv, "ROWCAST_BENCH_SQL_EVENTS", 20000, 0);
    events = s.events;
    make_world();
    rowcast::bench::run_registered(s);
    return 0;
}
