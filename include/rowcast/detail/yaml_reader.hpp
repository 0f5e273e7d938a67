// rowcast/detail/yaml_reader.hpp: reading a YAML config mapping with every
// mistake named by its key path and line ("sinks[1].codec at line 14: unknown
// value 'jsn' (accepted: ...)"); unknown keys and keys given twice are errors.
// The one YAML config reader of the project: rowcastd's config (daemon/config.hpp)
// and rowcast-dns's (dns/config_yaml.hpp) both read through it. Needs yaml-cpp.
#pragma once

#include <rowcast/version.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail {

// Thrown inside a config reader only; its parse function turns it into a rowcast::error.
struct config_problem {
    std::string key;  // path: "sinks[1].codec"; empty: the document
    int line = 0;     // 1-based; 0: unknown
    std::string what;

    std::string text() const {
        std::string s = key.empty() ? std::string("the config") : key;
        if (line > 0) s += " at line " + std::to_string(line);
        return s + ": " + what;
    }
};

inline int line_of(const YAML::Node& n) {
    try {
        if (!n.IsDefined()) return 0;
        const auto m = n.Mark();
        return m.is_null() ? 0 : m.line + 1;
    } catch (const YAML::Exception&) {  // an invalid node (a key that is not there)
        return 0;
    }
}

// A mapping with its path; reads its keys with checks.
class node_reader {
public:
    node_reader(YAML::Node n, std::string path, std::vector<std::string> allowed)
        : n_(std::move(n)), path_(std::move(path)), allowed_(std::move(allowed)) {
        if (!n_.IsMap()) fail_at(n_, path_, "must be a mapping");
        std::set<std::string> seen;
        for (const auto& kv : n_) {
            if (!kv.first.IsScalar()) fail_at(kv.first, path_, "a key is a " + kind(kv.first) + ", not a name");
            const std::string k = kv.first.Scalar();
            if (!seen.insert(k).second) fail_at(kv.first, key(k), "given twice");
            if (std::find(allowed_.begin(), allowed_.end(), k) == allowed_.end())
                fail_at(kv.first, key(k), "unknown key (accepted: " + accepted() + ")");
        }
    }

    // A mapping already checked (by the constructor above, elsewhere): reads only.
    node_reader(YAML::Node n, std::string path) : n_(std::move(n)), path_(std::move(path)) {}

    const YAML::Node& node() const noexcept { return n_; }
    const std::string& path() const noexcept { return path_; }
    int line() const { return line_of(n_); }
    std::string key(std::string_view k) const { return path_.empty() ? std::string(k) : path_ + "." + std::string(k); }
    bool has(const char* k) const { return static_cast<bool>(at(k)); }
    YAML::Node get(const char* k) const { return at(k); }
    // Never inserts (yaml-cpp's non-const operator[] may).
    YAML::Node at(const char* k) const { return static_cast<const YAML::Node&>(n_)[k]; }

    [[noreturn]] static void fail_at(const YAML::Node& n, std::string key, std::string what) {
        throw config_problem{std::move(key), line_of(n), std::move(what)};
    }
    [[noreturn]] void fail(const char* k, std::string what) const {
        const YAML::Node v = at(k);
        fail_at(v ? v : n_, key(k), std::move(what));
    }

    std::optional<std::string> text(const char* k) const {
        const YAML::Node v = at(k);
        if (!v) return std::nullopt;
        if (!v.IsScalar()) fail(k, "must be a single value, not a " + kind(v));
        return v.Scalar();
    }
    std::string text(const char* k, std::string fallback) const { return text(k).value_or(std::move(fallback)); }
    std::string required(const char* k) const {
        auto v = text(k);
        if (!v) fail_at(n_, key(k), "is required");
        if (v->empty()) fail(k, "must not be empty");
        return *v;
    }

    // An integer in [lo, hi]; `fallback` when absent.
    std::int64_t number(const char* k, std::int64_t lo, std::int64_t hi, std::int64_t fallback) const {
        const auto t = text(k);
        if (!t) return fallback;
        std::int64_t v = 0;
        try {
            v = at(k).as<std::int64_t>();
        } catch (const YAML::Exception&) {
            fail(k, "'" + *t + "' is not a whole number");
        }
        if (v < lo || v > hi) fail(k, std::to_string(v) + " is out of range (" + std::to_string(lo) + "-" + std::to_string(hi) + ")");
        return v;
    }

    bool flag(const char* k, bool fallback) const {
        const auto t = text(k);
        if (!t) return fallback;
        try {
            return at(k).as<bool>();
        } catch (const YAML::Exception&) {
            fail(k, "'" + *t + "' is not true or false");
        }
    }

    // One of `names` (exactly).
    std::string choice(const char* k, std::initializer_list<std::string_view> names, std::string fallback) const {
        const auto t = text(k);
        if (!t) return fallback;
        if (std::find(names.begin(), names.end(), *t) != names.end()) return *t;
        std::string acc;
        for (auto n : names) acc += (acc.empty() ? "" : ", ") + std::string(n);
        fail(k, "unknown value '" + *t + "' (accepted: " + acc + ")");
    }

    // A list of strings, or one string.
    std::vector<std::string> strings(const char* k) const {
        const YAML::Node v = at(k);
        std::vector<std::string> out;
        if (!v || v.IsNull()) return out;
        if (v.IsScalar()) return {v.Scalar()};
        if (!v.IsSequence()) fail(k, "must be a list");
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (!v[i].IsScalar()) fail_at(v[i], key(k) + "[" + std::to_string(i) + "]", "must be a single value");
            out.push_back(v[i].Scalar());
        }
        return out;
    }

    // A nested mapping (nullopt when absent).
    std::optional<node_reader> map(const char* k, std::vector<std::string> allowed) const {
        const YAML::Node v = at(k);
        if (!v || v.IsNull()) return std::nullopt;
        return node_reader(v, key(k), std::move(allowed));
    }

    static std::string kind(const YAML::Node& n) {
        return n.IsSequence() ? "list" : n.IsMap() ? "mapping" : n.IsNull() ? "null" : "value";
    }

private:
    std::string accepted() const {
        std::string s;
        for (const auto& a : allowed_) s += (s.empty() ? "" : ", ") + a;
        return s;
    }

    YAML::Node n_;
    std::string path_;
    std::vector<std::string> allowed_;
};

}  // namespace detail
ROWCAST_NAMESPACE_END
