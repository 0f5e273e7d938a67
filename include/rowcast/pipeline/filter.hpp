// rowcast/pipeline/filter.hpp: include/exclude filters by schema, table and
// column, and filtered_sink, the event_sink that applies them in front of any sink.
//
// Rules (filter_rules), each a list of glob patterns ('*' any run of characters,
// '?' one character; matched case-sensitively against the names as the server
// wrote them):
//   include_schemas / exclude_schemas   "db"
//   include_tables  / exclude_tables    "db.table", or "table" (= "*.table")
//   include_columns / exclude_columns   "db.table.column", "table.column" (= "*.table.column"),
//                                       or "column" (= "*.*.column")
// A part may be backquoted to hold a '.': "`my.db`.t" is schema "my.db", table "t"
// (a doubled `` is one backquote; '*' and '?' keep their meaning inside backquotes).
//
// What passes:
//   - a row event (insert/update/delete) if its schema passes the schema rules and
//     (schema, table) the table rules: an include list, when not empty, must match,
//     and no exclude pattern may match;
//   - its columns: when include_columns has patterns for its table, only the columns
//     they match, then minus those exclude_columns match. Removed columns leave the
//     column list and both images (the reduced column list is built once per source
//     list and table, and shared, like the source's);
//   - a DDL event by the table(s) it names, read from its statement:
//         CREATE [OR REPLACE] [TEMPORARY] TABLE [IF NOT EXISTS] name
//         ALTER [ONLINE] [IGNORE] TABLE [IF EXISTS] name
//         DROP [TEMPORARY] TABLE [IF EXISTS] name [, name]...
//         TRUNCATE [TABLE] name
//         RENAME TABLE name TO name [, name TO name]...
//         CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX i ON name,  DROP INDEX i ON name
//     (keywords in any case, names `backquoted` or not, "db.name" or "name" in the
//     event's schema, the default database). It passes if any table it names
//     passes (so a DROP or RENAME touching a wanted table is never lost);
//   - CREATE/ALTER/DROP DATABASE|SCHEMA [IF [NOT] EXISTS] name: by that schema;
//   - DDL that cannot be attributed to a table: every other statement (CREATE/DROP
//     VIEW, TRIGGER, PROCEDURE, FUNCTION, EVENT, SEQUENCE; GRANT, REVOKE, CREATE USER;
//     ANALYZE/OPTIMIZE/REPAIR; statements behind a leading comment other than a
//     /*!NNNNN version comment), and the forms above when a name does not parse:
//     by the event's schema (the default database, possibly empty) only.
//   A DDL attributed to a schema (the last two cases) passes if the schema passes
//   the schema rules and, when include_tables is not empty, the schema part of one
//   include_tables pattern matches it (so with --table app.hosts, an unattributed
//   GRANT run in app passes and one run in another database does not);
//     exclude_tables and the column rules never apply to it;
//   - begin/commit/rollback: kept around the rows that pass; see filtered_sink.
//
// filtered_sink<Sink> (an event_sink; a transactional_sink when Sink is one,
// forwarding load_cursor/publish/discard) drops what does not pass and holds each
// BEGIN back until the first event of its transaction that passes, so a
// transaction whose events are all filtered out produces nothing: no empty
// BEGIN/COMMIT pair. A group end it drops never reached the sink, whose last group
// end is then the one before: publish(cursor) still stores the cursor with what was
// staged (nothing of the dropped group), so a source resuming from it does not
// deliver the dropped transaction again. discard() also forgets a held BEGIN.
//
// Errors: event_filter::make returns errc::invalid_value naming the rule
// ("[rowcast.filter.invalid_value] exclude_columns 'a.b.c.d': …") for an empty
// pattern, a pattern with too many parts or an unclosed backquote. The sink passes
// the downstream sink's errors through; a failed write has not changed its state
// (the caller writes the same event again).
//
// Thread-safety: an event_filter is immutable after make() (share it freely);
// a filtered_sink is used by one thread at a time.
#pragma once

#include <rowcast/column.hpp>
#include <rowcast/error.hpp>
#include <rowcast/event.hpp>
#include <rowcast/pipeline/sink.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

