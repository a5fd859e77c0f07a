package subjectlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// maxFoldLeaves bounds the leaves folded into one revision, and so the
// memory and transaction size of one update: a log far ahead of the stored
// map (the first start after an upgrade, a rebuild) is caught up in steps,
// one signed revision each.
const maxFoldLeaves = 1 << 16

// keyCacheSize bounds each of the two generations of the subject → key
// cache.
const keyCacheSize = 1 << 16

// ErrNoCheckpoint is returned by Prove before the first subject checkpoint.
var ErrNoCheckpoint = errors.New("subjectlog: no subject checkpoint yet")

// Tree is what a Committer reads of the inquiry log's Merkle tree
// (a *tlog.Tree).
type Tree interface {
	Size(ctx context.Context) (uint64, error)
	Root(ctx context.Context, size uint64) ([]byte, error)
	// InclusionProofs proves each of indexes (below size) at once.
	InclusionProofs(ctx context.Context, indexes []uint64, size uint64) ([][][]byte, error)
}

// LeafScanner reads the leaves' subjects and hashes.
type LeafScanner interface {
	ScanLeafHashes(ctx context.Context, log store.LogID, from uint64, fn func(index uint64, subject string, leafHash []byte) error) error
}

// CosignatureStore keeps the witness cosignatures of the stored revisions'
// checkpoints (a *store.SQLite or *store.Postgres).
type CosignatureStore interface {
	// AddSubjectCosignatures stores cosignatures of stored revisions, at
	// most one per revision and key; store.ErrNotFound if a revision is not
	// (or no longer) stored.
	AddSubjectCosignatures(ctx context.Context, cs []store.SubjectCosignature) (int, error)
	// SubjectCosignatures returns the stored cosignatures of revs.
	SubjectCosignatures(ctx context.Context, revs []uint64) ([]store.SubjectCosignature, error)
}

// Store is what a Committer reads and writes: the inquiry log's leaves, the
// stored map and its checkpoints' cosignatures (a *store.SQLite or
// *store.Postgres).
type Store interface {
	LeafScanner
	MapStore
	CosignatureStore
}

// CommitterOptions configures a Committer; Tree, Store, Signer and VRF are
// required.
type CommitterOptions struct {
	Tree  Tree
	Store Store
	// Signer signs subject checkpoints; its name is the inquiry log's origin
	// (tlog.NewSigner(tlog.Origin(id, store.LogInquiry), key)). It must sign
	// deterministically (Ed25519): a stored checkpoint is checked at start-up
	// by signing it again.
	Signer note.Signer
	VRF    *VRFKey
	Clock  func() time.Time
	// Witnesses returns the verifiers of the witnesses' cosignature keys in
	// force (the registry's). The cosignatures read from the store are
	// verified again under them when the Committer loads its revisions, and
	// those that no longer verify are dropped; nil drops every stored one.
	Witnesses func() note.Verifiers
	// Logger reports dropped stored cosignatures; nil is slog.Default().
	Logger *slog.Logger
	// Retention is which committed revisions are kept (in the store, and
	// their checkpoints in memory); zero fields take the defaults.
	Retention Retention
	// Quorum returns how many cosignatures Prove prefers at least, when
	// its caller asks for fewer (the witnesses in force: a subject may
	// require all of them); nil leaves it to the caller.
	Quorum func() int
}

// snapshot is one kept revision: its checkpoint, as signed and with the
// witness cosignatures collected since.
type snapshot struct {
	cp     Checkpoint
	keys   uint64           // subjects in the map
	note   []byte           // signed by this node
	cosigs []note.Signature // collected witness cosignatures
	// superseded is when a newer revision was committed, or, for one read
	// from the store, when it was read (zero while the newest). Guarded by
	// the Committer's adv.
	superseded time.Time
}

func (s *snapshot) revision() mapRevision {
	return mapRevision{rev: s.cp.Size, root: s.cp.MapRoot, keys: s.keys}
}

// Committer follows the inquiry log's tree and keeps the subject map in
// step with it: each Advance folds the leaves integrated since the last one
// into the stored map and signs a subject checkpoint of the tree's new
// size, both written in one transaction. The map lives in the store
// ([MapStore]); the Committer holds only the kept revisions' checkpoints and
// a bounded subject → key cache. A Committer is safe for concurrent use.
type Committer struct {
	opts    CommitterOptions
	maxFold uint64 // maxFoldLeaves; smaller in tests

	adv     sync.Mutex // one Advance at a time; guards the fields below
	keys    keyCache
	newest  *uint64 // newest stored revision as last read or written
	reload  bool    // the store may have moved: reread its revisions
	rebuild bool    // the stored map is foreign or corrupt: rebuild it from the leaves

	mu    sync.RWMutex
	snaps []*snapshot // oldest first
}

