// Snapshots (issue 16) against private MariaDB servers (label "mariadb"):
//  - every column type: a row's values are the same read by the snapshot and decoded from
//    the binlog;
//  - the initial snapshot joined to the stream while writers insert, update and delete
//    concurrently: the consumer's state equals a SELECT of every table at the end;
//  - kill -9 of rowcast-binlog --snapshot initial --spool in the middle of the snapshot:
//    the spool holds every chunk once and the final state equals the tables;
//  - rowcast-binlog --snapshot initial --sink: the destination table equals the source;
//  - the incremental snapshot while streaming (DBLog watermarks): asked by a signal row,
//    with rows of the chunk changed inside its window and writers around it; asked on the
//    command line with kill -9 during it: the consumer's state equals a SELECT.
#include "support/mariadb_every_type.hpp"
#include "support/mariadb_server.hpp"
#include "support/mysql_auth_server.hpp"  // test_certificates
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <rowcast/binlog/mariadb_schema_provider.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/snapshot/source.hpp>
#include <rowcast/transport/spool_sink.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace rowcast;
using namespace std::chrono_literals;
using rowcast::test::db_connection;
using rowcast::test::mariadb_server;

namespace {

class Snapshot : public ::testing::Test {
protected:
    mariadb_server server_;
    db_connection root_ = server_.connect();

    void SetUp() override {
        root_.query("CREATE USER cdc@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('pw')");
        root_.query("GRANT ALL ON *.* TO cdc@'%'");
    }

    mysql::connect_options query_conn() const {
        mysql::connect_options c;
        c.host = "127.0.0.1";
        c.port = static_cast<std::uint16_t>(server_.port());
        c.user = "cdc";
        c.password = "pw";
        return c;
    }
    snapshot::source_options source_opts(std::vector<std::string> tables, std::size_t chunk) const {
        snapshot::source_options o;
        o.snapshot.connection = query_conn();
        o.snapshot.tables = std::move(tables);
        o.snapshot.chunk_rows = chunk;
        auto& c = o.follower.stream.connection;
        c.host = "127.0.0.1";
        c.port = static_cast<std::uint16_t>(server_.port());
        c.user = "cdc";
        c.password = "pw";
        o.follower.stream.heartbeat_period = 200ms;
        return o;
    }
};

std::string key_of(const event& e, const std::vector<value>& img) {
    std::string k = e.schema + "." + e.table + ":";
    bool has_pk = false;
    for (std::size_t i = 0; i < e.column_count(); ++i) has_pk = has_pk || (*e.columns)[i].primary_key;
    for (std::size_t i = 0; i < img.size(); ++i)
        if (!has_pk || (*e.columns)[i].primary_key) {
            std::ostringstream s;
            s << static_cast<int>(img[i].index());
            k += s.str() + "=";
            std::visit([&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) k += std::to_string(v);
                else if constexpr (std::is_same_v<T, text>) k += v.utf8;
                else k += "?";
            }, img[i]);
            k += ";";
        }
    return k;
}

/// The consumer: applies events to a map of rows (key: the primary key, or the whole row
/// for a table without one, as a count).
struct state {
    std::map<std::string, std::vector<value>> rows;
    std::map<std::string, columns_ptr> cols;
    std::size_t reads = 0, changes = 0, chunks = 0;
    std::uint64_t last_sequence = 0;
    std::size_t sequence_not_increasing = 0;  // event.hpp: strictly increasing per source
    bool saw_marker = false;
    void apply(const event& e) {
        if (e.sequence <= last_sequence) ++sequence_not_increasing;
        last_sequence = e.sequence;
        if (e.kind == event_kind::commit && std::string_view(e.transaction.id).starts_with("snapshot:")) ++chunks;
        if (!is_row_event(e.kind)) return;
        if (e.table == "marker") {
            saw_marker = true;
            return;
        }
        if (is_snapshot_read(e)) ++reads;
        else ++changes;
        if (e.kind != event_kind::insert) rows.erase(key_of(e, e.before));
        if (e.kind != event_kind::delete_) rows[key_of(e, e.after)] = e.after;
    }
};

/// Stops a writer thread (clears its flag, joins it) when the test leaves its scope, also
/// through an ASSERT.
struct stop_writer {
    std::atomic<bool>& writing;
    std::thread& t;
    ~stop_writer() {
        writing.store(false);
        if (t.joinable()) t.join();
    }
};

/// Every row of the listed tables by a fresh initial snapshot (typed like the stream).
state select_all(const mysql::connect_options& c, std::vector<std::string> tables) {
    snapshot::options o;
    o.connection = c;
    o.tables = std::move(tables);
    snapshot::initial_snapshot s(o);
    state st;
    callback_sink sink([&](const event& e) { st.apply(e); });
    std::stop_source stop;
    auto r = s.run(sink, stop.get_token());
    EXPECT_TRUE(r) << (r ? "" : r.error_value().message);
    st.reads = 0;
    return st;
}

