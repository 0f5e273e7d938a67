// rowcast/sql/sink.hpp: a transactional_sink (pipeline/sink.hpp) into another
// MariaDB/MySQL server, in one of two modes:
//   changelog   per source table a changelog table (FlexCDC's default output): the
//               table's columns with the same SQL types, after metadata columns
//               (rowcast_id auto-increment: the order of application; rowcast_op
//               insert|delete|update_before|update_after; rowcast_txn, rowcast_seq,
//               rowcast_row, rowcast_commit_time UTC, rowcast_position "file:offset",
//               rowcast_gtid). One row per insert and delete, two per update.
//   replicate   the destination table kept equal to the source: inserts and updates as
//               idempotent upserts (INSERT … ON DUPLICATE KEY UPDATE; an update that
//               changes the key deletes the old key first), deletes by key. The key is
//               the source's primary key, or the columns named in sink_options::keys
//               ("schema.table" -> columns); a table with neither is refused.
// Tables are created when first written (CREATE TABLE IF NOT EXISTS, from the event's
// column list; binlog_row_metadata=FULL gives the names and types). Existing tables are
// used as they are.
//
//   rowcast::sql::sink_options o;
//   o.connection = {.host = "db2", .user = "rowcast", .password = pw};
//   o.database = "replica";
//   o.mode = rowcast::sql::sink_mode::replicate;
//   auto sink = rowcast::sql::sink::open(o).value();
//   follower.run(sink, stop);          // resumes from sink.load_cursor(): the state row
//
// Exactly once. write() keeps events in memory. publish(cursor) applies the groups
// staged so far (a commit, a rollback's nothing, a DDL) in ONE destination transaction
// that also writes `cursor` into the state table row named sink_options::name, then
// commits: a crash at any instant leaves both or neither, and open() reads the row back
// (load_cursor()), so the source resumes right after the last committed group. Batching:
// publish() commits once batch_transactions groups are staged or batch_delay has passed
// since the oldest staged group (it keeps the cursor until then; flush() and the next
// publish() after the delay commit). An event that lies before the stored cursor's binlog
// position or before the last group end staged (same server's files; a replay: fanout_sink
// after a restart or a failed publish) is dropped, so each group is applied once.
// Tables are created or altered before the transaction starts (DDL commits implicitly):
// a crash then leaves an empty table or column, never half a group.
//
// DDL: a changed column list (ALTER TABLE … ADD) is followed by ALTER TABLE … ADD COLUMN
// on the destination table; a column whose type changed is refused (errc::unsupported,
// naming the column and both types), which holds the pipeline until the destination is
// altered by hand. In replicate mode a DDL event that drops, truncates or renames a
// table, or alters it other than by ADD, is refused the same way (write() returns the
// error); changelog mode keeps the history and goes on (dropped columns stay, NULL).
//
// Errors ("[rowcast.sql.<errc>] <database or table>: <what>"): unavailable or io_error
// (transient: the destination is unreachable or went away, a deadlock or lock wait timeout: the
// batch stays staged and the next publish() or flush() applies it again on a new
// connection); refused (access denied); invalid_value (a value without SQL form, absent
// from a MINIMAL row image, or refused by the destination: the statement's start is
// quoted); unsupported (see DDL). The session: utf8mb4, time_zone '+00:00', sql_mode
// STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION
// (zero dates allowed), REPEATABLE READ.
//
// Thread-safety: one thread at a time; stats() returns a copy.
#pragma once

#include <rowcast/binlog/checkpoint.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/mysql/connection.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/sql/detail/render.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace sql {

enum class sink_mode { changelog, replicate };

