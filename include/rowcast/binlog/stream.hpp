// rowcast/binlog/stream.hpp: one replication connection to a running MySQL or
// MariaDB server (COM_BINLOG_DUMP / COM_BINLOG_DUMP_GTID) over rowcast's own
// client protocol (rowcast/mysql/detail/protocol.hpp, shared with mysql::connection; no
// libmysqlclient).
//
//   rowcast::binlog::stream     yields raw_events (CRC32 verified) that
//                               parser::feed() decodes.
//   current_server_position()   the end of the server's binlog now.
// The follower (follower.hpp) drives a stream with reconnects and checkpoints;
// GTID positions are gtid_state (gtid.hpp).
//
// Server requirements: binlog_format=ROW (checked at connect: a clear error
// otherwise), log_bin on; the user needs REPLICATION SLAVE (the stream runs
// only SELECT @@global.…, SET @… and the dump command). TLS and authentication:
// connect_options::tls (rowcast/mysql/tls_options.hpp; docs/connecting.md):
// mysql_native_password, caching_sha2_password, sha256_password, client_ed25519.
//
// Positions: an event's header carries its *end* offset (log_pos); the resume
// position is the end of the last event group whose handler callbacks
// succeeded (XID, COMMIT, ROLLBACK, standalone DDL), plus the GTID state in
// GTID mode.
//
// Errors ([rowcast.binlog.<errc>] <host:port or socket>: <what>):
//   io_error       connect refused/timed out, connection closed, no data and no
//                  heartbeat for heartbeat_period × heartbeat_misses;
//   invalid_value  "… server error N (SQLSTATE): message" for any ERR packet
//                  (1045 bad credentials, 1227 missing REPLICATION SLAVE, 1236
//                  binlog purged or position not found, …); a CRC32 mismatch;
//   refused        TLS required but not offered, a server certificate that does
//                  not verify, a full password exchange that would go in clear;
//   unsupported    binlog_format is not ROW, binary logging is off, an
//                  authentication plugin rowcast does not know (named).
//
// Thread-safety: a stream is used by one thread.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/binlog/gtid.hpp>
#include <rowcast/binlog/reader.hpp>
#include <rowcast/binlog/types.hpp>
#include <rowcast/binlog/detail/wire.hpp>
#include <rowcast/mysql/detail/protocol.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>


#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <poll.h>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// Where and as whom to connect (TCP host:port, or a Unix socket), with timeouts.
using connect_options = detail::mysql::connect_options;

// ---------------------------------------------------------------------------
// stream

/// Header flag of events the server made up for the replica (ROTATE at connect, …).
inline constexpr std::uint16_t flag_artificial = 0x20;

struct stream_options {
    connect_options connection;
    /// This replica's server id: must differ from the server's and from other replicas'
    /// (the server drops an older dump connection with the same id).
    std::uint32_t server_id = 4242;
    /// Start file; empty: the server's first binlog file (its oldest). Ignored in GTID mode.
    std::string file;
    std::uint64_t position = 4;          ///< start offset in `file` (an event boundary; 4 = the file start)
    /// GTID mode when set: the state already applied (MariaDB "0-1-42,…" sent as
    /// @slave_connect_state with gtid strict mode; MySQL "uuid:1-42,…" sent with
    /// COM_BINLOG_DUMP_GTID). "" starts at the beginning of the server's binlogs.
    std::optional<std::string> gtid;
    /// Stop at the current end of the binlog (BINLOG_DUMP_NON_BLOCK): next() returns false there.
    bool stop_at_end = false;
    /// Heartbeat period asked of the server (sent while it has no events for us); 0 = none.
    std::chrono::milliseconds heartbeat_period{5000};
    /// With a heartbeat period: no data and no heartbeat for period × misses is a dead peer (io_error).
    unsigned heartbeat_misses = 3;
    /// Announce this replica with COM_REGISTER_SLAVE (shown by SHOW SLAVE HOSTS).
    bool register_replica = false;
    std::string report_host = "rowcast";
    bool verify_checksum = true;         ///< verify the events' CRC32 trailers
    /// Refuse a server whose @@global.binlog_format is not ROW (statement events carry no rows).
    bool require_row_format = true;
    std::uint32_t max_event_size = 1u << 30;  ///< larger events are an error (bytes)
};

