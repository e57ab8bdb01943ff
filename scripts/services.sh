#!/usr/bin/env bash
# Private test servers for the app, on loopback, in a folder of your choice:
# a MariaDB primary (binlog, GTID, server-id 1), two MariaDB replicas (server-ids 2
# and 3, read_only) replicating from it for real, Redis, and dynalite (a
# DynamoDB-compatible server, npm's dynalite, in memory) for the view counters.
#
#   scripts/services.sh start DIR    install what is missing, start all three, write DIR/env
#   scripts/services.sh stop DIR     stop them (clean shutdown; safe to call twice)
#   scripts/services.sh env DIR      print DIR/env
#   scripts/services.sh install CMD=PKG...
#                                    apt-get install PKG for each CMD not on PATH (used by
#                                    e2e.sh and bench.sh for haproxy, curl, wrk)
#
# Typical use, with a trap so nothing outlives the caller:
#
#   work=$(mktemp -d); trap 'scripts/services.sh stop "$work"; rm -rf "$work"' EXIT
#   scripts/services.sh start "$work" && . "$work/env"
#
# DIR/env exports:
#   TEST_MYSQL_PRIMARY_DSN   go-sql-driver DSN of the primary, user:pass@tcp(127.0.0.1:PORT)/
#   TEST_MYSQL_REPLICA_DSN   the same for the replica
#   TEST_MYSQL_REPLICA2_DSN  the same for the second replica (users+++ balances reads
#                            over two: app/e2e/replicas_test.go)
#   TEST_REDIS_ADDR          127.0.0.1:PORT
#   TEST_MYSQL_PRIMARY_PORT, TEST_MYSQL_REPLICA_PORT, TEST_MYSQL_REPLICA2_PORT, TEST_REDIS_PORT
#   TEST_MYSQL_USER, TEST_MYSQL_PASSWORD
#   TEST_MYSQL_PRIMARY_SOCKET, TEST_MYSQL_REPLICA_SOCKET, TEST_MYSQL_REPLICA2_SOCKET
#                            admin sockets: `mariadb --no-defaults -S SOCKET -uroot` is root
#   TEST_DYNAMO_ENDPOINT     http://127.0.0.1:PORT, dynalite (any credentials, region us-east-1;
#                            no tables: each test creates its own); TEST_DYNAMO_PORT
#
# The test user is created on the primary (so it reaches the replica through
# replication) with ALL PRIVILEGES ON *.* WITH GRANT OPTION: it can CREATE/DROP
# DATABASE, and on the replica it can STOP/START SLAVE [SQL_THREAD], read
# SHOW SLAVE STATUS and call MASTER_GTID_WAIT (ALL includes SUPER, REPLICATION
# SLAVE ADMIN and REPLICA MONITOR). On the replica only, READ_ONLY ADMIN is then
# revoked from it, so read_only binds it as it binds an app user on an RDS read
# replica: a write sent to the replica by mistake fails (ER_OPTION_PREVENTS_STATEMENT).
#
# Environment (all optional):
#   SERVICES_PRIMARY_PORT, SERVICES_REPLICA_PORT, SERVICES_REPLICA2_PORT, SERVICES_REDIS_PORT,
#   SERVICES_DYNAMO_PORT
#                      fixed ports; default: free ports picked at random in 20000-31999
#                      (never 3306/6379, outside Linux's ephemeral range)
#   SERVICES_MYSQL_USER, SERVICES_MYSQL_PASSWORD   default scaling / scaling-test
#   SERVICES_TIMEOUT   seconds to wait for each server to be ready, default 60
#   SERVICES_DYNALITE_DIR  where dynalite is installed from npm when missing (the first start
#                      on a machine; later ones reuse it), default $HOME/.cache/scaling-aws/dynalite
#
# Nothing runs as a system service: the servers run as the current user (root
# passes --user=root to mariadbd), from DIR, bound to 127.0.0.1. They are tuned
# for tests, not durability (innodb_flush_log_at_trx_commit=2, no Redis persistence).
set -euo pipefail

die() {
  echo "services.sh: $*" >&2
  exit 1
}

