// Package tlog makes a node's append-only logs tamper-evident.
//
// Each log (the provider's inquiry log, the requester's outbound log) is an
// RFC 6962 Merkle tree (https://www.rfc-editor.org/rfc/rfc6962) over the
// salted leaf hashes the store already holds. The package has four parts:
//
//   - a [Sequencer], the single writer of a log: it batches appends into one
//     store transaction (group commit, one fsync per batch) and acknowledges
//     an entry only once its batch is durable; it then integrates the new
//     leaves into the stored tree and publishes signed checkpoints;
//   - checkpoints in the C2SP tlog-checkpoint format
//     (https://c2sp.org/tlog-checkpoint), signed as notes
//     (golang.org/x/mod/sumdb/note) with the node's Ed25519 key, the key
//     name being the log's origin;
//   - a [Tree] that reads roots and inclusion and consistency proofs from the
//     stored tree in O(log n) reads, and the matching verifiers
//     [VerifyCheckpoint], [VerifyInclusion] and [VerifyConsistency];
//   - [Audit], the operator's offline check: it recomputes the tree from the
//     leaf rows and names rows that were edited, deleted or reordered.
//
// The stored tree keeps the perfect-subtree hashes at levels 0, 4, 8, … (a
// copy of each leaf hash as integrated, then one node in 16 above it); any
// other node is recomputed from at most 8 stored children.
package tlog

import (
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/creditexchange/node/node/store"
)

// storedStride: tree nodes are stored at levels that are multiples of it.
const storedStride = 4

// hasher is the RFC 6962 SHA-256 hasher every log uses.
var hasher = rfc6962.DefaultHasher

// Errors returned by the verifiers and the tree.
var (
	// ErrMalformedCheckpoint: the note body is not a C2SP checkpoint.
	ErrMalformedCheckpoint = errors.New("tlog: malformed checkpoint")
	// ErrUnknownKey: the checkpoint carries no signature by the expected key.
	ErrUnknownKey = errors.New("tlog: checkpoint not signed by a known key")
	// ErrBadSignature: a signature by the expected key name does not verify.
	ErrBadSignature = errors.New("tlog: checkpoint signature invalid")
	// ErrWrongOrigin: the checkpoint's origin line is not the log expected.
	ErrWrongOrigin = errors.New("tlog: checkpoint origin mismatch")
	// ErrProofInvalid: a proof does not lead to the expected root.
	ErrProofInvalid = errors.New("tlog: proof invalid")
	// ErrBadRange: an index, size or pair of sizes no proof exists for
	// (index ≥ size, from > to, from = 0 for consistency, a size beyond the
	// tree).
	ErrBadRange = errors.New("tlog: no proof for that range")
	// ErrSplitView: two checkpoints of one log and size with different roots.
	ErrSplitView = errors.New("tlog: two different checkpoints of the same size")
	// ErrWrongLog: an append method was called on the sequencer of the
	// other log.
	ErrWrongLog = errors.New("tlog: append to the wrong log")
	// ErrClosed: the sequencer was closed.
	ErrClosed = errors.New("tlog: sequencer closed")
)

// Origin is the checkpoint origin line (and note key name) of node id's log:
// "creditexchange/<id>/inquiry" or "creditexchange/<id>/outbound".
func Origin(nodeID string, log store.LogID) string {
	return fmt.Sprintf("creditexchange/%s/%s", nodeID, log)
}

// EmptyRoot is the root hash of the empty tree: SHA-256 of the empty string.
func EmptyRoot() []byte { return hasher.EmptyRoot() }
