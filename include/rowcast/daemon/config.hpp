// rowcast/daemon/config.hpp: the YAML configuration of rowcastd (docs/daemon.md):
// one source, filters, one or more sinks, and the daemon's own settings.
//
//   source: {type: binlog, host: db1, user: repl, password_file: /etc/rowcast/repl.pw}
//   filters: {include_tables: [inventory.hosts]}
//   sinks:
//     - {name: cache, type: spool, directory: /var/spool/rowcast/out, codec: json}
//     - {name: zone, type: dns, key_file: /etc/rowcast/dns.key, forward_zones: [example.test],
//        tables: [{table: hosts}]}
//   checkpoint: /var/lib/rowcastd/cursor
//   metrics: {listen: 127.0.0.1:9187}
//   status_file: /run/rowcastd/status.prom
//   log: {format: json, level: info}
//   drain_timeout_ms: 10000
//
// The source and each sink are a mapping with a `type` picked from a table of
// types (daemon/relay.hpp registers them); the keys each type accepts are the
// table's. This header reads the common structure and asks the table to check
// each section, so every mistake is one error naming the key and its line:
//   "[rowcast.daemon.invalid_value] rowcastd.yaml: sinks[1].codec at line 14: unknown value 'jsn' (accepted: json, yaml, binary)"
// Unknown keys and keys given twice are errors, never ignored. Nothing throws but
// std::bad_alloc (yaml-cpp's exceptions are caught).
//
// Thread-safety: free functions over their arguments.
#pragma once

#include <rowcast/detail/yaml_reader.hpp>
#include <rowcast/error.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/filter.hpp>
#include <rowcast/version.hpp>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <cctype>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace daemon {

/// A source's or a sink's section: its type, name and the YAML node the type reads.
struct section {
    std::string type;
    std::string name;                ///< sinks: `name` (default: the type); the source: "source"
    std::string path;                ///< "source", "sinks[1]": for messages
    YAML::Node node;                 ///< the mapping (its type's keys are checked)
    std::size_t queue_capacity = 10000;  ///< sinks: events queued before the source waits
};

enum class log_format { text, json };

struct config {
    std::string file;                    ///< where it was read from (messages)
    section source;
    std::vector<section> sinks;
    filter_rules filters;
    std::filesystem::path checkpoint;    ///< the cursor every sink acknowledged; empty: not kept
    std::string metrics_listen;          ///< "host:port" of /metrics and /healthz; empty: no HTTP server
    std::filesystem::path status_file;   ///< the metrics text, rewritten every second; empty: none
    log_format log_as = log_format::text;   ///< log: format
    log_level log_min = log_level::info;    ///< log: level
    std::chrono::milliseconds drain_timeout{10000};  ///< SIGTERM: longest wait for the sinks
    /// YAML of each top-level key as read (SIGHUP compares them to say what changed).
    std::vector<std::pair<std::string, std::string>> raw;
};

/// What a type table entry says (daemon/relay.hpp has the table).
enum class role { source, sink };

/// One registered type: its name, role, the keys it reads (besides the common
/// `type`, and for sinks `name` and `queue_capacity`), and a check that reads them
/// (throwing detail::config_problem for a mistake).
struct type_entry {
    std::string_view name;
    role kind;
    std::vector<std::string> keys;
    std::function<void(const detail::node_reader&)> check;
};

}  // namespace daemon

namespace detail::daemon {
using ::rowcast::daemon::role;
using ::rowcast::daemon::section;
using ::rowcast::daemon::type_entry;

inline std::string type_names(std::span<const type_entry> types, role r) {
    std::string s;
    for (const auto& t : types)
        if (t.kind == r) s += (s.empty() ? "" : ", ") + std::string(t.name);
    return s;
}

inline section read_section(const YAML::Node& n, const std::string& path, role r, std::span<const type_entry> types) {
    if (!n || n.IsNull()) node_reader::fail_at(n, path, "is required");
    if (!n.IsMap()) node_reader::fail_at(n, path, "must be a mapping");
    const YAML::Node t = static_cast<const YAML::Node&>(n)["type"];
    if (!t) node_reader::fail_at(n, path + ".type", "is required (accepted: " + type_names(types, r) + ")");
    if (!t.IsScalar()) node_reader::fail_at(t, path + ".type", "must be a single value");
    const type_entry* entry = nullptr;
    for (const auto& e : types)
        if (e.kind == r && e.name == t.Scalar()) entry = &e;
    if (!entry)
        node_reader::fail_at(t, path + ".type", "unknown type '" + t.Scalar() + "' (accepted: " + type_names(types, r) + ")");
    std::vector<std::string> keys = entry->keys;
    keys.insert(keys.begin(), "type");
    if (r == role::sink) keys.insert(keys.begin() + 1, {"name", "queue_capacity"});
    node_reader rd(n, path, keys);
    section s;
    s.type = t.Scalar();
    s.path = path;
    s.node = n;
    s.name = r == role::sink ? rd.text("name", s.type) : "source";
    if (r == role::sink) s.queue_capacity = static_cast<std::size_t>(rd.number("queue_capacity", 1, 100000000, 10000));
    if (entry->check) entry->check(rd);
    return s;
}
}  // namespace detail::daemon

