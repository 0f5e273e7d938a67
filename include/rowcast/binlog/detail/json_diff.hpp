// Internal: MySQL 8 partial JSON updates (PARTIAL_UPDATE_ROWS,
// binlog_row_value_options=PARTIAL_JSON). A partial column value is a diff
// vector: uint32 length, then diffs of {operation (0 REPLACE, 1 INSERT,
// 2 REMOVE), packed path length, path, [packed value length, binary JSON]}.
// apply_json_diff() applies it to the before image's JSON text (as rendered
// by binlog_values.hpp) and renders the result in the same form. A tiny DOM:
// scalars keep their rendered token; objects keep MySQL's key order (shorter
// keys first, then bytewise), so the result renders as MySQL would.
#pragma once

#include <rowcast/binlog/detail/values.hpp>
#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/codec/detail/json/read.hpp>
#include <rowcast/version.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::binlog {

struct jmember;

struct jnode {
    enum kind_t { scalar, object, array } kind = scalar;
    std::string token;             // scalar: its JSON text
    std::vector<jmember> members;  // object: (decoded key, value)
    std::vector<jnode> items;      // array
};

struct jmember {
    std::string key;
    jnode value;
};

struct jparser {
    std::string_view s;
    std::size_t i = 0;
    int depth = 0;
    void ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
    }
    // A JSON string at s[i], checked and unescaped by the project's JSON reader (UTF-8, escapes,
    // \u hex digits, surrogate pairs); `raw` gets the token with its quotes.
    bool string_token(std::string& raw, std::string* decoded) {
        if (i >= s.size() || s[i] != '"') return false;
        detail::json_reader r;
        r.s = s.data() + i;
        r.n = s.size() - i;
        detail::json_str js;
        if (!r.read_string(js)) return false;
        raw.assign(s.substr(i, r.i));
        if (decoded) detail::assign_json_str(*decoded, js);
        i += r.i;
        return true;
    }
    bool value(jnode& n) {
        if (++depth > 200) return false;
        ws();
        if (i >= s.size()) return false;
        bool ok = true;
        if (s[i] == '{') {
            n.kind = jnode::object;
            ++i;
            ws();
            if (i < s.size() && s[i] == '}') {
                ++i;
            } else {
                for (;;) {
                    ws();
                    std::string raw, key;
                    if (!string_token(raw, &key)) return false;
                    ws();
                    if (i >= s.size() || s[i] != ':') return false;
                    ++i;
                    jnode v;
                    if (!value(v)) return false;
                    n.members.push_back(jmember{std::move(key), std::move(v)});
                    ws();
                    if (i < s.size() && s[i] == ',') { ++i; continue; }
                    if (i < s.size() && s[i] == '}') { ++i; break; }
                    return false;
                }
            }
        } else if (s[i] == '[') {
            n.kind = jnode::array;
            ++i;
            ws();
            if (i < s.size() && s[i] == ']') {
                ++i;
            } else {
                for (;;) {
                    jnode v;
                    if (!value(v)) return false;
                    n.items.push_back(std::move(v));
                    ws();
                    if (i < s.size() && s[i] == ',') { ++i; continue; }
                    if (i < s.size() && s[i] == ']') { ++i; break; }
                    return false;
                }
            }
        } else if (s[i] == '"') {
            ok = string_token(n.token, nullptr);
        } else {
            const std::size_t start = i;
            while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ') ++i;
            n.token.assign(s.substr(start, i - start));
            ok = !n.token.empty();
        }
        --depth;
        return ok;
    }
};

inline void render(const jnode& n, std::string& out) {
    switch (n.kind) {
        case jnode::scalar: out += n.token; break;
        case jnode::object: {
            out += '{';
            bool first = true;
            for (auto& [k, v] : n.members) {
                if (!first) out += ", ";
                first = false;
                json_escape(out, k);
                out += ": ";
                render(v, out);
            }
            out += '}';
            break;
        }
        case jnode::array: {
            out += '[';
            for (std::size_t k = 0; k < n.items.size(); ++k) {
                if (k) out += ", ";
                render(n.items[k], out);
            }
            out += ']';
            break;
        }
    }
}

inline bool mysql_key_less(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return a.size() < b.size();
    return a < b;
}

struct jleg {
    bool is_key = true;
    std::string key;
    std::size_t index = 0;
};