// NewCommitter returns a Committer; call Advance to load the stored map
// and bring it up to the tree.
func NewCommitter(opts CommitterOptions) (*Committer, error) {
	if opts.Tree == nil || opts.Store == nil || opts.Signer == nil || opts.VRF == nil {
		return nil, errors.New("subjectlog: Tree, Store, Signer and VRF are required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Retention = opts.Retention.withDefaults()
	return &Committer{opts: opts, maxFold: maxFoldLeaves, reload: true}, nil
}

func (c *Committer) latest() *snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if len(c.snaps) == 0 {
		return nil
	}
	return c.snaps[len(c.snaps)-1]
}

func (c *Committer) setSnaps(s []*snapshot) {
	c.mu.Lock()
	c.snaps = s
	c.mu.Unlock()
}

// Advance brings the stored map up to the tree's current size and, if it
// grew, signs a subject checkpoint, committed with the map's new nodes in
// one transaction; the checkpoint is served (Latest, Prove) only once that
// transaction has committed. It returns the checkpoint's size.
//
// The first call loads the kept revisions from the store; a stored
// checkpoint this node did not sign under its current key and VRF key (a
// rotated key) makes it rebuild the map from the log's leaves. A stored node
// or checkpoint found corrupt fails with ErrMapCorrupt, and the next call
// rebuilds the map from the leaves.
func (c *Committer) Advance(ctx context.Context) (uint64, error) {
	return c.AdvanceWithProgress(ctx, nil)
}

// Progress is told how far an Advance has got: done of total leaves of the
// inquiry log folded into the map (total is fixed for the call). It is
// called from the Advance's goroutine, once per leaf.
type Progress func(done, total uint64)

// AdvanceWithProgress is Advance, reporting to progress (nil: none) the
// leaves it folds: at the first start of a node, after a key rotation or
// when the stored map is rebuilt, these are every leaf of the log, at about
// 0.5 ms each (one VRF evaluation per subject not cached). Nothing is
// reported when the map is already up to the tree.
func (c *Committer) AdvanceWithProgress(ctx context.Context, progress Progress) (uint64, error) {
	c.adv.Lock()
	defer c.adv.Unlock()
	size, err := c.opts.Tree.Size(ctx)
	if err != nil {
		return 0, err
	}
	if err := c.load(ctx); err != nil {
		return 0, err
	}
	var report func(next uint64) // next: the leaf after the last folded
	for first := true; ; first = false {
		last := c.latest()
		if c.rebuild {
			last = nil
		}
		var from uint64
		if last != nil {
			if size < last.cp.Size {
				return 0, fmt.Errorf("%w: the tree has %d leaves, the subject map %d", store.ErrTreeCorrupt, size, last.cp.Size)
			}
			if size == last.cp.Size {
				return size, nil
			}
			from = last.cp.Size
		}
		if first && progress != nil {
			start, total := from, size-from
			report = func(next uint64) { progress(next-start, total) }
			report(start)
		}
		to := min(size, from+c.maxFold)
		if err := c.fold(ctx, last, from, to, report); err != nil {
			switch {
			case errors.Is(err, ErrMapCorrupt):
				c.rebuild = true
			case errors.Is(err, store.ErrSubjectMapConflict), errors.Is(err, store.ErrNotFound):
				c.reload = true // another writer moved the map on
			}
			return 0, err
		}
		if to == size {
			return size, nil
		}
	}
}

// load rereads the kept revisions when the store's newest is not the one
// this Committer last saw, checking each checkpoint not already held.
func (c *Committer) load(ctx context.Context) error {
	revs, err := c.opts.Store.SubjectMapRevisions(ctx, c.opts.Retention.Max)
	if err != nil {
		return err
	}
	var newest *uint64
	if len(revs) > 0 {
		n := revs[len(revs)-1].Rev
		newest = &n
	}
	same := newest == nil && c.newest == nil || newest != nil && c.newest != nil && *newest == *c.newest
	if same && !c.reload {
		return nil
	}
	var stored map[uint64][]store.SubjectCosignature
	if !c.rebuild && len(revs) > 0 {
		nums := make([]uint64, len(revs))
		for i, r := range revs {
			nums[i] = r.Rev
		}
		cs, err := c.opts.Store.SubjectCosignatures(ctx, nums)
		if err != nil {
			return err // c.newest unchanged: the next call reads again
		}
		stored = map[uint64][]store.SubjectCosignature{}
		for _, cs := range cs {
			stored[cs.Rev] = append(stored[cs.Rev], cs)
		}
	}
	c.newest, c.reload = newest, false
	if c.rebuild {
		return nil // replaced wholesale by the next commit
	}
	held := map[uint64]*snapshot{}
	c.mu.RLock()
	for _, s := range c.snaps {
		held[s.cp.Size] = s
	}
	c.mu.RUnlock()
	var snaps []*snapshot
	for _, r := range revs {
		if s := held[r.Rev]; s != nil && bytes.Equal(s.note, r.Note) && s.keys == r.Keys {
			snaps = append(snaps, s)
			continue
		}
		s, err := c.open(r)
		if errors.Is(err, errForeign) {
			c.rebuild = true
			c.setSnaps(nil)
			return nil
		}
		if err != nil {
			c.rebuild = true
			c.setSnaps(nil)
			return err
		}
		snaps = append(snaps, s)
	}
	var witnesses note.Verifiers
	if c.opts.Witnesses != nil && len(stored) > 0 {
		witnesses = c.opts.Witnesses()
	}
	verified := make([][]note.Signature, len(snaps))
	for i, s := range snaps {
		verified[i] = c.verifyStored(ctx, s, stored[s.cp.Size], witnesses)
	}
	// When a stored revision was superseded is not stored: the window of
	// one read now (or that the newest held is no longer the newest)
	// starts now.
	now := c.opts.Clock()
	for i, s := range snaps {
		if i < len(snaps)-1 && s.superseded.IsZero() {
			s.superseded = now
		}
	}
	c.mu.Lock()
	for i, s := range snaps {
		s.cosigs, _ = mergeCosigs(s.cosigs, verified[i])
	}
	c.snaps = snaps
	c.mu.Unlock()
	return nil
}

// verifyStored returns the cosignatures of s's checkpoint read from the
// store that verify under witnesses, the witness keys in force; it drops
// the others (a key no longer registered, a row altered in the database),
// logging the witness's name only.
func (c *Committer) verifyStored(ctx context.Context, s *snapshot, cs []store.SubjectCosignature, witnesses note.Verifiers) []note.Signature {
	var out []note.Signature
	text := string(s.cp.Marshal())
	for _, sc := range cs {
		sig := note.Signature{Name: sc.Name, Hash: sc.Hash, Base64: base64.StdEncoding.EncodeToString(sc.Sig)}
		ok := witnesses != nil && len(sc.Sig) >= 4 && binary.BigEndian.Uint32(sc.Sig) == sc.Hash
		if ok {
			msg, err := note.Sign(&note.Note{Text: text, Sigs: []note.Signature{sig}})
			var n *note.Note
			if err == nil {
				n, err = note.Open(msg, witnesses)
			}
			ok = err == nil && len(n.Sigs) == 1 && n.Sigs[0] == sig
		}
		if !ok {
			c.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "stored witness cosignature dropped: it does not verify under the witness keys in force",
				slog.String("witness", sc.Name), slog.Uint64("size", s.cp.Size))
			continue
		}
		out = append(out, sig)
	}
	return out
}

