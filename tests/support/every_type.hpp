// Test support: a MariaDB table with a column of every type, one row of values for it and the
// typed values rowcast_event() must produce for that row (shared by the trigger tests).
#pragma once

#include <rowcast/event.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace rowcast::test {

inline std::string every_type_ddl(const std::string& qualified_table) {
    return "CREATE TABLE " + qualified_table + R"( (
        id INT NOT NULL PRIMARY KEY, ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT,
        bi BIGINT, biu BIGINT UNSIGNED, de DECIMAL(20,6), fl FLOAT, db DOUBLE, bt BIT(12), yr YEAR, d DATE,
        tm TIME(6), dt DATETIME(6), ts TIMESTAMP(6) NULL, ch CHAR(10), vc VARCHAR(100), tx TEXT,
        lat VARCHAR(20) CHARACTER SET latin1, bn BINARY(4), vb VARBINARY(50), bl BLOB,
        en ENUM('small','medium','large'), st SET('a','b','c','d'), js JSON, g POINT, u UUID, i6 INET6,
        ft FLOAT(7,3) UNSIGNED, lt LONGTEXT CHARACTER SET utf8mb4, e2 ENUM('x''y','a\\b') CHARACTER SET latin1))";
}

/// Column values of row `id` (the session must use time_zone '+02:00'), as an INSERT's VALUES list.
inline std::string every_type_values(int id) {
    return "(" + std::to_string(id) + R"(, -128, 255, -32768, 8388607, -2147483648, -9223372036854775808,
        18446744073709551615, '-12345678901234.123456', 0.1, 2.718281828459045, b'101010101010', 2024, '2024-02-29',
        '-838:59:59.000000', '2026-11-22 13:00:10.123456', '2026-11-22 15:05:10.654321', 'abc', 'héllo wörld ✓',
        'long text', 'café', X'00010200', X'00FF00', X'DEADBEEF00', 'medium', 'c,a', '{"a": [1, 2]}',
        ST_GeomFromText('POINT(1 2)', 4326), 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6', '2001:db8::1',
        12.5, 'ünïcödé', 'a\\b'))";
}

/// The typed values of every_type_values(id), except the geometry (index 27) which the caller
/// checks against ST_AsBinary.
inline std::vector<value> every_type_expected(int id) {
    return {std::int64_t{id}, std::int64_t{-128}, std::uint64_t{255}, std::int64_t{-32768}, std::int64_t{8388607},
            std::int64_t{-2147483648LL}, std::int64_t{INT64_MIN}, std::uint64_t{UINT64_MAX},
            decimal{"-12345678901234.123456"}, 0.1f, 2.718281828459045, bit{0b101010101010, 12}, year{2024},
            date{2024, 2, 29}, rowcast::time{-(838LL * 3600 + 59 * 60 + 59) * 1000000},
            datetime{{2026, 11, 22}, 13, 0, 10, 123456}, timestamp{1795352710654321}, text{"abc"},
            text{"héllo wörld ✓"}, text{"long text"}, text{"café"}, bytes{std::string("\x00\x01\x02\x00", 4)},
            bytes{std::string("\x00\xff\x00", 3)}, bytes{std::string("\xde\xad\xbe\xef\x00", 5)},
            enum_value{"medium", 2}, set_value{"a,c", 5}, json_text{R"({"a": [1, 2]})"}, value{},
            text{"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"}, text{"2001:db8::1"}, 12.5f, text{"ünïcödé"},
            enum_value{"a\\b", 2}};
}

}  // namespace rowcast::test
