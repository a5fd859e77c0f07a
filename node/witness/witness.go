package witness

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
)

// Errors of Observe. Each but ErrUnverified also raises an alarm.
var (
	// ErrUnverified: the checkpoint is not signed by a key the registry lists
	// for the peer, or is malformed. Refused, no alarm (anyone can send junk).
	ErrUnverified = errors.New("witness: checkpoint does not verify")
	// ErrSplitView: a second checkpoint of a size already cosigned, with a
	// different root or map root.
	ErrSplitView = errors.New("witness: split view")
	// ErrInconsistent: the new tree does not extend the one cosigned before.
	ErrInconsistent = errors.New("witness: checkpoint inconsistent with the previous one")
	// ErrRollback: the tree is smaller than one already cosigned.
	ErrRollback = errors.New("witness: log rolled back")
	// ErrVRFKeyChanged: the subject-map VRF key changed.
	ErrVRFKeyChanged = errors.New("witness: subject-map VRF key changed")
)

// Paths of the witness API on the member listener.
const (
	PathCheckpoint  = "/v1/witness/checkpoint"  // this node's latest subject checkpoint
	PathConsistency = "/v1/witness/consistency" // ?from=&to= of this node's inquiry log
	PathCosigned    = "/v1/witness/cosigned/"   // + peer id: this witness's latest cosigned checkpoint of peer
	PathAlarms      = "/v1/witness/alarms"
)

// Fetcher gets a path from a member's mutual-TLS API (a *peer.Client).
type Fetcher interface {
	Get(ctx context.Context, member, path string) ([]byte, error)
}

// Members is the registry as a witness sees it.
type Members interface {
	// Peers lists the members to witness (not this node).
	Peers() []string
	// SigningKeys returns a member's registered Ed25519 keys.
	SigningKeys(id string) []ed25519.PublicKey
}

// State stores what a witness accepted and the alarms it raised (FileState).
type State interface {
	Last(ctx context.Context, peer string) (Record, error)
	Save(ctx context.Context, r Record) error
	AddAlarm(ctx context.Context, a Alarm) error
	Alarms(ctx context.Context) ([]Alarm, error)
}

// AlarmCounter counts alarms by kind (a Prometheus counter in the node).
type AlarmCounter interface {
	Inc(peer, kind string)
}

// Collector takes the cosignatures other witnesses made of this node's
// checkpoints (a *subjectlog.Committer), storing them durably before it
// serves them.
type Collector interface {
	AddCosignatures(ctx context.Context, cosigned []byte, witnesses note.Verifiers) (int, error)
}

// Options configures a Witness. ID, Key, Members, Fetch and State are required.
type Options struct {
	ID      string        // this node's id
	Key     crypto.Signer // this node's Ed25519 signing key
	Members Members
	Fetch   Fetcher
	State   State
	Own     Collector    // optional: where collected cosignatures of own checkpoints go
	Alarms  AlarmCounter // optional
	Clock   func() time.Time
	Logger  *slog.Logger
}

// Witness checks and cosigns its peers' subject checkpoints: each new one
// must be signed by the peer's registered key, extend the last one it
// cosigned (RFC 6962 consistency proof), and agree with it at equal size
// (root and map root) and on the VRF key. Otherwise it raises an alarm (an
// error log line, the counter, a durable alarm record with both notes as
// evidence) and does not cosign. The first checkpoint of a peer is trusted
// on first use. A Witness is safe for concurrent use.
type Witness struct {
	opts   Options
	signer note.Signer
	log    *slog.Logger
	mu     sync.Mutex // serialises Observe, so each peer's record moves forward only
}

