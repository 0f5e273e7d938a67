// bench/codec_bench.cpp: rowcast-bench-codecs, the codec benchmarks (docs/performance.md).
//
// For each reference event of tests/support/sample_events.hpp, (a) hosts_update,
// (b) small_insert and (c) wide_insert, and for each codec: encode and decode, reporting
// events/s (items_per_second) and MB/s of the operation's own encoded size
// (bytes_per_second; the size is also the `bytes` counter). Benchmarks are named
// "<event>/<operation>":
//   json.encode, json.decode                    rowcast::json_codec, default envelope
//   json_debezium.encode, json_debezium.decode  rowcast::json_codec, Debezium envelope
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
// Output strings, events and views are reused across iterations (cleared, capacity kept),
// as a hot loop would.
//
// Before running, main() checks that every codec and baseline gives back the reference
// event (exit status 1 if not), and compares the baseline DOM with what rowcast's JSON
// codec writes (a warning on stderr if they differ). The JSON and YAML codecs are
// components: without their dependency they are left out (the baselines stay).
// Timings are never asserted here: scripts/bench.sh compares medians and prints the
// ratio table.
#include "baselines.hpp"
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
#include <string>
#include <string_view>
#include <vector>

namespace {

using rowcast::event;
using rowcast::event_view;
namespace rb = rowcast::bench;

struct sample {
    const char* name;
    event e;
};

const std::vector<sample>& samples() {
    static const std::vector<sample> s = {{"hosts_update", rowcast::test::hosts_update()},
                                          {"small_insert", rowcast::test::small_insert()},
                                          {"wide_insert", rowcast::test::wide_insert()}};
    return s;
}

/// events/s and MB/s of `bytes` per event; `bytes` is also reported as a counter.
void set_throughput(benchmark::State& st, std::size_t bytes) {
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * static_cast<std::int64_t>(bytes));
    st.counters["bytes"] = static_cast<double>(bytes);
}

// ---------------------------------------------------------------------------
// rowcast codecs (any type with the event_codec API)

