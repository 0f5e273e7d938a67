// rowcast/dns/sink.hpp: row events to DNS zone changes (A/AAAA + PTR).
//
// A `sink` maps rows of configured tables (a host-name column and an address
// column, optionally a MAC column that is only logged) to records:
//   insert(h, ip)          forward zone: prereq "no CNAME at h", add h A|AAAA ip
//                          reverse zone: add rev(ip) PTR h
//   update(h1,ip1->h2,ip2) only when host or address changed (normalised: case,
//                          trailing dot, address text form); a MAC-only change
//                          sends nothing. Forward: delete h1 A ip1 + add h2 A ip2
//                          in one message (atomic); reverse in its own message,
//                          after the forward one
//   delete(h, ip)          delete the specific records (not whole RRsets)
// Every change is idempotent (adding an existing record or deleting an absent
// one is a no-op at the server; a guarded update already applied is recognised
// by looking at the zone), so replaying events after a crash converges.
//
// Batching: apply(span) puts the records of all events of one zone into as few
// UPDATE messages as `max_records_per_message` (1,000) and 60,000 bytes allow,
// in event order (updates inside a message are applied in order, so per-name
// order holds).
//
// Prerequisites: every add carries "no CNAME at h" (BIND silently ignores an A
// added beside a CNAME); an update that moves a record carries "h1 A ip1 is
// there" (guard_updates), so only the record we set is deleted. A failed
// prerequisite (YXRRSET/NXRRSET/YXDOMAIN/NXDOMAIN) is ambiguous, so the events
// of that message are sent one by one and a failing one is resolved by
// querying the zone (dns-updates.md):
//   - a CNAME at the new name: rejected with cname_conflict (PTR not sent);
//   - the zone already holds the event's target state (new record there, old
//     one gone): counted as applied (a replay after a crash), PTR sent;
//   - old record gone, new one absent, and a later event of the same batch
//     starts from the new state: superseded (a replayed chain of updates).
//     If that later event is itself rejected, the earlier one is a conflict too;
//   - old record gone, new one absent otherwise: changed outside this table,
//     rejected with errc::conflict naming what the zone holds; nothing sent;
//   - old record there beside other records of the RRset (several rows share a
//     name): sent again requiring the whole RRset as seen (compare-and-swap).
//   After 3 tries that keep failing (the RRset changing under us, a CNAME that
//   comes and goes) the event is a conflict; so is a zone record that cannot be
//   read back as an address. A rejected event's PTRs are not sent.
// Host moved to another forward zone (h1 in zone A, h2 in zone B): no single
// message can hold both, so the change is sent alone, in event order between
// the batches around it: the old record is looked up first (guard_updates: if
// it is not as the table had it, resolved as above and nothing is sent), then
// the add goes to zone B (a CNAME there rejects the event before anything
// changed), then the guarded delete to zone A. A crash between the two leaves
// the old record in place, so the replay sends both again and converges. (If
// that delete then fails 3 times, the event is a conflict while zone B already
// holds the new record; the reason names both.)
// Rejections are reported once per apply() that succeeds (a batch held by a
// server refusal and retried reports its bad events once, on the try that
// goes through); `stats()` likewise counts a held batch once, when it goes
// through (messages a failed try did send are sent and counted again then).
//
// Validation before sending: host names are letters, digits and hyphens,
// labels 1-63 octets without leading/trailing hyphen, <= 253 characters, made
// absolute with the first forward zone when not already inside one, and must
// fall inside a forward zone; addresses must parse as IPv4 or IPv6. A bad row
// is rejected with invalid_name / invalid_address, sent nowhere, and reported
// through `on_rejected` (rowcast-dns quarantines it with the reason); the rest
// of the batch goes on. A NULL host or address means "no record".
//
// Server-side failures (REFUSED, NOTAUTH/BADKEY/BADSIG/BADTIME, NOTZONE,
// SERVFAIL, timeout, unverifiable replies) are returned as the error of
// apply(): the caller (the spool reader) keeps the events and retries them.
//
// Thread-safety: one thread at a time per sink.
#pragma once

#include <rowcast/dns/client.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

