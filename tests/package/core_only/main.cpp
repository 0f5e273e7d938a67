// Package test consumer of rowcast::rowcast alone: the umbrella header and the
// binary codec, with no JSON or YAML library anywhere in the build; the Spread
// transport is part of the core (no component, no library).
#include <rowcast/rowcast.hpp>
#include <rowcast/spread/consumer.hpp>
#include <rowcast/spread/producer.hpp>

#include <cstdio>
#include <string>

static_assert(rowcast::event_sink<rowcast::spread::producer<rowcast::binary_codec>>);
static_assert(rowcast::event_source<rowcast::spread::consumer<rowcast::binary_codec>>);

int main() {
    using namespace rowcast;
    event e;
    e.kind = event_kind::insert;
    e.schema = "shop";
    e.table = "items";
    e.columns = make_columns({{"id", {sql_type::int_}, true, false},
                              {"name", {.type = sql_type::varchar, .length = 32}, false, true}});
    e.after = {std::int64_t{7}, text{"widget"}};

    binary_codec codec;
    const std::string bytes = encode(codec, e);
    auto back = decode(codec, bytes);
    if (!back || !(*back == e)) {
        std::fprintf(stderr, "binary round trip failed%s%s\n", back ? "" : ": ",
                     back ? "" : back.error_value().message.c_str());
        return 1;
    }
    std::printf("core-only consumer: binary round trip ok (%zu bytes)\n", bytes.size());
    return 0;
}
