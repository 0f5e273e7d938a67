// rowcast/binlog/stream.hpp: follow a running MySQL or MariaDB server as a
// replica (COM_BINLOG_DUMP / COM_BINLOG_DUMP_GTID) over rowcast's own client
// protocol (detail/mysql_protocol.hpp; no libmysqlclient).
//
//   rowcast::binlog::stream     one replication connection: yields raw_events
//                               (CRC32 verified) that parser::feed() decodes.
//   rowcast::binlog::follower   stream -> parser -> handler, with the resume
//                               position, reconnects with bounded exponential
//                               backoff, dead-peer detection by heartbeats,
//                               checkpoints (checkpoint.hpp) and stop().
//   rowcast::binlog::gtid_state a MariaDB GTID position ("0-1-42,1-2-7") or a
//                               MySQL GTID set ("uuid:1-42:50-60,…").
//
//   rowcast::binlog::follower_options o;
//   o.stream.connection = {.host = "db1", .port = 3306, .user = "repl", .password = pw};
//   o.stream.gtid = "0-1-100";          // or o.stream.file = "binlog.000042", o.stream.position = 4
//   rowcast::binlog::follower f(o);
//   auto r = f.run(my_handler, my_store);   // returns after f.stop(), or on a fatal error
//
// Server requirements: binlog_format=ROW (checked at connect: a clear error
// otherwise), log_bin on; the user needs REPLICATION SLAVE (the stream runs
// only SELECT @@global.…, SET @… and the dump command). Authentication:
// mysql_native_password only (an auth-switch to it is followed; other plugins
// are a clear error).
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
//   unsupported    binlog_format is not ROW, binary logging is off, an
//                  authentication plugin other than mysql_native_password.
// The follower retries transport errors and server errors that mean "try
// again later" (1040, 1053, 1077, 1152-1161, 1927); everything else ends run().
//
// Thread-safety: a stream is used by one thread. follower::run() runs on one
// thread; stop() may be called from any thread or a signal handler;
// current_position() and stats() from any thread.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/binlog/handler.hpp>
#include <rowcast/binlog/parser.hpp>
#include <rowcast/binlog/reader.hpp>
#include <rowcast/binlog/types.hpp>
#include <rowcast/detail/binlog_wire.hpp>
#include <rowcast/detail/mysql_protocol.hpp>
#include <rowcast/error.hpp>
#include <rowcast/version.hpp>

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <poll.h>
#include <sys/eventfd.h>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// Where and as whom to connect (TCP host:port, or a Unix socket), with timeouts.
using connect_options = detail::mysql::connect_options;

// ---------------------------------------------------------------------------
// GTID state

/// A GTID position. MariaDB: the last GTID per replication domain, "d-s-n,…"
/// (add() replaces the domain's entry). MySQL: a GTID set, "uuid:a-b:c,…"
/// (add() inserts the number into the uuid's intervals). The flavour is fixed by
/// the first GTID parsed or added (a ':' means MySQL). MySQL 8.3 tagged GTIDs
/// ("uuid:tag:n") are not supported (parse() fails).
class gtid_state {
public:
    /// Parses a state string; empty is an empty state of either flavour.
    static result<gtid_state> parse(std::string_view s) {
        gtid_state g;
        while (!s.empty()) {
            const auto comma = s.find(',');
            std::string_view item = trim(s.substr(0, comma));
            s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
            if (item.empty()) continue;
            if (!g.add_item(item, true)) return error::make(errc::syntax_error, "binlog", "GTID", "cannot parse \"" + std::string(item) + "\"");
        }
        return g;
    }

    /// Adds one transaction's GTID ("d-s-n" or "uuid:n"). Returns false if it does not parse.
    bool add(std::string_view gtid) { return add_item(gtid, false); }

    bool empty() const noexcept { return mariadb_.empty() && mysql_.empty(); }
    bool is_mysql() const noexcept { return !mysql_.empty(); }

