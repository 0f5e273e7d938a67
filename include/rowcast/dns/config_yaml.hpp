// rowcast/dns/config_yaml.hpp: reads a dns::service_config (rowcast/dns/config.hpp)
// from YAML, the config file of rowcast-dns (docs/dns.md).
//
// Needs yaml-cpp as well as OpenSSL: link both rowcast::dns and rowcast::yaml
// (find_package(rowcast COMPONENTS dns yaml)). rowcast/dns/config.hpp alone needs
// only the dns component.
//
//   server: 127.0.0.1        # address literal of the primary (default 127.0.0.1)
//   port: 53                 # 1-65535
//   key_file: /etc/rowcast/dns.key   # required; BIND format (tsig-keygen)
//   key_name: rowcast-key    # optional when the file holds one key
//   timeout_ms: 2000         # per try, 1-600000
//   attempts: 3              # tries per message, 1-100
//   ttl: 300                 # seconds, 0-2147483647
//   forward_zones: [example.test]        # a list, or one name
//   reverse_zones: [2.0.192.in-addr.arpa]
//   tables:                  # required, non-empty
//     - {schema: inventory, table: hosts, host_column: hostname, address_column: ip, mac_column: mac}
//   spool:                   # required
//     directory: /var/spool/rowcast      # required
//     codec: binary          # binary | json | yaml
//     quarantine_directory: /var/spool/rowcast/quarantine   # default <directory>/quarantine
//     max_batch: 500         # 1-100000
//     retry_max_ms: 5000     # > 0
//     batch_delay_ms: 5      # 0-10000
//
// Unknown keys and keys given twice are errors. The key file itself is read by
// check_service_config() (config.hpp), not here.
//
// Errors: "[rowcast.dns.bad_config] <file>: <what>", naming the field with its
// path ("'spool.max_batch' must be 1-100000", "unknown key 'colour' in the top
// level", "YAML: <parser message>", "cannot be read"). Nothing throws (yaml-cpp's
// exceptions are caught here) but std::bad_alloc.
//
// Thread-safety: free functions on their arguments only.
#pragma once

#include <rowcast/codec/names.hpp>
#include <rowcast/dns/config.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <sys/socket.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::dns {

// Thrown inside the loader only, caught by parse_service_config.
struct config_problem {
    std::string what;
};

template <class T>
T yaml_scalar(const YAML::Node& n, const std::string& key) {
    try {
        return n.as<T>();
    } catch (const YAML::Exception&) {
        throw config_problem{"'" + key + "' has a wrong type or value"};
    }
}

// A number in [lo, hi], else "'<key>' must be <range>".
template <class T>
T yaml_ranged(const YAML::Node& n, const std::string& key, T lo, T hi, const std::string& range) {
    const T v = yaml_scalar<T>(n, key);
    if (v < lo || v > hi) throw config_problem{"'" + key + "' must be " + range};
    return v;
}

inline void yaml_check_keys(const YAML::Node& n, const std::string& where, std::initializer_list<std::string_view> allowed) {
    if (!n.IsMap()) throw config_problem{where + " must be a mapping"};
    std::set<std::string> seen;
    for (const auto& kv : n) {
        if (!kv.first.IsScalar())  // YAML's complex keys: "? [a, b]", "? {a: b}"
            throw config_problem{"a key in " + where + " is a " + (kv.first.IsSequence() ? "sequence" : "mapping") +
                                 ", not a name"};
        const auto k = yaml_scalar<std::string>(kv.first, "a key in " + where);
        if (!seen.insert(k).second) throw config_problem{"key '" + k + "' given twice in " + where};
        if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
            throw config_problem{"unknown key '" + k + "' in " + where};
    }
}

inline std::vector<std::string> yaml_string_list(const YAML::Node& n, const std::string& key) {
    std::vector<std::string> out;
    if (!n) return out;
    if (n.IsScalar()) return {yaml_scalar<std::string>(n, key)};
    if (!n.IsSequence()) throw config_problem{"'" + key + "' must be a list"};
    for (const auto& x : n) out.push_back(yaml_scalar<std::string>(x, key));
    return out;
}

// Sets `out` from n[key] when present.
template <class T>
void yaml_optional(const YAML::Node& n, const char* key, const std::string& path, T& out) {
    if (const YAML::Node v = n[key]) out = yaml_scalar<T>(v, path);
}

