// libFuzzer target for the Prometheus text reader (rowcast/stats_text.hpp), which reads the
// daemon's status file inside mariadbd (examples/status-plugin): arbitrary bytes must give a
// result or an error, never a crash; every accepted sample has a valid name and label names.
#include <rowcast/stats_text.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = rowcast::parse_stats_text(in, "fuzz", 1000, 8);
    if (!r) return 0;
    if (r->samples.size() > 1000) std::abort();
    for (const auto& s : r->samples) {
        if (s.name.empty() || s.labels.size() > 8) std::abort();
        for (const auto& [k, v] : s.labels)
            if (k.empty()) std::abort();
        (void)r->find(s.name, s.labels.empty() ? "" : s.labels[0].first, s.labels.empty() ? "" : s.labels[0].second);
    }
    return 0;
}
