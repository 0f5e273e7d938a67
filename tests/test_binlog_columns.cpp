// Binlog column decoding against a private MariaDB 10.11 (label "mariadb", issue 18 items 1, 2,
// 6 and the cross-check): every test writes rows, reads the server's binlog with rowcast and
// compares the decoded rows with what SELECT returns.
//  - GEOMETRY in every position next to latin1, utf8mb4, utf8mb3, BLOB and binary columns
//    (MariaDB lists GEOMETRY in the TABLE_MAP charset metadata, MySQL 8 does not; the MySQL
//    side is a hand-built vector in test_binlog_files.cpp);
//  - MariaDB 5.3-format TIME/DATETIME/TIMESTAMP with fractions (mysql56_temporal_format=OFF):
//    precision from the schema provider, else the value is refused naming table and column;
//  - binlog_row_metadata=NO_LOG: charsets and binary-ness from the schema provider;
//  - every column type at FULL, MINIMAL, NO_LOG and with compressed events.
#include "support/binlog_rows.hpp"
#include "support/mariadb_every_type.hpp"
#include "support/mariadb_server.hpp"

#include <rowcast/binlog/mariadb_schema_provider.hpp>
#include <rowcast/binlog/parser.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace rb = rowcast::binlog;
using namespace rowcast;
using rowcast::test::db_connection;
using rowcast::test::mariadb_server;
using rowcast::test::table_state;

namespace {

using test::col_spec;  // kind: server_text form (see select_expr), "float" for numbers

class BinlogColumns : public ::testing::Test {
protected:
    mariadb_server server_;
    db_connection c_ = server_.connect();

    // Runs `sql` (after `globals`, in a new session) and returns the path of the binlog file
    // holding it (the file is closed by FLUSH BINARY LOGS).
    std::string binlog_of(const std::vector<std::string>& globals, const std::vector<std::string>& sql) {
        for (const auto& g : globals) c_.query(g);
        c_.query("FLUSH BINARY LOGS");
        const auto file = *c_.rows("SHOW MASTER STATUS").at(0).at(0);
        {
            auto s = server_.connect();
            s.query("SET time_zone='+00:00'");
            for (const auto& q : sql) s.query(q);
        }
        c_.query("FLUSH BINARY LOGS");
        return (server_.dir() / "binlog" / file).string();
    }

    // The decoded rows of `table` equal its SELECTed rows, column by column.
    void expect_equal_to_select(const table_state& h, const std::string& table, const std::vector<col_spec>& cols,
                                const std::string& what) {
        std::string q = "SELECT ";
        for (std::size_t i = 0; i < cols.size(); ++i) q += (i ? "," : "") + test::select_expr(cols[i].name, cols[i].kind);
        c_.query("SET time_zone='+00:00'");
        const auto expected = c_.rows(q + " FROM " + table + " ORDER BY 1");
        const auto it = h.tables.find(table);
        ASSERT_NE(it, h.tables.end()) << what << ": no rows of " << table;
        ASSERT_EQ(it->second.size(), expected.size()) << what << " " << table;
        for (const auto& exp : expected) {
            const auto r = it->second.find(exp[0].value_or("NULL"));
            ASSERT_NE(r, it->second.end()) << what << " " << table << " row " << exp[0].value_or("NULL");
            ASSERT_EQ(r->second.size(), exp.size()) << what << " " << table;
            for (std::size_t k = 0; k < exp.size(); ++k) {
                const auto& got = r->second[k];
                if (cols[k].kind == "float" && exp[k] && got) {
                    EXPECT_EQ(static_cast<float>(std::stod(*exp[k])), static_cast<float>(std::stod(*got)))
                        << what << " " << table << " row " << *exp[0] << " column " << cols[k].name;
                    continue;
                }
                EXPECT_EQ(got, exp[k]) << what << " " << table << " row " << exp[0].value_or("NULL") << " column "
                                       << cols[k].name;
            }
        }
    }

    // Decodes `path` into `h`, with mariadb_schema_provider if `with_provider`.
    result<rb::parser_stats> decode(const std::string& path, table_state& h, bool with_provider) {
        auto schema = rowcast::mysql::connection::open(server_.client_options()).value();
        rb::mariadb_schema_provider provider(schema);
        rb::parser_options o;
        if (with_provider) o.provider = &provider;
        return rb::read_file(path, h, o);
    }

    static std::string create(const std::string& table, const std::vector<col_spec>& cols) {
        return test::create_table_sql(table, cols);
    }
};

}  // namespace

