package registry

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditexchange/node/schemas"
)

// maxFileSize bounds the registry file the Watcher reads.
const maxFileSize = 16 << 20

// Watcher keeps the registry in force, reloading it from a file. Readers call
// Current (or the look-up methods) from any goroutine; the registry is
// swapped atomically, so each read sees one whole registry.
//
// Once the registry in force has expired, Valid reports ErrExpired and every
// look-up method answers "not found": the node fails closed (the member
// listener then refuses every peer) until a fresh registry is published.
type Watcher struct {
	path      string
	authority ed25519.PublicKey
	clock     func() time.Time
	log       *slog.Logger

	cur atomic.Pointer[Registry]

	mu      sync.Mutex // serialises polls and guards the fields below
	stamp   fileStamp  // of the file last read
	seen    [32]byte   // SHA-256 of the content last read
	inForce [32]byte   // SHA-256 of the registry in force as it was read
	expired bool       // expiry already logged
}

type fileStamp struct {
	mtime time.Time
	size  int64
}

// NewWatcher makes a Watcher for the registry file at path, trusting
// registries signed by authority, with clock as the time source. Call Load
// before anything else.
func NewWatcher(path string, authority ed25519.PublicKey, clock func() time.Time, logger *slog.Logger) *Watcher {
	if clock == nil {
		clock = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{path: path, authority: authority, clock: clock, log: logger.With(slog.String("registry_file", path))}
}

// Load reads and verifies the registry file. A node must not start unless
// it succeeds.
func (w *Watcher) Load() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	data, stamp, err := w.read()
	if err != nil {
		return err
	}
	reg, err := Verify(data, w.authority, w.clock())
	if err != nil {
		return err
	}
	w.stamp, w.seen = stamp, sha256.Sum256(data)
	w.inForce = w.seen
	w.cur.Store(reg)
	w.log.LogAttrs(context.Background(), slog.LevelInfo, "registry loaded", slog.Any("registry", reg))
	return nil
}

// Poll checks the file once and swaps in a new registry if the file changed
// and verifies. It reports whether the registry in force changed. A changed
// file that is refused (bad signature, invalid, expired, not yet valid, or a
// serial not greater than the one in force) is logged and returned as the
// error; the registry in force stays. A refused file is not retried until it
// changes again, except one refused as not yet valid.
//
// A file that holds the registry in force (a copy of it written again, the
// same signed document in other bytes, or the file put back after a refused
// or half-written one) changes nothing and is no error: it is logged at info.
func (w *Watcher) Poll() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx := context.Background()
	st, err := os.Stat(w.path)
	if err != nil {
		w.log.LogAttrs(ctx, slog.LevelWarn, "registry file unreadable; keeping the registry in force", slog.String("err", err.Error()))
		return false, err
	}
	if (fileStamp{st.ModTime(), st.Size()}) == w.stamp {
		return false, nil
	}
	data, stamp, err := w.read()
	if err != nil {
		w.log.LogAttrs(ctx, slog.LevelWarn, "registry file unreadable; keeping the registry in force", slog.String("err", err.Error()))
		return false, err
	}
	sum := sha256.Sum256(data)
	if sum == w.seen { // touched, same content
		w.stamp = stamp
		return false, nil
	}
	if sum == w.inForce { // the registry in force again, after another content
		w.stamp, w.seen = stamp, sum
		w.log.LogAttrs(ctx, slog.LevelInfo, "registry file holds the registry in force again; nothing to change",
			slog.Any("registry", w.cur.Load()))
		return false, nil
	}
	reg, err := w.accept(data)
	if errors.Is(err, errInForce) {
		w.stamp, w.seen = stamp, sum
		w.log.LogAttrs(ctx, slog.LevelInfo, "registry file is a copy of the registry in force; nothing to change",
			slog.Any("registry", w.cur.Load()))
		return false, nil
	}
	if err != nil {
		if !errors.Is(err, ErrNotYetValid) {
			w.stamp, w.seen = stamp, sum
		}
		w.log.LogAttrs(ctx, slog.LevelError, "registry update refused; keeping the registry in force",
			slog.String("err", err.Error()), slog.Any("in_force", w.cur.Load()))
		return false, err
	}
	w.stamp, w.seen, w.inForce, w.expired = stamp, sum, sum, false
	w.cur.Store(reg)
	w.log.LogAttrs(ctx, slog.LevelInfo, "registry updated", slog.Any("registry", reg))
	return true, nil
}

// errInForce: a verified registry is the very document in force (same
// serial, same content), signed and encoded in other bytes.
var errInForce = errors.New("registry: the registry in force")

