// The trigger path end to end (issue 3 §5): rowcast-triggers installs triggers on `hosts` and
// the every-type table of a private MariaDB; 4 connections run 10,000 mixed INSERT/UPDATE/DELETE
// while a consumer process (this executable, re-executed) reads the spool with spool_reader.
// The consumer is killed with SIGKILL twice and restarted; garbage and foreign files are dropped
// into the spool. At the end: every change arrived exactly as made (per row, in order, typed
// values equal), nothing invented, the final state equals SELECT, the spool is empty, and the
// bad files are in quarantine.
#include "support/every_type.hpp"
#include "support/udf_server.hpp"

#include <rowcast/codec/binary.hpp>
#include <rowcast/transport/spool_reader.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>

using namespace rowcast;
using rowcast::test::udf_server;

namespace {

// --- The consumer: this executable started with ROWCAST_TEST_CONSUMER=forever|drain --------
// It appends each delivered event (binary codec, source.file = spool file name) to the log in
// one write() per batch, before the reader removes the files (at-least-once).
int consumer_main(const char* mode, const char* spool, const char* log_path) {
    spool_reader_options o;
    o.directory = spool;
    o.max_batch = 16;
    o.retry_initial = std::chrono::milliseconds(1);
    o.retry_max = std::chrono::milliseconds(10);
    auto r = spool_reader<binary_codec>::open(o);
    if (!r) return 3;
    const int fd = ::open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return 4;
    binary_codec codec;
    std::string buf;
    auto handler = [&](std::span<const event> batch) {
        buf.clear();
        for (const auto& e : batch) codec.encode(e, buf);
        return rowcast::detail::write_all(fd, buf) == 0;
    };
    const bool drain = std::string_view(mode) == "drain";
    for (;;) {
        auto n = r->process(handler);
        if (!n) return 5;
        if (drain && r->pending() == 0) return 0;
        if (*n == 0) {
            pollfd p{r->native_handle(), POLLIN, 0};
            ::poll(&p, 1, 20);
        }
    }
}

[[maybe_unused]] const int consumer_hook = [] {
    if (const char* mode = std::getenv("ROWCAST_TEST_CONSUMER"))
        std::_Exit(consumer_main(mode, std::getenv("ROWCAST_TEST_SPOOL"), std::getenv("ROWCAST_TEST_LOG")));
    return 0;
}();

test::process start_consumer(const std::string& mode, const std::filesystem::path& spool, const std::filesystem::path& log) {
    return test::process::start({{"/proc/self/exe"},
                                 {"ROWCAST_TEST_CONSUMER=" + mode, "ROWCAST_TEST_SPOOL=" + spool.string(),
                                  "ROWCAST_TEST_LOG=" + log.string()},
                                 {},
                                 {}});
}

// --- What the workers did -------------------------------------------------------------------
struct change {
    std::string table;
    std::int64_t id = 0;
    event_kind kind = event_kind::insert;
    std::vector<value> before, after;
};

std::int64_t id_of(const event& e) {
    const value& v = e.kind == event_kind::delete_ ? e.before[0] : e.after[0];
    if (auto* u = std::get_if<std::uint64_t>(&v)) return static_cast<std::int64_t>(*u);
    return std::get<std::int64_t>(v);
}

std::string key_of(const std::string& table, std::int64_t id) { return table + "#" + std::to_string(id); }

constexpr std::size_t geometry_index = 27;

}  // namespace

