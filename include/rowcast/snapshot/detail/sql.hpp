// rowcast/snapshot/detail/sql.hpp: the SQL the snapshot runs over rowcast's client
// (rowcast/mysql/connection.hpp): statements and small results with errors that name the
// statement, the consistent-snapshot start on MariaDB and MySQL, the keyset-paginated chunk
// query, and the hex form of key cells in cursors.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/mysql/quote.hpp>
#include <rowcast/version.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace detail::snapshot {

using cells = std::vector<std::optional<std::string>>;

/// The client's error (its class kept: refused, not_found, unavailable, io_error…) with what
/// the snapshot was doing and where: "... (<what>, <where>)".
inline error query_error(const error& e, std::string_view where, std::string_view what) {
    return error{e.code, e.message + " (" + std::string(what) + ", " + std::string(where) + ")"};
}

/// query_error() for a chunk's rows: a row over the connection's byte limit also names the
/// setting (connect_options::max_result_bytes) and the programs' spelling of it.
inline error chunk_read_error(const error& e, std::string_view where, std::size_t max_result_bytes) {
    if (e.code != make_error_code(errc::limit_exceeded)) return query_error(e, where, "reading the chunk failed");
    return query_error(e, where,
                       "reading the chunk failed: a row is larger than max_result_bytes = " +
                           std::to_string(max_result_bytes) +
                           "; raise it (rowcast-binlog --snapshot-max-result-bytes, rowcastd snapshot.max_result_bytes)");
}

/// `name` quoted as an identifier: `a``b`.
inline std::string ident(std::string_view name) { return ::rowcast::mysql::quote_identifier(name); }

/// The statement's start, for error messages.
inline std::string statement_head(std::string_view q) { return "'" + std::string(q.substr(0, 80)) + "' failed"; }

/// Runs a statement (a result, if any, is read and dropped).
inline result<void> exec(::rowcast::mysql::connection& m, std::string_view q, std::string_view where) {
    if (auto r = m.execute(q); !r) return query_error(r.error_value(), where, statement_head(q));
    return {};
}

/// Every row of a small result (server metadata), at most `max` (more: limit_exceeded; the
/// rest is not read, the connection is then closed).
inline result<std::vector<cells>> rows(::rowcast::mysql::connection& m, std::string_view q, std::string_view where,
                                       std::size_t max = 100000) {
    auto r = m.query(q);
    if (!r) return query_error(r.error_value(), where, statement_head(q));
    std::vector<cells> out;
    for (;;) {
        auto more = r->next();
        if (!more) return query_error(more.error_value(), where, "reading the result of " + statement_head(q));
        if (!*more) return out;
        if (out.size() >= max) {
            m.close();
            return error::make(errc::limit_exceeded, "snapshot", where, "more than " + std::to_string(max) + " rows");
        }
        out.push_back(r->owned());
    }
}

/// The binary-like types whose key literals are written as X'..' (a quoted string
/// compares as text).
inline bool binary_literal(sql_type t) noexcept {
    switch (t) {
        case sql_type::binary: case sql_type::varbinary: case sql_type::tinyblob: case sql_type::blob:
        case sql_type::mediumblob: case sql_type::longblob: case sql_type::bit: case sql_type::geometry:
            return true;
        default: return false;
    }
}

inline std::string hex(std::string_view s) {
    std::string out;
    out.reserve(s.size() * 2);
    for (unsigned char c : s) {
        out += detail::hex_lower[c >> 4];
        out += detail::hex_lower[c & 15];
    }
    return out;
}

inline bool unhex(std::string_view s, std::string& out) {
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (s.size() % 2) return false;
    out.clear();
    for (std::size_t i = 0; i < s.size(); i += 2) {
        const int a = nib(s[i]), b = nib(s[i + 1]);
        if (a < 0 || b < 0) return false;
        out += static_cast<char>(a << 4 | b);
    }
    return true;
}

/// Key cells as text: "x<hex>" per cell ("-" for NULL), comma-separated.
inline std::string key_text(const cells& key) {
    std::string k;
    for (std::size_t i = 0; i < key.size(); ++i) k += (i ? "," : "") + (key[i] ? "x" + hex(*key[i]) : std::string("-"));
    return k;
}

/// The literal of a key cell for a WHERE clause: a number unquoted for numeric columns (a
/// quoted one compares as DOUBLE, which the range optimizer cannot use: every chunk would scan
/// the index from the start), X'..' for binary types, else a quoted string.
/// A text literal is utf8mb4 (the session's character set) even when written X'..' (a value
/// with a backslash or a control byte, mysql::quote_string): the column's collation compares it.
inline std::string literal(const column& c, const std::string& v) {
    if (binary_literal(c.type.type)) return "X'" + hex(v) + "'";
    const bool numeric = natural_kind(c.type.type, c.type.is_unsigned) == value_kind::int64 ||
                         natural_kind(c.type.type, c.type.is_unsigned) == value_kind::uint64 ||
                         c.type.type == sql_type::decimal || c.type.type == sql_type::year;
    if (numeric && !v.empty() && v.find_first_not_of("-0123456789.") == std::string::npos) return v;
    std::string q = ::rowcast::mysql::quote_string(v);
    return q.starts_with("X'") ? "_utf8mb4 " + q : q;
}

