// libFuzzer target for checkpoint files (pipeline/checkpoint.hpp) and the binlog
// cursor inside them (binlog/checkpoint.hpp): parse arbitrary bytes; when that
// succeeds, serialize the record again, parse it again and require the same record;
// a binlog cursor that parses must come back the same through to_cursor(); schema
// history lines (binlog/schema_history.hpp: the same framing, then base64 binary-codec
// versions) that parse must come back the same through history_lines(). The input is
// also read as a DDL statement for the history's table-name reader (no crash, no hang).
#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/binlog/detail/schema_history.hpp>
#include <rowcast/pipeline/checkpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace cp = rowcast::detail::checkpoint;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    (void)rowcast::detail::binlog::tables_of_ddl(in, "d");
    auto r = cp::parse(in, "fuzz", rowcast::checkpoint_format{});
    if (!r) return 0;
    if (auto h = rowcast::detail::binlog::parse_history_lines(r->cursor, "fuzz")) {
        auto h2 = rowcast::detail::binlog::parse_history_lines(rowcast::detail::binlog::history_lines(*h), "fuzz");
        if (!h2 || !(*h2 == *h)) std::abort();
    }
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
