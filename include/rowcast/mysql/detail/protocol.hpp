// Internal: the client side of the MySQL/MariaDB wire protocol, as much as a
// replica needs: packets (3-byte length + sequence id, 16 MiB continuation in
// both directions), handshake v10, TLS, authentication, ERR/OK packets, COM_QUERY
// with a text result set reader, and raw commands (COM_BINLOG_DUMP…). TCP
// (host:port) or a Unix socket; connect and read timeouts with poll(2); an
// optional "stop" file descriptor (an eventfd) ends any wait with stop_requested().
//
// TLS (OpenSSL, connect_options::tls, rowcast/mysql/tls_options.hpp): after the
// server's handshake the client sends the SSL request packet and runs TLS (1.2 or
// later) over the same descriptor, then the handshake response. Modes DISABLED,
// PREFERRED (TLS when offered, over TCP), REQUIRED, VERIFY_CA (chain against ssl_ca
// or the system store), VERIFY_IDENTITY (and the host name: SSL_set1_host, or the
// IP address for a numeric host). Authentication plugins (detail/auth.hpp):
// mysql_native_password, caching_sha2_password (fast path; full path with the
// password over TLS or a Unix socket, else RSA with a pinned key or the key the
// server sends when get_server_public_key), sha256_password (the same RSA rules),
// MariaDB client_ed25519; auth-switch requests to any of them.
//
// connect_timeout is one deadline for the whole of open(): name resolution, the
// TCP/Unix connect to each address in turn, the handshake, TLS and authentication. A
// numeric address is used as it is; a host name is resolved by getaddrinfo on a
// helper thread, waited for until the deadline (a resolver that hangs longer is
// left to finish on its own; its result is then freed, no descriptor is kept).
// read_packet() refuses a logical packet larger than set_max_message() (default
// 1 GiB + 1 KiB, above the server's max_allowed_packet limit) before allocating it;
// until authentication succeeds the limit is max_handshake_packet (64 KiB): a server
// that sends more before login is refused. query() keeps at most
// connect_options::max_result_rows rows and max_result_bytes cell bytes (a larger
// result is [rowcast.<component>.limit_exceeded]; the connection is then unusable).
// A server's error message is kept to max_server_message bytes (512; the rest is cut,
// marked "… [cut, N bytes]"). The stop descriptor is also checked while data flows
// (at least every stop_check_bytes read), not only while waiting. With TLS, data can
// wait decrypted inside OpenSSL where poll(2) does not see it: see buffered().
//
// Errors: [rowcast.<component>.io_error] for the transport (connect refused,
// timeout, connection closed, a TLS record error), [rowcast.<component>.invalid_value]
// "server error N (SQLSTATE): message" for an ERR packet (server_error() keeps the
// number), [rowcast.<component>.refused] for TLS that cannot be had or is not
// trusted (REQUIRED and the server offers none, a certificate that does not verify,
// a CA/cert/key file that does not load) and a full password exchange that would go
// unencrypted, [rowcast.<component>.unsupported] for an authentication plugin
// rowcast does not know (named), [rowcast.<component>.not_found] for an unreadable
// server_public_key file.
#pragma once

#include <rowcast/detail/text.hpp>
#include <rowcast/os/detail/fd.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <rowcast/mysql/detail/auth.hpp>
#include <rowcast/mysql/tls_options.hpp>
#include <rowcast/mysql/types.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

