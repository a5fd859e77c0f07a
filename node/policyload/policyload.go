// Package policyload keeps a node's policy current: it fetches a signed
// policy bundle from a file, an unpacked-bundle-free directory holding
// bundle.tar.gz, or an HTTPS URL on a schedule, verifies it against the
// federation authority key, compiles it under the policy package's
// capabilities allowlist and swaps it into a policy.Holder atomically.
//
// A bundle that is unsigned, badly signed, does not compile, or uses a
// forbidden built-in or "with" is refused and logged; the policy in force
// stays. Unchanged bundles (same bytes) are not recompiled.
//
// Bundles cannot roll back. Each carries a serial (see policy.BuildBundle);
// the Loader keeps the highest serial it accepted, with the SHA-256 of that
// bundle, in a state file written atomically before the bundle is put in
// force, and refuses a validly signed bundle whose serial is lower, or equal
// with other bytes (ErrRollback), as the registry watcher refuses older
// serials. After a restart the bundle recorded in the state file is accepted
// again and an older one is not: a node restarted on an older bundle runs
// the embedded policy until an acceptable bundle appears.
package policyload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creditexchange/node/node/atomicfile"
	"github.com/creditexchange/node/policy"
)

// BundleFile is the file name looked for when the source is a directory.
const BundleFile = "bundle.tar.gz"

// StateFile is the usual name, in the node directory, of the file holding
// the serial and digest of the newest bundle accepted.
const StateFile = "policy-bundle-state.json"

// Errors.
var (
	// ErrSource is returned when the bundle location is not a path or an
	// https URL, or the fetch failed.
	ErrSource = errors.New("policyload: bundle source unavailable")
	// ErrUnchanged is returned by Loader.Check when the bundle bytes are the
	// ones already in force.
	ErrUnchanged = errors.New("policyload: bundle unchanged")
	// ErrRollback is returned by Loader.Check for a validly signed bundle
	// whose serial is lower than the highest accepted, or equal to it with
	// other bytes.
	ErrRollback = errors.New("policyload: bundle serial older than the one accepted")
	// ErrState is returned when the state file cannot be read, parsed or
	// written. A node does not start on an unreadable state file, and no
	// bundle is put in force whose serial could not be recorded.
	ErrState = errors.New("policyload: bundle state unavailable")
)

// Options configure a Loader.
type Options struct {
	// Source is a bundle file, a directory holding BundleFile, or an
	// https:// URL.
	Source    string
	Authority policy.Authority
	Holder    *policy.Holder
	// State is the file keeping the highest serial accepted (see
	// StateFile); it survives restarts, so it belongs in the node
	// directory. Required.
	State  string
	Poll   time.Duration // default 30s
	Client *http.Client  // for URLs; default: http.DefaultClient with a timeout
	Logger *slog.Logger  // default slog.Default()
}

// Loader polls one bundle source.
type Loader struct {
	opts Options

	mu       sync.Mutex        // serialises Check and guards the fields below
	last     [sha256.Size]byte // digest of the bundle in force, zero if none
	accepted state             // the newest bundle ever accepted (persisted)
}

// state is the content of the state file.
type state struct {
	Serial int64  `json:"serial"`
	SHA256 string `json:"sha256"` // hex, of the bundle bytes
}

// New checks the options and reads the state file (a missing file means no
// bundle was accepted yet).
func New(opts Options) (*Loader, error) {
	if opts.Source == "" || opts.Holder == nil || opts.State == "" {
		return nil, fmt.Errorf("%w: Source, Holder and State are required", ErrSource)
	}
	if u, err := url.Parse(opts.Source); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		if u.Scheme != "https" {
			return nil, fmt.Errorf("%w: bundle URL must be https, not %s", ErrSource, u.Scheme)
		}
	}
	if opts.Poll <= 0 {
		opts.Poll = 30 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	st, err := readState(opts.State)
	if err != nil {
		return nil, err
	}
	return &Loader{opts: opts, accepted: st}, nil
}

// Check fetches the bundle once and, if it changed, verifies and is not
// older than the newest accepted, records its serial and puts it in force.
// It returns ErrUnchanged for the same bytes, or the reason the bundle was
// refused (the previous policy then stays).
func (l *Loader) Check(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	raw, err := l.fetch(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	if sum == l.last {
		return l.opts.Holder.Revision(), ErrUnchanged
	}
	e, err := policy.LoadBundle(ctx, bytes.NewReader(raw), l.opts.Authority)
	if err != nil {
		return "", err
	}
	digest := hex.EncodeToString(sum[:])
	switch serial := e.Serial(); {
	case serial < l.accepted.Serial:
		return "", fmt.Errorf("%w: serial %d, accepted %d", ErrRollback, serial, l.accepted.Serial)
	case serial == l.accepted.Serial && digest != l.accepted.SHA256:
		return "", fmt.Errorf("%w: serial %d already accepted with other content", ErrRollback, serial)
	case serial > l.accepted.Serial:
		next := state{Serial: serial, SHA256: digest}
		if err := writeState(l.opts.State, next); err != nil {
			return "", err
		}
		l.accepted = next
	}
	l.last = sum
	prev := l.opts.Holder.Swap(e)
	prevRev := ""
	if prev != nil {
		prevRev = prev.Revision()
	}
	l.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "policy bundle loaded",
		slog.String("revision", e.Revision()), slog.Int64("serial", e.Serial()), slog.String("previous", prevRev))
	return e.Revision(), nil
}

// Run checks at once and then every Poll until ctx ends, logging refusals.
func (l *Loader) Run(ctx context.Context) {
	t := time.NewTicker(l.opts.Poll)
	defer t.Stop()
	for {
		if _, err := l.Check(ctx); err != nil && !errors.Is(err, ErrUnchanged) {
			l.opts.Logger.LogAttrs(ctx, slog.LevelWarn, "policy bundle refused; previous policy stays",
				slog.String("source", l.opts.Source), slog.String("in_force", l.opts.Holder.Revision()),
				slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Loader) fetch(ctx context.Context) ([]byte, error) {
	src := l.opts.Source
	if u, err := url.Parse(src); err == nil && u.Scheme == "https" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSource, err)
		}
		resp, err := l.opts.Client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSource, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%w: %s", ErrSource, resp.Status)
		}
		return readLimited(resp.Body)
	}
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		src = filepath.Join(src, BundleFile)
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	defer f.Close()
	return readLimited(f)
}

func readLimited(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, policy.MaxBundleSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSource, err)
	}
	if len(raw) > policy.MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle larger than %d bytes", ErrSource, policy.MaxBundleSize)
	}
	return raw, nil
}

// readState reads the state file; a missing file is the zero state.
func readState(path string) (state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	var st state
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return state{}, fmt.Errorf("%w: %s: %w", ErrState, path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return state{}, fmt.Errorf("%w: %s: data after the state", ErrState, path)
	}
	if sum, err := hex.DecodeString(st.SHA256); st.Serial <= 0 || err != nil || len(sum) != sha256.Size {
		return state{}, fmt.Errorf("%w: %s: serial and sha256 malformed", ErrState, path)
	}
	return st, nil
}

// writeState replaces the state file atomically: a temporary file in the
// same directory, synced, renamed over it, and the directory synced.
func writeState(path string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}

func writeFileAtomic(path string, b []byte) error { return atomicfile.Write(path, b, 0o600) }
