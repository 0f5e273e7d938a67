// rowcast/binlog/mariadb_schema_provider.hpp: a schema provider that reads a
// table's columns from information_schema over a rowcast::mysql::connection
// (rowcast/mysql/connection.hpp: TLS and every authentication plugin, as the
// replication stream). Kept apart from the parser so the file reader does not need
// the client's libraries (OpenSSL, libsodium: link rowcast::binlog).
//
// It returns the table's CURRENT definition: names, SQL types (MariaDB UUID,
// INET4, INET6; JSON also when MariaDB stores it as LONGTEXT with a
// json_valid() CHECK), UNSIGNED, character set, DECIMAL precision/scale,
// fractional seconds, ENUM/SET members, primary key and nullability. Reading
// an old binlog after an ALTER TABLE therefore gives a column-count or type
// mismatch, which the parser reports as an error (never a mislabelled row).
//
// Errors: [rowcast.binlog.io_error] "<schema>.<table>: <server message>" when
// a query fails; [rowcast.binlog.missing_field] when the table does not exist;
// [rowcast.binlog.limit_exceeded] when a reply has more than max_rows rows (a
// broken or hostile server; rows are read one by one, never all stored first; the
// connection is then unusable); a transport failure as the client reports it
// (io_error, transient).
// Thread-safety: uses the caller's connection; one thread at a time.
#pragma once

#include <rowcast/binlog/schema_provider.hpp>
#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/version.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

class mariadb_schema_provider final : public schema_provider {
public:
    /// `conn` must stay open while the provider is used (not owned).
    /// Rows read at most per query (a table has at most 4096 columns).
    static constexpr std::size_t max_rows = 8192;

    explicit mariadb_schema_provider(mysql::connection& conn) noexcept : conn_(&conn) {}

