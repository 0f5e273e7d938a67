// rowcast/codec/binary.hpp: the compact binary codec ("application/x-rowcast").
//
// A versioned, little-endian, self-delimiting encoding of an Event: every
// event starts with an 8-byte header (magic "RC", format version, flags and
// the event's total length in bytes), so events can sit back to back in one
// datagram or file and `decode` returns how many bytes it consumed. Every
// field and every value kind round-trips exactly (absent vs NULL, NaN payload
// bits, -0.0, full 64-bit integers, NUL bytes, invalid UTF-8 byte for byte).
// The byte layout is specified in docs/binary-format.md.
//
// Decoding never reads outside its input and never allocates more than the
// configured limits allow: every count and length is checked against the
// configured maximum (errc::limit_exceeded) and then against the bytes left
// (errc::truncated) before it is used. Errors name the byte offset, relative
// to the start of the input passed in, e.g.
//   "[rowcast.binary.truncated] at byte 37: text length 300 exceeds the 12 bytes left".
//
// Column lists are shared: the codec caches decoded column lists (keyed by
// their encoded bytes), so the events of one table decode to one
// `columns_ptr`, and caches the encoded bytes of the column lists it encodes
// (keyed by the `columns_ptr`, whose list is immutable once shared).
//
// Thread-safety: a binary_codec is not thread-safe (its caches mutate on
// encode and decode); use one per thread. Copies are independent.
#pragma once

#include <rowcast/codec/concept.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/version.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

ROWCAST_NAMESPACE_BEGIN

/// Limits and cache sizes of a binary_codec. The limits apply to decoding (the
/// encoder writes whatever it is given, up to the format's 4 GiB - 1 event size).
struct binary_options {
    /// Largest accepted event, header included, in bytes (at most 4 GiB - 1). Default 16 MiB.
    std::size_t max_event_size = std::size_t{16} << 20;
    /// Most columns in a column list, and most values in a row image. Default 4096.
    std::size_t max_columns = 4096;
    /// Longest string or byte string (names, text, bytes, JSON, WKB…), in bytes. Default 16 MiB.
    std::size_t max_string_length = std::size_t{16} << 20;
    /// Most ENUM/SET member names in one column list, all columns together. Default 65536.
    std::size_t max_members = 65536;
    /// Column lists kept by each of the two caches (decode: by encoded bytes; encode:
    /// by columns_ptr). 0 disables caching. Default 64.
    std::size_t schema_cache_size = 64;
    /// Most encoded column-list bytes each cache holds; larger lists are not cached. Default 8 MiB.
    std::size_t schema_cache_bytes = std::size_t{8} << 20;
};

ROWCAST_NAMESPACE_END

// The implementation (internal; needs binary_options above).
#include <rowcast/codec/detail/binary/decoder.hpp>
#include <rowcast/codec/detail/binary/encoder.hpp>

ROWCAST_NAMESPACE_BEGIN

/// The binary codec. Satisfies rowcast::view_codec.
class binary_codec {
public:
    static constexpr std::string_view name = detail::bin::codec_name;
    static constexpr std::string_view content_type = "application/x-rowcast";
    /// The format version this build writes and reads (byte 2 of every event).
    static constexpr std::uint8_t format_version = detail::bin::format_version;
    /// Size of the fixed event header, in bytes.
    static constexpr std::size_t header_size = detail::bin::header_size;

    binary_codec() = default;
    explicit binary_codec(binary_options o) : enc_(o), dec_(o) {}

    const binary_options& options() const noexcept { return dec_.options(); }

    /// Appends the encoding of `e` to `out` (never clears it). Values outside the
    /// ranges documented in value.hpp (a DATE month of 13, a BIT wider than 64 …) are
    /// written so that decoding reports errc::invalid_value.
    /// Throws rowcast::exception (limit_exceeded) only for an event over 4 GiB - 1
    /// bytes, and std::bad_alloc / std::length_error as std::string does.
    void encode(const event& e, std::string& out) { enc_.encode(e, out); }
    /// Same, from a view.
    void encode(const event_view& e, std::string& out) { enc_.encode(e, out); }

    /// Decodes the first event in `in` into `into`, reusing its storage, and returns
    /// the bytes consumed (the event's length; more events may follow). On error
    /// `into` is left valid but unspecified. Errors: bad_magic, unsupported_version,
    /// truncated, limit_exceeded, invalid_value, trailing_data (bytes inside the
    /// event after its last field).
    result<std::size_t> decode(std::string_view in, event& into) { return dec_.decode(in, into); }

    /// Zero-copy decode: like decode, but the strings of `into` point into `in`
    /// (valid only while `in` is). The image vectors keep their capacity, so decoding
    /// repeatedly into one view does not allocate once it has grown.
    result<std::size_t> decode_view(std::string_view in, event_view& into) { return dec_.decode(in, into); }

    /// The total length of the first event in `in` as its header states it, after
    /// checking magic, version and max_event_size; errc::truncated if `in` is shorter
    /// than the header (not if it is shorter than the event). For stream readers.
    result<std::size_t> peek_size(std::string_view in) const { return dec_.peek_size(in); }

    /// Number of column lists in the decode cache.
    std::size_t cached_column_lists() const noexcept { return dec_.cached(); }

    /// Drops both caches (decoded events keep their column lists).
    void clear_cache() noexcept {
        enc_.clear();
        dec_.clear();
    }

private:
    detail::bin::encoder enc_;
    detail::bin::decoder dec_;
};

static_assert(view_codec<binary_codec>);

ROWCAST_NAMESPACE_END
