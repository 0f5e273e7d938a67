// rowcast/binlog/mariadb_connection.hpp: one libmariadb (Connector/C) client connection,
// owned (RAII: mysql_close on destruction). Only the snapshot reader (rowcast/snapshot/) still
// uses it, until it moves to rowcast's own client (rowcast/mysql/connection.hpp), which serves
// the replication stream, the schema provider, the outbox store, the SQL sink and the trigger
// generator. Link with -lmariadb (Debian: libmariadb-dev); the rest of rowcast does not need it.
//
//   auto c = rowcast::binlog::mariadb_connection::open(rowcast::binlog::mariadb_options(stream_conn, "snapshot"));
//   if (!c) return c.error_value();
//
// The socket wins over host/port when given; without one, TCP (also to "localhost", which
// libmariadb alone would take for its default socket). Character set utf8mb4. Timeouts in whole
// seconds (libmariadb's unit; 0: libmariadb's default).
// TLS: options.tls, the same rowcast::mysql::tls_options as the replication stream
// (docs/connecting.md), mapped onto libmariadb: PREFERRED (over TCP) asks for TLS without
// enforcing it, REQUIRED sets MYSQL_OPT_SSL_ENFORCE, VERIFY_CA gives the CA
// (libmariadb verifies the chain when a CA is set), VERIFY_IDENTITY adds
// MYSQL_OPT_SSL_VERIFY_SERVER_CERT (the host name); ssl_cert/ssl_key/ssl_cipher as given;
// server_public_key as MYSQL_SERVER_PUBLIC_KEY. libmariadb's own authentication plugins
// (caching_sha2_password, sha256_password, client_ed25519…) log in; note that its
// caching_sha2_password asks the server for its RSA key by itself when none is pinned
// (get_server_public_key is always on there). tls() tells whether the session is encrypted.
// Errors (component "binlog" unless options.component says another): [rowcast.binlog.refused] (access denied: 1044, 1045;
// TLS refused or not verified: 2026) or [rowcast.binlog.unavailable]
// (anything else, e.g. no server there; transient) "<host:port or socket>: cannot connect:
// <server message> (error <n>)".
// Thread-safety: one connection per thread; open() may be called from any thread.
#pragma once

#include <rowcast/binlog/mariadb_result.hpp>  // <mysql.h>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/mysql/types.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
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
    mysql::tls_options tls;                  ///< TLS mode and files (default PREFERRED)
};

/// The same server, user and TLS settings as rowcast's client options, for libmariadb (timeouts
/// rounded down to whole seconds, at least 1): the one conversion between the two.
inline mariadb_connection_options mariadb_options(const mysql::connect_options& c, std::string component) {
    using std::chrono::duration_cast;
    const auto secs = [](std::chrono::milliseconds ms) {
        return ms.count() <= 0 ? std::chrono::seconds(0) : std::max(std::chrono::seconds(1), duration_cast<std::chrono::seconds>(ms));
    };
    return {.host = c.host, .port = c.port, .socket = c.socket, .user = c.user, .password = c.password,
            .connect_timeout = secs(c.connect_timeout), .io_timeout = secs(c.read_timeout),
            .component = std::move(component), .tls = c.tls};
}

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
        if (!sock) {  // "localhost" is a TCP host name too, as in the replication stream's client
            const unsigned tcp = MYSQL_PROTOCOL_TCP;
            mysql_options(c.m_.get(), MYSQL_OPT_PROTOCOL, &tcp);
        }
        apply_tls(c.m_.get(), o.tls, sock);
        if (!mysql_real_connect(c.m_.get(), sock ? "localhost" : o.host.c_str(), o.user.c_str(),
                                o.password ? o.password->c_str() : nullptr, nullptr, sock ? 0 : o.port,
                                sock ? o.socket.c_str() : nullptr, 0)) {
            const unsigned code = mysql_errno(c.m_.get());
            // 2026: TLS could not be had or the certificate did not verify (configuration, not a passing state)
            const bool refused = code == 1044 || code == 1045 || code == 2026;
            return error::make(refused ? errc::refused : errc::unavailable, o.component, where,
                               std::string("cannot connect: ") + mysql_error(c.m_.get()) + " (error " +
                                   std::to_string(code) + ")");
        }
        return c;
    }

    /// The connection (valid while this object lives); never null after open().
    MYSQL* get() const noexcept { return m_.get(); }
    /// True when the session is encrypted; tls_cipher() names the cipher ("" without TLS).
    bool tls() const noexcept { return mysql_get_ssl_cipher(m_.get()) != nullptr; }
    std::string tls_cipher() const {
        const char* c = mysql_get_ssl_cipher(m_.get());
        return c ? c : "";
    }

private:
    static void apply_tls(MYSQL* m, const mysql::tls_options& t, bool socket) {
        using mysql::ssl_mode;
        auto opt = [m](mysql_option o, const std::string& v) {
            if (!v.empty()) mysql_optionsv(m, o, v.c_str());
        };
        opt(MYSQL_SERVER_PUBLIC_KEY, t.server_public_key);
        if (t.mode == ssl_mode::disabled || (t.mode == ssl_mode::preferred && socket)) return;
        // Asks for TLS (use_ssl) without a CA: the chain is verified only from VERIFY_CA on.
        mysql_ssl_set(m, t.key.empty() ? nullptr : t.key.c_str(), t.cert.empty() ? nullptr : t.cert.c_str(), nullptr,
                      nullptr, t.cipher.empty() ? nullptr : t.cipher.c_str());
        my_bool on = 1;
        if (t.mode >= ssl_mode::required) mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
        if (t.mode >= ssl_mode::verify_ca) {
            if (t.ca.empty()) mysql_optionsv(m, MYSQL_OPT_SSL_CAPATH, "/etc/ssl/certs");  // the system's store
            else opt(MYSQL_OPT_SSL_CA, t.ca);
        }
        if (t.mode == ssl_mode::verify_identity) mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    }

    mariadb_connection() = default;
    struct closer {
        void operator()(MYSQL* m) const noexcept { mysql_close(m); }
    };
    std::unique_ptr<MYSQL, closer> m_;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