# find_bin NAME... prints the path of the first NAME found on PATH or in the
# sbin folders (mariadbd lives in /usr/sbin, which is not on every user's PATH).
find_bin() {
  local name dir
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
    for dir in /usr/sbin /usr/local/sbin /sbin; do
      if [ -x "$dir/$name" ]; then
        echo "$dir/$name"
        return 0
      fi
    done
  done
  return 1
}

# install_missing CMD=PKG... installs, from Debian's packages, PKG for each CMD
# that cannot be found. Debian's maintainer scripts would start mariadb and redis
# as system services; a temporary policy-rc.d forbids that.
install_missing() {
  local pair pkgs=()
  for pair in "$@"; do
    find_bin "${pair%%=*}" >/dev/null || pkgs+=("${pair#*=}")
  done
  [ "${#pkgs[@]}" -gt 0 ] || return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need to install ${pkgs[*]} but not root and no sudo"
    sudo=(sudo)
  fi
  echo "services.sh: installing ${pkgs[*]} from Debian's packages" >&2
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# services.sh: no service starts while it installs packages\nexit 101\n' |
      "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
  } >&2 || rc=$?
  if [ "$made_policy" = 1 ]; then
    "${sudo[@]}" rm -f "$policy"
  fi
  [ "$rc" -eq 0 ] || die "apt-get install ${pkgs[*]} failed (exit $rc)"
}

port_in_use() {
  # A connect that succeeds means something listens there.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pick_port VAR_DEFAULT TAKEN... prints VAR_DEFAULT if set, or a random free
# port not among TAKEN.
pick_port() {
  local fixed=$1 p i t clash
  shift
  if [ -n "$fixed" ]; then
    port_in_use "$fixed" && die "port $fixed is already in use"
    echo "$fixed"
    return 0
  fi
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    clash=0
    for t in "$@"; do [ "$t" = "$p" ] && clash=1; done
    if [ "$clash" = 0 ] && ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  die "no free port found in 20000-31999"
}

log_tail() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "---- last lines of $f ----" >&2
    tail -n 30 "$f" >&2
  done
}

# alive PIDFILE COMM: the process in PIDFILE is running and is COMM (so a
# recycled pid is never signalled).
alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ]
}

timeout_s() { echo "${SERVICES_TIMEOUT:-60}"; }

sql() { # sql SOCKET STATEMENTS: run as root over the admin socket
  "$MARIADB" --no-defaults --protocol=socket -S "$1" -uroot --batch --skip-column-names -e "$2"
}

# start_mariadb NAME PORT OPTION...: initialise DIR/NAME and start mariadbd on it.
start_mariadb() {
  local name=$1 port=$2
  shift 2
  local d="$DIR/$name"
  mkdir -p "$d/data"
  local as_user=()
  [ "$(id -u)" -eq 0 ] && as_user=(--user=root)
  "$INSTALL_DB" --no-defaults "${as_user[@]}" --datadir="$d/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$d/install.log" 2>&1 ||
    { log_tail "$d/install.log"; die "$name: mariadb-install-db failed"; }
  # setsid: the server leaves the caller's session, so the caller's terminal
  # signals do not reach it; it is stopped by `stop` only.
  setsid "$MARIADBD" --no-defaults "${as_user[@]}" \
    --datadir="$d/data" --socket="$d/mysqld.sock" --pid-file="$d/mariadbd.pid.server" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --log-error="$d/error.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --performance-schema=OFF --max-connections=1000 \
    --innodb-flush-log-at-trx-commit=2 --innodb-buffer-pool-size=128M \
    "$@" </dev/null >"$d/stdout.log" 2>&1 &
  echo "$!" >"$d/mariadbd.pid"
  local deadline=$((SECONDS + $(timeout_s)))
  until "$ADMIN" --no-defaults --protocol=socket -S "$d/mysqld.sock" -uroot ping >/dev/null 2>&1; do
    if ! alive "$d/mariadbd.pid" mariadbd; then
      log_tail "$d/error.log" "$d/stdout.log"
      die "$name: mariadbd exited during start (port $port)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$d/error.log" "$d/stdout.log"
      die "$name: mariadbd not ready after $(timeout_s)s (port $port)"
    fi
    sleep 0.2
  done
}

