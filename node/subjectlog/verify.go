package subjectlog

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// Verification errors.
var (
	// ErrNoProof: the answer carries no subject proof.
	ErrNoProof = errors.New("subjectlog: the provider sent no subject proof")
	// ErrIncomplete: the entries received do not recompute the chain the
	// signed map commits to: an entry was withheld, added or altered.
	ErrIncomplete = errors.New("subjectlog: entries do not match the committed subject chain")
	// ErrNotWitnessed: fewer witness cosignatures than required.
	ErrNotWitnessed = errors.New("subjectlog: not enough witness cosignatures")
	// ErrForeignEntry: an entry names another subject.
	ErrForeignEntry = errors.New("subjectlog: entry for another subject")
	// ErrInclusion: an entry's inclusion proof is missing or wrong.
	ErrInclusion = errors.New("subjectlog: entry not included in the checkpoint")
)

// VerifyOptions says what a subject trusts.
type VerifyOptions struct {
	// Log verifies the provider's checkpoint signature; its name is the
	// inquiry log's origin (tlog.NewVerifier).
	Log note.Verifier
	// Witnesses verify cosignatures (registry members' keys); MinWitnesses
	// of them must have cosigned the checkpoint.
	Witnesses    []note.Verifier
	MinWitnesses int
}

// Result is what a successful verification established.
type Result struct {
	Checkpoint Checkpoint
	// Committed is the number of entries proven complete up to the
	// checkpoint's size; Pending are the entries logged after it (their
	// completeness will be provable against a later checkpoint).
	Committed, Pending int
	// Witnesses are the names of the witnesses whose cosignatures verified.
	Witnesses []string
}

// Verify checks a subject's log offline: the checkpoint's signature and
// MinWitnesses cosignatures; the subject's map key (VRF proof); every entry
// below the checkpoint's size (its leaf hash from its salt, that it names
// the subject, its inclusion proof), in index order; and that the chain
// over exactly those entries is what the signed map holds for the subject.
// Entries at or beyond the checkpoint's size are counted as pending.
func Verify(sl *schemas.SubjectLog, opts VerifyOptions) (*Result, error) {
	p := sl.Proof
	if p == nil {
		return nil, ErrNoProof
	}
	if opts.Log == nil {
		return nil, errors.New("subjectlog: no log verifier")
	}
	cp, n, err := OpenCheckpoint([]byte(p.Checkpoint), opts.Log, opts.Witnesses...)
	if err != nil {
		return nil, err
	}
	res := &Result{Checkpoint: cp}
	for _, s := range n.Sigs {
		if s.Name == opts.Log.Name() || slices.Contains(res.Witnesses, s.Name) {
			continue
		}
		res.Witnesses = append(res.Witnesses, s.Name)
	}
	if len(res.Witnesses) < opts.MinWitnesses {
		return res, fmt.Errorf("%w: %d of %d", ErrNotWitnessed, len(res.Witnesses), opts.MinWitnesses)
	}
	pi, err := hex.DecodeString(p.VRFProof)
	if err != nil {
		return res, ErrVRFInvalid
	}
	key, err := VerifySubjectKey(cp.VRFKey, sl.Subject, pi)
	if err != nil {
		return res, err
	}
	proofs := make(map[uint64][]string, len(p.Inclusion))
	for _, in := range p.Inclusion {
		proofs[in.Index] = in.Proof
	}
	var v Value
	var prev uint64
	for i, e := range sl.Entries {
		if i > 0 && e.Index <= prev {
			return res, fmt.Errorf("%w: entries out of order at index %d", ErrIncomplete, e.Index)
		}
		prev = e.Index
		if e.Entry.Subject != sl.Subject {
			return res, fmt.Errorf("%w: index %d", ErrForeignEntry, e.Index)
		}
		if err := inquirylog.VerifyLogged(e); err != nil {
			return res, fmt.Errorf("entry %d: %w", e.Index, err)
		}
		if e.Index >= cp.Size {
			res.Pending++
			continue
		}
		leaf, _ := hex.DecodeString(e.LeafHash) // checked by VerifyLogged
		hp, ok := proofs[e.Index]
		if !ok {
			return res, fmt.Errorf("%w: no proof for index %d", ErrInclusion, e.Index)
		}
		path, err := decodeHashes(hp)
		if err != nil {
			return res, fmt.Errorf("%w: index %d: %v", ErrInclusion, e.Index, err)
		}
		if err := tlog.VerifyInclusion(leaf, e.Index, cp.Size, path, cp.Hash); err != nil {
			return res, fmt.Errorf("%w: index %d: %v", ErrInclusion, e.Index, err)
		}
		v.Head = ExtendChain(v.Head, e.Index, leaf)
		v.Count++
		res.Committed++
	}
	mp, err := decodeMapProof(p)
	if err != nil {
		return res, err
	}
	if err := VerifyMapProof(cp.MapRoot, key, v, mp); err != nil {
		if p.Count != v.Count {
			return res, fmt.Errorf("%w: received %d entries up to size %d, the provider committed to %d (%v)", ErrIncomplete, v.Count, cp.Size, p.Count, err)
		}
		return res, fmt.Errorf("%w: %v", ErrIncomplete, err)
	}
	return res, nil
}

func decodeHashes(hs []string) ([][]byte, error) {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			return nil, errors.New("bad hash")
		}
		out[i] = b
	}
	return out, nil
}

func decode32(s string) ([32]byte, error) {
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("%w: bad hash", ErrMapProof)
	}
	copy(out[:], b)
	return out, nil
}

func decodeMapProof(p *schemas.SubjectProof) (MapProof, error) {
	if len(p.MapSiblings) > MaxMapDepth {
		return MapProof{}, fmt.Errorf("%w: %d siblings", ErrMapProof, len(p.MapSiblings))
	}
	var mp MapProof
	for _, s := range p.MapSiblings {
		h, err := decode32(s)
		if err != nil {
			return MapProof{}, err
		}
		mp.Siblings = append(mp.Siblings, h)
	}
	if p.MapOtherKey != "" {
		k, err := decode32(p.MapOtherKey)
		if err != nil {
			return MapProof{}, err
		}
		o := Key(k)
		mp.OtherKey = &o
		if mp.OtherValueHash, err = decode32(p.MapOtherValue); err != nil {
			return MapProof{}, err
		}
	}
	return mp, nil
}