// New makes a Witness.
func New(opts Options) (*Witness, error) {
	if opts.ID == "" || opts.Key == nil || opts.Members == nil || opts.Fetch == nil || opts.State == nil {
		return nil, errors.New("witness: ID, Key, Members, Fetch and State are required")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s, err := NewCosigner(Name(opts.ID), opts.Key, opts.Clock)
	if err != nil {
		return nil, err
	}
	return &Witness{opts: opts, signer: s, log: opts.Logger.With(slog.String("component", "witness"))}, nil
}

// LogVerifiers are the verifiers of peer's inquiry-log checkpoints, one per
// registered key.
func LogVerifiers(m Members, peer string) []note.Verifier {
	var out []note.Verifier
	for _, k := range m.SigningKeys(peer) {
		if v, err := tlog.NewVerifier(tlog.Origin(peer, store.LogInquiry), k); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// CosignatureVerifiers are the verifiers of the given members' cosignatures.
func CosignatureVerifiers(m Members, ids ...string) []note.Verifier {
	var out []note.Verifier
	for _, id := range ids {
		for _, k := range m.SigningKeys(id) {
			if v, err := NewVerifier(Name(id), k); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

func (w *Witness) open(peer string, text []byte) (subjectlog.Checkpoint, *note.Note, error) {
	var last error = fmt.Errorf("%w: no registered key for %s", ErrUnverified, peer)
	for _, v := range LogVerifiers(w.opts.Members, peer) {
		cp, n, err := subjectlog.OpenCheckpoint(text, v)
		if err == nil {
			return cp, n, nil
		}
		last = fmt.Errorf("%w: %v", ErrUnverified, err)
	}
	return subjectlog.Checkpoint{}, nil, last
}

// Observe checks peer's subject checkpoint text against the last one
// cosigned and returns the note carrying the peer's signature and this
// witness's cosignature. proof fetches a consistency proof of peer's tree
// when the size grew.
func (w *Witness) Observe(ctx context.Context, peer string, text []byte, proof func(ctx context.Context, from, to uint64) ([][]byte, error)) ([]byte, error) {
	cp, n, err := w.open(peer, text)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	last, err := w.opts.State.Last(ctx, peer)
	switch {
	case errors.Is(err, ErrNoRecord):
	case err != nil:
		return nil, err
	default:
		if err := w.check(ctx, peer, last, cp, proof); err != nil {
			kind := alarmKind(err)
			w.alarm(ctx, Alarm{Time: w.opts.Clock().UTC(), Peer: peer, Kind: kind, Detail: err.Error(),
				Previous: string(last.Cosigned), Offending: string(text)})
			return nil, err
		}
	}
	out := &note.Note{Text: n.Text, Sigs: n.Sigs} // the peer's verified signature
	cosigned, err := note.Sign(out, w.signer)
	if err != nil {
		return nil, err
	}
	rec := Record{Peer: peer, Size: cp.Size, Root: cp.Hash, MapRoot: cp.MapRoot[:], VRFKey: cp.VRFKey, Cosigned: cosigned, SeenAt: w.opts.Clock().UTC()}
	if err := w.opts.State.Save(ctx, rec); err != nil {
		return nil, err
	}
	return cosigned, nil
}

func (w *Witness) check(ctx context.Context, peer string, last Record, cp subjectlog.Checkpoint, proof func(ctx context.Context, from, to uint64) ([][]byte, error)) error {
	if !bytes.Equal(last.VRFKey, cp.VRFKey) {
		return fmt.Errorf("%w: %s", ErrVRFKeyChanged, peer)
	}
	switch {
	case cp.Size < last.Size:
		return fmt.Errorf("%w: %s size %d after %d", ErrRollback, peer, cp.Size, last.Size)
	case cp.Size == last.Size:
		if !bytes.Equal(cp.Hash, last.Root) || !bytes.Equal(cp.MapRoot[:], last.MapRoot) {
			return fmt.Errorf("%w: %s size %d", ErrSplitView, peer, cp.Size)
		}
		return nil
	case last.Size == 0:
		return nil // the empty tree is a prefix of every tree
	}
	p, err := proof(ctx, last.Size, cp.Size)
	if err != nil {
		return fmt.Errorf("%w: %s gave no consistency proof from %d to %d: %v", ErrInconsistent, peer, last.Size, cp.Size, err)
	}
	if err := tlog.VerifyConsistency(last.Size, cp.Size, p, last.Root, cp.Hash); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInconsistent, peer, err)
	}
	return nil
}

func alarmKind(err error) string {
	switch {
	case errors.Is(err, ErrSplitView):
		return AlarmSplitView
	case errors.Is(err, ErrRollback):
		return AlarmRollback
	case errors.Is(err, ErrVRFKeyChanged):
		return AlarmVRFKey
	}
	return AlarmInconsistent
}

func (w *Witness) alarm(ctx context.Context, a Alarm) {
	w.log.LogAttrs(ctx, slog.LevelError, "witness alarm", slog.String("peer", a.Peer), slog.String("kind", a.Kind), slog.String("detail", a.Detail))
	if w.opts.Alarms != nil {
		w.opts.Alarms.Inc(a.Peer, a.Kind)
	}
	if err := w.opts.State.AddAlarm(ctx, a); err != nil {
		w.log.LogAttrs(ctx, slog.LevelError, "witness alarm not stored", slog.Any("err", err))
	}
}

// Poll fetches peer's latest subject checkpoint over mutual TLS, observes
// it (or the one another witness cosigned, see follow), then collects
// peer's cosignature of this node's own checkpoint.
func (w *Witness) Poll(ctx context.Context, peer string) error {
	text, err := w.opts.Fetch.Get(ctx, peer, PathCheckpoint)
	if err != nil {
		return err
	}
	if other := w.follow(ctx, peer, text); other != nil {
		text = other
	}
	proof := func(ctx context.Context, from, to uint64) ([][]byte, error) {
		b, err := w.opts.Fetch.Get(ctx, peer, PathConsistency+"?from="+strconv.FormatUint(from, 10)+"&to="+strconv.FormatUint(to, 10))
		if err != nil {
			return nil, err
		}
		return DecodeProof(b)
	}
	_, obsErr := w.Observe(ctx, peer, text, proof)
	if w.opts.Own != nil {
		if cos, err := w.opts.Fetch.Get(ctx, peer, PathCosigned+w.opts.ID); err == nil {
			if _, err := w.opts.Own.AddCosignatures(ctx, cos, note.VerifierList(CosignatureVerifiers(w.opts.Members, peer)...)); err != nil {
				w.log.LogAttrs(ctx, slog.LevelWarn, "witness cosignature of own checkpoint not taken", slog.String("peer", peer), slog.Any("err", err))
			}
		}
	}
	return obsErr
}

// followTimeout bounds the requests of follow.
const followTimeout = 5 * time.Second

// follow returns the checkpoint of peer that another witness cosigned
// last, if it is newer than the one this witness cosigned last and not
// newer than latest (peer's own latest): nil otherwise. Witnesses polling
// a busy peer at different moments would each cosign another checkpoint,
// and none would ever hold k cosignatures; following the newest one another
// witness cosigned, each checkpoint a witness cosigns is cosigned by the
// others at their next poll. The followed checkpoint is checked as any
// other (Observe: the peer's signature, consistency with the last one).
// Other witnesses that do not answer are skipped.
func (w *Witness) follow(ctx context.Context, peer string, latest []byte) []byte {
	newest, _, err := w.open(peer, latest)
	if err != nil {
		return nil
	}
	var floor uint64
	last, err := w.opts.State.Last(ctx, peer)
	switch {
	case errors.Is(err, ErrNoRecord):
		return nil // first sight: the peer's own latest
	case err != nil:
		return nil
	default:
		floor = last.Size
	}
	// Asked at once, for at most followTimeout: a member that is down
	// delays the poll of each peer by that much at most.
	others := slices.DeleteFunc(w.opts.Members.Peers(), func(id string) bool { return id == peer })
	got := make([][]byte, len(others))
	fctx, cancel := context.WithTimeout(ctx, followTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i, other := range others {
		wg.Go(func() {
			if b, err := w.opts.Fetch.Get(fctx, other, PathCosigned+peer); err == nil {
				got[i] = b
			}
		})
	}
	wg.Wait()
	var best []byte
	var bestSize uint64
	for _, b := range got {
		if b == nil {
			continue
		}
		cp, _, err := w.open(peer, b)
		if err != nil || cp.Size <= floor || cp.Size > newest.Size || cp.Size <= bestSize {
			continue
		}
		best, bestSize = b, cp.Size
	}
	return best
}

// PollAll polls every peer once, logging failures.
func (w *Witness) PollAll(ctx context.Context) {
	for _, p := range w.opts.Members.Peers() {
		if err := w.Poll(ctx, p); err != nil {
			w.log.LogAttrs(ctx, slog.LevelWarn, "witness poll failed", slog.String("peer", p), slog.Any("err", err))
		}
	}
}

// Run polls every peer each interval until ctx ends.
func (w *Witness) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.PollAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Cosigned returns this witness's latest cosigned checkpoint of peer.
func (w *Witness) Cosigned(ctx context.Context, peer string) ([]byte, error) {
	r, err := w.opts.State.Last(ctx, peer)
	if err != nil {
		return nil, err
	}
	return r.Cosigned, nil
}

// Alarms returns every alarm raised.
func (w *Witness) Alarms(ctx context.Context) ([]Alarm, error) { return w.opts.State.Alarms(ctx) }

// proofBody is the wire form of a consistency proof.
type proofBody struct {
	Proof []string `json:"proof"` // base64 hashes
}

// EncodeProof is the JSON body of a consistency proof.
func EncodeProof(p [][]byte) ([]byte, error) {
	b := proofBody{Proof: make([]string, len(p))}
	for i, h := range p {
		b.Proof[i] = base64.StdEncoding.EncodeToString(h)
	}
	return json.Marshal(b)
}

// maxProofHashes bounds a consistency proof read from a peer.
const maxProofHashes = 128

// DecodeProof parses a consistency proof body strictly: at most 128 hashes,
// each 32 bytes of canonical base64.
func DecodeProof(b []byte) ([][]byte, error) {
	var pb proofBody
	if err := json.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("witness: proof: %w", err)
	}
	if len(pb.Proof) > maxProofHashes {
		return nil, errors.New("witness: proof too long")
	}
	out := make([][]byte, len(pb.Proof))
	for i, s := range pb.Proof {
		h, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(h) != 32 {
			return nil, errors.New("witness: proof hash malformed")
		}
		out[i] = h
	}
	return out, nil
}
