// Internal: decoding of one column value from a row image of a binlog rows
// event into a rowcast::value, per the column's wire type and metadata.
// Also: collation id -> character set, charset -> UTF-8 conversion, packed
// DECIMAL, temporal formats, and MySQL's binary JSON rendered as JSON text.
// Every function returns an empty string on success or a description of the
// problem; none has undefined behaviour on any input.
#pragma once

#include <rowcast/binlog/types.hpp>
#include <rowcast/column.hpp>
#include <rowcast/binlog/detail/arena.hpp>
#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <memory>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::binlog {

// MYSQL_TYPE_* codes.
enum : std::uint8_t {
    t_decimal = 0, t_tiny = 1, t_short = 2, t_long = 3, t_float = 4, t_double = 5, t_null = 6,
    t_timestamp = 7, t_longlong = 8, t_int24 = 9, t_date = 10, t_time = 11, t_datetime = 12,
    t_year = 13, t_newdate = 14, t_varchar = 15, t_bit = 16, t_timestamp2 = 17, t_datetime2 = 18,
    t_time2 = 19, t_json = 245, t_newdecimal = 246, t_enum = 247, t_set = 248, t_tiny_blob = 249,
    t_medium_blob = 250, t_long_blob = 251, t_blob = 252, t_var_string = 253, t_string = 254,
    t_geometry = 255,
};

enum class charset_kind : std::uint8_t { unknown, utf8mb4, utf8mb3, latin1, ascii, binary };

/// Character set of a collation id (MySQL 8 and MariaDB 10.x numbering).
inline charset_kind charset_of(std::uint32_t id) noexcept {
    switch (id) {
        case 63: return charset_kind::binary;
        case 5: case 8: case 15: case 31: case 47: case 48: case 49: case 94: return charset_kind::latin1;
        case 11: case 65: return charset_kind::ascii;
        case 33: case 76: case 83: case 223: return charset_kind::utf8mb3;
        case 45: case 46: return charset_kind::utf8mb4;
        default: break;
    }
    if (id >= 192 && id <= 215) return charset_kind::utf8mb3;
    if (id >= 224 && id <= 247) return charset_kind::utf8mb4;
    if (id >= 255 && id <= 323) return charset_kind::utf8mb4;  // MySQL 8 utf8mb4_0900_* and friends
    if (id >= 576 && id <= 607) return charset_kind::utf8mb3;  // MariaDB utf8mb3 extra collations
    if (id >= 608 && id <= 639) return charset_kind::utf8mb4;  // MariaDB utf8mb4 extra collations
    if (id >= 2048 && id <= 2303) return charset_kind::utf8mb3;  // MariaDB 10.10+ uca1400 utf8mb3
    if (id >= 2304 && id <= 2559) return charset_kind::utf8mb4;  // MariaDB 10.10+ uca1400 utf8mb4
    return charset_kind::unknown;
}

constexpr std::string_view to_string(charset_kind k) noexcept {
    constexpr std::string_view n[] = {"", "utf8mb4", "utf8mb3", "latin1", "ascii", "binary"};
    return n[static_cast<int>(k)];
}

/// MySQL's latin1 is Windows-1252 with the five undefined bytes mapped to C1 controls.
inline void latin1_to_utf8(std::string_view in, std::string& out) {
    static constexpr std::uint16_t c1[32] = {
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
    out.clear();
    out.reserve(in.size() * 2);
    for (char ch : in) {
        const auto b = static_cast<unsigned char>(ch);
        if (b < 0x80) out += ch;
        else if (b < 0xa0) append_utf8(out, c1[b - 0x80]);
        else append_utf8(out, b);
    }
}

/// True if every byte is below 0x80.
inline bool is_ascii(std::string_view s) noexcept {
    std::size_t i = 0;
    std::uint64_t acc = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, s.data() + i, 8);
        acc |= w;
    }
    for (; i < s.size(); ++i) acc |= static_cast<unsigned char>(s[i]);
    return (acc & 0x8080808080808080ULL) == 0;
}

/// Converts text bytes in `cs` to UTF-8. utf8mb3/utf8mb4/ascii are kept byte for byte.
inline std::string to_utf8(charset_kind cs, std::string_view in, std::string& out) {
    switch (cs) {
        case charset_kind::latin1: latin1_to_utf8(in, out); return {};
        case charset_kind::utf8mb4:
        case charset_kind::utf8mb3:
        case charset_kind::ascii:
        case charset_kind::binary: out.assign(in); return {};
        case charset_kind::unknown: break;
    }
    return "unsupported character set";
}

// ---------------------------------------------------------------------------
// DECIMAL (binary format of decimal2bin)

inline constexpr int dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
inline constexpr std::uint32_t pow10_u32[10] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                                                1000000000};

inline std::size_t decimal_size(int precision, int scale) noexcept {
    const int intg = precision - scale;
    return static_cast<std::size_t>((intg / 9) * 4 + dig2bytes[intg % 9] + (scale / 9) * 4 + dig2bytes[scale % 9]);
}

/// Writes v (< 10^width) as exactly `width` digits, two at a time.
inline void put_group(char* p, std::uint32_t v, int width) noexcept {
    static constexpr char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    int i = width;
    while (i >= 2) {
        const std::uint32_t r = v % 100;
        v /= 100;
        i -= 2;
        p[i] = pairs[2 * r];
        p[i + 1] = pairs[2 * r + 1];
    }
    if (i == 1) p[0] = static_cast<char>('0' + v);
}

/// Room for the text of any DECIMAL: sign, 65 digits, point.
inline constexpr std::size_t decimal_text_max = 72;

