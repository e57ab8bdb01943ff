# shellcheck shell=bash
# Process handling shared by scripts/e2e.sh, scripts/bench.sh,
# scripts/bench-capacity.sh and scripts/faults.sh (and wrk's latency in ms, to_ms): a temporary
# work folder, background servers on free loopback ports, readiness waits, and a
# cleanup on exit that stops everything (servers in reverse order, then the
# databases of scripts/services.sh), prints the logs' tails on failure and
# removes the folder.
#
# Use: set prog (the prefix of messages) and, optionally, keep_work=1 (keep the
# folder), then `. scripts/lib.sh` from the repository root. It sets repo and
# work and installs the traps.

: "${prog:?set prog before sourcing scripts/lib.sh}"
repo=$(pwd)
work=$(mktemp -d "/tmp/scaling-aws-$prog.XXXXXX")
mkdir -p "$work/log" "$work/bin"
pids=()
names=()
last_pid=""

say() { printf '%s\n' "$*" >&2; }
fail() {
  say "$prog: FAIL: $*"
  exit 1
}

stop_pid() { # stop_pid PID: SIGTERM, then SIGKILL after 10s
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? i f
  trap - EXIT INT TERM
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${pids[$i]}"
  done
  wait 2>/dev/null || true
  "$repo/scripts/services.sh" stop "$work/svc" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    for f in "$work"/log/*.log; do
      [ -s "$f" ] || continue
      echo "---- last lines of $(basename "$f") ----" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ "${keep_work:-0}" = 1 ]; then
    say "$prog: kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
taken=" "
free_port() { # prints a free loopback port not handed out before
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 12000))
    if [[ $taken != *" $p "* ]] && ! port_in_use "$p"; then
      taken+="$p "
      echo "$p"
      return 0
    fi
  done
  fail "no free port"
}

# start NAME CMD...: run CMD in the background, its output appended to
# log/NAME.log; sets last_pid. A NAME started again keeps one log.
start() {
  local name=$1
  shift
  "$@" </dev/null >>"$work/log/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
  names+=("$name")
}

pid_of() { # pid_of NAME: the PID of the latest process started as NAME
  local i pid=""
  for i in "${!names[@]}"; do
    [ "${names[$i]}" = "$1" ] && pid=${pids[$i]}
  done
  [ -n "$pid" ] || fail "nothing was started as $1"
  echo "$pid"
}

# wait_http NAME URL: wait up to 60s for URL to answer 200 while NAME runs.
wait_http() {
  local name=$1 url=$2 deadline=$((SECONDS + 60)) pid
  pid=$(pid_of "$name")
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || fail "$name exited during start (see log/$name.log below)"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name not ready at $url after 60s"
    sleep 0.2
  done
}

# haproxy_config LB_PORT STATS_PORT "READ_ADDR..." "WRITE_ADDR..." prints the
# test load balancer's configuration: the ALB listener rules of the
# infrastructure (GET and HEAD to the read API target, every other method to
# the write API target), health checks on /healthz, and what lets a backend
# die without failing requests:
#   - retries 3 with "option redispatch 1": every retry goes to another server
#     (by default HAProxy retries the same, dead, server and redispatches only
#     on the last attempt);
#   - retry-on: in the read backend (GET and HEAD only, idempotent),
#     conn-failure and empty-response (a server killed with the request in
#     flight); in the write backend only conn-failure (the request was never
#     sent), as a POST cut mid-way may have been applied and must not run
#     twice (HAProxy's configuration manual, "retry-on": anything beyond
#     conn-failure needs requests that are safe to replay);
#   - health checks every 250 ms (100 ms while a server changes state), out
#     after 2 failures, back after 2 successes, and "observe layer4" with
#     "on-error mark-down": 2 failed connections from real traffic take a
#     server out at once, before the next check.
# haproxy_backend NAME SERVER_PREFIX RETRY_ON "ADDR...": one backend of the
# app's tier, health-checked on /healthz.
haproxy_backend() {
  local name=$1 prefix=$2 retry_on=$3 addrs=$4 a i=0
  printf 'backend %s\n  balance roundrobin\n  retry-on %s\n' "$name" "$retry_on"
  printf '  option httpchk GET /healthz\n  http-check expect status 200\n'
  for a in $addrs; do
    i=$((i + 1))
    echo "  server $prefix$i $a check"
  done
  echo
}

haproxy_config() {
  local lb_port=$1 stats_port=$2 reads=$3 writes=$4
  cat <<EOF
global
  maxconn 4096

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  option forwardfor
  retries 3
  option redispatch 1
  default-server inter 250ms fastinter 100ms downinter 250ms fall 2 rise 2 observe layer4 error-limit 2 on-error mark-down

frontend web
  bind 127.0.0.1:$lb_port
  http-request set-header X-Forwarded-Proto http
  # The ALB listener rule of the read API target: HTTP method GET or HEAD.
  acl read_method method GET HEAD
  use_backend read_api if read_method
  default_backend write_api

EOF
  haproxy_backend read_api read "conn-failure empty-response" "$reads"
  haproxy_backend write_api write "conn-failure" "$writes"
  cat <<EOF
frontend stats
  bind 127.0.0.1:$stats_port
  stats enable
  stats uri /stats
EOF
}

# to_ms VALUE: wrk's latency (850.00us, 1.20ms, 1.01s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}
