// Internal: the conflict part of dns::sink: a change whose prerequisite failed (or that moves
// a record between forward zones) is sent alone and, when it fails, resolved by looking at the
// zone (dns-updates.md): applied already, superseded by a later change, rejected, or retried
// with the whole RRset as seen (compare-and-swap).
#pragma once

#include <rowcast/dns/detail/records.hpp>
#include <rowcast/dns/detail/state.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::dns {

// The position of the first change after k that starts from k's new state (a replayed chain of
// updates), or no_change.
inline std::size_t successor_of(const std::vector<change>& changes, std::size_t k) {
    if (!changes[k].after) return no_change;
    for (std::size_t j = k + 1; j < changes.size(); ++j)
        if (changes[j].before && *changes[j].before == *changes[k].after) return j;
    return no_change;
}

inline bool holds(const std::vector<std::string>& texts, const std::string& address) {
    return std::find(texts.begin(), texts.end(), address) != texts.end();
}
inline std::string list_of(const std::vector<std::string>& texts) {
    if (texts.empty()) return "no record";
    std::string s;
    for (const auto& t : texts) s += (s.empty() ? "" : ", ") + t;
    return s;
}

enum class verdict { applied, superseded, rejected, retry };

// After a failed prerequisite (or, for a change across zones, before sending), looks at the zone
// and decides (dns-updates.md): the zone holds the target state (applied); the old record is
// gone, the new one absent and the later change `next` continues from the new state
// (superseded: `superseded_by` = next); a CNAME at the new name or something else in the zone
// (rejected, reported); the old record is there beside other records of its RRset (retry with
// `cas` = the whole RRset, compare-and-swap) or a CNAME went away meanwhile (retry). `why`, when
// given, is set to the reason of a retry.
inline result<verdict> resolve(sink_core& s, const change& c, std::size_t next, std::size_t& superseded_by,
                               std::vector<std::string>& cas, std::string* why = nullptr) {
    if (c.after && s.opt.guard_cname) {
        auto cname = s.server.lookup(c.after->host, rr_type::cname);
        if (!cname) return cname.error_value();
        if (!cname->empty()) {
            s.reject(c.index, make_error(errc::cname_conflict, "host '" + c.after->host + "'",
                                         "a CNAME (to " + cname->front() + ") exists at the name; no address added"));
            return verdict::rejected;
        }
    }
    std::vector<std::string> now_before, now_after;
    if (c.before) {
        auto l = s.server.lookup(c.before->host, c.before->type());
        if (!l) return l.error_value();
        now_before = std::move(*l);
    }
    if (c.after) {
        auto l = s.server.lookup(c.after->host, c.after->type());
        if (!l) return l.error_value();
        now_after = std::move(*l);
    }
    const bool has_after = !c.after || holds(now_after, c.after->address);
    const bool has_before = c.before && holds(now_before, c.before->address);
    if (has_after && !has_before) {
        ++s.stats.already_applied;
        s.log(log_level::info, "the zone already holds " + (c.after ? c.after->host + " " + type_name(c.after->type()) + " " +
                                                            c.after->address
                                                      : "the deletion of " + c.before->host) +
                     ": counted as applied (a replay)");
        return verdict::applied;
    }
    const bool guarded = s.opt.guard_updates && c.before && c.after;
    if (guarded && !has_before) {
        // The old record is gone and the new one is not there.
        if (next != no_change) {
            ++s.stats.superseded;
            superseded_by = next;
            s.log(log_level::info, "update " + c.before->host + " -> " + c.after->host + " " + c.after->address +
                         ": the zone has moved on and a later event of the batch continues from it (a replay)");
            return verdict::superseded;
        }
        ++s.stats.conflicts;
        std::string what = "the zone holds " + c.before->host + " " + type_name(c.before->type()) + " " +
                           list_of(now_before) + ", not " + c.before->address + " as the table had it";
        if (c.after->host != c.before->host || c.after->type() != c.before->type())
            what += "; " + c.after->host + " " + type_name(c.after->type()) + " " + list_of(now_after);
        what += " (changed outside this table?); update to " + c.after->host + " " + c.after->address + " not applied";
        s.reject(c.index, make_error(errc::conflict, "update of host '" + c.before->host + "'", what));
        return verdict::rejected;
    }
    if (guarded) {
        // The old record is there beside others (several rows share the name): require the whole RRset.
        cas.clear();
        for (const auto& t : now_before) {
            auto rd = c.before->v6 ? rdata::aaaa(t) : rdata::a(t);
            if (!rd) {
                ++s.stats.conflicts;
                s.reject(c.index, make_error(errc::conflict, "update of host '" + c.before->host + "'",
                                             "the zone's record " + c.before->host + " " + type_name(c.before->type()) +
                                                 " '" + t + "' cannot be read back as an address (" +
                                                 rd.error_value().message + "); update not applied"));
                return verdict::rejected;
            }
            cas.push_back(std::move(*rd));
        }
        if (why) *why = "the RRset " + c.before->host + " " + type_name(c.before->type()) + " held " + list_of(now_before);
    } else if (why) {
        *why = c.after ? "a CNAME at " + c.after->host + " went away meanwhile" : *why;
    }
    return verdict::retry;
}