/// Decodes a packed DECIMAL(precision, scale) to exact text in `out`; returns the text's
/// length, or 0 with `error` set.
inline std::size_t decode_decimal_chars(cursor& c, int precision, int scale, char (&out)[decimal_text_max],
                                        const char*& error) noexcept {
    error = nullptr;
    if (precision < 1 || precision > 65 || scale < 0 || scale > 38 || scale > precision) {
        error = "bad DECIMAL precision/scale";
        return 0;
    }
    const std::size_t n = decimal_size(precision, scale);
    if (!c.has(n)) {
        error = "DECIMAL value truncated";
        return 0;
    }
    const unsigned char* in = c.here();
    c.skip(n);
    const bool negative = (in[0] & 0x80) == 0;
    const unsigned mask = negative ? 0xffu : 0x00u;  // negative numbers are stored complemented
    std::size_t off = 0;
    auto read = [&](int g, std::uint32_t& v) -> bool {  // one group of g digits, big-endian
        const int bytes = g == 9 ? 4 : dig2bytes[g];
        v = 0;
        for (int k = 0; k < bytes; ++k) {
            unsigned b = in[off + static_cast<std::size_t>(k)] ^ mask;
            if (off + static_cast<std::size_t>(k) == 0) b ^= 0x80;  // the sign bit
            v = v << 8 | b;
        }
        off += static_cast<std::size_t>(bytes);
        return v < pow10_u32[g];
    };
    char* o = out;
    if (negative) *o++ = '-';  // taken back below if the value is zero
    bool started = false, nonzero = false;
    auto int_group = [&](int g) -> bool {
        std::uint32_t v = 0;
        if (g == 0) return true;
        if (!read(g, v)) return false;
        if (started) {
            put_group(o, v, g);
            o += g;
        } else if (v != 0) {  // the first non-zero group: no leading zeros
            int w = 1;
            while (w < 9 && v >= pow10_u32[w]) ++w;
            put_group(o, v, w);
            o += w;
            started = true;
        }
        return true;
    };
    auto frac_group = [&](int g) -> bool {
        std::uint32_t v = 0;
        if (g == 0) return true;
        if (!read(g, v)) return false;
        put_group(o, v, g);
        o += g;
        nonzero |= v != 0;
        return true;
    };
    const int intg = precision - scale;
    bool ok = int_group(intg % 9);
    for (int i = 0; ok && i < intg / 9; ++i) ok = int_group(9);
    if (!started) *o++ = '0';
    nonzero |= started;
    if (scale > 0) *o++ = '.';
    for (int i = 0; ok && i < scale / 9; ++i) ok = frac_group(9);
    if (ok) ok = frac_group(scale % 9);
    if (!ok) {
        error = "corrupt DECIMAL digits";
        return 0;
    }
    std::size_t len = static_cast<std::size_t>(o - out);
    if (negative && !nonzero) {  // -0.00 is 0.00
        std::memmove(out, out + 1, len - 1);
        --len;
    }
    return len;
}

/// Decodes a packed DECIMAL(precision, scale) to exact text.
inline std::string decode_decimal(cursor& c, int precision, int scale, std::string& out) {
    char text[decimal_text_max];
    const char* error = nullptr;
    const std::size_t n = decode_decimal_chars(c, precision, scale, text, error);
    if (error) return error;
    out.assign(text, n);
    return {};
}

// ---------------------------------------------------------------------------
// Temporal

/// Fractional part of TIME2/DATETIME2/TIMESTAMP2: (fsp+1)/2 big-endian bytes, in microseconds.
inline bool read_frac(cursor& c, unsigned fsp, std::int64_t& us, std::uint64_t& raw, std::size_t& bytes) {
    bytes = (fsp + 1) / 2;
    raw = 0;
    if (bytes == 0) {
        us = 0;
        return true;
    }
    if (!c.be(bytes, raw)) return false;
    us = static_cast<std::int64_t>(raw) * (bytes == 1 ? 10000 : bytes == 2 ? 100 : 1);
    return true;
}

inline std::string decode_datetime2(cursor& c, unsigned fsp, datetime& out) {
    if (fsp > 6) return "bad DATETIME precision";
    std::uint64_t packed = 0;
    if (!c.be(5, packed)) return "DATETIME value truncated";
    std::int64_t us = 0;
    std::uint64_t raw = 0;
    std::size_t nb;
    if (!read_frac(c, fsp, us, raw, nb)) return "DATETIME value truncated";
    if (packed < 0x8000000000ULL) return "negative DATETIME";
    const std::uint64_t v = packed - 0x8000000000ULL;
    const std::uint64_t ymd = v >> 17, hms = v & 0x1ffff;
    const std::uint64_t ym = ymd >> 5;
    out.day.day = static_cast<std::uint8_t>(ymd & 31);
    out.day.month = static_cast<std::uint8_t>(ym % 13);
    const std::uint64_t y = ym / 13;
    if (y > 9999 || us > 999999) return "DATETIME out of range";
    out.day.year = static_cast<std::uint16_t>(y);
    out.second = static_cast<std::uint8_t>(hms & 63);
    out.minute = static_cast<std::uint8_t>((hms >> 6) & 63);
    out.hour = static_cast<std::uint8_t>(hms >> 12);
    out.microsecond = static_cast<std::uint32_t>(us);
    if (out.hour > 23 || out.minute > 59 || out.second > 59) return "DATETIME out of range";
    return {};
}