// Every column type MariaDB 10.11 has (the list of test_binlog_columns): the snapshot's
// values equal the binlog's for each row.
TEST_F(Snapshot, EveryColumnTypeSameValuesAsTheBinlog) {
    root_.query("CREATE DATABASE x");
    root_.query(test::mariadb_every_type_ddl("x.t"));
    {
        auto s = server_.connect();
        s.query("SET time_zone='+00:00'");
        s.query("INSERT INTO x.t VALUES " + test::mariadb_every_type_rows());
    }
    // the binlog's rows, with the same schema provider rowcast-binlog uses for UUID/INET
    auto pc = mysql::connection::open(query_conn());
    ASSERT_TRUE(pc) << pc.error_value().message;
    binlog::mariadb_schema_provider provider(*pc);
    auto o = source_opts({"x.t"}, 3);
    o.follower.stream.stop_at_end = true;
    o.follower.parser.provider = &provider;
    binlog::follower f(o.follower);
    std::map<std::int64_t, std::vector<value>> from_binlog;
    callback_sink bsink([&](const event& e) {
        if (e.kind == event_kind::insert && e.table == "t") from_binlog[std::get<std::int64_t>(e.after[0])] = e.after;
    });
    std::stop_source stop;
    auto br = f.run(bsink, stop.get_token());
    ASSERT_TRUE(br) << br.error_value().message;
    ASSERT_EQ(from_binlog.size(), 4u);

    snapshot::initial_snapshot snap(o.snapshot);
    std::map<std::int64_t, std::vector<value>> from_snapshot;
    std::size_t begins = 0;
    callback_sink ssink([&](const event& e) {
        if (e.kind == event_kind::begin) ++begins;
        if (e.kind != event_kind::insert) return;
        EXPECT_TRUE(is_snapshot_read(e));
        from_snapshot[std::get<std::int64_t>(e.after[0])] = e.after;
    });
    auto sr = snap.run(ssink, stop.get_token());
    ASSERT_TRUE(sr) << sr.error_value().message;
    EXPECT_EQ(begins, 2u);  // chunks of 3: 3 + 1 rows
    ASSERT_EQ(from_snapshot.size(), 4u);
    ASSERT_TRUE(snap.start().has_value());
    for (const auto& [id, img] : from_binlog) {
        const auto& s = from_snapshot[id];
        ASSERT_EQ(s.size(), img.size());
        for (std::size_t i = 0; i < img.size(); ++i)
            EXPECT_EQ(s[i], img[i]) << "row " << id << " column " << i << " kinds " << s[i].index() << " vs "
                                    << img[i].index();
    }
}

// The two ways to start the consistent read (MariaDB's binlog_snapshot status, and MySQL's
// FLUSH TABLES WITH READ LOCK + SHOW MASTER STATUS, whose statements MariaDB also runs), each
// taken while a writer inserts rows one by one: the rows the read sees are exactly those the
// binlog holds before the position it returns (ids 1..n), and the binlog from that position
// holds every later row (n+1 onwards), none missing, none twice.
TEST_F(Snapshot, BothConsistentStartsGiveTheBinlogPointOfTheirRead) {
    root_.query("CREATE DATABASE app");
    root_.query("CREATE TABLE app.seq (id INT AUTO_INCREMENT PRIMARY KEY, v INT)");
    std::atomic<bool> writing{true};
    std::thread writer([&] {
        auto w = server_.connect();
        while (writing.load()) w.query("INSERT INTO app.seq (v) VALUES (1)");
    });
    const stop_writer stop_at_exit{writing, writer};  // also when an ASSERT leaves the test early
    struct taken {
        std::string how;
        binlog::position at;
        std::int64_t seen = 0, max_id = 0;
    };
    std::vector<taken> starts;
    using start_fn = result<binlog::position> (*)(mysql::connection&, std::string_view);
    for (const auto& [how, start] : {std::pair<std::string, start_fn>{"binlog_snapshot status", &detail::snapshot::start_from_snapshot_status},
                                     {"read lock", &detail::snapshot::start_under_read_lock},
                                     {"binlog_snapshot status", &detail::snapshot::start_from_snapshot_status},
                                     {"read lock", &detail::snapshot::start_under_read_lock}}) {
        std::this_thread::sleep_for(30ms);  // rows written between the starts
        auto m = mysql::connection::open(query_conn(), "snapshot");
        ASSERT_TRUE(m) << m.error_value().message;
        ASSERT_TRUE(detail::snapshot::prepare_consistent_read(*m, "test"));
        auto p = start(*m, "test");
        ASSERT_TRUE(p) << how << ": " << p.error_value().message;
        std::this_thread::sleep_for(10ms);  // more rows, which the read must not see
        auto rs = m->query_all("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM app.seq");
        ASSERT_TRUE(rs) << rs.error_value().message;
        starts.push_back({how, *p, std::stoll(*rs->rows.at(0).at(0)), std::stoll(*rs->rows.at(0).at(1))});
    }
    // rows after the last start too (a loaded machine may have let the writer sleep)
    for (int guard = 0; std::stoll(*root_.scalar("SELECT COUNT(*) FROM app.seq")) <= starts.back().max_id + 3; ++guard) {
        ASSERT_LT(guard, 30000) << "liveness guard: the writer stopped";
        std::this_thread::sleep_for(1ms);
    }
    writing.store(false);
    writer.join();
    const auto total = std::stoll(*root_.scalar("SELECT COUNT(*) FROM app.seq"));
    for (const auto& t : starts) {
        EXPECT_EQ(t.seen, t.max_id) << t.how << ": ids are 1..n";
        auto o = source_opts({}, 1);
        o.follower.stream.file = t.at.file;
        o.follower.stream.position = t.at.offset;
        o.follower.stream.stop_at_end = true;
        binlog::follower f(o.follower);
        std::vector<std::int64_t> after;
        callback_sink sink([&](const event& e) {
            if (e.kind == event_kind::insert && e.table == "seq") after.push_back(std::get<std::int64_t>(e.after[0]));
        });
        std::stop_source stop;
        auto r = f.run(sink, stop.get_token());
        ASSERT_TRUE(r) << r.error_value().message;
        ASSERT_FALSE(after.empty()) << t.how;
        EXPECT_EQ(after.front(), t.max_id + 1) << t.how << " at " << t.at.file << ":" << t.at.offset;
        EXPECT_EQ(static_cast<std::int64_t>(after.size()) + t.seen, total) << t.how;
        EXPECT_EQ(after.back(), total) << t.how;
    }
}