ROWCAST_NAMESPACE_BEGIN
namespace detail::mysql {

inline constexpr std::size_t max_packet = 0xFFFFFF;  // payload bytes per physical packet
/// Largest logical packet accepted before authentication succeeds (handshake, auth switch, OK/ERR).
inline constexpr std::size_t max_handshake_packet = 64 * 1024;
/// Bytes of a server's error message kept (the rest is cut and marked).
inline constexpr std::size_t max_server_message = 512;
/// While data flows without a wait, the stop descriptor is polled after this many bytes read.
inline constexpr std::size_t stop_check_bytes = 64 * 1024;

// Capability flags.
inline constexpr std::uint32_t cap_long_password = 1;  // CLIENT_MYSQL on MariaDB
inline constexpr std::uint32_t cap_long_flag = 4;
inline constexpr std::uint32_t cap_protocol_41 = 0x200;
inline constexpr std::uint32_t cap_ssl = 0x800;
inline constexpr std::uint32_t cap_transactions = 0x2000;
inline constexpr std::uint32_t cap_secure_connection = 0x8000;
inline constexpr std::uint32_t cap_plugin_auth = 0x80000;
inline constexpr std::uint32_t cap_plugin_auth_lenenc = 0x200000;

// Commands.
inline constexpr std::uint8_t com_quit = 0x01;
inline constexpr std::uint8_t com_query = 0x03;
inline constexpr std::uint8_t com_binlog_dump = 0x12;
inline constexpr std::uint8_t com_register_slave = 0x15;
inline constexpr std::uint8_t com_binlog_dump_gtid = 0x1e;

// --- little-endian and length-encoded helpers -------------------------------

inline void put_le(std::string& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline void put_lenenc(std::string& out, std::uint64_t v) {
    if (v < 251) put_le(out, v, 1);
    else if (v < 0x10000) { out += '\xFC'; put_le(out, v, 2); }
    else if (v < 0x1000000) { out += '\xFD'; put_le(out, v, 3); }
    else { out += '\xFE'; put_le(out, v, 8); }
}

/// Reads fields of a received packet; every getter returns false past the end.
class reader {
public:
    explicit reader(std::string_view p) noexcept : p_(p) {}
    bool le(int n, std::uint64_t& v) noexcept {
        if (p_.size() < static_cast<std::size_t>(n)) return false;
        v = 0;
        for (int i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(p_[static_cast<std::size_t>(i)])} << (8 * i);
        p_.remove_prefix(static_cast<std::size_t>(n));
        return true;
    }
    bool bytes(std::size_t n, std::string_view& s) noexcept {
        if (p_.size() < n) return false;
        s = p_.substr(0, n);
        p_.remove_prefix(n);
        return true;
    }
    bool cstr(std::string_view& s) noexcept {  // NUL-terminated (or to the end)
        const auto z = p_.find('\0');
        s = p_.substr(0, z);
        p_.remove_prefix(z == std::string_view::npos ? p_.size() : z + 1);
        return true;
    }
    /// Length-encoded integer; `null` set for 0xFB (a NULL cell).
    bool lenenc(std::uint64_t& v, bool* null = nullptr) noexcept {
        std::uint64_t b = 0;
        if (!le(1, b)) return false;
        if (null) *null = false;
        if (b < 251) { v = b; return true; }
        if (b == 0xFB) { if (null) *null = true; v = 0; return true; }
        if (b == 0xFC) return le(2, v);
        if (b == 0xFD) return le(3, v);
        if (b == 0xFE) return le(8, v);
        return false;
    }
    bool skip(std::size_t n) noexcept {
        if (p_.size() < n) return false;
        p_.remove_prefix(n);
        return true;
    }
    std::string_view rest() const noexcept { return p_; }
    std::size_t left() const noexcept { return p_.size(); }

private:
    std::string_view p_;
};

using server_error = ::rowcast::mysql::server_error;

/// Parses an ERR packet (first byte 0xFF).
inline server_error parse_err(std::string_view p) {
    server_error e;
    reader r(p);
    std::uint64_t v = 0;
    r.skip(1);
    if (r.le(2, v)) e.code = static_cast<std::uint16_t>(v);
    std::string_view rest = r.rest();
    if (!rest.empty() && rest[0] == '#' && rest.size() >= 6) {
        e.sqlstate.assign(rest.substr(1, 5));
        rest.remove_prefix(6);
    }
    if (rest.size() > max_server_message) {
        std::size_t keep = max_server_message;  // cut before a UTF-8 continuation byte, not inside a character
        while (keep > 0 && (static_cast<unsigned char>(rest[keep]) & 0xC0) == 0x80) --keep;
        e.message.assign(rest.substr(0, keep));
        e.message += "… [cut, " + std::to_string(rest.size()) + " bytes]";
    } else {
        e.message.assign(rest);
    }
    return e;
}

using connect_options = ::rowcast::mysql::connect_options;
using column = ::rowcast::mysql::column;
using ok_result = ::rowcast::mysql::ok_result;
using result_set = ::rowcast::mysql::result_set;

inline constexpr std::uint16_t status_more_results = 0x08;  // SERVER_MORE_RESULTS_EXISTS
inline constexpr std::size_t max_columns = 4096;            // a result with more columns is refused

/// Parses an OK packet (first byte 0x00, or 0xFE with CLIENT_DEPRECATE_EOF); nullopt if malformed.
inline std::optional<ok_result> parse_ok(std::string_view p) {
    reader r(p);
    ok_result ok;
    std::uint64_t v = 0;
    if (!r.skip(1) || !r.lenenc(ok.affected_rows) || !r.lenenc(ok.last_insert_id)) return std::nullopt;
    if (r.le(2, v)) ok.status = static_cast<std::uint16_t>(v);
    if (r.le(2, v)) ok.warnings = static_cast<std::uint16_t>(v);
    ok.info.assign(r.rest().substr(0, max_server_message));
    return ok;
}

/// Parses an EOF packet (0xFE, shorter than 9 bytes): warnings and status.
inline ok_result parse_eof(std::string_view p) {
    reader r(p);
    ok_result ok;
    std::uint64_t v = 0;
    r.skip(1);
    if (r.le(2, v)) ok.warnings = static_cast<std::uint16_t>(v);
    if (r.le(2, v)) ok.status = static_cast<std::uint16_t>(v);
    return ok;
}

/// Parses a column definition (protocol 4.1); nullopt if malformed.
inline std::optional<column> parse_column(std::string_view p) {
    reader r(p);
    column c;
    std::string_view s;
    std::uint64_t len = 0, v = 0;
    auto text = [&](std::string* out) {
        if (!r.lenenc(len) || !r.bytes(static_cast<std::size_t>(std::min<std::uint64_t>(len, r.left() + 1)), s)) return false;
        if (out) out->assign(s);
        return true;
    };
    // catalog, schema, table, org_table, name, org_name, then a block of fixed fields
    if (!text(nullptr) || !text(&c.schema) || !text(&c.table) || !text(nullptr) || !text(&c.name) || !text(nullptr))
        return std::nullopt;
    if (!r.lenenc(len) || len < 12) return std::nullopt;
    if (!r.le(2, v)) return std::nullopt;
    c.charset = static_cast<std::uint16_t>(v);
    if (!r.le(4, v)) return std::nullopt;
    c.length = static_cast<std::uint32_t>(v);
    if (!r.le(1, v)) return std::nullopt;
    c.type = static_cast<std::uint8_t>(v);
    if (!r.le(2, v)) return std::nullopt;
    c.flags = static_cast<std::uint16_t>(v);
    if (!r.le(1, v)) return std::nullopt;
    c.decimals = static_cast<std::uint8_t>(v);
    return c;
}

/// Decodes a text-protocol row of `n` cells into `cells` (views into `p`; NULL = nullopt).
/// False if the packet is malformed (a cell past its end, or bytes left over).
inline bool decode_row(std::string_view p, std::size_t n, std::vector<std::optional<std::string_view>>& cells) {
    reader r(p);
    cells.clear();
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t len = 0;
        bool null = false;
        std::string_view s;
        if (!r.lenenc(len, &null)) return false;
        if (null) {
            cells.emplace_back(std::nullopt);
            continue;
        }
        if (len > r.left() || !r.bytes(static_cast<std::size_t>(len), s)) return false;
        cells.emplace_back(s);
    }
    return r.left() == 0;
}

/// Why open() failed, for callers that decide whether to retry.
struct open_failure {
    bool stop_requested = false;  ///< the stop descriptor ended a wait
    server_error server;          ///< the server's ERR packet (code 0 if the failure was not one)
};

/// An authenticated client connection. Move-only; one thread at a time.
class connection {
public:
    connection() = default;

