// rowcastd (examples/daemon) and the daemon component (rowcast/daemon/*.hpp,
// pipeline/fanout.hpp) end to end: the daemon runs as a child process against
// one private mariadbd and one private named shared by the suite.
//   - binlog -> spool + stdout: every row in both, /metrics scraped and parsed
//     (events per sink, lag back to 0, position), SIGTERM drains (exit 0, status
//     file says rowcast_up 0, checkpoint saved);
//   - kill -9 cycles (3) while rows are written: every row reaches the spool;
//   - spool -> DNS with the DNS server stopped (SIGSTOP) and back: the sink is
//     reported down, lag grows in /metrics, then every record is in the zone and
//     lag is 0 again; nothing lost;
//   - config errors name the key and the line; unknown keys are errors;
//   - SIGHUP reloads the log settings at once, and reopens the relay on a changed pipeline
//     (a config that does not parse or cannot be opened leaves the old one);
//   - spool -> rowcastd -> udp / netlink / spread -> a second rowcastd -> spool:
//     every event arrives once, in order (udp and netlink in a network namespace,
//     tests/support/netns.hpp; spread against tests/support/spread_daemon.hpp).
// No timed assertion: waits are liveness guards (60 s) on conditions.
#include <rowcast/codec/binary.hpp>
#include <rowcast/daemon/config.hpp>
#include <rowcast/daemon/metrics.hpp>
#include <rowcast/daemon/relay.hpp>
#include <rowcast/journal/writer.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/free_port.hpp"
#include "support/mariadb_server.hpp"
#include "support/named_server.hpp"
#include "support/netns.hpp"
#include "support/process.hpp"
#include "support/sample_events.hpp"
#include "support/spread_daemon.hpp"
#include "support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using rowcast::test::mariadb_server;
using rowcast::test::named_server;
using rowcast::test::process;
using rowcast::test::temp_dir;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Liveness guard: polls `ok` for up to 60 s; false if it never held.
bool eventually(const std::function<bool()>& ok) {
    for (int i = 0; i < 1200; ++i) {
        if (ok()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ok();
}

// name{labels} -> value, from Prometheus text; HELP/TYPE lines checked for every family.
std::map<std::string, double> parse_metrics(const std::string& text) {
    std::map<std::string, double> out;
    std::set<std::string> typed;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# TYPE ", 0) == 0) {
            typed.insert(line.substr(7, line.find(' ', 7) - 7));
            continue;
        }
        if (line.empty() || line[0] == '#') continue;
        const auto sp = line.rfind(' ');
        const std::string key = line.substr(0, sp);
        EXPECT_TRUE(typed.count(key.substr(0, key.find('{')))) << "no # TYPE before " << line;
        out[key] = std::stod(line.substr(sp + 1));
    }
    return out;
}

std::map<std::string, double> scrape(unsigned port) {
    httplib::Client c("127.0.0.1", static_cast<int>(port));
    c.set_connection_timeout(2, 0);
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) return {};
    return parse_metrics(r->body);
}

std::size_t count_files(const fs::path& dir) {
    std::size_t n = 0;
    if (!fs::exists(dir)) return 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') ++n;
    return n;
}

std::size_t count_in(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
    return n;
}

// An insert into inventory.hosts with id i (host dm<i>, 192.0.2.<100+i>).
rowcast::event host_event(int i) {
    rowcast::event e;
    e.kind = rowcast::event_kind::insert;
    e.schema = "inventory";
    e.table = "hosts";
    e.columns = rowcast::test::hosts_columns();
    e.after = {std::uint64_t(i), rowcast::text{"dm" + std::to_string(i)}, rowcast::text{"192.0.2." + std::to_string(100 + i)},
               rowcast::null_value{}, rowcast::null_value{}, rowcast::null_value{}, rowcast::null_value{},
               rowcast::null_value{}};
    e.commit_time = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    return e;
}

