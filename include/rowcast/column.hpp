// rowcast/column.hpp: column definitions (SQL types with their parameters) and
// the shared, immutable column list of a table.
//
// A `columns_ptr` (std::shared_ptr<const column_list>) is shared by all events
// of one table version, so a stream of events does not copy the definitions
// into each event. A column_list is immutable once shared; build a new one
// after a schema change.
//
// Thread-safety: a column_list is immutable after construction; sharing one
// between threads is safe.
#pragma once

#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

/// SQL column types of MySQL and MariaDB. Part of the binary format: never reorder.
enum class sql_type : std::uint8_t {
    unknown = 0,  ///< not known (e.g. from a trigger message that carries only names)
    tinyint,
    smallint,
    mediumint,
    int_,
    bigint,
    decimal,
    float_,
    double_,
    bit,
    year,
    date,
    time,
    datetime,
    timestamp,
    char_,
    varchar,
    binary,
    varbinary,
    tinytext,
    text,
    mediumtext,
    longtext,
    tinyblob,
    blob,
    mediumblob,
    longblob,
    enum_,
    set,
    json,
    geometry,
    uuid,   ///< MariaDB UUID (values as text)
    inet4,  ///< MariaDB INET4 (values as text)
    inet6,  ///< MariaDB INET6 (values as text)
};
inline constexpr std::size_t sql_type_count = 34;

namespace detail {
/// The SQL spellings of sql_type, by value (one static table: not rebuilt per call).
inline constexpr std::string_view sql_type_names[sql_type_count] = {
    "unknown",   "tinyint",  "smallint", "mediumint", "int",      "bigint",     "decimal",  "float",  "double",
    "bit",       "year",     "date",     "time",      "datetime", "timestamp",  "char",     "varchar", "binary",
    "varbinary", "tinytext", "text",     "mediumtext", "longtext", "tinyblob",  "blob",     "mediumblob",
    "longblob",  "enum",     "set",      "json",      "geometry", "uuid",       "inet4",    "inet6"};
}  // namespace detail

/// SQL spelling of a type, lower case ("int", "varchar", "unknown").
constexpr std::string_view to_string(sql_type t) noexcept {
    auto i = static_cast<std::size_t>(t);
    return i < sql_type_count ? detail::sql_type_names[i] : std::string_view("?");
}

/// Parses a lower-case SQL type name as written by to_string (also "integer",
/// "numeric", "real", "bool"/"boolean"). Returns nullopt for anything else.
inline std::optional<sql_type> parse_sql_type(std::string_view s) noexcept {
    for (std::size_t i = 0; i < sql_type_count; ++i)
        if (detail::sql_type_names[i] == s) return static_cast<sql_type>(i);
    if (s == "integer") return sql_type::int_;
    if (s == "numeric") return sql_type::decimal;
    if (s == "real") return sql_type::double_;
    if (s == "bool" || s == "boolean") return sql_type::tinyint;
    return std::nullopt;
}

/// The value kind a non-NULL value of this column type has (int64/uint64 by signedness).
constexpr value_kind natural_kind(sql_type t, bool is_unsigned) noexcept {
    switch (t) {
        case sql_type::tinyint:
        case sql_type::smallint:
        case sql_type::mediumint:
        case sql_type::int_:
        case sql_type::bigint: return is_unsigned ? value_kind::uint64 : value_kind::int64;
        case sql_type::decimal: return value_kind::decimal;
        case sql_type::float_: return value_kind::float32;
        case sql_type::double_: return value_kind::float64;
        case sql_type::bit: return value_kind::bit;
        case sql_type::year: return value_kind::year;
        case sql_type::date: return value_kind::date;
        case sql_type::time: return value_kind::time;
        case sql_type::datetime: return value_kind::datetime;
        case sql_type::timestamp: return value_kind::timestamp;
        case sql_type::binary:
        case sql_type::varbinary:
        case sql_type::tinyblob:
        case sql_type::blob:
        case sql_type::mediumblob:
        case sql_type::longblob: return value_kind::bytes;
        case sql_type::enum_: return value_kind::enumeration;
        case sql_type::set: return value_kind::set;
        case sql_type::json: return value_kind::json;
        case sql_type::geometry: return value_kind::geometry;
        case sql_type::unknown:
        case sql_type::char_:
        case sql_type::varchar:
        case sql_type::tinytext:
        case sql_type::text:
        case sql_type::mediumtext:
        case sql_type::longtext:
        case sql_type::uuid:
        case sql_type::inet4:
        case sql_type::inet6: return value_kind::text;
    }
    return value_kind::text;
}

/// A column's SQL type with its parameters. Fields that do not apply to the type are 0/empty.
struct column_type {
    sql_type type = sql_type::unknown;
    bool is_unsigned = false;        ///< integer, DECIMAL, FLOAT, DOUBLE declared UNSIGNED
    std::uint32_t length = 0;        ///< CHAR/VARCHAR: characters; BINARY/VARBINARY: bytes; BIT: bits (1-64)
    std::uint8_t precision = 0;      ///< DECIMAL(precision, scale)
    std::uint8_t scale = 0;
    std::uint8_t fsp = 0;            ///< TIME/DATETIME/TIMESTAMP fractional-seconds precision, 0-6
    std::string charset;             ///< character set of text columns ("utf8mb4", "latin1"…); empty if unknown
    std::vector<std::string> members;  ///< ENUM/SET member names in definition order
    std::string geometry_type;       ///< "point", "linestring"…, or empty for plain GEOMETRY

    friend bool operator==(const column_type&, const column_type&) = default;

    /// The kind a non-NULL value of this column has.
    value_kind natural_kind() const noexcept { return rowcast::natural_kind(type, is_unsigned); }
};

/// One column of a table.
struct column {
    std::string name;
    column_type type;
    bool primary_key = false;  ///< part of the table's primary key
    bool nullable = true;

    friend bool operator==(const column&, const column&) = default;
};

/// The columns of one table version, in table order.
struct column_list {
    std::vector<column> columns;

    std::size_t size() const noexcept { return columns.size(); }
    const column& operator[](std::size_t i) const noexcept { return columns[i]; }
    auto begin() const noexcept { return columns.begin(); }
    auto end() const noexcept { return columns.end(); }

    /// Index of the column named `name`, or nullopt.
    std::optional<std::size_t> find(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i].name == name) return i;
        return std::nullopt;
    }

    friend bool operator==(const column_list&, const column_list&) = default;
};

using columns_ptr = std::shared_ptr<const column_list>;

/// Makes a shared column list.
inline columns_ptr make_columns(std::vector<column> cols) {
    return std::make_shared<const column_list>(column_list{std::move(cols)});
}

ROWCAST_NAMESPACE_END
