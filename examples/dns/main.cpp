// rowcast-dns: keeps a BIND zone in step with a table. Consumes a rowcast spool
// (inotify, in order, at-least-once) and turns row events into RFC 2136 updates
// signed with TSIG (rowcast::dns::sink). See docs/dns.md.
//
//   rowcast-dns CONFIG.yaml          run until SIGTERM/SIGINT
//   rowcast-dns --check CONFIG.yaml  check the config and the key file, exit
//
// Config (YAML; unknown keys are errors):
//   server: 127.0.0.1        # address literal of the primary
//   port: 53
//   key_file: /etc/rowcast/dns.key   # BIND format (tsig-keygen)
//   key_name: rowcast-key    # optional when the file holds one key
//   timeout_ms: 2000         # per try
//   attempts: 3              # tries per message before the batch is held
//   ttl: 300
//   forward_zones: [example.test]
//   reverse_zones: [2.0.192.in-addr.arpa, 8.b.d.0.1.0.0.2.ip6.arpa]
//   tables:
//     - {schema: inventory, table: hosts, host_column: hostname, address_column: ip, mac_column: mac}
//   spool:
//     directory: /var/spool/rowcast
//     codec: binary          # binary | json | yaml (what rowcast_udf writes)
//     quarantine_directory: /var/spool/rowcast/quarantine   # default <directory>/quarantine
//     max_batch: 500         # events per sink call (one or a few UPDATE messages)
//     retry_max_ms: 5000     # backoff ceiling while the server refuses
//     batch_delay_ms: 5      # after new files show up, wait this long so events arriving
//                            # together go into one batch (0: apply at once)
//
// Rejected rows (bad host name/address, CNAME at the name, a record changed
// outside the table) are written to the quarantine directory as <spool file
// name> (the event, same codec) and <name>.reason, once per event (an identical
// file already there is not written again; another event under the same name
// gets "-2", "-3"…); everything else goes on. Server refusals (wrong key, zone not
// served, timeouts) hold the events and retry them with backoff; after an
// authentication failure the key file is read again, so fixing the key needs
// no restart. Exit status: 0 after SIGTERM/SIGINT, 2 bad config, 1 runtime error.
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/dns/key.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/transport/spool_reader.hpp>

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <fcntl.h>
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

struct config {
    rowcast::dns::client_options client;
    rowcast::dns::sink_options sink;
    std::string key_file, key_name;
    std::filesystem::path spool, quarantine;
    std::string codec = "binary";
    std::size_t max_batch = 500;
    long retry_max_ms = 5000;
    long batch_delay_ms = 5;
};

struct config_error {
    std::string what;
};

template <class T>
T scalar(const YAML::Node& n, const std::string& key) {
    try {
        return n.as<T>();
    } catch (const YAML::Exception&) {
        throw config_error{"'" + key + "' has a wrong type or value"};
    }
}

void check_keys(const YAML::Node& n, const std::string& where, std::initializer_list<std::string_view> allowed) {
    if (!n.IsMap()) throw config_error{where + " must be a mapping"};
    std::set<std::string> seen;
    for (const auto& kv : n) {
        const auto k = kv.first.as<std::string>();
        if (!seen.insert(k).second) throw config_error{"key '" + k + "' given twice in " + where};
        bool ok = false;
        for (auto a : allowed) ok = ok || a == k;
        if (!ok) throw config_error{"unknown key '" + k + "' in " + where};
    }
}

std::vector<std::string> string_list(const YAML::Node& n, const std::string& key) {
    std::vector<std::string> out;
    if (!n) return out;
    if (n.IsScalar()) return {scalar<std::string>(n, key)};
    if (!n.IsSequence()) throw config_error{"'" + key + "' must be a list"};
    for (const auto& x : n) out.push_back(scalar<std::string>(x, key));
    return out;
}

