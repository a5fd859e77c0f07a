// Package witness lets the nodes of a federation witness each other's
// inquiry logs, so a provider cannot show different subjects (or auditors)
// different logs without being caught.
//
// Every node periodically fetches each peer's subject checkpoint (a C2SP
// tlog-checkpoint of the inquiry log carrying the subject-map root, see
// node/subjectlog) over mutual TLS, and checks it against the last one it
// cosigned for that peer: signed by a key the registry lists for the peer;
// at a larger size, consistent by an RFC 6962 consistency proof; at the same
// size, identical (root and map root); never smaller; same VRF key. If all
// hold it cosigns — a C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature,
// Ed25519, note key name "creditexchange/<id>/witness", the node's registered
// signing key) — and stores the cosigned note as the peer's latest, durably
// (StoreState: the node database's witness tables, which also refuse to move
// a record backwards; FileState for a store without them). If any fails it raises an alarm: an error log line, the
// creditnode_witness_alarms_total counter, and a durable alarm record with
// both notes as evidence, served at GET /v1/witness/alarms; it does not
// cosign.
//
// Each node also serves its own latest subject checkpoint and consistency
// proofs to its witnesses, serves its cosignatures of others' checkpoints,
// and collects the cosignatures others made of its own (stored by the
// subjectlog.Committer, so they survive a restart), which it hands to
// subjects with their log so they can require k of them offline.
//
// Limits: the first checkpoint of a peer is trusted on first use; a witness
// checks that there is one map per log size, not that the map was computed
// correctly (subjects check their own chains); a witness that is offline or
// colludes with the provider protects nobody, hence k independent witnesses;
// the cosignature timestamp is the witness's clock.
package witness
