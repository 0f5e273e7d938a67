// Internal: the JSON decoder. A single-pass, bounds-checked reader over the input
// that writes straight into the event (no DOM). Row images and column sections are
// first validated and remembered as byte ranges, then decoded once the column list
// (cached across events while its bytes repeat) is known, whatever the key order.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/codec/detail/json/write.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::size_t json_npos = static_cast<std::size_t>(-1);

/// A JSON string as found in the input: raw bytes between the quotes.
struct json_str {
    std::string_view raw;
    bool escaped = false;
};

/// Byte range [b, e) of a JSON value in the input; b == json_npos when absent.
struct json_range {
    std::size_t b = json_npos, e = 0;
    bool present() const noexcept { return b != json_npos; }
};

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

inline std::uint32_t hex4(const char* p) noexcept {
    return static_cast<std::uint32_t>((hex_value(p[0]) << 12) | (hex_value(p[1]) << 8) | (hex_value(p[2]) << 4) |
                                      hex_value(p[3]));
}

/// Unescapes a string validated by json_reader::read_string, appending to out.
inline void json_unescape(std::string_view raw, std::string& out) {
    std::size_t i = 0;
    while (i < raw.size()) {
        const std::size_t bs = raw.find('\\', i);
        if (bs == std::string_view::npos) {
            out.append(raw.data() + i, raw.size() - i);
            return;
        }
        out.append(raw.data() + i, bs - i);
        const char c = raw[bs + 1];
        i = bs + 2;
        switch (c) {
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                std::uint32_t cp = hex4(raw.data() + i);
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {  // validated: a low surrogate follows
                    const std::uint32_t lo = hex4(raw.data() + i + 2);
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                append_utf8(out, cp);
                break;
            }
            default: out += c; break;  // '"', '\\', '/'
        }
    }
}

inline void assign_json_str(std::string& dst, const json_str& s) {
    if (!s.escaped) dst.assign(s.raw.data(), s.raw.size());
    else {
        dst.clear();
        json_unescape(s.raw, dst);
    }
}

/// Low-level bounds-checked JSON reader with error reporting.
class json_reader {
public:
    const char* s = nullptr;
    std::size_t n = 0;        // readable size (input size capped by the size limit)
    std::size_t i = 0;        // position
    std::size_t max_depth = 64;
    std::size_t depth = 0;
    bool limited = false;     // n was capped by max_input_size
    std::size_t max_input = 0;
    error err{};
    std::string scratch;      // unescaped strings
    std::string stack;        // skip_value's bracket stack

    // -- errors --
    bool fail(errc e, std::size_t at, std::string_view path, std::string_view what) {
        std::string where = path.empty() ? "at byte " : "at ";
        if (!path.empty()) {
            where += path;
            where += " (byte ";
        }
        where += std::to_string(at);
        if (!path.empty()) where += ')';
        err = error::make(e, "json", where, what);
        return false;
    }
    bool truncated() {
        if (limited)
            return fail(errc::limit_exceeded, n, {},
                        "the event is larger than max_input_size (" + std::to_string(max_input) + " bytes)");
        return fail(errc::truncated, n, {}, "unexpected end of input inside the JSON object");
    }
    bool syntax(std::string_view what) {
        if (i >= n) return truncated();
        return fail(errc::syntax_error, i, {}, what);
    }

    // -- scanning --
    [[gnu::always_inline]] void ws() noexcept {
        if (i < n && static_cast<unsigned char>(s[i]) > ' ') [[likely]]
            return;  // the common case: no white space
        ws_slow();
    }
    [[gnu::noinline]] void ws_slow() noexcept {
        std::size_t k = i;
        const char* const d = s;
        const std::size_t m = n;
        while (k < m) {
            const char c = d[k];
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
            ++k;
        }
        i = k;
    }
    char peek() const noexcept { return i < n ? s[i] : '\0'; }