// accept verifies data as a successor of the registry in force.
func (w *Watcher) accept(data []byte) (*Registry, error) {
	reg, err := Verify(data, w.authority, w.clock())
	if err != nil {
		return nil, err
	}
	if cur := w.cur.Load(); cur != nil {
		if reg.Federation() != cur.Federation() {
			return nil, fmt.Errorf("%w: federation changed from %q to %q", ErrInvalid, cur.Federation(), reg.Federation())
		}
		if reg.Serial() == cur.Serial() && sameDoc(reg, cur) {
			return nil, errInForce
		}
		if reg.Serial() <= cur.Serial() {
			return nil, fmt.Errorf("%w: serial %d, in force %d", ErrStale, reg.Serial(), cur.Serial())
		}
	}
	return reg, nil
}

// sameDoc reports whether a and b hold the same registry document.
func sameDoc(a, b *Registry) bool {
	x, errX := json.Marshal(a.doc)
	y, errY := json.Marshal(b.doc)
	return errX == nil && errY == nil && bytes.Equal(x, y)
}

// read reads the file with a size bound, and its stamp as of before the read
// (so a write racing the read is picked up on the next poll).
func (w *Watcher) read() ([]byte, fileStamp, error) {
	f, err := os.Open(w.path)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("registry: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("registry: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fileStamp{}, fmt.Errorf("%w: file larger than %d bytes", ErrInvalid, maxFileSize)
	}
	return data, fileStamp{st.ModTime(), st.Size()}, nil
}

// Run polls the file every interval until ctx ends, and logs once when the
// registry in force expires.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.Poll() // refusals are logged by Poll
		w.noteExpiry(ctx)
	}
}

func (w *Watcher) noteExpiry(ctx context.Context) {
	err := w.Valid(w.clock())
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.Is(err, ErrExpired) && !w.expired {
		w.expired = true
		w.log.LogAttrs(ctx, slog.LevelError, "registry expired: refusing all peers until a new one is published",
			slog.Any("registry", w.cur.Load()))
	}
}

// Current returns the registry in force (possibly expired), or nil before
// Load succeeds.
func (w *Watcher) Current() *Registry { return w.cur.Load() }

// Valid reports whether a registry in force is valid at now: ErrNotLoaded,
// ErrExpired or nil.
func (w *Watcher) Valid(now time.Time) error {
	reg := w.cur.Load()
	if reg == nil {
		return ErrNotLoaded
	}
	return reg.Valid(now)
}

// live returns the registry in force if it is valid now.
func (w *Watcher) live() *Registry {
	reg := w.cur.Load()
	if reg == nil || reg.Valid(w.clock()) != nil {
		return nil
	}
	return reg
}

// Member looks up a member in the registry in force.
func (w *Watcher) Member(id string) (*schemas.Member, bool) {
	if reg := w.live(); reg != nil {
		return reg.Member(id)
	}
	return nil, false
}

// MemberByFingerprint implements transport.MemberLookup over the registry in
// force.
func (w *Watcher) MemberByFingerprint(fp string) (string, bool) {
	if reg := w.live(); reg != nil {
		return reg.MemberByFingerprint(fp)
	}
	return "", false
}

// TLSFingerprint is the registered certificate fingerprint of memberID.
func (w *Watcher) TLSFingerprint(memberID string) (string, bool) {
	if reg := w.live(); reg != nil {
		return reg.TLSFingerprint(memberID)
	}
	return "", false
}

// SigningKey looks up a member's signing key in the registry in force.
func (w *Watcher) SigningKey(memberID, kid string) (ed25519.PublicKey, bool) {
	if reg := w.live(); reg != nil {
		return reg.SigningKey(memberID, kid)
	}
	return nil, false
}

// RegistrarKey looks up a registrar's signing key in the registry in force.
func (w *Watcher) RegistrarKey(memberID, kid string) (ed25519.PublicKey, bool) {
	if reg := w.live(); reg != nil {
		return reg.RegistrarKey(memberID, kid)
	}
	return nil, false
}

// SubjectCertRevoked reports whether registrar revoked the subject
// certificate certID in the registry in force.
func (w *Watcher) SubjectCertRevoked(registrar, certID string) bool {
	if reg := w.live(); reg != nil {
		return reg.SubjectCertRevoked(registrar, certID)
	}
	return false
}

// EncryptionKey looks up a member's encryption key in the registry in force.
func (w *Watcher) EncryptionKey(memberID string) (*ecdh.PublicKey, string, bool) {
	if reg := w.live(); reg != nil {
		return reg.EncryptionKey(memberID)
	}
	return nil, "", false
}
