// rowcast/mysql/connection.hpp: rowcast's MySQL/MariaDB client for queries: the same
// connect, TLS and authentication code as the replication stream (rowcast/mysql/detail/
// protocol.hpp: one handshake implementation), with text-protocol results. Used by the schema
// provider, the snapshot reader, the SQL sink, the outbox store and rowcast-triggers: rowcast's
// one MySQL client. Link rowcast::binlog (OpenSSL, libsodium, Threads), not libmariadb.
//
//   auto c = rowcast::mysql::connection::open({.host = "db1", .user = "app", .password = pw});
//   if (!c) return c.error_value();
//   auto rs = c->query_all("SELECT id, name FROM app.t");         // every row, owned, bounded
//   auto r = c->query("SELECT body FROM app.big");                 // or row by row:
//   while (auto more = r->next()) { if (!*more) break; use(r->row()[0]); }   // (check errors)
//   auto ok = c->execute("DELETE FROM app.t WHERE id = 3");        // ok->affected_rows
//
// open(): TCP or a Unix socket, connect_timeout (one deadline for resolution, connect, TLS and
// login), TLS as connect_options::tls says (DISABLED … VERIFY_IDENTITY), the authentication
// plugins mysql_native_password, caching_sha2_password, sha256_password, client_ed25519 and
// auth-switch requests (docs/connecting.md). The session's character set is utf8mb4.
//
// Results are the text protocol: each cell is the server's text form (numbers, dates) or the
// stored bytes (BLOB, BINARY: binary safe, any byte); SQL NULL is nullopt, distinct from "".
//   query()      a row_reader: one row in memory at a time (a row larger than max_result_bytes,
//                or than 1 GiB when that is 0, is limit_exceeded). Read it to its end, or the
//                next command reads and discards the rest first.
//   query_all()  every row, owned; more than max_result_rows rows or max_result_bytes bytes is
//                limit_exceeded (a broken or hostile server cannot exhaust memory).
//   execute()    a statement without rows: affected rows, last insert id, warnings (rows, if
//                any, are read and discarded).
// Multiple statements in one string are refused by the server (the client does not ask for
// CLIENT_MULTI_STATEMENTS: error 1064); a CALL's further results are read and discarded.
// LOAD DATA LOCAL INFILE is refused (the connection is then unusable).
// Quote values with rowcast/mysql/quote.hpp (quote_string, quote_identifier).
//
// Errors ("[rowcast.<component>.<errc>] <host:port or socket>: <what>"; component "mysql"
// unless open() is given another):
//   a server ERR packet: server_errc(code) (types.hpp): refused (access denied), not_found
//     (unknown database or table), unavailable (transient: deadlock 1213, lock wait timeout
//     1205, shutdown, too many connections…), unsupported, else invalid_value; the message
//     has "server error N (SQLSTATE): text" and last_server_error() the parts
//     (server_error::deadlock(), lock_wait_timeout()). The connection stays usable.
//   io_error (transient): cannot connect, timeout, connection lost, stop requested;
//   refused: TLS that cannot be had or does not verify, a password that would go in clear;
//   unsupported: an authentication plugin rowcast does not know (named);
//   invalid_value: a malformed reply (a broken or hostile server);
//   limit_exceeded: see query_all() and query().
// After an error that is not a server ERR packet the connection is unusable (usable() false):
// open a new one.
//
// Thread-safety: one thread at a time per connection and its row_reader; open() from any thread.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/mysql/detail/protocol.hpp>
#include <rowcast/mysql/quote.hpp>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/mysql/types.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::mysql {
// The client's state, at a fixed address while the connection object moves (row_reader points here).
struct session {
    connection conn;
    std::uint64_t query_no = 0;  // which query's rows are being read
};
}  // namespace detail::mysql