/// COM_BINLOG_DUMP's arguments (after the command byte 0x12): position (4), flags (2;
/// BINLOG_DUMP_NON_BLOCK = 1 with stop_at_end; MariaDB: BINLOG_SEND_ANNOTATE_ROWS_EVENT = 2,
/// without which the server leaves ANNOTATE_ROWS out of the stream), server id (4), file name (rest).
inline std::string dump_arguments(std::uint32_t server_id, bool stop_at_end, std::string_view file, std::uint64_t pos,
                                  bool mariadb = false) {
    std::string a;
    detail::mysql::put_le(a, pos, 4);
    detail::mysql::put_le(a, (stop_at_end ? 1u : 0u) | (mariadb ? 2u : 0u), 2);
    detail::mysql::put_le(a, server_id, 4);
    a += file;
    return a;
}

/// COM_BINLOG_DUMP_GTID's arguments (after 0x1e): flags (2; BINLOG_THROUGH_GTID = 4, plus
/// NON_BLOCK = 1 with stop_at_end), server id (4), file name length (4) = 0, position (8) = 4,
/// GTID set length (4) and the set (gtid_state::encode_mysql()).
inline std::string dump_gtid_arguments(std::uint32_t server_id, bool stop_at_end, const gtid_state& g) {
    std::string a;
    detail::mysql::put_le(a, 4u | (stop_at_end ? 1u : 0u), 2);
    detail::mysql::put_le(a, server_id, 4);
    detail::mysql::put_le(a, 0, 4);
    detail::mysql::put_le(a, 4, 8);
    const std::string set = g.encode_mysql();
    detail::mysql::put_le(a, set.size(), 4);
    a += set;
    return a;
}

/// One replication connection. Obtain with open(), read with next().
class stream {
public:
    stream() = default;

    /// Connects, checks the server, sends the dump command. `stop_fd` (an eventfd or a
    /// pipe's read end, >= 0) ends a wait when it becomes readable (see stop_requested()).
    static result<stream> open(const stream_options& o, int stop_fd = -1) {
        stream s;
        auto r = s.connect(o, stop_fd);
        if (!r) return r.error_value();
        return s;
    }

    /// Like open(), on an existing object: after a failure, retryable() and
    /// stop_requested() classify it.
    result<void> connect(const stream_options& o, int stop_fd = -1) {
        *this = stream{};
        opt_ = o;
        detail::mysql::open_failure why;
        auto c = detail::mysql::connection::open(o.connection, "binlog", stop_fd, &why);
        if (!c) {
            classify_open_failure(c.error_value(), why);
            return c.error_value();
        }
        conn_ = std::move(*c);
        conn_.set_max_message(std::size_t{o.max_event_size} + 1);  // the OK byte before each event
        auto r = setup();
        if (!r) classify(r.error_value());
        return r;
    }

