package vault

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// SignerOptions tune a Signer.
type SignerOptions struct {
	// Timeout is the deadline of one signature, batching included
	// (DefaultTimeout if zero). Sign has no context; SignContext's context
	// can shorten it.
	Timeout time.Duration
	// BatchWindow > 0 groups the Sign calls that arrive within this window
	// into one Transit batch request (at most MaxBatch signatures each).
	BatchWindow time.Duration
	MaxBatch    int // default 64
}

// Signer is a crypto.Signer over one version of a Transit Ed25519 key: the
// latest version when NewSigner ran. Safe for concurrent use; it holds no
// goroutine and needs no Close.
type Signer struct {
	t       *Transit
	version Version
	timeout time.Duration
	batch   *batcher // nil: one request per signature

	mu    sync.RWMutex
	state KeyState // as of the last Refresh
}

// NewSigner reads key t and pins its latest version.
func NewSigner(ctx context.Context, t *Transit, o SignerOptions) (*Signer, error) {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	st, err := t.Read(ctx)
	if err != nil {
		return nil, err
	}
	v, _ := st.Version(st.Latest)
	s := &Signer{t: t, version: v, timeout: o.Timeout, state: st}
	if o.BatchWindow > 0 {
		s.batch = newBatcher(o.BatchWindow, o.MaxBatch, func(ctx context.Context, msgs [][]byte) ([][]byte, error) {
			return t.sign(ctx, v.Number, msgs)
		})
	}
	return s, nil
}

// Public is the pinned version's Ed25519 public key.
func (s *Signer) Public() crypto.PublicKey { return s.version.Public }

// KeyID is the pinned version's kid (RFC 7638 thumbprint).
func (s *Signer) KeyID() string { return s.version.KID }

// Version is the pinned Transit key version.
func (s *Signer) Version() int { return s.version.Number }

// LogValue names the key and version, never anything secret.
func (s *Signer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("transit_key", s.t.name), slog.Int("version", s.version.Number), slog.String("kid", s.version.KID))
}

// Sign signs msg with pure Ed25519 (opts must be crypto.Hash(0)) within the
// signer's timeout. rand is ignored: Vault signs.
func (s *Signer) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.Hash(0) {
		return nil, fmt.Errorf("%w: only pure Ed25519 (crypto.Hash(0)) is supported", ErrConfig)
	}
	return s.SignContext(context.Background(), msg)
}

// SignContext is Sign with a context; the signer's timeout still applies.
// The signature is verified locally before it is returned, so a wrong or
// corrupted answer is never used.
func (s *Signer) SignContext(ctx context.Context, msg []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var sig []byte
	if s.batch != nil {
		r, err := s.batch.sign(ctx, msg)
		if err != nil {
			return nil, err
		}
		sig = r
	} else {
		r, err := s.t.sign(ctx, s.version.Number, [][]byte{msg})
		if err != nil {
			return nil, err
		}
		sig = r[0]
	}
	if !ed25519.Verify(s.version.Public, msg, sig) {
		return nil, fmt.Errorf("%w: Vault's signature does not verify under version %d", ErrKey, s.version.Number)
	}
	return sig, nil
}

// Refresh re-reads the key's versions (for PublicKeys) within the timeout.
func (s *Signer) Refresh(ctx context.Context) (KeyState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	st, err := s.t.Read(ctx)
	if err != nil {
		return KeyState{}, err
	}
	s.mu.Lock()
	s.state = st
	s.mu.Unlock()
	return st, nil
}

// Check refreshes the key state and reports whether the signer can sign:
// Vault answers, and the pinned version still exists, is unchanged and is not
// retired. The node's readiness probe calls it.
func (s *Signer) Check(ctx context.Context) error {
	st, err := s.Refresh(ctx)
	if err != nil {
		return err
	}
	v, ok := st.Version(s.version.Number)
	switch {
	case !ok:
		return fmt.Errorf("%w: version %d no longer exists", ErrKey, s.version.Number)
	case !v.Public.Equal(s.version.Public):
		return fmt.Errorf("%w: version %d changed its public key", ErrKey, s.version.Number)
	case v.Retired:
		return fmt.Errorf("%w: version %d is retired; restart the node to sign with version %d", ErrKey, s.version.Number, st.Latest)
	}
	return nil
}

// PublicKeys are the public keys to publish, ascending by version: every
// non-retired version as of the last Refresh, and always the pinned one.
func (s *Signer) PublicKeys() []ed25519.PublicKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []ed25519.PublicKey
	pinned := false
	for _, v := range s.state.Active() {
		out = append(out, v.Public)
		pinned = pinned || v.Number == s.version.Number
	}
	if !pinned {
		out = append(out, s.version.Public)
	}
	return out
}