start_redis() {
  local port=$1 d="$DIR/redis"
  mkdir -p "$d"
  setsid "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --protected-mode yes \
    --daemonize no --dir "$d" --logfile "$d/redis.log" \
    --save '' --appendonly no </dev/null >"$d/stdout.log" 2>&1 &
  echo "$!" >"$d/redis.pid"
  local deadline=$((SECONDS + $(timeout_s)))
  until [ "$("$REDIS_CLI" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; do
    if ! alive "$d/redis.pid" redis-server; then
      log_tail "$d/redis.log" "$d/stdout.log"
      die "redis: redis-server exited during start (port $port)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$d/redis.log" "$d/stdout.log"
      die "redis: not ready after $(timeout_s)s (port $port)"
    fi
    sleep 0.1
  done
}

# DYNALITE_VERSION is the npm package started as the DynamoDB stand-in: pinned, so that every
# machine tests against the same server (4.0.0 needs Node 20 or newer).
DYNALITE_VERSION=4.0.0

# install_dynalite sets DYNALITE to dynalite's cli.js, installing the pinned version with npm
# into SERVICES_DYNALITE_DIR first if it is not there (Node and npm from Debian's packages
# when missing).
install_dynalite() {
  local dir=${SERVICES_DYNALITE_DIR:-$HOME/.cache/scaling-aws/dynalite}
  DYNALITE="$dir/node_modules/dynalite/cli.js"
  if [ -f "$DYNALITE" ] && grep -q "\"version\": \"$DYNALITE_VERSION\"" "$dir/node_modules/dynalite/package.json"; then
    return 0
  fi
  install_missing node=nodejs npm=npm
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "dynalite $DYNALITE_VERSION needs Node 20 or newer, found $(node --version)"
  mkdir -p "$dir"
  echo "services.sh: installing dynalite@$DYNALITE_VERSION from npm into $dir" >&2
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "dynalite@$DYNALITE_VERSION" >&2 ||
    die "npm install dynalite@$DYNALITE_VERSION into $dir failed"
  [ -f "$DYNALITE" ] || die "dynalite not found in $dir after npm install"
}

# start_dynalite PORT: dynalite in memory (its data goes with the process), tables ACTIVE at
# once instead of after 500 ms.
start_dynalite() {
  local port=$1 d="$DIR/dynalite"
  mkdir -p "$d"
  setsid node "$DYNALITE" --host 127.0.0.1 --port "$port" \
    --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 </dev/null >"$d/dynalite.log" 2>&1 &
  echo "$!" >"$d/dynalite.pid"
  local deadline=$((SECONDS + $(timeout_s)))
  until port_in_use "$port"; do
    if ! alive "$d/dynalite.pid" node; then
      log_tail "$d/dynalite.log"
      die "dynalite exited during start (port $port)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$d/dynalite.log"
      die "dynalite: not ready after $(timeout_s)s (port $port)"
    fi
    sleep 0.1
  done
}

# replica_field REPLICA NAME prints one field of SHOW SLAVE STATUS on REPLICA
# (replica or replica2).
replica_field() {
  "$MARIADB" --no-defaults --protocol=socket -S "$DIR/$1/mysqld.sock" -uroot \
    -e 'SHOW SLAVE STATUS\G' | sed -n "s/^ *$2: //p"
}

# start_replication REPLICA PRIMARY_PORT REPL_PASSWORD points REPLICA at the
# primary and waits until it has caught up.
start_replication() {
  local name=$1 primary_port=$2 repl_password=$3
  local psock="$DIR/primary/mysqld.sock" rsock="$DIR/$name/mysqld.sock"
  sql "$rsock" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port,
    MASTER_USER='repl', MASTER_PASSWORD='$repl_password', MASTER_CONNECT_RETRY=1,
    MASTER_USE_GTID=slave_pos; START SLAVE;"
  local deadline=$((SECONDS + $(timeout_s))) io sql_state
  while :; do
    io=$(replica_field "$name" Slave_IO_Running)
    sql_state=$(replica_field "$name" Slave_SQL_Running)
    [ "$io" = Yes ] && [ "$sql_state" = Yes ] && break
    if [ "$SECONDS" -ge "$deadline" ] || [ "$sql_state" = No ]; then
      "$MARIADB" --no-defaults -S "$rsock" -uroot -e 'SHOW SLAVE STATUS\G' >&2 || true
      log_tail "$DIR/$name/error.log"
      die "$name: replication not running (Slave_IO_Running=$io, Slave_SQL_Running=$sql_state)"
    fi
    sleep 0.2
  done
  # Wait until the replica has applied everything the primary logged so far
  # (the users created below included).
  local pos
  pos=$(sql "$psock" "SELECT @@gtid_binlog_pos")
  [ "$(sql "$rsock" "SELECT MASTER_GTID_WAIT('$pos', $(timeout_s))")" = 0 ] ||
    die "$name: did not reach the primary's GTID $pos within $(timeout_s)s"
}

cmd_start() {
  MARIADBD=$(find_bin mariadbd mysqld) || true
  INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) || true
  MARIADB=$(find_bin mariadb mysql) || true
  ADMIN=$(find_bin mariadb-admin mysqladmin) || true
  REDIS_SERVER=$(find_bin redis-server) || true
  REDIS_CLI=$(find_bin redis-cli) || true
  if [ -z "$MARIADBD" ] || [ -z "$INSTALL_DB" ] || [ -z "$MARIADB" ] || [ -z "$ADMIN" ] ||
    [ -z "$REDIS_SERVER" ] || [ -z "$REDIS_CLI" ]; then
    install_missing mariadbd=mariadb-server mariadb-install-db=mariadb-server \
      mariadb=mariadb-client mariadb-admin=mariadb-client \
      redis-server=redis-server redis-cli=redis-tools
    MARIADBD=$(find_bin mariadbd mysqld) || die "mariadbd not found after install"
    INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) || die "mariadb-install-db not found"
    MARIADB=$(find_bin mariadb mysql) || die "mariadb client not found after install"
    ADMIN=$(find_bin mariadb-admin mysqladmin) || die "mariadb-admin not found after install"
    REDIS_SERVER=$(find_bin redis-server) || die "redis-server not found after install"
    REDIS_CLI=$(find_bin redis-cli) || die "redis-cli not found after install"
  fi
  command -v setsid >/dev/null || install_missing setsid=util-linux
  install_dynalite

  if alive "$DIR/primary/mariadbd.pid" mariadbd || alive "$DIR/replica/mariadbd.pid" mariadbd ||
    alive "$DIR/replica2/mariadbd.pid" mariadbd || alive "$DIR/redis/redis.pid" redis-server ||
    alive "$DIR/dynalite/dynalite.pid" node; then
    die "servers are already running in $DIR: run 'scripts/services.sh stop $DIR' first"
  fi
  rm -rf "$DIR/primary" "$DIR/replica" "$DIR/replica2" "$DIR/redis" "$DIR/dynalite" "$DIR/env"
  # Anything started before a failure is stopped again: no half-started set.
  trap 'rc=$?; if [ "$rc" -ne 0 ]; then cmd_stop >/dev/null 2>&1 || true; fi' EXIT

  local pport rport r2port xport
  pport=$(pick_port "${SERVICES_PRIMARY_PORT:-}")
  rport=$(pick_port "${SERVICES_REPLICA_PORT:-}" "$pport")
  r2port=$(pick_port "${SERVICES_REPLICA2_PORT:-}" "$pport" "$rport")
  xport=$(pick_port "${SERVICES_REDIS_PORT:-}" "$pport" "$rport" "$r2port")
  local dport
  dport=$(pick_port "${SERVICES_DYNAMO_PORT:-}" "$pport" "$rport" "$r2port" "$xport")
  local user=${SERVICES_MYSQL_USER:-scaling} password=${SERVICES_MYSQL_PASSWORD:-scaling-test}
  local repl_password
  repl_password="repl-$RANDOM$RANDOM"

  start_mariadb primary "$pport" --server-id=1 \
    --log-bin="$DIR/primary/data/binlog" --binlog-format=ROW --gtid-strict-mode=ON
  start_mariadb replica "$rport" --server-id=2 --read-only=ON \
    --relay-log="$DIR/replica/data/relay" --skip-slave-start --gtid-strict-mode=ON
  start_mariadb replica2 "$r2port" --server-id=3 --read-only=ON \
    --relay-log="$DIR/replica2/data/relay" --skip-slave-start --gtid-strict-mode=ON
  start_redis "$xport"
  start_dynalite "$dport"

  # Created on the primary, after the replica exists, so they replicate.
  sql "$DIR/primary/mysqld.sock" "
    CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '$repl_password';
    GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
    CREATE USER '$user'@'%' IDENTIFIED BY '$password';
    GRANT ALL PRIVILEGES ON *.* TO '$user'@'%' WITH GRANT OPTION;"
  local r
  for r in replica replica2; do
    start_replication "$r" "$pport" "$repl_password"
    sql "$DIR/$r/mysqld.sock" "REVOKE READ_ONLY ADMIN ON *.* FROM '$user'@'%'"
  done

  local tmp="$DIR/env.tmp"
  {
    echo "# written by scripts/services.sh start $DIR"
    echo "export TEST_MYSQL_PRIMARY_DSN='$user:$password@tcp(127.0.0.1:$pport)/'"
    echo "export TEST_MYSQL_REPLICA_DSN='$user:$password@tcp(127.0.0.1:$rport)/'"
    echo "export TEST_MYSQL_REPLICA2_DSN='$user:$password@tcp(127.0.0.1:$r2port)/'"
    echo "export TEST_REDIS_ADDR='127.0.0.1:$xport'"
    echo "export TEST_MYSQL_PRIMARY_PORT=$pport"
    echo "export TEST_MYSQL_REPLICA_PORT=$rport"
    echo "export TEST_MYSQL_REPLICA2_PORT=$r2port"
    echo "export TEST_REDIS_PORT=$xport"
    echo "export TEST_MYSQL_USER='$user'"
    echo "export TEST_MYSQL_PASSWORD='$password'"
    echo "export TEST_MYSQL_PRIMARY_SOCKET='$DIR/primary/mysqld.sock'"
    echo "export TEST_MYSQL_REPLICA_SOCKET='$DIR/replica/mysqld.sock'"
    echo "export TEST_MYSQL_REPLICA2_SOCKET='$DIR/replica2/mysqld.sock'"
    echo "export TEST_DYNAMO_ENDPOINT='http://127.0.0.1:$dport'"
    echo "export TEST_DYNAMO_PORT=$dport"
  } >"$tmp"
  mv "$tmp" "$DIR/env"
  trap - EXIT
  echo "services.sh: MariaDB primary 127.0.0.1:$pport, replicas 127.0.0.1:$rport and 127.0.0.1:$r2port (replicating), Redis 127.0.0.1:$xport, dynalite 127.0.0.1:$dport; env in $DIR/env" >&2
}

