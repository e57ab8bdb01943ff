#!/usr/bin/env bash
# The project's whole test run, as CI runs it on a fresh Debian machine with Go:
#   static checks (gofmt, go vet, go build), every Go test (the infrastructure under the
#   Pulumi mock engine, the app against real MariaDB primary + replica and Redis started on
#   loopback by scripts/services.sh), the offline preview of both stacks, and the app
#   end to end behind HAProxy (scripts/e2e.sh).
# It installs what is missing from Debian's packages, starts everything in a temporary
# folder, stops it all on exit, and fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

step "go build and go vet"
go build ./...
go vet ./...

step "install nginx (the web tier's config is checked with nginx -t)"
scripts/services.sh install nginx=nginx

step "start MariaDB primary + replica and Redis on loopback"
work=$(mktemp -d /tmp/scaling-aws-test.XXXXXX)
cleanup() {
  scripts/services.sh stop "$work" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
scripts/services.sh start "$work"
# shellcheck disable=SC1091
. "$work/env"
export SCALING_AWS_REQUIRE_SERVERS=1

step "go test ./... (infrastructure under the mock engine, app against real servers)"
go test -count=1 -timeout 30m ./...

step "offline preview of the dev and prod stacks, every implemented stage"
go build -o "$work/preview" ./cmd/preview
for stack in dev prod; do
  "$work/preview" -stack "$stack" > "$work/preview-$stack.txt"
  "$work/preview" -stack "$stack" -json > "$work/preview-$stack.json"
  tail -n 1 "$work/preview-$stack.txt"
done
# Prod from users++ serves TLS, which needs a domain: give it one.
domain=(-config domain=example.com -config hostedZoneId=Z0123456789EXAMPLE)
prev=""
for stage in $("$work/preview" -list-stages | awk 'NR > 1 && / yes / {print $2}'); do
  for stack in dev prod; do
    extra=()
    [ "$stack" = prod ] && extra=("${domain[@]}")
    from=()
    [ -n "$prev" ] && from=(-from "$prev")
    printf '%s %s: ' "$stack" "$stage"
    "$work/preview" -stack "$stack" -stage "$stage" "${from[@]}" "${extra[@]}" > "$work/preview-$stack-$stage.txt"
    tail -n 1 "$work/preview-$stack-$stage.txt"
  done
  prev=$stage
done
if go run ./cmd/preview -stack dev -stage users+++++++ >/dev/null 2>"$work/bad.txt"; then
  echo "the preview accepted an unknown stage" >&2
  exit 1
fi
grep -q "scaling-aws:stage" "$work/bad.txt"

step "app end to end behind HAProxy"
scripts/services.sh stop "$work" >/dev/null
scripts/e2e.sh

step "faults under a write load: no acknowledged write lost (scripts/faults.sh)"
scripts/faults.sh

step "all tests passed"
