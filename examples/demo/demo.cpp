// rowcast demo: one row change in every codec.
//
// Builds the smpl-repl sample event (UPDATE of row test_id=1 in test.test) as a
// typed rowcast::event, prints it, then encodes it with each codec (JSON with
// the default and the Debezium envelope, YAML, binary), decodes each encoding
// back and checks that nothing changed. Finally it decodes the original
// smpl-repl JSON message, which carries no types, and shows what rowcast makes
// of it. Exit status 1 if any round trip or decode fails.
//
// Run it with scripts/demo.sh (builds target rowcast-demo and runs it). Options: --help, --version.
#include "../common/cli.hpp"

#include <rowcast/rowcast.hpp>        // core + binary codec, no third-party dependency
#include <rowcast/codec/json.hpp>     // rowcast::json component (nlohmann_json)
#include <rowcast/codec/yaml.hpp>     // rowcast::yaml component (yaml-cpp)

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace {

// The message smpl-repl's README shows (a copy of rowcast::test::smpl_repl_message;
// examples do not include the tests' headers).
constexpr std::string_view smpl_repl_message =
    R"({"schema":"test","table":"test","timestamp":"2010-09-09 13:00:10","operation":"update",)"
    R"("primary":"test_id","keys":["test_id","name"],"columns":["test_id","name","value","modified"],)"
    R"("new":{"test_id":"1","name":"foo","value":"bar","modified":"2010-09-09 13:00:10"},)"
    R"("old":{"test_id":"1","name":"shizzle","value":"nizzle","modified":"2010-09-09 13:00:10"}})";

// The same change as a typed event: the table's real column types, typed values.
rowcast::event sample_event() {
    using namespace rowcast;
    namespace chr = std::chrono;
    event e;
    e.kind = event_kind::update;
    e.schema = "test";
    e.table = "test";
    e.columns = make_columns({
        {"test_id", {.type = sql_type::int_}, /*primary_key=*/true, /*nullable=*/false},
        {"name", {.type = sql_type::varchar, .length = 255, .charset = "utf8mb4"}, false, true},
        {"value", {.type = sql_type::varchar, .length = 255, .charset = "utf8mb4"}, false, true},
        {"modified", {.type = sql_type::datetime}, false, true},
    });
    const datetime modified{{2010, 9, 9}, 13, 0, 10, 0};
    e.before = {std::int64_t{1}, text{"shizzle"}, text{"nizzle"}, modified};
    e.after = {std::int64_t{1}, text{"foo"}, text{"bar"}, modified};
    e.sequence = 1;
    e.transaction = {"0-1-42", 0, true};
    e.source = {"mysql-bin.000001", 4711, "0-1-42", 1};
    e.commit_time = time_point{chr::sys_days{chr::year{2010} / 9 / 9} + chr::hours{13} + chr::seconds{10}};
    return e;
}

// --- printing ------------------------------------------------------------------

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else out += c;
    }
    return out + '"';
}

std::string format_value(const rowcast::value& v) {
    using namespace rowcast;
    return std::visit(
        [&](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            char buf[64];
            if constexpr (std::is_same_v<T, absent>) return "(absent)";
            else if constexpr (std::is_same_v<T, null_value>) return "NULL";
            else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>)
                return std::to_string(x);
            else if constexpr (std::is_same_v<T, text>) return quote(x.utf8);
            else if constexpr (std::is_same_v<T, decimal>) return x.digits;
            else if constexpr (std::is_same_v<T, datetime>) {
                std::snprintf(buf, sizeof buf, "%04u-%02u-%02u %02u:%02u:%02u.%06u", unsigned{x.day.year},
                              unsigned{x.day.month}, unsigned{x.day.day}, unsigned{x.hour}, unsigned{x.minute},
                              unsigned{x.second}, unsigned{x.microsecond});
                return buf;
            } else return "<" + std::string(to_string(v.kind())) + ">";
        },
        v.as_variant());
}