inline std::string decode_time2(cursor& c, unsigned fsp, std::int64_t& micros) {
    if (fsp > 6) return "bad TIME precision";
    std::int64_t packed;  // MySQL's "packed time": (intpart << 24) + microseconds
    if (fsp >= 5) {
        std::uint64_t v = 0;
        if (!c.be(6, v)) return "TIME value truncated";
        packed = static_cast<std::int64_t>(v) - 0x800000000000LL;
    } else {
        std::uint64_t ip = 0;
        if (!c.be(3, ip)) return "TIME value truncated";
        std::int64_t intpart = static_cast<std::int64_t>(ip) - 0x800000;
        std::int64_t frac = 0;
        if (fsp >= 1) {
            std::uint64_t f = 0;
            const std::size_t nb = fsp <= 2 ? 1 : 2;
            if (!c.be(nb, f)) return "TIME value truncated";
            frac = static_cast<std::int64_t>(f);
            if (intpart < 0 && frac != 0) {
                ++intpart;
                frac -= nb == 1 ? 0x100 : 0x10000;
            }
            frac *= nb == 1 ? 10000 : 100;
        }
        packed = intpart * (1LL << 24) + frac;
    }
    const bool neg = packed < 0;
    const std::uint64_t a = neg ? static_cast<std::uint64_t>(-packed) : static_cast<std::uint64_t>(packed);
    const std::uint64_t hms = a >> 24, frac = a & 0xffffff;
    const std::uint64_t h = (hms >> 12) & 0x3ff, m = (hms >> 6) & 63, s = hms & 63;
    if (m > 59 || s > 59 || frac > 999999) return "TIME out of range";
    const std::int64_t total = static_cast<std::int64_t>((h * 3600 + m * 60 + s) * 1000000 + frac);
    micros = neg ? -total : total;
    return {};
}

// ---------------------------------------------------------------------------
// MySQL binary JSON -> JSON text

inline void json_escape(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        const auto b = static_cast<unsigned char>(ch);
        if (b < 0x20 || ch == '"' || ch == '\\') append_json_escape(out, b);
        else out += ch;
    }
    out += '"';
}

/// A JSON double as MySQL prints it (sql-common/json_dom.cc, Json_wrapper::to_string):
/// my_gcvt(d, MY_GCVT_ARG_DOUBLE, MY_GCVT_MAX_FIELD_WIDTH = 34) from strings/dtoa.cc, then ".0"
/// when the text has neither '.' nor 'e'. my_gcvt takes the shortest round-trip digits (dtoa
/// mode 4 with 34 digits never needs fewer than the shortest, at most 17) and chooses the 'f'
/// form when it fits and the decimal exponent is within [-14, 15] (or the number is not an
/// integer), else the 'e' form, written without '+' and without exponent padding: 1e15, 1e-16,
/// 1.2345678901234568e17. With 17 digits at most, neither form is ever truncated to the width.
/// The sign of -0.0 is kept ("-0.0"), as dtoa reports it.
inline void append_mysql_json_double(std::string& out, double d) {
    char buf[40];
    const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));  // [-]D[.DDD]e(+|-)XX
    const std::size_t e = sci.find('e');
    const bool neg = sci[0] == '-';
    char digits[24];
    int len = 0;
    for (std::size_t i = neg ? 1 : 0; i < e; ++i)
        if (sci[i] != '.') digits[len++] = sci[i];
    while (len > 1 && digits[len - 1] == '0') --len;  // only 0 has trailing zeros here ("0e+00")
    int exp10 = 0;
    std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp10);
    int decpt = digits[0] == '0' ? 1 : exp10 + 1;  // dtoa's decimal point position
    constexpr int max_decpt_for_f = 15;             // MAX_DECPT_FOR_F_FORMAT = DBL_DIG
    const int width = 34 - (d < 0.);                // my_gcvt takes the sign from the width first
    const int exp_len = 1 + (decpt >= 101 || decpt <= -99) + (decpt >= 11 || decpt <= -9);
    const bool have_space = (decpt <= 0 ? len - decpt + 2 : decpt < len ? len + 1 : decpt) <= width;
    const bool force_e = decpt <= 0 && width <= 2 - decpt && width >= 3 + exp_len;
    const bool f_format =
        (have_space || (decpt <= width && (decpt >= -1 || (decpt == -2 && (len > 1 || !force_e))) && !force_e)) &&
        (!have_space || (decpt >= -max_decpt_for_f + 1 && (decpt <= max_decpt_for_f || len > decpt)));
    const std::size_t start = out.size();
    if (neg) out += '-';
    if (f_format) {
        if (decpt <= 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-decpt), '0');
        }
        int i = 1;
        for (; i <= len; ++i) {
            out += digits[i - 1];
            if (i == decpt && i < len) out += '.';
        }
        for (; i <= decpt; ++i) out += '0';
    } else {
        out += digits[0];
        if (len > 1) {
            out += '.';
            out.append(digits + 1, static_cast<std::size_t>(len - 1));
        }
        out += 'e';
        if (--decpt < 0) {
            out += '-';
            decpt = -decpt;
        }
        append_number(out, decpt);
    }
    if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
}

inline bool json_varlen(cursor& c, std::uint64_t& v) {
    v = 0;
    for (int i = 0; i < 5; ++i) {
        std::uint8_t b = 0;
        if (!c.u8(b)) return false;
        v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) return true;
    }
    return false;
}

inline std::string json_value(std::string_view doc, std::uint8_t type, std::size_t off, int depth, std::string& out);

