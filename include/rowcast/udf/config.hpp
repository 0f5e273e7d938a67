// rowcast/udf/config.hpp: the configuration file of the loadable functions
// rowcast_event() / rowcast_json() (docs/udf.md).
//
// Format: one `key = value` a line; blank lines and lines starting with '#' or
// ';' are ignored; white space around keys and values is dropped. Keys:
//   spool_directory = /var/spool/rowcast   (required; an absolute path)
//   codec           = json | yaml | binary (default json)
//   durability      = none | file | file_and_directory (default file)
//   file_mode       = 0640                 (octal, at most 0777)
//   on_error        = fail | continue      (default fail)
//   max_event_size  = 16777216             (bytes of argument data per event, 1024-1073741824)
//   output          = spool | journal | udp | netlink (default spool; docs/datagram.md: udp and
//                     netlink send each event as a multicast datagram, binary codec, no spool;
//                     journal appends each event to a journal directory: docs/journal.md)
//   journal_directory = /var/spool/rowcast-journal (output = journal: required; an absolute path;
//                     durability and file_mode apply to it as to the spool)
//   udp_group       = 239.10.0.1           (output = udp: required; IPv4 or IPv6 group)
//   udp_port        = 5999                 (output = udp: required)
//   udp_interface   = eth0                 (output = udp: optional)
//   udp_hops        = 1                    (output = udp: TTL / hop limit, 0-255)
//   datagram_key    = 1:/etc/mysql/rowcast.key (key id and the file holding the HMAC secret)
//   datagram_source_id = 42                (stable source id; default random per server start)
// An unknown key is an error; spool_directory is required only for output = spool,
// journal_directory only for output = journal.
//
// The server process finds the file through the environment variable
// ROWCAST_UDF_CONFIG (default /etc/mysql/rowcast-udf.conf): default_config_path().
//
// Errors (result<config>): "[rowcast.udf.<errc>] <file>:<line>: <what>", naming the
// key and the value: syntax_error (a line without '='), invalid_value (a value out
// of its set or range, an unknown key), missing_field (no spool_directory),
// io_error (the file cannot be read; strerror in the message). Whether the codec
// is built in is checked when the output is opened (udf/spool_output.hpp).
//
// Thread-safety: free functions; default_config_path() reads the environment.
#pragma once

#include <rowcast/codec/names.hpp>
#include <rowcast/error.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/udf/detail/columns.hpp>
#include <rowcast/version.hpp>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <sys/types.h>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

/// The settings of the loadable functions.
struct config {
    std::string file;                                    ///< where it was read from (for messages)
    std::string spool_directory;                         ///< absolute path
    std::string codec = "json";                          ///< "json", "yaml" or "binary" (a codec's C::name)
    spool_durability durability = spool_durability::file;
    mode_t file_mode = 0640;                             ///< of the spool files
    bool fail_on_error = true;                           ///< on_error = fail (true) | continue (false)
    std::size_t max_event_size = std::size_t{16} << 20;  ///< bytes of argument data per event
    enum class output_kind { spool, udp, netlink, journal };
    output_kind output = output_kind::spool;             ///< where events go (udp, netlink: udf/datagram_output.hpp;
                                                         ///< journal: udf/journal_output.hpp)
    std::string journal_directory;                       ///< output = journal: absolute path
    std::string udp_group;                               ///< output = udp
    unsigned udp_port = 0;                               ///< output = udp
    std::string udp_interface;                           ///< output = udp; empty: the routing table's choice
    int udp_hops = 1;                                    ///< output = udp
    unsigned datagram_key_id = 0;                        ///< datagram_key's id (with datagram_key_file)
    std::string datagram_key_file;                       ///< empty: datagrams without a MAC
    std::uint64_t datagram_source_id = 0;                ///< 0: random
};

/// $ROWCAST_UDF_CONFIG if set and not empty, else /etc/mysql/rowcast-udf.conf.
inline std::string default_config_path() {
    const char* env = std::getenv("ROWCAST_UDF_CONFIG");
    return env && *env ? env : "/etc/mysql/rowcast-udf.conf";
}

