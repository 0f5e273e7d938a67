// Internal: the YAML emitter of rowcast::yaml_codec. Writes one event as one
// block-style YAML document straight into a std::string (no DOM, no yaml-cpp).
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

// Byte classes for scalar emission.
enum : std::uint8_t {
    yc_plain = 1,   // may appear anywhere in a plain (unquoted) scalar
    yc_first = 2,   // may start a plain scalar
    yc_escape = 4,  // must be escaped inside a double-quoted scalar
};

inline constexpr std::array<std::uint8_t, 256> yaml_char_class = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        std::uint8_t f = 0;
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        const bool digit = c >= '0' && c <= '9';
        if (alpha || c == '_' || c == '/' || c >= 0x80) f |= yc_first | yc_plain;
        if (digit || c == '-' || c == '.' || c == ' ' || c == '(' || c == ')' || c == '+' || c == '=' || c == '@' ||
            c == '$' || c == ';' || c == '^' || c == '~')
            f |= yc_plain;
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') f |= yc_escape;
        t[static_cast<std::size_t>(c)] = f;
    }
    return t;
}();

// Decodes the code point of the (valid) UTF-8 sequence at p (lead byte >= 0x80); sets len.
inline std::uint32_t yaml_utf8_at(const unsigned char* p, const unsigned char* e, std::size_t& len) noexcept {
    const unsigned c = p[0];
    std::size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (static_cast<std::size_t>(e - p) < n) n = 1;
    std::uint32_t cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : n == 4 ? (c & 0x07) : c;
    for (std::size_t i = 1; i < n; ++i) cp = (cp << 6) | (p[i] & 0x3Fu);
    len = n;
    return cp;
}

// Code points YAML does not allow raw (or treats as line breaks / BOM): escaped as \uXXXX.
constexpr bool yaml_escape_cp(std::uint32_t cp) noexcept {
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE ||
           cp == 0xFFFF;
}

