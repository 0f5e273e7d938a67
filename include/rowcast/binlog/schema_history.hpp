// rowcast/binlog/schema_history.hpp: versions of each table's column list keyed by
// binlog position, so events read from before an ALTER TABLE get the columns valid
// when they were written (docs/binlog.md, "Schema history").
//
// Without binlog_row_metadata=FULL (MariaDB's default is NO_LOG) a TABLE_MAP carries
// no column names, and a provider that knows only the current schema mislabels rows
// written before a schema change. A schema_history is a schema provider that answers
// with the version valid at the TABLE_MAP's position:
//
//   rowcast::binlog::mariadb_schema_provider live(conn);            // the server's schema now
//   auto h = rowcast::binlog::schema_history::open({.path = "/var/lib/rowcast/db1.schema", .live = &live}).value();
//   follower_options o;  o.parser.provider = &h;                    // follow: records
//   ...
//   auto old = rowcast::binlog::schema_history::open({.path = "/var/lib/rowcast/db1.schema"}).value();
//   file_source_options fo;  fo.parser.provider = &old;             // replay older files: reads only
//
// Recording (only with a `live` provider; the parser drives it):
//  - first use: a TABLE_MAP of a table the history has no version of: the live columns,
//    valid from that TABLE_MAP on;
//  - DDL: after a QUERY event that may change a table's columns (ALTER/CREATE/DROP/
//    RENAME TABLE, CREATE/DROP INDEX, DROP DATABASE; not TRUNCATE or temporary tables),
//    each table it names is read again from `live` and a version valid from the event
//    after the DDL is added (null columns: the table is gone), also when the columns did
//    not change. A DDL already covered (a version at or after it: a follower resuming
//    from an older checkpoint reads it again) is not read again. A statement whose table
//    names cannot be read re-reads every table the history knows.
// Without `live` (replay) a DDL is checked instead: one that names a table after the
// start of its history must have a version right after it, else [rowcast.binlog.not_found]
// (the history was recorded up to an earlier point: the columns after the DDL are unknown).
// Each new version is saved at once (atomically, os/atomic_file.hpp), before the parser
// reports the DDL: a checkpoint saved after the DDL never points past a version the
// file lacks.
//
// Lookup: the last version whose position is at or before the TABLE_MAP's. Positions
// are ordered by (the number after the binlog file name's last '.', offset) within one
// binlog sequence (one base name); GTIDs are kept for information only (they are not
// ordered across domains). Refused, never guessed ([rowcast.binlog.not_found] or
// [rowcast.binlog.invalid_value], naming table and positions): a table the history
// does not know (without `live`), a position before its first version, a table that
// does not exist there, a file of another binlog sequence. A version whose column
// count or types cannot be what the TABLE_MAP logged is refused by the parser
// ([rowcast.binlog.type_mismatch], with file, offset and table).
//
// The race: the live schema is read when the follower reads the DDL. If the table was
// changed again in between (the follower lags behind the server), the version holds
// the later columns from the earlier position; the parser refuses the events whose
// TABLE_MAP disagrees in column count or types, but a second change that only renames
// columns or swaps columns of one type cannot be seen. Likewise a first use reads the
// schema of now. Follow close to the server's end, or keep binlog_row_metadata=FULL.
//
// File format: a checkpoint file (pipeline/checkpoint.hpp: "rowcast-schema-history 1",
// CRC32 end line, atomic replacement) whose lines are "versions=<n>" and one
// "v=<base64>" per version, each a ddl event of the binary codec (codec/binary.hpp) with
// schema, table, columns (none: the table is gone), source file/offset/gtid (where the
// version starts) and statement (its cause). A damaged file is an error naming it
// ([rowcast.checkpoint.*] for the framing, [rowcast.binlog.*] for the versions); it is
// never overwritten or ignored. Files up to max_file_size bytes.
//
// Thread-safety: one thread at a time (the parser's).
#pragma once

#include <rowcast/binlog/detail/schema_history.hpp>
#include <rowcast/binlog/schema_provider.hpp>
#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/os/atomic_file.hpp>
#include <rowcast/version.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

struct schema_history_options {
    std::filesystem::path path;          ///< the history file (loaded if it exists, saved on change); empty: memory only
    schema_provider* live = nullptr;     ///< the server's current schema, for recording (not owned); null: read only
    rowcast::durability sync = rowcast::durability::file_and_directory;  ///< how saves wait for the disk
};