/// Parses the text of a config file; `file` names it in messages and in config::file.
inline result<config> parse_config(std::string_view text, std::string file) {
    using detail::udf::trim;
    config c;
    c.file = std::move(file);
    std::size_t lineno = 0;
    auto bad = [&](errc e, const std::string& what) -> error {
        return error::make(e, "udf", c.file + ":" + std::to_string(lineno), what);
    };
    while (!text.empty()) {
        ++lineno;
        const std::size_t nl = text.find('\n');
        const std::string_view l = trim(text.substr(0, nl));
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (l.empty() || l[0] == '#' || l[0] == ';') continue;
        const std::size_t eq = l.find('=');
        if (eq == std::string_view::npos) return bad(errc::syntax_error, "expected key = value");
        const std::string key(trim(l.substr(0, eq)));
        const std::string val(trim(l.substr(eq + 1)));
        auto number = [&](int base, auto& out) {
            const auto r = std::from_chars(val.data(), val.data() + val.size(), out, base);
            return !val.empty() && r.ec == std::errc{} && r.ptr == val.data() + val.size();
        };
        if (key == "spool_directory") {
            if (val.empty() || val[0] != '/') return bad(errc::invalid_value, "spool_directory: not an absolute path");
            c.spool_directory = val;
        } else if (key == "codec") {
            if (!parse_codec_name(val))
                return bad(errc::invalid_value, "codec '" + val + "': not json|yaml|binary");
            c.codec = val;
        } else if (key == "durability") {
            if (val == "none") c.durability = spool_durability::none;
            else if (val == "file") c.durability = spool_durability::file;
            else if (val == "file_and_directory") c.durability = spool_durability::file_and_directory;
            else return bad(errc::invalid_value, "durability '" + val + "': not none|file|file_and_directory");
        } else if (key == "file_mode") {
            unsigned m = 0;
            if (!number(8, m) || m > 0777) return bad(errc::invalid_value, "file_mode '" + val + "': not octal like 0640");
            c.file_mode = static_cast<mode_t>(m);
        } else if (key == "on_error") {
            if (val == "fail") c.fail_on_error = true;
            else if (val == "continue") c.fail_on_error = false;
            else return bad(errc::invalid_value, "on_error '" + val + "': not fail|continue");
        } else if (key == "max_event_size") {
            unsigned long long m = 0;
            if (!number(10, m) || m < 1024 || m > (std::size_t{1} << 30))
                return bad(errc::invalid_value, "max_event_size '" + val + "': not 1024-1073741824");
            c.max_event_size = static_cast<std::size_t>(m);
        } else if (key == "output") {
            if (val == "spool") c.output = config::output_kind::spool;
            else if (val == "udp") c.output = config::output_kind::udp;
            else if (val == "netlink") c.output = config::output_kind::netlink;
            else if (val == "journal") c.output = config::output_kind::journal;
            else return bad(errc::invalid_value, "output '" + val + "': not spool|journal|udp|netlink");
        } else if (key == "journal_directory") {
            if (val.empty() || val[0] != '/') return bad(errc::invalid_value, "journal_directory: not an absolute path");
            c.journal_directory = val;
        } else if (key == "udp_group") {
            c.udp_group = val;
        } else if (key == "udp_port") {
            if (!number(10, c.udp_port) || c.udp_port == 0 || c.udp_port > 65535)
                return bad(errc::invalid_value, "udp_port '" + val + "': not 1-65535");
        } else if (key == "udp_interface") {
            c.udp_interface = val;
        } else if (key == "udp_hops") {
            if (!number(10, c.udp_hops) || c.udp_hops < 0 || c.udp_hops > 255)
                return bad(errc::invalid_value, "udp_hops '" + val + "': not 0-255");
        } else if (key == "datagram_key") {
            const std::size_t colon = val.find(':');
            if (colon == std::string::npos || !std::string_view(val).substr(colon + 1).starts_with("/") ||
                std::from_chars(val.data(), val.data() + colon, c.datagram_key_id).ptr != val.data() + colon ||
                colon == 0 || c.datagram_key_id > 65535)
                return bad(errc::invalid_value, "datagram_key '" + val + "': not ID:/absolute/file (ID 0-65535)");
            c.datagram_key_file = val.substr(colon + 1);
        } else if (key == "datagram_source_id") {
            if (!number(10, c.datagram_source_id)) return bad(errc::invalid_value, "datagram_source_id '" + val + "': not a number");
        } else {
            return bad(errc::invalid_value, "unknown key '" + key + "'");
        }
    }
    if (c.output == config::output_kind::udp && (c.udp_group.empty() || c.udp_port == 0))
        return error::make(errc::missing_field, "udf", c.file, "output = udp needs udp_group and udp_port");
    if (c.output == config::output_kind::journal && c.journal_directory.empty())
        return error::make(errc::missing_field, "udf", c.file, "output = journal needs journal_directory");
    if (c.output != config::output_kind::spool) return c;
    if (c.spool_directory.empty()) return error::make(errc::missing_field, "udf", c.file, "spool_directory is not set");
    return c;
}

/// The text of the config file at `path` (io_error as load_config()).
inline result<std::string> read_config_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return error::make(errc::io_error, "udf", path,
                           std::string("cannot read: ") + std::strerror(errno) +
                               " (the server reads its path from ROWCAST_UDF_CONFIG; default /etc/mysql/rowcast-udf.conf)");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// Reads and parses the file at `path` (default: default_config_path()).
inline result<config> load_config(const std::string& path = default_config_path()) {
    auto text = read_config_text(path);
    if (!text) return std::move(text.error_value());
    return parse_config(*text, path);
}

}  // namespace udf
ROWCAST_NAMESPACE_END
