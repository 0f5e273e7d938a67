#!/usr/bin/env bash
# scripts/bench.sh: THE codec benchmark command (docs/performance.md).
#
# Builds rowcast-bench-codecs in Release, runs it with repetitions, prints the table of
# ratios to the baselines (median events/s of codec / baseline, target, PASS/FAIL) and
# writes the chart of event (a) hosts_update. Then (BINLOG=1, the default) the binlog
# decoding benchmark rowcast-bench-binlog: mariadb-binlog -vv vs rowcast on the ~80 MB
# big_200k binlog (generated once on a private MariaDB, cached in $BUILD_DIR/bench-data),
# BINLOG_REPETITIONS interleaved runs, and peak RSS; its medians join the report.
#
# Usage: scripts/bench.sh [extra Google Benchmark flags, e.g. --benchmark_filter=hosts_update]
# Environment:
#   BUILD_DIR    build directory                      (default: build-bench)
#   OUT_DIR      where the results go                 (default: $BUILD_DIR/bench-results)
#   CHART        chart to write, .svg or .png; empty: none (default: docs/performance.svg)
#   REPETITIONS  --benchmark_repetitions               (default: 5)
#   JOBS         parallel compile jobs                 (default: 2)
#   STRICT=1     exit 1 if a target is missed (off by default: benchmarks are reports, not tests)
#   BINLOG=0     skip the binlog benchmark (it needs the binlog component, mariadbd and mariadb-binlog)
#   BINLOG_REPETITIONS  interleaved runs of the binlog comparison (default: 5)
# Installs what it needs from Debian on a fresh machine (apt-get; root or sudo).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_dir="${BUILD_DIR:-build-bench}"
out_dir="${OUT_DIR:-$build_dir/bench-results}"
chart="${CHART-docs/performance.svg}"
repetitions="${REPETITIONS:-5}"
jobs="${JOBS:-2}"

# --- Debian packages (scripts/packages.sh: apt-get only what is missing) -------------------
. scripts/packages.sh
packages=(build-essential cmake libbenchmark-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev python3)
binlog="${BINLOG:-1}"
[[ "$binlog" == 1 ]] && packages+=(zlib1g-dev libzstd-dev libmariadb-dev mariadb-server mariadb-client)
[[ -n "$chart" ]] && packages+=(gnuplot-nox)
rowcast_need_packages "${packages[@]}" >&2

# --- build ----------------------------------------------------------------------------------
components="json;yaml;dns"
[[ "$binlog" == 1 ]] && components+=";binlog"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DROWCAST_BUILD_BENCH=ON "-DROWCAST_COMPONENTS=$components" \
  -DROWCAST_BUILD_TESTS=OFF -DROWCAST_BUILD_EXAMPLES=OFF -DROWCAST_INSTALL=OFF >/dev/null
cmake --build "$build_dir" --target rowcast-bench-codecs -j "$jobs"
[[ "$binlog" == 1 ]] && cmake --build "$build_dir" --target rowcast-bench-binlog -j "$jobs"

# --- run ------------------------------------------------------------------------------------
mkdir -p "$out_dir"
result="$out_dir/codec_bench.json"
echo "bench.sh: running ($repetitions repetitions of every benchmark; a few minutes)..." >&2
echo "bench.sh: load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" >&2
# stdout gets the same JSON as the --benchmark_out file; the report reads the file.
"$build_dir/bench/rowcast-bench-codecs" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_report_aggregates_only=true \
  --benchmark_format=json \
  --benchmark_out="$result" \
  "$@" >"$out_dir/codec_bench.stdout.json"
echo "bench.sh: load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" >&2

binlog_result="$out_dir/binlog_bench.json"
if [[ "$binlog" == 1 ]]; then
  echo "bench.sh: binlog benchmark (the first run generates the 80 MB binlog on a private MariaDB)..." >&2
  "$build_dir/bench/rowcast-bench-binlog" \
    --benchmark_filter='VsMariadbBinlog|PeakRss' \
    --benchmark_repetitions="${BINLOG_REPETITIONS:-5}" \
    --benchmark_format=json \
    --benchmark_out="$binlog_result" >"$out_dir/binlog_bench.stdout.json"
  echo "bench.sh: load after the binlog benchmark: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" >&2
fi

# --- report ---------------------------------------------------------------------------------
report_args=("$result" --markdown "$out_dir/ratios.md")
[[ -n "$chart" ]] && report_args+=(--chart "$chart")
[[ "$binlog" == 1 ]] && report_args+=(--binlog "$binlog_result")
[[ "${STRICT:-}" == 1 ]] && report_args+=(--strict)
python3 scripts/bench_report.py "${report_args[@]}"
