// rowcast/dns/service.hpp: dns::service_sink, the DNS sink as a long-running service
// runs it (rowcast-dns, rowcastd's `dns` sink): rejected rows go to a quarantine,
// a refused key is read again, and nothing is lost on the way.
//
//   rowcast::quarantine q(dir / "rejected");
//   auto out = rowcast::dns::service_sink<rowcast::json_codec>::create(cfg, std::move(q), {}).value();
//   rowcast::run(reader, out, stop.get_token());      // an event_sink like any other
//
// What it adds to dns::sink (which applies a batch and reports each bad row through
// on_rejected):
//   - each rejected event (bad host name or address, a CNAME at the name, a record changed
//     outside the table) is encoded with `Codec` and stored in the quarantine as
//     <spool file name> + <name>.reason (quarantine_event(); an identical entry already there
//     is not written again, so a batch delivered twice after a crash quarantines once);
//   - a rejected event that cannot be stored (full disk, quarantine replaced by a link) makes
//     write() fail after the batch went through, with that error: the caller keeps the batch
//     (the spool keeps its files; the fan-out holds) and tries it again, so the event is never
//     only in memory. The DNS updates of the batch are idempotent (prerequisite-checked), so a
//     repeat changes nothing;
//   - a refusal that a changed key explains (BADSIG, BADKEY, REFUSED) reads the key file again
//     (dns::reload_key()): fixing the key needs no restart;
//   - one log line when it starts holding events and one when the server accepts again
//     (not one per retry); an info line per applied batch when options.log_batches.
//
// Errors: write() returns the sink's error (transient: server down, timeouts, refusals;
// the caller retries with backoff) or the quarantine's (transient too: the batch is held).
// A permanent error from dns::sink::apply() (not expected: bad rows are rejected one by
// one) is returned as it is.
// Thread-safety: one thread at a time (like dns::sink).
#pragma once

#include <rowcast/dns/config.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/os/quarantine.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

struct service_sink_options {
    /// Prefix of every log message, e.g. "sink 'zone': " (rowcastd); empty for none.
    std::string label;
    /// Log sink (component "dns"); default: the process-wide hook (rowcast/log.hpp).
    log_sink log;
    /// An info line per applied batch ("applied N events in M messages (total …)").
    bool log_batches = true;
    /// Called after each rejected event was stored (or failed to be), e.g. to count it.
    std::function<void(const event&, const rowcast::error& why, bool stored)> on_rejected;
};

/// Counters since create().
struct service_sink_stats {
    std::uint64_t applied = 0;      ///< events in batches the server accepted
    std::uint64_t quarantined = 0;  ///< rejected events newly stored in the quarantine
    std::uint64_t key_reloads = 0;  ///< key file read again after a refusal

    template <class V>
    void visit(V&& v) const {
        v(rowcast::detail::counter("applied", applied, "events in batches the DNS server accepted"));
        v(rowcast::detail::counter("quarantined", quarantined, "rejected events stored in the quarantine"));
        v(rowcast::detail::counter("key_reloads", key_reloads, "key file read again after a refusal"));
    }
};

template <class Codec>
class service_sink {
public:
    /// Builds the sink from a checked config (check_service_config() has read the key into
    /// config.client.key). `config.sink.on_rejected` is replaced (the quarantine takes it).
    /// Errors: the quarantine directory cannot be made (quarantine::check()), or the mapping
    /// and zones are refused (dns::sink::create()).
    static result<service_sink> create(service_config config, quarantine q, Codec codec,
                                       service_sink_options opt = {}) {
        if (auto c = q.check(); !c) return c.error_value();
        auto st = std::make_unique<state>(std::move(config), std::move(q), std::move(codec), std::move(opt));
        state* s = st.get();
        st->config.sink.on_rejected = [s](const event& e, const rowcast::error& why) { s->reject(e, why); };
        auto snk = sink::create(st->config.sink, st->config.client);
        if (!snk) return snk.error_value();
        st->dns.emplace(std::move(*snk));
        return service_sink(std::move(st));
    }

    result<void> write(const event& e) { return write(std::span<const event>(&e, 1)); }