struct sink_options {
    /// The destination server (rowcast/mysql/types.hpp; errors name the component "sql"). Its
    /// max_result_rows and max_result_bytes bound what the sink reads back (the state row, the
    /// destination's columns).
    mysql::connect_options connection;
    std::string database;                  ///< destination database (created if missing); required
    sink_mode mode = sink_mode::changelog;
    /// Destination table name, <schema> and <table> replaced by the source's names;
    /// empty: "<table>" (replicate), "<schema>_<table>" (changelog, FlexCDC's naming).
    std::string table_template;
    std::string state_table = "rowcast_state";  ///< in `database`: one row per sink name
    std::string name = "default";               ///< this sink's state row (one per source)
    /// replicate: key columns of tables without a primary key, by "schema.table".
    std::map<std::string, std::vector<std::string>> keys;
    std::size_t batch_transactions = 1;         ///< source groups per destination transaction (>= 1)
    std::chrono::milliseconds batch_delay{0};   ///< commit a smaller batch once it is this old (0: never by age)
    std::size_t max_statement_bytes = 1 << 20;  ///< multi-row INSERTs are cut at this size
};

struct sink_stats {
    std::uint64_t groups = 0;       ///< source groups (transactions, DDL) committed
    std::uint64_t commits = 0;      ///< destination transactions committed
    std::uint64_t rows = 0;         ///< changes applied (row events)
    std::uint64_t statements = 0;   ///< SQL statements sent
    std::uint64_t skipped = 0;      ///< events dropped as already staged or committed (a replay)
    std::uint64_t schema_changes = 0;  ///< tables created, columns added
    std::uint64_t failures = 0;     ///< failed batches (each retried by the caller)

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("groups", groups, "source groups committed into the destination"));
        v(detail::counter("commits", commits, "destination transactions committed"));
        v(detail::counter("rows", rows, "row changes applied"));
        v(detail::counter("statements", statements, "SQL statements sent"));
        v(detail::counter("skipped", skipped, "events dropped as already staged or committed"));
        v(detail::counter("schema_changes", schema_changes, "tables created and columns added"));
        v(detail::counter("failures", failures, "failed batches"));
    }
};

class sink {
public:
    /// Connects, creates the database and the state table if missing, reads the stored cursor.
    static result<sink> open(sink_options o) {
        if (o.database.empty()) return error::make(errc::missing_field, "sql", "sink", "no destination database given");
        if (o.batch_transactions == 0) o.batch_transactions = 1;
        if (o.table_template.empty()) o.table_template = o.mode == sink_mode::replicate ? "<table>" : "<schema>_<table>";
        sink s(std::move(o));
        if (auto c = s.connect(); !c) return c.error_value();
        auto q = s.query("SELECT resume_cursor FROM " + s.state_ + " WHERE name = " + detail::sql::quote_string(s.opt_.name));
        if (!q) return q.error_value();
        if (!q->empty() && (*q)[0][0]) {
            s.stored_ = *(*q)[0][0];
            s.note_stored();
        }
        return s;
    }

    // ---- transactional_sink ----------------------------------------------------------
    result<void> write(const event& e) {
        if (e.kind == event_kind::ddl && opt_.mode == sink_mode::replicate)
            if (auto r = check_ddl(e); !r) return r;
        if (is_row_event(e.kind) && !e.columns)
            return error::make(errc::missing_field, "sql", e.schema + "." + e.table, "a row event without its column list");
        if (last_end_ && before(e, *last_end_)) {  // a replay of what is staged or committed already
            ++stats_.skipped;
            return {};
        }
        if (staged_.empty()) first_staged_ = std::chrono::steady_clock::now();
        staged_.push_back(e);
        if (ends_group(e, in_txn_)) {
            complete_ = staged_.size();
            ++groups_;
            if (!e.source.file.empty()) last_end_ = binlog::position{e.source.file, e.source.offset + 1, {}};
        }
        return {};
    }
    result<void> write(std::span<const event> batch) { return write_each(*this, batch); }

    /// Commits what is staged (complete groups and the last cursor given to publish()).
    result<void> flush() {
        if (!cursor_ || (upto_groups_ == 0 && cursor_ == stored_)) return {};
        return commit();
    }

    result<std::optional<std::string>> load_cursor() { return stored_; }

    result<void> publish(std::string_view cursor) {
        cursor_ = std::string(cursor);
        upto_ = complete_;  // the groups this cursor covers (later ones wait for their own)
        upto_groups_ = groups_;
        const bool full = groups_ >= opt_.batch_transactions;
        const bool old = opt_.batch_delay.count() > 0 && std::chrono::steady_clock::now() - first_staged_ >= opt_.batch_delay;
        if (groups_ > 0 && !full && !old) return {};
        if (groups_ == 0 && cursor_ == stored_) return {};
        return commit();
    }

