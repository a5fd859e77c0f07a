#!/bin/sh
# Lays out the three-node federation with the creditnode CLI: federation
# authority key, development CA, node directories (bank-a, tax-dept,
# market-reg), TLS certificates, and the signed registry. The compose `init`
# service runs it into the shared volume; compose/run-local.sh runs it into a
# local work directory. POSIX sh (the container image has busybox only).
#
# It is idempotent: when FED_DIR/registry.jws exists it does nothing. It
# builds everything in FED_DIR/.staging and moves it into place at the end,
# registry.jws last, so a failed run leaves no half-made federation behind.
#
# Settings (environment):
#   CREDITNODE          the binary                               (default creditnode)
#   FED_DIR             output directory                         (default /federation)
#   CN_LISTEN_HOST      address the nodes listen on              (default 0.0.0.0)
#   CN_ADVERTISE_HOST   host in the advertised https:// URLs     (default: the node id,
#                       which is the compose service name)
#   CN_PORT_BASE        first node's member API port; the public
#                       (subject) API is the next port           (default 7443)
#   CN_OPS_PORT_BASE    first node's ops port (/healthz, /readyz,
#                       /metrics on 127.0.0.1)                   (default 9090)
#   CN_PORT_STEP        port distance between nodes: 0 when each
#                       node has its own network namespace       (default 0)
#   CN_STORE_TEMPLATE   store URL; @ID@ is replaced by the node id
#                       and @DB@ by the id with '-' as '_'       (default sqlite:node.db)
#   CN_CERT_HOSTS       names and IPs in every node certificate,
#                       space-separated (the node id always is)  (default: the three ids,
#                                                                  localhost, 127.0.0.1)
#   CN_VAULT_ADDR       if set, keys live in Vault there (creditnode keys vault-setup)
#   CN_VAULT_TOKEN_DIR  Vault token of node ID in DIR/ID/token (mode 0600; see vault-init.sh)
#   CN_VAULT_PREFIX     prefix of the Transit key and KV secret names (default none)
#   CN_SEED_FILE        if set, records (JSON Lines) imported into market-reg
#   CN_FEDERATION       federation name in the registry          (default credit-exchange)
set -eu

CREDITNODE=${CREDITNODE:-creditnode}
FED_DIR=${FED_DIR:-/federation}
CN_LISTEN_HOST=${CN_LISTEN_HOST:-0.0.0.0}
CN_ADVERTISE_HOST=${CN_ADVERTISE_HOST:-}
CN_PORT_BASE=${CN_PORT_BASE:-7443}
CN_OPS_PORT_BASE=${CN_OPS_PORT_BASE:-9090}
CN_PORT_STEP=${CN_PORT_STEP:-0}
CN_STORE_TEMPLATE=${CN_STORE_TEMPLATE:-sqlite:node.db}
CN_CERT_HOSTS=${CN_CERT_HOSTS:-bank-a tax-dept market-reg localhost 127.0.0.1}
CN_VAULT_ADDR=${CN_VAULT_ADDR:-}
CN_VAULT_TOKEN_DIR=${CN_VAULT_TOKEN_DIR:-}
CN_VAULT_PREFIX=${CN_VAULT_PREFIX:-}
CN_SEED_FILE=${CN_SEED_FILE:-}
CN_FEDERATION=${CN_FEDERATION:-credit-exchange}

NODES="bank-a tax-dept market-reg"

log() { echo "init-federation: $*" >&2; }

# The node table: organisation, USCC, roles, catalogue.
org() {
	case $1 in
	bank-a) echo "Bank A (SME lending)" ;;
	tax-dept) echo "Municipal Tax Service" ;;
	market-reg) echo "Administration for Market Regulation" ;;
	esac
}
uscc() {
	case $1 in
	bank-a) echo 91110000100000016D ;;
	tax-dept) echo 11110000000013127H ;;
	market-reg) echo 11110000000017232M ;;
	esac
}
roles() {
	case $1 in
	bank-a) echo bank ;;
	tax-dept) echo department ;;
	market-reg) echo department,registrar ;;
	esac
}
catalog() {
	case $1 in
	bank-a) echo "" ;;
	tax-dept) echo tax_payment=authorised,social_insurance=authorised ;;
	market-reg) echo registration=public,administrative_penalty=shared,abnormal_operation=shared,untrustworthy_list=shared ;;
	esac
}

# yq quotes s as a YAML single-quoted scalar.
yq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

if [ -s "$FED_DIR/registry.jws" ]; then
	log "$FED_DIR/registry.jws exists: federation already initialised, nothing to do"
	exit 0
fi
if [ -n "$CN_VAULT_ADDR" ] && [ -z "$CN_VAULT_TOKEN_DIR" ]; then
	log "CN_VAULT_ADDR is set but CN_VAULT_TOKEN_DIR is not"
	exit 2
fi

case $FED_DIR in *[[:space:]]*)
	log "FED_DIR must not contain blanks: $FED_DIR"
	exit 2
	;;
