// rowcast/nats/connection.hpp: a connection to a NATS server or cluster (cnats),
// and the JetStream stream that the producer publishes into (created or checked).
//
//   auto c = rowcast::nats::connection::connect({.servers = {"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"}});
//   rowcast::nats::stream_options s{.name = "ROWCAST", .subjects = {"rowcast.>"}, .replicas = 3};
//   auto r = rowcast::nats::ensure_stream(*c, s);   // creates it, or checks an existing one
//
// The connection reconnects by itself (cnats) to any server of the list and those the
// cluster announces; operations during a reconnect fail with errc::unavailable
// (transient: rowcast::run() retries them after its backoff).
//
// Errors: "[rowcast.nats.<errc>] <where>: <what>: <cnats status> (<detail>)": unavailable
// for servers that cannot be reached, time-outs and JetStream errors (transient);
// refused for authentication or a stream whose configuration differs from the
// options (permanent: the options or the stream must change); invalid_value for bad
// options; not_found for a stream that does not exist when `create` is false.
//
// Thread-safety: a connection may be used from several threads (cnats is); the
// objects that use it (producer, consumer) are one thread each.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/nats/detail/handles.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace nats {

struct connection_options {
    std::vector<std::string> servers{"nats://127.0.0.1:4222"};  ///< URLs; any of them will do
    std::string name = "rowcast";                                ///< client name shown by the server
    std::chrono::milliseconds connect_timeout{2000};             ///< per server, per attempt
    std::chrono::milliseconds reconnect_wait{250};               ///< between reconnect attempts
    int max_reconnect = -1;                                      ///< reconnect attempts after a loss (-1: forever)
    bool retry_on_failed_connect = false;  ///< connect() succeeds at once and connects in the background
};

/// An open NATS connection (owns the natsConnection; move-only).
class connection {
public:
    /// Connects to one of `o.servers`.
    static result<connection> connect(const connection_options& o) {
        namespace d = rowcast::detail::nats;
        if (o.servers.empty()) return error::make(errc::invalid_value, "nats", "connect", "no server URL given");
        natsOptions* raw = nullptr;
        if (auto s = natsOptions_Create(&raw); s != NATS_OK) return d::make_error(s, "connect", "natsOptions_Create");
        d::options_ptr opts(raw);
        std::vector<const char*> urls;
        for (const auto& u : o.servers) urls.push_back(u.c_str());
        natsStatus s = natsOptions_SetServers(opts.get(), urls.data(), static_cast<int>(urls.size()));
        if (s == NATS_OK) s = natsOptions_SetName(opts.get(), o.name.c_str());
        if (s == NATS_OK) s = natsOptions_SetTimeout(opts.get(), o.connect_timeout.count());
        if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts.get(), o.reconnect_wait.count());
        if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts.get(), o.max_reconnect);
        if (s == NATS_OK) s = natsOptions_SetNoRandomize(opts.get(), false);
        if (s == NATS_OK && o.retry_on_failed_connect)
            s = natsOptions_SetRetryOnFailedConnect(opts.get(), true, nullptr, nullptr);
        if (s != NATS_OK) return d::make_error(s, "connect", "invalid connection options");
        natsConnection* nc = nullptr;
        s = natsConnection_Connect(&nc, opts.get());
        if (s != NATS_OK && !(s == NATS_NOT_YET_CONNECTED && o.retry_on_failed_connect)) {
            natsConnection_Destroy(nc);
            return d::make_error(s, o.servers.front() + (o.servers.size() > 1 ? " (and others)" : ""),
                                 "cannot connect");
        }
        return connection(d::connection_ptr(nc));
    }

    natsConnection* native() const noexcept { return nc_.get(); }

    /// Closes the connection (its reader thread ends; the subscriptions get nothing more).
    /// The destructor closes too; call it first where subscriptions or JetStream contexts of this
    /// connection are destroyed before it (cnats 3.4 can touch a subscription being destroyed
    /// while its reader thread still delivers to it: fixed upstream in cnats 3.6, nats.c#638).
    void close() noexcept {
        if (nc_) natsConnection_Close(nc_.get());
    }

    /// A JetStream context with `o` (nullptr: defaults); owned by the caller.
    result<rowcast::detail::nats::js_ptr> jetstream(jsOptions* o = nullptr) const {
        jsCtx* js = nullptr;
        if (auto s = natsConnection_JetStream(&js, nc_.get(), o); s != NATS_OK)
            return rowcast::detail::nats::make_error(s, "jetstream", "cannot create a JetStream context");
        return rowcast::detail::nats::js_ptr(js);
    }

private:
    explicit connection(rowcast::detail::nats::connection_ptr nc) : nc_(std::move(nc)) {}
    rowcast::detail::nats::connection_ptr nc_;
};