class schema_history final : public schema_provider {
public:
    static constexpr std::size_t max_file_size = std::size_t{64} << 20;  ///< larger files are refused

    /// Loads the file at o.path if it exists (a damaged one is an error; nothing is written here).
    static result<schema_history> open(schema_history_options o) {
        schema_history h(std::move(o));
        if (h.opt_.path.empty()) return h;
        auto text = read_small_file(h.opt_.path, max_file_size, "binlog");
        if (!text) return text.error_value();
        if (!*text) return h;  // created at the first version; an empty history refuses every table
        auto m = detail::binlog::parse_history(**text, h.opt_.path.string());
        if (!m) return m.error_value();
        h.tables_ = std::move(*m);
        return h;
    }

    /// Without a position: the last version (the live columns for a table not in the history).
    result<columns_ptr> columns(std::string_view schema, std::string_view table) override {
        const auto* vs = versions(schema, table);
        if (!vs || vs->empty()) {
            if (opt_.live) return opt_.live->columns(schema, table);
            return fail(errc::not_found, name(schema, table) + " is not in the schema history");
        }
        if (!vs->back().columns)
            return fail(errc::not_found, name(schema, table) + " does not exist (since " + at_text(vs->back()) + ")");
        return vs->back().columns;
    }

    /// The version valid at `at` (see the top of this header).
    result<columns_ptr> columns_at(std::string_view schema, std::string_view table, const schema_position& at) override {
        const auto* vs = versions(schema, table);
        if (!vs || vs->empty()) {
            if (!opt_.live) return fail(errc::not_found, name(schema, table) + " is not in the schema history");
            auto live = opt_.live->columns(schema, table);
            if (!live) return live.error_value();
            if (auto r = add(schema, table, {std::string(at.file), at.offset, std::string(at.gtid), *live, "first use"}); !r)
                return r.error_value();
            if (auto r = save(); !r) return r.error_value();
            return *live;
        }
        for (auto it = vs->rbegin(); it != vs->rend(); ++it) {
            const auto c = detail::binlog::compare_positions(it->file, it->offset, at.file, at.offset);
            if (!c)
                return fail(errc::invalid_value, name(schema, table) + " at " + other_sequence(at, *it));
            if (*c > 0) continue;
            if (!it->columns)
                return fail(errc::not_found, name(schema, table) + " does not exist at " + pos_text(at.file, at.offset) +
                                                 " (schema history: gone since " + at_text(*it) + ")");
            return it->columns;
        }
        return fail(errc::not_found, name(schema, table) + " at " + pos_text(at.file, at.offset) +
                                         " is older than its schema history, which starts at " + at_text(vs->front()));
    }

    /// Records the tables a DDL statement names (with a live provider), or checks that the
    /// history covers it (without one; see the top of this header).
    result<void> on_ddl(const schema_position& at, std::string_view schema, std::string_view statement) override {
        const auto targets = detail::binlog::tables_of_ddl(statement, schema);
        std::vector<std::pair<std::string, std::string>> list = targets.tables;
        for (const auto& [s, tables] : tables_)
            if ((targets.all_known && opt_.live) || s == targets.dropped_schema)
                for (const auto& [t, vs] : tables) list.emplace_back(s, t);
        const std::uint64_t from = at.next ? at.next : at.offset + 1;
        bool changed = false;
        for (const auto& [s, t] : list) {
            const auto* vs = versions(s, t);
            if (!opt_.live) {
                if (auto r = check_covered(vs, s, t, at, from, statement); !r) return r;
                continue;
            }
            if (vs && !vs->empty()) {
                const auto c = detail::binlog::compare_positions(vs->back().file, vs->back().offset, at.file, from);
                if (!c) return fail(errc::invalid_value, other_sequence(at, vs->back()));
                if (*c >= 0) continue;  // covered already: this DDL was read before
            }
            auto live = opt_.live->columns(s, t);
            columns_ptr cols;
            if (live) cols = *live;
            else if (live.error_value().code != make_error_code(errc::missing_field) &&
                     live.error_value().code != make_error_code(errc::not_found))
                return error::make(errc::io_error, "binlog", pos_text(at.file, at.offset),
                                   "reading " + name(s, t) + " after a DDL for the schema history: " + live.error_value().message);
            if ((!vs || vs->empty()) && !cols) continue;  // never seen, not there
            // Recorded even when the columns stay: a replay then knows the history covers this DDL.
            if (auto r = add(s, t, {std::string(at.file), from, std::string(at.gtid), cols, std::string(statement.substr(0, 256))}); !r)
                return r;
            changed = true;
        }
        return changed ? save() : result<void>{};
    }