    result<void> write(std::span<const event> batch) {
        state& s = *st_;
        const auto messages = s.dns->stats().messages;
        auto r = s.dns->apply(batch);
        if (!r) {
            const rowcast::error& e = r.error_value();
            if (!dns::is_transient(e)) {
                s.say(log_level::error, "batch of " + std::to_string(batch.size()) + " events failed: " + e.message);
                return e;
            }
            if (!s.holding)
                s.say(log_level::error, "holding " + std::to_string(batch.size()) + " events, will retry: " + e.message);
            s.holding = true;
            auto k = reload_key(e, s.config, s.dns->dns_client());
            if (!k) s.say(log_level::warning, "key not reloaded: " + k.error_value().message);
            else if (*k) ++s.stats.key_reloads;
            // dns::is_transient counts an operating-system error of the network path as
            // transient too; say so to rowcast::run() and the fan-out, which retry only those.
            if (rowcast::is_transient(e)) return e;
            return rowcast::error::make(rowcast::errc::unavailable, "dns", "server", e.message);
        }
        if (s.quarantine_failed) {  // a rejected event is nowhere but in the caller's batch: keep it
            rowcast::error e = std::move(*s.quarantine_failed);
            s.quarantine_failed.reset();
            s.say(log_level::error, "holding " + std::to_string(batch.size()) +
                                        " events until the quarantine can be written: " + e.message);
            return rowcast::error::make(rowcast::errc::unavailable, "dns", "quarantine", e.message);
        }
        if (s.holding) s.say(log_level::info, "server accepts updates again");
        s.holding = false;
        s.stats.applied += batch.size();
        if (s.opt.log_batches)
            s.say(log_level::info, "applied " + std::to_string(batch.size()) + " events in " +
                                       std::to_string(s.dns->stats().messages - messages) + " messages (total " +
                                       std::to_string(s.stats.applied) + ", rejected " +
                                       std::to_string(s.dns->stats().rejected) + ")");
        return {};
    }

    /// Quarantines an event that a stage in front of this sink refused (e.g. the outbox
    /// gate's malformed outbox id) the way rejected rows are: stored with `why`; if it cannot
    /// be stored, the next write() fails and the caller keeps its batch.
    void reject(const event& e, const rowcast::error& why) { st_->reject(e, why); }

    /// Updates are applied synchronously by write(): nothing to flush.
    result<void> flush() { return {}; }

    const service_sink_stats& stats() const noexcept { return st_->stats; }
    const sink_stats& dns_stats() const noexcept { return st_->dns->stats(); }

    template <class V>
    void visit(V&& v) const {
        st_->stats.visit(v);
        st_->dns->stats().visit(v);
    }

private:
    struct state {
        state(service_config c, quarantine qq, Codec cc, service_sink_options o)
            : config(std::move(c)), q(std::move(qq)), codec(std::move(cc)), opt(std::move(o)) {}
        service_config config;
        quarantine q;
        Codec codec;
        service_sink_options opt;
        std::optional<sink> dns;
        service_sink_stats stats;
        std::optional<rowcast::error> quarantine_failed;
        bool holding = false;

        void say(log_level l, const std::string& m) const { rowcast::log(opt.log, l, "dns", opt.label + m); }

        void reject(const event& e, const rowcast::error& why) {
            auto stored = quarantine_event(q, codec, e, why.message);
            if (!stored) {
                say(log_level::error, "cannot quarantine rejected event " + quarantine_name(e) + " (" + why.message +
                                          "): " + stored.error_value().message);
                if (!quarantine_failed) quarantine_failed = stored.error_value();
            } else if (stored->status == quarantine_status::already_present) {
                say(log_level::info, "already in quarantine: " + stored->path.filename().string() + " (" + why.message + ")");
            } else {
                ++stats.quarantined;
                say(log_level::warning, "quarantined " + stored->path.filename().string() + ": " + why.message);
            }
            if (opt.on_rejected) opt.on_rejected(e, why, stored.has_value());
        }
    };

    explicit service_sink(std::unique_ptr<state> s) : st_(std::move(s)) {}
    std::unique_ptr<state> st_;
};

}  // namespace dns
ROWCAST_NAMESPACE_END
