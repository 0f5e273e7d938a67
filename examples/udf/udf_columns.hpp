// Column descriptors and argument conversion for rowcast_event() (docs/udf.md).
//
// A descriptor string describes one column the way a CREATE TABLE line does:
//     `name` <COLUMN_TYPE> [UNSIGNED] [ZEROFILL] [CHARACTER SET cs] [COLLATE c] [NOT NULL] [PRIMARY KEY]
// e.g. "`id` bigint(20) unsigned not null primary key", "`e` enum('a','b''c')",
// "`ts` timestamp(6)", "`j` json". The name is backtick-quoted (a backtick inside
// doubled) or a bare word without spaces; the type is information_schema.COLUMNS.
// COLUMN_TYPE (case-insensitive); "pk" is short for PRIMARY KEY.
//
// convert_argument() turns one UDF argument (its result type and bytes) into the
// typed value the column's type calls for. Nothing here throws on bad input: errors
// come back as strings; it never reads outside the bytes it is given.
//
// Thread-safety: free functions on their arguments only.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/value.hpp>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace rowcast::udf {

/// The UDF argument result types we distinguish (mirrors Item_result, without the server header).
enum class arg_kind { string, real, integer, decimal, other };

namespace detail {

inline char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

inline bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

struct cursor {
    std::string_view s;
    std::size_t i = 0;
    void skip_ws() noexcept {
        while (i < s.size() && is_space(s[i])) ++i;
    }
    bool done() noexcept {
        skip_ws();
        return i >= s.size();
    }
    // A run of letters, digits and '_' (lower-cased).
    std::string word() {
        skip_ws();
        std::string w;
        while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) w += lower(s[i++]);
        return w;
    }
};

// A '…' literal at c.i (quote doubled or backslash-escaped inside).
inline bool quoted(cursor& c, std::string& out, std::string& err) {
    if (c.i >= c.s.size() || c.s[c.i] != '\'') {
        err = "expected a quoted member name";
        return false;
    }
    ++c.i;
    while (c.i < c.s.size()) {
        const char ch = c.s[c.i++];
        if (ch == '\'') {
            if (c.i < c.s.size() && c.s[c.i] == '\'') {
                out += '\'';
                ++c.i;
                continue;
            }
            return true;
        }
        if (ch == '\\' && c.i < c.s.size()) {
            const char e = c.s[c.i++];
            switch (e) {
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case '0': out += '\0'; break;
                case 'Z': out += '\x1a'; break;
                default: out += e;
            }
            continue;
        }
        out += ch;
    }
    err = "unterminated quoted member name";
    return false;
}

inline bool number(cursor& c, std::uint32_t& v) {
    c.skip_ws();
    const char* b = c.s.data() + c.i;
    const char* e = c.s.data() + c.s.size();
    auto r = std::from_chars(b, e, v);
    if (r.ec != std::errc{}) return false;
    c.i += static_cast<std::size_t>(r.ptr - b);
    return true;
}

}  // namespace detail

