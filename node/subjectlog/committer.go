package subjectlog

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// keepSnapshots is how many committed map states a Committer keeps, so a
// subject can be answered against a slightly older, already cosigned
// checkpoint while witnesses catch up with the newest.
const keepSnapshots = 4

// ErrNoCheckpoint is returned by Prove before the first subject checkpoint.
var ErrNoCheckpoint = errors.New("subjectlog: no subject checkpoint yet")

// Tree is what a Committer reads of the inquiry log's Merkle tree
// (a *tlog.Tree).
type Tree interface {
	Size(ctx context.Context) (uint64, error)
	Root(ctx context.Context, size uint64) ([]byte, error)
	InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error)
}

// LeafScanner reads the leaves' subjects and hashes (a *store.SQLite).
type LeafScanner interface {
	ScanLeafHashes(ctx context.Context, log store.LogID, from uint64, fn func(index uint64, subject string, leafHash []byte) error) error
}

// CommitterOptions configures a Committer; all fields are required.
type CommitterOptions struct {
	Tree   Tree
	Leaves LeafScanner
	// Signer signs subject checkpoints; its name is the inquiry log's origin
	// (tlog.NewSigner(tlog.Origin(id, store.LogInquiry), key)).
	Signer note.Signer
	VRF    *VRFKey
	Clock  func() time.Time
}

type snapshot struct {
	cp     Checkpoint
	m      *Map
	note   []byte           // signed by this node
	cosigs []note.Signature // collected witness cosignatures
}

// Committer follows the inquiry log's tree and keeps the subject map in
// step with it: each Advance folds the leaves integrated since the last one
// into the map and signs a subject checkpoint of the tree's new size. It
// holds the map in memory (rebuilt from the leaf table when the node
// starts: O(log size) time at start-up, O(subjects) memory per snapshot).
// A Committer is safe for concurrent use.
type Committer struct {
	opts CommitterOptions

	adv   sync.Mutex     // one Advance at a time; guards keys
	keys  map[string]Key // subject → map key cache (a VRF evaluation costs ~0.5 ms)
	mu    sync.RWMutex
	snaps []*snapshot // oldest first
}

// NewCommitter returns a Committer; call Advance to build the first checkpoint.
func NewCommitter(opts CommitterOptions) (*Committer, error) {
	if opts.Tree == nil || opts.Leaves == nil || opts.Signer == nil || opts.VRF == nil {
		return nil, errors.New("subjectlog: Tree, Leaves, Signer and VRF are required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Committer{opts: opts, keys: make(map[string]Key)}, nil
}

func (c *Committer) latest() *snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.snaps) == 0 {
		return nil
	}
	return c.snaps[len(c.snaps)-1]
}