inline ::rowcast::dns::service_config read_service_config(const YAML::Node& root) {
    using ms = std::chrono::milliseconds;
    yaml_check_keys(root, "the top level",
                    {"server", "port", "key_file", "key_name", "timeout_ms", "attempts", "ttl", "forward_zones",
                     "reverse_zones", "tables", "spool"});
    ::rowcast::dns::service_config c;
    yaml_optional(root, "server", "server", c.client.server);
    unsigned char addr[16];
    if (::inet_pton(AF_INET, c.client.server.c_str(), addr) != 1 && ::inet_pton(AF_INET6, c.client.server.c_str(), addr) != 1)
        throw config_problem{"'server' must be an IPv4 or IPv6 address, not '" + c.client.server + "'"};
    if (root["port"]) c.client.port = static_cast<std::uint16_t>(yaml_ranged<int>(root["port"], "port", 1, 65535, "1-65535"));
    if (!root["key_file"]) throw config_problem{"'key_file' is required"};
    c.key_file = yaml_scalar<std::string>(root["key_file"], "key_file");
    yaml_optional(root, "key_name", "key_name", c.key_name);
    if (root["timeout_ms"]) c.client.timeout = ms(yaml_ranged<long>(root["timeout_ms"], "timeout_ms", 1, 600000, "1-600000"));
    if (root["attempts"]) c.client.attempts = static_cast<unsigned>(yaml_ranged<int>(root["attempts"], "attempts", 1, 100, "1-100"));
    if (root["ttl"])
        c.sink.ttl = static_cast<std::uint32_t>(yaml_ranged<long>(root["ttl"], "ttl", 0, 2147483647, "0-2147483647 seconds"));
    c.sink.forward_zones = yaml_string_list(root["forward_zones"], "forward_zones");
    c.sink.reverse_zones = yaml_string_list(root["reverse_zones"], "reverse_zones");
    const YAML::Node tables = root["tables"];
    if (!tables || !tables.IsSequence() || tables.size() == 0) throw config_problem{"'tables' must be a non-empty list"};
    for (const auto& t : tables) {
        yaml_check_keys(t, "a 'tables' entry", {"schema", "table", "host_column", "address_column", "mac_column"});
        ::rowcast::dns::table_mapping m;
        if (!t["table"]) throw config_problem{"a 'tables' entry has no 'table'"};
        yaml_optional(t, "schema", "tables.schema", m.schema);
        yaml_optional(t, "table", "tables.table", m.table);
        yaml_optional(t, "host_column", "tables.host_column", m.host_column);
        yaml_optional(t, "address_column", "tables.address_column", m.address_column);
        yaml_optional(t, "mac_column", "tables.mac_column", m.mac_column);
        c.sink.tables.push_back(std::move(m));
    }
    const YAML::Node sp = root["spool"];
    if (!sp) throw config_problem{"'spool' is required"};
    yaml_check_keys(sp, "'spool'", {"directory", "codec", "quarantine_directory", "max_batch", "retry_max_ms", "batch_delay_ms"});
    if (!sp["directory"]) throw config_problem{"'spool.directory' is required"};
    c.spool = yaml_scalar<std::string>(sp["directory"], "spool.directory");
    c.quarantine = sp["quarantine_directory"]
                       ? std::filesystem::path(yaml_scalar<std::string>(sp["quarantine_directory"], "spool.quarantine_directory"))
                       : c.spool / "quarantine";
    yaml_optional(sp, "codec", "spool.codec", c.codec);
    if (!parse_codec_name(c.codec))
        throw config_problem{"'spool.codec' must be binary, json or yaml"};
    if (sp["max_batch"])
        c.max_batch = static_cast<std::size_t>(yaml_ranged<long>(sp["max_batch"], "spool.max_batch", 1, 100000, "1-100000"));
    if (sp["retry_max_ms"])
        c.retry_max = ms(yaml_ranged<long>(sp["retry_max_ms"], "spool.retry_max_ms", 1, std::numeric_limits<long>::max(), "positive"));
    if (sp["batch_delay_ms"])
        c.batch_delay = ms(yaml_ranged<long>(sp["batch_delay_ms"], "spool.batch_delay_ms", 0, 10000, "0-10000"));
    return c;
}

}  // namespace detail::dns

namespace dns {

/// Parses the YAML text of a config; `file` names it in messages and in service_config::file.
inline result<service_config> parse_service_config(std::string_view yaml, const std::string& file) {
    try {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(yaml));
        } catch (const YAML::Exception& e) {
            return make_error(errc::bad_config, file, std::string("YAML: ") + e.what());
        }
        service_config c = detail::dns::read_service_config(root);
        c.file = file;
        return c;
    } catch (const detail::dns::config_problem& p) {
        return make_error(errc::bad_config, file, p.what);
    } catch (const YAML::Exception& e) {  // anything the checks above did not name
        return make_error(errc::bad_config, file, std::string("YAML: ") + e.what());
    }
}

/// Reads and parses the YAML file at `path`.
inline result<service_config> load_service_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(errc::bad_config, path, "cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_service_config(text.str(), path);
}

}  // namespace dns
ROWCAST_NAMESPACE_END
