// rowcast-triggers: generates AFTER INSERT/UPDATE/DELETE triggers that call rowcast_event()
// (examples/udf, docs/udf.md) with every column of a table and its descriptor.
//
//   rowcast-triggers [connection options] [--apply] [--drop] [--alongside] [--transactional [--outbox T]] SCHEMA [TABLE...]
//
// Without --apply it prints an SQL script (for the mariadb client); with --apply it creates the
// triggers itself. It reads information_schema.TABLES, COLUMNS, STATISTICS, CHECK_CONSTRAINTS and
// TRIGGERS. Triggers are named rowcast_<table>_ai / _au / _ad (CREATE OR REPLACE, so running it
// again after an ALTER TABLE regenerates them). Tables that already have other triggers for
// INSERT/UPDATE/DELETE are refused unless --alongside (ours are then ordered to FOLLOW the
// existing AFTER triggers). --drop removes only the triggers with our exact names.
// --transactional: the outbox mode (docs/udf.md): first CREATE TABLE IF NOT EXISTS for the outbox
// (default SCHEMA.rowcast_outbox), then triggers that insert a row there and pass its id on; the
// outbox table itself never gets triggers. --drop leaves the outbox table (it may hold rows).
//
// Exit status (docs/programs.md): 0 done; 1 runtime error (connection or query failed, refused
// because of existing triggers, schema or table not found; the message says which); 2 usage.
//
// The SQL itself (names, descriptors, value expressions, quoting, refusal and FOLLOWS) comes from
// the library (rowcast/udf/triggers.hpp); this program reads information_schema and applies it.
#include "../common/cli.hpp"

#include <rowcast/mysql/connection.hpp>
#include <rowcast/udf/triggers.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The shared statuses (examples/common/cli.hpp): every failure after the options parsed is a runtime error.
enum exit_code { exit_ok = 0, exit_db = 1, exit_refused = 1, exit_not_found = 1 };

struct db_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// --- the connection (rowcast/mysql/connection.hpp) -----------------------------------------
using row = rowcast::mysql::row;

class connection {
public:
    explicit connection(const rowcast::mysql::connect_options& o) {
        auto c = rowcast::mysql::connection::open(o, "triggers");
        if (!c) throw db_failure(c.error_value().message);
        c_.emplace(std::move(*c));
    }

    std::vector<row> rows(const std::string& sql) {
        auto r = c_->query_all(sql);
        if (!r) throw db_failure(r.error_value().message + "\n  in: " + sql.substr(0, 400));
        return std::move(r->rows);
    }
    void exec(const std::string& sql) {
        if (auto r = c_->execute(sql); !r) throw db_failure(r.error_value().message + "\n  in: " + sql.substr(0, 400));
    }

    // 'literal' for values inside our information_schema queries.
    static std::string literal(std::string_view s) { return rowcast::mysql::quote_string(s); }

private:
    std::optional<rowcast::mysql::connection> c_;
};

using rowcast::udf::quote_identifier;

struct options {
    rowcast::mysql::connect_options connection;
    bool apply = false, drop = false, alongside = false;
    std::string function = "rowcast_event";
    std::string prefix = "rowcast_";
    bool transactional = false;
    std::string outbox = "rowcast_outbox";
    std::string schema;
    std::vector<std::string> tables;
};

// The table as information_schema describes it: columns (with the primary key and MariaDB's JSON
// columns marked) and every trigger on it.
rowcast::udf::table_description describe(connection& db, const std::string& schema, const std::string& table) {
    rowcast::udf::table_description t{schema, table, {}, {}};
    const std::string where = "TABLE_SCHEMA = " + db.literal(schema) + " AND TABLE_NAME = " + db.literal(table);
    for (auto& r : db.rows("SELECT TRIGGER_NAME, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER "
                           "FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = " +
                           db.literal(schema) + " AND EVENT_OBJECT_TABLE = " + db.literal(table) +
                           " ORDER BY ACTION_ORDER"))
        t.triggers.push_back({*r[0], *r[1], *r[2], std::strtol(r[3].value_or("0").c_str(), nullptr, 10)});
    for (auto& r : db.rows("SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, CHARACTER_SET_NAME, IS_NULLABLE "
                           "FROM information_schema.COLUMNS WHERE " + where + " ORDER BY ORDINAL_POSITION")) {
        rowcast::udf::trigger_column c;
        c.name = *r[0];
        c.column_type = *r[1];
        c.data_type = *r[2];
        c.charset = r[3].value_or("");
        c.nullable = r[4] == "YES";
        t.columns.push_back(std::move(c));
    }
    std::set<std::string> pk;
    for (auto& r : db.rows("SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE " + where +
                           " AND INDEX_NAME = 'PRIMARY'"))
        pk.insert(*r[0]);
    for (auto& c : t.columns) c.primary_key = pk.count(c.name) > 0;
    std::vector<std::string> checks;
    for (auto& r : db.rows("SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE "
                           "CONSTRAINT_SCHEMA = " + db.literal(schema) + " AND TABLE_NAME = " + db.literal(table)))
        if (r[0]) checks.push_back(*r[0]);
    rowcast::udf::mark_json_columns(t.columns, checks);
    return t;
}