// The ids of the events in the JSON spool files of `dir`, in file-name (= production) order.
std::vector<int> ids_in(const fs::path& dir) {
    std::vector<fs::path> files;
    if (fs::exists(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<int> ids;
    for (const auto& f : files) {
        const std::string t = slurp(f);
        const auto p = t.find("\"new\":{\"id\":");
        if (p != std::string::npos) ids.push_back(std::stoi(t.substr(p + 12)));
    }
    return ids;
}

class Daemon : public ::testing::Test {
protected:
    // The servers start on first use and are shared by the tests of this process (ctest runs
    // each test in a process of its own: the tests that need no server start none).
    static mariadb_server& db() {
        if (!db_) {
            db_ = std::make_unique<mariadb_server>();
            auto c = db().connect();
            c.query("CREATE DATABASE inv");
            c.query("CREATE TABLE inv.hosts (id INT PRIMARY KEY, hostname VARCHAR(64), ip VARCHAR(45))");
        }
        return *db_;
    }
    static named_server& dns() {
        if (!dns_) dns_ = std::make_unique<named_server>();
        return *dns_;
    }
    static void TearDownTestSuite() {
        dns_.reset();
        db_.reset();
    }

    // Starts rowcastd on `yaml` (written to dir/rowcastd.yaml); stdout to dir/out, stderr to dir/err.
    process start(const std::string& yaml) {
        std::ofstream(dir_.path() / "rowcastd.yaml") << yaml;
        return process::start({{ROWCASTD_EXE, (dir_.path() / "rowcastd.yaml").string()},
                               {},
                               dir_.path() / "out",
                               dir_.path() / "err"});
    }

    std::string binlog_source() const {
        return "source:\n  type: binlog\n  socket: " + db().socket().string() +
               "\n  user: root\n  server_id: 5151\n  heartbeat_ms: 1000\n";
    }

    void insert_rows(int from, int to) {
        auto c = db().connect();
        for (int i = from; i < to; ++i)
            c.query("INSERT INTO inv.hosts VALUES (" + std::to_string(i) + ", 'h" + std::to_string(i) + "', '192.0.2." +
                    std::to_string(i % 250 + 1) + "')");
    }

    std::string err_log() const { return slurp(dir_.path() / "err"); }

    // Starts rowcastd on `yaml` as `name` (dir/<name>.yaml, stdout and stderr to dir/<name>.log),
    // in network namespace `netns` when given.
    process start_as(const std::string& name, const std::string& yaml, const std::string& netns = "") {
        const fs::path cfg = dir_.path() / (name + ".yaml");
        std::ofstream(cfg) << yaml;
        std::vector<std::string> argv{ROWCASTD_EXE, cfg.string()};
        if (!netns.empty()) argv.insert(argv.begin(), {"/usr/bin/ip", "netns", "exec", netns});
        return process::start({argv, {}, dir_.path() / (name + ".log"), {}});
    }
    std::string log_of(const std::string& name) const { return slurp(dir_.path() / (name + ".log")); }

    // spool (40 events) -> rowcastd "sender" with sink `sink` -> rowcastd "receiver" with
    // source `source` -> spool: every event arrives once, in order; both stop cleanly.
    // The receiver's status file (its metrics at the stop) is dir/receiver.prom.
    void relay_through(const std::string& source, const std::string& sink, const std::string& netns = "") {
        const fs::path in = dir_.path() / "in", out = dir_.path() / "out-spool";
        fs::create_directories(in);
        fs::create_directories(out);
        auto receiver = start_as("receiver", "source:\n" + source + "sinks:\n  - {type: spool, directory: " + out.string() +
                                                 ", codec: json, durability: none}\nstatus_file: " +
                                                 (dir_.path() / "receiver.prom").string() + "\n", netns);
        ASSERT_TRUE(eventually([&] { return log_of("receiver").find("running: source") != std::string::npos; }))
            << log_of("receiver");
        auto writer = rowcast::spool_writer<rowcast::binary_codec>::open({in, rowcast::spool_durability::none}).value();
        std::vector<int> want;
        for (int i = 1; i <= 40; ++i) {
            ASSERT_TRUE(writer.write(host_event(i)));
            want.push_back(i);
        }
        auto sender = start_as("sender", "source: {type: spool, directory: " + in.string() + ", codec: binary}\nsinks:\n" + sink,
                               netns);
        std::vector<int> got;
        ASSERT_TRUE(eventually([&] {
            got = ids_in(out);
            return got.size() >= want.size();
        })) << "got " << got.size() << " in " << count_files(out) << " files; left in the input: " << count_files(in) << "\n"
            << log_of("sender") << log_of("receiver");
        EXPECT_EQ(got, want);
        EXPECT_EQ(count_files(in), 0u);  // every input file acknowledged by the sink, then removed
        sender.signal(SIGTERM);
        receiver.signal(SIGTERM);
        EXPECT_EQ(sender.wait(), 0) << log_of("sender");
        EXPECT_EQ(receiver.wait(), 0) << log_of("receiver");
    }

    static inline std::unique_ptr<mariadb_server> db_;
    static inline std::unique_ptr<named_server> dns_;
    temp_dir dir_{"rowcastd"};
};

TEST_F(Daemon, BinlogToSpoolAndStdoutWithMetricsAndDrainOnSigterm) {
    auto c = db().connect();
    c.query("DELETE FROM inv.hosts");
    c.query("FLUSH BINARY LOGS");  // start from a new file: earlier tests' rows are not ours
    const std::string file = c.rows("SHOW MASTER STATUS").at(0).at(0).value();
    const unsigned port = rowcast::test::free_port();
    fs::create_directories(dir_.path() / "spool");
    auto d = start(binlog_source() + "  start_file: " + file +
                   "\nfilters:\n  include_tables: [inv.hosts]\n"
                   "sinks:\n"
                   "  - {name: cache, type: spool, directory: " + (dir_.path() / "spool").string() + ", codec: json, durability: none}\n"
                   "  - {name: console, type: stdout, codec: json, envelope: maxwell}\n"
                   "checkpoint: " + (dir_.path() / "cursor").string() + "\n"
                   "status_file: " + (dir_.path() / "status.prom").string() + "\n"
                   "metrics: {listen: '127.0.0.1:" + std::to_string(port) + "'}\n");
    insert_rows(1, 21);
    ASSERT_TRUE(eventually([&] { return count_files(dir_.path() / "spool") >= 60; })) << err_log();  // begin+row+commit each
    ASSERT_TRUE(eventually([&] { return count_in(slurp(dir_.path() / "out"), "\"table\":\"hosts\"") >= 20; })) << err_log();
    // the Maxwell sink turns holding on: every row carries its transaction's XID
    ASSERT_TRUE(eventually([&] { return count_in(slurp(dir_.path() / "out"), "\"xid\":") >= 60; })) << err_log();
    EXPECT_EQ(count_in(slurp(dir_.path() / "out"), "\"type\":\"insert\",\"ts\":"), 20u);
    EXPECT_EQ(count_in(slurp(dir_.path() / "out"), "\"xoffset\":0,\"commit\":true"), 20u);
    EXPECT_EQ(count_in(slurp(dir_.path() / "out"), "\"xid\":"), 120u);  // begin, row, commit: top level and rowcast.transaction
    std::map<std::string, double> m;
    ASSERT_TRUE(eventually([&] {
        m = scrape(port);
        return m["rowcast_sink_events_out_total{sink=\"cache\"}"] >= 60 && m["rowcast_lag_seconds"] == 0;
    })) << err_log();
    EXPECT_EQ(m["rowcast_up"], 1);
    EXPECT_EQ(m["rowcast_sink_events_out_total{sink=\"console\"}"], m["rowcast_sink_events_out_total{sink=\"cache\"}"]);
    EXPECT_EQ(m["rowcast_sink_up{sink=\"cache\"}"], 1);
    EXPECT_EQ(m["rowcast_sink_queue_depth{sink=\"console\"}"], 0);
    EXPECT_GE(m["rowcast_events_in_total"], 60);
    EXPECT_TRUE(m.count("rowcast_reconnects_total") && m.count("rowcast_gaps_total") && m.count("rowcast_quarantined_total"));
    EXPECT_EQ(m.count("rowcast_source_xid_unknown_total{type=\"binlog\"}"), 1u);  // none over the hold limit
    EXPECT_EQ(m["rowcast_source_xid_unknown_total{type=\"binlog\"}"], 0);
    bool has_position = false;
    for (const auto& [k, v] : m)
        if (k.rfind("rowcast_position_info{position=\"" + file + ":", 0) == 0) has_position = true;
    EXPECT_TRUE(has_position);
    httplib::Client hc("127.0.0.1", static_cast<int>(port));
    auto h = hc.Get("/healthz");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);

    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << err_log();
    const auto status = parse_metrics(slurp(dir_.path() / "status.prom"));
    EXPECT_EQ(status.at("rowcast_up"), 0);
    EXPECT_THAT(slurp(dir_.path() / "cursor"), ::testing::HasSubstr("file=" + file));
    EXPECT_THAT(err_log(), ::testing::HasSubstr("checkpoint: " + file + ":"));
}

TEST_F(Daemon, KillNineCyclesLoseNothing) {
    auto c = db().connect();
    c.query("DELETE FROM inv.hosts");
    c.query("FLUSH BINARY LOGS");
    const std::string file = c.rows("SHOW MASTER STATUS").at(0).at(0).value();
    fs::create_directories(dir_.path() / "spool");
    const std::string yaml = binlog_source() + "  start_file: " + file +
                             "\nfilters:\n  include_tables: [inv.hosts]\n"
                             "sinks:\n  - {name: cache, type: spool, directory: " + (dir_.path() / "spool").string() +
                             ", codec: json, durability: none}\n"
                             "checkpoint: " + (dir_.path() / "cursor").string() + "\n";
    int next = 1000;
    for (int cycle = 0; cycle < 3; ++cycle) {
        auto d = start(yaml);
        insert_rows(next, next + 30);
        next += 30;
        const std::size_t before = count_files(dir_.path() / "spool");
        ASSERT_TRUE(eventually([&] { return count_files(dir_.path() / "spool") > before; })) << err_log();
        d.signal(SIGKILL);  // mid-stream: some rows may not be out yet
        d.wait();
    }
    auto d = start(yaml);
    std::set<int> seen;
    ASSERT_TRUE(eventually([&] {
        seen.clear();
        for (const auto& e : fs::directory_iterator(dir_.path() / "spool")) {
            if (!e.is_regular_file()) continue;
            const std::string t = slurp(e.path());
            const auto p = t.find("\"new\":{\"id\":");
            if (p != std::string::npos) seen.insert(std::stoi(t.substr(p + 12)));
        }
        return seen.size() == 90;
    })) << "rows seen: " << seen.size() << "\n" << err_log();
    // The rows may all be out from the earlier cycles: wait for this run to be up before stopping it.
    // (The log file is appended to by every run: this is the fourth.)
    ASSERT_TRUE(eventually([&] { return count_in(err_log(), "running: source binlog") == 4; })) << err_log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << err_log();
}

TEST_F(Daemon, SpoolToDnsSinkDownAndBackNothingLostLagShown) {
    const fs::path in = dir_.path() / "in";
    fs::create_directories(in);
    const unsigned port = rowcast::test::free_port();
    auto d = start("source: {type: spool, directory: " + in.string() + ", codec: binary}\n"
                   "sinks:\n"
                   "  - name: zone\n    type: dns\n    port: " + std::to_string(dns().port()) +
                   "\n    key_file: " + dns().key_file().string() +
                   "\n    timeout_ms: 200\n    attempts: 1\n    forward_zones: [example.test]\n"
                   "    reverse_zones: [2.0.192.in-addr.arpa]\n"
                   "    quarantine_directory: " + (dir_.path() / "rejected").string() +
                   "\n    tables: [{schema: inventory, table: hosts}]\n"
                   "metrics: {listen: '127.0.0.1:" + std::to_string(port) + "'}\n");
    auto writer = rowcast::spool_writer<rowcast::binary_codec>::open({in, rowcast::spool_durability::none}).value();
    auto put = [&](int i) { ASSERT_TRUE(writer.write(host_event(i))); };
    put(1);
    ASSERT_TRUE(eventually([&] { return !dns().dig("dm1.example.test", "A").empty(); })) << err_log();

    ::kill(dns().pid(), SIGSTOP);  // the DNS server stops answering
    for (int i = 2; i <= 6; ++i) put(i);
    std::map<std::string, double> m;
    const bool down = eventually([&] {
        m = scrape(port);
        return m["rowcast_sink_up{sink=\"zone\"}"] == 0 && m["rowcast_lag_seconds"] >= 1.0 &&
               m["rowcast_sink_lag_seconds{sink=\"zone\"}"] >= 1.0;
    });
    httplib::Client hc("127.0.0.1", static_cast<int>(port));
    auto h = hc.Get("/healthz");
    ::kill(dns().pid(), SIGCONT);
    ASSERT_TRUE(down) << err_log();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 503);
    EXPECT_THAT(err_log(), ::testing::HasSubstr("sink 'zone' failed"));

    ASSERT_TRUE(eventually([&] {
        m = scrape(port);
        return m["rowcast_sink_up{sink=\"zone\"}"] == 1 && m["rowcast_lag_seconds"] == 0 &&
               m["rowcast_sink_events_out_total{sink=\"zone\"}"] == 6;
    })) << err_log();
    for (int i = 1; i <= 6; ++i)
        EXPECT_THAT(dns().dig("dm" + std::to_string(i) + ".example.test", "A"),
                    ::testing::ElementsAre("192.0.2." + std::to_string(100 + i)));
    EXPECT_EQ(count_files(in), 0u);  // every spool file acknowledged, then removed
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << err_log();
}