    /// Reads the next event: true with `ev` filled (body valid until the next call),
    /// false at the end of the binlog in stop_at_end mode, or an error.
    /// Heartbeats, the artificial ROTATE and the resent FORMAT_DESCRIPTION are
    /// returned too (parser::feed() passes over them).
    result<bool> next(raw_event& ev) {
        if (!pending_file_.empty()) {
            file_ = std::move(pending_file_);
            pending_file_.clear();
        }
        auto p = conn_.read_packet();
        if (!p) {
            classify(p.error_value());
            return p.error_value();
        }
        std::string_view pk = *p;
        if (pk.empty()) return fail(conn_.protocol_error("empty packet in the binlog stream"));
        const auto b0 = static_cast<unsigned char>(pk[0]);
        if (b0 == 0xFE && pk.size() < 9) return false;
        if (b0 == 0xFF) return fail(conn_.server_failure(pk, "binlog dump from " + describe_start()));
        if (b0 != 0x00) return fail(conn_.protocol_error("unexpected packet type " + std::to_string(b0) + " in the binlog stream"));
        pk.remove_prefix(1);
        if (pk.size() < header_size) return fail(conn_.protocol_error("event shorter than its header"));
        parse_header(reinterpret_cast<const unsigned char*>(pk.data()), ev);
        if (ev.size != pk.size())
            return fail(conn_.protocol_error("event length " + std::to_string(ev.size) + " disagrees with the packet (" +
                                             std::to_string(pk.size()) + " bytes)"));
        if (ev.size > opt_.max_event_size) return fail(conn_.protocol_error("event larger than max_event_size"));
        ev.offset = ev.next_position >= ev.size ? ev.next_position - ev.size : 0;
        const auto type = static_cast<event_type>(ev.type);
        // The stream's events need not be written in place: the check works on a const packet.
        auto body_end = checksum_step(reinterpret_cast<const unsigned char*>(pk.data()), pk.size(), alg_,
                                      opt_.verify_checksum, [&](errc e, std::string_view what) {
                                          return error::make(e, "binlog",
                                                             file_ + " at offset " + std::to_string(ev.offset) + " (" +
                                                                 std::string(to_string(type)) + ", replication stream)",
                                                             what);
                                      });
        if (!body_end) return fail(body_end.error_value());
        ev.body = pk.substr(header_size, *body_end - header_size);
        const bool artificial = (ev.flags & flag_artificial) || ev.next_position == 0;
        if (type == event_type::rotate) {
            detail::binlog::cursor c(ev.body);
            std::uint64_t pos = 0;
            if (!c.le(8, pos)) return fail(conn_.protocol_error("ROTATE too short"));
            std::string name(c.rest());
            if (artificial) {
                file_ = std::move(name);
            } else {
                pending_file_ = std::move(name);
                if (pending_file_.empty()) pending_file_ = file_;
            }
            position_ = pos;
        } else if (type == event_type::heartbeat || type == event_type::heartbeat_v2) {
            ++heartbeats_;
        } else if (!artificial) {
            position_ = ev.next_position;
        }
        ++events_;
        return true;
    }

    /// File of the event last returned by next() (a ROTATE's new name applies from the next event).
    const std::string& file() const noexcept { return file_; }
    /// Name the next event belongs to (differs from file() right after a real ROTATE).
    const std::string& next_file() const noexcept { return pending_file_.empty() ? file_ : pending_file_; }
    /// End offset of the last non-artificial event (or the position a ROTATE named).
    std::uint64_t position() const noexcept { return position_; }
    const std::string& server_version() const noexcept { return conn_.server_version(); }
    bool mariadb() const noexcept { return conn_.mariadb(); }
    std::uint64_t heartbeats() const noexcept { return heartbeats_; }
    std::uint64_t events() const noexcept { return events_; }
    /// After a failure: the stop descriptor became readable.
    bool stop_requested() const noexcept { return conn_.stop_requested() || stopped_at_open_; }
    /// After a failure: a transport error or a server error meaning "try again later".
    bool retryable() const noexcept { return retryable_; }
    /// The connection's socket (readable when the server sent something); -1 before open.
    int native_handle() const noexcept { return conn_.fd(); }
    /// With TLS: events already received and decrypted, which poll(2) on native_handle() does not
    /// see; read them (next()) before waiting on the descriptor.
    bool buffered() const noexcept { return conn_.buffered(); }
    /// True when the connection is encrypted (TLS); tls_cipher() names the cipher.
    bool tls() const noexcept { return conn_.tls(); }
    std::string tls_cipher() const { return conn_.tls_cipher(); }
    /// The server's last ERR packet (code 0 if none).
    const detail::mysql::server_error& server_error() const noexcept { return conn_.last_server_error(); }
    /// Closes the connection (COM_QUIT).
    void close() noexcept { conn_.close(); }

private:
    std::string describe_start() const {
        if (opt_.gtid) return "GTID position '" + *opt_.gtid + "'";
        if (file_.empty()) return "the server's first binlog at " + std::to_string(opt_.position);
        return "'" + file_ + "' at " + std::to_string(opt_.position);
    }
    error fail(error e) {
        classify(e);
        return e;
    }
    static bool retryable_server_error(std::uint16_t code) noexcept {
        return code == 1040 || code == 1053 || code == 1077 || code == 1079 || (code >= 1152 && code <= 1161) ||
               code == 1927 || code == 1317;
    }
    void classify(const error& e) {
        const auto code = conn_.last_server_error().code;
        if (code != 0) retryable_ = retryable_server_error(code);
        else retryable_ = e.code == make_error_code(errc::io_error);
    }
    void classify_open_failure(const error& e, const detail::mysql::open_failure& why) {
        stopped_at_open_ = why.stop_requested;
        if (why.server.code != 0) retryable_ = retryable_server_error(why.server.code);
        else retryable_ = e.code == make_error_code(errc::io_error);
    }

