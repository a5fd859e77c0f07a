// Package policyload keeps a node's policy current: it fetches a signed
// policy bundle from a file, an unpacked-bundle-free directory holding
// bundle.tar.gz, or an HTTPS URL on a schedule, verifies it against the
// federation authority key, compiles it under the policy package's
// capabilities allowlist and swaps it into a policy.Holder atomically.
//
// A bundle that is unsigned, badly signed, does not compile, or uses a
// forbidden built-in or "with" is refused and logged; the policy in force
// stays. Unchanged bundles (same bytes) are not recompiled.
package policyload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/creditexchange/node/policy"
)

// BundleFile is the file name looked for when the source is a directory.
const BundleFile = "bundle.tar.gz"

// Errors.
var (
	// ErrSource is returned when the bundle location is not a path or an
	// https URL, or the fetch failed.
	ErrSource = errors.New("policyload: bundle source unavailable")
	// ErrUnchanged is returned by Loader.Check when the bundle bytes are the
	// ones already in force.
	ErrUnchanged = errors.New("policyload: bundle unchanged")
)

// Options configure a Loader.
type Options struct {
	// Source is a bundle file, a directory holding BundleFile, or an
	// https:// URL.
	Source    string
	Authority policy.Authority
	Holder    *policy.Holder
	Poll      time.Duration // default 30s
	Client    *http.Client  // for URLs; default: http.DefaultClient with a timeout
	Logger    *slog.Logger  // default slog.Default()
}

// Loader polls one bundle source.
type Loader struct {
	opts Options
	last [sha256.Size]byte // digest of the bundle in force, zero if none
}

// New checks the options.
func New(opts Options) (*Loader, error) {
	if opts.Source == "" || opts.Holder == nil {
		return nil, fmt.Errorf("%w: Source and Holder are required", ErrSource)
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
	return &Loader{opts: opts}, nil
}

// Check fetches the bundle once and, if it changed and verifies, puts it in
// force. It returns ErrUnchanged for the same bytes, or the reason the
// bundle was refused (the previous policy then stays).
func (l *Loader) Check(ctx context.Context) (string, error) {
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
	l.last = sum
	prev := l.opts.Holder.Swap(e)
	prevRev := ""
	if prev != nil {
		prevRev = prev.Revision()
	}
	l.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "policy bundle loaded",
		slog.String("revision", e.Revision()), slog.String("previous", prevRev))
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
