// rowcast/binlog/gtid.hpp: a GTID position as the replication stream and the
// follower track it: MariaDB's per-domain list ("0-1-42,1-2-7") or a MySQL
// GTID set ("uuid:1-42:50-60,…"), parsed, extended event by event, printed,
// and encoded for COM_BINLOG_DUMP_GTID.
//
// Errors: parse() returns syntax_error naming the item it cannot read.
// Thread-safety: a value type; no shared state.
#pragma once

#include <rowcast/mysql/detail/protocol.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// A GTID position. MariaDB: the last GTID per replication domain, "d-s-n,…"
/// (add() replaces the domain's entry). MySQL: a GTID set, "uuid:a-b:c,…"
/// (add() inserts the number into the uuid's intervals). The flavour is fixed by
/// the first GTID parsed or added (a ':' means MySQL). MySQL 8.3 tagged GTIDs
/// ("uuid:tag:n") are not supported (parse() fails).
class gtid_state {
public:
    /// Parses a state string; empty is an empty state of either flavour.
    static result<gtid_state> parse(std::string_view s) {
        gtid_state g;
        while (!s.empty()) {
            const auto comma = s.find(',');
            std::string_view item = trim(s.substr(0, comma));
            s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
            if (item.empty()) continue;
            if (!g.add_item(item, true)) return error::make(errc::syntax_error, "binlog", "GTID", "cannot parse \"" + std::string(item) + "\"");
        }
        return g;
    }

    /// Adds one transaction's GTID ("d-s-n" or "uuid:n"). Returns false if it does not parse.
    bool add(std::string_view gtid) { return add_item(gtid, false); }

    bool empty() const noexcept { return mariadb_.empty() && mysql_.empty(); }
    bool is_mysql() const noexcept { return !mysql_.empty(); }

    /// Canonical text: domains in increasing order; uuids sorted, intervals merged.
    std::string str() const {
        std::string s;
        for (const auto& [d, v] : mariadb_) {
            if (!s.empty()) s += ',';
            s += std::to_string(d) + '-' + std::to_string(v.first) + '-' + std::to_string(v.second);
        }
        for (const auto& [u, iv] : mysql_) {
            if (!s.empty()) s += ',';
            s += u;
            for (const auto& [a, b] : iv) {
                s += ':' + std::to_string(a);
                if (b != a) s += '-' + std::to_string(b);
            }
        }
        return s;
    }

    /// The MySQL GTID set in COM_BINLOG_DUMP_GTID's binary form: n_sids (8), then per
    /// uuid 16 bytes, n_intervals (8) and [start, end) pairs (8 + 8), little-endian.
    std::string encode_mysql() const {
        std::string out;
        detail::mysql::put_le(out, mysql_.size(), 8);
        for (const auto& [u, iv] : mysql_) {
            for (std::size_t i = 0; i < u.size(); i += 2) {
                if (u[i] == '-') { --i; continue; }
                out += static_cast<char>(hexval(u[i]) * 16 + hexval(u[i + 1]));
            }
            detail::mysql::put_le(out, iv.size(), 8);
            for (const auto& [a, b] : iv) {
                detail::mysql::put_le(out, a, 8);
                detail::mysql::put_le(out, b + 1, 8);
            }
        }
        return out;
    }

    friend bool operator==(const gtid_state&, const gtid_state&) = default;

private:
    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    }
    static int hexval(char c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    static bool number(std::string_view s, std::uint64_t& v) noexcept {
        if (s.empty() || s.size() > 20) return false;
        v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return false;
            const std::uint64_t n = v * 10 + static_cast<std::uint64_t>(c - '0');
            if (n / 10 != v) return false;
            v = n;
        }
        return true;
    }
    static bool uuid(std::string_view s, std::string& out) {
        if (s.size() != 36) return false;
        out.clear();
        for (std::size_t i = 0; i < 36; ++i) {
            const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? s[i] != '-' : hexval(s[i]) < 0) return false;
            out += (s[i] >= 'A' && s[i] <= 'F') ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
        }
        return true;
    }

    bool add_item(std::string_view item, bool ranges) {
        const auto colon = item.find(':');
        if (colon == std::string_view::npos) {  // MariaDB d-s-n
            if (!mysql_.empty()) return false;
            const auto a = item.find('-'), b = item.find('-', a == std::string_view::npos ? a : a + 1);
            std::uint64_t d = 0, srv = 0, n = 0;
            if (a == std::string_view::npos || b == std::string_view::npos || !number(item.substr(0, a), d) ||
                !number(item.substr(a + 1, b - a - 1), srv) || !number(item.substr(b + 1), n) || d > 0xFFFFFFFFu ||
                srv > 0xFFFFFFFFu)
                return false;
            mariadb_[static_cast<std::uint32_t>(d)] = {static_cast<std::uint32_t>(srv), n};
            return true;
        }
        if (!mariadb_.empty()) return false;
        std::string u;
        if (!uuid(item.substr(0, colon), u)) return false;
        auto& iv = mysql_[u];
        std::string_view rest = item.substr(colon + 1);
        bool any = false;
        while (!rest.empty() || !any) {
            const auto c = rest.find(':');
            std::string_view r = rest.substr(0, c);
            rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
            std::uint64_t a = 0, b = 0;
            const auto dash = r.find('-');
            if (dash == std::string_view::npos) {
                if (!number(r, a)) return false;
                b = a;
            } else {
                if (!ranges || !number(r.substr(0, dash), a) || !number(r.substr(dash + 1), b) || b < a) return false;
            }
            if (a == 0) return false;
            insert(iv, a, b);
            any = true;
            if (!ranges && !rest.empty()) return false;
        }
        return true;
    }

    // Inserts [a, b] and merges touching intervals.
    static void insert(std::vector<std::pair<std::uint64_t, std::uint64_t>>& iv, std::uint64_t a, std::uint64_t b) {
        auto it = std::lower_bound(iv.begin(), iv.end(), std::make_pair(a, b));
        it = iv.insert(it, {a, b});
        std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
        merged.reserve(iv.size());
        for (const auto& x : iv) {
            if (!merged.empty() && x.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, x.second);
            else merged.push_back(x);
        }
        iv = std::move(merged);
    }

    std::map<std::uint32_t, std::pair<std::uint32_t, std::uint64_t>> mariadb_;   // domain -> (server, seq)
    std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> mysql_;  // uuid -> [a, b] inclusive
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
