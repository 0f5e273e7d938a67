// rowcast/dns/message.hpp: DNS wire format for RFC 2136 updates and queries,
// and a safe parser for replies.
//
// - Names are text ("host.example.test", trailing dot optional; always taken as
//   absolute). encode_name() checks labels (1-63 octets, no '.', no white
//   space, no control bytes, no '\\') and the 255-octet wire limit. Requests
//   are written without compression.
// - `update_message` collects an UPDATE: zone, prerequisites (RFC 2136 §2.4)
//   and updates (§2.5: add, delete one record, delete an RRset, delete a name).
//   encode(id) returns the wire bytes (no TSIG; see tsig.hpp). Names outside the
//   zone are not refused here (the server answers NOTZONE); use name_in_zone().
// - parse_message() reads any DNS message (a reply) of up to 65535 bytes. It
//   follows compression pointers only backwards (no loops), bounds every read,
//   and returns an error for anything malformed: it never reads out of bounds
//   (fuzzed). A TSIG record, when last in the additional section, is returned
//   separately with the offset where it starts.
//
// Errors: dns::errc::invalid_name / invalid_address / message_too_large /
// reply_malformed. Thread-safety: plain values.
#pragma once

#include <rowcast/dns/errc.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

/// Record types used here (others parse as their number).
namespace rr_type {
inline constexpr std::uint16_t a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, txt = 16, aaaa = 28, tsig = 250,
                               any = 255;
}
/// Classes.
namespace rr_class {
inline constexpr std::uint16_t in = 1, none = 254, any = 255;
}
/// Opcodes.
inline constexpr std::uint8_t opcode_query = 0, opcode_update = 5;

