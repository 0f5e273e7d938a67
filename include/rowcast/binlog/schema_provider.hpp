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
// rowcast's client (a separate header so the parser does not need its libraries);
// `rowcast/binlog/schema_history.hpp` answers with the columns valid at the
// position of the event being decoded (docs/binlog.md, "Schema history").
//
// Positions: the parser asks columns_at(schema, table, at) with the TABLE_MAP's
// position, and tells the provider of every DDL statement it reads (on_ddl,
// before the handler sees it). Both default to the position-blind behaviour:
// columns_at() calls columns(), on_ddl() does nothing.
//
// Thread-safety: the parser calls a provider from its own thread only; a
// provider shared by several parsers must be thread-safe itself.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// Where in the binlog an event was read: what a position-aware provider is told.
struct schema_position {
    std::string_view file;       ///< binlog file name as the parser knows it ("mariadb-bin.000003")
    std::uint64_t offset = 0;    ///< byte offset of the event in `file`
    std::uint64_t next = 0;      ///< offset where the next event starts (0 if unknown)
    std::string_view gtid;       ///< GTID of the event's group, if known (informational)
};

class schema_provider {
public:
    virtual ~schema_provider() = default;
    /// The columns of `schema`.`table` in table order. An error is passed on by the parser.
    virtual result<columns_ptr> columns(std::string_view schema, std::string_view table) = 0;
    /// The columns valid for the TABLE_MAP event at `at`. Default: columns().
    virtual result<columns_ptr> columns_at(std::string_view schema, std::string_view table, const schema_position& at) {
        (void)at;
        return columns(schema, table);
    }
    /// A DDL statement (QUERY event) read at `at`, run with default schema `schema`
    /// (may be empty). Called before the handler's ddl(); an error stops the parser
    /// there (the event is not reported). Default: nothing.
    virtual result<void> on_ddl(const schema_position& at, std::string_view schema, std::string_view statement) {
        (void)at;
        (void)schema;
        (void)statement;
        return {};
    }
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
namespace detail::binlog {
/// The parser's view of a provider while it decodes the TABLE_MAP at `at`: columns()
/// asks the provider's columns_at() with that position.
class positioned_provider final : public ::rowcast::binlog::schema_provider {
public:
    positioned_provider(::rowcast::binlog::schema_provider& p, ::rowcast::binlog::schema_position at) noexcept
        : p_(p), at_(at) {}
    result<columns_ptr> columns(std::string_view schema, std::string_view table) override {
        return p_.columns_at(schema, table, at_);
    }

private:
    ::rowcast::binlog::schema_provider& p_;
    ::rowcast::binlog::schema_position at_;
};
}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
