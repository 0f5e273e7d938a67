// libFuzzer target for checkpoint files (pipeline/checkpoint.hpp) and the binlog
// cursor inside them (binlog/checkpoint.hpp): parse arbitrary bytes; when that
// succeeds, serialize the record again, parse it again and require the same record;
// a binlog cursor that parses must come back the same through to_cursor().
#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/pipeline/checkpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace cp = rowcast::detail::checkpoint;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = cp::parse(in, "fuzz", rowcast::checkpoint_format{});
    if (!r) return 0;
    if (!cp::cursor_problem(r->cursor).empty()) std::abort();  // parse() accepted what save() refuses
    const std::string again = cp::serialize(*r, "rowcast-checkpoint");
    auto r2 = cp::parse(again, "fuzz", rowcast::checkpoint_format{});
    if (!r2 || !(*r2 == *r)) std::abort();
    auto p = rowcast::binlog::parse_cursor(r->cursor, "fuzz");
    if (!p) return 0;
    auto p2 = rowcast::binlog::parse_cursor(rowcast::binlog::to_cursor(*p), "fuzz");
    if (!p2 || !(*p2 == *p)) std::abort();
    return 0;
}
