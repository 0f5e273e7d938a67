// Internal: the journal's on-disk format (docs/journal.md): segment names, the segment
// header and the record frame, encoded and decoded without I/O (the decoder is fuzzed:
// tests/fuzz/fuzz_journal.cpp).
#pragma once

#include <rowcast/codec/names.hpp>
#include <rowcast/detail/crc32.hpp>
#include <rowcast/error.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <algorithm>
#include <memory>

#include <dirent.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::journal {

inline constexpr std::string_view magic = "RCJOURNL";     // 8 bytes
inline constexpr std::uint16_t version = 1;
inline constexpr std::size_t header_size = 16;            // magic, u16 version, u8 codec, u8 0, u32 crc
inline constexpr std::size_t frame_size = 8;              // u32 length, u32 crc32 of the payload
inline constexpr std::uint32_t max_length = 1u << 30;     // no record is longer (format limit)
inline constexpr std::string_view suffix = ".rcj";
inline constexpr std::string_view lock_name = "journal.lock";

inline void store_le32(char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
inline std::uint32_t load_le32(const char* p) noexcept {
    return rowcast::detail::load_le32(reinterpret_cast<const unsigned char*>(p));
}

/// The header's codec id: 1 json, 2 yaml, 3 binary (codec_names' order + 1); 0 for another name.
inline std::uint8_t codec_id(std::string_view name) noexcept {
    for (std::size_t i = 0; i < codec_names.size(); ++i)
        if (codec_names[i] == name) return static_cast<std::uint8_t>(i + 1);
    return 0;
}
inline std::string_view codec_name(std::uint8_t id) noexcept {
    return id >= 1 && id <= codec_names.size() ? codec_names[id - 1] : std::string_view("unknown");
}

/// "0000000000000001.rcj".
inline std::string segment_name(std::uint64_t n) {
    char b[32];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(n));
    return std::string(b) + std::string(suffix);
}
/// The number of a segment file name, or nullopt for any other name.
inline std::optional<std::uint64_t> parse_segment_name(std::string_view name) noexcept {
    if (name.size() != 16 + suffix.size() || name.substr(16) != suffix) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : name.substr(0, 16)) {
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else return std::nullopt;
        n = n << 4 | static_cast<std::uint64_t>(d);
    }
    return n;
}

/// The segment numbers in the directory `dfd` (named `dir` in errors), sorted.
inline result<std::vector<std::uint64_t>> list_segments(int dfd, const std::string& dir) {
    std::vector<std::uint64_t> out;
    const int dup = ::dup(dfd);
    DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr;
    if (!d) {
        const int err = errno;
        if (dup >= 0) ::close(dup);
        return os_error(err, "journal", dir, "cannot list journal directory");
    }
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    ::rewinddir(d);
    while (const dirent* ent = ::readdir(d))
        if (auto n = parse_segment_name(ent->d_name)) out.push_back(*n);
    std::sort(out.begin(), out.end());
    return out;
}

/// The 16 header bytes for a segment of `codec`.
inline std::string make_header(std::string_view codec) {
    std::string h(header_size, '\0');
    std::memcpy(h.data(), magic.data(), magic.size());
    h[8] = static_cast<char>(version & 0xff);
    h[9] = static_cast<char>(version >> 8);
    h[10] = static_cast<char>(codec_id(codec));
    store_le32(h.data() + 12, rowcast::detail::crc32(h.data(), 12));
    return h;
}

/// What is wrong with a segment header (empty: fine). `bytes` holds at least header_size bytes.
inline std::string header_problem(std::string_view bytes, std::string_view expected_codec) {
    if (bytes.size() < header_size) return "segment shorter than its 16-byte header";
    if (bytes.substr(0, magic.size()) != magic) return "not a rowcast journal segment (bad magic)";
    if (load_le32(bytes.data() + 12) != rowcast::detail::crc32(bytes.data(), 12)) return "segment header checksum mismatch";
    const unsigned v = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned>(static_cast<unsigned char>(bytes[9])) << 8;
    if (v != version) return "unsupported journal version " + std::to_string(v);
    const auto id = static_cast<std::uint8_t>(bytes[10]);
    if (id != codec_id(expected_codec))
        return "segment written with codec " + std::string(codec_name(id)) + ", this reader decodes " +
               std::string(expected_codec);
    return {};
}

/// Starts a record in `buf` (its frame, filled in by finish_record once the payload is appended).
inline void begin_record(std::string& buf) { buf.assign(frame_size, '\0'); }
inline void finish_record(std::string& buf) noexcept {
    const std::size_t n = buf.size() - frame_size;
    store_le32(buf.data(), static_cast<std::uint32_t>(n));
    store_le32(buf.data() + 4, rowcast::detail::crc32(buf.data() + frame_size, n));
}

/// What decode_record() found at the start of its input.
struct record_view {
    enum class kind {
        complete,      ///< `payload` is a whole record with a good checksum; `size` bytes in all
        partial,       ///< the input ends inside the record (more bytes may still come)
        bad_length,    ///< the length is 0 or over the limit: nothing after it can be framed
        bad_checksum,  ///< a whole record whose payload does not match its CRC (`size` bytes)
    } what = kind::partial;
    std::string_view payload;
    std::size_t size = 0;     ///< frame + payload (complete, bad_checksum)
    std::uint32_t length = 0; ///< the length field (when read)
};

/// Frames one record at the start of `in`; `limit` is the largest acceptable payload.
inline record_view decode_record(std::string_view in, std::uint32_t limit) noexcept {
    record_view r;
    if (in.size() < frame_size) return r;
    r.length = load_le32(in.data());
    if (r.length == 0 || r.length > limit || r.length > max_length) {
        r.what = record_view::kind::bad_length;
        return r;
    }
    if (in.size() - frame_size < r.length) return r;
    r.size = frame_size + r.length;
    r.payload = in.substr(frame_size, r.length);
    r.what = load_le32(in.data() + 4) == rowcast::detail::crc32(r.payload.data(), r.payload.size())
                 ? record_view::kind::complete
                 : record_view::kind::bad_checksum;
    return r;
}

}  // namespace detail::journal
ROWCAST_NAMESPACE_END
