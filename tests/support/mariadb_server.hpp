// Test support: a private MariaDB server per test, and a small RAII client on
// libmariadb (Connector/C).
//
// `mariadb_server` creates a temporary directory (made traversable by the
// `mysql` user when the tests run as root), writes a [mariadbd] config into it
// (datadir, socket, pid-file, error log, a free loopback port, row-based binlog
// with full images and metadata, a private plugin_dir holding symlinks to the
// system plugins), runs mariadb-install-db, starts mariadbd with
// --defaults-file and extra environment variables, and waits until
// `mariadb-admin ping` answers. Startup failure throws std::runtime_error with
// the tail of the server's error log. The destructor stops the server (SIGTERM,
// wait; SIGKILL if it has not exited after a minute) and removes the directory.
//
// `db_connection` owns a MYSQL* (closed on destruction); query() throws
// db_error (with the server's error number) on failure; rows() returns
// every row of a result as optional<string> cells (NULL -> nullopt), binary
// safe. `db_result` owns a MYSQL_RES*. (libmariadb is the tests' own client for
// setting servers up; rowcast itself talks through rowcast/mysql/connection.hpp:
// client_options() gives its options for the server.)
//
// Thread-safety: a server object is used by one test thread; each thread
// opens its own connection (a connection is not thread-safe). The first
// connection initialises the client library under std::call_once.
#pragma once

#include "free_port.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

#include <rowcast/mysql/types.hpp>

#include <mysql.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rowcast::test {

/// A failed query or connection: the message and the server's error number.
class db_error : public std::runtime_error {
public:
    db_error(unsigned code, const std::string& what) : std::runtime_error(what), code_(code) {}
    unsigned code() const noexcept { return code_; }

private:
    unsigned code_;
};

/// One row with its cells owned (NULL -> nullopt).
using db_row = std::vector<std::optional<std::string>>;

/// Owns a MYSQL_RES* (null: no result set); rows() returns every remaining row.
class db_result {
public:
    explicit db_result(MYSQL_RES* r = nullptr) noexcept : r_(r) {}
    explicit operator bool() const noexcept { return r_ != nullptr; }
    std::vector<db_row> rows() {
        std::vector<db_row> out;
        if (!r_) return out;
        const unsigned n = mysql_num_fields(r_.get());
        while (MYSQL_ROW cells = mysql_fetch_row(r_.get())) {
            const unsigned long* len = mysql_fetch_lengths(r_.get());
            db_row& row = out.emplace_back(n);
            for (unsigned i = 0; i < n; ++i)
                if (cells[i]) row[i] = std::string(cells[i], len[i]);
        }
        return out;
    }

private:
    struct closer {
        void operator()(MYSQL_RES* r) const noexcept { mysql_free_result(r); }
    };
    std::unique_ptr<MYSQL_RES, closer> r_;
};

/// Where and as whom to connect.
struct db_connect_options {
    std::string socket;          ///< Unix socket path; empty: TCP to host:port
    std::string host = "127.0.0.1";
    unsigned port = 0;
    std::string user = "root";
    std::string password;
    std::string database;
};