/// Lower-cases ASCII letters; drops one trailing dot.
inline std::string canonical_name(std::string_view n) {
    if (!n.empty() && n.back() == '.') n.remove_suffix(1);
    std::string s(n);
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

/// True if `name` equals `zone` or lies under it (case-insensitive, trailing dots ignored).
inline bool name_in_zone(std::string_view name, std::string_view zone) {
    const std::string n = canonical_name(name), z = canonical_name(zone);
    if (z.empty()) return true;
    if (n == z) return true;
    return n.size() > z.size() && n.compare(n.size() - z.size(), z.size(), z) == 0 && n[n.size() - z.size() - 1] == '.';
}

/// Appends the uncompressed wire form of `name` (lower-cased if `lower`).
inline result<void> encode_name(std::string_view name, std::string& out, bool lower = false) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    const std::size_t start = out.size();
    if (name.empty()) {  // the root
        out += '\0';
        return {};
    }
    while (true) {
        const std::size_t dot = name.find('.');
        const std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > 63) {
            out.resize(start);
            return make_error(errc::invalid_name, "name", "label of " + std::to_string(label.size()) +
                                                              " octets (1-63 allowed)");
        }
        out += static_cast<char>(label.size());
        for (char c : label) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u == 0x7f || c == '\\') {
                out.resize(start);
                return make_error(errc::invalid_name, "name", "a label holds a space, control byte or backslash");
            }
            out += (lower && c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
    }
    out += '\0';
    if (out.size() - start > 255) {
        out.resize(start);
        return make_error(errc::invalid_name, "name", "longer than 255 octets in wire form");
    }
    return {};
}

}  // namespace dns
namespace detail::dns {
using namespace ::rowcast::dns;  // the public dns types, unqualified
inline void put16(std::string& o, std::uint16_t v) {
    o += static_cast<char>(v >> 8);
    o += static_cast<char>(v & 0xff);
}
inline void put32(std::string& o, std::uint32_t v) {
    put16(o, static_cast<std::uint16_t>(v >> 16));
    put16(o, static_cast<std::uint16_t>(v & 0xffff));
}
inline void set16(std::string& o, std::size_t at, std::uint16_t v) {
    o[at] = static_cast<char>(v >> 8);
    o[at + 1] = static_cast<char>(v & 0xff);
}
}  // namespace detail::dns
namespace dns {

/// RDATA builders.
namespace rdata {
/// A record from dotted IPv4 text; invalid_address if it is not one.
inline result<std::string> a(std::string_view text) {
    std::array<unsigned char, 4> b{};
    const std::string s(text);
    if (::inet_pton(AF_INET, s.c_str(), b.data()) != 1)
        return make_error(errc::invalid_address, "address", "'" + s + "' is not an IPv4 address");
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
/// AAAA record from IPv6 text.
inline result<std::string> aaaa(std::string_view text) {
    std::array<unsigned char, 16> b{};
    const std::string s(text);
    if (::inet_pton(AF_INET6, s.c_str(), b.data()) != 1)
        return make_error(errc::invalid_address, "address", "'" + s + "' is not an IPv6 address");
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
/// PTR/CNAME/NS RDATA: a name.
inline result<std::string> name(std::string_view n) {
    std::string out;
    if (auto r = encode_name(n, out); !r) return r.error_value();
    return out;
}
}  // namespace rdata

/// One resource record as written in a request.
struct record {
    std::string name;
    std::uint16_t type = 0;
    std::uint16_t klass = rr_class::in;
    std::uint32_t ttl = 0;
    std::string rdata;  ///< wire RDATA
};

/// An RFC 2136 UPDATE message under construction.
class update_message {
public:
    explicit update_message(std::string zone) : zone_(std::move(zone)) {}
    const std::string& zone() const noexcept { return zone_; }

    // Prerequisites (RFC 2136 §2.4).
    /// RRset exists (value independent).
    void require_rrset(std::string name, std::uint16_t type) { pre_.push_back({std::move(name), type, rr_class::any, 0, {}}); }
    /// RRset exists and holds this record (value dependent; list every record of the RRset for a full match).
    void require_record(std::string name, std::uint16_t type, std::string rd) {
        pre_.push_back({std::move(name), type, rr_class::in, 0, std::move(rd)});
    }
    /// RRset does not exist.
    void require_no_rrset(std::string name, std::uint16_t type) { pre_.push_back({std::move(name), type, rr_class::none, 0, {}}); }
    /// Name is in use.
    void require_name(std::string name) { pre_.push_back({std::move(name), rr_type::any, rr_class::any, 0, {}}); }
    /// Name is not in use.
    void require_no_name(std::string name) { pre_.push_back({std::move(name), rr_type::any, rr_class::none, 0, {}}); }

    // Updates (RFC 2136 §2.5).
    /// Adds a record (TTL in seconds).
    void add(std::string name, std::uint16_t type, std::uint32_t ttl, std::string rd) {
        upd_.push_back({std::move(name), type, rr_class::in, ttl, std::move(rd)});
    }
    /// Deletes one record (name, type, RDATA).
    void remove(std::string name, std::uint16_t type, std::string rd) {
        upd_.push_back({std::move(name), type, rr_class::none, 0, std::move(rd)});
    }
    /// Deletes a whole RRset.
    void remove_rrset(std::string name, std::uint16_t type) { upd_.push_back({std::move(name), type, rr_class::any, 0, {}}); }
    /// Deletes every RRset at a name.
    void remove_name(std::string name) { upd_.push_back({std::move(name), rr_type::any, rr_class::any, 0, {}}); }

    const std::vector<record>& prerequisites() const noexcept { return pre_; }
    const std::vector<record>& updates() const noexcept { return upd_; }
    bool empty() const noexcept { return pre_.empty() && upd_.empty(); }

    /// Wire form with message ID `id` (no TSIG). Errors: invalid_name, message_too_large.
    result<std::string> encode(std::uint16_t id) const {
        std::string o;
        o.reserve(64 + 40 * (pre_.size() + upd_.size()));
        detail::dns::put16(o, id);
        detail::dns::put16(o, static_cast<std::uint16_t>(opcode_update << 11));
        detail::dns::put16(o, 1);
        detail::dns::put16(o, static_cast<std::uint16_t>(pre_.size()));
        detail::dns::put16(o, static_cast<std::uint16_t>(upd_.size()));
        detail::dns::put16(o, 0);
        if (pre_.size() > 65535 || upd_.size() > 65535)
            return make_error(errc::message_too_large, "update of " + zone_, "too many records");
        if (auto r = encode_name(zone_, o); !r) return r.error_value();
        detail::dns::put16(o, rr_type::soa);
        detail::dns::put16(o, rr_class::in);
        for (const auto* list : {&pre_, &upd_})
            for (const auto& rr : *list) {
                if (auto r = encode_name(rr.name, o); !r)
                    return make_error(errc::invalid_name, "update of " + zone_, "'" + rr.name + "': " + r.error_value().message);
                detail::dns::put16(o, rr.type);
                detail::dns::put16(o, rr.klass);
                detail::dns::put32(o, rr.ttl);
                if (rr.rdata.size() > 65535) return make_error(errc::message_too_large, "update of " + zone_, "RDATA over 65535 bytes");
                detail::dns::put16(o, static_cast<std::uint16_t>(rr.rdata.size()));
                o += rr.rdata;
            }
        if (o.size() > 65535 - 512) return make_error(errc::message_too_large, "update of " + zone_, std::to_string(o.size()) + " bytes");
        return o;
    }

private:
    std::string zone_;
    std::vector<record> pre_, upd_;
};

/// Wire form of a query (RD clear) for `name`/`type`.
inline result<std::string> encode_query(std::uint16_t id, std::string_view name, std::uint16_t type) {
    std::string o;
    detail::dns::put16(o, id);
    detail::dns::put16(o, 0);
    detail::dns::put16(o, 1);
    detail::dns::put16(o, 0);
    detail::dns::put16(o, 0);
    detail::dns::put16(o, 0);
    if (auto r = encode_name(name, o); !r) return r.error_value();
    detail::dns::put16(o, type);
    detail::dns::put16(o, rr_class::in);
    return o;
}

/// A record read from a reply. `text` is a readable form of known RDATA
/// (A/AAAA address, PTR/CNAME/NS target name without trailing dot, SOA "mname rname serial").
struct parsed_record {
    std::string name;  ///< decompressed, without trailing dot, as sent (case kept)
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    std::uint32_t ttl = 0;
    std::string rdata;  ///< raw RDATA (compression pointers inside it not expanded)
    std::string text;
};

/// The TSIG record of a reply.
struct parsed_tsig {
    std::string key_name;        ///< canonical (lower case)
    std::string algorithm;       ///< canonical (lower case)
    std::uint64_t time_signed = 0;
    std::uint16_t fudge = 0;
    std::string mac;
    std::uint16_t original_id = 0;
    std::uint16_t error = 0;
    std::string other;
    std::size_t offset = 0;      ///< where the TSIG RR starts in the message
};

struct parsed_message {
    std::uint16_t id = 0;
    std::uint16_t flags = 0;
    bool response() const noexcept { return (flags & 0x8000) != 0; }
    std::uint8_t opcode() const noexcept { return static_cast<std::uint8_t>((flags >> 11) & 0xf); }
    bool truncated() const noexcept { return (flags & 0x0200) != 0; }
    std::uint8_t rcode() const noexcept { return static_cast<std::uint8_t>(flags & 0xf); }
    std::uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
    std::string question_name;
    std::uint16_t question_type = 0;
    std::vector<parsed_record> answers, authority, additional;  ///< additional excludes the TSIG
    std::optional<parsed_tsig> tsig;
};

}  // namespace dns
namespace detail::dns {
using namespace ::rowcast::dns;  // the public dns types, unqualified
class wire_reader {
public:
    explicit wire_reader(std::span<const std::uint8_t> m) : m_(m) {}
    std::size_t pos = 0;
    bool u8(std::uint8_t& v) {
        if (pos + 1 > m_.size()) return false;
        v = m_[pos++];
        return true;
    }
    bool u16(std::uint16_t& v) {
        if (pos + 2 > m_.size()) return false;
        v = static_cast<std::uint16_t>((m_[pos] << 8) | m_[pos + 1]);
        pos += 2;
        return true;
    }
    bool u32(std::uint32_t& v) {
        std::uint16_t hi = 0, lo = 0;
        if (!u16(hi) || !u16(lo)) return false;
        v = (static_cast<std::uint32_t>(hi) << 16) | lo;
        return true;
    }
    bool bytes(std::size_t n, std::string& out) {
        if (n > m_.size() - std::min(pos, m_.size()) || pos > m_.size()) return false;
        out.assign(reinterpret_cast<const char*>(m_.data() + pos), n);
        pos += n;
        return true;
    }
    /// Reads a (possibly compressed) name at `pos`, advancing past it. Pointers
    /// must point strictly before the label that holds them (no loops).
    bool name(std::string& out) { return name_at(pos, out, true); }
    bool name_at(std::size_t& p, std::string& out, bool advance) {
        out.clear();
        std::size_t cur = p, total = 1;
        bool jumped = false;
        std::size_t limit = cur;  // pointers must go below this
        for (int hops = 0; hops < 128; ++hops) {
            if (cur >= m_.size()) return false;
            const std::uint8_t len = m_[cur];
            if (len == 0) {
                if (!jumped) p = cur + 1;
                (void)advance;
                return true;
            }
            if ((len & 0xc0) == 0xc0) {
                if (cur + 1 >= m_.size()) return false;
                const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | m_[cur + 1];
                if (target >= limit) return false;
                if (!jumped) p = cur + 2;
                jumped = true;
                cur = target;
                limit = target;
                continue;
            }
            if ((len & 0xc0) != 0) return false;  // extended label types
            if (cur + 1 + len > m_.size()) return false;
            total += len + 1u;
            if (total > 255) return false;
            if (!out.empty()) out += '.';
            out.append(reinterpret_cast<const char*>(m_.data() + cur + 1), len);
            cur += 1u + len;
        }
        return false;
    }
    std::size_t size() const noexcept { return m_.size(); }

private:
    std::span<const std::uint8_t> m_;
};

inline std::string lower(std::string s) { return canonical_name(s); }
}  // namespace detail::dns
namespace dns {

/// Parses a DNS message. Errors: reply_malformed (with the byte offset).
inline result<parsed_message> parse_message(std::span<const std::uint8_t> wire) {
    parsed_message m;
    detail::dns::wire_reader r(wire);
    auto bad = [&](std::string_view what) {
        return make_error(errc::reply_malformed, "at byte " + std::to_string(r.pos), what);
    };
    if (wire.size() > 65535) return bad("message over 65535 bytes");
    if (!r.u16(m.id) || !r.u16(m.flags) || !r.u16(m.qdcount) || !r.u16(m.ancount) || !r.u16(m.nscount) ||
        !r.u16(m.arcount))
        return bad("header shorter than 12 bytes");
    for (unsigned i = 0; i < m.qdcount; ++i) {
        std::string n;
        std::uint16_t t = 0, c = 0;
        if (!r.name(n)) return bad("bad question name");
        if (!r.u16(t) || !r.u16(c)) return bad("question truncated");
        if (i == 0) {
            m.question_name = std::move(n);
            m.question_type = t;
        }
    }
    const unsigned counts[3] = {m.ancount, m.nscount, m.arcount};
    std::vector<parsed_record>* lists[3] = {&m.answers, &m.authority, &m.additional};
    for (int s = 0; s < 3; ++s)
        for (unsigned i = 0; i < counts[s]; ++i) {
            const std::size_t start = r.pos;
            parsed_record rr;
            std::uint16_t rdlen = 0;
            if (!r.name(rr.name)) return bad("bad record name");
            if (!r.u16(rr.type) || !r.u16(rr.klass) || !r.u32(rr.ttl) || !r.u16(rdlen)) return bad("record header truncated");
            const std::size_t rd_start = r.pos;
            if (!r.bytes(rdlen, rr.rdata)) return bad("RDATA runs past the end");
            if (rr.type == rr_type::tsig) {
                if (s != 2 || i + 1 != counts[s]) return bad("TSIG record not last in the additional section");
                parsed_tsig t;
                t.offset = start;
                t.key_name = detail::dns::lower(rr.name);
                std::size_t p = rd_start;
                detail::dns::wire_reader tr(wire.first(rd_start + rdlen));
                tr.pos = p;
                std::string alg;
                std::uint16_t hi = 0, mac_len = 0, olen = 0;
                std::uint32_t lo = 0;
                if (!tr.name(alg) || !tr.u16(hi) || !tr.u32(lo) || !tr.u16(t.fudge) || !tr.u16(mac_len) ||
                    !tr.bytes(mac_len, t.mac) || !tr.u16(t.original_id) || !tr.u16(t.error) || !tr.u16(olen) ||
                    !tr.bytes(olen, t.other) || tr.pos != rd_start + rdlen)
                    return bad("malformed TSIG RDATA");
                t.algorithm = detail::dns::lower(alg);
                t.time_signed = (static_cast<std::uint64_t>(hi) << 32) | lo;
                m.tsig = std::move(t);
                continue;
            }
            // Readable text of known types.
            if (rr.klass == rr_class::in && rr.type == rr_type::a && rdlen == 4) {
                char buf[INET_ADDRSTRLEN] = {};
                ::inet_ntop(AF_INET, rr.rdata.data(), buf, sizeof buf);
                rr.text = buf;
            } else if (rr.klass == rr_class::in && rr.type == rr_type::aaaa && rdlen == 16) {
                char buf[INET6_ADDRSTRLEN] = {};
                ::inet_ntop(AF_INET6, rr.rdata.data(), buf, sizeof buf);
                rr.text = buf;
            } else if (rdlen > 0 && (rr.type == rr_type::ptr || rr.type == rr_type::cname || rr.type == rr_type::ns)) {
                detail::dns::wire_reader nr(wire.first(rd_start + rdlen));
                nr.pos = rd_start;
                if (!nr.name(rr.text) || nr.pos != rd_start + rdlen) return bad("malformed name in RDATA");
            } else if (rdlen > 0 && rr.type == rr_type::soa) {
                detail::dns::wire_reader nr(wire.first(rd_start + rdlen));
                nr.pos = rd_start;
                std::string mname, rname;
                std::uint32_t serial = 0;
                if (!nr.name(mname) || !nr.name(rname) || !nr.u32(serial)) return bad("malformed SOA RDATA");
                rr.text = mname + " " + rname + " " + std::to_string(serial);
            }
            lists[s]->push_back(std::move(rr));
        }
    if (r.pos != wire.size()) return bad("trailing bytes after the last record");
    return m;
}

}  // namespace dns
ROWCAST_NAMESPACE_END
