// Internal: the batching part of dns::sink: the changes of one apply() go out per zone in
// as few UPDATE messages as the record and byte limits allow, forward zones first (in event
// order, a change across two forward zones alone between the batches around it), then the
// PTRs of the changes that were not rejected.
#pragma once

#include <rowcast/dns/detail/conflict.hpp>
#include <rowcast/dns/detail/records.hpp>
#include <rowcast/dns/detail/state.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::dns {

inline bool crosses_zones(const change& c) noexcept {
    return c.before && c.after && c.before->forward_zone != c.after->forward_zone;
}

// Changes [from, to), each inside one forward zone: batched per zone, in event order.
inline result<void> send_forward_run(sink_core& s, const std::vector<change>& changes, std::size_t from_k, std::size_t to_k,
                                     std::vector<bool>& failed, std::vector<std::size_t>& superseded_by) {
    std::map<std::string, std::vector<std::size_t>> by_zone;  // zone -> change positions
    for (std::size_t k = from_k; k < to_k; ++k)
        by_zone[changes[k].after ? changes[k].after->forward_zone : changes[k].before->forward_zone].push_back(k);
    for (const auto& [zone, list] : by_zone) {
        for (std::size_t from = 0; from < list.size();) {
            update_message u(zone);
            std::set<rrset_key> touched;
            std::size_t to = from, bytes = wire_estimate(u);
            while (to < list.size() && (to == from || (u.updates().size() + 2 <= s.opt.max_records_per_message &&
                                                       bytes + max_change_bytes <= max_message_bytes))) {
                const std::size_t np = u.prerequisites().size(), nu = u.updates().size();
                forward_ops(s.opt, u, changes[list[to++]], zone, touched, nullptr);
                bytes += wire_estimate(u, np, nu);
            }
            dedupe_prerequisites(u);
            auto r = s.send(u);
            if (!r && is_prerequisite_failure(r.error_value())) {
                // One event's prerequisite failed (or the zone already holds some events' state):
                // send them one by one and resolve each failure by looking at the zone.
                ++s.stats.fallbacks;
                for (std::size_t i = from; i < to; ++i) {
                    const std::size_t k = list[i];
                    auto ok = send_resolved(s, changes[k], zone, successor_of(changes, k), superseded_by[k]);
                    if (!ok) return ok.error_value();
                    if (!*ok) failed[k] = true;
                }
            } else if (!r) {
                return r.error_value();
            }
            from = to;
        }
    }
    return {};
}

// Forward zones, in event order. A change whose old and new names lie in different forward
// zones cannot be one atomic message: it is sent alone, between the batches before and after
// it (see send_cross_zone()); the other changes touch one zone each and are batched per zone.
inline result<void> send_forward(sink_core& s, const std::vector<change>& changes, std::vector<bool>& failed,
                                 std::vector<std::size_t>& superseded_by) {
    for (std::size_t from = 0; from < changes.size();) {
        if (crosses_zones(changes[from])) {
            auto r = send_cross_zone(s, changes, from, failed, superseded_by);
            if (!r) return r;
            ++from;
            continue;
        }
        std::size_t to = from;
        while (to < changes.size() && !crosses_zones(changes[to])) ++to;
        auto r = send_forward_run(s, changes, from, to, failed, superseded_by);
        if (!r) return r;
        from = to;
    }
    return {};
}

// Reverse zones, after the forward ones.
inline result<void> send_reverse(sink_core& s, const std::vector<change>& changes, const std::vector<bool>& failed) {
    std::map<std::string, std::vector<std::pair<bool, const binding*>>> rev;  // zone -> (add?, binding)
    for (std::size_t k = 0; k < changes.size(); ++k) {
        if (failed[k]) continue;
        const change& c = changes[k];
        if (c.before) {
            if (c.before->reverse_zone.empty()) s.ptr_skipped(*c.before);
            else rev[c.before->reverse_zone].push_back({false, &*c.before});
        }
        if (c.after) {
            if (c.after->reverse_zone.empty()) s.ptr_skipped(*c.after);
            else rev[c.after->reverse_zone].push_back({true, &*c.after});
        }
    }
    for (const auto& [zone, ops] : rev) {
        for (std::size_t from = 0; from < ops.size();) {
            update_message u(zone);
            std::size_t to = from, bytes = wire_estimate(u);
            for (; to < ops.size() && (to == from || (u.updates().size() < s.opt.max_records_per_message &&
                                                      bytes + max_change_bytes <= max_message_bytes));
                 ++to) {
                const binding& b = *ops[to].second;
                auto target = rdata::name(b.host);
                if (!target) return target.error_value();
                const std::size_t nu = u.updates().size();
                if (ops[to].first) u.add(b.reverse_name, rr_type::ptr, s.opt.ttl, std::move(*target));
                else u.remove(b.reverse_name, rr_type::ptr, std::move(*target));
                bytes += wire_estimate(u, u.prerequisites().size(), nu);
            }
            if (auto r = s.send(u); !r) return r.error_value();
            from = to;
        }
    }
    return {};
}

/// Sends the records of `changes`: forward zones, the superseded chains settled, then reverse zones.
inline result<void> send_changes(sink_core& s, const std::vector<change>& changes) {
    std::vector<bool> failed(changes.size());  // rejected while sending: no PTR sent
    std::vector<std::size_t> superseded_by(changes.size(), no_change);
    if (auto r = send_forward(s, changes, failed, superseded_by); !r) return r;
    settle_superseded(s, changes, failed, superseded_by);
    return send_reverse(s, changes, failed);
}

}  // namespace detail::dns
ROWCAST_NAMESPACE_END