inline std::string json_container(std::string_view doc, bool object, bool large, int depth, std::string& out) {
    if (depth > 100) return "JSON nesting too deep";
    cursor c(doc);
    const std::size_t w = large ? 4 : 2;
    std::uint64_t count = 0, size = 0;
    if (!c.le(w, count) || !c.le(w, size)) return "JSON container truncated";
    if (size > doc.size()) return "JSON container size exceeds its data";
    doc = doc.substr(0, static_cast<std::size_t>(size));
    c = cursor(doc);
    c.skip(2 * w);
    const std::size_t key_entry = large ? 6 : 4, val_entry = 1 + w;
    if (count > doc.size()) return "JSON element count exceeds its data";
    const std::size_t header = 2 * w + (object ? key_entry : 0) * count + val_entry * count;
    if (header > doc.size()) return "JSON container header exceeds its data";
    out += object ? '{' : '[';
    for (std::size_t i = 0; i < count; ++i) {
        if (i) out += object ? ", " : ", ";
        if (object) {
            cursor k(doc);
            k.skip(2 * w + key_entry * i);
            std::uint64_t koff = 0, klen = 0;
            if (!k.le(w, koff) || !k.le(2, klen)) return "JSON key entry truncated";
            if (koff > doc.size() || klen > doc.size() - koff) return "JSON key out of bounds";
            json_escape(out, doc.substr(static_cast<std::size_t>(koff), static_cast<std::size_t>(klen)));
            out += ": ";
        }
        cursor v(doc);
        v.skip(2 * w + (object ? key_entry * count : 0) + val_entry * i);
        std::uint8_t t = 0;
        std::uint64_t voff = 0;
        if (!v.u8(t) || !v.le(w, voff)) return "JSON value entry truncated";
        const bool inlined = t == 0x04 || t == 0x05 || t == 0x06 || (large && (t == 0x07 || t == 0x08));
        if (inlined) {
            auto e = json_value(doc, t, v.pos - w, depth + 1, out);
            if (!e.empty()) return e;
        } else {
            if (voff >= doc.size()) return "JSON value out of bounds";
            auto e = json_value(doc, t, static_cast<std::size_t>(voff), depth + 1, out);
            if (!e.empty()) return e;
        }
    }
    out += object ? '}' : ']';
    return {};
}

inline std::string json_opaque(std::uint8_t ftype, std::string_view data, std::string& out) {
    if (ftype == t_newdecimal && data.size() >= 2) {
        cursor c(data);
        std::uint8_t p = 0, s = 0;
        c.u8(p);
        c.u8(s);
        std::string d;
        auto e = decode_decimal(c, p, s, d);
        if (!e.empty()) return e;
        out += d;
        return {};
    }
    if ((ftype == t_date || ftype == t_datetime || ftype == t_timestamp || ftype == t_time) && data.size() >= 8) {
        std::int64_t packed = 0;
        std::uint64_t u = 0;
        for (int i = 7; i >= 0; --i) u = (u << 8) | static_cast<unsigned char>(data[static_cast<std::size_t>(i)]);
        std::memcpy(&packed, &u, 8);
        std::string s;
        const bool neg = packed < 0;
        std::uint64_t a = neg ? (static_cast<std::uint64_t>(0) - u) : u;
        const std::uint64_t frac = a & 0xffffff, ip = a >> 24;
        if (ftype == t_time) {
            const std::uint64_t h = (ip >> 12) & 0x3ff, m = (ip >> 6) & 63, sec = ip & 63;
            if (m > 59 || sec > 59 || frac > 999999) return "bad JSON time";
            time t{static_cast<std::int64_t>((h * 3600 + m * 60 + sec) * 1000000 + frac) * (neg ? -1 : 1)};
            append_time(s, t);
        } else {
            const std::uint64_t ymd = ip >> 17, hms = ip & 0x1ffff, ym = ymd >> 5;
            datetime dt;
            dt.day = {static_cast<std::uint16_t>((ym / 13) % 10000), static_cast<std::uint8_t>(ym % 13),
                      static_cast<std::uint8_t>(ymd & 31)};
            dt.hour = static_cast<std::uint8_t>((hms >> 12) % 24);
            dt.minute = static_cast<std::uint8_t>((hms >> 6) & 63);
            dt.second = static_cast<std::uint8_t>(hms & 63);
            dt.microsecond = static_cast<std::uint32_t>(frac % 1000000);
            if (ftype == t_date) append_date(s, dt.day);
            else append_datetime(s, dt, ' ');
        }
        json_escape(out, s);
        return {};
    }
    std::string s = "base64:type" + std::to_string(ftype) + ":";
    append_base64(s, data);
    json_escape(out, s);
    return {};
}

inline std::string json_value(std::string_view doc, std::uint8_t type, std::size_t off, int depth, std::string& out) {
    if (off > doc.size()) return "JSON value out of bounds";
    cursor c(doc);
    c.skip(off);
    switch (type) {
        case 0x00: case 0x01: case 0x02: case 0x03:
            return json_container(doc.substr(off), type <= 0x01, (type & 1) != 0, depth, out);
        case 0x04: {
            std::uint8_t l = 0;
            if (!c.u8(l)) return "JSON literal truncated";
            if (l == 0) out += "null";
            else if (l == 1) out += "true";
            else if (l == 2) out += "false";
            else return "bad JSON literal";
            return {};
        }
        case 0x05: { std::int16_t v; if (!c.le_as(v)) return "JSON int truncated"; append_number(out, v); return {}; }
        case 0x06: { std::uint16_t v; if (!c.le_as(v)) return "JSON int truncated"; append_number(out, v); return {}; }
        case 0x07: { std::int32_t v; if (!c.le_as(v)) return "JSON int truncated"; append_number(out, v); return {}; }
        case 0x08: { std::uint32_t v; if (!c.le_as(v)) return "JSON int truncated"; append_number(out, v); return {}; }
        case 0x09: { std::int64_t v; if (!c.le_as(v)) return "JSON int truncated"; append_number(out, v); return {}; }
        case 0x0a: { std::uint64_t v; if (!c.le_as(v)) return "JSON int truncated"; append_number(out, v); return {}; }
        case 0x0b: {
            std::uint64_t u = 0;
            if (!c.le(8, u)) return "JSON double truncated";
            double d;
            std::memcpy(&d, &u, 8);
            append_mysql_json_double(out, d);
            return {};
        }
        case 0x0c: {
            std::uint64_t len = 0;
            std::string_view s;
            if (!json_varlen(c, len) || !c.bytes(static_cast<std::size_t>(len), s)) return "JSON string truncated";
            json_escape(out, s);
            return {};
        }
        case 0x0f: {
            std::uint8_t ft = 0;
            std::uint64_t len = 0;
            std::string_view s;
            if (!c.u8(ft) || !json_varlen(c, len) || len > c.left() || !c.bytes(static_cast<std::size_t>(len), s))
                return "JSON opaque value truncated";
            return json_opaque(ft, s, out);
        }
        default: return "unknown JSON value type " + std::to_string(type);
    }
}

