#!/usr/bin/env bash
# The app end to end, for real, on loopback: the split tiers of stage 2+ behind
# a real load balancer.
#
#   scripts/e2e.sh            (E2E_KEEP=1 keeps the temporary folder and its logs)
#
# It builds app/cmd/scaling-app, starts MariaDB primary + replica and Redis
# (scripts/services.sh), an S3-compatible server (gofakes3, built from the Go
# module proxy at the version go.mod pins), then 1 write-role instance (which
# applies the migrations) and a second write instance, 2 read-role instances and
# 1 worker, and HAProxy in front, configured as the ALB listener rules of the
# infrastructure are: GET and HEAD to the read API target, every other method to
# the write API target, both health-checked on /healthz, with retries and
# redispatch (haproxy_config in scripts/lib.sh). Through HAProxy it then checks, asserting each
# status and body: sign up, log in, write a post, read it back (own write and
# from a replica), list, 413 on a 1025-byte post, 401 on an anonymous write,
# a photo upload turned into a thumbnail by the worker, GETs answered only by
# the read instances and writes only by the write instances, a read instance
# and a write instance killed (SIGKILL) without a failed request, and log out.
# Exits non-zero on the first failure, with the logs' tails; always cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."

prog=e2e keep_work=${E2E_KEEP:-0}
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

step() { printf '\n--> %s\n' "$*"; }

step "install what is missing (haproxy, curl)"
scripts/services.sh install haproxy=haproxy curl=curl
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)

step "build the app and an S3-compatible server"
go build -o "$work/bin/scaling-app" ./app/cmd/scaling-app
fakes3_version=$(go list -m -f '{{.Version}}' github.com/johannesboyne/gofakes3)
GOBIN="$work/bin" GOFLAGS='' go install "github.com/johannesboyne/gofakes3/cmd/gofakes3@$fakes3_version"

step "start MariaDB primary + replica, Redis, S3"
scripts/services.sh start "$work/svc"
# shellcheck disable=SC1091
. "$work/svc/env"
"$(command -v mariadb || command -v mysql)" --no-defaults -S "$TEST_MYSQL_PRIMARY_SOCKET" -uroot \
  -e "CREATE DATABASE e2e"
s3_port=$(free_port)
start s3 "$work/bin/gofakes3" -host "127.0.0.1:$s3_port" -backend memory -initialbucket e2e -quiet

# The app's configuration, as the infrastructure hands it over (docs/app.md).
export DB_HOST=127.0.0.1 DB_PORT="$TEST_MYSQL_PRIMARY_PORT" DB_NAME=e2e
export DB_USER="$TEST_MYSQL_USER" DB_PASSWORD="$TEST_MYSQL_PASSWORD"
export DB_REPLICAS="127.0.0.1:$TEST_MYSQL_REPLICA_PORT"
export REDIS_ADDR="$TEST_REDIS_ADDR" QUEUE_BACKEND=redis
export S3_BUCKET=e2e S3_ENDPOINT="http://127.0.0.1:$s3_port"
# Dummy credentials for the fake S3; no instance metadata lookups (loopback only).
export AWS_ACCESS_KEY_ID=e2e AWS_SECRET_ACCESS_KEY=e2e-secret AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export APP_LOG_LEVEL=info
wait_http s3 "http://127.0.0.1:$s3_port/e2e"

step "start 2 write, 2 read and 1 worker instance"
write_port=$(free_port) write2_port=$(free_port) read1_port=$(free_port) read2_port=$(free_port) worker_port=$(free_port)
# The write API migrates first; the others start on the migrated schema.
start write env APP_ROLE=write APP_ADDR="127.0.0.1:$write_port" DB_MIGRATE=true "$work/bin/scaling-app"
wait_http write "http://127.0.0.1:$write_port/readyz"
start write2 env APP_ROLE=write APP_ADDR="127.0.0.1:$write2_port" DB_MIGRATE=false "$work/bin/scaling-app"
start read1 env APP_ROLE=read APP_ADDR="127.0.0.1:$read1_port" DB_MIGRATE=false "$work/bin/scaling-app"
start read2 env APP_ROLE=read APP_ADDR="127.0.0.1:$read2_port" DB_MIGRATE=false "$work/bin/scaling-app"
start worker env APP_ROLE=worker APP_ADDR="127.0.0.1:$worker_port" DB_MIGRATE=false "$work/bin/scaling-app"
wait_http read1 "http://127.0.0.1:$read1_port/readyz"
wait_http read2 "http://127.0.0.1:$read2_port/readyz"
wait_http write2 "http://127.0.0.1:$write2_port/readyz"
wait_http worker "http://127.0.0.1:$worker_port/healthz"