TEST(TriggerPath, TenThousandChangesFromFourConnectionsSurviveConsumerKills) {
    udf_server db({"codec = binary", "durability = none"}, {"max_connections = 50"});
    auto c = db.connect();
    c.query("CREATE DATABASE inv CHARACTER SET utf8mb4");
    c.query("CREATE TABLE inv.hosts (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, mac CHAR(17) CHARACTER SET ascii, "
            "ip VARCHAR(45), hostname VARCHAR(255) NOT NULL)");
    c.query(test::every_type_ddl("inv.every"));
    auto tool = test::run_triggers_tool({"--socket", db.server().socket().string(), "-u", "root", "--apply", "inv"},
                                        db.server().dir());
    ASSERT_EQ(tool.exit_code, 0) << tool.err;
    const value point = geometry{4326, *c.scalar("SELECT ST_AsBinary(ST_GeomFromText('POINT(1 2)', 4326))")};

    const auto log = db.server().dir() / "delivered.log";
    auto consumer = start_consumer("forever", db.spool(), log);

    constexpr int workers = 4;
    constexpr int ops_per_worker = 2500;
    std::atomic<int> done_ops{0};
    std::vector<std::vector<change>> made(workers);
    std::vector<std::string> worker_errors(workers);
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w)
        threads.emplace_back([&, w] {
            try {
                auto conn = db.connect();
                conn.query("SET time_zone = '+02:00'");
                std::mt19937_64 rng(1000 + static_cast<unsigned>(w));
                std::map<std::int64_t, std::vector<value>> hosts, every;
                std::int64_t next_id = static_cast<std::int64_t>(w) * 1000000 + 1;
                auto pick = [&](auto& m) {
                    auto it = m.begin();
                    std::advance(it, static_cast<long>(rng() % m.size()));
                    return it;
                };
                for (int i = 0; i < ops_per_worker; ++i) {
                    const bool on_hosts = rng() % 10 < 7;
                    auto& rows = on_hosts ? hosts : every;
                    const unsigned dice = static_cast<unsigned>(rng() % 10);
                    const char* table = on_hosts ? "hosts" : "every";
                    change ch;
                    ch.table = table;
                    if (rows.size() < 5 || dice < 4) {  // INSERT
                        const std::int64_t id = next_id++;
                        ch.id = id;
                        ch.kind = event_kind::insert;
                        if (on_hosts) {
                            char mac[18];
                            std::snprintf(mac, sizeof mac, "02:00:%02x:%02x:%02x:%02x", w, static_cast<int>(id >> 16 & 255),
                                          static_cast<int>(id >> 8 & 255), static_cast<int>(id & 255));
                            const bool has_ip = rng() % 4 != 0;
                            const std::string ip = "10." + std::to_string(w) + "." + std::to_string(id % 250) + ".1";
                            const std::string name = (rng() % 5 == 0 ? "hôte-" : "host-") + std::to_string(id) + ".example";
                            conn.query("INSERT INTO inv.hosts VALUES (" + std::to_string(id) + ", '" + mac + "', " +
                                       (has_ip ? "'" + ip + "'" : std::string("NULL")) + ", " + conn.quote(name) + ")");
                            ch.after = {std::uint64_t(id), text{mac}, has_ip ? value(text{ip}) : value(null_value{}),
                                        text{name}};
                        } else {
                            conn.query("INSERT INTO inv.every VALUES " + test::every_type_values(static_cast<int>(id)));
                            ch.after = test::every_type_expected(static_cast<int>(id));
                            ch.after[geometry_index] = point;
                        }
                        rows[id] = ch.after;
                    } else if (dice < 8) {  // UPDATE
                        auto it = pick(rows);
                        ch.id = it->first;
                        ch.kind = event_kind::update;
                        ch.before = it->second;
                        ch.after = it->second;
                        const std::string where = " WHERE id = " + std::to_string(it->first);
                        if (on_hosts) {
                            const std::string name = "renamed-" + std::to_string(rng() % 100000) + ".example";
                            const bool null_ip = rng() % 3 == 0;
                            conn.query("UPDATE inv.hosts SET hostname = " + conn.quote(name) +
                                       (null_ip ? ", ip = NULL" : "") + where);
                            ch.after[3] = text{name};
                            if (null_ip) ch.after[2] = null_value{};
                        } else {
                            const long long iv = static_cast<long long>(rng() % 2000000) - 1000000;
                            const bool null_i = rng() % 5 == 0;
                            const std::string vc = "v" + std::to_string(rng() % 1000) + "✓";
                            char de[40];
                            std::snprintf(de, sizeof de, "%lld.%06d", static_cast<long long>(rng() % 100000) - 50000,
                                          static_cast<int>(rng() % 1000000));
                            static constexpr const char* sizes[] = {"small", "medium", "large"};
                            const unsigned en = static_cast<unsigned>(rng() % 3);
                            conn.query("UPDATE inv.every SET i = " + (null_i ? std::string("NULL") : std::to_string(iv)) +
                                       ", vc = " + conn.quote(vc) + ", de = '" + de + "', en = '" + sizes[en] + "'" + where);
                            ch.after[5] = null_i ? value(null_value{}) : value(std::int64_t{iv});
                            ch.after[18] = text{vc};
                            ch.after[8] = decimal{de};
                            ch.after[24] = enum_value{sizes[en], static_cast<std::uint16_t>(en + 1)};
                        }
                        it->second = ch.after;
                    } else {  // DELETE
                        auto it = pick(rows);
                        ch.id = it->first;
                        ch.kind = event_kind::delete_;
                        ch.before = it->second;
                        conn.query(std::string("DELETE FROM inv.") + table + " WHERE id = " + std::to_string(it->first));
                        rows.erase(it);
                    }
                    made[static_cast<std::size_t>(w)].push_back(std::move(ch));
                    ++done_ops;
                }
            } catch (const std::exception& e) {
                worker_errors[static_cast<std::size_t>(w)] = e.what();
            }
        });

    // Meanwhile: two kill -9 of the consumer (each restarted), garbage and a foreign file.
    const int total_ops = workers * ops_per_worker;
    bool dropped_bad_files = false;
    int kills = 0;
    for (const int at : {total_ops / 3, total_ops / 2, 2 * total_ops / 3}) {
        while (done_ops.load() < at && done_ops.load() < total_ops) ::usleep(5000);
        if (!dropped_bad_files) {
            std::ofstream(db.spool() / "0000000000000000001-000000000001-1.binary") << "not a rowcast event";
            std::ofstream(db.spool() / "README.txt") << "someone's notes";
            dropped_bad_files = true;
            continue;
        }
        consumer.signal(SIGKILL);
        EXPECT_EQ(consumer.wait(), 128 + SIGKILL);
        ++kills;
        consumer = start_consumer("forever", db.spool(), log);
    }
    for (auto& t : threads) t.join();
    for (const auto& e : worker_errors) ASSERT_EQ(e, "");
    ASSERT_EQ(done_ops.load(), total_ops);
    EXPECT_EQ(kills, 2);
    // The last kill, then a consumer that drains the spool and exits.
    consumer.signal(SIGKILL);
    consumer.wait();
    consumer = start_consumer("drain", db.spool(), log);
    ASSERT_EQ(consumer.wait(), 0);

    // The spool is empty; the bad files are in quarantine with their reasons.
    EXPECT_EQ(db.spool_files(), 0u);
    const auto q = db.spool() / "quarantine";
    EXPECT_TRUE(std::filesystem::exists(q / "0000000000000000001-000000000001-1.binary"));
    EXPECT_TRUE(std::filesystem::exists(q / "0000000000000000001-000000000001-1.binary.reason"));
    EXPECT_TRUE(std::filesystem::exists(q / "README.txt"));
    EXPECT_TRUE(std::filesystem::exists(q / "README.txt.reason"));

    // Read what the consumers delivered; duplicates (delivered, then killed before removal) are
    // the same spool file again and are dropped here.
    std::ifstream in(log, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    binary_codec codec;
    std::map<std::string, event> by_file;  // spool file name -> event (name order = production order)
    std::vector<std::string> first_order;
    std::size_t deliveries = 0;
    for (std::string_view rest = bytes; !rest.empty();) {
        event e;
        auto n = codec.decode(rest, e);
        ASSERT_TRUE(n) << n.error_value().message;
        rest.remove_prefix(*n);
        ++deliveries;
        const std::string file = e.source.file;
        ASSERT_FALSE(file.empty());
        if (auto [it, fresh] = by_file.emplace(file, e); !fresh) {
            EXPECT_EQ(it->second, e) << "a duplicate delivery differs from the first";
        } else {
            first_order.push_back(file);
        }
    }
    EXPECT_EQ(by_file.size(), static_cast<std::size_t>(total_ops));  // nothing lost, nothing invented
    EXPECT_LE(deliveries, by_file.size() + 3 * 16);                 // at most one batch again per kill

    // Per row: the delivered changes are exactly the changes made, in order.
    std::map<std::string, std::vector<const change*>> expected;
    for (const auto& list : made)
        for (const auto& ch : list) expected[key_of(ch.table, ch.id)].push_back(&ch);
    std::map<std::string, std::vector<const event*>> got_sorted, got_first;
    for (const auto& [file, e] : by_file) got_sorted[key_of(e.table, id_of(e))].push_back(&e);
    for (const auto& file : first_order) {
        const event& e = by_file.at(file);
        got_first[key_of(e.table, id_of(e))].push_back(&e);
    }
    ASSERT_EQ(got_sorted.size(), expected.size());
    std::size_t mismatches = 0;
    for (const auto& [key, changes] : expected) {
        const auto& evs = got_sorted[key];
        ASSERT_EQ(evs.size(), changes.size()) << key;
        EXPECT_EQ(got_first[key], evs) << key << ": first deliveries out of order";
        for (std::size_t i = 0; i < evs.size() && mismatches < 10; ++i) {
            const event& e = *evs[i];
            const change& ch = *changes[i];
            const bool same = e.schema == "inv" && e.table == ch.table && e.kind == ch.kind && e.before == ch.before &&
                              e.after == ch.after;
            if (!same) {
                ++mismatches;
                ADD_FAILURE() << key << " change " << i << ": kind " << to_string(e.kind) << " vs "
                              << to_string(ch.kind);
            }
        }
    }
    EXPECT_EQ(mismatches, 0u);

    // The final state rebuilt from the events equals SELECT.
    std::map<std::string, std::vector<value>> state;
    for (const auto& [file, e] : by_file) {
        const std::string key = key_of(e.table, id_of(e));
        if (e.kind == event_kind::delete_) state.erase(key);
        else state[key] = e.after;
    }
    std::size_t rows_selected = 0;
    for (auto& r : c.rows("SELECT id, mac, ip, hostname FROM inv.hosts")) {
        ++rows_selected;
        const std::string key = key_of("hosts", std::stoll(*r[0]));
        ASSERT_TRUE(state.count(key)) << key;
        const auto& v = state[key];
        EXPECT_EQ(v[1], r[1] ? value(text{*r[1]}) : value(null_value{})) << key;
        EXPECT_EQ(v[2], r[2] ? value(text{*r[2]}) : value(null_value{})) << key;
        EXPECT_EQ(v[3], value(text{*r[3]})) << key;
    }
    for (auto& r : c.rows("SELECT id, i, vc, de, en FROM inv.every")) {
        ++rows_selected;
        const std::string key = key_of("every", std::stoll(*r[0]));
        ASSERT_TRUE(state.count(key)) << key;
        const auto& v = state[key];
        EXPECT_EQ(v[5], r[1] ? value(std::int64_t{std::stoll(*r[1])}) : value(null_value{})) << key;
        EXPECT_EQ(v[18], value(text{*r[2]})) << key;
        EXPECT_EQ(v[8], value(decimal{*r[3]})) << key;
        EXPECT_EQ(std::get<enum_value>(v[24]).name, *r[4]) << key;
    }
    EXPECT_EQ(rows_selected, state.size());
}
