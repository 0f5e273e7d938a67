// libFuzzer target for the JSON codec: decode arbitrary bytes (every envelope is
// recognised by its fields: rowcast, Debezium bare or schema+payload, Maxwell,
// smpl-repl), also with other Debezium value modes; on success re-encode in every
// envelope, decode again and abort if the two events differ. Never crashes, never
// reads out of bounds (run under ASan+UBSan).
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -Iinclude -Itests tests/fuzz/fuzz_json.cpp
#include <rowcast/codec/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static rowcast::json_codec codecs[] = {
        rowcast::json_codec{},
        rowcast::json_codec{rowcast::json_options{rowcast::json_envelope::debezium}},
        rowcast::json_codec{rowcast::json_options{rowcast::json_envelope::maxwell}},
        rowcast::json_codec{rowcast::json_options{rowcast::json_envelope::smpl_repl}},
        [] {
            rowcast::json_options o{rowcast::json_envelope::debezium};
            o.debezium.schemas = true;
            o.debezium.binary = rowcast::binary_handling::hex;
            o.debezium.time = rowcast::time_precision::connect;
            o.debezium.decimal = rowcast::decimal_handling::double_;
            o.debezium.bigint_unsigned = rowcast::bigint_unsigned_handling::precise;
            return rowcast::json_codec{o};
        }()};
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    rowcast::event first;
    {
        rowcast::event other;  // the other Debezium value modes read the same bytes without harm
        auto r0 = codecs[4].decode(in, other);
        if (r0 && *r0 > size) std::abort();
    }
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
