// bench/codec_bench.cpp: rowcast-bench-codecs, the codec benchmarks (docs/performance.md).
//
// For each reference event of tests/support/sample_events.hpp, (a) hosts_update,
// (b) small_insert and (c) wide_insert, and for each codec: encode and decode, reporting
// events/s (items_per_second) and MB/s of the operation's own encoded size
// (bytes_per_second; the size is also the `bytes` counter). Benchmarks are named
// "<event>/<operation>":
//   json.encode, json.decode                    rowcast::json_codec, default envelope
//   json_debezium.encode, json_debezium.decode  rowcast::json_codec, Debezium envelope (bare payload)
//   json_debezium_schema.encode, .decode        Debezium envelope with the Connect schema (schema + payload)
//   json_maxwell.encode, json_maxwell.decode    Maxwell envelope
//   json_smpl_repl.encode, json_smpl_repl.decode  smpl-repl strict envelope
//   yaml.encode, yaml.decode                    rowcast::yaml_codec
//   binary.encode, binary.decode                rowcast::binary_codec, decode into an owning event
//   binary.decode_view                          rowcast::binary_codec, decode into an event_view
// and the baselines, measured in the same binary (bench/baselines.hpp):
//   nlohmann.dump           build a plain nlohmann::json DOM of the event, dump() it
//   nlohmann.parse          json::parse of that dump (DOM only)
//   nlohmann.parse_extract  json::parse + extract every field into a rowcast::event
//   yamlcpp.emit            YAML::Emitter of the same content
//   yamlcpp.load_extract    YAML::Load of it + extract into a rowcast::event
//   memcpy                  copy the binary encoding into a preallocated buffer (speed of light)
//   simdjson.decode         simdjson on-demand over rowcast's own JSON, every field materialized
//                           into a reused rowcast::event, column lists cached by their bytes as
//                           rowcast does (bench/simdjson_baseline.hpp says how); _uncached: every
//                           section parsed every time
//   json.decode.fresh, simdjson.decode.fresh   the same into a new event every iteration
// Output strings, events and views are reused across iterations (cleared, capacity kept),
// as a hot loop would.
//
// Cold caches: rowcast's JSON codec keeps a one-entry cache (the encoder: the key, name
// and type lists of the last column list, by address; the decoder: the last column list
// decoded), which one event repeated always hits. So JSON and its nlohmann baselines also run
// over 2 and `cycle_tables` tables in turn (operation name suffixed ".tables2", ".tables4"):
// copies of the event, each its own table (`<table>_<k>`) with its own column list (column
// names suffixed `_<k>`), one event per iteration, table k = iteration mod n, so a one-entry
// cache misses every time.
// Both sides do the same work on the same events; the nlohmann baseline has no cache to miss
// (it builds the DOM every time) except the extractor's reuse of an equal column list.
//
// Before running, main() checks that every codec and baseline gives back the reference
// event (exit status 1 if not), and compares the baseline DOM with what rowcast's JSON
// codec writes (a warning on stderr if they differ). The JSON and YAML codecs are
// components: without their dependency they are left out (the baselines stay).
// Timings are never asserted here: scripts/bench.sh compares medians and prints the
// ratio table.
#include "baselines.hpp"
#include "simdjson_baseline.hpp"
#include "support/sample_events.hpp"

#include <rowcast/event.hpp>

#include <benchmark/benchmark.h>

#include <rowcast/codec/binary.hpp>
// The text codecs are components: benchmarked when CMake found their dependency.
#if defined(ROWCAST_BENCH_WITH_JSON)
#include <rowcast/codec/json.hpp>
#define ROWCAST_BENCH_JSON 1
#else
#define ROWCAST_BENCH_JSON 0
#endif
#if defined(ROWCAST_BENCH_WITH_YAML)
#include <rowcast/codec/yaml.hpp>
#define ROWCAST_BENCH_YAML 1
#else
#define ROWCAST_BENCH_YAML 0
#endif

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using rowcast::event;
using rowcast::event_view;
namespace rb = rowcast::bench;

/// Tables the ".tables4" benchmarks cycle through.
constexpr int cycle_tables = 4;