    static std::string sql_quote(std::string_view s) {
        std::string q = "'";
        for (char c : s) {
            if (c == '\'' || c == '\\') q += '\\';
            q += c;
        }
        return q + "'";
    }

    result<void> setup() {
        const bool maria = conn_.mariadb();
        auto rs = conn_.query("SELECT @@global.binlog_format, @@global.binlog_checksum, @@global.log_bin");
        if (!rs) return rs.error_value();
        if (rs->rows.size() != 1 || rs->rows[0].size() != 3) return conn_.protocol_error("unexpected reply to SELECT @@global.binlog_format");
        const auto& row = rs->rows[0];
        const std::string format = row[0].value_or(""), checksum = row[1].value_or("NONE"), log_bin = row[2].value_or("0");
        if (log_bin == "0" || log_bin == "OFF")
            return error::make(errc::unsupported, "binlog", where(), "binary logging is off on the server (log_bin)");
        if (opt_.require_row_format && format != "ROW")
            return error::make(errc::unsupported, "binlog", where(),
                               "the server's binlog_format is " + format +
                                   ", not ROW: statement events carry no rows (SET GLOBAL binlog_format=ROW)");
        alg_ = checksum == "CRC32" ? checksum_alg::crc32 : checksum_alg::off;
        auto r = conn_.execute("SET @master_binlog_checksum=@@global.binlog_checksum, "
                               "@source_binlog_checksum=@@global.binlog_checksum");
        if (!r) return r;
        if (opt_.heartbeat_period.count() > 0) {
            const std::string ns = std::to_string(static_cast<std::uint64_t>(opt_.heartbeat_period.count()) * 1000000u);
            r = conn_.execute("SET @master_heartbeat_period=" + ns + ", @source_heartbeat_period=" + ns);
            if (!r) return r;
        }
        if (maria) {
            r = conn_.execute("SET @mariadb_slave_capability=4");  // MARIA_SLAVE_CAPABILITY_GTID
            if (!r) return r;
        }
        gtid_state g;
        if (opt_.gtid) {
            auto parsed = gtid_state::parse(*opt_.gtid);
            if (!parsed) return parsed.error_value();
            g = std::move(*parsed);
            if (maria && g.is_mysql())
                return error::make(errc::invalid_value, "binlog", where(), "a MySQL GTID set given to a MariaDB server");
            if (!maria && !g.empty() && !g.is_mysql())
                return error::make(errc::invalid_value, "binlog", where(), "a MariaDB GTID position given to a MySQL server");
            if (maria) {
                r = conn_.execute("SET @slave_connect_state=" + sql_quote(g.str()));
                if (!r) return r;
                r = conn_.execute("SET @slave_gtid_strict_mode=1, @slave_gtid_ignore_duplicates=0");
                if (!r) return r;
            }
        }
        // An empty file name asks the server for its first binlog; the artificial ROTATE names it.
        const std::string file = opt_.gtid ? std::string{} : opt_.file;
        file_ = file;
        if (opt_.register_replica) {
            std::string a;
            detail::mysql::put_le(a, opt_.server_id, 4);
            const std::string host = opt_.report_host.substr(0, 60);
            a += static_cast<char>(host.size());
            a += host;
            a += '\0';  // user
            a += '\0';  // password
            detail::mysql::put_le(a, 0, 2);  // port
            detail::mysql::put_le(a, 0, 4);  // replication rank
            detail::mysql::put_le(a, 0, 4);  // master id
            r = conn_.command(detail::mysql::com_register_slave, a);
            if (!r) return r;
            auto p = conn_.read_packet();
            if (!p) return p.error_value();
            if (!p->empty() && static_cast<unsigned char>((*p)[0]) == 0xFF) return conn_.server_failure(*p, "COM_REGISTER_SLAVE");
        }
        if (opt_.gtid && !maria) {
            r = conn_.command(detail::mysql::com_binlog_dump_gtid, dump_gtid_arguments(opt_.server_id, opt_.stop_at_end, g));
        } else {
            const std::uint64_t pos = opt_.gtid ? 4 : opt_.position;
            if (pos > 0xFFFFFFFFu)
                return error::make(errc::limit_exceeded, "binlog", where(), "start position over 4 GiB (COM_BINLOG_DUMP has 32 bits)");
            r = conn_.command(detail::mysql::com_binlog_dump, dump_arguments(opt_.server_id, opt_.stop_at_end, file, pos, maria));
        }
        if (!r) return r;
        position_ = opt_.gtid ? 4 : opt_.position;
        if (!opt_.stop_at_end && opt_.heartbeat_period.count() > 0)
            conn_.set_read_timeout(opt_.heartbeat_period * std::max(1u, opt_.heartbeat_misses));
        else
            conn_.set_read_timeout(opt_.connection.read_timeout);
        return {};
    }

