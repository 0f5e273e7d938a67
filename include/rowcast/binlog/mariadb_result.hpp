// rowcast/binlog/mariadb_result.hpp: RAII over a libmariadb (Connector/C) result set and
// the one loop that reads its rows. Used by mariadb_schema_provider, and by programs and
// tests that talk to MariaDB through libmariadb. Link with -lmariadb (Debian:
// libmariadb-dev); the rest of rowcast does not need it.
//
//   rowcast::binlog::mariadb_result r(mysql_store_result(conn));
//   if (!r) ...                                   // no result set (see mysql_field_count)
//   for (const auto& row : r)                     // row by row, cells as views
//       use(row[0].value_or(""));
//   auto all = r.rows();                          // or every remaining row, owned
//   auto some = r.rows(10000, "where");           // bounded: more rows is limit_exceeded
//
// With a result from a server that may be hostile or broken, use mysql_use_result and
// the bounded rows(max, where): mysql_store_result holds every row in memory first.
// Past the bound, rows() shuts the connection's socket down (the rest is not read;
// freeing a mysql_use_result result would otherwise read every remaining row), so the
// connection is unusable afterwards.
// Cells are binary safe (lengths from mysql_fetch_lengths); SQL NULL is std::nullopt.
// A row's views stay valid until the next row is fetched (or the result is freed).
// Thread-safety: as libmariadb's; one thread at a time per result.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#if __has_include(<mysql.h>)
#include <mysql.h>
#else
#include <mariadb/mysql.h>
#endif

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// One row of a result with its cells owned (NULL -> nullopt).
using mariadb_cells = std::vector<std::optional<std::string>>;

/// The row last fetched from a mariadb_result: views into libmariadb's buffer.
class mariadb_row {
public:
    mariadb_row() = default;
    mariadb_row(MYSQL_ROW row, const unsigned long* lengths, unsigned columns) noexcept
        : row_(row), len_(lengths), n_(columns) {}

    std::size_t size() const noexcept { return n_; }
    /// Cell `i` (< size()), or nullopt for SQL NULL.
    std::optional<std::string_view> operator[](std::size_t i) const noexcept {
        if (!row_[i]) return std::nullopt;
        return std::string_view(row_[i], len_[i]);
    }
    /// The cells copied.
    mariadb_cells owned() const {
        mariadb_cells cells(n_);
        for (std::size_t i = 0; i < n_; ++i)
            if (row_[i]) cells[i] = std::string(row_[i], len_[i]);
        return cells;
    }

private:
    MYSQL_ROW row_ = nullptr;
    const unsigned long* len_ = nullptr;
    unsigned n_ = 0;
};

/// Owns a MYSQL_RES* (from mysql_store_result or mysql_use_result; null: no result set).
class mariadb_result {
public:
    explicit mariadb_result(MYSQL_RES* r = nullptr) noexcept : r_(r) {}

    MYSQL_RES* get() const noexcept { return r_.get(); }
    explicit operator bool() const noexcept { return r_ != nullptr; }
    unsigned columns() const noexcept { return r_ ? mysql_num_fields(r_.get()) : 0; }

    /// Fetches the next row into `row`; false at the end (and on a fetch error, which
    /// mysql_errno() of the connection reports for mysql_use_result).
    bool next(mariadb_row& row) {
        if (!r_) return false;
        MYSQL_ROW cells = mysql_fetch_row(r_.get());
        if (!cells) return false;
        row = mariadb_row(cells, mysql_fetch_lengths(r_.get()), mysql_num_fields(r_.get()));
        return true;
    }

    /// Every remaining row, owned.
    std::vector<mariadb_cells> rows() {
        std::vector<mariadb_cells> out;
        for (const auto& row : *this) out.push_back(row.owned());
        return out;
    }

    /// At most `max` remaining rows, owned. More: [rowcast.binlog.limit_exceeded] <where>: …,
    /// and the connection's socket is shut down (see the header comment).
    result<std::vector<mariadb_cells>> rows(std::size_t max, std::string_view where) {
        std::vector<mariadb_cells> out;
        for (const auto& row : *this) {
            if (out.size() >= max) {
                if (MYSQL* conn = r_->handle) ::shutdown(static_cast<int>(mysql_get_socket(conn)), SHUT_RDWR);
                return error::make(errc::limit_exceeded, "binlog", where,
                                   "the result has more than " + std::to_string(max) + " rows");
            }
            out.push_back(row.owned());
        }
        return out;
    }

    /// Input iteration over the remaining rows (each fetched when the iterator advances).
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = mariadb_row;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(mariadb_result* r) : r_(r) { ++*this; }
        const mariadb_row& operator*() const noexcept { return row_; }
        const mariadb_row* operator->() const noexcept { return &row_; }
        iterator& operator++() {
            if (r_ && !r_->next(row_)) r_ = nullptr;
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& i, std::default_sentinel_t) noexcept { return i.r_ == nullptr; }

    private:
        mariadb_result* r_ = nullptr;
        mariadb_row row_;
    };
    iterator begin() { return iterator(this); }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    struct closer {
        void operator()(MYSQL_RES* r) const noexcept { mysql_free_result(r); }
    };
    std::unique_ptr<MYSQL_RES, closer> r_;
};

}  // namespace binlog

namespace detail::binlog {
// For binlog::mariadb_schema_provider over a MYSQL* (declared in mariadb_schema_provider.hpp).
template <class Mysql>
result<void> libmariadb_rows(Mysql* m, const std::string& sql, std::vector<std::vector<std::optional<std::string>>>& rows,
                             std::size_t max_rows, const std::string& where) {
    if (mysql_real_query(m, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        return error::make(errc::io_error, "binlog", where, std::string("schema query failed: ") + mysql_error(m));
    ::rowcast::binlog::mariadb_result res(mysql_use_result(m));
    if (!res) return error::make(errc::io_error, "binlog", where, std::string("no result: ") + mysql_error(m));
    auto got = res.rows(max_rows, where);
    if (!got) return got.error_value();
    if (mysql_errno(m) != 0)
        return error::make(errc::io_error, "binlog", where, std::string("schema query failed: ") + mysql_error(m));
    rows = std::move(*got);
    return {};
}
}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
