// rowcast/dns/config.hpp: the settings of a spool-to-DNS service (what the
// program rowcast-dns runs, docs/dns.md), the TSIG key they name, and the
// key-reload policy.
//
// `service_config` gathers the client's and the sink's options with the key
// file and the spool settings. It is filled by the YAML loader
// (rowcast/dns/config_yaml.hpp, which needs yaml-cpp) or by hand. This header
// needs only the dns component (OpenSSL).
//
// check_service_config() reads the key file into `client.key` and builds a
// sink once to check the mapping and zones: what `rowcast-dns --check` does.
//
// Key reload: a signed update refused for its key (TSIG BADSIG or BADKEY, or
// REFUSED) may mean the key file was changed on both ends; should_reload_key()
// says when, and reload_key() reads the key file again and installs the key
// in a client, so fixing a key needs no restart.
//
// Errors: result<T> with the dns errors (errc::key_file from the key file,
// errc::bad_config from the sink's checks), prefixed with the config file
// ("[rowcast.dns.key_file] /etc/rowcast/dns.yaml: /etc/rowcast/dns.key: cannot be read").
//
// Thread-safety: plain values and free functions; reload_key() changes the
// client it is given (one thread at a time per client).
#pragma once

#include <rowcast/detail/error_context.hpp>
#include <rowcast/dns/client.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

/// Everything a spool-to-DNS service needs (defaults as documented in docs/dns.md).
struct service_config {
    std::string file;                ///< where it was read from (for messages); may be empty
    client_options client;           ///< server, port, timeout, attempts; `key` set by check_service_config()
    sink_options sink;               ///< tables, zones, ttl (callbacks are the caller's)
    std::string key_file;            ///< BIND key file (tsig-keygen)
    std::string key_name;            ///< empty: the file must hold exactly one key
    std::filesystem::path spool;     ///< the spool directory read
    std::filesystem::path quarantine;  ///< rejected events; default <spool>/quarantine
    std::string codec = "binary";    ///< the spool's codec: "binary", "json" or "yaml"
    std::size_t max_batch = 500;     ///< events per sink call
    std::chrono::milliseconds retry_max{5000};   ///< backoff ceiling while the server refuses
    std::chrono::milliseconds batch_delay{5};    ///< wait after new files show up, to batch them (0: none)
};

/// Reads c.key_file and picks c.key_name (or the only key). Errors: errc::key_file.
inline result<tsig_key> load_key(const service_config& c) {
    auto keys = load_key_file(c.key_file);
    if (!keys) return keys.error_value();
    return find_key(*keys, c.key_name);
}

/// Loads the key into c.client.key and checks that a sink can be built from c.sink and
/// c.client (mapping, zones). Errors name the config file.
inline result<void> check_service_config(service_config& c) {
    auto named = [&](rowcast::error e) { return c.file.empty() ? e : rowcast::detail::with_where(std::move(e), c.file); };
    auto key = load_key(c);
    if (!key) return named(std::move(key.error_value()));
    c.client.key = std::move(*key);
    auto probe = sink::create(c.sink, c.client);
    if (!probe) return named(std::move(probe.error_value()));
    return {};
}

/// The key-reload policy: true for the refusals a changed key causes (TSIG BADSIG, BADKEY,
/// and REFUSED, which BIND answers for a key its update-policy does not know).
inline bool should_reload_key(const rowcast::error& e) noexcept {
    return is(e, errc::notauth_badsig) || is(e, errc::notauth_badkey) || is(e, errc::refused);
}

/// Applies the policy: after such an error reads the key file again and installs the key in
/// `cl`. Returns true if a key was installed, false if the error does not call for it; an
/// unreadable key file is an error (the old key stays).
inline result<bool> reload_key(const rowcast::error& after, const service_config& c, client& cl) {
    if (!should_reload_key(after)) return false;
    auto key = load_key(c);
    if (!key) return std::move(key.error_value());
    cl.options().key = std::move(*key);
    return true;
}

}  // namespace dns
ROWCAST_NAMESPACE_END