config load_config(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        throw config_error{"cannot be read"};
    } catch (const YAML::Exception& e) {
        throw config_error{std::string("YAML: ") + e.what()};
    }
    check_keys(root, "the top level",
               {"server", "port", "key_file", "key_name", "timeout_ms", "attempts", "ttl", "forward_zones",
                "reverse_zones", "tables", "spool"});
    config c;
    if (root["server"]) c.client.server = scalar<std::string>(root["server"], "server");
    {
        unsigned char buf[16];
        if (::inet_pton(AF_INET, c.client.server.c_str(), buf) != 1 && ::inet_pton(AF_INET6, c.client.server.c_str(), buf) != 1)
            throw config_error{"'server' must be an IPv4 or IPv6 address, not '" + c.client.server + "'"};
    }
    if (root["port"]) {
        const int p = scalar<int>(root["port"], "port");
        if (p < 1 || p > 65535) throw config_error{"'port' must be 1-65535"};
        c.client.port = static_cast<std::uint16_t>(p);
    }
    if (!root["key_file"]) throw config_error{"'key_file' is required"};
    c.key_file = scalar<std::string>(root["key_file"], "key_file");
    if (root["key_name"]) c.key_name = scalar<std::string>(root["key_name"], "key_name");
    if (root["timeout_ms"]) {
        const long t = scalar<long>(root["timeout_ms"], "timeout_ms");
        if (t < 1 || t > 600000) throw config_error{"'timeout_ms' must be 1-600000"};
        c.client.timeout = std::chrono::milliseconds(t);
    }
    if (root["attempts"]) {
        const int a = scalar<int>(root["attempts"], "attempts");
        if (a < 1 || a > 100) throw config_error{"'attempts' must be 1-100"};
        c.client.attempts = static_cast<unsigned>(a);
    }
    if (root["ttl"]) {
        const long t = scalar<long>(root["ttl"], "ttl");
        if (t < 0 || t > 2147483647) throw config_error{"'ttl' must be 0-2147483647 seconds"};
        c.sink.ttl = static_cast<std::uint32_t>(t);
    }
    c.sink.forward_zones = string_list(root["forward_zones"], "forward_zones");
    c.sink.reverse_zones = string_list(root["reverse_zones"], "reverse_zones");
    const YAML::Node tables = root["tables"];
    if (!tables || !tables.IsSequence() || tables.size() == 0) throw config_error{"'tables' must be a non-empty list"};
    for (const auto& t : tables) {
        check_keys(t, "a 'tables' entry", {"schema", "table", "host_column", "address_column", "mac_column"});
        rowcast::dns::table_mapping m;
        if (t["schema"]) m.schema = scalar<std::string>(t["schema"], "schema");
        if (!t["table"]) throw config_error{"a 'tables' entry has no 'table'"};
        m.table = scalar<std::string>(t["table"], "table");
        if (t["host_column"]) m.host_column = scalar<std::string>(t["host_column"], "host_column");
        if (t["address_column"]) m.address_column = scalar<std::string>(t["address_column"], "address_column");
        if (t["mac_column"]) m.mac_column = scalar<std::string>(t["mac_column"], "mac_column");
        c.sink.tables.push_back(std::move(m));
    }
    const YAML::Node sp = root["spool"];
    if (!sp) throw config_error{"'spool' is required"};
    check_keys(sp, "'spool'", {"directory", "codec", "quarantine_directory", "max_batch", "retry_max_ms", "batch_delay_ms"});
    if (!sp["directory"]) throw config_error{"'spool.directory' is required"};
    c.spool = scalar<std::string>(sp["directory"], "spool.directory");
    c.quarantine = sp["quarantine_directory"] ? std::filesystem::path(scalar<std::string>(sp["quarantine_directory"], "spool.quarantine_directory"))
                                              : c.spool / "quarantine";
    if (sp["codec"]) c.codec = scalar<std::string>(sp["codec"], "spool.codec");
    if (c.codec != "binary" && c.codec != "json" && c.codec != "yaml")
        throw config_error{"'spool.codec' must be binary, json or yaml"};
    if (sp["max_batch"]) {
        const long b = scalar<long>(sp["max_batch"], "spool.max_batch");
        if (b < 1 || b > 100000) throw config_error{"'spool.max_batch' must be 1-100000"};
        c.max_batch = static_cast<std::size_t>(b);
    }
    if (sp["retry_max_ms"]) {
        c.retry_max_ms = scalar<long>(sp["retry_max_ms"], "spool.retry_max_ms");
        if (c.retry_max_ms < 1) throw config_error{"'spool.retry_max_ms' must be positive"};
    }
    if (sp["batch_delay_ms"]) {
        c.batch_delay_ms = scalar<long>(sp["batch_delay_ms"], "spool.batch_delay_ms");
        if (c.batch_delay_ms < 0 || c.batch_delay_ms > 10000) throw config_error{"'spool.batch_delay_ms' must be 0-10000"};
    }
    return c;
}

std::string read_file(const std::filesystem::path& p) {
    std::string out;
    rowcast::detail::unique_fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    return out;
}