void print_event(const rowcast::event& e) {
    std::printf("  %s %s.%s  (sequence %llu, transaction %s)\n", std::string(to_string(e.kind)).c_str(),
                e.schema.c_str(), e.table.c_str(), static_cast<unsigned long long>(e.sequence),
                e.transaction.id.empty() ? "-" : e.transaction.id.c_str());
    if (e.commit_time != rowcast::time_point{}) {
        namespace chr = std::chrono;
        const auto day = chr::floor<chr::days>(e.commit_time);
        const chr::year_month_day ymd{day};
        const chr::hh_mm_ss hms{chr::floor<chr::seconds>(e.commit_time - day)};
        std::printf("  committed %04d-%02u-%02u %02ld:%02ld:%02lld UTC\n", int{ymd.year()}, unsigned{ymd.month()},
                    unsigned{ymd.day()}, static_cast<long>(hms.hours().count()),
                    static_cast<long>(hms.minutes().count()), static_cast<long long>(hms.seconds().count()));
    }
    if (!e.columns) return;
    std::printf("  %-10s %-14s %-28s %-28s\n", "column", "type", "before", "after");
    for (std::size_t i = 0; i < e.columns->size(); ++i) {
        const rowcast::column& c = (*e.columns)[i];
        std::string type(to_string(c.type.type));
        if (c.type.length) type += "(" + std::to_string(c.type.length) + ")";
        if (c.primary_key) type += " PK";
        const std::string before = i < e.before.size() ? format_value(e.before[i]) : "";
        const std::string after = i < e.after.size() ? format_value(e.after[i]) : "";
        std::printf("  %-10s %-14s %-28s %-28s\n", c.name.c_str(), type.c_str(), before.c_str(), after.c_str());
    }
}

void hex_dump(std::string_view bytes) {
    for (std::size_t off = 0; off < bytes.size(); off += 16) {
        std::printf("  %04zx ", off);
        std::string ascii;
        for (std::size_t i = off; i < off + 16; ++i) {
            if (i < bytes.size()) {
                const auto u = static_cast<unsigned char>(bytes[i]);
                std::printf(" %02x", u);
                ascii += u >= 0x20 && u < 0x7f ? static_cast<char>(u) : '.';
            } else {
                std::printf("   ");
            }
        }
        std::printf("  %s\n", ascii.c_str());
    }
}

// Encodes `e` with `codec`, prints the encoding, decodes it back and compares.
template <class Codec>
bool show(const char* title, Codec codec, const rowcast::event& e, bool binary = false) {
    const std::string bytes = rowcast::encode(codec, e);
    std::printf("\n== %s: %s, %zu bytes\n", title, std::string(Codec::content_type).c_str(), bytes.size());
    if (binary) hex_dump(bytes);
    else std::printf("%s%s", bytes.c_str(), bytes.ends_with('\n') ? "" : "\n");

    auto back = rowcast::decode(codec, bytes);
    if (!back) {
        std::printf("round trip: FAILED: %s\n", back.error_value().message.c_str());
        return false;
    }
    if (!(*back == e)) {
        std::printf("round trip: FAILED: the decoded event differs:\n");
        print_event(*back);
        return false;
    }
    std::printf("round trip: ok\n");
    return true;
}

}  // namespace

static int run_main(int argc, char** argv) {
    CLI::App app("Shows the smpl-repl sample change as one typed rowcast event in every codec and checks each round "
                 "trip (exit status 1 if one fails).",
                 "rowcast-demo");
    rowcast_cli::setup(app);
    if (auto status = rowcast_cli::parse(app, argc, argv)) return *status;
    std::printf("rowcast %s demo: the smpl-repl sample change as one typed event\n\n", rowcast::version_string);
    const rowcast::event e = sample_event();
    print_event(e);

    bool ok = true;
    ok = show("JSON, default envelope", rowcast::json_codec{}, e) && ok;
    ok = show("JSON, Debezium envelope",
              rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::debezium}}, e) && ok;
    ok = show("YAML", rowcast::yaml_codec{}, e) && ok;
    ok = show("binary", rowcast::binary_codec{}, e, /*binary=*/true) && ok;

    std::printf("\n== the original smpl-repl message\n%s\n", std::string(smpl_repl_message).c_str());
    rowcast::json_codec json;
    auto original = rowcast::decode(json, smpl_repl_message);
    if (original) {
        std::printf("decoded (no types in the message: columns of unknown type, values as text):\n");
        print_event(*original);
    } else {
        std::printf("decode: FAILED: %s\n", original.error_value().message.c_str());
        ok = false;
    }

    std::printf("\n%s\n", ok ? "demo: all round trips ok" : "demo: FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char** argv) { return rowcast_cli::guarded("rowcast-demo", [&] { return run_main(argc, argv); }); }