inline bool parse_path(std::string_view p, std::vector<jleg>& legs) {
    std::size_t i = 0;
    if (p.empty() || p[0] != '$') return false;
    ++i;
    while (i < p.size()) {
        if (p[i] == ' ') { ++i; continue; }
        jleg leg;
        if (p[i] == '.') {
            ++i;
            if (i < p.size() && p[i] == '"') {
                jparser jp{p, i};
                std::string raw;
                if (!jp.string_token(raw, &leg.key)) return false;
                i = jp.i;
            } else {
                const std::size_t start = i;
                while (i < p.size() && p[i] != '.' && p[i] != '[') ++i;
                leg.key.assign(p.substr(start, i - start));
                if (leg.key.empty()) return false;
            }
        } else if (p[i] == '[') {
            ++i;
            std::size_t v = 0;
            const std::size_t start = i;
            while (i < p.size() && p[i] >= '0' && p[i] <= '9' && v < 100000000) v = v * 10 + static_cast<std::size_t>(p[i++] - '0');
            if (i == start || i >= p.size() || p[i] != ']') return false;
            ++i;
            leg.is_key = false;
            leg.index = v;
        } else {
            return false;
        }
        legs.push_back(std::move(leg));
    }
    return true;
}

/// Applies a diff vector (starting at its uint32 length) at `c` to `before` (JSON text).
inline std::string apply_json_diff(cursor& c, std::string_view before, std::string& out) {
    std::uint64_t len = 0;
    if (!c.le(4, len)) return "JSON diff length truncated";
    std::string_view diffs;
    if (!c.bytes(static_cast<std::size_t>(len), diffs)) return "JSON diff exceeds the row";
    jnode root;
    jparser jp{before};
    if (!jp.value(root)) return "before image is not JSON";
    cursor d(diffs);
    while (d.left()) {
        std::uint8_t op = 0;
        std::uint64_t plen = 0;
        std::string_view path;
        if (!d.u8(op) || !d.packed(plen) || !d.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(plen, d.left() + 1)), path))
            return "JSON diff truncated";
        if (op > 2) return "unknown JSON diff operation " + std::to_string(op);
        std::vector<jleg> legs;
        if (!parse_path(path, legs)) return "bad JSON path in diff";
        jnode val;
        if (op != 2) {
            std::uint64_t vlen = 0;
            std::string_view bin;
            if (!d.packed(vlen) || !d.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(vlen, d.left() + 1)), bin))
                return "JSON diff value truncated";
            std::string text;
            auto e = mysql_json_to_text(bin, text);
            if (!e.empty()) return "JSON diff value: " + e;
            jparser vp{text};
            if (!vp.value(val)) return "JSON diff value does not parse";
        }
        if (legs.empty()) {
            if (op == 2) return "JSON diff removes the document";
            root = std::move(val);
            continue;
        }
        jnode* parent = &root;
        for (std::size_t k = 0; k + 1 < legs.size(); ++k) {
            const auto& leg = legs[k];
            jnode* next = nullptr;
            if (leg.is_key && parent->kind == jnode::object) {
                for (auto& [key, v] : parent->members)
                    if (key == leg.key) next = &v;
            } else if (!leg.is_key && parent->kind == jnode::array && leg.index < parent->items.size()) {
                next = &parent->items[leg.index];
            }
            if (!next) return "JSON diff path does not exist in the before image";
            parent = next;
        }
        const auto& last = legs.back();
        if (last.is_key) {
            if (parent->kind != jnode::object) return "JSON diff path leg is not an object";
            auto it = parent->members.begin();
            while (it != parent->members.end() && it->key != last.key) ++it;
            if (op == 2) {
                if (it == parent->members.end()) return "JSON diff removes a missing member";
                parent->members.erase(it);
            } else if (it != parent->members.end()) {
                it->value = std::move(val);
            } else {
                if (op == 0) return "JSON diff replaces a missing member";
                auto pos = parent->members.begin();
                while (pos != parent->members.end() && mysql_key_less(pos->key, last.key)) ++pos;
                parent->members.insert(pos, jmember{last.key, std::move(val)});
            }
        } else {
            if (parent->kind != jnode::array) return "JSON diff path leg is not an array";
            auto& items = parent->items;
            if (op == 2) {
                if (last.index >= items.size()) return "JSON diff removes a missing element";
                items.erase(items.begin() + static_cast<std::ptrdiff_t>(last.index));
            } else if (op == 0) {
                if (last.index >= items.size()) return "JSON diff replaces a missing element";
                items[last.index] = std::move(val);
            } else {
                const std::size_t at = std::min(last.index, items.size());
                items.insert(items.begin() + static_cast<std::ptrdiff_t>(at), std::move(val));
            }
        }
    }
    out.clear();
    render(root, out);
    return {};
}

}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