# stop_one PIDFILE COMM: SIGTERM (a clean shutdown for both mariadbd and
# redis-server), then SIGKILL after a bounded wait.
stop_one() {
  local pidfile=$1 comm=$2 pid i
  if ! alive "$pidfile" "$comm"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    alive "$pidfile" "$comm" || break
    sleep 0.1
  done
  if alive "$pidfile" "$comm"; then
    echo "services.sh: $comm ($pid) still running after 30s, killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  stop_one "$DIR/replica2/mariadbd.pid" mariadbd
  stop_one "$DIR/replica/mariadbd.pid" mariadbd
  stop_one "$DIR/primary/mariadbd.pid" mariadbd
  stop_one "$DIR/redis/redis.pid" redis-server
  stop_one "$DIR/dynalite/dynalite.pid" node
  rm -f "$DIR/env"
}

main() {
  [ $# -ge 1 ] || die "usage: $0 start|stop|env DIR | install CMD=PKG..."
  local cmd=$1
  shift
  if [ "$cmd" = install ]; then
    install_missing "$@"
    return 0
  fi
  [ $# -eq 1 ] || die "usage: $0 $cmd DIR"
  case $cmd in
  start)
    mkdir -p "$1"
    DIR=$(cd "$1" && pwd)
    cmd_start
    ;;
  stop)
    [ -d "$1" ] || return 0
    DIR=$(cd "$1" && pwd)
    cmd_stop
    ;;
  env)
    [ -s "$1/env" ] || die "no env in $1: run 'scripts/services.sh start $1' first"
    cat "$1/env"
    ;;
  *) die "unknown command $cmd: want start, stop, env or install" ;;
  esac
}

main "$@"
