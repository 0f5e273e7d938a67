// libFuzzer target for rowcast::yaml_codec: decode arbitrary bytes; when that
// succeeds, re-encode, decode again and require the same event (and that the
// encoder's output is valid UTF-8 and consumed completely).
#include <rowcast/codec/yaml.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    rowcast::yaml_codec codec(rowcast::yaml_options{.max_document_size = 1 << 20, .max_nesting = 64});
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    rowcast::event first;
    auto n = codec.decode(in, first);
    if (!n) return 0;
    if (*n > in.size()) std::abort();
    std::string out;
    codec.encode(first, out);
    if (!rowcast::detail::valid_utf8(out)) std::abort();
    rowcast::event second;
    auto m = codec.decode(out, second);
    if (!m || *m != out.size()) std::abort();
    if (!(first == second)) std::abort();
    return 0;
}
