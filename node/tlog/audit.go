package tlog

import (
	"bytes"
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
)

// AuditStore is what Audit reads.
type AuditStore interface {
	ScanLeaves(ctx context.Context, log store.LogID, fn func(store.StoredLeaf) error) error
	ScanTreeNodes(ctx context.Context, log store.LogID, level uint, fn func(store.TreeNode) error) error
	Checkpoints(ctx context.Context, log store.LogID) ([]store.Checkpoint, error)
	TreeState(ctx context.Context, log store.LogID) (store.TreeState, error)
}

// ProblemKind classifies what Audit found.
type ProblemKind string

// Kinds of problem.
const (
	// ProblemEdited: a row's contents changed after it was logged.
	ProblemEdited ProblemKind = "edited"
	// ProblemDeleted: a row is missing (a gap, or the log is shorter than
	// a signed checkpoint).
	ProblemDeleted ProblemKind = "deleted"
	// ProblemReordered: a row holds the leaf integrated at another index.
	ProblemReordered ProblemKind = "reordered"
	// ProblemRoot: the root recomputed from the rows differs from a signed
	// checkpoint.
	ProblemRoot ProblemKind = "root_mismatch"
	// ProblemCheckpoint: a stored checkpoint's signature, origin or body is
	// wrong.
	ProblemCheckpoint ProblemKind = "checkpoint"
	// ProblemTree: the stored tree nodes disagree with each other or with a
	// signed checkpoint.
	ProblemTree ProblemKind = "tree"
)

// Problem is one finding, at Index (a leaf index, or a checkpoint's size).
type Problem struct {
	Kind   ProblemKind
	Index  uint64
	Detail string
}

func (p Problem) String() string { return fmt.Sprintf("%s at %d: %s", p.Kind, p.Index, p.Detail) }

// Report is the outcome of Audit.
type Report struct {
	Log         store.LogID
	Rows        uint64 // leaf rows read
	TreeSize    uint64 // leaves integrated into the stored tree
	Checkpoints int    // signed checkpoints checked
	// LatestSize and LatestRoot are the largest signed checkpoint (zero if
	// none).
	LatestSize uint64
	LatestRoot []byte
	// RootMatches reports whether the root recomputed from the rows equals
	// LatestRoot.
	RootMatches bool
	Problems    []Problem

	rootReported map[ProblemKind]bool // only the first root mismatch of each kind is reported
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(k ProblemKind, i uint64, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Kind: k, Index: i, Detail: fmt.Sprintf(format, args...)})
}

