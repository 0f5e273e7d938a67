#!/usr/bin/env bash
# The main-job command (README): on a Debian 12 machine, installs what it needs,
# builds the examples in build-demo/, and then
#   1. runs rowcast-demo: one event in every codec, each round trip checked;
#   2. the trigger path, live: starts a private MariaDB (its own datadir, socket and
#      loopback port under a temporary folder, no system service), installs the
#      rowcast_udf loadable function, creates the original `hosts` table
#      (id, mac, ip, hostname), generates its triggers with rowcast-triggers --apply,
#      follows the spool with rowcast-spool-tail and makes some changes: each
#      INSERT/UPDATE/DELETE arrives as a JSON event;
#   3. the hosts table drives a live zone: a private BIND named (loopback port, TSIG
#      key from tsig-keygen, forward zone example.test and reverse zones) and
#      rowcast-dns on the same spool; more changes to `hosts` become signed dynamic
#      updates, shown with dig; a bad row lands in quarantine with its reason.
#      Everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/packages.sh
. scripts/mariadb-private.sh

rowcast_need_packages build-essential cmake nlohmann-json3-dev libyaml-cpp-dev \
    mariadb-server mariadb-client libmariadb-dev libmariadbd-dev libssl-dev bind9 bind9-dnsutils libcli11-dev

build=${BUILD_DIR:-build-demo}
# Only the components the demo uses (no binlog: it needs no zstd), also over an older build dir.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "-DROWCAST_COMPONENTS=json;yaml;dns" \
    -DROWCAST_BUILD_EXAMPLES=ON -DROWCAST_BUILD_TESTS=OFF -DROWCAST_BUILD_BENCH=OFF -DROWCAST_INSTALL=OFF
cmake --build "$build" -j"${JOBS:-2}" --target rowcast-demo rowcast_udf rowcast-triggers rowcast-spool-tail rowcast-dns
build=$(cd "$build" && pwd)

echo "==== 1. the codecs"
"$build/examples/rowcast-demo"

