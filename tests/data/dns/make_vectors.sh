#!/bin/sh
# Regenerates the TSIG known-answer messages in this folder (see README.md). Not run by
# the tests: they read the stored bytes. Needs bind9 (named), bind9-dnsutils (dig,
# nsupdate) and python3. Run from anywhere; writes next to this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
named_pid=
trap 'test -z "$named_pid" || kill "$named_pid"; wait; rm -rf "$work"' EXIT
# A fixed key, so the stored messages verify with the secret written in README.md.
secret=$(printf 'rowcast tsig known-answer key 01' | base64)
cat > "$work/key.conf" <<K
key "kat-key" { algorithm hmac-sha256; secret "$secret"; };
K
mkdir "$work/zones"
printf '$TTL 300\n@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\n' \
  > "$work/zones/example.test.zone"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
proxy=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/named.conf" <<C
include "$work/key.conf";
options { directory "$work"; pid-file "$work/named.pid"; session-keyfile "$work/session.key";
  managed-keys-directory "$work"; listen-on port $port { 127.0.0.1; }; listen-on-v6 { none; };
  recursion no; notify no; dnssec-validation no; };
zone "example.test" { type primary; file "$work/zones/example.test.zone";
  update-policy { grant kat-key zonesub A AAAA; }; };
C
/usr/sbin/named -f -4 -c "$work/named.conf" &
named_pid=$!
for i in $(seq 50); do dig +short -p "$port" @127.0.0.1 example.test SOA >/dev/null 2>&1 && break; sleep 0.1; done
# A UDP relay that stores each request and reply: <name>.request.bin, <name>.reply.bin.
relay() {  # relay NAME COUNT: relays COUNT exchanges, the last one stored
  python3 - "$proxy" "$port" "$here/$1" "$2" <<'P' &
import socket, sys
proxy, port, out, count = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", proxy)); s.settimeout(20)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(("127.0.0.1", port)); u.settimeout(5)
for _ in range(count):
    req, frm = s.recvfrom(65535)
    u.send(req)
    rep = u.recv(65535)
    s.sendto(rep, frm)
open(out + ".request.bin", "wb").write(req)
open(out + ".reply.bin", "wb").write(rep)
P
  relay_pid=$!
  sleep 0.5
}
relay query_soa 1
dig +noedns +nocookie -y "hmac-sha256:kat-key:$secret" -p "$proxy" @127.0.0.1 example.test SOA >/dev/null
wait $relay_pid
relay update_a 1   # the zone is named: nsupdate sends the update at once
printf 'server 127.0.0.1 %s\nzone example.test\nupdate add kat.example.test 300 A 192.0.2.77\nsend\n' "$proxy" |
  nsupdate -y "hmac-sha256:kat-key:$secret"
wait $relay_pid
relay badsig 1     # the right key name with another secret: named answers NOTAUTH, TSIG BADSIG, no MAC
dig +noedns +nocookie -y "hmac-sha256:kat-key:$(printf 'not the right secret, 32 bytes..' | base64)" -p "$proxy" @127.0.0.1 example.test SOA >/dev/null || true
wait $relay_pid
relay badkey 1     # a key name named does not know: NOTAUTH, TSIG BADKEY, no MAC
dig +noedns +nocookie -y "hmac-sha256:unknown-key:$secret" -p "$proxy" @127.0.0.1 example.test SOA >/dev/null || true
wait $relay_pid
ls -l "$here"/*.bin
