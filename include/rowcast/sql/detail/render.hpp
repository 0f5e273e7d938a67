// Internal: the SQL text the database sink sends. Values become literals that the
// server reads back exactly (the session runs with time_zone '+00:00', utf8mb4 and
// NO_BACKSLASH_ESCAPES: sql::sink sets them):
//   integers, YEAR, BIT       decimal digits
//   FLOAT, DOUBLE             the shortest round-trip scientific form of the double
//                             ("1.0000000149011612e-01"), a DOUBLE literal; a FLOAT
//                             widened to double first, so the narrowing back is exact;
//                             NaN and infinities (no SQL form) are refused
//   DECIMAL                   the decimal text as it is (an exact DECIMAL literal)
//   text, JSON, ENUM, SET     _utf8mb4'…' (or _utf8mb4 X'…' for control bytes): converted
//                             by the server to the column's character set
//   binary                    X'…'
//   temporal                  '…' with six fraction digits; TIMESTAMP as UTC
//   GEOMETRY                  ST_GeomFromWKB(X'…', srid)
// Column definitions for the tables the sink creates come from the event's column list.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/udf/triggers.hpp>  // quote_identifier, quote_string: header-only text helpers
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <charconv>
#include <cmath>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace detail::sql {

using ::rowcast::udf::quote_identifier;
using ::rowcast::udf::quote_string;

inline error bad_value(std::string_view where, std::string_view what) {
    return error::make(errc::invalid_value, "sql", where, what);
}

inline void append_hex(std::string& out, std::string_view bytes) {
    out += "X'";
    for (unsigned char c : bytes) {
        out += ::rowcast::detail::hex_upper[c >> 4];
        out += ::rowcast::detail::hex_upper[c & 15];
    }
    out += '\'';
}

inline void append_text(std::string& out, std::string_view s) {
    out += "_utf8mb4";
    const std::string q = quote_string(s);
    if (q[0] == 'X') out += ' ';
    out += q;
}

inline result<void> append_double(std::string& out, double d, std::string_view where) {
    if (!std::isfinite(d)) return bad_value(where, "a NaN or infinite floating-point value has no SQL form");
    char b[40];
    auto [p, ec] = std::to_chars(b, b + sizeof b, d, std::chars_format::scientific);
    if (ec != std::errc{}) return bad_value(where, "cannot format a floating-point value");
    out.append(b, p);
    return {};
}

/// Appends the literal of `v`; `where` names the column in errors. absent (a column left
/// out of a MINIMAL row image) is refused: its value is not known.
inline result<void> append_literal(std::string& out, const value& v, std::string_view where) {
    namespace t = ::rowcast::detail;
    switch (v.kind()) {
        case value_kind::absent:
            return bad_value(where, "the value is not in the row image (binlog_row_image=FULL is needed)");
        case value_kind::null: out += "NULL"; return {};
        case value_kind::int64: t::append_number(out, std::get<std::int64_t>(v)); return {};
        case value_kind::uint64: t::append_number(out, std::get<std::uint64_t>(v)); return {};
        case value_kind::float32: return append_double(out, static_cast<double>(std::get<float>(v)), where);
        case value_kind::float64: return append_double(out, std::get<double>(v), where);
        case value_kind::decimal: {
            const auto& d = std::get<decimal>(v).digits;
            if (!t::valid_decimal(d)) return bad_value(where, "'" + d + "' is not a decimal number");
            out += d;
            return {};
        }
        case value_kind::text: append_text(out, std::get<text>(v).utf8); return {};
        case value_kind::bytes: append_hex(out, std::get<bytes>(v).data); return {};
        case value_kind::date:
            out += '\'';
            t::append_date(out, std::get<date>(v));
            out += '\'';
            return {};
        case value_kind::time:
            out += '\'';
            t::append_time(out, std::get<rowcast::time>(v));
            out += '\'';
            return {};
        case value_kind::datetime:
            out += '\'';
            t::append_datetime(out, std::get<datetime>(v), ' ');
            out += '\'';
            return {};
        case value_kind::timestamp: {
            const auto ts = std::get<timestamp>(v);
            if (ts.microseconds == 0) {  // MySQL's zero TIMESTAMP
                out += "'0000-00-00 00:00:00'";
                return {};
            }
            if (ts.microseconds < t::min_timestamp_us || ts.microseconds > t::max_timestamp_us)
                return bad_value(where, "TIMESTAMP " + std::to_string(ts.microseconds) + " µs is out of range");
            std::string iso;
            t::append_timestamp(iso, ts);  // YYYY-MM-DDTHH:MM:SS.ffffffZ
            iso[10] = ' ';
            iso.pop_back();
            out += '\'' + iso + '\'';
            return {};
        }
        case value_kind::year: t::append_number(out, std::get<year>(v).value); return {};
        case value_kind::bit: t::append_number(out, std::get<bit>(v).bits); return {};
        case value_kind::enumeration: {
            const auto& e = std::get<enum_value>(v);
            if (!e.name.empty() || e.index == 0) append_text(out, e.name);
            else t::append_number(out, e.index);
            return {};
        }
        case value_kind::set: {
            const auto& s = std::get<set_value>(v);
            if (!s.names.empty() || s.mask == 0) append_text(out, s.names);
            else t::append_number(out, s.mask);
            return {};
        }
        case value_kind::json: append_text(out, std::get<json_text>(v).text); return {};
        case value_kind::geometry: {
            const auto& g = std::get<geometry>(v);
            out += "ST_GeomFromWKB(";
            append_hex(out, g.wkb);
            out += ", ";
            t::append_number(out, g.srid);
            out += ')';
            return {};
        }
    }
    return bad_value(where, "unknown value kind");
}