namespace daemon {

/// Parses the YAML text of a config; `file` names it in messages. `types`: the table.
inline result<config> parse_config(std::string_view yaml, const std::string& file, std::span<const type_entry> types) {
    using detail::config_problem;
    using detail::node_reader;
    auto bad = [&](const std::string& what) { return error::make(errc::invalid_value, "daemon", file, what); };
    try {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(yaml));
        } catch (const YAML::ParserException& e) {
            return bad("YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
        }
        if (!root || root.IsNull()) return bad("the config is empty");
        node_reader top(root, "", {"source", "filters", "sinks", "checkpoint", "status_file", "metrics", "log",
                                   "drain_timeout_ms"});
        config c;
        c.file = file;
        for (const auto& kv : root) c.raw.emplace_back(kv.first.Scalar(), YAML::Dump(kv.second));
        if (!top.has("source")) node_reader::fail_at(root, "source", "is required (a mapping with a 'type')");
        c.source = detail::daemon::read_section(top.at("source"), "source", role::source, types);
        const YAML::Node sinks = top.at("sinks");
        if (!sinks) node_reader::fail_at(root, "sinks", "is required (a list of at least one sink)");
        if (!sinks.IsSequence() || sinks.size() == 0) node_reader::fail_at(sinks, "sinks", "must be a list of at least one sink");
        std::set<std::string> names;
        for (std::size_t i = 0; i < sinks.size(); ++i) {
            const std::string path = "sinks[" + std::to_string(i) + "]";
            auto s = detail::daemon::read_section(sinks[i], path, role::sink, types);
            if (!names.insert(s.name).second)
                node_reader::fail_at(sinks[i], path + ".name",
                                     "a second sink named '" + s.name + "' (names must be unique; give each a 'name')");
            for (const char ch : s.name)
                if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.'))
                    node_reader::fail_at(sinks[i], path + ".name", "'" + s.name + "' may hold letters, digits, '_', '-' and '.' only");
            c.sinks.push_back(std::move(s));
        }
        if (auto f = top.map("filters", {"include_schemas", "exclude_schemas", "include_tables", "exclude_tables",
                                         "include_columns", "exclude_columns"})) {
            c.filters.include_schemas = f->strings("include_schemas");
            c.filters.exclude_schemas = f->strings("exclude_schemas");
            c.filters.include_tables = f->strings("include_tables");
            c.filters.exclude_tables = f->strings("exclude_tables");
            c.filters.include_columns = f->strings("include_columns");
            c.filters.exclude_columns = f->strings("exclude_columns");
            if (auto made = event_filter::make(c.filters); !made) f->fail("include_tables", made.error_value().message);
        }
        c.checkpoint = top.text("checkpoint", "");
        c.status_file = top.text("status_file", "");
        if (auto m = top.map("metrics", {"listen"})) {
            c.metrics_listen = m->required("listen");
            const auto colon = c.metrics_listen.rfind(':');
            if (colon == std::string::npos || colon == 0) m->fail("listen", "'" + c.metrics_listen + "' is not host:port");
            const std::string port = c.metrics_listen.substr(colon + 1);
            if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(port) > 65535)
                m->fail("listen", "'" + port + "' is not a port (0-65535)");
        }
        if (auto l = top.map("log", {"format", "level"})) {
            c.log_as = l->choice("format", {"text", "json"}, "text") == "json" ? log_format::json : log_format::text;
            const std::string lv = l->choice("level", {"debug", "info", "warning", "error"}, "info");
            c.log_min = lv == "debug" ? log_level::debug : lv == "warning" ? log_level::warning
                        : lv == "error" ? log_level::error : log_level::info;
        }
        c.drain_timeout = std::chrono::milliseconds(top.number("drain_timeout_ms", 0, 3600000, 10000));
        return c;
    } catch (const config_problem& p) {
        return bad(p.text());
    } catch (const YAML::Exception& e) {
        return bad("YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

/// Reads and parses the file at `path`.
inline result<config> load_config(const std::string& path, std::span<const type_entry> types) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error::make(errc::not_found, "daemon", path, "cannot be read");
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path, types);
}

/// The top-level keys whose YAML differs between `a` and `b` (added and removed ones too).
inline std::vector<std::string> changed_keys(const config& a, const config& b) {
    std::vector<std::string> out;
    auto find = [](const config& c, const std::string& k) -> const std::string* {
        for (const auto& [key, v] : c.raw)
            if (key == k) return &v;
        return nullptr;
    };
    std::set<std::string> keys;
    for (const auto& [k, v] : a.raw) keys.insert(k);
    for (const auto& [k, v] : b.raw) keys.insert(k);
    for (const auto& k : keys) {
        const std::string* x = find(a, k);
        const std::string* y = find(b, k);
        if (!x || !y || *x != *y) out.push_back(k);
    }
    return out;
}

}  // namespace daemon
ROWCAST_NAMESPACE_END
