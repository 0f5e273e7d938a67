// Internal: text forms of values shared by the text codecs (JSON, YAML) and the
// components: numbers, temporal values (ISO 8601 with microseconds), base64, hex
// digits, the escapes of quoted strings, UTF-8 checks and encoding.
// All append_* functions append to a std::string; all parse_* functions take
// the whole string and return false on any malformed input.
#pragma once

#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

template <class T>
inline void append_number(std::string& out, T v) {
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<std::size_t>(r.ptr - buf));
}

template <class T>
inline bool parse_number(std::string_view s, T& v) {
    if (s.empty()) return false;
    const char* b = s.data();
    if constexpr (std::is_floating_point_v<T>) {
        if (*b == '+') ++b;  // to_chars never writes '+', but people do
    }
    auto r = std::from_chars(b, s.data() + s.size(), v);
    return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

// Writes `v` as exactly `width` decimal digits (v < 10^width).
inline void put_digits(char* p, std::uint32_t v, int width) noexcept {
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
}

inline void append_date(std::string& out, date d) {
    char b[10];
    put_digits(b, d.year, 4);
    b[4] = '-';
    put_digits(b + 5, d.month, 2);
    b[7] = '-';
    put_digits(b + 8, d.day, 2);
    out.append(b, 10);
}

inline void append_clock(std::string& out, unsigned h, unsigned m, unsigned s, std::uint32_t us) {
    char b[15];
    put_digits(b, h, 2);
    b[2] = ':';
    put_digits(b + 3, m, 2);
    b[5] = ':';
    put_digits(b + 6, s, 2);
    b[8] = '.';
    put_digits(b + 9, us, 6);
    out.append(b, 15);
}

/// "YYYY-MM-DDTHH:MM:SS.ffffff" (sep 'T'), or with a space (MySQL's own form).
inline void append_datetime(std::string& out, const datetime& d, char sep = 'T') {
    append_date(out, d.day);
    out += sep;
    append_clock(out, d.hour, d.minute, d.second, d.microsecond);
}

/// "[-]HH:MM:SS.ffffff", hours with at least two digits (TIME can exceed 24 h).
inline void append_time(std::string& out, time t) {
    std::uint64_t us = t.microseconds < 0 ? 0 - static_cast<std::uint64_t>(t.microseconds)
                                           : static_cast<std::uint64_t>(t.microseconds);
    if (t.microseconds < 0) out += '-';
    const std::uint64_t secs = us / 1000000;
    const std::uint64_t hours = secs / 3600;
    if (hours < 10) out += '0';
    append_number(out, hours);
    char b[13];
    b[0] = ':';
    put_digits(b + 1, static_cast<std::uint32_t>(secs / 60 % 60), 2);
    b[3] = ':';
    put_digits(b + 4, static_cast<std::uint32_t>(secs % 60), 2);
    b[6] = '.';
    put_digits(b + 7, static_cast<std::uint32_t>(us % 1000000), 6);
    out.append(b, 13);
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
    std::int64_t y;
    unsigned m, d;
};
constexpr civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

/// Years a TIMESTAMP may be rendered in (text forms use 4-digit years).
inline constexpr std::int64_t min_timestamp_us = -62135596800LL * 1000000;   // 0001-01-01T00:00:00Z
inline constexpr std::int64_t max_timestamp_us = 253402300799LL * 1000000 + 999999;  // 9999-12-31T23:59:59.999999Z

/// "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC). Precondition: min_timestamp_us <= t <= max_timestamp_us.
inline void append_timestamp(std::string& out, timestamp t) {
    std::int64_t us = t.microseconds;
    std::int64_t secs = us / 1000000;
    std::int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        --secs;
    }
    std::int64_t days = secs / 86400;
    std::int64_t sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        --days;
    }
    const civil c = civil_from_days(days);
    append_date(out, date{static_cast<std::uint16_t>(c.y), static_cast<std::uint8_t>(c.m), static_cast<std::uint8_t>(c.d)});
    out += 'T';
    append_clock(out, static_cast<unsigned>(sod / 3600), static_cast<unsigned>(sod / 60 % 60),
                 static_cast<unsigned>(sod % 60), static_cast<std::uint32_t>(frac));
    out += 'Z';
}

inline bool read_digits(std::string_view s, std::size_t pos, std::size_t n, std::uint32_t& v) noexcept {
    if (pos + n > s.size()) return false;
    v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        const char c = s[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return true;
}

/// "YYYY-MM-DD"; zero parts allowed (MySQL zero dates), month <= 12, day <= 31.
inline bool parse_date(std::string_view s, date& d) noexcept {
    std::uint32_t y, m, dd;
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    if (!read_digits(s, 0, 4, y) || !read_digits(s, 5, 2, m) || !read_digits(s, 8, 2, dd)) return false;
    if (m > 12 || dd > 31) return false;
    d = {static_cast<std::uint16_t>(y), static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(dd)};
    return true;
}

// Parses an optional ".f{1,6}" at s[pos...]; returns the position after it, or npos on error.
inline std::size_t parse_fraction(std::string_view s, std::size_t pos, std::uint32_t& us) noexcept {
    us = 0;
    if (pos == s.size() || s[pos] != '.') return pos;
    std::size_t i = pos + 1;
    std::uint32_t scale = 100000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (i - pos > 6) return std::string_view::npos;
        us += static_cast<std::uint32_t>(s[i] - '0') * scale;
        scale /= 10;
        ++i;
    }
    return i == pos + 1 ? std::string_view::npos : i;
}

