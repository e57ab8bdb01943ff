#!/usr/bin/env bash
# The app's benchmarks (issue 3, "Performance"), each beside its minimal
# baseline (cmd/baseline) measured in the same run, on loopback, with wrk.
#
#   scripts/bench.sh                       3 runs of wrk -t2 -c64 -d10s --latency
#   BENCH_RUNS=5 BENCH_DURATION=30s scripts/bench.sh
#
# Environment: BENCH_RUNS (3), BENCH_THREADS (2), BENCH_CONNS (64),
# BENCH_DURATION (10s), BENCH_WARMUP (2s, an unmeasured wrk run before each
# measurement), BENCH_POSTS (10000 posts seeded for the uncached reads),
# BENCH_OUT (also write the report to this file), BENCH_MAX_LOAD (before each run,
# wait up to BENCH_MAX_WAIT seconds, 600, for the 1-minute load average to fall
# under it), BENCH_PPROF=1 (save a 5s CPU
# profile of the app under each load in BENCH_PROFILE_DIR, default ./bench-profiles;
# the app is then built with a net/http/pprof overlay, which changes nothing else).
#
# What is measured (every server on 127.0.0.1; MariaDB primary + replica and
# Redis from scripts/services.sh):
#   static        baseline: net/http returning the app's 1 KB post JSON
#   redis_get     baseline: one Redis GET per request
#   app_cached    the app (role all, Redis on): GET /api/posts/{hot id}, the same id every time
#   pk_select     baseline: one primary-key SELECT per request, on the replica
#   app_uncached  the app (role all, no Redis: the cache is off, as before stage 3):
#                 GET /api/posts/{id} rotating over BENCH_POSTS ids, read from the replica
#   insert        baseline: one INSERT per request, on the primary
#   app_write     the app (role all, Redis sessions): POST /api/posts, 1024-byte body, session cookie
# and the app's peak resident memory (VmHWM of /proc/PID/status) over each run.
# The report gives requests/s, p50 and p99 (wrk --latency) per run, the medians,
# the ratios app/baseline and whether each target of issue 3 is met.
#
# Then the same pairs at an equal, fixed rate (open loop, vegeta): wrk's closed loop
# offers each server as much load as it can take, so a server that answers twice as
# fast also queues twice the requests, and its p99 is measured at another load than
# its baseline's. Each pair is offered BENCH_OPEN_SHARE (0.3: vegeta spends more CPU per request
# than wrk, and shares the cores) of the slower one's
# median closed-loop rate, for BENCH_OPEN_DURATION (10s), after a 2 s warm-up at the
# same rate; the p99 ratio at equal rate is the fair latency comparison. A run
# that achieved under 95% of the offered rate did not hold the rate (the machine or
# the load generator saturated): the report marks its pair invalid, not met.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNS:-64}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
nposts=${BENCH_POSTS:-10000}

prog=bench
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

say "bench: installing what is missing, building"
scripts/services.sh install wrk=wrk curl=curl
# vegeta (MIT), for the open-loop phase: wrk2, the open-loop wrk, is not in Debian.
vegeta_version=v12.13.0
GOBIN="$work/bin" go install "github.com/tsenart/vegeta/v12@$vegeta_version"
vegeta="$work/bin/vegeta"
build_flags=()
if [ "${BENCH_PPROF:-0}" = 1 ]; then
  # An overlay adds a pprof listener to the app's main package for this build only.
  cat >"$work/pprof.go" <<'EOF'
package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if a := os.Getenv("BENCH_PPROF_ADDR"); a != "" {
		go http.ListenAndServe(a, nil)
	}
}
EOF
  printf '{"Replace":{"%s":"%s"}}\n' "$repo/app/cmd/scaling-app/zz_bench_pprof.go" "$work/pprof.go" >"$work/overlay.json"
  build_flags=(-overlay "$work/overlay.json")
  profile_dir=${BENCH_PROFILE_DIR:-$repo/bench-profiles}
  mkdir -p "$profile_dir"
