// rowcast/daemon/relay.hpp: what rowcastd runs: one source -> filters -> a
// fan-out to N sinks (pipeline/fanout.hpp), built from a config
// (daemon/config.hpp) through one table of types, with the metrics of it all.
//
//   auto cfg = rowcast::daemon::load_config(path, rowcast::daemon::types()).value();
//   auto relay = rowcast::daemon::relay::open(cfg).value();   // sinks connected, checkpoint loaded
//   std::stop_source stop;
//   auto r = relay->run(stop.get_token());                  // until stopped or the source is done
//
// Types (docs/daemon.md lists their keys):
//   sources: binlog (follow a server: binlog/follower.hpp), binlog_files
//            (binlog/file_source.hpp), spool (transport/spool_reader.hpp), journal
//            (journal/source.hpp), nats
//            (nats/consumer.hpp; when built with the nats component), spread
//            (spread/consumer.hpp), udp and netlink (datagram/consumer.hpp; with the
//            datagram component)
//   sinks:   stdout (transport/stream_sink.hpp), spool (transport/spool_writer.hpp),
//            dns (dns/sink.hpp), nats (nats/producer.hpp; with the nats component),
//            mysql (sql/sink.hpp),
//            spread (spread/producer.hpp), udp and netlink (datagram/producer.hpp;
//            with the datagram component)
// A new type is one entry of `registrations()`: its keys, a reader of its options
// (the same code checks a config and builds the object) and a builder.
//
// run(): builds the source, runs rowcast::run(source, filtered fan-out, stop);
// a transactional source resumes from the fan-out's checkpoint; the spool, journal, udp,
// netlink and spread sources are acknowledged per batch (acknowledge::on_write; the
// journal also resumes from the checkpoint's journal cursor). On stop it drains: waits up
// to drain_timeout for the sinks and saves the last cursor they all acknowledged.
// Every second (and at the end) it writes status_file (the metrics text,
// atomically) and calls the tick callback (the systemd watchdog).
//
// Metrics (metrics_text(), Prometheus text; the list is in docs/daemon.md):
// rowcast_up, rowcast_events_in_total, rowcast_lag_seconds, rowcast_reconnects_total,
// rowcast_gaps_total, rowcast_quarantined_total, rowcast_checkpoints_total,
// rowcast_sink_*{sink="NAME"}, rowcast_source_*{type="TYPE"}, rowcast_position_info.
//
// Thread-safety: run() on one thread; metrics_text(), healthy() and reload() from
// any thread.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/binlog/file_source.hpp>
#include <rowcast/binlog/follower.hpp>
#include <rowcast/codec/by_name.hpp>
#include <rowcast/daemon/config.hpp>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/daemon/metrics.hpp>
#include <rowcast/dns/config.hpp>
#include <rowcast/dns/config_yaml.hpp>
#include <rowcast/dns/service.hpp>
#include <rowcast/dns/sink.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/os/quarantine.hpp>
#include <rowcast/pipeline/fanout.hpp>
#include <rowcast/pipeline/filter.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/journal/source.hpp>
#include <rowcast/transport/spool_reader.hpp>
#include <rowcast/transport/spool_writer.hpp>
#include <rowcast/transport/stream_sink.hpp>
#include <rowcast/version.hpp>
#include <rowcast/snapshot/source.hpp>
#include <rowcast/spread/consumer.hpp>
#include <rowcast/spread/producer.hpp>
#include <rowcast/sql/sink.hpp>  // the mysql sink (rowcast's own client)
#if defined(ROWCAST_DAEMON_NATS)
#include <rowcast/nats/consumer.hpp>
#include <rowcast/nats/producer.hpp>
#endif
#if defined(ROWCAST_DAEMON_DATAGRAM)
#include <rowcast/datagram/consumer.hpp>
#include <rowcast/datagram/producer.hpp>
#endif

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace daemon {
class relay;
}

