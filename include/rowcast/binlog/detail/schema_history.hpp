// Internal: the pieces of binlog::schema_history (schema_history.hpp): the tables a DDL
// statement changes, the order of binlog positions, and the history file's contents.
#pragma once

#include <rowcast/codec/binary.hpp>
#include <rowcast/column.hpp>
#include <rowcast/detail/text.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/checkpoint.hpp>
#include <rowcast/version.hpp>

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace binlog {

/// One version of a table's columns in a schema_history (schema_history.hpp).
struct schema_version {
    std::string file;          ///< binlog file of the first event the version applies to
    std::uint64_t offset = 0;  ///< that event's offset: the version holds from (file, offset) on
    std::string gtid;          ///< GTID of the group that made it (informational; may be empty)
    columns_ptr columns;       ///< the columns in table order; null: the table does not exist from here on
    std::string cause;         ///< "first use", "recorded", or the DDL statement (at most 256 bytes of it)
    friend bool operator==(const schema_version& a, const schema_version& b) {
        const bool same_cols = a.columns == b.columns || (a.columns && b.columns && *a.columns == *b.columns);
        return a.file == b.file && a.offset == b.offset && a.gtid == b.gtid && same_cols && a.cause == b.cause;
    }
};

}  // namespace binlog
namespace detail::binlog {

// ---------------------------------------------------------------------------
// Positions: files of one binlog sequence are "<base>.<number>"; positions order by
// (number, offset). Files of another base name cannot be placed.

struct file_key {
    std::string_view base;
    std::uint64_t number = 0;
};

inline std::optional<file_key> split_binlog_name(std::string_view f) {
    const auto dot = f.rfind('.');
    if (dot == std::string_view::npos || dot + 1 >= f.size() || f.size() - dot - 1 > 18) return std::nullopt;
    const std::string_view digits = f.substr(dot + 1);
    file_key k{f.substr(0, dot), 0};
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), k.number);
    if (ec != std::errc{} || p != digits.data() + digits.size()) return std::nullopt;
    return k;
}

/// -1, 0, 1 as (file a, offset a) is before, at, after (file b, offset b); nullopt if the
/// two files are not of one binlog sequence.
inline std::optional<int> compare_positions(std::string_view fa, std::uint64_t oa, std::string_view fb, std::uint64_t ob) {
    const auto a = split_binlog_name(fa), b = split_binlog_name(fb);
    if (!a || !b || a->base != b->base) return std::nullopt;
    if (a->number != b->number) return a->number < b->number ? -1 : 1;
    if (oa != ob) return oa < ob ? -1 : 1;
    return 0;
}

// ---------------------------------------------------------------------------
// The tables a DDL statement changes

/// What a DDL statement changes, as far as column lists go.
struct ddl_targets {
    std::vector<std::pair<std::string, std::string>> tables;  ///< (schema, table)
    std::string dropped_schema;  ///< DROP DATABASE / DROP SCHEMA: every table of it
    bool all_known = false;      ///< a table statement whose names could not be read: re-read every table
};

struct ddl_token {
    std::string text;
    bool quoted = false;  ///< `identifier` (never a keyword)
    bool string = false;  ///< '…' or "…"
};

// Splits SQL into identifiers, words, strings and punctuation; comments are skipped,
// the contents of executable comments (/*! … */, /*M! … */) are kept.
inline std::vector<ddl_token> tokenize_sql(std::string_view s, std::size_t max_tokens = 4096) {
    std::vector<ddl_token> out;
    std::size_t i = 0;
    int exec_comments = 0;  // open /*! … */
    auto word_char = [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
    };
    while (i < s.size() && out.size() < max_tokens) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\0') {
            ++i;
        } else if (s.substr(i, 2) == "/*") {
            std::size_t j = i + 2;
            if (j < s.size() && s[j] == 'M') ++j;
            if (j < s.size() && s[j] == '!') {  // executable comment: its text is SQL
                ++j;
                while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
                ++exec_comments;
                i = j;
            } else {
                const auto e = s.find("*/", i + 2);
                i = e == std::string_view::npos ? s.size() : e + 2;
            }
        } else if (exec_comments > 0 && s.substr(i, 2) == "*/") {
            --exec_comments;
            i += 2;
        } else if (c == '#' || (s.substr(i, 2) == "--" && (i + 2 >= s.size() || s[i + 2] == ' ' || s[i + 2] == '\t'))) {
            const auto e = s.find('\n', i);
            i = e == std::string_view::npos ? s.size() : e + 1;
        } else if (c == '`' || c == '\'' || c == '"') {
            ddl_token t;
            t.quoted = c == '`';
            t.string = c != '`';
            ++i;
            while (i < s.size()) {
                if (s[i] == static_cast<char>(c)) {
                    if (i + 1 < s.size() && s[i + 1] == static_cast<char>(c)) {  // doubled quote
                        t.text += s[i];
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                if (s[i] == '\\' && c != '`' && i + 1 < s.size()) ++i;  // backslash escape in strings
                t.text += s[i++];
            }
            out.push_back(std::move(t));
        } else if (word_char(c)) {
            ddl_token t;
            while (i < s.size() && word_char(static_cast<unsigned char>(s[i]))) t.text += s[i++];
            out.push_back(std::move(t));
        } else {
            out.push_back(ddl_token{std::string(1, static_cast<char>(c)), false, false});
            ++i;
        }
    }
    return out;
}

