package tlog

import (
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// VerifyInclusion checks that leafHash is the leaf at index in the tree of
// the given size and root. It fails with ErrBadRange if index ≥ size and
// ErrProofInvalid if the proof is wrong in any way (a changed, missing or
// extra node, or one for another index or size).
func VerifyInclusion(leafHash []byte, index, size uint64, p [][]byte, root []byte) error {
	if index >= size {
		return fmt.Errorf("%w: index %d in a tree of size %d", ErrBadRange, index, size)
	}
	if err := proof.VerifyInclusion(hasher, index, size, leafHash, p, root); err != nil {
		return fmt.Errorf("%w: inclusion of %d in %d: %v", ErrProofInvalid, index, size, err)
	}
	return nil
}

// VerifyConsistency checks that the tree of size `from` and root root1 is a
// prefix of the tree of size `to` and root root2. A consistency proof from
// the empty tree proves nothing, so from = 0 fails with ErrBadRange, as does
// from > to; equal sizes need an empty proof and equal roots.
func VerifyConsistency(from, to uint64, p [][]byte, root1, root2 []byte) error {
	if from == 0 || from > to {
		return fmt.Errorf("%w: consistency from %d to %d", ErrBadRange, from, to)
	}
	if err := proof.VerifyConsistency(hasher, from, to, p, root1, root2); err != nil {
		return fmt.Errorf("%w: consistency from %d to %d: %v", ErrProofInvalid, from, to, err)
	}
	return nil
}