/// Which table feeds the zone and which columns hold what.
struct table_mapping {
    std::string schema;                  ///< empty: any schema
    std::string table;
    std::string host_column = "hostname";
    std::string address_column = "ip";
    std::string mac_column;              ///< optional; only logged (a MAC-only change sends nothing)
};

struct sink_options {
    std::vector<table_mapping> tables;
    std::vector<std::string> forward_zones;  ///< the first completes relative host names
    std::vector<std::string> reverse_zones;  ///< under in-addr.arpa / ip6.arpa; PTRs outside them are not sent
    std::uint32_t ttl = 300;                 ///< seconds, for A, AAAA and PTR
    /// Update records per message (a message also stays under 60,000 bytes whatever this says).
    std::size_t max_records_per_message = 1000;
    bool guard_cname = true;                 ///< prereq "no CNAME at h" on every add
    /// prereq "h1 A|AAAA ip1 is there" on updates that move a record, so a record changed
    /// outside this table is reported (errc::conflict) instead of being overwritten.
    bool guard_updates = true;
    /// A rejected event (bad host/address, CNAME conflict) with the reason.
    std::function<void(const event&, const rowcast::error&)> on_rejected;
    /// Log lines (level 0 debug .. 3 error); default: none.
    std::function<void(int, std::string_view)> log;
};

struct sink_stats {
    std::uint64_t events = 0;     ///< row events of mapped tables seen
    std::uint64_t ignored = 0;    ///< other tables, non-row events
    std::uint64_t unchanged = 0;  ///< updates without a host/address change
    std::uint64_t rejected = 0;
    std::uint64_t messages = 0;   ///< UPDATE messages that succeeded
    std::uint64_t records = 0;    ///< update records in them
    std::uint64_t ptr_skipped = 0;  ///< addresses outside every reverse zone
    std::uint64_t fallbacks = 0;  ///< batched messages resent event by event
    std::uint64_t already_applied = 0;  ///< prerequisite failed, the zone already held the event's state
    std::uint64_t superseded = 0;  ///< prerequisite failed, a later event of the batch continues from the zone
    std::uint64_t conflicts = 0;   ///< prerequisite failed, the zone holds something else (rejected)
};

/// One host/address pair, validated and normalised.
struct binding {
    std::string host;          ///< absolute, lower case, no trailing dot
    std::string address;       ///< normalised text
    bool v6 = false;
    std::string rdata;         ///< 4 or 16 bytes
    std::string forward_zone;
    std::string reverse_name;  ///< x.x.x.x.in-addr.arpa / nibbles.ip6.arpa
    std::string reverse_zone;  ///< empty: no reverse zone holds it
    std::uint16_t type() const noexcept { return v6 ? rr_type::aaaa : rr_type::a; }
    friend bool operator==(const binding& a, const binding& b) { return a.host == b.host && a.address == b.address; }
};

/// Checks a host name's syntax (letters, digits, hyphen; label rules; <= 253).
inline result<void> check_host_name(std::string_view h) {
    auto bad = [&](std::string_view why) {
        return make_error(errc::invalid_name, "host '" + std::string(h) + "'", why);
    };
    std::string_view n = h;
    if (!n.empty() && n.back() == '.') n.remove_suffix(1);
    if (n.empty()) return bad("empty host name");
    if (n.size() > 253) return bad("longer than 253 characters");
    std::size_t start = 0;
    while (start <= n.size()) {
        std::size_t dot = n.find('.', start);
        if (dot == std::string_view::npos) dot = n.size();
        const std::string_view l = n.substr(start, dot - start);
        if (l.empty()) return bad("empty label");
        if (l.size() > 63) return bad("label longer than 63 characters");
        if (l.front() == '-' || l.back() == '-') return bad("label starts or ends with a hyphen");
        for (char c : l)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
                return bad(std::string("character '") + (static_cast<unsigned char>(c) < 0x20 ? '?' : c) +
                           "' not allowed (letters, digits, hyphen)");
        start = dot + 1;
    }
    return {};
}

