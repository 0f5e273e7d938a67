// rowcast/stats_text.hpp: reading statistics written in the Prometheus text
// exposition format (version 0.0.4), as the daemon's status file holds them.
//
//   # HELP rowcast_sink_up 1 while the sink delivers
//   # TYPE rowcast_sink_up gauge
//   rowcast_sink_up{sink="dns"} 1
//   rowcast_position_info{position="binlog.000003:4711"} 1
//
// parse_stats_text(text, where) returns every sample in file order: its metric
// name, its labels (escapes \\ \" \n decoded) and its value (a double; "NaN",
// "+Inf", "-Inf" accepted). An optional timestamp after the value is checked and
// dropped. Comment lines (# HELP, # TYPE, anything after '#') and blank lines are
// skipped; '\r' before a line end is accepted. The reader is strict on the rest:
// names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, quoted
// label values, one sample a line.
//
// Bounds: at most `max_samples` samples and `max_labels` labels per sample
// (limit_exceeded beyond); the caller bounds the text (read_small_file).
//
// Errors: syntax_error "[rowcast.stats.syntax_error] <where>:<line>: <what>",
// limit_exceeded likewise. Nothing else fails; no input makes it throw but
// std::bad_alloc.
//
// Thread-safety: free functions and plain values.
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

/// One sample line: name{labels} value.
struct stats_sample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  ///< in file order, values unescaped
    double value = 0;

    /// The value of label `key`, or nullopt.
    std::optional<std::string_view> label(std::string_view key) const noexcept {
        for (const auto& [k, v] : labels)
            if (k == key) return std::string_view(v);
        return std::nullopt;
    }
};

/// Every sample of a text, in file order.
struct stats_text {
    std::vector<stats_sample> samples;

    /// The first sample named `name` (with label `key` = `value` when `key` is not empty), or null.
    const stats_sample* find(std::string_view name, std::string_view key = {}, std::string_view value = {}) const noexcept {
        for (const auto& s : samples)
            if (s.name == name && (key.empty() || s.label(key) == value)) return &s;
        return nullptr;
    }
};

namespace detail::stats {

inline bool name_start(char c, bool colon) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
inline bool name_char(char c, bool colon) noexcept { return name_start(c, colon) || (c >= '0' && c <= '9'); }

// Takes a name from the front of `s`; empty when none starts there.
inline std::string_view take_name(std::string_view& s, bool colon) noexcept {
    std::size_t n = 0;
    if (!s.empty() && name_start(s[0], colon))
        while (n < s.size() && name_char(s[n], colon)) ++n;
    const std::string_view name = s.substr(0, n);
    s.remove_prefix(n);
    return name;
}

inline void skip_blanks(std::string_view& s) noexcept {
    while (!s.empty() && (s[0] == ' ' || s[0] == '\t')) s.remove_prefix(1);
}

// A sample value: a decimal or "NaN", "+Inf", "-Inf" (also "Inf").
inline bool parse_value(std::string_view t, double& v) noexcept {
    if (t == "NaN") {
        v = std::numeric_limits<double>::quiet_NaN();
        return true;
    }
    if (t == "+Inf" || t == "Inf") {
        v = std::numeric_limits<double>::infinity();
        return true;
    }
    if (t == "-Inf") {
        v = -std::numeric_limits<double>::infinity();
        return true;
    }
    // from_chars would take "inf"/"nan" in any case and hex digits only with a flag: digits first.
    const std::size_t first = !t.empty() && (t[0] == '+' || t[0] == '-') ? 1 : 0;
    if (t.size() <= first || !((t[first] >= '0' && t[first] <= '9') || t[first] == '.')) return false;
    return rowcast::detail::parse_number(t, v);
}

// Parses `{a="x",b="y"}` from the front of `s` (which starts with '{') into `out`.
inline std::optional<std::string> parse_labels(std::string_view& s, stats_sample& out, std::size_t max_labels) {
    s.remove_prefix(1);
    for (;;) {
        skip_blanks(s);
        if (!s.empty() && s[0] == '}') {
            s.remove_prefix(1);
            return std::nullopt;
        }
        const std::string_view key = take_name(s, false);
        if (key.empty()) return std::string("expected a label name or '}'");
        skip_blanks(s);
        if (s.empty() || s[0] != '=') return "expected '=' after label " + std::string(key);
        s.remove_prefix(1);
        skip_blanks(s);
        if (s.empty() || s[0] != '"') return "expected '\"' to open the value of label " + std::string(key);
        s.remove_prefix(1);
        std::string val;
        for (;;) {
            if (s.empty()) return "unterminated value of label " + std::string(key);
            const char c = s[0];
            s.remove_prefix(1);
            if (c == '"') break;
            if (c != '\\') {
                val += c;
                continue;
            }
            if (s.empty()) return "unterminated value of label " + std::string(key);
            const char e = s[0];
            s.remove_prefix(1);
            if (e == '\\' || e == '"') val += e;
            else if (e == 'n') val += '\n';
            else return "bad escape '\\" + std::string(1, e) + "' in label " + std::string(key);
        }
        if (out.labels.size() >= max_labels) return "more than " + std::to_string(max_labels) + " labels";
        out.labels.emplace_back(std::string(key), std::move(val));
        skip_blanks(s);
        if (!s.empty() && s[0] == ',') s.remove_prefix(1);
        else if (s.empty() || s[0] != '}') return "expected ',' or '}' after label " + std::string(key);
    }
}

}  // namespace detail::stats