echo
echo "==== 2. the trigger path: MariaDB -> triggers -> rowcast_udf -> spool -> rowcast-spool-tail"
work=$(mktemp -d /tmp/rowcast-demo-XXXXXX)
chmod 0755 "$work"
tail_pid=""
named_pid=""
dns_pid=""
cleanup() {
    [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
    [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null || true
    if [ -n "$named_pid" ]; then
        kill "$named_pid" 2>/dev/null || true
        wait "$named_pid" 2>/dev/null || true
    fi
    rowcast_mariadb_stop
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/plugin"
for f in /usr/lib/mysql/plugin/*; do ln -s "$f" "$work/plugin/"; done
cp "$build/examples/udf/rowcast_udf.so" "$work/plugin/"
rowcast_mariadb_own "$work/spool"  # the UDF writes the spool as the server's user
cat >"$work/rowcast-udf.conf" <<EOF
spool_directory = $work/spool
codec = json
durability = file
on_error = fail
EOF
sql() { mariadb --defaults-file="$work/my.cnf" "$@"; }
# changes: runs each line of standard input as one statement, echoing it first.
changes() {
    echo "changes:"
    while read -r stmt; do
        echo "  mariadb> $stmt"
        sql -e "$stmt"
    done
}

ROWCAST_UDF_CONFIG="$work/rowcast-udf.conf" rowcast_mariadb_start "$work" plugin_dir="$work/plugin" \
    log_bin="$work/data/binlog" binlog_format=ROW
echo "private MariaDB $(sql -N -e 'SELECT VERSION()') on $work/run/mariadb.sock and 127.0.0.1:$rowcast_mariadb_port"

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

changes <<'EOF'
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

echo
echo "==== 3. the hosts table drives a live zone: spool -> rowcast-dns -> signed RFC 2136 updates -> named"
dns=$work/dns
mkdir -p "$dns/zones"
tsig-keygen -a hmac-sha256 rowcast-key >"$dns/rowcast-key.conf"
nport=$(( 40000 + RANDOM % 20000 ))
for z in example.test 2.0.192.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa; do
    printf '$TTL 300\n@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n@ IN NS ns.example.test.\n' \
        >"$dns/zones/$z.zone"
done
echo "ns IN A 127.0.0.1" >>"$dns/zones/example.test.zone"
{
    echo "include \"$dns/rowcast-key.conf\";"
    echo "options { directory \"$dns\"; pid-file \"$dns/named.pid\"; session-keyfile \"$dns/session.key\";"
    echo "  managed-keys-directory \"$dns\"; listen-on port $nport { 127.0.0.1; }; listen-on-v6 { none; };"
    echo "  recursion no; notify no; dnssec-validation no; };"
    echo "zone \"example.test\" { type primary; file \"$dns/zones/example.test.zone\";"
    echo "  update-policy { grant rowcast-key zonesub A AAAA; }; };"
    for z in 2.0.192.in-addr.arpa 8.b.d.0.1.0.0.2.ip6.arpa; do
        echo "zone \"$z\" { type primary; file \"$dns/zones/$z.zone\"; update-policy { grant rowcast-key zonesub PTR; }; };"
    done
} >"$dns/named.conf"
named -f -4 -c "$dns/named.conf" >"$dns/named.log" 2>&1 &
named_pid=$!
d() { dig @127.0.0.1 -p "$nport" +short +norecurse "$@"; }
up() { d +time=1 +tries=1 example.test SOA 2>/dev/null | grep -q hostmaster; }  # dig prints errors on stdout
for _ in $(seq 1 100); do
    up && break
    sleep 0.1
done
up || { echo "demo: named did not start:" >&2; cat "$dns/named.log" >&2; exit 1; }
echo "private $(named -v) on 127.0.0.1:$nport, key rowcast-key (hmac-sha256)"
cat >"$dns/rowcast-dns.yaml" <<YAML
server: 127.0.0.1
port: $nport
key_file: $dns/rowcast-key.conf
ttl: 300
forward_zones: [example.test]
reverse_zones: [2.0.192.in-addr.arpa, 8.b.d.0.1.0.0.2.ip6.arpa]
tables:
  - {schema: inventory, table: hosts, host_column: hostname, address_column: ip, mac_column: mac}
spool:
  directory: $work/spool
  codec: json
YAML
"$build/examples/rowcast-dns" "$dns/rowcast-dns.yaml" 2>"$dns/rowcast-dns.log" &
dns_pid=$!
changes <<'SQL'
INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ('00:00:00:01:02:06', '192.0.2.6', 'web')
INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ('00:00:00:01:02:07', '192.0.2.7', 'db')
INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ('00:00:00:01:02:08', '192.0.2.300', 'broken')
INSERT INTO inventory.hosts (mac, ip, hostname) VALUES ('00:00:00:01:02:09', '2001:db8::9', 'ns2')
UPDATE inventory.hosts SET ip = '192.0.2.9', hostname = 'db2' WHERE hostname = 'db'
UPDATE inventory.hosts SET mac = '00:00:00:0a:0b:0c' WHERE hostname = 'web'
SQL
for _ in $(seq 1 100); do
    [ "$(find "$work/spool" -maxdepth 1 -type f | wc -l)" -eq 0 ] && break
    sleep 0.1
done
kill -TERM "$dns_pid"
wait "$dns_pid" || true
dns_pid=""
echo "rowcast-dns log:"
sed 's/^/  | /' "$dns/rowcast-dns.log"
echo "the zone, asked with dig:"
for q in "web.example.test A" "db.example.test A" "db2.example.test A" "ns2.example.test AAAA" \
         "6.2.0.192.in-addr.arpa PTR" "7.2.0.192.in-addr.arpa PTR" "9.2.0.192.in-addr.arpa PTR"; do
    # shellcheck disable=SC2086
    printf '  %-28s -> %s\n' "$q" "$(d $q | tr '\n' ' ')"
done
echo "quarantined: $(cat "$work/spool/quarantine/"*.reason 2>/dev/null)"
if [ "$(d web.example.test A)" != "192.0.2.6" ] || [ "$(d db2.example.test A)" != "192.0.2.9" ] ||
   [ -n "$(d db.example.test A)" ] || [ "$(d 9.2.0.192.in-addr.arpa PTR)" != "db2.example.test." ] ||
   [ "$(d ns2.example.test AAAA)" != "2001:db8::9" ]; then
    echo "demo: the zone does not follow the table" >&2
    exit 1
fi
echo "demo: the hosts table drives the zone"