/// `tables` copies of `e`, each a table of its own (`<table>_<k>`) with a column list of its
/// own (every column name suffixed `_<k>`), so that no cache keyed on the table or on the
/// column list (by address or by content) hits when they are encoded or decoded in turn.
std::vector<event> table_cycle(const event& e, int tables) {
    std::vector<event> out;
    for (int k = 0; k < tables; ++k) {
        event x = e;
        const std::string suffix = "_" + std::to_string(k);
        x.table += suffix;
        if (e.columns) {
            std::vector<rowcast::column> cols = e.columns->columns;
            for (auto& c : cols) c.name += suffix;
            x.columns = rowcast::make_columns(std::move(cols));
        }
        out.push_back(std::move(x));
    }
    return out;
}

struct sample {
    const char* name;
    std::vector<event> one;     ///< the reference event alone (one table: warm caches)
    std::vector<event> tables;  ///< table_cycle() of it (cold caches)
    std::vector<event> tables2; ///< table_cycle() over 2 tables
    const event& e() const { return one.front(); }
};

sample make_sample(const char* name, event e) {
    auto cycle = table_cycle(e, cycle_tables);
    auto cycle2 = table_cycle(e, 2);
    return {name, {std::move(e)}, std::move(cycle), std::move(cycle2)};
}

const std::vector<sample>& samples() {
    static const std::vector<sample> s = {make_sample("hosts_update", rowcast::test::hosts_update()),
                                          make_sample("small_insert", rowcast::test::small_insert()),
                                          make_sample("wide_insert", rowcast::test::wide_insert())};
    return s;
}

using events = std::span<const event>;


/// events/s and MB/s of `bytes` per event; `bytes` is also reported as a counter.
void set_throughput(benchmark::State& st, std::size_t bytes) {
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(bytes));
    st.counters["bytes"] = static_cast<double>(bytes);
}

// ---------------------------------------------------------------------------
// rowcast codecs (any type with the event_codec API)

// Every benchmark below takes the events it cycles through: one (the reference event,
// warm caches) or sample::tables (cold caches). Picking the next one is the same
// increment and compare on both sides of a comparison.

template <class Codec>
std::vector<std::string> encode_all(Codec codec, events es) {
    std::vector<std::string> out(es.size());
    for (std::size_t i = 0; i < es.size(); ++i) codec.encode(es[i], out[i]);
    return out;
}

std::size_t mean_length(const std::vector<std::string>& texts) {
    std::size_t total = 0;
    for (const auto& t : texts) total += t.size();
    return total / texts.size();
}

