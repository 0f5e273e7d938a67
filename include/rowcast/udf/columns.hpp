// rowcast/udf/columns.hpp: column descriptors and argument conversion for the
// loadable function rowcast_event() (docs/udf.md).
//
// A descriptor string describes one column the way a CREATE TABLE line does:
//     `name` <COLUMN_TYPE> [UNSIGNED] [ZEROFILL] [CHARACTER SET cs] [COLLATE c] [NOT NULL] [PRIMARY KEY]
// e.g. "`id` bigint(20) unsigned not null primary key", "`e` enum('a','b''c')",
// "`ts` timestamp(6)", "`j` json". The name is backtick-quoted (a backtick inside
// doubled) or a bare word without spaces; the type is information_schema.COLUMNS.
// COLUMN_TYPE (case-insensitive); "pk" is short for PRIMARY KEY.
//
// parse_descriptor() turns a descriptor into a `column`; convert_argument() turns
// one UDF argument (its result type and bytes) into the typed value the column's
// type calls for. Neither needs the server's headers: the caller maps the
// server's Item_result to `arg_kind` and passes the argument's bytes.
//
// Errors: nothing here throws on bad input (only std::bad_alloc); errors come back
// as result<T> with messages "[rowcast.udf.<errc>] column `name`: <what>":
// errc::syntax_error for a descriptor that does not parse, errc::invalid_value for
// a descriptor parameter out of range or a value that does not fit the column.
// Nothing reads outside the bytes it is given.
//
// Thread-safety: free functions on their arguments only.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/udf/detail/columns.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

/// The UDF argument result types rowcast distinguishes (the server's Item_result
/// STRING_RESULT, REAL_RESULT, INT_RESULT, DECIMAL_RESULT; anything else is `other`).
enum class arg_kind { string, real, integer, decimal, other };