/// The reverse name of an address given as 4 or 16 bytes.
inline std::string reverse_name(std::string_view raw) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    if (raw.size() == 4) {
        for (int i = 3; i >= 0; --i) out += std::to_string(static_cast<unsigned char>(raw[static_cast<std::size_t>(i)])) + ".";
        return out + "in-addr.arpa";
    }
    for (int i = 15; i >= 0; --i) {
        const auto b = static_cast<unsigned char>(raw[static_cast<std::size_t>(i)]);
        out += hex[b & 0xf];
        out += '.';
        out += hex[b >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

class sink {
public:
    /// Checks the configuration. Errors: bad_config.
    static result<sink> create(sink_options opt, client_options copt) {
        auto bad = [](std::string_view what) { return make_error(errc::bad_config, "dns sink", what); };
        if (opt.tables.empty()) return bad("no table mapping");
        for (const auto& t : opt.tables)
            if (t.table.empty() || t.host_column.empty() || t.address_column.empty())
                return bad("a table mapping needs table, host column and address column");
        if (opt.forward_zones.empty()) return bad("no forward zone");
        for (auto& z : opt.forward_zones) {
            if (auto r = check_host_name(z); !r) return bad("forward zone '" + z + "' is not a domain name");
            z = canonical_name(z);
        }
        for (auto& z : opt.reverse_zones) {
            z = canonical_name(z);
            if (auto r = rdata::name(z); !r || !(name_in_zone(z, "in-addr.arpa") || name_in_zone(z, "ip6.arpa")))
                return bad("reverse zone '" + z + "' is not under in-addr.arpa or ip6.arpa");
        }
        if (opt.max_records_per_message < 2) opt.max_records_per_message = 2;
        return sink(std::move(opt), std::move(copt));
    }

    const sink_stats& stats() const noexcept { return stats_; }
    client& dns_client() noexcept { return client_; }
    const sink_options& options() const noexcept { return opt_; }

    /// Validates and normalises a host/address pair.
    result<binding> make_binding(std::string_view host, std::string_view address) const {
        binding b;
        if (auto r = check_host_name(host); !r) return r.error_value();
        std::string h = canonical_name(host);
        const bool absolute = !host.empty() && host.back() == '.';
        const std::string* zone = nullptr;
        for (const auto& z : opt_.forward_zones)
            if (name_in_zone(h, z) && (!zone || z.size() > zone->size())) zone = &z;
        if (!zone && !absolute) {
            h += "." + opt_.forward_zones.front();
            zone = &opt_.forward_zones.front();
            if (h.size() > 253) return make_error(errc::invalid_name, "host '" + std::string(host) + "'", "longer than 253 characters with the zone");
        }
        if (!zone) return make_error(errc::invalid_name, "host '" + std::string(host) + "'", "outside every forward zone");
        b.host = std::move(h);
        b.forward_zone = *zone;
        if (address.find(':') != std::string_view::npos) {
            auto rd = rdata::aaaa(address);
            if (!rd) return rd.error_value();
            b.rdata = std::move(*rd);
            b.v6 = true;
        } else {
            auto rd = rdata::a(address);
            if (!rd) return rd.error_value();
            b.rdata = std::move(*rd);
        }
        char buf[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(b.v6 ? AF_INET6 : AF_INET, b.rdata.data(), buf, sizeof buf);
        b.address = buf;
        b.reverse_name = reverse_name(b.rdata);
        for (const auto& z : opt_.reverse_zones)
            if (name_in_zone(b.reverse_name, z) && z.size() > b.reverse_zone.size()) b.reverse_zone = z;
        return b;
    }

    /// Applies one event.
    result<void> apply(const event& e) { return apply(std::span<const event>(&e, 1)); }

    /// Applies events in order (see the header comment for batching, prerequisite
    /// failures and errors). Rejections are reported through `on_rejected` only
    /// when apply() succeeds, so a batch that fails and is retried reports each
    /// bad event once (on the try that succeeds), never once per try.
    result<void> apply(std::span<const event> events) {
        pending_.clear();
        const sink_stats before = stats_;
        auto r = apply_events(events);
        if (!r) {
            // The batch is held and will be given again: count it once, on the try that succeeds.
            stats_ = before;
            pending_.clear();
            return r;
        }
        std::stable_sort(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        // One report per event (a change spanning two forward zones is resolved in each).
        pending_.erase(std::unique(pending_.begin(), pending_.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
                       pending_.end());
        for (auto& p : pending_) {  // in event order
            ++stats_.rejected;
            log(2, "rejected " + std::string(to_string(events[p.first].kind)) + " on " + events[p.first].schema + "." +
                       events[p.first].table + ": " + p.second.message);
            if (opt_.on_rejected) opt_.on_rejected(events[p.first], p.second);
        }
        pending_.clear();
        return {};
    }

private:
    struct change {
        std::size_t index;  ///< in the events given to apply()
        std::optional<binding> before, after;
    };
    using rrset_key = std::pair<std::string, std::uint16_t>;  // (host, type)

    result<void> apply_events(std::span<const event> events) {
        std::vector<change> changes;
        for (std::size_t i = 0; i < events.size(); ++i) {
            const event& e = events[i];
            const table_mapping* m = mapping_for(e);
            if (!m) {
                ++stats_.ignored;
                continue;
            }
            ++stats_.events;
            auto cols = columns_of(e, *m);
            if (!cols) {
                reject(i, cols.error_value());
                continue;
            }
            change c{i, {}, {}};
            if (e.kind != event_kind::insert) {
                auto b = bind_image(e.before, *cols);
                if (b && *b) c.before = std::move(**b);
                else if (!b) log(0, "old image ignored: " + b.error_value().message);
            }
            if (e.kind != event_kind::delete_) {
                auto b = bind_image(e.after, *cols);
                if (!b) {
                    reject(i, b.error_value());
                    continue;
                }
                if (*b) c.after = std::move(**b);
            }
            if (c.before && c.after && *c.before == *c.after) {
                ++stats_.unchanged;
                if (opt_.log) log(1, "update of " + c.after->host + " changes neither host nor address" + mac_note(e, *m) +
                                         ": nothing to send");
                continue;
            }
            if (!c.before && !c.after) continue;
            changes.push_back(std::move(c));
        }
        // Forward zones, in event order. A change whose old and new names lie in different forward
        // zones cannot be one atomic message: it is sent alone, between the batches before and after
        // it (see send_cross_zone()); the other changes touch one zone each and are batched per zone.
        std::vector<bool> failed(changes.size());            // rejected while sending: no PTR sent
        std::vector<std::size_t> superseded_by(changes.size(), no_change);
        for (std::size_t from = 0; from < changes.size();) {
            if (crosses_zones(changes[from])) {
                auto r = send_cross_zone(changes, from, failed, superseded_by);
                if (!r) return r;
                ++from;
                continue;
            }
            std::size_t to = from;
            while (to < changes.size() && !crosses_zones(changes[to])) ++to;
            auto r = send_forward_run(changes, from, to, failed, superseded_by);
            if (!r) return r;
            from = to;
        }
        // A change counted as superseded by a later one that was itself rejected is resolved on its
        // own merits: its old record is gone and its new one absent, so the zone was changed outside
        // this table (backwards, so that chains of superseded changes follow their last link).
        for (std::size_t k = changes.size(); k-- > 0;) {
            const std::size_t j = superseded_by[k];
            if (j == no_change || !failed[j]) continue;
            failed[k] = true;
            --stats_.superseded;
            ++stats_.conflicts;
            const change& c = changes[k];
            reject(c.index, make_error(errc::conflict, "update of host '" + c.before->host + "'",
                                       "the zone holds neither " + c.before->host + " " + c.before->address +
                                           " nor " + c.after->host + " " + c.after->address +
                                           ", and the later event that continued from it was rejected; not applied"));
        }
        // Reverse zones, after the forward ones.
        std::map<std::string, std::vector<std::pair<bool, const binding*>>> rev;  // zone -> (add?, binding)
        for (std::size_t k = 0; k < changes.size(); ++k) {
            if (failed[k]) continue;
            const change& c = changes[k];
            if (c.before) {
                if (c.before->reverse_zone.empty()) ++stats_.ptr_skipped;
                else rev[c.before->reverse_zone].push_back({false, &*c.before});
            }
            if (c.after) {
                if (c.after->reverse_zone.empty()) ++stats_.ptr_skipped;
                else rev[c.after->reverse_zone].push_back({true, &*c.after});
            }
        }
        for (const auto& [zone, ops] : rev) {
            for (std::size_t from = 0; from < ops.size();) {
                update_message u(zone);
                std::size_t to = from, bytes = wire_estimate(u);
                for (; to < ops.size() && (to == from || (u.updates().size() < opt_.max_records_per_message &&
                                                          bytes + max_change_bytes <= max_message_bytes));
                     ++to) {
                    const binding& b = *ops[to].second;
                    auto target = rdata::name(b.host);
                    if (!target) return target.error_value();
                    const std::size_t nu = u.updates().size();
                    if (ops[to].first) u.add(b.reverse_name, rr_type::ptr, opt_.ttl, std::move(*target));
                    else u.remove(b.reverse_name, rr_type::ptr, std::move(*target));
                    bytes += wire_estimate(u, u.prerequisites().size(), nu);
                }
                if (auto r = send(u); !r) return r.error_value();
                from = to;
            }
        }
        return {};
    }

    static constexpr std::size_t no_change = static_cast<std::size_t>(-1);

    static bool crosses_zones(const change& c) noexcept {
        return c.before && c.after && c.before->forward_zone != c.after->forward_zone;
    }

    // The position of the first change after k that starts from k's new state (a replayed chain of
    // updates), or no_change.
    static std::size_t successor_of(const std::vector<change>& changes, std::size_t k) {
        if (!changes[k].after) return no_change;
        for (std::size_t j = k + 1; j < changes.size(); ++j)
            if (changes[j].before && *changes[j].before == *changes[k].after) return j;
        return no_change;
    }

    // Changes [from, to), each inside one forward zone: batched per zone, in event order.
    result<void> send_forward_run(const std::vector<change>& changes, std::size_t from_k, std::size_t to_k,
                                  std::vector<bool>& failed, std::vector<std::size_t>& superseded_by) {
        std::map<std::string, std::vector<std::size_t>> by_zone;  // zone -> change positions
        for (std::size_t k = from_k; k < to_k; ++k)
            by_zone[changes[k].after ? changes[k].after->forward_zone : changes[k].before->forward_zone].push_back(k);
        for (const auto& [zone, list] : by_zone) {
            for (std::size_t from = 0; from < list.size();) {
                update_message u(zone);
                std::set<rrset_key> touched;
                std::size_t to = from, bytes = wire_estimate(u);
                while (to < list.size() && (to == from || (u.updates().size() + 2 <= opt_.max_records_per_message &&
                                                           bytes + max_change_bytes <= max_message_bytes))) {
                    const std::size_t np = u.prerequisites().size(), nu = u.updates().size();
                    forward_ops(u, changes[list[to++]], zone, touched, nullptr);
                    bytes += wire_estimate(u, np, nu);
                }
                dedupe_prerequisites(u);
                auto r = send(u);
                if (!r && is_prerequisite_failure(r.error_value())) {
                    // One event's prerequisite failed (or the zone already holds some events' state):
                    // send them one by one and resolve each failure by looking at the zone.
                    ++stats_.fallbacks;
                    for (std::size_t i = from; i < to; ++i) {
                        const std::size_t k = list[i];
                        auto ok = send_resolved(changes[k], zone, successor_of(changes, k), superseded_by[k]);
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

    // A change moving a record from one forward zone to another (h1 in zone A, h2 in zone B): two
    // messages. With guard_updates the old record is looked up first: if it is not as the table had
    // it, the change is resolved as a failed prerequisite would be (already applied, superseded or a
    // conflict) and nothing is sent. Otherwise the add goes to zone B first (a CNAME there rejects
    // the change before anything changed), then the guarded delete to zone A. Add first makes a
    // replay converge: after a crash between the two messages the old record is still there and
    // the change is simply sent again. If the old record changes between the look-up and the delete,
    // the zone holds the new record and the change counts as applied (as in one zone).
    result<void> send_cross_zone(const std::vector<change>& changes, std::size_t k, std::vector<bool>& failed,
                                 std::vector<std::size_t>& superseded_by) {
        const change& c = changes[k];
        const std::size_t next = successor_of(changes, k);
        if (opt_.guard_updates) {
            auto now = client_.lookup(c.before->host, c.before->type());
            if (!now) return now.error_value();
            if (!holds(*now, c.before->address)) {
                std::vector<std::string> cas;
                auto v = resolve(c, next, superseded_by[k], cas);
                if (!v) return v.error_value();
                if (*v == verdict::rejected) failed[k] = true;
                if (*v != verdict::retry) return {};
                // retry: the old record came back meanwhile; go on and send.
            }
        }
        auto added = send_resolved(c, c.after->forward_zone, next, superseded_by[k]);
        if (!added) return added.error_value();
        if (!*added) {
            failed[k] = true;
            return {};
        }
        if (superseded_by[k] != no_change) return {};
        const std::size_t reported = pending_.size();
        auto removed = send_resolved(c, c.before->forward_zone, next, superseded_by[k]);
        if (!removed) return removed.error_value();
        if (!*removed) {
            failed[k] = true;
            for (std::size_t i = reported; i < pending_.size(); ++i)
                pending_[i].second.message += "; " + c.after->host + " " + type_name(c.after->type()) + " " +
                                              c.after->address + " was already added in zone " + c.after->forward_zone;
        }
        return {};
    }

    sink(sink_options opt, client_options copt) : opt_(std::move(opt)), client_(std::move(copt)) {}

    void log(int level, const std::string& m) const {
        if (opt_.log) opt_.log(level, m);
    }

    // Kept until apply() succeeds (see apply()).
    void reject(std::size_t index, rowcast::error err) { pending_.emplace_back(index, std::move(err)); }

    result<parsed_message> send(const update_message& u) {
        auto r = client_.send_update(u);
        if (r) {
            ++stats_.messages;
            stats_.records += u.updates().size();
        }
        return r;
    }

    // Messages stay under this many bytes (the 65,535-byte limit less room for the TSIG record).
    static constexpr std::size_t max_message_bytes = 60000;
    // The most one change adds: a delete, an add and three prerequisites with 255-octet names.
    static constexpr std::size_t max_change_bytes = 5 * (255 + 10 + 16);

    // An upper bound of the wire size of u's records from the given positions on (uncompressed
    // names: text length + 2), plus the header and zone when counting from the start.
    static std::size_t wire_estimate(const update_message& u, std::size_t from_pre = 0, std::size_t from_upd = 0) {
        std::size_t n = from_pre == 0 && from_upd == 0 ? 12 + u.zone().size() + 6 : 0;
        auto add = [&](const std::vector<record>& list, std::size_t from) {
            for (std::size_t i = from; i < list.size(); ++i) n += list[i].name.size() + 2 + 10 + list[i].rdata.size();
        };
        add(u.prerequisites(), from_pre);
        add(u.updates(), from_upd);
        return n;
    }

    static bool is_prerequisite_failure(const rowcast::error& e) noexcept {
        return is(e, errc::yxrrset) || is(e, errc::nxrrset) || is(e, errc::yxdomain) || is(e, errc::nxdomain);
    }

    static std::string type_name(std::uint16_t t) { return t == rr_type::aaaa ? "AAAA" : "A"; }

    // Adds the forward-zone operations of `c` to `u`. An update that moves a record is guarded by
    // "h1 A ip1 is there" (RFC 2136 value-dependent prerequisite: the RRset must equal the listed
    // records; `rrset` lists the whole RRset seen in the zone, for a retry) unless an earlier
    // operation of the same message touches that RRset: prerequisites are checked before any
    // update of the message is applied, so they could not see the earlier operation.
    void forward_ops(update_message& u, const change& c, const std::string& zone, std::set<rrset_key>& touched,
                     const std::vector<std::string>* rrset) const {
        if (c.before && c.before->forward_zone == zone) {
            const rrset_key k{c.before->host, c.before->type()};
            if (opt_.guard_updates && c.after && !touched.count(k)) {
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
            if (opt_.guard_cname) u.require_no_rrset(c.after->host, rr_type::cname);
            u.add(c.after->host, c.after->type(), opt_.ttl, c.after->rdata);
        }
    }

    static bool holds(const std::vector<std::string>& texts, const std::string& address) {
        return std::find(texts.begin(), texts.end(), address) != texts.end();
    }
    static std::string list_of(const std::vector<std::string>& texts) {
        if (texts.empty()) return "no record";
        std::string s;
        for (const auto& t : texts) s += (s.empty() ? "" : ", ") + t;
        return s;
    }

    enum class verdict { applied, superseded, rejected, retry };

    // Sends the forward operations of `c` that belong to `zone`, alone; a prerequisite failure is
    // resolved by looking at the zone (resolve()): true = applied (or already in the zone, or
    // superseded by the later change `next`: then `superseded_by` = next), false = rejected
    // (reported), error = server/network failure. Up to 3 tries, then a conflict.
    result<bool> send_resolved(const change& c, const std::string& zone, std::size_t next, std::size_t& superseded_by) {
        std::vector<std::string> cas;  // the whole old RRset, for a compare-and-swap retry
        std::string why;               // why the last try was not final
        for (int attempt = 0; attempt < 3; ++attempt) {
            update_message one(zone);
            std::set<rrset_key> touched;
            forward_ops(one, c, zone, touched, attempt > 0 && !cas.empty() ? &cas : nullptr);
            auto r = send(one);
            if (r) return true;
            if (!is_prerequisite_failure(r.error_value())) return r.error_value();
            why = r.error_value().message;
            auto v = resolve(c, next, superseded_by, cas, &why);
            if (!v) return v.error_value();
            if (*v != verdict::retry) return *v != verdict::rejected;
        }
        ++stats_.conflicts;
        reject(c.index, make_error(errc::conflict, "host '" + (c.after ? c.after->host : c.before->host) + "'",
                                   "prerequisites failed 3 times while the zone changed under us (last: " + why +
                                       "); not applied"));
        return false;
    }

    // After a failed prerequisite (or, for a change across zones, before sending), looks at the zone
    // and decides (dns-updates.md): the zone holds the target state (applied); the old record is
    // gone, the new one absent and the later change `next` continues from the new state
    // (superseded: `superseded_by` = next); a CNAME at the new name or something else in the zone
    // (rejected, reported); the old record is there beside other records of its RRset (retry with
    // `cas` = the whole RRset, compare-and-swap) or a CNAME went away meanwhile (retry). `why`, when
    // given, is set to the reason of a retry.
    result<verdict> resolve(const change& c, std::size_t next, std::size_t& superseded_by, std::vector<std::string>& cas,
                            std::string* why = nullptr) {
        if (c.after && opt_.guard_cname) {
            auto cname = client_.lookup(c.after->host, rr_type::cname);
            if (!cname) return cname.error_value();
            if (!cname->empty()) {
                reject(c.index, make_error(errc::cname_conflict, "host '" + c.after->host + "'",
                                           "a CNAME (to " + cname->front() + ") exists at the name; no address added"));
                return verdict::rejected;
            }
        }
        std::vector<std::string> now_before, now_after;
        if (c.before) {
            auto l = client_.lookup(c.before->host, c.before->type());
            if (!l) return l.error_value();
            now_before = std::move(*l);
        }
        if (c.after) {
            auto l = client_.lookup(c.after->host, c.after->type());
            if (!l) return l.error_value();
            now_after = std::move(*l);
        }
        const bool has_after = !c.after || holds(now_after, c.after->address);
        const bool has_before = c.before && holds(now_before, c.before->address);
        if (has_after && !has_before) {
            ++stats_.already_applied;
            log(1, "the zone already holds " + (c.after ? c.after->host + " " + type_name(c.after->type()) + " " +
                                                              c.after->address
                                                        : "the deletion of " + c.before->host) +
                       ": counted as applied (a replay)");
            return verdict::applied;
        }
        const bool guarded = opt_.guard_updates && c.before && c.after;
        if (guarded && !has_before) {
            // The old record is gone and the new one is not there.
            if (next != no_change) {
                ++stats_.superseded;
                superseded_by = next;
                log(1, "update " + c.before->host + " -> " + c.after->host + " " + c.after->address +
                           ": the zone has moved on and a later event of the batch continues from it (a replay)");
                return verdict::superseded;
            }
            ++stats_.conflicts;
            std::string what = "the zone holds " + c.before->host + " " + type_name(c.before->type()) + " " +
                               list_of(now_before) + ", not " + c.before->address + " as the table had it";
            if (c.after->host != c.before->host || c.after->type() != c.before->type())
                what += "; " + c.after->host + " " + type_name(c.after->type()) + " " + list_of(now_after);
            what += " (changed outside this table?); update to " + c.after->host + " " + c.after->address + " not applied";
            reject(c.index, make_error(errc::conflict, "update of host '" + c.before->host + "'", what));
            return verdict::rejected;
        }
        if (guarded) {
            // The old record is there beside others (several rows share the name): require the whole RRset.
            cas.clear();
            for (const auto& t : now_before) {
                auto rd = c.before->v6 ? rdata::aaaa(t) : rdata::a(t);
                if (!rd) {
                    ++stats_.conflicts;
                    reject(c.index, make_error(errc::conflict, "update of host '" + c.before->host + "'",
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

    // The same prerequisite twice is harmless but wasteful; rebuilds the message without repeats.
    static void dedupe_prerequisites(update_message& u) {
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

    const table_mapping* mapping_for(const event& e) const {
        if (!is_row_event(e.kind)) return nullptr;
        for (const auto& m : opt_.tables)
            if (m.table == e.table && (m.schema.empty() || m.schema == e.schema)) return &m;
        return nullptr;
    }

    struct col_idx {
        std::size_t host, address;
    };
    result<col_idx> columns_of(const event& e, const table_mapping& m) const {
        if (!e.columns) return make_error(errc::bad_event, e.schema + "." + e.table, "event without a column list");
        auto h = e.columns->find(m.host_column);
        auto a = e.columns->find(m.address_column);
        if (!h) return make_error(errc::bad_event, e.schema + "." + e.table, "no column '" + m.host_column + "'");
        if (!a) return make_error(errc::bad_event, e.schema + "." + e.table, "no column '" + m.address_column + "'");
        return col_idx{*h, *a};
    }

    // " (mac A -> B)" when the mapping names a MAC column present in both images.
    static std::string mac_note(const event& e, const table_mapping& m) {
        if (m.mac_column.empty() || !e.columns) return {};
        auto i = e.columns->find(m.mac_column);
        if (!i || *i >= e.before.size() || *i >= e.after.size()) return {};
        auto b = text_of(e.before[*i]), a = text_of(e.after[*i]);
        return " (" + m.mac_column + " " + (b ? *b : "NULL") + " -> " + (a ? *a : "NULL") + ")";
    }

    static std::optional<std::string> text_of(const value& v) {
        if (auto* t = std::get_if<text>(&v)) return t->utf8;
        if (auto* b = std::get_if<bytes>(&v)) return b->data;
        return std::nullopt;
    }

    // nullopt inside: no record (NULL host or address).
    result<std::optional<binding>> bind_image(const std::vector<value>& img, const col_idx& c) const {
        if (c.host >= img.size() || c.address >= img.size())
            return make_error(errc::bad_event, "image", "fewer values than columns");
        const value& hv = img[c.host];
        const value& av = img[c.address];
        if (hv.is_null() || av.is_null() || std::holds_alternative<absent>(hv) || std::holds_alternative<absent>(av))
            return std::optional<binding>{};
        auto h = text_of(hv);
        auto a = text_of(av);
        if (!h) return make_error(errc::bad_event, "host column", "not a string value");
        if (!a) return make_error(errc::bad_event, "address column", "not a string value");
        auto b = make_binding(*h, *a);
        if (!b) return b.error_value();
        return std::optional<binding>(std::move(*b));
    }

    sink_options opt_;
    client client_;
    sink_stats stats_;
    std::vector<std::pair<std::size_t, rowcast::error>> pending_;  // rejections of the running apply()
};

}  // namespace dns
ROWCAST_NAMESPACE_END
