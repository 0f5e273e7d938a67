// Internal: bounds-checked little/big-endian reads over a byte span for the
// binlog parser, MySQL's packed integers, CRC32 (zlib) and zlib inflation of
// MariaDB's compressed events. Every read checks the remaining length first;
// unaligned reads go through memcpy. No function here has undefined behaviour
// on any input.
#pragma once

#include <rowcast/detail/text.hpp>
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

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

/// A little-endian 32-bit load, byte by byte (compiles to one load on little-endian machines).
inline std::uint32_t load_le32(const unsigned char* p) noexcept {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

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

/// CRC-32 tables for slicing by 8 (reflected polynomial 0xedb88320): t[0] is the byte-at-a-time
/// table, t[k][i] the CRC of byte i followed by k zero bytes. For short tails.
inline constexpr auto crc32_tables = [] {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        t[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    return t;
}();

/// Continues the inverted CRC register `state` over n bytes: 8 at a time, then 4, then 1
/// (words assembled from bytes: no alignment requirement).
inline std::uint32_t crc32_sliced(std::uint32_t state, const unsigned char* p, std::size_t n) noexcept {
    const auto& t = crc32_tables;
    for (; n >= 8; p += 8, n -= 8) {
        const std::uint32_t lo = load_le32(p) ^ state, hi = load_le32(p + 4);
        state = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
                t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    }
    if (n >= 4) {
        const std::uint32_t w = load_le32(p) ^ state;
        state = t[3][w & 0xff] ^ t[2][(w >> 8) & 0xff] ^ t[1][(w >> 16) & 0xff] ^ t[0][w >> 24];
        p += 4;
        n -= 4;
    }
    for (; n > 0; ++p, --n) state = t[0][(state ^ *p) & 0xff] ^ (state >> 8);
    return state;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ROWCAST_BINLOG_CRC32_CLMUL 1
/// CRC-32 by folding with carry-less multiplication (PCLMULQDQ), after Gopal, Ozturk et al.,
/// "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Intel, 2009),
/// with the bit-reflected constants for zlib's polynomial 0x04c11db7. `n` >= 64 and a
/// multiple of 16; `state` is the inverted CRC register (~crc); returns the inverted register.
/// Only call it when the CPU has PCLMULQDQ and SSE4.1 (crc32_has_clmul()).
__attribute__((target("pclmul,sse4.1"))) inline __m128i crc32_clmul_load(const unsigned char* q) noexcept {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
}
/// a.lo * k.lo ^ a.hi * k.hi: 128 bits moved forward by the distance k encodes.
__attribute__((target("pclmul,sse4.1"))) inline __m128i crc32_clmul_step(__m128i a, __m128i k) noexcept {
    return _mm_xor_si128(_mm_clmulepi64_si128(a, k, 0x00), _mm_clmulepi64_si128(a, k, 0x11));
}
__attribute__((target("pclmul,sse4.1"))) inline std::uint32_t crc32_clmul_fold(const unsigned char* p, std::size_t n,
                                                                               std::uint32_t state) noexcept {
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL);  // x^(4*128+32), x^(4*128-32) mod P
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);  // x^(128+32), x^(128-32) mod P
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124LL);                 // x^64 mod P
    const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);  // Barrett: mu, P
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);
    __m128i x1 = _mm_xor_si128(crc32_clmul_load(p), _mm_cvtsi32_si128(static_cast<int>(state)));
    __m128i x2 = crc32_clmul_load(p + 16), x3 = crc32_clmul_load(p + 32), x4 = crc32_clmul_load(p + 48);
    p += 64;
    n -= 64;
    while (n >= 64) {  // four 128-bit lanes in parallel
        x1 = _mm_xor_si128(crc32_clmul_step(x1, k1k2), crc32_clmul_load(p));
        x2 = _mm_xor_si128(crc32_clmul_step(x2, k1k2), crc32_clmul_load(p + 16));
        x3 = _mm_xor_si128(crc32_clmul_step(x3, k1k2), crc32_clmul_load(p + 32));
        x4 = _mm_xor_si128(crc32_clmul_step(x4, k1k2), crc32_clmul_load(p + 48));
        p += 64;
        n -= 64;
    }
    x1 = _mm_xor_si128(crc32_clmul_step(x1, k3k4), x2);  // four lanes into one
    x1 = _mm_xor_si128(crc32_clmul_step(x1, k3k4), x3);
    x1 = _mm_xor_si128(crc32_clmul_step(x1, k3k4), x4);
    while (n >= 16) {
        x1 = _mm_xor_si128(crc32_clmul_step(x1, k3k4), crc32_clmul_load(p));
        p += 16;
        n -= 16;
    }
    // 128 -> 64 bits
    __m128i x2b = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2b);
    x2b = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00), x2b);
    // Barrett reduction to 32 bits
    x2b = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
    x2b = _mm_clmulepi64_si128(_mm_and_si128(x2b, low32), poly, 0x00);
    x1 = _mm_xor_si128(x1, x2b);
    return static_cast<std::uint32_t>(_mm_extract_epi32(x1, 1));
}

inline bool crc32_has_clmul() noexcept {
    static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    return yes;
}
#endif

/// CRC-32 of n bytes as binlog events carry it (zlib's crc32 of the bytes), continuing from
/// `crc` (the CRC of the bytes before; 0 to start). Uses carry-less multiplication when the CPU
/// has it (about 10x zlib 1.2.13 on long inputs), else zlib.
inline std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    const auto* b = static_cast<const unsigned char*>(data);
#ifdef ROWCAST_BINLOG_CRC32_CLMUL
    if (n >= 64 && crc32_has_clmul()) {
        const std::size_t head = n & ~std::size_t{15};
        std::uint32_t state = crc32_clmul_fold(b, head, ~crc);
        return ~crc32_sliced(state, b + head, n - head);  // < 16 bytes
    }
    if (n < 64) return ~crc32_sliced(~crc, b, n);
#endif
    return crc32_zlib(crc, b, n);
}
inline std::uint32_t crc32(const void* data, std::size_t n) noexcept { return crc32(0, data, n); }

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
