#!/usr/bin/env bash
# Vault for development and CI: builds (or reuses) a vault 1.21.0 binary from
# source, and runs it as a dev server on loopback (in-memory storage, a known
# root token, Transit enabled, KV v2 at secret/).
#
#   compose/vault-dev.sh build            build the binary into the cache, or reuse it
#   eval "$(compose/vault-dev.sh start)"  start the dev server; prints export lines
#   compose/vault-dev.sh stop             stop it
#   compose/vault-dev.sh env              print the export lines again
#
# Settings (environment):
#   CREDITNODE_CACHE      cache directory            (default $HOME/.cache/creditnode)
#   CREDITNODE_VAULT_BIN  the binary                 (default $CREDITNODE_CACHE/vault-1.21.0)
#   VAULT_DEV_LISTEN      listen address             (default 127.0.0.1:8200)
#   VAULT_DEV_ROOT_TOKEN  dev root token             (default creditnode-dev-root)
#
# Only export lines go to stdout; everything else goes to stderr. The dev
# server's log (which holds its unseal key) is $CREDITNODE_CACHE/vault-dev/vault.log, mode 0600.
# A dev server is for tests only: never keep real keys in it.
set -euo pipefail

VAULT_VERSION=1.21.0
CACHE=${CREDITNODE_CACHE:-$HOME/.cache/creditnode}
BIN=${CREDITNODE_VAULT_BIN:-$CACHE/vault-$VAULT_VERSION}
STATE=$CACHE/vault-dev
LISTEN=${VAULT_DEV_LISTEN:-127.0.0.1:8200}
TOKEN=${VAULT_DEV_ROOT_TOKEN:-creditnode-dev-root}
ADDR=http://$LISTEN

log() { echo "vault-dev: $*" >&2; }

build() {
	if [ -x "$BIN" ]; then
		log "reusing $BIN"
		return
	fi
	mkdir -p "$CACHE"
	# One build at a time: a second caller waits for the first and reuses its result.
	exec 9>"$CACHE/vault-build.lock"
	flock 9
	if [ -x "$BIN" ]; then
		log "reusing $BIN (built meanwhile)"
		return
	fi
	log "building vault $VAULT_VERSION from source into $BIN (about 11 minutes on 2 cores)"
	local mod work
	mod=$(cd "$CACHE" && GOFLAGS= go mod download -json "github.com/hashicorp/vault@v$VAULT_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$mod" ] || { log "go mod download of vault failed"; exit 1; }
	work=$(mktemp -d "$CACHE/vault-src.XXXXXX")
	trap 'rm -rf "$work"' RETURN
	cp -r "$mod" "$work/vault"
	chmod -R u+w "$work/vault"
	(
		cd "$work/vault"
		for m in github.com/hashicorp/vault/api github.com/hashicorp/vault/api/auth/approle \
			github.com/hashicorp/vault/api/auth/kubernetes github.com/hashicorp/vault/api/auth/userpass \
			github.com/hashicorp/vault/sdk; do
			go mod edit -dropreplace "$m"
		done
		GOFLAGS=-mod=mod go build -ldflags="-s -w" -o "$BIN.tmp" .
	)
	mv "$BIN.tmp" "$BIN"
	log "built $BIN"
}

running() {
	[ -f "$STATE/vault.pid" ] && kill -0 "$(cat "$STATE/vault.pid")" 2>/dev/null
}

exports() {
	echo "export VAULT_ADDR=$ADDR"
	echo "export VAULT_TOKEN=$TOKEN"
	echo "export CREDITNODE_VAULT_BIN=$BIN"
}

start() {
	build
	mkdir -p "$STATE"
	chmod 700 "$STATE"
	if running; then
		log "already running (pid $(cat "$STATE/vault.pid")) at $ADDR"
		exports
		return
	fi
	: >"$STATE/vault.log"
	chmod 600 "$STATE/vault.log"
	VAULT_LOG_LEVEL=warn nohup "$BIN" server -dev -dev-no-store-token \
		-dev-listen-address="$LISTEN" -dev-root-token-id="$TOKEN" >>"$STATE/vault.log" 2>&1 </dev/null &
	echo $! >"$STATE/vault.pid"
	local i
	for i in $(seq 1 150); do
		if VAULT_ADDR=$ADDR "$BIN" status >/dev/null 2>&1; then
			break
		fi
		if ! running; then
			log "vault exited; see $STATE/vault.log"
			tail -20 "$STATE/vault.log" | grep -v -i -e 'unseal key' -e 'root token' >&2 || true
			exit 1
		fi
		sleep 0.2
	done
	if ! VAULT_ADDR=$ADDR "$BIN" status >/dev/null 2>&1; then
		log "vault at $ADDR did not become healthy"
		stop
		exit 1
	fi
	if ! VAULT_ADDR=$ADDR VAULT_TOKEN=$TOKEN "$BIN" secrets list -format=json | grep -q '"transit/"'; then
		VAULT_ADDR=$ADDR VAULT_TOKEN=$TOKEN "$BIN" secrets enable transit >&2
	fi
	log "dev server running (pid $(cat "$STATE/vault.pid")) at $ADDR; transit/ enabled, KV v2 at secret/"
	exports
}

stop() {
	if ! running; then
		log "not running"
		rm -f "$STATE/vault.pid"
		return
	fi
	local pid i
	pid=$(cat "$STATE/vault.pid")
	kill "$pid"
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	rm -f "$STATE/vault.pid"
	log "stopped (pid $pid)"
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
env) exports ;;
*)
	echo "usage: $0 build|start|stop|env" >&2
	exit 2
	;;
esac
