#!/usr/bin/env bash
# The faults the app must survive, injected one at a time under a write load,
# on real servers on loopback; every acknowledged write is then looked up in
# the primary. See docs/faults.md.
#
#   scripts/faults.sh            (FAULTS_KEEP=1 keeps the temporary folder and its logs)
#
# It builds app/cmd/scaling-app, starts MariaDB primary + replica and Redis
# (scripts/services.sh), 2 write and 2 read instances, and HAProxy in front
# (haproxy_config in scripts/lib.sh, the same as scripts/e2e.sh). Then, for
# each fault, FAULTS_CLIENTS clients (default 4) each write posts in a loop for
# FAULTS_PHASE seconds (default 12), each write followed by an anonymous read;
# the fault starts 2 s in and ends 2 s before the end:
#   none              no fault (the baseline)
#   kill-backends     SIGKILL one write and one read instance, restarted at the end
#   replica-sigstop   SIGSTOP the replica's mariadbd (a hung server), SIGCONT at the end
#   redis-restart     SIGKILL Redis and start it again at once, empty (sessions,
#                     cache and fences lost; clients log in again on 401)
#   replica-lag       STOP SLAVE SQL_THREAD on the replica, START at the end;
#                     also checks that a post edited through the app during
#                     the lag, and read anonymously (from the replica, stale)
#                     after the edit's 5 s cache fence, reads back edited once
#                     the lag has ended: the stale row was not cached
# A write is acknowledged when it was answered 201 with its id. It prints, per
# fault: writes sent, acknowledged, lost (acknowledged but not in the primary
# with its body), 5xx, of which 503, other non-201 answers, reads and failed
# (5xx) reads, then the non-201 answers by status and error code. Exits non-zero if any acknowledged write is lost or the stale
# check fails. It installs nothing beyond what services.sh and e2e.sh do
# (MariaDB, Redis, HAProxy, curl). Runtime: about 1.5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

prog=faults keep_work=${FAULTS_KEEP:-0}
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

clients=${FAULTS_CLIENTS:-4}
phase=${FAULTS_PHASE:-12}
[[ $clients =~ ^[1-9][0-9]?$ ]] || fail "FAULTS_CLIENTS=$clients: want a whole number from 1 to 99"
[[ $phase =~ ^[0-9]+$ ]] && [ "$phase" -ge 11 ] && [ "$phase" -le 120 ] ||
  fail "FAULTS_PHASE=$phase: want a whole number of seconds from 11 to 120"

step() { printf '\n--> %s\n' "$*" >&2; }

step "install what is missing (haproxy, curl)"
scripts/services.sh install haproxy=haproxy curl=curl
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
mariadb=$(command -v mariadb || command -v mysql)
redis_server=$(command -v redis-server)

step "build the app"
go build -o "$work/bin/scaling-app" ./app/cmd/scaling-app

step "start MariaDB primary + replica and Redis"
scripts/services.sh start "$work/svc"
# shellcheck disable=SC1091
. "$work/svc/env"
psql() { "$mariadb" --no-defaults -S "$TEST_MYSQL_PRIMARY_SOCKET" -uroot --batch --skip-column-names faults -e "$1"; }
rsql() { "$mariadb" --no-defaults -S "$TEST_MYSQL_REPLICA_SOCKET" -uroot --batch --skip-column-names -e "$1"; }
"$mariadb" --no-defaults -S "$TEST_MYSQL_PRIMARY_SOCKET" -uroot -e "CREATE DATABASE faults"

export DB_HOST=127.0.0.1 DB_PORT="$TEST_MYSQL_PRIMARY_PORT" DB_NAME=faults
export DB_USER="$TEST_MYSQL_USER" DB_PASSWORD="$TEST_MYSQL_PASSWORD"
export DB_REPLICAS="127.0.0.1:$TEST_MYSQL_REPLICA_PORT"
export REDIS_ADDR="$TEST_REDIS_ADDR" APP_LOG_LEVEL=warn

step "start 2 write and 2 read instances, HAProxy"
w1=$(free_port) w2=$(free_port) r1=$(free_port) r2=$(free_port)
start_app() { # start_app NAME ROLE PORT [MIGRATE]
  start "$1" env APP_ROLE="$2" APP_ADDR="127.0.0.1:$3" DB_MIGRATE="${4:-false}" "$work/bin/scaling-app"
}
start_app write1 write "$w1" true
wait_http write1 "http://127.0.0.1:$w1/readyz"
start_app write2 write "$w2"
start_app read1 read "$r1"
start_app read2 read "$r2"
for n in write2:$w2 read1:$r1 read2:$r2; do wait_http "${n%:*}" "http://127.0.0.1:${n#*:}/readyz"; done
lb_port=$(free_port) stats_port=$(free_port)
haproxy_config "$lb_port" "$stats_port" "127.0.0.1:$r1 127.0.0.1:$r2" "127.0.0.1:$w1 127.0.0.1:$w2" >"$work/haproxy.cfg"
"$haproxy" -c -q -f "$work/haproxy.cfg"
start haproxy "$haproxy" -db -f "$work/haproxy.cfg"
lb="http://127.0.0.1:$lb_port"
wait_http haproxy "$lb/healthz"
all_up() {
  local csv
  csv=$(curl -s "http://127.0.0.1:$stats_port/stats;csv")
  [ "$(awk -F, '$2 ~ /^(read|write)[12]$/ && $18 == "UP"' <<<"$csv" | wc -l)" = 4 ]
}
wait_all_up() {
  local deadline=$((SECONDS + 20))
  until all_up; do
    [ "$SECONDS" -lt "$deadline" ] || fail "HAProxy does not see all 4 instances UP"
    sleep 0.2
  done
}
wait_all_up

