#!/usr/bin/env bash
# Known-vulnerability check of the node against an offline copy of the Go
# vulnerability database: the golang.org/x/vulndb module from the module
# proxy (its data/osv reports), indexed with its own cmd/indexdb into the
# cache, then govulncheck -db file://… on every package. Fails (exit 3) on a
# vulnerability the node's code reaches; ones in required modules that no
# call reaches are reported by govulncheck but do not fail.
#
#   compose/govulncheck.sh             check ./...
#
# Settings (environment): CREDITNODE_CACHE (default $HOME/.cache/creditnode).
set -euo pipefail
cd "$(dirname "$0")/.."

VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
GOVULNCHECK_VERSION=v1.10.0
CACHE=${CREDITNODE_CACHE:-$HOME/.cache/creditnode}
DB=$CACHE/vulndb-$VULNDB_VERSION
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}

if [ ! -f "$DB/index/db.json" ]; then
	echo "govulncheck: indexing golang.org/x/vulndb@$VULNDB_VERSION into $DB" >&2
	src=$(GOFLAGS= go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$src" ] || { echo "govulncheck: go mod download of golang.org/x/vulndb failed" >&2; exit 1; }
	rm -rf "$DB.tmp"
	mkdir -p "$CACHE"
	(cd "$src" && GOFLAGS=-mod=mod go run ./cmd/indexdb -vulns data/osv -out "$DB.tmp")
	mv "$DB.tmp" "$DB"
fi
GOFLAGS= go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "file://$DB" ./...
