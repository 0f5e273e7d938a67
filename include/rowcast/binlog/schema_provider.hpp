// rowcast/binlog/schema_provider.hpp: where column names come from when a
// TABLE_MAP event carries none (binlog_row_metadata=MINIMAL, MySQL 5.7).
//
// The parser asks the provider for a table's current columns and checks them
// against the TABLE_MAP: a different column count, or a type that cannot be
// the logged wire type, is an error ([rowcast.binlog.type_mismatch]), never a
// mislabelled row. A provider also refines types the binlog cannot tell apart
// (MariaDB UUID/INET6/INET4 are BINARY(16)/BINARY(4) on the wire).
//
// `static_schema_provider` serves fixed column lists (tests, offline files);
// `rowcast/binlog/mariadb_schema_provider.hpp` queries information_schema over
// libmariadb (a separate header so the parser does not need libmariadb).
//
// Thread-safety: the parser calls a provider from its own thread only; a
// provider shared by several parsers must be thread-safe itself.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <map>
#include <string>
#include <string_view>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

class schema_provider {
public:
    virtual ~schema_provider() = default;
    /// The columns of `schema`.`table` in table order. An error is passed on by the parser.
    virtual result<columns_ptr> columns(std::string_view schema, std::string_view table) = 0;
};

/// A provider over fixed column lists keyed by "schema.table".
class static_schema_provider final : public schema_provider {
public:
    void add(std::string schema, std::string table, columns_ptr cols) {
        tables_[std::move(schema) + '.' + std::move(table)] = std::move(cols);
    }
    result<columns_ptr> columns(std::string_view schema, std::string_view table) override {
        std::string key(schema);
        key += '.';
        key += table;
        auto it = tables_.find(key);
        if (it == tables_.end())
            return error::make(errc::missing_field, "binlog", key, "table unknown to the schema provider");
        return it->second;
    }

private:
    std::map<std::string, columns_ptr, std::less<>> tables_;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
