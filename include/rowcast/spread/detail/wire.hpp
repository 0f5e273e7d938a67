// Internal: the Spread 4/5 client <-> daemon wire format (docs/spread.md, "Protocol"):
// constants, name rules, message framing and the decoder of daemon messages. Pure
// functions over bytes (the fuzz target tests/fuzz/fuzz_spread.cpp drives decode()).
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::spread {

inline constexpr std::size_t name_slot = 32;           // MAX_GROUP_NAME: every name slot, NUL padded
inline constexpr std::size_t header_size = 48;         // message_header
inline constexpr std::size_t max_private_name = 10;    // MAX_PRIVATE_NAME
inline constexpr std::size_t max_groups = 100;         // MAX_GROUPS_PER_MESSAGE
inline constexpr std::size_t max_data_len = 144000;    // MAX_MESSAGE_BODY_LEN: daemon's bound on data_len
// data_len + 32 * groups a 5.0.1 daemon can hold: 143153..143952 passes its validation and
// then crashes it (assertion in Message_add_scat_element). Nothing rowcast sends exceeds this.
inline constexpr std::size_t safe_capacity = 143152;
inline constexpr std::size_t auth_reply_size = 90;     // MAX_AUTH_METHODS * MAX_AUTH_NAME

inline constexpr std::uint32_t endian_marker = 0x80000080;
inline constexpr std::uint32_t regular_mask = 0x3f;
inline constexpr std::uint32_t self_discard = 0x40;
inline constexpr std::uint32_t caused_by_join = 0x100, caused_by_leave = 0x200, caused_by_disconnect = 0x400,
                               caused_by_network = 0x800, reg_memb_mess = 0x1000, transition_mess = 0x2000;
inline constexpr std::uint32_t membership_mask = 0x3f00;
inline constexpr std::uint32_t join_mess = 0x10000, leave_mess = 0x20000, kill_mess = 0x40000;
inline constexpr std::uint32_t reject_mess = 0x400000;

/// Reject codes of the handshake (one signed byte).
inline std::string_view reject_name(int code) noexcept {
    switch (code) {
        case -3: return "REJECT_QUOTA (too many sessions)";
        case -4: return "REJECT_NO_NAME";
        case -5: return "REJECT_ILLEGAL_NAME (bad private name)";
        case -6: return "REJECT_NOT_UNIQUE (private name already connected)";
        case -7: return "REJECT_VERSION";
        case -8: return "CONNECTION_CLOSED";
        case -9: return "REJECT_AUTH (authentication or access denied)";
        default: return "unknown reject code";
    }
}

inline constexpr bool name_byte(unsigned char c) noexcept { return c > '#' && c <= '~'; }

/// A private name: 0..10 bytes in '$'..'~'. Empty string when valid, else why not.
inline std::string check_private_name(std::string_view n) {
    if (n.size() > max_private_name) return "is longer than 10 bytes";
    for (unsigned char c : n)
        if (!name_byte(c)) return "has a byte outside '$'..'~' (no space, '#', control or non-ASCII bytes)";
    return {};
}

/// A group name to join, leave or send to: 1..31 bytes in '$'..'~', or a private group
/// "#<name>#<daemon>" (send only: `allow_private`). Empty string when valid, else why not.
inline std::string check_group_name(std::string_view g, bool allow_private) {
    if (g.empty()) return "empty";
    if (g.size() >= name_slot) return "longer than 31 bytes";
    std::size_t hashes = 0;
    for (unsigned char c : g) {
        if (c == '#') ++hashes;
        else if (!name_byte(c)) return "has a byte outside '$'..'~' (no space, control or non-ASCII bytes)";
    }
    if (hashes == 0) return {};
    if (!allow_private) return "has '#' (reserved for private groups)";
    const auto second = g.find('#', 1);
    if (g[0] != '#' || hashes != 2 || second == 1 || second == std::string_view::npos || second + 1 == g.size() ||
        second - 1 > max_private_name)
        return "has '#' but is not a private group '#<name>#<daemon>'";
    return {};
}

inline void put32(std::string& out, std::uint32_t v) {  // little endian
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}
inline std::uint32_t get32(const char* p, bool little) noexcept {
    const auto b = [p](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])); };
    return little ? b(0) | b(1) << 8 | b(2) << 16 | b(3) << 24 : b(3) | b(2) << 8 | b(1) << 16 | b(0) << 24;
}
inline void put_name(std::string& out, std::string_view n) {
    out.append(n);
    out.append(name_slot - n.size(), '\0');
}

/// Appends a client -> daemon message: header (little endian, markers set), the group
/// slots, the data. Names and sizes are checked by the caller.
inline void encode(std::string& out, std::uint32_t type, std::string_view own_private_group,
                   const std::vector<std::string_view>& groups, std::int16_t mess_type, std::string_view data) {
    out.reserve(out.size() + header_size + name_slot * groups.size() + data.size());
    put32(out, type | endian_marker);
    put_name(out, own_private_group);
    put32(out, static_cast<std::uint32_t>(groups.size()));
    put32(out, ((static_cast<std::uint32_t>(static_cast<std::uint16_t>(mess_type))) << 8) | endian_marker);
    put32(out, static_cast<std::uint32_t>(data.size()));
    for (auto g : groups) put_name(out, g);
    out.append(data);
}