// journal (the trigger path's journal output) -> rowcastd -> spool: every event once and in
// order, delivered segments retired; after a SIGTERM and restart it resumes from the checkpoint's
// journal cursor (the events of the segment still written are not sent again).
TEST_F(Daemon, JournalSourceResumesFromCheckpointAndRetiresSegments) {
    const fs::path in = dir_.path() / "journal", out = dir_.path() / "out-spool";
    fs::create_directories(in);
    fs::create_directories(out);
    auto writer = rowcast::journal_writer<rowcast::binary_codec>::open(
                      {.directory = in, .durability = rowcast::journal_durability::none, .segment_size = 4096})
                      .value();
    for (int i = 1; i <= 30; ++i) ASSERT_TRUE(writer.write(host_event(i)));
    const std::string yaml = "source: {type: journal, directory: " + in.string() + ", codec: binary}\ncheckpoint: " +
                             (dir_.path() / "cursor").string() + "\nsinks:\n  - {type: spool, directory: " + out.string() +
                             ", codec: json, durability: none}\n";
    std::vector<int> want;
    for (int i = 1; i <= 30; ++i) want.push_back(i);
    {
        auto d = start(yaml);
        ASSERT_TRUE(eventually([&] { return ids_in(out).size() >= 30; })) << err_log();
        d.signal(SIGTERM);
        EXPECT_EQ(d.wait(), 0) << err_log();
    }
    EXPECT_EQ(ids_in(out), want);
    std::size_t segments = 0;
    for (const auto& e : fs::directory_iterator(in)) segments += e.path().extension() == ".rcj";
    EXPECT_EQ(segments, 1u);  // all but the one still written were retired
    EXPECT_NE(slurp(dir_.path() / "cursor").find("journal_segment="), std::string::npos);
    for (int i = 31; i <= 35; ++i) {
        ASSERT_TRUE(writer.write(host_event(i)));
        want.push_back(i);
    }
    auto d = start(yaml);
    ASSERT_TRUE(eventually([&] { return ids_in(out).size() >= 35; })) << err_log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << err_log();
    EXPECT_EQ(ids_in(out), want);  // no event twice
}

