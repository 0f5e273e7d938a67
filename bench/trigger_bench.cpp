// bench/trigger_bench.cpp: what the trigger path (AFTER INSERT triggers calling rowcast_event(),
// examples/udf) costs inside a private MariaDB, against the same statements without capture in
// the same run (issue 22).
//
// One private mariadbd (tests/support/udf_server.hpp: rowcast_udf.so installed, binlog on) and
// tables `hosts` (4 columns) and `wide` (20 columns), one copy per capture mode:
//   none        no trigger, SET sql_log_bin = 0: the baseline
//   binlog      no trigger, sql_log_bin = 1 (row binlog, sync_binlog = 0)
//   trigger     a trigger that only assigns a user variable (MariaDB's own trigger cost)
//   noop        a trigger calling rowcast_noop() (bench/noop_udf.cpp) with rowcast_event()'s
//               arguments: the trigger plus the UDF call and argument passing, no work
//   udf_none, udf_file, udf_dir
//               the generated trigger form calling rowcast_event(), durability none / file /
//               file_and_directory
//   udf_udp     rowcast_event() with output = udp: each event one signed datagram to a multicast
//               group on lo (the datagram doorbell, no file per row; built with the datagram component)
//   udf_journal rowcast_event() with output = journal, durability none: each event one record
//               appended to a journal segment (rowcast/journal/, issue 22), next to the spool folder
// Each benchmark (table, rows per statement, connections, mode) interleaves chunks of the
// baseline and of the mode: every iteration runs `stmts` INSERTs of `rows` rows on the baseline
// table, then the same on the mode's table (alternating which goes first), timing each side and
// reading the server's CPU (utime + stime of /proc/<pid>/stat) around each. Counters:
//   base_stmt_s, mode_stmt_s   statements/s of each side;   ratio = mode / base
//   base_cpu_us_row, mode_cpu_us_row   server CPU µs per inserted row of each side
//   capture_cpu_us_row         mode - base: what capturing one row costs the server
// The spool is emptied between chunks (not timed). RawSpoolFile/<durability>: the same file
// system calls as spool_writer per event, from this process into the same spool directory (the
// file system's own cost per event). Nothing is asserted on timings.
//
//   rowcast-bench-trigger [--smoke] [--spool-parent DIR] [--iterations N] [google benchmark flags]
// --iterations N: rounds per Capture benchmark (default 4; more rounds, finer CPU figures: the
// server's CPU is read in clock ticks of 10 ms).
// --spool-parent DIR: the spool in a new folder under DIR (e.g. /dev/shm: the file system's own
// cost per file apart; the folder is removed at exit), else inside the server's folder.
// --smoke: the hosts table, no-op UDF and rowcast_event(), once with a few statements (ctest
// bench.trigger.smoke).
#include "support/udf_server.hpp"

#include <rowcast/os/detail/fd.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using rowcast::test::db_connection;
using rowcast::test::udf_server;
namespace detail = rowcast::detail;