/// Parses one descriptor into `col`. Returns false with `err` set on malformed input.
inline bool parse_descriptor(std::string_view d, column& col, std::string& err) {
    using namespace detail;
    col = column{};
    cursor c{d};
    c.skip_ws();
    if (c.i >= d.size()) {
        err = "empty column descriptor";
        return false;
    }
    if (d[c.i] == '`') {
        ++c.i;
        bool closed = false;
        while (c.i < d.size()) {
            const char ch = d[c.i++];
            if (ch == '`') {
                if (c.i < d.size() && d[c.i] == '`') {
                    col.name += '`';
                    ++c.i;
                    continue;
                }
                closed = true;
                break;
            }
            col.name += ch;
        }
        if (!closed) {
            err = "unterminated `name` in column descriptor";
            return false;
        }
    } else {
        while (c.i < d.size() && !is_space(d[c.i])) col.name += d[c.i++];
    }
    if (col.name.empty()) {
        err = "column descriptor has an empty name";
        return false;
    }
    std::string base = c.word();
    if (base.empty()) {
        err = "column descriptor for `" + col.name + "` has no type";
        return false;
    }
    if (base == "double") {  // "double precision"
        const std::size_t save = c.i;
        if (c.word() != "precision") c.i = save;
    }
    column_type& t = col.type;
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
        err = "column `" + col.name + "`: unknown type '" + base + "'";
        return false;
    }
    c.skip_ws();
    if (c.i < d.size() && d[c.i] == '(') {
        ++c.i;
        if (t.type == sql_type::enum_ || t.type == sql_type::set) {
            for (;;) {
                c.skip_ws();
                std::string m;
                if (!quoted(c, m, err)) {
                    err = "column `" + col.name + "`: " + err;
                    return false;
                }
                t.members.push_back(std::move(m));
                c.skip_ws();
                if (c.i < d.size() && d[c.i] == ',') {
                    ++c.i;
                    continue;
                }
                break;
            }
        } else {
            std::uint32_t a = 0, b = 0;
            bool two = false;
            if (!number(c, a)) {
                err = "column `" + col.name + "`: bad type parameter";
                return false;
            }
            c.skip_ws();
            if (c.i < d.size() && d[c.i] == ',') {
                ++c.i;
                if (!number(c, b)) {
                    err = "column `" + col.name + "`: bad type parameter";
                    return false;
                }
                two = true;
            }
            switch (t.type) {
                case sql_type::decimal:
                    if (a > 65 || b > 38) {
                        err = "column `" + col.name + "`: DECIMAL precision out of range";
                        return false;
                    }
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
                    if (a > 6) {
                        err = "column `" + col.name + "`: fractional seconds precision over 6";
                        return false;
                    }
                    t.fsp = static_cast<std::uint8_t>(a);
                    break;
                case sql_type::bit:
                    if (a < 1 || a > 64) {
                        err = "column `" + col.name + "`: BIT width must be 1-64";
                        return false;
                    }
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
        if (c.i >= d.size() || d[c.i] != ')') {
            err = "column `" + col.name + "`: missing ')' after the type parameters";
            return false;
        }
        ++c.i;
    } else if (t.type == sql_type::bit) {
        t.length = 1;
    } else if (t.type == sql_type::enum_ || t.type == sql_type::set) {
        err = "column `" + col.name + "`: ENUM/SET without a member list";
        return false;
    }
    if (t.type == sql_type::set && t.members.size() > 64) {
        err = "column `" + col.name + "`: SET with more than 64 members";
        return false;
    }
    if (t.type == sql_type::enum_ && t.members.size() > 65535) {
        err = "column `" + col.name + "`: ENUM with more than 65535 members";
        return false;
    }
    while (!c.done()) {
        const std::string w = c.word();
        if (w == "unsigned") t.is_unsigned = true;
        else if (w == "zerofill" || w == "signed") {
        } else if (w == "pk") col.primary_key = true;
        else if (w == "primary") {
            if (c.word() != "key") {
                err = "column `" + col.name + "`: expected KEY after PRIMARY";
                return false;
            }
            col.primary_key = true;
        } else if (w == "not") {
            if (c.word() != "null") {
                err = "column `" + col.name + "`: expected NULL after NOT";
                return false;
            }
            col.nullable = false;
        } else if (w == "null") {
            col.nullable = true;
        } else if (w == "character" || w == "charset" || w == "collate") {
            if (w == "character" && c.word() != "set") {
                err = "column `" + col.name + "`: expected SET after CHARACTER";
                return false;
            }
            std::string v = c.word();
            if (v.empty()) {
                err = "column `" + col.name + "`: missing name after " + w;
                return false;
            }
            if (w != "collate") t.charset = std::move(v);
        } else {
            err = "column `" + col.name + "`: unexpected '" +
                  (w.empty() ? std::string(d.substr(c.i, 20)) : w) + "' in column descriptor";
            return false;
        }
    }
    if (t.type == sql_type::json && t.charset.empty()) t.charset = "utf8mb4";
    return true;
}

namespace detail {

template <class T>
bool parse_int(std::string_view s, T& v) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// Integer from a decimal text "123" or "123.000" (fraction must be zero).
template <class T>
bool parse_integral_decimal(std::string_view s, T& v) {
    const std::size_t dot = s.find('.');
    if (dot != std::string_view::npos) {
        for (std::size_t i = dot + 1; i < s.size(); ++i)
            if (s[i] != '0') return false;
        s = s.substr(0, dot);
    }
    return parse_int(s, v);
}

inline bool parse_double(std::string_view s, double& v) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return rowcast::detail::parse_number(s, v);
}

inline std::string number_text(arg_kind k, std::string_view bytes) {
    std::string out;
    if (k == arg_kind::integer && bytes.size() == sizeof(long long)) {
        long long v;
        std::memcpy(&v, bytes.data(), sizeof v);
        rowcast::detail::append_number(out, v);
    } else if (k == arg_kind::real && bytes.size() == sizeof(double)) {
        double v;
        std::memcpy(&v, bytes.data(), sizeof v);
        rowcast::detail::append_number(out, v);
    } else {
        out.assign(bytes);
    }
    return out;
}

// Seconds since the epoch as decimal text ("1795352710.123456") -> microseconds.
inline bool epoch_decimal_to_us(std::string_view s, std::int64_t& us) {
    const std::size_t dot = s.find('.');
    std::int64_t secs = 0;
    if (!parse_int(s.substr(0, dot), secs)) return false;
    std::int64_t frac = 0;
    if (dot != std::string_view::npos) {
        std::string_view f = s.substr(dot + 1);
        if (f.size() > 6) f = f.substr(0, 6);  // UNIX_TIMESTAMP gives at most 6 digits
        std::int64_t scale = 100000;
        for (char ch : f) {
            if (ch < '0' || ch > '9') return false;
            frac += (ch - '0') * scale;
            scale /= 10;
        }
    }
    if (secs < 0 || secs > 253402300799LL) return false;
    us = secs * 1000000 + frac;
    return true;
}

}  // namespace detail

