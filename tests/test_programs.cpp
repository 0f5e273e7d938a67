// The programs (examples/), each run as a child process: the shared command-line
// conventions (docs/programs.md) and what each program does with its options.
//   every program: --help on stdout with exit 0, --version with exit 0, an unknown
//   option exits 2 with a message on stderr, --opt=value is accepted;
//   rowcast-spool-tail: a spool round trip in every codec pair, --count, the filters
//   (no empty BEGIN/COMMIT pair), --keep, runtime errors exit 1;
//   rowcast-binlog: --table=db.t on a fixture, envelopes and codecs, no empty pairs,
//   usage errors, --max-retries against a closed port ends with exit 1 and the reason;
//   hostile spool contents (issue 19): a FIFO named like an event blocks neither
//   rowcast-spool-tail nor its SIGTERM; rowcast-dns holds a rejected event whose quarantine
//   cannot be written, and its --check refuses a missing spool directory.
#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#include <rowcast/transport/spool_writer.hpp>

#include "support/binlog_cut.hpp"
#include "support/decode_all.hpp"
#include "support/process.hpp"
#include "support/sample_events.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

using namespace rowcast;
using rowcast::test::decode_all;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> programs() {
    std::map<std::string, std::string> m;
    std::stringstream in(ROWCAST_PROGRAMS);
    std::string item;
    while (std::getline(in, item, ','))
        if (auto eq = item.find('='); eq != std::string::npos) m[item.substr(0, eq)] = item.substr(eq + 1);
    return m;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct outcome {
    int status = -1;
    std::string out, err;
};

// Runs `program` with `args` to completion (a liveness guard of 60 s, not a timed assertion).
outcome run(const std::string& program, std::vector<std::string> args, std::vector<std::string> env = {}) {
    static int n = 0;
    test::temp_dir dir("rowcast-programs");
    const auto out = dir.path() / ("out" + std::to_string(++n)), err = dir.path() / ("err" + std::to_string(n));
    const auto exe = programs().at(program);
    args.insert(args.begin(), exe);
    auto p = test::process::start({args, env, out, err});
    auto st = p.wait_for(std::chrono::seconds(60));
    outcome o;
    o.status = st ? *st : p.stop(SIGKILL);
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
    return n;
}

std::vector<std::string> kinds(const std::vector<event>& v) {
    std::vector<std::string> k;
    for (const auto& e : v) k.push_back(std::string(to_string(e.kind)) + (e.table.empty() ? "" : ":" + e.table));
    return k;
}

event marker(event_kind k) {
    event e;
    e.kind = k;
    return e;
}

event row(std::string schema, std::string table, std::uint64_t seq) {
    event e = test::small_insert();
    e.schema = std::move(schema);
    e.table = std::move(table);
    e.sequence = seq;
    e.source.file.clear();
    return e;
}

// Two transactions: one touching app.hosts and app.log, one only app.log.
std::vector<event> two_transactions() {
    return {marker(event_kind::begin), row("app", "hosts", 1), row("app", "log", 2), marker(event_kind::commit),
            marker(event_kind::begin), row("app", "log", 3), marker(event_kind::commit)};
}

template <class Codec>
void write_spool(const fs::path& dir, const std::vector<event>& events) {
    auto w = spool_writer<Codec>::open({dir, spool_durability::none}).value();
    for (const auto& e : events) ASSERT_TRUE(w.write(e));
}

std::size_t files_in(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& f : fs::directory_iterator(dir))
        if (f.is_regular_file()) ++n;
    return n;
}

const std::string fixture = std::string(ROWCAST_BINLOG_FIXTURES) + "/mariadb/01_all_types.binlog";

}  // namespace

// --- every program -------------------------------------------------------------------------

class EveryProgram : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryProgram, HelpGoesToStdoutWithExitZero) {
    const auto o = run(GetParam(), {"--help"});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_NE(o.out.find("Usage: " + GetParam()), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("--version"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("Exit status: 0 success"), std::string::npos) << o.out;
    EXPECT_EQ(o.err, "");
}

TEST_P(EveryProgram, VersionWithExitZero) {
    const auto o = run(GetParam(), {"--version"});
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.out, GetParam() + " " + rowcast::version_string + "\n");
}