TEST_F(Daemon, ConfigErrorsNameTheKeyAndTheLine) {
    namespace rd = rowcast::daemon;
    const std::string ok_source = "source: {type: binlog_files, files: [a.bin]}\n";
    struct bad_case {
        std::string yaml;
        std::string message;
    };
    const std::vector<bad_case> cases = {
        {ok_source + "sinks:\n  - name: a\n    type: stdout\n    codec: jsn\n",
         "sinks[0].codec at line 5: unknown codec 'jsn' (accepted: json, yaml, binary)"},
        {ok_source + "sinks:\n  - {type: stdout}\n  - {type: stdout, colour: red}\n",
         "sinks[1].colour at line 4: unknown key (accepted: type, name, queue_capacity, codec, envelope, key_separator)"},
        {ok_source + "sinks:\n  - {type: stdout, codec: yaml, key_separator: \"\\t\"}\n",
         "sinks[0].key_separator at line 3: keyed lines need the json codec"},
        {ok_source + "sinks: [{type: stdout}]\ncolour: red\n", "colour at line 3: unknown key"},
        {ok_source + "sinks: [{type: smoke}]\n", "sinks[0].type at line 2: unknown type 'smoke' (accepted: stdout, spool, dns"},
        {"source: {type: binlog}\nsinks: [{type: stdout}]\n", "source.user at line 1: is required"},
        {"source: {type: binlog, user: r, port: 99999}\nsinks: [{type: stdout}]\n",
         "source.port at line 1: 99999 is out of range (1-65535)"},
        {"source: {type: binlog, user: r, port: abc}\nsinks: [{type: stdout}]\n", "source.port at line 1: 'abc' is not a whole number"},
        {"source: {type: binlog, user: r, ssl_mode: sometimes}\nsinks: [{type: stdout}]\n",
         "source.ssl_mode at line 1: 'sometimes' is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"},
        {ok_source + "sinks:\n  - {type: stdout, codec: yaml, envelope: debezium}\n",
         "sinks[0].envelope at line 3: [rowcast.codec.invalid_value] envelope: the debezium envelope is for the json codec"},
        {ok_source + "sinks: []\n", "sinks at line 2: must be a list of at least one sink"},
        {ok_source, "sinks at line 1: is required"},
        {ok_source + "sinks: [{type: stdout}, {type: stdout}]\n", "sinks[1].name at line 2: a second sink named 'stdout'"},
        {ok_source + "sinks: [{type: spool}]\n", "sinks[0].directory at line 2: is required"},
        {ok_source + "sinks: [{type: stdout, queue_capacity: 0}]\n", "sinks[0].queue_capacity at line 2: 0 is out of range"},
        {ok_source + "sinks: [{type: stdout}]\nlog: {format: xml}\n",
         "log.format at line 3: unknown value 'xml' (accepted: text, json)"},
        {ok_source + "sinks: [{type: stdout}]\nmetrics: {listen: nowhere}\n", "metrics.listen at line 3: 'nowhere' is not host:port"},
        {ok_source + "sinks: [{type: stdout}]\nfilters: {include_tables: [a.b], tables: [x]}\n", "filters.tables at line 3: unknown key"},
        {ok_source + "source: {type: spool}\nsinks: [{type: stdout}]\n", "source at line 2: given twice"},
        {"source: {type: binlog_files, files: [a]}\nsinks: [{type: stdout}\n", "YAML at line"},
        {"sinks: [{type: stdout}]\n", "source at line 1: is required"},
        {"source: {type: spool, directory: /x, max_batch: 0}\nsinks: [{type: stdout}]\n", "source.max_batch at line 1: 0 is out of range"},
        {ok_source + "sinks:\n  - type: dns\n    key_file: /nonexistent.key\n    quarantine_directory: /tmp/q\n"
                     "    forward_zones: [example.test]\n    tables: [{table: hosts, colour: x}]\n",
         "sinks[0].tables[0].colour at line 7: unknown key"},
        // spread
        {ok_source + "sinks: [{type: spread, service: loud}]\n",
         "sinks[0].service at line 2: unknown value 'loud' (accepted: unreliable, reliable, fifo, causal, agreed, safe)"},
        {ok_source + "sinks: [{type: spread, private_name: much-too-long}]\n", "sinks[0].private_name at line 2: 'much-too-long' is longer"},
        {ok_source + "sinks: [{type: spread, group_template: ''}]\n", "sinks[0].group_template at line 2: '' does not make"},
        {"source: {type: spread, quarantine_directory: /tmp/q}\nsinks: [{type: stdout}]\n", "source.groups at line 1: is required"},
        {"source: {type: spread, groups: [rc.a.b]}\nsinks: [{type: stdout}]\n", "source.quarantine_directory at line 1: is required"},
#if defined(ROWCAST_DAEMON_DATAGRAM)
        // udp
        {ok_source + "sinks: [{type: udp, port: 5999}]\n", "sinks[0].group at line 2: is required"},
        {ok_source + "sinks: [{type: udp, group: 239.1.1.1}]\n", "sinks[0].port at line 2: is required"},
        {ok_source + "sinks: [{type: udp, group: 10.0.0.1, port: 5999}]\n",
         "sinks[0].group at line 2: '10.0.0.1' is not an IPv4 or IPv6 multicast group"},
        {ok_source + "sinks: [{type: udp, group: 239.1.1.1, port: 5999, hops: 300}]\n", "sinks[0].hops at line 2: 300 is out of range"},
        {ok_source + "sinks: [{type: udp, group: 239.1.1.1, port: 5999, max_datagram: 200}]\n",
         "sinks[0].max_datagram at line 2: 200 is out of range (351-65000)"},
        {ok_source + "sinks: [{type: udp, group: 239.1.1.1, port: 5999, interface: nosuch0}]\n",
         "sinks[0].interface at line 2: no interface 'nosuch0'"},
        {"source: {type: udp, group: 239.1.1.1, port: 5999, hops: 2}\nsinks: [{type: stdout}]\n",
         "source.hops at line 1: unknown key"},
        {ok_source + "sinks: [{type: udp, group: 239.1.1.1, port: 5999, key_file: /nonexistent.key}]\n",
         "sinks[0].key_file at line 2: cannot read '/nonexistent.key'"},
        {ok_source + "sinks: [{type: udp, group: 239.1.1.1, port: 5999, key_id: 2}]\n", "sinks[0].key_id at line 2: needs 'key_file'"},
        // netlink
        {ok_source + "sinks: [{type: netlink, groups: {shop.items: 33}}]\n", "sinks[0].groups.shop.items at line 2: 33 is out of range (1-32)"},
        {ok_source + "sinks: [{type: netlink, groups: [1]}]\n", "sinks[0].groups at line 2: must be a mapping"},
        {"source: {type: netlink, tables: [shop.items], ring: 5}\nsinks: [{type: stdout}]\n", "source.ring at line 1: unknown key"},
#endif
    };
    for (const auto& c : cases) {
        auto r = rd::parse_config(c.yaml, "t.yaml", rd::types());
        ASSERT_FALSE(r) << c.yaml;
        EXPECT_THAT(r.error_value().message, ::testing::HasSubstr("[rowcast.daemon.invalid_value] t.yaml: " + c.message))
            << c.yaml;
    }
    // The program: --check exits 2 with the message, 0 with "ok".
    std::ofstream(dir_.path() / "bad.yaml") << cases[0].yaml;
    auto bad = process::start({{ROWCASTD_EXE, "--check", (dir_.path() / "bad.yaml").string()}, {}, dir_.path() / "check.out", {}});
    EXPECT_EQ(bad.wait(), 2);
    EXPECT_THAT(slurp(dir_.path() / "check.out"), ::testing::HasSubstr("sinks[0].codec at line 5"));
    std::ofstream(dir_.path() / "good.yaml") << ok_source << "sinks: [{type: stdout}]\n";
    auto good = process::start({{ROWCASTD_EXE, "--check", (dir_.path() / "good.yaml").string()}, {}, dir_.path() / "check2.out", {}});
    EXPECT_EQ(good.wait(), 0);
    EXPECT_THAT(slurp(dir_.path() / "check2.out"), ::testing::HasSubstr("ok"));
}

