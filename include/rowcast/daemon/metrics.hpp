// rowcast/daemon/metrics.hpp: the shared stats model (rowcast/stats.hpp) as
// Prometheus text exposition format 0.0.4, for a /metrics endpoint and a status
// file. No dependency beyond the core.
//
//   rowcast::stats_registry reg;
//   reg.add("", [&] { return fanout.stats(); });                           // rowcast_events_in_total …
//   reg.add("sink{sink=\"dns\"}", [&] { return fanout.sink_stats(0); });    // rowcast_sink_up{sink="dns"} …
//   rowcast::daemon::prometheus_text text;
//   text.add(reg);
//   text.info("position_info", "where a restart resumes", {{"position", "binlog.000001:1234"}});
//   std::string body = text.str();
//
// Names: "<namespace>_<prefix name>_<metric name>", the prefix's "{…}" part
// becoming the labels ("sink{sink=\"dns\"}" + "up" = rowcast_sink_up{sink="dns"});
// counters get the suffix "_total". Each family gets its "# HELP" and "# TYPE"
// lines once, before its first sample, whatever order the samples come in. A
// metric with `decimals` is printed as a decimal number (1500 with 3 = 1.5).
// Label values are escaped (\\, \", \n) as the format requires.
//
// Thread-safety: a prometheus_text is used by one thread; stats_registry::visit
// is safe from any thread.
#pragma once

#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace daemon {

/// A label value escaped for the Prometheus text format.
inline std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (const char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

/// `value` × 10^-decimals as decimal text ("1.5", "-0.25", "3").
inline std::string decimal_text(std::int64_t value, int decimals) {
    if (decimals <= 0) return std::to_string(value);
    std::string digits = std::to_string(value < 0 ? -static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value));
    const auto d = static_cast<std::size_t>(decimals);
    if (digits.size() <= d) digits.insert(0, d + 1 - digits.size(), '0');
    std::string out = (value < 0 ? "-" : "") + digits.substr(0, digits.size() - d);
    std::string frac = digits.substr(digits.size() - d);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (!frac.empty()) out += "." + frac;
    return out;
}

/// Collects samples and renders them (see the top of this header).
class prometheus_text {
public:
    explicit prometheus_text(std::string name_space = "rowcast") : ns_(std::move(name_space)) {}

    /// One sample: family "<ns>_<family>" (+ "_total" for a counter), labels already in
    /// `name="value",…` form (escaped) or empty.
    void add(std::string_view family, std::string_view labels, const metric& m) {
        std::string name = ns_;
        if (!family.empty()) name += "_" + std::string(family);
        if (m.kind == metric_kind::counter && !name.ends_with("_total")) name += "_total";
        family_for(name, m.kind == metric_kind::counter ? "counter" : "gauge", m.help)
            .lines.push_back(sample(name, labels, decimal_text(m.value, m.decimals)));
    }

    /// Every metric of `reg`, named from its prefixes (see the top of this header).
    void add(const stats_registry& reg) {
        reg.visit([&](std::string_view prefix, const metric& m) {
            std::string_view labels;
            std::string_view stem = prefix;
            if (const auto brace = prefix.find('{'); brace != std::string_view::npos && prefix.ends_with('}')) {
                stem = prefix.substr(0, brace);
                labels = prefix.substr(brace + 1, prefix.size() - brace - 2);
            }
            std::string family(stem);
            if (!family.empty()) family += "_";
            family += m.name;
            add(family, labels, m);
        });
    }

    /// An "info" gauge: `<ns>_<name>{labels} 1` (label values escaped here).
    void info(std::string_view name, std::string_view help, const std::vector<std::pair<std::string, std::string>>& labels) {
        std::string l;
        for (const auto& [k, v] : labels) {
            if (!l.empty()) l += ",";
            l += k + "=\"" + escape_label_value(v) + "\"";
        }
        const std::string full = ns_ + "_" + std::string(name);
        family_for(full, "gauge", help).lines.push_back(sample(full, l, "1"));
    }

    /// The exposition text (families in the order first seen).
    std::string str() const {
        std::string out;
        for (const auto& f : families_) {
            if (!f.help.empty()) out += "# HELP " + f.name + " " + f.help + "\n";
            out += "# TYPE " + f.name + " " + f.type + "\n";
            for (const auto& l : f.lines) out += l;
        }
        return out;
    }

private:
    struct family {
        std::string name, type, help;
        std::vector<std::string> lines;
    };

    static std::string sample(const std::string& name, std::string_view labels, const std::string& value) {
        std::string s = name;
        if (!labels.empty()) s += "{" + std::string(labels) + "}";
        return s + " " + value + "\n";
    }

    family& family_for(const std::string& name, std::string_view type, std::string_view help) {
        for (auto& f : families_)
            if (f.name == name) return f;
        std::string h;
        for (const char c : help) h += c == '\n' ? ' ' : c;
        families_.push_back({name, std::string(type), std::move(h), {}});
        return families_.back();
    }

    std::string ns_;
    std::vector<family> families_;
};

}  // namespace daemon
ROWCAST_NAMESPACE_END
