// rowcast/binlog/mariadb_connection.hpp: one libmariadb (Connector/C) client connection,
// owned (RAII: mysql_close on destruction). The one place rowcast opens a libmariadb
// connection: rowcast-binlog's schema provider (mariadb_schema_provider.hpp), the
// outbox store (udf/outbox_mariadb.hpp), the trigger generator (examples/triggers). Link with -lmariadb (Debian: libmariadb-dev);
// the rest of rowcast does not need it.
//
//   auto c = rowcast::binlog::mariadb_connection::open({.host = "db1", .user = "repl", .password = pw});
//   if (!c) return c.error_value();
//   rowcast::binlog::mariadb_schema_provider live(c->get());
//
// The socket wins over host/port when given. Character set utf8mb4. Timeouts in whole
// seconds (libmariadb's unit; 0: libmariadb's default).
// Errors (component "binlog" unless options.component says another): [rowcast.binlog.refused] (access denied: 1044, 1045) or [rowcast.binlog.unavailable]
// (anything else, e.g. no server there; transient) "<host:port or socket>: cannot connect:
// <server message> (error <n>)".
// Thread-safety: one connection per thread; open() may be called from any thread.
#pragma once

#include <rowcast/binlog/mariadb_result.hpp>  // <mysql.h>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

struct mariadb_connection_options {
    std::string host = "localhost";
    std::uint16_t port = 3306;
    std::string socket;                      ///< Unix socket; non-empty: used instead of host/port
    std::string user;
    std::optional<std::string> password;     ///< nullopt: none sent
    std::chrono::seconds connect_timeout{10};
    std::chrono::seconds io_timeout{0};      ///< read and write timeout; 0: libmariadb's default
    std::string component = "binlog";        ///< named in errors: "[rowcast.<component>.<errc>]"
};

class mariadb_connection {
public:
    static result<mariadb_connection> open(const mariadb_connection_options& o) {
        static std::once_flag once;  // mysql_init would do it, but not thread-safely
        std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
        const std::string where = o.socket.empty() ? o.host + ":" + std::to_string(o.port) : o.socket;
        mariadb_connection c;
        c.m_.reset(mysql_init(nullptr));
        if (!c.m_) return error::make(errc::unavailable, o.component, where, "mysql_init failed (out of memory)");
        const unsigned connect_s = static_cast<unsigned>(o.connect_timeout.count());
        const unsigned io_s = static_cast<unsigned>(o.io_timeout.count());
        if (connect_s > 0) mysql_options(c.m_.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
        if (io_s > 0) {
            mysql_options(c.m_.get(), MYSQL_OPT_READ_TIMEOUT, &io_s);
            mysql_options(c.m_.get(), MYSQL_OPT_WRITE_TIMEOUT, &io_s);
        }
        mysql_options(c.m_.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
        const bool sock = !o.socket.empty();
        if (!mysql_real_connect(c.m_.get(), sock ? "localhost" : o.host.c_str(), o.user.c_str(),
                                o.password ? o.password->c_str() : nullptr, nullptr, sock ? 0 : o.port,
                                sock ? o.socket.c_str() : nullptr, 0)) {
            const unsigned code = mysql_errno(c.m_.get());
            return error::make(code == 1044 || code == 1045 ? errc::refused : errc::unavailable, o.component, where,
                               std::string("cannot connect: ") + mysql_error(c.m_.get()) + " (error " +
                                   std::to_string(code) + ")");
        }
        return c;
    }

    /// The connection (valid while this object lives); never null after open().
    MYSQL* get() const noexcept { return m_.get(); }

private:
    mariadb_connection() = default;
    struct closer {
        void operator()(MYSQL* m) const noexcept { mysql_close(m); }
    };
    std::unique_ptr<MYSQL, closer> m_;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