fi
# What was built: the commit, and whether the working tree differed from it.
built="git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- app cmd/baseline || echo ', with uncommitted changes in app/ or cmd/baseline/')"
go build "${build_flags[@]}" -o "$work/bin/scaling-app" ./app/cmd/scaling-app
go build -o "$work/bin/baseline" ./cmd/baseline

scripts/services.sh start "$work/svc"
# shellcheck disable=SC1091
. "$work/svc/env"
mariadb_cli=$(command -v mariadb || command -v mysql)
sqlp() { "$mariadb_cli" --no-defaults -S "$TEST_MYSQL_PRIMARY_SOCKET" -uroot --batch --skip-column-names -e "$1"; }
sqlp "CREATE DATABASE bench; CREATE DATABASE baseline"

export DB_HOST=127.0.0.1 DB_PORT="$TEST_MYSQL_PRIMARY_PORT" DB_NAME=bench
export DB_USER="$TEST_MYSQL_USER" DB_PASSWORD="$TEST_MYSQL_PASSWORD"
export DB_REPLICAS="127.0.0.1:$TEST_MYSQL_REPLICA_PORT" QUEUE_BACKEND=none

# The 1 KB body of every post, the same as cmd/baseline's Body.
body1k=$(printf '0123456789abcdef%.0s' {1..64})
[ "${#body1k}" = 1024 ] || fail "body is ${#body1k} bytes"

app_port=$(free_port) nocache_port=$(free_port) pprof_port=$(free_port)
static_port=$(free_port) redis_port=$(free_port) select_port=$(free_port) insert_port=$(free_port)

# start_apps: the app with Redis (cached reads, writes) and without (uncached
# reads), fresh for each run so VmHWM is that run's peak.
app_pid="" nocache_pid=""
start_apps() {
  start app env APP_ROLE=all APP_ADDR="127.0.0.1:$app_port" REDIS_ADDR="$TEST_REDIS_ADDR" DB_MIGRATE=true \
    BENCH_PPROF_ADDR="127.0.0.1:$pprof_port" "$work/bin/scaling-app"
  app_pid=$last_pid
  wait_http app "http://127.0.0.1:$app_port/readyz"
  start app-nocache env APP_ROLE=all APP_ADDR="127.0.0.1:$nocache_port" DB_MIGRATE=false \
    BENCH_PPROF_ADDR="" "$work/bin/scaling-app"
  nocache_pid=$last_pid
  wait_http app-nocache "http://127.0.0.1:$nocache_port/readyz"
}
stop_apps() {
  stop_pid "$app_pid"
  stop_pid "$nocache_pid"
  wait "$app_pid" "$nocache_pid" 2>/dev/null || true
}
hwm_mb() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

say "bench: starting the baselines, seeding"
start static "$work/bin/baseline" -mode=static -addr="127.0.0.1:$static_port"
wait_http static "http://127.0.0.1:$static_port/healthz"
start redis "$work/bin/baseline" -mode=redis -addr="127.0.0.1:$redis_port" -redis="$TEST_REDIS_ADDR" -seed=10
wait_http redis "http://127.0.0.1:$redis_port/healthz"
start select "$work/bin/baseline" -mode=select -addr="127.0.0.1:$select_port" -seed="$nposts" \
  -dsn="${TEST_MYSQL_PRIMARY_DSN}baseline" -read-dsn="${TEST_MYSQL_REPLICA_DSN}baseline"
wait_http select "http://127.0.0.1:$select_port/healthz"
start insert "$work/bin/baseline" -mode=insert -addr="127.0.0.1:$insert_port" -dsn="${TEST_MYSQL_PRIMARY_DSN}baseline"
wait_http insert "http://127.0.0.1:$insert_port/healthz"

start_apps
app="http://127.0.0.1:$app_port"
curl -sf -o /dev/null -H 'Content-Type: application/json' --data '{"name":"bench","password":"bench-password"}' "$app/api/users" ||
  fail "sign up failed"