/// Renders a MySQL binary JSON document (an empty document is JSON null).
inline std::string mysql_json_to_text(std::string_view doc, std::string& out) {
    out.clear();
    if (doc.empty()) {
        out = "null";
        return {};
    }
    return json_value(doc.substr(1), static_cast<std::uint8_t>(doc[0]), 0, 0, out);
}

// ---------------------------------------------------------------------------
// One column value

inline void format_uuid(std::string_view b, std::string& out) {
    const char* const hex = hex_lower;
    out.clear();
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        const auto x = static_cast<unsigned char>(b[i]);
        out += hex[x >> 4];
        out += hex[x & 15];
    }
}

inline void format_inet6(std::string_view b, std::string& out) {
    // RFC 5952: lower case, longest run (>= 2) of zero groups as "::", IPv4-mapped as dotted quad.
    std::uint16_t g[8];
    for (int i = 0; i < 8; ++i)
        g[i] = static_cast<std::uint16_t>(static_cast<unsigned char>(b[2 * static_cast<std::size_t>(i)]) << 8 |
                                          static_cast<unsigned char>(b[2 * static_cast<std::size_t>(i) + 1]));
    out.clear();
    const bool v4mapped = g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff;
    const int ngroups = v4mapped ? 6 : 8;
    int best = -1, best_len = 0;
    for (int i = 0; i < ngroups;) {
        if (g[i] != 0) { ++i; continue; }
        int j = i;
        while (j < ngroups && g[j] == 0) ++j;
        if (j - i > best_len) { best = i; best_len = j - i; }
        i = j;
    }
    if (best_len < 2) best = -1;
    const char* const hex = hex_lower;
    for (int i = 0; i < ngroups; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        char tmp[4];
        int n = 0;
        std::uint16_t v = g[i];
        do { tmp[n++] = hex[v & 15]; v >>= 4; } while (v);
        while (n) out += tmp[--n];
    }
    if (v4mapped) {
        if (!out.empty() && out.back() != ':') out += ':';
        for (int i = 12; i < 16; ++i) {
            if (i > 12) out += '.';
            append_number(out, static_cast<unsigned>(static_cast<unsigned char>(b[static_cast<std::size_t>(i)])));
        }
    }
}

/// MariaDB UUID / INET6 / INET4 from their fixed-size binary form to text (in the arena).
inline std::string decode_padded(std::string_view data, const column_type& ct, value_view& v, arena& a,
                                 std::string& scratch) {
    if (ct.type == sql_type::uuid) {
        if (data.size() != 16) return "UUID value is not 16 bytes";
        format_uuid(data, scratch);
    } else if (ct.type == sql_type::inet6) {
        if (data.size() != 16) return "INET6 value is not 16 bytes";
        format_inet6(data, scratch);
    } else {
        if (data.size() != 4) return "INET4 value is not 4 bytes";
        scratch.clear();
        for (std::size_t i = 0; i < 4; ++i) {
            if (i) scratch += '.';
            append_number(scratch, static_cast<unsigned>(static_cast<unsigned char>(data[i])));
        }
    }
    v = text_view{a.store(scratch)};
    return {};
}

inline bool is_blob_sql_type(sql_type t) noexcept {
    return t == sql_type::binary || t == sql_type::varbinary || t == sql_type::tinyblob || t == sql_type::blob ||
           t == sql_type::mediumblob || t == sql_type::longblob;
}

/// Bytes of the integer types, by wire type (TINY 1, SHORT 2, LONG 4, LONGLONG 8, INT24 3).
inline constexpr unsigned char int_width[] = {0, 1, 2, 4, 0, 0, 0, 0, 8, 3};

/// An n-byte integer (1-8) read little-endian: unsigned, or sign-extended.
inline void set_integer(value_view& v, std::uint64_t u, std::size_t n, bool is_unsigned) noexcept {
    if (is_unsigned) {
        v = u;
        return;
    }
    const unsigned shift = static_cast<unsigned>(64 - 8 * n);
    std::int64_t s = 0;
    const std::uint64_t x = u << shift;
    std::memcpy(&s, &x, 8);
    v = s >> shift;
}

/// Text whose bytes are UTF-8 as logged (utf8mb4, utf8mb3, ASCII), not a binary-like SQL type.
inline bool is_plain_utf8(const rowcast::binlog::wire_column& w, const column_type& ct) noexcept {
    const charset_kind cs = charset_of(w.collation);
    return (cs == charset_kind::utf8mb4 || cs == charset_kind::utf8mb3 || cs == charset_kind::ascii) &&
           !is_blob_sql_type(ct.type) && ct.type != sql_type::json && ct.type != sql_type::uuid &&
           ct.type != sql_type::inet6 && ct.type != sql_type::inet4;
}

/// The most common column types (integers, DOUBLE, UTF-8 VARCHAR/CHAR, DATETIME2, TIMESTAMP2)
/// without building any error text: true when `v` holds the value; false, with nothing
/// consumed, for other types and on any problem (decode_value then decodes or reports it).
inline bool decode_common(cursor& c, const rowcast::binlog::wire_column& w, const column_type& ct,
                          value_view& v) noexcept {
    const std::size_t start = c.pos;
    switch (w.type) {
        case t_tiny: case t_short: case t_int24: case t_long: case t_longlong: {
            std::uint64_t u = 0;
            if (!c.le(int_width[w.type], u)) return false;
            set_integer(v, u, int_width[w.type], ct.is_unsigned);
            return true;
        }
        case t_double: {
            std::uint64_t u = 0;
            if (!c.le(8, u)) return false;
            double d;
            std::memcpy(&d, &u, 8);
            v = d;
            return true;
        }
        case t_varchar: case t_var_string: case t_string: {
            if (!is_plain_utf8(w, ct)) return false;
            std::uint64_t len = 0;
            std::string_view data;
            if (!c.le(w.length < 256 ? 1 : 2, len) || !c.bytes(static_cast<std::size_t>(len), data)) {
                c.pos = start;
                return false;
            }
            v = text_view{data};
            return true;
        }
        case t_datetime2: {
            datetime dt;
            if (!decode_datetime2(c, w.meta, dt).empty()) {
                c.pos = start;
                return false;
            }
            v = dt;
            return true;
        }
        case t_timestamp2: {
            std::uint64_t secs = 0, raw = 0;
            std::int64_t us = 0;
            std::size_t nb = 0;
            if (w.meta > 6 || !c.be(4, secs) || !read_frac(c, w.meta, us, raw, nb) || us > 999999) {
                c.pos = start;
                return false;
            }
            v = timestamp{static_cast<std::int64_t>(secs) * 1000000 + us};
            return true;
        }
        default: return false;
    }
}