namespace mysql {

/// The rows of one result, read from the server one at a time (connection::query()). Valid while
/// its connection lives (a move of the connection keeps it valid); a later query on the
/// connection ends it (next() is then an error).
class row_reader {
public:
    /// The result's columns (names, types, flags).
    const std::vector<column>& columns() const noexcept { return columns_; }
    /// Reads the next row: true (row() is it), false at the end of the result, or an error.
    result<bool> next() {
        if (!s_ || s_->query_no != query_no_)
            return error::make(errc::invalid_value, "mysql", "row_reader", "a later query on the connection ended this result");
        return s_->conn.next_row(cells_, &end_);
    }
    /// The row last read: cell i is nullopt for SQL NULL. Views valid until the next call on the
    /// reader or its connection.
    std::span<const std::optional<std::string_view>> row() const noexcept { return cells_; }
    /// The row last read, owned.
    mysql::row owned() const {
        mysql::row r;
        r.reserve(cells_.size());
        for (const auto& c : cells_) {
            if (c) r.emplace_back(std::string(*c));
            else r.emplace_back(std::nullopt);
        }
        return r;
    }
    /// After next() returned false: the result end's warnings and status.
    const ok_result& end() const noexcept { return end_; }

private:
    friend class connection;
    row_reader(detail::mysql::session& s, std::vector<column> cols)
        : s_(&s), query_no_(s.query_no), columns_(std::move(cols)) {}
    detail::mysql::session* s_ = nullptr;
    std::uint64_t query_no_ = 0;
    std::vector<column> columns_;
    std::vector<std::optional<std::string_view>> cells_;
    ok_result end_;
};

/// An authenticated connection for queries. Move-only; the readers it gave stay valid across a move.
class connection {
public:
    /// Connects, negotiates TLS and logs in, within o.connect_timeout. `component` names the
    /// caller in errors; `stop_fd` (>= 0, an eventfd or a pipe's read end) ends any wait when readable.
    static result<connection> open(const connect_options& o, std::string component = "mysql", int stop_fd = -1) {
        auto c = detail::mysql::connection::open(o, std::move(component), stop_fd, nullptr, true);
        if (!c) return c.error_value();
        // One row, one packet: a row larger than the byte bound of a whole result is refused too.
        if (o.max_result_bytes > 0) c->set_max_message(o.max_result_bytes + 1024);
        connection out;
        out.s_ = std::make_unique<detail::mysql::session>();
        out.s_->conn = std::move(*c);  // utf8mb4: the handshake asked for it (collation 45)
        return out;
    }

    /// Runs `sql` and returns its rows as a reader (no columns and no rows for a statement
    /// without a result set).
    result<row_reader> query(std::string_view sql) {
        if (auto u = check(); !u) return u.error_value();
        std::vector<column> cols;
        ok_result ok;
        ++s_->query_no;
        if (auto r = s_->conn.start_query(sql, cols, ok); !r) return r.error_value();
        row_reader reader(*s_, std::move(cols));
        reader.end_ = ok;
        return reader;
    }

    /// Runs `sql` and returns every row, owned (bounded: see the header comment).
    result<result_set> query_all(std::string_view sql) {
        if (auto u = check(); !u) return u.error_value();
        ++s_->query_no;
        return s_->conn.query(sql);
    }

    /// Runs a statement without rows: affected rows, last insert id, warnings.
    result<ok_result> execute(std::string_view sql) {
        if (auto u = check(); !u) return u.error_value();
        ++s_->query_no;
        return s_->conn.execute_ok(sql);
    }

    /// The server's error for the last statement (code 0 if it did not end in an ERR packet, e.g.
    /// a transport failure).
    const server_error& last_server_error() const noexcept { return s_->conn.last_server_error(); }
    /// False after a failure that leaves the connection out of step with the server, or after close().
    bool usable() const noexcept { return s_ && s_->conn.fd() >= 0 && !s_->conn.unusable(); }
    /// True when the connection is encrypted; tls_cipher() names the cipher ("" without TLS).
    bool tls() const noexcept { return s_->conn.tls(); }
    std::string tls_cipher() const { return s_->conn.tls_cipher(); }
    /// The authentication plugin that logged in ("caching_sha2_password", "client_ed25519", …).
    const std::string& auth_plugin() const noexcept { return s_->conn.auth_plugin(); }
    const std::string& server_version() const noexcept { return s_->conn.server_version(); }
    bool mariadb() const noexcept { return s_->conn.mariadb(); }
    std::uint32_t connection_id() const noexcept { return s_->conn.connection_id(); }
    /// The socket (for poll(2) by callers that watch it); -1 when closed.
    int native_handle() const noexcept { return s_ ? s_->conn.fd() : -1; }
    /// Sends COM_QUIT (best effort) and closes; the destructor does it too.
    void close() noexcept {
        if (s_) s_->conn.close();
    }

    connection(connection&&) noexcept = default;
    connection& operator=(connection&& o) noexcept {
        if (this != &o) {
            close();
            s_ = std::move(o.s_);
        }
        return *this;
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() { close(); }

private:
    connection() = default;
    result<void> check() const {
        if (!s_ || s_->conn.fd() < 0) return error::make(errc::io_error, "mysql", "connection", "the connection is closed");
        return {};
    }
    std::unique_ptr<detail::mysql::session> s_;
};

}  // namespace mysql
ROWCAST_NAMESPACE_END