namespace {

bool g_smoke = false;
int g_iterations = 4;        // --iterations N: rounds of (baseline, mode) chunks per benchmark
std::string g_spool_parent;  // --spool-parent DIR: the spool in a fresh folder there (e.g. on tmpfs)

struct column_def {
    std::string name, sql_type, descriptor, sample;  // sample: an SQL expression of {i} (row number)
};

const std::vector<column_def>& hosts_columns() {
    static const std::vector<column_def> c = {
        {"id", "BIGINT UNSIGNED NOT NULL PRIMARY KEY", "`id` bigint(20) unsigned not null primary key", "{i}"},
        {"mac", "CHAR(17) CHARACTER SET ascii", "`mac` char(17) character set ascii", "'02:00:00:00:00:01'"},
        {"ip", "VARCHAR(45)", "`ip` varchar(45)", "'192.0.2.1'"},
        {"hostname", "VARCHAR(255) NOT NULL", "`hostname` varchar(255) not null", "CONCAT('host-', {i})"},
    };
    return c;
}

const std::vector<column_def>& wide_columns() {
    static const std::vector<column_def> c = [] {
        std::vector<column_def> v = {{"id", "BIGINT NOT NULL PRIMARY KEY", "`id` bigint(20) not null primary key", "{i}"}};
        for (int k = 1; k <= 5; ++k)
            v.push_back({"n" + std::to_string(k), "INT", "`n" + std::to_string(k) + "` int(11)", "{i} * " + std::to_string(k)});
        for (int k = 1; k <= 5; ++k)
            v.push_back({"s" + std::to_string(k), "VARCHAR(64)", "`s" + std::to_string(k) + "` varchar(64)",
                         "CONCAT('value-', {i}, '-" + std::to_string(k) + "')"});
        for (int k = 1; k <= 3; ++k)
            v.push_back({"d" + std::to_string(k), "DECIMAL(12,2)", "`d" + std::to_string(k) + "` decimal(12,2)", "12345.67"});
        for (int k = 1; k <= 3; ++k)
            v.push_back({"t" + std::to_string(k), "DATETIME(6)", "`t" + std::to_string(k) + "` datetime(6)",
                         "'2026-12-03 10:00:00.123456'"});
        for (int k = 1; k <= 3; ++k)
            v.push_back({"f" + std::to_string(k), "DOUBLE", "`f" + std::to_string(k) + "` double", "0.25"});
        return v;
    }();
    return c;
}

enum class mode { none, binlog, trigger, noop, udf_none, udf_file, udf_dir, udf_udp, udf_journal };
constexpr const char* mode_names[] = {"none",     "binlog",   "trigger", "noop",       "udf_none",
                                      "udf_file", "udf_dir",  "udf_udp", "udf_journal"};

std::string table_name(const std::string& base, mode m) { return base + "_" + mode_names[static_cast<int>(m)]; }

// The trigger body of each mode (AFTER INSERT; NULL for the old image).
std::string trigger_call(const std::string& fn, const std::string& table, const std::vector<column_def>& cols,
                         db_connection& c) {
    std::string call = fn + "('b', '" + table + "', 'insert'";
    for (const auto& col : cols) call += ", " + c.quote(col.descriptor) + ", NULL, NEW.`" + col.name + "`";
    return call + ")";
}

void create_table(db_connection& c, const std::string& base, const std::vector<column_def>& cols, mode m) {
    const std::string t = table_name(base, m);
    std::string ddl = "CREATE TABLE b.`" + t + "` (";
    for (std::size_t i = 0; i < cols.size(); ++i) ddl += (i ? ", `" : "`") + cols[i].name + "` " + cols[i].sql_type;
    c.query(ddl + ") ENGINE=InnoDB");
    std::string body;
    switch (m) {
        case mode::none:
        case mode::binlog: return;
        case mode::trigger: body = "SET @rowcast_bench = NEW.id"; break;
        case mode::noop:
            body = "BEGIN IF " + trigger_call("rowcast_noop", base, cols, c) +
                   " IS NULL THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'noop'; END IF; END";
            break;
        default:
            body = "BEGIN IF " + trigger_call("rowcast_event", base, cols, c) +
                   " IS NULL THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'rowcast_event failed'; END IF; END";
    }
    c.query("CREATE TRIGGER b.`" + t + "_ai` AFTER INSERT ON b.`" + t + "` FOR EACH ROW " + body);
}

// utime + stime of the server, in seconds.
double server_cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream f(s.substr(close + 2));
    std::string field;
    unsigned long long ut = 0, st = 0;
    for (int i = 3; i <= 15 && f >> field; ++i) {
        if (i == 14) ut = std::stoull(field);
        if (i == 15) st = std::stoull(field);
    }
    return static_cast<double>(ut + st) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct world {
    std::unique_ptr<udf_server> db;
    std::uint64_t next_id = 1;
    mode durability_set = mode::none;

    static world& instance() {
        static world w;
        return w;
    }
    static world& get() {
        world& w = instance();
        if (!w.db) w.start();
        return w;
    }

    void start() {
        db = std::make_unique<udf_server>(std::vector<std::string>{"codec = binary", "durability = none"},
                                          std::vector<std::string>{"max_connections=64", "sync_binlog=0"});
        spool = db->spool();
        if (!g_spool_parent.empty()) {  // a folder the server's user may write (mode 0777: a benchmark's scratch)
            std::string tmpl = (fs::path(g_spool_parent) / "rowcast-bench-spool-XXXXXX").string();
            if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp in " + g_spool_parent + " failed");
            spool = tmpl;
            ::chmod(spool.c_str(), 0777);
            journal = spool.string() + "-journal";
            fs::create_directory(journal);
            ::chmod(journal.c_str(), 0777);
        } else {
            journal = db->server().make_server_owned_dir("journal");
        }
        durability_set = mode::binlog;  // not a durability: the first set_durability() writes the config
        set_durability(mode::udf_none);
        db->server().install_plugin(ROWCAST_NOOP_UDF_SO);
        auto c = db->connect();
        c.query("CREATE FUNCTION rowcast_noop RETURNS INTEGER SONAME 'rowcast_noop_udf.so'");
        c.query("CREATE DATABASE b");
        for (int m = 0; m <= static_cast<int>(mode::udf_dir); ++m) {
            if (m >= static_cast<int>(mode::udf_file)) continue;  // udf_file/udf_dir share udf_none's table
            create_table(c, "hosts", hosts_columns(), static_cast<mode>(m));
            create_table(c, "wide", wide_columns(), static_cast<mode>(m));
        }
    }

    fs::path spool;    // where the events go
    fs::path journal;  // udf_journal: the journal directory (beside the spool)

    void set_durability(mode m) {
        if (m == durability_set) return;
        if (m == mode::udf_udp) {  // no receiver needed: the server's cost is the send
            const auto key = db->server().dir() / "bench-multicast.key";
            std::ofstream(key, std::ios::binary) << "0123456789abcdef0123456789abcdef";
            ::chmod(key.c_str(), 0644);
            db->write_config({"output = udp", "udp_group = 239.78.77.1",
                              "udp_port = " + std::to_string(20000 + ::getpid() % 20000), "udp_interface = lo",
                              "datagram_key = 7:" + key.string()},
                             false);
            durability_set = m;
            return;
        }
        if (m == mode::udf_journal) {  // the server's one writer appends; nothing reads (the server's cost)
            db->write_config({"output = journal", "journal_directory = " + journal.string(), "codec = binary",
                              "durability = none"},
                             false);
            durability_set = m;
            return;
        }
        const char* d = m == mode::udf_file ? "file" : m == mode::udf_dir ? "file_and_directory" : "none";
        db->write_config({"spool_directory = " + spool.string(), "codec = binary", std::string("durability = ") + d},
                         false);
        durability_set = m;
    }

    void empty_spool() {
        for (const auto& f : fs::directory_iterator(spool)) fs::remove(f.path());
    }
};

bool world_started() { return world::instance().db != nullptr; }

// One INSERT of `rows` rows into `table` starting at id `first`.
std::string insert_sql(const std::string& table, const std::vector<column_def>& cols, std::uint64_t first,
                       int rows) {
    std::string sql = "INSERT INTO b.`" + table + "` VALUES ";
    for (int r = 0; r < rows; ++r) {
        sql += r ? ",(" : "(";
        const std::string i = std::to_string(first + static_cast<std::uint64_t>(r));
        for (std::size_t k = 0; k < cols.size(); ++k) {
            std::string e = cols[k].sample;
            for (std::size_t at; (at = e.find("{i}")) != std::string::npos;) e.replace(at, 3, i);
            sql += (k ? "," : "") + e;
        }
        sql += ")";
    }
    return sql;
}

struct side_result {
    double seconds = 0, cpu = 0;
};

// `stmts` statements of `rows` rows on `table`, spread over the connections; wall and server CPU.
side_result run_side(world& w, std::vector<db_connection>& conns, const std::string& table,
                     const std::vector<column_def>& cols, int stmts, int rows) {
    // The statements' text is built before the clock starts.
    std::vector<std::vector<std::string>> work(conns.size());
    for (int s = 0; s < stmts; ++s) {
        work[static_cast<std::size_t>(s) % conns.size()].push_back(insert_sql(table, cols, w.next_id, rows));
        w.next_id += static_cast<std::uint64_t>(rows);
    }
    const pid_t pid = w.db->server().pid();
    const double cpu0 = server_cpu_seconds(pid);
    const auto t0 = std::chrono::steady_clock::now();
    std::atomic<int> failed{0};
    std::string failure;
    std::vector<std::thread> ts;
    for (std::size_t k = 0; k < conns.size(); ++k)
        ts.emplace_back([&, k] {
            try {
                for (const auto& q : work[k]) conns[k].query(q);
            } catch (const std::exception& e) {
                if (failed++ == 0) failure = e.what();
            }
        });
    for (auto& t : ts) t.join();
    side_result r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.cpu = server_cpu_seconds(pid) - cpu0;
    if (failed) throw std::runtime_error(failure);
    return r;
}

void Capture(benchmark::State& state, const std::string& base, mode m) {
    const int rows = static_cast<int>(state.range(0));
    const int nconn = static_cast<int>(state.range(1));
    const auto& cols = base == "hosts" ? hosts_columns() : wide_columns();
    world& w = world::get();
    w.set_durability(m);
    std::vector<db_connection> conns;
    for (int k = 0; k < nconn; ++k) {
        conns.push_back(w.db->connect());
        conns.back().query(m == mode::binlog ? "SET sql_log_bin = 1" : "SET sql_log_bin = 0");
    }
    std::vector<db_connection> base_conns;
    for (int k = 0; k < nconn; ++k) {
        base_conns.push_back(w.db->connect());
        base_conns.back().query("SET sql_log_bin = 0");
    }
    const int stmts = g_smoke ? nconn : (rows == 1 ? 300 : 12) * nconn;
    const std::string mode_table = table_name(base, m >= mode::udf_none ? mode::udf_none : m);
    const std::string base_table = table_name(base, mode::none);
    side_result b, x;
    bool mode_first = false;
    try {
        for (auto _ : state) {
            side_result rb, rx;
            if (mode_first) {
                rx = run_side(w, conns, mode_table, cols, stmts, rows);
                rb = run_side(w, base_conns, base_table, cols, stmts, rows);
            } else {
                rb = run_side(w, base_conns, base_table, cols, stmts, rows);
                rx = run_side(w, conns, mode_table, cols, stmts, rows);
            }
            mode_first = !mode_first;
            state.SetIterationTime(rb.seconds + rx.seconds);
            b.seconds += rb.seconds;
            b.cpu += rb.cpu;
            x.seconds += rx.seconds;
            x.cpu += rx.cpu;
            state.PauseTiming();
            w.empty_spool();
            state.ResumeTiming();
        }
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    const double n_stmts = static_cast<double>(stmts) * static_cast<double>(state.iterations());
    const double n_rows = n_stmts * rows;
    state.counters["base_stmt_s"] = n_stmts / b.seconds;
    state.counters["mode_stmt_s"] = n_stmts / x.seconds;
    state.counters["ratio"] = b.seconds / x.seconds;
    state.counters["base_cpu_us_row"] = b.cpu * 1e6 / n_rows;
    state.counters["mode_cpu_us_row"] = x.cpu * 1e6 / n_rows;
    state.counters["capture_cpu_us_row"] = (x.cpu - b.cpu) * 1e6 / n_rows;
}

// The file system's own cost per spool file, in this process, in the same spool directory:
// openat(O_CREAT|O_EXCL) + fchmod + write(200 bytes) + [fsync] + close + renameat + [fsync dir],
// the system calls spool_writer makes per event. Counters: us_per_file (wall), cpu_us_per_file
// (user + system of this process, getrusage).
void RawSpoolFile(benchmark::State& state, mode m) {
    world& w = world::get();
    const int n = g_smoke ? 10 : 300;
    const std::string bytes(200, 'x');
    detail::unique_fd dir(::open(w.spool.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
        state.SkipWithError("cannot open the spool directory");
        return;
    }
    auto cpu = [] {
        rusage u {};
        ::getrusage(RUSAGE_SELF, &u);
        return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
               static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    };
    double wall = 0, used = 0;
    std::uint64_t seq = 0;
    for (auto _ : state) {
        const double c0 = cpu();
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i) {
            const std::string name = "raw-" + std::to_string(++seq), tmp = "." + name + ".tmp";
            const int fd = ::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0 || ::fchmod(fd, 0640) != 0 || ::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()) ||
                (m != mode::udf_none && ::fsync(fd) != 0) || ::close(fd) != 0 ||
                ::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0 ||
                (m == mode::udf_dir && ::fsync(dir.get()) != 0)) {
                state.SkipWithError("raw file operation failed");
                return;
            }
        }
        const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        state.SetIterationTime(t);
        wall += t;
        used += cpu() - c0;
        state.PauseTiming();
        w.empty_spool();
        state.ResumeTiming();
    }
    const double files = static_cast<double>(n) * static_cast<double>(state.iterations());
    state.counters["us_per_file"] = wall * 1e6 / files;
    state.counters["cpu_us_per_file"] = used * 1e6 / files;
}

