// rowcast/snapshot/detail/values.hpp: a SELECTed cell (MariaDB text protocol, connection
// character set utf8mb4, session time_zone '+00:00') to the typed value the binlog path
// (binlog/detail/values.hpp) gives the same column: one rule per sql_type.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace detail::snapshot {

/// The cell's value for column `c`, or the reason it is not one (empty `why` on success).
inline std::string cell_value(const column& c, std::optional<std::string_view> cell, value& out) {
    if (!cell) {
        out = null_value{};
        return {};
    }
    const std::string_view s = *cell;
    const column_type& t = c.type;
    switch (t.type) {
        case sql_type::tinyint: case sql_type::smallint: case sql_type::mediumint: case sql_type::int_:
        case sql_type::bigint: {
            if (t.is_unsigned) {
                std::uint64_t u = 0;
                if (!detail::parse_number(s, u)) return "not an unsigned integer";
                out = u;
            } else {
                std::int64_t i = 0;
                if (!detail::parse_number(s, i)) return "not an integer";
                out = i;
            }
            return {};
        }
        case sql_type::decimal:
            if (!detail::valid_decimal(s)) return "not a decimal";
            out = decimal{std::string(s)};
            return {};
        case sql_type::float_: {
            float f = 0;
            if (!detail::parse_number(s, f)) return "not a FLOAT";
            out = f;
            return {};
        }
        case sql_type::double_: {
            double d = 0;
            if (!detail::parse_number(s, d)) return "not a DOUBLE";
            out = d;
            return {};
        }
        case sql_type::bit: {  // the bits as big-endian bytes
            if (s.size() > 8) return "BIT value longer than 8 bytes";
            std::uint64_t u = 0;
            for (char ch : s) u = u << 8 | static_cast<unsigned char>(ch);
            out = bit{u, static_cast<std::uint8_t>(t.length == 0 ? 1 : t.length)};
            return {};
        }
        case sql_type::year: {
            std::uint32_t y = 0;
            if (!detail::parse_number(s, y) || y > 2155) return "not a YEAR";
            out = year{static_cast<std::uint16_t>(y)};
            return {};
        }
        case sql_type::date: {
            date d;
            if (!detail::parse_date(s, d)) return "not a DATE";
            out = d;
            return {};
        }
        case sql_type::time: {
            time x;
            if (!detail::parse_time(s, x)) return "not a TIME";
            out = x;
            return {};
        }
        case sql_type::datetime: {
            datetime d;
            if (!detail::parse_datetime(s, d)) return "not a DATETIME";
            out = d;
            return {};
        }
        case sql_type::timestamp: {  // the session time zone is UTC
            timestamp x;
            if (!detail::parse_timestamp(s, x)) return "not a TIMESTAMP";
            out = x;
            return {};
        }
        case sql_type::binary: case sql_type::varbinary: case sql_type::tinyblob: case sql_type::blob:
        case sql_type::mediumblob: case sql_type::longblob:
            out = bytes{std::string(s)};
            return {};
        case sql_type::enum_: {
            if (s.empty()) {
                out = enum_value{std::string(), 0};
                return {};
            }
            for (std::size_t i = 0; i < t.members.size(); ++i)
                if (t.members[i] == s) {
                    out = enum_value{std::string(s), static_cast<std::uint16_t>(i + 1)};
                    return {};
                }
            return "ENUM value is none of the column's members";
        }
        case sql_type::set: {
            std::uint64_t mask = 0;
            std::string_view rest = s;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const std::string_view name = rest.substr(0, comma);
                bool found = false;
                for (std::size_t i = 0; i < t.members.size() && i < 64; ++i)
                    if (t.members[i] == name) {
                        mask |= std::uint64_t{1} << i;
                        found = true;
                        break;
                    }
                if (!found) return "SET value names a member the column does not have";
                rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            }
            out = set_value{std::string(s), mask};
            return {};
        }
        case sql_type::json:
            out = json_text{std::string(s)};
            return {};
        case sql_type::geometry: {  // MariaDB's internal form: SRID (4 bytes, little-endian), then WKB
            if (s.size() < 4) return "GEOMETRY value shorter than its SRID";
            std::uint32_t srid = 0;
            for (int i = 3; i >= 0; --i) srid = srid << 8 | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
            out = geometry{srid, std::string(s.substr(4))};
            return {};
        }
        case sql_type::unknown:
        case sql_type::char_: case sql_type::varchar: case sql_type::tinytext: case sql_type::text:
        case sql_type::mediumtext: case sql_type::longtext: case sql_type::uuid: case sql_type::inet4:
        case sql_type::inet6:
            out = text{std::string(s)};  // converted to utf8mb4 by the server (the connection's character set)
            return {};
    }
    return "unsupported column type";
}

}  // namespace detail::snapshot
ROWCAST_NAMESPACE_END
