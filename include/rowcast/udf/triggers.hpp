// rowcast/udf/triggers.hpp: the SQL of the triggers that call rowcast_event()
// (docs/udf.md, "The trigger generator"). No database client needed: the
// caller reads the table's description from information_schema (the program
// rowcast-triggers does, with rowcast/mysql/connection.hpp) and gets SQL text back.
//
// For a table, three triggers AFTER INSERT / UPDATE / DELETE, named
// <prefix><table>_ai / _au / _ad (at most 64 characters: long table names are
// cut at a character boundary and get a hash of the full name), created with
// CREATE OR REPLACE, each calling
//     <function>('<schema>', '<table>', '<op>', '<descriptor>', OLD.`c`, NEW.`c`, …)
// and SIGNALling SQLSTATE 45000 when it returns NULL (on_error = fail).
// Values are passed as themselves except BIT (`c` + 0), TIMESTAMP (epoch
// seconds through UNIX_TIMESTAMP, the zero TIMESTAMP as 0) and text in a
// character set that is not UTF-8 compatible (CONVERT(… USING utf8mb4)).
//
// Transactional mode (trigger_options::outbox non-empty; docs/udf.md): each
// trigger first inserts a row into an InnoDB outbox table (outbox_table_sql())
// in the same transaction, with an id from UUID() (outbox_id_expression) held in a local variable, and
// passes that id as rowcast_event()'s last argument; the event then names the
// row (transaction.id "outbox:<id>") and a consumer behind udf::outbox_gate
// (udf/outbox.hpp) applies it only once that row is committed.
//
// Quoting: identifiers are always backtick-quoted with backticks doubled;
// string literals are '…' with quotes doubled, or X'…' when they hold a
// backslash or a control byte, so the SQL means the same under any sql_mode.
//
// Errors: none; the functions only build text (std::bad_alloc aside).
// Thread-safety: free functions on their arguments only.
#pragma once

#include <rowcast/mysql/quote.hpp>
#include <rowcast/version.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

ROWCAST_NAMESPACE_BEGIN
namespace udf {

/// One column, as information_schema.COLUMNS (and the table's keys and checks) describe it.
struct trigger_column {
    std::string name;
    std::string column_type;  ///< COLUMNS.COLUMN_TYPE, e.g. "bigint(20) unsigned"
    std::string data_type;    ///< COLUMNS.DATA_TYPE, e.g. "bigint"
    std::string charset;      ///< COLUMNS.CHARACTER_SET_NAME; empty for non-character columns
    bool nullable = true;
    bool primary_key = false;
    bool json = false;        ///< MariaDB JSON: LONGTEXT with CHECK (json_valid(`c`)); see mark_json_columns()
};

/// A trigger already on the table (information_schema.TRIGGERS).
struct existing_trigger {
    std::string name;
    std::string event;   ///< INSERT, UPDATE or DELETE (EVENT_MANIPULATION)
    std::string timing;  ///< BEFORE or AFTER (ACTION_TIMING)
    long order = 0;      ///< ACTION_ORDER
};

/// What the generator knows about one table.
struct table_description {
    std::string schema, table;
    std::vector<trigger_column> columns;     ///< in ORDINAL_POSITION order
    std::vector<existing_trigger> triggers;  ///< every trigger on the table, in ACTION_ORDER (ours included)
};

struct trigger_options {
    std::string function = "rowcast_event";  ///< the loadable function the triggers call
    std::string prefix = "rowcast_";         ///< trigger names: <prefix><table>_ai/_au/_ad
    /// Add ours even when the table has other INSERT/UPDATE/DELETE triggers; ours then
    /// FOLLOW the last existing AFTER trigger of the same event.
    bool alongside = false;
    /// Transactional mode: the outbox table the triggers insert into (empty: plain mode,
    /// the event is all a trigger writes). Create it with outbox_table_sql().
    std::string outbox;
    /// The outbox table's schema; empty: the schema of the table the trigger is on.
    std::string outbox_schema;
};


// The SQL quoting helpers (rowcast/mysql/quote.hpp), under the names this header always had.
using ::rowcast::mysql::quote_identifier;
using ::rowcast::mysql::quote_string;

/// The name of the triggers' local variable holding the outbox id.
inline constexpr std::string_view outbox_variable = "rowcast_outbox_id";

/// `schema`.`table` of the outbox the triggers of `t` insert into (o.outbox non-empty).
inline std::string outbox_table_name(const trigger_options& o, std::string_view table_schema) {
    return quote_identifier(o.outbox_schema.empty() ? table_schema : std::string_view(o.outbox_schema)) + "." +
           quote_identifier(o.outbox);
}

/// CREATE TABLE IF NOT EXISTS for the outbox: InnoDB (the rows must commit and roll back
/// with the change), an id from UUID() (outbox_id_expression) and the time of the insert (for clean-up of
/// rows a crashed consumer left, see docs/udf.md).
inline std::string outbox_table_sql(std::string_view schema, std::string_view table) {
    return "CREATE TABLE IF NOT EXISTS " + quote_identifier(schema) + "." + quote_identifier(table) +
           " (\n  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,\n"
           "  created TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)\n) ENGINE=InnoDB"
           " COMMENT 'rowcast outbox: one row per change, removed once applied'";
}

/// The three row operations and what their triggers are called.
struct trigger_operation {
    std::string_view event;   ///< INSERT / UPDATE / DELETE
    std::string_view name;    ///< insert / update / delete (the UDF's operation argument)
    std::string_view suffix;  ///< ai / au / ad
    bool has_old, has_new;
};
inline constexpr trigger_operation trigger_operations[] = {{"INSERT", "insert", "ai", false, true},
                                                           {"UPDATE", "update", "au", true, true},
                                                           {"DELETE", "delete", "ad", true, false}};

/// <prefix><table>_<suffix>, at most 64 characters (MariaDB's limit): a longer name has the
/// table cut at a UTF-8 character boundary and an FNV-1a hash of the full table name added.
inline std::string trigger_name(std::string_view prefix, std::string_view table, std::string_view suffix) {
    auto chars = [](std::string_view s) {
        return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
    };
    std::string name = std::string(prefix) + std::string(table) + "_" + std::string(suffix);
    if (chars(name) <= 64) return name;
    std::uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : table) h = (h ^ c) * 16777619u;
    char hs[9];
    std::snprintf(hs, sizeof hs, "%08x", h);
    const std::size_t budget = 64 - chars(prefix) - 1 - 8 - 1 - chars(suffix);
    std::string cut;
    std::size_t n = 0;
    for (std::size_t i = 0; i < table.size() && n + 1 <= budget; ++n) {
        const auto c = static_cast<unsigned char>(table[i]);
        const std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        cut.append(table.substr(i, len));
        i += len;
    }
    return std::string(prefix) + cut + "_" + hs + "_" + std::string(suffix);
}

