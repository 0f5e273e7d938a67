// Internal: the lexer of the column-descriptor grammar and the number readers
// behind rowcast/udf/columns.hpp. Not part of the public API.
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/version.hpp>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace detail::udf {

inline char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

inline bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

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
    bool at(char ch) const noexcept { return i < s.size() && s[i] == ch; }
    // A run of letters, digits and '_' (lower-cased).
    std::string word() {
        skip_ws();
        std::string w;
        while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) w += lower(s[i++]);
        return w;
    }
};

// A '…' literal at c.i (quote doubled or backslash-escaped inside). Returns "" or what is wrong.
inline std::string_view quoted(cursor& c, std::string& out) {
    if (!c.at('\'')) return "expected a quoted member name";
    ++c.i;
    while (c.i < c.s.size()) {
        const char ch = c.s[c.i++];
        if (ch == '\'') {
            if (c.at('\'')) {
                out += '\'';
                ++c.i;
                continue;
            }
            return {};
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
    return "unterminated quoted member name";
}

// A `name` (backtick doubled inside) or a bare word up to white space. Returns "" or what is wrong.
inline std::string_view column_name(cursor& c, std::string& out) {
    if (!c.at('`')) {
        while (c.i < c.s.size() && !is_space(c.s[c.i])) out += c.s[c.i++];
        return {};
    }
    ++c.i;
    while (c.i < c.s.size()) {
        const char ch = c.s[c.i++];
        if (ch == '`') {
            if (!c.at('`')) return {};
            ++c.i;
        }
        out += ch;
    }
    return "unterminated `name` in column descriptor";
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

template <class T>
bool parse_int(std::string_view s, T& v) {
    s = trim(s);
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

inline bool parse_double(std::string_view s, double& v) { return parse_number(trim(s), v); }

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

// At most the first 40 bytes of s, for messages.
inline std::string excerpt(std::string_view s) { return std::string(s.substr(0, 40)); }

}  // namespace detail::udf
ROWCAST_NAMESPACE_END
