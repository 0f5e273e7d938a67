// Internal: the decoding side of rowcast::yaml_codec: document framing, a
// nesting pre-scan (yaml-cpp's parser recurses), and the mapping of a yaml-cpp
// node tree onto an event. Scalars are parsed from their raw text (Scalar()),
// never with yaml-cpp's lenient as<T>() conversions.
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/codec/detail/yaml/emit.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::string_view yaml_component = "yaml";

// ---------------------------------------------------------------------------
// Framing

struct yaml_doc_span {
    std::size_t end = 0;       // the document is in[0, end) (leading blank/comment lines included)
    std::size_t consumed = 0;  // bytes to report: end, plus an optional "..." line and white space
    bool terminated = false;   // the document ended with a "..." line (rowcast's own documents must)
};

inline bool yaml_marker_at(std::string_view in, std::size_t p, std::string_view marker) noexcept {
    if (in.size() - p < 3 || in.compare(p, 3, marker) != 0) return false;
    if (p + 3 == in.size()) return true;
    const char c = in[p + 3];
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

inline std::size_t yaml_next_line(std::string_view in, std::size_t p) noexcept {
    const std::size_t nl = in.find('\n', p);
    return nl == std::string_view::npos ? in.size() : nl + 1;
}

/// Finds the first document of `in`: optional blank/comment/directive lines, an
/// optional "---" line, then content up to the next "---" or "..." line or the end.
/// `terminated` tells whether a "..." line ended it.
inline result<yaml_doc_span> yaml_frame(std::string_view in, std::size_t max_size) {
    std::size_t p = 0;
    while (p < in.size()) {  // preamble: blank lines, comments, directives
        std::size_t q = p;
        while (q < in.size() && (in[q] == ' ' || in[q] == '\t' || in[q] == '\r')) ++q;
        if (q < in.size() && in[q] != '\n' && in[q] != '#' && !(q == p && in[q] == '%')) break;
        p = yaml_next_line(in, q);
    }
    if (p >= in.size())
        return error::make(errc::truncated, yaml_component, "at byte " + std::to_string(in.size()),
                           "no YAML document in the input");
    const std::size_t begin = p;
    yaml_doc_span s{in.size(), in.size()};
    for (p = yaml_next_line(in, p); p < in.size(); p = yaml_next_line(in, p)) {
        if (p - begin > max_size) break;
        if (yaml_marker_at(in, p, "---")) {
            s = {p, p};
            break;
        }
        if (yaml_marker_at(in, p, "...")) {
            s = {p, yaml_next_line(in, p), true};
            break;
        }
    }
    if (s.end - begin > max_size)
        return error::make(errc::limit_exceeded, yaml_component, "at byte " + std::to_string(begin),
                           "document larger than the configured maximum of " + std::to_string(max_size) + " bytes");
    while (s.consumed < in.size() && (in[s.consumed] == ' ' || in[s.consumed] == '\t' || in[s.consumed] == '\r' ||
                                      in[s.consumed] == '\n'))
        ++s.consumed;
    return s;
}

/// Conservative estimate of the nesting depth of a YAML text (block indentation
/// levels + indicators on a line + open flow brackets), so that hostile input never
/// reaches yaml-cpp's recursive parser too deep. Over-estimates on odd but valid
/// input (brackets in plain scalars); never under-estimates what yaml-cpp nests.
/// Returns the byte offset where `max_depth` is exceeded, or npos.
inline std::size_t yaml_depth_exceeded(std::string_view doc, std::size_t max_depth) {
    std::vector<std::size_t> indents;
    std::size_t flow = 0;
    char quote = 0;  // '"' or '\'' while inside a quoted scalar
    std::size_t i = 0;
    const std::size_t n = doc.size();
    while (i < n) {
        // Start of a line.
        std::size_t extra = 0;
        bool expect = true;  // a new node may start here (so a quote opens a quoted scalar)
        if (!quote) {
            std::size_t ind = 0;
            while (i + ind < n && doc[i + ind] == ' ') ++ind;
            const std::size_t c = i + ind;
            const bool blank = c >= n || doc[c] == '\n' || doc[c] == '\r' || doc[c] == '#';
            if (!blank && flow == 0) {
                while (!indents.empty() && indents.back() >= ind) indents.pop_back();
                indents.push_back(ind);
                if (indents.size() > max_depth) return c;
            }
            i = c;
        }
        while (i < n && doc[i] != '\n') {
            const char c = doc[i];
            if (quote) {
                if (quote == '"' && c == '\\') {
                    i += (i + 1 < n && doc[i + 1] != '\n') ? 2 : 1;
                    continue;
                }
                if (c == quote) {
                    if (quote == '\'' && i + 1 < n && doc[i + 1] == '\'') {
                        i += 2;
                        continue;
                    }
                    quote = 0;
                    expect = false;
                }
                ++i;
                continue;
            }
            const bool next_blank = i + 1 >= n || doc[i + 1] == ' ' || doc[i + 1] == '\t' || doc[i + 1] == '\n' ||
                                    doc[i + 1] == '\r';
            const bool prev_blank = i == 0 || doc[i - 1] == ' ' || doc[i - 1] == '\t' || doc[i - 1] == '\n';
            if (c == ' ' || c == '\t' || c == '\r') {
                ++i;
                continue;
            }
            if (c == '#' && prev_blank) {
                while (i < n && doc[i] != '\n') ++i;
                break;
            }
            if (expect && (c == '"' || c == '\'')) {
                quote = c;
                ++i;
                continue;
            }
            if (expect && (c == '!' || c == '&' || c == '*')) {  // tag, anchor, alias: skip the token
                while (i < n && doc[i] != ' ' && doc[i] != '\t' && doc[i] != '\n' && doc[i] != '\r') ++i;
                continue;
            }
            if (c == '[' || c == '{') {
                ++flow;
                expect = true;
            } else if (c == ']' || c == '}') {
                if (flow) --flow;
                expect = false;
            } else if (c == ',' && flow) {
                expect = true;
            } else if (c == ':' && (next_blank || flow)) {
                ++extra;
                expect = true;
            } else if ((c == '-' || c == '?') && expect && next_blank) {
                ++extra;
            } else {
                expect = false;
            }
            if (indents.size() + extra + flow > max_depth) return i;
            ++i;
        }
        if (i < n) ++i;  // the '\n'
    }
    return std::string_view::npos;
}

// ---------------------------------------------------------------------------
// Node reading

inline std::string yaml_line_col(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0) return {};
    return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

inline std::string_view yaml_node_desc(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Null: return "null";
        case YAML::NodeType::Scalar: return n.Tag() == "?" ? "a plain scalar" : "a string";
        case YAML::NodeType::Sequence: return "a sequence";
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Undefined: break;
    }
    return "nothing";
}

