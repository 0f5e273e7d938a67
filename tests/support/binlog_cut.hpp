// Test support: a copy of a binlog file cut at an event boundary inside its last
// transaction with rows (after that transaction's first rows event; no commit follows),
// as a file copied while the server wrote it, or truncated, looks.
#pragma once

#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/reader.hpp>
#include <rowcast/event.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace rowcast::test {

/// Writes the cut copy of `binlog` to `out`. `expected`: the file's events (read_file +
/// event_adapter); `begin_at` is set to the index of the cut transaction's begin event.
/// Returns false if the file has no transaction with rows or cannot be read.
inline bool cut_inside_last_transaction(const std::filesystem::path& binlog, const std::filesystem::path& out,
                                        const std::vector<event>& expected, std::size_t& begin_at) {
    begin_at = expected.size();
    for (std::size_t i = expected.size(); i-- > 1;)
        if (expected[i - 1].kind == event_kind::begin && is_row_event(expected[i].kind)) {
            begin_at = i - 1;
            break;
        }
    if (begin_at == expected.size()) return false;
    const std::uint64_t rows_at = expected[begin_at + 1].source.offset;
    auto rd = binlog::file_reader::open(binlog.string());
    if (!rd) return false;
    binlog::raw_event ev;
    std::uint64_t cut = 0;
    while (auto n = rd->next(ev)) {
        if (!*n) break;
        if (ev.offset == rows_at) cut = ev.offset + ev.size;
    }
    if (cut == 0) return false;
    std::ifstream in(binlog, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(out, std::ios::binary) << bytes.substr(0, cut);
    return true;
}

}  // namespace rowcast::test