// Issue 18 item 1: MariaDB counts GEOMETRY among the charset metadata's character columns.
// Before the fix, charsets after a GEOMETRY column were shifted (latin1 read as binary, utf8mb4
// as latin1) or the TABLE_MAP was refused ("optional metadata field 2/3 is malformed").
TEST_F(BinlogColumns, GeometryInEveryPositionNextToEveryCharset) {
    const std::vector<col_spec> base = {
        {"a", "VARCHAR(10) CHARACTER SET latin1", ""},    {"b", "VARCHAR(10) CHARACTER SET utf8mb4", ""},
        {"c", "CHAR(5) CHARACTER SET utf8mb3", ""},       {"d", "BLOB", ""},
        {"e", "VARBINARY(8)", ""},                        {"f", "TEXT CHARACTER SET latin1", ""},
        {"h", "BINARY(4)", ""},
    };
    const std::string vals[] = {"'\xc3\xa9'", "'\xc3\xbc\xf0\x9f\x98\x80'", "'\xc3\x9f'", "X'00FF'", "X'0001'",
                                "'\xc3\xa4'", "X'AB'"};
    for (const std::string level : {"FULL", "MINIMAL"}) {
        const std::string db = level == "FULL" ? "g" : "gm";
        std::vector<std::string> sql = {"CREATE DATABASE " + db};
        std::vector<std::pair<std::string, std::vector<col_spec>>> tables;
        for (std::size_t pos = 0; pos <= base.size(); ++pos) {  // GEOMETRY at every position, also first and last
            std::vector<col_spec> cols = {{"id", "INT PRIMARY KEY", ""}};
            std::string row = "(1";
            for (std::size_t i = 0; i <= base.size(); ++i) {
                if (i == pos) {
                    cols.push_back({"g", "GEOMETRY", "geometry"});
                    row += ",POINT(1,2)";
                }
                if (i < base.size()) {
                    cols.push_back(base[i]);
                    row += "," + vals[i];
                }
            }
            tables.emplace_back(db + ".t" + std::to_string(pos), cols);
            sql.push_back(create(tables.back().first, cols));
            sql.push_back("INSERT INTO " + tables.back().first + " VALUES " + row + ")");
        }
        // Most columns in one charset: MariaDB writes DEFAULT_CHARSET (field 2) instead of field 3.
        const std::vector<col_spec> dflt = {{"id", "INT PRIMARY KEY", ""},  {"g1", "POINT", "geometry"},
                                            {"a", "VARCHAR(9)", ""},        {"g2", "GEOMETRY", "geometry"},
                                            {"b", "TEXT", ""},              {"u", "VARCHAR(9) CHARACTER SET utf8mb4", ""},
                                            {"c", "CHAR(3)", ""},           {"g3", "LINESTRING", "geometry"}};
        tables.emplace_back(db + ".d", dflt);
        sql.push_back(create(db + ".d", dflt) + " DEFAULT CHARSET=latin1");
        sql.push_back("INSERT INTO " + db + ".d VALUES (1, POINT(3,4), '\xc3\xa9', POINT(5,6), '\xc3\xa5', "
                      "'\xf0\x9f\x98\x80', '\xc3\xbf', LINESTRING(POINT(0,0),POINT(1,1))), (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
        sql.push_back("UPDATE " + db + ".d SET id = 3, a = 'x\xc3\xa9' WHERE id = 2");
        const auto path = binlog_of({"SET GLOBAL binlog_row_metadata=" + level}, sql);
        table_state h;
        auto st = decode(path, h, level == "MINIMAL");  // MINIMAL: names from the provider, charsets from the binlog
        ASSERT_TRUE(st) << level << ": " << st.error_value().message;
        for (const auto& [t, cols] : tables) expect_equal_to_select(h, t, cols, level);
    }
    c_.query("SET GLOBAL binlog_row_metadata=FULL");
}

// Issue 18 item 2: tables created with mysql56_temporal_format=OFF log TIME(n)/DATETIME(n)/
// TIMESTAMP(n) in MariaDB's 5.3 format under the old wire types, without n. With a schema
// provider the precision comes from it and the values equal SELECT; without one a value is
// refused naming schema, table and column (a NULL needs no precision). Before the fix, values
// were wrong (TIME(6) -12:34:56.123456 as -506:57:26) and a single nullable TIME(2) column gave
// an invented row and exit 0.
TEST_F(BinlogColumns, OldTemporalFormatPrecisionFromProviderElseRefused) {
    const std::vector<col_spec> cols = {
        {"id", "INT PRIMARY KEY", ""},         {"t0", "TIME", "time"},
        {"t2", "TIME(2)", "time"},             {"t6", "TIME(6)", "time"},
        {"d0", "DATETIME", "datetime"},        {"d3", "DATETIME(3)", "datetime"},
        {"d6", "DATETIME(6)", "datetime"},     {"s0", "TIMESTAMP NULL", "timestamp"},
        {"s1", "TIMESTAMP(1) NULL", "timestamp"}, {"s4", "TIMESTAMP(4) NULL", "timestamp"},
    };
    const auto path = binlog_of(
        {"SET GLOBAL mysql56_temporal_format=OFF"},
        {"CREATE DATABASE o", create("o.t", cols), "CREATE TABLE o.n (t2 TIME(2) NULL)",
         "INSERT INTO o.t VALUES (1,'-12:34:56','-12:34:56.12','-12:34:56.123456','2024-02-29 23:59:59',"
         "'2024-02-29 23:59:59.123','2024-02-29 23:59:59.123456','2024-02-29 23:59:59','2024-02-29 23:59:59.9',"
         "'2024-02-29 23:59:59.1234'),"
         "(2,'838:59:59','-838:59:59.99','00:00:00.000001','0000-00-00 00:00:00','9999-12-31 23:59:59.999',"
         "'1000-01-01 00:00:00.000001',NULL,'1970-01-01 00:00:01.1','2038-01-19 03:14:07.9999'),"
         "(3,NULL,'-00:00:00.01','-00:00:01.5',NULL,'0000-00-00 00:00:00.000',NULL,NULL,NULL,NULL)",
         "UPDATE o.t SET t6 = '-00:00:00.000001', d3 = '2001-02-03 04:05:06.007' WHERE id = 3",
         "INSERT INTO o.n VALUES (NULL), ('-12:34:56.12')"});
    c_.query("SET GLOBAL mysql56_temporal_format=ON");
    table_state h;
    auto st = decode(path, h, true);
    ASSERT_TRUE(st) << st.error_value().message;
    expect_equal_to_select(h, "o.t", cols, "provider");
    EXPECT_EQ((*h.columns["o.t"])[3].type.fsp, 6);
    ASSERT_EQ(h.tables["o.n"].size(), 2u);  // keyed by the value: NULL and the TIME(2)
    EXPECT_EQ(h.tables["o.n"].count("-12:34:56.120000"), 1u);

    // Without a provider: the first non-NULL old-format value is refused, naming where.
    std::vector<event> evs;
    rb::event_adapter ad([&](const event& e) { evs.push_back(e); });
    auto st2 = rb::read_file(path, ad);
    ASSERT_FALSE(st2);
    const auto& m = st2.error_value().message;
    EXPECT_NE(m.find("`o`.`t` row image: column 2 `t0`: a MariaDB TIME column in the old (5.3) format"), std::string::npos) << m;
    EXPECT_NE(m.find("schema provider"), std::string::npos) << m;
    for (const auto& e : evs) EXPECT_FALSE(is_row_event(e.kind)) << "a row was emitted";
    // The single nullable TIME(2) column: its NULL row is real, the next value is refused.
    const auto path2 = binlog_of({"SET GLOBAL mysql56_temporal_format=OFF"},
                                 {"CREATE TABLE o.n2 (t2 TIME(2) NULL)", "INSERT INTO o.n2 VALUES ('-12:34:56.12')",
                                  "INSERT INTO o.n2 VALUES (NULL)"});
    c_.query("SET GLOBAL mysql56_temporal_format=ON");
    std::vector<event> evs2;
    rb::event_adapter ad2([&](const event& e) { evs2.push_back(e); });
    auto st3 = rb::read_file(path2, ad2);
    ASSERT_FALSE(st3);
    EXPECT_NE(st3.error_value().message.find("`o`.`n2` row image: column 1 `t2`"), std::string::npos)
        << st3.error_value().message;
    for (const auto& e : evs2) EXPECT_FALSE(is_row_event(e.kind)) << "a row was emitted";
}

// Issue 18 item 6: binlog_row_metadata=NO_LOG carries no charsets. With a schema provider
// they come from it: latin1 text converted to UTF-8, BINARY(16) re-padded to 16 bytes (a UUID
// ending in 0x00 keeps its last byte), binary columns typed binary. Without a provider the
// documented behaviour (docs/binlog.md, "Metadata levels"): the bytes as logged, as text.
TEST_F(BinlogColumns, NoCharsetMetadataTakenFromTheProvider) {
    const std::vector<col_spec> cols = {
        {"id", "INT PRIMARY KEY", ""},
        {"l1", "VARCHAR(10) CHARACTER SET latin1", ""},
        {"lt", "TEXT CHARACTER SET latin1", ""},
        {"u8", "VARCHAR(10) CHARACTER SET utf8mb4", ""},
        {"b16", "BINARY(16)", ""},
        {"vb", "VARBINARY(10)", ""},
        {"bl", "BLOB", ""},
        {"c1", "CHAR(4) CHARACTER SET latin1", ""},
    };
    const std::string insert = "INSERT INTO n.t VALUES (1,'caf\xc3\xa9','\xe2\x82\xac\xc3\xbf','\xc3\xbc\xf0\x9f\x98\x80',"
                               "X'0123456789ABCDEF0123456789ABCD00',X'00FF',X'FF00','\xc3\xa9'),"
                               "(2,'x',NULL,'',X'01',X'',X'','')";
    for (const std::string level : {"NO_LOG", "MINIMAL"}) {
        const auto path = binlog_of({"SET GLOBAL binlog_row_metadata=" + level},
                                    {"DROP DATABASE IF EXISTS n", "CREATE DATABASE n", create("n.t", cols), insert});
        table_state h;
        auto st = decode(path, h, true);
        ASSERT_TRUE(st) << level << ": " << st.error_value().message;
        expect_equal_to_select(h, "n.t", cols, level);
        const auto& tc = *h.columns["n.t"];
        EXPECT_EQ(tc[1].type.charset, "latin1") << level;
        EXPECT_EQ(tc[4].type.type, sql_type::binary) << level;
        EXPECT_EQ(tc[5].type.type, sql_type::varbinary) << level;
        if (level == "NO_LOG") {  // without a provider: names @1.., bytes as logged, text types
            std::vector<event> evs;
            rb::event_adapter ad([&](const event& e) { evs.push_back(e); });
            ASSERT_TRUE(rb::read_file(path, ad));
            const event* row = nullptr;
            for (const auto& e : evs)
                if (is_row_event(e.kind) && !row) row = &e;
            ASSERT_NE(row, nullptr);
            EXPECT_EQ((*row->columns)[1].name, "@2");
            EXPECT_EQ((*row->columns)[4].type.type, sql_type::char_);
            EXPECT_EQ(row->after[1], value(text{"caf\xe9"}));  // latin1 bytes, not UTF-8
            EXPECT_EQ(row->after[4], value(text{std::string("\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd", 15)}));
            EXPECT_EQ(row->after[6], value(text{std::string("\xff\x00", 2)}));  // BLOB typed TEXT
        }
    }
    c_.query("SET GLOBAL binlog_row_metadata=FULL");
}

// The cross-check: a table with every column type MariaDB 10.11 has (old-format temporals
// are in the test above), rows with extremes, NULLs, non-ASCII text and binary values ending
// in 0x00, then an UPDATE and a DELETE; decoded with the schema provider at
// binlog_row_metadata FULL, MINIMAL and NO_LOG and with compressed events (log_bin_compress):
// every decoded row equals its SELECT.
TEST_F(BinlogColumns, EveryTypeEqualsSelectAtEveryMetadataLevelAndCompressed) {
    const std::vector<col_spec>& cols = test::mariadb_every_type_columns();
    const std::string rows = test::mariadb_every_type_rows();
    struct level {
        const char* name;
        std::vector<std::string> globals;
    };
    const level levels[] = {
        {"FULL", {"SET GLOBAL binlog_row_metadata=FULL", "SET GLOBAL log_bin_compress=OFF"}},
        {"MINIMAL", {"SET GLOBAL binlog_row_metadata=MINIMAL"}},
        {"NO_LOG", {"SET GLOBAL binlog_row_metadata=NO_LOG"}},
        {"compressed", {"SET GLOBAL binlog_row_metadata=FULL", "SET GLOBAL log_bin_compress=ON",
                        "SET GLOBAL log_bin_compress_min_len=10"}},
    };
    for (const auto& l : levels) {
        const std::string db = std::string("x_") + (l.name[0] == 'c' ? "z" : l.name);
        const auto path = binlog_of(l.globals, {"CREATE DATABASE " + db, create(db + ".t", cols),
                                                "INSERT INTO " + db + ".t VALUES " + rows,
                                                "UPDATE " + db + ".t SET id = 5, vc = CONCAT(vc, '\xc3\xbc'), bn = X'AA' WHERE id = 4",
                                                "DELETE FROM " + db + ".t WHERE id = 3"});
        table_state h;
        auto st = decode(path, h, true);
        ASSERT_TRUE(st) << l.name << ": " << st.error_value().message;
        EXPECT_EQ(h.rows, 6u) << l.name;
        expect_equal_to_select(h, db + ".t", cols, l.name);
    }
    c_.query("SET GLOBAL binlog_row_metadata=FULL");
    c_.query("SET GLOBAL log_bin_compress=OFF");
}