    /// Canonical text: domains in increasing order; uuids sorted, intervals merged.
    std::string str() const {
        std::string s;
        for (const auto& [d, v] : mariadb_) {
            if (!s.empty()) s += ',';
            s += std::to_string(d) + '-' + std::to_string(v.first) + '-' + std::to_string(v.second);
        }
        for (const auto& [u, iv] : mysql_) {
            if (!s.empty()) s += ',';
            s += u;
            for (const auto& [a, b] : iv) {
                s += ':' + std::to_string(a);
                if (b != a) s += '-' + std::to_string(b);
            }
        }
        return s;
    }

    /// The MySQL GTID set in COM_BINLOG_DUMP_GTID's binary form: n_sids (8), then per
    /// uuid 16 bytes, n_intervals (8) and [start, end) pairs (8 + 8), little-endian.
    std::string encode_mysql() const {
        std::string out;
        detail::mysql::put_le(out, mysql_.size(), 8);
        for (const auto& [u, iv] : mysql_) {
            for (std::size_t i = 0; i < u.size(); i += 2) {
                if (u[i] == '-') { --i; continue; }
                out += static_cast<char>(hexval(u[i]) * 16 + hexval(u[i + 1]));
            }
            detail::mysql::put_le(out, iv.size(), 8);
            for (const auto& [a, b] : iv) {
                detail::mysql::put_le(out, a, 8);
                detail::mysql::put_le(out, b + 1, 8);
            }
        }
        return out;
    }