inline bool is_keyword(const ddl_token& t, std::string_view k) {
    if (t.quoted || t.string || t.text.size() != k.size()) return false;
    for (std::size_t i = 0; i < k.size(); ++i) {
        char a = t.text[i];
        if (a >= 'a' && a <= 'z') a = static_cast<char>(a - 32);
        if (a != k[i]) return false;
    }
    return true;
}

/// Reads `name` or `schema`.`name` at tokens[i]; advances i.
inline bool read_table_name(const std::vector<ddl_token>& tk, std::size_t& i, std::string_view default_schema,
                            std::pair<std::string, std::string>& out) {
    auto ident = [&](std::size_t k) {
        if (k >= tk.size() || tk[k].string) return false;
        if (tk[k].quoted) return true;
        const unsigned char c = static_cast<unsigned char>(tk[k].text[0]);  // words and punctuation are never empty
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
    };
    if (!ident(i)) return false;
    if (i + 2 < tk.size() && !tk[i + 1].quoted && !tk[i + 1].string && tk[i + 1].text == "." && ident(i + 2)) {
        out = {tk[i].text, tk[i + 2].text};
        i += 3;
    } else {
        if (default_schema.empty()) return false;
        out = {std::string(default_schema), tk[i].text};
        i += 1;
    }
    return !out.first.empty() && !out.second.empty();
}

/// The tables whose columns `statement` (run with default schema `schema`) may change.
inline ddl_targets tables_of_ddl(std::string_view statement, std::string_view schema) {
    ddl_targets r;
    const auto tk = tokenize_sql(statement);
    std::size_t i = 0;
    auto kw = [&](std::string_view k) {
        if (i < tk.size() && is_keyword(tk[i], k)) {
            ++i;
            return true;
        }
        return false;
    };
    auto name = [&]() {
        std::pair<std::string, std::string> n;
        if (!read_table_name(tk, i, schema, n)) return false;
        r.tables.push_back(std::move(n));
        return true;
    };
    auto mentions_table = [&] {
        for (const auto& t : tk)
            if (is_keyword(t, "TABLE")) return true;
        return false;
    };
    auto unparsed = [&]() {  // a table statement whose names could not be read
        r.tables.clear();
        r.all_known = true;
        return r;
    };
    if (kw("TRUNCATE")) return r;  // rows go, columns stay
    if (kw("ALTER")) {
        kw("ONLINE");
        kw("IGNORE");
        if (!kw("TABLE")) return mentions_table() ? unparsed() : r;
        if (kw("IF")) kw("EXISTS");
        if (!name()) return unparsed();
        // ALTER TABLE t … RENAME [TO|AS] u (not RENAME COLUMN / INDEX / KEY)
        for (; i < tk.size(); ++i) {
            if (!is_keyword(tk[i], "RENAME")) continue;
            ++i;
            if (kw("COLUMN") || kw("INDEX") || kw("KEY")) continue;
            if (!kw("TO")) kw("AS");
            if (!name()) return unparsed();
            --i;
        }
        return r;
    }
    if (kw("CREATE")) {
        if (kw("OR")) kw("REPLACE");
        if (kw("TEMPORARY")) return r;  // not in information_schema; its rows are not logged as rows
        if (kw("TABLE")) {
            if (kw("IF")) {
                kw("NOT");
                kw("EXISTS");
            }
            return name() ? r : unparsed();
        }
        kw("ONLINE");
        (void)(kw("UNIQUE") || kw("FULLTEXT") || kw("SPATIAL"));
        if (kw("INDEX")) {  // CREATE INDEX i ON t: a unique index may become the key information_schema shows
            for (; i < tk.size() && !is_keyword(tk[i], "ON"); ++i) {
            }
            ++i;
            return name() ? r : unparsed();
        }
        return mentions_table() ? unparsed() : r;
    }
    if (kw("DROP")) {
        if (kw("DATABASE") || kw("SCHEMA")) {
            if (kw("IF")) kw("EXISTS");
            if (i < tk.size() && !tk[i].string) r.dropped_schema = tk[i].text;
            return r.dropped_schema.empty() ? unparsed() : r;
        }
        if (kw("TEMPORARY")) return r;
        if (kw("TABLE")) {
            if (kw("IF")) kw("EXISTS");
            for (;;) {
                if (!name()) return unparsed();
                if (i < tk.size() && tk[i].text == "," && !tk[i].quoted && !tk[i].string) {
                    ++i;
                    continue;
                }
                return r;
            }
        }
        kw("ONLINE");
        if (kw("INDEX")) {
            for (; i < tk.size() && !is_keyword(tk[i], "ON"); ++i) {
            }
            ++i;
            return name() ? r : unparsed();
        }
        return mentions_table() ? unparsed() : r;
    }
    if (kw("RENAME")) {
        if (!kw("TABLE") && !kw("TABLES")) return mentions_table() ? unparsed() : r;
        for (;;) {
            if (!name()) return unparsed();
            if (kw("WAIT")) ++i;  // RENAME TABLE a WAIT n TO b (MariaDB)
            else kw("NOWAIT");
            if (!kw("TO") || !name()) return unparsed();
            if (i < tk.size() && tk[i].text == "," && !tk[i].quoted && !tk[i].string) {
                ++i;
                continue;
            }
            return r;
        }
    }
    return r;
}