    bool read_string(json_str& out) {  // at '"'
        const std::size_t start = i + 1;
        const char* const d = s;
        const std::size_t m = n;
        std::size_t k = start;
        bool esc = false;
        for (;;) {
            k += json_plain_run(d + k, d + m);
            if (k >= m) {
                i = k;
                return truncated();
            }
            const auto c = static_cast<unsigned char>(d[k]);
            if (c == '"') {
                out.raw = std::string_view(d + start, k - start);
                out.escaped = esc;
                i = k + 1;
                return true;
            }
            if (c >= 0x80) {  // JSON text is UTF-8 (RFC 8259); invalid bytes are an error
                const std::size_t len = utf8_seq(reinterpret_cast<const unsigned char*>(d + k),
                                                 reinterpret_cast<const unsigned char*>(d + m));
                if (len == 0) {
                    i = k;
                    bool prefix = m - k < 4;  // input ends inside the sequence?
                    for (std::size_t q = k + 1; prefix && q < m; ++q) prefix = (static_cast<unsigned char>(d[q]) & 0xC0) == 0x80;
                    if (prefix) return truncated();
                    return fail(errc::invalid_value, k, {}, "invalid UTF-8 in string");
                }
                k += len;
                continue;
            }
            i = k;
            if (c < 0x20) return syntax("unescaped control character in string");
            // backslash
            esc = true;
            if (i + 1 >= n) return truncated();
            const char e = s[i + 1];
            if (e == 'u') {
                std::uint32_t cp = 0;
                if (!read_hex4(i + 2, cp)) return false;
                i += 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(errc::invalid_value, i - 6, {}, "lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    std::uint32_t lo = 0;
                    if (i + 2 > n) return truncated();
                    if (s[i] != '\\' || s[i + 1] != 'u')
                        return fail(errc::invalid_value, i - 6, {}, "high surrogate not followed by a low surrogate");
                    if (!read_hex4(i + 2, lo)) return false;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(errc::invalid_value, i, {}, "high surrogate not followed by a low surrogate");
                    i += 6;
                }
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                i += 2;
            } else {
                ++i;
                return syntax("invalid escape sequence in string");
            }
            k = i;
        }
    }
    bool read_hex4(std::size_t at, std::uint32_t& cp) {
        if (at + 4 > n) return truncated();
        for (std::size_t k = 0; k < 4; ++k)
            if (hex_value(s[at + k]) < 0) return fail(errc::syntax_error, at + k, {}, "invalid \\u escape");
        cp = hex4(s + at);
        return true;
    }

    /// A JSON number token; is_int if it has no fraction or exponent.
    bool read_number(std::string_view& tok, bool& is_int) {
        const std::size_t start = i;
        auto digit = [&] { return i < n && s[i] >= '0' && s[i] <= '9'; };
        if (i < n && s[i] == '-') ++i;
        if (i >= n) return truncated();
        if (s[i] == '0') ++i;
        else if (digit()) {
            while (digit()) ++i;
        } else return syntax("invalid number");
        is_int = true;
        if (i < n && s[i] == '.') {
            ++i;
            is_int = false;
            if (!digit()) return syntax("invalid number: digits expected after '.'");
            while (digit()) ++i;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
            ++i;
            is_int = false;
            if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
            if (!digit()) return syntax("invalid number: digits expected in the exponent");
            while (digit()) ++i;
        }
        if (i >= n) return truncated();
        tok = std::string_view(s + start, i - start);
        return true;
    }

    bool literal(std::string_view lit) {
        if (n - i < lit.size()) {
            if (std::string_view(s + i, n - i) == lit.substr(0, n - i)) return truncated();
            return syntax("invalid literal");
        }
        if (std::string_view(s + i, lit.size()) != lit) return syntax("invalid literal");
        i += lit.size();
        return true;
    }

    bool enter() {
        if (++depth > max_depth)
            return fail(errc::limit_exceeded, i, {}, "nesting deeper than max_depth (" + std::to_string(max_depth) + ")");
        return true;
    }

