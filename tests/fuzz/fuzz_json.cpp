// libFuzzer target for the JSON codec: decode arbitrary bytes (both envelopes are
// recognised by their fields); on success re-encode in the envelope the input
// used, decode again and abort if the two events differ. Never crashes, never
// reads out of bounds (run under ASan+UBSan).
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -Iinclude -Itests tests/fuzz/fuzz_json.cpp
#include <rowcast/codec/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static rowcast::json_codec codecs[2] = {
        rowcast::json_codec{},
        rowcast::json_codec{rowcast::json_options{rowcast::json_envelope::debezium}}};
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    rowcast::event first;
    auto r = codecs[0].decode(in, first);
    if (!r) return 0;
    if (*r > size) std::abort();
    for (auto& c : codecs) {
        std::string out;
        c.encode(first, out);
        rowcast::event second;
        rowcast::json_codec fresh{c.options()};
        auto r2 = fresh.decode(out, second);
        if (!r2 || *r2 != out.size() || !(second == first)) {
            std::fprintf(stderr, "round trip failed: %s\n%s\n", r2 ? "events differ" : r2.error_value().message.c_str(),
                         out.c_str());
            std::abort();
        }
    }
    return 0;
}