template <class Codec>
void bm_encode(benchmark::State& st, Codec codec, events es) {
    const std::size_t size = mean_length(encode_all(codec, es));
    std::string out;
    std::size_t i = 0;
    for (auto _ : st) {
        out.clear();
        codec.encode(es[i], out);
        if (++i == es.size()) i = 0;
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_throughput(st, size);
}

// Fresh: into a new event every iteration (its storage allocated afresh, as a consumer
// that does not keep the event would); else into one event reused.
template <class Codec, bool Fresh = false>
void bm_decode(benchmark::State& st, Codec codec, events es) {
    const std::vector<std::string> in = encode_all(codec, es);
    event reused;
    std::size_t i = 0;
    for (auto _ : st) {
        event fresh;
        event& into = Fresh ? fresh : reused;
        auto n = codec.decode(in[i], into);
        if (!n) {
            st.SkipWithError(n.error_value().message.c_str());
            break;
        }
        if (++i == in.size()) i = 0;
        benchmark::DoNotOptimize(into);
        benchmark::ClobberMemory();
    }
    set_throughput(st, mean_length(in));
}

template <class Codec>
void bm_decode_view(benchmark::State& st, Codec codec, events es) {
    std::string in;
    codec.encode(es.front(), in);
    event_view into;
    for (auto _ : st) {
        auto n = codec.decode_view(in, into);
        if (!n) {
            st.SkipWithError(n.error_value().message.c_str());
            break;
        }
        benchmark::DoNotOptimize(into);
        benchmark::ClobberMemory();
    }
    set_throughput(st, in.size());
}

// ---------------------------------------------------------------------------
// Baselines

std::vector<std::string> nlohmann_dumps(events es) {
    std::vector<std::string> out;
    for (const event& e : es) out.push_back(rb::to_json(e).dump());
    return out;
}

void bm_nlohmann_dump(benchmark::State& st, events es) {
    const std::size_t size = mean_length(nlohmann_dumps(es));
    std::string out;
    std::size_t i = 0;
    for (auto _ : st) {
        out = rb::to_json(es[i]).dump();
        if (++i == es.size()) i = 0;
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_throughput(st, size);
}

void bm_nlohmann_parse(benchmark::State& st, events es) {
    const std::string in = rb::to_json(es.front()).dump();
    for (auto _ : st) {
        rb::njson j = rb::njson::parse(in);
        benchmark::DoNotOptimize(j);
        benchmark::ClobberMemory();
    }
    set_throughput(st, in.size());
}

void bm_nlohmann_parse_extract(benchmark::State& st, events es) {
    const std::vector<std::string> in = nlohmann_dumps(es);
    event into;
    std::size_t i = 0;
    for (auto _ : st) {
        if (!rb::from_json(rb::njson::parse(in[i]), into)) {
            st.SkipWithError("nlohmann baseline: extraction failed");
            break;
        }
        if (++i == in.size()) i = 0;
        benchmark::DoNotOptimize(into);
        benchmark::ClobberMemory();
    }
    set_throughput(st, mean_length(in));
}

#if ROWCAST_BENCH_JSON
// simdjson on-demand over the bytes rowcast's JSON codec writes (padded once, outside the loop).
std::vector<simdjson::padded_string> simdjson_inputs(events es) {
    std::vector<simdjson::padded_string> out;
    rowcast::json_codec codec;
    for (const event& e : es) {
        std::string s;
        codec.encode(e, s);
        out.emplace_back(s);
    }
    return out;
}

template <bool Fresh, bool Cached = true>
void bm_simdjson_decode(benchmark::State& st, events es) {
    const auto in = simdjson_inputs(es);
    rb::simdjson_extractor x;
    event reused;
    std::size_t i = 0, bytes = 0;
    for (const auto& s : in) bytes += s.size();
    for (auto _ : st) {
        event fresh;
        event& into = Fresh ? fresh : reused;
        if (!(Cached ? x.decode(in[i], into) : x.decode_uncached(in[i], into))) {
            st.SkipWithError("simdjson baseline: extraction failed");
            break;
        }
        if (++i == in.size()) i = 0;
        benchmark::DoNotOptimize(into);
        benchmark::ClobberMemory();
    }
    set_throughput(st, bytes / in.size());
}
#endif

std::string yaml_text(const event& e) {
    YAML::Emitter y;
    rb::emit(y, e);
    return {y.c_str(), y.size()};
}

void bm_yamlcpp_emit(benchmark::State& st, events es) {
    const event& e = es.front();
    std::size_t size = 0;
    for (auto _ : st) {
        YAML::Emitter y;
        rb::emit(y, e);
        benchmark::DoNotOptimize(y.c_str());
        size = y.size();
        benchmark::ClobberMemory();
    }
    set_throughput(st, size);
}

void bm_yamlcpp_load_extract(benchmark::State& st, events es) {
    const std::string in = yaml_text(es.front());
    event into;
    for (auto _ : st) {
        if (!rb::from_yaml(YAML::Load(in), into)) {
            st.SkipWithError("yaml-cpp baseline: extraction failed");
            break;
        }
        benchmark::DoNotOptimize(into);
        benchmark::ClobberMemory();
    }
    set_throughput(st, in.size());
}

void bm_memcpy(benchmark::State& st, events es) {
    std::string in;
    rowcast::binary_codec{}.encode(es.front(), in);
    std::string buf(in.size(), '\0');
    for (auto _ : st) {
        std::memcpy(buf.data(), in.data(), in.size());
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    set_throughput(st, in.size());
}

#if ROWCAST_BENCH_JSON
rowcast::json_codec json_default() { return rowcast::json_codec{}; }
rowcast::json_codec json_debezium() {
    return rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::debezium}};
}
rowcast::json_codec json_debezium_schema() {
    rowcast::json_options o{.envelope = rowcast::json_envelope::debezium};
    o.debezium.schemas = true;
    return rowcast::json_codec{o};
}
rowcast::json_codec json_maxwell() { return rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::maxwell}}; }
rowcast::json_codec json_smpl_repl() {
    return rowcast::json_codec{rowcast::json_options{.envelope = rowcast::json_envelope::smpl_repl}};
}
#endif