enum class retention { limits, interest, work_queue };
enum class discard_policy { old, new_ };

/// A JetStream stream as the producer needs it. ensure_stream() creates it with these
/// settings, or checks that an existing one has the same subjects, replicas,
/// retention, max age and duplicate window (and discard policy and limits).
struct stream_options {
    std::string name = "ROWCAST";
    std::vector<std::string> subjects;      ///< empty: the producer's template filter ("rowcast.*.*")
    int replicas = 1;                       ///< 1, 3 or 5 in a cluster (one per server)
    nats::retention retention = retention::limits;
    std::chrono::seconds max_age{0};        ///< 0: kept until the limits below
    /// How long the server remembers message ids: a re-publish after a restart within this
    /// window is dropped. Size it above the longest restart time (docs/nats.md).
    std::chrono::milliseconds duplicate_window{std::chrono::minutes(2)};
    std::int64_t max_msgs = -1;             ///< -1: no limit
    std::int64_t max_bytes = -1;            ///< -1: no limit
    discard_policy discard = discard_policy::old;  ///< new_: a full stream refuses publishes
    bool create = true;                     ///< create the stream when missing (else: not_found)
};

/// Creates the stream of `o` or checks the existing one (see stream_options). Errors:
/// refused naming each setting that differs; not_found when missing and !o.create.
inline result<void> ensure_stream(const connection& c, const stream_options& o) {
    namespace d = rowcast::detail::nats;
    const std::string where = "stream " + o.name;
    if (o.subjects.empty())
        return error::make(errc::invalid_value, "nats", where, "no subjects given");
    auto js = c.jetstream();
    if (!js) return js.error_value();
    std::vector<const char*> subj;
    for (const auto& s : o.subjects) subj.push_back(s.c_str());
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = o.name.c_str();
    cfg.Subjects = subj.data();
    cfg.SubjectsLen = static_cast<int>(subj.size());
    cfg.Retention = o.retention == retention::limits       ? js_LimitsPolicy
                    : o.retention == retention::interest ? js_InterestPolicy
                                                         : js_WorkQueuePolicy;
    cfg.Replicas = o.replicas;
    cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(o.max_age).count();
    cfg.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(o.duplicate_window).count();
    cfg.MaxMsgs = o.max_msgs;
    cfg.MaxBytes = o.max_bytes;
    cfg.Discard = o.discard == discard_policy::old ? js_DiscardOld : js_DiscardNew;
    cfg.Storage = js_FileStorage;

    jsStreamInfo* raw = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&raw, js->get(), o.name.c_str(), nullptr, &jerr);
    d::stream_info_ptr info(raw);
    if (s == NATS_NOT_FOUND || jerr == d::js_stream_not_found) {
        if (!o.create) return error::make(errc::not_found, "nats", where, "no such stream (and create is off)");
        jerr = static_cast<jsErrCode>(0);
        s = js_AddStream(&raw, js->get(), &cfg, nullptr, &jerr);
        info.reset(raw);
        if (s != NATS_OK) return d::make_error(s, where, "cannot create the stream", jerr);
        return {};
    }
    if (s != NATS_OK) return d::make_error(s, where, "cannot read the stream's configuration", jerr);
    const jsStreamConfig& have = *info->Config;
    std::string diff;
    auto note = [&](const std::string& what, const std::string& is, const std::string& want) {
        if (is == want) return;
        if (!diff.empty()) diff += "; ";
        diff += what + " is " + is + ", expected " + want;
    };
    note("subjects", d::join(have.Subjects, have.SubjectsLen), d::join(subj.data(), cfg.SubjectsLen));
    note("replicas", std::to_string(have.Replicas), std::to_string(cfg.Replicas));
    auto ret = [](jsRetentionPolicy r) {
        return std::string(r == js_LimitsPolicy ? "limits" : r == js_InterestPolicy ? "interest" : "workqueue");
    };
    note("retention", ret(have.Retention), ret(cfg.Retention));
    note("max age (ns)", std::to_string(have.MaxAge), std::to_string(cfg.MaxAge));
    note("duplicate window (ns)", std::to_string(have.Duplicates), std::to_string(cfg.Duplicates));
    note("discard", have.Discard == js_DiscardOld ? "old" : "new", cfg.Discard == js_DiscardOld ? "old" : "new");
    note("max msgs", std::to_string(have.MaxMsgs), std::to_string(cfg.MaxMsgs));
    note("max bytes", std::to_string(have.MaxBytes), std::to_string(cfg.MaxBytes));
    if (!diff.empty())
        return error::make(errc::refused, "nats", where,
                           "exists with another configuration: " + diff + " (change the stream or the options)");
    return {};
}

}  // namespace nats
ROWCAST_NAMESPACE_END