// Advance brings the map up to the tree's current size and, if it grew,
// signs a subject checkpoint. It returns the checkpoint's size.
func (c *Committer) Advance(ctx context.Context) (uint64, error) {
	c.adv.Lock()
	defer c.adv.Unlock()
	size, err := c.opts.Tree.Size(ctx)
	if err != nil {
		return 0, err
	}
	last := c.latest()
	var from uint64
	m := NewMap()
	if last != nil {
		if size <= last.cp.Size {
			return last.cp.Size, nil
		}
		from, m = last.cp.Size, last.m.Clone()
	}
	errStop := errors.New("stop")
	err = c.opts.Leaves.ScanLeafHashes(ctx, store.LogInquiry, from, func(idx uint64, subject string, h []byte) error {
		if idx >= size {
			return errStop
		}
		if subject != "" {
			k, ok := c.keys[subject]
			if !ok {
				var err error
				if k, _, err = c.opts.VRF.SubjectKey(subject); err != nil {
					return err
				}
				c.keys[subject] = k
			}
			m.Append(k, idx, h)
		}
		from = idx + 1
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, err
	}
	if from != size {
		return 0, fmt.Errorf("%w: leaves end at %d, tree at %d", store.ErrTreeCorrupt, from, size)
	}
	root, err := c.opts.Tree.Root(ctx, size)
	if err != nil {
		return 0, err
	}
	cp := Checkpoint{MapRoot: m.Root(), VRFKey: c.opts.VRF.Public()}
	cp.Origin, cp.Size, cp.Hash = c.opts.Signer.Name(), size, root
	signed, err := SignCheckpoint(cp, c.opts.Signer)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.snaps = append(c.snaps, &snapshot{cp: cp, m: m, note: signed})
	if len(c.snaps) > keepSnapshots {
		c.snaps = c.snaps[len(c.snaps)-keepSnapshots:]
	}
	c.mu.Unlock()
	return size, nil
}

// Latest returns the newest signed subject checkpoint (for witnesses).
func (c *Committer) Latest() ([]byte, error) {
	s := c.latest()
	if s == nil {
		return nil, ErrNoCheckpoint
	}
	return bytes.Clone(s.note), nil
}

// AddCosignatures merges into the matching checkpoint the signatures of a
// cosigned copy that verify under the given witness verifiers. Signatures by
// other keys are dropped. It returns how many were added; a note for a
// checkpoint this Committer no longer keeps (or never signed) adds none.
func (c *Committer) AddCosignatures(cosigned []byte, witnesses note.Verifiers) (int, error) {
	n, err := note.Open(cosigned, witnesses)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.snaps {
		if string(s.cp.Marshal()) != n.Text {
			continue
		}
		added := 0
	next:
		for _, sig := range n.Sigs {
			for _, have := range s.cosigs {
				if have.Name == sig.Name && have.Hash == sig.Hash {
					continue next
				}
			}
			s.cosigs = append(s.cosigs, sig)
			added++
		}
		return added, nil
	}
	return 0, nil
}

// noteWithCosigs is the snapshot's note carrying its collected cosignatures.
func (s *snapshot) noteWithCosigs() ([]byte, error) {
	if len(s.cosigs) == 0 {
		return bytes.Clone(s.note), nil
	}
	n, err := note.Open(s.note, note.VerifierList()) // parse only
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		n, err = unverified.Note, nil
	}
	if err != nil {
		return nil, err
	}
	out := &note.Note{Text: n.Text, Sigs: append(append([]note.Signature{}, n.UnverifiedSigs...), s.cosigs...)}
	return note.Sign(out)
}

// Prove returns the subject proof for subject's entries (their log
// indexes, ascending), against the newest checkpoint holding at least
// minCosigs cosignatures, or the newest one if none does.
func (c *Committer) Prove(ctx context.Context, subject string, indexes []uint64, minCosigs int) (*schemas.SubjectProof, error) {
	c.mu.RLock()
	var s *snapshot
	for i := len(c.snaps) - 1; i >= 0; i-- {
		if s == nil || len(c.snaps[i].cosigs) >= minCosigs && len(s.cosigs) < minCosigs {
			s = c.snaps[i]
		}
	}
	var text []byte
	var err error
	if s != nil {
		text, err = s.noteWithCosigs()
	}
	c.mu.RUnlock()
	if s == nil {
		return nil, ErrNoCheckpoint
	}
	if err != nil {
		return nil, err
	}
	k, pi, err := c.opts.VRF.SubjectKey(subject)
	if err != nil {
		return nil, err
	}
	v := s.m.Get(k) // the snapshot's map is never mutated
	mp := s.m.Prove(k)
	out := &schemas.SubjectProof{
		Checkpoint:  string(text),
		VRFProof:    hex.EncodeToString(pi),
		Count:       v.Count,
		Head:        hex.EncodeToString(v.Head[:]),
		MapSiblings: make([]string, len(mp.Siblings)),
		Inclusion:   []schemas.EntryInclusion{},
	}
	for i, h := range mp.Siblings {
		out.MapSiblings[i] = hex.EncodeToString(h[:])
	}
	if mp.OtherKey != nil {
		out.MapOtherKey = hex.EncodeToString(mp.OtherKey[:])
		out.MapOtherValue = hex.EncodeToString(mp.OtherValueHash[:])
	}
	for _, idx := range indexes {
		if idx >= s.cp.Size {
			continue
		}
		p, err := c.opts.Tree.InclusionProof(ctx, idx, s.cp.Size)
		if err != nil {
			return nil, err
		}
		ei := schemas.EntryInclusion{Index: idx, Proof: make([]string, len(p))}
		for i, h := range p {
			ei.Proof[i] = hex.EncodeToString(h)
		}
		out.Inclusion = append(out.Inclusion, ei)
	}
	return out, nil
}

// Run advances every interval until ctx ends, reporting failures to onErr
// (which may be nil). The leaves stay durable; the next round retries.
func (c *Committer) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := c.Advance(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
