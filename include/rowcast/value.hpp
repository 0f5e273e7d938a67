// rowcast/value.hpp: typed column values.
//
// A column value is a `basic_value<S>`: a std::variant over every MySQL/MariaDB
// value type, where S is the string type used for variable-length data:
//  - `value`      = basic_value<std::string>       owns its bytes;
//  - `value_view` = basic_value<std::string_view>  points into a decode buffer
//                   (valid only as long as that buffer), for hot consumers.
// `to_owning(view)` converts a view to an owning value.
//
// The alternatives, in `value_kind` order (the order is part of the binary
// format; never reorder):
//   absent     the column is not in this image (binlog_row_image=MINIMAL); not NULL
//   null_value SQL NULL
//   int64_t    signed integer columns (TINYINT…BIGINT), full range
//   uint64_t   UNSIGNED integer columns, full range
//   float      FLOAT
//   double     DOUBLE
//   decimal    DECIMAL/NUMERIC, exact, as decimal text ("-12.3400")
//   text       character data as UTF-8 (CHAR, VARCHAR, TEXT…); the bytes are kept
//              exactly even if they are not valid UTF-8 (see docs/codecs.md)
//   bytes      binary data (BINARY, VARBINARY, BLOB…), may hold NUL
//   date       DATE; zero dates (0000-00-00, 2024-00-00) are legal
//   time       TIME: signed microseconds, may be negative and over 24 h
//   datetime   DATETIME with microseconds; zero dates legal
//   timestamp  TIMESTAMP: microseconds since the Unix epoch, UTC
//   year       YEAR (0 for the zero year 0000)
//   bit        BIT(n), n <= 64: the bits and the width n
//   enum_value ENUM: member name and its 1-based index (0: the '' error value)
//   set_value  SET: member names joined by ',' (MySQL's text form) and the bit mask
//   json_text  JSON document text
//   geometry   GEOMETRY: SRID and WKB bytes
//
// Equality (operator==) compares floating-point values by bit pattern, so an
// event equals its own round trip even when it holds NaN, and -0.0 != +0.0.
//
// Thread-safety: plain values; concurrent reads are safe, writes need external
// synchronisation.
#pragma once

#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

ROWCAST_NAMESPACE_BEGIN

/// The column is not present in this row image (not the same as NULL).
struct absent {
    friend constexpr bool operator==(absent, absent) noexcept { return true; }
};

/// SQL NULL.
struct null_value {
    friend constexpr bool operator==(null_value, null_value) noexcept { return true; }
};

/// DECIMAL as its exact decimal text: optional '-', digits, optional '.' and digits.
template <class S>
struct basic_decimal {
    S digits;
    friend bool operator==(const basic_decimal&, const basic_decimal&) = default;
};

/// Character data, expected to be UTF-8. Invalid UTF-8 is kept byte for byte.
template <class S>
struct basic_text {
    S utf8;
    friend bool operator==(const basic_text&, const basic_text&) = default;
};

/// Binary data; may contain NUL bytes.
template <class S>
struct basic_bytes {
    S data;
    friend bool operator==(const basic_bytes&, const basic_bytes&) = default;
};

/// DATE. year 0-9999, month 0-12, day 0-31; zero parts are MySQL's zero dates.
struct date {
    std::uint16_t year = 0;
    std::uint8_t month = 0;
    std::uint8_t day = 0;
    friend constexpr bool operator==(const date&, const date&) = default;
};

/// TIME as signed microseconds (MySQL range: -838:59:59.000000 to 838:59:59.000000).
struct time {
    std::int64_t microseconds = 0;
    friend constexpr bool operator==(const time&, const time&) = default;
};

/// DATETIME: a calendar date and a wall-clock time with microseconds, no time zone.
struct datetime {
    date day;
    std::uint8_t hour = 0;            ///< 0-23
    std::uint8_t minute = 0;          ///< 0-59
    std::uint8_t second = 0;          ///< 0-59
    std::uint32_t microsecond = 0;    ///< 0-999999
    friend constexpr bool operator==(const datetime&, const datetime&) = default;
};

/// TIMESTAMP: microseconds since 1970-01-01 00:00:00 UTC. MySQL's zero
/// TIMESTAMP ('0000-00-00 00:00:00') is represented as 0.
struct timestamp {
    std::int64_t microseconds = 0;
    friend constexpr bool operator==(const timestamp&, const timestamp&) = default;

    /// As a std::chrono time point (UTC).
    constexpr std::chrono::sys_time<std::chrono::microseconds> time_point() const noexcept {
        return std::chrono::sys_time<std::chrono::microseconds>{std::chrono::microseconds{microseconds}};
    }
    static constexpr timestamp from(std::chrono::sys_time<std::chrono::microseconds> t) noexcept {
        return {t.time_since_epoch().count()};
    }
};

/// YEAR: 1901-2155, or 0 for the zero year.
struct year {
    std::uint16_t value = 0;
    friend constexpr bool operator==(const year&, const year&) = default;
};

/// BIT(width): the low `width` bits of `bits` (width 1-64).
struct bit {
    std::uint64_t bits = 0;
    std::uint8_t width = 1;
    friend constexpr bool operator==(const bit&, const bit&) = default;
};

/// ENUM: the member's name and its 1-based index in the column definition
/// (0 is MySQL's '' error value; index is 0 also when unknown, e.g. from a trigger).
template <class S>
struct basic_enum_value {
    S name;
    std::uint16_t index = 0;
    friend bool operator==(const basic_enum_value&, const basic_enum_value&) = default;
};