namespace detail::daemon {

// A copy of a component's metrics (names and help are string literals: views stay valid).
struct metric_snapshot {
    std::vector<metric> values;
    template <class V>
    void visit(V&& v) const {
        for (const auto& m : values) v(m);
    }
    std::int64_t sum(std::initializer_list<std::string_view> names) const {
        std::int64_t s = 0;
        for (const auto& m : values)
            for (auto n : names)
                if (m.name == n) s += m.value;
        return s;
    }
};

template <class S>
metric_snapshot snapshot_of(const S& stats) {
    metric_snapshot out;
    stats.visit([&](const metric& m) { out.values.push_back(m); });
    return out;
}

// An event_source that forwards to `Src` and keeps a copy of its stats after each
// step, for readers on other threads (sources are one-thread objects).
template <class Src>
class observed_source {
public:
    observed_source(Src& s, std::mutex& mu, metric_snapshot& out) : s_(s), mu_(mu), out_(out) {}
    int native_handle() const { return s_.native_handle(); }
    std::chrono::milliseconds next_timeout() const { return s_.next_timeout(); }
    bool done() const { return s_.done(); }
    template <event_sink Sink>
    result<std::size_t> process(Sink& sink) {
        auto r = s_.process(sink);
        auto snap = snapshot_of(s_.stats());
        std::lock_guard l(mu_);
        out_ = std::move(snap);
        return r;
    }
    template <event_sink Sink>
    result<void> run(Sink& sink, std::stop_token stop, const run_options& o = {}) {
        return rowcast::run(*this, sink, std::move(stop), o);
    }

private:
    Src& s_;
    std::mutex& mu_;
    metric_snapshot& out_;
};

inline codec_spec read_codec(const node_reader& r, const char* dflt = "json") {
    const std::string c = r.text("codec", dflt);
    const std::string e = r.text("envelope", "");
    auto name = parse_codec_name(c);
    if (!name) r.fail("codec", "unknown codec '" + c + "' (accepted: json, yaml, binary)");
    auto spec = parse_codec_spec(c, e);
    if (!spec) r.fail("envelope", spec.error_value().message);
    return *spec;
}

// The file named by `key`; trailing line ends are dropped unless `raw` (secrets kept byte for byte).
inline std::string read_file_text(const node_reader& r, const char* key, bool raw = false) {
    const std::string path = r.required(key);
    std::ifstream in(path, std::ios::binary);
    if (!in) r.fail(key, "cannot read '" + path + "'");
    std::ostringstream s;
    s << in.rdbuf();
    std::string t = s.str();
    while (!raw && !t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    return t;
}

// Events a sink rejected for good and set aside (counted in rowcast_quarantined_total).
inline std::atomic<std::int64_t>& rejected_events() {
    static std::atomic<std::int64_t> n{0};
    return n;
}

// --- sources --------------------------------------------------------------------
// ssl_mode, ssl_ca, ssl_cert, ssl_key, ssl_cipher, get_server_public_key, server_public_key: as the
// programs' flags (rowcast/mysql/tls_options.hpp, docs/connecting.md). Files are checked at connect.
inline ::rowcast::mysql::tls_options read_tls(const node_reader& r) {
    ::rowcast::mysql::tls_options t;
    if (r.has("ssl_mode")) {
        const std::string m = r.text("ssl_mode", "");
        const auto mode = ::rowcast::mysql::parse_ssl_mode(m);
        if (!mode) r.fail("ssl_mode", "'" + m + "' is not one of " + std::string(::rowcast::mysql::ssl_mode_names));
        t.mode = *mode;
    }
    t.ca = r.text("ssl_ca", "");
    t.cert = r.text("ssl_cert", "");
    t.key = r.text("ssl_key", "");
    t.cipher = r.text("ssl_cipher", "");
    t.get_server_public_key = r.flag("get_server_public_key", false);
    t.server_public_key = r.text("server_public_key", "");
    return t;
}

// What the sinks' envelopes ask of a binlog source: Debezium's top-level ts_ms/ts_us/ts_ns (the
// capture time, on unless `capture_time: false`), Maxwell's xid on every row (each transaction held
// until its XID, at most `xid_hold_bytes`).
struct envelope_needs {
    bool debezium = false;
    bool maxwell = false;
};
inline envelope_needs needs_of(const std::vector<section>& sinks) {
    envelope_needs n;
    for (const auto& s : sinks) {
        if (!s.node.IsMap()) continue;
        const std::string e = node_reader(s.node, s.path).text("envelope", "");
        n.debezium = n.debezium || e == "debezium";
        n.maxwell = n.maxwell || e == "maxwell";
    }
    return n;
}
// `capture_time` and `xid_hold_bytes` of the binlog sources (0: no holding).
inline void read_binlog_parser(const node_reader& r, ::rowcast::binlog::parser_options& p, envelope_needs n) {
    p.capture_time = r.flag("capture_time", n.debezium);
    const auto hold = r.number("xid_hold_bytes", 0, INT64_MAX,
                               n.maxwell ? static_cast<std::int64_t>(::rowcast::binlog::parser_options{}.hold_max_bytes) : 0);
    p.hold_for_xid = hold > 0;
    if (hold > 0) p.hold_max_bytes = static_cast<std::size_t>(hold);
}

inline ::rowcast::binlog::follower_options read_binlog(const node_reader& r, envelope_needs needs = {}) {
    ::rowcast::binlog::follower_options o;
    auto& c = o.stream.connection;
    c.host = r.text("host", "127.0.0.1");
    c.port = static_cast<std::uint16_t>(r.number("port", 1, 65535, 3306));
    c.socket = r.text("socket", "");
    c.user = r.required("user");
    if (r.has("password") && r.has("password_file")) r.fail("password_file", "give 'password' or 'password_file', not both");
    c.password = r.has("password_file") ? read_file_text(r, "password_file") : r.text("password", "");
    c.connect_timeout = std::chrono::milliseconds(r.number("connect_timeout_ms", 1, 600000, 10000));
    o.stream.server_id = static_cast<std::uint32_t>(r.number("server_id", 1, 4294967295LL, 4242));
    o.stream.file = r.text("start_file", "");
    o.stream.position = static_cast<std::uint64_t>(r.number("start_position", 4, INT64_MAX, 4));
    if (r.has("gtid")) {
        if (r.has("start_file")) r.fail("gtid", "give 'gtid' or 'start_file', not both");
        o.stream.gtid = r.text("gtid", "");
    }
    o.stream.heartbeat_period = std::chrono::milliseconds(r.number("heartbeat_ms", 0, 3600000, 5000));
    o.stream.stop_at_end = r.flag("stop_at_end", false);
    read_binlog_parser(r, o.parser, needs);
    c.tls = read_tls(r);
    return o;
}

/// The binlog source's `snapshot:` section (docs/snapshot.md): mode, tables, chunk_rows,
/// max_result_bytes (the largest row or chunk held, mysql::connect_options); signal_table and
/// incremental_tables for incremental snapshots while streaming.
struct binlog_snapshot_settings {
    std::string mode = "never";
    std::vector<std::string> tables;
    std::size_t chunk_rows = 4096;
    std::size_t max_result_bytes = std::size_t{64} << 20;
    std::string signal_table;
    std::vector<std::string> incremental_tables;
    bool used() const noexcept { return mode != "never" || !signal_table.empty(); }
};

inline binlog_snapshot_settings read_binlog_snapshot(const node_reader& r) {
    binlog_snapshot_settings s;
    if (auto m = r.map("snapshot", {"mode", "tables", "chunk_rows", "max_result_bytes", "signal_table", "incremental_tables"})) {
        s.tables = m->strings("tables");
        s.mode = m->choice("mode", {"initial", "when_needed", "never"}, s.tables.empty() ? "never" : "initial");
        s.chunk_rows = static_cast<std::size_t>(m->number("chunk_rows", 1, 1 << 30, 4096));
        s.max_result_bytes = static_cast<std::size_t>(m->number("max_result_bytes", 1024, 1 << 30, s.max_result_bytes));
        s.signal_table = m->text("signal_table", "");
        s.incremental_tables = m->strings("incremental_tables");
        if (s.mode != "never" && s.tables.empty())
            m->fail("tables", "is required (schema.table or schema.*, a list) unless mode is never");
        if (!s.signal_table.empty() && (s.signal_table.find('.') == std::string::npos || s.signal_table.front() == '.' ||
                                        s.signal_table.back() == '.'))
            m->fail("signal_table", "must be schema.table");
        if (!s.incremental_tables.empty() && s.signal_table.empty())
            m->fail("incremental_tables", "needs signal_table (the watermarks are written there)");
    }
    return s;
}

inline ::rowcast::binlog::file_source_options read_binlog_files(const node_reader& r, envelope_needs needs = {}) {
    ::rowcast::binlog::file_source_options o;
    o.files = r.strings("files");
    if (o.files.empty()) r.fail("files", "is required (a list of binlog files)");
    o.start_position = static_cast<std::uint64_t>(r.number("start_position", 0, INT64_MAX, 0));
    read_binlog_parser(r, o.parser, needs);
    return o;
}

// A source reading a directory (spool, journal): its reader's options and the codec.
template <class ReaderOptions>
struct directory_source_config {
    ReaderOptions reader;
    codec_spec codec;
};
template <class ReaderOptions>
inline directory_source_config<ReaderOptions> read_directory_source(const node_reader& r, std::int64_t default_batch) {
    directory_source_config<ReaderOptions> o;
    o.reader.directory = r.required("directory");
    o.reader.quarantine_directory = r.text("quarantine_directory", "");
    o.reader.max_batch = static_cast<std::size_t>(r.number("max_batch", 1, 100000, default_batch));
    o.codec = read_codec(r, "binary");
    return o;
}
using spool_source_options = directory_source_config<spool_reader_options>;
inline spool_source_options read_spool_source(const node_reader& r) {
    return read_directory_source<spool_reader_options>(r, 64);
}
inline directory_source_config<journal_source_options> read_journal_source(const node_reader& r) {
    return read_directory_source<journal_source_options>(r, 256);
}

// --- sinks ----------------------------------------------------------------------
struct stream_sink_config {
    codec_spec codec;
    std::string key_separator;  // keyed lines with tombstones (stream_sink_options::key_separator)
};
inline stream_sink_config read_stdout(const node_reader& r) {
    stream_sink_config o{read_codec(r), r.text("key_separator", "")};
    if (!o.key_separator.empty() && o.codec.codec != codec_kind::json)
        r.fail("key_separator", "keyed lines need the json codec (its messages have keys)");
    return o;
}

struct spool_sink_config {
    spool_writer_options writer;
    codec_spec codec;
};
inline spool_sink_config read_spool_sink(const node_reader& r) {
    spool_sink_config o;
    o.writer.directory = r.required("directory");
    const std::string d = r.choice("durability", {"none", "file", "file_and_directory"}, "file_and_directory");
    o.writer.durability = d == "none" ? spool_durability::none : d == "file" ? spool_durability::file
                                                                               : spool_durability::file_and_directory;
    o.codec = read_codec(r, "binary");
    return o;
}

struct dns_sink_config {
    ::rowcast::dns::service_config service;
    std::filesystem::path quarantine;
};
inline dns_sink_config read_dns(const node_reader& r) {
    dns_sink_config o;
    auto& c = o.service;
    ::rowcast::detail::dns::read_service_fields(r, c);  // the keys rowcast-dns's config file has too
    o.quarantine = r.required("quarantine_directory");
    if (auto k = ::rowcast::dns::load_key(c); !k) r.fail("key_file", k.error_value().message);
    else c.client.key = std::move(*k);
    if (auto probe = ::rowcast::dns::sink::create(c.sink, c.client); !probe) r.fail("forward_zones", probe.error_value().message);
    return o;
}

// mysql sink: `url` as rowcast-binlog --sink takes it; the password from the URL, `password` or `password_file`.
inline ::rowcast::sql::sink_options read_mysql_sink(const node_reader& r) {
    auto o = ::rowcast::sql::parse_sink_url(r.required("url"));
    if (!o) r.fail("url", o.error_value().message);
    if (o->batch_transactions > 1 || o->batch_delay.count() > 0)  // a kept batch would be acknowledged to the fan-out
        r.fail("url", "batch and batch_delay_ms are for rowcast-binlog --sink: behind rowcastd's fan-out each group is "
                      "committed when the fan-out publishes it (its checkpoint must not pass the destination's)");
    if (r.has("password") && r.has("password_file")) r.fail("password_file", "give 'password' or 'password_file', not both");
    if (r.has("password_file")) o->connection.password = read_file_text(r, "password_file");
    else if (r.has("password")) o->connection.password = r.text("password", "");
    return std::move(*o);
}

#if defined(ROWCAST_DAEMON_NATS)
inline std::vector<std::string> read_servers(const node_reader& r) {
    auto s = r.strings("servers");
    if (s.empty()) s = {"nats://127.0.0.1:4222"};
    return s;
}
struct nats_source_config {
    ::rowcast::nats::consumer_options consumer;
    codec_spec codec;
};
inline nats_source_config read_nats_source(const node_reader& r) {
    nats_source_config o;
    o.consumer.connection.servers = read_servers(r);
    o.consumer.stream = r.text("stream", "ROWCAST");
    o.consumer.durable = r.text("durable", "rowcastd");
    o.consumer.filter_subject = r.text("filter_subject", "");
    o.codec = read_codec(r, "binary");
    return o;
}
struct nats_sink_config {
    ::rowcast::nats::producer_options producer;
    codec_spec codec;
};
inline nats_sink_config read_nats_sink(const node_reader& r) {
    nats_sink_config o;
    o.producer.connection.servers = read_servers(r);
    o.producer.stream.name = r.text("stream", "ROWCAST");
    o.producer.stream.subjects = r.strings("subjects");
    o.producer.subject_template = r.text("subject_template", o.producer.subject_template);
    o.producer.origin = r.text("origin", "rowcastd");
    o.producer.checkpoint = r.text("checkpoint", "");
    o.codec = read_codec(r, "binary");
    return o;
}
#endif

// --- spread (core) --------------------------------------------------------------
inline ::rowcast::spread::client_options read_spread_client(const node_reader& r) {
    ::rowcast::spread::client_options c;
    c.host = r.text("host", c.host);
    c.port = static_cast<std::uint16_t>(r.number("port", 1, 65535, c.port));
    c.unix_socket = r.text("unix_socket", "");
    c.name = r.text("private_name", "");
    // The client's own rule (no '#' either), checked here so the mistake names its key and line.
    if (auto why = ::rowcast::detail::spread::check_private_name(c.name); !why.empty())
        r.fail("private_name", "'" + c.name + "' " + why);
    c.connect_timeout = std::chrono::milliseconds(r.number("connect_timeout_ms", 1, 600000, 5000));
    return c;
}
struct spread_source_config {
    ::rowcast::spread::consumer_options consumer;
    std::filesystem::path quarantine;
};
inline spread_source_config read_spread_source(const node_reader& r) {
    spread_source_config o;
    o.consumer.client = read_spread_client(r);
    o.consumer.groups = r.strings("groups");
    if (o.consumer.groups.empty()) r.fail("groups", "is required (a list of Spread groups, e.g. rc.shop.items and rc.-.-)");
    for (const auto& g : o.consumer.groups)
        if (auto why = ::rowcast::detail::spread::check_group_name(g, false); !why.empty()) r.fail("groups", "'" + g + "': " + why);
    o.consumer.max_batch = static_cast<std::size_t>(r.number("max_batch", 1, 100000, 1024));
    o.quarantine = r.required("quarantine_directory");
    return o;
}
struct spread_sink_config {
    ::rowcast::spread::producer_options producer;
    codec_spec codec;
};
inline spread_sink_config read_spread_sink(const node_reader& r) {
    spread_sink_config o;
    o.producer.client = read_spread_client(r);
    o.producer.group_template = r.text("group_template", o.producer.group_template);
    {  // the producer's own check (spread/producer.hpp open())
        const std::string probe = ::rowcast::spread::group_name(o.producer.group_template, "s", "t");
        if (o.producer.group_template.empty() || probe.find('#') != std::string::npos ||
            !::rowcast::detail::spread::check_group_name(probe, false).empty())
            r.fail("group_template", "'" + o.producer.group_template + "' does not make valid group names");
    }
    const std::string svc = r.choice("service", {"unreliable", "reliable", "fifo", "causal", "agreed", "safe"}, "agreed");
    o.producer.svc = *::rowcast::spread::parse_service(svc);
    o.producer.max_message = static_cast<std::size_t>(
        r.number("max_message", 1024, static_cast<std::int64_t>(::rowcast::detail::spread::safe_capacity),
                 static_cast<std::int64_t>(::rowcast::detail::spread::safe_capacity)));
    o.producer.fragment = r.flag("fragment", true);
    o.codec = read_codec(r, "binary");
    return o;
}

#if defined(ROWCAST_DAEMON_DATAGRAM)
// --- udp and netlink (the datagram component) -----------------------------------
inline ::rowcast::datagram::key_set read_datagram_keys(const node_reader& r) {
    ::rowcast::datagram::key_set keys;
    if (!r.has("key_file")) {
        if (r.has("key_id")) r.fail("key_id", "needs 'key_file'");
        return keys;
    }
    const auto id = static_cast<std::uint16_t>(r.number("key_id", 0, 65535, 1));
    if (auto a = keys.add(id, read_file_text(r, "key_file", true)); !a) r.fail("key_file", a.error_value().message);
    return keys;
}
template <class LinkOptions>
struct datagram_sink_config {
    LinkOptions link;
    ::rowcast::datagram::producer_options producer;
    codec_spec codec;
};
template <class LinkOptions>
struct datagram_source_config {
    LinkOptions link;
    ::rowcast::datagram::consumer_options consumer;
    codec_spec codec;
};
inline void read_datagram_producer(const node_reader& r, ::rowcast::datagram::producer_options& p) {
    p.keys = read_datagram_keys(r);
    p.source_id = static_cast<std::uint64_t>(r.number("source_id", 0, INT64_MAX, 0));
    p.ring = static_cast<std::size_t>(r.number("ring", 1, 16777216, 4096));
    p.heartbeat = std::chrono::milliseconds(r.number("heartbeat_ms", 1, 60000, 100));
}
inline void read_datagram_consumer(const node_reader& r, ::rowcast::datagram::consumer_options& c) {
    c.keys = read_datagram_keys(r);
    c.tables = r.strings("tables");
    c.max_pending = static_cast<std::size_t>(r.number("max_pending", 1, 16777216, 4096));
    c.nak_interval = std::chrono::milliseconds(r.number("nak_interval_ms", 1, 60000, 20));
    c.nak_tries = static_cast<unsigned>(r.number("nak_tries", 1, 1000, 10));
    c.source_timeout = std::chrono::milliseconds(r.number("source_timeout_ms", 1, 3600000, 5000));
    c.catch_up = static_cast<std::uint64_t>(r.number("catch_up", 0, 16777216, 0));
}
// The producer's smallest datagram: a header, the longest table name, a fragment header, a MAC and 16 bytes.
inline constexpr std::int64_t min_datagram =
    ::rowcast::datagram::header_size + ::rowcast::datagram::max_table_size + 4 + ::rowcast::datagram::mac_size + 16;
inline ::rowcast::datagram::udp_options read_udp_link(const node_reader& r, bool sender) {
    ::rowcast::datagram::udp_options u;
    u.group = r.required("group");
    u.port = static_cast<std::uint16_t>(r.number("port", 1, 65535, 0));
    if (!r.has("port")) r.fail("port", "is required");
    u.interface = r.text("interface", "");
    u.receive_buffer = static_cast<int>(r.number("receive_buffer", 0, INT32_MAX, 0));
    if (sender) {
        u.hops = static_cast<int>(r.number("hops", 0, 255, 1));
        u.loopback = r.flag("loopback", true);
        u.send_buffer = static_cast<int>(r.number("send_buffer", 0, INT32_MAX, 0));
        u.max_datagram = static_cast<std::size_t>(r.number("max_datagram", min_datagram, 65000, 1400));
    }
    in6_addr a6{};
    in_addr a4{};
    const bool mc = ::inet_pton(AF_INET, u.group.c_str(), &a4) == 1 ? IN_MULTICAST(ntohl(a4.s_addr))
                    : ::inet_pton(AF_INET6, u.group.c_str(), &a6) == 1 ? IN6_IS_ADDR_MULTICAST(&a6)
                                                                       : false;
    if (!mc) r.fail("group", "'" + u.group + "' is not an IPv4 or IPv6 multicast group");
    if (!u.interface.empty() && ::if_nametoindex(u.interface.c_str()) == 0)
        r.fail("interface", "no interface '" + u.interface + "' on this host");
    return u;
}
inline ::rowcast::datagram::netlink_options read_netlink_link(const node_reader& r, bool sender) {
    ::rowcast::datagram::netlink_options n;
    if (const YAML::Node g = r.at("groups")) {
        if (!g.IsMap()) r.fail("groups", "must be a mapping of \"schema.table\" to a group 1..32");
        const node_reader gr(g, r.key("groups"));
        for (const auto& kv : g) {
            const std::string table = kv.first.Scalar();
            if (table.find('.') == std::string::npos) node_reader::fail_at(kv.first, gr.key(table), "is not \"schema.table\"");
            n.groups[table] = static_cast<std::uint32_t>(gr.number(table.c_str(), 1, 32, 1));
        }
    }
    n.receive_buffer = static_cast<int>(r.number("receive_buffer", 0, INT32_MAX, 0));
    if (sender) n.max_datagram = static_cast<std::size_t>(r.number("max_datagram", min_datagram, 65000, 16384));
    else n.tables = r.strings("tables");
    return n;
}
// A udp or netlink section: the link's keys (ReadLink) and the producer's / consumer's.
template <class LinkOptions, LinkOptions (*ReadLink)(const node_reader&, bool)>
datagram_sink_config<LinkOptions> read_datagram_sink(const node_reader& r) {
    datagram_sink_config<LinkOptions> o;
    o.link = ReadLink(r, true);
    read_datagram_producer(r, o.producer);
    o.codec = read_codec(r, "binary");
    return o;
}
template <class LinkOptions, LinkOptions (*ReadLink)(const node_reader&, bool)>
datagram_source_config<LinkOptions> read_datagram_source(const node_reader& r) {
    datagram_source_config<LinkOptions> o;
    o.link = ReadLink(r, false);
    read_datagram_consumer(r, o.consumer);  // `tables` too (netlink: also the groups it subscribes to)
    o.codec = read_codec(r, "binary");
    return o;
}
#endif

}  // namespace detail::daemon

namespace daemon {

/// Builds a sink of one type into the fan-out (the section was checked by parse_config).
using sink_builder = std::function<result<void>(const section&, fanout_sink&)>;
/// Builds a source of one type and runs the relay with it until stopped or done.
using source_builder = std::function<result<void>(const section&, relay&, std::stop_token)>;

/// One registered type: the config side (daemon/config.hpp type_entry) and its builder.
struct registration {
    type_entry entry;
    sink_builder make_sink;      ///< sinks
    source_builder run_source;   ///< sources
    /// Sources: how the fan-out acknowledges (on_write for sources that do not publish cursors).
    acknowledge source_ack = acknowledge::on_publish;
};

/// The table of every type this build has (see the top of this header).
const std::vector<registration>& registrations();

/// The config side of registrations(), for parse_config()/load_config().
inline const std::vector<type_entry>& types() {
    static const std::vector<type_entry> t = [] {
        std::vector<type_entry> v;
        for (const auto& r : registrations()) v.push_back(r.entry);
        return v;
    }();
    return t;
}

/// The position label of rowcast_position_info: "FILE:OFFSET", or the GTID state in GTID
/// mode, for a binlog cursor; other cursors with their lines joined by ','; "" if none.
inline std::string position_label(std::string_view cursor) {
    if (cursor.empty()) return {};
    if (auto p = ::rowcast::binlog::parse_cursor(cursor, "cursor"); p) {
        if (!p->gtid.empty()) return p->gtid;
        return p->file + ":" + std::to_string(p->offset);
    }
    std::string s(cursor);
    for (char& c : s)
        if (c == '\n') c = ',';
    return s;
}

/// Installs the process-wide log sink: text ("rowcastd <component> <level>: <message>")
/// or JSON lines ({"time","level","component","message"}) on stderr, and the level.
inline void install_log(log_format f, log_level level) {
    set_log_level(level);
    if (f == log_format::text) {
        set_log_sink({});
        return;
    }
    set_log_sink([](log_level l, std::string_view component, std::string_view message) {
        char when[32];
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        nlohmann::json j = {{"time", when}, {"level", to_string(l)}, {"component", component}, {"message", message}};
        const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
    });
}

class relay {
    struct passkey {  // only open() makes one: std::make_unique without a constructor others can call
        explicit passkey() = default;
    };

public:
    /// Builds the sinks (connecting where their type does) and starts the fan-out.
    static result<std::unique_ptr<relay>> open(config c) {
        auto r = std::make_unique<relay>(passkey{}, std::move(c));
        auto filt = event_filter::make(r->cfg_.filters);
        if (!filt) return filt.error_value();
        r->filter_ = std::move(*filt);
        fanout_options fo;
        fo.checkpoint = r->cfg_.checkpoint;
        if (const registration* src = find(r->cfg_.source.type, role::source)) fo.mode = src->source_ack;
        r->fanout_.emplace(std::move(fo));
        for (const auto& s : r->cfg_.sinks) {
            const registration* reg = find(s.type, role::sink);
            if (!reg) return error::make(errc::invalid_value, "daemon", s.path, "unknown sink type '" + s.type + "'");
            if (auto b = reg->make_sink(s, *r->fanout_); !b) return rowcast::detail::with_where(b.error_value(), s.path + " (" + s.name + ")");
        }
        if (auto st = r->fanout_->start(); !st) return st.error_value();
        r->register_metrics();
        return r;
    }

