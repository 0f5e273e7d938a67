#!/usr/bin/env bash
# Records the MariaDB binlog fixtures (tests/data/binlog/mariadb/0[1-4]_*.binlog) on a private
# MariaDB: its own datadir, socket, loopback port and binlog folder under a temporary folder,
# started with --defaults-file (no system service, nothing in /etc/mysql is read), removed at the end.
#
#   scripts/make-binlog-fixtures.sh [OUT_DIR]     (default OUT_DIR: build/binlog-fixtures)
#
# OUT_DIR receives a whole fixture tree: mariadb/0[1-4]_*.binlog with their
# `mariadb-binlog --base64-output=decode-rows -vv` output (*.decoded.txt), and `mysql` as a symlink
# to the committed third-party files, so the parser tests can run on the new files:
#   ROWCAST_BINLOG_FIXTURES=$PWD/build/binlog-fixtures build/tests/test_binlog_files
# The committed binlogs are the files first recorded this way (MariaDB 10.11.19, 2026-11-22); the
# tests check exact values of them (GTIDs, event counts, offsets), so regenerated files are
# equivalent, not byte-identical (timestamps, checkpoint events, thread ids differ). To replace
# the committed files, copy OUT_DIR/mariadb/*.binlog into tests/data/binlog/mariadb/ and run the
# tests (tests/data/binlog/README.md).
#
# Settings per fixture (the server starts with server_id=101, binlog_format=ROW,
# binlog_row_image=FULL, binlog_row_metadata=FULL, binlog_checksum=CRC32):
#   01_all_types          01_all_types.sql as is; the binlog state is set to 0-101-45 first, so
#                         its GTIDs are 0-101-46..84 as in the committed file
#   02_minimal_image_meta 02_variants_workload.sql with session binlog_row_image=MINIMAL and
#                         global binlog_row_metadata=MINIMAL
#   03_compressed         the same workload with log_bin_compress=ON, log_bin_compress_min_len=10
#   04_no_checksum        the same workload with binlog_checksum=NONE
# Each fixture is one whole binlog file: FLUSH BINARY LOGS before and after the workload.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/mariadb-private.sh
repo=$(pwd)
src=$repo/tests/data/binlog
out=${1:-build/binlog-fixtures}
mkdir -p "$out/mariadb"
out=$(cd "$out" && pwd)

for tool in mariadbd mariadb mariadb-admin mariadb-install-db mariadb-binlog; do
    command -v "$tool" >/dev/null || { echo "make-binlog-fixtures: $tool not found (Debian: mariadb-server mariadb-client)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/rowcast-fixtures-XXXXXX)
chmod 0755 "$work"  # as root the server runs as mysql and must traverse it
cleanup() {
    rowcast_mariadb_stop
    rm -rf "$work"
}
trap cleanup EXIT
rowcast_mariadb_own "$work/binlog"
rowcast_mariadb_start "$work" innodb_buffer_pool_size=32M innodb_log_file_size=16M \
    log_bin="$work/binlog/binlog" binlog_format=ROW binlog_row_image=FULL binlog_row_metadata=FULL \
    binlog_checksum=CRC32
sql() { mariadb --defaults-file="$work/my.cnf" "$@"; }
echo "make-binlog-fixtures: private MariaDB $(sql -N -e 'SELECT VERSION()') in $work"

# fixture NAME WORKLOAD BEFORE AFTER [CLIENT_OPTION]: runs BEFORE (it must start a new binlog
# file), WORKLOAD (a file in tests/data/binlog/mariadb, through a client with CLIENT_OPTION),
# then AFTER (it must close that file), and copies the file as NAME.binlog with its decoded text.
fixture() {
    local name=$1 workload=$2 before=$3 after=$4 file
    shift 4
    sql -e "$before"
    file=$(sql -N -e "SHOW MASTER STATUS" | cut -f1)
    sql "$@" <"$src/mariadb/$workload"
    sql -e "$after"
    install -m 0644 "$work/binlog/$file" "$out/mariadb/$name.binlog"
    mariadb-binlog --base64-output=decode-rows -vv "$out/mariadb/$name.binlog" >"$out/mariadb/$name.decoded.txt"
    echo "  $name.binlog: $(stat -c %s "$out/mariadb/$name.binlog") bytes (was $file)"
}

# 01: the committed file's GTIDs start at 0-101-46 (45 transactions ran before it).
fixture 01_all_types 01_all_types.sql \
    "RESET MASTER; SET GLOBAL gtid_binlog_state='0-101-45'; FLUSH BINARY LOGS" "FLUSH BINARY LOGS"
# 02: minimal row image (session) and minimal metadata (global).
fixture 02_minimal_image_meta 02_variants_workload.sql \
    "SET GLOBAL binlog_row_metadata=MINIMAL; FLUSH BINARY LOGS" "FLUSH BINARY LOGS; SET GLOBAL binlog_row_metadata=FULL" \
    --init-command="SET SESSION binlog_row_image=MINIMAL"
# 03: compressed QUERY and ROWS events (165..168).
fixture 03_compressed 02_variants_workload.sql \
    "SET GLOBAL log_bin_compress=ON, GLOBAL log_bin_compress_min_len=10; FLUSH BINARY LOGS" \
    "FLUSH BINARY LOGS; SET GLOBAL log_bin_compress=OFF, GLOBAL log_bin_compress_min_len=256"
# 04: no CRC32 trailer (changing binlog_checksum starts a new binlog file by itself).
fixture 04_no_checksum 02_variants_workload.sql "SET GLOBAL binlog_checksum=NONE" "SET GLOBAL binlog_checksum=CRC32"

ln -sfn "$src/mysql" "$out/mysql"
echo "make-binlog-fixtures: wrote $out (run the parser tests on it with ROWCAST_BINLOG_FIXTURES=$out)"