    result<columns_ptr> columns(std::string_view schema, std::string_view table) override {
        const std::string where = std::string(schema) + "." + std::string(table);
        std::string q =
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, COLUMN_KEY, IS_NULLABLE, IFNULL(CHARACTER_SET_NAME,''), "
            "IFNULL(NUMERIC_PRECISION,0), IFNULL(NUMERIC_SCALE,0), IFNULL(DATETIME_PRECISION,0), "
            "IFNULL(CHARACTER_MAXIMUM_LENGTH,0) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=" +
            mysql::quote_string(schema) + " AND TABLE_NAME=" + mysql::quote_string(table) + " ORDER BY ORDINAL_POSITION";
        std::vector<mysql::row> rows;
        if (auto r = run(q, rows, where); !r) return r.error_value();
        if (rows.empty()) return error::make(errc::missing_field, "binlog", where, "table not found in information_schema");
        // MariaDB's JSON is LONGTEXT with a json_valid(`col`) CHECK constraint.
        std::vector<mysql::row> checks;
        std::string cq = "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA=" +
                         mysql::quote_string(schema) + " AND TABLE_NAME=" + mysql::quote_string(table);
        if (auto r = run(cq, checks, where); !r) checks.clear();  // MySQL 8.0.16+ has no TABLE_NAME there: no JSON hint
        std::vector<column> cols;
        for (auto& r : rows) {
            if (r.size() < 10) return error::make(errc::io_error, "binlog", where, "unexpected information_schema result");
            column c;
            c.name = r[0].value_or("");
            const std::string dt = lower(r[1].value_or(""));
            const std::string ct = lower(r[2].value_or(""));
            c.primary_key = r[3].value_or("") == "PRI";
            c.nullable = r[4].value_or("") == "YES";
            c.type.charset = r[5].value_or("");
            if (c.type.charset == "utf8mb3" || c.type.charset == "utf8") c.type.charset = "utf8mb3";
            c.type.is_unsigned = ct.find("unsigned") != std::string::npos;
            c.type.type = map_type(dt);
            if (c.type.type == sql_type::unknown)
                return error::make(errc::unsupported, "binlog", where + "." + c.name, "unsupported column type " + dt);
            if (c.type.type == sql_type::decimal) {
                c.type.precision = static_cast<std::uint8_t>(std::stoul(r[6].value_or("0")));
                c.type.scale = static_cast<std::uint8_t>(std::stoul(r[7].value_or("0")));
            }
            if (c.type.type == sql_type::time || c.type.type == sql_type::datetime || c.type.type == sql_type::timestamp)
                c.type.fsp = static_cast<std::uint8_t>(std::stoul(r[8].value_or("0")));
            if (c.type.type == sql_type::char_ || c.type.type == sql_type::varchar || c.type.type == sql_type::binary ||
                c.type.type == sql_type::varbinary)
                c.type.length = static_cast<std::uint32_t>(std::stoul(r[9].value_or("0")));
            if (c.type.type == sql_type::bit) c.type.length = static_cast<std::uint32_t>(std::stoul(r[6].value_or("0")));
            if (c.type.type == sql_type::enum_ || c.type.type == sql_type::set) c.type.members = members(r[2].value_or(""));
            if (c.type.type == sql_type::geometry && dt != "geometry") c.type.geometry_type = dt;
            if (c.type.type == sql_type::longtext)
                for (auto& ch : checks)
                    if (!ch.empty() && ch[0] && ch[0]->find("json_valid(`" + c.name + "`)") != std::string::npos)
                        c.type.type = sql_type::json;
            cols.push_back(std::move(c));
        }
        return make_columns(std::move(cols));
    }

private:
    static std::string lower(std::string s) {
        for (auto& ch : s)
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        return s;
    }
    static sql_type map_type(const std::string& dt) {
        if (dt == "point" || dt == "linestring" || dt == "polygon" || dt == "multipoint" || dt == "multilinestring" ||
            dt == "multipolygon" || dt == "geometrycollection" || dt == "geomcollection")
            return sql_type::geometry;
        if (dt == "numeric") return sql_type::decimal;
        if (dt == "real") return sql_type::double_;
        auto t = parse_sql_type(dt);
        return t ? *t : sql_type::unknown;
    }
    // "enum('a','b''c')" -> {"a", "b'c"}
    static std::vector<std::string> members(std::string_view ct) {
        std::vector<std::string> out;
        const auto open = ct.find('(');
        if (open == std::string_view::npos) return out;
        std::size_t i = open + 1;
        while (i < ct.size() && ct[i] == '\'') {
            std::string m;
            ++i;
            while (i < ct.size()) {
                if (ct[i] == '\'' && i + 1 < ct.size() && ct[i + 1] == '\'') {
                    m += '\'';
                    i += 2;
                } else if (ct[i] == '\\' && i + 1 < ct.size()) {
                    m += ct[i + 1];
                    i += 2;
                } else if (ct[i] == '\'') {
                    ++i;
                    break;
                } else {
                    m += ct[i++];
                }
            }
            out.push_back(std::move(m));
            if (i < ct.size() && ct[i] == ',') ++i;
        }
        return out;
    }
    result<void> run(const std::string& q, std::vector<mysql::row>& rows, const std::string& where) {
        rows.clear();
        auto r = conn_->query(q);
        if (!r) return reword(r.error_value(), where);
        for (;;) {
            auto more = r->next();
            if (!more) return reword(more.error_value(), where);
            if (!*more) return {};
            if (rows.size() >= max_rows) {
                conn_->close();  // the rest is not read: the next query would have to drain it
                return error::make(errc::limit_exceeded, "binlog", where,
                                   "the result has more than " + std::to_string(max_rows) + " rows");
            }
            rows.push_back(r->owned());
        }
    }
    // The client's error (its class kept: refused, unavailable, io_error…), naming the table.
    static error reword(const error& e, const std::string& where) {
        return error{e.code, e.message + " (reading the columns of " + where + ")"};
    }

    mysql::connection* conn_ = nullptr;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