TEST_F(Daemon, SighupReloadsLogSettingsAtOnce) {
    const fs::path in = dir_.path() / "in";
    fs::create_directories(in);
    const std::string base = "source: {type: spool, directory: " + in.string() + "}\nsinks: [{type: stdout}]\n";
    auto d = start(base + "log: {format: text}\n");
    ASSERT_TRUE(eventually([&] { return err_log().find("running: source spool") != std::string::npos; })) << err_log();
    std::ofstream(dir_.path() / "rowcastd.yaml") << base << "log: {format: json}\nmetrics: {listen: '127.0.0.1:0'}\n";
    d.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return err_log().find("\"message\":\"SIGHUP: log settings reloaded\"") != std::string::npos; }))
        << err_log();
    EXPECT_THAT(err_log(), ::testing::HasSubstr("'metrics' changed: takes effect after a restart (not applied)"));
    EXPECT_EQ(count_in(err_log(), "running: source spool"), 1u) << "a log-only change does not reopen the relay";
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0);
}

// SIGHUP with a changed pipeline: the relay drains, saves its cursor and reopens on the new
// config in the same process; a config that does not parse, or that cannot be opened, leaves
// the old one in force. Every event reaches the sinks of the config in force when it was read.
TEST_F(Daemon, SighupWithNewSinksReopensTheRelayAndLosesNothing) {
    const fs::path in = dir_.path() / "in", a = dir_.path() / "a", b = dir_.path() / "b";
    for (const auto& p : {in, a, b}) fs::create_directories(p);
    const std::string source = "source: {type: spool, directory: " + in.string() + ", codec: binary}\ncheckpoint: " +
                               (dir_.path() / "cursor").string() + "\n";
    const std::string sink_a = "  - {name: a, type: spool, directory: " + a.string() + ", codec: json, durability: none}\n";
    const std::string sink_b = "  - {name: b, type: spool, directory: " + b.string() + ", codec: json, durability: none}\n";
    auto d = start(source + "sinks:\n" + sink_a);
    ASSERT_TRUE(eventually([&] { return err_log().find("running: source spool") != std::string::npos; })) << err_log();
    auto writer = rowcast::spool_writer<rowcast::binary_codec>::open({in, rowcast::spool_durability::none}).value();
    auto write = [&](int from, int to) {
        for (int i = from; i <= to; ++i) ASSERT_TRUE(writer.write(host_event(i)));
    };
    auto range = [](int from, int to) {
        std::vector<int> v;
        for (int i = from; i <= to; ++i) v.push_back(i);
        return v;
    };
    write(1, 20);
    ASSERT_TRUE(eventually([&] { return ids_in(a).size() >= 20; })) << err_log();

    // 1. a second sink: reopened, new events reach both
    std::ofstream(dir_.path() / "rowcastd.yaml") << source << "sinks:\n" << sink_a << sink_b;
    d.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return count_in(err_log(), "SIGHUP: the new config is in force") == 1; })) << err_log();
    EXPECT_THAT(err_log(), ::testing::HasSubstr("SIGHUP: 'sinks' changed: draining the relay"));
    write(21, 40);
    ASSERT_TRUE(eventually([&] { return ids_in(a).size() >= 40 && ids_in(b).size() >= 20; })) << err_log();

    // 2. a file that does not parse: reported, nothing changes
    std::ofstream(dir_.path() / "rowcastd.yaml") << source << "sinks:\n  - {type: nosuchtype}\n";
    d.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return err_log().find("SIGHUP: config not reloaded") != std::string::npos; })) << err_log();

    // 3. a config that parses but cannot be opened (the sink's directory is a file): the old one again
    std::ofstream(dir_.path() / "not-a-dir") << "x";
    std::ofstream(dir_.path() / "rowcastd.yaml")
        << source << "sinks:\n" << sink_a << "  - {name: c, type: spool, directory: " << (dir_.path() / "not-a-dir").string()
        << ", codec: json}\n";
    d.signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return err_log().find("the old one is opened again") != std::string::npos; })) << err_log();
    write(41, 60);
    ASSERT_TRUE(eventually([&] { return ids_in(a).size() >= 60 && ids_in(b).size() >= 40; })) << err_log();

    d.signal(SIGTERM);
    EXPECT_EQ(d.wait(), 0) << err_log();
    // at least once across the reopenings, in order, nothing invented: each sink saw every id
    // once it was configured, and no file left in the input
    auto first_seen = [](const std::vector<int>& v) {  // a replay after a reopening repeats a tail
        std::vector<int> out;
        std::set<int> seen;
        for (int i : v)
            if (seen.insert(i).second) out.push_back(i);
        return out;
    };
    EXPECT_EQ(first_seen(ids_in(a)), range(1, 60));
    EXPECT_EQ(first_seen(ids_in(b)), range(21, 60));
    EXPECT_EQ(count_files(in), 0u);
}