ROWCAST_NAMESPACE_BEGIN

/// True if `text` matches the glob `pattern` ('*': any run, '?': one character).
constexpr bool glob_match(std::string_view pattern, std::string_view text) noexcept {
    std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

/// The include/exclude lists (see the top of this header for the pattern forms).
struct filter_rules {
    std::vector<std::string> include_schemas;
    std::vector<std::string> exclude_schemas;
    std::vector<std::string> include_tables;
    std::vector<std::string> exclude_tables;
    std::vector<std::string> include_columns;
    std::vector<std::string> exclude_columns;
};

/// What a DDL statement is about (see the top of this header).
struct ddl_target {
    enum class kind { none, tables, schema };
    kind what = kind::none;
    std::vector<std::pair<std::string, std::string>> tables;  ///< (schema, table), schema filled from the default
    std::string schema;                                      ///< kind::schema: the database named
};

namespace detail::filter {

// Splits "a.b.c" into at most `max` parts (honouring backquotes); nullopt on a bad pattern.
inline std::optional<std::vector<std::string>> split_name(std::string_view s, std::size_t max) {
    std::vector<std::string> parts(1);
    bool quoted = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '`') {
            if (quoted && i + 1 < s.size() && s[i + 1] == '`') {
                parts.back() += '`';
                ++i;
            } else {
                quoted = !quoted;
            }
        } else if (c == '.' && !quoted) {
            parts.emplace_back();
        } else {
            parts.back() += c;
        }
    }
    if (quoted || parts.size() > max) return std::nullopt;
    for (const auto& p : parts)
        if (p.empty()) return std::nullopt;
    return parts;
}

// A pattern of up to three parts (schema, table, column); missing leading parts are "*".
struct pattern {
    std::array<std::string, 3> part{"*", "*", "*"};
};

inline result<std::vector<pattern>> parse_patterns(std::string_view rule, const std::vector<std::string>& in,
                                                   std::size_t parts) {
    std::vector<pattern> out;
    for (const auto& s : in) {
        auto split = split_name(s, parts);
        if (!split)
            return error::make(errc::invalid_value, "filter", std::string(rule) + " '" + s + "'",
                               parts == 1   ? "a schema pattern is one name (backquote a name holding '.')"
                               : parts == 2 ? "a table pattern is 'db.table' or 'table'"
                                            : "a column pattern is 'db.table.column', 'table.column' or 'column'");
        pattern p;
        const std::size_t skip = parts - split->size();
        for (std::size_t i = 0; i < split->size(); ++i) p.part[skip + i] = std::move((*split)[i]);
        out.push_back(std::move(p));
    }
    return out;
}

// --- DDL statements: a small tokenizer over what the server logged -------------------
class ddl_lexer {
public:
    explicit ddl_lexer(std::string_view s) noexcept : s_(s) {}

