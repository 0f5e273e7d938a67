#!/usr/bin/env bash
# The main-job command (README): on a Debian 12 machine, installs what it needs,
# builds the examples in build-demo/, and then
#   1. runs rowcast-demo: one event in every codec, each round trip checked;
#   2. the trigger path, live: starts a private MariaDB (its own datadir, socket and
#      loopback port under a temporary folder, no system service), installs the
#      rowcast_udf loadable function, creates the original `hosts` table
#      (id, mac, ip, hostname), generates its triggers with rowcast-triggers --apply,
#      follows the spool with rowcast-spool-tail and makes some changes: each
#      INSERT/UPDATE/DELETE arrives as a JSON event. Everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh

rowcast_need_packages build-essential cmake nlohmann-json3-dev libyaml-cpp-dev \
    mariadb-server mariadb-client libmariadb-dev libmariadbd-dev

build=${BUILD_DIR:-build-demo}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DROWCAST_BUILD_EXAMPLES=ON -DROWCAST_BUILD_TESTS=OFF -DROWCAST_BUILD_BENCH=OFF -DROWCAST_INSTALL=OFF
cmake --build "$build" -j"${JOBS:-2}" --target rowcast-demo rowcast_udf rowcast-triggers rowcast-spool-tail
build=$(cd "$build" && pwd)

echo "==== 1. the codecs"
"$build/examples/rowcast-demo"

echo
echo "==== 2. the trigger path: MariaDB -> triggers -> rowcast_udf -> spool -> rowcast-spool-tail"
work=$(mktemp -d /tmp/rowcast-demo-XXXXXX)
chmod 0755 "$work"
server_pid=""
tail_pid=""
cleanup() {
    [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work"/{data,plugin,spool,tmp,run}
for f in /usr/lib/mysql/plugin/*; do ln -s "$f" "$work/plugin/"; done
cp "$build/examples/udf/rowcast_udf.so" "$work/plugin/"
port=$(( 20000 + RANDOM % 20000 ))
user_line=""
if [ "$(id -u)" -eq 0 ]; then
    user_line="user=mysql"  # mariadbd refuses to run as root; the spool must be writable by mysql
    chown mysql:mysql "$work"/{data,spool,tmp,run}
fi
cat >"$work/my.cnf" <<EOF
[mariadbd]
$user_line
datadir=$work/data
socket=$work/run/mariadb.sock
pid-file=$work/run/mariadb.pid
log_error=$work/error.log
tmpdir=$work/tmp
plugin_dir=$work/plugin
port=$port
bind-address=127.0.0.1
skip-name-resolve
server_id=101
log_bin=$work/data/binlog
binlog_format=ROW
[client]
socket=$work/run/mariadb.sock
user=root
EOF
cat >"$work/rowcast-udf.conf" <<EOF
spool_directory = $work/spool
codec = json
durability = file
on_error = fail
EOF
sql() { mariadb --defaults-file="$work/my.cnf" "$@"; }

mariadb-install-db --defaults-file="$work/my.cnf" --auth-root-authentication-method=normal \
    --skip-test-db >"$work/install-db.log" 2>&1 || { cat "$work/install-db.log"; exit 1; }
ROWCAST_UDF_CONFIG="$work/rowcast-udf.conf" mariadbd --defaults-file="$work/my.cnf" >"$work/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    mariadb-admin --defaults-file="$work/my.cnf" ping >/dev/null 2>&1 && break
    sleep 0.1
done
mariadb-admin --defaults-file="$work/my.cnf" ping >/dev/null || { tail -20 "$work/error.log"; exit 1; }
echo "private MariaDB $(sql -N -e 'SELECT VERSION()') on $work/run/mariadb.sock and 127.0.0.1:$port"

sql <<'EOF'
CREATE FUNCTION rowcast_event RETURNS INTEGER SONAME 'rowcast_udf.so';
CREATE FUNCTION rowcast_json RETURNS INTEGER SONAME 'rowcast_udf.so';
CREATE DATABASE inventory;
CREATE TABLE inventory.hosts (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  mac CHAR(17) NULL,
  ip VARCHAR(45) NULL,
  hostname VARCHAR(255) NOT NULL
);
EOF
"$build/examples/triggers/rowcast-triggers" -S "$work/run/mariadb.sock" -u root --apply inventory hosts
echo "triggers: $(sql -N -e "SELECT GROUP_CONCAT(TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='inventory'")"

out="$work/events.jsonl"
"$build/examples/rowcast-spool-tail" "$work/spool" --codec json --count 5 --idle-exit 20 >"$out" &
tail_pid=$!

echo "changes:"
while read -r stmt; do
    echo "  mariadb> $stmt"
    sql -e "$stmt"
done <<'EOF'
INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ('00:00:00:01:02:03', '192.0.2.3', 'www')
INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ('00:00:00:01:02:04', NULL, 'mail')
INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ('00:00:00:01:02:05', '2001:db8::5', 'ns1')
UPDATE inventory.hosts SET ip = '192.0.2.4' WHERE hostname = 'mail'
DELETE FROM inventory.hosts WHERE hostname = 'www'
EOF

wait "$tail_pid"
tail_pid=""
echo "events (rowcast-spool-tail, JSON lines):"
cat "$out"
n=$(wc -l <"$out")
left=$(find "$work/spool" -maxdepth 1 -type f | wc -l)
if [ "$n" -ne 5 ] || [ "$left" -ne 0 ]; then
    echo "demo: expected 5 events and an empty spool, got $n events and $left files left" >&2
    exit 1
fi
echo "demo: 5 changes, 5 events, spool empty"