    result<void> discard() {
        staged_.resize(complete_);
        in_txn_ = false;
        return {};
    }

    sink_stats stats() const { return stats_; }
    const sink_options& options() const noexcept { return opt_; }

private:
    using cells = std::vector<std::optional<std::string>>;

    struct table_state {
        columns_ptr columns;                 // the column list the destination was checked against
        std::string name;                    // `db`.`table`
        std::string where;                   // db.table (messages)
        std::map<std::string, std::string> dest;  // destination column -> DATA_TYPE
        std::vector<std::size_t> key;        // replicate: key column indexes in `columns`
    };

    explicit sink(sink_options o) : opt_(std::move(o)) {
        state_ = detail::sql::quote_identifier(opt_.database) + "." + detail::sql::quote_identifier(opt_.state_table);
    }

    // A failed statement: the server's error (or the client's) as the sink reports it; the
    // connection is dropped (a new session next time; the server rolls the transaction back).
    error fail(const error& e, std::string_view sql = {}) {
        const mysql::server_error se = conn_ ? conn_->last_server_error() : mysql::server_error{};
        conn_.reset();
        if (se.code == 0) return e;  // transport (io_error: transient), TLS refused, a malformed reply
        std::string msg = "the destination refused: " + se.message + " (error " + std::to_string(se.code) + ")";
        if (!sql.empty()) msg += " in: " + std::string(sql.substr(0, 200)) + (sql.size() > 200 ? "…" : "");
        errc c = mysql::server_errc(se.code);
        if (c == errc::not_found || c == errc::unsupported) c = errc::invalid_value;  // the statement, not the moment
        return error::make(c, "sql", opt_.database, msg);
    }

    result<void> exec(const std::string& sql) {
        ++stats_.statements;
        if (auto r = conn_->execute(sql); !r) return fail(r.error_value(), sql);
        return {};
    }

    result<std::vector<cells>> query(const std::string& sql) {
        if (auto c = connect(); !c) return c.error_value();
        ++stats_.statements;
        auto r = conn_->query_all(sql);
        if (!r) return fail(r.error_value(), sql);
        return std::move(r->rows);
    }