TEST_P(EveryProgram, UnknownOptionExitsTwoWithAMessage) {
    const auto o = run(GetParam(), {"--no-such-option"});
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("--no-such-option"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("--help"), std::string::npos) << o.err;
    EXPECT_EQ(o.out, "");
    const auto x = run(GetParam(), {"--help", "--no-such-option"});
    EXPECT_EQ(x.status, 0) << "help wins, as documented";
}

INSTANTIATE_TEST_SUITE_P(Programs, EveryProgram, ::testing::ValuesIn([] {
                             std::vector<std::string> names;
                             for (const auto& [name, path] : programs()) names.push_back(name);
                             return names;
                         }()),
                         [](const auto& info) {
                             std::string s = info.param;
                             for (auto& c : s)
                                 if (c == '-') c = '_';
                             return s;
                         });

// --- rowcast-spool-tail ----------------------------------------------------------------------

TEST(SpoolTail, EveryCodecPairRoundTrips) {
    const std::vector<std::string> codecs = {"json", "yaml", "binary"};
    const std::vector<event> events = two_transactions();
    for (const auto& in : codecs)
        for (const auto& out : codecs) {
            test::temp_dir dir;
            if (in == "json") write_spool<json_codec>(dir.path(), events);
            if (in == "yaml") write_spool<yaml_codec>(dir.path(), events);
            if (in == "binary") write_spool<binary_codec>(dir.path(), events);
            const auto o = run("rowcast-spool-tail", {"--codec=" + in, "--output-codec", out, "--count=7", dir.path().string()});
            ASSERT_EQ(o.status, 0) << in << "->" << out << ": " << o.err;
            std::vector<event> got = out == "json"   ? decode_all<json_codec>(o.out)
                                     : out == "yaml" ? decode_all<yaml_codec>(o.out)
                                                     : decode_all<binary_codec>(o.out);
            ASSERT_EQ(got.size(), events.size()) << in << "->" << out;
            for (std::size_t i = 0; i < got.size(); ++i) {
                got[i].source.file.clear();  // the reader names the spool file
                EXPECT_EQ(got[i], events[i]) << in << "->" << out << " #" << i;
            }
            if (out == "json") {
                EXPECT_EQ(count(o.out, "\n"), events.size());
            }
            EXPECT_EQ(files_in(dir.path()), 0u);
            EXPECT_NE(o.err.find("7 events printed, 0 quarantined"), std::string::npos) << o.err;
        }
}

TEST(SpoolTail, FiltersLeaveNoEmptyTransactionAndRemoveColumns) {
    test::temp_dir dir;
    write_spool<json_codec>(dir.path(), two_transactions());
    const auto o = run("rowcast-spool-tail", {dir.path().string(), "--table=app.hosts", "--exclude-column=qty",
                                              "--idle-exit=1"});
    ASSERT_EQ(o.status, 0) << o.err;
    const auto got = decode_all<json_codec>(o.out);
    EXPECT_EQ(kinds(got), (std::vector<std::string>{"begin", "insert:hosts", "commit"})) << o.out;
    ASSERT_EQ(got.size(), 3u);
    ASSERT_TRUE(got[1].columns);
    for (const auto& c : *got[1].columns) EXPECT_NE(c.name, "qty");
    EXPECT_EQ(files_in(dir.path()), 0u);  // filtered events are consumed too
}

TEST(SpoolTail, CountStopsExactlyAndLeavesTheRest) {
    test::temp_dir dir;
    write_spool<binary_codec>(dir.path(), two_transactions());
    const auto o = run("rowcast-spool-tail", {"--codec", "binary", "--count", "3", "--envelope=debezium",
                                              "--keep", dir.path().string()});
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(count(o.out, "\n"), 3u) << o.out;
    EXPECT_EQ(count(o.out, "\"op\":\"c\""), 2u) << o.out;  // the Debezium envelope
    EXPECT_EQ(files_in(dir.path()), 4u);
    EXPECT_EQ(files_in(dir.path() / "done"), 3u);
    EXPECT_EQ(o.err.find("retrying"), std::string::npos) << o.err;
}