// Writers insert, update and delete in three tables (integer key, composite text key, no
// key: inserts only) while the snapshot runs in small chunks; then the stream. The
// consumer's state equals the tables.
TEST_F(Snapshot, InitialThenStreamWithConcurrentWritersEqualsSelect) {
    root_.query("CREATE DATABASE app");
    root_.query("CREATE TABLE app.a (id INT PRIMARY KEY, v VARCHAR(20), n BIGINT)");
    root_.query("CREATE TABLE app.b (k VARCHAR(10), j INT, v DOUBLE, PRIMARY KEY (k, j))");
    root_.query("CREATE TABLE app.c (v INT, w VARCHAR(10))");
    root_.query("CREATE TABLE app.marker (id INT PRIMARY KEY)");
    {
        std::string a = "INSERT INTO app.a VALUES ", b = "INSERT INTO app.b VALUES ", c = "INSERT INTO app.c VALUES ";
        for (int i = 1; i <= 300; ++i) {
            a += (i > 1 ? "," : "") + std::string("(") + std::to_string(i * 2) + ",'v" + std::to_string(i) + "'," +
                 std::to_string(i) + ")";
            b += (i > 1 ? "," : "") + std::string("('k") + std::to_string(i % 7) + "'," + std::to_string(i) + "," +
                 std::to_string(i) + ".5)";
            c += (i > 1 ? "," : "") + std::string("(") + std::to_string(i) + ",'w')";
        }
        root_.query(a);
        root_.query(b);
        root_.query(c);
    }
    std::atomic<bool> writing{true};
    std::atomic<int> writes{0};
    std::thread writer([&] {
        auto w = server_.connect();
        std::mt19937 rng(7);
        while (writing.load()) {
            const int id = static_cast<int>(rng() % 700);
            switch (rng() % 5) {
                case 0: w.query("INSERT IGNORE INTO app.a VALUES (" + std::to_string(id) + ",'new',0)"); break;
                case 1: w.query("UPDATE app.a SET n=n+1, v='upd' WHERE id=" + std::to_string(id)); break;
                case 2: w.query("DELETE FROM app.a WHERE id=" + std::to_string(id)); break;
                case 3:
                    w.query("BEGIN");
                    w.query("INSERT IGNORE INTO app.b VALUES ('k" + std::to_string(id % 9) + "'," + std::to_string(id) + ",1)");
                    w.query("UPDATE app.b SET v=v+1 WHERE j=" + std::to_string((id + 1) % 300));
                    w.query("COMMIT");
                    break;
                default: w.query("INSERT INTO app.c VALUES (" + std::to_string(1000 + writes.load()) + ",'x')"); break;
            }
            ++writes;
        }
    });
    auto o = source_opts({"app.a", "app.b", "app.c"}, 17);
    snapshot::snapshot_source src(o);
    state st;
    std::stop_source stop;
    bool marker_written = false;
    callback_sink sink([&](const event& e) {
        st.apply(e);
        if (!src.snapshotting() && !marker_written && writes.load() > 200) {  // writers ran during and after
            writing.store(false);
            marker_written = true;
        }
        if (st.saw_marker) stop.request_stop();
    });
    std::thread marker([&] {  // once the writers stopped: a marker row ends the run
        while (writing.load()) std::this_thread::sleep_for(10ms);
        writer.join();
        server_.connect().query("INSERT INTO app.marker VALUES (1)");
    });
    auto r = src.run(sink, stop.get_token());
    writing.store(false);
    marker.join();
    ASSERT_TRUE(r) << r.error_value().message;
    EXPECT_GT(st.reads, 0u);
    EXPECT_GT(st.changes, 0u);
    EXPECT_GE(st.chunks, 2 * (300u / 17) + 1);  // a and b in chunks of 17, c (no key) in one
    EXPECT_EQ(st.sequence_not_increasing, 0u);  // the stream's sequence goes on after the snapshot's
    const state want = select_all(query_conn(), {"app.a", "app.b", "app.c"});
    EXPECT_EQ(st.rows.size(), want.rows.size());
    EXPECT_TRUE(st.rows == want.rows);
    EXPECT_EQ(std::stoul(*root_.scalar("SELECT (SELECT COUNT(*) FROM app.a)+(SELECT COUNT(*) FROM app.b)+"
                                       "(SELECT COUNT(*) FROM app.c)")),
              want.rows.size());
}

/// A source that is never done and delivers nothing (drives incremental_snapshot::prepare()).
struct idle_source {
    bool done() const noexcept { return false; }
    template <class Sink>
    result<std::size_t> process(Sink&) { return std::size_t{0}; }
};

