#!/usr/bin/env bash
# The two per-server figures the capacity model (internal/capacity, issue 14) needs beyond
# scripts/bench.sh's:
#   nginx_proxy   the web tier: nginx configured as the web servers' boot script configures
#                 it (components/userdata.sh.tmpl: proxy_pass through a variable, so a new
#                 upstream connection per request; HTTP/1.1; the JSON access log on), proxying
#                 to cmd/baseline's static 1 KB answer; beside the same baseline answered
#                 directly (static), back to back in each run, with wrk on loopback;
#   redis_server  a cache node: Redis's own GET rate for a 1 KB value (redis-benchmark, 50
#                 clients, no pipelining), where scripts/bench.sh's redis_get measures a Go
#                 server in front of Redis (the server, not Redis, was its bottleneck).
#
#   scripts/bench-capacity.sh                    3 runs of each
#   BENCH_RUNS=5 BENCH_DURATION=30s scripts/bench-capacity.sh
#
# Environment: BENCH_RUNS (3), BENCH_THREADS (2), BENCH_CONNS (64), BENCH_DURATION (10s),
# BENCH_WARMUP (2s). Prints a markdown table: requests/s, p50 and p99 per run, and the
# medians; docs/benchmarks.md records a run and internal/capacity/measured.json its medians.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${BENCH_RUNS:-3}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNS:-64}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}

prog=bench-capacity
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

scripts/services.sh install wrk=wrk curl=curl nginx=nginx redis-server=redis-server redis-benchmark=redis-tools
go build -o "$work/bin/baseline" ./cmd/baseline

base_port=$(free_port)
nginx_port=$(free_port)
start baseline "$work/bin/baseline" -mode static -addr "127.0.0.1:$base_port"
wait_http baseline "http://127.0.0.1:$base_port/api/posts/1"

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/log/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  log_format scaling_json escape=json '{"time":"\$time_iso8601","status":\$status,"request_time":\$request_time,"upstream_response_time":"\$upstream_response_time","method":"\$request_method","uri":"\$uri","bytes":\$body_bytes_sent,"forwarded_for":"\$http_x_forwarded_for","request_id":"\$request_id"}';
  server {
    listen 127.0.0.1:$nginx_port default_server;
    server_tokens off;
    access_log $work/nginx/access.log scaling_json;
    location / {
      set \$app http://127.0.0.1:$base_port;
      proxy_pass \$app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_connect_timeout 5s;
      proxy_read_timeout 30s;
    }
  }
}
NGINX
start nginx nginx -c "$work/nginx/nginx.conf"
wait_http nginx "http://127.0.0.1:$nginx_port/api/posts/1"

results="$work/results.tsv"
: >"$results"
measure() { # measure RUN NAME URL
  local out rps p50 p99
  wrk -t"$threads" -c"$conns" -d"$warmup" "$3" >/dev/null
  out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "$3")
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    fail "$2: errors under load:
$out"
  fi
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$rps" "$p50" "$p99" >>"$results"
  say "run $1  $(printf '%-12s %10s req/s  p50 %8s ms  p99 %8s ms' "$2" "$rps" "$p50" "$p99")"
}
redis_port=$(free_port)
start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work"
for ((i = 0; i < 50; i++)); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$redis_port" set key:__rand_int__ "$(head -c 1000 /dev/zero | tr '\0' x)" >/dev/null
gets=${BENCH_REDIS_REQUESTS:-500000}
for ((r = 1; r <= runs; r++)); do
  measure "$r" static "http://127.0.0.1:$base_port/api/posts/1"
  measure "$r" nginx_proxy "http://127.0.0.1:$nginx_port/api/posts/1"
  # One key, 1 KB: redis-benchmark's GET reads key:__rand_int__ unless -r is given.
  out=$(redis-benchmark -p "$redis_port" -t get -n "$gets" -c 50 -d 1000 --csv)
  rps=$(awk -F'"' '$2 == "GET" { print $4 }' <<<"$out")
  p50=$(awk -F'"' '$2 == "GET" { print $10 }' <<<"$out")
  p99=$(awk -F'"' '$2 == "GET" { print $14 }' <<<"$out")
  [ -n "$rps" ] || fail "redis-benchmark printed no GET figure: $out"
  printf '%s\t%s\t%s\t%s\t%s\n' "$r" redis_server "$rps" "$p50" "$p99" >>"$results"
  say "run $r  $(printf '%-12s %10s req/s  p50 %8s ms  p99 %8s ms' redis_server "$rps" "$p50" "$p99")"
done
lines=$(wc -l <"$work/nginx/access.log")
[ "$lines" -gt 0 ] || fail "nginx wrote no access log lines"

echo "Command: BENCH_RUNS=$runs BENCH_THREADS=$threads BENCH_CONNS=$conns BENCH_DURATION=$duration BENCH_REDIS_REQUESTS=$gets scripts/bench-capacity.sh"
echo "Machine: $(nproc) CPUs, $(uname -sr); $(nginx -v 2>&1); $(redis-server --version | cut -d' ' -f1-3); $(go version | cut -d' ' -f3); git $(git rev-parse --short HEAD)"
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| run | benchmark | requests/s | p50 ms | p99 ms |"
echo "|---|---|---:|---:|---:|"
awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$results"
echo
median() { awk -F'\t' -v n="$1" -v c="$2" '$2 == n { v[++k] = $c + 0 } END { asort(v); print (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }' "$results"; }
s=$(median static 3)
n=$(median nginx_proxy 3)
rs=$(median redis_server 3)
echo "Medians over $runs runs: static $s req/s, nginx_proxy $n req/s ($(awk -v a="$n" -v b="$s" 'BEGIN { printf "%.2f", a / b }') x static; the access log has $lines lines), redis_server $rs GET/s."