// mergeCosigs returns have with the signatures of add by keys (name and
// hash) it has none of, and those it added.
func mergeCosigs(have, add []note.Signature) (merged, added []note.Signature) {
	merged = have
next:
	for _, sig := range add {
		for _, h := range merged {
			if h.Name == sig.Name && h.Hash == sig.Hash {
				continue next
			}
		}
		merged = append(merged, sig)
		added = append(added, sig)
	}
	return merged, added
}

// errForeign: a stored checkpoint is not of this node's current keys.
var errForeign = errors.New("subjectlog: stored subject map of another key")

// open checks a stored revision's checkpoint: signed under this node's
// current key and VRF key (else errForeign), exactly what this node signs
// for it, and of the revision's size and root (else ErrMapCorrupt).
func (c *Committer) open(r store.SubjectMapRevision) (*snapshot, error) {
	n, err := note.Open(r.Note, note.VerifierList()) // parse only
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil, fmt.Errorf("%w: revision %d: unreadable checkpoint", ErrMapCorrupt, r.Rev)
	}
	n = unverified.Note
	ours := false
	for _, s := range n.UnverifiedSigs {
		ours = ours || s.Name == c.opts.Signer.Name() && s.Hash == c.opts.Signer.KeyHash()
	}
	cp, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return nil, fmt.Errorf("%w: revision %d: %v", ErrMapCorrupt, r.Rev, err)
	}
	if !ours || cp.Origin != c.opts.Signer.Name() || !bytes.Equal(cp.VRFKey, c.opts.VRF.Public()) {
		return nil, errForeign
	}
	again, err := SignCheckpoint(cp, c.opts.Signer)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, r.Note) || cp.Size != r.Rev || !bytes.Equal(cp.MapRoot[:], r.Root) {
		return nil, fmt.Errorf("%w: revision %d: the stored checkpoint is not what this node signed", ErrMapCorrupt, r.Rev)
	}
	return &snapshot{cp: cp, keys: r.Keys, note: bytes.Clone(r.Note)}, nil
}