    /// Object members: call with first=true after '{' was consumed (and enter()).
    /// Sets done at '}' (and leaves the object); otherwise reads `key` and the ':'.
    [[gnu::always_inline]] bool member(bool& first, bool& done, json_str& key) {
        ws();
        if (i >= n) return truncated();
        char c = s[i];
        if (c == '}') {  // "{…,}" cannot reach here: after ',' a key is required
            ++i;
            --depth;
            done = true;
            return true;
        }
        if (!first) {
            if (c != ',') return syntax("expected ',' or '}' in object");
            ++i;
            ws();
            c = peek();
        }
        first = false;
        done = false;
        if (c != '"') return syntax("expected a string key in object");
        if (!read_string(key)) return false;
        if (i < n && s[i] == ':') [[likely]] {
            ++i;
        } else {
            ws();
            if (peek() != ':') return syntax("expected ':' after object key");
            ++i;
        }
        ws();
        if (i >= n) return truncated();
        return true;
    }
    /// Array elements: like member(); positions at the element.
    bool element(bool& first, bool& done) {
        ws();
        if (i >= n) return truncated();
        if (s[i] == ']' && first) {
            ++i;
            --depth;
            done = true;
            return true;
        }
        if (!first) {
            if (s[i] == ']') {
                ++i;
                --depth;
                done = true;
                return true;
            }
            if (s[i] != ',') return syntax("expected ',' or ']' in array");
            ++i;
            ws();
            if (i >= n) return truncated();
        }
        first = false;
        done = false;
        return true;
    }
    bool open(char c) {  // consumes '{' or '['
        if (peek() != c) return false;
        ++i;
        return enter();
    }

    /// Validates and skips one value (iterative; depth-limited).
    bool skip_value() {
        stack.clear();
        json_str tmp;
        for (;;) {
            ws();
            if (i >= n) return truncated();
            const char c = s[i];
            bool scalar = true;
            if (c == '{' || c == '[') {
                if (depth + stack.size() + 1 > max_depth)
                    return fail(errc::limit_exceeded, i, {},
                                "nesting deeper than max_depth (" + std::to_string(max_depth) + ")");
                stack += c;
                ++i;
                ws();
                if (i >= n) return truncated();
                if (s[i] == (c == '{' ? '}' : ']')) {
                    ++i;
                    stack.pop_back();
                } else if (c == '{') {
                    if (s[i] != '"') return syntax("expected a string key in object");
                    if (!read_string(tmp)) return false;
                    ws();
                    if (peek() != ':') return syntax("expected ':' after object key");
                    ++i;
                    continue;
                } else continue;
                scalar = false;
            }
            if (scalar) {
                if (c == '"') {
                    if (!read_string(tmp)) return false;
                } else if (c == '-' || (c >= '0' && c <= '9')) {
                    std::string_view t;
                    bool is_int;
                    if (!read_number(t, is_int)) return false;
                } else if (c == 't') {
                    if (!literal("true")) return false;
                } else if (c == 'f') {
                    if (!literal("false")) return false;
                } else if (c == 'n') {
                    if (!literal("null")) return false;
                } else return syntax("expected a JSON value");
            }
            // After a value: close containers or move to the next element.
            for (;;) {
                if (stack.empty()) return true;
                ws();
                if (i >= n) return truncated();
                const char top = stack.back();
                if (s[i] == (top == '{' ? '}' : ']')) {
                    ++i;
                    stack.pop_back();
                    continue;
                }
                if (s[i] != ',') return syntax(top == '{' ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
                ++i;
                if (top == '{') {
                    ws();
                    if (peek() != '"') return syntax("expected a string key in object");
                    if (!read_string(tmp)) return false;
                    ws();
                    if (peek() != ':') return syntax("expected ':' after object key");
                    ++i;
                }
                break;
            }
        }
    }
    bool skip_range(json_range& r) {
        r.b = i;
        if (!skip_value()) return false;
        r.e = i;
        return true;
    }

    /// A key or string value as a string_view (unescaped into scratch if needed).
    std::string_view text_of(const json_str& k) {
        if (!k.escaped) return k.raw;
        scratch.clear();
        json_unescape(k.raw, scratch);
        return scratch;
    }
};

// What a JSON value at some position looks like, for messages.
inline std::string_view json_form_name(char c) noexcept {
    switch (c) {
        case '"': return "a string";
        case '{': return "an object";
        case '[': return "an array";
        case 't':
        case 'f': return "a boolean";
        case 'n': return "null";
        default: return "a number";
    }
}

template <class T>
inline T& slot_as(value& v) {
    if (auto* p = std::get_if<T>(&v)) return *p;
    return v.template emplace<T>();
}

}  // namespace detail
ROWCAST_NAMESPACE_END
