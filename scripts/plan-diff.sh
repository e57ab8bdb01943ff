#!/usr/bin/env bash
# The offline plan of a change, for CI without cloud credentials: evaluates a stack at a base
# revision and at this checkout under the Pulumi mock engine, and prints what `pulumi up`
# would create, update, replace and delete between them, then the security rules.
# Exits 1 if the change would lose data (a stateful resource replaced, or dropped without
# retainOnDelete) or breaks a security rule.
#
#   scripts/plan-diff.sh [BASE_REV] [STACK]     defaults: main, dev
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-main}
stack=${2:-dev}
work=$(mktemp -d)
cleanup() {
  git worktree remove --force "$work/base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add --detach "$work/base" "$base" >/dev/null 2>&1 ||
  { echo "plan-diff: cannot check out $base" >&2; exit 1; }
(cd "$work/base" && go run ./cmd/preview -stack "$stack" -json) > "$work/base.json"
go run ./cmd/preview -stack "$stack" -against "$work/base.json"
