// rowcast/udf/datagram_output.hpp: the loadable functions' datagram output
// (config `output = udp | netlink`, docs/udf.md, docs/datagram.md): each event is
// sent at once as a multicast datagram (binary codec), as DTML's triggers did,
// without a shell or a kernel module. Needs the rowcast::datagram component.
//
// shared(config) returns one producer per distinct configuration for the whole
// process, kept open until the process exits (inside a trigger the server calls the
// functions' init for every row: a producer per call would be a new source, epoch,
// socket and ring each time, and nobody left to answer a repair). The first call
// opens it; later calls with the same settings share it.
//
// Errors: open(): invalid_value / not_found for the key file, the link's errors
// (netlink without CAP_NET_ADMIN fails at the first write with EPERM). write(): as
// datagram::producer::write.
//
// Thread-safety: write() may be called from several threads at once (the
// producer's mutex); shared() is serialised.
#pragma once

#include <rowcast/codec/binary.hpp>
#include <rowcast/datagram/producer.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/udf/config.hpp>
#include <rowcast/udf/detail/kept_outputs.hpp>
#include <rowcast/version.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <variant>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

class datagram_output {
public:
    /// The process-wide output for `c` (c.output must be udp or netlink). Each distinct
    /// configuration's producer is kept open for the rest of the process (a changed config opens
    /// another; the old one stays, idle, so a holder never sees it closed).
    static result<std::shared_ptr<datagram_output>> shared(const config& c) {
        // Inside a trigger the init runs for every row: the last one asked for is compared field
        // by field before a key is built (detail/kept_outputs.hpp).
        auto key_of = [](const config& x) {
            return std::to_string(static_cast<int>(x.output)) + '\n' + x.udp_group + '\n' + std::to_string(x.udp_port) + '\n' +
                   x.udp_interface + '\n' + std::to_string(x.udp_hops) + '\n' + std::to_string(x.datagram_key_id) + ':' +
                   x.datagram_key_file + '\n' + std::to_string(x.datagram_source_id);
        };
        return ::rowcast::detail::udf::kept_outputs<datagram_output, std::string>::process_wide().get(
            c, same_settings, key_of, [](const config& x) { return open(x); },
            [](const datagram_output&, const config&) { return true; });  // no directory to be replaced
    }

    /// A new output for `c` (not shared).
    static result<datagram_output> open(const config& c) {
        datagram::producer_options po;
        po.source_id = c.datagram_source_id;
        if (!c.datagram_key_file.empty()) {
            std::ifstream in(c.datagram_key_file, std::ios::binary);
            if (!in) return error::make(errc::not_found, "udf", c.file, "cannot read datagram_key file " + c.datagram_key_file);
            const std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            if (auto r = po.keys.add(static_cast<std::uint16_t>(c.datagram_key_id), secret); !r) return r.error_value();
        }
        if (c.output == config::output_kind::netlink) {
            auto p = datagram::netlink_producer<binary_codec>::open({}, std::move(po));
            if (!p) return p.error_value();
            return datagram_output(std::move(*p));
        }
        auto p = datagram::udp_producer<binary_codec>::open(
            {.group = c.udp_group, .port = static_cast<std::uint16_t>(c.udp_port), .interface = c.udp_interface, .hops = c.udp_hops},
            std::move(po));
        if (!p) return p.error_value();
        return datagram_output(std::move(*p));
    }

    /// Sends `e` now (one datagram, or fragments).
    result<void> write(const event& e) {
        return std::visit([&](auto& p) { return p.write(e); }, producer_);
    }

    std::string_view codec_name() const noexcept { return binary_codec::name; }

    template <class P>
        requires(!std::is_same_v<P, datagram_output>)
    explicit datagram_output(P p) : producer_(std::move(p)) {}

private:
    static bool same_settings(const config& a, const config& b) noexcept {
        return a.output == b.output && a.udp_port == b.udp_port && a.udp_hops == b.udp_hops &&
               a.datagram_key_id == b.datagram_key_id && a.datagram_source_id == b.datagram_source_id &&
               a.udp_group == b.udp_group && a.udp_interface == b.udp_interface &&
               a.datagram_key_file == b.datagram_key_file;
    }

    std::variant<datagram::udp_producer<binary_codec>, datagram::netlink_producer<binary_codec>> producer_;
};

}  // namespace udf
ROWCAST_NAMESPACE_END
