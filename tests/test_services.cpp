// Shared services: the log hook, the stats model and its Prometheus text reader, the backoff policy and the
// transient error condition across the rowcast, errno and dns categories.
#include <rowcast/backoff.hpp>
#include <rowcast/dns/errc.hpp>
#include <rowcast/error.hpp>
#include <rowcast/log.hpp>
#include <rowcast/pipeline/run.hpp>
#include <rowcast/stats.hpp>
#include <rowcast/stats_text.hpp>
#include <rowcast/transport/spool_reader.hpp>

#include <gtest/gtest.h>

#include <cmath>

#include <string>
#include <utility>
#include <system_error>
#include <vector>

using namespace rowcast;
using namespace std::chrono_literals;

TEST(Log, SinkLevelsAndOwnSink) {
    std::vector<std::string> got;
    set_log_sink([&](log_level l, std::string_view c, std::string_view m) {
        got.push_back(std::string(to_string(l)) + "|" + std::string(c) + "|" + std::string(m));
    });
    set_log_level(log_level::warning);
    log(log_level::info, "spool", "dropped");
    log(log_level::error, "spool", "kept");
    std::vector<std::string> own;
    const log_sink mine = [&](log_level, std::string_view, std::string_view m) { own.emplace_back(m); };
    log(mine, log_level::warning, "dns", "to mine");
    log(mine, log_level::debug, "dns", "below the level");
    set_log_sink({});
    set_log_level(log_level::info);
    EXPECT_EQ(got, (std::vector<std::string>{"error|spool|kept"}));
    EXPECT_EQ(own, (std::vector<std::string>{"to mine"}));
    EXPECT_TRUE(log_enabled(log_level::info));
    EXPECT_FALSE(log_enabled(log_level::debug));
}

TEST(Stats, ComponentsVisitedThroughOneRegistry) {
    stats_registry reg;
    spool_reader_stats s;
    s.delivered = 5;
    s.quarantined = 1;
    run_stats r;
    r.retries = 2;
    reg.add("spool", [&] { return s; });
    const auto id = reg.add("pipeline", [&] { return r; });
    std::vector<std::string> seen;
    reg.visit([&](std::string_view prefix, const metric& m) {
        seen.push_back(std::string(prefix) + "." + std::string(m.name) + "=" + std::to_string(m.value) +
                       (m.kind == metric_kind::gauge ? "g" : "c"));
    });
    EXPECT_NE(std::find(seen.begin(), seen.end(), "spool.delivered=5c"), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), "spool.quarantined=1c"), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), "spool.pending=0g"), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), "pipeline.retries=2c"), seen.end());
    reg.remove(id);
    seen.clear();
    reg.visit([&](std::string_view prefix, const metric&) { seen.emplace_back(prefix); });
    for (const auto& p : seen) EXPECT_EQ(p, "spool");
}

TEST(Backoff, DoublesCapsResetsAndLimits) {
    backoff b({.initial = 100ms, .max = 350ms, .max_attempts = 5});
    EXPECT_EQ(b.next(), 100ms);
    EXPECT_EQ(b.next(), 200ms);
    EXPECT_EQ(b.next(), 350ms);
    EXPECT_EQ(b.next(), 350ms);
    EXPECT_EQ(b.attempts(), 4u);
    b.reset();
    EXPECT_EQ(b.next(), 100ms);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(b.next());
    EXPECT_FALSE(b.next());  // five consecutive failures used up
    backoff j({.initial = 1000ms, .max = 1000ms, .jitter = 0.5});
    for (int i = 0; i < 200; ++i) {
        const auto w = j.next().value();
        EXPECT_GE(w, 500ms);
        EXPECT_LE(w, 1000ms);
    }
}

TEST(Transient, EveryCategoryMapsToTheCondition) {
    EXPECT_TRUE(is_transient(error::make(errc::io_error, "spool", "x", "disk full")));
    EXPECT_TRUE(is_transient(error::make(errc::unavailable, "binlog", "x", "refused")));
    EXPECT_FALSE(is_transient(error::make(errc::invalid_value, "json", "x", "bad")));
    EXPECT_FALSE(is_transient(error::make(errc::truncated, "binary", "x", "short")));
    EXPECT_TRUE(is_transient(error{std::make_error_code(std::errc::connection_refused), "refused"}));
    EXPECT_TRUE(is_transient(error{std::error_code(ENOSPC, std::system_category()), "full"}));
    EXPECT_FALSE(is_transient(error{std::make_error_code(std::errc::permission_denied), "denied"}));
    EXPECT_TRUE(is_transient(dns::make_error(dns::errc::timeout, "server", "no answer")));
    EXPECT_FALSE(is_transient(dns::make_error(dns::errc::invalid_address, "event", "192.0.2.300")));
    EXPECT_TRUE(std::error_code(errc::unavailable) == condition::transient);
    EXPECT_FALSE(std::error_code(errc::syntax_error) == condition::transient);
}