    relay(passkey, config c) : cfg_(std::move(c)) {}
    relay(const relay&) = delete;
    relay& operator=(const relay&) = delete;
    ~relay() { stop_ticker(); }

    /// Runs until `stop` or the end of the source, then drains (see the top of this header).
    /// `tick` is called about every second on another thread (may be empty).
    result<void> run(std::stop_token stop, std::function<void()> tick = {}) {
        tick_ = std::move(tick);
        running_ = true;
        start_ticker();
        const registration* reg = find(cfg_.source.type, role::source);
        result<void> r = reg ? reg->run_source(cfg_.source, *this, stop)
                             : error::make(errc::invalid_value, "daemon", "source", "unknown source type '" + cfg_.source.type + "'");
        if (!r) log(log_level::error, "daemon", r.error_value().message);
        const bool drained = fanout_->drain(cfg_.drain_timeout);
        if (!drained)
            log(log_level::warning, "daemon",
                "stopped with events the sinks had not acknowledged within drain_timeout_ms; the checkpoint does not "
                "cover them: they are delivered again at the next start");
        log(log_level::info, "daemon", "checkpoint: " + (fanout_->saved_cursor().empty() ? std::string("none")
                                                                                     : position_label(fanout_->saved_cursor())));
        running_ = false;
        stop_ticker();  // writes the status file a last time (rowcast_up 0)
        return r;
    }

