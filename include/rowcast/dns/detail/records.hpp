// Internal: the record part of dns::sink: the UPDATE operations and prerequisites of a
// change, and the size bounds that keep a batched message under the wire limit.
#pragma once

#include <rowcast/dns/detail/state.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::dns {

// Messages stay under this many bytes (the 65,535-byte limit less room for the TSIG record).
inline constexpr std::size_t max_message_bytes = 60000;
// The most one change adds: a delete, an add and three prerequisites with 255-octet names.
inline constexpr std::size_t max_change_bytes = 5 * (255 + 10 + 16);

// An upper bound of the wire size of u's records from the given positions on (uncompressed
// names: text length + 2), plus the header and zone when counting from the start.
inline std::size_t wire_estimate(const update_message& u, std::size_t from_pre = 0, std::size_t from_upd = 0) {
    std::size_t n = from_pre == 0 && from_upd == 0 ? 12 + u.zone().size() + 6 : 0;
    auto add = [&](const std::vector<record>& list, std::size_t from) {
        for (std::size_t i = from; i < list.size(); ++i) n += list[i].name.size() + 2 + 10 + list[i].rdata.size();
    };
    add(u.prerequisites(), from_pre);
    add(u.updates(), from_upd);
    return n;
}

// Adds the forward-zone operations of `c` to `u`. An update that moves a record is guarded by
// "h1 A ip1 is there" (RFC 2136 value-dependent prerequisite: the RRset must equal the listed
// records; `rrset` lists the whole RRset seen in the zone, for a retry) unless an earlier
// operation of the same message touches that RRset: prerequisites are checked before any
// update of the message is applied, so they could not see the earlier operation.
inline void forward_ops(const sink_options& opt, update_message& u, const change& c, const std::string& zone,
                        std::set<rrset_key>& touched, const std::vector<std::string>* rrset) {
    if (c.before && c.before->forward_zone == zone) {
        const rrset_key k{c.before->host, c.before->type()};
        if (opt.guard_updates && c.after && !touched.count(k)) {
            if (rrset)
                for (const auto& rd : *rrset) u.require_record(c.before->host, c.before->type(), rd);
            else
                u.require_record(c.before->host, c.before->type(), c.before->rdata);
        }
        touched.insert(k);
        u.remove(c.before->host, c.before->type(), c.before->rdata);
    }
    if (c.after && c.after->forward_zone == zone) {
        touched.insert({c.after->host, c.after->type()});
        if (opt.guard_cname) u.require_no_rrset(c.after->host, rr_type::cname);
        u.add(c.after->host, c.after->type(), opt.ttl, c.after->rdata);
    }
}

// The same prerequisite twice is harmless but wasteful; rebuilds the message without repeats.
inline void dedupe_prerequisites(update_message& u) {
    std::set<std::tuple<std::string, std::uint16_t, std::uint16_t, std::string>> seen;
    update_message out(u.zone());
    for (const auto& p : u.prerequisites()) {
        if (!seen.insert({canonical_name(p.name), p.type, p.klass, p.rdata}).second) continue;
        if (p.klass == rr_class::none) out.require_no_rrset(p.name, p.type);
        else if (p.klass == rr_class::in) out.require_record(p.name, p.type, p.rdata);
        else if (p.type == rr_type::any) out.require_name(p.name);
        else out.require_rrset(p.name, p.type);
    }
    for (const auto& r : u.updates()) {
        if (r.klass == rr_class::none) out.remove(r.name, r.type, r.rdata);
        else out.add(r.name, r.type, r.ttl, r.rdata);
    }
    u = std::move(out);
}

}  // namespace detail::dns
ROWCAST_NAMESPACE_END