// ---------------------------------------------------------------------------
// The history file: a checkpoint file (pipeline/checkpoint.hpp: magic, version line,
// CRC32 end line, atomic replacement) whose lines are "versions=<n>" and then one
// "v=<base64>" per version: a ddl event in the binary codec (docs/binary-format.md)
// with schema, table, columns (none: the table does not exist), statement = cause,
// source.file/offset/gtid = where the version starts.

inline constexpr checkpoint_format history_format{"rowcast-schema-history", "rowcast schema history"};

/// schema -> table -> versions (in position order)
using history_map = std::map<std::string, std::map<std::string, std::vector<::rowcast::binlog::schema_version>, std::less<>>,
                             std::less<>>;

inline std::string history_lines(const history_map& h) {
    std::size_t n = 0;
    for (const auto& [s, tables] : h)
        for (const auto& [t, vs] : tables) n += vs.size();
    std::string out = "versions=" + std::to_string(n);
    binary_codec codec;
    std::string bin;
    for (const auto& [s, tables] : h)
        for (const auto& [t, vs] : tables)
            for (const auto& v : vs) {
                event e;
                e.kind = event_kind::ddl;
                e.schema = s;
                e.table = t;
                e.columns = v.columns;
                e.statement = v.cause;
                e.source.file = v.file;
                e.source.offset = v.offset;
                e.source.gtid = v.gtid;
                bin.clear();
                codec.encode(e, bin);
                out += "\nv=";
                rowcast::detail::append_base64(out, bin);
            }
    return out;
}

/// The versions in a history file's cursor lines (after the checkpoint framing was checked).
inline result<history_map> parse_history_lines(std::string_view lines, std::string_view where) {
    auto fail = [&](errc e, const std::string& what) {
        return error::make(e, "binlog", where, what + " (the schema history is kept; fix or remove it)");
    };
    history_map h;
    std::size_t pos = 0, line_no = 1, expected = 0, seen = 0;
    bool have_count = false;
    binary_codec codec;
    std::string bin;
    event e;
    while (pos < lines.size()) {
        const std::size_t nl = std::min(lines.find('\n', pos), lines.size());
        const std::string_view line = lines.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        const std::string where_line = "line " + std::to_string(line_no);
        if (!have_count) {
            if (!line.starts_with("versions=") || !rowcast::detail::parse_number(line.substr(9), expected))
                return fail(errc::invalid_value, where_line + ": expected versions=<count>");
            have_count = true;
            continue;
        }
        if (!line.starts_with("v=")) return fail(errc::invalid_value, where_line + ": expected v=<version>");
        bin.clear();
        if (!rowcast::detail::decode_base64(line.substr(2), bin)) return fail(errc::invalid_value, where_line + ": bad base64");
        auto n = codec.decode(bin, e);
        if (!n) return fail(errc::invalid_value, where_line + ": " + n.error_value().message);
        if (*n != bin.size()) return fail(errc::trailing_data, where_line + ": bytes after the version");
        if (e.kind != event_kind::ddl || e.schema.empty() || e.table.empty() || !split_binlog_name(e.source.file))
            return fail(errc::invalid_value, where_line + ": not a table version (kind, schema, table, binlog file)");
        auto& vs = h[e.schema][e.table];
        if (!vs.empty()) {
            const auto c = compare_positions(vs.back().file, vs.back().offset, e.source.file, e.source.offset);
            if (!c || *c >= 0)
                return fail(errc::invalid_value, where_line + ": versions of `" + e.schema + "`.`" + e.table +
                                                     "` out of order or of another binlog sequence");
        }
        vs.push_back({e.source.file, e.source.offset, e.source.gtid, e.columns, e.statement});
        ++seen;
    }
    if (!have_count) return fail(errc::missing_field, "no versions= line");
    if (seen != expected)
        return fail(errc::truncated, "versions=" + std::to_string(expected) + " but " + std::to_string(seen) + " versions");
    return h;
}

/// A whole history file's text (framing, then the versions).
inline result<history_map> parse_history(std::string_view text, std::string_view where) {
    auto rec = detail::checkpoint::parse(text, where, history_format);
    if (!rec) return rec.error_value();
    if (!text.starts_with(history_format.magic))
        return error::make(errc::bad_magic, "binlog", where, "not a rowcast schema history file (the file is kept)");
    return parse_history_lines(rec->cursor, where);
}

}  // namespace detail::binlog
ROWCAST_NAMESPACE_END