/// Parses a Prometheus text exposition; `where` names it in errors (a path).
inline result<stats_text> parse_stats_text(std::string_view text, std::string_view where,
                                           std::size_t max_samples = 100000, std::size_t max_labels = 32) {
    namespace d = detail::stats;
    stats_text out;
    std::size_t lineno = 0;
    auto bad = [&](errc e, const std::string& what) -> error {
        return error::make(e, "stats", std::string(where) + ":" + std::to_string(lineno), what);
    };
    while (!text.empty()) {
        ++lineno;
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        d::skip_blanks(line);
        if (line.empty() || line[0] == '#') continue;
        stats_sample s;
        const std::string_view name = d::take_name(line, true);
        if (name.empty()) return bad(errc::syntax_error, "expected a metric name");
        s.name.assign(name);
        d::skip_blanks(line);
        if (!line.empty() && line[0] == '{')
            if (auto why = d::parse_labels(line, s, max_labels))
                return bad(why->rfind("more than", 0) == 0 ? errc::limit_exceeded : errc::syntax_error, *why);
        d::skip_blanks(line);
        std::size_t end = 0;
        while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
        const std::string_view value = line.substr(0, end);
        if (!d::parse_value(value, s.value))
            return bad(errc::syntax_error, "metric " + s.name + ": '" + std::string(value.substr(0, 40)) + "' is not a number");
        line.remove_prefix(end);
        d::skip_blanks(line);
        if (!line.empty()) {  // a timestamp (milliseconds, an integer), then nothing
            std::size_t t = 0;
            while (t < line.size() && line[t] != ' ' && line[t] != '\t') ++t;
            long long ms = 0;
            if (!rowcast::detail::parse_number(line.substr(0, t), ms))
                return bad(errc::syntax_error, "metric " + s.name + ": trailing text after the value");
            line.remove_prefix(t);
            d::skip_blanks(line);
            if (!line.empty()) return bad(errc::syntax_error, "metric " + s.name + ": trailing text after the timestamp");
        }
        if (out.samples.size() >= max_samples)
            return bad(errc::limit_exceeded, "more than " + std::to_string(max_samples) + " samples");
        out.samples.push_back(std::move(s));
    }
    return out;
}

ROWCAST_NAMESPACE_END
