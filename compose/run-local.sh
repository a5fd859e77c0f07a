#!/usr/bin/env bash
# The compose topology as local processes: bank-a (bank), tax-dept
# (department) and market-reg (department, registrar), each on its own schema
# of the local PostgreSQL, with keys in a Vault dev server when one is
# available (compose/vault-dev.sh, binary already built) or else in files.
#
#   compose/run-local.sh [--file-keys] [--build-vault] [WORKDIR]   start (WORKDIR: default a new mktemp -d)
#   compose/run-local.sh stop WORKDIR                             stop the nodes, drop the schemas,
#                                                                 remove the Vault keys and tokens
#
# --file-keys    keep the keys in files even if Vault is available
# --build-vault  build the Vault binary if it is not cached (compose/vault-dev.sh build, ~11 min)
#
# Settings (environment):
#   CREDITNODE_TEST_POSTGRES  server and database (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
#   RUNLOCAL_PORT_BASE        member API port of bank-a (default 7443); tax-dept +10, market-reg +20;
#                             each subject API is the member port + 1
#   RUNLOCAL_OPS_PORT_BASE    ops port of bank-a (default 9090); +10, +20 likewise
#   CREDITNODE_BIN            use this creditnode binary instead of `go build ./cmd/creditnode`
#
# It uses the same scripts as the containers: vault-init.sh (per-node Vault
# policies and tokens) and init-federation.sh (keys, certificates, registry).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PGURL=${CREDITNODE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
PORT_BASE=${RUNLOCAL_PORT_BASE:-7443}
OPS_PORT_BASE=${RUNLOCAL_OPS_PORT_BASE:-9090}
NODES=(bank-a tax-dept market-reg)

log() { echo "run-local: $*" >&2; }
die() {
	log "$*"
	exit 1
}

usage() {
	sed -n '7,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ---- stop ------------------------------------------------------------------

# stop_node ends the serve process of a pid file, if it is still ours.
stop_node() {
	local pidfile=$1 pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'creditnode serve'; then
		kill -INT "$pid"
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid did not stop in 10s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		log "stopped $(basename "$pidfile" .pid) (pid $pid)"
	fi
	rm -f "$pidfile"
}

stop() {
	local work=$1 id
	[ -f "$work/run.env" ] || die "$work/run.env not found: not a run-local work directory"
	# shellcheck source=/dev/null
	. "$work/run.env"
	for id in "${NODES[@]}"; do
		stop_node "$work/pids/$id.pid"
	done
	if [ -n "${RUN_SCHEMAS:-}" ]; then
		local sql="SET client_min_messages = warning;" s
		for s in $RUN_SCHEMAS; do
			sql+="DROP SCHEMA IF EXISTS $s CASCADE;"
		done
		if psql -X -q -v ON_ERROR_STOP=1 "$PGURL" -c "$sql" >/dev/null; then
			log "dropped schemas $RUN_SCHEMAS"
		else
			log "could not drop schemas $RUN_SCHEMAS"
		fi
	fi
	if [ "${RUN_VAULT:-0}" = 1 ]; then
		local exports
		if exports=$("$HERE/vault-dev.sh" env) && eval "$exports" &&
			"$CREDITNODE_VAULT_BIN" status >/dev/null 2>&1; then
			VAULT="$CREDITNODE_VAULT_BIN" CN_TOKEN_DIR="$work/vault-tokens" CN_VAULT_PREFIX="$RUN_VAULT_PREFIX" \
				"$HERE/vault-init.sh" teardown
			# The dev server is shared (tests use it too): it keeps running.
			log "the Vault dev server keeps running (compose/vault-dev.sh stop ends it)"
		else
			log "Vault is not reachable: its keys $RUN_VAULT_PREFIX* were not removed"
		fi
	fi
	rm -f "$work/run.env"
	log "stopped; logs and node directories stay in $work (rm -rf it when done)"
}

# ---- start -----------------------------------------------------------------

# port_free reports whether nothing listens on 127.0.0.1:port.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() {
	local id=$1 member=$2 public=$3 ops=$4 pid i
	pid=$(cat "$WORK/pids/$id.pid")
	for i in $(seq 1 150); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$id exited; last lines of $WORK/logs/$id.log:"
			tail -20 "$WORK/logs/$id.log" >&2
			return 1
		fi
		if ! port_free "$member" && ! port_free "$public" &&
			curl -fsS -o /dev/null "http://127.0.0.1:$ops/readyz" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	log "$id did not become ready in 30s; see $WORK/logs/$id.log"
	return 1
}