struct group_id {
    std::int32_t proc_id = 0, time = 0, index = 0;
    friend bool operator==(const group_id&, const group_id&) = default;
};

enum class kind { regular, membership, transitional, self_leave, reject };

/// One decoded daemon message; views point into the decoded buffer.
struct decoded {
    kind k = kind::regular;
    std::uint32_t type = 0;           // marker removed; for a reject: old_type | REJECT_MESS
    std::string_view sender;          // regular: sender's private group; others: the group
    std::vector<std::string_view> groups;
    std::int16_t mess_type = 0;
    bool hint_big_endian = false;     // the sender wrote the hint big endian
    std::string_view data;
    group_id gid;                                           // membership, transitional
    std::vector<std::vector<std::string_view>> vs_sets;    // regular membership
    std::size_t local_vs_set = 0;                           // index into vs_sets
    std::size_t size = 0;                                   // bytes taken from the input
};

inline error bad(errc e, std::size_t at, std::string_view what) {
    return error::make(e, "spread", "daemon message at byte " + std::to_string(at), what);
}

// Byte order of a marked word from its raw bytes: the 0x80 bits of the first and last byte.
inline result<bool> marker_order(const char* p, std::string_view field, std::size_t at) {
    const bool first = (static_cast<unsigned char>(p[0]) & 0x80) != 0, last = (static_cast<unsigned char>(p[3]) & 0x80) != 0;
    if (first != last)
        return bad(errc::bad_magic, at, std::string(field) + ": endianness marker half set (bytes " +
                                            std::to_string(static_cast<unsigned char>(p[0])) + ".." +
                                            std::to_string(static_cast<unsigned char>(p[3])) + ")");
    return first;  // set: little endian
}

// A NUL-terminated name in a 32-byte slot: 1..31 bytes.
inline result<std::string_view> slot_name(const char* p, std::string_view field, std::size_t at) {
    const std::string_view s(p, name_slot);
    const auto nul = s.find('\0');
    if (nul == std::string_view::npos) return bad(errc::invalid_value, at, std::string(field) + ": name without NUL in its 32 bytes");
    if (nul == 0) return bad(errc::invalid_value, at, std::string(field) + ": empty name");
    return s.substr(0, nul);
}

/// The total size of the message whose 48-byte header starts `in` (checked: markers,
/// counts, lengths), before its body is read. Errors are permanent protocol violations.
inline result<std::size_t> frame_size(std::string_view in, std::size_t at = 0) {
    if (in.size() < header_size) return bad(errc::truncated, at, "header shorter than 48 bytes");
    auto little = marker_order(in.data(), "type", at);
    if (!little) return little.error_value();
    if (auto h = marker_order(in.data() + 40, "hint", at); !h) return h.error_value();
    const std::uint32_t type = get32(in.data(), *little) & ~endian_marker;
    const std::uint32_t ng = get32(in.data() + 36, *little), dl = get32(in.data() + 44, *little);
    const bool reject = (type & reject_mess) != 0;
    const std::uint32_t group_max = max_groups + (reject ? 1 : 0);
    if (ng > group_max)
        return bad(errc::limit_exceeded, at, "num_groups " + std::to_string(static_cast<std::int32_t>(ng)) +
                                                 " outside 0.." + std::to_string(group_max));
    if (dl > max_data_len)
        return bad(errc::limit_exceeded, at, "data_len " + std::to_string(static_cast<std::int32_t>(dl)) + " outside 0..144000");
    return header_size + (reject ? 4 : 0) + name_slot * std::size_t{ng} + dl;
}

// The body of a regular membership message: group id, vs-sets, the receiver's set.
inline result<void> membership_body(decoded& m, std::string_view b, bool little, std::size_t at) {
    if (b.size() < 20) return bad(errc::truncated, at, "membership body of " + std::to_string(b.size()) + " bytes (at least 20)");
    m.gid = {static_cast<std::int32_t>(get32(b.data(), little)), static_cast<std::int32_t>(get32(b.data() + 4, little)),
             static_cast<std::int32_t>(get32(b.data() + 8, little))};
    const std::uint32_t nsets = get32(b.data() + 12, little), local = get32(b.data() + 16, little);
    std::size_t pos = 20;
    if (nsets > (b.size() - pos) / 4) return bad(errc::limit_exceeded, at, "num_vs_sets " + std::to_string(nsets) + " exceeds the body");
    bool local_found = false;
    for (std::uint32_t i = 0; i < nsets; ++i) {
        if (b.size() - pos < 4) return bad(errc::truncated, at, "vs-set " + std::to_string(i) + " cut short");
        if (pos - 20 == local) {
            m.local_vs_set = i;
            local_found = true;
        }
        const std::uint32_t n = get32(b.data() + pos, little);
        pos += 4;
        if (n > (b.size() - pos) / name_slot)
            return bad(errc::limit_exceeded, at, "vs-set " + std::to_string(i) + " of " + std::to_string(n) + " members exceeds the body");
        auto& set = m.vs_sets.emplace_back();
        for (std::uint32_t j = 0; j < n; ++j, pos += name_slot) {
            auto name = slot_name(b.data() + pos, "vs-set member", at);
            if (!name) return name.error_value();
            set.push_back(*name);
        }
    }
    if (pos != b.size()) return bad(errc::trailing_data, at, std::to_string(b.size() - pos) + " bytes after the vs-sets");
    if (nsets > 0 && !local_found)
        return bad(errc::invalid_value, at, "local_vs_set_offset " + std::to_string(local) + " is not the start of a vs-set");
    return {};
}

