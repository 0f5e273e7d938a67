// Test support: a private MariaDB server with rowcast_udf.so installed, its config file and
// a spool directory writable by the server, plus helpers to collect events from the spool.
// Needs ROWCAST_UDF_SO (path of the built .so), defined by tests/mariadb.cmake.
#pragma once

#include "mariadb_server.hpp"

#include <rowcast/transport/spool_reader.hpp>

#include <fstream>
#include <poll.h>
#include <string>
#include <vector>

namespace rowcast::test {

class udf_server {
public:
    /// Starts the server with ROWCAST_UDF_CONFIG pointing at <dir>/rowcast-udf.conf, writes a
    /// config (the given lines after spool_directory) and creates the functions (unless
    /// `create_functions` is false: create_functions() later).
    explicit udf_server(const std::vector<std::string>& config = {"codec = binary", "durability = none"},
                        std::vector<std::string> server_lines = {}, bool create_functions = true)
        : server_(make_options(std::move(server_lines))) {
        spool_ = server_.make_server_owned_dir("spool");
        write_config(config);
        server_.install_plugin(ROWCAST_UDF_SO);
        if (create_functions) this->create_functions();
    }

    /// CREATE FUNCTION rowcast_event and rowcast_json (loads rowcast_udf.so).
    void create_functions() {
        auto c = connect();
        c.query("CREATE FUNCTION rowcast_event RETURNS INTEGER SONAME 'rowcast_udf.so'");
        c.query("CREATE FUNCTION rowcast_json RETURNS INTEGER SONAME 'rowcast_udf.so'");
    }

    mariadb_server& server() noexcept { return server_; }
    const std::filesystem::path& spool() const noexcept { return spool_; }
    std::filesystem::path config_file() const { return server_.dir() / "rowcast-udf.conf"; }
    db_connection connect(const std::string& db = "") const { return server_.connect(db); }

    /// Rewrites the config; every later statement's init reads it.
    void write_config(const std::vector<std::string>& lines, bool with_spool = true) {
        std::ofstream f(config_file());
        f << "# rowcast_udf test config\n";
        if (with_spool) f << "spool_directory = " << spool_.string() << "\n";
        for (const auto& l : lines) f << l << "\n";
    }

    /// Number of event files waiting in the spool.
    std::size_t spool_files() const {
        std::size_t n = 0;
        for (const auto& f : std::filesystem::directory_iterator(spool_))
            if (f.is_regular_file() && f.path().filename().string()[0] != '.') ++n;
        return n;
    }

    /// Reads (and removes) every event in the spool, in spool order.
    template <class Codec>
    std::vector<event> take(std::size_t expect_at_least = 0) {
        spool_reader_options o;
        o.directory = spool_;
        o.retry_initial = std::chrono::milliseconds(1);
        o.retry_max = std::chrono::milliseconds(4);
        o.log = [this](log_level, std::string_view, std::string_view m) { logs.emplace_back(m); };
        auto r = spool_reader<Codec>::open(o).value();
        std::vector<event> got;
        auto h = [&](std::span<const event> b) { got.insert(got.end(), b.begin(), b.end()); };
        for (int idle = 0; idle < 200 && (r.pending() > 0 || got.size() < expect_at_least);) {
            auto n = r.process(h);
            if (!n) throw std::runtime_error(n.error_value().message);
            if (*n == 0) {
                pollfd p{r.native_handle(), POLLIN, 0};
                ::poll(&p, 1, 10);
                ++idle;
            }
        }
        return got;
    }

    std::vector<std::string> logs;

private:
    static mariadb_server_options make_options(std::vector<std::string> lines) {
        mariadb_server_options o;
        o.environment = {{"ROWCAST_UDF_CONFIG", "{dir}/rowcast-udf.conf"}};
        o.config_lines = std::move(lines);
        return o;
    }

    mariadb_server server_;
    std::filesystem::path spool_;
};

}  // namespace rowcast::test

namespace rowcast::test {

/// Output of one rowcast-triggers run.
struct tool_run {
    int exit_code = -1;
    std::string out, err;
};

/// Runs rowcast-triggers (ROWCAST_TRIGGERS_EXE) with `args`; `env` is prepended ("MYSQL_PWD=x").
inline tool_run run_triggers_tool(const std::vector<std::string>& args, const std::filesystem::path& scratch,
                                  const std::string& env = "") {
    auto sh_quote = [](const std::string& s) {
        std::string q = "'";
        for (char c : s) {
            if (c == '\'') q += "'\\''";
            else q += c;
        }
        return q + "'";
    };
    std::string cmd = env.empty() ? "" : "env " + env + " ";
    cmd += sh_quote(ROWCAST_TRIGGERS_EXE);
    for (const auto& a : args) cmd += " " + sh_quote(a);
    const auto out = scratch / "tool.out", err = scratch / "tool.err";
    cmd += " >" + sh_quote(out.string()) + " 2>" + sh_quote(err.string());
    const int st = std::system(cmd.c_str());
    tool_run r;
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    auto slurp = [](const std::filesystem::path& p) {
        std::ifstream in(p);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

}  // namespace rowcast::test