// --- decode_value, by value kind -----------------------------------------------------------
// Each returns an empty string on success, else what is wrong with the value.

/// INT family, FLOAT, DOUBLE, DECIMAL and BIT.
inline std::string decode_number(cursor& c, const rowcast::binlog::wire_column& w, const column_type& ct,
                                 value_view& v, arena& a) {
    std::uint64_t u = 0;
    switch (w.type) {
        case t_tiny: case t_short: case t_int24: case t_long: case t_longlong: {
            if (!c.le(int_width[w.type], u)) return "integer truncated";
            set_integer(v, u, int_width[w.type], ct.is_unsigned);
            return {};
        }
        case t_float: {
            if (!c.le(4, u)) return "FLOAT truncated";
            const auto u32 = static_cast<std::uint32_t>(u);
            float f;
            std::memcpy(&f, &u32, 4);
            v = f;
            return {};
        }
        case t_double: {
            if (!c.le(8, u)) return "DOUBLE truncated";
            double d;
            std::memcpy(&d, &u, 8);
            v = d;
            return {};
        }
        case t_newdecimal: {
            char text[decimal_text_max];
            const char* error = nullptr;
            const std::size_t n = decode_decimal_chars(c, w.meta >> 8, w.meta & 0xff, text, error);
            if (error) return error;
            v = decimal_view{a.store(std::string_view(text, n))};
            return {};
        }
        default: {  // t_bit
            const unsigned nbits = (w.meta >> 8) * 8u + (w.meta & 0xff);
            if (nbits == 0 || nbits > 64) return "bad BIT width";
            if (!c.be((nbits + 7) / 8, u)) return "BIT truncated";
            v = bit{u, static_cast<std::uint8_t>(nbits)};
            return {};
        }
    }
}

// MariaDB's 5.3 formats of TIME(n)/DATETIME(n)/TIMESTAMP(n), n = 1..6, logged under the old wire
// types without n (sql/field.cc: Field_time_hires, Field_datetime_hires, Field_timestamp_hires):
// big-endian, the value in units of 10^-n s; TIME offset by zero_point; DATETIME packed as
// ((((year*13+month)*32+day)*24+hour)*60+minute)*60+second; TIMESTAMP 4 bytes of seconds and
// the fraction in (n+1)/2 bytes.
inline constexpr std::uint8_t time_hires_bytes[7] = {3, 4, 4, 5, 5, 6, 6};
inline constexpr std::uint8_t datetime_hires_bytes[7] = {5, 6, 6, 7, 7, 8, 8};
inline constexpr std::int64_t pow10_i64[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};

inline std::string old_temporal_precision(const rowcast::binlog::wire_column& w, const char* type) {
    if (w.meta == rowcast::binlog::unknown_precision)
        return std::string("a MariaDB ") + type + " column in the old (5.3) format: the binlog does not say its "
               "fractional-seconds precision (0 and 1-6 are logged differently under the same type); a schema "
               "provider (parser_options::provider) gives it";
    return std::string("bad ") + type + " precision " + std::to_string(w.meta);
}

/// TIME in its pre-5.6 form (a packed decimal HHMMSS, signed 24 bits), or MariaDB's 5.3 TIME(n).
inline std::string decode_old_time(cursor& c, const rowcast::binlog::wire_column& w, value_view& v) {
    if (w.meta > 6) return old_temporal_precision(w, "TIME");
    if (w.meta > 0) {
        std::uint64_t u = 0;
        if (!c.be(time_hires_bytes[w.meta], u)) return "TIME truncated";
        const std::int64_t unit = pow10_i64[6 - w.meta];
        const std::int64_t zero = 3020400LL * 1000000 / unit;  // (TIME_MAX_VALUE_SECONDS + 1) s
        const std::int64_t us = (static_cast<std::int64_t>(u) - zero) * unit;
        if (us > 3020399999999LL || us < -3020399999999LL) return "TIME out of range";
        v = time{us};
        return {};
    }
    std::uint64_t u = 0;
    if (!c.le(3, u)) return "TIME truncated";
    std::int64_t s = static_cast<std::int64_t>(u);
    if (s & 0x800000) s -= 0x1000000;
    const bool neg = s < 0;
    const std::int64_t a_ = neg ? -s : s;
    const std::int64_t h = a_ / 10000, m = a_ / 100 % 100, sec = a_ % 100;
    if (m > 59 || sec > 59) return "TIME out of range";
    const std::int64_t us = (h * 3600 + m * 60 + sec) * 1000000;
    v = time{neg ? -us : us};
    return {};
}