/// "SELECT cols FROM t [WHERE (k1,..) > last] ORDER BY k1,.. LIMIT n" (no key: the whole table).
inline std::string chunk_query(std::string_view schema, std::string_view table, const column_list& cols,
                               const std::vector<std::size_t>& key, const cells& last, std::size_t limit) {
    std::string q = "SELECT ";
    for (std::size_t i = 0; i < cols.size(); ++i) q += (i ? "," : "") + ident(cols[i].name);
    q += " FROM " + ident(schema) + "." + ident(table);
    if (key.empty()) return q;
    if (!last.empty()) {  // k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...: a range the optimizer uses
        q += " WHERE ";
        for (std::size_t i = 0; i < key.size(); ++i) {
            q += i ? " OR (" : "(";
            for (std::size_t j = 0; j < i; ++j)
                q += ident(cols[key[j]].name) + "=" + literal(cols[key[j]], *last[j]) + " AND ";
            q += ident(cols[key[i]].name) + ">" + literal(cols[key[i]], *last[i]) + ")";
        }
    }
    q += " ORDER BY ";
    for (std::size_t i = 0; i < key.size(); ++i) q += (i ? "," : "") + ident(cols[key[i]].name);
    return q += " LIMIT " + std::to_string(limit);
}

/// The session settings of a consistent read (UTC for TIMESTAMP text, repeatable read).
inline result<void> prepare_consistent_read(::rowcast::mysql::connection& m, std::string_view where) {
    for (std::string_view q : {"SET SESSION time_zone='+00:00'",
                               "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"})
        if (auto r = exec(m, q, where); !r) return r.error_value();
    return {};
}

/// MariaDB's start: START TRANSACTION WITH CONSISTENT SNAPSHOT and the binlog_snapshot_file /
/// binlog_snapshot_position status of that transaction (no lock), the GTID from
/// BINLOG_GTID_POS() of that point.
inline result<::rowcast::binlog::position> start_from_snapshot_status(::rowcast::mysql::connection& m,
                                                                       std::string_view where) {
    ::rowcast::binlog::position p;
    if (auto r = exec(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", where); !r) return r.error_value();
    auto st = rows(m, "SHOW STATUS LIKE 'binlog_snapshot_%'", where);
    if (!st) return st.error_value();
    for (const auto& r : *st) {
        if (r.size() < 2 || !r[0] || !r[1]) continue;
        if (*r[0] == "Binlog_snapshot_file") p.file = *r[1];
        if (*r[0] == "Binlog_snapshot_position" && !detail::parse_number(*r[1], p.offset))
            return error::make(errc::invalid_value, "snapshot", where, "Binlog_snapshot_position is not a number");
    }
    if (p.file.empty())
        return error::make(errc::unsupported, "snapshot", where,
                           "the server has no binary log (binlog_snapshot_file is empty): nothing to stream from");
    auto g = rows(m, "SELECT BINLOG_GTID_POS(" + ::rowcast::mysql::quote_string(p.file) + "," + std::to_string(p.offset) + ")", where);
    if (!g) return g.error_value();
    if (!g->empty() && !(*g)[0].empty() && (*g)[0][0]) p.gtid = *(*g)[0][0];
    return p;
}

/// MySQL's start (MySQL has no binlog_snapshot status): FLUSH TABLES WITH READ LOCK held only
/// across START TRANSACTION WITH CONSISTENT SNAPSHOT and SHOW MASTER STATUS (file, position and,
/// from MySQL's fifth column, Executed_Gtid_Set). Tested against MariaDB, which runs the same
/// statements (its SHOW MASTER STATUS has four columns: no GTID); MySQL's fifth column is not.
inline result<::rowcast::binlog::position> start_under_read_lock(::rowcast::mysql::connection& m, std::string_view where) {
    ::rowcast::binlog::position p;
    if (auto r = exec(m, "FLUSH TABLES WITH READ LOCK", where); !r) return r.error_value();
    auto unlock = [&] { (void)exec(m, "UNLOCK TABLES", where); };
    if (auto r = exec(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT", where); !r) {
        unlock();
        return r.error_value();
    }
    auto st = rows(m, "SHOW MASTER STATUS", where);
    unlock();
    if (!st) return st.error_value();
    if (st->empty() || (*st)[0].size() < 2 || !(*st)[0][0] || !(*st)[0][1])
        return error::make(errc::unsupported, "snapshot", where, "the server has no binary log (SHOW MASTER STATUS is empty)");
    const auto& r = (*st)[0];
    p.file = *r[0];
    if (!detail::parse_number(*r[1], p.offset))
        return error::make(errc::invalid_value, "snapshot", where, "SHOW MASTER STATUS position is not a number");
    if (r.size() >= 5 && r[4]) {
        for (char c : *r[4])
            if (c != '\n' && c != '\r') p.gtid += c;
    }
    return p;
}

/// Starts the consistent read and returns the binlog position it corresponds to: the
/// server's own start (MariaDB: start_from_snapshot_status; MySQL: start_under_read_lock).
inline result<::rowcast::binlog::position> start_consistent_read(::rowcast::mysql::connection& m, std::string_view where) {
    if (auto r = prepare_consistent_read(m, where); !r) return r.error_value();
    return m.mariadb() ? start_from_snapshot_status(m, where) : start_under_read_lock(m, where);
}

}  // namespace detail::snapshot
ROWCAST_NAMESPACE_END