// Audit recomputes log's tree from its leaf rows and checks it against every
// signed checkpoint (verified with v) and the stored tree. It names rows
// that were edited (their leaf hash no longer matches their salt and entry,
// or differs from the hash integrated into the tree), deleted (gaps, or fewer
// rows than a checkpoint covers) or reordered (a row holds the leaf
// integrated at another index). The error is for failures to read the store;
// findings are in the report.
func Audit(ctx context.Context, st AuditStore, log store.LogID, v note.Verifier) (*Report, error) {
	rep := &Report{Log: log}
	rf := &compact.RangeFactory{Hash: hasher.HashChildren}

	// Signed checkpoints, by size.
	rows, err := st.Checkpoints(ctx, log)
	if err != nil {
		return nil, err
	}
	cps := make(map[uint64][]byte, len(rows))
	for _, row := range rows {
		c, err := VerifyCheckpoint(row.Note, v)
		switch {
		case err != nil:
			rep.add(ProblemCheckpoint, row.Size, "%v", err)
			continue
		case c.Size != row.Size || !bytes.Equal(c.Hash, row.Root):
			rep.add(ProblemCheckpoint, row.Size, "stored size or root differs from the signed note")
			continue
		}
		cps[c.Size] = c.Hash
		rep.Checkpoints++
		if c.Size >= rep.LatestSize {
			rep.LatestSize, rep.LatestRoot = c.Size, c.Hash
		}
	}
	state, err := st.TreeState(ctx, log)
	if err != nil {
		return nil, err
	}
	rep.TreeSize = state.Size

	// The stored tree: level-0 copies and the higher stored nodes.
	var copies [][]byte
	err = st.ScanTreeNodes(ctx, log, 0, func(n store.TreeNode) error {
		if n.Index != uint64(len(copies)) {
			rep.add(ProblemTree, uint64(len(copies)), "stored tree leaf missing")
			return errStop
		}
		copies = append(copies, n.Hash)
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	upper := map[compact.NodeID][]byte{}
	for lvl := uint(storedStride); lvl < 64; lvl += storedStride {
		n := len(upper)
		if err := st.ScanTreeNodes(ctx, log, lvl, func(tn store.TreeNode) error {
			upper[compact.NewNodeID(tn.Level, tn.Index)] = tn.Hash
			return nil
		}); err != nil {
			return nil, err
		}
		if len(upper) == n {
			break
		}
	}
	treeRange := rf.NewEmptyRange(0)
	for i, h := range copies {
		if err := treeRange.Append(h, func(id compact.NodeID, h []byte) {
			if id.Level == 0 || id.Level%storedStride != 0 {
				return
			}
			if got, ok := upper[id]; !ok || !bytes.Equal(got, h) {
				rep.add(ProblemTree, id.Index<<id.Level, "stored tree node (level %d, index %d) is missing or wrong", id.Level, id.Index)
			}
		}); err != nil {
			return nil, err
		}
		checkRoot(rep, treeRange, cps, uint64(i+1), ProblemTree, "stored tree")
	}

	// The rows.
	var byHash map[string]uint64 // built on the first mismatch
	rowRange := rf.NewEmptyRange(0)
	var next uint64
	err = st.ScanLeaves(ctx, log, func(l store.StoredLeaf) error {
		if l.Index > next {
			rep.add(ProblemDeleted, next, "rows [%d, %d) are missing", next, l.Index)
		}
		next = l.Index + 1
		h := inquirylog.LeafHash(l.Salt, l.Entry)
		if !bytes.Equal(h, l.LeafHash) {
			rep.add(ProblemEdited, l.Index, "leaf hash does not match the row's salt and entry")
		}
		if l.Index < uint64(len(copies)) && !bytes.Equal(h, copies[l.Index]) {
			if byHash == nil {
				byHash = make(map[string]uint64, len(copies))
				for j, c := range copies {
					byHash[string(c)] = uint64(j)
				}
			}
			if j, ok := byHash[string(h)]; ok {
				rep.add(ProblemReordered, l.Index, "row holds the entry logged at index %d", j)
			} else if bytes.Equal(h, l.LeafHash) {
				rep.add(ProblemEdited, l.Index, "row differs from the entry integrated into the tree")
			}
		}
		rep.Rows++
		if err := rowRange.Append(h, nil); err != nil {
			return err
		}
		checkRoot(rep, rowRange, cps, rep.Rows, ProblemRoot, "leaf rows")
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rep.Rows < rep.LatestSize {
		rep.add(ProblemDeleted, rep.Rows, "the log has %d rows but a signed checkpoint covers %d", rep.Rows, rep.LatestSize)
	}
	if rep.Rows < state.Size {
		rep.add(ProblemDeleted, rep.Rows, "the log has %d rows but the tree covers %d", rep.Rows, state.Size)
	}
	if rep.LatestSize == 0 && rep.Checkpoints > 0 {
		rep.RootMatches = bytes.Equal(rep.LatestRoot, EmptyRoot())
	}
	return rep, nil
}

// errStop ends a scan early.
var errStop = fmt.Errorf("tlog: stop scan")

// checkRoot compares the root of r (covering size leaves) with the signed
// checkpoint of that size, if any.
func checkRoot(rep *Report, r *compact.Range, cps map[uint64][]byte, size uint64, kind ProblemKind, what string) {
	want, ok := cps[size]
	if !ok {
		return
	}
	got, err := r.GetRootHash(nil)
	if err == nil && bytes.Equal(got, want) {
		if kind == ProblemRoot && size == rep.LatestSize {
			rep.RootMatches = true
		}
		return
	}
	if rep.rootReported[kind] {
		return
	}
	if rep.rootReported == nil {
		rep.rootReported = map[ProblemKind]bool{}
	}
	rep.rootReported[kind] = true
	rep.add(kind, size, "root of the %s differs from the signed checkpoint of size %d (and every later one)", what, size)
}