    std::string where() const {
        return opt_.connection.socket.empty() ? opt_.connection.host + ":" + std::to_string(opt_.connection.port)
                                              : opt_.connection.socket;
    }

    stream_options opt_;
    detail::mysql::connection conn_;
    std::string file_, pending_file_;
    std::uint64_t position_ = 4;
    std::uint64_t heartbeats_ = 0, events_ = 0;
    checksum_alg alg_ = checksum_alg::undefined;
    bool retryable_ = false;
    bool stopped_at_open_ = false;
};

/// The end of the server's binlog now: SHOW MASTER STATUS's file and position (SHOW BINARY
/// LOG STATUS on MySQL 8.4+) and the GTID position of what it has logged (MariaDB
/// @@global.gtid_binlog_pos, MySQL @@global.gtid_executed). Start a stream there to see
/// only changes made from now on. Needs REPLICATION CLIENT (MySQL) or BINLOG MONITOR
/// (MariaDB). Errors as stream::open(); binary logging off is `unsupported`.
inline result<position> current_server_position(const connect_options& o) {
    auto c = detail::mysql::connection::open(o, "binlog");
    if (!c) return c.error_value();
    auto st = c->query("SHOW MASTER STATUS");
    if (!st && c->last_server_error().code == 1064) st = c->query("SHOW BINARY LOG STATUS");
    if (!st) return st.error_value();
    if (st->rows.empty() || st->rows[0].size() < 2 || !st->rows[0][0] || !st->rows[0][1])
        return error::make(errc::unsupported, "binlog", o.socket.empty() ? o.host + ":" + std::to_string(o.port) : o.socket,
                           "SHOW MASTER STATUS is empty: binary logging is off (log_bin)");
    position p;
    p.file = *st->rows[0][0];
    p.offset = std::strtoull(st->rows[0][1]->c_str(), nullptr, 10);
    auto g = c->query(c->mariadb() ? "SELECT @@global.gtid_binlog_pos" : "SELECT @@global.gtid_executed");
    if (!g) return g.error_value();
    if (!g->rows.empty() && !g->rows[0].empty() && g->rows[0][0]) {
        std::string v = *g->rows[0][0];
        std::erase(v, '\n');
        p.gtid = std::move(v);
    }
    c->close();
    return p;
}


}  // namespace binlog
ROWCAST_NAMESPACE_END