rowcast::result<rowcast::dns::tsig_key> read_key(const config& c) {
    auto keys = rowcast::dns::load_key_file(c.key_file);
    if (!keys) return keys.error_value();
    return rowcast::dns::find_key(*keys, c.key_name);
}

template <class Codec>
int run(config c) {
    Codec codec;
    std::error_code ec;
    std::filesystem::create_directories(c.quarantine, ec);
    std::uint64_t rejected_files = 0;
    // The sink reports a rejected event once per batch that goes through; after a crash the same
    // batch may come again, so an identical file already in quarantine is not written twice, and a
    // different event under the same name (several events of one source file) gets a suffix.
    c.sink.on_rejected = [&](const rowcast::event& e, const rowcast::error& err) {
        std::string name = std::filesystem::path(e.source.file).filename().string();
        if (name.empty() || name[0] == '.') name = "event-" + std::to_string(e.sequence);
        std::string buf;
        codec.encode(e, buf);
        std::filesystem::path base = c.quarantine / name;
        for (int n = 2; std::filesystem::exists(base); ++n) {
            if (read_file(base) == buf) {
                logf("info", "already in quarantine: " + base.filename().string() + " (" + err.message + ")");
                return;
            }
            base = c.quarantine / (name + "-" + std::to_string(n));
        }
        // The reason first, the event last: a crash in between leaves no event without a reason.
        for (const auto& [path, data] : {std::pair{std::filesystem::path(base.string() + ".reason"), err.message + "\n"},
                                         std::pair{base, buf}}) {
            rowcast::detail::unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
            if (!fd || rowcast::detail::write_all(fd.get(), data) != 0)
                logf("error", "cannot write quarantine file " + path.string());
        }
        ++rejected_files;
        logf("warning", "quarantined " + base.filename().string() + ": " + err.message);
    };
    c.sink.log = [](int level, std::string_view m) {
        if (level >= 1) logf(level >= 3 ? "error" : level == 2 ? "warning" : "info", std::string(m));
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
    ro.retry_max = std::chrono::milliseconds(c.retry_max_ms);
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
            using rowcast::dns::errc;
            if (rowcast::dns::is(e, errc::notauth_badsig) || rowcast::dns::is(e, errc::notauth_badkey) ||
                rowcast::dns::is(e, errc::refused)) {
                if (auto k = read_key(c); k) sink->dns_client().options().key = *k;
            }
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
    while (!stop_requested) {
        auto r = reader->process(handler);
        if (!r) {
            logf("error", r.error_value().message);
            return 1;
        }
        if (stop_requested) break;
        pollfd p{reader->native_handle(), POLLIN, 0};
        const auto t = reader->next_timeout().count();
        if (::poll(&p, 1, t < 0 || t > 200 ? 200 : static_cast<int>(t)) > 0 && c.batch_delay_ms > 0)
            ::usleep(static_cast<useconds_t>(c.batch_delay_ms) * 1000);  // let the events arriving together gather
    }
    logf("info", "stopped: " + std::to_string(applied) + " events applied, " + std::to_string(rejected_files) +
                     " quarantined, " + std::to_string(reader->pending()) + " files left for the next start");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    bool check = false;
    std::string path;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--check") check = true;
        else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "rowcast-dns: unknown option %s\nusage: rowcast-dns [--check] CONFIG.yaml\n", argv[i]);
            return 2;
        } else path = a;
    }
    if (path.empty()) {
        std::fprintf(stderr, "usage: rowcast-dns [--check] CONFIG.yaml\n");
        return 2;
    }
    config c;
    try {
        c = load_config(path);
    } catch (const config_error& e) {
        std::fprintf(stderr, "rowcast-dns: config %s: %s\n", path.c_str(), e.what.c_str());
        return 2;
    }
    auto key = read_key(c);
    if (!key) {
        std::fprintf(stderr, "rowcast-dns: config %s: %s\n", path.c_str(), key.error_value().message.c_str());
        return 2;
    }
    c.client.key = *key;
    {
        auto probe = rowcast::dns::sink::create(c.sink, c.client);
        if (!probe) {
            std::fprintf(stderr, "rowcast-dns: config %s: %s\n", path.c_str(), probe.error_value().message.c_str());
            return 2;
        }
    }
    if (check) {
        std::printf("rowcast-dns: config %s ok\n", path.c_str());
        return 0;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    if (c.codec == "json") return run<rowcast::json_codec>(std::move(c));
    if (c.codec == "yaml") return run<rowcast::yaml_codec>(std::move(c));
    return run<rowcast::binary_codec>(std::move(c));
}