// Shortened echo of a scalar for messages.
inline std::string yaml_echo(std::string_view s) {
    std::string r = "'";
    for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        r += c < 0x20 || c == 0x7F ? '?' : static_cast<char>(c);
    }
    if (s.size() > 40) r += "...";
    r += '\'';
    return r;
}

class yaml_reader {
public:
    // Records an error at `path` (with the node's line/column) and returns false.
    bool fail(errc code, std::string_view path, std::string what, const YAML::Node* n = nullptr) {
        if (n) {
            const std::string lc = yaml_line_col(n->Mark());
            if (!lc.empty()) what += " (" + lc + ")";
        }
        err_ = error::make(code, yaml_component, "at " + std::string(path.empty() ? "document" : path), what);
        return false;
    }
    bool mismatch(std::string_view path, std::string_view expected, const YAML::Node& n) {
        return fail(errc::type_mismatch, path,
                    "expected " + std::string(expected) + ", got " + std::string(yaml_node_desc(n)), &n);
    }
    error take_error() { return std::move(err_); }

    static bool is_plain(const YAML::Node& n) { return n.IsScalar() && n.Tag() == "?"; }

    template <class T>
    bool read_int(const YAML::Node& n, std::string_view path, T& v, T max = std::numeric_limits<T>::max()) {
        if (!is_plain(n)) return mismatch(path, "an integer", n);
        const std::string& s = n.Scalar();
        if (!parse_number(s, v)) {
            if (!s.empty() && ((s[0] >= '0' && s[0] <= '9') || s[0] == '-') &&
                s.find_first_not_of("-0123456789") == std::string::npos)
                return fail(errc::invalid_value, path, "integer " + yaml_echo(s) + " out of range", &n);
            return fail(errc::invalid_value, path, "expected an integer, got " + yaml_echo(s), &n);
        }
        if (v > max) return fail(errc::invalid_value, path, "integer " + yaml_echo(s) + " out of range", &n);
        return true;
    }

    bool read_bool(const YAML::Node& n, std::string_view path, bool& v) {
        if (!is_plain(n)) return mismatch(path, "true or false", n);
        const std::string& s = n.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") v = true;
        else if (s == "false" || s == "False" || s == "FALSE") v = false;
        else return fail(errc::invalid_value, path, "expected true or false, got " + yaml_echo(s), &n);
        return true;
    }

    bool read_base64(const YAML::Node& n, std::string_view path, std::string& out) {
        if (!n.IsScalar()) return mismatch(path, "base64 text", n);
        out.clear();
        if (!decode_base64(n.Scalar(), out)) return fail(errc::invalid_value, path, "malformed base64", &n);
        return true;
    }

    // A string field: scalar (raw text), null (empty) or {base64: …}.
    bool read_string(const YAML::Node& n, std::string_view path, std::string& out) {
        if (n.IsNull()) {
            out.clear();
            return true;
        }
        if (n.IsScalar()) {
            out = n.Scalar();
            return true;
        }
        if (n.IsMap() && n.size() == 1 && n["base64"]) return read_base64(n["base64"], join(path, "base64"), out);
        return mismatch(path, "a string", n);
    }

