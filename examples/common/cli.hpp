// examples/common/cli.hpp: the command-line conventions every rowcast program
// shares (CLI11), so a flag means the same in each of them (docs/programs.md):
//
//   --help (stdout, exit 0), --version (rowcast::version_string, exit 0), --opt=value;
//   exit status 0 success (also when stopped by SIGINT/SIGTERM), 1 runtime error, 2 usage error;
//   --codec json|yaml|binary, --envelope rowcast|debezium|maxwell|smpl-repl       (cli_codec.hpp: needs the json and yaml components)
//   --schema/--exclude-schema, --table/--exclude-table,
//   --column/--exclude-column                                    (rowcast/pipeline/filter.hpp)
//   --durability none|file|file_and_directory (full = file_and_directory)
//   -h/--host, -P/--port, -u/--user, -p/--password (MYSQL_PWD), -S/--socket, --ssl-mode, --ssl-ca,
//   --ssl-cert, --ssl-key, --ssl-cipher, --get-server-public-key, --server-public-key: as the mysql
//   client (rowcast/mysql/tls_options.hpp, docs/connecting.md)
//
// Program support, not library: the programs include it from examples/common.
#pragma once

#include <rowcast/log.hpp>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/mysql/types.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/os/signals.hpp>
#include <rowcast/pipeline/filter.hpp>
#include <rowcast/version.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <exception>
#include <functional>
#include <map>
#include <new>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>


namespace rowcast_cli {

/// The exit statuses of every program.
enum exit_status : int { exit_ok = 0, exit_failure = 1, exit_usage = 2 };

inline constexpr const char* exit_footer =
    "Exit status: 0 success (also when stopped by SIGINT/SIGTERM), 1 runtime error, 2 usage error.\n"
    "Options take their value as --opt value or --opt=value. Documentation: docs/programs.md.";

/// An App with the shared conventions: --help (no -h: that is --host where a program connects),
/// --version, the exit-status footer.
inline void setup(CLI::App& app, const std::string& extra_footer = {}) {
    app.set_help_flag("--help", "Print this help and exit");
    app.set_version_flag("--version", std::string(app.get_name()) + " " + rowcast::version_string,
                         "Print the version and exit");
    app.footer(extra_footer.empty() ? std::string(exit_footer) : extra_footer + "\n\n" + exit_footer);
}

/// Parses argv; returns an exit status when the program should end now (help, version:
/// 0 after printing to stdout; a usage error: 2 after a message on stderr).
inline std::optional<int> parse(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            app.exit(e, std::cout, std::cerr);
            return exit_ok;
        }
        // An unknown option is the more useful message than a missing positional it displaced.
        const auto rest = app.remaining();
        std::string message = e.what();
        if (dynamic_cast<const CLI::RequiredError*>(&e) && !rest.empty()) {
            message = rest.size() > 1 ? "The following arguments were not expected:" : "The following argument was not expected:";
            for (const auto& r : rest) message += " " + r;
        }
        std::cerr << app.get_name() << ": " << message << "\nRun with --help for more information.\n";
        return exit_usage;
    }
    return std::nullopt;
}

/// A usage error found after parsing (options that exclude each other…): message, exit 2.
inline int usage_error(const CLI::App& app, const std::string& message) {
    std::cerr << app.get_name() << ": " << message << "\nRun with --help for more information.\n";
    return exit_usage;
}

/// Runs a program's body: an exception that would escape it (std::bad_alloc included, e.g.
/// under a memory limit) is reported on stderr without allocating and gives exit status 1.
///   int main(int argc, char** argv) { return rowcast_cli::guarded("rowcast-x", [&] { return run_main(argc, argv); }); }
template <class F>
int guarded(const char* program, F&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "%s: out of memory\n", program);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: unexpected error: %s\n", program, e.what());
    } catch (...) {
        std::fprintf(stderr, "%s: unexpected error\n", program);
    }
    return exit_failure;
}

/// A runtime error: message, exit 1.
inline int runtime_error(const CLI::App& app, const std::string& message) {
    std::cerr << app.get_name() << ": " << message << "\n";
    return exit_failure;
}

// --- filters -------------------------------------------------------------------------

/// The filter options; each repeatable and comma-separated ("--table a.b,c.d").
inline void add_filter_options(CLI::App& app, rowcast::filter_rules& r) {
    const char* group = "Filters (globs * and ?; see docs/filters.md)";
    auto add = [&](const char* name, std::vector<std::string>& v, const char* help) {
        app.add_option(name, v, help)->delimiter(',')->allow_extra_args(false)->type_name("PATTERN")->group(group);
    };
    add("--schema", r.include_schemas, "Only events of these schemas (repeatable)");
    add("--exclude-schema", r.exclude_schemas, "No events of these schemas");
    add("--table", r.include_tables, "Only rows and DDL of these tables: db.table or table (repeatable)");
    add("--exclude-table", r.exclude_tables, "No rows or DDL of these tables");
    add("--column", r.include_columns, "Keep only these columns of their tables: db.table.column");
    add("--exclude-column", r.exclude_columns, "Remove these columns: db.table.column, table.column or column");
}

// --- durability -------------------------------------------------------------------------