start() {
	local file_keys=$1 build_vault=$2
	WORK=$3
	if [ -z "$WORK" ]; then
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/creditnode-local.XXXXXX")
	fi
	mkdir -p "$WORK"
	WORK=$(cd "$WORK" && pwd)
	[ ! -e "$WORK/run.env" ] || die "$WORK already holds a running network: compose/run-local.sh stop $WORK"
	[ ! -e "$WORK/federation" ] || die "$WORK/federation exists: use a fresh work directory"
	case $WORK in *[[:space:]]*) die "the work directory must not contain blanks: $WORK" ;; esac
	command -v psql >/dev/null || die "psql is needed (to create the schemas)"
	command -v curl >/dev/null || die "curl is needed (to wait for /readyz)"

	local i id member
	for i in 0 1 2; do
		for member in $((PORT_BASE + i * 10)) $((PORT_BASE + i * 10 + 1)) $((OPS_PORT_BASE + i * 10)); do
			port_free "$member" || die "port $member is in use (set RUNLOCAL_PORT_BASE / RUNLOCAL_OPS_PORT_BASE)"
		done
	done
	psql -X -q -v ON_ERROR_STOP=1 "$PGURL" -c 'SELECT 1' >/dev/null ||
		die "PostgreSQL at $PGURL is not reachable (set CREDITNODE_TEST_POSTGRES)"

	mkdir -p "$WORK/bin" "$WORK/pids" "$WORK/logs"
	local suffix
	suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	# run.env records what stop must undo; it is rewritten as the run proceeds,
	# and on a failed start the trap below undoes what was done so far.
	{
		echo "PGURL='$PGURL'"
		echo "RUN_SCHEMAS=''"
		echo "RUN_VAULT=0"
	} >"$WORK/run.env"
	set -E
	trap 'trap - ERR; log "start failed; cleaning up"; stop "$WORK" || true' ERR

	if [ -n "${CREDITNODE_BIN:-}" ]; then
		log "using $CREDITNODE_BIN (CREDITNODE_BIN) instead of building"
		cp "$CREDITNODE_BIN" "$WORK/bin/creditnode"
	else
		log "building creditnode into $WORK/bin"
		CGO_ENABLED=0 GOTOOLCHAIN=go1.27.3 go build -C "$ROOT" -o "$WORK/bin/creditnode" ./cmd/creditnode
	fi
	local bin=$WORK/bin/creditnode

	# One schema per node in the test database.
	local schemas="" sql="" db
	for id in "${NODES[@]}"; do
		db=cn_${suffix}_${id//-/_}
		schemas+="$db "
		sql+="CREATE SCHEMA $db;"
	done
	schemas=${schemas% }
	echo "RUN_SCHEMAS='$schemas'" >>"$WORK/run.env"
	psql -X -q -v ON_ERROR_STOP=1 "$PGURL" -c "$sql" >/dev/null
	log "created schemas $schemas"
	local sep='?'
	case $PGURL in *\?*) sep='&' ;; esac
	local store_template="$PGURL${sep}search_path=cn_${suffix}_@DB@"

	# Keys: Vault if we can, else files.
	local vault_addr="" vault_prefix="runlocal-$suffix-"
	if [ "$file_keys" = 1 ]; then
		log "keys in files (--file-keys)"
	elif [ ! -x "$HERE/vault-dev.sh" ]; then
		log "keys in files: compose/vault-dev.sh is missing"
	else
		local exports vault_bin
		exports=$("$HERE/vault-dev.sh" env)
		vault_bin=$(eval "$exports" && echo "$CREDITNODE_VAULT_BIN")
		if [ ! -x "$vault_bin" ] && [ "$build_vault" = 0 ]; then
			log "keys in files: no Vault binary at $vault_bin (compose/vault-dev.sh build, or --build-vault)"
		else
			if exports=$("$HERE/vault-dev.sh" start); then
				eval "$exports"
				vault_addr=$VAULT_ADDR
				{
					echo "RUN_VAULT=1"
					echo "RUN_VAULT_PREFIX='$vault_prefix'"
				} >>"$WORK/run.env"
				VAULT="$CREDITNODE_VAULT_BIN" CN_TOKEN_DIR="$WORK/vault-tokens" CN_VAULT_PREFIX="$vault_prefix" \
					"$HERE/vault-init.sh" setup
				log "keys in Vault at $vault_addr (Transit keys and KV secrets named ${vault_prefix}ID)"
			else
				log "keys in files: compose/vault-dev.sh start failed"
			fi
		fi
	fi

	CREDITNODE=$bin FED_DIR=$WORK/federation \
		CN_LISTEN_HOST=127.0.0.1 CN_ADVERTISE_HOST=127.0.0.1 \
		CN_PORT_BASE=$PORT_BASE CN_OPS_PORT_BASE=$OPS_PORT_BASE CN_PORT_STEP=10 \
		CN_STORE_TEMPLATE=$store_template CN_CERT_HOSTS="127.0.0.1 localhost" \
		CN_VAULT_ADDR=$vault_addr CN_VAULT_TOKEN_DIR=$WORK/vault-tokens CN_VAULT_PREFIX=$vault_prefix \
		CN_SEED_FILE=$HERE/seed/registration.jsonl \
		"$HERE/init-federation.sh"

	for id in "${NODES[@]}"; do
		nohup "$bin" serve --dir "$WORK/federation/$id" >"$WORK/logs/$id.log" 2>&1 </dev/null &
		echo $! >"$WORK/pids/$id.pid"
	done
	for i in 0 1 2; do
		id=${NODES[$i]}
		member=$((PORT_BASE + i * 10))
		wait_ready "$id" "$member" $((member + 1)) $((OPS_PORT_BASE + i * 10))
		log "$id ready (pid $(cat "$WORK/pids/$id.pid")): member https://127.0.0.1:$member, subject https://127.0.0.1:$((member + 1)), ops http://127.0.0.1:$((OPS_PORT_BASE + i * 10))"
	done
	trap - ERR

	cat <<EOF
The federation runs in $WORK (logs in $WORK/logs).

A statutory query that needs no consent: tax-dept asks market-reg for the public
registration of the seeded subject:

  $bin query --dir $WORK/federation/tax-dept --provider market-reg \\
    --subject 91330106MA10000095 --purpose licensing_review --categories registration

Health and metrics: curl http://127.0.0.1:$OPS_PORT_BASE/readyz (bank-a; tax-dept +10, market-reg +20)

Stop it (nodes, schemas${vault_addr:+, Vault keys and tokens}):

  $HERE/run-local.sh stop $WORK
EOF
}

# ---- main ------------------------------------------------------------------

case "${1:-}" in
stop)
	[ $# -eq 2 ] || usage
	stop "$(cd "$2" && pwd)"
	;;
-h | --help) usage ;;
*)
	file_keys=0
	build_vault=0
	work=""
	while [ $# -gt 0 ]; do
		case $1 in
		--file-keys) file_keys=1 ;;
		--build-vault) build_vault=1 ;;
		-*) usage ;;
		*)
			[ -z "$work" ] || usage
			work=$1
			;;
		esac
		shift
	done
	start "$file_keys" "$build_vault" "$work"
	;;
esac