    /// Runs the relay with a built source (called by the source builders).
    template <class Src>
    result<void> drive(Src& src, std::stop_token stop) {
        detail::daemon::observed_source<Src> obs(src, mu_, source_stats_);
        filtered_sink<fanout_sink&> sink(filter_, *fanout_);
        log(log_level::info, "daemon",
            "running: source " + cfg_.source.type + ", " + std::to_string(cfg_.sinks.size()) + " sink(s)" +
                (fanout_->saved_cursor().empty() ? std::string() : ", resuming at " + position_label(fanout_->saved_cursor())));
        // The fan-out already waits up to a second for its sinks: retry it soon after.
        run_options ro;
        ro.retry.max = std::chrono::milliseconds(1000);
        return rowcast::run(obs, sink, std::move(stop), ro);
    }

    /// The Prometheus text of every metric (see the top of this header).
    std::string metrics_text() const {
        prometheus_text t;
        t.add(registry_);
        t.info("position_info", "where a restart resumes: FILE:OFFSET or the GTID state (the last cursor every sink acknowledged)",
               {{"position", position_label(fanout_->saved_cursor())}});
        return t.str();
    }

    /// True when every sink's last delivery succeeded.
    bool healthy() const {
        for (std::size_t i = 0; i < fanout_->sink_count(); ++i)
            if (!fanout_->sink_stats(i).up) return false;
        return true;
    }

