// rowcast-triggers: generates AFTER INSERT/UPDATE/DELETE triggers that call rowcast_event()
// (examples/udf, docs/udf.md) with every column of a table and its descriptor.
//
//   rowcast-triggers [connection options] [--apply] [--drop] [--alongside] SCHEMA [TABLE...]
//
// Without --apply it prints an SQL script (for the mariadb client); with --apply it creates the
// triggers itself. It reads information_schema.TABLES, COLUMNS, STATISTICS, CHECK_CONSTRAINTS and
// TRIGGERS. Triggers are named rowcast_<table>_ai / _au / _ad (CREATE OR REPLACE, so running it
// again after an ALTER TABLE regenerates them). Tables that already have other triggers for
// INSERT/UPDATE/DELETE are refused unless --alongside (ours are then ordered to FOLLOW the
// existing AFTER triggers). --drop removes only the triggers with our exact names.
//
// Exit codes: 0 done; 1 usage; 2 connection or query error; 3 refused (existing triggers);
// 4 schema or table not found.
#include <rowcast/binlog/mariadb_result.hpp>

#include <mysql.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

enum exit_code { exit_ok = 0, exit_usage = 1, exit_db = 2, exit_refused = 3, exit_not_found = 4 };

struct db_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// --- libmariadb, RAII ------------------------------------------------------------------------
struct mysql_closer {
    void operator()(MYSQL* m) const noexcept { mysql_close(m); }
};
using row = rowcast::binlog::mariadb_cells;

