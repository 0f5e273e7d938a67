// Internal: what the parts of dns::sink share (dns/sink.hpp includes this after its public
// types): the options, the DNS client, the statistics and the rejections of the running
// apply(), and one change (an event's old and new host/address pair).
#pragma once

#include <rowcast/dns/client.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/dns/message.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::dns {
using namespace ::rowcast::dns;   // the public dns types, unqualified
using errc = ::rowcast::dns::errc;  // not rowcast::errc

/// The state of one sink.
struct sink_core {
    sink_options opt;
    client server;
    sink_stats stats;
    std::vector<std::pair<std::size_t, rowcast::error>> pending;  // rejections of the running apply()
    std::set<std::string> gaps_logged;  // reverse-zone gaps already logged (see ptr_skipped())
    static constexpr std::size_t max_gaps_logged = 1000;

    void log(log_level level, const std::string& m) const {
        rowcast::log(opt.log, level, "dns", m);
    }
    // An address no reverse zone covers: its PTR is not sent. Counted each time; logged once per
    // gap (the address's /24, or /64 for IPv6: the reverse zone that would hold it), up to
    // max_gaps_logged gaps, so a missing reverse zone is seen without flooding the log.
    void ptr_skipped(const binding& b) {
        ++stats.ptr_skipped;
        if (gaps_logged.size() > max_gaps_logged) return;
        std::string_view parent = b.reverse_name;  // drop 1 octet (IPv4 /24) or 16 nibbles (IPv6 /64)
        for (int i = 0; i < (b.v6 ? 16 : 1); ++i) {
            const auto dot = parent.find('.');
            if (dot == std::string_view::npos) break;
            parent.remove_prefix(dot + 1);
        }
        const std::string gap(parent);
        if (!gaps_logged.insert(gap).second) return;
        if (gaps_logged.size() > max_gaps_logged) {
            log(log_level::warning, "more than " + std::to_string(max_gaps_logged) +
                                        " reverse-zone gaps: further ones are not logged (counted in ptr_skipped)");
            return;
        }
        log(log_level::warning, "no reverse zone covers " + b.address + " (" + b.host + "): its PTR is not sent; " +
                                    "add a zone such as " + gap + " to reverse_zones to have PTRs under " + gap +
                                    " (logged once per such gap; counted in ptr_skipped)");
    }
    // Kept until apply() succeeds (see sink::apply()).
    void reject(std::size_t index, rowcast::error err) { pending.emplace_back(index, std::move(err)); }
    // At the end of an apply() that succeeded: counts, logs and reports (on_rejected) each
    // rejected event once, in event order (a change spanning two forward zones is resolved in each).
    void report_rejected(std::span<const event> events) {
        std::stable_sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        pending.erase(std::unique(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
                      pending.end());
        for (auto& p : pending) {
            const event& e = events[p.first];
            ++stats.rejected;
            log(log_level::warning, "rejected " + std::string(to_string(e.kind)) + " on " + e.schema + "." + e.table + ": " + p.second.message);
            if (opt.on_rejected) opt.on_rejected(e, p.second);
        }
    }
    result<parsed_message> send(const update_message& u) {
        auto r = server.send_update(u);
        if (r) {
            ++stats.messages;
            stats.records += u.updates().size();
        }
        return r;
    }
};

/// One event's records: the binding it removes and the one it adds.
struct change {
    std::size_t index;  ///< in the events given to apply()
    std::optional<binding> before, after;
};
using rrset_key = std::pair<std::string, std::uint16_t>;  // (host, type)
inline constexpr std::size_t no_change = static_cast<std::size_t>(-1);

inline bool is_prerequisite_failure(const rowcast::error& e) noexcept {
    return is(e, errc::yxrrset) || is(e, errc::nxrrset) || is(e, errc::yxdomain) || is(e, errc::nxdomain);
}
inline std::string type_name(std::uint16_t t) { return t == rr_type::aaaa ? "AAAA" : "A"; }

}  // namespace detail::dns
ROWCAST_NAMESPACE_END
