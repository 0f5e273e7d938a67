#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (-fsanitize=fuzzer,address,undefined)
# in build-fuzz/, writes seed corpora, and runs every fuzzer that was built for
# SECONDS (default 60) on its corpus. Fails on the first crash, leak, timeout or
# sanitizer report. Corpora, logs and crash artifacts stay under build-fuzz/:
#   build-fuzz/seeds/<codec>/      seeds from rowcast-make-seeds (rewritten each run)
#   build-fuzz/corpus/<codec>/     the growing corpus (kept between runs)
#   build-fuzz/artifacts/<codec>/  crash-*, leak-*, timeout-* inputs and fuzz.log
#   scripts/fuzz.sh [SECONDS]      environment: BUILD_DIR (default build-fuzz), JOBS (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh

seconds=${1:-60}
case "$seconds" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [seconds per fuzzer]" >&2; exit 2;; esac

rowcast_need_packages build-essential cmake clang-14 libclang-rt-14-dev nlohmann-json3-dev libyaml-cpp-dev libzstd-dev zlib1g-dev libssl-dev libsodium-dev

build=${BUILD_DIR:-build-fuzz}
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DROWCAST_BUILD_FUZZERS=ON -DROWCAST_BUILD_TESTS=OFF -DROWCAST_BUILD_EXAMPLES=OFF \
    -DROWCAST_BUILD_BENCH=OFF -DROWCAST_INSTALL=OFF
cmake --build "$build" -j"${JOBS:-2}"
build=$(cd "$build" && pwd)

mapfile -t fuzzers < <(grep -v '^$' "$build/tests/fuzz/fuzzers.txt" || true)
if [ ${#fuzzers[@]} -eq 0 ]; then
    echo "fuzz: no fuzzer was built (tests/fuzz/fuzz_*.cpp missing?)" >&2
    exit 1
fi

rm -rf "$build/seeds"
"$build/tests/fuzz/rowcast-make-seeds" "$build/seeds"
# fuzz_binlog's seeds: the small binlog fixtures of tests/data/binlog (whole files).
mkdir -p "$build/seeds/binlog"
for f in tests/data/binlog/mariadb/0[234]_*.binlog tests/data/binlog/mysql/*/log.bin \
         tests/data/binlog/mysql/*/binlog.0*; do
    n=${f#tests/data/binlog/}; cp "$f" "$build/seeds/binlog/${n//\//_}"
done

# fuzz_checkpoint's seeds: a generic checkpoint and a 0.1 binlog state file (CRC lines computed here).
mkdir -p "$build/seeds/checkpoint"
seed_checkpoint() {
    local body=$1 out=$2
    printf '%send crc32=%08x\n' "$body" "$(printf '%s' "$body" | gzip -c | tail -c8 | od -An -tu4 -N4 | tr -d ' ')" >"$out"
}
seed_checkpoint $'rowcast-checkpoint 1\nfile=mariadb-bin.000003\noffset=1234\ngtid=0-1-42\nstaged=1795352710000000123_4711:42\n' \
    "$build/seeds/checkpoint/generic"
seed_checkpoint $'rowcast-binlog-checkpoint 1\nfile=binlog.000001\noffset=4\ngtid=3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5\n' \
    "$build/seeds/checkpoint/binlog"
# a schema history (binlog/schema_history.hpp): two versions of app.t, the second "gone"
seed_checkpoint $'rowcast-schema-history 1\nversions=2\nv=UkMBAGkAAAAGAAAAAAAAAAAAAAAAAAAAAAADYXBwAXQJZmlyc3QgdXNlAAAAEm1hcmlhZGItYmluLjAwMDAwMQQFMC0xLTUAHgMCaWQEAgFlG5QBB3V0ZjhtYjQCAXgBeQFkBkQKAgAA\nv=UkMBAEoAAAAGAAAAAAAAAAAAAAAAAAAAAAADYXBwAXQMRFJPUCBUQUJMRSB0AAAAEm1hcmlhZGItYmluLjAwMDAwMoQHAAAAAAA=\n' \
    "$build/seeds/checkpoint/schema-history"

# fuzz_stats_text's seeds: a daemon status file in the Prometheus text format (docs/status-plugin.md).
mkdir -p "$build/seeds/stats_text"
printf '%s\n' '# HELP rowcast_up 1 while the daemon runs' '# TYPE rowcast_up gauge' 'rowcast_up 1' \
    'rowcast_lag_seconds 0.25' 'rowcast_sink_up{sink="dns",kind="a\"b\\c\n"} 1' \
    'rowcast_position_info{position="binlog.000003:4711"} 1 1795352710000' 'x NaN' 'y -Inf' \
    >"$build/seeds/stats_text/daemon"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for f in "${fuzzers[@]}"; do
    codec=${f#fuzz_}
    corpus="$build/corpus/$codec"
    seeds="$build/seeds/$codec"
    art="$build/artifacts/$codec"
    mkdir -p "$corpus" "$seeds" "$art"
    rm -f "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*
    echo "fuzz: $f for ${seconds}s (corpus $corpus, $(ls "$seeds" | wc -l) seeds)"
    start=$(date +%s)
    # Run inside the artifacts directory so nothing lands in the source tree.
    if (cd "$art" && "$build/tests/fuzz/$f" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 \
            -artifact_prefix="$art/" -print_final_stats=1 "$corpus" "$seeds" >"$art/fuzz.log" 2>&1); then
        tail -n 12 "$art/fuzz.log" | grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::new_units_added|Done )' || true
        echo "fuzz: $f ok ($(( $(date +%s) - start ))s)"
    else
        echo "fuzz: $f FAILED; last lines of $art/fuzz.log:" >&2
        tail -n 60 "$art/fuzz.log" >&2
        ls -l "$art" >&2
        failed+=("$f")
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: ${#failed[@]} of ${#fuzzers[@]} fuzzers failed: ${failed[*]} (inputs under $build/artifacts)" >&2
    exit 1
fi
echo "fuzz: ${#fuzzers[@]} fuzzers ran ${seconds}s each without a crash: ${fuzzers[*]}"