    /// Connects, reads the handshake and authenticates, all within o.connect_timeout.
    /// `stop_fd` (>= 0) ends any wait when readable. On failure, `why` (if given) says
    /// whether a stop was requested and which server error ended it.
    /// `classify_server_errors`: a server's ERR packet gives ::rowcast::mysql::server_errc(code)
    /// (refused, unavailable, …) rather than invalid_value (the replication stream classifies itself).
    static result<connection> open(const connect_options& o, std::string component, int stop_fd = -1,
                                   open_failure* why = nullptr, bool classify_server_errors = false) {
        connection c;
        c.classify_ = classify_server_errors;
        c.component_ = std::move(component);
        c.where_ = o.socket.empty() ? o.host + ":" + std::to_string(o.port) : o.socket;
        c.stop_fd_ = stop_fd;
        c.read_timeout_ = o.connect_timeout;
        if (o.connect_timeout.count() > 0) c.deadline_ = std::chrono::steady_clock::now() + o.connect_timeout;
        c.connect_timeout_ = o.connect_timeout;
        c.max_rows_ = o.max_result_rows;
        c.max_result_bytes_ = o.max_result_bytes;
        const std::size_t after_login = c.max_message_;
        c.max_message_ = max_handshake_packet;  // nothing large is due before login
        c.authenticated_ = false;
        auto r = c.dial(o);
        if (r) r = c.handshake(o);
        if (!r) {
            if (why) *why = {c.stopped_, c.last_err_};
            return r.error_value();
        }
        c.deadline_.reset();
        c.read_timeout_ = o.read_timeout;
        c.max_message_ = after_login;
        return c;
    }

    /// A connection over an already connected descriptor (tests; no handshake).
    static connection adopt(unique_fd fd, std::string component, std::chrono::milliseconds read_timeout,
                            int stop_fd = -1) {
        connection c;
        c.stop_fd_ = stop_fd;
        c.fd_ = std::move(fd);
        c.component_ = std::move(component);
        c.where_ = "fd";
        c.read_timeout_ = read_timeout;
        return c;
    }

    int fd() const noexcept { return fd_.get(); }
    /// Server errors as ::rowcast::mysql::server_errc(code) (see open()).
    void set_classify_server_errors(bool on) noexcept { classify_ = on; }
    /// True when the connection is encrypted (TLS).
    bool tls() const noexcept { return static_cast<bool>(ssl_); }
    /// The TLS cipher in use ("TLS_AES_256_GCM_SHA384"), or "" without TLS.
    std::string tls_cipher() const { return ssl_ ? std::string(SSL_get_cipher_name(ssl_.get())) : std::string(); }
    /// The authentication plugin that logged in ("caching_sha2_password", …).
    const std::string& auth_plugin() const noexcept { return auth_plugin_; }
    /// Decrypted bytes already read from the socket and not yet consumed: poll(2) on fd() does
    /// not see them, so a caller that polls must read first while this is true.
    bool buffered() const noexcept { return ssl_ && (SSL_pending(ssl_.get()) > 0 || SSL_has_pending(ssl_.get()) == 1); }
    const std::string& server_version() const noexcept { return server_version_; }
    bool mariadb() const noexcept { return server_version_.find("MariaDB") != std::string::npos; }
    std::uint32_t connection_id() const noexcept { return connection_id_; }
    /// The last ERR packet received (code 0 if none).
    const server_error& last_server_error() const noexcept { return last_err_; }
    /// True if the last failure was caused by the stop descriptor.
    bool stop_requested() const noexcept { return stopped_; }
    void set_read_timeout(std::chrono::milliseconds t) noexcept { read_timeout_ = t; }
    /// Largest logical packet read_packet() accepts (bytes).
    void set_max_message(std::size_t n) noexcept { max_message_ = n; }
    /// query()'s bounds: rows and cell bytes of one result (0 = no limit).
    void set_result_limits(std::size_t rows, std::size_t bytes) noexcept {
        max_rows_ = rows;
        max_result_bytes_ = bytes;
    }

    /// Sends one logical packet (split into 16 MiB physical packets), using and advancing the sequence id.
    result<void> write_packet(std::string_view payload) {
        std::string frame;
        for (;;) {
            const std::size_t n = std::min(payload.size(), max_packet);
            frame.clear();
            put_le(frame, n, 3);
            frame += static_cast<char>(seq_++);
            frame.append(payload.data(), n);
            auto w = send_all(frame);
            if (!w) return w;
            payload.remove_prefix(n);
            if (n < max_packet) return {};  // a full-size packet is followed by another (maybe empty) one
        }
    }

    /// Starts a command: sequence id 0, then the command byte and its arguments.
    result<void> command(std::uint8_t cmd, std::string_view args = {}) {
        seq_ = 0;
        std::string p;
        p.reserve(1 + args.size());
        p += static_cast<char>(cmd);
        p.append(args);
        return write_packet(p);
    }

    /// Reads one logical packet (joining 16 MiB continuations). The view is valid until the next read.
    result<std::string_view> read_packet() {
        buf_.clear();
        for (;;) {
            unsigned char hdr[4];
            auto r = read_exact(hdr, 4);
            if (!r) return r.error_value();
            const std::size_t n = hdr[0] | (std::size_t{hdr[1]} << 8) | (std::size_t{hdr[2]} << 16);
            if (hdr[3] != seq_)
                return error::make(errc::invalid_value, component_, where_,
                                   "packet out of order (sequence " + std::to_string(hdr[3]) + ", expected " +
                                       std::to_string(seq_) + ")");
            ++seq_;
            const std::size_t old = buf_.size();
            if (n > max_message_ - old)
                return error::make(errc::limit_exceeded, component_, where_,
                                   "packet of more than " + std::to_string(old + n) + " bytes exceeds the limit of " +
                                       std::to_string(max_message_) + " bytes" +
                                       (authenticated_ ? "" : " before authentication"));
            buf_.resize(old + n);
            r = read_exact(reinterpret_cast<unsigned char*>(buf_.data()) + old, n);
            if (!r) return r.error_value();
            if (n < max_packet) return std::string_view(buf_);
        }
    }

    /// Turns an ERR packet into an error (and remembers it).
    error server_failure(std::string_view packet, std::string_view doing) {
        last_err_ = parse_err(packet);
        std::string m(doing);
        m += ": server error ";
        m += std::to_string(last_err_.code);
        if (!last_err_.sqlstate.empty()) m += " (" + last_err_.sqlstate + ")";
        m += ": ";
        m += last_err_.message;
        return error::make(classify_ ? ::rowcast::mysql::server_errc(last_err_.code) : errc::invalid_value, component_,
                           where_, m);
    }
    error protocol_error(std::string_view what) const { return error::make(errc::invalid_value, component_, where_, what); }

    // --- text queries (COM_QUERY), streamed ------------------------------------------------