// "HH:MM:SS[.f]" at s[pos...] with HH 0-23; returns position after, or npos.
inline std::size_t parse_clock(std::string_view s, std::size_t pos, datetime& d) noexcept {
    std::uint32_t h, m, sec, us;
    if (pos + 8 > s.size() || s[pos + 2] != ':' || s[pos + 5] != ':') return std::string_view::npos;
    if (!read_digits(s, pos, 2, h) || !read_digits(s, pos + 3, 2, m) || !read_digits(s, pos + 6, 2, sec))
        return std::string_view::npos;
    if (h > 23 || m > 59 || sec > 59) return std::string_view::npos;
    const std::size_t end = parse_fraction(s, pos + 8, us);
    if (end == std::string_view::npos) return end;
    d.hour = static_cast<std::uint8_t>(h);
    d.minute = static_cast<std::uint8_t>(m);
    d.second = static_cast<std::uint8_t>(sec);
    d.microsecond = us;
    return end;
}

/// "YYYY-MM-DD[T ]HH:MM:SS[.ffffff]"; also a bare "YYYY-MM-DD" (midnight).
inline bool parse_datetime(std::string_view s, datetime& d) noexcept {
    if (s.size() < 10 || !parse_date(s.substr(0, 10), d.day)) return false;
    if (s.size() == 10) {
        d.hour = d.minute = d.second = 0;
        d.microsecond = 0;
        return true;
    }
    if (s[10] != 'T' && s[10] != ' ') return false;
    return parse_clock(s, 11, d) == s.size();
}

/// "[-]H+:MM:SS[.ffffff]" within MySQL's TIME range (|t| <= 838:59:59.999999 is
/// accepted; larger hours up to 999999 are accepted too for non-MySQL sources).
inline bool parse_time(std::string_view s, time& t) noexcept {
    bool neg = false;
    std::size_t i = 0;
    if (!s.empty() && s[0] == '-') {
        neg = true;
        i = 1;
    }
    std::size_t colon = s.find(':', i);
    if (colon == std::string_view::npos || colon == i || colon - i > 6) return false;
    std::uint32_t h, m, sec, us;
    if (!read_digits(s, i, colon - i, h)) return false;
    if (colon + 6 > s.size() || s[colon + 3] != ':') return false;
    if (!read_digits(s, colon + 1, 2, m) || !read_digits(s, colon + 4, 2, sec) || m > 59 || sec > 59) return false;
    if (parse_fraction(s, colon + 6, us) != s.size()) return false;
    const std::int64_t v = ((static_cast<std::int64_t>(h) * 60 + m) * 60 + sec) * 1000000 + us;
    t.microseconds = neg ? -v : v;
    return true;
}

/// "YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|+00:00]" as UTC.
inline bool parse_timestamp(std::string_view s, timestamp& t) noexcept {
    if (s.size() > 1 && s.back() == 'Z') s.remove_suffix(1);
    else if (s.size() > 6 && (s.substr(s.size() - 6) == "+00:00" || s.substr(s.size() - 6) == "-00:00"))
        s.remove_suffix(6);
    datetime d;
    if (!parse_datetime(s, d)) return false;
    if (d.day.year == 0 && d.day.month == 0 && d.day.day == 0 && d.hour == 0 && d.minute == 0 && d.second == 0 &&
        d.microsecond == 0) {
        t.microseconds = 0;  // MySQL's zero TIMESTAMP
        return true;
    }
    if (d.day.year == 0 || d.day.month == 0 || d.day.day == 0) return false;
    const std::int64_t days = days_from_civil(d.day.year, d.day.month, d.day.day);
    t.microseconds = ((days * 86400 + d.hour * 3600 + d.minute * 60 + d.second) * 1000000) + d.microsecond;
    return true;
}

/// A DECIMAL's text: [-]digits[.digits], at most 65 + 30 digits as MySQL allows (we accept up to 200).
inline bool valid_decimal(std::string_view s) noexcept {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    const std::size_t int_start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    const bool has_int = i > int_start;
    bool has_frac = false;
    if (i < s.size() && s[i] == '.') {
        ++i;
        const std::size_t f = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        has_frac = i > f;
    }
    return i == s.size() && (has_int || has_frac) && s.size() <= 200;
}