// fold folds the leaves [from, to) into the map at last (nil: empty, and
// with c.rebuild the stored map is replaced) and commits the new revision
// with its signed checkpoint.
func (c *Committer) fold(ctx context.Context, last *snapshot, from, to uint64, report func(next uint64)) error {
	ups, err := c.scan(ctx, from, to, report)
	if err != nil {
		return err
	}
	var base *mapRevision
	if last != nil {
		r := last.revision()
		base = &r
	}
	up, err := computeUpdate(ctx, c.opts.Store, base, ups)
	if err != nil {
		return err
	}
	root, err := c.opts.Tree.Root(ctx, to)
	if err != nil {
		return err
	}
	cp := Checkpoint{MapRoot: up.root, VRFKey: c.opts.VRF.Public()}
	cp.Origin, cp.Size, cp.Hash = c.opts.Signer.Name(), to, root
	signed, err := SignCheckpoint(cp, c.opts.Signer)
	if err != nil {
		return err
	}
	s := &snapshot{cp: cp, keys: up.keys, note: signed}
	kept, undo := c.retainWith(s)
	retain := make([]uint64, 0, len(kept))
	for _, k := range kept[:len(kept)-1] {
		retain = append(retain, k.cp.Size)
	}
	err = c.opts.Store.CommitSubjectMap(ctx, store.SubjectMapUpdate{
		Prev:     c.newest,
		Reset:    c.rebuild,
		Revision: store.SubjectMapRevision{Rev: to, Root: up.root[:], Keys: up.keys, Note: signed},
		Nodes:    up.nodes,
		Replaced: up.replaced,
		Keep:     1,
		Retain:   retain,
	})
	if err != nil {
		undo()
		return err
	}
	c.newest = &to
	c.setSnaps(kept)
	c.rebuild = false
	return nil
}

// retainWith returns the snapshots kept once s is committed (s last), the
// newest held one marked superseded now; undo unmarks it, if the commit
// fails. The caller holds adv.
func (c *Committer) retainWith(s *snapshot) (kept []*snapshot, undo func()) {
	now := c.opts.Clock()
	undo = func() {}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var snaps []*snapshot
	if !c.rebuild {
		snaps = slices.Clone(c.snaps)
	}
	if n := len(snaps); n > 0 {
		last := snaps[n-1]
		last.superseded = now
		undo = func() { last.superseded = time.Time{} }
	}
	return c.opts.Retention.retain(append(snaps, s), now), undo
}

