// rowcast-multicast-relay: relays a spool directory or binlog files to UDP multicast
// or netlink multicast, authenticated (docs/datagram.md): one rowcast::run(source, sink).
//
//   rowcast-multicast-relay (--spool DIR [--codec C] | --binlog FILE...)
//       (--udp GROUP --port N [--interface IF] [--hops N] | --netlink)
//       [--key ID:FILE] [--source-id N] [--ring N]
//
// The wire codec is binary. --key names a file holding the secret (at least 16 bytes).
#include "../common/cli_codec.hpp"

#include <rowcast/binlog/file_source.hpp>
#include <rowcast/codec/binary.hpp>
#include <rowcast/codec/by_name.hpp>
#include <rowcast/datagram/producer.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/transport/spool_reader.hpp>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace {

struct options {
    std::string spool;
    std::string spool_codec = "json";
    std::vector<std::string> binlog;
    std::string udp;
    std::uint16_t port = 0;
    std::string interface;
    int hops = 1;
    bool netlink = false;
    std::string key;
    std::uint64_t source_id = 0;
    std::size_t ring = 4096;
};

rowcast::result<rowcast::datagram::key_set> load_key(const std::string& spec) {
    rowcast::datagram::key_set keys;
    if (spec.empty()) return keys;
    const auto colon = spec.find(':');
    if (colon == std::string::npos || colon == 0)
        return rowcast::error::make(rowcast::errc::invalid_value, "multicast-relay", "--key", "expected ID:FILE");
    std::uint16_t id = 0;
    try {
        const unsigned long v = std::stoul(spec.substr(0, colon));
        if (v > 65535) throw std::out_of_range("id");
        id = static_cast<std::uint16_t>(v);
    } catch (const std::exception&) {
        return rowcast::error::make(rowcast::errc::invalid_value, "multicast-relay", "--key", "the key id is not 0..65535");
    }
    std::ifstream in(spec.substr(colon + 1), std::ios::binary);
    if (!in) return rowcast::error::make(rowcast::errc::not_found, "multicast-relay", spec.substr(colon + 1), "cannot read the key file");
    const std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto r = keys.add(id, secret); !r) return r.error_value();
    return keys;
}

template <class Source, class Sink>
int relay(const CLI::App& app, Source& source, Sink& sink) {
    rowcast_cli::signal_stop stop(std::nullopt);
    auto r = rowcast::run(source, sink, stop.token());
    const auto st = sink.stats();
    std::fprintf(stderr, "rowcast-multicast-relay: %llu events in %llu datagrams, %llu repairs\n",
                 static_cast<unsigned long long>(st.events), static_cast<unsigned long long>(st.datagrams),
                 static_cast<unsigned long long>(st.repairs));
    if (!r) return rowcast_cli::runtime_error(app, r.error_value().message);
    return rowcast_cli::exit_ok;
}

template <class Sink>
int from_source(const CLI::App& app, const options& o, Sink& sink) {
    if (!o.binlog.empty()) {
        rowcast::binlog::file_source_options fo;
        fo.files = o.binlog;
        auto src = rowcast::binlog::file_source::open(fo);
        if (!src) return rowcast_cli::runtime_error(app, src.error_value().message);
        return relay(app, *src, sink);
    }
    auto spec = rowcast::parse_codec_spec(o.spool_codec);
    if (!spec) return rowcast_cli::usage_error(app, spec.error_value().message);
    return rowcast::with_codec(*spec, [&]<class C>(C codec) {
        rowcast::spool_reader_options ro;
        ro.directory = o.spool;
        auto reader = rowcast::spool_reader<C>::open(ro, std::move(codec));
        if (!reader) return rowcast_cli::runtime_error(app, reader.error_value().message);
        return relay(app, *reader, sink);
    });
}

}  // namespace

static int run_main(int argc, char** argv) {
    CLI::App app("Relays a spool directory or binlog files to UDP or netlink multicast (authenticated, sequenced, "
                 "repaired on request; docs/datagram.md).",
                 "rowcast-multicast-relay");
    rowcast_cli::setup(app, "Example: rowcast-multicast-relay --spool /var/spool/rowcast --udp 239.10.0.1 --port 5999 "
                            "--key 1:/etc/rowcast/multicast.key");
    options o;
    auto* spool = app.add_option("--spool", o.spool, "Spool directory to relay (files removed once sent)");
    rowcast_cli::add_codec_option(app, o.spool_codec, "Codec of the spool's files: json, yaml or binary");
    auto* binlog = app.add_option("--binlog", o.binlog, "Binlog files to relay, in order")->excludes(spool);
    auto* udp = app.add_option("--udp", o.udp, "Multicast group, IPv4 or IPv6");
    app.add_option("--port", o.port, "The group's UDP port")->needs(udp);
    app.add_option("--interface", o.interface, "Interface to send on")->needs(udp);
    app.add_option("--hops", o.hops, "TTL / hop limit")->needs(udp)->check(CLI::Range(0, 255));
    app.add_flag("--netlink", o.netlink, "NETLINK_USERSOCK multicast to this host (subscribers need CAP_NET_ADMIN)")->excludes(udp);
    app.add_option("--key", o.key, "HMAC key: ID:FILE (the file holds the secret, at least 16 bytes)");
    app.add_option("--source-id", o.source_id, "Stable source id (replay protection across restarts); 0: random");
    app.add_option("--ring", o.ring, "Datagrams kept for repairs per channel")->check(CLI::PositiveNumber);
    if (auto status = rowcast_cli::parse(app, argc, argv)) return *status;
    if (spool->count() + binlog->count() != 1) return rowcast_cli::usage_error(app, "give --spool or --binlog");
    if (o.udp.empty() == !o.netlink) return rowcast_cli::usage_error(app, "give --udp or --netlink");

    auto keys = load_key(o.key);
    if (!keys) return rowcast_cli::usage_error(app, keys.error_value().message);
    rowcast::datagram::producer_options po;
    po.keys = std::move(*keys);
    po.source_id = o.source_id;
    po.ring = o.ring;
    if (o.netlink) {
        auto sink = rowcast::datagram::netlink_producer<rowcast::binary_codec>::open({}, std::move(po));
        if (!sink) return rowcast_cli::runtime_error(app, sink.error_value().message);
        return from_source(app, o, *sink);
    }
    auto sink = rowcast::datagram::udp_producer<rowcast::binary_codec>::open(
        {.group = o.udp, .port = o.port, .interface = o.interface, .hops = o.hops}, std::move(po));
    if (!sink) return rowcast_cli::runtime_error(app, sink.error_value().message);
    return from_source(app, o, *sink);
}

int main(int argc, char** argv) {
    return rowcast_cli::guarded("rowcast-multicast-relay", [&] { return run_main(argc, argv); });
}