    result<void> connect() {
        if (conn_) return {};
        auto c = mysql::connection::open(opt_.connection, "sql");
        if (!c) return c.error_value();
        conn_.emplace(std::move(*c));
        for (const char* s : {"SET SESSION time_zone = '+00:00'",
                              "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES,"
                              "NO_ENGINE_SUBSTITUTION'",
                              "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET SESSION autocommit = 1"})
            if (auto r = exec(s); !r) return r;
        if (!ready_) {
            if (auto r = exec("CREATE DATABASE IF NOT EXISTS " + detail::sql::quote_identifier(opt_.database)); !r) return r;
            if (auto r = exec("CREATE TABLE IF NOT EXISTS " + state_ +
                              " (name VARCHAR(191) NOT NULL PRIMARY KEY, resume_cursor TEXT NOT NULL,"
                              " updated DATETIME(6) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
                !r)
                return r;
            ready_ = true;
        }
        return {};
    }

    // The stored cursor's binlog position: what came before it is not taken again.
    void note_stored() {
        if (!stored_) return;
        // an incremental snapshot's part after the position (binlog/checkpoint.hpp) is not ours to read
        if (auto p = binlog::parse_cursor(binlog::position_part(*stored_), "state"); p && !p->file.empty())
            last_end_ = std::move(*p);
    }

    // True if `e` lies before binlog position `p` in the same server's files.
    static bool before(const event& e, const binlog::position& p) {
        if (e.source.file.empty()) return false;
        const std::string& a = e.source.file;
        const auto prefix = [](const std::string& f) { return f.substr(0, f.rfind('.')); };
        if (prefix(a) != prefix(p.file)) return false;  // another server's files: not comparable
        if (a != p.file) return a.size() != p.file.size() ? a.size() < p.file.size() : a < p.file;
        return e.source.offset < p.offset;
    }

    result<void> commit() {
        if (auto c = connect(); !c) return fail_batch(c.error_value());
        // Tables first: DDL commits implicitly, so never inside the batch's transaction.
        for (std::size_t i = 0; i < upto_; ++i)
            if (is_row_event(staged_[i].kind))
                if (auto t = prepare(staged_[i]); !t) return fail_batch(t.error_value());
        if (auto r = exec("START TRANSACTION"); !r) return fail_batch(r.error_value());
        std::uint64_t rows = 0, groups = 0;
        std::size_t begin = 0;
        bool in_txn = false;
        for (std::size_t i = 0; i < upto_; ++i) {
            if (!ends_group(staged_[i], in_txn)) continue;
            const std::span<const event> group(staged_.data() + begin, i + 1 - begin);
            begin = i + 1;
            ++groups;
            if (staged_[i].kind == event_kind::rollback) continue;  // rolled back: nothing of it applies
            if (auto r = apply(group, rows); !r) return fail_batch(r.error_value());
        }
        if (auto r = exec("INSERT INTO " + state_ + " (name, resume_cursor, updated) VALUES (" +
                          detail::sql::quote_string(opt_.name) + ", " + detail::sql::quote_string(*cursor_) +
                          ", UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE resume_cursor = VALUES(resume_cursor), "
                          "updated = VALUES(updated)");
            !r)
            return fail_batch(r.error_value());
        if (auto r = exec("COMMIT"); !r) return fail_batch(r.error_value());
        staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(upto_));
        complete_ -= upto_;
        groups_ -= upto_groups_;
        upto_ = 0;
        upto_groups_ = 0;
        first_staged_ = std::chrono::steady_clock::now();
        stored_ = cursor_;
        ++stats_.commits;
        stats_.groups += groups;
        stats_.rows += rows;
        return {};
    }

    error fail_batch(error e) {
        ++stats_.failures;
        batch_sql_.clear();
        batch_table_ = nullptr;
        conn_.reset();  // rolls the transaction back (the server ends it with the session)
        return e;
    }

    std::string table_name(const event& e) const {
        std::string n = opt_.table_template;
        for (const auto& [k, v] : {std::pair<std::string_view, const std::string&>{"<schema>", e.schema}, {"<table>", e.table}})
            for (std::size_t at; (at = n.find(k)) != std::string::npos;) n.replace(at, k.size(), v);
        return n;
    }

    static constexpr std::string_view meta_columns =
        "rowcast_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        "rowcast_op ENUM('insert','delete','update_before','update_after') NOT NULL, "
        "rowcast_txn VARCHAR(255) NOT NULL, rowcast_seq BIGINT UNSIGNED NOT NULL, rowcast_row INT UNSIGNED NOT NULL, "
        "rowcast_commit_time DATETIME(6) NULL, rowcast_position VARCHAR(512) NOT NULL, "
        "rowcast_gtid VARCHAR(255) NOT NULL";