step "start HAProxy: GET/HEAD to the read API, everything else to the write API"
lb_port=$(free_port) stats_port=$(free_port)
haproxy_config "$lb_port" "$stats_port" "127.0.0.1:$read1_port 127.0.0.1:$read2_port" \
  "127.0.0.1:$write_port 127.0.0.1:$write2_port" >"$work/haproxy.cfg"
"$haproxy" -c -q -f "$work/haproxy.cfg"
start haproxy "$haproxy" -db -f "$work/haproxy.cfg"
lb="http://127.0.0.1:$lb_port"
wait_http haproxy "$lb/healthz"

# server_status BACKEND SERVER prints HAProxy's view (UP, DOWN, ...) of a server.
server_status() {
  curl -s "http://127.0.0.1:$stats_port/stats;csv" | awk -F, -v b="$1" -v s="$2" '$1 == b && $2 == s { print $18 }'
}
deadline=$((SECONDS + 30))
for s in read_api/read1 read_api/read2 write_api/write1 write_api/write2; do
  until [ "$(server_status "${s%/*}" "${s#*/}")" = UP ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "HAProxy does not see $s UP: $(server_status "${s%/*}" "${s#*/}")"
    sleep 0.2
  done
done

# req METHOD PATH [CURL ARGS...]: one request through HAProxy with the cookie
# jar; sets status and body.
jar="$work/cookies"
status="" body=""
req() {
  local method=$1 path=$2
  shift 2
  status=$(curl -sS -o "$work/body" -w '%{http_code}' -X "$method" -b "$jar" -c "$jar" "$@" "$lb$path")
  body=$(cat "$work/body")
}
# expect STATUS WHAT [SUBSTRING...]: the last response had STATUS and contains each SUBSTRING.
expect() {
  local want=$1 what=$2 s
  shift 2
  [ "$status" = "$want" ] || fail "$what: want HTTP $want, got $status: $body"
  for s in "$@"; do
    [[ $body == *"$s"* ]] || fail "$what: response lacks $s: $body"
  done
  echo "ok  $what: HTTP $status"
}
json_num() { sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p" <<<"$body" | head -n 1; }
json_str() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$body" | head -n 1; }

step "smoke flow through HAProxy at $lb"
user="e2e_user_$RANDOM"
creds="{\"name\":\"$user\",\"password\":\"correct-horse-battery\"}"
req POST /api/users -H 'Content-Type: application/json' --data "$creds"
expect 201 "sign up" "\"name\":\"$user\""
uid=$(json_num id)
[ -n "$uid" ] || fail "sign up: no user id in $body"

req POST /api/users -H 'Content-Type: application/json' --data "$creds"
expect 409 "sign up twice" '"code":"conflict"'

req POST /api/sessions -H 'Content-Type: application/json' --data "{\"name\":\"$user\",\"password\":\"wrong-password\"}"
expect 401 "log in with a wrong password" '"code":"unauthorized"'

req POST /api/sessions -H 'Content-Type: application/json' --data "$creds"
expect 201 "log in" '"token":"' "\"user_id\":$uid"
grep -q "session" "$jar" || fail "log in: no session cookie set"

req GET /api/me
expect 200 "who am I (session shared by the read instances through Redis)" "\"user_id\":$uid"

text="hello from e2e $RANDOM"
req POST /api/posts -H 'Content-Type: application/json' --data "{\"body\":\"$text\"}"
expect 201 "write a post" "\"body\":\"$text\"" "\"user_id\":$uid"
post=$(json_num id)
[ -n "$post" ] || fail "write a post: no id in $body"

req GET "/api/posts/$post"
expect 200 "read my own write back at once" "\"body\":\"$text\"" "\"id\":$post"

# Without cookies the read goes to the replica (eventually consistent).
deadline=$((SECONDS + 10))
while :; do
  status=$(curl -sS -o "$work/body" -w '%{http_code}' "$lb/api/posts/$post")
  body=$(cat "$work/body")
  [ "$status" = 200 ] || [ "$SECONDS" -ge "$deadline" ] || { sleep 0.2 && continue; }
  break
done
expect 200 "read it anonymously (replica)" "\"body\":\"$text\""

req HEAD "/api/posts/$post" -I
[ "$status" = 200 ] || fail "HEAD a post: want 200, got $status"
echo "ok  HEAD a post: HTTP 200"

req POST /api/posts -H 'Content-Type: application/json' --data '{"body":"second post"}'
expect 201 "write a second post"
post2=$(json_num id)
req GET "/api/users/$uid/posts?limit=1"
expect 200 "list my posts, first page" "\"id\":$post2" '"next_cursor":'
cursor=$(json_num next_cursor)
req GET "/api/users/$uid/posts?limit=1&cursor=$cursor"
expect 200 "list my posts, next page" "\"id\":$post"

big=$(head -c 1025 /dev/zero | tr '\0' 'x')
req POST /api/posts -H 'Content-Type: application/json' --data "{\"body\":\"$big\"}"
expect 413 "a 1025-byte post is refused" '"code":"too_large"'
exact=$(head -c 1024 /dev/zero | tr '\0' 'y')
req POST /api/posts -H 'Content-Type: application/json' --data "{\"body\":\"$exact\"}"
expect 201 "a 1024-byte post is accepted whole" "\"body\":\"$exact\""

status=$(curl -sS -o "$work/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data '{"body":"anonymous"}' "$lb/api/posts")
body=$(cat "$work/body")
expect 401 "an anonymous write is refused" '"code":"unauthorized"'

req POST /api/posts -H 'Content-Type: application/json' --data '{"body":'
expect 400 "malformed JSON" '"code":"invalid"'

req GET /api/posts/999999999
expect 404 "an unknown post" '"code":"not_found"'

step "photo upload, thumbnail by the worker"
printf '%s' 'iVBORw0KGgoAAAANSUhEUgAAAEAAAAAwCAIAAAAuKetIAAAAVUlEQVR4nOzPUQnAMADFwPfR+Z70ygiFO2IgZ/vP9nLfnmagZqBmoGagZqBmoGagZqBmoGagZqBmoGagZqBmoGagZqBmoGagZqBmoGagZqB2AwAA///z4wMoJfBoxAAAAABJRU5ErkJggg==' |
  base64 -d >"$work/photo.png"
req POST /api/photos -H 'Content-Type: image/png' --data-binary "@$work/photo.png"
expect 202 "upload a 64x48 PNG"
# Usually pending; ready when the worker finished before the upload answered
# (the handler reads the photo back after queueing the job).
[[ $body == *'"status":"pending"'* || $body == *'"status":"ready"'* ]] ||
  fail "upload a 64x48 PNG: status neither pending nor ready: $body"
photo=$(json_num id)
deadline=$((SECONDS + 30))
while :; do
  req GET "/api/photos/$photo"
  [ "$status" = 200 ] || fail "photo status: HTTP $status: $body"
  [[ $body == *'"status":"pending"'* ]] || break
  [ "$SECONDS" -lt "$deadline" ] || fail "the worker did not process photo $photo within 30s: $body"
  sleep 0.3
done
expect 200 "the worker made the thumbnail" '"status":"ready"' '"thumbnail_url":"'
thumb=$(json_str thumbnail_url)
status=$(curl -sS -o "$work/thumb" -w '%{http_code} %{content_type}' "$lb$thumb")
[[ $status == "200 image/"* ]] || fail "thumbnail $thumb: got $status"
echo "ok  fetch the thumbnail through the read API: $status, $(wc -c <"$work/thumb") bytes"
req POST /api/photos -H 'Content-Type: image/png' --data-binary 'not an image at all'
expect 400 "a non-image upload is refused" '"code":"invalid"'

step "routing: reads on the read instances, writes on the write instances"
# counts PORT METHOD: API and media requests of METHOD an instance served, from
# its own metrics (health checks, readiness and metrics left out).
counts() {
  curl -s "http://127.0.0.1:$1/metrics" |
    awk -v m="method=\"$2\"" '/^app_http_requests_total/ && index($0, m) &&
      (index($0, " /api/") || index($0, " /media/")) { n += $NF } END { print n + 0 }'
}
r_get=$(($(counts "$read1_port" GET) + $(counts "$read2_port" GET)))
r_post=$(($(counts "$read1_port" POST) + $(counts "$read2_port" POST)))
w_get=$(($(counts "$write_port" GET) + $(counts "$write2_port" GET)))
w_post=$(($(counts "$write_port" POST) + $(counts "$write2_port" POST)))
echo "read instances: $r_get GET, $r_post POST; write instances: $w_get GET, $w_post POST"
[ "$r_post" = 0 ] || fail "read instances served $r_post POST requests"
[ "$w_get" = 0 ] || fail "the write instances served $w_get GET requests"
[ "$w_post" -ge 8 ] || fail "write instances served only $w_post POST requests"
[ "$r_get" -ge 8 ] || fail "read instances served only $r_get GET requests"
if [ "$(counts "$read1_port" GET)" = 0 ] || [ "$(counts "$read2_port" GET)" = 0 ]; then
  fail "HAProxy did not spread reads over both read instances"
fi
echo "ok  routing by method, reads balanced over both read instances"

step "a read instance is killed under load: HAProxy retries and redispatches, no request fails"
# 4 clients read in a loop while read1 is killed (SIGKILL: no graceful
# shutdown, requests in flight cut). A GET cut without an answer is retried on
# read2 (retry-on empty-response), a refused connection too (conn-failure),
# before the health checks have taken read1 out.
: >"$work/reads"
read_load() {
  local end=$((SECONDS + 4))
  while [ "$SECONDS" -lt "$end" ]; do
    curl -sS -o /dev/null -w '%{http_code}\n' "$lb/api/posts/$post" >>"$work/reads" 2>&1 || echo "curl-failed" >>"$work/reads"
  done
}
load_pids=()
for _ in 1 2 3 4; do
  read_load &
  load_pids+=("$!")
done
sleep 1
kill -KILL "$(pid_of read1)"
wait "${load_pids[@]}"
total=$(wc -l <"$work/reads")
bad=$(grep -cv '^200$' "$work/reads" || true)
[ "$total" -ge 20 ] || fail "only $total reads ran during the kill"
[ "$bad" = 0 ] || fail "$bad of $total reads failed while read1 was killed: $(sort "$work/reads" | uniq -c | tr '\n' ' ')"
echo "ok  read1 killed: $total/$total reads answered 200"

step "a write instance is killed: its refused connections are redispatched, no write fails"
kill -KILL "$(pid_of write2)"
# At once, before the health checks notice: half of these would go to write2.
for i in 1 2 3 4 5 6 7 8 9 10; do
  req POST /api/posts -H 'Content-Type: application/json' --data "{\"body\":\"after the kill $i\"}"
  [ "$status" = 201 ] || fail "POST $i after write2 was killed: HTTP $status: $body"
done
echo "ok  write2 killed: 10/10 writes answered 201 by write1"

step "log out"
req DELETE /api/sessions
expect 204 "log out"
req POST /api/posts -H 'Content-Type: application/json' --data '{"body":"after logout"}'
expect 401 "a write after log out is refused" '"code":"unauthorized"'

step "e2e passed"
