// Internal: the mapping part of dns::sink: which events concern it, and each event's old
// and new host/address pair, validated and normalised (a binding), as a change.
#pragma once

#include <rowcast/dns/detail/state.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <arpa/inet.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::dns {

inline result<binding> make_binding(const sink_options& opt, std::string_view host, std::string_view address) {
    binding b;
    if (auto r = check_host_name(host); !r) return r.error_value();
    std::string h = canonical_name(host);
    const bool absolute = !host.empty() && host.back() == '.';
    const std::string* zone = nullptr;
    for (const auto& z : opt.forward_zones)
        if (name_in_zone(h, z) && (!zone || z.size() > zone->size())) zone = &z;
    if (!zone && !absolute) {
        h += "." + opt.forward_zones.front();
        zone = &opt.forward_zones.front();
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
    for (const auto& z : opt.reverse_zones)
        if (name_in_zone(b.reverse_name, z) && z.size() > b.reverse_zone.size()) b.reverse_zone = z;
    return b;
}

inline const table_mapping* mapping_for(const sink_options& opt, const event& e) {
    if (!is_row_event(e.kind)) return nullptr;
    for (const auto& m : opt.tables)
        if (m.table == e.table && (m.schema.empty() || m.schema == e.schema)) return &m;
    return nullptr;
}

struct col_idx {
    std::size_t host, address;
};
inline result<col_idx> columns_of(const event& e, const table_mapping& m) {
    if (!e.columns) return make_error(errc::bad_event, e.schema + "." + e.table, "event without a column list");
    auto h = e.columns->find(m.host_column);
    auto a = e.columns->find(m.address_column);
    if (!h) return make_error(errc::bad_event, e.schema + "." + e.table, "no column '" + m.host_column + "'");
    if (!a) return make_error(errc::bad_event, e.schema + "." + e.table, "no column '" + m.address_column + "'");
    return col_idx{*h, *a};
}

inline std::optional<std::string> text_of(const value& v) {
    if (auto* t = std::get_if<text>(&v)) return t->utf8;
    if (auto* b = std::get_if<bytes>(&v)) return b->data;
    return std::nullopt;
}

// " (mac A -> B)" when the mapping names a MAC column present in both images.
inline std::string mac_note(const event& e, const table_mapping& m) {
    if (m.mac_column.empty() || !e.columns) return {};
    auto i = e.columns->find(m.mac_column);
    if (!i || *i >= e.before.size() || *i >= e.after.size()) return {};
    auto b = text_of(e.before[*i]), a = text_of(e.after[*i]);
    return " (" + m.mac_column + " " + (b ? *b : "NULL") + " -> " + (a ? *a : "NULL") + ")";
}

// nullopt inside: no record (NULL host or address).
inline result<std::optional<binding>> bind_image(const sink_options& opt, const std::vector<value>& img, const col_idx& c) {
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
    auto b = make_binding(opt, *h, *a);
    if (!b) return b.error_value();
    return std::optional<binding>(std::move(*b));
}

/// The changes the events ask for, in event order; counts ignored and unchanged events and
/// rejects bad rows (s.reject).
inline std::vector<change> map_events(sink_core& s, std::span<const event> events) {
    std::vector<change> changes;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const event& e = events[i];
        const table_mapping* m = mapping_for(s.opt, e);
        if (!m) {
            ++s.stats.ignored;
            continue;
        }
        ++s.stats.events;
        auto cols = columns_of(e, *m);
        if (!cols) {
            s.reject(i, cols.error_value());
            continue;
        }
        change c{i, {}, {}};
        if (e.kind != event_kind::insert) {
            auto b = bind_image(s.opt, e.before, *cols);
            if (b && *b) c.before = std::move(**b);
            else if (!b) s.log(log_level::debug, "old image ignored: " + b.error_value().message);
        }
        if (e.kind != event_kind::delete_) {
            auto b = bind_image(s.opt, e.after, *cols);
            if (!b) {
                s.reject(i, b.error_value());
                continue;
            }
            if (*b) c.after = std::move(**b);
        }
        if (c.before && c.after && *c.before == *c.after) {
            ++s.stats.unchanged;
            if (log_enabled(log_level::info)) s.log(log_level::info, "update of " + c.after->host + " changes neither host nor address" + mac_note(e, *m) +
                                       ": nothing to send");
            continue;
        }
        if (!c.before && !c.after) continue;
        changes.push_back(std::move(c));
    }
    return changes;
}

}  // namespace detail::dns
ROWCAST_NAMESPACE_END