TEST(SpoolTail, UsageAndRuntimeErrors) {
    test::temp_dir dir;
    auto o = run("rowcast-spool-tail", {"--codec=xml", dir.path().string()});
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("unknown codec 'xml' (accepted: json, yaml, binary)"), std::string::npos) << o.err;
    o = run("rowcast-spool-tail", {"--output-codec=yaml", "--envelope=debezium", dir.path().string()});
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("the debezium envelope is for the json codec"), std::string::npos) << o.err;
    o = run("rowcast-spool-tail", {"--table=a.b.c", dir.path().string()});
    EXPECT_EQ(o.status, 2);
    EXPECT_NE(o.err.find("include_tables 'a.b.c'"), std::string::npos) << o.err;
    o = run("rowcast-spool-tail", {});
    EXPECT_EQ(o.status, 2);
    o = run("rowcast-spool-tail", {"--format=yaml", dir.path().string()});  // removed: --output-codec / --envelope
    EXPECT_EQ(o.status, 2);
    o = run("rowcast-spool-tail", {(dir.path() / "missing").string(), "--idle-exit=1"});
    EXPECT_EQ(o.status, 1) << o.err;
    EXPECT_NE(o.err.find("missing"), std::string::npos) << o.err;
}

// Issue 19 §5: a FIFO named like an event is quarantined without blocking (it used to block the
// reader in open() for ever), the events around it are printed, and SIGTERM stops the program.
// Liveness guards only: a hang fails the test (the child is killed), no timing is asserted.
TEST(SpoolTail, FifoNamedLikeAnEventDoesNotBlockAndSigtermStops) {
    test::temp_dir dir;
    const auto spool = dir.path() / "spool";
    fs::create_directory(spool);
    ASSERT_EQ(::mkfifo((spool / "0000000000000000001-000000000001-1.json").c_str(), 0600), 0);
    write_spool<json_codec>(spool, {row("app", "hosts", 1)});
    const auto out = dir.path() / "out", err = dir.path() / "err";
    auto p = test::process::start({{programs().at("rowcast-spool-tail"), spool.string()}, {}, out, err});
    bool printed = false;
    for (int i = 0; i < 3000 && !printed && p.running(); ++i) {
        printed = count(slurp(out), "\n") == 1 && fs::is_fifo(spool / "quarantine" / "0000000000000000001-000000000001-1.json");
        if (!printed) ::usleep(10000);
    }
    EXPECT_TRUE(printed) << "the FIFO blocked the reader: " << slurp(err);
    p.signal(SIGTERM);
    const auto st = p.wait_for(std::chrono::seconds(30));
    if (!st) p.stop(SIGKILL, std::chrono::milliseconds(0));
    ASSERT_TRUE(st.has_value()) << "SIGTERM ignored: " << slurp(err);
    EXPECT_EQ(*st, 0) << slurp(err);
    EXPECT_NE(slurp(err).find("1 events printed, 1 quarantined"), std::string::npos) << slurp(err);
    EXPECT_NE(slurp(spool / "quarantine" / "0000000000000000001-000000000001-1.json.reason").find("a FIFO"),
              std::string::npos);
}

// --- rowcast-dns (no DNS server needed: rejected rows are never sent) ----------------------------

namespace {

bool have_dns() { return programs().count("rowcast-dns") > 0; }

// A config for rowcast-dns with a key file; the server's port is closed (nothing may be sent).
std::string dns_config(const fs::path& dir, const fs::path& spool, const std::string& extra = "") {
    std::ofstream(dir / "dns.key") << "key \"rowcast-key\" {\n\talgorithm hmac-sha256;\n\tsecret "
                                      "\"c2VjcmV0IHRoYXQgaXMgbm90IHRoZSBvbmUgbmFtZWQga25vd3M=\";\n};\n";
    const auto p = dir / "dns.yaml";
    std::ofstream(p) << "server: 127.0.0.1\nport: 9\nkey_file: " << (dir / "dns.key").string() << "\n"
                     << "forward_zones: [example.test]\n"
                     << "tables:\n  - {schema: inventory, table: hosts, host_column: hostname, address_column: ip}\n"
                     << "spool:\n  directory: " << spool.string() << "\n  codec: binary\n  retry_max_ms: 200\n" << extra;
    return p.string();
}

// An insert the DNS sink rejects before sending anything (the host name has a space).
event bad_host_insert() {
    static const columns_ptr cols = make_columns({{"hostname", {.type = sql_type::varchar, .length = 64}, true, false},
                                                  {"ip", {.type = sql_type::varchar, .length = 64}, false, false}});
    event e;
    e.kind = event_kind::insert;
    e.schema = "inventory";
    e.table = "hosts";
    e.columns = cols;
    e.after = {text{"bad host"}, text{"192.0.2.7"}};
    return e;
}

}  // namespace

