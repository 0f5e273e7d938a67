// Test and benchmark support: the reference events of the codec benchmarks and
// the smpl-repl sample, built the same way everywhere.
//   (a) hosts_update():  UPDATE on an 8-column hosts table, both images (~1 KB as JSON)
//   (b) small_insert():  a 4-column INSERT
//   (c) wide_insert():   a 30-column wide row
#pragma once

#include <rowcast/event.hpp>

#include <string>
#include <vector>

namespace rowcast::test {

inline columns_ptr hosts_columns() {
    static const columns_ptr cols = [] {
        std::vector<column> c(8);
        c[0] = {"id", {sql_type::bigint, true}, true, false};
        c[1] = {"hostname", {.type = sql_type::varchar, .length = 255, .charset = "utf8mb4"}, false, false};
        c[2] = {"ip", {.type = sql_type::varchar, .length = 45, .charset = "ascii"}, false, true};
        c[3] = {"mac", {.type = sql_type::char_, .length = 17, .charset = "ascii"}, false, true};
        c[4] = {"modified", {.type = sql_type::datetime, .fsp = 6}, false, false};
        c[5] = {"price", {.type = sql_type::decimal, .precision = 12, .scale = 4}, false, true};
        c[6] = {"note", {.type = sql_type::varchar, .length = 64, .charset = "utf8mb4"}, false, true};
        c[7] = {"description", {.type = sql_type::text, .charset = "utf8mb4"}, false, true};
        return make_columns(std::move(c));
    }();
    return cols;
}

inline event hosts_update() {
    event e;
    e.kind = event_kind::update;
    e.schema = "inventory";
    e.table = "hosts";
    e.columns = hosts_columns();
    const std::string desc(200, 'd');
    e.before = {std::uint64_t{42},
                text{"www.example.com"},
                text{"192.0.2.10"},
                text{"00:00:5e:00:53:01"},
                datetime{{2026, 11, 22}, 13, 0, 10, 123456},
                decimal{"1234.5000"},
                null_value{},
                text{desc}};
    e.after = e.before;
    e.after[2] = text{"192.0.2.11"};
    e.after[4] = datetime{{2026, 11, 22}, 13, 5, 0, 654321};
    e.sequence = 1000042;
    e.transaction = {"0-101-5567", 3, true};
    e.source = {"binlog.000012", 48213, "0-101-5567", 101};
    e.commit_time = time_point{std::chrono::microseconds{1795352710000000}};
    e.capture_time = time_point{std::chrono::microseconds{1795352710012345}};
    return e;
}

inline event small_insert() {
    static const columns_ptr cols = make_columns({{"id", {sql_type::int_}, true, false},
                                                  {"name", {.type = sql_type::varchar, .length = 32}, false, false},
                                                  {"qty", {sql_type::int_, true}, false, true},
                                                  {"at", {.type = sql_type::timestamp}, false, true}});
    event e;
    e.kind = event_kind::insert;
    e.schema = "shop";
    e.table = "items";
    e.columns = cols;
    e.after = {std::int64_t{7}, text{"widget"}, std::uint64_t{3}, timestamp{1795352710000000}};
    e.sequence = 77;
    e.transaction = {"0-101-5568", 0, true};
    e.source = {"binlog.000012", 49000, "", 101};
    return e;
}

inline event wide_insert() {
    static const columns_ptr cols = [] {
        std::vector<column> c;
        for (int i = 0; i < 30; ++i) {
            column col;
            col.name = "c" + std::to_string(i);
            switch (i % 6) {
                case 0: col.type = {sql_type::int_}; break;
                case 1: col.type = {.type = sql_type::varchar, .length = 64, .charset = "utf8mb4"}; break;
                case 2: col.type = {.type = sql_type::double_}; break;
                case 3: col.type = {.type = sql_type::datetime, .fsp = 3}; break;
                case 4: col.type = {.type = sql_type::decimal, .precision = 10, .scale = 2}; break;
                default: col.type = {sql_type::bigint, true}; break;
            }
            col.primary_key = i == 0;
            c.push_back(std::move(col));
        }
        return make_columns(std::move(c));
    }();
    event e;
    e.kind = event_kind::insert;
    e.schema = "metrics";
    e.table = "wide";
    e.columns = cols;
    for (int i = 0; i < 30; ++i) {
        switch (i % 6) {
            case 0: e.after.emplace_back(std::int64_t{i * 1000}); break;
            case 1: e.after.emplace_back(text{"value number " + std::to_string(i)}); break;
            case 2: e.after.emplace_back(i * 1.25); break;
            case 3: e.after.emplace_back(datetime{{2026, 1, 2}, 3, 4, 5, 678000}); break;
            case 4: e.after.emplace_back(decimal{std::to_string(i) + ".50"}); break;
            default: e.after.emplace_back(std::uint64_t{1} << (i % 64)); break;
        }
    }
    e.sequence = 99;
    return e;
}

/// The smpl-repl README's example message (every value a string).
inline constexpr const char* smpl_repl_message =
    R"({"schema":"test","table":"test","timestamp":"2010-09-09 13:00:10","operation":"update",)"
    R"("primary":"test_id","keys":["test_id","name"],"columns":["test_id","name","value","modified"],)"
    R"("new":{"test_id":"1","name":"foo","value":"bar","modified":"2010-09-09 13:00:10"},)"
    R"("old":{"test_id":"1","name":"shizzle","value":"nizzle","modified":"2010-09-09 13:00:10"}})";

/// The original tmod UDF's flat YAML message.
inline constexpr const char* tmod_message = "---\nop: ins\nid: 3\nmac: 00:00:00:01:02:03\nip: \nhost: www\n";

}  // namespace rowcast::test
