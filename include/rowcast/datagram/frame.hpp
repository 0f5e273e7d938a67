// rowcast/datagram/frame.hpp: the datagram frame shared by the netlink and UDP
// multicast transports (docs/datagram.md, "Frame format", version 1).
//
// Every datagram is one frame: a fixed 44-byte header (big-endian), the table
// name, a payload, and, when authenticated, a 32-byte HMAC-SHA256 over all the
// bytes before it:
//
//   0  magic "rd"        2  version (1)      3  type (frame_type)
//   4  flags (bit 0: MAC present)            5  codec (codec_id)
//   6  key id (u16)      8  source id (u64)  16 epoch (u64)    24 sequence (u64)
//   32 channel (u32)     36 fragment index (u16)   38 fragment count (u16, >= 1)
//   40 event count (u16) 42 table length (u8)      43 reserved (0)
//   44 table ("schema.table", UTF-8, at most 255 bytes) then the payload
//
// data:      fragment count 1: `event count` times (u32 length, encoded event);
//            fragment count n > 1: one piece of one event (event count 1), the
//            pieces in fragment order on consecutive sequence numbers.
// heartbeat: sequence = the next sequence the sender will use; no payload.
// nak:       a receiver asks the sender (source id, epoch, channel) for repairs:
//            u16 range count, then per range (u64 first sequence, u32 count).
// gone:      the sender's answer for sequences no longer in its retransmit ring:
//            sequence = first, payload u64 last (inclusive).
//
// parse_frame() checks the structure only (lengths, version, type, reserved
// bits); authentication is key_set::verify() (rowcast/datagram/keys.hpp).
// Both read untrusted input and never read outside it.
//
// Thread-safety: plain functions over caller buffers.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace detail::datagram {
inline void put16(std::string& o, std::uint16_t v) {
    o.push_back(static_cast<char>(v >> 8));
    o.push_back(static_cast<char>(v));
}
inline void put32(std::string& o, std::uint32_t v) {
    put16(o, static_cast<std::uint16_t>(v >> 16));
    put16(o, static_cast<std::uint16_t>(v));
}
/// Rewrites the big-endian 32-bit value at o[at] (a length written as put32(0) before).
inline void patch_length(std::string& o, std::size_t at, std::size_t v) noexcept {
    for (int i = 0; i < 4; ++i) o[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * (3 - i)));
}
inline void put64(std::string& o, std::uint64_t v) {
    put32(o, static_cast<std::uint32_t>(v >> 32));
    put32(o, static_cast<std::uint32_t>(v));
}
inline std::uint64_t get(const char* p, int n) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
}  // namespace detail::datagram

