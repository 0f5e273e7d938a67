#!/usr/bin/env bash
# scripts/bench.sh: THE codec benchmark command (docs/performance.md).
#
# Builds rowcast-bench-codecs in Release, runs it with repetitions, prints the table of
# ratios to the baselines (median events/s of codec / baseline, target, PASS/FAIL) and
# writes the chart of event (a) hosts_update. JSON encode/decode and their nlohmann baselines
# run on one table and on 4 tables in turn (cold caches), both reported. Then (BINLOG=1, the
# default) the binlog decoding benchmark rowcast-bench-binlog on the ~80 MB big_200k binlog
# (generated once on a private MariaDB, cached in $BUILD_DIR/bench-data): rowcast's decoders
# in memory vs mariadb-binlog -vv (not the same work), the rowcast-binlog program writing JSON
# lines vs mariadb-binlog -vv (the same work: both processes, both to /dev/null), and peak RSS,
# BINLOG_REPETITIONS runs each; its medians join the report. SPOOL=1 and DNS=1 also run
# rowcast-bench-spool and rowcast-bench-dns (their figures are read from the console output).
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
#   BINLOG_REPETITIONS  runs of the binlog comparisons (default: 5)
#   SPOOL=1      also rowcast-bench-spool (SpoolVsRaw, SpoolDrain, SpoolLatency; ~10 min)
#   DNS=1        also rowcast-bench-dns (needs bind9; with MariaDB and the UDF, the commit delay)
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
packages=(build-essential cmake libbenchmark-dev nlohmann-json3-dev libyaml-cpp-dev libsimdjson-dev libssl-dev python3)
binlog="${BINLOG:-1}"
spool="${SPOOL:-0}"
dns="${DNS:-0}"
# rowcast-binlog (examples/binlog) is one side of the binlog comparison: the examples need CLI11.
[[ "$binlog" == 1 ]] && packages+=(zlib1g-dev libzstd-dev libsodium-dev libmariadb-dev mariadb-server mariadb-client libcli11-dev)
[[ "$dns" == 1 ]] && packages+=(bind9 bind9-dnsutils libmariadb-dev mariadb-server libcli11-dev zlib1g-dev libzstd-dev libsodium-dev)
[[ -n "$chart" ]] && packages+=(gnuplot-nox)
rowcast_need_packages "${packages[@]}" >&2

# --- build ----------------------------------------------------------------------------------
components="json;yaml;dns"
[[ "$binlog" == 1 || "$dns" == 1 ]] && components+=";binlog"
examples=OFF
[[ "$binlog" == 1 || "$dns" == 1 ]] && examples=ON  # rowcast-binlog; rowcast-dns and the UDF for DNS
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DROWCAST_BUILD_BENCH=ON "-DROWCAST_COMPONENTS=$components" \
  -DROWCAST_BUILD_TESTS=OFF "-DROWCAST_BUILD_EXAMPLES=$examples" -DROWCAST_INSTALL=OFF >/dev/null
targets=(rowcast-bench-codecs)
[[ "$binlog" == 1 ]] && targets+=(rowcast-bench-binlog)  # builds rowcast-binlog too
[[ "$spool" == 1 ]] && targets+=(rowcast-bench-spool)
[[ "$dns" == 1 ]] && targets+=(rowcast-bench-dns)
cmake --build "$build_dir" --target "${targets[@]}" -j "$jobs"

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
  # VsMariadbBinlog also selects ProgramsVsMariadbBinlog.
  "$build_dir/bench/rowcast-bench-binlog" \
    --benchmark_filter='VsMariadbBinlog|PeakRss' \
    --benchmark_repetitions="${BINLOG_REPETITIONS:-5}" \
    --benchmark_format=json \
    --benchmark_out="$binlog_result" >"$out_dir/binlog_bench.stdout.json"
  echo "bench.sh: load after the binlog benchmark: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" >&2
fi

if [[ "$spool" == 1 ]]; then
  echo "bench.sh: spool benchmark (~10 minutes)..." >&2
  "$build_dir/bench/rowcast-bench-spool" --benchmark_filter='SpoolVsRaw|SpoolDrain|SpoolLatency' \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true | tee "$out_dir/spool_bench.txt"
fi
if [[ "$dns" == 1 ]]; then
  echo "bench.sh: DNS benchmark (a private named; a few minutes)..." >&2
  "$build_dir/bench/rowcast-bench-dns" | tee "$out_dir/dns_bench.txt"
fi

# --- report ---------------------------------------------------------------------------------
report_args=("$result" --markdown "$out_dir/ratios.md")
[[ -n "$chart" ]] && report_args+=(--chart "$chart")
[[ "$binlog" == 1 ]] && report_args+=(--binlog "$binlog_result")
[[ "${STRICT:-}" == 1 ]] && report_args+=(--strict)
python3 scripts/bench_report.py "${report_args[@]}"