template <class Codec>
void bm_encode(benchmark::State& st, Codec codec, const event& e) {
    std::string out;
    codec.encode(e, out);
    const std::size_t size = out.size();
    for (auto _ : st) {
        out.clear();
        codec.encode(e, out);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_throughput(st, size);
}

template <class Codec>
void bm_decode(benchmark::State& st, Codec codec, const event& e) {
    std::string in;
    codec.encode(e, in);
    event into;
    for (auto _ : st) {
        auto n = codec.decode(in, into);
        if (!n) {
            st.SkipWithError(n.error_value().message.c_str());
            break;
        }
        benchmark::DoNotOptimize(into);
        benchmark::ClobberMemory();
    }
    set_throughput(st, in.size());
}

template <class Codec>
void bm_decode_view(benchmark::State& st, Codec codec, const event& e) {
    std::string in;
    codec.encode(e, in);
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

void bm_nlohmann_dump(benchmark::State& st, const event& e) {
    std::string out;
    for (auto _ : st) {
        out = rb::to_json(e).dump();
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_throughput(st, out.size());
}

void bm_nlohmann_parse(benchmark::State& st, const event& e) {
    const std::string in = rb::to_json(e).dump();
    for (auto _ : st) {
        rb::njson j = rb::njson::parse(in);
        benchmark::DoNotOptimize(j);
        benchmark::ClobberMemory();
    }
    set_throughput(st, in.size());
}

void bm_nlohmann_parse_extract(benchmark::State& st, const event& e) {
    const std::string in = rb::to_json(e).dump();
    event into;
    for (auto _ : st) {
        if (!rb::from_json(rb::njson::parse(in), into)) {
            st.SkipWithError("nlohmann baseline: extraction failed");
            break;
        }
        benchmark::DoNotOptimize(into);
        benchmark::ClobberMemory();
    }
    set_throughput(st, in.size());
}

std::string yaml_text(const event& e) {
    YAML::Emitter y;
    rb::emit(y, e);
    return {y.c_str(), y.size()};
}

void bm_yamlcpp_emit(benchmark::State& st, const event& e) {
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

void bm_yamlcpp_load_extract(benchmark::State& st, const event& e) {
    const std::string in = yaml_text(e);
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

void bm_memcpy(benchmark::State& st, const event& e) {
    std::string in;
    rowcast::binary_codec{}.encode(e, in);
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
#endif

void register_all() {
    for (const sample& s : samples()) {
        const event* e = &s.e;
        auto add = [&](const char* op, auto fn) {
            benchmark::RegisterBenchmark((std::string(s.name) + "/" + op).c_str(),
                                         [fn, e](benchmark::State& st) { fn(st, *e); });
        };
#if ROWCAST_BENCH_JSON
        add("json.encode", [](benchmark::State& st, const event& x) { bm_encode(st, json_default(), x); });
        add("json.decode", [](benchmark::State& st, const event& x) { bm_decode(st, json_default(), x); });
        add("json_debezium.encode", [](benchmark::State& st, const event& x) { bm_encode(st, json_debezium(), x); });
        add("json_debezium.decode", [](benchmark::State& st, const event& x) { bm_decode(st, json_debezium(), x); });
#endif
#if ROWCAST_BENCH_YAML
        add("yaml.encode", [](benchmark::State& st, const event& x) { bm_encode(st, rowcast::yaml_codec{}, x); });
        add("yaml.decode", [](benchmark::State& st, const event& x) { bm_decode(st, rowcast::yaml_codec{}, x); });
#endif
        add("binary.encode", [](benchmark::State& st, const event& x) { bm_encode(st, rowcast::binary_codec{}, x); });
        add("binary.decode", [](benchmark::State& st, const event& x) { bm_decode(st, rowcast::binary_codec{}, x); });
        add("binary.decode_view",
            [](benchmark::State& st, const event& x) { bm_decode_view(st, rowcast::binary_codec{}, x); });
        add("nlohmann.dump", bm_nlohmann_dump);
        add("nlohmann.parse", bm_nlohmann_parse);
        add("nlohmann.parse_extract", bm_nlohmann_parse_extract);
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

template <class Codec>
void check_codec(Codec codec, const sample& s, const char* what) {
    std::string in;
    codec.encode(s.e, in);
    event out;
    auto n = codec.decode(in, out);
    if (!n) std::fprintf(stderr, "rowcast-bench-codecs: %s: %s: %s\n", s.name, what, n.error_value().message.c_str());
    check(n && *n == in.size() && out == s.e, s.name, what);
}

void self_check() {
    for (const sample& s : samples()) {
        try {
            event out;
            check(rb::from_json(rb::njson::parse(rb::to_json(s.e).dump()), out) && out == s.e, s.name,
                  "nlohmann baseline");
            event out2;
            check(rb::from_yaml(YAML::Load(yaml_text(s.e)), out2) && out2 == s.e, s.name, "yaml-cpp baseline");
        } catch (const std::exception& x) {
            std::fprintf(stderr, "rowcast-bench-codecs: %s: baseline threw: %s\n", s.name, x.what());
            ++failures;
        }
        check_codec(rowcast::binary_codec{}, s, "binary_codec");
        {
            rowcast::binary_codec c;
            std::string in;
            c.encode(s.e, in);
            event_view v;
            auto n = c.decode_view(in, v);
            check(n && *n == in.size() && rowcast::to_owning(v) == s.e, s.name, "binary_codec decode_view");
        }
#if ROWCAST_BENCH_JSON
        check_codec(json_default(), s, "json_codec");
        check_codec(json_debezium(), s, "json_codec (debezium)");
        {
            // Fidelity of the baseline: the DOM it builds should hold what rowcast writes.
            std::string out;
            json_default().encode(s.e, out);
            const rb::njson ours = rb::njson::parse(out);
            const rb::njson base = rb::to_json(s.e);
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