/// Parses one descriptor. Errors: errc::syntax_error (malformed text, unknown
/// type), errc::invalid_value (DECIMAL precision, fractional seconds, BIT width,
/// ENUM/SET member count out of range), message naming the column when known.
inline result<column> parse_descriptor(std::string_view d) {
    using namespace detail::udf;
    column col;
    column_type& t = col.type;
    auto fail = [&](errc e, std::string_view what) -> error {
        return error::make(e, "udf", col.name.empty() ? std::string("column descriptor") : "column `" + col.name + "`",
                           what);
    };
    cursor c{d};
    c.skip_ws();
    if (c.i >= d.size()) return fail(errc::syntax_error, "empty column descriptor");
    if (auto bad = column_name(c, col.name); !bad.empty()) return fail(errc::syntax_error, bad);
    if (col.name.empty()) return fail(errc::syntax_error, "has an empty name");
    std::string base = c.word();
    if (base.empty()) return fail(errc::syntax_error, "has no type");
    if (base == "double") {  // "double precision"
        const std::size_t save = c.i;
        if (c.word() != "precision") c.i = save;
    }
    static constexpr std::string_view geometry_types[] = {"point",      "linestring",      "polygon",
                                                          "multipoint", "multilinestring", "multipolygon",
                                                          "geometrycollection"};
    bool geometry_sub = false;
    for (auto g : geometry_types) geometry_sub |= base == g;
    if (geometry_sub) {
        t.type = sql_type::geometry;
        t.geometry_type = base;
    } else if (base == "json") {
        t.type = sql_type::json;
    } else if (base == "dec" || base == "fixed") {
        t.type = sql_type::decimal;
    } else if (base == "int1" || base == "int2" || base == "int3" || base == "int4" || base == "int8") {
        static constexpr sql_type m[] = {sql_type::tinyint, sql_type::smallint, sql_type::mediumint, sql_type::int_,
                                         sql_type::int_,    sql_type::int_,     sql_type::int_,      sql_type::bigint};
        t.type = m[base[3] - '1'];
    } else if (auto p = parse_sql_type(base)) {
        t.type = *p;
    } else {
        return fail(errc::syntax_error, "unknown type '" + base + "'");
    }
    c.skip_ws();
    if (c.at('(')) {
        ++c.i;
        if (t.type == sql_type::enum_ || t.type == sql_type::set) {
            for (;;) {
                c.skip_ws();
                std::string m;
                if (auto bad = quoted(c, m); !bad.empty()) return fail(errc::syntax_error, bad);
                t.members.push_back(std::move(m));
                c.skip_ws();
                if (!c.at(',')) break;
                ++c.i;
            }
        } else {
            std::uint32_t a = 0, b = 0;
            bool two = false;
            if (!number(c, a)) return fail(errc::syntax_error, "bad type parameter");
            c.skip_ws();
            if (c.at(',')) {
                ++c.i;
                if (!number(c, b)) return fail(errc::syntax_error, "bad type parameter");
                two = true;
            }
            switch (t.type) {
                case sql_type::decimal:
                    if (a > 65 || b > 38) return fail(errc::invalid_value, "DECIMAL precision out of range");
                    t.precision = static_cast<std::uint8_t>(a);
                    t.scale = static_cast<std::uint8_t>(b);
                    break;
                case sql_type::float_:
                case sql_type::double_:
                    if (two) {
                        t.precision = static_cast<std::uint8_t>(a > 255 ? 255 : a);
                        t.scale = static_cast<std::uint8_t>(b > 255 ? 255 : b);
                    } else if (t.type == sql_type::float_ && a > 24) {
                        t.type = sql_type::double_;  // FLOAT(p), p > 24, is a DOUBLE
                    }
                    break;
                case sql_type::time:
                case sql_type::datetime:
                case sql_type::timestamp:
                    if (a > 6) return fail(errc::invalid_value, "fractional seconds precision over 6");
                    t.fsp = static_cast<std::uint8_t>(a);
                    break;
                case sql_type::bit:
                    if (a < 1 || a > 64) return fail(errc::invalid_value, "BIT width must be 1-64");
                    t.length = a;
                    break;
                case sql_type::char_:
                case sql_type::varchar:
                case sql_type::binary:
                case sql_type::varbinary: t.length = a; break;
                default: break;  // display widths (int(11), year(4)) carry no meaning
            }
        }
        c.skip_ws();
        if (!c.at(')')) return fail(errc::syntax_error, "missing ')' after the type parameters");
        ++c.i;
    } else if (t.type == sql_type::bit) {
        t.length = 1;
    } else if (t.type == sql_type::enum_ || t.type == sql_type::set) {
        return fail(errc::syntax_error, "ENUM/SET without a member list");
    }
    if (t.type == sql_type::set && t.members.size() > 64) return fail(errc::invalid_value, "SET with more than 64 members");
    if (t.type == sql_type::enum_ && t.members.size() > 65535)
        return fail(errc::invalid_value, "ENUM with more than 65535 members");
    while (!c.done()) {
        const std::string w = c.word();
        if (w == "unsigned") t.is_unsigned = true;
        else if (w == "zerofill" || w == "signed") {
        } else if (w == "pk") col.primary_key = true;
        else if (w == "primary") {
            if (c.word() != "key") return fail(errc::syntax_error, "expected KEY after PRIMARY");
            col.primary_key = true;
        } else if (w == "not") {
            if (c.word() != "null") return fail(errc::syntax_error, "expected NULL after NOT");
            col.nullable = false;
        } else if (w == "null") {
            col.nullable = true;
        } else if (w == "character" || w == "charset" || w == "collate") {
            if (w == "character" && c.word() != "set") return fail(errc::syntax_error, "expected SET after CHARACTER");
            std::string v = c.word();
            if (v.empty()) return fail(errc::syntax_error, "missing name after " + w);
            if (w != "collate") t.charset = std::move(v);
        } else {
            return fail(errc::syntax_error, "unexpected '" + (w.empty() ? std::string(d.substr(c.i, 20)) : w) +
                                                "' in column descriptor");
        }
    }
    if (t.type == sql_type::json && t.charset.empty()) t.charset = "utf8mb4";
    return col;
}