// True if `s` (valid UTF-8) reads back as the same string when written plain.
inline bool yaml_plain_ok(std::string_view s) noexcept {
    if (s.empty()) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* e = p + s.size();
    if (!(yaml_char_class[p[0]] & yc_first) || e[-1] == ' ') return false;
    bool non_ascii = false;
    for (const auto* q = p; q < e; ++q) {
        if (!(yaml_char_class[*q] & yc_plain)) return false;
        non_ascii |= *q >= 0x80;
    }
    if (non_ascii) {
        for (const auto* q = p; q < e;) {
            if (*q < 0x80) {
                ++q;
                continue;
            }
            std::size_t n;
            if (yaml_escape_cp(yaml_utf8_at(q, e, n))) return false;
            q += n;
        }
    }
    if (s.size() <= 8) {  // words YAML 1.1/1.2 resolve to null, booleans or special floats
        const char f = static_cast<char>(s[0] | 0x20);
        if (f != 'n' && f != 't' && f != 'f' && f != 'y' && f != 'o' && f != 'i') return true;
        char low[8];
        for (std::size_t i = 0; i < s.size(); ++i) {
            const char c = s[i];
            low[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        }
        const std::string_view l(low, s.size());
        static constexpr std::string_view words[] = {"null", "true", "false", "yes", "no",  "on",
                                                     "off",  "y",    "n",     "nan", "inf", "infinity"};
        for (std::string_view w : words)
            if (l == w) return false;
    }
    return true;
}

inline void yaml_hex_escape(std::string& out, char kind, std::uint32_t v, int digits) {
    out += '\\';
    out += kind;
    for (int i = digits - 1; i >= 0; --i) out += hex_upper[(v >> (4 * i)) & 15];
}

/// Writes `s` (must be valid UTF-8) as a double-quoted YAML scalar.
inline void yaml_quoted(std::string& out, std::string_view s) {
    out += '"';
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* e = p + s.size();
    const auto* run = p;
    while (p < e) {
        const unsigned c = *p;
        if (c < 0x80 && !(yaml_char_class[c] & yc_escape)) {
            ++p;
            continue;
        }
        if (c >= 0x80) {
            std::size_t n;
            const std::uint32_t cp = yaml_utf8_at(p, e, n);
            if (!yaml_escape_cp(cp)) {
                p += n;
                continue;
            }
            out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
            yaml_hex_escape(out, 'u', cp, 4);
            p += n;
            run = p;
            continue;
        }
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
        if (const char l = short_escape(static_cast<unsigned char>(c), false)) {  // \b, \f as \x08, \x0C
            out += '\\';
            out += l;
        } else {
            yaml_hex_escape(out, 'x', c, 2);
        }
        ++p;
        run = p;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    out += '"';
}

/// Writes a valid UTF-8 string as a scalar: plain when that is unambiguous, else double-quoted.
inline void yaml_scalar(std::string& out, std::string_view s) {
    if (yaml_plain_ok(s)) out += s;
    else yaml_quoted(out, s);
}

/// `s` with every invalid UTF-8 byte replaced by U+FFFD.
inline std::string utf8_replace_invalid(std::string_view s) {
    std::string fixed;
    fixed.reserve(s.size() + 8);
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* e = p + s.size();
    while (p < e) {
        std::size_t n = 1;
        if (*p >= 0x80) {
            const unsigned c = *p;
            n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            if (n == 0 || static_cast<std::size_t>(e - p) < n ||
                !valid_utf8(std::string_view(reinterpret_cast<const char*>(p), n))) {
                fixed += "\xEF\xBF\xBD";
                ++p;
                continue;
            }
        }
        fixed.append(reinterpret_cast<const char*>(p), n);
        p += n;
    }
    return fixed;
}

/// Writes a string used as a name (mapping key, column name, id): invalid UTF-8
/// bytes are replaced by U+FFFD (names are expected to be UTF-8).
inline void yaml_name(std::string& out, std::string_view s) {
    if (valid_utf8(s)) return yaml_scalar(out, s);
    yaml_scalar(out, utf8_replace_invalid(s));
}

// Base64 text, always double-quoted ("null", "true" and "" are valid base64 too).
inline void yaml_base64(std::string& out, std::string_view data) {
    out += '"';
    append_base64(out, data);
    out += '"';
}

inline void yaml_indent(std::string& out, int indent) { out.append(static_cast<std::size_t>(indent), ' '); }

// "<indent>key: " (key is a literal that needs no quoting).
inline void yaml_key(std::string& out, int indent, std::string_view key) {
    yaml_indent(out, indent);
    out += key;
    out += ": ";
}

/// Writes a string field's value: a scalar if valid UTF-8, else the mapping {base64: …}
/// (at `indent` + 2). Must follow "key:" with nothing after it yet but the space.
inline void yaml_string_field(std::string& out, int indent, std::string_view s) {
    if (valid_utf8(s)) {
        yaml_scalar(out, s);
        out += '\n';
        return;
    }
    out.back() = '\n';  // replace the space after "key:"
    yaml_key(out, indent + 2, "base64");
    yaml_base64(out, s);
    out += '\n';
}

template <class F>
inline void yaml_float(std::string& out, F v) {
    if (std::isnan(v)) {
        out += "\"NaN\"";
        return;
    }
    if (std::isinf(v)) {
        out += v < 0 ? "\"-Infinity\"" : "\"Infinity\"";
        return;
    }
    const std::size_t start = out.size();
    append_number(out, v);
    // "1" -> "1.0" so generic YAML readers see a float.
    if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
}

inline void yaml_uint(std::string& out, std::uint64_t v) { append_number(out, v); }


inline std::uint8_t bit_column_width(const column_type& t) noexcept {
    return static_cast<std::uint8_t>(t.length == 0 ? 1 : t.length > 64 ? 64 : t.length);
}

inline bool bits_fit(std::uint64_t bits, unsigned width) noexcept { return width >= 64 || (bits >> width) == 0; }

/// 1-based index of the first member named `name`, 0 if none.
inline std::size_t member_index(const column_type& t, std::string_view name) noexcept {
    for (std::size_t i = 0; i < t.members.size(); ++i)
        if (t.members[i] == name) return i + 1;
    return 0;
}

// The SET mask of `names` per the column's members; false if a name is unknown or
// beyond the 64th member.
inline bool set_mask_of(const column_type& t, std::string_view names, std::uint64_t& mask) noexcept {
    mask = 0;
    bool ok = true;
    for_each_set_name(names, [&](std::string_view n) {
        const std::size_t i = member_index(t, n);
        if (i == 0 || i > 64) ok = false;
        else mask |= std::uint64_t{1} << (i - 1);
    });
    return ok;
}

inline bool time_in_text_range(std::int64_t us) noexcept {
    constexpr std::int64_t lim = 999999LL * 3600 * 1000000 + 3599999999LL;
    return us >= -lim && us <= lim;
}

inline bool date_in_text_range(const date& d) noexcept { return d.year <= 9999 && d.month <= 12 && d.day <= 31; }

inline bool datetime_in_text_range(const datetime& d) noexcept {
    return date_in_text_range(d.day) && d.hour <= 23 && d.minute <= 59 && d.second <= 59 && d.microsecond <= 999999;
}

inline bool timestamp_in_text_range(std::int64_t us) noexcept {
    return us >= min_timestamp_us && us <= max_timestamp_us;
}

/// True if `v` is written in its natural form for column type `t`, i.e. decoding
/// that form with `t` gives back exactly `v`.
inline bool yaml_is_natural(const column_type& t, const value& v) {
    const value_kind k = v.kind();
    if (k == value_kind::null) return true;
    if (k != t.natural_kind()) return false;
    switch (k) {
        case value_kind::decimal: return valid_decimal(std::get<decimal>(v).digits);
        case value_kind::text: return valid_utf8(std::get<text>(v).utf8);
        case value_kind::date: return date_in_text_range(std::get<date>(v));
        case value_kind::time: return time_in_text_range(std::get<time>(v).microseconds);
        case value_kind::datetime: return datetime_in_text_range(std::get<datetime>(v));
        case value_kind::timestamp: return timestamp_in_text_range(std::get<timestamp>(v).microseconds);
        case value_kind::bit: {
            const auto& b = std::get<bit>(v);
            return b.width == bit_column_width(t) && bits_fit(b.bits, b.width);
        }
        case value_kind::enumeration: {
            const auto& en = std::get<enum_value>(v);
            return en.index != 0 && member_index(t, en.name) == en.index && valid_utf8(en.name);
        }
        case value_kind::set: {
            const auto& s = std::get<set_value>(v);
            std::uint64_t mask;
            return valid_utf8(s.names) && set_mask_of(t, s.names, mask) && mask == s.mask;
        }
        case value_kind::json: return valid_utf8(std::get<json_text>(v).text);
        default: return true;
    }
}

// Writes a temporal value's text form as a quoted scalar.
inline void yaml_temporal(std::string& out, const value& v) {
    out += '"';
    switch (v.kind()) {
        case value_kind::date: append_date(out, std::get<date>(v)); break;
        case value_kind::time: append_time(out, std::get<time>(v)); break;
        case value_kind::datetime: append_datetime(out, std::get<datetime>(v)); break;
        default: append_timestamp(out, std::get<timestamp>(v)); break;
    }
    out += '"';
}

// Writes the natural form of `v` after "key: " (nested blocks at indent + 2).
inline void yaml_natural(std::string& out, int indent, const value& v) {
    switch (v.kind()) {
        case value_kind::null: out += "null\n"; return;
        case value_kind::int64: append_number(out, std::get<std::int64_t>(v)); break;
        case value_kind::uint64: yaml_uint(out, std::get<std::uint64_t>(v)); break;
        case value_kind::float32: yaml_float(out, std::get<float>(v)); break;
        case value_kind::float64: yaml_float(out, std::get<double>(v)); break;
        case value_kind::decimal: yaml_scalar(out, std::get<decimal>(v).digits); break;
        case value_kind::text: yaml_scalar(out, std::get<text>(v).utf8); break;
        case value_kind::bytes:
            out.back() = '\n';
            yaml_key(out, indent + 2, "base64");
            yaml_base64(out, std::get<bytes>(v).data);
            break;
        case value_kind::date:
        case value_kind::time:
        case value_kind::datetime:
        case value_kind::timestamp: yaml_temporal(out, v); break;
        case value_kind::year: yaml_uint(out, std::get<year>(v).value); break;
        case value_kind::bit: yaml_uint(out, std::get<bit>(v).bits); break;
        case value_kind::enumeration: yaml_scalar(out, std::get<enum_value>(v).name); break;
        case value_kind::set: {
            const auto& names = std::get<set_value>(v).names;
            if (names.empty()) {
                out += "[]";
                break;
            }
            out.back() = '\n';
            for_each_set_name(names, [&](std::string_view n) {
                yaml_indent(out, indent + 2);
                out += "- ";
                yaml_scalar(out, n);
                out += '\n';
            });
            return;
        }
        case value_kind::json: yaml_scalar(out, std::get<json_text>(v).text); break;
        case value_kind::geometry: {
            const auto& g = std::get<geometry>(v);
            out.back() = '\n';
            yaml_key(out, indent + 2, "srid");
            yaml_uint(out, g.srid);
            out += '\n';
            yaml_key(out, indent + 2, "wkb");
            yaml_base64(out, g.wkb);
            break;
        }
        case value_kind::absent: out += "null"; break;  // not reached: absent values are not written
    }
    out += '\n';
}

// Writes "value: <s>" or, for invalid UTF-8, "base64: <…>" at `indent`.
inline void yaml_tagged_string(std::string& out, int indent, std::string_view s) {
    if (valid_utf8(s)) {
        yaml_key(out, indent, "value");
        yaml_scalar(out, s);
    } else {
        yaml_key(out, indent, "base64");
        yaml_base64(out, s);
    }
    out += '\n';
}

// Writes the tagged form of `v` after "key: " as a block mapping at indent + 2.
inline void yaml_tagged(std::string& out, int indent, const value& v) {
    out.back() = '\n';
    const int in = indent + 2;
    yaml_indent(out, in);
    out += "$type: ";
    out += to_string(v.kind());
    out += '\n';
    switch (v.kind()) {
        case value_kind::int64:
        case value_kind::uint64:
        case value_kind::float32:
        case value_kind::float64:
        case value_kind::year:
            yaml_key(out, in, "value");
            yaml_natural(out, in, v);
            return;
        case value_kind::decimal: return yaml_tagged_string(out, in, std::get<decimal>(v).digits);
        case value_kind::text: return yaml_tagged_string(out, in, std::get<text>(v).utf8);
        case value_kind::json: return yaml_tagged_string(out, in, std::get<json_text>(v).text);
        case value_kind::bytes:
            yaml_key(out, in, "base64");
            yaml_base64(out, std::get<bytes>(v).data);
            out += '\n';
            return;
        case value_kind::date:
        case value_kind::datetime: {
            const bool ok = v.kind() == value_kind::date ? date_in_text_range(std::get<date>(v))
                                                         : datetime_in_text_range(std::get<datetime>(v));
            yaml_key(out, in, "value");
            if (ok) {
                yaml_temporal(out, v);
            } else {  // not representable as text: the decoder will reject it
                out += "\"invalid\"";
            }
            out += '\n';
            return;
        }
        case value_kind::time:
        case value_kind::timestamp: {
            const std::int64_t us = v.kind() == value_kind::time ? std::get<time>(v).microseconds
                                                                 : std::get<timestamp>(v).microseconds;
            const bool ok = v.kind() == value_kind::time ? time_in_text_range(us) : timestamp_in_text_range(us);
            yaml_key(out, in, "value");
            if (ok) yaml_temporal(out, v);
            else append_number(out, us);  // out of the text range: microseconds as an integer
            out += '\n';
            return;
        }
        case value_kind::bit: {
            const auto& b = std::get<bit>(v);
            yaml_key(out, in, "value");
            yaml_uint(out, b.bits);
            out += '\n';
            yaml_key(out, in, "width");
            yaml_uint(out, b.width);
            out += '\n';
            return;
        }
        case value_kind::enumeration: {
            const auto& en = std::get<enum_value>(v);
            yaml_tagged_string(out, in, en.name);
            yaml_key(out, in, "index");
            yaml_uint(out, en.index);
            out += '\n';
            return;
        }
        case value_kind::set: {
            const auto& s = std::get<set_value>(v);
            if (valid_utf8(s.names)) {
                yaml_key(out, in, "value");
                yaml_natural(out, in, value{set_value{s.names, 0}});
            } else {
                yaml_key(out, in, "base64");
                yaml_base64(out, s.names);
                out += '\n';
            }
            yaml_key(out, in, "mask");
            yaml_uint(out, s.mask);
            out += '\n';
            return;
        }
        case value_kind::geometry: {
            const auto& g = std::get<geometry>(v);
            yaml_key(out, in, "srid");
            yaml_uint(out, g.srid);
            out += '\n';
            yaml_key(out, in, "wkb");
            yaml_base64(out, g.wkb);
            out += '\n';
            return;
        }
        case value_kind::null:
        case value_kind::absent: return;  // not reached
    }
}

// "key: value" lines for one image at indent 2.
inline void yaml_image(std::string& out, const column_list* cols, const std::vector<value>& img) {
    bool any = false;
    const std::size_t n = cols ? cols->size() : 0;
    for (std::size_t i = 0; i < img.size() && i < n; ++i) {
        if (img[i].is_absent()) continue;
        if (!any) out += '\n';
        any = true;
        const column& c = (*cols)[i];
        const std::size_t key_start = out.size();
        out += "  ";
        yaml_name(out, c.name);
        if (out.size() - key_start > 1000) {  // YAML limits implicit keys to 1024 characters
            out.insert(key_start + 2, "? ");
            out += "\n  : ";
        } else {
            out += ": ";
        }
        if (yaml_is_natural(c.type, img[i])) yaml_natural(out, 2, img[i]);
        else yaml_tagged(out, 2, img[i]);
    }
    if (!any) out += " {}\n";
}

inline void yaml_time_field(std::string& out, std::string_view key, time_point t) {
    const std::int64_t us = t.time_since_epoch().count();
    if (us == 0) return;  // unknown: omitted
    yaml_key(out, 2, key);
    if (timestamp_in_text_range(us)) {
        out += '"';
        append_timestamp(out, timestamp{us});
        out += '"';
    } else {
        append_number(out, us);
    }
    out += '\n';
}

inline void yaml_column_type(std::string& out, const column& c) {
    const column_type& t = c.type;
    out += "    - type: ";
    out += to_string(t.type);
    out += '\n';
    if (t.is_unsigned) out += "      unsigned: true\n";
    auto num = [&](std::string_view k, std::uint32_t v) {
        if (!v) return;
        yaml_key(out, 6, k);
        yaml_uint(out, v);
        out += '\n';
    };
    num("length", t.length);
    num("precision", t.precision);
    num("scale", t.scale);
    num("fsp", t.fsp);
    if (!t.charset.empty()) {
        yaml_key(out, 6, "charset");
        yaml_name(out, t.charset);
        out += '\n';
    }
    if (!t.members.empty()) {
        out += "      members:\n";
        for (const auto& m : t.members) {
            out += "        - ";
            yaml_name(out, m);
            out += '\n';
        }
    }
    if (!t.geometry_type.empty()) {
        yaml_key(out, 6, "geometry_type");
        yaml_name(out, t.geometry_type);
        out += '\n';
    }
    if (!c.nullable) out += "      nullable: false\n";
}

/// Appends one event as a YAML document ("---\n" … ) to `out`.
inline void yaml_encode(const event& e, std::string& out) {
    const column_list* cols = e.columns && e.columns->size() ? e.columns.get() : nullptr;
    const std::size_t n = cols ? cols->size() : 0;
    out.reserve(out.size() + 320 + n * 96 + e.statement.size());

    out += "---\nschema: ";
    yaml_name(out, e.schema);
    out += "\ntable: ";
    yaml_name(out, e.table);
    out += '\n';
    {  // smpl-repl's "YYYY-MM-DD HH:MM:SS" (UTC) of the commit (else capture) time; omitted if unknown
        std::int64_t us = e.commit_time.time_since_epoch().count();
        if (us == 0) us = e.capture_time.time_since_epoch().count();
        if (us != 0 && timestamp_in_text_range(us)) {
            out += "timestamp: \"";
            const std::size_t at = out.size();
            append_timestamp(out, timestamp{us});
            out[at + 10] = ' ';
            out.resize(at + 19);
            out += "\"\n";
        }
    }
    out += "operation: ";
    out += to_string(e.kind);
    out += '\n';

    if (is_row_event(e.kind) || n) {
        // primary: the primary-key column's name, or a list if several; keys: the list.
        std::size_t pk_count = 0;
        for (std::size_t i = 0; i < n; ++i) pk_count += (*cols)[i].primary_key;
        auto pk_list = [&] {
            for (std::size_t i = 0; i < n; ++i)
                if ((*cols)[i].primary_key) {
                    out += "  - ";
                    yaml_name(out, (*cols)[i].name);
                    out += '\n';
                }
        };
        if (pk_count == 1) {
            out += "primary: ";
            for (std::size_t i = 0; i < n; ++i)
                if ((*cols)[i].primary_key) yaml_name(out, (*cols)[i].name);
            out += '\n';
        } else if (pk_count > 1) {
            out += "primary:\n";
            pk_list();
        }
        if (pk_count == 0) {
            out += "keys: []\n";
        } else {
            out += "keys:\n";
            pk_list();
        }
        if (n == 0) {
            out += "columns: []\n";
        } else {
            out += "columns:\n";
            for (std::size_t i = 0; i < n; ++i) {
                out += "  - ";
                yaml_name(out, (*cols)[i].name);
                out += '\n';
            }
        }
        if (e.kind == event_kind::insert || e.kind == event_kind::update) {
            out += "new:";
            yaml_image(out, cols, e.after);
        }
        if (e.kind == event_kind::update || e.kind == event_kind::delete_) {
            out += "old:";
            yaml_image(out, cols, e.before);
        }
    }

    out += "rowcast:\n  version: 1\n";
    if (e.sequence) {
        out += "  sequence: ";
        yaml_uint(out, e.sequence);
        out += '\n';
    }
    // "    key: value" lines of the transaction and source mappings (zero/empty left out)
    auto uint_line = [&out](const char* key, std::uint64_t v) {
        if (!v) return;
        out += "    ";
        out += key;
        out += ": ";
        yaml_uint(out, v);
        out += '\n';
    };
    auto name_line = [&out](const char* key, const std::string& v) {
        if (v.empty()) return;
        out += "    ";
        out += key;
        out += ": ";
        yaml_name(out, v);
        out += '\n';
    };
    const auto& tx = e.transaction;
    if (!tx.id.empty() || tx.position || tx.last || tx.xid) {
        out += "  transaction:\n";
        name_line("id", tx.id);
        uint_line("position", tx.position);
        if (tx.last) out += "    last: true\n";
        uint_line("xid", tx.xid);
    }
    const auto& src = e.source;
    if (!src.file.empty() || src.offset || !src.gtid.empty() || src.server_id || src.row || src.thread) {
        out += "  source:\n";
        name_line("file", src.file);
        uint_line("offset", src.offset);
        name_line("gtid", src.gtid);
        uint_line("server_id", src.server_id);
        uint_line("row", src.row);
        uint_line("thread", src.thread);
    }
    yaml_time_field(out, "commit_time", e.commit_time);
    yaml_time_field(out, "capture_time", e.capture_time);
    if (!e.statement.empty()) {
        out += "  statement: ";
        yaml_string_field(out, 2, e.statement);
    }
    if (n) {
        out += "  types:\n";
        for (std::size_t i = 0; i < n; ++i) yaml_column_type(out, (*cols)[i]);
    }
    // The explicit document end: the decoder requires it for rowcast's documents, so a
    // truncated document (a cut spool file) is refused instead of read as another event.
    out += "...\n";
}

}  // namespace detail
ROWCAST_NAMESPACE_END
