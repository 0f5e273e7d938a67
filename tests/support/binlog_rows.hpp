// Test support: decoded binlog rows as the text a MariaDB SELECT returns, and a handler that
// rebuilds each table's rows (keyed by the first column) from a binlog, so a test can compare
// what rowcast decoded with what the server has.
//
// The SELECT side must ask for the same forms (see select_expr()): TIME as
// TIME_FORMAT(c,'%H:%i:%s.%f'), DATETIME and TIMESTAMP as DATE_FORMAT(c,'%Y-%m-%d %H:%i:%s.%f')
// with time_zone '+00:00', BIT as c+0, GEOMETRY as CONCAT(ST_SRID(c),':',ST_AsBinary(c)).
// FLOAT and DOUBLE are rendered with 17 significant digits and compared as numbers.
#pragma once

#include <rowcast/binlog/parser.hpp>
#include <rowcast/detail/text.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rowcast::test {

/// A value as the server's text (nullopt for NULL, "<absent>" for a column not in the image).
inline std::optional<std::string> server_text(const value& v) {
    std::string s;
    return std::visit(
        [&](const auto& x) -> std::optional<std::string> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, null_value>) return std::nullopt;
            else if constexpr (std::is_same_v<T, absent>) return std::string("<absent>");
            else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) return std::to_string(x);
            else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
                char b[40];
                std::snprintf(b, sizeof b, "%.17g", static_cast<double>(x));
                return std::string(b);
            } else if constexpr (std::is_same_v<T, decimal>) return x.digits;
            else if constexpr (std::is_same_v<T, text>) return x.utf8;
            else if constexpr (std::is_same_v<T, bytes>) return x.data;
            else if constexpr (std::is_same_v<T, json_text>) return x.text;
            else if constexpr (std::is_same_v<T, date>) {
                detail::append_date(s, x);
                return s;
            } else if constexpr (std::is_same_v<T, rowcast::time>) {
                detail::append_time(s, x);
                return s;
            } else if constexpr (std::is_same_v<T, datetime>) {
                detail::append_datetime(s, x, ' ');
                return s;
            } else if constexpr (std::is_same_v<T, timestamp>) {
                detail::append_timestamp(s, x);  // YYYY-MM-DDTHH:MM:SS.ffffffZ
                s[10] = ' ';
                s.pop_back();
                return s;
            } else if constexpr (std::is_same_v<T, year>) return std::to_string(x.value);
            else if constexpr (std::is_same_v<T, bit>) return std::to_string(x.bits);
            else if constexpr (std::is_same_v<T, enum_value>) return x.name;
            else if constexpr (std::is_same_v<T, set_value>) return x.names;
            else if constexpr (std::is_same_v<T, geometry>) return std::to_string(x.srid) + ":" + x.wkb;
            else return std::string("?");
        },
        v.as_variant());
}

/// The SELECT expression giving server_text()'s form for a column of SQL type `type`
/// ("time", "datetime", "timestamp", "bit", "geometry"; anything else: the column itself).
inline std::string select_expr(const std::string& name, const std::string& type) {
    if (type == "time") return "TIME_FORMAT(`" + name + "`,'%H:%i:%s.%f')";
    if (type == "datetime" || type == "timestamp") return "DATE_FORMAT(`" + name + "`,'%Y-%m-%d %H:%i:%s.%f')";
    if (type == "bit") return "`" + name + "`+0";
    if (type == "geometry") return "CONCAT(ST_SRID(`" + name + "`),':',ST_AsBinary(`" + name + "`))";
    return "`" + name + "`";
}

/// A binlog handler keeping each table's current rows (by the first column's text) and the
/// column list of its last row event.
struct table_state {
    using row = std::vector<std::optional<std::string>>;
    std::map<std::string, std::map<std::string, row>> tables;  // "schema.table" -> key -> row
    std::map<std::string, columns_ptr> columns;
    std::size_t rows = 0;
    std::string pending;

    static row render(binlog::image img) {
        row r;
        for (const auto& v : img) r.push_back(server_text(v));
        return r;
    }
    static std::string name(const binlog::table_info& t) { return t.schema + "." + t.table; }
    void begin(const binlog::txn_info&) {}
    void commit(const binlog::txn_info&) {}
    void rollback(const binlog::txn_info&) {}
    void ddl(const binlog::txn_info&, std::string_view, std::string_view) {}
    void insert(const binlog::txn_info&, const binlog::table_info& t, binlog::image a) {
        ++rows;
        columns[name(t)] = t.columns;
        auto r = render(a);
        tables[name(t)][r[0].value_or("NULL")] = r;
    }
    void delete_row(const binlog::txn_info&, const binlog::table_info& t, binlog::image b) {
        ++rows;
        tables[name(t)].erase(server_text(b[0]).value_or("NULL"));
    }
    void update_before(const binlog::txn_info&, const binlog::table_info&, binlog::image b) {
        pending = server_text(b[0]).value_or("NULL");
    }
    void update_after(const binlog::txn_info& i, const binlog::table_info& t, binlog::image a) {
        tables[name(t)].erase(pending);
        insert(i, t, a);
    }
};

}  // namespace rowcast::test