// scan reads the leaves [from, to) and groups them by map key, sorted;
// report (if not nil) is given the index after each leaf read.
func (c *Committer) scan(ctx context.Context, from, to uint64, report func(next uint64)) ([]keyUpdate, error) {
	byKey := map[Key]int{}
	var ups []keyUpdate
	next := from
	errStop := errors.New("stop")
	err := c.opts.Store.ScanLeafHashes(ctx, store.LogInquiry, from, func(idx uint64, subject string, h []byte) error {
		if idx >= to {
			return errStop
		}
		if subject != "" {
			k, err := c.subjectKey(subject)
			if err != nil {
				return err
			}
			i, ok := byKey[k]
			if !ok {
				i = len(ups)
				byKey[k] = i
				ups = append(ups, keyUpdate{key: k})
			}
			ups[i].leaves = append(ups[i].leaves, leafRef{index: idx, hash: bytes.Clone(h)})
		}
		next = idx + 1
		if report != nil {
			report(next)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if next != to {
		return nil, fmt.Errorf("%w: leaves end at %d, tree at %d", store.ErrTreeCorrupt, next, to)
	}
	slices.SortFunc(ups, func(a, b keyUpdate) int { return bytes.Compare(a.key[:], b.key[:]) })
	return ups, nil
}

// subjectKey is subject's map key, from the cache or the VRF.
func (c *Committer) subjectKey(subject string) (Key, error) {
	if k, ok := c.keys.get(subject); ok {
		return k, nil
	}
	k, _, err := c.opts.VRF.SubjectKey(subject)
	if err != nil {
		return Key{}, err
	}
	c.keys.put(subject, k)
	return k, nil
}

// keyCache maps subjects to map keys (a VRF evaluation costs ~0.5 ms) in
// two generations of at most keyCacheSize entries: when the newer fills, the
// older is dropped. Hits in the older are moved to the newer.
type keyCache struct{ cur, old map[string]Key }

func (kc *keyCache) get(s string) (Key, bool) {
	if k, ok := kc.cur[s]; ok {
		return k, true
	}
	k, ok := kc.old[s]
	if ok {
		kc.put(s, k)
	}
	return k, ok
}

func (kc *keyCache) put(s string, k Key) {
	if kc.cur == nil || len(kc.cur) >= keyCacheSize {
		kc.old, kc.cur = kc.cur, make(map[string]Key)
	}
	kc.cur[s] = k
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
//
// New cosignatures are stored with the checkpoint's revision before they
// are served, so that they survive a restart; if storing them fails, none
// is added and the error is returned.
func (c *Committer) AddCosignatures(ctx context.Context, cosigned []byte, witnesses note.Verifiers) (int, error) {
	n, err := note.Open(cosigned, witnesses)
	if err != nil {
		return 0, err
	}
	var s *snapshot
	var fresh []note.Signature
	c.mu.RLock()
	for _, cand := range c.snaps {
		if string(cand.cp.Marshal()) == n.Text {
			s = cand
			_, fresh = mergeCosigs(slices.Clone(s.cosigs), n.Sigs)
			break
		}
	}
	c.mu.RUnlock()
	if len(fresh) == 0 {
		return 0, nil
	}
	rows := make([]store.SubjectCosignature, 0, len(fresh))
	for _, sig := range fresh {
		b, err := base64.StdEncoding.DecodeString(sig.Base64)
		if err != nil { // note.Open verified it: cannot happen
			return 0, fmt.Errorf("subjectlog: cosignature of %s: %w", sig.Name, err)
		}
		rows = append(rows, store.SubjectCosignature{Rev: s.cp.Size, Name: sig.Name, Hash: sig.Hash, Sig: b})
	}
	if _, err := c.opts.Store.AddSubjectCosignatures(ctx, rows); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil // the revision was pruned meanwhile
		}
		return 0, fmt.Errorf("subjectlog: storing cosignatures of the subject checkpoint of size %d: %w", s.cp.Size, err)
	}
	c.mu.Lock()
	var added []note.Signature
	s.cosigs, added = mergeCosigs(s.cosigs, fresh)
	c.mu.Unlock()
	return len(added), nil
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
// minCosigs cosignatures (at least Quorum, if set), or if none does the
// newest of those holding the most (the Committer keeps them: Retention).
//
// The caller reads the subject's entries before calling Prove, and a
// checkpoint may be committed in between: its count would then include an
// entry the caller did not read, and the subject would see a false alarm.
// So a checkpoint is used only if the indexes below its size are as many as
// the count it commits; otherwise the next kept checkpoint in order of
// preference is tried (the one in force when the entries were read is kept
// for Retention.Window after it was superseded). If none agrees, the
// preferred one is used and the subject's verification fails visibly.
//
// The map proof reads the nodes on the subject's path from the store, each
// checked against its parent's hash up to the checkpoint's map root: a
// stored node changed behind the node's back fails with ErrMapCorrupt
// rather than yield a proof that would not verify.
func (c *Committer) Prove(ctx context.Context, subject string, indexes []uint64, minCosigs int) (*schemas.SubjectProof, error) {
	return c.ProvePage(ctx, PageProof{Subject: subject, All: indexes, Page: indexes, MinCosigs: minCosigs})
}

// PageProof asks for the proof of one page of a subject's entries.
type PageProof struct {
	Subject string
	// All are the log indexes of all the subject's entries (ascending): they
	// choose the checkpoint as Prove does, when At is zero.
	All []uint64
	// Page are the indexes of the page's entries (ascending): the proof
	// carries their inclusion proofs.
	Page []uint64
	// At, if not zero, is the size of the checkpoint to prove against (that
	// of a walk's first page); ErrNotKept if it is no longer kept.
	At        uint64
	MinCosigs int
}

// ErrNotKept: the checkpoint a page was asked against is not (or no
// longer) kept (Retention).
var ErrNotKept = errors.New("subjectlog: that subject checkpoint is not kept")

// ProvePage returns the proof of one page of a subject's entries: the
// checkpoint (r.At, or chosen as Prove chooses it) with the map proof of
// the subject's whole chain, and the inclusion proofs of the page's
// entries only. Every page of a walk pinned to one checkpoint carries the
// same map proof; the subject checks the chain over the entries of all the
// pages (node/subjectcheck).
func (c *Committer) ProvePage(ctx context.Context, r PageProof) (*schemas.SubjectProof, error) {
	return c.prove(ctx, r, true)
}

// candidates are the kept snapshots in the order Prove tries them: by
// cosignatures, counted up to minCosigs, then newest first.
func (c *Committer) candidates(minCosigs int) []*snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := slices.Clone(c.snaps)
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b *snapshot) int {
		return min(len(b.cosigs), minCosigs) - min(len(a.cosigs), minCosigs)
	})
	return out
}