TEST_F(Daemon, UdpMulticastSinkToUdpSourceEveryEventInOrder) {
    if (!rowcast::test::netns_lab::available()) GTEST_SKIP() << "needs root, iproute2 and nftables";
    rowcast::test::netns_lab lab(1);
    std::ofstream(dir_.path() / "mc.key", std::ios::binary) << "0123456789abcdef0123456789abcdef";
    const std::string link = "group: 239.77.9.1\n    port: 5977\n    interface: eth0\n    key_file: " +
                             (dir_.path() / "mc.key").string() + "\n    key_id: 7\n";
    lab.loss(0, 5977, 50);  // half of the datagrams (repairs too) dropped: gaps, repaired by NAKs
    relay_through("    type: udp\n    " + link + "    catch_up: 64\n    nak_tries: 40\n",
                  "  - name: lan\n    type: udp\n    " + link + "    loopback: true\n    source_id: 99\n"
                  "    max_datagram: 351\n",  // the smallest: about one event per datagram
                  lab.host(0));
    const auto status = parse_metrics(slurp(dir_.path() / "receiver.prom"));
    EXPECT_GT(status.at("rowcast_gaps_total"), 0);  // the consumer's gaps, in the daemon's metric
    EXPECT_GT(status.at("rowcast_source_repaired_total{type=\"udp\"}"), 0);
    EXPECT_EQ(status.at("rowcast_source_unrecoverable_total{type=\"udp\"}"), 0);
}