# client N: sign up user N (once) and log in; its cookies in $work/jar.N.
creds() { echo "{\"name\":\"faults_$1\",\"password\":\"correct-horse-battery-$1\"}"; }
login() {
  curl -s -o /dev/null -b "$work/jar.$1" -c "$work/jar.$1" -X POST -H 'Content-Type: application/json' \
    --data "$(creds "$1")" "$lb/api/sessions" || true
}
# The stale check's user ("stale") writes outside the load loop.
for c in $(seq 1 "$clients") stale; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data "$(creds "$c")" "$lb/api/users")
  [ "$code" = 201 ] || fail "sign up client $c: HTTP $code"
  login "$c"
done

# load FAULT N END: client N writes until SECONDS reaches END. Each line of
# $work/w.FAULT.N is the write's status and, when 201, its id and body; each
# line of $work/r.FAULT.N a read's status.
load() {
  local fault=$1 n=$2 end=$3 i=0 code id body out="$work/out.$1.$2"
  while [ "$SECONDS" -lt "$end" ]; do
    i=$((i + 1))
    body="$fault-c$n-$i"
    code=$(curl -s -o "$out" -w '%{http_code}' -m 20 -b "$work/jar.$n" -c "$work/jar.$n" -X POST \
      -H 'Content-Type: application/json' --data "{\"body\":\"$body\"}" "$lb/api/posts") || code=000
    if [ "$code" = 201 ]; then
      id=$(sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
      echo "201 $id $body" >>"$work/w.$fault.$n"
      code=$(curl -s -o /dev/null -w '%{http_code}' -m 20 "$lb/api/posts/$id") || code=000
      echo "$code" >>"$work/r.$fault.$n"
    else
      echo "$code $(sed -n 's/.*"code":"\([a-z_]*\)".*/\1/p' "$out" 2>/dev/null | head -n 1)" >>"$work/w.$fault.$n"
      [ "$code" = 401 ] && login "$n" # the session was lost with Redis
    fi
  done
}

redis_pid() { cat "$work/svc/redis/redis.pid"; }
replica_pid() { cat "$work/svc/replica/mariadbd.pid"; }
restart_redis_empty() {
  kill -KILL "$(redis_pid)"
  while kill -0 "$(redis_pid)" 2>/dev/null; do sleep 0.05; done
  start redis "$redis_server" --port "$TEST_REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
    --daemonize no --dir "$work/svc/redis" --save '' --appendonly no
  echo "$last_pid" >"$work/redis.pid"
}

stale_post="" stale_result="-" stale_seen=0
inject() { # inject FAULT start|stop
  case $1:$2 in
  none:*) ;;
  kill-backends:start)
    kill -KILL "$(pid_of write2)" "$(pid_of read1)"
    ;;
  kill-backends:stop)
    start_app write2 write "$w2"
    start_app read1 read "$r1"
    ;;
  replica-sigstop:start) kill -STOP "$(replica_pid)" ;;
  replica-sigstop:stop) kill -CONT "$(replica_pid)" ;;
  redis-restart:start) restart_redis_empty ;;
  redis-restart:stop) ;;
  replica-lag:start)
    rsql "STOP SLAVE SQL_THREAD"
    # The post is edited through the app: the write fences its cache entry.
    # Its own user and cookie jar: the load loop's clients rewrite theirs.
    for _ in 1 2; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/jar.stale" -X PUT \
        -H 'Content-Type: application/json' --data '{"body":"edited during the lag"}' "$lb/api/posts/$stale_post")
      [ "$code" = 401 ] || break
      login stale # a lost session is not what this check is about
    done
    [ "$code" = 200 ] || fail "stale check: edit post $stale_post: HTTP $code"
    ;;
  replica-lag:stop) rsql "START SLAVE SQL_THREAD" ;;
  esac
}