    // Creates the destination table or adds the columns it lacks; checks the key.
    result<void> prepare(const event& e) {
        table_state& t = tables_[e.schema + '\0' + e.table];
        if (t.columns && (t.columns == e.columns || *t.columns == *e.columns)) return {};
        const column_list& cols = *e.columns;
        if (t.name.empty()) {
            const std::string n = table_name(e);
            t.name = detail::sql::quote_identifier(opt_.database) + "." + detail::sql::quote_identifier(n);
            t.where = opt_.database + "." + n;
        }
        const std::string src = e.schema + "." + e.table;
        std::vector<std::size_t> key;
        if (opt_.mode == sink_mode::replicate) {
            if (auto k = opt_.keys.find(src); k != opt_.keys.end()) {
                for (const auto& name : k->second) {
                    auto i = cols.find(name);
                    if (!i) return error::make(errc::invalid_value, "sql", src, "the key column '" + name + "' is not in the table");
                    key.push_back(*i);
                }
            } else {
                for (std::size_t i = 0; i < cols.size(); ++i)
                    if (cols[i].primary_key) key.push_back(i);
            }
            if (key.empty())
                return error::make(errc::unsupported, "sql", src,
                                   "the table has no primary key: name its key columns (keys option) to replicate it");
        }
        auto have = query("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
                          detail::sql::quote_string(opt_.database) + " AND TABLE_NAME = " + detail::sql::quote_string(table_name(e)));
        if (!have) return have.error_value();
        t.dest.clear();
        for (const auto& row : *have) t.dest[row[0].value_or("")] = row[1].value_or("");
        if (t.dest.empty()) {
            std::string sql = "CREATE TABLE IF NOT EXISTS " + t.name + " (";
            if (opt_.mode == sink_mode::changelog) sql += std::string(meta_columns) + ", ";
            for (std::size_t i = 0; i < cols.size(); ++i) {
                auto type = detail::sql::column_sql_type(cols[i], src);
                if (!type) return type.error_value();
                if (opt_.mode == sink_mode::changelog && cols[i].name.starts_with("rowcast_"))
                    return error::make(errc::unsupported, "sql", src, "column '" + cols[i].name + "': the rowcast_ prefix is the changelog's own");
                sql += detail::sql::quote_identifier(cols[i].name) + " " + *type;
                const bool is_key = std::find(key.begin(), key.end(), i) != key.end();
                sql += is_key ? " NOT NULL" : " NULL";
                if (cols[i].type.type == sql_type::timestamp && !is_key) sql += " DEFAULT NULL";
                sql += ", ";
                t.dest[cols[i].name] = std::string(detail::sql::data_type_name(cols[i].type.type));
            }
            if (opt_.mode == sink_mode::replicate) {
                sql += "PRIMARY KEY (";
                for (std::size_t k = 0; k < key.size(); ++k) sql += (k ? ", " : "") + detail::sql::quote_identifier(cols[key[k]].name);
                sql += "), ";
            }
            sql.resize(sql.size() - 2);
            sql += ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
            if (auto r = exec(sql); !r) return r;
            ++stats_.schema_changes;
        } else {
            for (const auto& c : cols) {
                auto type = detail::sql::column_sql_type(c, src);
                if (!type) return type.error_value();
                auto it = t.dest.find(c.name);
                if (it == t.dest.end()) {
                    if (auto r = exec("ALTER TABLE " + t.name + " ADD COLUMN " + detail::sql::quote_identifier(c.name) + " " + *type + " NULL");
                        !r)
                        return r;
                    t.dest[c.name] = std::string(detail::sql::data_type_name(c.type.type));
                    ++stats_.schema_changes;
                    continue;
                }
                if (!same_type(it->second, c.type.type))
                    return error::make(errc::unsupported, "sql", t.where,
                                       "column '" + c.name + "' is now " + *type + " in " + src + " but " + it->second +
                                           " here: the sink cannot follow this change (alter the destination table to "
                                           "match, then restart)");
            }
        }
        t.columns = e.columns;
        t.key = std::move(key);
        return {};
    }

    static bool same_type(std::string_view dest, sql_type src) noexcept {
        const std::string_view want = detail::sql::data_type_name(src);
        if (dest == want) return true;
        if (src == sql_type::json) return dest == "json" || dest == "longtext";
        if (src == sql_type::geometry) return true;  // GEOMETRY or a subtype: WKB fits either
        return false;
    }

    // Appends a multi-row INSERT's row (opening the statement when needed).
    result<void> add_row(const table_state& t, const std::string& prefix, const std::string& suffix, std::string_view row) {
        if (batch_table_ != &t || batch_prefix_ != prefix || batch_sql_.size() + row.size() > opt_.max_statement_bytes)
            if (auto r = flush_batch(); !r) return r;
        if (batch_sql_.empty()) {
            batch_sql_ = prefix;
            batch_suffix_ = suffix;
            batch_prefix_ = prefix;
            batch_table_ = &t;
        } else {
            batch_sql_ += ',';
        }
        batch_sql_ += row;
        return {};
    }
    result<void> flush_batch() {
        if (batch_sql_.empty()) return {};
        std::string sql = std::move(batch_sql_);
        sql += batch_suffix_;
        batch_sql_.clear();
        batch_table_ = nullptr;
        return exec(sql);
    }