TEST_F(Daemon, NetlinkSinkToNetlinkSourceEveryEventInOrder) {
    if (!rowcast::test::netns_lab::available()) GTEST_SKIP() << "needs root, iproute2 and nftables";
    rowcast::test::netns_lab lab(1);  // a namespace of its own: netlink groups are per namespace
    relay_through("    type: netlink\n    groups: {inventory.hosts: 5}\n    tables: [inventory.hosts]\n    catch_up: 64\n",
                  "  - {type: netlink, groups: {inventory.hosts: 5}}\n", lab.host(0));
}

TEST_F(Daemon, SpreadSinkToSpreadSourceEveryEventInOrder) {
    rowcast::test::spread_daemon spread;
    const std::string at = "port: " + std::to_string(spread.port()) + ", ";
    relay_through("  {type: spread, " + at + "private_name: rx, groups: [rc.inventory.hosts], quarantine_directory: " +
                      (dir_.path() / "bad").string() + "}\n",
                  "  - {type: spread, " + at + "private_name: tx, service: fifo, codec: json}\n");
}

// The binlog sources follow the sinks' envelopes: a Debezium sink turns the capture time on (Debezium's
// ts_ms/ts_us/ts_ns; `capture_time: false` turns it off), a Maxwell sink holds each transaction for its
// XID (`xid_hold_bytes` sets the limit, 0 turns it off).
TEST(DaemonConfig, BinlogSourcesFollowTheSinksEnvelopes) {
    namespace rd = rowcast::daemon;
    auto parser_of = [](const std::string& yaml) {
        auto c = rd::parse_config(yaml, "t.yaml", rd::types());
        EXPECT_TRUE(c) << c.error_value().message;
        if (!c) return rowcast::binlog::parser_options{};
        namespace dd = rowcast::detail::daemon;
        const auto needs = dd::needs_of(c->sinks);
        const auto files = dd::read_binlog_files(rowcast::detail::node_reader(c->source.node, c->source.path), needs).parser;
        return files;
    };
    const std::string src = "source: {type: binlog_files, files: [a.bin]";
    auto p = parser_of(src + "}\nsinks: [{type: stdout}]\n");
    EXPECT_FALSE(p.capture_time);
    EXPECT_FALSE(p.hold_for_xid);
    p = parser_of(src + "}\nsinks: [{type: stdout}, {name: b, type: stdout, envelope: debezium}]\n");
    EXPECT_TRUE(p.capture_time);
    EXPECT_FALSE(p.hold_for_xid);
    p = parser_of(src + ", capture_time: false}\nsinks: [{type: stdout, envelope: debezium}]\n");
    EXPECT_FALSE(p.capture_time);
    p = parser_of(src + "}\nsinks: [{type: stdout, envelope: maxwell}]\n");
    EXPECT_FALSE(p.capture_time);
    EXPECT_TRUE(p.hold_for_xid);
    EXPECT_EQ(p.hold_max_bytes, std::size_t{64} << 20);
    p = parser_of(src + ", xid_hold_bytes: 4096}\nsinks: [{type: stdout, envelope: maxwell}]\n");
    EXPECT_TRUE(p.hold_for_xid);
    EXPECT_EQ(p.hold_max_bytes, 4096u);
    p = parser_of(src + ", xid_hold_bytes: 0}\nsinks: [{type: stdout, envelope: maxwell}]\n");
    EXPECT_FALSE(p.hold_for_xid);
}