// Sends the forward operations of `c` that belong to `zone`, alone; a prerequisite failure is
// resolved by looking at the zone (resolve()): true = applied (or already in the zone, or
// superseded by the later change `next`: then `superseded_by` = next), false = rejected
// (reported), error = server/network failure. Up to 3 tries, then a conflict.
inline result<bool> send_resolved(sink_core& s, const change& c, const std::string& zone, std::size_t next, std::size_t& superseded_by) {
    std::vector<std::string> cas;  // the whole old RRset, for a compare-and-swap retry
    std::string why;               // why the last try was not final
    for (int attempt = 0; attempt < 3; ++attempt) {
        update_message one(zone);
        std::set<rrset_key> touched;
        forward_ops(s.opt, one, c, zone, touched, attempt > 0 && !cas.empty() ? &cas : nullptr);
        auto r = s.send(one);
        if (r) return true;
        if (!is_prerequisite_failure(r.error_value())) return r.error_value();
        why = r.error_value().message;
        auto v = resolve(s, c, next, superseded_by, cas, &why);
        if (!v) return v.error_value();
        if (*v != verdict::retry) return *v != verdict::rejected;
    }
    ++s.stats.conflicts;
    s.reject(c.index, make_error(errc::conflict, "host '" + (c.after ? c.after->host : c.before->host) + "'",
                                 "prerequisites failed 3 times while the zone changed under us (last: " + why +
                                     "); not applied"));
    return false;
}

// A change moving a record from one forward zone to another (h1 in zone A, h2 in zone B): two
// messages. With guard_updates the old record is looked up first: if it is not as the table had
// it, the change is resolved as a failed prerequisite would be (already applied, superseded or a
// conflict) and nothing is sent. Otherwise the add goes to zone B first (a CNAME there rejects
// the change before anything changed), then the guarded delete to zone A. Add first makes a
// replay converge: after a crash between the two messages the old record is still there and
// the change is simply sent again. If the old record changes between the look-up and the delete,
// the zone holds the new record and the change counts as applied (as in one zone).
inline result<void> send_cross_zone(sink_core& s, const std::vector<change>& changes, std::size_t k,
                                    std::vector<bool>& failed, std::vector<std::size_t>& superseded_by) {
    const change& c = changes[k];
    const std::size_t next = successor_of(changes, k);
    if (s.opt.guard_updates) {
        auto now = s.server.lookup(c.before->host, c.before->type());
        if (!now) return now.error_value();
        if (!holds(*now, c.before->address)) {
            std::vector<std::string> cas;
            auto v = resolve(s, c, next, superseded_by[k], cas);
            if (!v) return v.error_value();
            if (*v == verdict::rejected) failed[k] = true;
            if (*v != verdict::retry) return {};
            // retry: the old record came back meanwhile; go on and send.
        }
    }
    auto added = send_resolved(s, c, c.after->forward_zone, next, superseded_by[k]);
    if (!added) return added.error_value();
    if (!*added) {
        failed[k] = true;
        return {};
    }
    if (superseded_by[k] != no_change) return {};
    const std::size_t reported = s.pending.size();
    auto removed = send_resolved(s, c, c.before->forward_zone, next, superseded_by[k]);
    if (!removed) return removed.error_value();
    if (!*removed) {
        failed[k] = true;
        for (std::size_t i = reported; i < s.pending.size(); ++i)
            s.pending[i].second.message += "; " + c.after->host + " " + type_name(c.after->type()) + " " +
                                          c.after->address + " was already added in zone " + c.after->forward_zone;
    }
    return {};
}

// A change counted as superseded by a later one that was itself rejected is resolved on its
// own merits: its old record is gone and its new one absent, so the zone was changed outside
// this table (backwards, so that chains of superseded changes follow their last link).
inline void settle_superseded(sink_core& s, const std::vector<change>& changes, std::vector<bool>& failed,
                              const std::vector<std::size_t>& superseded_by) {
    for (std::size_t k = changes.size(); k-- > 0;) {
        const std::size_t j = superseded_by[k];
        if (j == no_change || !failed[j]) continue;
        failed[k] = true;
        --s.stats.superseded;
        ++s.stats.conflicts;
        const change& c = changes[k];
        s.reject(c.index, make_error(errc::conflict, "update of host '" + c.before->host + "'",
                                     "the zone holds neither " + c.before->host + " " + c.before->address +
                                         " nor " + c.after->host + " " + c.after->address +
                                         ", and the later event that continued from it was rejected; not applied"));
    }
}

}  // namespace detail::dns
ROWCAST_NAMESPACE_END
