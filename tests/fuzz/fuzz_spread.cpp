// libFuzzer target for the Spread client's untrusted input: the byte stream a daemon
// sends (rowcast/spread/detail/wire.hpp decode(): headers, names, membership bodies),
// then rowcast's envelope and the consumer's reassembly of what decodes as data. Checks
// what the decoder promises: a message never claims more bytes than it had, at most 101
// groups, names of 1..31 bytes, and a size that frame_size() agrees with.
#include <rowcast/spread/detail/fragment.hpp>
#include <rowcast/spread/detail/wire.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace ds = rowcast::detail::spread;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    ds::reassembler parts(1 << 20, 4);
    std::size_t at = 0;
    while (!in.empty()) {
        auto m = ds::decode(in, at);
        if (!m || !*m) return 0;
        const ds::decoded& x = **m;
        auto fs = ds::frame_size(in, at);
        if (!fs || *fs != x.size || x.size > in.size() || x.size < ds::header_size) std::abort();
        if (x.groups.size() > ds::max_groups + 1 || x.sender.empty() || x.sender.size() >= ds::name_slot) std::abort();
        for (auto g : x.groups)
            if (g.empty() || g.size() >= ds::name_slot) std::abort();
        if (x.k == ds::kind::membership && !x.vs_sets.empty() && x.local_vs_set >= x.vs_sets.size()) std::abort();
        if (x.k == ds::kind::regular) {
            if (auto e = ds::parse_envelope(x.data)) {
                auto o = parts.add(x.sender, x.groups.front(), *e);
                if (o.complete && o.whole.size() != e->total) std::abort();
            }
        }
        in.remove_prefix(x.size);
        at += x.size;
    }
    return 0;
}
