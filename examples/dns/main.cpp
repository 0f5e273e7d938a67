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
// The config loader (rowcast/dns/config_yaml.hpp), the key and its reload policy
// (rowcast/dns/config.hpp) and the quarantine (rowcast/os/quarantine.hpp) are library code;
// this program wires them to a spool_reader and a dns::sink.
#include "../common/cli_codec.hpp"

#include <rowcast/codec/by_name.hpp>
#include <rowcast/dns/config.hpp>
#include <rowcast/dns/config_yaml.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/os/quarantine.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/udf/outbox.hpp>
#include <rowcast/udf/outbox_mariadb.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <poll.h>
#include <unistd.h>

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) { stop_requested = true; }

void logf(const char* level, const std::string& m) {
    std::timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::fprintf(stderr, "%s.%03ldZ rowcast-dns %s: %s\n", buf, ts.tv_nsec / 1000000, level, m.c_str());
    std::fflush(stderr);
}

template <class Codec>
int run(rowcast::dns::service_config c, std::optional<rowcast::udf::mariadb_outbox_options> outbox) {
    Codec codec;
    rowcast::quarantine quarantine(c.quarantine);
    std::uint64_t rejected_files = 0;
    std::optional<rowcast::error> quarantine_failed;  // holds the batch: its files must stay
    // The sink reports a rejected event once per batch that goes through; after a crash the same
    // batch may come again: the quarantine does not store the same bytes twice under one name.
    c.sink.on_rejected = [&](const rowcast::event& e, const rowcast::error& err) {
        auto q = rowcast::quarantine_event(quarantine, codec, e, err.message);
        if (!q) {
            logf("error", "cannot quarantine rejected event " + rowcast::quarantine_name(e) + " (" + err.message +
                              "): " + q.error_value().message);
            if (!quarantine_failed) quarantine_failed = q.error_value();
            return;
        }
        const std::string name = q->path.filename().string();
        if (q->status == rowcast::quarantine_status::already_present) {
            logf("info", "already in quarantine: " + name + " (" + err.message + ")");
            return;
        }
        ++rejected_files;
        logf("warning", "quarantined " + name + ": " + err.message);
    };
    c.sink.log = [](rowcast::log_level l, std::string_view, std::string_view m) {
        using rowcast::log_level;
        if (l >= log_level::info) logf(l == log_level::error ? "error" : l == log_level::warning ? "warning" : "info", std::string(m));
    };
    auto sink = rowcast::dns::sink::create(c.sink, c.client);
    if (!sink) {
        logf("error", sink.error_value().message);
        return 2;
    }
    rowcast::spool_reader_options ro;
    ro.directory = c.spool;
    ro.quarantine_directory = c.quarantine;
    ro.max_batch = c.max_batch;
    ro.retry_initial = std::chrono::milliseconds(50);
    ro.retry_max = c.retry_max;
    ro.log = [](rowcast::log_level l, std::string_view, std::string_view m) {
        static constexpr const char* names[] = {"debug", "info", "warning", "error"};
        if (l != rowcast::log_level::debug) logf(names[static_cast<int>(l)], "spool: " + std::string(m));
    };
    auto reader = rowcast::spool_reader<Codec>::open(ro, codec);
    if (!reader) {
        logf("error", reader.error_value().message);
        return 1;
    }
    logf("info", "started: server " + c.client.server + " port " + std::to_string(c.client.port) + ", spool " +
                     c.spool.string() + " (" + std::to_string(reader->pending()) + " files waiting)");
    std::uint64_t applied = 0;
    bool holding = false;
    auto handler = [&](std::span<const rowcast::event> batch) -> rowcast::result<void> {
        const auto msgs = sink->stats().messages;
        auto r = sink->apply(batch);
        if (!r) {
            const auto& e = r.error_value();
            if (!rowcast::dns::is_transient(e)) {
                // Not expected from apply (bad rows are rejected one by one), but never drop silently.
                logf("error", "batch of " + std::to_string(batch.size()) + " events failed: " + e.message);
                return e;
            }
            if (!holding) logf("error", "holding " + std::to_string(batch.size()) + " events, will retry: " + e.message);
            holding = true;
            if (auto k = rowcast::dns::reload_key(e, c, sink->dns_client()); !k)
                logf("warning", "key not reloaded: " + k.error_value().message);
            return e;
        }
        if (quarantine_failed) {  // a rejected event is nowhere but in its spool file: keep the batch
            auto e = std::move(*quarantine_failed);
            quarantine_failed.reset();
            logf("error", "holding " + std::to_string(batch.size()) +
                              " events in the spool until the quarantine can be written: " + e.message);
            return e;
        }
        if (holding) logf("info", "server accepts updates again");
        holding = false;
        applied += batch.size();
        logf("info", "applied " + std::to_string(batch.size()) + " events in " +
                         std::to_string(sink->stats().messages - msgs) + " messages (total " + std::to_string(applied) +
                         ", rejected " + std::to_string(sink->stats().rejected) + ")");
        return {};
    };
    // Transactional mode: the handler sees only the events whose outbox rows are committed.
    std::optional<rowcast::udf::mariadb_outbox> store;
    if (outbox) {
        store.emplace(*outbox);
        if (auto p = store->probe(); !p) {
            logf(rowcast::is_transient(p.error_value()) ? "warning" : "error", "outbox: " + p.error_value().message);
            if (!rowcast::is_transient(p.error_value())) return 1;
        }
        logf("info", "transactional mode: outbox " + store->table());
    }
    rowcast::callback_sink applier(handler);
    rowcast::udf::outbox_gate_options go;
    go.on_rejected = c.sink.on_rejected;
    go.log = c.sink.log;
    std::optional<rowcast::udf::outbox_gate<rowcast::udf::mariadb_outbox, decltype(applier)>> gate;
    if (store) gate.emplace(*store, applier, go);
    auto gated = [&](std::span<const rowcast::event> batch) { return gate ? gate->write(batch) : handler(batch); };
    while (!stop_requested) {
        auto r = reader->process(gated);
        if (!r) {
            logf("error", r.error_value().message);
            return 1;
        }
        if (stop_requested) break;
        pollfd p{reader->native_handle(), POLLIN, 0};
        const auto t = reader->next_timeout().count();
        if (::poll(&p, 1, t < 0 || t > 200 ? 200 : static_cast<int>(t)) > 0 && c.batch_delay.count() > 0)
            ::usleep(static_cast<useconds_t>(c.batch_delay.count()) * 1000);  // let the events arriving together gather
    }
    if (gate) {
        if (auto f = gate->flush(); !f) logf("warning", "outbox rows not removed: " + f.error_value().message);
        const auto& g = gate->stats();
        logf("info", "outbox: " + std::to_string(g.committed) + " committed, " + std::to_string(g.rolled_back) +
                         " rolled back (dropped), " + std::to_string(g.ungated) + " without an outbox id, " +
                         std::to_string(g.removed) + " rows removed");
    }
    logf("info", "stopped: " + std::to_string(applied) + " events applied, " + std::to_string(rejected_files) +
                     " quarantined, " + std::to_string(reader->pending()) + " files left for the next start");
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
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    auto spec = rowcast::parse_codec_spec(c.codec);
    if (!spec) {
        std::fprintf(stderr, "rowcast-dns: config error: %s\n", spec.error_value().message.c_str());
        return 2;
    }
    return rowcast::with_codec(*spec, [&]<class Codec>(Codec) { return run<Codec>(std::move(c), outbox_options); });
}

int main(int argc, char** argv) { return rowcast_cli::guarded("rowcast-dns", [&] { return run_main(argc, argv); }); }