    friend bool operator==(const gtid_state&, const gtid_state&) = default;

private:
    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    }
    static int hexval(char c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    static bool number(std::string_view s, std::uint64_t& v) noexcept {
        if (s.empty() || s.size() > 20) return false;
        v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return false;
            const std::uint64_t n = v * 10 + static_cast<std::uint64_t>(c - '0');
            if (n / 10 != v) return false;
            v = n;
        }
        return true;
    }
    static bool uuid(std::string_view s, std::string& out) {
        if (s.size() != 36) return false;
        out.clear();
        for (std::size_t i = 0; i < 36; ++i) {
            const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
            if (dash ? s[i] != '-' : hexval(s[i]) < 0) return false;
            out += (s[i] >= 'A' && s[i] <= 'F') ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
        }
        return true;
    }

    bool add_item(std::string_view item, bool ranges) {
        const auto colon = item.find(':');
        if (colon == std::string_view::npos) {  // MariaDB d-s-n
            if (!mysql_.empty()) return false;
            const auto a = item.find('-'), b = item.find('-', a == std::string_view::npos ? a : a + 1);
            std::uint64_t d = 0, srv = 0, n = 0;
            if (a == std::string_view::npos || b == std::string_view::npos || !number(item.substr(0, a), d) ||
                !number(item.substr(a + 1, b - a - 1), srv) || !number(item.substr(b + 1), n) || d > 0xFFFFFFFFu ||
                srv > 0xFFFFFFFFu)
                return false;
            mariadb_[static_cast<std::uint32_t>(d)] = {static_cast<std::uint32_t>(srv), n};
            return true;
        }
        if (!mariadb_.empty()) return false;
        std::string u;
        if (!uuid(item.substr(0, colon), u)) return false;
        auto& iv = mysql_[u];
        std::string_view rest = item.substr(colon + 1);
        bool any = false;
        while (!rest.empty() || !any) {
            const auto c = rest.find(':');
            std::string_view r = rest.substr(0, c);
            rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
            std::uint64_t a = 0, b = 0;
            const auto dash = r.find('-');
            if (dash == std::string_view::npos) {
                if (!number(r, a)) return false;
                b = a;
            } else {
                if (!ranges || !number(r.substr(0, dash), a) || !number(r.substr(dash + 1), b) || b < a) return false;
            }
            if (a == 0) return false;
            insert(iv, a, b);
            any = true;
            if (!ranges && !rest.empty()) return false;
        }
        return true;
    }

    // Inserts [a, b] and merges touching intervals.
    static void insert(std::vector<std::pair<std::uint64_t, std::uint64_t>>& iv, std::uint64_t a, std::uint64_t b) {
        auto it = std::lower_bound(iv.begin(), iv.end(), std::make_pair(a, b));
        it = iv.insert(it, {a, b});
        std::vector<std::pair<std::uint64_t, std::uint64_t>> merged;
        merged.reserve(iv.size());
        for (const auto& x : iv) {
            if (!merged.empty() && x.first <= merged.back().second + 1) merged.back().second = std::max(merged.back().second, x.second);
            else merged.push_back(x);
        }
        iv = std::move(merged);
    }

    std::map<std::uint32_t, std::pair<std::uint32_t, std::uint64_t>> mariadb_;   // domain -> (server, seq)
    std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> mysql_;  // uuid -> [a, b] inclusive
};

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
/// BINLOG_DUMP_NON_BLOCK = 1 with stop_at_end), server id (4), file name (rest).
inline std::string dump_arguments(std::uint32_t server_id, bool stop_at_end, std::string_view file, std::uint64_t pos) {
    std::string a;
    detail::mysql::put_le(a, pos, 4);
    detail::mysql::put_le(a, stop_at_end ? 1 : 0, 2);
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
        auto c = detail::mysql::connection::open(o.connection, "binlog", stop_fd);
        if (!c) {
            classify_open_failure(c.error_value());
            return c.error_value();
        }
        conn_ = std::move(*c);
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
        if (b0 != 0x00) return fail(conn_.protocol_error("unexpected packet 0x" + std::to_string(b0) + " in the binlog stream"));
        pk.remove_prefix(1);
        if (pk.size() < header_size) return fail(conn_.protocol_error("event shorter than its header"));
        parse_header(reinterpret_cast<const unsigned char*>(pk.data()), ev);
        if (ev.size != pk.size())
            return fail(conn_.protocol_error("event length " + std::to_string(ev.size) + " disagrees with the packet (" +
                                             std::to_string(pk.size()) + " bytes)"));
        if (ev.size > opt_.max_event_size) return fail(conn_.protocol_error("event larger than max_event_size"));
        ev.offset = ev.next_position >= ev.size ? ev.next_position - ev.size : 0;
        const auto type = static_cast<event_type>(ev.type);
        std::size_t body_end = pk.size();
        bool has_crc = alg_ == checksum_alg::crc32;
        if (type == event_type::format_description) {
            std::string_view body = pk.substr(header_size);
            if (fde_has_checksum_alg(body)) {
                if (body.size() < 57 + 5) return fail(conn_.protocol_error("FORMAT_DESCRIPTION too short"));
                const auto a = static_cast<std::uint8_t>(body[body.size() - 5]);
                alg_ = a == 1 ? checksum_alg::crc32 : checksum_alg::off;
                body_end = pk.size() - 4;
            } else {
                alg_ = checksum_alg::off;
            }
            has_crc = alg_ == checksum_alg::crc32;
        }
        if (has_crc) {
            if (pk.size() < header_size + 4) return fail(conn_.protocol_error("event too short for its CRC32"));
            if (opt_.verify_checksum) {
                const auto* u = reinterpret_cast<const unsigned char*>(pk.data());
                const std::uint32_t stored = detail::binlog::load_le32(u + pk.size() - 4);
                unsigned char hdr[header_size];
                std::memcpy(hdr, u, header_size);
                if (type == event_type::format_description) hdr[17] = static_cast<unsigned char>(hdr[17] & ~1u);  // BINLOG_IN_USE
                uLong c = ::crc32(0L, Z_NULL, 0);
                c = ::crc32(c, hdr, header_size);
                c = ::crc32_z(c, u + header_size, pk.size() - 4 - header_size);
                if (static_cast<std::uint32_t>(c) != stored)
                    return fail(error::make(errc::invalid_value, "binlog",
                                            file_ + " at offset " + std::to_string(ev.offset) + " (" +
                                                std::string(to_string(type)) + ")",
                                            "CRC32 mismatch in the replication stream"));
            }
            body_end = pk.size() - 4;
        }
        ev.body = pk.substr(header_size, body_end - header_size);
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
    void classify_open_failure(const error& e) {
        // the connection object is gone: decide from the message
        retryable_ = e.code == make_error_code(errc::io_error);
        stopped_at_open_ = e.message.find("stop requested") != std::string::npos;
        const auto at = e.message.find("server error ");
        if (at != std::string::npos) {
            const int code = std::atoi(e.message.c_str() + at + 13);
            retryable_ = retryable_server_error(static_cast<std::uint16_t>(code));
        }
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
            r = conn_.command(detail::mysql::com_binlog_dump, dump_arguments(opt_.server_id, opt_.stop_at_end, file, pos));
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

// ---------------------------------------------------------------------------
// follower

/// When the follower saves its position to a checkpoint store. A save happens
/// after a transaction (or standalone DDL) whose callbacks succeeded when either
/// rule is due, and always when run() returns.
struct checkpoint_policy {
    std::uint64_t every_transactions = 1;        ///< save after this many transactions (0 = not by count)
    std::chrono::milliseconds every{0};          ///< save when this long has passed since the last save (0 = not by time)
};

struct follower_options {
    stream_options stream;   ///< server, credentials, start position (used when the store has none)
    parser_options parser;
    checkpoint_policy checkpoint;
    std::chrono::milliseconds backoff_initial{200};  ///< first wait before reconnecting
    std::chrono::milliseconds backoff_max{10000};    ///< the wait doubles up to this
    /// Consecutive failed connection attempts before run() gives up with the last
    /// error (0 = retry forever). A connection that delivered an event resets the count.
    unsigned max_retries = 0;
};

struct follower_stats {
    std::uint64_t connects = 0;        ///< successful connections (the first included)
    std::uint64_t reconnects = 0;      ///< connections after a loss
    std::uint64_t events = 0;          ///< events received (heartbeats included)
    std::uint64_t heartbeats = 0;
    std::uint64_t transactions = 0;    ///< transactions and standalone DDL handled
    std::uint64_t interrupted = 0;     ///< transactions reported as interrupted rollbacks
    std::uint64_t checkpoints = 0;     ///< successful store.save() calls
};

/// No checkpoint store (run(h) without one).
struct no_checkpoint_store {
    result<std::optional<position>> load() { return std::optional<position>{}; }
    result<void> save(const position&) { return {}; }
};

/// Follows a server: stream -> parser -> handler, reconnecting after losses.
/// The handler sees each transaction once, whole, unless the connection breaks
/// inside it: then it gets rollback(t) with t.interrupted = true (rows of that
/// transaction already passed to it must be discarded), and the transaction is
/// delivered again whole after reconnecting, resuming from the last handled one.
class follower {
public:
    explicit follower(follower_options o) : opt_(std::move(o)), parser_(opt_.parser) {
        stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        stop_errno_ = stop_fd_ ? 0 : errno;
    }
    follower(const follower&) = delete;
    follower& operator=(const follower&) = delete;

    /// Runs until stop(), the end of the binlog (stream.stop_at_end), or a fatal error.
    template <class H>
        requires handler<H>
    result<void> run(H& h) {
        no_checkpoint_store none;
        return run(h, none);
    }

    /// Same, resuming from store.load() when it holds a position and saving to it
    /// according to follower_options::checkpoint. A failing save ends run() with its error.
    template <class H, checkpoint_store S>
        requires handler<H>
    result<void> run(H& h, S& store);

    /// Asks run() to return (after reporting a transaction in progress as interrupted and
    /// saving the checkpoint). Async-signal-safe; the follower stays stopped.
    void stop() noexcept {
        stop_.store(true);
        if (stop_fd_) {
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto n = ::write(stop_fd_.get(), &one, sizeof one);
        }
    }
    bool stop_requested() const noexcept { return stop_.load(); }

    /// Where a restart would resume (the last handled transaction's end, GTID state in GTID mode).
    position current_position() const {
        std::lock_guard<std::mutex> l(mu_);
        return pos_;
    }
    follower_stats stats() const {
        std::lock_guard<std::mutex> l(mu_);
        return stats_;
    }
    /// The last error that caused a reconnect (empty message if none).
    error last_error() const {
        std::lock_guard<std::mutex> l(mu_);
        return last_error_;
    }
    const parser_stats& decode_stats() const noexcept { return parser_.stats(); }

private:
    template <class H>
    struct tracker {
        follower& f;
        H& h;
        bool in_txn = false;
        std::uint32_t server_id = 0, timestamp = 0;

        result<void> begin(const txn_info& t) {
            in_txn = true;
            server_id = t.server_id;
            timestamp = t.timestamp;
            return invoke_callback([&] { return h.begin(t); });
        }
        result<void> commit(const txn_info& t) { return end(t, false); }
        result<void> rollback(const txn_info& t) { return end(t, true); }
        result<void> insert(const txn_info& t, const table_info& tb, image a) {
            return invoke_callback([&] { return h.insert(t, tb, a); });
        }
        result<void> delete_row(const txn_info& t, const table_info& tb, image b) {
            return invoke_callback([&] { return h.delete_row(t, tb, b); });
        }
        result<void> update_before(const txn_info& t, const table_info& tb, image b) {
            return invoke_callback([&] { return h.update_before(t, tb, b); });
        }
        result<void> update_after(const txn_info& t, const table_info& tb, image a) {
            return invoke_callback([&] { return h.update_after(t, tb, a); });
        }
        result<void> ddl(const txn_info& t, std::string_view schema, std::string_view stmt) {
            auto r = invoke_callback([&] { return h.ddl(t, schema, stmt); });
            if (r && !in_txn) f.on_boundary(t.gtid);
            return r;
        }
        result<void> end(const txn_info& t, bool rb) {
            result<void> r;
            if (rb && f.interrupting_) {
                txn_info u = t;
                u.interrupted = true;
                r = invoke_callback([&] { return h.rollback(u); });
            } else {
                r = rb ? invoke_callback([&] { return h.rollback(t); }) : invoke_callback([&] { return h.commit(t); });
            }
            in_txn = false;
            if (r && !f.interrupting_) f.on_boundary(t.gtid);
            return r;
        }
    };

    void on_boundary(std::string_view gtid) {
        std::lock_guard<std::mutex> l(mu_);
        pos_.file = parser_.file();
        if (cur_ && cur_->next_position != 0) pos_.offset = cur_->next_position;
        if (gtid_mode_ && !gtid.empty() && state_.add(gtid)) pos_.gtid = state_.str();
        ++stats_.transactions;
        ++unsaved_;
    }

    // The connection broke inside a transaction: a synthetic QUERY "ROLLBACK" through the
    // parser reports it (with its id and the next sequence number) as interrupted.
    template <class H>
    result<void> interrupt(tracker<H>& t) {
        if (!t.in_txn && !parser_.in_transaction()) return {};
        std::string ev(13, '\0');  // thread id, exec time, db length 0, error code, status length 0
        ev += '\0';                // empty database name
        ev += "ROLLBACK";
        raw_event r;
        r.type = static_cast<std::uint8_t>(event_type::query);
        r.server_id = t.server_id;
        r.timestamp = t.timestamp;
        r.offset = pos_.offset;
        r.size = static_cast<std::uint32_t>(header_size + ev.size());
        r.body = ev;
        cur_ = nullptr;
        interrupting_ = true;
        auto res = parser_.feed(r, t);
        interrupting_ = false;
        t.in_txn = false;
        {
            std::lock_guard<std::mutex> l(mu_);
            ++stats_.interrupted;
        }
        return res;
    }

    template <class S>
    result<void> save(S& store, bool force) {
        using clock = std::chrono::steady_clock;
        if (unsaved_ == 0) return {};
        const auto now = clock::now();
        const bool by_count = opt_.checkpoint.every_transactions > 0 && unsaved_ >= opt_.checkpoint.every_transactions;
        const bool by_time = opt_.checkpoint.every.count() > 0 && now - last_save_ >= opt_.checkpoint.every;
        if (!force && !by_count && !by_time) return {};
        auto r = store.save(current_position());
        if (!r) return r;
        unsaved_ = 0;
        last_save_ = now;
        std::lock_guard<std::mutex> l(mu_);
        ++stats_.checkpoints;
        return {};
    }

    // Waits before reconnecting; false if stop() was called meanwhile.
    bool backoff(std::chrono::milliseconds& wait) {
        pollfd p{stop_fd_.get(), POLLIN, 0};
        const int ms = static_cast<int>(wait.count());
        while (::poll(&p, 1, ms) < 0 && errno == EINTR) {
        }
        wait = std::min(wait * 2, opt_.backoff_max);
        return !stop_requested();
    }

    void note_error(const error& e) {
        std::lock_guard<std::mutex> l(mu_);
        last_error_ = e;
    }

    follower_options opt_;
    parser parser_;
    detail::unique_fd stop_fd_;
    int stop_errno_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    position pos_;                       // guarded by mu_
    follower_stats stats_;               // guarded by mu_
    error last_error_;                   // guarded by mu_
    gtid_state state_;
    bool gtid_mode_ = false;
    const raw_event* cur_ = nullptr;
    bool interrupting_ = false;
    std::uint64_t unsaved_ = 0;
    std::uint64_t heartbeats_before_ = 0;  // heartbeats of earlier connections
    std::chrono::steady_clock::time_point last_save_ = std::chrono::steady_clock::now();
};

template <class H, checkpoint_store S>
    requires handler<H>
result<void> follower::run(H& h, S& store) {
    if (!stop_fd_) return detail::os_error(stop_errno_, "binlog", "follower", "eventfd failed");
    {
        std::lock_guard<std::mutex> l(mu_);
        pos_ = position{opt_.stream.file, opt_.stream.position, opt_.stream.gtid.value_or("")};
    }
    gtid_mode_ = opt_.stream.gtid.has_value();
    auto loaded = store.load();
    if (!loaded) return loaded.error_value();
    if (*loaded) {
        std::lock_guard<std::mutex> l(mu_);
        pos_ = **loaded;
        if (!pos_.gtid.empty()) gtid_mode_ = true;
    }
    {
        auto g = gtid_state::parse(pos_.gtid);
        if (!g) return g.error_value();
        state_ = std::move(*g);
    }
    tracker<H> t{*this, h};
    auto finish = [&](result<void> r) -> result<void> {
        auto s = save(store, true);
        if (!r) return r;
        return s;
    };
    std::chrono::milliseconds wait = opt_.backoff_initial;
    unsigned failures = 0;
    while (!stop_requested()) {
        stream_options so = opt_.stream;
        {
            std::lock_guard<std::mutex> l(mu_);
            so.file = pos_.file;
            so.position = pos_.offset;
            if (gtid_mode_) so.gtid = pos_.gtid;
            else so.gtid.reset();
        }
        stream s;
        auto c = s.connect(so, stop_fd_.get());
        if (!c) {
            if (s.stop_requested() || stop_requested()) break;
            if (!s.retryable() || (opt_.max_retries > 0 && ++failures >= opt_.max_retries)) return finish(c.error_value());
            note_error(c.error_value());
            if (!backoff(wait)) break;
            continue;
        }
        {
            std::lock_guard<std::mutex> l(mu_);
            if (++stats_.connects > 1) ++stats_.reconnects;
        }
        parser_.reset();
        t.in_txn = false;
        raw_event ev;
        for (;;) {
            auto n = s.next(ev);
            if (!n) {
                auto ir = interrupt(t);
                parser_.reset();
                if (!ir) return finish(ir);
                if (s.stop_requested() || stop_requested()) return finish({});
                if (!s.retryable()) return finish(n.error_value());
                note_error(n.error_value());
                if (opt_.max_retries > 0 && ++failures >= opt_.max_retries) return finish(n.error_value());
                if (!backoff(wait)) return finish({});
                break;
            }
            if (!*n) {  // end of the binlog (stop_at_end)
                auto ir = interrupt(t);
                return finish(ir);
            }
            failures = 0;
            wait = opt_.backoff_initial;
            if (parser_.file() != s.file()) parser_.set_file(s.file());
            cur_ = &ev;
            auto r = parser_.feed(ev, t);
            cur_ = nullptr;
            if (!r) return finish(r);
            {
                std::lock_guard<std::mutex> l(mu_);
                ++stats_.events;
                stats_.heartbeats = heartbeats_before_ + s.heartbeats();
                if (ev.type == static_cast<std::uint8_t>(event_type::rotate) && !t.in_txn && !s.next_file().empty()) {
                    // between transactions a ROTATE moves the resume point to the new file
                    if (pos_.file != s.next_file() || pos_.offset != s.position()) {
                        pos_.file = s.next_file();
                        pos_.offset = s.position();
                        ++unsaved_;
                    }
                }
            }
            auto sv = save(store, false);
            if (!sv) return sv;
        }
        heartbeats_before_ += s.heartbeats();
    }
    return finish({});
}

}  // namespace binlog
ROWCAST_NAMESPACE_END