class connection {
public:
    connection(const std::string& host, unsigned port, const std::string& socket, const std::string& user,
               const std::optional<std::string>& password) {
        m_.reset(mysql_init(nullptr));
        if (!m_) throw db_failure("mysql_init failed (out of memory)");
        mysql_options(m_.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
        const bool sock = !socket.empty();
        if (!mysql_real_connect(m_.get(), sock ? "localhost" : host.c_str(), user.c_str(),
                                password ? password->c_str() : nullptr, nullptr, sock ? 0 : port,
                                sock ? socket.c_str() : nullptr, 0))
            throw db_failure(std::string("cannot connect: ") + mysql_error(m_.get()));
    }

    std::vector<row> rows(const std::string& sql) {
        if (mysql_real_query(m_.get(), sql.data(), sql.size()) != 0) fail(sql);
        rowcast::binlog::mariadb_result r(mysql_store_result(m_.get()));
        if (!r && mysql_field_count(m_.get()) != 0) fail(sql);
        return r.rows();
    }
    void exec(const std::string& sql) { (void)rows(sql); }

    // 'literal' for values inside our information_schema queries.
    std::string literal(std::string_view s) const {
        std::string out(s.size() * 2 + 1, '\0');
        out.resize(mysql_real_escape_string(m_.get(), out.data(), s.data(), s.size()));
        return "'" + out + "'";
    }

private:
    [[noreturn]] void fail(const std::string& sql) {
        throw db_failure(std::string(mysql_error(m_.get())) + "\n  in: " + sql.substr(0, 400));
    }
    std::unique_ptr<MYSQL, mysql_closer> m_;
};

// --- Quoting for the generated SQL ----------------------------------------------------------
// `identifier` with backticks doubled: safe for reserved words and any Unicode name.
std::string ident(std::string_view s) {
    std::string out = "`";
    for (char c : s) {
        if (c == '`') out += '`';
        out += c;
    }
    return out + "`";
}

// A string literal that means the same bytes whatever the sql_mode (NO_BACKSLASH_ESCAPES or
// not): '…' with quotes doubled when there is no backslash or control byte, else X'hex'.
std::string sql_string(std::string_view s) {
    bool plain = true;
    for (unsigned char c : s) plain &= c != '\\' && c >= 0x20 && c != 0x7f;
    if (plain) {
        std::string out = "'";
        for (char c : s) {
            if (c == '\'') out += '\'';
            out += c;
        }
        return out + "'";
    }
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out = "X'";
    for (unsigned char c : s) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out + "'";
}

std::size_t utf8_chars(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// rowcast_<table>_<suffix>, at most 64 characters (MariaDB's limit): long table names are cut
// at a character boundary and get a hash of the full name.
std::string trigger_name(const std::string& prefix, const std::string& table, const std::string& suffix) {
    std::string name = prefix + table + "_" + suffix;
    if (utf8_chars(name) <= 64) return name;
    std::uint32_t h = 2166136261u;  // FNV-1a
    for (unsigned char c : table) h = (h ^ c) * 16777619u;
    char hs[9];
    std::snprintf(hs, sizeof hs, "%08x", h);
    const std::size_t budget = 64 - utf8_chars(prefix) - 1 - 8 - 1 - utf8_chars(suffix);
    std::string cut;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < table.size();) {
        std::size_t len = 1;
        const auto c = static_cast<unsigned char>(table[i]);
        if (c >= 0xF0) len = 4;
        else if (c >= 0xE0) len = 3;
        else if (c >= 0xC0) len = 2;
        if (chars + 1 > budget) break;
        cut.append(table, i, len);
        i += len;
        ++chars;
    }
    return prefix + cut + "_" + hs + "_" + suffix;
}

// --- What the generator knows about a table ------------------------------------------------
struct column_info {
    std::string name;
    std::string column_type;  // information_schema.COLUMNS.COLUMN_TYPE
    std::string data_type;
    std::string charset;      // empty for non-character columns
    bool nullable = true;
    bool primary_key = false;
    bool json = false;        // MariaDB JSON = LONGTEXT + CHECK (json_valid(`c`))
};

struct existing_trigger {
    std::string name, event, timing;
    long order = 0;
};

struct options {
    std::string host = "127.0.0.1";
    unsigned port = 3306;
    std::string socket;
    std::string user;
    std::optional<std::string> password;
    bool apply = false, drop = false, alongside = false;
    std::string function = "rowcast_event";
    std::string prefix = "rowcast_";
    std::string schema;
    std::vector<std::string> tables;
};

bool utf8_compatible(const std::string& cs) {
    return cs.empty() || cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" || cs == "ascii" || cs == "binary";
}

// The descriptor: "`name` <column_type> [character set cs] [not null] [primary key]".
std::string descriptor(const column_info& c) {
    std::string d = ident(c.name) + " " + (c.json ? std::string("json") : c.column_type);
    if (!c.json && !c.charset.empty() && c.charset != "binary") d += " character set " + c.charset;
    if (!c.nullable) d += " not null";
    if (c.primary_key) d += " primary key";
    return d;
}

// How a value is passed: as-is, except BIT (as an integer), TIMESTAMP (epoch seconds, time zone
// free; the zero TIMESTAMP as 0) and text in a non-UTF-8 character set (converted).
std::string value_expr(const column_info& c, const std::string& image) {
    const std::string ref = image + "." + ident(c.name);
    if (c.data_type == "bit") return ref + " + 0";
    if (c.data_type == "timestamp") return "IF(" + ref + " IS NULL, NULL, IFNULL(UNIX_TIMESTAMP(" + ref + "), 0))";
    if (!c.json && !utf8_compatible(c.charset)) return "CONVERT(" + ref + " USING utf8mb4)";
    return ref;
}

struct op {
    const char* event;   // INSERT / UPDATE / DELETE
    const char* name;    // insert / update / delete
    const char* suffix;  // ai / au / ad
    bool has_old, has_new;
};
constexpr op ops[] = {{"INSERT", "insert", "ai", false, true},
                      {"UPDATE", "update", "au", true, true},
                      {"DELETE", "delete", "ad", true, false}};

std::string create_trigger_sql(const options& o, const std::string& table, const std::vector<column_info>& cols,
                               const op& p, const std::optional<std::string>& follows) {
    std::string s = "CREATE OR REPLACE TRIGGER " + ident(o.schema) + "." +
                    ident(trigger_name(o.prefix, table, p.suffix)) + "\nAFTER " + p.event + " ON " +
                    ident(o.schema) + "." + ident(table) + " FOR EACH ROW";
    if (follows) s += " FOLLOWS " + ident(*follows);
    s += "\nBEGIN\n  IF " + ident(o.function) + "(" + sql_string(o.schema) + ", " + sql_string(table) + ", '" +
         p.name + "'";
    for (const auto& c : cols) {
        s += ",\n      " + sql_string(descriptor(c)) + ", ";
        s += p.has_old ? value_expr(c, "OLD") : std::string("NULL");
        s += ", ";
        s += p.has_new ? value_expr(c, "NEW") : std::string("NULL");
    }
    s += ") IS NULL THEN\n    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'rowcast_event failed';\n  END IF;\nEND";
    return s;
}

void usage(FILE* f) {
    std::fputs(
        "usage: rowcast-triggers [options] SCHEMA [TABLE...]\n"
        "Generates AFTER INSERT/UPDATE/DELETE triggers calling rowcast_event() with every column\n"
        "(all base tables of SCHEMA unless TABLEs are named). Prints the SQL unless --apply.\n"
        "  -S, --socket PATH     connect through a Unix socket\n"
        "  -h, --host HOST       TCP host (default 127.0.0.1)\n"
        "  -P, --port PORT       TCP port (default 3306)\n"
        "  -u, --user USER       user (default: $USER)\n"
        "  -p, --password PASS   password (default: $MYSQL_PWD)\n"
        "      --apply           create (or, with --drop, drop) the triggers\n"
        "      --drop            remove the triggers this tool creates (rowcast_<table>_ai/au/ad only)\n"
        "      --alongside       add ours even if the table has other INSERT/UPDATE/DELETE triggers\n"
        "      --function NAME   the loadable function to call (default rowcast_event)\n"
        "      --help            this text\n"
        "exit codes: 0 ok, 1 usage, 2 connection/query error, 3 refused (existing triggers),\n"
        "            4 schema or table not found\n",
        f);
}

int run(const options& o) {
    connection db(o.host, o.port, o.socket, o.user, o.password);
    if (db.rows("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " + db.literal(o.schema)).empty()) {
        std::fprintf(stderr, "rowcast-triggers: schema %s not found\n", ident(o.schema).c_str());
        return exit_not_found;
    }
    std::vector<std::string> tables = o.tables;
    if (tables.empty()) {
        for (auto& r : db.rows("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                               db.literal(o.schema) + " AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"))
            tables.push_back(*r[0]);
        if (tables.empty()) {
            std::fprintf(stderr, "rowcast-triggers: schema %s has no base tables\n", ident(o.schema).c_str());
            return exit_not_found;
        }
    }
    std::vector<std::string> script;  // statements, in order
    int status = exit_ok;
    for (const auto& table : tables) {
        const std::string where =
            "TABLE_SCHEMA = " + db.literal(o.schema) + " AND TABLE_NAME = " + db.literal(table);
        auto trow = db.rows("SELECT TABLE_TYPE FROM information_schema.TABLES WHERE " + where);
        if (trow.empty() || trow[0][0] != "BASE TABLE") {
            std::fprintf(stderr, "rowcast-triggers: %s.%s %s\n", ident(o.schema).c_str(), ident(table).c_str(),
                         trow.empty() ? "not found" : "is not a base table");
            return exit_not_found;
        }
        // Our own triggers, by exact name.
        std::set<std::string> ours;
        for (const auto& p : ops) ours.insert(trigger_name(o.prefix, table, p.suffix));
        std::vector<existing_trigger> others;
        std::set<std::string> present_ours;
        for (auto& r : db.rows("SELECT TRIGGER_NAME, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER "
                               "FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = " +
                               db.literal(o.schema) + " AND EVENT_OBJECT_TABLE = " + db.literal(table) +
                               " ORDER BY ACTION_ORDER")) {
            if (ours.count(*r[0])) present_ours.insert(*r[0]);
            else others.push_back({*r[0], *r[1], *r[2], std::strtol(r[3].value_or("0").c_str(), nullptr, 10)});
        }
        if (o.drop) {
            for (const auto& name : ours)
                if (present_ours.count(name) || !o.apply)
                    script.push_back("DROP TRIGGER IF EXISTS " + ident(o.schema) + "." + ident(name));
            continue;
        }
        if (!others.empty() && !o.alongside) {
            std::string names;
            for (const auto& t : others) names += (names.empty() ? "" : ", ") + ident(t.name) + " (" + t.timing + " " + t.event + ")";
            std::fprintf(stderr,
                         "rowcast-triggers: %s.%s already has triggers: %s; refusing (use --alongside to add "
                         "ours after them)\n",
                         ident(o.schema).c_str(), ident(table).c_str(), names.c_str());
            status = exit_refused;
            continue;  // keep going to report every refused table
        }
        std::vector<column_info> cols;
        for (auto& r : db.rows("SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, CHARACTER_SET_NAME, IS_NULLABLE "
                               "FROM information_schema.COLUMNS WHERE " + where + " ORDER BY ORDINAL_POSITION")) {
            column_info c;
            c.name = *r[0];
            c.column_type = *r[1];
            c.data_type = *r[2];
            c.charset = r[3].value_or("");
            c.nullable = r[4] == "YES";
            cols.push_back(std::move(c));
        }
        if (cols.empty()) {
            std::fprintf(stderr, "rowcast-triggers: %s.%s has no columns visible to this user\n",
                         ident(o.schema).c_str(), ident(table).c_str());
            return exit_not_found;
        }
        std::set<std::string> pk;
        for (auto& r : db.rows("SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE " + where +
                               " AND INDEX_NAME = 'PRIMARY'"))
            pk.insert(*r[0]);
        std::set<std::string> json_checks;
        for (auto& r : db.rows("SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE "
                               "CONSTRAINT_SCHEMA = " + db.literal(o.schema) + " AND TABLE_NAME = " +
                               db.literal(table)))
            if (r[0]) json_checks.insert(*r[0]);
        for (auto& c : cols) {
            c.primary_key = pk.count(c.name) > 0;
            c.json = c.data_type == "longtext" && json_checks.count("json_valid(" + ident(c.name) + ")") > 0;
        }
        for (const auto& p : ops) {
            // Alongside: ours run after the existing AFTER triggers of the same event.
            std::optional<std::string> follows;
            for (const auto& t : others)
                if (t.timing == "AFTER" && t.event == p.event) follows = t.name;
            script.push_back(create_trigger_sql(o, table, cols, p, follows));
        }
    }
    if (status == exit_refused) return status;  // all or nothing: refuse without changing anything
    if (o.apply) {
        for (const auto& s : script) db.exec(s);
        std::fprintf(stderr, "rowcast-triggers: %zu statement(s) applied\n", script.size());
    } else {
        std::string out = "-- generated by rowcast-triggers for schema " + ident(o.schema) + "\nDELIMITER ;;\n";
        for (const auto& s : script) out += s + ";;\n";
        out += "DELIMITER ;\n";
        std::fwrite(out.data(), 1, out.size(), stdout);
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (const char* u = std::getenv("USER")) o.user = u;
    if (const char* p = std::getenv("MYSQL_PWD")) o.password = p;
    std::vector<std::string> positional;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            auto value = [&]() -> std::string {
                if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) return a.substr(eq + 1);
                if (i + 1 >= argc) throw std::invalid_argument("option " + a + " needs a value");
                return argv[++i];
            };
            auto is = [&](const char* s, const char* l) {
                return a == s || a == l || (a.rfind(std::string(l) + "=", 0) == 0);
            };
            if (a == "--help") {
                usage(stdout);
                return exit_ok;
            } else if (is("-S", "--socket")) o.socket = value();
            else if (is("-h", "--host")) o.host = value();
            else if (is("-P", "--port")) {
                const std::string v = value();
                char* end = nullptr;
                const unsigned long p = std::strtoul(v.c_str(), &end, 10);
                if (v.empty() || *end || p == 0 || p > 65535) throw std::invalid_argument("bad port '" + v + "'");
                o.port = static_cast<unsigned>(p);
            } else if (is("-u", "--user")) o.user = value();
            else if (is("-p", "--password")) o.password = value();
            else if (a == "--apply") o.apply = true;
            else if (a == "--drop") o.drop = true;
            else if (a == "--alongside") o.alongside = true;
            else if (is("--function", "--function")) o.function = value();
            else if (a.size() > 1 && a[0] == '-') throw std::invalid_argument("unknown option " + a);
            else positional.push_back(a);
        }
        if (positional.empty()) throw std::invalid_argument("missing SCHEMA");
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "rowcast-triggers: %s\n", e.what());
        usage(stderr);
        return exit_usage;
    }
    o.schema = positional[0];
    o.tables.assign(positional.begin() + 1, positional.end());
    try {
        mysql_library_init(0, nullptr, nullptr);
        const int rc = run(o);
        mysql_library_end();
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rowcast-triggers: %s\n", e.what());
        return exit_db;
    }
}