void register_all() {
    for (const sample& s : samples()) {
        // add(op, fn): fn(state, events) on the reference event alone; add_cycle: also on the
        // table cycle, as "<op>.tables4".
        auto add_on = [&](const std::string& op, auto fn, events es) {
            benchmark::RegisterBenchmark((std::string(s.name) + "/" + op).c_str(),
                                         [fn, es](benchmark::State& st) { fn(st, es); });
        };
        auto add = [&](const char* op, auto fn) { add_on(op, fn, s.one); };
        auto add_cycle = [&](const char* op, auto fn) {
            add_on(op, fn, s.one);
            add_on(std::string(op) + ".tables2", fn, s.tables2);
            add_on(std::string(op) + ".tables" + std::to_string(cycle_tables), fn, s.tables);
        };
#if ROWCAST_BENCH_JSON
        add_cycle("json.encode", [](benchmark::State& st, events x) { bm_encode(st, json_default(), x); });
        add_cycle("json.decode", [](benchmark::State& st, events x) { bm_decode(st, json_default(), x); });
        add_cycle("simdjson.decode", bm_simdjson_decode<false>);
        add("json.decode.fresh", [](benchmark::State& st, events x) { bm_decode<rowcast::json_codec, true>(st, json_default(), x); });
        add("simdjson.decode.fresh", bm_simdjson_decode<true>);
        add("simdjson.decode_uncached", bm_simdjson_decode<false, false>);
        add("json_debezium.encode", [](benchmark::State& st, events x) { bm_encode(st, json_debezium(), x); });
        add("json_debezium.decode", [](benchmark::State& st, events x) { bm_decode(st, json_debezium(), x); });
        add("json_debezium_schema.encode", [](benchmark::State& st, events x) { bm_encode(st, json_debezium_schema(), x); });
        add("json_debezium_schema.decode", [](benchmark::State& st, events x) { bm_decode(st, json_debezium_schema(), x); });
        add("json_maxwell.encode", [](benchmark::State& st, events x) { bm_encode(st, json_maxwell(), x); });
        add("json_maxwell.decode", [](benchmark::State& st, events x) { bm_decode(st, json_maxwell(), x); });
        add("json_smpl_repl.encode", [](benchmark::State& st, events x) { bm_encode(st, json_smpl_repl(), x); });
        add("json_smpl_repl.decode", [](benchmark::State& st, events x) { bm_decode(st, json_smpl_repl(), x); });
#endif
#if ROWCAST_BENCH_YAML
        add("yaml.encode", [](benchmark::State& st, events x) { bm_encode(st, rowcast::yaml_codec{}, x); });
        add("yaml.decode", [](benchmark::State& st, events x) { bm_decode(st, rowcast::yaml_codec{}, x); });
#endif
        add("binary.encode", [](benchmark::State& st, events x) { bm_encode(st, rowcast::binary_codec{}, x); });
        add("binary.decode", [](benchmark::State& st, events x) { bm_decode(st, rowcast::binary_codec{}, x); });
        add("binary.decode_view",
            [](benchmark::State& st, events x) { bm_decode_view(st, rowcast::binary_codec{}, x); });
        add_cycle("nlohmann.dump", bm_nlohmann_dump);
        add("nlohmann.parse", bm_nlohmann_parse);
        add_cycle("nlohmann.parse_extract", bm_nlohmann_parse_extract);
        add("yamlcpp.emit", bm_yamlcpp_emit);
        add("yamlcpp.load_extract", bm_yamlcpp_load_extract);
        add("memcpy", bm_memcpy);
    }
}

// ---------------------------------------------------------------------------
// Self-check: every codec and baseline must give back the reference event.

int failures = 0;