// Issue 19 §6: a mistyped spool directory is a config error for --check and for a run (it used to
// be created through the quarantine folder, and --check said "ok").
TEST(Dns, CheckRefusesAMissingSpoolDirectory) {
    if (!have_dns()) GTEST_SKIP() << "rowcast-dns not built";
    test::temp_dir dir;
    const auto cfg = dns_config(dir.path(), dir.path() / "spool-typo");
    for (const bool check : {true, false}) {
        auto o = check ? run("rowcast-dns", {"--check", cfg}) : run("rowcast-dns", {cfg});
        EXPECT_EQ(o.status, 2) << o.out << o.err;
        EXPECT_NE(o.err.find("spool-typo: cannot open spool directory: No such file or directory"), std::string::npos)
            << o.err;
        EXPECT_EQ(o.out.find("ok"), std::string::npos) << o.out;
        EXPECT_FALSE(fs::exists(dir.path() / "spool-typo"));
    }
    fs::create_directory(dir.path() / "spool");
    fs::create_directory_symlink(dir.path(), dir.path() / "spool" / "quarantine");
    auto o = run("rowcast-dns", {"--check", dns_config(dir.path(), dir.path() / "spool")});
    EXPECT_EQ(o.status, 2) << o.out << o.err;
    EXPECT_NE(o.err.find("a symbolic link"), std::string::npos) << o.err;
    fs::remove(dir.path() / "spool" / "quarantine");
    o = run("rowcast-dns", {"--check", dns_config(dir.path(), dir.path() / "spool")});
    EXPECT_EQ(o.status, 0) << o.out << o.err;
}

// Issue 19 §4: a rejected event whose quarantine cannot be written keeps its spool file (the batch
// is held and retried); it used to be removed after "cannot write quarantine file": lost.
TEST(Dns, RejectedEventIsKeptWhenTheQuarantineCannotBeWritten) {
    if (!have_dns()) GTEST_SKIP() << "rowcast-dns not built";
    test::temp_dir dir;
    const auto spool = dir.path() / "spool", q = dir.path() / "q";
    fs::create_directory(spool);
    fs::create_directory(q);
    const auto cfg = dns_config(dir.path(), spool, "  quarantine_directory: " + q.string() + "\n");
    const auto log = dir.path() / "log";
    auto p = test::process::start({{programs().at("rowcast-dns"), cfg}, {}, log, {}});
    auto eventually = [&](auto pred) {
        for (int i = 0; i < 3000 && p.running(); ++i) {
            if (pred()) return true;
            ::usleep(10000);
        }
        return pred();
    };
    ASSERT_TRUE(eventually([&] { return slurp(log).find("started:") != std::string::npos; })) << slurp(log);
    // The quarantine stops being writable while the program runs: a file where its directory was.
    fs::remove(q);
    std::ofstream(q) << "not a directory";
    auto w = spool_writer<binary_codec>::open({spool, spool_durability::none}).value();
    const auto name = w.write_file(bad_host_insert()).value();
    // Wait for the second attempt to fail too (or, with the old code, for the file to be gone).
    ASSERT_TRUE(eventually([&] {
        const auto l = slurp(log);
        return count(l, "cannot quarantine rejected event") >= 2 || !fs::exists(spool / name);
    })) << slurp(log);
    EXPECT_TRUE(fs::exists(spool / name)) << "the rejected event was removed: " << slurp(log);
    EXPECT_NE(slurp(log).find("holding 1 events until the quarantine can be written"), std::string::npos) << slurp(log);
    // The quarantine comes back: the event goes there with its reason, and out of the spool.
    fs::remove(q);
    fs::create_directory(q);
    ASSERT_TRUE(eventually([&] { return !fs::exists(spool / name); })) << slurp(log);
    const auto kept = decode_all<binary_codec>(slurp(q / name));
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].after, bad_host_insert().after);
    EXPECT_NE(slurp(q / (name + ".reason")).find("[rowcast.dns.invalid_name]"), std::string::npos) << slurp(log);
    p.signal(SIGTERM);
    const auto st = p.wait_for(std::chrono::seconds(30));
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(*st, 0) << slurp(log);
}