    /// The names of the failing sinks, comma-separated ("" when healthy).
    std::string failing() const {
        std::string s;
        for (std::size_t i = 0; i < fanout_->sink_count(); ++i)
            if (!fanout_->sink_stats(i).up) s += (s.empty() ? "" : ", ") + fanout_->sink_name(i);
        return s;
    }

    /// SIGHUP: applies what can change safely (log format and level) from `next` and
    /// returns one message per top-level key that changed and needs a restart.
    std::vector<std::string> reload(const config& next) {
        std::vector<std::string> restart;
        for (const auto& k : changed_keys(cfg_, next)) {
            if (k == "log") continue;
            restart.push_back("'" + k + "' changed: takes effect after a restart (not applied)");
        }
        install_log(next.log_as, next.log_min);
        std::lock_guard l(mu_);
        for (auto& kv : cfg_.raw)
            if (kv.first == "log")
                for (const auto& nk : next.raw)
                    if (nk.first == "log") kv.second = nk.second;
        cfg_.log_as = next.log_as;
        cfg_.log_min = next.log_min;
        return restart;
    }

    const config& settings() const noexcept { return cfg_; }
    fanout_sink& fanout() noexcept { return *fanout_; }
    const event_filter& filter() const noexcept { return filter_; }

    /// Writes the status file now (no-op without status_file).
    result<void> write_status() const {
        if (cfg_.status_file.empty()) return {};
        return write_file_atomically(cfg_.status_file, metrics_text(), durability::none, 0644, "daemon");
    }

private:

    static const registration* find(const std::string& type, role r) {
        for (const auto& reg : registrations())
            if (reg.entry.kind == r && reg.entry.name == type) return &reg;
        return nullptr;
    }

    struct top_stats {
        bool up = false;
        fanout_stats fan;
        std::int64_t reconnects = 0, gaps = 0, quarantined = 0;
        template <class V>
        void visit(V&& v) const {
            v(rowcast::detail::gauge("up", up ? 1 : 0, "1 while the daemon runs, 0 after a clean stop"));
            v(rowcast::detail::counter("events_in", fan.events_in, "events accepted from the source (after filters)"));
            v(rowcast::detail::gauge("lag_seconds", fan.lag_ms, "seconds from commit time of the oldest event some sink has not acknowledged (max over sinks; 0 when caught up)", 3));
            v(rowcast::detail::counter("reconnects", static_cast<std::uint64_t>(reconnects), "source reconnections after a loss"));
            v(rowcast::detail::counter("gaps", static_cast<std::uint64_t>(gaps), "gaps in the source's sequence seen by a receiver"));
            v(rowcast::detail::counter("quarantined", static_cast<std::uint64_t>(quarantined), "events or files set aside with a reason (source quarantine, dead letters, rejected by a sink)"));
            v(rowcast::detail::counter("checkpoints", fan.checkpoints, "cursors saved after every sink acknowledged"));
        }
    };

    void register_metrics() {
        registry_.add("", [this] {
            top_stats t;
            t.up = running_.load();
            t.fan = fanout_->stats();
            std::lock_guard l(mu_);
            t.reconnects = source_stats_.sum({"reconnects"});
            t.gaps = source_stats_.sum({"gaps", "lost"});  // datagram consumers: gaps; spread: events lost
            t.quarantined = source_stats_.sum({"quarantined", "dead_lettered"}) + detail::daemon::rejected_events().load();
            return t;
        });
        for (std::size_t i = 0; i < fanout_->sink_count(); ++i)
            registry_.add("sink{sink=\"" + escape_label_value(fanout_->sink_name(i)) + "\"}",
                          [this, i] { return fanout_->sink_stats(i); });
        registry_.add("source{type=\"" + escape_label_value(cfg_.source.type) + "\"}", [this] {
            std::lock_guard l(mu_);
            return source_stats_;
        });
    }

    void start_ticker() {
        ticker_ = std::thread([this] {
            std::unique_lock l(tick_mu_);
            for (;;) {
                l.unlock();
                if (auto w = write_status(); !w) log(log_level::warning, "daemon", w.error_value().message);
                if (tick_) tick_();
                l.lock();
                if (tick_cv_.wait_for(l, std::chrono::seconds(1), [&] { return tick_stop_; })) break;
            }
            l.unlock();
            if (auto w = write_status(); !w) log(log_level::warning, "daemon", w.error_value().message);
        });
    }

    void stop_ticker() {
        {
            std::lock_guard l(tick_mu_);
            tick_stop_ = true;
        }
        tick_cv_.notify_all();
        if (ticker_.joinable()) ticker_.join();
    }

    friend const std::vector<registration>& registrations();