/// Our three trigger names for `table`, in the order of trigger_operations.
inline std::vector<std::string> trigger_names(std::string_view table, const trigger_options& o) {
    std::vector<std::string> out;
    for (const auto& p : trigger_operations) out.push_back(trigger_name(o.prefix, table, p.suffix));
    return out;
}

/// Sets `json` on the LONGTEXT columns that have a CHECK (json_valid(`c`)) among `check_clauses`
/// (information_schema.CHECK_CONSTRAINTS.CHECK_CLAUSE): MariaDB's JSON type.
inline void mark_json_columns(std::vector<trigger_column>& columns, std::span<const std::string> check_clauses) {
    for (auto& c : columns) {
        const std::string check = "json_valid(" + quote_identifier(c.name) + ")";
        c.json = c.data_type == "longtext" && std::find(check_clauses.begin(), check_clauses.end(), check) != check_clauses.end();
    }
}

/// The descriptor rowcast_event() reads (udf/columns.hpp):
/// "`name` <column_type> [character set cs] [not null] [primary key]".
inline std::string column_descriptor(const trigger_column& c) {
    std::string d = quote_identifier(c.name) + " " + (c.json ? std::string("json") : c.column_type);
    if (!c.json && !c.charset.empty() && c.charset != "binary") d += " character set " + c.charset;
    if (!c.nullable) d += " not null";
    if (c.primary_key) d += " primary key";
    return d;
}

/// How the trigger passes the column's value of `image` ("OLD" or "NEW").
inline std::string value_expression(const trigger_column& c, std::string_view image) {
    const std::string ref = std::string(image) + "." + quote_identifier(c.name);
    if (c.data_type == "bit") return ref + " + 0";
    if (c.data_type == "timestamp") return "IF(" + ref + " IS NULL, NULL, IFNULL(UNIX_TIMESTAMP(" + ref + "), 0))";
    static constexpr std::string_view utf8_compatible[] = {"", "utf8mb4", "utf8mb3", "utf8", "ascii", "binary"};
    if (!c.json && std::find(std::begin(utf8_compatible), std::end(utf8_compatible), c.charset) == std::end(utf8_compatible))
        return "CONVERT(" + ref + " USING utf8mb4)";
    return ref;
}

/// The outbox row's id: the first 64 bits of a version-1 UUID() (its time in 100 ns steps, with the
/// version nibble), unique across restarts of the server. UUID_SHORT() was used before and is not:
/// it is (server_id << 56 | start time in seconds << 24) + counter, so a server restarted within the
/// same second as its previous start hands out the same ids again, and an event of the old server
/// then names a row of the new one (found by DnsEndToEnd.TransactionalMode… under kill -9).
inline constexpr std::string_view outbox_id_expression = "CAST(CONV(LEFT(REPLACE(UUID(), '-', ''), 16), 16, 10) AS UNSIGNED)";

