// Internal: bounds-checked little/big-endian reads over a byte span for the
// binlog parser, MySQL's packed integers, CRC32 (zlib) and zlib inflation of
// MariaDB's compressed events. Every read checks the remaining length first;
// unaligned reads go through memcpy. No function here has undefined behaviour
// on any input.
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/detail/crc32.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include <zlib.h>


ROWCAST_NAMESPACE_BEGIN
namespace detail::binlog {

/// A read position in a byte range. Reads return false (and consume nothing)
/// when fewer bytes remain than needed.
struct cursor {
    const unsigned char* data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;

    cursor() = default;
    cursor(const void* d, std::size_t n) noexcept : data(static_cast<const unsigned char*>(d)), size(n) {}
    explicit cursor(std::string_view s) noexcept : cursor(s.data(), s.size()) {}

    std::size_t left() const noexcept { return size - pos; }
    bool has(std::size_t n) const noexcept { return n <= size - pos; }
    const unsigned char* here() const noexcept { return data + pos; }

    bool skip(std::size_t n) noexcept {
        if (!has(n)) return false;
        pos += n;
        return true;
    }
    bool u8(std::uint8_t& v) noexcept {
        if (!has(1)) return false;
        v = data[pos++];
        return true;
    }
    /// Little-endian unsigned integer of n bytes (n <= 8).
    bool le(std::size_t n, std::uint64_t& v) noexcept {
        if (n > 8 || !has(n)) return false;
        v = 0;
        for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(data[pos + i]) << (8 * i);
        pos += n;
        return true;
    }
    /// Big-endian unsigned integer of n bytes (n <= 8).
    bool be(std::size_t n, std::uint64_t& v) noexcept {
        if (n > 8 || !has(n)) return false;
        v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data[pos + i];
        pos += n;
        return true;
    }
    template <class T>
    bool le_as(T& out) noexcept {
        std::uint64_t v = 0;
        if (!le(sizeof(T), v)) return false;
        out = static_cast<T>(v);
        return true;
    }
    /// MySQL length-encoded ("packed") integer.
    bool packed(std::uint64_t& v) noexcept {
        std::uint8_t b = 0;
        if (!has(1)) return false;
        b = data[pos];
        if (b < 251) {
            v = b;
            ++pos;
            return true;
        }
        std::size_t n = b == 252 ? 2 : b == 253 ? 3 : b == 254 ? 8 : 0;
        if (n == 0 || !has(1 + n)) return false;  // 251 (NULL) and 255 are not valid here
        ++pos;
        return le(n, v);
    }
    bool bytes(std::size_t n, std::string_view& out) noexcept {
        if (!has(n)) return false;
        out = std::string_view(reinterpret_cast<const char*>(data + pos), n);
        pos += n;
        return true;
    }
    std::string_view rest() noexcept {
        std::string_view r(reinterpret_cast<const char*>(data + pos), size - pos);
        pos = size;
        return r;
    }
};

// The one CRC-32 (rowcast/detail/crc32.hpp), under the names the binlog code uses.
using rowcast::detail::crc32;
using rowcast::detail::crc32_sliced;
using rowcast::detail::load_le32;

/// CRC-32 (zlib's polynomial) continuing from `crc` (0 to start), with zlib's crc32().
inline std::uint32_t crc32_zlib(std::uint32_t crc, const unsigned char* b, std::size_t n) noexcept {
    uLong c = crc;
    while (n > 0) {
        const uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
        c = ::crc32(c, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return static_cast<std::uint32_t>(c);
}

/// "0x" and 8 hex digits.
inline std::string hex32(std::uint32_t v) {
    std::string s = "0x";
    for (int i = 7; i >= 0; --i) s += hex_lower[(v >> (4 * i)) & 15];
    return s;
}



/// MariaDB's compressed block (binlog_buf_uncompress): a header byte 0x8N
/// (N = number of big-endian length bytes, 1-4), the uncompressed length,
/// then a zlib stream. Inflates into `out`. `max` bounds the result.
/// Returns an empty string on success or a description of the problem.
inline std::string mariadb_uncompress(std::string_view in, std::string& out, std::size_t max) {
    cursor c(in);
    std::uint8_t h = 0;
    if (!c.u8(h)) return "compressed block is empty";
    if ((h & 0xe0) != 0x80) return "compressed block has a bad header byte";
    const std::size_t lenlen = h & 0x07;
    if (lenlen < 1 || lenlen > 4) return "compressed block has a bad length size";
    std::uint64_t len = 0;
    if (!c.be(lenlen, len)) return "compressed block is truncated";
    if (len > max) return "uncompressed length " + std::to_string(len) + " exceeds the limit";
    out.resize(static_cast<std::size_t>(len));
    uLongf dest_len = static_cast<uLongf>(len);
    std::string_view z = c.rest();
    if (z.size() > std::numeric_limits<uLong>::max()) return "compressed block too large";
    unsigned char dummy = 0;
    int rc = ::uncompress(len ? reinterpret_cast<Bytef*>(out.data()) : &dummy, &dest_len,
                          reinterpret_cast<const Bytef*>(z.data()), static_cast<uLong>(z.size()));
    if (len == 0 && rc == Z_BUF_ERROR) rc = Z_OK;
    if (rc != Z_OK) return "zlib inflate failed (code " + std::to_string(rc) + ")";
    if (dest_len != len) return "uncompressed length differs from the header";
    return {};
}

}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