// below is how many of the ascending indexes are below size.
func below(indexes []uint64, size uint64) uint64 {
	var n uint64
	for _, i := range indexes {
		if i < size {
			n++
		}
	}
	return n
}

func (c *Committer) prove(ctx context.Context, r PageProof, retry bool) (*schemas.SubjectProof, error) {
	minCosigs := r.MinCosigs
	if c.opts.Quorum != nil {
		minCosigs = max(minCosigs, c.opts.Quorum())
	}
	cands := c.candidates(minCosigs)
	if len(cands) == 0 {
		return nil, ErrNoCheckpoint
	}
	if r.At != 0 {
		cands = slices.DeleteFunc(cands, func(s *snapshot) bool { return s.cp.Size != r.At })
		if len(cands) == 0 {
			return nil, fmt.Errorf("%w: size %d", ErrNotKept, r.At)
		}
	}
	k, pi, err := c.opts.VRF.SubjectKey(r.Subject)
	if err != nil {
		return nil, err
	}
	var (
		s         *snapshot
		v         Value
		mp        MapProof
		fallback  *snapshot
		fallbackV Value
		fallbackP MapProof
	)
	for _, cand := range cands {
		cv, cp, err := proveStored(ctx, c.opts.Store, cand.revision(), k)
		if errors.Is(err, store.ErrNotFound) {
			continue // pruned since it was listed
		}
		if err != nil {
			return nil, err
		}
		if fallback == nil {
			fallback, fallbackV, fallbackP = cand, cv, cp
		}
		if r.At != 0 || cv.Count == below(r.All, cand.cp.Size) {
			s, v, mp = cand, cv, cp
			break
		}
	}
	if s == nil && fallback != nil {
		s, v, mp = fallback, fallbackV, fallbackP
	}
	if s == nil {
		if r.At != 0 {
			return nil, fmt.Errorf("%w: size %d was pruned while proving", ErrNotKept, r.At)
		}
		if retry {
			// Every listed revision was pruned meanwhile: list again.
			return c.prove(ctx, r, false)
		}
		return nil, fmt.Errorf("%w: every kept revision was pruned while proving", store.ErrNotFound)
	}
	c.mu.RLock()
	text, err := s.noteWithCosigs()
	c.mu.RUnlock()
	if err != nil {
		return nil, err
	}
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
	var committed []uint64
	for _, idx := range r.Page {
		if idx < s.cp.Size {
			committed = append(committed, idx)
		}
	}
	ps, err := c.opts.Tree.InclusionProofs(ctx, committed, s.cp.Size)
	if err != nil {
		return nil, err
	}
	for k, idx := range committed {
		ei := schemas.EntryInclusion{Index: idx, Proof: make([]string, len(ps[k]))}
		for i, h := range ps[k] {
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