/// Converts one argument to the column's typed value. `bytes` is the argument's
/// value as the server passes it: for integer arguments the 8 bytes of a long
/// long, for real ones the 8 bytes of a double, else the string (any bytes).
/// A null argument must be handled by the caller (null_value). Returns false
/// with `err` naming the column on a value that does not fit the type.
inline bool convert_argument(const column& col, arg_kind k, std::string_view bytes, value& out, std::string& err) {
    using namespace detail;
    const column_type& t = col.type;
    auto bad = [&](std::string_view what) {
        err = "column `" + col.name + "` (" + std::string(to_string(t.type)) + "): " + std::string(what);
        return false;
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

    switch (t.type) {
        case sql_type::tinyint:
        case sql_type::smallint:
        case sql_type::mediumint:
        case sql_type::int_:
        case sql_type::bigint: {
            if (t.is_unsigned) {
                std::uint64_t u = 0;
                if (k == arg_kind::integer) u = static_cast<std::uint64_t>(ival);  // the server passes UNSIGNED as its bits
                else if (k == arg_kind::real) {
                    if (!(rval >= 0 && rval < 18446744073709551616.0) || rval != static_cast<double>(static_cast<std::uint64_t>(rval)))
                        return bad("real value is not an unsigned integer");
                    u = static_cast<std::uint64_t>(rval);
                } else if (!parse_integral_decimal(bytes, u)) return bad("not an unsigned integer: '" + std::string(bytes.substr(0, 40)) + "'");
                out = u;
            } else {
                std::int64_t s = 0;
                if (k == arg_kind::integer) s = ival;
                else if (k == arg_kind::real) {
                    if (!(rval >= -9223372036854775808.0 && rval < 9223372036854775808.0) ||
                        rval != static_cast<double>(static_cast<std::int64_t>(rval)))
                        return bad("real value is not an integer");
                    s = static_cast<std::int64_t>(rval);
                } else if (!parse_integral_decimal(bytes, s)) return bad("not an integer: '" + std::string(bytes.substr(0, 40)) + "'");
                out = s;
            }
            return true;
        }
        case sql_type::decimal: {
            std::string s = number_text(k, bytes);
            if (!rowcast::detail::valid_decimal(s)) return bad("not a decimal number: '" + s.substr(0, 40) + "'");
            if (!s.empty() && s.front() == '+') s.erase(0, 1);
            out = decimal{std::move(s)};
            return true;
        }
        case sql_type::float_:
        case sql_type::double_: {
            double v = rval;
            if (k == arg_kind::integer) v = static_cast<double>(ival);
            else if (textual && !parse_double(bytes, v)) return bad("not a number: '" + std::string(bytes.substr(0, 40)) + "'");
            if (t.type == sql_type::float_) out = static_cast<float>(v);
            else out = v;
            return true;
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
            out = bit{bits, static_cast<std::uint8_t>(w)};
            return true;
        }
        case sql_type::year: {
            std::int64_t y = ival;
            if (k == arg_kind::real) y = static_cast<std::int64_t>(rval);
            else if (textual && !parse_integral_decimal(bytes, y)) return bad("not a year: '" + std::string(bytes.substr(0, 40)) + "'");
            if (y != 0 && (y < 1901 || y > 2155)) return bad("year out of range");
            out = year{static_cast<std::uint16_t>(y)};
            return true;
        }
        case sql_type::date: {
            date d;
            std::string s = number_text(k, bytes);
            if (!rowcast::detail::parse_date(s, d)) return bad("not a date: '" + s.substr(0, 40) + "'");
            out = d;
            return true;
        }
        case sql_type::datetime: {
            datetime d;
            std::string s = number_text(k, bytes);
            if (!rowcast::detail::parse_datetime(s, d)) return bad("not a datetime: '" + s.substr(0, 40) + "'");
            out = d;
            return true;
        }
        case sql_type::time: {
            time tm;
            std::string s = number_text(k, bytes);
            if (!rowcast::detail::parse_time(s, tm)) return bad("not a time: '" + s.substr(0, 40) + "'");
            out = tm;
            return true;
        }
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
                if (!epoch_decimal_to_us(bytes, us)) return bad("not epoch seconds: '" + std::string(bytes.substr(0, 40)) + "'");
            } else {
                timestamp ts;
                if (!rowcast::detail::parse_timestamp(bytes, ts))
                    return bad("not a timestamp: '" + std::string(bytes.substr(0, 40)) + "'");
                us = ts.microseconds;
            }
            out = timestamp{us};
            return true;
        }
        case sql_type::enum_: {
            if (k == arg_kind::integer) {
                if (ival < 0 || static_cast<std::uint64_t>(ival) > t.members.size()) return bad("ENUM index out of range");
                out = enum_value{ival == 0 ? std::string() : t.members[static_cast<std::size_t>(ival - 1)],
                                 static_cast<std::uint16_t>(ival)};
                return true;
            }
            std::string name = number_text(k, bytes);
            std::uint16_t index = 0;
            for (std::size_t i = 0; i < t.members.size() && index == 0; ++i)
                if (t.members[i] == name) index = static_cast<std::uint16_t>(i + 1);
            for (std::size_t i = 0; i < t.members.size() && index == 0; ++i)
                if (iequals(t.members[i], name)) index = static_cast<std::uint16_t>(i + 1);
            if (index == 0 && !name.empty()) return bad("'" + name.substr(0, 40) + "' is not a member");
            out = enum_value{std::move(name), index};
            return true;
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
                names = number_text(k, bytes);
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
                    if (!found) return bad("'" + std::string(m.substr(0, 40)) + "' is not a member");
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
            }
            out = set_value{std::move(names), mask};
            return true;
        }
        case sql_type::json: out = json_text{number_text(k, bytes)}; return true;
        case sql_type::binary:
        case sql_type::varbinary:
        case sql_type::tinyblob:
        case sql_type::blob:
        case sql_type::mediumblob:
        case sql_type::longblob: out = rowcast::bytes{number_text(k, bytes)}; return true;
        case sql_type::geometry: {
            if (!textual || bytes.size() < 4) return bad("geometry value shorter than its 4-byte SRID");
            std::uint32_t srid = 0;
            for (int i = 3; i >= 0; --i) srid = (srid << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
            out = geometry{srid, std::string(bytes.substr(4))};
            return true;
        }
        case sql_type::unknown:
            if (k == arg_kind::integer) out = std::int64_t{ival};
            else if (k == arg_kind::real) out = rval;
            else if (k == arg_kind::decimal) out = decimal{std::string(bytes)};
            else out = text{std::string(bytes)};
            return true;
        default:  // character data, UUID, INET4/6: text
            out = text{number_text(k, bytes)};
            return true;
    }
}

}  // namespace rowcast::udf