    result<void> values(std::string& out, const event& e, const std::vector<value>& img, std::string_view where) {
        for (std::size_t i = 0; i < img.size(); ++i) {
            if (i) out += ',';
            if (auto r = detail::sql::append_literal(out, img[i], std::string(where) + "." + (*e.columns)[i].name); !r) return r;
        }
        return {};
    }

    std::string column_names(const event& e) const {
        std::string s;
        for (std::size_t i = 0; i < e.columns->size(); ++i) s += (i ? "," : "") + detail::sql::quote_identifier((*e.columns)[i].name);
        return s;
    }

    result<void> apply(std::span<const event> group, std::uint64_t& rows) {
        for (const event& e : group) {
            if (!is_row_event(e.kind)) continue;
            const table_state& t = tables_[e.schema + '\0' + e.table];
            const std::string src = e.schema + "." + e.table;
            if (opt_.mode == sink_mode::changelog) {
                const std::string prefix =
                    "INSERT INTO " + t.name + " (rowcast_op,rowcast_txn,rowcast_seq,rowcast_row,rowcast_commit_time,"
                    "rowcast_position,rowcast_gtid," + column_names(e) + ") VALUES ";
                auto one = [&](std::string_view op, const std::vector<value>& img) -> result<void> {
                    std::string row = "('" + std::string(op) + "',";
                    detail::sql::append_text(row, e.transaction.id.empty() ? e.source.gtid : e.transaction.id);
                    row += ',' + std::to_string(e.sequence) + ',' + std::to_string(e.transaction.position) + ',';
                    if (e.commit_time.time_since_epoch().count() == 0) row += "NULL";
                    else if (auto r = detail::sql::append_literal(row, value(timestamp::from(e.commit_time)), src); !r) return r;
                    row += ',';
                    detail::sql::append_text(row, e.source.file + ":" + std::to_string(e.source.offset));
                    row += ',';
                    detail::sql::append_text(row, e.source.gtid);
                    row += ',';
                    if (auto r = values(row, e, img, src); !r) return r;
                    row += ')';
                    return add_row(t, prefix, "", row);
                };
                result<void> r;
                if (e.kind == event_kind::insert) r = one("insert", e.after);
                else if (e.kind == event_kind::delete_) r = one("delete", e.before);
                else if (r = one("update_before", e.before); r) r = one("update_after", e.after);
                if (!r) return r;
            } else {
                if (auto r = replicate(t, e, src); !r) return r;
            }
            ++rows;
        }
        return flush_batch();
    }

    std::string key_condition(const table_state& t, const event& e, const std::vector<value>& img, std::string_view src,
                              result<void>& r) {
        std::string w;
        for (std::size_t k = 0; k < t.key.size() && r; ++k) {
            const std::size_t i = t.key[k];
            w += (k ? " AND " : "") + detail::sql::quote_identifier((*e.columns)[i].name) + " <=> ";
            r = detail::sql::append_literal(w, img[i], std::string(src) + "." + (*e.columns)[i].name);
        }
        return w;
    }