// --- rowcast-binlog ---------------------------------------------------------------------------

TEST(Binlog, TableFilterOnAFixtureHasNoEmptyTransactions) {
    const auto all = run("rowcast-binlog", {fixture});
    ASSERT_EQ(all.status, 0) << all.err;
    const auto kv = run("rowcast-binlog", {"--table=fx.kv", fixture});
    ASSERT_EQ(kv.status, 0) << kv.err;
    const auto got = decode_all<json_codec>(kv.out);
    ASSERT_FALSE(got.empty());
    bool rows = false;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (is_row_event(got[i].kind)) {
            rows = true;
            EXPECT_EQ(got[i].schema + "." + got[i].table, "fx.kv");
        }
        if (got[i].kind == event_kind::begin) {
            ASSERT_LT(i + 1, got.size());
            EXPECT_NE(got[i + 1].kind, event_kind::commit) << "empty BEGIN/COMMIT at " << i;
        }
        if (got[i].kind == event_kind::ddl) {
            EXPECT_TRUE(got[i].statement.find("kv") != std::string::npos || got[i].schema == "fx") << got[i].statement;
        }
    }
    EXPECT_TRUE(rows);
    EXPECT_LT(got.size(), decode_all<json_codec>(all.out).size());
    // the same filter spelled with a space and as two repeatable options
    const auto spaced = run("rowcast-binlog", {"--table", "fx.kv", "--table", "fx.nothing", fixture});
    EXPECT_EQ(spaced.out, kv.out);
}

TEST(Binlog, EveryEnvelopeAndCodec) {
    // --capture-time=off: Debezium's envelope stamps the capture time by default; off, the events equal
    const auto dbz = run("rowcast-binlog", {"--table=fx.nt", "--envelope=debezium", "--capture-time=off", fixture});
    ASSERT_EQ(dbz.status, 0) << dbz.err;
    EXPECT_NE(dbz.out.find("\"op\":\"c\""), std::string::npos) << dbz.out;
    EXPECT_NE(dbz.out.find("nontrans survives"), std::string::npos);
    const auto rc = run("rowcast-binlog", {"--table=fx.nt", "--envelope=rowcast", fixture});
    ASSERT_EQ(rc.status, 0);
    EXPECT_NE(rc.out.find("\"operation\":\"insert\""), std::string::npos);
    const auto json = decode_all<json_codec>(rc.out);
    const auto yaml = run("rowcast-binlog", {"--table=fx.nt", "--codec=yaml", fixture});
    ASSERT_EQ(yaml.status, 0);
    EXPECT_EQ(decode_all<yaml_codec>(yaml.out), json);
    const auto bin = run("rowcast-binlog", {"--table=fx.nt", "--codec", "binary", fixture});
    ASSERT_EQ(bin.status, 0);
    EXPECT_EQ(decode_all<binary_codec>(bin.out), json);
    EXPECT_EQ(decode_all<json_codec>(dbz.out), json);  // the decoder reads either envelope
    for (const std::string env : {"maxwell", "smpl-repl"}) {  // the other wire-compatible envelopes
        const auto o = run("rowcast-binlog", {"--table=fx.nt", "--envelope=" + env, fixture});
        ASSERT_EQ(o.status, 0) << env << ": " << o.err;
        EXPECT_NE(o.out.find(env == "maxwell" ? "\"type\":\"insert\"" : "\"operation\":\"insert\""), std::string::npos) << o.out;
        EXPECT_EQ(decode_all<json_codec>(o.out), json) << env;
    }
}

