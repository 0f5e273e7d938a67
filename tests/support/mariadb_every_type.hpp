// Test support: a MariaDB 10.11 table with a column of every type, and four rows with extremes,
// NULLs, non-ASCII text and binary values ending in 0x00 (moved here from test_binlog_columns.cpp
// to be shared with test_snapshot.cpp). `kind` is the server_text form of select_expr
// (support/binlog_rows.hpp): "float" for numbers, "" for plain text.
#pragma once

#include <string>
#include <vector>

namespace rowcast::test {

struct col_spec {
    std::string name, decl, kind;
};

/// The columns, "id INT PRIMARY KEY" first.
inline const std::vector<col_spec>& mariadb_every_type_columns() {
    static const std::vector<col_spec> cols = {
        {"id", "INT PRIMARY KEY", ""},
        {"ti", "TINYINT", ""},
        {"tu", "TINYINT UNSIGNED", ""},
        {"si", "SMALLINT UNSIGNED", ""},
        {"mi", "MEDIUMINT", ""},
        {"ii", "INT UNSIGNED", ""},
        {"bi", "BIGINT", ""},
        {"bu", "BIGINT UNSIGNED", ""},
        {"dc", "DECIMAL(20,6)", ""},
        {"dz", "DECIMAL(5,0) UNSIGNED", ""},
        {"f", "FLOAT", "float"},
        {"d", "DOUBLE", "float"},
        {"dt", "DATE", ""},
        {"tm", "TIME", "time"},
        {"tm3", "TIME(3)", "time"},
        {"dtm", "DATETIME", "datetime"},
        {"dtm6", "DATETIME(6)", "datetime"},
        {"ts", "TIMESTAMP NULL", "timestamp"},
        {"ts6", "TIMESTAMP(6) NULL", "timestamp"},
        {"y", "YEAR", ""},
        {"c", "CHAR(5) CHARACTER SET utf8mb4", ""},
        {"c3", "CHAR(5) CHARACTER SET utf8mb3", ""},
        {"vc", "VARCHAR(300) CHARACTER SET utf8mb4", ""},
        {"l1", "VARCHAR(20) CHARACTER SET latin1", ""},
        {"asc", "VARCHAR(10) CHARACTER SET ascii", ""},
        {"bn", "BINARY(16)", ""},
        {"vb", "VARBINARY(300)", ""},
        {"tb", "TINYBLOB", ""},
        {"bl", "BLOB", ""},
        {"mb", "MEDIUMBLOB", ""},
        {"lb", "LONGBLOB", ""},
        {"tt", "TINYTEXT CHARACTER SET latin1", ""},
        {"tx", "TEXT CHARACTER SET utf8mb4", ""},
        {"mt", "MEDIUMTEXT CHARACTER SET utf8mb4", ""},
        {"lt", "LONGTEXT CHARACTER SET utf8mb3", ""},
        {"e", "ENUM('red','gr\xc3\xbcn','blue') CHARACTER SET utf8mb4", ""},
        {"s", "SET('a','b','c','\xc3\xa9') CHARACTER SET utf8mb4", ""},
        {"bt", "BIT(10)", "bit"},
        {"b64", "BIT(64)", "bit"},
        {"j", "JSON", ""},
        {"g", "GEOMETRY", "geometry"},
        {"pt", "POINT", "geometry"},
        {"uu", "UUID", ""},
        {"i6", "INET6", ""},
        {"i4", "INET4", ""},
    };
    return cols;
}

/// VALUES of rows 1-4 for a table with mariadb_every_type_columns() (session time_zone '+00:00').
inline std::string mariadb_every_type_rows() {
    return
            "(1,-128,255,65535,-8388608,4294967295,-9223372036854775808,18446744073709551615,-99999999999999.999999,"
            "99999,-1.5,1e308,'1000-01-01','-838:59:59','838:59:59.999','1000-01-01 00:00:00','9999-12-31 23:59:59.999999',"
            "'1970-01-01 00:00:01','2038-01-19 03:14:07.999999',1901,'\xc3\xa9\xf0\x9f\x98\x80','\xc3\x9f','a\\\\b''c\"d',"
            "'\xe2\x82\xac\xc3\xbf\xc5\x93','plain',X'0123456789ABCDEF0123456789ABCD00',X'00FF00',X'00',X'FF00',"
            "X'00010203',X'FFFE00','caf\xc3\xa9','\xe4\xb8\x96\xe7\x95\x8c','\xf0\x9f\x98\x80','x\xe2\x82\xac','gr\xc3\xbcn','a,\xc3\xa9',"
            "b'1010101010',b'1111111111111111111111111111111111111111111111111111111111111111',"
            "'{\"k\": [1, 2.5, \"\xc3\xbc\"]}',ST_GeomFromText('LINESTRING(0 0,1 1)',4326),POINT(1.5,-2),"
            "'123e4567-e89b-12d3-a456-426614174000','2001:db8::1','10.0.0.255'),"
            "(2,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,"
            "NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL),"
            "(3,0,0,0,0,0,0,0,0,0,0,-0.1,'0000-00-00','00:00:00','-00:00:00.001','0000-00-00 00:00:00',"
            "'2024-02-29 12:00:00.000001','2024-02-29 12:00:00','1970-01-01 00:00:01.000001',2155,'','','','','',X'01',"
            "X'',X'',X'',X'',X'','','','','','red','',b'0',b'0','[]',POINT(0,0),POINT(0,0),"
            "'00000000-0000-0000-0000-000000000000','::','0.0.0.0'),"
            "(4,1,1,1,1,1,1,1,1,1,3.25,0.30000000000000004,'2024-02-29','12:34:56','-12:34:56.5','2024-02-29 23:59:59',"
            "'2024-02-29 23:59:59.5','2024-02-29 23:59:59','2024-02-29 23:59:59.5',2024,'ab','ab','ab','\xc3\xa0','ab',"
            "X'FF',X'FF',X'FF',X'FF',X'FF',X'FF','\xc3\xa0','ab','ab','ab','blue','a,b,c',b'1',b'1','null',POINT(1,1),"
            "POINT(2,2),'ffffffff-ffff-ffff-ffff-ffffffffff00','::ffff:1.2.3.4','255.255.255.255')";
}

/// "CREATE TABLE <table> (`name` decl, ...)".
inline std::string create_table_sql(const std::string& table, const std::vector<col_spec>& cols) {
    std::string s = "CREATE TABLE " + table + " (";
    for (std::size_t i = 0; i < cols.size(); ++i) s += (i ? ", `" : "`") + cols[i].name + "` " + cols[i].decl;
    return s + ")";
}

/// "CREATE TABLE <table> (<every column>)".
inline std::string mariadb_every_type_ddl(const std::string& table) {
    return create_table_sql(table, mariadb_every_type_columns());
}

}  // namespace rowcast::test