inline CLI::Option* add_durability_option(CLI::App& app, rowcast::durability& d, const std::string& what) {
    static const std::map<std::string, rowcast::durability> names = {
        {"none", rowcast::durability::none},
        {"file", rowcast::durability::file},
        {"file_and_directory", rowcast::durability::file_and_directory},
        {"full", rowcast::durability::file_and_directory},
    };
    return app.add_option("--durability", d, what + ": none, file or file_and_directory (default; 'full' is accepted for it)")
        ->transform(CLI::CheckedTransformer(names).description(""))
        ->type_name("none|file|file_and_directory")
        ->default_str("file_and_directory");
}

// --- connection (as the mysql client names them) -------------------------------------------

struct connection_flags {
    std::string host, socket, user, password;
    std::uint16_t port = 3306;
    rowcast::mysql::tls_options tls;  ///< --ssl-mode, --ssl-ca, …: the same for every program and both clients
    CLI::Option* host_opt = nullptr;
    CLI::Option* socket_opt = nullptr;
    CLI::Option* password_opt = nullptr;  ///< count() > 0: given (or from MYSQL_PWD)
    bool given() const { return (host_opt && host_opt->count() > 0) || (socket_opt && socket_opt->count() > 0); }
    /// The flags as the client's options (rowcast/mysql/types.hpp; host "localhost" when empty).
    rowcast::mysql::connect_options options() const {
        rowcast::mysql::connect_options o;
        o.host = host.empty() ? "localhost" : host;
        o.port = port;
        o.socket = socket;
        o.user = user;
        o.password = password;
        o.tls = tls;
        return o;
    }
};

inline void add_connection_options(CLI::App& app, connection_flags& c) {
    const char* group = "Connection (as the mysql client)";
    if (const char* u = std::getenv("USER")) c.user = u;
    c.host_opt = app.add_option("-h,--host", c.host, "Server host name or address")->group(group);
    if (!c.host.empty()) c.host_opt->capture_default_str();
    c.socket_opt = app.add_option("-S,--socket", c.socket, "Server Unix socket (instead of --host)")->group(group);
    app.add_option("-P,--port", c.port, "Server TCP port")->check(CLI::Range(1, 65535))->capture_default_str()->group(group);
    app.add_option("-u,--user", c.user, "User name (default: $USER)")->group(group);
    c.password_opt = app.add_option("-p,--password", c.password, "Password (also from the environment variable MYSQL_PWD)")
        ->envname("MYSQL_PWD")
        ->group(group);
    app.add_option_function<std::string>(
           "--ssl-mode", [&c](const std::string& m) { c.tls.mode = rowcast::mysql::parse_ssl_mode(m).value(); },
           "TLS: DISABLED, PREFERRED (default: TLS when the server offers it, over TCP), REQUIRED, VERIFY_CA "
           "(the certificate chain against --ssl-ca), VERIFY_IDENTITY (and the host name)")
        ->check(CLI::Validator(
            [](std::string& m) {
                return rowcast::mysql::parse_ssl_mode(m) ? std::string()
                                                         : "'" + m + "' is not one of " +
                                                               std::string(rowcast::mysql::ssl_mode_names);
            },
            ""))
        ->type_name("MODE")
        ->default_str("PREFERRED")
        ->group(group);
    app.add_option("--ssl-ca", c.tls.ca, "CA certificates (PEM file) for VERIFY_CA/VERIFY_IDENTITY (default: the system's)")
        ->check(CLI::ExistingFile)
        ->group(group);
    app.add_option("--ssl-cert", c.tls.cert, "Client certificate (PEM file)")->check(CLI::ExistingFile)->group(group);
    app.add_option("--ssl-key", c.tls.key, "The client certificate's private key (PEM file)")->check(CLI::ExistingFile)->group(group);
    app.add_option("--ssl-cipher", c.tls.cipher, "Permitted TLS 1.2 ciphers (OpenSSL cipher list)")->group(group);
    app.add_flag("--get-server-public-key", c.tls.get_server_public_key,
                 "caching_sha2_password/sha256_password without TLS: ask the server for its RSA key")
        ->group(group);
    app.add_option("--server-public-key", c.tls.server_public_key,
                   "caching_sha2_password/sha256_password without TLS: the server's RSA public key (PEM file)")
        ->check(CLI::ExistingFile)
        ->group(group);
}

// --- signals ------------------------------------------------------------------------------

/// Requests `stop` when SIGINT or SIGTERM arrives (rowcast::os::signal_thread: construct it
/// before starting other threads). Also ends the run after `idle` without activity when set
/// (touch() marks activity; call it from the run's thread).
class signal_stop {
public:
    explicit signal_stop(std::optional<std::chrono::seconds> idle = std::nullopt)
        : idle_(idle), last_(now()),
          signals_({.on_stop = [this] { source_.request_stop(); },
                    .on_tick = idle ? std::function<void()>([this] {
                        if (now() - last_.load() > std::chrono::duration_cast<std::chrono::steady_clock::duration>(*idle_).count())
                            source_.request_stop();
                    })
                                    : std::function<void()>()}) {}

    std::stop_token token() const noexcept { return source_.get_token(); }
    std::stop_source& source() noexcept { return source_; }
    void touch() noexcept { last_.store(now()); }

private:
    static std::chrono::steady_clock::rep now() noexcept { return std::chrono::steady_clock::now().time_since_epoch().count(); }
    std::optional<std::chrono::seconds> idle_;
    std::atomic<std::chrono::steady_clock::rep> last_;
    std::stop_source source_;
    rowcast::os::signal_thread signals_;  // last: its thread uses the members above
};

}  // namespace rowcast_cli
