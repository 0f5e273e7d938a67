// rowcast/mysql/types.hpp: the values of rowcast's MySQL/MariaDB client
// (rowcast/mysql/connection.hpp) and of the replication stream, which share one
// connect/TLS/authentication implementation (rowcast/mysql/detail/protocol.hpp):
//   connect_options   where and as whom to connect, timeouts, TLS, result bounds;
//   server_error      an ERR packet: code, SQLSTATE, message, and what it means;
//   column            a result column's metadata (name, table, type code, flags);
//   ok_result         an OK packet: affected rows, last insert id, warnings;
//   result_set        a whole text result (columns and owned rows; NULL = nullopt).
// Thread-safety: plain values.
#pragma once

#include <rowcast/error.hpp>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/version.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace mysql {

/// Where and how to connect: TCP (host:port) or a Unix socket.
struct connect_options {
    std::string host = "127.0.0.1";  ///< name or address (TCP; "localhost" too), unless `socket` is set
    std::uint16_t port = 3306;
    std::string socket;              ///< Unix socket path; takes precedence over host/port
    std::string user;
    std::string password;            ///< empty: no password
    /// One deadline for name resolution, connect, handshake, TLS and authentication (0 = none).
    std::chrono::milliseconds connect_timeout{10000};
    /// No byte from the server for this long while one is due: an error (0 = wait forever).
    std::chrono::milliseconds read_timeout{60000};
    /// Whole results (connection::query_all): more rows than this is limit_exceeded (0 = no limit).
    std::size_t max_result_rows = 10000;
    /// Whole results: more row bytes (all rows) than this is limit_exceeded (0 = no limit).
    std::size_t max_result_bytes = std::size_t{64} << 20;
    /// TLS mode and files, RSA key options (rowcast/mysql/tls_options.hpp; default PREFERRED).
    tls_options tls;
};

/// "host:port", or the socket path: how errors name the server.
inline std::string describe(const connect_options& o) {
    return o.socket.empty() ? o.host + ":" + std::to_string(o.port) : o.socket;
}

/// What a server error code means for the caller (rowcast errc):
///   refused      access denied (1044, 1045, 1142, 1143, 1227, 1370, 1698), an expired password (1820,
///                1862), a secure transport the server requires (3159): the configuration is wrong;
///   not_found    unknown database (1049), table (1146, 1051);
///   unavailable  transient: lock wait timeout (1205), deadlock (1213), too many connections (1040, 1203,
///                1226), the server shutting down or read-only (1053, 1077, 1079, 1080, 1290, 1836),
///                network errors (1152-1161), a killed or interrupted statement (1317, 1927, 1969);
///   unsupported  a statement the server cannot run (1235, 1148, 1295);
///   invalid_value anything else (the statement or its data: syntax 1064, duplicate key 1062, …).
inline errc server_errc(std::uint16_t code) noexcept {
    switch (code) {
        case 1044: case 1045: case 1142: case 1143: case 1227: case 1370: case 1698: case 1820: case 1862: case 3159:
            return errc::refused;
        case 1049: case 1051: case 1146:
            return errc::not_found;
        case 1205: case 1213: case 1040: case 1203: case 1226: case 1053: case 1077: case 1079: case 1080: case 1290:
        case 1836: case 1317: case 1927: case 1969:
            return errc::unavailable;
        case 1235: case 1148: case 1295:
            return errc::unsupported;
        default:
            break;
    }
    if (code >= 1152 && code <= 1161) return errc::unavailable;
    return errc::invalid_value;
}

/// A server's ERR packet.
struct server_error {
    std::uint16_t code = 0;  ///< 0: no server error (the failure was the transport's or the client's)
    std::string sqlstate;    ///< 5 characters ("40001"), or empty (handshake errors)
    std::string message;     ///< the server's text (at most 512 bytes; longer is cut and marked)

    bool deadlock() const noexcept { return code == 1213; }           ///< ER_LOCK_DEADLOCK (SQLSTATE 40001)
    bool lock_wait_timeout() const noexcept { return code == 1205; }  ///< ER_LOCK_WAIT_TIMEOUT
    /// Retrying later may succeed (server_errc() is unavailable).
    bool transient() const noexcept { return code != 0 && server_errc(code) == errc::unavailable; }
};

/// A column of a result set (the protocol's column definition).
struct column {
    std::string name;           ///< the name (or alias) as selected
    std::string table;          ///< the table (or alias) it comes from; empty for an expression
    std::string schema;         ///< the table's database
    std::uint8_t type = 0;      ///< MYSQL_TYPE_* code (1 TINY, 3 LONG, 8 LONGLONG, 246 NEWDECIMAL, 252 BLOB, 253 VAR_STRING, 254 STRING, …)
    std::uint16_t flags = 0;    ///< NOT_NULL 1, PRI_KEY 2, UNSIGNED 32, BINARY 128, …
    std::uint16_t charset = 0;  ///< collation id; 63 = binary
    std::uint32_t length = 0;   ///< the column's maximum display length
    std::uint8_t decimals = 0;
    bool binary() const noexcept { return charset == 63; }
    bool nullable() const noexcept { return (flags & 1) == 0; }
};

/// An OK packet (a statement without rows), or the end of a result set (affected_rows 0).
struct ok_result {
    std::uint64_t affected_rows = 0;
    std::uint64_t last_insert_id = 0;
    std::uint16_t warnings = 0;
    std::uint16_t status = 0;  ///< SERVER_STATUS_* flags (in transaction 1, autocommit 2, NO_BACKSLASH_ESCAPES 0x200)
    std::string info;          ///< the server's text ("Rows matched: 1  Changed: 1  Warnings: 0"), often empty
};

/// A row with its cells owned; SQL NULL is nullopt (distinct from an empty string).
using row = std::vector<std::optional<std::string>>;

/// A whole text result set (connection::query_all). Cells are the server's text form; binary
/// cells (BLOB, BINARY, …) are the bytes as stored.
struct result_set {
    std::vector<column> columns;
    std::vector<row> rows;
    ok_result end;  ///< warnings and status of the end of the result
};

}  // namespace mysql
ROWCAST_NAMESPACE_END