    /// Adds a version valid from `at` (a snapshot, an import, tests) and saves. Refused if
    /// it is not after the table's last version, or `at.file` has no binlog sequence number.
    result<void> record(std::string_view schema, std::string_view table, const schema_position& at, columns_ptr cols,
                        std::string_view cause = "recorded") {
        if (auto r = add(schema, table, {std::string(at.file), at.offset, std::string(at.gtid), std::move(cols), std::string(cause)}); !r)
            return r;
        return save();
    }

    /// The versions of a table in position order, or null if it has none.
    const std::vector<schema_version>* versions(std::string_view schema, std::string_view table) const {
        auto s = tables_.find(schema);
        if (s == tables_.end()) return nullptr;
        auto t = s->second.find(table);
        return t == s->second.end() ? nullptr : &t->second;
    }
    /// Versions of all tables together.
    std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const auto& [s, tables] : tables_)
            for (const auto& [t, vs] : tables) n += vs.size();
        return n;
    }
    const std::filesystem::path& path() const noexcept { return opt_.path; }

private:
    explicit schema_history(schema_history_options o) : opt_(std::move(o)) {}

    static std::string name(std::string_view s, std::string_view t) {
        return "`" + std::string(s) + "`.`" + std::string(t) + "`";
    }
    static std::string pos_text(std::string_view f, std::uint64_t o) { return std::string(f) + ":" + std::to_string(o); }
    static std::string at_text(const schema_version& v) {
        return pos_text(v.file, v.offset) + (v.cause.empty() ? "" : " (" + v.cause.substr(0, 80) + ")");
    }
    static bool same(const columns_ptr& a, const columns_ptr& b) { return a == b || (a && b && *a == *b); }
    error fail(errc e, const std::string& what) const {
        return error::make(e, "binlog", opt_.path.empty() ? std::string("schema history") : opt_.path.string(), what);
    }

    static std::string other_sequence(const schema_position& at, const schema_version& v) {
        return pos_text(at.file, at.offset) + ": not a file of the binlog sequence the history holds (" + v.file + ")";
    }
    // Read only: a DDL naming a table after the start of its history must have its version,
    // or the columns after it would be a guess.
    result<void> check_covered(const std::vector<schema_version>* vs, std::string_view s, std::string_view t,
                               const schema_position& at, std::uint64_t from, std::string_view statement) const {
        if (!vs || vs->empty()) return {};  // unknown here: its TABLE_MAPs are refused
        const auto first = detail::binlog::compare_positions(vs->front().file, vs->front().offset, at.file, from);
        if (!first) return fail(errc::invalid_value, other_sequence(at, vs->front()));
        if (*first >= 0) return {};  // before the history (or its first version): nothing to check
        for (const auto& v : *vs)
            if (detail::binlog::compare_positions(v.file, v.offset, at.file, from) == 0) return {};
        return fail(errc::not_found, "the DDL at " + pos_text(at.file, at.offset) + " (" +
                                         std::string(statement.substr(0, 80)) + ") changes " + name(s, t) +
                                         ", and the schema history has no version after it (recorded up to " +
                                         at_text(vs->back()) + "): its columns after it are unknown");
    }

    result<void> add(std::string_view schema, std::string_view table, schema_version v) {
        if (!detail::binlog::split_binlog_name(v.file))
            return fail(errc::invalid_value, name(schema, table) + ": binlog file '" + v.file +
                                                 "' has no sequence number (<name>.<number>): positions cannot be ordered");
        auto& vs = tables_[std::string(schema)][std::string(table)];
        if (!vs.empty()) {
            const auto c = detail::binlog::compare_positions(vs.back().file, vs.back().offset, v.file, v.offset);
            if (!c || *c >= 0)
                return fail(errc::invalid_value, name(schema, table) + ": a version at " + pos_text(v.file, v.offset) +
                                                     " is not after the last one (" + at_text(vs.back()) + ")");
        }
        vs.push_back(std::move(v));
        return {};
    }

    result<void> save() const {
        if (opt_.path.empty()) return {};
        const std::string text = detail::checkpoint::serialize({detail::binlog::history_lines(tables_), {}},
                                                               detail::binlog::history_format.magic);
        return write_file_atomically(opt_.path, text, opt_.sync, 0640, "binlog");
    }

    schema_history_options opt_;
    detail::binlog::history_map tables_;
};

}  // namespace binlog
ROWCAST_NAMESPACE_END