esac

umask 077
mkdir -p "$FED_DIR"
S=$FED_DIR/.staging
rm -rf "$S"
mkdir -p "$S"

"$CREDITNODE" registry keygen --out "$S" >&2

i=0
node_dirs=""
node_ids=""
for id in $NODES; do
	member_port=$((CN_PORT_BASE + i * CN_PORT_STEP))
	public_port=$((member_port + 1))
	ops_port=$((CN_OPS_PORT_BASE + i * CN_PORT_STEP))
	host=${CN_ADVERTISE_HOST:-$id}
	db=$(echo "$id" | tr - _)
	store=$(printf '%s' "$CN_STORE_TEMPLATE" | sed -e "s/@ID@/$id/g" -e "s/@DB@/$db/g")
	dir=$S/$id

	set -- --dir "$dir" --id "$id" --org "$(org "$id")" --uscc "$(uscc "$id")" --roles "$(roles "$id")" \
		--listen "$CN_LISTEN_HOST:$member_port" --public-listen "$CN_LISTEN_HOST:$public_port" \
		--registry ../registry.jws --authority ../authority.jwk --ca ../ca.crt
	if [ -n "$(catalog "$id")" ]; then
		set -- "$@" --catalog "$(catalog "$id")"
	fi
	"$CREDITNODE" init "$@" >&2

	# init has no flags for these: the store, the advertised URLs and the
	# ops listener. node.yaml is strict YAML (a repeated key is an error), so
	# drop the store line init wrote before appending.
	grep -v '^store:' "$dir/node.yaml" >"$dir/node.yaml.tmp"
	{
		echo "store: $(yq "$store")"
		echo "endpoint: $(yq "https://$host:$member_port")"
		echo "public_endpoint: $(yq "https://$host:$public_port")"
		echo "ops_listen: $(yq "127.0.0.1:$ops_port")"
	} >>"$dir/node.yaml.tmp"
	chmod 644 "$dir/node.yaml.tmp"
	mv "$dir/node.yaml.tmp" "$dir/node.yaml"

	if [ -n "$CN_VAULT_ADDR" ]; then
		"$CREDITNODE" keys vault-setup --dir "$dir" --address "$CN_VAULT_ADDR" \
			--token-file "$CN_VAULT_TOKEN_DIR/$id/token" \
			--signing-key "$CN_VAULT_PREFIX$id" --encryption-secret "secret/creditnode/$CN_VAULT_PREFIX$id" >&2
		# The local key files are no longer used: do not leave them lying around.
		rm -f "$dir/signing.key" "$dir/encryption.agekey"
	fi
	log "$id: member https://$host:$member_port, subject https://$host:$public_port, ops 127.0.0.1:$ops_port, keys ${CN_VAULT_ADDR:+in Vault}${CN_VAULT_ADDR:-in files}"

	node_dirs="$node_dirs --node-dir $dir"
	node_ids="$node_ids --node $id"
	i=$((i + 1))
done

hosts=""
for h in $CN_CERT_HOSTS; do
	hosts="$hosts --host $h"
done
# Word splitting of node_ids, node_dirs and hosts is intended: none of the
# ids, names or the staging path holds blanks (FED_DIR is checked above).
# shellcheck disable=SC2086
"$CREDITNODE" certs --out "$S" $node_ids $hosts >&2
# shellcheck disable=SC2086
"$CREDITNODE" registry build --federation "$CN_FEDERATION" $node_dirs --out "$S/registry.json" >&2
"$CREDITNODE" registry sign --key "$S/authority.key" --in "$S/registry.json" --out "$S/registry.jws" >&2
"$CREDITNODE" registry verify "$S/registry.jws" --authority "$S/authority.jwk" >&2

# Seed records are a convenience for trying queries, not part of the
# federation: a failed import is reported, and the federation still comes up.
# (`records import` of this creditnode opens SQLite stores only; with a
# PostgreSQL store it fails until the command opens the configured store.)
if [ -n "$CN_SEED_FILE" ]; then
	if "$CREDITNODE" records import --dir "$S/market-reg" "$CN_SEED_FILE" >&2; then
		log "market-reg seeded from $CN_SEED_FILE"
	else
		log "WARNING: seeding market-reg from $CN_SEED_FILE failed (above); no seed records"
	fi
fi

# Into place; registry.jws, the marker of a finished run, last.
for f in "$S"/* ; do
	name=${f##*/}
	[ "$name" = registry.jws ] && continue
	rm -rf "${FED_DIR:?}/$name"
	mv "$f" "$FED_DIR/$name"
done
mv "$S/registry.jws" "$FED_DIR/registry.jws"
rmdir "$S"
# Node certificates and configs are readable by the node user only; the
# public files (CA certificate, authority JWK, registry) by anyone.
chmod 644 "$FED_DIR/ca.crt" "$FED_DIR/authority.jwk" "$FED_DIR/registry.jws" "$FED_DIR/registry.json"
log "federation ready in $FED_DIR"