// The incremental snapshot asked by a signal row while streaming, in chunks of 16. Inside
// each chunk's window (between its SELECT and its high watermark) the hook updates, deletes
// and inserts rows of that chunk, and a writer changes the table throughout: the rows the
// stream changed leave the chunk, none is overwritten by an older read, and the consumer's
// state equals the table. A bad signal and a table without a primary key are refused and
// the stream goes on; asked by the options, a table without key fails at once.
TEST_F(Snapshot, IncrementalBySignalWithChangesInsideTheWindowEqualsSelect) {
    root_.query("CREATE DATABASE app");
    root_.query("CREATE DATABASE ops");
    root_.query("CREATE TABLE ops.sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL)");
    root_.query("CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20), n INT)");
    root_.query("CREATE TABLE app.nokey (v INT)");
    root_.query("CREATE TABLE app.marker (id INT PRIMARY KEY)");
    {
        std::string q = "INSERT INTO app.t VALUES ";
        for (int i = 1; i <= 200; ++i) q += (i > 1 ? "," : "") + std::string("(") + std::to_string(i * 2) + ",'r',0)";
        root_.query(q);
        root_.query("INSERT INTO app.nokey VALUES (1),(2)");
    }
    auto o = source_opts({}, 16);
    o.mode = snapshot::mode::never;
    auto now = binlog::current_server_position(o.follower.stream.connection);
    ASSERT_TRUE(now) << now.error_value().message;
    o.follower.stream.file = now->file;
    o.follower.stream.position = now->offset;
    auto hook_conn = server_.connect();
    std::optional<snapshot::snapshot_source> src;
    int windows = 0;
    o.incremental = snapshot::incremental_options{.connection = query_conn(), .signal_table = "ops.sig", .chunk_rows = 16};
    o.incremental->window_hook = [&](std::string_view table, std::size_t) {
        if (table != "app.t") return;
        ++windows;
        const auto& last = src->incremental()->current().last_key;
        const std::string after = last.empty() ? "0" : *last[0];
        // keys of this chunk: the first three updated, the first deleted, an odd key inserted
        hook_conn.query("UPDATE app.t SET v='window', n=n+100 WHERE id > " + after + " ORDER BY id LIMIT 3");
        hook_conn.query("DELETE FROM app.t WHERE id > " + after + " ORDER BY id LIMIT 1");
        hook_conn.query("INSERT IGNORE INTO app.t VALUES (" + std::to_string(std::stoi(after) + 3) + ",'odd',7)");
    };
    src.emplace(o);
    root_.query("INSERT INTO ops.sig VALUES ('bad', 'execute-snapshot', '{\"data-collections\": 42}')");
    root_.query("INSERT INTO ops.sig VALUES ('s1', 'execute-snapshot', "
                "'{\"data-collections\": [\"app.nokey\", \"app.t\"], \"type\": \"incremental\"}')");
    std::atomic<bool> writing{true}, finished{false};
    std::thread writer([&] {
        auto w = server_.connect();
        std::mt19937 rng(5);
        while (writing.load()) {
            const int id = static_cast<int>(rng() % 420);
            switch (rng() % 3) {
                case 0: w.query("INSERT IGNORE INTO app.t VALUES (" + std::to_string(id) + ",'new',1)"); break;
                case 1: w.query("UPDATE app.t SET n=n+1, v='upd' WHERE id=" + std::to_string(id)); break;
                default: w.query("DELETE FROM app.t WHERE id=" + std::to_string(id)); break;
            }
            std::this_thread::sleep_for(1ms);
        }
    });
    state st;
    std::stop_source stop;
    callback_sink sink([&](const event& e) {
        if (e.table == "t" || e.table == "marker") st.apply(e);
        const auto& inc = *src->incremental();
        if (inc.stats().tables >= 1 && !inc.active()) finished.store(true);
        if (st.saw_marker) stop.request_stop();
    });
    std::thread marker([&] {  // once the snapshot is done: writers stop, a marker row ends the run
        while (!finished.load()) std::this_thread::sleep_for(5ms);
        writing.store(false);
        writer.join();
        server_.connect().query("INSERT INTO app.marker VALUES (1)");
    });
    auto r = src->run(sink, stop.get_token());
    finished.store(true);
    marker.join();
    ASSERT_TRUE(r) << r.error_value().message;
    const auto& is = src->incremental()->stats();
    EXPECT_EQ(is.tables, 1u);
    EXPECT_GE(is.refused, 2u);  // the bad signal, app.nokey
    EXPECT_GE(windows, 13);     // 200 rows and more in chunks of 16
    EXPECT_GE(is.dropped, 3u * static_cast<unsigned>(windows - 1));  // the hook's updates (the last chunk may be short)
    EXPECT_GT(st.reads, 100u);
    EXPECT_EQ(st.sequence_not_increasing, 0u);  // each read its own sequence, the stream's next after them
    const state want = select_all(query_conn(), {"app.t"});
    EXPECT_EQ(st.rows.size(), want.rows.size());
    EXPECT_TRUE(st.rows == want.rows);

    // asked by the options: a table without a primary key fails at once
    snapshot::incremental_snapshot refused(
        {.connection = query_conn(), .signal_table = "ops.sig", .tables = {"app.nokey"}, .chunk_rows = 16});
    idle_source idle;
    callback_sink none([](const event&) {});
    ASSERT_TRUE(refused.process(idle, none));
    auto e = refused.process(idle, none);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error_value().message.find("[rowcast.snapshot.unsupported] app.nokey: the table has no primary key"),
              std::string::npos)
        << e.error_value().message;
}

