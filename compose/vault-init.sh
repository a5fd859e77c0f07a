#!/bin/sh
# Prepares Vault for the federation's nodes, with the vault CLI and a token
# allowed to manage mounts, policies and tokens (the dev root token):
#
#   vault-init.sh setup      enable Transit (and KV v2 at secret/ if missing);
#                            per node ID a policy limited to its own Transit key
#                            and KV secret, and a periodic token with only that
#                            policy in CN_TOKEN_DIR/ID/token (mode 0600)
#   vault-init.sh teardown   revoke those tokens, delete the nodes' Transit keys,
#                            KV secrets and policies
#
# The compose `vault-init` service runs `setup`; compose/run-local.sh runs both.
# POSIX sh (the vault image has busybox only).
#
# Settings (environment):
#   VAULT_ADDR, VAULT_TOKEN  the server and a token with the rights above
#   VAULT                    the vault binary               (default vault)
#   CN_TOKEN_DIR             where node tokens are written  (required)
#   CN_TOKEN_OWNER           chown the token files to this uid:gid (optional)
#   CN_VAULT_PREFIX          prefix of Transit key, KV secret and policy names (default none)
#   CN_NODES                 node ids                       (default "bank-a tax-dept market-reg")
set -eu

VAULT=${VAULT:-vault}
CN_TOKEN_DIR=${CN_TOKEN_DIR:?set CN_TOKEN_DIR}
CN_TOKEN_OWNER=${CN_TOKEN_OWNER:-}
CN_VAULT_PREFIX=${CN_VAULT_PREFIX:-}
CN_NODES=${CN_NODES:-bank-a tax-dept market-reg}
: "${VAULT_ADDR:?set VAULT_ADDR}" "${VAULT_TOKEN:?set VAULT_TOKEN}"

log() { echo "vault-init: $*" >&2; }

# policy prints the policy of node key name k: create and use its own Transit
# key and KV v2 secret, nothing else (rotation and retirement stay with the
# operator's token).
policy() {
	cat <<EOF
path "transit/keys/$1" { capabilities = ["create", "read", "update"] }
path "transit/sign/$1" { capabilities = ["update"] }
path "secret/data/creditnode/$1" { capabilities = ["create", "read", "update"] }
EOF
}

setup() {
	mounts=$("$VAULT" secrets list -format=json)
	if ! printf '%s' "$mounts" | grep -q '"transit/"'; then
		"$VAULT" secrets enable transit >&2
	fi
	if ! printf '%s' "$mounts" | grep -q '"secret/"'; then
		"$VAULT" secrets enable -path=secret kv-v2 >&2
	fi
	umask 077
	mkdir -p "$CN_TOKEN_DIR"
	for id in $CN_NODES; do
		name=$CN_VAULT_PREFIX$id
		policy "$name" | "$VAULT" policy write "creditnode-$name" - >&2
		dir=$CN_TOKEN_DIR/$id
		mkdir -p "$dir"
		if [ -s "$dir/token" ] && VAULT_TOKEN=$(cat "$dir/token") "$VAULT" token lookup >/dev/null 2>&1; then
			log "$id: token in $dir/token still valid, kept"
		else
			# -field=token writes the token only, straight into the file.
			"$VAULT" token create -orphan -policy="creditnode-$name" -period=768h \
				-display-name="creditnode-$name" -field=token >"$dir/token.tmp"
			mv "$dir/token.tmp" "$dir/token"
			log "$id: policy creditnode-$name, token in $dir/token"
		fi
		chmod 700 "$dir"
		chmod 600 "$dir/token"
		if [ -n "$CN_TOKEN_OWNER" ]; then
			chown -R "$CN_TOKEN_OWNER" "$dir"
		fi
	done
	log "transit/ enabled, KV v2 at secret/, tokens for: $CN_NODES"
}

teardown() {
	for id in $CN_NODES; do
		name=$CN_VAULT_PREFIX$id
		if [ -s "$CN_TOKEN_DIR/$id/token" ]; then
			VAULT_TOKEN=$(cat "$CN_TOKEN_DIR/$id/token") "$VAULT" token revoke -self >/dev/null 2>&1 || true
			rm -f "$CN_TOKEN_DIR/$id/token"
		fi
		if "$VAULT" read "transit/keys/$name" >/dev/null 2>&1; then
			"$VAULT" write "transit/keys/$name/config" deletion_allowed=true >/dev/null
			"$VAULT" delete "transit/keys/$name" >/dev/null
		fi
		"$VAULT" kv metadata delete -mount=secret "creditnode/$name" >/dev/null 2>&1 || true
		"$VAULT" policy delete "creditnode-$name" >/dev/null 2>&1 || true
		log "$id: token revoked, Transit key $name, secret creditnode/$name and policy removed"
	done
}

case "${1:-}" in
setup) setup ;;
teardown) teardown ;;
*)
	echo "usage: $0 setup|teardown" >&2
	exit 2
	;;
esac