void check(bool ok, const char* sample_name, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "rowcast-bench-codecs: %s: %s does not round-trip\n", sample_name, what);
        ++failures;
    }
}

/// Encodes and decodes every event of the sample (the reference event, then the table cycle)
/// with one codec and into one event, in turn, as the benchmarks do (so the caches are
/// replaced between events).
template <class Codec>
void check_codec(Codec codec, const sample& s, const char* what) {
    event out;
    for (events es : {events(s.one), events(s.tables)})
        for (const event& e : es) {
            std::string in;
            codec.encode(e, in);
            auto n = codec.decode(in, out);
            if (!n)
                std::fprintf(stderr, "rowcast-bench-codecs: %s: %s: %s\n", s.name, what, n.error_value().message.c_str());
            check(n && *n == in.size() && out == e, s.name, what);
        }
}

void check_baselines(const sample& s) {
    event out, out2;
    for (events es : {events(s.one), events(s.tables)})
        for (const event& e : es) try {
                check(rb::from_json(rb::njson::parse(rb::to_json(e).dump()), out) && out == e, s.name,
                      "nlohmann baseline");
                check(rb::from_yaml(YAML::Load(yaml_text(e)), out2) && out2 == e, s.name, "yaml-cpp baseline");
            } catch (const std::exception& x) {
                std::fprintf(stderr, "rowcast-bench-codecs: %s: baseline threw: %s\n", s.name, x.what());
                ++failures;
            }
}

void self_check() {
    for (const sample& s : samples()) {
        check_baselines(s);
        check_codec(rowcast::binary_codec{}, s, "binary_codec");
        {
            rowcast::binary_codec c;
            std::string in;
            c.encode(s.e(), in);
            event_view v;
            auto n = c.decode_view(in, v);
            check(n && *n == in.size() && rowcast::to_owning(v) == s.e(), s.name, "binary_codec decode_view");
        }
#if ROWCAST_BENCH_JSON
        check_codec(json_default(), s, "json_codec");
        {
            rb::simdjson_extractor x;
            event out;
            for (events es : {events(s.one), events(s.tables2), events(s.tables)}) {
                const auto in = simdjson_inputs(es);
                for (int pass = 0; pass < 2; ++pass)  // the first pass fills the cache, the second hits it
                    for (std::size_t i = 0; i < es.size(); ++i) {
                        check(x.decode(in[i], out) && out == es[i], s.name, "simdjson baseline");
                        check(x.decode_uncached(in[i], out) && out == es[i], s.name, "simdjson baseline (uncached)");
                    }
            }
        }
        check_codec(json_debezium(), s, "json_codec (debezium)");
        check_codec(json_debezium_schema(), s, "json_codec (debezium, schema + payload)");
        check_codec(json_maxwell(), s, "json_codec (maxwell)");
        check_codec(json_smpl_repl(), s, "json_codec (smpl-repl)");
        for (events es : {events(s.one), events(s.tables)})
            for (const event& e : es) {
            // Fidelity of the baseline: the DOM it builds should hold what rowcast writes.
            std::string out;
            json_default().encode(e, out);
            const rb::njson ours = rb::njson::parse(out);
            const rb::njson base = rb::to_json(e);
            if (ours != base)
                std::fprintf(stderr,
                             "rowcast-bench-codecs: warning: %s: the nlohmann baseline DOM differs from rowcast's "
                             "JSON (patch from rowcast's to the baseline's): %s\n",
                             s.name, rb::njson::diff(ours, base).dump().c_str());
            }
#endif
#if ROWCAST_BENCH_YAML
        check_codec(rowcast::yaml_codec{}, s, "yaml_codec");
#endif
    }
    std::fprintf(stderr, "rowcast-bench-codecs: codecs built in: binary yes, json %s, yaml %s\n",
                 ROWCAST_BENCH_JSON ? "yes" : "NO (component skipped)",
                 ROWCAST_BENCH_YAML ? "yes" : "NO (component skipped)");
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    self_check();
    if (failures) {
        std::fprintf(stderr, "rowcast-bench-codecs: %d self-check failure(s); not benchmarking\n", failures);
        return 1;
    }
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