#if defined(ROWCAST_BINLOG_EXE) || defined(ROWCASTD_EXE)
std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The published spool files in name order (staged files start with '.').
std::vector<std::filesystem::path> spool_files(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    for (const auto& f : std::filesystem::directory_iterator(dir))
        if (f.is_regular_file() && f.path().filename().string()[0] != '.') out.push_back(f.path());
    std::sort(out.begin(), out.end());
    return out;
}

event decode_file(const std::filesystem::path& p) {
    event e;
    binary_codec codec;
    const std::string bytes = slurp(p);
    auto r = codec.decode(bytes, e);
    EXPECT_TRUE(r) << p << ": " << (r ? "" : r.error_value().message);
    return e;
}
#endif

#ifdef ROWCAST_BINLOG_EXE
/// rowcast-binlog with `args` (and the server, a binary spool, a checkpoint) while a writer
/// inserts, updates and deletes random keys of app.k (2000 rows): killed (SIGKILL) three
/// times once its checkpoint holds `in_progress` and moved in that run, restarted from the
/// checkpoint each time, then run until `in_progress` is gone and a marker row reached the
/// spool. Returns the state of app.k built from the spool (a row read twice is a failure).
state kill_nine_and_resume(mariadb_server& server, db_connection& root, const std::vector<std::string>& args,
                           std::string_view in_progress) {
    root.query("CREATE DATABASE IF NOT EXISTS app");
    root.query("CREATE TABLE app.k (id INT PRIMARY KEY, v VARCHAR(40))");
    root.query("CREATE TABLE app.marker (id INT PRIMARY KEY)");
    {
        std::string q = "INSERT INTO app.k VALUES ";
        for (int i = 1; i <= 2000; ++i) q += (i > 1 ? "," : "") + std::string("(") + std::to_string(i) + ",'r')";
        root.query(q);
    }
    test::temp_dir dir("rowcast-snapshot");
    const auto spool = dir.path() / "spool", cp = dir.path() / "checkpoint", log = dir.path() / "log";
    std::filesystem::create_directories(spool);
    auto start = [&] {
        std::vector<std::string> argv = {ROWCAST_BINLOG_EXE, "--host", "127.0.0.1", "--port", std::to_string(server.port()),
                                         "--user", "cdc", "--password", "pw", "--heartbeat-ms", "200", "--codec", "binary",
                                         "--spool", spool.string(), "--checkpoint", cp.string(), "--durability", "none"};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::process::start({argv, {}, log, {}});
    };
    std::atomic<bool> writing{true};
    std::thread writer([&] {
        auto w = server.connect();
        std::mt19937 rng(11);
        for (int n = 0; writing.load(); ++n) {
            const int id = static_cast<int>(rng() % 2400) + 1;
            if (n % 3 == 0) w.query("INSERT IGNORE INTO app.k VALUES (" + std::to_string(id) + ",'new')");
            else if (n % 3 == 1) w.query("UPDATE app.k SET v=CONCAT('u', " + std::to_string(n) + ") WHERE id=" + std::to_string(id));
            else w.query("DELETE FROM app.k WHERE id=" + std::to_string(id));
            std::this_thread::sleep_for(1ms);
        }
    });
    const stop_writer stop_at_exit{writing, writer};
    int mid_snapshot = 0;
    for (int kill = 0; kill < 3; ++kill) {
        const std::string at_start = slurp(cp);
        auto p = start();
        for (int guard = 0; p.running(); ++guard) {  // the checkpoint moved inside the snapshot
            const std::string now = slurp(cp);
            if (now != at_start && now.find(in_progress) != std::string::npos) break;
            EXPECT_LT(guard, 60000) << "liveness guard: no progress; log:\n" << slurp(log);
            if (guard >= 60000) return {};
            std::this_thread::sleep_for(2ms);
        }
        std::this_thread::sleep_for(10ms);  // into the next chunk
        p.signal(SIGKILL);
        p.wait();
        if (slurp(cp).find(in_progress) != std::string::npos) ++mid_snapshot;
    }
    EXPECT_GE(mid_snapshot, 2) << "the kills did not land inside the snapshot; log:\n" << slurp(log);
    auto p = start();
    for (int guard = 0; slurp(cp).find(in_progress) != std::string::npos; ++guard) {  // the snapshot ends
        EXPECT_LT(guard, 60000) << "liveness guard; log:\n" << slurp(log);
        EXPECT_TRUE(p.running()) << slurp(log);
        if (guard >= 60000 || !p.running()) return {};
        std::this_thread::sleep_for(5ms);
    }
    writing.store(false);
    writer.join();
    root.query("INSERT INTO app.marker VALUES (1)");
    bool marker = false;
    // every name decoded once: a transaction's files are published one rename at a time, so a
    // listing can show a later file before an earlier one (a "newest seen" mark skipped the marker)
    std::set<std::filesystem::path> seen;
    for (int guard = 0; !marker; ++guard) {
        EXPECT_LT(guard, 6000) << "liveness guard; log:\n" << slurp(log);
        if (guard >= 6000) return {};
        for (const auto& f : spool_files(spool))
            if (seen.insert(f).second && decode_file(f).table == "marker") marker = true;
        if (!marker) std::this_thread::sleep_for(5ms);
    }
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait(), 0) << slurp(log);

    state st;
    std::map<std::string, int> read_twice;
    for (const auto& f : spool_files(spool)) {
        const event e = decode_file(f);
        if (e.table != "k") continue;
        if (is_snapshot_read(e) && ++read_twice[key_of(e, e.after)] > 1) ADD_FAILURE() << "read twice: " << key_of(e, e.after);
        st.apply(e);
    }
    return st;
}