/// Converts one argument to the column's typed value.
///
/// `bytes` is the argument's value as the server passes it: for `integer` the 8
/// bytes of a long long (UNSIGNED columns: its bits), for `real` the 8 bytes of a
/// double, else the string (any bytes). Numbers passed to TIMESTAMP columns are
/// seconds since the epoch (UTC); strings are "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC.
/// A SQL NULL argument is the caller's to handle (null_value).
/// Errors: errc::invalid_value "[rowcast.udf.invalid_value] column `c` (type): <what>"
/// for a value that does not fit the type, including an integer or real argument
/// whose size is not 8.
inline result<value> convert_argument(const column& col, arg_kind k, std::string_view bytes) {
    using namespace detail::udf;
    using rowcast::detail::append_number;
    const column_type& t = col.type;
    auto bad = [&](std::string_view what) -> error {
        return error::make(errc::invalid_value, "udf", "column `" + col.name + "` (" + std::string(to_string(t.type)) + ")",
                           what);
    };
    long long ival = 0;
    double rval = 0;
    if (k == arg_kind::integer) {
        if (bytes.size() != sizeof ival) return bad("integer argument of the wrong size");
        std::memcpy(&ival, bytes.data(), sizeof ival);
    } else if (k == arg_kind::real) {
        if (bytes.size() != sizeof rval) return bad("real argument of the wrong size");
        std::memcpy(&rval, bytes.data(), sizeof rval);
    }
    const bool textual = k == arg_kind::string || k == arg_kind::decimal || k == arg_kind::other;
    // The argument as text: integers and reals printed, anything else as given.
    auto as_text = [&] {
        std::string s;
        if (k == arg_kind::integer) append_number(s, ival);
        else if (k == arg_kind::real) append_number(s, rval);
        else s.assign(bytes);
        return s;
    };
    // An integer column's value: integers as given (UNSIGNED columns get the bits the server
    // passes), reals only when whole and in range, text as "123" or "123.000".
    auto integral = [&]<class I>(I v, const std::string& what) -> result<value> {
        constexpr bool is_signed = std::is_signed_v<I>;
        constexpr double lo = is_signed ? -9223372036854775808.0 : 0.0;
        constexpr double hi = is_signed ? 9223372036854775808.0 : 18446744073709551616.0;
        if (k == arg_kind::integer) v = static_cast<I>(ival);
        else if (k == arg_kind::real) {
            if (!(rval >= lo && rval < hi) || rval != static_cast<double>(static_cast<I>(rval)))
                return bad("real value is not an " + what);
            v = static_cast<I>(rval);
        } else if (!parse_integral_decimal(bytes, v))
            return bad("not an " + what + ": '" + excerpt(bytes) + "'");
        return value{v};
    };
    // A date/time type from the argument's text.
    auto from_text = [&]<class T>(bool (*parse)(std::string_view, T&) noexcept, std::string_view what) -> result<value> {
        T v{};
        const std::string s = as_text();
        if (!parse(s, v)) return bad(std::string(what) + ": '" + excerpt(s) + "'");
        return value{v};
    };

    switch (t.type) {
        case sql_type::tinyint:
        case sql_type::smallint:
        case sql_type::mediumint:
        case sql_type::int_:
        case sql_type::bigint:
            return t.is_unsigned ? integral(std::uint64_t{}, "unsigned integer") : integral(std::int64_t{}, "integer");
        case sql_type::decimal: {
            std::string s = as_text();
            if (!rowcast::detail::valid_decimal(s)) return bad("not a decimal number: '" + excerpt(s) + "'");
            if (!s.empty() && s.front() == '+') s.erase(0, 1);
            return value{decimal{std::move(s)}};
        }
        case sql_type::float_:
        case sql_type::double_: {
            double v = rval;
            if (k == arg_kind::integer) v = static_cast<double>(ival);
            else if (textual && !parse_double(bytes, v)) return bad("not a number: '" + excerpt(bytes) + "'");
            if (t.type == sql_type::float_) return value{static_cast<float>(v)};
            return value{v};
        }
        case sql_type::bit: {
            std::uint64_t bits = 0;
            if (k == arg_kind::integer) bits = static_cast<std::uint64_t>(ival);
            else if (k == arg_kind::real) bits = static_cast<std::uint64_t>(rval);
            else {
                // The raw BIT value: big-endian bytes (pass `col + 0` to get an integer instead).
                if (bytes.size() > 8) return bad("BIT value longer than 8 bytes");
                for (unsigned char ch : bytes) bits = (bits << 8) | ch;
            }
            const unsigned w = t.length ? t.length : 1;
            if (w < 64 && (bits >> w) != 0) return bad("BIT value wider than the column");
            return value{bit{bits, static_cast<std::uint8_t>(w)}};
        }
        case sql_type::year: {
            std::int64_t y = ival;
            if (k == arg_kind::real) y = static_cast<std::int64_t>(rval);
            else if (textual && !parse_integral_decimal(bytes, y)) return bad("not a year: '" + excerpt(bytes) + "'");
            if (y != 0 && (y < 1901 || y > 2155)) return bad("year out of range");
            return value{year{static_cast<std::uint16_t>(y)}};
        }
        case sql_type::date: return from_text(rowcast::detail::parse_date, "not a date");
        case sql_type::datetime: return from_text(rowcast::detail::parse_datetime, "not a datetime");
        case sql_type::time: return from_text(rowcast::detail::parse_time, "not a time");
        case sql_type::timestamp: {
            // Numbers are seconds since the epoch (UNIX_TIMESTAMP(col), what the generator passes);
            // strings are read as UTC ("YYYY-MM-DD HH:MM:SS[.ffffff]").
            std::int64_t us = 0;
            if (k == arg_kind::integer) {
                if (ival < 0 || ival > 253402300799LL) return bad("epoch seconds out of range");
                us = ival * 1000000;
            } else if (k == arg_kind::real) {
                if (!(rval >= 0 && rval < 253402300800.0)) return bad("epoch seconds out of range");
                us = static_cast<std::int64_t>(rval * 1e6 + 0.5);
            } else if (k == arg_kind::decimal) {
                if (!epoch_decimal_to_us(bytes, us)) return bad("not epoch seconds: '" + excerpt(bytes) + "'");
            } else {
                timestamp ts;
                if (!rowcast::detail::parse_timestamp(bytes, ts)) return bad("not a timestamp: '" + excerpt(bytes) + "'");
                us = ts.microseconds;
            }
            return value{timestamp{us}};
        }
        case sql_type::enum_: {
            if (k == arg_kind::integer) {
                if (ival < 0 || static_cast<std::uint64_t>(ival) > t.members.size()) return bad("ENUM index out of range");
                return value{enum_value{ival == 0 ? std::string() : t.members[static_cast<std::size_t>(ival - 1)],
                                        static_cast<std::uint16_t>(ival)}};
            }
            std::string name = as_text();
            std::uint16_t index = 0;
            for (std::size_t i = 0; i < t.members.size() && index == 0; ++i)
                if (t.members[i] == name) index = static_cast<std::uint16_t>(i + 1);
            for (std::size_t i = 0; i < t.members.size() && index == 0; ++i)
                if (iequals(t.members[i], name)) index = static_cast<std::uint16_t>(i + 1);
            if (index == 0 && !name.empty()) return bad("'" + excerpt(name) + "' is not a member");
            return value{enum_value{std::move(name), index}};
        }
        case sql_type::set: {
            std::uint64_t mask = 0;
            std::string names;
            if (k == arg_kind::integer) {
                mask = static_cast<std::uint64_t>(ival);
                if (t.members.size() < 64 && (mask >> t.members.size()) != 0) return bad("SET mask has unknown members");
                for (std::size_t i = 0; i < t.members.size(); ++i)
                    if (mask & (std::uint64_t{1} << i)) {
                        if (!names.empty()) names += ',';
                        names += t.members[i];
                    }
            } else {
                names = as_text();
                std::string_view rest = names;
                while (!rest.empty()) {
                    const std::size_t comma = rest.find(',');
                    const std::string_view m = rest.substr(0, comma);
                    bool found = false;
                    for (std::size_t i = 0; i < t.members.size() && !found; ++i)
                        if (t.members[i] == m || iequals(t.members[i], m)) {
                            mask |= std::uint64_t{1} << i;
                            found = true;
                        }
                    if (!found) return bad("'" + excerpt(m) + "' is not a member");
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
            }
            return value{set_value{std::move(names), mask}};
        }
        case sql_type::json: return value{json_text{as_text()}};
        case sql_type::binary:
        case sql_type::varbinary:
        case sql_type::tinyblob:
        case sql_type::blob:
        case sql_type::mediumblob:
        case sql_type::longblob: return value{rowcast::bytes{as_text()}};
        case sql_type::geometry: {
            if (!textual || bytes.size() < 4) return bad("geometry value shorter than its 4-byte SRID");
            std::uint32_t srid = 0;
            for (int i = 3; i >= 0; --i) srid = (srid << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
            return value{geometry{srid, std::string(bytes.substr(4))}};
        }
        case sql_type::unknown:
            if (k == arg_kind::integer) return value{std::int64_t{ival}};
            if (k == arg_kind::real) return value{rval};
            if (k == arg_kind::decimal) return value{decimal{std::string(bytes)}};
            return value{text{std::string(bytes)}};
        default:  // character data, UUID, INET4/6: text
            return value{text{as_text()}};
    }
}

/// convert_argument() into `out`: the same value, but a character column's text argument
/// (CHAR, VARCHAR, the TEXT types, UUID, INET4/6 given as a string) is copied into the string
/// `out` already holds when it holds text, so converting row after row reuses its memory.
/// Errors: convert_argument()'s; `out` is then unspecified.
inline result<void> convert_argument(const column& col, arg_kind k, std::string_view bytes, value& out) {
    // unknown is text only for a string argument (convert_argument): not taken here.
    const bool character = col.type.type != sql_type::unknown &&
                           natural_kind(col.type.type, col.type.is_unsigned) == value_kind::text;
    if (character && k != arg_kind::integer && k != arg_kind::real) {  // convert_argument()'s default: the bytes as text
        if (auto* held = std::get_if<text>(&out)) held->utf8.assign(bytes);
        else out = text{std::string(bytes)};
        return {};
    }
    auto r = convert_argument(col, k, bytes);
    if (!r) return std::move(r.error_value());
    out = std::move(*r);
    return {};
}

}  // namespace udf
ROWCAST_NAMESPACE_END
