// bench/bench_main.hpp: the main() of the service benchmarks (NATS, Spread): `--smoke` runs
// each benchmark once, briefly (the ctest smoke tests: never a timing threshold), with 500
// events per iteration; an environment variable overrides the events per iteration.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace rowcast::bench {

struct run_settings {
    bool smoke = false;
    std::size_t events = 0;        ///< events per iteration
    double min_time = 0;           ///< seconds per benchmark
    std::vector<char*> args;       ///< what Google Benchmark parses
};

/// Takes --smoke out of argv; `events_env` (e.g. "ROWCAST_BENCH_NATS_EVENTS") overrides `events`.
inline run_settings parse_run(int argc, char** argv, const char* events_env, std::size_t events, double min_time) {
    run_settings s;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0) s.smoke = true;
        else s.args.push_back(argv[i]);
    }
    s.events = s.smoke ? 500 : events;
    if (const char* n = std::getenv(events_env)) s.events = std::strtoul(n, nullptr, 10);
    s.min_time = s.smoke ? 0.001 : min_time;
    return s;
}

/// Runs the registered benchmarks with the remaining arguments.
inline void run_registered(run_settings& s) {
    int n = static_cast<int>(s.args.size());
    benchmark::Initialize(&n, s.args.data());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}

}  // namespace rowcast::bench
