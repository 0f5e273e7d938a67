// The Event model: values, views, equality, validation, the result type.
#include <rowcast/codec/concept.hpp>
#include <rowcast/event.hpp>

#include "support/random_event.hpp"
#include "support/sample_events.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace rowcast;

TEST(Value, KindMatchesVariantIndex) {
    EXPECT_EQ(value{}.kind(), value_kind::absent);
    EXPECT_EQ(value{null_value{}}.kind(), value_kind::null);
    EXPECT_EQ(value{std::int64_t{-1}}.kind(), value_kind::int64);
    EXPECT_EQ(value{std::uint64_t{1}}.kind(), value_kind::uint64);
    EXPECT_EQ(value{1.0f}.kind(), value_kind::float32);
    EXPECT_EQ(value{1.0}.kind(), value_kind::float64);
    EXPECT_EQ(value{decimal{"1.5"}}.kind(), value_kind::decimal);
    EXPECT_EQ(value{text{"a"}}.kind(), value_kind::text);
    EXPECT_EQ(value{bytes{"a"}}.kind(), value_kind::bytes);
    EXPECT_EQ(value{date{}}.kind(), value_kind::date);
    EXPECT_EQ(value{rowcast::time{}}.kind(), value_kind::time);
    EXPECT_EQ(value{datetime{}}.kind(), value_kind::datetime);
    EXPECT_EQ(value{timestamp{}}.kind(), value_kind::timestamp);
    EXPECT_EQ(value{year{}}.kind(), value_kind::year);
    EXPECT_EQ(value{bit{}}.kind(), value_kind::bit);
    EXPECT_EQ(value{enum_value{}}.kind(), value_kind::enumeration);
    EXPECT_EQ(value{set_value{}}.kind(), value_kind::set);
    EXPECT_EQ(value{json_text{}}.kind(), value_kind::json);
    EXPECT_EQ(value{geometry{}}.kind(), value_kind::geometry);
    EXPECT_EQ(std::variant_size_v<value::variant_type>, value_kind_count);
}

TEST(Value, AbsentIsNotNull) {
    EXPECT_NE(value{absent{}}, value{null_value{}});
    EXPECT_TRUE(value{}.is_absent());
    EXPECT_FALSE(value{}.is_null());
}

TEST(Value, FloatEqualityIsBitwise) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(value{nan}, value{nan});
    EXPECT_NE(value{0.0}, value{-0.0});
    EXPECT_EQ(value{std::numeric_limits<float>::infinity()}, value{std::numeric_limits<float>::infinity()});
    EXPECT_NE(value{1.0f}, value{1.0});  // different kinds
}

TEST(Value, StdVisitAndGetWork) {
    value v = text{"hello"};
    EXPECT_EQ(std::get<text>(v).utf8, "hello");
    EXPECT_TRUE(std::holds_alternative<text>(v));
    const auto size = std::visit([](const auto& x) -> std::size_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, text>) return x.utf8.size();
        else return 0;
    }, v.as_variant());
    EXPECT_EQ(size, 5u);
}

TEST(Value, ViewRoundTrip) {
    test::event_generator gen(7);
    for (int i = 0; i < 2000; ++i) {
        column_type t;
        t.type = static_cast<sql_type>(i % sql_type_count);
        t.length = 8;
        value v = gen.value_for(t);
        value_view vv = to_view(v);
        EXPECT_EQ(vv.kind(), v.kind());
        EXPECT_EQ(to_owning(vv), v);
    }
}

TEST(Event, ViewRoundTripSharesColumns) {
    test::event_generator gen(11);
    for (int i = 0; i < 500; ++i) {
        event e = gen.next();
        event_view v = to_view(e);
        EXPECT_EQ(v.columns.get(), e.columns.get());
        event back = to_owning(v);
        EXPECT_EQ(back, e);
        EXPECT_EQ(back.columns.get(), e.columns.get());
    }
}

TEST(Event, EqualityComparesColumnsByContent) {
    event a = test::hosts_update();
    event b = a;
    auto copy = std::make_shared<column_list>(*a.columns);
    b.columns = copy;
    EXPECT_EQ(a, b);
    copy->columns[0].name = "other";
    EXPECT_NE(a, b);
}

TEST(Event, ValidateChecksImages) {
    EXPECT_TRUE(validate(test::hosts_update()).has_value());
    event e = test::hosts_update();
    e.after.pop_back();
    auto r = validate(e);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error_value().code, errc::invalid_value);
    EXPECT_NE(r.error_value().message.find("[rowcast.event.invalid_value] after: after image has 7 values for 8"),
              std::string::npos)
        << r.error_value().message;
    e = test::small_insert();
    e.before = e.after;
    EXPECT_FALSE(validate(e));
    event begin;
    begin.kind = event_kind::begin;
    EXPECT_TRUE(validate(begin));
}

TEST(Event, KindNames) {
    for (std::size_t i = 0; i < event_kind_count; ++i) {
        event_kind k{};
        ASSERT_TRUE(parse_event_kind(to_string(static_cast<event_kind>(i)), k));
        EXPECT_EQ(static_cast<std::size_t>(k), i);
    }
    event_kind k{};
    EXPECT_FALSE(parse_event_kind("upsert", k));
    EXPECT_EQ(to_string(event_kind::delete_), "delete");
}

TEST(Column, NaturalKinds) {
    EXPECT_EQ(natural_kind(sql_type::int_, false), value_kind::int64);
    EXPECT_EQ(natural_kind(sql_type::bigint, true), value_kind::uint64);
    EXPECT_EQ(natural_kind(sql_type::varbinary, false), value_kind::bytes);
    EXPECT_EQ(natural_kind(sql_type::unknown, false), value_kind::text);
    for (std::size_t i = 0; i < sql_type_count; ++i) {
        auto t = static_cast<sql_type>(i);
        auto parsed = parse_sql_type(to_string(t));
        ASSERT_TRUE(parsed) << to_string(t);
        EXPECT_EQ(*parsed, t);
    }
    EXPECT_EQ(parse_sql_type("integer"), sql_type::int_);
    EXPECT_FALSE(parse_sql_type("nonsense"));
}

TEST(Column, FindByName) {
    auto cols = test::hosts_columns();
    EXPECT_EQ(cols->find("mac"), 3u);
    EXPECT_FALSE(cols->find("nope"));
}

TEST(Result, ValueOrThrow) {
    result<int> ok = 3;
    EXPECT_EQ(ok.value(), 3);
    result<int> bad = error::make(errc::truncated, "binary", "at byte 4", "need 8 bytes");
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.error_value().message, "[rowcast.binary.truncated] at byte 4: need 8 bytes");
    try {
        (void)bad.value();
        FAIL() << "no throw";
    } catch (const rowcast::exception& ex) {
        EXPECT_EQ(ex.code(), errc::truncated);
        EXPECT_NE(std::string(ex.what()).find("need 8 bytes"), std::string::npos);
    }
    EXPECT_EQ(make_error_code(errc::limit_exceeded).category().name(), std::string("rowcast"));
    std::error_code ec = errc::syntax_error;
    EXPECT_EQ(ec.message(), "syntax error");
    result<void> v;
    EXPECT_TRUE(v);
    result<void> vbad = error::make(errc::io_error, "spool", "", "x");
    EXPECT_THROW(vbad.value(), rowcast::exception);
}