    /// Sends COM_QUERY and reads the reply's head: an OK packet (`ok` filled, `columns` empty) or a
    /// result set's column definitions (`columns` filled; its rows follow with next_row()). What an
    /// earlier result left unread is read and discarded first. A server ERR packet is an error and
    /// leaves the connection usable; any other failure (transport, malformed reply) makes it unusable.
    result<void> start_query(std::string_view sql, std::vector<column>& columns, ok_result& ok) {
        columns.clear();
        ok = {};
        last_err_ = {};  // last_server_error() is this statement's
        if (auto d = drain(); !d) return d;
        last_err_ = {};
        what_ = "query \"" + std::string(sql.substr(0, 60)) + (sql.size() > 60 ? "…\"" : "\"");
        if (auto w = command(com_query, sql); !w) return broken(w.error_value());
        auto p = read_packet();
        if (!p) return broken(p.error_value());
        if (p->empty()) return broken(protocol_error("empty reply to " + what_));
        const auto first = static_cast<unsigned char>((*p)[0]);
        if (first == 0xFF && p->size() < 3) return broken(protocol_error("malformed ERR packet in the reply to " + what_));
        if (first == 0xFF) return server_failure(*p, what_);
        if (first == 0x00) {
            auto o = parse_ok(*p);
            if (!o) return broken(protocol_error("malformed OK packet in the reply to " + what_));
            ok = std::move(*o);
            note_status(ok.status);
            return {};
        }
        if (first == 0xFB) return broken(protocol_error("LOCAL INFILE requested by " + what_ + " (refused)"));
        reader r(*p);
        std::uint64_t n = 0;
        if (!r.lenenc(n) || n == 0 || n > max_columns || r.left() != 0)
            return broken(protocol_error("bad column count in the reply to " + what_));
        columns.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i) {
            p = read_packet();
            if (!p) return broken(p.error_value());
            auto c = parse_column(*p);
            if (!c) return broken(protocol_error("malformed column definition " + std::to_string(i + 1) + " in the reply to " + what_));
            columns.push_back(std::move(*c));
        }
        p = read_packet();  // EOF after the column definitions
        if (!p) return broken(p.error_value());
        if (p->empty() || static_cast<unsigned char>((*p)[0]) != 0xFE || p->size() >= 9)
            return broken(protocol_error("no EOF after the column definitions in the reply to " + what_));
        ncols_ = static_cast<std::size_t>(n);
        in_result_ = true;
        return {};
    }

    /// The next row of the current result: true with `cells` (views into the connection's buffer,
    /// valid until its next read), false at the end (`end`, if given, gets the EOF's warnings and
    /// status). An ERR packet in place of a row (the statement failed while sending) is an error.
    result<bool> next_row(std::vector<std::optional<std::string_view>>& cells, ok_result* end = nullptr) {
        cells.clear();
        if (!in_result_) return false;
        auto p = read_packet();
        if (!p) return broken(p.error_value());
        if (p->empty()) return broken(protocol_error("empty row packet in the reply to " + what_));
        const auto b = static_cast<unsigned char>((*p)[0]);
        if (b == 0xFF && p->size() < 3) return broken(protocol_error("malformed ERR packet in the reply to " + what_));
        if (b == 0xFF) {
            in_result_ = false;
            return server_failure(*p, what_);
        }
        if (b == 0xFE && p->size() < 9) {
            in_result_ = false;
            const ok_result e = parse_eof(*p);
            note_status(e.status);
            if (end) *end = e;
            return false;
        }
        if (!decode_row(*p, ncols_, cells)) {
            cells.clear();
            return broken(protocol_error("malformed row in the reply to " + what_ + " (" + std::to_string(ncols_) +
                                         " columns expected)"));
        }
        return true;
    }

    /// True while a result's rows are still to be read.
    bool in_result() const noexcept { return in_result_; }
    /// True after a failure that leaves the connection out of step with the server.
    bool unusable() const noexcept { return broken_; }
    /// The session has NO_BACKSLASH_ESCAPES (from the last OK/EOF status).
    bool no_backslash_escapes() const noexcept { return (status_ & 0x200) != 0; }

    /// COM_QUERY expecting no rows (SET …); rows, if any, are read and discarded.
    result<void> execute(std::string_view sql) {
        auto r = execute_ok(sql);
        if (!r) return r.error_value();
        return {};
    }

    /// execute() with the OK packet (affected rows, last insert id, warnings).
    result<ok_result> execute_ok(std::string_view sql) {
        std::vector<column> cols;
        ok_result ok;
        if (auto r = start_query(sql, cols, ok); !r) return r.error_value();
        std::vector<std::optional<std::string_view>> cells;
        for (;;) {
            auto more = next_row(cells, &ok);
            if (!more) return more.error_value();
            if (!*more) break;
        }
        return ok;
    }

    /// COM_QUERY returning the whole text result set (no columns for an OK packet), bounded by
    /// the connection's result limits (max_result_rows, max_result_bytes: limit_exceeded past
    /// them, and the connection is unusable).
    result<result_set> query(std::string_view sql) {
        result_set rs;
        if (auto r = start_query(sql, rs.columns, rs.end); !r) return r.error_value();
        std::vector<std::optional<std::string_view>> cells;
        std::size_t bytes = 0;
        for (;;) {
            auto more = next_row(cells, &rs.end);
            if (!more) return more.error_value();
            if (!*more) break;
            if (max_rows_ > 0 && rs.rows.size() >= max_rows_)
                return broken(error::make(errc::limit_exceeded, component_, where_,
                                          "the reply to " + what_ + " has more than " + std::to_string(max_rows_) +
                                              " rows (max_result_rows)"));
            ::rowcast::mysql::row row;
            row.reserve(cells.size());
            for (const auto& c : cells) {
                bytes += c ? c->size() + 1 : 1;
                if (c) row.emplace_back(std::string(*c));
                else row.emplace_back(std::nullopt);
            }
            if (max_result_bytes_ > 0 && bytes > max_result_bytes_)
                return broken(error::make(errc::limit_exceeded, component_, where_,
                                          "the reply to " + what_ + " has more than " + std::to_string(max_result_bytes_) +
                                              " bytes of rows (max_result_bytes)"));
            rs.rows.push_back(std::move(row));
        }
        return rs;
    }

