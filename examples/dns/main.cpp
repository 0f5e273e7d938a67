// rowcast-dns: keeps a BIND zone in step with a table. Consumes a rowcast spool
// (inotify, in order, at-least-once) and turns row events into RFC 2136 updates
// signed with TSIG (rowcast::dns::sink). See docs/dns.md.
//
//   rowcast-dns CONFIG.yaml          run until SIGTERM/SIGINT
//   rowcast-dns --outbox SCHEMA.TABLE [-S socket | -h host -P port] -u user CONFIG.yaml
//                                    transactional mode: apply an event only once its outbox
//                                    row is committed (rowcast/udf/outbox.hpp, docs/udf.md)
//   rowcast-dns --check CONFIG.yaml  check the config, the key file, the spool and quarantine directories, exit
//   rowcast-dns --help | --version   (options: examples/common/cli.hpp, docs/programs.md)
//
// Config: YAML, every key in rowcast/dns/config_yaml.hpp and docs/dns.md (unknown keys are errors).
//
// Rejected rows (bad host name/address, CNAME at the name, a record changed
// outside the table) are written to the quarantine directory as <spool file
// name> (the event, same codec) and <name>.reason, once per event (an identical
// file already there is not written again; another event under the same name
// gets "-2", "-3"…); everything else goes on. A rejected event that cannot be written
// to the quarantine (a full disk, a quarantine that is a symbolic link) holds its batch:
// the spool files stay and the batch is tried again, nothing is removed. Server refusals (wrong key, zone not
// served, timeouts) hold the events and retry them with backoff; after an
// authentication failure the key file is read again, so fixing the key needs
// no restart. Exit status: 0 after SIGTERM/SIGINT, 2 bad config, 1 runtime error.
//
// Everything but the options is library code: the config loader (rowcast/dns/config_yaml.hpp),
// the sink with its quarantine and key reload (rowcast/dns/service.hpp), the spool
// reader (rowcast/transport/spool_reader.hpp), the outbox gate (rowcast/udf/outbox.hpp)
// and the loop (rowcast::run, rowcast/pipeline/run.hpp).
#include "../common/cli_codec.hpp"

#include <rowcast/codec/by_name.hpp>
#include <rowcast/dns/config.hpp>
#include <rowcast/dns/config_yaml.hpp>
#include <rowcast/dns/service.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/udf/outbox.hpp>
#include <rowcast/udf/outbox_mariadb.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace {

// Log lines: "<UTC time> rowcast-dns <level>: <message>" (the spool's prefixed "spool: ").
void log_line(rowcast::log_level l, std::string_view component, std::string_view message) {
    std::timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    const std::string prefix = component == "dns" || component == "rowcast-dns" ? std::string() : std::string(component) + ": ";
    std::fprintf(stderr, "%s.%03ldZ rowcast-dns %s: %s%.*s\n", buf, ts.tv_nsec / 1000000,
                 std::string(rowcast::to_string(l)).c_str(), prefix.c_str(), static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
}
void say(rowcast::log_level l, const std::string& m) { rowcast::log(l, "rowcast-dns", m); }

template <class Codec>
int serve(rowcast::dns::service_config c, std::optional<rowcast::udf::mariadb_outbox_options> outbox, std::stop_token stop) {
    auto out = rowcast::dns::service_sink<Codec>::create(c, rowcast::quarantine(c.quarantine), Codec{});
    if (!out) {
        say(rowcast::log_level::error, out.error_value().message);
        return 2;
    }
    rowcast::spool_reader_options ro;
    ro.directory = c.spool;
    ro.quarantine_directory = c.quarantine;
    ro.max_batch = c.max_batch;
    ro.gather = c.batch_delay;
    auto reader = rowcast::spool_reader<Codec>::open(ro, Codec{});
    if (!reader) {
        say(rowcast::log_level::error, reader.error_value().message);
        return 1;
    }
    say(rowcast::log_level::info, "started: server " + c.client.server + " port " + std::to_string(c.client.port) +
                                      ", spool " + c.spool.string() + " (" + std::to_string(reader->pending()) +
                                      " files waiting)");
    rowcast::run_options run;
    run.retry = {.initial = std::chrono::milliseconds(50), .max = c.retry_max};
    rowcast::result<void> r;
    std::optional<rowcast::udf::mariadb_outbox> store;
    if (!outbox) {
        r = rowcast::run(*reader, *out, stop, run);
    } else {  // transactional mode: the sink sees only the events whose outbox rows are committed
        store.emplace(*outbox);
        if (auto p = store->probe(); !p) {
            const bool transient = rowcast::is_transient(p.error_value());
            say(transient ? rowcast::log_level::warning : rowcast::log_level::error, "outbox: " + p.error_value().message);
            if (!transient) return 1;
        }
        say(rowcast::log_level::info, "transactional mode: outbox " + store->table());
        rowcast::udf::outbox_gate_options go;
        go.on_rejected = [&](const rowcast::event& e, const rowcast::error& why) { out->reject(e, why); };
        rowcast::udf::outbox_gate gate(*store, *out, go);
        r = rowcast::run(*reader, gate, stop, run);
        const auto& g = gate.stats();
        say(rowcast::log_level::info, "outbox: " + std::to_string(g.committed) + " committed, " +
                                          std::to_string(g.rolled_back) + " rolled back (dropped), " +
                                          std::to_string(g.ungated) + " without an outbox id, " +
                                          std::to_string(g.removed) + " rows removed");
    }
    if (!r) {
        say(rowcast::log_level::error, r.error_value().message);
        return 1;
    }
    say(rowcast::log_level::info, "stopped: " + std::to_string(out->stats().applied) + " events applied, " +
                                      std::to_string(out->stats().quarantined) + " quarantined, " +
                                      std::to_string(reader->pending()) + " files left for the next start");
    return 0;
}

}  // namespace

