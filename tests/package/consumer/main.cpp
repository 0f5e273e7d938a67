// Package test consumer: uses rowcast the way a downstream project does (core,
// binary codec, JSON and YAML components), encodes one event with each codec,
// decodes it back and checks it is unchanged. Exit status 0 means all three
// round trips succeeded.
#include <rowcast/rowcast.hpp>
#include <rowcast/codec/json.hpp>
#include <rowcast/codec/yaml.hpp>

#include <cstdio>
#include <string>

namespace {

rowcast::event sample() {
    using namespace rowcast;
    event e;
    e.kind = event_kind::update;
    e.schema = "test";
    e.table = "test";
    e.columns = make_columns({
        {"test_id", {sql_type::int_}, true, false},
        {"name", {.type = sql_type::varchar, .length = 64, .charset = "utf8mb4"}, false, true},
        {"value", {.type = sql_type::varchar, .length = 64, .charset = "utf8mb4"}, false, true},
        {"modified", {.type = sql_type::datetime}, false, true},
    });
    e.before = {std::int64_t{1}, text{"shizzle"}, text{"nizzle"}, datetime{{2010, 9, 9}, 13, 0, 10, 0}};
    e.after = {std::int64_t{1}, text{"foo"}, text{"bar"}, datetime{{2010, 9, 9}, 13, 0, 10, 0}};
    e.sequence = 1;
    return e;
}

template <class Codec>
bool round_trip(Codec codec, const rowcast::event& e) {
    const std::string name(Codec::name);
    const std::string bytes = rowcast::encode(codec, e);
    auto back = rowcast::decode(codec, bytes);
    if (!back) {
        std::fprintf(stderr, "%s: decode failed: %s\n", name.c_str(), back.error_value().message.c_str());
        return false;
    }
    if (!(*back == e)) {
        std::fprintf(stderr, "%s: round trip changed the event\n", name.c_str());
        return false;
    }
    std::printf("%s: %zu bytes, round trip ok\n", name.c_str(), bytes.size());
    return true;
}

}  // namespace

int main() {
    const rowcast::event e = sample();
    bool ok = round_trip(rowcast::binary_codec{}, e);
    ok = round_trip(rowcast::json_codec{}, e) && ok;
    ok = round_trip(rowcast::yaml_codec{}, e) && ok;
    std::printf("rowcast %s consumer: %s\n", rowcast::version_string, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