    result<void> replicate(const table_state& t, const event& e, std::string_view src) {
        auto all_present = [](const std::vector<value>& img) {
            return std::none_of(img.begin(), img.end(), [](const value& v) { return v.is_absent(); });
        };
        auto upsert = [&]() -> result<void> {
            std::string prefix = "INSERT INTO " + t.name + " (" + column_names(e) + ") VALUES ";
            std::string suffix = " ON DUPLICATE KEY UPDATE ";
            for (std::size_t i = 0; i < e.columns->size(); ++i) {
                const std::string c = detail::sql::quote_identifier((*e.columns)[i].name);
                suffix += (i ? "," : "") + c + "=VALUES(" + c + ")";
            }
            std::string row = "(";
            if (auto r = values(row, e, e.after, src); !r) return r;
            row += ')';
            return add_row(t, prefix, suffix, row);
        };
        result<void> r;
        if (e.kind == event_kind::insert) return upsert();
        if (e.kind == event_kind::delete_) {
            if (auto f = flush_batch(); !f) return f;
            const std::string w = key_condition(t, e, e.before, src, r);
            if (!r) return r;
            return exec("DELETE FROM " + t.name + " WHERE " + w);
        }
        // update
        bool key_changed = false;
        for (std::size_t i : t.key) key_changed = key_changed || !(e.before[i] == e.after[i]) || e.after[i].is_absent();
        if (!key_changed && all_present(e.after)) return upsert();
        if (auto f = flush_batch(); !f) return f;
        const std::string w = key_condition(t, e, e.before, src, r);
        if (!r) return r;
        if (all_present(e.after)) {
            if (auto x = exec("DELETE FROM " + t.name + " WHERE " + w); !x) return x;
            return upsert();
        }
        std::string set;  // MINIMAL after image: only the columns it has
        for (std::size_t i = 0; i < e.after.size(); ++i) {
            if (e.after[i].is_absent()) continue;
            set += (set.empty() ? "" : ",") + detail::sql::quote_identifier((*e.columns)[i].name) + "=";
            if (auto x = detail::sql::append_literal(set, e.after[i], std::string(src) + "." + (*e.columns)[i].name); !x) return x;
        }
        if (set.empty()) return {};
        return exec("UPDATE " + t.name + " SET " + set + " WHERE " + w);
    }

    // replicate: DDL the sink cannot follow holds the pipeline with a clear error.
    result<void> check_ddl(const event& e) const {
        std::string s;
        for (char c : e.statement) s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const std::size_t first = s.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) return {};
        s = s.substr(first);
        auto starts = [&](std::string_view p) { return s.starts_with(p); };
        bool bad = starts("DROP TABLE") || starts("TRUNCATE") || starts("RENAME TABLE");
        if (starts("ALTER TABLE") || starts("ALTER IGNORE TABLE") || starts("ALTER ONLINE TABLE")) {
            for (std::string_view word : {" DROP ", " CHANGE ", " MODIFY ", " RENAME ", " ALTER COLUMN "})
                bad = bad || s.find(word) != std::string::npos;
        }
        if (!bad) return {};
        return error::make(errc::unsupported, "sql", e.schema.empty() ? std::string("ddl") : e.schema,
                           "replicate mode cannot apply '" + e.statement.substr(0, 200) +
                               "' (only CREATE and ALTER … ADD are followed): apply it to the destination by hand, "
                               "then restart past it");
    }

    sink_options opt_;
    std::string state_;
    std::optional<mysql::connection> conn_;
    bool ready_ = false;
    std::optional<std::string> stored_;    // the cursor in the state table
    std::optional<binlog::position> last_end_;  // events before it are staged or committed already
    std::optional<std::string> cursor_;    // the last cursor given to publish()
    std::vector<event> staged_;
    std::size_t complete_ = 0;             // staged_[0, complete_) are whole groups
    std::size_t groups_ = 0;               // how many
    std::size_t upto_ = 0, upto_groups_ = 0;  // what the last publish()'s cursor covers
    bool in_txn_ = false;
    std::chrono::steady_clock::time_point first_staged_{};
    std::map<std::string, table_state> tables_;
    std::string batch_sql_, batch_suffix_, batch_prefix_;
    const table_state* batch_table_ = nullptr;
    sink_stats stats_;
};

static_assert(transactional_sink<sink>);