    // A name or id (metadata): as read_string, invalid UTF-8 replaced by U+FFFD as the encoder does.
    bool read_name(const YAML::Node& n, std::string_view path, std::string& out) {
        if (!read_string(n, path, out)) return false;
        fix_name(out);
        return true;
    }
    static void fix_name(std::string& s) {
        if (!valid_utf8(s)) s = utf8_replace_invalid(s);
    }

    bool read_time_point(const YAML::Node& n, std::string_view path, time_point& t) {
        if (n.IsNull()) {
            t = time_point{};
            return true;
        }
        std::int64_t us = 0;
        if (is_plain(n) && n.Scalar().find_first_not_of("-0123456789") == std::string::npos) {
            if (!read_int(n, path, us)) return false;
        } else if (n.IsScalar()) {
            timestamp ts;
            if (!parse_timestamp(n.Scalar(), ts))
                return fail(errc::invalid_value, path, "expected a UTC timestamp, got " + yaml_echo(n.Scalar()), &n);
            us = ts.microseconds;
        } else {
            return mismatch(path, "a timestamp", n);
        }
        t = time_point{std::chrono::microseconds{us}};
        return true;
    }

    static std::string join(std::string_view path, std::string_view key) {
        std::string r(path);
        if (!r.empty()) r += '.';
        r += key;
        return r;
    }

    // --- values -------------------------------------------------------------

