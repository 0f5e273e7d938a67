// libFuzzer target for journal segments (rowcast/journal/detail/format.hpp, read by
// journal/source.hpp from a directory another account writes): the header check, then
// records framed one after another as the reader does, each good payload decoded by the
// binary codec. Checks: a record never claims more bytes than the input has, a complete
// record framed again gives the same bytes, and the input read as a checkpoint cursor
// (parse_journal_cursor) comes back the same through to_cursor().
#include <rowcast/codec/binary.hpp>
#include <rowcast/journal/detail/format.hpp>
#include <rowcast/journal/source.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace fmt = rowcast::detail::journal;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto p = rowcast::parse_journal_cursor(in)) {
        auto again = rowcast::parse_journal_cursor(rowcast::to_cursor(*p));
        if (!again || !(*again == *p)) std::abort();
    }
    if (in.size() >= fmt::header_size) (void)fmt::header_problem(in, "binary");
    in.remove_prefix(std::min(in.size(), fmt::header_size));
    rowcast::binary_codec codec;
    std::string frame;
    while (!in.empty()) {
        const auto r = fmt::decode_record(in, 1u << 20);
        using kind = fmt::record_view::kind;
        if (r.what == kind::partial || r.what == kind::bad_length) break;
        if (r.size > in.size() || r.size != fmt::frame_size + r.payload.size()) std::abort();
        if (r.what == kind::complete) {
            fmt::begin_record(frame);
            frame.append(r.payload);
            fmt::finish_record(frame);
            if (frame != in.substr(0, r.size)) std::abort();
            (void)rowcast::decode(codec, r.payload);
        }
        in.remove_prefix(r.size);
    }
    return 0;
}