static int run_main(int argc, char** argv) {
    CLI::App app("Keeps a BIND zone in step with a table: follows a rowcast spool and sends RFC 2136 updates signed "
                 "with TSIG. The config file names the spool, its codec, the server, the key, the zones and the "
                 "tables (docs/dns.md).",
                 "rowcast-dns");
    rowcast_cli::setup(app, "Example: rowcast-dns --check /etc/rowcast/dns.yaml && rowcast-dns /etc/rowcast/dns.yaml\n"
                            "Bad config: exit 2 with 'rowcast-dns: config error: ...'. SIGTERM/SIGINT stop it (exit 0).");
    bool check = false;
    std::string path;
    app.add_option("CONFIG", path, "The YAML config file")->required();
    app.add_flag("--check", check,
                 "Check the config, the key file and the spool and quarantine directories, print 'config CONFIG ok' "
                 "and exit");
    std::string outbox;
    unsigned outbox_wait = 1;
    rowcast_cli::connection_flags conn;
    rowcast_cli::add_connection_options(app, conn);
    app.add_option("--outbox", outbox,
                   "Transactional mode (triggers made with rowcast-triggers --transactional): apply an event only once "
                   "its row in this outbox table is committed, drop it when rolled back (docs/udf.md). Uses the "
                   "connection options.")
        ->type_name("SCHEMA.TABLE");
    app.add_option("--outbox-wait", outbox_wait, "Seconds a check waits for an open transaction before holding")
        ->check(CLI::Range(0, 60))
        ->capture_default_str();
    if (auto status = rowcast_cli::parse(app, argc, argv)) return *status;
    std::optional<rowcast::udf::mariadb_outbox_options> outbox_options;
    if (!outbox.empty()) {
        const auto dot = outbox.find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == outbox.size() || outbox.find('.', dot + 1) != std::string::npos)
            return rowcast_cli::usage_error(app, "--outbox: expected SCHEMA.TABLE, got '" + outbox + "'");
        outbox_options = rowcast::udf::mariadb_outbox_options{.host = conn.host, .port = conn.port, .socket = conn.socket,
                                                              .user = conn.user, .password = conn.password,
                                                              .schema = outbox.substr(0, dot),
                                                              .table = outbox.substr(dot + 1), .lock_wait = outbox_wait};
        if (outbox_options->host.empty()) outbox_options->host = "127.0.0.1";
        outbox_options->tls = conn.tls;
    } else if (conn.given()) {
        return rowcast_cli::usage_error(app, "the connection options are for --outbox");
    }
    auto loaded = rowcast::dns::load_service_config(path);
    if (!loaded) {
        std::fprintf(stderr, "rowcast-dns: config error: %s\n", loaded.error_value().message.c_str());
        return 2;
    }
    rowcast::dns::service_config c = std::move(*loaded);
    if (auto ok = rowcast::dns::check_service_config(c); !ok) {
        std::fprintf(stderr, "rowcast-dns: config error: %s\n", ok.error_value().message.c_str());
        return 2;
    }
    rowcast::spool_reader_options where;  // a mistyped spool directory is an error, never created
    where.directory = c.spool;
    where.quarantine_directory = c.quarantine;
    if (auto ok = rowcast::check_spool_directory(where); !ok) {
        std::fprintf(stderr, "rowcast-dns: config error: %s\n", ok.error_value().message.c_str());
        return 2;
    }
    if (check) {
        std::printf("rowcast-dns: config %s ok\n", path.c_str());
        return 0;
    }
    rowcast::set_log_sink(log_line);
    rowcast_cli::signal_stop signals;  // SIGTERM/SIGINT: stop after the batch in hand
    auto spec = rowcast::parse_codec_spec(c.codec);
    if (!spec) {
        std::fprintf(stderr, "rowcast-dns: config error: %s\n", spec.error_value().message.c_str());
        return 2;
    }
    return rowcast::with_codec(*spec, [&]<class Codec>(Codec) { return serve<Codec>(std::move(c), outbox_options, signals.token()); });
}

int main(int argc, char** argv) { return rowcast_cli::guarded("rowcast-dns", [&] { return run_main(argc, argv); }); }
