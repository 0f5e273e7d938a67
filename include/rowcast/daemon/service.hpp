// rowcast/daemon/service.hpp: rowcastd's life around one relay (daemon/relay.hpp):
// run it, and on SIGHUP read the config file again and apply it — the log settings
// at once, anything else that changed by draining the relay, saving its cursor and
// opening a new one on the new config in the same process.
//
//   auto cfg = rowcast::daemon::load_config(path, rowcast::daemon::types()).value();
//   auto svc = rowcast::daemon::service::open(std::move(cfg)).value();
//   // SIGHUP handler (any thread): svc->reload();
//   auto r = svc->run(stop.get_token(), {.ready = ..., .watchdog = ...});
//
// A reload whose pipeline keys changed (source, sinks, filters, checkpoint,
// status_file, drain_timeout_ms) stops the running relay as SIGTERM would: the
// source stops, the sinks get drain_timeout_ms to acknowledge, the last cursor they
// all acknowledged is saved; then the new relay opens and resumes from its
// checkpoint (what was not acknowledged in time is delivered again: at least once,
// nothing lost). If the new config cannot be opened (a sink that does not connect,
// a key file gone), the error is logged and the old config is opened again. A
// changed `metrics` listen address takes effect at the next start (logged). A file
// that does not parse is reported and nothing changes.
//
// Errors: run() returns what the relay returned (a source or sink that failed for
// good), or the error of reopening the old config after a failed reload.
// Thread-safety: run() on one thread; reload(), metrics_text() and failing() from any
// thread (the signal thread, the HTTP server's).
#pragma once

#include <rowcast/daemon/config.hpp>
#include <rowcast/daemon/relay.hpp>
#include <rowcast/log.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace daemon {

class service {
    struct passkey {  // only open() makes one
        explicit passkey() = default;
    };

public:
    /// Called on run()'s thread (ready) or on the relay's status thread (watchdog).
    struct hooks {
        std::function<void()> ready;     ///< a relay runs (at start, after each reopening)
        std::function<void()> watchdog;  ///< about every second while a relay runs
    };

    /// Opens the relay of `cfg` (its sinks connected, its checkpoint loaded).
    static result<std::unique_ptr<service>> open(config cfg) {
        auto r = relay::open(cfg);
        if (!r) return r.error_value();
        auto s = std::make_unique<service>(passkey{}, std::move(cfg));
        s->relay_ = std::move(*r);
        return s;
    }

    service(passkey, config cfg) : cfg_(std::move(cfg)) {}
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// Runs relays until `stop` or until the source ends without a reload pending.
    result<void> run(std::stop_token stop, hooks h = {}) {
        for (;;) {
            std::stop_source inner;
            {
                const std::lock_guard l(mu_);
                inner_ = &inner;
                if (pending_) inner.request_stop();  // a reload that came while reopening
            }
            std::stop_callback forward(stop, [&inner] { inner.request_stop(); });
            if (h.ready) h.ready();
            auto r = relay_->run(inner.get_token(), h.watchdog);
            std::optional<config> next;
            {
                const std::lock_guard l(mu_);
                inner_ = nullptr;
                if (!stop.stop_requested() && r) next = std::exchange(pending_, std::nullopt);
            }
            if (!next) return r;
            if (auto st = reopen(std::move(*next)); !st) return st;
        }
    }

    /// SIGHUP: reads the config file again and applies it (see the top of this header).
    void reload() {
        auto next = load_config(cfg_.file, types());
        if (!next) {
            log(log_level::error, "daemon", "SIGHUP: config not reloaded: " + next.error_value().message);
            return;
        }
        install_log(next->log_as, next->log_min);
        const std::lock_guard l(mu_);
        if (!relay_) {  // between two relays: the loop in run() opens the newest
            pending_ = std::move(*next);
            return;
        }
        std::vector<std::string> restart;
        for (const auto& k : changed_keys(cfg_, *next)) {
            if (k == "log") continue;
            if (k == "metrics") {
                log(log_level::warning, "daemon", "SIGHUP: 'metrics' changed: takes effect after a restart (not applied)");
                continue;
            }
            restart.push_back(k);
        }
        (void)relay_->reload(*next);  // the log settings, into the running relay's copy
        if (restart.empty()) {
            log(log_level::info, "daemon", "SIGHUP: log settings reloaded");
            cfg_.log_as = next->log_as;
            cfg_.log_min = next->log_min;
            cfg_.raw = next->raw;
            return;
        }
        std::string what;
        for (const auto& k : restart) what += (what.empty() ? "'" : ", '") + k + "'";
        log(log_level::info, "daemon", "SIGHUP: " + what + " changed: draining the relay, saving its cursor and reopening it");
        pending_ = std::move(*next);
        if (inner_) inner_->request_stop();
    }

    /// The running relay's metrics text ("" between two relays).
    std::string metrics_text() const {
        const std::lock_guard l(mu_);
        return relay_ ? relay_->metrics_text() : std::string();
    }

    /// The running relay's failing sinks ("" when healthy; "reloading" between two relays).
    std::string failing() const {
        const std::lock_guard l(mu_);
        return relay_ ? relay_->failing() : std::string("reloading");
    }

    /// The config in force.
    config settings() const {
        const std::lock_guard l(mu_);
        return cfg_;
    }

private:
    // Closes the drained relay, opens `next`; on failure reopens the old config.
    result<void> reopen(config next) {
        {
            const std::lock_guard l(mu_);
            relay_.reset();  // its sinks closed, its checkpoint saved (run() did)
        }
        auto opened = relay::open(next);
        const std::lock_guard l(mu_);
        if (opened) {
            relay_ = std::move(*opened);
            cfg_ = std::move(next);
            log(log_level::info, "daemon", "SIGHUP: the new config is in force");
            return {};
        }
        log(log_level::error, "daemon",
            "SIGHUP: the new config could not be opened, the old one is opened again: " + opened.error_value().message);
        auto old = relay::open(cfg_);
        if (!old) return old.error_value();
        relay_ = std::move(*old);
        install_log(cfg_.log_as, cfg_.log_min);
        return {};
    }

    mutable std::mutex mu_;
    config cfg_;
    std::unique_ptr<relay> relay_;
    std::optional<config> pending_;
    std::stop_source* inner_ = nullptr;
};

}  // namespace daemon
ROWCAST_NAMESPACE_END