    /// Sends COM_QUIT (best effort) and closes.
    void close() noexcept {
        if (fd_) {
            seq_ = 0;
            const char quit[5] = {1, 0, 0, 0, static_cast<char>(com_quit)};
            std::size_t n = 0;
            if (ssl_) (void)SSL_write_ex(ssl_.get(), quit, sizeof quit, &n);  // best effort (non-blocking)
            else (void)::send(fd_.get(), quit, sizeof quit, MSG_NOSIGNAL | MSG_DONTWAIT);
            ssl_.reset();
            fd_.reset();
        }
    }

private:
    error io(std::string_view what) const { return error::make(errc::io_error, component_, where_, what); }

    error broken(error e) {
        broken_ = true;
        in_result_ = false;
        return e;
    }
    void note_status(std::uint16_t st) noexcept {
        status_ = st;
        more_results_ = (st & status_more_results) != 0;
    }
    // Reads and discards what the server still sends for the last query: the rest of its rows and
    // further results (a CALL's), so the next command starts in step.
    result<void> drain() {
        if (broken_) return io("the connection is unusable after an earlier failure (open a new one)");
        std::vector<std::optional<std::string_view>> cells;
        while (in_result_) {
            auto more = next_row(cells);
            if (!more && broken_) return more.error_value();
        }
        while (more_results_) {
            more_results_ = false;
            auto p = read_packet();
            if (!p) return broken(p.error_value());
            if (p->empty()) return broken(protocol_error("empty packet in a further result of " + what_));
            const auto b = static_cast<unsigned char>((*p)[0]);
            if (b == 0xFF) {
                last_err_ = parse_err(*p);
                continue;
            }
            if (b == 0x00) {
                if (auto o = parse_ok(*p)) note_status(o->status);
                continue;
            }
            reader r(*p);
            std::uint64_t n = 0;
            if (!r.lenenc(n) || n == 0 || n > max_columns) return broken(protocol_error("bad column count in a further result of " + what_));
            for (std::uint64_t i = 0; i <= n; ++i)  // the column definitions and their EOF
                if (auto q = read_packet(); !q) return broken(q.error_value());
            ncols_ = static_cast<std::size_t>(n);
            in_result_ = true;
            while (in_result_) {
                auto more = next_row(cells);
                if (!more && broken_) return more.error_value();
            }
        }
        return {};
    }