inline constexpr char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648) with padding.
inline void append_base64(std::string& out, std::string_view in) {
    const std::size_t start = out.size();
    out.resize(start + (in.size() + 2) / 3 * 4);
    char* p = out.data() + start;
    const auto* s = reinterpret_cast<const unsigned char*>(in.data());
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t{s[i]} << 16) | (std::uint32_t{s[i + 1]} << 8) | s[i + 2];
        *p++ = base64_alphabet[v >> 18];
        *p++ = base64_alphabet[(v >> 12) & 63];
        *p++ = base64_alphabet[(v >> 6) & 63];
        *p++ = base64_alphabet[v & 63];
    }
    if (const std::size_t rest = in.size() - i; rest) {
        std::uint32_t v = std::uint32_t{s[i]} << 16;
        if (rest == 2) v |= std::uint32_t{s[i + 1]} << 8;
        *p++ = base64_alphabet[v >> 18];
        *p++ = base64_alphabet[(v >> 12) & 63];
        *p++ = rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=';
        *p++ = '=';
    }
}

/// Strict base64 decode (padding required, no white space). Appends to `out`.
inline bool decode_base64(std::string_view in, std::string& out) {
    if (in.size() % 4 != 0) return false;
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    out.reserve(out.size() + in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const int a = val(in[i]), b = val(in[i + 1]);
        if (a < 0 || b < 0) return false;
        const bool last = i + 4 == in.size();
        const bool pad2 = last && in[i + 2] == '=';
        const bool pad1 = last && in[i + 3] == '=';
        if (pad2 && !pad1) return false;
        const int c = pad2 ? 0 : val(in[i + 2]);
        const int d = pad1 ? 0 : val(in[i + 3]);
        if (c < 0 || d < 0) return false;
        const std::uint32_t v = (std::uint32_t(a) << 18) | (std::uint32_t(b) << 12) | (std::uint32_t(c) << 6) | std::uint32_t(d);
        out += static_cast<char>(v >> 16);
        if (!pad2) out += static_cast<char>((v >> 8) & 0xff);
        if (!pad1) out += static_cast<char>(v & 0xff);
    }
    return true;
}

// --- hex digits and escapes -----------------------------------------------------------------

inline constexpr char hex_lower[] = "0123456789abcdef";
inline constexpr char hex_upper[] = "0123456789ABCDEF";

/// Two lower-case hex digits of a byte ("0a").
inline std::string hex_byte(unsigned b) { return {hex_lower[(b >> 4) & 15], hex_lower[b & 15]}; }

/// The letter of the short backslash escape JSON and YAML double-quoted strings share for
/// an ASCII byte ('"', '\\', 'n', 'r', 't', and with `b_f` 'b' and 'f'), or 0 if none.
constexpr char short_escape(unsigned char c, bool b_f = true) noexcept {
    switch (c) {
        case '"': return '"';
        case '\\': return '\\';
        case '\n': return 'n';
        case '\r': return 'r';
        case '\t': return 't';
        case '\b': return b_f ? 'b' : 0;
        case '\f': return b_f ? 'f' : 0;
        default: return 0;
    }
}

/// Appends the JSON (RFC 8259) escape of an ASCII byte that must be escaped (a control
/// byte, '"' or '\\'): its short form, else \u00XX. `Out` has append(const char*, size_t).
template <class Out>
inline void append_json_escape(Out& out, unsigned char c) {
    if (const char l = short_escape(c)) {
        const char e[2] = {'\\', l};
        out.append(e, 2);
        return;
    }
    const char u[6] = {'\\', 'u', '0', '0', hex_lower[c >> 4], hex_lower[c & 15]};
    out.append(u, 6);
}

// --- UTF-8 -----------------------------------------------------------------------------------

/// Appends code point `cp` (<= U+10FFFF) encoded as UTF-8.
inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) out += static_cast<char>(cp);
    else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// Length of the valid UTF-8 sequence at p (lead byte >= 0x80, p < e), or 0 if it is not
/// one (no overlongs, no surrogates, <= U+10FFFF).
inline std::size_t utf8_seq(const unsigned char* p, const unsigned char* e) noexcept {
    const unsigned c = *p;
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return 0;
    if (static_cast<std::size_t>(e - p) <= n) return 0;
    for (std::size_t i = 1; i <= n; ++i) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n + 1;
}

/// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
inline bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* e = p + s.size();
    while (p < e) {
        // Fast path: 8 ASCII bytes at a time.
        if (e - p >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            if ((w & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        if (*p < 0x80) {
            ++p;
            continue;
        }
        const std::size_t n = utf8_seq(p, e);
        if (n == 0) return false;
        p += n;
    }
    return true;
}

/// A SET value's names: calls f(name) for each ','-separated name ("" yields none).
template <class F>
inline void for_each_set_name(std::string_view names, F&& f) {
    if (names.empty()) return;
    std::size_t start = 0;
    for (;;) {
        const std::size_t c = names.find(',', start);
        if (c == std::string_view::npos) {
            f(names.substr(start));
            return;
        }
        f(names.substr(start, c - start));
        start = c + 1;
    }
}
}  // namespace detail
ROWCAST_NAMESPACE_END