token=$(curl -sf -H 'Content-Type: application/json' --data '{"name":"bench","password":"bench-password"}' "$app/api/sessions" |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || fail "log in failed"
# Seeded in SQL (MariaDB's sequence engine), the way the app writes them.
sqlp "INSERT INTO bench.posts (user_id, body, created_at, updated_at)
  SELECT u.id, REPEAT('0123456789abcdef', 64), NOW(6), NOW(6) FROM bench.users u, bench.seq_1_to_$nposts
  WHERE u.name = 'bench'"
read -r lo hi < <(sqlp "SELECT MIN(id), MAX(id) FROM bench.posts")
[ "$((hi - lo + 1))" = "$nposts" ] || fail "seeded $((hi - lo + 1)) posts, want $nposts"
# Every seeded post on the replica before reads start.
deadline=$((SECONDS + 60))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nocache_port/api/posts/$hi")" = 200 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "post $hi did not reach the replica"
  sleep 0.2
done
[ "$(curl -s "$app/api/posts/$lo" | wc -c)" -gt 1024 ] || fail "the app does not serve post $lo"

# rotate.lua: GET /api/posts/{id} over ids LO..HI, a different start per thread.
rotate_lua() { # rotate_lua LO HI FILE
  cat >"$3" <<EOF
local lo, n = $1, $2 - $1 + 1
local i = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("start", threads * 7919)
end
function init(args)
  i = start or 0
end
function request()
  i = i + 1
  return wrk.format("GET", "/api/posts/" .. (lo + i % n))
end
EOF
}
rotate_lua "$lo" "$hi" "$work/rotate-app.lua"
rotate_lua 1 "$nposts" "$work/rotate-baseline.lua"
cat >"$work/write.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "session=$token"
wrk.body = '{"body":"$body1k"}'
EOF


results="$work/results.tsv"
: >"$results"
# measure RUN NAME URL [LUA]: warm up, then one measured wrk run; appends
# "RUN NAME rps p50_ms p99_ms" to the results.
measure() {
  local run=$1 name=$2 url=$3 lua=${4:-} args=() out rps p50 p99 bad load
  [ -n "$lua" ] && args=(-s "$lua")
  if [ "$warmup" != 0 ] && [ "$warmup" != 0s ]; then
    wrk -t"$threads" -c"$conns" -d"$warmup" "${args[@]}" "$url" >/dev/null
  fi
  if [ "${BENCH_PPROF:-0}" = 1 ] && [[ $name == app_cached || $name == app_write ]]; then
    curl -s -o "$profile_dir/$name-run$run.pprof" "http://127.0.0.1:$pprof_port/debug/pprof/profile?seconds=5" &
  fi
  out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "${args[@]}" "$url")
  wait_profiles
  echo "$out" >>"$work/log/wrk-$name.log"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  [ -z "$bad" ] || fail "$name: $bad responses were not 2xx/3xx:
$out"
  if grep -q 'Socket errors' <<<"$out"; then
    fail "$name: socket errors:
$out"
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$name" "$rps" "$p50" "$p99" "$load" >>"$results"
  say "run $run  $(printf '%-13s %10s req/s  p50 %8s ms  p99 %8s ms  load %s' "$name" "$rps" "$p50" "$p99" "$load")"
}
wait_profiles() { # the background profile download, if any
  local j
  for j in $(jobs -p); do
    case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" || true ;; esac
  done
}