/// Owns a MYSQL* connection.
class db_connection {
public:
    explicit db_connection(const db_connect_options& o) {
        static std::once_flag once;
        std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
        m_.reset(mysql_init(nullptr));
        if (!m_) throw db_error(0, "mysql_init failed");
        const unsigned timeout = 120;
        mysql_options(m_.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        mysql_options(m_.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
        const bool sock = !o.socket.empty();
        if (!mysql_real_connect(m_.get(), sock ? "localhost" : o.host.c_str(), o.user.c_str(), o.password.c_str(),
                                o.database.empty() ? nullptr : o.database.c_str(), sock ? 0 : o.port,
                                sock ? o.socket.c_str() : nullptr, CLIENT_MULTI_STATEMENTS))
            throw db_error(mysql_errno(m_.get()), std::string("cannot connect: ") + mysql_error(m_.get()));
    }

    MYSQL* get() const noexcept { return m_.get(); }

    /// Runs one statement (or several separated by ';'), discarding results. Throws db_error.
    void query(std::string_view sql) {
        if (mysql_real_query(m_.get(), sql.data(), sql.size()) != 0) fail(sql);
        drain(sql);
    }

    /// Runs a statement and returns the rows of its (last) result set.
    std::vector<db_row> rows(std::string_view sql) {
        if (mysql_real_query(m_.get(), sql.data(), sql.size()) != 0) fail(sql);
        std::vector<db_row> out;
        for (;;) {
            db_result r(mysql_store_result(m_.get()));
            if (r) out = r.rows();
            else if (mysql_field_count(m_.get()) != 0) fail(sql);
            const int next = mysql_next_result(m_.get());
            if (next > 0) fail(sql);
            if (next < 0) break;
        }
        return out;
    }

    /// The single value of a one-row, one-column query (nullopt for NULL). Throws if no row.
    std::optional<std::string> scalar(std::string_view sql) {
        auto r = rows(sql);
        if (r.empty() || r[0].empty()) throw db_error(0, "no row from: " + std::string(sql));
        return r[0][0];
    }

    /// Runs a statement expected to fail; returns the error (code 0 if it succeeded).
    db_error expect_error(std::string_view sql) {
        try {
            rows(sql);
        } catch (const db_error& e) {
            return e;
        }
        return db_error(0, "statement succeeded: " + std::string(sql));
    }

    /// The bytes escaped for use inside '...' (no quotes added).
    std::string escape(std::string_view s) const {
        std::string out(s.size() * 2 + 1, '\0');
        const unsigned long n = mysql_real_escape_string(m_.get(), out.data(), s.data(), s.size());
        out.resize(n);
        return out;
    }
    /// '...' literal with the bytes escaped.
    std::string quote(std::string_view s) const { return "'" + escape(s) + "'"; }

private:
    [[noreturn]] void fail(std::string_view sql) {
        std::string q(sql.substr(0, 300));
        throw db_error(mysql_errno(m_.get()), std::string(mysql_error(m_.get())) + " [in: " + q + "]");
    }
    void drain(std::string_view sql) {
        for (;;) {
            db_result r(mysql_store_result(m_.get()));
            if (!r && mysql_field_count(m_.get()) != 0) fail(sql);
            const int next = mysql_next_result(m_.get());
            if (next > 0) fail(sql);
            if (next < 0) break;
        }
    }
    struct closer {
        void operator()(MYSQL* m) const noexcept { mysql_close(m); }
    };
    std::unique_ptr<MYSQL, closer> m_;
};

struct mariadb_server_options {
    /// Environment variables added to the server's environment (NAME, value). "{dir}" in a
    /// value is replaced by the server's directory (see mariadb_server::dir()).
    std::vector<std::pair<std::string, std::string>> environment;
    /// Extra lines for the [mariadbd] section ("max_allowed_packet=64M"); "{dir}" is replaced
    /// by the server's directory.
    std::vector<std::string> config_lines;
    /// Produce a binlog (row format, full images and metadata).
    bool binlog = true;
};

/// A private mariadbd for one test. Throws std::runtime_error if it cannot start.
class mariadb_server {
public:
    explicit mariadb_server(mariadb_server_options opt = {}) : dir_("rowcast-mariadb"), opt_(std::move(opt)) {
        as_root_ = ::geteuid() == 0;
        if (as_root_) {
            const passwd* pw = ::getpwnam("mysql");
            if (!pw) throw std::runtime_error("running as root but there is no 'mysql' user for mariadbd");
            uid_ = pw->pw_uid;
            gid_ = pw->pw_gid;
            // mysql must traverse every folder above the datadir; mkdtemp made ours 0700.
            for (auto p = dir_.path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
                struct stat st {};
                if (::stat(p.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH)) ::chmod(p.c_str(), st.st_mode | S_IXOTH);
            }
        }
        std::filesystem::create_directories(data_dir());
        std::filesystem::create_directories(plugin_dir());
        std::filesystem::create_directories(dir_.path() / "run");
        std::filesystem::create_directories(dir_.path() / "binlog");
        std::filesystem::create_directories(dir_.path() / "tmp");
        std::error_code ec;
        for (const auto& f : std::filesystem::directory_iterator("/usr/lib/mysql/plugin", ec))
            std::filesystem::create_symlink(f.path(), plugin_dir() / f.path().filename(), ec);
        port_ = free_port();
        write_config();
        if (as_root_)
            for (const char* d : {"data", "plugin", "run", "binlog", "tmp"}) own(dir_.path() / d);
        run_install_db();
        start();
    }

    mariadb_server(const mariadb_server&) = delete;
    mariadb_server& operator=(const mariadb_server&) = delete;

    ~mariadb_server() { stop(); }

    const std::filesystem::path& dir() const noexcept { return dir_.path(); }
    std::filesystem::path data_dir() const { return dir_.path() / "data"; }
    std::filesystem::path plugin_dir() const { return dir_.path() / "plugin"; }
    std::filesystem::path socket() const { return dir_.path() / "run" / "mariadb.sock"; }
    std::filesystem::path config_file() const { return dir_.path() / "my.cnf"; }
    std::filesystem::path error_log() const { return dir_.path() / "run" / "error.log"; }
    unsigned port() const noexcept { return port_; }
    pid_t pid() const noexcept { return server_.pid(); }
    bool running_as_mysql() const noexcept { return as_root_; }

    /// Copies a shared object into the private plugin_dir (readable by the server).
    void install_plugin(const std::filesystem::path& so) {
        const auto to = plugin_dir() / so.filename();
        std::filesystem::copy_file(so, to, std::filesystem::copy_options::overwrite_existing);
        ::chmod(to.c_str(), 0755);
    }

    /// Makes a folder (inside the test directory) owned by the server's user, mode 0770.
    std::filesystem::path make_server_owned_dir(const std::string& name) {
        const auto p = dir_.path() / name;
        std::filesystem::create_directories(p);
        ::chmod(p.c_str(), 0770);
        if (as_root_) own(p);
        return p;
    }

    db_connect_options socket_options(std::string user = "root", std::string password = "") const {
        db_connect_options o;
        o.socket = socket().string();
        o.user = std::move(user);
        o.password = std::move(password);
        return o;
    }
    /// The same for rowcast's client (rowcast/mysql/connection.hpp): the socket, as `user`.
    rowcast::mysql::connect_options client_options(std::string user = "root", std::string password = "") const {
        rowcast::mysql::connect_options o;
        o.socket = socket().string();
        o.user = std::move(user);
        o.password = std::move(password);
        return o;
    }
    db_connection connect(const std::string& database = "") const {
        auto o = socket_options();
        o.database = database;
        return db_connection(o);
    }

    /// The last `lines` lines of the error log.
    std::string error_log_tail(std::size_t lines = 25) const {
        std::ifstream in(error_log());
        std::deque<std::string> tail;
        for (std::string l; std::getline(in, l);) {
            tail.push_back(l);
            if (tail.size() > lines) tail.pop_front();
        }
        std::string out;
        for (auto& l : tail) out += "  | " + l + "\n";
        return out;
    }

    /// True while the server process exists (not reaped).
    bool alive() noexcept { return server_.running(); }

    /// Stops the server (as stop()) and starts it again on the same port and datadir.
    void restart() {
        stop();
        start();
    }

    /// Stops the server: SIGTERM, wait; SIGKILL after 60 s.
    void stop() noexcept { server_.stop(); }

    /// Kills the server with `sig` (a crash: no shutdown) and reaps it; restart() brings it back.
    void kill(int sig = SIGKILL) noexcept {
        server_.signal(sig);
        server_.wait();
    }

private:
    void own(const std::filesystem::path& p) const {
        if (::chown(p.c_str(), uid_, gid_) != 0)
            throw std::runtime_error("chown " + p.string() + ": " + std::strerror(errno));
    }

    void write_config() {
        std::ofstream c(config_file());
        c << "[mariadbd]\n";
        if (as_root_) c << "user=mysql\n";
        c << "datadir=" << data_dir().string() << "\n"
          << "socket=" << socket().string() << "\n"
          << "pid-file=" << (dir_.path() / "run" / "mariadbd.pid").string() << "\n"
          << "log_error=" << error_log().string() << "\n"
          << "port=" << port_ << "\n"
          << "bind-address=127.0.0.1\n"
          << "skip-name-resolve\n"
          << "server_id=101\n"
          << "plugin_dir=" << plugin_dir().string() << "\n"
          // A private tmpdir: servers sharing /tmp collide on internal temporary table names.
          << "tmpdir=" << (dir_.path() / "tmp").string() << "\n"
          << "innodb_buffer_pool_size=32M\n"
          << "innodb_log_file_size=16M\n"
          << "innodb_flush_log_at_trx_commit=2\n";
        if (opt_.binlog)
            c << "log_bin=" << (dir_.path() / "binlog" / "binlog").string() << "\n"
              << "binlog_format=ROW\nbinlog_row_image=FULL\nbinlog_row_metadata=FULL\nbinlog_checksum=CRC32\n";
        for (auto l : opt_.config_lines) {
            for (std::size_t at; (at = l.find("{dir}")) != std::string::npos;) l.replace(at, 5, dir_.path().string());
            c << l << "\n";
        }
        c << "[client]\nsocket=" << socket().string() << "\nuser=root\n";
        c << "[mariadb-admin]\nconnect-timeout=2\n";
        if (!c) throw std::runtime_error("cannot write " + config_file().string());
    }

    // Starts argv (stdout+stderr to `log`), with the server's extra environment if `with_env`.
    process spawn(const std::vector<std::string>& argv, const std::filesystem::path& log, bool with_env) const {
        std::vector<std::string> env;
        if (with_env)
            for (const auto& [k, v] : opt_.environment) {
                std::string val = v;
                for (std::size_t at; (at = val.find("{dir}")) != std::string::npos;)
                    val.replace(at, 5, dir_.path().string());
                env.push_back(k + "=" + val);
            }
        return process::start({argv, std::move(env), log, {}});
    }

    static std::string tail_of(const std::filesystem::path& p) {
        std::ifstream in(p);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string s = ss.str();
        return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
    }

    void run_install_db() {
        const auto log = dir_.path() / "install-db.log";
        auto install = spawn({"/usr/bin/mariadb-install-db", "--defaults-file=" + config_file().string(),
                              "--auth-root-authentication-method=normal", "--skip-test-db"},
                             log, false);
        if (int rc = install.wait(); rc != 0)
            throw std::runtime_error("mariadb-install-db failed (exit " + std::to_string(rc) + "):\n" + tail_of(log) +
                                     error_log_tail(60));
    }

    void start() {
        server_ = spawn({"/usr/sbin/mariadbd", "--defaults-file=" + config_file().string()},
                        dir_.path() / "run" / "mariadbd.out", true);
        // Liveness guard only (not a timed assertion): give up after ~120 s of pings.
        for (int i = 0; i < 1200; ++i) {
            if (!alive())
                throw std::runtime_error("mariadbd exited during startup; error log tail:\n" + error_log_tail());
            auto ping = spawn({"/usr/bin/mariadb-admin", "--defaults-file=" + config_file().string(), "ping"},
                              dir_.path() / "ping.log", false);
            if (ping.wait() == 0) return;
            ::usleep(100000);
        }
        stop();
        throw std::runtime_error("mariadbd did not answer mariadb-admin ping; error log tail:\n" + error_log_tail());
    }

    temp_dir dir_;
    mariadb_server_options opt_;
    bool as_root_ = false;
    uid_t uid_ = 0;
    gid_t gid_ = 0;
    unsigned port_ = 0;
    process server_;
};

}  // namespace rowcast::test
