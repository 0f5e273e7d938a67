// libFuzzer target for the binary codec. Decodes the input as a sequence of
// events with both decode (owning) and decode_view (zero copy); both must agree.
// Every event that decodes must re-encode to exactly the bytes it was decoded
// from (the format is canonical) and decode again to an equal event; any
// mismatch aborts.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Itests \
//       tests/fuzz/fuzz_binary.cpp -o fuzz_binary && ./fuzz_binary -max_total_time=30
#include <rowcast/codec/binary.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void die(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "fuzz_binary: %s %s\n", what, detail.c_str());
    std::abort();
}

rowcast::binary_options small_limits() {
    rowcast::binary_options o;
    o.max_event_size = 1 << 20;  // keep single runs cheap; the checks are the same
    o.schema_cache_size = 4;     // exercise eviction
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static rowcast::binary_codec codec(small_limits());  // caches persist across inputs, as in a stream
    rowcast::binary_codec fresh(small_limits());
    std::string_view in(reinterpret_cast<const char*>(data), size);
    rowcast::event e;
    rowcast::event_view v;
    for (int i = 0; i < 64 && !in.empty(); ++i) {
        auto n = codec.decode(in, e);
        auto m = codec.decode_view(in, v);
        if (n.has_value() != m.has_value()) die("decode and decode_view disagree");
        if (!n) {
            if (n.error_value().code != m.error_value().code) die("different errors", n.error_value().message);
            if (n.error_value().message.rfind("[rowcast.binary.", 0) != 0 ||
                n.error_value().message.find("at byte ") == std::string::npos)
                die("badly formed error message", n.error_value().message);
            auto p = codec.peek_size(in);  // must not crash either
            (void)p;
            break;
        }
        if (*n != *m || *n == 0 || *n > in.size()) die("bad consumed size");
        if (!(rowcast::to_owning(v) == e)) die("view differs from owning decode");

        std::string again;
        codec.encode(e, again);
        if (std::string_view(again) != in.substr(0, *n)) die("re-encoding differs from the input");
        std::string from_view;
        fresh.encode(v, from_view);
        if (from_view != again) die("encoding the view differs");
        rowcast::event back;
        auto k = fresh.decode(again, back);
        if (!k || *k != again.size() || !(back == e)) die("round trip failed");
        in.remove_prefix(*n);
    }
    return 0;
}