    config cfg_;
    event_filter filter_;
    std::optional<fanout_sink> fanout_;
    stats_registry registry_;
    mutable std::mutex mu_;
    detail::daemon::metric_snapshot source_stats_;
    std::atomic<bool> running_{false};
    std::function<void()> tick_;
    std::thread ticker_;
    std::mutex tick_mu_;
    std::condition_variable tick_cv_;
    bool tick_stop_ = false;

};

#if defined(ROWCAST_DAEMON_DATAGRAM)
}  // namespace daemon

namespace detail::daemon {
using ::rowcast::daemon::registration;
using ::rowcast::daemon::relay;

// The source and sink entries of one datagram link (udp, netlink): the keys of the link
// (`common`, `sink_only`, `source_only`) plus those of the producer / consumer options.
template <class Link, class SinkRead, class SourceRead>
void add_datagram_types(std::vector<registration>& t, std::vector<std::string> common, std::vector<std::string> sink_only,
                        std::vector<std::string> source_only, SinkRead read_sink, SourceRead read_source) {
    std::vector<std::string> sink_keys = common, source_keys = std::move(common);
    for (const char* k : {"key_file", "key_id", "codec", "envelope"}) {
        sink_keys.emplace_back(k);
        source_keys.emplace_back(k);
    }
    sink_keys.insert(sink_keys.end(), sink_only.begin(), sink_only.end());
    sink_keys.insert(sink_keys.end(), {"source_id", "ring", "heartbeat_ms"});
    source_keys.insert(source_keys.end(), source_only.begin(), source_only.end());
    source_keys.insert(source_keys.end(), {"tables", "max_pending", "nak_interval_ms", "nak_tries", "source_timeout_ms", "catch_up"});
    t.push_back({{Link::name, role::source, std::move(source_keys), [read_source](const node_reader& r) { (void)read_source(r); }},
                 {},
                 [read_source](const section& s, relay& rl, std::stop_token stop) -> result<void> {
                     auto o = read_source(node_reader(s.node, s.path));
                     return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                         auto src = ::rowcast::datagram::consumer<Codec, Link>::open(o.link, std::move(o.consumer), std::move(codec));
                         if (!src) return src.error_value();
                         return rl.drive(*src, stop);
                     });
                 },
                 acknowledge::on_write});  // no cursor: the consumer takes what the producers send from now on
    t.push_back({{Link::name, role::sink, std::move(sink_keys), [read_sink](const node_reader& r) { (void)read_sink(r); }},
                 [read_sink](const section& s, fanout_sink& out) -> result<void> {
                     auto o = read_sink(node_reader(s.node, s.path));
                     return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                         auto p = ::rowcast::datagram::producer<Codec, Link>::open(o.link, std::move(o.producer), std::move(codec));
                         if (!p) return p.error_value();
                         out.add(s.name, std::move(*p), {s.queue_capacity});
                         return {};
                     });
                 },
                 {}});
}
}  // namespace detail::daemon

namespace daemon {
#endif

inline const std::vector<registration>& registrations() {
    using detail::node_reader;
    namespace dd = detail::daemon;
    static const std::vector<registration> table = [] {
        std::vector<registration> t;
        // ---- sources
        t.push_back({{"binlog", role::source,
                      {"host", "port", "socket", "user", "password", "password_file", "connect_timeout_ms", "server_id",
                       "start_file", "start_position", "gtid", "heartbeat_ms", "stop_at_end", "ssl_mode", "ssl_ca",
                       "ssl_cert", "ssl_key", "ssl_cipher", "get_server_public_key", "server_public_key", "snapshot",
                       "capture_time", "xid_hold_bytes"},
                      [](const node_reader& r) {
                          (void)dd::read_binlog(r);
                          (void)dd::read_binlog_snapshot(r);
                      }},
                     {},
                     [](const section& s, relay& rl, std::stop_token stop) -> result<void> {
                         const node_reader r(s.node, s.path);
                         auto fo = dd::read_binlog(r, dd::needs_of(rl.settings().sinks));
                         if (const auto snap = dd::read_binlog_snapshot(r); snap.used()) {
                             ::rowcast::snapshot::source_options so{
                                 .mode = *::rowcast::snapshot::parse_mode(snap.mode), .snapshot = {}, .follower = fo};
                             so.snapshot.connection = fo.stream.connection;  // the same server, TLS and authentication
                             so.snapshot.connection.max_result_bytes = snap.max_result_bytes;
                             so.snapshot.tables = snap.tables;
                             so.snapshot.chunk_rows = snap.chunk_rows;
                             if (!snap.signal_table.empty())
                                 so.incremental = ::rowcast::snapshot::incremental_options{
                                     .connection = so.snapshot.connection, .signal_table = snap.signal_table,
                                     .tables = snap.incremental_tables, .chunk_rows = snap.chunk_rows};
                             ::rowcast::snapshot::snapshot_source src(std::move(so));
                             return rl.drive(src, std::move(stop));
                         }
                         ::rowcast::binlog::follower f(std::move(fo));
                         return rl.drive(f, std::move(stop));
                     }});
        t.push_back({{"binlog_files", role::source, {"files", "start_position", "capture_time", "xid_hold_bytes"},
                      [](const node_reader& r) { (void)dd::read_binlog_files(r); }},
                     {},
                     [](const section& s, relay& rl, std::stop_token stop) -> result<void> {
                         auto src = ::rowcast::binlog::file_source::open(
                             dd::read_binlog_files(node_reader(s.node, s.path), dd::needs_of(rl.settings().sinks)));
                         if (!src) return src.error_value();
                         return rl.drive(*src, std::move(stop));
                     },
                     acknowledge::on_write});
        t.push_back({{"spool", role::source, {"directory", "codec", "envelope", "quarantine_directory", "max_batch"},
                      [](const node_reader& r) { (void)dd::read_spool_source(r); }},
                     {},
                     [](const section& s, relay& rl, std::stop_token stop) -> result<void> {
                         auto o = dd::read_spool_source(node_reader(s.node, s.path));
                         return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                             auto src = spool_reader<Codec>::open(o.reader, std::move(codec));
                             if (!src) return src.error_value();
                             return rl.drive(*src, stop);
                         });
                     },
                     acknowledge::on_write});
        t.push_back({{"journal", role::source, {"directory", "codec", "envelope", "quarantine_directory", "max_batch"},
                      [](const node_reader& r) { (void)dd::read_journal_source(r); }},
                     {},
                     [](const section& s, relay& rl, std::stop_token stop) -> result<void> {
                         auto o = dd::read_journal_source(node_reader(s.node, s.path));
                         return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                             auto src = journal_source<Codec>::open(o.reader, std::move(codec));
                             if (!src) return src.error_value();
                             return rl.drive(*src, stop);
                         });
                     },
                     acknowledge::on_write});  // a batch's segments are retired once every sink has it
        // ---- sinks
        t.push_back({{"stdout", role::sink, {"codec", "envelope", "key_separator"}, [](const node_reader& r) { (void)dd::read_stdout(r); }},
                     [](const section& s, fanout_sink& out) -> result<void> {
                         auto o = dd::read_stdout(node_reader(s.node, s.path));
                         with_codec(o.codec, [&]<class Codec>(Codec codec) {
                             out.add(s.name,
                                     stream_sink<Codec>(STDOUT_FILENO, std::move(codec), {.key_separator = o.key_separator}),
                                     {s.queue_capacity});
                         });
                         return {};
                     },
                     {}});
        t.push_back({{"spool", role::sink, {"directory", "codec", "envelope", "durability"},
                      [](const node_reader& r) { (void)dd::read_spool_sink(r); }},
                     [](const section& s, fanout_sink& out) -> result<void> {
                         auto o = dd::read_spool_sink(node_reader(s.node, s.path));
                         return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                             auto w = spool_writer<Codec>::open(o.writer, std::move(codec));
                             if (!w) return w.error_value();
                             out.add(s.name, std::move(*w), {s.queue_capacity});
                             return {};
                         });
                     },
                     {}});
        auto dns_keys = ::rowcast::detail::dns::service_keys();
        dns_keys.push_back("quarantine_directory");
        t.push_back({{"dns", role::sink, std::move(dns_keys),
                      [](const node_reader& r) { (void)dd::read_dns(r); }},
                     [](const section& s, fanout_sink& out) -> result<void> {
                         auto o = dd::read_dns(node_reader(s.node, s.path));
                         ::rowcast::dns::service_sink_options so;
                         so.label = "sink '" + s.name + "': ";
                         so.log_batches = false;  // the metrics count them
                         so.on_rejected = [](const event&, const error&, bool) { ++dd::rejected_events(); };
                         auto snk = ::rowcast::dns::service_sink<json_codec>::create(o.service, quarantine(o.quarantine),
                                                                                      json_codec{}, std::move(so));
                         if (!snk) return snk.error_value();
                         out.add(s.name, std::move(*snk), {s.queue_capacity});
                         return {};
                     },
                     {}});