/// SET: member names joined by ',' ("a,c"), and the bit mask (bit i = member i+1;
/// 0 when unknown).
template <class S>
struct basic_set_value {
    S names;
    std::uint64_t mask = 0;
    friend bool operator==(const basic_set_value&, const basic_set_value&) = default;
};

/// JSON column: the document as text.
template <class S>
struct basic_json_text {
    S text;
    friend bool operator==(const basic_json_text&, const basic_json_text&) = default;
};

/// GEOMETRY: SRID and the WKB (well-known binary) bytes.
template <class S>
struct basic_geometry {
    std::uint32_t srid = 0;
    S wkb;
    friend bool operator==(const basic_geometry&, const basic_geometry&) = default;
};

/// The kind of a value; equals the variant index of basic_value. Part of the
/// binary format: never reorder.
enum class value_kind : std::uint8_t {
    absent = 0,
    null,
    int64,
    uint64,
    float32,
    float64,
    decimal,
    text,
    bytes,
    date,
    time,
    datetime,
    timestamp,
    year,
    bit,
    enumeration,
    set,
    json,
    geometry,
};
inline constexpr std::size_t value_kind_count = 19;

/// Lower-case name of a value kind ("int64", "text", …), as used in JSON/YAML.
constexpr std::string_view to_string(value_kind k) noexcept {
    constexpr std::string_view names[] = {"absent", "null",     "int64", "uint64",    "float32", "float64", "decimal",
                                          "text",   "bytes",    "date",  "time",      "datetime", "timestamp", "year",
                                          "bit",    "enum",     "set",   "json",      "geometry"};
    auto i = static_cast<std::size_t>(k);
    return i < value_kind_count ? names[i] : std::string_view("?");
}

template <class S>
using value_variant =
    std::variant<absent, null_value, std::int64_t, std::uint64_t, float, double, basic_decimal<S>, basic_text<S>,
                 basic_bytes<S>, date, time, datetime, timestamp, year, bit, basic_enum_value<S>, basic_set_value<S>,
                 basic_json_text<S>, basic_geometry<S>>;

/// A typed column value. It is a std::variant (std::get, std::visit and
/// std::holds_alternative work on it) with bitwise float equality and a kind().
template <class S>
class basic_value : public value_variant<S> {
public:
    using variant_type = value_variant<S>;
    using variant_type::variant_type;
    using variant_type::operator=;
    basic_value() noexcept : variant_type(absent{}) {}

    value_kind kind() const noexcept { return static_cast<value_kind>(this->index()); }
    bool is_null() const noexcept { return kind() == value_kind::null; }
    bool is_absent() const noexcept { return kind() == value_kind::absent; }
    const variant_type& as_variant() const noexcept { return *this; }

    friend bool operator==(const basic_value& a, const basic_value& b) noexcept {
        if (a.index() != b.index()) return false;
        if (auto* f = std::get_if<float>(&a)) return bits_equal(*f, *std::get_if<float>(&b));
        if (auto* d = std::get_if<double>(&a)) return bits_equal(*d, *std::get_if<double>(&b));
        return a.as_variant() == b.as_variant();
    }

private:
    template <class F>
    static bool bits_equal(F x, F y) noexcept {
        return std::memcmp(&x, &y, sizeof(F)) == 0;
    }
};

using decimal = basic_decimal<std::string>;
using text = basic_text<std::string>;
using bytes = basic_bytes<std::string>;
using enum_value = basic_enum_value<std::string>;
using set_value = basic_set_value<std::string>;
using json_text = basic_json_text<std::string>;
using geometry = basic_geometry<std::string>;
using value = basic_value<std::string>;

using decimal_view = basic_decimal<std::string_view>;
using text_view = basic_text<std::string_view>;
using bytes_view = basic_bytes<std::string_view>;
using enum_value_view = basic_enum_value<std::string_view>;
using set_value_view = basic_set_value<std::string_view>;
using json_text_view = basic_json_text<std::string_view>;
using geometry_view = basic_geometry<std::string_view>;
using value_view = basic_value<std::string_view>;

/// Copies a view's referenced bytes into an owning value.
inline value to_owning(const value_view& v) {
    return std::visit(
        [](const auto& x) -> value {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, decimal_view>) return decimal{std::string(x.digits)};
            else if constexpr (std::is_same_v<T, text_view>) return text{std::string(x.utf8)};
            else if constexpr (std::is_same_v<T, bytes_view>) return bytes{std::string(x.data)};
            else if constexpr (std::is_same_v<T, enum_value_view>) return enum_value{std::string(x.name), x.index};
            else if constexpr (std::is_same_v<T, set_value_view>) return set_value{std::string(x.names), x.mask};
            else if constexpr (std::is_same_v<T, json_text_view>) return json_text{std::string(x.text)};
            else if constexpr (std::is_same_v<T, geometry_view>) return geometry{x.srid, std::string(x.wkb)};
            else return x;
        },
        v.as_variant());
}

/// A view of an owning value (valid while `v` lives and is not modified).
inline value_view to_view(const value& v) noexcept {
    return std::visit(
        [](const auto& x) -> value_view {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, decimal>) return decimal_view{x.digits};
            else if constexpr (std::is_same_v<T, text>) return text_view{x.utf8};
            else if constexpr (std::is_same_v<T, bytes>) return bytes_view{x.data};
            else if constexpr (std::is_same_v<T, enum_value>) return enum_value_view{x.name, x.index};
            else if constexpr (std::is_same_v<T, set_value>) return set_value_view{x.names, x.mask};
            else if constexpr (std::is_same_v<T, json_text>) return json_text_view{x.text};
            else if constexpr (std::is_same_v<T, geometry>) return geometry_view{x.srid, x.wkb};
            else return x;
        },
        v.as_variant());
}

ROWCAST_NAMESPACE_END