void register_all() {
    for (mode m : {mode::udf_none, mode::udf_file, mode::udf_dir}) {
        if (g_smoke && m != mode::udf_none) continue;
        benchmark::RegisterBenchmark((std::string("RawSpoolFile/") + mode_names[static_cast<int>(m)]).c_str(),
                                     [m](benchmark::State& s) { RawSpoolFile(s, m); })
            ->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(g_smoke ? 1 : 4);
    }
    for (const char* base : {"hosts", "wide"})
        for (int m = static_cast<int>(mode::binlog); m <= static_cast<int>(mode::udf_journal); ++m)
            for (int rows : {1, 100})
                for (int conns : {1, 4}) {
                    // Durabilities other than none, and 4 connections, only where they say something new.
                    const auto md = static_cast<mode>(m);
#if !defined(ROWCAST_BENCH_UDF_DATAGRAM)
                    if (md == mode::udf_udp) continue;
#endif
                    if (conns == 4 && (md == mode::trigger || md == mode::noop)) continue;
                    if (g_smoke && (std::string(base) != "hosts" || conns != 1 || (md != mode::noop && md != mode::udf_none)))
                        continue;
                    auto* b = benchmark::RegisterBenchmark(
                        (std::string("Capture/") + base + "/" + mode_names[m]).c_str(),
                        [base = std::string(base), md](benchmark::State& s) { Capture(s, base, md); });
                    b->Args({rows, conns})->ArgNames({"rows", "conns"})->UseManualTime()->Unit(benchmark::kMillisecond);
                    b->Iterations(g_smoke ? 1 : g_iterations);
                }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0) g_smoke = true;
        else if (std::strcmp(argv[i], "--spool-parent") == 0 && i + 1 < argc) g_spool_parent = argv[++i];
        else if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) g_iterations = std::max(1, std::atoi(argv[++i]));
        else args.push_back(argv[i]);
    }
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    register_all();
    try {
        benchmark::RunSpecifiedBenchmarks();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "trigger bench: %s\n", e.what());
        return 1;
    }
    benchmark::Shutdown();
    if (!g_spool_parent.empty() && world_started()) {
        fs::remove_all(world::get().spool);
        fs::remove_all(world::get().journal);
    }
    return 0;
}