TEST(StatsText, ReadsSamplesLabelsAndSpecialValues) {
    const std::string text =
        "# HELP rowcast_up 1 while the daemon runs\n"
        "# TYPE rowcast_up gauge\n"
        "rowcast_up 1\n"
        "\n"
        "rowcast_lag_seconds 0.25\r\n"
        "rowcast_sink_up{sink=\"dns\"} 1\n"
        "rowcast_sink_up{ sink = \"spool\" , } 0\n"
        "rowcast_position_info{position=\"a\\\\b\\\"c\\nd\"} 1 1795352710000\n"
        "x_nan NaN\n"
        "x_inf +Inf\n"
        "x_minus -1.5e3\n";
    auto r = parse_stats_text(text, "status.prom");
    ASSERT_TRUE(r) << r.error_value().message;
    ASSERT_EQ(r->samples.size(), 8u);
    EXPECT_EQ(r->find("rowcast_up")->value, 1);
    EXPECT_EQ(r->find("rowcast_lag_seconds")->value, 0.25);
    EXPECT_EQ(r->find("rowcast_sink_up", "sink", "spool")->value, 0);
    EXPECT_EQ(r->find("rowcast_sink_up", "sink", "dns")->value, 1);
    EXPECT_EQ(r->find("rowcast_sink_up", "sink", "nats"), nullptr);
    EXPECT_EQ(r->find("rowcast_position_info")->label("position"), "a\\b\"c\nd");
    EXPECT_TRUE(std::isnan(r->find("x_nan")->value));
    EXPECT_TRUE(std::isinf(r->find("x_inf")->value));
    EXPECT_EQ(r->find("x_minus")->value, -1500);
    EXPECT_EQ(r->find("absent"), nullptr);
}

TEST(StatsText, DamagedTextIsAnErrorNamingFileAndLine) {
    const std::pair<const char*, const char*> bad[] = {
        {"rowcast_up\n", "status.prom:1: metric rowcast_up: '' is not a number"},
        {"ok 1\nrowcast_up one\n", "status.prom:2: metric rowcast_up: 'one' is not a number"},
        {"ok 1\n\n{x=\"1\"} 1\n", "status.prom:3: expected a metric name"},
        {"a{b=1} 1\n", "expected '\"' to open the value of label b"},
        {"a{b=\"1} 1\n", "unterminated value of label b"},
        {"a{b=\"\\t\"} 1\n", "bad escape"},
        {"a{b=\"1\" c=\"2\"} 1\n", "expected ',' or '}' after label b"},
        {"a 1 2 3\n", "trailing text after the timestamp"},
        {"a 1 x\n", "trailing text after the value"},
        {"a inf\n", "'inf' is not a number"},
        {"a 0x10\n", "is not a number"},
    };
    for (const auto& [in, want] : bad) {
        auto r = parse_stats_text(in, "status.prom");
        ASSERT_FALSE(r) << in;
        EXPECT_NE(r.error_value().message.find(want), std::string::npos) << r.error_value().message;
        EXPECT_EQ(r.error_value().message.rfind("[rowcast.stats.syntax_error] status.prom:", 0), 0u) << r.error_value().message;
    }
    auto many = parse_stats_text("a 1\nb 2\nc 3\n", "f", 2);
    ASSERT_FALSE(many);
    EXPECT_EQ(many.error_value().message, "[rowcast.stats.limit_exceeded] f:3: more than 2 samples");
    auto labels = parse_stats_text("a{x=\"1\",y=\"2\"} 1\n", "f", 10, 1);
    ASSERT_FALSE(labels);
    EXPECT_EQ(labels.error_value().message.rfind("[rowcast.stats.limit_exceeded] f:1: more than 1 labels", 0), 0u);
}
