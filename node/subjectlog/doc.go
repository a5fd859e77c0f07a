// Package subjectlog lets a subject check that a provider showed it every
// inquiry-log entry naming it — "nothing hidden from the subject".
//
// # Construction
//
// Each entry of the inquiry log that names a subject extends that subject's
// hash chain:
//
//	head_0 = 32 zero bytes
//	head_i = SHA-256(0x02 || head_{i-1} || index_i (8 bytes, big-endian) || leaf_hash_i)
//
// A sparse Merkle tree (the subject map, [Map]) holds, at each subject's
// key, (count, head) of its chain over the leaves [0, size). Its root is
// committed in a subject checkpoint: a C2SP tlog-checkpoint of the inquiry
// log (origin, size, RFC 6962 root, https://c2sp.org/tlog-checkpoint) with
// two extension lines,
//
//	cx-subject-map <base64 map root>
//	cx-subject-vrf <base64 VRF public key>
//
// signed with the node's Ed25519 key under the log's origin, the same note
// key as the log's own checkpoints, and cosigned by witnesses (node/witness).
// A [Committer] follows the stored tree and signs a subject checkpoint each
// time it advances.
//
// With its entries the subject receives the subject checkpoint, an RFC 6962
// inclusion proof per entry, a VRF proof of its map key and the map proof of
// its (count, head). [Verify] recomputes the chain from the entries and
// checks it against the signed map root: an entry withheld, added,
// reordered or altered changes the chain and the map proof fails
// ([ErrIncomplete]). Entries logged after the checkpoint are reported as
// pending until a later checkpoint covers them.
//
// # Map keys: a VRF, not a hash
//
// A subject's key is the output of ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381)
// on its id, under a VRF key the node derives from its signing key and
// publishes in every subject checkpoint. Two alternatives were rejected:
//
//   - H(subject id). USCCs are guessable (18 characters with a check digit,
//     many enumerable from public registers), so anyone who can obtain map
//     proofs or the key set could test whether a given enterprise was ever
//     queried at this provider.
//   - A keyed hash HMAC(node secret, subject). Hides ids, but the subject
//     cannot check the key it is given, so a provider could keep two leaves
//     for one subject — the real chain, and a truncated one shown to the
//     subject — and the commitment would prove nothing.
//
// The VRF output is unique for a key and input (a provider cannot produce a
// second valid key for a subject) and unpredictable without the VRF private
// key (nobody else can compute where a guessed subject would be). Witnesses
// refuse a subject checkpoint whose VRF key differs from the one they saw
// before, so the provider cannot move subjects by changing keys. Proofs reveal
// only hashes; an absence proof reveals one other key's position and value
// hash, neither of which names a subject.
//
// # Guarantee
//
// If the subject's verification succeeds, then under the provider's
// registered key (and the cosigning witnesses' keys, for k > 0): the
// entries it received below the checkpoint's size are exactly the leaves of
// that signed log naming it, in order.
//
// # Limits
//
//   - Split view: a provider can sign a different map for each subject.
//     Only witnesses detect that (two subject checkpoints of one size with
//     different roots or map roots); a subject should require cosignatures
//     from k independent witnesses (Verify's MinWitnesses).
//   - A provider can refuse to log an inquiry at all, or log it under
//     another subject id. The commitment covers what is logged. The
//     counter-measures are the requester's signed receipts (log index and
//     leaf hash, checkable by inclusion proof) and the requester's own
//     outbound log, which a subject or auditor can reconcile against.
//   - Freshness: the checkpoint may lag the log; entries after it are
//     pending. A subject sees at most what was committed when it asked.
//   - The VRF key is derived from a deterministic Ed25519 signature of a
//     fixed label; a signer that is not deterministic (some HSMs) cannot be
//     used ([ErrNondeterministicSigner]). Anyone holding the node's signing
//     key can compute every subject's map key.
//   - The Committer keeps the map (and a subject → key cache) in memory and
//     rebuilds it from the leaf table at start-up; a map root or a proof
//     costs O(subjects) hashing (about 15 ms and 21 ms for 10,000 subjects
//     on 2 cores; BenchmarkMapRoot10k, BenchmarkMapProve10k).
//   - Witnesses check one map per log size, not how the map was computed:
//     a subject's own verification is what checks its chain.
package subjectlog
