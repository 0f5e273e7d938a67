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

#include <rowcast/detail/text.hpp>
#include <rowcast/dns/client.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/event.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
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
    /// Log sink (component "dns"); default: the process-wide hook (rowcast/log.hpp).
    log_sink log;
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

    /// The counters as rowcast metrics (rowcast/stats.hpp).
    template <class V>
    void visit(V&& v) const {
        using rowcast::detail::counter;
        v(counter("events", events, "row events of mapped tables seen"));
        v(counter("ignored", ignored, "events of other tables and non-row events"));
        v(counter("unchanged", unchanged, "updates without a host or address change"));
        v(counter("rejected", rejected, "events rejected (bad host or address, conflict)"));
        v(counter("messages", messages, "UPDATE messages that succeeded"));
        v(counter("records", records, "update records in them"));
        v(counter("ptr_skipped", ptr_skipped, "addresses outside every reverse zone"));
        v(counter("fallbacks", fallbacks, "batched messages resent event by event"));
        v(counter("already_applied", already_applied, "failed prerequisites: the zone already held the state"));
        v(counter("superseded", superseded, "failed prerequisites: a later event continues from the zone"));
        v(counter("conflicts", conflicts, "failed prerequisites: the zone holds something else"));
    }
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
    const char* const hex = detail::hex_lower;
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

}  // namespace dns
ROWCAST_NAMESPACE_END

// The parts dns::sink composes (internal; they need the public types above): mapping events to
// changes, batching their records per zone, resolving failed prerequisites.
#include <rowcast/dns/detail/batch.hpp>
#include <rowcast/dns/detail/mapping.hpp>
#include <rowcast/dns/detail/state.hpp>

ROWCAST_NAMESPACE_BEGIN
namespace dns {

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

    const sink_stats& stats() const noexcept { return core_.stats; }
    client& dns_client() noexcept { return core_.server; }
    const sink_options& options() const noexcept { return core_.opt; }

    /// Validates and normalises a host/address pair.
    result<binding> make_binding(std::string_view host, std::string_view address) const {
        return detail::dns::make_binding(core_.opt, host, address);
    }

    /// Applies one event.
    result<void> apply(const event& e) { return apply(std::span<const event>(&e, 1)); }

    /// event_sink (pipeline/sink.hpp): apply(). A refused write has changed no zone
    /// record it would not change again on the retry (see the header comment).
    result<void> write(const event& e) { return apply(e); }
    /// event_sink: apply() of the batch, batched into as few UPDATE messages as it allows.
    result<void> write(std::span<const event> events) { return apply(events); }
    /// event_sink: nothing is held back (each apply() returns once the server answered).
    result<void> flush() { return {}; }

    /// Applies events in order (see the header comment for batching, prerequisite
    /// failures and errors). Rejections are reported through `on_rejected` only
    /// when apply() succeeds, so a batch that fails and is retried reports each
    /// bad event once (on the try that succeeds), never once per try.
    result<void> apply(std::span<const event> events) {
        auto& pending = core_.pending;
        pending.clear();
        const sink_stats before = core_.stats;
        auto r = detail::dns::send_changes(core_, detail::dns::map_events(core_, events));
        if (!r) {
            // The batch is held and will be given again: count it once, on the try that succeeds.
            core_.stats = before;
            pending.clear();
            return r;
        }
        core_.report_rejected(events);
        pending.clear();
        return {};
    }

private:
    sink(sink_options opt, client_options copt) : core_{std::move(opt), client(std::move(copt)), {}, {}} {}

    detail::dns::sink_core core_;
};

}  // namespace dns
ROWCAST_NAMESPACE_END