/// DATETIME in its pre-5.6 form (a decimal YYYYMMDDHHMMSS in 8 bytes), or MariaDB's 5.3 DATETIME(n).
inline std::string decode_old_datetime(cursor& c, const rowcast::binlog::wire_column& w, value_view& v) {
    if (w.meta > 6) return old_temporal_precision(w, "DATETIME");
    if (w.meta > 0) {
        std::uint64_t p = 0;
        if (!c.be(datetime_hires_bytes[w.meta], p)) return "DATETIME truncated";
        const auto unit = static_cast<std::uint64_t>(pow10_i64[6 - w.meta]);
        if (p > 0x7fffffffffffffffULL / unit) return "DATETIME out of range";
        p *= unit;
        datetime dt;
        dt.microsecond = static_cast<std::uint32_t>(p % 1000000);
        p /= 1000000;
        dt.second = static_cast<std::uint8_t>(p % 60);
        p /= 60;
        dt.minute = static_cast<std::uint8_t>(p % 60);
        p /= 60;
        dt.hour = static_cast<std::uint8_t>(p % 24);
        p /= 24;
        const auto day = p % 32;
        p /= 32;
        if (p / 13 > 9999) return "DATETIME out of range";
        dt.day = {static_cast<std::uint16_t>(p / 13), static_cast<std::uint8_t>(p % 13), static_cast<std::uint8_t>(day)};
        v = dt;
        return {};
    }
    std::uint64_t u = 0;
    if (!c.le(8, u)) return "DATETIME truncated";
    const std::uint64_t d = u / 1000000, t = u % 1000000;
    datetime dt;
    if (d / 10000 > 9999) return "DATETIME out of range";
    dt.day = {static_cast<std::uint16_t>(d / 10000), static_cast<std::uint8_t>(d / 100 % 100),
              static_cast<std::uint8_t>(d % 100)};
    dt.hour = static_cast<std::uint8_t>(t / 10000);
    dt.minute = static_cast<std::uint8_t>(t / 100 % 100);
    dt.second = static_cast<std::uint8_t>(t % 100);
    if (dt.day.month > 12 || dt.day.day > 31 || dt.hour > 23 || dt.minute > 59 || dt.second > 59)
        return "DATETIME out of range";
    v = dt;
    return {};
}

/// YEAR, DATE, TIME, DATETIME and TIMESTAMP, old and new (…2, with fractions) forms.
inline std::string decode_temporal(cursor& c, const rowcast::binlog::wire_column& w, value_view& v) {
    std::uint64_t u = 0;
    switch (w.type) {
        case t_year: {
            std::uint8_t y = 0;
            if (!c.u8(y)) return "YEAR truncated";
            v = year{static_cast<std::uint16_t>(y == 0 ? 0 : 1900 + y)};
            return {};
        }
        case t_date:
        case t_newdate: {
            if (!c.le(3, u)) return "DATE truncated";
            const std::uint64_t y = u >> 9;
            if (y > 9999) return "DATE out of range";
            v = date{static_cast<std::uint16_t>(y), static_cast<std::uint8_t>((u >> 5) & 15),
                     static_cast<std::uint8_t>(u & 31)};
            return {};
        }
        case t_time: return decode_old_time(c, w, v);
        case t_time2: {
            std::int64_t us = 0;
            auto e = decode_time2(c, w.meta, us);
            if (!e.empty()) return e;
            v = time{us};
            return {};
        }
        case t_datetime: return decode_old_datetime(c, w, v);
        case t_datetime2: {
            datetime dt;
            auto e = decode_datetime2(c, w.meta, dt);
            if (!e.empty()) return e;
            v = dt;
            return {};
        }
        case t_timestamp: {
            if (w.meta > 6) return old_temporal_precision(w, "TIMESTAMP");
            if (w.meta > 0) {  // MariaDB 5.3 TIMESTAMP(n): big-endian seconds, then the fraction
                std::uint64_t f = 0;
                if (!c.be(4, u) || !c.be((w.meta + 1u) / 2, f)) return "TIMESTAMP truncated";
                const auto us = static_cast<std::int64_t>(f) * pow10_i64[6 - w.meta];
                if (us > 999999) return "TIMESTAMP fraction out of range";
                v = timestamp{static_cast<std::int64_t>(u) * 1000000 + us};
                return {};
            }
            if (!c.le(4, u)) return "TIMESTAMP truncated";
            v = timestamp{static_cast<std::int64_t>(u) * 1000000};
            return {};
        }
        default: {  // t_timestamp2
            if (w.meta > 6) return "bad TIMESTAMP precision";
            std::uint64_t raw = 0;
            std::int64_t us = 0;
            std::size_t nb = 0;
            if (!c.be(4, u) || !read_frac(c, w.meta, us, raw, nb)) return "TIMESTAMP truncated";
            if (us > 999999) return "TIMESTAMP fraction out of range";
            v = timestamp{static_cast<std::int64_t>(u) * 1000000 + us};
            return {};
        }
    }
}

/// ENUM (an index into the members) and SET (a bit mask over them).
inline std::string decode_enum_set(cursor& c, const rowcast::binlog::wire_column& w, const column_type& ct,
                                   value_view& v, arena& a, std::string& scratch) {
    if (w.type == t_enum) {
        std::uint64_t idx = 0;
        if (w.length != 1 && w.length != 2) return "bad ENUM pack length";
        if (!c.le(w.length, idx)) return "ENUM truncated";
        if (idx > ct.members.size()) {
            if (!ct.members.empty()) return "ENUM index " + std::to_string(idx) + " beyond its members";
            v = enum_value_view{std::string_view(), static_cast<std::uint16_t>(idx)};
            return {};
        }
        v = enum_value_view{idx == 0 ? std::string_view() : std::string_view(ct.members[static_cast<std::size_t>(idx - 1)]),
                            static_cast<std::uint16_t>(idx)};
        return {};
    }
    std::uint64_t mask = 0;
    if (w.length < 1 || w.length > 8) return "bad SET pack length";
    if (!c.le(w.length, mask)) return "SET truncated";
    scratch.clear();
    bool first = true;
    for (std::size_t i = 0; i < 64; ++i) {
        if (!(mask >> i & 1)) continue;
        if (i >= ct.members.size()) {
            if (!ct.members.empty()) return "SET bit beyond its members";
            continue;
        }
        if (!first) scratch += ',';
        first = false;
        scratch += ct.members[i];
    }
    v = set_value_view{a.store(scratch), mask};
    return {};
}

