// libFuzzer target for the binlog file parser: the input is a binlog file
// (magic included; seeds are the fixture files). It is read through the real
// file reader (an in-memory file) with CRC verification off, so mutations
// reach the event decoders, and every event is fed to two parsers: one driving
// the event adapter (owning events), one the event view adapter (views); both
// must agree on every event and on the outcome. Any crash, sanitizer report or leak is a finding; errors are
// expected and must carry the binlog component's message prefix.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//       tests/fuzz/fuzz_binlog.cpp -o fuzz_binlog -lz -lzstd && ./fuzz_binlog -max_total_time=30
#include <rowcast/binlog/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = memfd_create("fuzz_binlog", MFD_CLOEXEC);
    if (fd < 0) return 0;
    std::size_t off = 0;
    while (off < size) {
        const ssize_t n = ::write(fd, data + off, size - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    rowcast::binlog::reader_options ro;
    ro.verify_checksum = false;
    ro.max_event_size = 1u << 20;
    auto rd = rowcast::binlog::file_reader::open(path, ro);
    if (rd) {
        rowcast::binlog::parser_options po;
        po.max_uncompressed = 4u << 20;
        po.statements_as_ddl = size % 2 == 0;
        rowcast::binlog::parser p(po), pv(po);
        p.set_file("fuzz.binlog");
        pv.set_file("fuzz.binlog");
        std::vector<rowcast::event> owning;
        std::size_t views = 0;
        rowcast::binlog::event_adapter ad([&](const rowcast::event& e) {
            if (!rowcast::validate(e)) {
                std::fprintf(stderr, "fuzz_binlog: invalid event shape\n");
                std::abort();
            }
            owning.push_back(e);
        });
        rowcast::binlog::event_view_adapter vad([&](const rowcast::event_view& e) {
            if (!rowcast::validate(e) || views >= owning.size() || !(rowcast::to_owning(e) == owning[views])) {
                std::fprintf(stderr, "fuzz_binlog: view event %zu differs from the owning event\n", views);
                std::abort();
            }
            ++views;
        });
        rowcast::binlog::raw_event ev;
        for (int i = 0; i < 10000; ++i) {
            auto r = rd->next(ev);
            if (!r || !*r) break;
            auto f = p.feed(ev, ad);
            auto fv = pv.feed(ev, vad);
            if (static_cast<bool>(f) != static_cast<bool>(fv) ||
                (!f && f.error_value().message != fv.error_value().message)) {
                std::fprintf(stderr, "fuzz_binlog: the view path's outcome differs\n");
                std::abort();
            }
            if (owning.size() > 64) {  // keep memory flat: only the unmatched tail matters
                owning.erase(owning.begin(), owning.begin() + static_cast<std::ptrdiff_t>(views));
                views = 0;
            }
            if (!f) {
                if (f.error_value().message.rfind("[rowcast.binlog.", 0) != 0) {
                    std::fprintf(stderr, "fuzz_binlog: bad error message %s\n", f.error_value().message.c_str());
                    std::abort();
                }
                break;
            }
        }
        (void)ad.finish();
        (void)vad.finish();
        if (views != owning.size()) {
            std::fprintf(stderr, "fuzz_binlog: %zu owning events, %zu views\n", owning.size(), views);
            std::abort();
        }
    }
    ::close(fd);
    return 0;
}
