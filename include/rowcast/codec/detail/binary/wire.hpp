// Internal: primitives of the binary format (docs/binary-format.md): constants,
// little-endian/varint writers on raw buffers, a bounds-checked reader that
// records the first error with its byte offset, and a byte hash for the
// column-list cache.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

ROWCAST_NAMESPACE_BEGIN
namespace detail::bin {

inline constexpr std::string_view codec_name = "binary";  // in error messages
inline constexpr unsigned char magic0 = 'R';
inline constexpr unsigned char magic1 = 'C';
inline constexpr std::uint8_t format_version = 1;
inline constexpr std::size_t header_size = 8;  // magic(2) version(1) flags(1) length(u32)
// Header flag bits (docs/binary-format.md "Header flags"). A record without any is the
// original version-1 layout, which every version-1 decoder reads.
inline constexpr std::uint8_t flag_source_ext = 0x01;  // source.row and source.thread follow source.server_id
inline constexpr std::uint8_t flag_xid = 0x02;         // transaction.xid (≠ 0) follows (after the 0x01 fields)
inline constexpr std::uint8_t known_flags = flag_source_ext | flag_xid;

// Column flag bits (a varint).
enum : std::uint32_t {
    col_unsigned = 1u << 0,
    col_primary_key = 1u << 1,
    col_nullable = 1u << 2,
    col_length = 1u << 3,
    col_charset = 1u << 4,
    col_fsp = 1u << 5,
    col_decimal = 1u << 6,   // precision and scale follow
    col_members = 1u << 7,
    col_geometry = 1u << 8,
    col_all = (1u << 9) - 1,
};

// Packed DATETIME (u64): us(20) second(6) minute(6) hour(5) day(5) month(4) year(14) reserved(4).
inline constexpr std::uint64_t datetime_invalid = ~std::uint64_t{0};

// ---------------------------------------------------------------------------
// Writers: write at p, return the new end. The caller reserved enough room.

inline char* put_u8(char* p, std::uint8_t v) noexcept {
    *p = static_cast<char>(v);
    return p + 1;
}

template <class T>
inline char* put_le(char* p, T v) noexcept {
    static_assert(std::is_unsigned_v<T>);
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(p, &v, sizeof(T));
    } else {
        for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    }
    return p + sizeof(T);
}

inline char* put_varint(char* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7F) | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
}

