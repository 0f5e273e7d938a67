# Sourced by scripts/*.sh: a private MariaDB in a folder of its own (datadir, socket, pid file,
# error log and tmpdir inside it, a loopback port), started with --defaults-file so nothing in
# /etc/mysql is read and no system service is touched.
#
#   rowcast_mariadb_start DIR [LINE...]   writes DIR/my.cnf ([mariadbd] server_id=101 plus each
#       LINE; [client] socket and user root), initialises DIR/data, starts mariadbd in the
#       background with the caller's environment and waits until it answers. Sets
#       rowcast_mariadb_pid and rowcast_mariadb_port. Connect with
#       `mariadb --defaults-file=DIR/my.cnf`.
#   rowcast_mariadb_own DIR...            creates folders the server writes to (besides its own):
#       as root, mariadbd runs as mysql, so they are handed to mysql.
#   rowcast_mariadb_stop                  stops the server started last (if any); for a trap.
# As root, DIR and every folder above it must be traversable by mysql (mktemp -d makes 0700:
# chmod 0755 it).
rowcast_mariadb_pid=""
rowcast_mariadb_port=""

rowcast_mariadb_own() {
    mkdir -p "$@"
    if [ "$(id -u)" -eq 0 ]; then chown mysql:mysql "$@"; fi
}

rowcast_mariadb_start() {
    local dir=$1 user_line="" _
    shift
    rowcast_mariadb_own "$dir"/{data,tmp,run}
    if [ "$(id -u)" -eq 0 ]; then user_line="user=mysql"; fi  # mariadbd refuses to run as root
    rowcast_mariadb_port=$(( 20000 + RANDOM % 20000 ))
    {
        cat <<EOF
[mariadbd]
$user_line
datadir=$dir/data
socket=$dir/run/mariadb.sock
pid-file=$dir/run/mariadb.pid
log_error=$dir/error.log
tmpdir=$dir/tmp
port=$rowcast_mariadb_port
bind-address=127.0.0.1
skip-name-resolve
server_id=101
EOF
        printf '%s\n' "$@"
        printf '[client]\nsocket=%s\nuser=root\n' "$dir/run/mariadb.sock"
    } >"$dir/my.cnf"
    mariadb-install-db --defaults-file="$dir/my.cnf" --auth-root-authentication-method=normal \
        --skip-test-db >"$dir/install-db.log" 2>&1 || { cat "$dir/install-db.log"; return 1; }
    mariadbd --defaults-file="$dir/my.cnf" >"$dir/server.out" 2>&1 &
    rowcast_mariadb_pid=$!
    for _ in $(seq 1 100); do
        mariadb-admin --defaults-file="$dir/my.cnf" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    mariadb-admin --defaults-file="$dir/my.cnf" ping >/dev/null || { tail -20 "$dir/error.log"; return 1; }
}

rowcast_mariadb_stop() {
    if [ -n "$rowcast_mariadb_pid" ]; then
        kill "$rowcast_mariadb_pid" 2>/dev/null || true
        wait "$rowcast_mariadb_pid" 2>/dev/null || true
        rowcast_mariadb_pid=""
    fi
}