say "bench: $runs runs of wrk -t$threads -c$conns -d$duration --latency (warm-up $warmup each)"
# quiet: with BENCH_MAX_LOAD set, wait (up to BENCH_MAX_WAIT seconds, 600) for the 1-minute
# load average to fall under it, since other work on the machine skews the figures.
quiet() {
  [ -n "${BENCH_MAX_LOAD:-}" ] || return 0
  local deadline=$((SECONDS + ${BENCH_MAX_WAIT:-600}))
  while awk -v max="$BENCH_MAX_LOAD" '{ exit !($1 >= max) }' /proc/loadavg && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 5
  done
}
for ((run = 1; run <= runs; run++)); do
  quiet
  if [ "$run" -gt 1 ]; then
    stop_apps
    start_apps
  fi
  measure "$run" static "http://127.0.0.1:$static_port/api/posts/1"
  measure "$run" redis_get "http://127.0.0.1:$redis_port/api/posts/1"
  measure "$run" app_cached "$app/api/posts/$lo"
  measure "$run" pk_select "http://127.0.0.1:$select_port/" "$work/rotate-baseline.lua"
  measure "$run" app_uncached "http://127.0.0.1:$nocache_port/" "$work/rotate-app.lua"
  measure "$run" insert "http://127.0.0.1:$insert_port/api/posts" "$work/write.lua"
  measure "$run" app_write "$app/api/posts" "$work/write.lua"
  printf '%s\t%s\t%s\t-\t-\t-\n' "$run" rss_app "$(hwm_mb "$app_pid")" >>"$results"
  printf '%s\t%s\t%s\t-\t-\t-\n' "$run" rss_app_nocache "$(hwm_mb "$nocache_pid")" >>"$results"
  say "run $run  app VmHWM $(hwm_mb "$app_pid") MB (cached reads + writes), $(hwm_mb "$nocache_pid") MB (uncached reads)"
done