inline char* put_bytes(char* p, std::string_view s) noexcept {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

inline char* put_str(char* p, std::string_view s) noexcept { return put_bytes(put_varint(p, s.size()), s); }

inline std::uint64_t zigzag(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t unzigzag(std::uint64_t u) noexcept {
    return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
}

inline constexpr std::size_t max_varint = 10;

#if defined(__GNUC__)
#define ROWCAST_BIN_COLD [[gnu::cold, gnu::noinline]]
#else
#define ROWCAST_BIN_COLD
#endif

// ---------------------------------------------------------------------------
// Reader over [p, end); offsets in messages are relative to `base` (the event start).
// Fast paths are small and inline; everything that builds a message is cold.
// Field names are string literals (messages are built only on failure).

struct reader {
    const unsigned char* base;
    const unsigned char* p;
    const unsigned char* end;
    errc code{};
    std::size_t at = 0;
    std::string what;

    reader(const unsigned char* b, const unsigned char* from, const unsigned char* to) noexcept
        : base(b), p(from), end(to) {}

    std::size_t left() const noexcept { return static_cast<std::size_t>(end - p); }
    std::size_t offset(const unsigned char* q) const noexcept { return static_cast<std::size_t>(q - base); }

    ROWCAST_BIN_COLD bool fail(errc c, const unsigned char* where, std::string w) {
        code = c;
        at = offset(where);
        what = std::move(w);
        return false;
    }
    ROWCAST_BIN_COLD bool cut(const unsigned char* where, const char* field, std::size_t need) {
        return fail(errc::truncated, where,
                    std::string(field) + " needs " + std::to_string(need) + " bytes but only " +
                        std::to_string(static_cast<std::size_t>(end - where)) + " are left");
    }

    bool u8(std::uint8_t& v, const char* field) {
        if (p == end) [[unlikely]]
            return cut(p, field, 1);
        v = *p++;
        return true;
    }
    bool boolean(bool& v, const char* field) {
        std::uint8_t b = 0;
        if (!u8(b, field)) return false;
        if (b > 1) [[unlikely]]
            return bad_bool(field, b);
        v = b != 0;
        return true;
    }
    ROWCAST_BIN_COLD bool bad_bool(const char* field, std::uint8_t b) {
        return fail(errc::invalid_value, p - 1, std::string(field) + " is " + std::to_string(b) + ", not 0 or 1");
    }
    template <class T>
    bool le(T& v, const char* field) {
        static_assert(std::is_unsigned_v<T>);
        if (left() < sizeof(T)) [[unlikely]]
            return cut(p, field, sizeof(T));
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(&v, p, sizeof(T));
        } else {
            v = 0;
            for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
        }
        p += sizeof(T);
        return true;
    }
    // LEB128, minimal encoding required (so every event has exactly one encoding).
    bool varint(std::uint64_t& v, const char* field) {
        if (p != end && *p < 0x80) [[likely]] {
            v = *p++;
            return true;
        }
        return varint_slow(v, field);
    }
    bool varint_slow(std::uint64_t& v, const char* field) {
        const unsigned char* start = p;
        std::uint64_t r = 0;
        for (unsigned i = 0; i < max_varint; ++i) {
            if (p == end) [[unlikely]]
                return bad_varint(start, field, 0);
            const unsigned b = *p++;
            r |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                if ((b == 0 && i > 0) || (i == 9 && b > 1)) [[unlikely]]
                    return bad_varint(start, field, b == 0 ? 1 : 2);
                v = r;
                return true;
            }
        }
        return bad_varint(start, field, 2);
    }
    ROWCAST_BIN_COLD bool bad_varint(const unsigned char* start, const char* field, int why) {
        if (why == 0) return fail(errc::truncated, start, std::string(field) + " is cut off inside its varint");
        if (why == 1) return fail(errc::invalid_value, start, std::string(field) + " varint is not minimally encoded");
        return fail(errc::invalid_value, start, std::string(field) + " varint overflows 64 bits");
    }
    // A varint count or length checked against a configured maximum (limit_exceeded, checked
    // first) and against the bytes left, each element needing at least `min_each` bytes
    // (truncated). Messages name it `field` + `suffix`.
    bool length(std::uint64_t& n, const char* field, const char* suffix, std::uint64_t max, const char* max_name,
                std::size_t min_each = 1) {
        const unsigned char* start = p;
        if (!varint(n, field)) return false;
        if (n > max || n > left() / min_each) [[unlikely]]
            return bad_length(start, n, field, suffix, max, max_name);
        return true;
    }
    ROWCAST_BIN_COLD bool bad_length(const unsigned char* start, std::uint64_t n, const char* field,
                                     const char* suffix, std::uint64_t max, const char* max_name) {
        const std::string f = std::string(field) + suffix + " " + std::to_string(n);
        if (n > max)
            return fail(errc::limit_exceeded, start, f + " exceeds " + max_name + " " + std::to_string(max));
        return fail(errc::truncated, start, f + " exceeds the " + std::to_string(left()) + " bytes left");
    }
    bool str(std::string_view& s, const char* field, std::uint64_t max) {
        std::uint64_t n = 0;
        if (!length(n, field, " length", max, "max_string_length")) return false;
        s = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
        p += n;
        return true;
    }
};

// Hash of a byte string (for the column-list cache; not persisted, any endianness).
inline std::uint64_t hash_bytes(const unsigned char* p, std::size_t n) noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xC2B2AE3D27D4EB4FULL);
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    std::uint64_t w = 0;
    if (n) std::memcpy(&w, p, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
    return h;
}

}  // namespace detail::bin
ROWCAST_NAMESPACE_END