    // Waits for the socket to be ready (POLLIN/POLLOUT) within `timeout` (0 = forever) and the
    // connect deadline, or the stop fd.
    result<void> wait(short events, std::chrono::milliseconds timeout, std::string_view doing) {
        return wait_fd(fd_.get(), events, timeout, doing);
    }
    result<void> wait_fd(int fd, short events, std::chrono::milliseconds timeout, std::string_view doing) {
        using clock = std::chrono::steady_clock;
        pollfd fds[2] = {{fd, events, 0}, {stop_fd_, POLLIN, 0}};
        const nfds_t n = stop_fd_ >= 0 ? 2 : 1;
        std::optional<clock::time_point> until;
        if (timeout.count() > 0) until = clock::now() + timeout;
        const bool by_deadline = deadline_ && (!until || *deadline_ <= *until);
        if (by_deadline) until = deadline_;
        for (;;) {
            int ms = -1;
            if (until) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*until - clock::now());
                ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1 << 30));
            }
            const int rc = ::poll(fds, n, ms);
            if (rc < 0) {
                if (errno == EINTR) continue;
                return os_error(errno, component_, where_, "poll failed");
            }
            if (n == 2 && (fds[1].revents & POLLIN)) {
                stopped_ = true;
                return io("stop requested");
            }
            if (rc == 0) {
                if (until && clock::now() >= *until) {
                    if (by_deadline)
                        return io(std::string(doing) + ": connect_timeout of " + std::to_string(connect_timeout_.count()) +
                                  " ms reached (name resolution, connect, handshake and authentication)");
                    return io(std::string(doing) + ": timed out after " + std::to_string(timeout.count()) + " ms");
                }
                continue;
            }
            if (fds[0].revents) return {};
        }
    }

    // getaddrinfo for a host name, on a helper thread, waited for within the connect deadline.
    struct resolution {
        std::mutex m;
        addrinfo* res = nullptr;
        int rc = EAI_AGAIN;
        unique_fd done;  // eventfd, written when the result is in
        ~resolution() {
            if (res) ::freeaddrinfo(res);
        }
    };
    result<std::shared_ptr<resolution>> resolve(const std::string& host, const std::string& port, addrinfo hints) {
        auto st = std::make_shared<resolution>();
        hints.ai_flags |= AI_NUMERICHOST;
        if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &st->res); rc == 0) return st;
        hints.ai_flags &= ~AI_NUMERICHOST;
        st->done.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        if (!st->done) return os_error(errno, component_, where_, "eventfd failed");
        try {
            std::thread([st, host, port, hints] {
                addrinfo* res = nullptr;
                const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
                {
                    std::lock_guard lock(st->m);
                    st->res = res;
                    st->rc = rc;
                }
                const std::uint64_t one = 1;
                (void)!::write(st->done.get(), &one, sizeof one);
            }).detach();
        } catch (const std::system_error& e) {
            return io(std::string("cannot start the name resolution: ") + e.what());
        }
        auto w = wait_fd(st->done.get(), POLLIN, std::chrono::milliseconds(0), "resolving '" + host + "'");
        if (!w) return w.error_value();
        std::lock_guard lock(st->m);
        if (st->rc != 0) return io("cannot resolve the host: " + std::string(::gai_strerror(st->rc)));
        return st;
    }

    result<void> send_all(std::string_view data) {
        while (!data.empty()) {
            if (ssl_) {
                std::size_t n = 0;
                ERR_clear_error();
                const int rc = SSL_write_ex(ssl_.get(), data.data(), data.size(), &n);
                if (rc == 1) {
                    data.remove_prefix(n);
                    continue;
                }
                if (auto w = ssl_wait(rc, "writing to the server"); !w) return w;
                continue;
            }
            const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n >= 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return os_error(errno, component_, where_, "write to the server failed");
            auto w = wait(POLLOUT, read_timeout_, "writing to the server");
            if (!w) return w;
        }
        return {};
    }

    result<void> read_exact(unsigned char* dst, std::size_t n) {
        std::size_t got = 0;
        while (got < n) {
            if (ssl_) {
                std::size_t r = 0;
                ERR_clear_error();
                const int rc = SSL_read_ex(ssl_.get(), dst + got, n - got, &r);
                if (rc == 1) {
                    got += r;
                    since_stop_check_ += r;
                    if (since_stop_check_ >= stop_check_bytes) {
                        since_stop_check_ = 0;
                        if (auto s = check_stop(); !s) return s;
                    }
                    continue;
                }
                if (auto w = ssl_wait(rc, "waiting for the server"); !w) return w;
                continue;
            }
            const ssize_t r = ::recv(fd_.get(), dst + got, n - got, MSG_DONTWAIT);
            if (r > 0) {
                got += static_cast<std::size_t>(r);
                since_stop_check_ += static_cast<std::size_t>(r);
                if (since_stop_check_ >= stop_check_bytes) {
                    since_stop_check_ = 0;
                    if (auto s = check_stop(); !s) return s;
                }
                continue;
            }
            if (r == 0) return io("the server closed the connection");
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return os_error(errno, component_, where_, "read from the server failed");
            auto w = wait(POLLIN, read_timeout_, "waiting for the server");
            if (!w) return w;
        }
        return {};
    }

    // A stop request made while data keeps arriving (no wait in which poll() would see it).
    result<void> check_stop() {
        if (stop_fd_ < 0) return {};
        pollfd p{stop_fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
            stopped_ = true;
            return io("stop requested");
        }
        return {};
    }

    result<void> connect_fd(int family, const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout) {
        fd_.reset(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd_) return os_error(errno, component_, where_, "socket failed");
        if (::connect(fd_.get(), addr, len) == 0) return {};
        if (errno != EINPROGRESS) return os_error(errno, component_, where_, "cannot connect");  // AF_UNIX EAGAIN: backlog full
        auto w = wait(POLLOUT, timeout, "connecting");
        if (!w) return w;
        int err = 0;
        socklen_t el = sizeof err;
        if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &el) != 0) err = errno;
        if (err != 0) return os_error(err, component_, where_, "cannot connect");
        return {};
    }

    result<void> dial(const connect_options& o) {
        if (!o.socket.empty()) {
            sockaddr_un sa{};
            sa.sun_family = AF_UNIX;
            if (o.socket.size() >= sizeof sa.sun_path) return io("socket path too long");
            std::memcpy(sa.sun_path, o.socket.data(), o.socket.size());
            return connect_fd(AF_UNIX, reinterpret_cast<const sockaddr*>(&sa), sizeof sa, o.connect_timeout);
        }
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        auto res = resolve(o.host, std::to_string(o.port), hints);
        if (!res) return res.error_value();
        result<void> last = io("no address");
        for (addrinfo* a = (*res)->res; a; a = a->ai_next) {
            last = connect_fd(a->ai_family, a->ai_addr, a->ai_addrlen, o.connect_timeout);
            if (last || stopped_ || (deadline_ && std::chrono::steady_clock::now() >= *deadline_)) break;
        }
        if (last && o.socket.empty()) {
            int one = 1;
            ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ::setsockopt(fd_.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        }
        return last;
    }

    // An SSL_read/SSL_write/SSL_connect that did not complete: wait for what it wants, or the error.
    result<void> ssl_wait(int rc, std::string_view doing) {
        const int e = SSL_get_error(ssl_.get(), rc);
        if (e == SSL_ERROR_WANT_READ) return wait(POLLIN, read_timeout_, doing);
        if (e == SSL_ERROR_WANT_WRITE) return wait(POLLOUT, read_timeout_, doing);
        if (e == SSL_ERROR_ZERO_RETURN) return io("the server closed the TLS connection");
        if (e == SSL_ERROR_SYSCALL) {
            if (errno != 0 && ERR_peek_error() == 0) return os_error(errno, component_, where_, std::string(doing) + " (TLS)");
            if (ERR_peek_error() == 0) return io("the server closed the connection");
        }
        return io(std::string(doing) + ": TLS error: " + ssl_error_text());
    }
    static std::string ssl_error_text() {
        std::string out;
        while (const unsigned long e = ERR_get_error()) {
            char b[256];
            ERR_error_string_n(e, b, sizeof b);
            if (!out.empty()) out += "; ";
            out += b;
        }
        return out.empty() ? std::string("unknown") : out;
    }
    error tls_refused(std::string what) const { return error::make(errc::refused, component_, where_, std::move(what)); }

    // After the SSL request packet: TLS over the connected descriptor, verified as o.tls.mode asks.
    result<void> start_tls(const connect_options& o) {
        using ::rowcast::mysql::ssl_mode;
        const auto& t = o.tls;
        ERR_clear_error();
        ssl_ctx_.reset(SSL_CTX_new(TLS_client_method()));
        if (!ssl_ctx_) return io("cannot create a TLS context: " + ssl_error_text());
        SSL_CTX_set_min_proto_version(ssl_ctx_.get(), TLS1_2_VERSION);
        if (t.mode >= ssl_mode::verify_ca) {
            const int ok = t.ca.empty() ? SSL_CTX_set_default_verify_paths(ssl_ctx_.get())
                                        : SSL_CTX_load_verify_locations(ssl_ctx_.get(), t.ca.c_str(), nullptr);
            if (ok != 1) return tls_refused("cannot load the CA certificates '" + t.ca + "' (ssl_ca): " + ssl_error_text());
            SSL_CTX_set_verify(ssl_ctx_.get(), SSL_VERIFY_PEER, nullptr);
        }
        if (!t.cert.empty()) {
            if (SSL_CTX_use_certificate_chain_file(ssl_ctx_.get(), t.cert.c_str()) != 1)
                return tls_refused("cannot load the client certificate '" + t.cert + "' (ssl_cert): " + ssl_error_text());
            const std::string& key = t.key.empty() ? t.cert : t.key;
            if (SSL_CTX_use_PrivateKey_file(ssl_ctx_.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
                SSL_CTX_check_private_key(ssl_ctx_.get()) != 1)
                return tls_refused("cannot load the private key '" + key + "' (ssl_key) for '" + t.cert + "': " + ssl_error_text());
        } else if (!t.key.empty()) {
            return tls_refused("ssl_key '" + t.key + "' given without ssl_cert");
        }
        if (!t.cipher.empty() && SSL_CTX_set_cipher_list(ssl_ctx_.get(), t.cipher.c_str()) != 1)
            return tls_refused("no usable cipher in '" + t.cipher + "' (ssl_cipher)");
        ssl_.reset(SSL_new(ssl_ctx_.get()));
        if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) return io("cannot create a TLS session: " + ssl_error_text());
        in6_addr a6{};
        const bool numeric = ::inet_pton(AF_INET, o.host.c_str(), &a6) == 1 || ::inet_pton(AF_INET6, o.host.c_str(), &a6) == 1;
        if (!numeric && o.socket.empty()) SSL_set_tlsext_host_name(ssl_.get(), o.host.c_str());
        if (t.mode == ssl_mode::verify_identity) {
            SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            const int ok = numeric ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), o.host.c_str())
                                   : SSL_set1_host(ssl_.get(), o.host.c_str());
            if (ok != 1) return tls_refused("cannot verify against the host name '" + o.host + "'");
        }
        for (;;) {
            ERR_clear_error();
            const int rc = SSL_connect(ssl_.get());
            if (rc == 1) break;
            const int e = SSL_get_error(ssl_.get(), rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (auto w = ssl_wait(rc, "TLS handshake"); !w) return w;
                continue;
            }
            const long v = SSL_get_verify_result(ssl_.get());
            if (v != X509_V_OK)
                return tls_refused("the server's certificate is refused (ssl_mode " + std::string(::rowcast::mysql::to_string(t.mode)) +
                                   "): " + X509_verify_cert_error_string(v));
            if (e == SSL_ERROR_SSL) return tls_refused("TLS handshake failed: " + ssl_error_text());
            auto w = ssl_wait(rc, "TLS handshake");
            return w ? io("TLS handshake failed") : w;
        }
        return {};
    }

    // The pinned RSA key (server_public_key), read when first needed.
    result<std::string> pinned_key(const connect_options& o) const {
        std::ifstream in(o.tls.server_public_key, std::ios::binary);
        std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in && !in.eof())
            return error::make(errc::not_found, component_, where_,
                               "cannot read the server's public key '" + o.tls.server_public_key + "' (server_public_key)");
        return pem;
    }

    // The answer of `plugin` to the server's first message (the nonce), or nullopt for a plugin rowcast
    // does not know. sha256_password without TLS may answer with a request for the server's key.
    result<std::optional<std::string>> first_answer(const connect_options& o, std::string_view plugin,
                                                    std::string_view nonce) {
        if (plugin == "mysql_native_password") return std::optional<std::string>(native_password_scramble(o.password, nonce));
        if (plugin == "caching_sha2_password") return std::optional<std::string>(caching_sha2_scramble(o.password, nonce));
        if (plugin == "client_ed25519") return std::optional<std::string>(ed25519_password_signature(o.password, nonce));
        if (plugin == "sha256_password") {
            if (o.password.empty()) return std::optional<std::string>(std::string(1, '\0'));
            if (ssl_) return std::optional<std::string>(o.password + '\0');
            auto r = rsa_answer(o, "sha256_password", nonce, {});
            if (!r) return r.error_value();
            return std::optional<std::string>(std::move(*r));
        }
        return std::optional<std::string>();
    }

    // The password for a plugin's full exchange without TLS: RSA-encrypted with the pinned key, with
    // `server_key` (sent by the server), or a request for the key (`ask`) when get_server_public_key.
    result<std::string> rsa_answer(const connect_options& o, std::string_view plugin, std::string_view nonce,
                                   std::string_view server_key) {
        if (!o.tls.server_public_key.empty()) {
            auto pem = pinned_key(o);
            if (!pem) return pem.error_value();
            return rsa_encrypt_password(o.password, nonce, *pem, component_, where_);
        }
        if (!server_key.empty()) return rsa_encrypt_password(o.password, nonce, server_key, component_, where_);
        if (o.tls.get_server_public_key) return std::string(1, plugin == "sha256_password" ? '\x01' : '\x02');
        return tls_refused(std::string(plugin) + " needs the password in full and the connection is not encrypted: use " +
                           "ssl_mode REQUIRED or stronger, or give server_public_key (or get_server_public_key)");
    }

    result<void> handshake(const connect_options& o) {
        using ::rowcast::mysql::ssl_mode;
        seq_ = 0;
        auto p = read_packet();
        if (!p) return p.error_value();
        if (p->empty()) return protocol_error("empty handshake");
        if (static_cast<unsigned char>((*p)[0]) == 0xFF) return server_failure(*p, "connect");
        reader r(*p);
        std::uint64_t v = 0, caps_lo = 0, caps_hi = 0, auth_len = 0;
        std::string_view ver, part1, part2, plugin_view;
        r.le(1, v);
        if (v != 10) return protocol_error("handshake protocol version " + std::to_string(v) + " (expected 10)");
        r.cstr(ver);
        server_version_.assign(ver);
        if (server_version_.rfind("5.5.5-", 0) == 0) server_version_.erase(0, 6);  // MariaDB's replication-compat prefix
        if (!r.le(4, v) || !r.bytes(8, part1) || !r.skip(1) || !r.le(2, caps_lo)) return protocol_error("handshake too short");
        connection_id_ = static_cast<std::uint32_t>(v);
        std::string nonce(part1);
        std::uint32_t server_caps = static_cast<std::uint32_t>(caps_lo);
        if (r.left() > 0) {
            if (!r.skip(3) || !r.le(2, caps_hi) || !r.le(1, auth_len) || !r.skip(10)) return protocol_error("handshake too short");
            server_caps |= static_cast<std::uint32_t>(caps_hi) << 16;
            if (server_caps & cap_secure_connection) {
                const std::size_t n = std::max<std::size_t>(13, auth_len > 8 ? static_cast<std::size_t>(auth_len) - 8 : 0);
                if (!r.bytes(std::min(n, r.left()), part2)) return protocol_error("handshake too short");
                nonce.append(part2.substr(0, part2.find('\0')));
            }
            if (server_caps & cap_plugin_auth) r.cstr(plugin_view);
        }
        if (!(server_caps & cap_protocol_41)) return error::make(errc::unsupported, component_, where_, "server without protocol 4.1");
        const ssl_mode mode = o.tls.mode;
        bool use_tls = false;
        if (mode >= ssl_mode::required) {
            if (!(server_caps & cap_ssl))
                return tls_refused("the server does not offer TLS (ssl_mode " + std::string(::rowcast::mysql::to_string(mode)) +
                                   "; configure ssl_cert and ssl_key on the server, or lower ssl_mode)");
            use_tls = true;
        } else if (mode == ssl_mode::preferred) {
            use_tls = (server_caps & cap_ssl) && o.socket.empty();
        }
        const std::uint32_t want = cap_long_password | cap_long_flag | cap_protocol_41 | cap_transactions |
                                   cap_secure_connection | cap_plugin_auth | cap_plugin_auth_lenenc |
                                   (use_tls ? cap_ssl : 0u);
        const std::uint32_t caps = want & server_caps;
        std::string resp;
        put_le(resp, caps, 4);
        put_le(resp, max_packet, 4);
        resp += static_cast<char>(45);  // utf8mb4_general_ci
        resp.append(23, '\0');
        if (use_tls) {  // SSL request: the response's first 32 bytes, then TLS, then the whole response
            if (auto w = write_packet(resp); !w) return w;
            if (auto t = start_tls(o); !t) return t;
        }
        // Answer for the server's default plugin when rowcast knows it, else as mysql_native_password
        // (the server then switches to the user's plugin).
        auth_plugin_.assign(plugin_view.empty() ? std::string_view("mysql_native_password") : plugin_view);
        auto first = first_answer(o, auth_plugin_, nonce);
        if (!first) return first.error_value();
        if (!*first) {
            auth_plugin_ = "mysql_native_password";
            first = first_answer(o, auth_plugin_, nonce);
        }
        const std::string& auth = **first;
        resp.append(o.user);
        resp += '\0';
        if (caps & cap_plugin_auth_lenenc) {
            put_lenenc(resp, auth.size());
            resp += auth;
        } else if (caps & cap_secure_connection) {
            resp += static_cast<char>(auth.size());
            resp += auth;
        } else {
            resp += auth;
            resp += '\0';
        }
        if (caps & cap_plugin_auth) {
            resp += auth_plugin_;
            resp += '\0';
        }
        auto w = write_packet(resp);
        if (!w) return w;
        for (int round = 0; round < 8; ++round) {
            p = read_packet();
            if (!p) return p.error_value();
            if (p->empty()) return protocol_error("empty authentication reply");
            const auto b = static_cast<unsigned char>((*p)[0]);
            if (b == 0x00) {
                authenticated_ = true;
                if (auto ok = parse_ok(*p)) status_ = ok->status;
                return {};
            }
            if (b == 0xFF) return server_failure(*p, "authentication as '" + o.user + "' (" + auth_plugin_ + ")");
            if (b == 0xFE) {  // auth switch request: plugin name, then its data
                if (p->size() == 1)
                    return error::make(errc::unsupported, component_, where_,
                                       "the server asks for the pre-4.1 password hash (mysql_old_password), which rowcast "
                                       "does not support");
                reader s(p->substr(1));
                std::string_view name;
                s.cstr(name);
                auth_plugin_.assign(name);
                nonce.assign(s.rest());
                // The scramble-based plugins send 20 bytes and a NUL; ed25519's 32 bytes are binary.
                if (auth_plugin_ != "client_ed25519" && !nonce.empty() && nonce.back() == '\0') nonce.pop_back();
                auto a = first_answer(o, auth_plugin_, nonce);
                if (!a) return a.error_value();
                if (!*a)
                    return error::make(errc::unsupported, component_, where_,
                                       "the server asks for authentication plugin '" + auth_plugin_ +
                                           "', which rowcast does not support (it supports mysql_native_password, "
                                           "caching_sha2_password, sha256_password and client_ed25519)");
                if (w = write_packet(**a); !w) return w;
                continue;
            }
            if (b == 0x01 && auth_plugin_ == "caching_sha2_password" && p->size() == 2) {
                if ((*p)[1] == '\x03') continue;  // fast path: the server's cache knew us; OK follows
                if ((*p)[1] != '\x04') return protocol_error("unknown caching_sha2_password state " + hex_byte(static_cast<unsigned char>((*p)[1])));
                if (ssl_ || !o.socket.empty()) {  // full path over a secure transport: the password itself
                    if (w = write_packet(o.password + '\0'); !w) return w;
                    continue;
                }
                auto a = rsa_answer(o, auth_plugin_, nonce, {});
                if (!a) return a.error_value();
                if (w = write_packet(*a); !w) return w;
                continue;
            }
            if (b == 0x01 && (auth_plugin_ == "caching_sha2_password" || auth_plugin_ == "sha256_password")) {
                auto a = rsa_answer(o, auth_plugin_, nonce, p->substr(1));  // the server's public key
                if (!a) return a.error_value();
                if (w = write_packet(*a); !w) return w;
                continue;
            }
            return error::make(errc::unsupported, component_, where_,
                               "unexpected authentication exchange (packet 0x" + hex_byte(b) + ", plugin '" +
                                   auth_plugin_ + "')");
        }
        return protocol_error("authentication did not finish");
    }

    struct ssl_ctx_free {
        void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
    };
    struct ssl_free {
        void operator()(SSL* c) const noexcept { SSL_free(c); }
    };
    unique_fd fd_;
    std::unique_ptr<SSL_CTX, ssl_ctx_free> ssl_ctx_;
    std::unique_ptr<SSL, ssl_free> ssl_;  // declared after fd_: freed before it is closed
    std::string auth_plugin_;
    int stop_fd_ = -1;
    std::string component_ = "mysql";
    std::string where_;
    std::string server_version_;
    std::uint32_t connection_id_ = 0;
    std::uint8_t seq_ = 0;
    std::string buf_;
    server_error last_err_;
    std::chrono::milliseconds read_timeout_{60000};
    std::optional<std::chrono::steady_clock::time_point> deadline_;  // open()'s connect_timeout
    std::chrono::milliseconds connect_timeout_{0};
    std::size_t max_message_ = (std::size_t{1} << 30) + 1024;
    std::size_t max_rows_ = 10000;
    std::size_t max_result_bytes_ = std::size_t{64} << 20;
    std::size_t since_stop_check_ = 0;
    std::size_t ncols_ = 0;       // columns of the result being read
    std::string what_;            // the query being answered (messages)
    std::uint16_t status_ = 0;    // SERVER_STATUS_* of the last OK/EOF
    bool in_result_ = false;      // rows of a result are still to be read
    bool more_results_ = false;   // the server sends further results (a CALL's)
    bool broken_ = false;         // out of step with the server: no further command
    bool classify_ = false;       // server errors as server_errc(), not invalid_value
    bool authenticated_ = true;  // adopt(): no handshake; open() clears it until the server's OK
    bool stopped_ = false;
};

}  // namespace detail::mysql
ROWCAST_NAMESPACE_END