// --key-separator: keyed lines for kcat -K/-Z, each Debezium delete followed by its tombstone
// (its key, an empty value); the Debezium envelope fills the top-level ts_us (the capture time) by
// default, as Debezium does, and not with --capture-time=off.
TEST(Binlog, KeyedLinesWithTombstonesAndCaptureTime) {
    const auto off = run("rowcast-binlog", {"--table=fx.wide", "--envelope=debezium", "--capture-time=off", fixture});
    ASSERT_EQ(off.status, 0) << off.err;
    const auto first = nlohmann::json::parse(off.out.substr(0, off.out.find('\n')));
    EXPECT_TRUE(first["ts_us"].is_null()) << first;
    const auto o = run("rowcast-binlog", {"--table=fx.wide", "--envelope=debezium", "--key-separator=\t", fixture});
    ASSERT_EQ(o.status, 0) << o.err;
    std::vector<std::string> lines;
    for (std::size_t at = 0, nl; (nl = o.out.find('\n', at)) != std::string::npos; at = nl + 1)
        lines.push_back(o.out.substr(at, nl - at));
    std::size_t deletes = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t tab = lines[i].find('\t');
        ASSERT_NE(tab, std::string::npos) << lines[i];
        const std::string key = lines[i].substr(0, tab), value = lines[i].substr(tab + 1);
        ASSERT_FALSE(value.empty()) << "a tombstone without its delete before it at line " << i;
        const auto j = nlohmann::json::parse(value);
        if (j.contains("op")) {
            EXPECT_TRUE(j["ts_us"].is_number_integer()) << value;  // captured
        }
        if (j.value("op", "") != "d") continue;
        ++deletes;
        ASSERT_LT(i + 1, lines.size());
        EXPECT_EQ(lines[i + 1], key + "\t") << "no tombstone after the delete at line " << i;
        EXPECT_EQ(nlohmann::json::parse(key)["id"], j["before"]["id"]);
        ++i;
    }
    EXPECT_EQ(deletes, 10u);  // DELETE FROM wide WHERE id > 40 (of 1..50)
    const auto yaml = run("rowcast-binlog", {"--codec=yaml", "--key-separator=\t", fixture});
    EXPECT_EQ(yaml.status, 2) << yaml.err;
}

// --envelope=maxwell holds each transaction until its XID event: every row carries the XID (the
// numbers mariadb-binlog prints for the fixture), the last one "commit": true; --xid-hold-bytes
// under a transaction's size writes it as it goes, without xid, and warns.
TEST(Binlog, MaxwellXidOnEveryRow) {
    const std::string f = std::string(ROWCAST_BINLOG_FIXTURES) + "/mariadb/02_minimal_image_meta.binlog";
    const std::map<std::string, std::uint64_t> xids = {
        {"0-101-88", 219}, {"0-101-89", 220}, {"0-101-90", 221}, {"0-101-91", 222}, {"0-101-93", 224}};
    auto rows_of = [](const std::string& out) {
        std::vector<nlohmann::json> rows;
        for (std::size_t at = 0, nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1) {
            auto j = nlohmann::json::parse(out.substr(at, nl - at));
            const std::string type = j["type"];
            if (type == "insert" || type == "update" || type == "delete") rows.push_back(std::move(j));
        }
        return rows;
    };
    const auto o = run("rowcast-binlog", {"--envelope=maxwell", f});
    ASSERT_EQ(o.status, 0) << o.err;
    const auto rows = rows_of(o.out);
    ASSERT_GE(rows.size(), 5u);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& j = rows[i];
        ASSERT_TRUE(j.contains("xid")) << j;
        EXPECT_TRUE(j["xid"].is_number_unsigned()) << j;
        EXPECT_EQ(j["xid"].get<std::uint64_t>(), xids.at(j["gtid"].get<std::string>())) << j;
        const bool last = i + 1 == rows.size() || rows[i + 1]["gtid"] != j["gtid"];
        EXPECT_EQ(j.value("commit", false), last) << j;
    }
    const auto tiny = run("rowcast-binlog", {"--envelope=maxwell", "--xid-hold-bytes=1", f});
    ASSERT_EQ(tiny.status, 0) << tiny.err;
    for (const auto& j : rows_of(tiny.out)) EXPECT_FALSE(j.contains("xid")) << j;
    EXPECT_NE(tiny.err.find("over the hold limit of 1 bytes"), std::string::npos) << tiny.err;
    const auto plain = run("rowcast-binlog", {"--envelope=rowcast", f});  // no holding: no xid but the commit's
    ASSERT_EQ(plain.status, 0) << plain.err;
    for (const auto& e : decode_all<json_codec>(plain.out)) {
        if (is_row_event(e.kind)) {
            EXPECT_EQ(e.transaction.xid, 0u);
        }
    }
}