TEST(DaemonMetrics, PrometheusTextGroupsFamiliesAndEscapesLabels) {
    rowcast::stats_registry reg;
    rowcast::fanout_sink_stats a, b;
    a.events_out = 3;
    a.lag_ms = 1500;
    b.up = false;
    reg.add("sink{sink=\"a\"}", [&] { return a; });
    reg.add("sink{sink=\"b\\\"q\"}", [&] { return b; });
    rowcast::daemon::prometheus_text t;
    t.add(reg);
    t.info("position_info", "where", {{"position", "f\"1\n"}});
    const std::string s = t.str();
    EXPECT_THAT(s, ::testing::HasSubstr("# TYPE rowcast_sink_events_out_total counter\n"
                                        "rowcast_sink_events_out_total{sink=\"a\"} 3\n"
                                        "rowcast_sink_events_out_total{sink=\"b\\\"q\"} 0\n"));
    EXPECT_THAT(s, ::testing::HasSubstr("rowcast_sink_lag_seconds{sink=\"a\"} 1.5\n"));
    EXPECT_THAT(s, ::testing::HasSubstr("rowcast_sink_up{sink=\"b\\\"q\"} 0\n"));
    EXPECT_THAT(s, ::testing::HasSubstr("rowcast_position_info{position=\"f\\\"1\\n\"} 1\n"));
    EXPECT_EQ(rowcast::daemon::decimal_text(-250, 3), "-0.25");
    EXPECT_EQ(rowcast::daemon::decimal_text(7, 0), "7");
}

}  // namespace