#if defined(ROWCAST_DAEMON_NATS)
        t.push_back({{"nats", role::source, {"servers", "stream", "durable", "filter_subject", "codec", "envelope"},
                      [](const node_reader& r) { (void)dd::read_nats_source(r); }},
                     {},
                     [](const section& s, relay& rl, std::stop_token stop) -> result<void> {
                         auto o = dd::read_nats_source(node_reader(s.node, s.path));
                         return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                             auto src = ::rowcast::nats::consumer<Codec>::open(o.consumer, std::move(codec));
                             if (!src) return src.error_value();
                             return rl.drive(*src, stop);
                         });
                     }});
        t.push_back({{"nats", role::sink,
                      {"servers", "stream", "subjects", "subject_template", "origin", "checkpoint", "codec", "envelope"},
                      [](const node_reader& r) { (void)dd::read_nats_sink(r); }},
                     [](const section& s, fanout_sink& out) -> result<void> {
                         auto o = dd::read_nats_sink(node_reader(s.node, s.path));
                         return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                             auto p = ::rowcast::nats::producer<Codec>::open(o.producer, std::move(codec));
                             if (!p) return p.error_value();
                             out.add(s.name, std::move(*p), {s.queue_capacity});
                             return {};
                         });
                     },
                     {}});
#endif
        t.push_back({{"mysql", role::sink, {"url", "password", "password_file"},
                      [](const node_reader& r) { (void)dd::read_mysql_sink(r); }},
                     [](const section& s, fanout_sink& out) -> result<void> {
                         auto db = ::rowcast::sql::sink::open(dd::read_mysql_sink(node_reader(s.node, s.path)));
                         if (!db) return db.error_value();
                         out.add(s.name, std::move(*db), {s.queue_capacity});
                         return {};
                     },
                     {}});
        // ---- spread (core): producer as sink, consumer as source
        t.push_back({{"spread", role::source,
                      {"host", "port", "unix_socket", "private_name", "connect_timeout_ms", "groups", "max_batch",
                       "quarantine_directory"},
                      [](const node_reader& r) { (void)dd::read_spread_source(r); }},
                     {},
                     [](const section& s, relay& rl, std::stop_token stop) -> result<void> {
                         auto o = dd::read_spread_source(node_reader(s.node, s.path));
                         auto q = std::make_shared<quarantine>(o.quarantine);
                         if (auto c = q->check(); !c) return c.error_value();
                         o.consumer.on_bad = [q](const ::rowcast::spread::bad_message& b) {
                             const std::string why = "group " + b.group + ", sender " + b.sender + ": " + b.reason.message;
                             auto stored = q->store("spread-" + std::to_string(b.mess_type), b.data, why);
                             ++dd::rejected_events();
                             if (!stored) log(log_level::error, "daemon", "a bad Spread message was NOT quarantined: " + stored.error_value().message);
                         };
                         auto src = ::rowcast::spread::consumer<binary_codec, json_codec, yaml_codec>::open(std::move(o.consumer));
                         if (!src) return src.error_value();
                         return rl.drive(*src, std::move(stop));
                     },
                     acknowledge::on_write});  // its cursor cannot be resumed from (Spread keeps no history)
        t.push_back({{"spread", role::sink,
                      {"host", "port", "unix_socket", "private_name", "connect_timeout_ms", "group_template", "service",
                       "max_message", "fragment", "codec", "envelope"},
                      [](const node_reader& r) { (void)dd::read_spread_sink(r); }},
                     [](const section& s, fanout_sink& out) -> result<void> {
                         auto o = dd::read_spread_sink(node_reader(s.node, s.path));
                         return with_codec(o.codec, [&]<class Codec>(Codec codec) -> result<void> {
                             auto p = ::rowcast::spread::producer<Codec>::open(o.producer, std::move(codec));
                             if (!p) return p.error_value();
                             out.add(s.name, std::move(*p), {s.queue_capacity});
                             return {};
                         });
                     },
                     {}});
#if defined(ROWCAST_DAEMON_DATAGRAM)
        // ---- udp and netlink (the datagram component): producer as sink, consumer as source
        dd::add_datagram_types<::rowcast::datagram::udp_link>(
            t, {"group", "port", "interface", "receive_buffer"}, {"hops", "loopback", "send_buffer", "max_datagram"},
            {}, &dd::read_datagram_sink<::rowcast::datagram::udp_options, &dd::read_udp_link>,
            &dd::read_datagram_source<::rowcast::datagram::udp_options, &dd::read_udp_link>);
        dd::add_datagram_types<::rowcast::datagram::netlink_link>(
            t, {"groups", "receive_buffer"}, {"max_datagram"}, {},
            &dd::read_datagram_sink<::rowcast::datagram::netlink_options, &dd::read_netlink_link>,
            &dd::read_datagram_source<::rowcast::datagram::netlink_options, &dd::read_netlink_link>);
#endif
        return t;
    }();
    return table;
}

}  // namespace daemon
ROWCAST_NAMESPACE_END