// rowcast-binlog --snapshot initial --spool is killed (SIGKILL) three times while it copies
// a table in chunks of 20 under concurrent writes, and restarted from its checkpoint each
// time; then it streams. The spool holds each snapshot row once (no chunk twice), and the
// state built from it equals the table.
TEST_F(Snapshot, KillNineDuringInitialSnapshotResumesAfterTheLastChunk) {
    const state st = kill_nine_and_resume(
        server_, root_, {"--snapshot", "initial", "--snapshot-table", "app.k", "--snapshot-chunk-rows", "20"}, "snapshot=1");
    EXPECT_GT(st.reads, 1500u);
    const state want = select_all(query_conn(), {"app.k"});
    EXPECT_EQ(st.rows.size(), want.rows.size());
    EXPECT_TRUE(st.rows == want.rows);
}

// rowcast-binlog --signal-table --incremental-snapshot (the command-line path) streams into
// a spool from the current end while writers change the table; it is killed (SIGKILL) three
// times during the incremental snapshot (chunks of 20) and restarted from its checkpoint:
// the chunk in progress is read again under new watermarks. No row is read twice, and the
// state built from the spool equals the table.
TEST_F(Snapshot, KillNineDuringIncrementalSnapshotResumesAndLosesNothing) {
    root_.query("CREATE DATABASE ops");
    root_.query("CREATE TABLE ops.sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048) NULL)");
    const state st = kill_nine_and_resume(server_, root_,
                                          {"--start-at-current", "--signal-table", "ops.sig", "--incremental-snapshot",
                                           "app.k", "--snapshot-chunk-rows", "20"},
                                          "incremental=1");
    EXPECT_GT(st.reads, 1000u);
    const state want = select_all(query_conn(), {"app.k"});
    EXPECT_EQ(st.rows.size(), want.rows.size());
    EXPECT_TRUE(st.rows == want.rows);
}

// rowcast-binlog --snapshot initial --sink (replicate mode, chunks of 7) to the end of the
// binlog: the destination table equals the source (every chunk applied, none dropped as a replay).
TEST_F(Snapshot, InitialSnapshotIntoTheSqlSinkEqualsTheTable) {
    root_.query("CREATE DATABASE app");
    root_.query("CREATE TABLE app.s (id INT PRIMARY KEY, v VARCHAR(20))");
    {
        std::string q = "INSERT INTO app.s VALUES ";
        for (int i = 1; i <= 50; ++i) q += (i > 1 ? "," : "") + std::string("(") + std::to_string(i) + ",'s" + std::to_string(i) + "')";
        root_.query(q);
    }
    test::temp_dir dir("rowcast-snapshot-sink");
    const auto log = dir.path() / "log";
    auto p = test::process::start(
        {{ROWCAST_BINLOG_EXE, "--host", "127.0.0.1", "--port", std::to_string(server_.port()), "--user", "cdc",
          "--password", "pw", "--stop-at-end", "--snapshot", "initial", "--snapshot-table", "app.s",
          "--snapshot-chunk-rows", "7", "--table", "app.s", "--sink",
          "mysql://cdc:pw@127.0.0.1:" + std::to_string(server_.port()) + "/replica?mode=replicate"},
         {},
         log,
         {}});
    ASSERT_EQ(p.wait(), 0) << slurp(log);
    const std::string q = "SELECT COUNT(*), GROUP_CONCAT(id, v ORDER BY id) FROM ";
    EXPECT_EQ(root_.scalar("SELECT COUNT(*) FROM replica.s"), std::optional<std::string>("50")) << slurp(log);
    EXPECT_EQ(root_.scalar("SELECT GROUP_CONCAT(id, v ORDER BY id) FROM replica.s"),
              root_.scalar("SELECT GROUP_CONCAT(id, v ORDER BY id) FROM app.s"));
}
#endif

#ifdef ROWCASTD_EXE
// rowcastd's binlog source with `snapshot: {mode: initial, ...}` and stop_at_end: the spool
// holds the table's rows as snapshot reads (chunks of 2) and no binlog row from before the snapshot.
TEST_F(Snapshot, RowcastdBinlogSourceTakesTheSnapshotFirst) {
    root_.query("CREATE DATABASE app");
    root_.query("CREATE TABLE app.d (id INT PRIMARY KEY, v VARCHAR(10))");
    root_.query("INSERT INTO app.d VALUES (1,'a'),(2,'b'),(3,'c')");
    test::temp_dir dir("rowcast-snapshot-daemon");
    const auto spool = dir.path() / "spool", cfg = dir.path() / "rowcastd.yaml", log = dir.path() / "log";
    std::filesystem::create_directories(spool);
    std::ofstream(cfg) << "source: {type: binlog, host: 127.0.0.1, port: " << server_.port()
                       << ", user: cdc, password: pw, stop_at_end: true,\n"
                          "         snapshot: {mode: initial, tables: [app.d], chunk_rows: 2}}\n"
                          "sinks:\n  - {name: out, type: spool, directory: "
                       << spool.string() << ", codec: binary}\ncheckpoint: " << (dir.path() / "cursor").string() << "\n";
    auto check = test::process::start({{ROWCASTD_EXE, "--check", cfg.string()}, {}, log, {}});
    ASSERT_EQ(check.wait(), 0) << slurp(log);
    // the incremental snapshot's keys: signal_table and incremental_tables (which needs it)
    for (const auto& [section, ok] : {std::pair<std::string, bool>{"{signal_table: ops.sig, incremental_tables: [app.d]}", true},
                                      {"{incremental_tables: [app.d]}", false}}) {
        const auto inc = dir.path() / "incremental.yaml";
        std::ofstream(inc) << "source: {type: binlog, host: 127.0.0.1, user: cdc, snapshot: " << section
                           << "}\nsinks:\n  - {name: out, type: spool, directory: " << spool.string()
                           << "}\ncheckpoint: " << (dir.path() / "cursor2").string() << "\n";
        auto c = test::process::start({{ROWCASTD_EXE, "--check", inc.string()}, {}, log, {}});
        EXPECT_EQ(c.wait() == 0, ok) << section << "\n" << slurp(log);
    }
    auto p = test::process::start({{ROWCASTD_EXE, cfg.string()}, {}, log, {}});
    ASSERT_EQ(p.wait(), 0) << slurp(log);
    std::vector<std::string> reads;
    for (const auto& f : spool_files(spool)) {
        const event e = decode_file(f);
        if (is_snapshot_read(e)) reads.push_back(std::get<text>(e.after[1]).utf8);
        else EXPECT_FALSE(is_row_event(e.kind)) << "a binlog row before the snapshot's position";
    }
    EXPECT_EQ(reads, (std::vector<std::string>{"a", "b", "c"}));
}
#endif