// A file cut inside a transaction: a warning, exit status 3, the transaction's rows withheld
// (--incomplete=mark: printed, then a rollback "interrupted").
TEST(Binlog, FileCutInsideATransactionExitsThree) {
    std::vector<event> expected;
    binlog::event_adapter ad([&](const event& e) { expected.push_back(e); });
    ASSERT_TRUE(binlog::read_file(fixture, ad));
    ASSERT_TRUE(ad.finish());
    test::temp_dir dir;
    const auto cut = dir.path() / "cut.binlog";
    std::size_t begin_at = 0;
    ASSERT_TRUE(test::cut_inside_last_transaction(fixture, cut, expected, begin_at));
    const std::string txn = "\"" + expected[begin_at].transaction.id + "\"";
    const auto held = run("rowcast-binlog", {cut.string()});
    EXPECT_EQ(held.status, 3) << held.err;
    EXPECT_NE(held.err.find("ends inside transaction " + expected[begin_at].transaction.id), std::string::npos) << held.err;
    EXPECT_EQ(held.out.find(txn), std::string::npos) << "rows of the cut transaction were printed";
    const auto marked = run("rowcast-binlog", {"--incomplete=mark", cut.string()});
    EXPECT_EQ(marked.status, 3) << marked.err;
    const auto last = marked.out.substr(marked.out.rfind('\n', marked.out.size() - 2) + 1);
    EXPECT_NE(last.find("\"interrupted\""), std::string::npos) << last;
    EXPECT_NE(last.find(txn), std::string::npos) << last;
    const auto whole = run("rowcast-binlog", {fixture});
    EXPECT_EQ(whole.status, 0) << whole.err;
}

TEST(Binlog, UsageErrorsExitTwo) {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {},                                                  // nothing to read
             {"--codec=yaml", "--envelope=debezium", fixture},    // envelope without json
             {"--durability=sometimes", "-h", "127.0.0.1"},       // unknown durability
             {"--format=json", fixture},                          // removed: --codec
             {"-h", "127.0.0.1", fixture},                        // files and a server
             {"--spool=/tmp", "-h", "127.0.0.1"},                 // --spool without --checkpoint
             {"--gtid=0-1-1", fixture},                           // follow options without a server
             {"--port=0", "-h", "127.0.0.1"}}) {
        const auto o = run("rowcast-binlog", args);
        EXPECT_EQ(o.status, 2) << ::testing::PrintToString(args) << o.err;
        EXPECT_FALSE(o.err.empty());
    }
}

TEST(Binlog, ConnectFailureWithMaxRetriesEndsWithExitOneAndTheReason) {
    // A port nothing listens on: bind one, read its number, close it.
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    ::close(s);
    const auto o = run("rowcast-binlog", {"-h", "127.0.0.1", "-P", std::to_string(port), "-u", "repl",
                                          "--max-retries=2", "--durability=full"},
                       {"MYSQL_PWD=x"});
    EXPECT_EQ(o.status, 1) << o.err;
    EXPECT_NE(o.err.find("refused"), std::string::npos) << o.err;
    // every retry is logged with its reason, then the giving up
    EXPECT_EQ(count(o.err, "Connection refused; retrying in"), 2u) << o.err;
    EXPECT_EQ(count(o.err, "giving up after 2 tries"), 1u) << o.err;
}

// A file that does not exist is permanent: no retry, exit 1 at once, naming it.
TEST(Binlog, AMissingFileIsARuntimeErrorNamingIt) {
    const auto o = run("rowcast-binlog", {"/nonexistent/binlog.000001"});
    EXPECT_EQ(o.status, 1) << o.err;
    EXPECT_NE(o.err.find("[rowcast.binlog.not_found] /nonexistent/binlog.000001: no such binlog file"), std::string::npos)
        << o.err;
    EXPECT_EQ(o.err.find("retrying"), std::string::npos) << o.err;
}