inline void append_list(std::string& out, const std::vector<std::string>& members) {
    out += '(';
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        out += quote_string(members[i]);  // no introducer allowed here: the column's CHARACTER SET applies
    }
    out += ')';
}

/// The SQL type of a column for CREATE/ALTER TABLE, from its column_type. A column whose
/// type is not known (no binlog_row_metadata=FULL, a trigger message) is refused.
inline result<std::string> column_sql_type(const column& c, std::string_view where) {
    const column_type& t = c.type;
    std::string s;
    auto len = [&](std::string_view name, std::uint32_t n) {
        s = std::string(name) + "(" + std::to_string(n) + ")";
    };
    auto charset = [&] {
        // Text columns are created in their source character set when the event names one.
        std::string cs = t.charset;
        if (cs.empty() || cs.find(' ') != std::string::npos || cs == "binary") cs = "utf8mb4";
        s += " CHARACTER SET " + cs;
    };
    switch (t.type) {
        case sql_type::unknown:
            return error::make(errc::unsupported, "sql", where,
                               "column '" + c.name + "' has no known SQL type (binlog_row_metadata=FULL is needed)");
        case sql_type::tinyint: s = "TINYINT"; break;
        case sql_type::smallint: s = "SMALLINT"; break;
        case sql_type::mediumint: s = "MEDIUMINT"; break;
        case sql_type::int_: s = "INT"; break;
        case sql_type::bigint: s = "BIGINT"; break;
        case sql_type::decimal: s = "DECIMAL(" + std::to_string(t.precision) + "," + std::to_string(t.scale) + ")"; break;
        case sql_type::float_: s = "FLOAT"; break;
        case sql_type::double_: s = "DOUBLE"; break;
        case sql_type::bit: len("BIT", t.length ? t.length : 1); break;
        case sql_type::year: s = "YEAR"; break;
        case sql_type::date: s = "DATE"; break;
        case sql_type::time: len("TIME", t.fsp); break;
        case sql_type::datetime: len("DATETIME", t.fsp); break;
        case sql_type::timestamp: len("TIMESTAMP", t.fsp); break;
        case sql_type::char_: len("CHAR", t.length); charset(); break;
        case sql_type::varchar: len("VARCHAR", t.length); charset(); break;
        case sql_type::binary: len("BINARY", t.length); break;
        case sql_type::varbinary: len("VARBINARY", t.length); break;
        case sql_type::tinytext: s = "TINYTEXT"; charset(); break;
        case sql_type::text: s = "TEXT"; charset(); break;
        case sql_type::mediumtext: s = "MEDIUMTEXT"; charset(); break;
        case sql_type::longtext: s = "LONGTEXT"; charset(); break;
        case sql_type::tinyblob: s = "TINYBLOB"; break;
        case sql_type::blob: s = "BLOB"; break;
        case sql_type::mediumblob: s = "MEDIUMBLOB"; break;
        case sql_type::longblob: s = "LONGBLOB"; break;
        case sql_type::enum_:
        case sql_type::set:
            if (t.members.empty())
                return error::make(errc::unsupported, "sql", where,
                                   "column '" + c.name + "': the ENUM/SET members are not known (binlog_row_metadata=FULL is needed)");
            s = t.type == sql_type::enum_ ? "ENUM" : "SET";
            append_list(s, t.members);
            s += " CHARACTER SET utf8mb4";
            break;
        case sql_type::json: s = "JSON"; break;
        case sql_type::geometry: s = t.geometry_type.empty() ? std::string("GEOMETRY") : t.geometry_type; break;
        case sql_type::uuid: s = "UUID"; break;
        case sql_type::inet4: s = "INET4"; break;
        case sql_type::inet6: s = "INET6"; break;
    }
    if (t.is_unsigned && (natural_kind(t.type, true) == value_kind::uint64 || t.type == sql_type::decimal ||
                          t.type == sql_type::float_ || t.type == sql_type::double_))
        s += " UNSIGNED";
    return s;
}

/// information_schema.COLUMNS.DATA_TYPE of what column_sql_type() creates (to recognise a
/// column whose type changed).
inline std::string_view data_type_name(sql_type t) noexcept {
    switch (t) {
        case sql_type::json: return "longtext";  // MariaDB: JSON is LONGTEXT with a check
        case sql_type::enum_: return "enum";
        case sql_type::set: return "set";
        default: return to_string(t);
    }
}

}  // namespace detail::sql
ROWCAST_NAMESPACE_END