/// Reads a sink URL, as rowcast-binlog --sink takes it:
///   mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?key=value&…]
///   mysql://USER@/DATABASE?socket=/run/mysqld/mysqld.sock
/// keys: mode=changelog|replicate, name=STATE_ROW, table=TEMPLATE, state_table=NAME,
/// batch=N (groups per destination transaction), batch_delay_ms=N,
/// key=SCHEMA.TABLE:COL[,COL…] (repeatable). %XX escapes are decoded in every part.
/// The password may instead come from the caller (it is nullopt when the URL has none).
/// Errors: [rowcast.sql.invalid_value] url: <what>.
inline result<sink_options> parse_sink_url(std::string_view url) {
    auto bad = [](const std::string& what) { return error::make(errc::invalid_value, "sql", "url", what); };
    auto decode = [](std::string_view in, std::string& out) {
        out.clear();
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (in[i] != '%') {
                out += in[i];
                continue;
            }
            if (i + 2 >= in.size()) return false;
            auto hex = [](char c) -> int {
                if (c >= '0' && c <= '9') return c - '0';
                if (c >= 'a' && c <= 'f') return c - 'a' + 10;
                if (c >= 'A' && c <= 'F') return c - 'A' + 10;
                return -1;
            };
            const int h = hex(in[i + 1]), l = hex(in[i + 2]);
            if (h < 0 || l < 0) return false;
            out += static_cast<char>(h * 16 + l);
            i += 2;
        }
        return true;
    };
    constexpr std::string_view scheme = "mysql://";
    if (!url.starts_with(scheme)) return bad("'" + std::string(url) + "' does not start with mysql://");
    url.remove_prefix(scheme.size());
    sink_options o;
    std::string part;
    const std::size_t at = url.find('@');
    const std::size_t slash = url.find('/', at == std::string_view::npos ? 0 : at);
    if (at == std::string_view::npos || slash == std::string_view::npos) return bad("the form is mysql://USER@HOST[:PORT]/DATABASE");
    const std::string_view userinfo = url.substr(0, at), hostport = url.substr(at + 1, slash - at - 1);
    std::string_view rest = url.substr(slash + 1);
    const std::size_t colon = userinfo.find(':');
    if (!decode(userinfo.substr(0, colon), o.connection.user)) return bad("a bad %-escape in the user");
    if (colon != std::string_view::npos) {
        if (!decode(userinfo.substr(colon + 1), part)) return bad("a bad %-escape in the password");
        o.connection.password = part;
    }
    const std::size_t pc = hostport.rfind(':');
    if (!decode(hostport.substr(0, pc), o.connection.host)) return bad("a bad %-escape in the host");
    if (o.connection.host.empty()) o.connection.host = "localhost";
    if (pc != std::string_view::npos && !detail::parse_number(hostport.substr(pc + 1), o.connection.port))
        return bad("'" + std::string(hostport.substr(pc + 1)) + "' is not a port");
    const std::size_t q = rest.find('?');
    if (!decode(rest.substr(0, q), o.database) || o.database.empty()) return bad("no database after the host");
    rest = q == std::string_view::npos ? std::string_view() : rest.substr(q + 1);
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view kv = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const std::size_t eq = kv.find('=');
        const std::string key(kv.substr(0, eq));
        if (eq == std::string_view::npos || !decode(kv.substr(eq + 1), part)) return bad("'" + std::string(kv) + "' is not key=value");
        if (key == "mode") {
            if (part == "changelog") o.mode = sink_mode::changelog;
            else if (part == "replicate") o.mode = sink_mode::replicate;
            else return bad("mode '" + part + "' is not changelog or replicate");
        } else if (key == "name") o.name = part;
        else if (key == "table") o.table_template = part;
        else if (key == "state_table") o.state_table = part;
        else if (key == "socket") o.connection.socket = part;
        else if (key == "batch") {
            if (!detail::parse_number(part, o.batch_transactions) || o.batch_transactions == 0) return bad("batch '" + part + "' is not a number >= 1");
        } else if (key == "batch_delay_ms") {
            std::uint32_t ms = 0;
            if (!detail::parse_number(part, ms)) return bad("batch_delay_ms '" + part + "' is not a number");
            o.batch_delay = std::chrono::milliseconds(ms);
        } else if (key == "key") {
            const std::size_t c = part.find(':');
            if (c == std::string::npos || c == 0 || c + 1 == part.size()) return bad("key '" + part + "' is not SCHEMA.TABLE:COL[,COL…]");
            auto& cols = o.keys[part.substr(0, c)];
            for (std::size_t b = c + 1; b <= part.size();) {
                const std::size_t e = std::min(part.find(',', b), part.size());
                cols.push_back(part.substr(b, e - b));
                b = e + 1;
            }
        } else {
            return bad("unknown key '" + key + "' (accepted: mode, name, table, state_table, socket, batch, batch_delay_ms, key)");
        }
    }
    return o;
}

}  // namespace sql
ROWCAST_NAMESPACE_END