/// The bytes of a value preceded by its length in `lenbytes` bytes.
inline std::string read_length_prefixed(cursor& c, std::size_t lenbytes, std::string_view& data) {
    std::uint64_t len = 0;
    if (!c.le(lenbytes, len)) return "length truncated";
    if (!c.bytes(static_cast<std::size_t>(len), data))
        return "value of " + std::to_string(len) + " bytes exceeds the " + std::to_string(c.left()) + " left";
    return {};
}

/// A CHAR/VARCHAR/BINARY/TEXT/BLOB value's bytes as the SQL type wants them: bytes,
/// JSON text, UUID/INET text, or text converted to UTF-8 from the column's character set.
inline std::string text_or_bytes(const rowcast::binlog::wire_column& w, const column_type& ct, std::string_view data,
                                 value_view& v, arena& a, std::string& scratch) {
    const charset_kind cs = charset_of(w.collation);
    const bool special = ct.type == sql_type::uuid || ct.type == sql_type::inet6 || ct.type == sql_type::inet4;
    // BINARY(n) is logged without its trailing 0x00 padding: restore it.
    if (w.type == t_string && cs == charset_kind::binary && data.size() < w.length) {
        char* p = a.alloc(w.length);
        std::memcpy(p, data.data(), data.size());
        std::memset(p + data.size(), 0, w.length - data.size());
        const std::string_view padded(p, w.length);
        if (special) return decode_padded(padded, ct, v, a, scratch);
        v = bytes_view{padded};
        return {};
    }
    if (w.type == t_string && cs == charset_kind::binary && special) return decode_padded(data, ct, v, a, scratch);
    if (is_blob_sql_type(ct.type)) {
        v = bytes_view{data};
        return {};
    }
    if (ct.type == sql_type::json) {
        v = json_text_view{data};  // MariaDB: JSON is LONGTEXT (utf8mb4)
        return {};
    }
    switch (cs == charset_kind::unknown && w.collation == 0 ? charset_kind::utf8mb4 : cs) {
        case charset_kind::utf8mb4:
        case charset_kind::utf8mb3:
        case charset_kind::ascii:
        case charset_kind::binary: v = text_view{data}; return {};
        case charset_kind::latin1:
            if (is_ascii(data)) {  // ASCII is the same in latin1 and UTF-8
                v = text_view{data};
                return {};
            }
            latin1_to_utf8(data, scratch);
            v = text_view{a.store(scratch)};
            return {};
        case charset_kind::unknown: break;
    }
    if (w.collation == 0xffffffffu) return "unsupported character set " + ct.charset + " (from the schema provider)";
    return "unsupported character set (collation id " + std::to_string(w.collation) + ")";
}

/// Length-prefixed values: strings and BLOBs, MySQL's binary JSON, GEOMETRY.
inline std::string decode_string(cursor& c, const rowcast::binlog::wire_column& w, const column_type& ct,
                                 value_view& v, arena& a, std::string& scratch) {
    const bool varlen = w.type == t_varchar || w.type == t_var_string || w.type == t_string;
    if (!varlen && (w.length < 1 || w.length > 4)) {
        switch (w.type) {
            case t_json: return "bad JSON length size";
            case t_geometry: return "bad GEOMETRY length size";
            default: return "bad BLOB length size";
        }
    }
    std::string_view data;
    auto e = read_length_prefixed(c, varlen ? (w.length < 256 ? 1 : 2) : w.length, data);
    if (!e.empty()) return e;
    if (w.type == t_json) {
        e = mysql_json_to_text(data, scratch);
        if (!e.empty()) return e;
        v = json_text_view{a.store(scratch)};
        return {};
    }
    if (w.type == t_geometry) {
        if (data.size() < 4) return "GEOMETRY value shorter than its SRID";
        cursor g(data);
        std::uint32_t srid = 0;
        g.le_as(srid);
        v = geometry_view{srid, g.rest()};
        return {};
    }
    return text_or_bytes(w, ct, data, v, a, scratch);
}

/// Decodes one non-NULL value of column `w` (with SQL type `ct`) at `c` into the view `v`.
/// Strings point into the cursor's buffer when the bytes are usable as they are (UTF-8/ASCII
/// text, binary data, MariaDB JSON, GEOMETRY WKB), into the column list for ENUM names, and
/// into `a` when rendered. `scratch` is working space.
inline std::string decode_value(cursor& c, const rowcast::binlog::wire_column& w, const column_type& ct,
                                value_view& v, arena& a, std::string& scratch) {
    switch (w.type) {
        case t_tiny: case t_short: case t_int24: case t_long: case t_longlong:
        case t_float: case t_double: case t_newdecimal: case t_bit:
            return decode_number(c, w, ct, v, a);
        case t_year: case t_date: case t_newdate: case t_time: case t_time2:
        case t_datetime: case t_datetime2: case t_timestamp: case t_timestamp2:
            return decode_temporal(c, w, v);
        case t_enum: case t_set: return decode_enum_set(c, w, ct, v, a, scratch);
        case t_varchar: case t_var_string: case t_string:
        case t_blob: case t_tiny_blob: case t_medium_blob: case t_long_blob:
        case t_json: case t_geometry:
            return decode_string(c, w, ct, v, a, scratch);
        default: return "unsupported column type " + std::to_string(w.type);
    }
}

/// Owning form of decode_value (tests and one-off callers): decodes into `v`.
inline std::string decode_value(cursor& c, const rowcast::binlog::wire_column& w, const column_type& ct, value& v,
                                std::string& scratch) {
    arena a;
    value_view vv;
    auto e = decode_value(c, w, ct, vv, a, scratch);
    if (e.empty()) assign_owning(v, vv);
    return e;
}

}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