namespace datagram {

inline constexpr std::uint8_t frame_version = 1;
inline constexpr std::size_t header_size = 44;
inline constexpr std::size_t mac_size = 32;  ///< HMAC-SHA256
inline constexpr std::size_t max_table_size = 255;

enum class frame_type : std::uint8_t { data = 1, heartbeat = 2, nak = 3, gone = 4 };

/// The codec of a data frame's events (the receiver refuses a codec it was not built for).
enum class codec_id : std::uint8_t { unknown = 0, binary = 1, json = 2, yaml = 3 };

/// codec_id for a codec's `name` ("binary", "json", "yaml").
constexpr codec_id codec_of(std::string_view name) noexcept {
    if (name == "binary") return codec_id::binary;
    if (name == "json") return codec_id::json;
    if (name == "yaml") return codec_id::yaml;
    return codec_id::unknown;
}

/// The fixed header's fields.
struct frame_header {
    frame_type type = frame_type::data;
    bool has_mac = false;
    codec_id codec = codec_id::unknown;
    std::uint16_t key_id = 0;
    std::uint64_t source_id = 0;
    std::uint64_t epoch = 0;
    std::uint64_t sequence = 0;
    std::uint32_t channel = 0;
    std::uint16_t fragment_index = 0;
    std::uint16_t fragment_count = 1;
    std::uint16_t event_count = 0;
};

/// A parsed frame: views into the datagram it came from.
struct frame_view {
    frame_header header;
    std::string_view table;
    std::string_view payload;
    std::string_view signed_part;  ///< header + table + payload (what the MAC covers)
    std::string_view mac;          ///< empty when !header.has_mac
};


/// Appends the header and the table to `out` (the payload and the MAC follow).
/// `table` longer than max_table_size is cut (callers check first).
inline void write_header(std::string& out, const frame_header& h, std::string_view table) {
    if (table.size() > max_table_size) table = table.substr(0, max_table_size);
    // Built in place and appended at once: this runs once per datagram on the send path.
    char b[header_size];
    auto be = [&b](std::size_t at, std::uint64_t v, std::size_t n) noexcept {
        for (std::size_t i = 0; i < n; ++i) b[at + i] = static_cast<char>(v >> (8 * (n - 1 - i)));
    };
    b[0] = 'r';
    b[1] = 'd';
    b[2] = static_cast<char>(frame_version);
    b[3] = static_cast<char>(h.type);
    b[4] = static_cast<char>(h.has_mac ? 1 : 0);
    b[5] = static_cast<char>(h.codec);
    be(6, h.key_id, 2);
    be(8, h.source_id, 8);
    be(16, h.epoch, 8);
    be(24, h.sequence, 8);
    be(32, h.channel, 4);
    be(36, h.fragment_index, 2);
    be(38, h.fragment_count, 2);
    be(40, h.event_count, 2);
    b[42] = static_cast<char>(table.size());
    b[43] = '\0';
    out.append(b, header_size).append(table);
}

/// Rewrites the event count of a frame whose header starts at out[at].
inline void patch_event_count(std::string& out, std::size_t at, std::uint16_t n) noexcept {
    out[at + 40] = static_cast<char>(n >> 8);
    out[at + 41] = static_cast<char>(n);
}

/// Parses the structure of one datagram. Errors (component "datagram"): bad_magic,
/// unsupported_version, truncated (shorter than its header, table or MAC),
/// invalid_value (unknown type or flags, reserved byte set, fragment index >=
/// count, fragment count 0).
inline result<frame_view> parse_frame(std::string_view d) {
    using rowcast::detail::datagram::get;
    if (d.size() < header_size)
        return error::make(errc::truncated, "datagram", "frame", std::to_string(d.size()) + " bytes, shorter than the header");
    if (d[0] != 'r' || d[1] != 'd') return error::make(errc::bad_magic, "datagram", "frame", "not a rowcast datagram");
    if (static_cast<std::uint8_t>(d[2]) != frame_version)
        return error::make(errc::unsupported_version, "datagram", "frame",
                           "version " + std::to_string(static_cast<unsigned char>(d[2])));
    frame_view f;
    const auto type = static_cast<std::uint8_t>(d[3]);
    if (type < 1 || type > 4) return error::make(errc::invalid_value, "datagram", "frame", "unknown type " + std::to_string(type));
    const auto flags = static_cast<std::uint8_t>(d[4]);
    if (flags > 1 || d[43] != '\0') return error::make(errc::invalid_value, "datagram", "frame", "reserved bits set");
    f.header.type = static_cast<frame_type>(type);
    f.header.has_mac = flags & 1;
    f.header.codec = static_cast<codec_id>(static_cast<std::uint8_t>(d[5]));
    f.header.key_id = static_cast<std::uint16_t>(get(d.data() + 6, 2));
    f.header.source_id = get(d.data() + 8, 8);
    f.header.epoch = get(d.data() + 16, 8);
    f.header.sequence = get(d.data() + 24, 8);
    f.header.channel = static_cast<std::uint32_t>(get(d.data() + 32, 4));
    f.header.fragment_index = static_cast<std::uint16_t>(get(d.data() + 36, 2));
    f.header.fragment_count = static_cast<std::uint16_t>(get(d.data() + 38, 2));
    f.header.event_count = static_cast<std::uint16_t>(get(d.data() + 40, 2));
    if (f.header.fragment_count == 0 || f.header.fragment_index >= f.header.fragment_count)
        return error::make(errc::invalid_value, "datagram", "frame", "fragment index out of range");
    const std::size_t tlen = static_cast<unsigned char>(d[42]);
    const std::size_t mlen = f.header.has_mac ? mac_size : 0;
    if (d.size() < header_size + tlen + mlen)
        return error::make(errc::truncated, "datagram", "frame", "shorter than its table and MAC");
    f.table = d.substr(header_size, tlen);
    f.signed_part = d.substr(0, d.size() - mlen);
    f.payload = f.signed_part.substr(header_size + tlen);
    f.mac = d.substr(d.size() - mlen);
    return f;
}

/// Splits a whole-event data payload: calls f(std::string_view event) per event.
/// Errors: truncated (a length past the end), invalid_value (the count differs
/// from the header's), trailing_data.
template <class F>
result<void> for_each_event(const frame_view& fr, F&& f) {
    std::string_view p = fr.payload;
    std::size_t n = 0;
    while (!p.empty()) {
        if (p.size() < 4) return error::make(errc::truncated, "datagram", "payload", "event length cut");
        const std::size_t len = rowcast::detail::datagram::get(p.data(), 4);
        if (len > p.size() - 4) return error::make(errc::truncated, "datagram", "payload", "event longer than the datagram");
        if (auto r = f(p.substr(4, len)); !r) return r;
        p.remove_prefix(4 + len);
        ++n;
    }
    if (n != fr.header.event_count)
        return error::make(errc::invalid_value, "datagram", "payload",
                           std::to_string(n) + " events, header says " + std::to_string(fr.header.event_count));
    return {};
}

}  // namespace datagram
ROWCAST_NAMESPACE_END
