// rowcastd: the relay daemon. One YAML file names a source, filters and one or
// more sinks (docs/daemon.md); rowcastd runs them until SIGTERM.
//
//   rowcastd /etc/rowcast/rowcastd.yaml          run (systemd: examples/daemon/rowcastd.service)
//   rowcastd --check /etc/rowcast/rowcastd.yaml  validate the config, print 'config FILE ok', exit
//
// Signals: SIGTERM/SIGINT drain and checkpoint, then exit 0; SIGHUP reads the file
// again and applies it (the relay drained, checkpointed and reopened when its
// pipeline changed). Everything else is library code:
// rowcast/daemon/{config,relay,service,metrics,http,systemd}.hpp, rowcast/os/signals.hpp.
#include <rowcast/daemon/config.hpp>
#include <rowcast/daemon/http.hpp>
#include <rowcast/daemon/relay.hpp>
#include <rowcast/daemon/service.hpp>
#include <rowcast/os/signals.hpp>
#include <rowcast/daemon/systemd.hpp>

#include "../common/cli.hpp"

#include <iostream>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

namespace {

int run_main(int argc, char** argv) {
    namespace rd = rowcast::daemon;
    // Signals first, before any other thread exists and before the config is read:
    // a SIGTERM that arrives while rowcastd starts stops it cleanly (exit 0) instead
    // of killing it by the default action.
    std::stop_source stop;
    std::mutex running_mu;  // a reload and the end of the service do not overlap
    rd::service* running = nullptr;
    rowcast::os::signal_thread signals({.on_stop = [&] {
                                            rd::systemd::stopping();
                                            stop.request_stop();
                                        },
                                        .on_reload = [&] {
                                            const std::lock_guard lock(running_mu);
                                            rd::service* svc = running;
                                            if (svc == nullptr) return;  // still starting: the config is being read now
                                            rd::systemd::reloading();
                                            svc->reload();
                                            rd::systemd::ready();
                                        }});
    CLI::App app("rowcastd: relays change events from one source to several sinks, as a service", "rowcastd");
    rowcast_cli::setup(app, "Config reference: docs/daemon.md.");
    bool check = false;
    std::string file;
    app.add_flag("--check", check, "Validate the config (keys, values, key files) and exit");
    app.add_option("config", file, "The YAML config file")->required()->type_name("CONFIG");
    if (auto st = rowcast_cli::parse(app, argc, argv)) return *st;

    auto cfg = rd::load_config(file, rd::types());
    if (!cfg) return rowcast_cli::usage_error(app, cfg.error_value().message);
    if (check) {
        std::cout << "config " << file << " ok\n";
        return rowcast_cli::exit_ok;
    }
    rd::install_log(cfg->log_as, cfg->log_min);
    const std::string metrics_listen = cfg->metrics_listen;
    auto svc = rd::service::open(std::move(*cfg));
    if (!svc) return rowcast_cli::runtime_error(app, svc.error_value().message);

    std::unique_ptr<rd::http_server> http;
    if (!metrics_listen.empty()) {
        auto h = rd::http_server::start(metrics_listen, {.metrics = [&] { return (*svc)->metrics_text(); },
                                                         .failing = [&] { return (*svc)->failing(); }});
        if (!h) return rowcast_cli::runtime_error(app, h.error_value().message);
        http = std::move(*h);
        rowcast::log(rowcast::log_level::info, "daemon", "metrics on http://" + metrics_listen.substr(0, metrics_listen.rfind(':')) +
                                                        ":" + std::to_string(http->port()) + "/metrics");
    }
    {
        const std::lock_guard lock(running_mu);
        running = svc->get();
    }
    auto r = (*svc)->run(stop.get_token(), {.ready = [] { rd::systemd::ready(); }, .watchdog = [] { rd::systemd::watchdog(); }});
    {
        const std::lock_guard lock(running_mu);
        running = nullptr;
    }
    rd::systemd::stopping();
    if (!r) return rowcast_cli::runtime_error(app, r.error_value().message);
    return rowcast_cli::exit_ok;
}

}  // namespace

int main(int argc, char** argv) { return rowcast_cli::guarded("rowcastd", [&] { return run_main(argc, argv); }); }