# The open-loop phase. targets_json NAME URL [METHOD BODY]: vegeta JSON targets.
open_share=${BENCH_OPEN_SHARE:-0.3}
open_duration=${BENCH_OPEN_DURATION:-10s}
open_results="$work/open.tsv"
: >"$open_results"
# median_rps NAME: the median closed-loop requests/s of NAME.
median_rps() {
  awk -F'\t' -v n="$1" '$2 == n { v[++k] = $3 + 0 }
    END { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      printf "%d", (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }' "$results"
}
# targets_get FILE URL_PREFIX LO HI: GET URL_PREFIX{id} for ids LO..HI (one id when LO = HI).
targets_get() {
  awk -v u="$2" -v lo="$3" -v hi="$4" 'BEGIN { for (i = lo; i <= hi; i++) printf "{\"method\":\"GET\",\"url\":\"%s%d\"}\n", u, i }' >"$1"
}
# targets_post FILE URL: the write.lua request, as a vegeta target.
targets_post() {
  local b64
  b64=$(printf '{"body":"%s"}' "$body1k" | base64 -w0)
  printf '{"method":"POST","url":"%s","body":"%s","header":{"Content-Type":["application/json"],"Cookie":["session=%s"]}}\n' "$2" "$b64" "$token" >"$1"
}
targets_get "$work/t-redis.json" "http://127.0.0.1:$redis_port/api/posts/" 1 1
targets_get "$work/t-cached.json" "$app/api/posts/" "$lo" "$lo"
targets_get "$work/t-select.json" "http://127.0.0.1:$select_port/api/posts/" 1 "$nposts"
targets_get "$work/t-uncached.json" "http://127.0.0.1:$nocache_port/api/posts/" "$lo" "$hi"
targets_post "$work/t-insert.json" "http://127.0.0.1:$insert_port/api/posts"
targets_post "$work/t-write.json" "$app/api/posts"
# open_measure RUN NAME RATE TARGETS: one vegeta run at RATE/s; appends
# "RUN NAME rate p50_ms p99_ms achieved_rps".
open_measure() {
  local run=$1 name=$2 rate=$3 targets=$4 rep
  "$vegeta" attack -format=json -targets="$targets" -rate="$rate/s" -duration=2s -http2=false >/dev/null
  rep=$("$vegeta" attack -format=json -targets="$targets" -rate="$rate/s" -duration="$open_duration" -http2=false |
    "$vegeta" report -type=json)
  echo "$rep" >>"$work/log/vegeta-$name.log"
  python3 - "$run" "$name" "$rate" "$rep" >>"$open_results" <<'PY' || fail "$name at $rate/s: $rep"
import json, sys
run, name, rate, rep = sys.argv[1:]
r = json.loads(rep)
if r["success"] < 1:
    sys.exit(f"{name}: success ratio {r['success']}, status codes {r['status_codes']}, errors {r.get('errors')}")
lat = r["latencies"]
print(f"{run}\t{name}\t{rate}\t{lat['50th'] / 1e6:.3f}\t{lat['99th'] / 1e6:.3f}\t{r['throughput']:.0f}")
PY
  say "open $run  $(tail -n 1 "$open_results" | awk -F'\t' '{ printf "%-13s at %6s/s  p50 %8s ms  p99 %8s ms  achieved %s/s", $2, $3, $4, $5, $6 }')"
}
rate_for() { # rate_for A B: BENCH_OPEN_SHARE of the slower median rate of A and B
  awk -v a="$(median_rps "$1")" -v b="$(median_rps "$2")" -v s="$open_share" 'BEGIN { m = a < b ? a : b; printf "%d", m * s }'
}
rate_cached=$(rate_for app_cached redis_get)
rate_uncached=$(rate_for app_uncached pk_select)
rate_write=$(rate_for app_write insert)
say "bench: open loop at equal rates (vegeta $vegeta_version, $open_duration): cached pair $rate_cached/s, uncached $rate_uncached/s, write $rate_write/s"
for ((run = 1; run <= runs; run++)); do
  quiet
  open_measure "$run" redis_get "$rate_cached" "$work/t-redis.json"
  open_measure "$run" app_cached "$rate_cached" "$work/t-cached.json"
  open_measure "$run" pk_select "$rate_uncached" "$work/t-select.json"
  open_measure "$run" app_uncached "$rate_uncached" "$work/t-uncached.json"
  open_measure "$run" insert "$rate_write" "$work/t-insert.json"
  open_measure "$run" app_write "$rate_write" "$work/t-write.json"
done

# The report, in Markdown.
report() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  echo "Command: \`BENCH_RUNS=$runs BENCH_THREADS=$threads BENCH_CONNS=$conns BENCH_DURATION=$duration BENCH_WARMUP=$warmup BENCH_POSTS=$nposts scripts/bench.sh\`"
  echo "Machine: $(nproc) CPUs ($cpu), $(awk '/^MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr);"
  echo "Go $(go env GOVERSION), $("$(command -v mariadbd || echo /usr/sbin/mariadbd)" --version | awk '{ print $3 }'), Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }')."
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC') (end); built from $built."
  echo
  echo "| run | benchmark | requests/s | p50 ms | p99 ms | 1-min load average after |"
  echo "|---|---|---:|---:|---:|---:|"
  awk -F'\t' '$2 !~ /^rss/ { printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$results"
  echo
  echo "| run | app VmHWM MB (cached reads + writes) | app VmHWM MB (uncached reads) |"
  echo "|---|---:|---:|"
  awk -F'\t' '$2 == "rss_app" { a[$1] = $3 } $2 == "rss_app_nocache" { b[$1] = $3 }
    END { for (r = 1; r in a; r++) printf "| %s | %s | %s |\n", r, a[r], b[r] }' "$results"
  echo
  echo "Ratios app/baseline in each run (each pair measured back to back):"
  echo
  echo "| run | cached/redis_get req/s | p99 | uncached/pk_select req/s | p99 | write/insert req/s | p99 |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ rps[$1, $2] = $3; p99[$1, $2] = $5; if ($1 > n) n = $1 }
    function q(a, b) { return b ? sprintf("%.2f", a / b) : "-" }
    END { for (r = 1; r <= n; r++)
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", r,
        q(rps[r, "app_cached"], rps[r, "redis_get"]), q(p99[r, "app_cached"], p99[r, "redis_get"]),
        q(rps[r, "app_uncached"], rps[r, "pk_select"]), q(p99[r, "app_uncached"], p99[r, "pk_select"]),
        q(rps[r, "app_write"], rps[r, "insert"]), q(p99[r, "app_write"], p99[r, "insert"]) }' "$results"
  echo
  echo "Medians over $runs runs, and the targets of issue 3 (ratios of the medians; the median of the per-run ratios in brackets):"
  echo
  awk -F'\t' '
    function median(name, col,   n, i, j, t, v) {
      n = 0
      for (i = 1; i <= NR_; i++) if (nm[i] == name) v[++n] = val[i, col]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      if (n == 0) return 0
      return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function ratio_median(a, b, col,   n, r, i, j, t, v) {
      n = 0
      for (r = 1; (r, a) in runval; r++) if (runval[r, b, col] > 0) v[++n] = runval[r, a, col] / runval[r, b, col]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      if (n == 0) return 0
      return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { NR_++; nm[NR_] = $2; val[NR_, 3] = $3 + 0; val[NR_, 4] = $4 + 0; val[NR_, 5] = $5 + 0
      runval[$1, $2] = 1; runval[$1, $2, 3] = $3 + 0; runval[$1, $2, 5] = $5 + 0 }
    END {
      print "| app | requests/s | p50 ms | p99 ms | baseline | requests/s | p50 ms | p99 ms | app/baseline req/s (target) | app/baseline p99 (target ≤ 1.5) |"
      print "|---|---:|---:|---:|---|---:|---:|---:|---|---|"
      split("app_cached redis_get 1.0 app_uncached pk_select 0.9 app_write insert 0.8", p, " ")
      for (k = 1; k <= 9; k += 3) {
        a = p[k]; b = p[k + 1]; want = p[k + 2]
        ar = median(a, 3); br = median(b, 3); ap99 = median(a, 5); bp99 = median(b, 5)
        r = br ? ar / br : 0; l = bp99 ? ap99 / bp99 : 0
        printf "| %s | %.0f | %.2f | %.2f | %s | %.0f | %.2f | %.2f | %.2f [%.2f] (≥ %s: %s) | %.2f [%.2f] (%s) |\n",
          a, ar, median(a, 4), ap99, b, br, median(b, 4), bp99, r, ratio_median(a, b, 3), want,
          (r >= want ? "met" : "MISSED"), l, ratio_median(a, b, 5), (l <= 1.5 ? "met" : "MISSED")
      }
      printf "| static 1 KB (reference) | %.0f | %.2f | %.2f | | | | | | |\n", median("static", 3), median("static", 4), median("static", 5)
      m = median("rss_app", 3); m2 = median("rss_app_nocache", 3)
      printf "\nApp peak memory (median VmHWM): %.1f MB with Redis, %.1f MB without (target < 64 MB: %s).\n",
        m, m2, ((m < 64 && m2 < 64) ? "met" : "MISSED")
    }' "$results"
  echo
  echo "At equal offered rates (open loop, vegeta $vegeta_version -rate R -duration $open_duration, R = $open_share of the slower closed-loop median of each pair):"
  echo
  echo "| run | benchmark | offered/s | achieved/s | p50 ms | p99 ms |"
  echo "|---|---|---:|---:|---:|---:|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $6, $4, $5 }' "$open_results"
  echo
  awk -F'\t' '
    function med(name, col,   n, i, j, t, v) {
      n = 0
      for (i = 1; i <= NR_; i++) if (nm[i] == name) v[++n] = val[i, col]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      if (n == 0) return 0
      return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { NR_++; nm[NR_] = $2; val[NR_, 4] = $4 + 0; val[NR_, 5] = $5 + 0; rate[$2] = $3
      if ($6 + 0 < 0.95 * $3) short[$2] = 1 }
    END {
      print "| app | baseline | rate/s | app p99 ms | baseline p99 ms | app/baseline p99 at equal rate (target ≤ 1.5) |"
      print "|---|---|---:|---:|---:|---|"
      split("app_cached redis_get app_uncached pk_select app_write insert", p, " ")
      for (k = 1; k <= 5; k += 2) {
        a = med(p[k], 5); b = med(p[k + 1], 5); l = b ? a / b : 0
        verdict = (short[p[k]] || short[p[k + 1]]) ? "INVALID: a run did not hold the rate" : (l <= 1.5 ? "met" : "MISSED")
        printf "| %s | %s | %s | %.2f | %.2f | %.2f (%s) |\n", p[k], p[k + 1], rate[p[k]], a, b, l, verdict
      }
    }' "$open_results"
}
report | tee "${BENCH_OUT:-/dev/null}"