    template <class F>
    bool read_float(const YAML::Node& n, std::string_view path, F& v) {
        if (n.IsScalar()) {
            const std::string& s = n.Scalar();
            if (s == "NaN" || (is_plain(n) && (s == ".nan" || s == ".NaN" || s == ".NAN"))) {
                v = std::numeric_limits<F>::quiet_NaN();
                return true;
            }
            if (s == "Infinity" || (is_plain(n) && (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf"))) {
                v = std::numeric_limits<F>::infinity();
                return true;
            }
            if (s == "-Infinity" || (is_plain(n) && (s == "-.inf" || s == "-.Inf" || s == "-.INF"))) {
                v = -std::numeric_limits<F>::infinity();
                return true;
            }
            if (is_plain(n)) {
                // Digits, sign, '.', exponent only: from_chars alone would also take "inf", "nan".
                if (s.find_first_not_of("+-.0123456789eE") == std::string::npos && parse_number(s, v)) return true;
                return fail(errc::invalid_value, path, "expected a number, got " + yaml_echo(s), &n);
            }
        }
        return mismatch(path, "a number", n);
    }

    bool read_set_names(const YAML::Node& n, std::string_view path, std::string& names) {
        names.clear();
        if (n.IsScalar()) {  // MySQL's own text form "a,c"
            names = n.Scalar();
            return true;
        }
        if (!n.IsSequence()) return mismatch(path, "a sequence of member names", n);
        bool first = true;
        for (std::size_t i = 0; i < n.size(); ++i) {
            const YAML::Node item = n[i];
            if (!item.IsScalar()) return mismatch(std::string(path) + "[" + std::to_string(i) + "]", "a member name", item);
            if (!first) names += ',';
            first = false;
            names += item.Scalar();
        }
        return true;
    }

    bool read_temporal(value_kind k, const YAML::Node& n, std::string_view path, value& out, bool allow_integer) {
        if (!n.IsScalar()) return mismatch(path, std::string("a ") + std::string(to_string(k)), n);
        const std::string& s = n.Scalar();
        if (allow_integer && is_plain(n) && !s.empty() && s.find_first_not_of("-0123456789") == std::string::npos) {
            std::int64_t us;
            if (!read_int(n, path, us)) return false;
            if (k == value_kind::time) out = time{us};
            else out = timestamp{us};
            return true;
        }
        bool ok = false;
        switch (k) {
            case value_kind::date: {
                date d;
                ok = parse_date(s, d);
                if (ok) out = d;
                break;
            }
            case value_kind::time: {
                time t;
                ok = parse_time(s, t);
                if (ok) out = t;
                break;
            }
            case value_kind::datetime: {
                datetime d;
                ok = parse_datetime(s, d);
                if (ok) out = d;
                break;
            }
            default: {
                timestamp t;
                ok = parse_timestamp(s, t);
                if (ok) out = t;
                break;
            }
        }
        if (!ok)
            return fail(errc::invalid_value, path, "malformed " + std::string(to_string(k)) + " " + yaml_echo(s), &n);
        return true;
    }

    bool read_string_or_base64(const YAML::Node& m, std::string_view path, std::string& out) {
        const YAML::Node v = m["value"];
        if (v) {
            if (!v.IsScalar()) return mismatch(join(path, "value"), "a string", v);
            out = v.Scalar();
            return true;
        }
        const YAML::Node b = m["base64"];
        if (b) return read_base64(b, join(path, "base64"), out);
        return fail(errc::missing_field, path, "tagged value needs 'value' or 'base64'", &m);
    }

    bool read_tagged(const column_type& t, const YAML::Node& m, std::string_view path, value& out) {
        const YAML::Node tn = m["$type"];
        const std::string tpath = join(path, "$type");
        if (!tn.IsScalar()) return mismatch(tpath, "a value kind name", tn);
        const std::string& tname = tn.Scalar();
        std::size_t ki = 0;
        while (ki < value_kind_count && to_string(static_cast<value_kind>(ki)) != tname) ++ki;
        if (ki == value_kind_count || ki == 0)
            return fail(errc::invalid_value, tpath, "unknown value kind " + yaml_echo(tname), &tn);
        const auto k = static_cast<value_kind>(ki);
        if (k == value_kind::null) {
            out = null_value{};
            return true;
        }
        const YAML::Node v = m["value"];
        const std::string vpath = join(path, "value");
        auto need_value = [&]() {
            if (v) return true;
            return fail(errc::missing_field, path, "tagged " + tname + " needs 'value'", &m);
        };
        switch (k) {
            case value_kind::int64: {
                std::int64_t x;
                if (!need_value() || !read_int(v, vpath, x)) return false;
                out = x;
                return true;
            }
            case value_kind::uint64: {
                std::uint64_t x;
                if (!need_value() || !read_int(v, vpath, x)) return false;
                out = x;
                return true;
            }
            case value_kind::float32: {
                float x;
                if (!need_value() || !read_float(v, vpath, x)) return false;
                out = x;
                return true;
            }
            case value_kind::float64: {
                double x;
                if (!need_value() || !read_float(v, vpath, x)) return false;
                out = x;
                return true;
            }
            case value_kind::decimal:
            case value_kind::text:
            case value_kind::json: {
                std::string s;
                if (!read_string_or_base64(m, path, s)) return false;
                if (k == value_kind::decimal) out = decimal{std::move(s)};
                else if (k == value_kind::text) out = text{std::move(s)};
                else out = json_text{std::move(s)};
                return true;
            }
            case value_kind::bytes: {
                const YAML::Node b = m["base64"];
                if (!b) return fail(errc::missing_field, path, "tagged bytes needs 'base64'", &m);
                std::string s;
                if (!read_base64(b, join(path, "base64"), s)) return false;
                out = bytes{std::move(s)};
                return true;
            }
            case value_kind::date:
            case value_kind::datetime:
            case value_kind::time:
            case value_kind::timestamp:
                return need_value() &&
                       read_temporal(k, v, vpath, out, k == value_kind::time || k == value_kind::timestamp);
            case value_kind::year: {
                std::uint16_t y;
                if (!need_value() || !read_int(v, vpath, y)) return false;
                out = year{y};
                return true;
            }
            case value_kind::bit: {
                bit b;
                if (!need_value() || !read_int(v, vpath, b.bits)) return false;
                b.width = bit_column_width(t);
                if (const YAML::Node w = m["width"]; w && !read_int(w, join(path, "width"), b.width)) return false;
                out = b;
                return true;
            }
            case value_kind::enumeration: {
                enum_value e;
                if (!read_string_or_base64(m, path, e.name)) return false;
                if (const YAML::Node ix = m["index"]) {
                    if (!read_int(ix, join(path, "index"), e.index)) return false;
                } else {
                    e.index = static_cast<std::uint16_t>(member_index(t, e.name) > 65535 ? 0 : member_index(t, e.name));
                }
                out = std::move(e);
                return true;
            }
            case value_kind::set: {
                set_value s;
                if (v) {
                    if (!read_set_names(v, vpath, s.names)) return false;
                } else if (const YAML::Node b = m["base64"]) {
                    if (!read_base64(b, join(path, "base64"), s.names)) return false;
                } else {
                    return fail(errc::missing_field, path, "tagged set needs 'value' or 'base64'", &m);
                }
                if (const YAML::Node mk = m["mask"]) {
                    if (!read_int(mk, join(path, "mask"), s.mask)) return false;
                } else if (!set_mask_of(t, s.names, s.mask)) {
                    s.mask = 0;
                }
                out = std::move(s);
                return true;
            }
            case value_kind::geometry: return read_geometry(m, path, out);
            case value_kind::absent:
            case value_kind::null: break;
        }
        return fail(errc::invalid_value, tpath, "unknown value kind " + yaml_echo(tname), &tn);
    }

    bool read_geometry(const YAML::Node& m, std::string_view path, value& out) {
        geometry g;
        const YAML::Node s = m["srid"];
        const YAML::Node w = m["wkb"];
        if (!w) return fail(errc::missing_field, path, "geometry needs 'wkb'", &m);
        if (s && !read_int(s, join(path, "srid"), g.srid)) return false;
        if (!read_base64(w, join(path, "wkb"), g.wkb)) return false;
        out = std::move(g);
        return true;
    }

    // A plain number in a column of unknown type: int64, uint64 or float64 as written.
    bool read_untyped_number(const YAML::Node& n, std::string_view path, value& out) {
        const std::string& s = n.Scalar();
        if (s.find_first_of(".eE") == std::string::npos) {
            std::int64_t i;
            if (parse_number(s, i)) {
                out = i;
                return true;
            }
            std::uint64_t u;
            if (parse_number(s, u)) {
                out = u;
                return true;
            }
            return fail(errc::invalid_value, path, "integer " + yaml_echo(s) + " out of range", &n);
        }
        double d;
        if (!parse_number(s, d)) return fail(errc::invalid_value, path, "malformed number " + yaml_echo(s), &n);
        out = d;
        return true;
    }

    static bool looks_numeric(const std::string& s) {
        std::size_t i = s[0] == '-' ? 1 : 0;
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
        for (; i < s.size(); ++i) {
            const char c = s[i];
            if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')) return false;
        }
        return true;
    }

    bool read_value(const column_type& t, const YAML::Node& n, std::string_view path, value& out) {
        if (n.IsNull()) {
            out = null_value{};
            return true;
        }
        const value_kind k = t.natural_kind();
        if (n.IsMap()) {
            if (n["$type"]) return read_tagged(t, n, path, out);
            if (k == value_kind::bytes) {
                const YAML::Node b = n["base64"];
                if (!b) return fail(errc::missing_field, path, "bytes need 'base64'", &n);
                std::string s;
                if (!read_base64(b, join(path, "base64"), s)) return false;
                out = bytes{std::move(s)};
                return true;
            }
            if (k == value_kind::geometry) return read_geometry(n, path, out);
            return mismatch(path, std::string("a ") + std::string(to_string(k)) + " value", n);
        }
        if (n.IsSequence()) {
            if (k != value_kind::set) return mismatch(path, std::string("a ") + std::string(to_string(k)) + " value", n);
        } else if (!n.IsScalar()) {
            return mismatch(path, "a value", n);
        }
        const bool plain = is_plain(n);
        switch (k) {
            case value_kind::int64: {
                std::int64_t x;
                if (!read_int(n, path, x)) return false;
                out = x;
                return true;
            }
            case value_kind::uint64: {
                std::uint64_t x;
                if (!read_int(n, path, x)) return false;
                out = x;
                return true;
            }
            case value_kind::float32: {
                float x;
                if (!read_float(n, path, x)) return false;
                out = x;
                return true;
            }
            case value_kind::float64: {
                double x;
                if (!read_float(n, path, x)) return false;
                out = x;
                return true;
            }
            case value_kind::decimal:
                if (!valid_decimal(n.Scalar()))
                    return fail(errc::invalid_value, path, "malformed decimal " + yaml_echo(n.Scalar()), &n);
                out = decimal{n.Scalar()};
                return true;
            case value_kind::text:
                if (t.type == sql_type::unknown && plain && looks_numeric(n.Scalar()))
                    return read_untyped_number(n, path, out);
                out = text{n.Scalar()};
                return true;
            case value_kind::bytes: return mismatch(path, "{base64: ...}", n);
            case value_kind::geometry: return mismatch(path, "{srid: ..., wkb: ...}", n);
            case value_kind::date:
            case value_kind::time:
            case value_kind::datetime:
            case value_kind::timestamp: return read_temporal(k, n, path, out, false);
            case value_kind::year: {
                std::uint16_t y;
                if (!read_int(n, path, y)) return false;
                out = year{y};
                return true;
            }
            case value_kind::bit: {
                bit b;
                if (!read_int(n, path, b.bits)) return false;
                b.width = bit_column_width(t);
                if (!bits_fit(b.bits, b.width))
                    return fail(errc::invalid_value, path,
                                "value does not fit in BIT(" + std::to_string(b.width) + ")", &n);
                out = b;
                return true;
            }
            case value_kind::enumeration: {
                const std::size_t i = member_index(t, n.Scalar());
                if (i == 0 || i > 65535)
                    return fail(errc::invalid_value, path, yaml_echo(n.Scalar()) + " is not a member of the ENUM", &n);
                out = enum_value{n.Scalar(), static_cast<std::uint16_t>(i)};
                return true;
            }
            case value_kind::set: {
                set_value s;
                if (!read_set_names(n, path, s.names)) return false;
                if (!set_mask_of(t, s.names, s.mask))
                    return fail(errc::invalid_value, path, yaml_echo(s.names) + " has a name that is not a SET member",
                                &n);
                out = std::move(s);
                return true;
            }
            case value_kind::json: out = json_text{n.Scalar()}; return true;
            case value_kind::absent:
            case value_kind::null: break;
        }
        return mismatch(path, "a value", n);
    }

    // An image mapping {column: value} into img (n values, absent by default).
    bool read_image(const column_list& cols, const YAML::Node& m, std::string_view path, std::vector<value>& img) {
        img.assign(cols.size(), value{});
        if (m.IsNull()) return true;
        if (!m.IsMap()) return mismatch(path, "a mapping of column names to values", m);
        std::vector<bool> seen(cols.size(), false);
        for (auto it = m.begin(); it != m.end(); ++it) {
            const YAML::Node k = it->first;
            if (!k.IsScalar()) return mismatch(path, "column names as keys", k);
            std::string name = k.Scalar();
            fix_name(name);
            const std::string vpath = join(path, name);
            const auto idx = cols.find(name);
            if (!idx) return fail(errc::invalid_value, vpath, "no column named " + yaml_echo(name), &k);
            if (seen[*idx]) return fail(errc::invalid_value, vpath, "duplicate key", &k);
            seen[*idx] = true;
            if (!read_value(cols[*idx].type, it->second, vpath, img[*idx])) return false;
        }
        return true;
    }

    bool read_column_type(const YAML::Node& m, std::string_view path, column& c) {
        if (m.IsScalar()) {  // shorthand: just the type name
            const auto st = parse_sql_type(m.Scalar());
            if (!st) return fail(errc::invalid_value, path, "unknown SQL type " + yaml_echo(m.Scalar()), &m);
            c.type.type = *st;
            return true;
        }
        if (!m.IsMap()) return mismatch(path, "a column type mapping", m);
        for (auto it = m.begin(); it != m.end(); ++it) {
            const YAML::Node k = it->first;
            const YAML::Node v = it->second;
            if (!k.IsScalar()) return mismatch(path, "field names as keys", k);
            const std::string& key = k.Scalar();
            const std::string p = join(path, key);
            column_type& t = c.type;
            if (key == "type") {
                if (!v.IsScalar()) return mismatch(p, "an SQL type name", v);
                const auto st = parse_sql_type(v.Scalar());
                if (!st) return fail(errc::invalid_value, p, "unknown SQL type " + yaml_echo(v.Scalar()), &v);
                t.type = *st;
            } else if (key == "unsigned") {
                if (!read_bool(v, p, t.is_unsigned)) return false;
            } else if (key == "length") {
                if (!read_int(v, p, t.length)) return false;
            } else if (key == "precision") {
                if (!read_int(v, p, t.precision)) return false;
            } else if (key == "scale") {
                if (!read_int(v, p, t.scale)) return false;
            } else if (key == "fsp") {
                if (!read_int(v, p, t.fsp)) return false;
            } else if (key == "charset") {
                if (!read_name(v, p, t.charset)) return false;
            } else if (key == "geometry_type") {
                if (!read_name(v, p, t.geometry_type)) return false;
            } else if (key == "nullable") {
                if (!read_bool(v, p, c.nullable)) return false;
            } else if (key == "members") {
                if (!v.IsSequence()) return mismatch(p, "a sequence of member names", v);
                t.members.clear();
                for (std::size_t i = 0; i < v.size(); ++i) {
                    const YAML::Node item = v[i];
                    if (!item.IsScalar()) return mismatch(p + "[" + std::to_string(i) + "]", "a member name", item);
                    t.members.push_back(item.Scalar());
                    fix_name(t.members.back());
                }
            }  // other keys: ignored (forward compatibility)
        }
        return true;
    }

    bool read_names(const YAML::Node& n, std::string_view path, std::vector<std::string>& names) {
        names.clear();
        if (n.IsNull()) return true;
        if (!n.IsSequence()) return mismatch(path, "a sequence of column names", n);
        for (std::size_t i = 0; i < n.size(); ++i) {
            const YAML::Node item = n[i];
            const std::string p = std::string(path) + "[" + std::to_string(i) + "]";
            if (!item.IsScalar()) return mismatch(p, "a column name", item);
            names.push_back(item.Scalar());
            fix_name(names.back());
        }
        return true;
    }

    // --- documents --------------------------------------------------------------

    // The legacy tmod form: op: ins|upd|del and the columns as flat keys (values stay text).
    bool read_legacy(const YAML::Node& root, event& e, std::vector<column>& cols) {
        std::vector<value> img;
        bool have_op = false;
        for (auto it = root.begin(); it != root.end(); ++it) {
            const YAML::Node k = it->first;
            const YAML::Node v = it->second;
            if (!k.IsScalar()) return mismatch("document", "column names as keys", k);
            std::string name = k.Scalar();
            fix_name(name);
            if (name == "op" && !have_op) {
                have_op = true;
                if (!v.IsScalar()) return mismatch("op", "ins, upd or del", v);
                const std::string& op = v.Scalar();
                if (op == "ins" || op == "insert") e.kind = event_kind::insert;
                else if (op == "upd" || op == "update") e.kind = event_kind::update;
                else if (op == "del" || op == "delete") e.kind = event_kind::delete_;
                else return fail(errc::invalid_value, "op", "expected ins, upd or del, got " + yaml_echo(op), &v);
                continue;
            }
            for (const auto& c : cols)
                if (c.name == name) return fail(errc::invalid_value, name, "duplicate key", &k);
            column c;
            c.name = name;
            cols.push_back(std::move(c));
            if (v.IsNull()) img.emplace_back(null_value{});
            else if (v.IsScalar()) img.emplace_back(text{v.Scalar()});
            else return mismatch(name, "a scalar", v);
        }
        if (e.kind == event_kind::delete_) {
            e.before = std::move(img);
        } else {
            if (e.kind == event_kind::update) e.before.assign(img.size(), value{});
            e.after = std::move(img);
        }
        return true;
    }

    enum field : unsigned {
        f_schema, f_table, f_timestamp, f_operation, f_primary, f_keys, f_columns, f_new, f_old, f_rowcast, f_count
    };

    // The rowcast envelope. Fills everything but the images, whose nodes are returned in new_img/old_img.
    bool read_envelope(const YAML::Node& root, event& e, std::vector<column>& cols, YAML::Node& new_img,
                       YAML::Node& old_img, bool& has_new, bool& has_old) {
        YAML::Node f[f_count];
        bool has[f_count] = {};
        for (auto it = root.begin(); it != root.end(); ++it) {
            const YAML::Node k = it->first;
            if (!k.IsScalar()) return mismatch("document", "field names as keys", k);
            const std::string& key = k.Scalar();
            int idx = -1;
            if (key == "schema") idx = f_schema;
            else if (key == "table") idx = f_table;
            else if (key == "timestamp") idx = f_timestamp;
            else if (key == "operation") idx = f_operation;
            else if (key == "primary") idx = f_primary;
            else if (key == "keys") idx = f_keys;
            else if (key == "columns") idx = f_columns;
            else if (key == "new") idx = f_new;
            else if (key == "old") idx = f_old;
            else if (key == "rowcast") idx = f_rowcast;
            if (idx < 0) continue;  // unknown fields: ignored
            if (has[idx]) return fail(errc::invalid_value, key, "duplicate key", &k);
            f[idx] = it->second;
            has[idx] = true;
        }
        if (!has[f_operation]) return fail(errc::missing_field, "operation", "the document has no 'operation'", &root);
        {
            const YAML::Node& op = f[f_operation];
            if (!op.IsScalar()) return mismatch("operation", "an operation name", op);
            if (!parse_event_kind(op.Scalar(), e.kind))
                return fail(errc::invalid_value, "operation", "unknown operation " + yaml_echo(op.Scalar()), &op);
        }
        if (has[f_schema] && !read_name(f[f_schema], "schema", e.schema)) return false;
        if (has[f_table] && !read_name(f[f_table], "table", e.table)) return false;

        // Columns: the 'columns' list, else the keys of new/old in order.
        std::vector<std::string> names_list;
        if (has[f_columns]) {
            if (!read_names(f[f_columns], "columns", names_list)) return false;
        } else {
            for (const unsigned fi : {unsigned{f_new}, unsigned{f_old}}) {
                const YAML::Node* img = &f[fi];
                if (!has[fi] || !img->IsMap()) continue;
                for (auto it = img->begin(); it != img->end(); ++it) {
                    if (!it->first.IsScalar()) continue;
                    std::string nm = it->first.Scalar();
                    fix_name(nm);
                    bool dup = false;
                    for (const auto& x : names_list) dup |= x == nm;
                    if (!dup) names_list.push_back(nm);
                }
            }
        }
        cols.resize(names_list.size());
        for (std::size_t i = 0; i < names_list.size(); ++i) {
            cols[i].name = std::move(names_list[i]);
            for (std::size_t j = 0; j < i; ++j)
                if (cols[j].name == cols[i].name)
                    return fail(errc::invalid_value, "columns[" + std::to_string(i) + "]",
                                "duplicate column name " + yaml_echo(cols[i].name), &f[f_columns]);
        }
        auto find_col = [&](std::string_view nm) -> column* {
            for (auto& c : cols)
                if (c.name == nm) return &c;
            return nullptr;
        };

        // rowcast: metadata and column types.
        if (const YAML::Node& rc = f[f_rowcast]; has[f_rowcast] && !rc.IsNull()) {
            if (!rc.IsMap()) return mismatch("rowcast", "a mapping", rc);
            if (const YAML::Node v = rc["version"]) {
                std::uint32_t ver = 0;
                if (!read_int(v, "rowcast.version", ver)) return false;
                if (ver != 1)
                    return fail(errc::unsupported_version, "rowcast.version",
                                "format version " + std::to_string(ver) + " is not supported (this build reads 1)", &v);
            }
            if (const YAML::Node v = rc["sequence"]; v && !read_int(v, "rowcast.sequence", e.sequence)) return false;
            if (const YAML::Node tx = rc["transaction"]; tx && !tx.IsNull()) {
                if (!tx.IsMap()) return mismatch("rowcast.transaction", "a mapping", tx);
                if (const YAML::Node v = tx["id"]; v && !read_name(v, "rowcast.transaction.id", e.transaction.id))
                    return false;
                if (const YAML::Node v = tx["position"];
                    v && !read_int(v, "rowcast.transaction.position", e.transaction.position))
                    return false;
                if (const YAML::Node v = tx["last"]; v && !read_bool(v, "rowcast.transaction.last", e.transaction.last))
                    return false;
                if (const YAML::Node v = tx["xid"]; v && !read_int(v, "rowcast.transaction.xid", e.transaction.xid))
                    return false;
            }
            if (const YAML::Node src = rc["source"]; src && !src.IsNull()) {
                if (!src.IsMap()) return mismatch("rowcast.source", "a mapping", src);
                if (const YAML::Node v = src["file"]; v && !read_name(v, "rowcast.source.file", e.source.file))
                    return false;
                if (const YAML::Node v = src["offset"]; v && !read_int(v, "rowcast.source.offset", e.source.offset))
                    return false;
                if (const YAML::Node v = src["gtid"]; v && !read_name(v, "rowcast.source.gtid", e.source.gtid))
                    return false;
                if (const YAML::Node v = src["server_id"];
                    v && !read_int(v, "rowcast.source.server_id", e.source.server_id))
                    return false;
                if (const YAML::Node v = src["row"]; v && !read_int(v, "rowcast.source.row", e.source.row)) return false;
                if (const YAML::Node v = src["thread"]; v && !read_int(v, "rowcast.source.thread", e.source.thread))
                    return false;
            }
            if (const YAML::Node v = rc["commit_time"]; v && !read_time_point(v, "rowcast.commit_time", e.commit_time))
                return false;
            if (const YAML::Node v = rc["capture_time"];
                v && !read_time_point(v, "rowcast.capture_time", e.capture_time))
                return false;
            if (const YAML::Node v = rc["statement"]; v && !read_string(v, "rowcast.statement", e.statement))
                return false;
            if (const YAML::Node ty = rc["types"]; ty && !ty.IsNull()) {
                if (ty.IsMap()) {
                    for (auto it = ty.begin(); it != ty.end(); ++it) {
                        if (!it->first.IsScalar()) return mismatch("rowcast.types", "column names as keys", it->first);
                        std::string tn = it->first.Scalar();
                        fix_name(tn);
                        const std::string p = join("rowcast.types", tn);
                        column* c = find_col(tn);
                        if (!c) return fail(errc::invalid_value, p, "no column of that name", &it->first);
                        if (!read_column_type(it->second, p, *c)) return false;
                    }
                } else if (ty.IsSequence()) {
                    if (ty.size() != cols.size())
                        return fail(errc::invalid_value, "rowcast.types",
                                    std::to_string(ty.size()) + " types for " + std::to_string(cols.size()) + " columns",
                                    &ty);
                    for (std::size_t i = 0; i < cols.size(); ++i)
                        if (!read_column_type(ty[i], "rowcast.types[" + std::to_string(i) + "]", cols[i])) return false;
                } else {
                    return mismatch("rowcast.types", "a mapping of column types", ty);
                }
            }
        } else if (const YAML::Node& ts = f[f_timestamp]; has[f_timestamp] && !ts.IsNull()) {
            // No rowcast section (smpl-repl style): the top-level timestamp is the commit time.
            if (!read_time_point(ts, "timestamp", e.commit_time)) return false;
        }

        // Primary key: 'keys' (list), else 'primary' (names joined by ',').
        if (has[f_keys] && !f[f_keys].IsNull()) {
            std::vector<std::string> pk;
            if (!read_names(f[f_keys], "keys", pk)) return false;
            for (std::size_t i = 0; i < pk.size(); ++i) {
                column* c = find_col(pk[i]);
                if (!c)
                    return fail(errc::invalid_value, "keys[" + std::to_string(i) + "]",
                                "no column named " + yaml_echo(pk[i]), &f[f_keys]);
                c->primary_key = true;
            }
        } else if (has[f_primary] && (f[f_primary].IsScalar() || f[f_primary].IsSequence())) {
            std::vector<std::string> pk;
            if (f[f_primary].IsScalar()) pk.push_back(utf8_replace_invalid(f[f_primary].Scalar()));
            else if (!read_names(f[f_primary], "primary", pk)) return false;
            for (const auto& nm : pk)
                if (column* c = find_col(nm)) c->primary_key = true;
        }
        has_new = has[f_new];
        has_old = has[f_old];
        if (has_new) new_img = f[f_new];
        if (has_old) old_img = f[f_old];
        return true;
    }

private:
    error err_{};
};

}  // namespace detail
ROWCAST_NAMESPACE_END