#if defined(ROWCAST_BINLOG_EXE) && defined(ROWCASTD_EXE)
// A row larger than the snapshot's byte limit (connect_options::max_result_bytes) stops the
// snapshot with limit_exceeded, in the library and in both programs, where the limit is a setting
// (rowcast-binlog --snapshot-max-result-bytes, rowcastd snapshot.max_result_bytes); with a larger
// limit the same row is copied. Nothing is written for the refused chunk.
TEST_F(Snapshot, RowOverTheByteLimitStopsTheSnapshotAndTheLimitIsASetting) {
    root_.query("CREATE DATABASE app");
    root_.query("CREATE TABLE app.big (id INT PRIMARY KEY, b LONGBLOB)");
    root_.query("INSERT INTO app.big VALUES (1, 'small'), (2, REPEAT('x', 6000))");
    {
        snapshot::options o;
        o.connection = query_conn();
        o.connection.max_result_bytes = 2048;
        o.tables = {"app.big"};
        snapshot::initial_snapshot s(o);
        std::size_t rows = 0, committed = 0, rolled_back = 0;
        callback_sink sink([&](const event& e) {
            rows += is_row_event(e.kind);
            if (e.kind == event_kind::commit) committed += std::exchange(rows, 0);
            if (e.kind == event_kind::rollback) rolled_back += std::exchange(rows, 0);
        });
        std::stop_source stop;
        auto r = s.run(sink, stop.get_token());
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error_value().code, make_error_code(errc::limit_exceeded)) << r.error_value().message;
        EXPECT_NE(r.error_value().message.find("larger than max_result_bytes = 2048"), std::string::npos)
            << r.error_value().message;
        EXPECT_EQ(committed, 0u);    // the chunk holding the big row is not committed in part:
        EXPECT_EQ(rolled_back, 1u);  // the row before it is closed by an interrupted rollback
    }
    test::temp_dir dir("rowcast-snapshot-limit");
    const auto spool = dir.path() / "spool", log = dir.path() / "log";
    std::filesystem::create_directories(spool);
    auto binlog = [&](const std::string& limit) {
        auto p = test::process::start(
            {{ROWCAST_BINLOG_EXE, "--host", "127.0.0.1", "--port", std::to_string(server_.port()), "--user", "cdc",
              "--password", "pw", "--stop-at-end", "--max-retries", "0", "--snapshot", "initial", "--snapshot-table",
              "app.big", "--snapshot-max-result-bytes", limit, "--codec", "binary", "--spool", spool.string(),
              "--checkpoint", (dir.path() / "checkpoint").string(), "--durability", "none"},
             {},
             log,
             {}});
        return p.wait();
    };
    EXPECT_NE(binlog("2048"), 0);
    EXPECT_NE(slurp(log).find("limit_exceeded"), std::string::npos) << slurp(log);
    EXPECT_TRUE(spool_files(spool).empty());
    EXPECT_NE(binlog("100"), 0);  // below the range
    EXPECT_NE(slurp(log).find("--snapshot-max-result-bytes"), std::string::npos) << slurp(log);
    ASSERT_EQ(binlog("16384"), 0) << slurp(log);
    std::size_t reads = 0;
    for (const auto& f : spool_files(spool)) reads += is_snapshot_read(decode_file(f));
    EXPECT_EQ(reads, 2u);

    const auto cfg = dir.path() / "rowcastd.yaml";
    auto rowcastd = [&](const std::string& limit, bool check) {
        std::filesystem::remove_all(dir.path() / "cursor");
        std::ofstream(cfg) << "source: {type: binlog, host: 127.0.0.1, port: " << server_.port()
                           << ", user: cdc, password: pw, stop_at_end: true,\n"
                              "         snapshot: {tables: [app.big], max_result_bytes: "
                           << limit << "}}\nsinks:\n  - {name: out, type: stdout}\ncheckpoint: "
                           << (dir.path() / "cursor").string() << "\n";
        std::vector<std::string> argv = {ROWCASTD_EXE, cfg.string()};
        if (check) argv.insert(argv.begin() + 1, "--check");
        auto p = test::process::start({argv, {}, log, {}});
        return p.wait();
    };
    EXPECT_NE(rowcastd("100", true), 0);
    EXPECT_NE(slurp(log).find("max_result_bytes"), std::string::npos) << slurp(log);
    EXPECT_NE(rowcastd("2048", false), 0);
    EXPECT_NE(slurp(log).find("limit_exceeded"), std::string::npos) << slurp(log);
    EXPECT_EQ(rowcastd("16384", false), 0) << slurp(log);
}
#endif

