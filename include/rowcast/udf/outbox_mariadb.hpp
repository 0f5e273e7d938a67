// rowcast/udf/outbox_mariadb.hpp: the outbox store on libmariadb (Connector/C), for
// udf::outbox_gate (rowcast/udf/outbox.hpp; docs/udf.md, "Transactional mode").
// Link with -lmariadb (Debian: libmariadb-dev), as rowcast/binlog/mariadb_result.hpp;
// nothing else in rowcast needs it.
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

#include <rowcast/binlog/mariadb_connection.hpp>  // header-only; needs libmariadb, not the binlog component's libraries
#include <rowcast/error.hpp>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/udf/outbox.hpp>
#include <rowcast/udf/triggers.hpp>
#include <rowcast/version.hpp>

#if __has_include(<mysql.h>)
#include <mysql.h>
#else
#include <mariadb/mysql.h>
#endif

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
    struct result_closer {
        void operator()(MYSQL_RES* r) const noexcept { mysql_free_result(r); }
    };

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

    // The error of the last call on the connection (or `code`/`text` when given); drops
    // the connection unless it was a lock wait timeout.
    error fail(unsigned code, const std::string& text) {
        lock_timeout_ = code == 1205;  // ER_LOCK_WAIT_TIMEOUT
        if (!lock_timeout_) m_.reset();
        errc e = errc::unavailable;
        if (code == 1044 || code == 1045 || code == 1142 || code == 1143 || code == 1227) e = errc::refused;
        else if (code == 1049 || code == 1146) e = errc::not_found;
        else if (code == 1064) e = errc::unsupported;  // ER_PARSE_ERROR: this server does not take our SQL
        return error::make(e, "outbox", where(), text + " (error " + std::to_string(code) + ")");
    }

    result<void> connect() {
        if (m_) return {};
        auto m = binlog::mariadb_connection::open({.host = opt_.host, .port = opt_.port, .socket = opt_.socket,
                                                   .user = opt_.user, .password = opt_.password,
                                                   .connect_timeout = opt_.connect_timeout,
                                                   // a server that stops answering is a lost server
                                                   .io_timeout = std::chrono::seconds(opt_.lock_wait + 30),
                                                   .component = "outbox", .tls = opt_.tls});
        if (!m) {
            lock_timeout_ = false;
            return m.error_value();
        }
        m_ = std::move(*m);
        if (auto r = execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"); !r) return r;
        return execute("SET SESSION autocommit = 1");
    }

    result<void> execute(const std::string& sql) {
        if (auto c = connect(); !c) return c;
        if (mysql_real_query(m_->get(), sql.data(), sql.size()) != 0) return fail(mysql_errno(m_->get()), mysql_error(m_->get()));
        std::unique_ptr<MYSQL_RES, result_closer> r(mysql_store_result(m_->get()));
        if (!r && mysql_field_count(m_->get()) != 0) return fail(mysql_errno(m_->get()), mysql_error(m_->get()));
        return {};
    }

    // Runs a SELECT of one id column; appends the ids.
    result<void> select(const std::string& sql, std::vector<std::uint64_t>& out, bool locking = false) {
        lock_timeout_ = false;
        if (auto c = connect(); !c) return c;
        if (mysql_real_query(m_->get(), sql.data(), sql.size()) != 0) {
            auto e = fail(mysql_errno(m_->get()), mysql_error(m_->get()));
            if (!locking) lock_timeout_ = false;
            return e;
        }
        std::unique_ptr<MYSQL_RES, result_closer> r(mysql_store_result(m_->get()));
        if (!r) return fail(mysql_errno(m_->get()), std::string("no result: ") + mysql_error(m_->get()));
        while (MYSQL_ROW row = mysql_fetch_row(r.get())) {
            const unsigned long* len = mysql_fetch_lengths(r.get());
            if (!row[0]) continue;
            std::uint64_t id = 0;
            const char* b = row[0];
            const char* e = b + len[0];
            if (std::from_chars(b, e, id).ptr != e)
                return error::make(errc::invalid_value, "outbox", where(), "id '" + std::string(b, e) + "' is not a number");
            out.push_back(id);
        }
        return {};
    }

    mariadb_outbox_options opt_;
    std::string table_;
    std::optional<binlog::mariadb_connection> m_;
    bool lock_timeout_ = false;
};

static_assert(outbox_store<mariadb_outbox>);

}  // namespace udf
ROWCAST_NAMESPACE_END