faults=(none kill-backends replica-sigstop redis-restart replica-lag)
printf '%s\n' "fault writes acked lost 5xx 503 other reads read_5xx stale" >"$work/table"
lost_total=0
for fault in "${faults[@]}"; do
  step "fault: $fault"
  if [ "$fault" = replica-lag ]; then
    # A post read through the cache before the lag, so its old body is cached
    # and fenced out by the edit; its fence expires during the lag.
    login stale
    code=$(curl -s -o "$work/out.stale" -w '%{http_code}' -b "$work/jar.stale" -X POST \
      -H 'Content-Type: application/json' --data '{"body":"before the lag"}' "$lb/api/posts")
    [ "$code" = 201 ] || fail "stale check: create post: HTTP $code"
    stale_post=$(sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p' "$work/out.stale" | head -n 1)
    sleep 1
    curl -s -o /dev/null "$lb/api/posts/$stale_post"
  fi
  end=$((SECONDS + phase))
  lpids=()
  for ((c = 1; c <= clients; c++)); do
    : >"$work/w.$fault.$c"
    : >"$work/r.$fault.$c"
    load "$fault" "$c" "$end" &
    lpids+=("$!")
  done
  sleep 2
  inject "$fault" start
  if [ "$fault" = replica-lag ]; then
    # Past the edit's 5 s fence, anonymous reads get the replica's old row
    # (served; it must not be cached).
    sleep 6
    for _ in 1 2 3 4; do
      got=$(curl -s "$lb/api/posts/$stale_post")
      [[ $got == *'"body":"before the lag"'* ]] && stale_seen=1
    done
    sleep $((phase - 10))
  else
    sleep $((phase - 4))
  fi
  inject "$fault" stop
  wait "${lpids[@]}"
  if [ "$fault" = replica-lag ]; then
    # The lag has ended: once the replica has caught up and the local layer
    # (1 s) has expired, every read answer is the edited body.
    pos=$(psql "SELECT @@gtid_binlog_pos")
    [ "$(rsql "SELECT MASTER_GTID_WAIT('$pos', 30)")" = 0 ] || fail "the replica did not catch up within 30s"
    sleep 2
    stale_result=ok
    for _ in 1 2 3 4; do
      got=$(curl -s "$lb/api/posts/$stale_post")
      [[ $got == *'"body":"edited during the lag"'* ]] || stale_result=STALE
    done
  fi
  [[ $fault == kill-backends || $fault == redis-restart ]] && wait_all_up

  cat "$work"/w."$fault".* >"$work/w.$fault"
  cat "$work"/r."$fault".* >"$work/r.$fault"
  writes=$(wc -l <"$work/w.$fault")
  awk '$1 == 201 && $2 != "" { print $2 "\t" $3 }' "$work/w.$fault" >"$work/acked.$fault"
  acked=$(wc -l <"$work/acked.$fault")
  found=0
  if [ "$acked" -gt 0 ]; then
    # Every acknowledged write, looked up in the primary by id and body.
    tuples=$(awk -F'\t' '{ printf "%s(%s,'"'"'%s'"'"')", (NR > 1 ? "," : ""), $1, $2 }' "$work/acked.$fault")
    found=$(psql "SELECT COUNT(*) FROM posts WHERE (id, body) IN ($tuples)")
  fi
  lost=$((acked - found))
  lost_total=$((lost_total + lost))
  e5=$(awk '$1 ~ /^5/' "$work/w.$fault" | wc -l)
  e503=$(awk '$1 == 503' "$work/w.$fault" | wc -l)
  other=$(awk '$1 != 201 && $1 !~ /^5/' "$work/w.$fault" | wc -l)
  reads=$(wc -l <"$work/r.$fault")
  r5=$(awk '$1 !~ /^[234]/' "$work/r.$fault" | wc -l)
  stale="-"
  [ "$fault" = replica-lag ] && stale=$stale_result
  printf '%s\n' "$fault $writes $acked $lost $e5 $e503 $other $reads $r5 $stale" >>"$work/table"
  awk '$1 != 201 { n[$1 " " $2]++ } END { for (k in n) printf "%s:%s ", k, n[k] }' "$work/w.$fault" >"$work/codes.$fault"
  say "$fault: $writes writes, $acked acknowledged, $lost lost, $e5 5xx ($e503 503), $other other; $reads reads, $r5 failed; stale: $stale"
done

step "results (every acknowledged write looked up in the primary)"
column -t "$work/table" 2>/dev/null || cat "$work/table"
for fault in "${faults[@]}"; do
  [ -s "$work/codes.$fault" ] && echo "non-201 writes under $fault (status code:count): $(cat "$work/codes.$fault")"
done
echo "stale check: the replica served the old row during the lag: $([ "$stale_seen" = 1 ] && echo yes || echo no); after the lag: $stale_result"
[ "$lost_total" = 0 ] || fail "$lost_total acknowledged writes lost"
[ "$stale_result" = ok ] || fail "a post edited during the replica's lag still read stale after it ended"
step "faults passed: no acknowledged write lost"
