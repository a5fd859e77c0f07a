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
// The entries come in pages of at most 1,000 (schemas.SubjectPageRequest),
// so that an answer stays far below the token size limit however many
// entries a subject has: [Committer.ProvePage] proves a page against the
// checkpoint the walk's first page chose ([PageProof].At; [ErrNotKept] once
// Retention has dropped it), with the map proof of the whole chain and the
// inclusion proofs of the page's entries only ([tlog.Tree.InclusionProofs],
// each stored node read once for the page). The subject puts the pages
// together (node/subjectcheck) and runs Verify on the whole: the chain is
// the same whichever page an entry came on.
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
// # The stored map
//
// The map is kept in the node's database (SQLite or PostgreSQL, migration
// 0014), not in memory. Its nodes are versioned as in Diem's Jellyfish
// Merkle Tree and Trillian's map storage: a subtree holding one key is
// that key's leaf (key, count, head), stored at the subtree's position;
// an empty subtree is not stored; any other subtree is an internal node
// holding its two children's hashes. A node is never changed: a revision
// (the tree size of the subject checkpoint committing to it) writes new
// rows for the nodes on the paths of the subjects it changed, and a reader
// at revision r takes, per position, the row of the largest revision ≤ r.
// The hashes are those of [Map], the in-memory reference, so proofs and
// their verification are unchanged.
//
// Each Advance reads the leaves integrated since the last revision, reads
// the nodes on the changed subjects' paths, checks each against its
// parent's hash up to the last signed map root, and writes the new nodes
// (O(k log n) for k changed subjects among n), the signed subject checkpoint
// and the stale-node index in one transaction; the checkpoint is served
// only once that transaction has committed, so no checkpoint is ever out
// without its map, nor a map stored without its checkpoint. A witness
// cosigns the newest checkpoint when it polls (or the newer one another
// witness cosigned: node/witness follows the others, so that k witnesses
// cosign one checkpoint), and this node collects the cosignature when it
// polls that witness: up to two poll intervals later in all, while under
// steady load the map moves on every commit interval. So revisions are
// kept by time and by witnessing ([Retention]): every one superseded less
// than three poll intervals ago (at least 10 s), and
// each one holding more cosignatures than every newer one (at most one per
// witness count, however old), at most 256 in all; a subject is answered
// against the newest checkpoint with the cosignatures it prefers, or the
// most cosigned one kept. The others are pruned with the nodes only they
// reached. At start-up the Committer reads the kept
// revisions (checking that each checkpoint is exactly what it signs) and
// folds only the leaves integrated after the newest; a log far ahead (the
// first start after an upgrade) is folded in steps of 65,536 leaves. A
// proof reads the O(log n) nodes of one path, each checked up to the
// signed root: a node changed in the database fails the proof
// ([ErrMapCorrupt]) rather than producing one that would not verify, and
// makes the next Advance rebuild the map from the log's leaves, as does a
// stored map of another key (after a key rotation). `creditnode log verify`
// ([AuditMap]) recomputes the newest revision offline: its nodes, the root
// from its leaves against the signed subject checkpoint, and its values
// against the chains recomputed from the log. The guarantee below does not
// rest on the stored map: a map altered in the database yields failing
// proofs, never proofs of something else.
//
// Witness cosignatures of the kept checkpoints are stored too (migration
// 0015), a row per revision and witness key, deleted with their revision
// when it is pruned. [Committer.AddCosignatures] keeps only those that
// verify under the witness keys it is given and stores them before it
// serves them; if storing fails it returns the error and serves none. At
// start-up the Committer reads the cosignatures of every kept checkpoint
// and verifies them again under the witness keys in force
// ([CommitterOptions.Witnesses], the registry's): one altered in the
// database, or by a key no longer registered, is dropped and logged with
// the witness's name. So after a restart an older kept checkpoint is still
// cosigned, and a subject requiring k cosignatures can still be answered
// against it while the witnesses catch up with the newest.
//
// # Costs
//
// A proof reads one path (about log2(subjects) + 4 rows, in one query); an
// update writes about log2(subjects) rows per changed subject plus a
// stale-index row per row it replaces, and prunes as many; the database
// holds about 2.4 rows per subject plus the rows replaced within the kept
// revisions. BenchmarkStoredMap, on an SQLite file (synchronous=FULL) on 2
// cores shared with other builds, so wall times are noisy (process CPU time
// in brackets):
//
//	subjects    proof            update, 1 subject   update, 64 subjects
//	   10,000   1.06 ms (0.36)    6.5 ms (1.8)        66 ms (21)
//	  100,000   0.68 ms (0.29)    8.2 ms (2.6)        94 ms (47)
//	1,000,000   0.86 ms (0.52)   10.5 ms (3.5)       180 ms (93)
//
// The in-memory map this replaces took 8 to 21 ms per proof at 10,000
// subjects (BenchmarkMapProve10k), growing linearly, and was rebuilt from
// every leaf at each start. Building 1,000,000 subjects from nothing took 6
// minutes (a 337 MiB file). A subject's lookup in a log of 1,000,000
// entries over 100,000 subjects (BenchmarkSubjectLookup) took 7 ms, of
// which 0.6 ms for the map proof with its VRF proof, the rest for the ten
// entries and their inclusion proofs. The rows are binary nodes; 16-ary
// nodes as in JMT would write about a quarter as many rows per update.
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
//   - The stored map is derived data: it is checked against the signed
//     checkpoints, not trusted, but whoever can write the database can
//     force a rebuild from the leaves (a VRF evaluation per subject, about
//     0.5 ms each) by corrupting it. Likewise a stored cosignature altered
//     or deleted in the database is lost (dropped when read), not forged.
//   - The subject → key cache is bounded (two generations of 65,536); a
//     batch of subjects not in it costs a VRF evaluation each.
//   - Witnesses check one map per log size, not how the map was computed:
//     a subject's own verification is what checks its chain.
package subjectlog
