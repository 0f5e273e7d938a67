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
//     retry_max_ms: 5000     # 1-86400000
//     batch_delay_ms: 5      # 0-10000
//
// Unknown keys and keys given twice are errors. The key file itself is read by
// check_service_config() (config.hpp), not here.
//
// Errors: "[rowcast.dns.bad_config] <file>: <what>", naming the field by its
// path and line, as rowcastd's config does (rowcast/detail/yaml_reader.hpp):
// "spool.max_batch at line 12: 0 is out of range (1-100000)", "colour at line 3:
// unknown key (accepted: ...)", "YAML: <parser message>", "cannot be read".
// Nothing throws (yaml-cpp's exceptions are caught here) but std::bad_alloc.
//
// read_service_fields() reads the keys shared with rowcastd's `dns` sink (every
// key above but `spool`), so both read them alike.
//
// Thread-safety: free functions on their arguments only.
#pragma once

#include <rowcast/codec/names.hpp>
#include <rowcast/dns/config.hpp>
#include <rowcast/detail/yaml_reader.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <limits>
#include <vector>

#include <arpa/inet.h>
#include <sys/socket.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::dns {

/// The keys of a DNS service that the rowcast-dns config file and rowcastd's `dns` sink share.
inline std::vector<std::string> service_keys() {
    return {"server", "port", "key_file", "key_name", "timeout_ms", "attempts", "ttl", "forward_zones", "reverse_zones", "tables"};
}

/// Reads service_keys() from `r` into `c` (the key file itself is not read here); throws
/// detail::config_problem naming the key and line.
inline void read_service_fields(const node_reader& r, ::rowcast::dns::service_config& c) {
    c.client.server = r.text("server", c.client.server);
    unsigned char addr[16];
    if (::inet_pton(AF_INET, c.client.server.c_str(), addr) != 1 && ::inet_pton(AF_INET6, c.client.server.c_str(), addr) != 1)
        r.fail("server", "must be an IPv4 or IPv6 address, not '" + c.client.server + "'");
    c.client.port = static_cast<std::uint16_t>(r.number("port", 1, 65535, c.client.port));
    c.key_file = r.required("key_file");
    c.key_name = r.text("key_name", c.key_name);
    c.client.timeout = std::chrono::milliseconds(r.number("timeout_ms", 1, 600000, c.client.timeout.count()));
    c.client.attempts = static_cast<unsigned>(r.number("attempts", 1, 100, c.client.attempts));
    c.sink.ttl = static_cast<std::uint32_t>(r.number("ttl", 0, 2147483647, c.sink.ttl));
    c.sink.forward_zones = r.strings("forward_zones");
    c.sink.reverse_zones = r.strings("reverse_zones");
    const YAML::Node t = r.at("tables");
    if (!t || !t.IsSequence() || t.size() == 0) {
        if (!t) node_reader::fail_at(r.node(), r.key("tables"), "is required (a non-empty list)");
        r.fail("tables", "must be a non-empty list");
    }
    for (std::size_t i = 0; i < t.size(); ++i) {
        const node_reader tr(t[i], r.key("tables") + "[" + std::to_string(i) + "]",
                             {"schema", "table", "host_column", "address_column", "mac_column"});
        ::rowcast::dns::table_mapping m;
        m.schema = tr.text("schema", "");
        m.table = tr.required("table");
        m.host_column = tr.text("host_column", m.host_column);
        m.address_column = tr.text("address_column", m.address_column);
        m.mac_column = tr.text("mac_column", "");
        c.sink.tables.push_back(std::move(m));
    }
}

inline ::rowcast::dns::service_config read_service_config(const YAML::Node& root) {
    auto keys = service_keys();
    keys.push_back("spool");
    const node_reader top(root, "", std::move(keys));
    ::rowcast::dns::service_config c;
    read_service_fields(top, c);
    const auto sp = top.map("spool", {"directory", "codec", "quarantine_directory", "max_batch", "retry_max_ms", "batch_delay_ms"});
    if (!sp) node_reader::fail_at(root, "spool", "is required (a mapping with a 'directory')");
    c.spool = sp->required("directory");
    c.quarantine = sp->has("quarantine_directory") ? std::filesystem::path(sp->required("quarantine_directory")) : c.spool / "quarantine";
    c.codec = sp->text("codec", c.codec);
    if (!parse_codec_name(c.codec)) sp->fail("codec", "unknown codec '" + c.codec + "' (accepted: json, yaml, binary)");
    c.max_batch = static_cast<std::size_t>(sp->number("max_batch", 1, 100000, static_cast<std::int64_t>(c.max_batch)));
    c.retry_max = std::chrono::milliseconds(sp->number("retry_max_ms", 1, 86400000, c.retry_max.count()));
    c.batch_delay = std::chrono::milliseconds(sp->number("batch_delay_ms", 0, 10000, c.batch_delay.count()));
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
    } catch (const detail::config_problem& p) {
        return make_error(errc::bad_config, file, p.text());
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