    // True (and consumed) if the next word is `kw` (case-insensitive).
    bool keyword(std::string_view kw) noexcept {
        skip_space();
        if (s_.size() - i_ < kw.size()) return false;
        for (std::size_t k = 0; k < kw.size(); ++k)
            if (upper(s_[i_ + k]) != kw[k]) return false;
        if (i_ + kw.size() < s_.size() && ident_char(s_[i_ + kw.size()])) return false;
        i_ += kw.size();
        return true;
    }
    bool punct(char c) noexcept {
        skip_space();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    // An identifier, `quoted` or bare; nullopt if there is none here.
    std::optional<std::string> ident() {
        skip_space();
        if (i_ >= s_.size()) return std::nullopt;
        std::string out;
        if (s_[i_] == '`') {
            for (std::size_t j = i_ + 1; j < s_.size(); ++j) {
                if (s_[j] != '`') {
                    out += s_[j];
                } else if (j + 1 < s_.size() && s_[j + 1] == '`') {
                    out += '`';
                    ++j;
                } else {
                    i_ = j + 1;
                    return out;
                }
            }
            return std::nullopt;  // unclosed
        }
        while (i_ < s_.size() && ident_char(s_[i_])) out += s_[i_++];
        if (out.empty()) return std::nullopt;
        return out;
    }
    // [db.]name: (schema, table), the schema empty when not given.
    std::optional<std::pair<std::string, std::string>> qualified_name() {
        auto a = ident();
        if (!a) return std::nullopt;
        const std::size_t save = i_;
        if (punct('.')) {
            if (auto b = ident()) return std::pair{std::move(*a), std::move(*b)};
            i_ = save;
            return std::nullopt;
        }
        return std::pair{std::string(), std::move(*a)};
    }

private:
    static char upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
    static bool ident_char(char c) noexcept {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
               static_cast<unsigned char>(c) >= 0x80;
    }
    void skip_space() noexcept {
        for (;;) {
            while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
            // a /*!NNNNN version comment's content is executed by the server: read through it
            if (s_.substr(i_).starts_with("/*!")) {
                i_ += 3;
                while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
                continue;
            }
            if (s_.substr(i_).starts_with("*/")) {
                i_ += 2;
                continue;
            }
            return;
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace detail::filter

/// Reads which table(s) or schema a DDL statement is about (the forms listed at the
/// top of this header); unqualified table names get `default_schema`.
inline ddl_target parse_ddl_target(std::string_view statement, std::string_view default_schema) {
    detail::filter::ddl_lexer lx(statement);
    ddl_target out;
    auto add = [&](std::optional<std::pair<std::string, std::string>> n) {
        if (!n) return false;
        if (n->first.empty()) n->first = std::string(default_schema);
        out.tables.push_back(std::move(*n));
        return true;
    };
    auto tables = [&]() -> ddl_target {
        out.what = out.tables.empty() ? ddl_target::kind::none : ddl_target::kind::tables;
        if (out.what == ddl_target::kind::none) out.tables.clear();
        return std::move(out);
    };
    auto database = [&](bool if_exists, bool if_not_exists) -> ddl_target {
        if (if_exists && lx.keyword("IF")) {
            if (if_not_exists && !lx.keyword("NOT")) return {};
            if (!lx.keyword("EXISTS")) return {};
        }
        auto name = lx.ident();
        if (!name) return {};
        return {ddl_target::kind::schema, {}, std::move(*name)};
    };
    const bool create = lx.keyword("CREATE");
    const bool alter = !create && lx.keyword("ALTER");
    const bool drop = !create && !alter && lx.keyword("DROP");
    if (create || alter || drop) {
        if (lx.keyword("DATABASE") || lx.keyword("SCHEMA")) {
            // ALTER DATABASE without a name changes the default database
            if (alter && (lx.keyword("CHARACTER") || lx.keyword("CHARSET") || lx.keyword("DEFAULT") ||
                          lx.keyword("COLLATE") || lx.keyword("COMMENT")))
                return {};
            return database(!alter, create);
        }
        if (create && lx.keyword("OR") && !lx.keyword("REPLACE")) return {};
        if (create || drop) (void)lx.keyword("TEMPORARY");
        if (alter) {
            (void)lx.keyword("ONLINE");
            (void)lx.keyword("IGNORE");
        }
        const bool index_kind = create && (lx.keyword("UNIQUE") || lx.keyword("FULLTEXT") || lx.keyword("SPATIAL"));
        if (!alter && lx.keyword("INDEX")) {  // [CREATE|DROP] INDEX [IF [NOT] EXISTS] i ON t
            if (lx.keyword("IF")) {
                (void)lx.keyword("NOT");
                if (!lx.keyword("EXISTS")) return {};
            }
            if (!lx.ident() || !lx.keyword("ON")) return {};
            add(lx.qualified_name());
            return tables();
        }
        if (index_kind || !lx.keyword("TABLE")) return {};
        if (lx.keyword("IF")) {
            if (create && !lx.keyword("NOT")) return {};
            if (!lx.keyword("EXISTS")) return {};
        }
        if (!add(lx.qualified_name())) return {};
        while (drop && lx.punct(',') && add(lx.qualified_name())) {
        }
        return tables();
    }
    if (lx.keyword("TRUNCATE")) {
        (void)lx.keyword("TABLE");
        add(lx.qualified_name());
        return tables();
    }
    if (lx.keyword("RENAME") && lx.keyword("TABLE")) {
        do {
            if (!add(lx.qualified_name()) || !lx.keyword("TO") || !add(lx.qualified_name())) return {};
        } while (lx.punct(','));
        return tables();
    }
    return {};
}

/// The compiled rules. Immutable; see the top of this header.
class event_filter {
public:
    /// No rules: everything passes.
    event_filter() = default;

    /// Checks and compiles `rules`.
    static result<event_filter> make(const filter_rules& rules) {
        using detail::filter::parse_patterns;
        event_filter f;
        struct item {
            std::string_view name;
            const std::vector<std::string>& in;
            std::size_t parts;
            std::vector<detail::filter::pattern>& out;
        };
        const item items[] = {{"include_schemas", rules.include_schemas, 1, f.include_schemas_},
                              {"exclude_schemas", rules.exclude_schemas, 1, f.exclude_schemas_},
                              {"include_tables", rules.include_tables, 2, f.include_tables_},
                              {"exclude_tables", rules.exclude_tables, 2, f.exclude_tables_},
                              {"include_columns", rules.include_columns, 3, f.include_columns_},
                              {"exclude_columns", rules.exclude_columns, 3, f.exclude_columns_}};
        for (const auto& it : items) {
            auto p = parse_patterns(it.name, it.in, it.parts);
            if (!p) return p.error_value();
            it.out = std::move(*p);
        }
        return f;
    }

    /// True when there are no rules at all (everything passes unchanged).
    bool empty() const noexcept {
        return include_schemas_.empty() && exclude_schemas_.empty() && include_tables_.empty() &&
               exclude_tables_.empty() && !has_column_rules();
    }
    bool has_column_rules() const noexcept { return !include_columns_.empty() || !exclude_columns_.empty(); }

    /// The schema rules alone.
    bool schema_passes(std::string_view schema) const noexcept {
        auto m = [&](const auto& p) { return glob_match(p.part[0], schema); };
        return (include_schemas_.empty() || std::any_of(include_schemas_.begin(), include_schemas_.end(), m)) &&
               std::none_of(exclude_schemas_.begin(), exclude_schemas_.end(), m);
    }

    /// Schema and table rules: does a row of schema.table pass?
    bool table_passes(std::string_view schema, std::string_view table) const noexcept {
        auto m = [&](const auto& p) { return glob_match(p.part[0], schema) && glob_match(p.part[1], table); };
        return schema_passes(schema) &&
               (include_tables_.empty() || std::any_of(include_tables_.begin(), include_tables_.end(), m)) &&
               std::none_of(exclude_tables_.begin(), exclude_tables_.end(), m);
    }

    /// A DDL attributed to a schema (or not attributed: the default database) passes?
    bool schema_ddl_passes(std::string_view schema) const noexcept {
        auto m = [&](const auto& p) { return glob_match(p.part[0], schema); };
        return schema_passes(schema) &&
               (include_tables_.empty() || std::any_of(include_tables_.begin(), include_tables_.end(), m));
    }

    /// Does column `column` of schema.table stay in the images?
    bool column_passes(std::string_view schema, std::string_view table, std::string_view column) const noexcept {
        return column_passes(schema, table, column, includes_columns_of(schema, table));
    }

    /// Whether `e` passes (row: its table; DDL: its target; begin/commit/rollback: yes).
    bool passes(const event& e) const {
        if (is_row_event(e.kind)) return table_passes(e.schema, e.table);
        if (e.kind != event_kind::ddl) return true;
        const ddl_target t = parse_ddl_target(e.statement, e.schema);
        switch (t.what) {
            case ddl_target::kind::tables:
                return std::any_of(t.tables.begin(), t.tables.end(),
                                   [&](const auto& n) { return table_passes(n.first, n.second); });
            case ddl_target::kind::schema: return schema_ddl_passes(t.schema);
            case ddl_target::kind::none: break;
        }
        return schema_ddl_passes(e.schema);
    }

    /// Indexes of the columns of `cols` that stay for schema.table, in order.
    std::vector<std::size_t> kept_columns(std::string_view schema, std::string_view table,
                                          const column_list& cols) const {
        std::vector<std::size_t> keep;
        keep.reserve(cols.size());
        const bool inc = includes_columns_of(schema, table);
        for (std::size_t i = 0; i < cols.size(); ++i)
            if (column_passes(schema, table, cols[i].name, inc)) keep.push_back(i);
        return keep;
    }

private:
    static bool matches(const detail::filter::pattern& p, std::string_view s, std::string_view t,
                        std::string_view c) noexcept {
        return glob_match(p.part[0], s) && glob_match(p.part[1], t) && glob_match(p.part[2], c);
    }
    bool includes_columns_of(std::string_view schema, std::string_view table) const noexcept {
        return std::any_of(include_columns_.begin(), include_columns_.end(), [&](const auto& p) {
            return glob_match(p.part[0], schema) && glob_match(p.part[1], table);
        });
    }
    bool column_passes(std::string_view schema, std::string_view table, std::string_view column,
                       bool has_includes) const noexcept {
        auto m = [&](const auto& p) { return matches(p, schema, table, column); };
        return (!has_includes || std::any_of(include_columns_.begin(), include_columns_.end(), m)) &&
               std::none_of(exclude_columns_.begin(), exclude_columns_.end(), m);
    }

    std::vector<detail::filter::pattern> include_schemas_, exclude_schemas_, include_tables_, exclude_tables_,
        include_columns_, exclude_columns_;
};

/// Counters of a filtered_sink (visitable: rowcast/stats.hpp naming).
struct filter_stats {
    std::uint64_t passed = 0;          ///< events handed on
    std::uint64_t dropped = 0;         ///< row and DDL events filtered out
    std::uint64_t empty_groups = 0;    ///< transactions dropped whole (their BEGIN/COMMIT not written)
    std::uint64_t reduced = 0;         ///< row events handed on with columns removed

    template <class V>
    void visit(V&& v) const {
        v(detail::counter("passed", passed, "events handed on"));
        v(detail::counter("dropped", dropped, "row and DDL events filtered out"));
        v(detail::counter("empty_groups", empty_groups, "transactions whose events were all filtered out"));
        v(detail::counter("reduced", reduced, "row events handed on with columns removed"));
    }
};

/// An event_sink that applies an event_filter in front of `Sink` (a sink type, or an
/// lvalue reference to one to use a sink that lives elsewhere). See the top of this header.
template <class Sink>
    requires event_sink<std::remove_reference_t<Sink>>
class filtered_sink {
    using downstream = std::remove_reference_t<Sink>;

public:
    filtered_sink(event_filter f, Sink sink) : filter_(std::move(f)), sink_(std::forward<Sink>(sink)) {}

    result<void> write(const event& e) {
        if (filter_.empty()) return count(sink_.write(e), 1);
        return step(e, state_, [&](const event& x) { return sink_.write(x); });
    }

    result<void> write(std::span<const event> batch) {
        if (filter_.empty()) return count(sink_.write(batch), batch.size());
        state st = state_;
        const filter_stats before = stats_;
        out_.clear();
        for (const event& e : batch) {
            (void)step(e, st, [&](const event& x) -> result<void> {
                out_.push_back(x);
                return {};
            });
        }
        if (!out_.empty()) {
            if (auto r = sink_.write(std::span<const event>(out_)); !r) {
                stats_ = before;  // nothing changed: the caller writes the batch again
                return r;
            }
        }
        state_ = std::move(st);
        return {};
    }

    result<void> flush() { return sink_.flush(); }

    result<std::optional<std::string>> load_cursor()
        requires transactional_sink<downstream>
    {
        return sink_.load_cursor();
    }
    result<void> publish(std::string_view cursor)
        requires transactional_sink<downstream>
    {
        return sink_.publish(cursor);
    }
    /// Forgets a held BEGIN and discards what the sink staged after its last group end.
    result<void> discard()
        requires transactional_sink<downstream>
    {
        state_ = {};
        return sink_.discard();
    }

    const event_filter& filter() const noexcept { return filter_; }
    downstream& sink() noexcept { return sink_; }
    filter_stats stats() const noexcept { return stats_; }

private:
    struct state {
        std::optional<event> held;  // a BEGIN not written yet
        bool in_txn = false;
    };

    result<void> count(result<void> r, std::size_t n) {
        if (r) stats_.passed += n;
        return r;
    }

    // One event through the filter; `emit` hands an event on. `st` changes only as far
    // as the events emitted went (a failed emit leaves it as it was before that emit).
    template <class Emit>
    result<void> step(const event& e, state& st, Emit&& emit) {
        switch (e.kind) {
            case event_kind::begin:
                st.held = e;
                st.in_txn = true;
                return {};
            case event_kind::commit:
            case event_kind::rollback:
                if (st.held) {  // nothing of it passed: drop the pair
                    st.held.reset();
                    st.in_txn = false;
                    ++stats_.empty_groups;
                    return {};
                }
                if (auto r = emit(e); !r) return r;
                st.in_txn = false;
                ++stats_.passed;
                return {};
            default: break;
        }
        if (!filter_.passes(e)) {
            ++stats_.dropped;
            return {};
        }
        if (st.held) {
            if (auto r = emit(*st.held); !r) return r;
            st.held.reset();
            ++stats_.passed;
        }
        const event* out = &e;
        if (is_row_event(e.kind) && e.columns && filter_.has_column_rules()) {
            const projection& p = project(e);
            if (!p.all) {
                reduce(e, p);
                out = &scratch_;
                ++stats_.reduced;
            }
        }
        if (auto r = emit(*out); !r) return r;
        ++stats_.passed;
        return {};
    }

    struct projection {
        columns_ptr source;  // keeps the key alive (no address reuse)
        std::string schema, table;
        columns_ptr reduced;
        std::vector<std::size_t> keep;
        bool all = true;
    };

    // The reduced column list for e's table and column list, built once per pair.
    const projection& project(const event& e) {
        auto hit = [&](const projection& p) {
            return p.source == e.columns && p.table == e.table && p.schema == e.schema;
        };
        if (last_ < cache_.size() && hit(cache_[last_])) return cache_[last_];
        for (std::size_t i = 0; i < cache_.size(); ++i)
            if (hit(cache_[i])) return cache_[last_ = i];
        if (cache_.size() >= max_cache) cache_.erase(cache_.begin());
        projection p{e.columns, e.schema, e.table, nullptr, filter_.kept_columns(e.schema, e.table, *e.columns), true};
        p.all = p.keep.size() == e.columns->size();
        if (!p.all) {
            std::vector<column> cols;
            cols.reserve(p.keep.size());
            for (std::size_t i : p.keep) cols.push_back((*e.columns)[i]);
            p.reduced = make_columns(std::move(cols));
        }
        cache_.push_back(std::move(p));
        return cache_[last_ = cache_.size() - 1];
    }

    void reduce(const event& e, const projection& p) {
        auto pick = [&](const std::vector<value>& in, std::vector<value>& out) {
            out.clear();
            if (in.empty()) return;
            for (std::size_t i : p.keep)
                if (i < in.size()) out.push_back(in[i]);
        };
        event& o = scratch_;
        o.kind = e.kind;
        o.schema = e.schema;
        o.table = e.table;
        o.columns = p.reduced;
        pick(e.before, o.before);
        pick(e.after, o.after);
        o.statement = e.statement;
        o.sequence = e.sequence;
        o.transaction = e.transaction;
        o.source = e.source;
        o.commit_time = e.commit_time;
        o.capture_time = e.capture_time;
    }

    static constexpr std::size_t max_cache = 256;

    event_filter filter_;
    Sink sink_;
    state state_;
    filter_stats stats_;
    std::vector<event> out_;  // batch scratch
    event scratch_;           // a reduced row
    std::vector<projection> cache_;
    std::size_t last_ = 0;
};

template <class S>
filtered_sink(event_filter, S&&) -> filtered_sink<S>;

ROWCAST_NAMESPACE_END