int run(const options& o) {
    connection db(o.connection);
    if (db.rows("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " + db.literal(o.schema)).empty()) {
        std::fprintf(stderr, "rowcast-triggers: schema %s not found\n", quote_identifier(o.schema).c_str());
        return exit_not_found;
    }
    std::vector<std::string> tables = o.tables;
    if (tables.empty()) {
        for (auto& r : db.rows("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                               db.literal(o.schema) + " AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"))
            if (!o.transactional || *r[0] != o.outbox) tables.push_back(*r[0]);
        if (tables.empty()) {
            std::fprintf(stderr, "rowcast-triggers: schema %s has no base tables\n", quote_identifier(o.schema).c_str());
            return exit_not_found;
        }
    }
    const rowcast::udf::trigger_options to{o.function, o.prefix, o.alongside, o.transactional ? o.outbox : "", ""};
    std::vector<std::string> script;  // statements, in order
    if (o.transactional && !o.drop) script.push_back(rowcast::udf::outbox_table_sql(o.schema, o.outbox));
    int status = exit_ok;
    for (const auto& table : tables) {
        const std::string name = quote_identifier(o.schema) + "." + quote_identifier(table);
        if (o.transactional && table == o.outbox) {
            std::fprintf(stderr, "rowcast-triggers: %s is the outbox table: it gets no triggers\n", name.c_str());
            return exit_refused;
        }
        auto trow = db.rows("SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                            db.literal(o.schema) + " AND TABLE_NAME = " + db.literal(table));
        if (trow.empty() || trow[0][0] != "BASE TABLE") {
            std::fprintf(stderr, "rowcast-triggers: %s %s\n", name.c_str(), trow.empty() ? "not found" : "is not a base table");
            return exit_not_found;
        }
        const auto t = describe(db, o.schema, table);
        if (o.drop) {
            for (auto& s : rowcast::udf::drop_statements(t, to, o.apply)) script.push_back(std::move(s));
            continue;
        }
        auto plan = rowcast::udf::plan_create(t, to);
        if (!plan.refused_for.empty()) {
            std::fprintf(stderr,
                         "rowcast-triggers: %s already has triggers: %s; refusing (use --alongside to add ours after "
                         "them)\n",
                         name.c_str(), rowcast::udf::describe_triggers(plan.refused_for).c_str());
            status = exit_refused;
            continue;  // keep going to report every refused table
        }
        if (t.columns.empty()) {
            std::fprintf(stderr, "rowcast-triggers: %s has no columns visible to this user\n", name.c_str());
            return exit_not_found;
        }
        for (auto& s : plan.statements) script.push_back(std::move(s));
    }
    if (status == exit_refused) return status;  // all or nothing: refuse without changing anything
    if (o.apply) {
        for (const auto& s : script) db.exec(s);
        std::fprintf(stderr, "rowcast-triggers: %zu statement(s) applied\n", script.size());
    } else {
        const std::string out = rowcast::udf::trigger_script(o.schema, script);
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    return status;
}

}  // namespace

static int run_main(int argc, char** argv) {
    CLI::App app("Generates AFTER INSERT/UPDATE/DELETE triggers calling rowcast_event() with every column (all base "
                 "tables of SCHEMA unless TABLEs are named). Prints the SQL unless --apply.",
                 "rowcast-triggers");
    rowcast_cli::setup(app, "Example: MYSQL_PWD=... rowcast-triggers -h db1 -u admin --apply inventory hosts\n"
                            "Runtime errors (exit 1): the connection or a query failed, a table already has other "
                            "triggers (use --alongside), the schema or a table does not exist.");
    options o;
    rowcast_cli::connection_flags conn;
    conn.host = "127.0.0.1";
    rowcast_cli::add_connection_options(app, conn);
    app.add_flag("--apply", o.apply, "Create (or, with --drop, drop) the triggers instead of printing the SQL");
    app.add_flag("--drop", o.drop, "Remove the triggers this tool creates (rowcast_<table>_ai/au/ad only)");
    app.add_flag("--alongside", o.alongside, "Add ours even if the table has other INSERT/UPDATE/DELETE triggers");
    app.add_option("--function", o.function, "The loadable function to call")->capture_default_str();
    app.add_flag("--transactional", o.transactional,
                 "Outbox mode: the triggers also insert a row into an InnoDB outbox table (created if missing) so a "
                 "consumer with the outbox gate applies only committed changes (docs/udf.md)");
    app.add_option("--outbox", o.outbox, "The outbox table in SCHEMA (with --transactional)")->capture_default_str();
    app.add_option("SCHEMA", o.schema, "The schema")->required();
    app.add_option("TABLE", o.tables, "Its tables (default: all its base tables)");
    if (auto status = rowcast_cli::parse(app, argc, argv)) return *status;
    o.connection = conn.options();
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rowcast-triggers: %s\n", e.what());
        return exit_db;
    }
}

int main(int argc, char** argv) { return rowcast_cli::guarded("rowcast-triggers", [&] { return run_main(argc, argv); }); }