/// Decodes the first message of `in`: nullopt when `in` does not hold all of it yet.
/// `at` (the stream offset of `in`) goes into messages. Every field is checked: the
/// endianness markers, num_groups (0..100, 101 for a reject), data_len (<= 144000), names
/// NUL-terminated in 32 bytes, exactly one service bit in a data message, a known kind,
/// the membership body's counts and offsets. An error is a protocol violation.
inline result<std::optional<decoded>> decode(std::string_view in, std::size_t at = 0) {
    if (in.size() < header_size) return std::optional<decoded>{};
    auto size = frame_size(in, at);
    if (!size) return size.error_value();
    if (in.size() < *size) return std::optional<decoded>{};
    decoded m;
    m.size = *size;
    const bool little = (static_cast<unsigned char>(in[0]) & 0x80) != 0;
    const bool hint_little = (static_cast<unsigned char>(in[40]) & 0x80) != 0;
    std::uint32_t type = get32(in.data(), little) & ~endian_marker;
    const std::uint32_t ng = get32(in.data() + 36, little), dl = get32(in.data() + 44, little);
    const std::uint32_t hint = get32(in.data() + 40, hint_little) & ~endian_marker;
    if (hint & ~0x00ffff00u) return bad(errc::invalid_value, at, "hint has bits outside the message type");
    m.mess_type = static_cast<std::int16_t>(static_cast<std::uint16_t>(hint >> 8));
    m.hint_big_endian = !hint_little;
    auto sender = slot_name(in.data() + 4, "sender", at);
    if (!sender) return sender.error_value();
    m.sender = *sender;
    std::size_t pos = header_size;
    constexpr std::uint32_t known = regular_mask | self_discard | membership_mask | reject_mess;
    if (type & ~known) {
        std::string hex;
        for (int i = 24; i >= 0; i -= 8) hex += rowcast::detail::hex_byte((type >> i) & 0xff);
        return bad(errc::unsupported, at, "unknown message type 0x" + hex);
    }
    if (type & reject_mess) {
        m.k = kind::reject;
        type = get32(in.data() + pos, little) | reject_mess;
        pos += 4;
    }
    m.type = type;
    for (std::uint32_t i = 0; i < ng; ++i, pos += name_slot) {
        auto g = slot_name(in.data() + pos, "group " + std::to_string(i), at);
        if (!g) return g.error_value();
        m.groups.push_back(*g);
    }
    m.data = in.substr(pos, dl);
    if (m.k == kind::reject) return std::optional<decoded>(std::move(m));
    const std::uint32_t svc = type & regular_mask;
    if (svc) {
        if (svc & (svc - 1)) return bad(errc::invalid_value, at, "data message with more than one service bit");
        if (type & membership_mask) return bad(errc::invalid_value, at, "data message with membership bits");
        if (ng == 0) return bad(errc::invalid_value, at, "data message without destination groups");
        m.k = kind::regular;
    } else if (type & reg_memb_mess) {
        if (type & transition_mess) return bad(errc::invalid_value, at, "both regular and transitional membership");
        const std::uint32_t cause = type & (caused_by_join | caused_by_leave | caused_by_disconnect | caused_by_network);
        if (cause == 0 || (cause & (cause - 1))) return bad(errc::invalid_value, at, "membership message without exactly one cause");
        m.k = kind::membership;
        if (auto r = membership_body(m, m.data, little, at); !r) return r.error_value();
    } else if (type & transition_mess) {
        if (dl != 12) return bad(errc::invalid_value, at, "transitional membership body of " + std::to_string(dl) + " bytes (12 expected)");
        m.k = kind::transitional;
        m.gid = {static_cast<std::int32_t>(get32(m.data.data(), little)), static_cast<std::int32_t>(get32(m.data.data() + 4, little)),
                 static_cast<std::int32_t>(get32(m.data.data() + 8, little))};
    } else if (type == caused_by_leave) {
        if (ng != 0 || dl != 0) return bad(errc::invalid_value, at, "self-leave message with groups or data");
        m.k = kind::self_leave;
    } else {
        return bad(errc::unsupported, at, "message type " + std::to_string(type) + " is neither data nor membership");
    }
    return std::optional<decoded>(std::move(m));
}

}  // namespace detail::spread
ROWCAST_NAMESPACE_END
