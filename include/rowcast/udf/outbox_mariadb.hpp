// rowcast/udf/outbox_mariadb.hpp: the outbox store on MariaDB (or MySQL), for
// udf::outbox_gate (rowcast/udf/outbox.hpp; docs/udf.md, "Transactional mode"), over
// rowcast's client (rowcast/mysql/connection.hpp; link rowcast::binlog).
//
//   udf::mariadb_outbox store({.socket = "/run/mysqld/mysqld.sock", .user = "rowcast",
//                              .schema = "inventory", .table = "rowcast_outbox"});
//   udf::outbox_gate gate(store, sink);          // an event_sink in front of `sink`
//
// One connection, opened on first use and again after any failure, in READ
// COMMITTED with autocommit, so every statement sees what is committed now:
//   find_committed: SELECT id FROM <outbox> WHERE id IN (…)          (no locks)
//   decide:         SELECT id FROM <outbox> WHERE id = N LOCK IN SHARE MODE WAIT <lock_wait>
//                   (waits for the inserting transaction: a row = committed, none =
//                   rolled back, error 1205 after lock_wait seconds = still open)
//   remove:         DELETE FROM <outbox> WHERE id IN (…)
// The user needs SELECT and DELETE on the outbox table.
//
// Errors ("[rowcast.outbox.<errc>] <server>: <what>"): a server that cannot be reached,
// went away, is shutting down, a deadlock, any other server error: errc::unavailable
// (transient: run() retries with its backoff; the connection is opened again);
// access denied: errc::refused; unknown database or table: errc::not_found (both
// permanent: the configuration is wrong); a server that does not take the SQL (before
// MariaDB 10.3: no WAIT/NOWAIT): errc::unsupported.
//
// Thread-safety: one thread at a time per object.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/udf/outbox.hpp>
#include <rowcast/udf/triggers.hpp>
#include <rowcast/version.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

struct mariadb_outbox_options {
    std::string host = "127.0.0.1";  ///< used when socket is empty
    std::uint16_t port = 3306;
    std::string socket;              ///< Unix socket path (preferred when set)
    std::string user, password;
    std::string schema;              ///< the outbox table's schema (required)
    std::string table = "rowcast_outbox";
    /// decide(): seconds a locking read waits for the inserting transaction (0: no wait).
    unsigned lock_wait = 1;
    std::chrono::seconds connect_timeout{5};
    mysql::tls_options tls;          ///< TLS mode and files (rowcast/mysql/tls_options.hpp; default PREFERRED)
};

class mariadb_outbox {
public:
    explicit mariadb_outbox(mariadb_outbox_options o) : opt_(std::move(o)) {
        table_ = quote_identifier(opt_.schema) + "." + quote_identifier(opt_.table);
    }

    /// Appends to `out` the ids among `ids` whose rows are committed.
    result<void> find_committed(std::span<const std::uint64_t> ids, std::vector<std::uint64_t>& out) {
        if (ids.empty()) return {};
        return select("SELECT id FROM " + table_ + " WHERE id IN (" + id_list(ids) + ")", out);
    }

    /// Waits up to lock_wait seconds for the transaction that inserted row `id`.
    result<outbox_state> decide(std::uint64_t id) {
        std::vector<std::uint64_t> found;
        const std::string wait = opt_.lock_wait == 0 ? " NOWAIT" : " WAIT " + std::to_string(opt_.lock_wait);
        auto r = select("SELECT id FROM " + table_ + " WHERE id = " + std::to_string(id) + " LOCK IN SHARE MODE" + wait,
                        found, true);
        if (!r) {
            if (lock_timeout_) return outbox_state::open;
            return r.error_value();
        }
        return found.empty() ? outbox_state::rolled_back : outbox_state::committed;
    }

    /// Deletes the rows `ids`.
    result<void> remove(std::span<const std::uint64_t> ids) {
        if (ids.empty()) return {};
        return execute("DELETE FROM " + table_ + " WHERE id IN (" + id_list(ids) + ")");
    }

    /// Connects (if needed) and checks that the table can be read: what a program runs at
    /// start to report a wrong table or account at once.
    result<void> probe() {
        std::vector<std::uint64_t> none;
        return select("SELECT id FROM " + table_ + " LIMIT 0", none);
    }

    /// `schema`.`table`, quoted.
    const std::string& table() const noexcept { return table_; }
    bool connected() const noexcept { return m_.has_value(); }

private:
    static std::string id_list(std::span<const std::uint64_t> ids) {
        std::string s;
        s.reserve(ids.size() * 21);
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (i) s += ',';
            s += std::to_string(ids[i]);
        }
        return s;
    }

    std::string where() const {
        return opt_.socket.empty() ? opt_.host + ":" + std::to_string(opt_.port) : opt_.socket;
    }

    // A failed call: the server's error classified for the gate (or the client's, for a transport
    // failure); drops the connection unless it was a lock wait timeout.
    error fail(const error& e) {
        const mysql::server_error se = m_ ? m_->last_server_error() : mysql::server_error{};
        lock_timeout_ = se.lock_wait_timeout();
        if (!lock_timeout_) m_.reset();
        if (se.code == 0) return e;  // transport (io_error) or a malformed reply, as the client says
        errc c = errc::unavailable;
        if (mysql::server_errc(se.code) == errc::refused) c = errc::refused;
        else if (se.code == 1049 || se.code == 1146) c = errc::not_found;
        else if (se.code == 1064) c = errc::unsupported;  // ER_PARSE_ERROR: this server does not take our SQL
        return error::make(c, "outbox", where(), se.message + " (error " + std::to_string(se.code) + ")");
    }

    result<void> connect() {
        if (m_) return {};
        mysql::connect_options o{.host = opt_.host, .port = opt_.port, .socket = opt_.socket, .user = opt_.user,
                                 .password = opt_.password, .connect_timeout = opt_.connect_timeout,
                                 // a server that stops answering is a lost server
                                 .read_timeout = std::chrono::seconds(opt_.lock_wait + 30),
                                 .max_result_rows = 0,  // find_committed: as many rows as ids asked
                                 .tls = opt_.tls};
        auto m = mysql::connection::open(o, "outbox");
        if (!m) {
            lock_timeout_ = false;
            return m.error_value();
        }
        m_.emplace(std::move(*m));
        if (auto r = execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"); !r) return r;
        return execute("SET SESSION autocommit = 1");
    }

    result<void> execute(const std::string& sql) {
        if (auto c = connect(); !c) return c;
        if (auto r = m_->execute(sql); !r) return fail(r.error_value());
        return {};
    }

    // Runs a SELECT of one id column; appends the ids.
    result<void> select(const std::string& sql, std::vector<std::uint64_t>& out, bool locking = false) {
        lock_timeout_ = false;
        if (auto c = connect(); !c) return c;
        auto r = m_->query_all(sql);
        if (!r) {
            auto e = fail(r.error_value());
            if (!locking) lock_timeout_ = false;
            return e;
        }
        for (const auto& row : r->rows) {
            if (row.empty() || !row[0]) continue;
            std::uint64_t id = 0;
            const std::string& s = *row[0];
            if (std::from_chars(s.data(), s.data() + s.size(), id).ptr != s.data() + s.size())
                return error::make(errc::invalid_value, "outbox", where(), "id '" + s + "' is not a number");
            out.push_back(id);
        }
        return {};
    }

    mariadb_outbox_options opt_;
    std::string table_;
    std::optional<mysql::connection> m_;
    bool lock_timeout_ = false;
};

static_assert(outbox_store<mariadb_outbox>);

}  // namespace udf
ROWCAST_NAMESPACE_END