/// CREATE OR REPLACE TRIGGER for one operation; `follows` names the trigger ours must follow.
inline std::string create_trigger_sql(const table_description& t, const trigger_operation& p,
                                      const trigger_options& o, const std::optional<std::string>& follows = {}) {
    std::string s = "CREATE OR REPLACE TRIGGER " + quote_identifier(t.schema) + "." +
                    quote_identifier(trigger_name(o.prefix, t.table, p.suffix)) + "\nAFTER " + std::string(p.event) +
                    " ON " + quote_identifier(t.schema) + "." + quote_identifier(t.table) + " FOR EACH ROW";
    if (follows) s += " FOLLOWS " + quote_identifier(*follows);
    s += "\nBEGIN\n";
    if (!o.outbox.empty())
        s += "  DECLARE " + std::string(outbox_variable) + " BIGINT UNSIGNED DEFAULT " + std::string(outbox_id_expression) +
             ";\n  INSERT INTO " +
             outbox_table_name(o, t.schema) + " (id) VALUES (" + std::string(outbox_variable) + ");\n";
    s += "  IF " + quote_identifier(o.function) + "(" + quote_string(t.schema) + ", " + quote_string(t.table) +
         ", '" + std::string(p.name) + "'";
    for (const auto& c : t.columns) {
        s += ",\n      " + quote_string(column_descriptor(c)) + ", ";
        s += p.has_old ? value_expression(c, "OLD") : std::string("NULL");
        s += ", ";
        s += p.has_new ? value_expression(c, "NEW") : std::string("NULL");
    }
    if (!o.outbox.empty()) s += ",\n      " + std::string(outbox_variable);
    s += ") IS NULL THEN\n    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'rowcast_event failed';\n  END IF;\nEND";
    return s;
}

/// The table's triggers that are not ours (by exact name).
inline std::vector<existing_trigger> other_triggers(const table_description& t, const trigger_options& o) {
    const auto ours = trigger_names(t.table, o);
    std::vector<existing_trigger> out;
    for (const auto& x : t.triggers)
        if (std::find(ours.begin(), ours.end(), x.name) == ours.end()) out.push_back(x);
    return out;
}

/// "`a` (AFTER INSERT), `b` (BEFORE UPDATE)", for messages.
inline std::string describe_triggers(std::span<const existing_trigger> ts) {
    std::string out;
    for (const auto& t : ts) out += (out.empty() ? "" : ", ") + quote_identifier(t.name) + " (" + t.timing + " " + t.event + ")";
    return out;
}

/// The result of planning one table.
struct trigger_plan {
    std::vector<std::string> statements;     ///< in order; empty when refused
    std::vector<existing_trigger> refused_for;  ///< non-empty: other triggers exist and !alongside
};

/// The three CREATE OR REPLACE TRIGGER statements for the table, or a refusal when it has
/// other triggers and `o.alongside` is false (then nothing should change for any table).
inline trigger_plan plan_create(const table_description& t, const trigger_options& o) {
    trigger_plan plan;
    const auto others = other_triggers(t, o);
    if (!others.empty() && !o.alongside) {
        plan.refused_for = others;
        return plan;
    }
    for (const auto& p : trigger_operations) {
        // Alongside: ours run after the existing AFTER triggers of the same event.
        std::optional<std::string> follows;
        for (const auto& x : others)
            if (x.timing == "AFTER" && x.event == p.event) follows = x.name;
        plan.statements.push_back(create_trigger_sql(t, p, o, follows));
    }
    return plan;
}

/// DROP TRIGGER IF EXISTS for our triggers (by exact name, in name order); with `only_present`
/// only for those among t.triggers.
inline std::vector<std::string> drop_statements(const table_description& t, const trigger_options& o, bool only_present) {
    auto ours = trigger_names(t.table, o);
    std::sort(ours.begin(), ours.end());
    std::vector<std::string> out;
    for (const auto& name : ours) {
        const bool present = std::any_of(t.triggers.begin(), t.triggers.end(), [&](const existing_trigger& x) { return x.name == name; });
        if (present || !only_present)
            out.push_back("DROP TRIGGER IF EXISTS " + quote_identifier(t.schema) + "." + quote_identifier(name));
    }
    return out;
}

/// A script for the mariadb client: a comment naming the schema, then the statements
/// between DELIMITER ;; and DELIMITER ;.
inline std::string trigger_script(std::string_view schema, std::span<const std::string> statements,
                                  std::string_view generator = "rowcast-triggers") {
    std::string out = "-- generated by " + std::string(generator) + " for schema " + quote_identifier(schema) +
                      "\nDELIMITER ;;\n";
    for (const auto& s : statements) out += s + ";;\n";
    out += "DELIMITER ;\n";
    return out;
}

}  // namespace udf
ROWCAST_NAMESPACE_END
