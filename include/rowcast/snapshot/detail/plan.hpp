// rowcast/snapshot/detail/plan.hpp: what the initial and the incremental snapshot share:
// the tables a list of "schema.table" / "schema.*" names, a table's plan (columns and key
// columns), a SELECTed row typed as the binlog types it, and a key as comparable bytes.
#pragma once

#include <rowcast/binlog/mariadb_schema_provider.hpp>
#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/snapshot/detail/sql.hpp>
#include <rowcast/snapshot/detail/values.hpp>
#include <rowcast/value.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::snapshot {

using table_name = std::pair<std::string, std::string>;  // schema, table
using key_map = std::map<std::string, std::vector<std::string>, std::less<>>;

/// The base tables the names match ("schema.table" or "schema.*"), sorted, unique.
inline result<std::vector<table_name>> list_tables(::rowcast::mysql::connection& m, const std::vector<std::string>& names) {
    std::vector<table_name> out;
    for (const auto& t : names) {
        const auto dot = t.find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == t.size())
            return error::make(errc::invalid_value, "snapshot", t, "expected schema.table or schema.*");
        const std::string schema = t.substr(0, dot), table = t.substr(dot + 1);
        std::string q = "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE='BASE TABLE' "
                        "AND TABLE_SCHEMA=" + ::rowcast::mysql::quote_string(schema);
        if (table != "*") q += " AND TABLE_NAME=" + ::rowcast::mysql::quote_string(table);
        auto r = rows(m, q, t);
        if (!r) return r.error_value();
        if (r->empty() && table != "*") return error::make(errc::missing_field, "snapshot", t, "no such table");
        for (auto& row : *r)
            if (row.size() == 2 && row[0] && row[1]) out.emplace_back(*row[0], *row[1]);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

struct table_plan {
    std::string schema, table;
    columns_ptr cols;
    std::vector<std::size_t> key;  // column indexes, key order (empty: no key)
};

/// The table's columns (information_schema) and key: `keys` ("schema.table" -> columns)
/// when it names one, else the primary key; empty when there is neither.
inline result<table_plan> plan_table(::rowcast::mysql::connection& m, const std::string& schema, const std::string& table, const key_map& keys) {
    const std::string name = schema + "." + table;
    ::rowcast::binlog::mariadb_schema_provider provider(m);
    auto cols = provider.columns(schema, table);
    if (!cols) return cols.error_value();
    table_plan p{schema, table, *cols, {}};
    std::vector<std::string> key_names;
    if (auto k = keys.find(name); k != keys.end()) {
        key_names = k->second;
    } else {
        auto r = rows(m, "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_NAME='PRIMARY' AND "
                         "TABLE_SCHEMA=" + ::rowcast::mysql::quote_string(schema) +
                             " AND TABLE_NAME=" + ::rowcast::mysql::quote_string(table) + " ORDER BY ORDINAL_POSITION",
                      name);
        if (!r) return r.error_value();
        for (auto& row : *r)
            if (!row.empty() && row[0]) key_names.push_back(*row[0]);
    }
    for (const auto& k : key_names) {
        auto i = p.cols->find(k);
        if (!i) return error::make(errc::invalid_value, "snapshot", name, "key column '" + k + "' does not exist");
        p.key.push_back(*i);
    }
    return p;
}

/// A SELECTed row as the client's reader gives it (NULL: nullopt).
using row_view = std::span<const std::optional<std::string_view>>;

/// Types a SELECTed row into `out` (one value per column). On failure returns the reason
/// and sets `bad` to the column's index.
inline std::string type_row(const column_list& cols, row_view row, std::vector<value>& out,
                            std::size_t& bad) {
    if (row.size() != cols.size()) {  // (a broken server: the SELECT names every column)
        bad = 0;
        return "the row has " + std::to_string(row.size()) + " cells for " + std::to_string(cols.size()) + " columns";
    }
    out.resize(cols.size());
    for (std::size_t i = 0; i < cols.size(); ++i) {
        auto why = cell_value(cols[i], row[i], out[i]);
        if (!why.empty()) {
            bad = i;
            return why;
        }
    }
    return {};
}

/// The key cells of a SELECTed row, reusing the strings of `out`.
inline void key_cells(row_view row, const std::vector<std::size_t>& key, cells& out) {
    out.resize(key.size());
    for (std::size_t k = 0; k < key.size(); ++k) {
        if (auto c = row[key[k]]) {
            if (!out[k]) out[k].emplace();
            out[k]->assign(c->data(), c->size());
        } else {
            out[k].reset();
        }
    }
}

/// Appends one typed value as bytes that are equal exactly when the values are (the kind,
/// then the content, lengths prefixed): a row's key compared between a SELECT and the binlog.
inline void append_key_bytes(std::string& out, const value& v) {
    out += static_cast<char>(v.index());
    auto num = [&](auto n) {
        append_number(out, n);
        out += ';';
    };
    auto str = [&](const std::string& s) {
        num(s.size());
        out += s;
    };
    std::visit([&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) num(x);
        else if constexpr (std::is_same_v<T, float>) num(std::bit_cast<std::uint32_t>(x));
        else if constexpr (std::is_same_v<T, double>) num(std::bit_cast<std::uint64_t>(x));
        else if constexpr (std::is_same_v<T, decimal>) str(x.digits);
        else if constexpr (std::is_same_v<T, text>) str(x.utf8);
        else if constexpr (std::is_same_v<T, bytes>) str(x.data);
        else if constexpr (std::is_same_v<T, json_text>) str(x.text);
        else if constexpr (std::is_same_v<T, date>) num(x.year * 10000u + x.month * 100u + x.day);
        else if constexpr (std::is_same_v<T, datetime>) {
            num(x.day.year * 10000u + x.day.month * 100u + x.day.day);
            num(x.hour * 10000u + x.minute * 100u + x.second);
            num(x.microsecond);
        } else if constexpr (std::is_same_v<T, time> || std::is_same_v<T, timestamp>) num(x.microseconds);
        else if constexpr (std::is_same_v<T, year>) num(x.value);
        else if constexpr (std::is_same_v<T, bit>) num(x.bits);
        else if constexpr (std::is_same_v<T, enum_value>) num(x.index), str(x.name);
        else if constexpr (std::is_same_v<T, set_value>) num(x.mask), str(x.names);
        else if constexpr (std::is_same_v<T, geometry>) num(x.srid), str(x.wkb);
        // absent, null: the kind alone
    }, v.as_variant());
}

/// The key of an image (`key`: column indexes) as bytes; false when a key column is absent
/// from the image (a MINIMAL image without it) or the image is shorter.
inline bool image_key(const std::vector<value>& img, const std::vector<std::size_t>& key, std::string& out) {
    out.clear();
    for (std::size_t k : key) {
        if (k >= img.size() || img[k].is_absent()) return false;
        append_key_bytes(out, img[k]);
    }
    return true;
}

}  // namespace detail::snapshot
ROWCAST_NAMESPACE_END