// The snapshot reader over TLS (VERIFY_CA, a CA made by the test) to a user the server lets in
// only over TLS: the library, rowcast-binlog's --ssl-* flags and rowcastd's ssl_* keys. Keys with
// a backslash go into the chunk query as _utf8mb4 X'..' (mysql::quote_string's form for them)
// and compare in the column's case-insensitive collation: 'B\1' after 'a\1', no chunk lost.
TEST(SnapshotTls, VerifyCaLibraryAndPrograms) {
    test::test_certificates certs;
    mariadb_server server(test::mariadb_server_options{
        .config_lines = {"ssl_ca=" + certs.ca(), "ssl_cert=" + certs.server_cert(), "ssl_key=" + certs.server_key()}});
    auto root = server.connect();
    root.query("CREATE USER tls@'%' IDENTIFIED BY 'pw' REQUIRE SSL");
    root.query("GRANT ALL ON *.* TO tls@'%'");
    root.query("CREATE DATABASE app");
    root.query("CREATE TABLE app.s (k VARCHAR(20) PRIMARY KEY, v INT) COLLATE utf8mb4_general_ci");
    root.query("INSERT INTO app.s VALUES ('a\\\\1', 1), ('B\\\\1', 2), ('c''1', 3), ('D', 4)");
    mysql::connect_options c{.host = "127.0.0.1", .port = static_cast<std::uint16_t>(server.port()), .user = "tls", .password = "pw"};
    c.tls.mode = mysql::ssl_mode::verify_ca;
    c.tls.ca = certs.ca();
    snapshot::options o{.connection = c, .tables = {"app.s"}, .chunk_rows = 1};
    std::vector<std::string> keys;
    {
        snapshot::initial_snapshot snap(o);
        callback_sink sink([&](const event& e) {
            if (is_snapshot_read(e)) keys.push_back(std::get<text>(e.after[0]).utf8);
        });
        std::stop_source stop;
        auto r = snap.run(sink, stop.get_token());
        ASSERT_TRUE(r) << r.error_value().message;
        EXPECT_EQ(snap.stats().chunks, 4u);
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"a\\1", "B\\1", "c'1", "D"}));
    for (auto [mode, ca] : {std::pair{mysql::ssl_mode::disabled, certs.ca()}, std::pair{mysql::ssl_mode::verify_ca, certs.other_ca()}}) {
        SCOPED_TRACE(std::string(mysql::to_string(mode)) + " " + ca);
        o.connection.tls.mode = mode;
        o.connection.tls.ca = ca;
        snapshot::initial_snapshot snap(o);
        callback_sink sink([](const event&) {});
        std::stop_source stop;
        auto r = snap.run(sink, stop.get_token());
        ASSERT_FALSE(r);
        EXPECT_NE(r.error_value().message.find("[rowcast.snapshot.refused]"), std::string::npos) << r.error_value().message;
    }
#ifdef ROWCAST_BINLOG_EXE
    {
        test::temp_dir dir("rowcast-snapshot-tls");
        const auto log = dir.path() / "log";
        auto p = test::process::start({{ROWCAST_BINLOG_EXE, "--host", "127.0.0.1", "--port", std::to_string(server.port()),
                                        "--user", "tls", "--password", "pw", "--ssl-mode", "VERIFY_CA", "--ssl-ca", certs.ca(),
                                        "--stop-at-end", "--snapshot", "initial", "--snapshot-table", "app.s",
                                        "--snapshot-chunk-rows", "1", "--table", "app.s"},
                                       {},
                                       log,
                                       {}});
        ASSERT_EQ(p.wait(), 0) << slurp(log);
        EXPECT_NE(slurp(log).find("snapshot: 4 rows in 4 chunks"), std::string::npos) << slurp(log);
    }
#endif
#ifdef ROWCASTD_EXE
    {
        test::temp_dir dir("rowcast-snapshot-tls-daemon");
        const auto spool = dir.path() / "spool", cfg = dir.path() / "rowcastd.yaml", log = dir.path() / "log";
        std::filesystem::create_directories(spool);
        std::ofstream(cfg) << "source: {type: binlog, host: 127.0.0.1, port: " << server.port()
                           << ", user: tls, password: pw, stop_at_end: true, ssl_mode: VERIFY_CA, ssl_ca: " << certs.ca()
                           << ",\n         snapshot: {mode: initial, tables: [app.s], chunk_rows: 1}}\n"
                              "sinks:\n  - {name: out, type: spool, directory: "
                           << spool.string() << ", codec: binary}\ncheckpoint: " << (dir.path() / "cursor").string() << "\n";
        auto p = test::process::start({{ROWCASTD_EXE, cfg.string()}, {}, log, {}});
        ASSERT_EQ(p.wait(), 0) << slurp(log);
        std::size_t reads = 0;
        for (const auto& f : spool_files(spool)) reads += is_snapshot_read(decode_file(f)) ? 1 : 0;
        EXPECT_EQ(reads, 4u) << slurp(log);
    }
#endif
}

}  // namespace
