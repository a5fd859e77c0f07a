package subjectlog

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/store"
)

// AuditStore is what AuditMap reads (a *store.SQLite or *store.Postgres).
type AuditStore interface {
	LeafScanner
	SubjectMapRevisions(ctx context.Context, n int) ([]store.SubjectMapRevision, error)
	ScanSubjectMapNodes(ctx context.Context, rev uint64, fn func(store.SubjectMapNode) error) error
}

// MapReport is what AuditMap found.
type MapReport struct {
	// Stored is false when no subject map is stored (a node that never ran
	// with subject commitments); nothing else is set then.
	Stored bool
	// Revision is the newest stored revision: the size of its checkpoint.
	Revision uint64
	// Subjects is the number of leaves of the stored map; Nodes of all its
	// stored nodes at Revision.
	Subjects, Nodes int
	// RootMatches: the root recomputed from the stored leaves is the map
	// root of the signed subject checkpoint.
	RootMatches bool
	Problems    []string
}

// OK reports whether nothing was found.
func (r *MapReport) OK() bool { return len(r.Problems) == 0 }

func (r *MapReport) add(format string, args ...any) {
	if len(r.Problems) < 100 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else if len(r.Problems) == 100 {
		r.Problems = append(r.Problems, "… (more problems not listed)")
	}
}

// AuditMap checks the newest stored revision of the subject map offline,
// reading every node of it and every leaf of the log below its size: the
// checkpoint stored with it verifies under v (the inquiry log's verifier)
// and is of that revision; every internal node holds its children's hashes;
// the root recomputed from the stored leaves alone is the checkpoint's map
// root; and the stored values are exactly the subjects' chains recomputed
// from the log — every subject's (count, head) is in the map and the map
// holds no other. Which key each chain sits at (the subject's VRF output)
// is not rechecked: that needs the VRF key and costs a VRF evaluation per
// subject, and it is what each subject's own verification checks.
//
// Memory and time are linear in the map and the log. Problems go into the
// report; the error is for failures to read.
func AuditMap(ctx context.Context, st AuditStore, v note.Verifier) (*MapReport, error) {
	rep := &MapReport{}
	revs, err := st.SubjectMapRevisions(ctx, 1)
	if err != nil || len(revs) == 0 {
		return rep, err
	}
	r := revs[0]
	rep.Stored, rep.Revision = true, r.Rev
	cp, _, err := OpenCheckpoint(r.Note, v)
	cpOK := false
	switch {
	case err != nil:
		rep.add("the subject checkpoint of revision %d does not verify: %v", r.Rev, err)
	case cp.Size != r.Rev:
		rep.add("the subject checkpoint of revision %d is of size %d", r.Rev, cp.Size)
	case !bytes.Equal(cp.MapRoot[:], r.Root):
		rep.add("revision %d: stored root %x, its signed checkpoint's %x", r.Rev, r.Root, cp.MapRoot)
	default:
		cpOK = true
	}
	nodes := nodeSet{}
	err = st.ScanSubjectMapNodes(ctx, r.Rev, func(sn store.SubjectMapNode) error {
		n, err := decodeNode(sn)
		if err != nil {
			rep.add("%v", err)
			return nil
		}
		nodes[string(sn.ID)] = n
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Nodes = len(nodes)

	// The structure, from the root down: each internal node's stored child
	// hashes against the hashes of its children as stored (so a changed
	// node is named by its parent alone), and the hash recomputed from the
	// leaves up.
	m := NewMap()
	reached := 0
	var walk func(d int, prefix Key) (stored, recomputed [32]byte)
	walk = func(d int, prefix Key) (stored, recomputed [32]byte) {
		p := pos(prefix, d)
		n := nodes[p]
		if n == nil {
			return
		}
		reached++
		if n.leaf {
			if pos(n.key, d) != p {
				rep.add("leaf %x stored at %x, off its path", n.key, p)
			}
			m.vals[n.key] = n.val
			return n.hash(), n.hash()
		}
		if d == MaxMapDepth {
			rep.add("internal node at depth %d (%x)", d, p)
			return n.hash(), n.hash()
		}
		right := prefix
		right[d/8] |= 0x80 >> (d % 8)
		ls, lr := walk(d+1, prefix)
		rs, rr := walk(d+1, right)
		if ls != n.left || rs != n.right {
			rep.add("node %x (revision %d): stored child hashes differ from its children", p, n.rev)
		}
		return n.hash(), mapNodeHash(lr, rr)
	}
	_, structural := walk(0, Key{})
	if reached != len(nodes) {
		rep.add("%d stored nodes are off every path from the root", len(nodes)-reached)
	}
	rep.Subjects = m.Len()
	root := m.Root() // canonical: from the leaves alone
	rep.RootMatches = cpOK && root == cp.MapRoot
	if cpOK && !rep.RootMatches {
		rep.add("the map root recomputed from the stored leaves is %x, the signed checkpoint's %x", root, cp.MapRoot)
	} else if structural != root {
		rep.add("the stored nodes do not have the canonical shape of their leaves")
	}

	// The values, against the chains recomputed from the log.
	chains := map[string]Value{}
	next := uint64(0)
	errStop := errors.New("stop")
	err = st.ScanLeafHashes(ctx, store.LogInquiry, 0, func(idx uint64, subject string, h []byte) error {
		if idx >= r.Rev {
			return errStop
		}
		next = idx + 1
		if subject != "" {
			chains[subject] = chains[subject].extend(idx, h)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return rep, err
	}
	if next != r.Rev {
		rep.add("the log holds %d leaves, the subject map is of %d", next, r.Rev)
	}
	stored := make(map[Value]int, m.Len())
	for _, v := range m.vals {
		stored[v]++
	}
	for subject, v := range chains {
		if stored[v] == 0 {
			rep.add("subject %s: the chain of its %d entries is not in the map", subject, v.Count)
			continue
		}
		stored[v]--
	}
	for v, n := range stored {
		for range n {
			rep.add("the map holds a chain of %d entries (head %s) that no subject's entries make", v.Count, hex.EncodeToString(v.Head[:8]))
		}
	}
	return rep, nil
}
