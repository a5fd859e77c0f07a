package registry

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// lockedBuffer is a log sink safe for the Run goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type watcherFixture struct {
	fed   *federation
	path  string
	clock *testClock
	logs  *lockedBuffer
	w     *Watcher
	mtime time.Time
}

func newWatcherFixture(t *testing.T) *watcherFixture {
	t.Helper()
	wf := &watcherFixture{
		fed:   newFederation(t),
		path:  filepath.Join(t.TempDir(), "registry.jws"),
		clock: &testClock{now: t0},
		logs:  new(lockedBuffer),
		mtime: t0,
	}
	wf.write(t, wf.fed.sign(t))
	logger := slog.New(slog.NewJSONHandler(wf.logs, nil))
	wf.w = NewWatcher(wf.path, wf.fed.public(), wf.clock.Now, logger)
	return wf
}

// write replaces the registry file atomically, with a fresh mtime.
func (wf *watcherFixture) write(t *testing.T, tok []byte) {
	t.Helper()
	tmp := wf.path + ".tmp"
	if err := os.WriteFile(tmp, tok, 0o644); err != nil {
		t.Fatal(err)
	}
	wf.mtime = wf.mtime.Add(time.Second)
	if err := os.Chtimes(tmp, wf.mtime, wf.mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, wf.path); err != nil {
		t.Fatal(err)
	}
}

// next signs the federation's document with the given serial.
func (wf *watcherFixture) next(t *testing.T, serial int64) []byte {
	t.Helper()
	wf.fed.doc.Serial = serial
	return wf.fed.sign(t)
}

func TestWatcherNotLoaded(t *testing.T) {
	wf := newWatcherFixture(t)
	if err := wf.w.Valid(t0); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("Valid before Load = %v, want ErrNotLoaded", err)
	}
	if wf.w.Current() != nil {
		t.Error("Current before Load is not nil")
	}
	if _, ok := wf.w.Member("bank-a"); ok {
		t.Error("look-up before Load succeeded")
	}
	wf.write(t, []byte("garbage"))
	if err := wf.w.Load(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Load(garbage) = %v, want ErrBadSignature", err)
	}
	wf.clock.Set(wf.fed.doc.ExpiresAt)
	wf.write(t, wf.next(t, 2))
	if err := wf.w.Load(); !errors.Is(err, ErrExpired) {
		t.Errorf("Load(expired) = %v, want ErrExpired", err)
	}
}

func TestWatcherSwapsAndRefuses(t *testing.T) {
	wf := newWatcherFixture(t)
	if err := wf.w.Load(); err != nil {
		t.Fatal(err)
	}
	if changed, err := wf.w.Poll(); changed || err != nil {
		t.Fatalf("Poll without change = %v, %v", changed, err)
	}

	// A newer registry admitting a new member is swapped in.
	newcomer := wf.fed.add(t, "bank-b", usccs[3], []string{RoleBank})
	wf.write(t, wf.next(t, 2))
	if changed, err := wf.w.Poll(); !changed || err != nil {
		t.Fatalf("Poll of serial 2 = %v, %v", changed, err)
	}
	if got := wf.w.Current().Serial(); got != 2 {
		t.Fatalf("serial in force = %d, want 2", got)
	}
	fp, _ := certs.FingerprintPEM(newcomer.certPEM)
	if id, ok := wf.w.MemberByFingerprint(fp); !ok || id != "bank-b" {
		t.Errorf("new member not found: %q, %v", id, ok)
	}
	if _, ok := wf.w.SigningKey("bank-b", newcomer.keys.SigningKID); !ok {
		t.Error("new member's signing key not found")
	}

	impostor, err := GenerateAuthority()
	if err != nil {
		t.Fatal(err)
	}
	wf.fed.doc.Serial = 9
	byImpostor, err := Sign(&wf.fed.doc, impostor, keysKID(impostor))
	if err != nil {
		t.Fatal(err)
	}
	expiredDoc := func() []byte {
		saved := wf.fed.doc
		defer func() { wf.fed.doc = saved }()
		wf.fed.doc.Serial = 10
		wf.fed.doc.IssuedAt, wf.fed.doc.ExpiresAt = t0.Add(-2*time.Hour), t0.Add(-time.Hour)
		return wf.fed.sign(t)
	}()
	otherFederation := func() []byte {
		saved := wf.fed.doc
		defer func() { wf.fed.doc = saved }()
		wf.fed.doc.Serial = 11
		wf.fed.doc.Federation = "another-federation"
		return wf.fed.sign(t)
	}()

	for _, tc := range []struct {
		name string
		tok  []byte
		want error
	}{
		{"garbage", []byte("not a token"), ErrBadSignature},
		{"signed by another authority", byImpostor, ErrBadSignature},
		{"older serial", wf.next(t, 1), ErrStale},
		{"same serial, other content", func() []byte {
			wf.fed.doc.Members[0].Jurisdiction = "CN-31"
			return wf.next(t, 2)
		}(), ErrStale},
		{"expired", expiredDoc, ErrExpired},
		{"another federation", otherFederation, ErrInvalid},
		{"invalid document", wf.fed.signRaw(t, []byte(`{"federation":"test-federation","serial":12}`)), ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logged := len(wf.logs.String())
			wf.write(t, tc.tok)
			changed, err := wf.w.Poll()
			if changed || !errors.Is(err, tc.want) {
				t.Fatalf("Poll = %v, %v; want refusal with %v", changed, err, tc.want)
			}
			if got := wf.w.Current().Serial(); got != 2 {
				t.Fatalf("serial in force = %d, want 2 (the previous registry stays)", got)
			}
			if _, ok := wf.w.Member("bank-b"); !ok {
				t.Fatal("previous registry's member lost")
			}
			line := wf.logs.String()[logged:]
			if !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, "registry update refused") {
				t.Errorf("refusal not logged: %s", line)
			}
			// The same refused file is not re-verified or re-logged.
			logged = len(wf.logs.String())
			if changed, err := wf.w.Poll(); changed || err != nil {
				t.Errorf("second Poll of the refused file = %v, %v", changed, err)
			}
			if extra := wf.logs.String()[logged:]; extra != "" {
				t.Errorf("refused file logged again: %s", extra)
			}
		})
	}

	// Logs name the registry, never key material.
	for _, tm := range wf.fed.members {
		x := base64.RawURLEncoding.EncodeToString(tm.keys.SigningPublic())
		if strings.Contains(wf.logs.String(), x) {
			t.Errorf("log holds %s's signing key", tm.member.ID)
		}
	}
}

func keysKID(priv ed25519.PrivateKey) string {
	return keys.SigningKID(priv.Public().(ed25519.PublicKey))
}

func TestWatcherRetriesNotYetValid(t *testing.T) {
	wf := newWatcherFixture(t)
	if err := wf.w.Load(); err != nil {
		t.Fatal(err)
	}
	wf.fed.doc.IssuedAt = t0.Add(time.Minute)
	wf.write(t, wf.next(t, 2))
	if changed, err := wf.w.Poll(); changed || !errors.Is(err, ErrNotYetValid) {
		t.Fatalf("Poll of future registry = %v, %v", changed, err)
	}
	if got := wf.w.Current().Serial(); got != 1 {
		t.Fatalf("serial in force = %d", got)
	}
	wf.clock.Set(t0.Add(time.Minute))
	if changed, err := wf.w.Poll(); !changed || err != nil {
		t.Fatalf("Poll once valid = %v, %v", changed, err)
	}
	if got := wf.w.Current().Serial(); got != 2 {
		t.Fatalf("serial in force = %d, want 2", got)
	}
}

func TestWatcherFailsClosedOnExpiry(t *testing.T) {
	wf := newWatcherFixture(t)
	if err := wf.w.Load(); err != nil {
		t.Fatal(err)
	}
	bank := wf.fed.members["bank-a"]
	fp, _ := certs.FingerprintPEM(bank.certPEM)
	expires := wf.fed.doc.ExpiresAt

	wf.clock.Set(expires.Add(-time.Second))
	if err := wf.w.Valid(wf.clock.Now()); err != nil {
		t.Fatalf("Valid before expiry = %v", err)
	}
	if _, ok := wf.w.MemberByFingerprint(fp); !ok {
		t.Fatal("control: member not found before expiry")
	}

	wf.clock.Set(expires)
	if err := wf.w.Valid(wf.clock.Now()); !errors.Is(err, ErrExpired) {
		t.Fatalf("Valid at expiry = %v, want ErrExpired", err)
	}
	if wf.w.Current() == nil {
		t.Error("Current dropped the expired registry")
	}
	if _, ok := wf.w.MemberByFingerprint(fp); ok {
		t.Error("MemberByFingerprint answered from an expired registry")
	}
	if _, ok := wf.w.SigningKey("bank-a", bank.keys.SigningKID); ok {
		t.Error("SigningKey answered from an expired registry")
	}
	if _, ok := wf.w.RegistrarKey("dept-tax", wf.fed.members["dept-tax"].keys.SigningKID); ok {
		t.Error("RegistrarKey answered from an expired registry")
	}
	if _, _, ok := wf.w.EncryptionKey("bank-a"); ok {
		t.Error("EncryptionKey answered from an expired registry")
	}
	if _, ok := wf.w.TLSFingerprint("bank-a"); ok {
		t.Error("TLSFingerprint answered from an expired registry")
	}

	// A fresh registry brings the node back.
	wf.fed.doc.IssuedAt, wf.fed.doc.ExpiresAt = expires, expires.Add(24*time.Hour)
	wf.write(t, wf.next(t, 2))
	if changed, err := wf.w.Poll(); !changed || err != nil {
		t.Fatalf("Poll of fresh registry = %v, %v", changed, err)
	}
	if _, ok := wf.w.MemberByFingerprint(fp); !ok {
		t.Error("member not found after renewal")
	}
}

func TestWatcherRun(t *testing.T) {
	wf := newWatcherFixture(t)
	if err := wf.w.Load(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		wf.w.Run(ctx, 5*time.Millisecond)
		close(done)
	}()
	wf.write(t, wf.next(t, 2))
	waitFor(t, func() bool { return wf.w.Current().Serial() == 2 })

	wf.clock.Set(wf.fed.doc.ExpiresAt)
	waitFor(t, func() bool { return strings.Contains(wf.logs.String(), "registry expired") })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if n := strings.Count(wf.logs.String(), "registry expired"); n != 1 {
		t.Errorf("expiry logged %d times, want once", n)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWatcherIdenticalCopyIsNoError: a file that holds the registry in
// force changes nothing and is not an error, however it got there: put back
// after a refused file, completed after a half-written copy (a cp the poll
// caught midway), or the same signed document in other bytes. Each is
// logged at info; a newer registry is still taken afterwards.
func TestWatcherIdenticalCopyIsNoError(t *testing.T) {
	wf := newWatcherFixture(t)
	if err := wf.w.Load(); err != nil {
		t.Fatal(err)
	}
	inForce := wf.fed.sign(t)
	payload, err := json.MarshalIndent(wf.fed.doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	reencoded := wf.fed.signRaw(t, payload)
	if bytes.Equal(reencoded, inForce) {
		t.Fatal("the re-encoded copy has the same bytes")
	}
	for _, tc := range []struct {
		name   string
		before []byte // refused first, as an ERROR
		copy   []byte
		msg    string
	}{
		{"put back after a refused file", []byte("not a token"), inForce, "holds the registry in force again"},
		{"completed after a half-written copy", inForce[:len(inForce)/2], inForce, "holds the registry in force again"},
		{"same document in other bytes", nil, reencoded, "is a copy of the registry in force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				wf.write(t, tc.before)
				if _, err := wf.w.Poll(); err == nil {
					t.Fatal("the bad file was not refused")
				}
			}
			logged := len(wf.logs.String())
			wf.write(t, tc.copy)
			if changed, err := wf.w.Poll(); changed || err != nil {
				t.Fatalf("Poll of a copy of the registry in force = %v, %v; want no change, no error", changed, err)
			}
			lines := wf.logs.String()[logged:]
			if strings.Contains(lines, `"level":"ERROR"`) || strings.Contains(lines, `"level":"WARN"`) {
				t.Fatalf("copy logged as a problem: %s", lines)
			}
			if !strings.Contains(lines, `"level":"INFO"`) || !strings.Contains(lines, tc.msg) {
				t.Fatalf("copy not logged at info with %q: %s", tc.msg, lines)
			}
			if got := wf.w.Current().Serial(); got != 1 {
				t.Fatalf("serial in force = %d, want 1", got)
			}
		})
	}
	wf.write(t, wf.next(t, 2))
	if changed, err := wf.w.Poll(); !changed || err != nil {
		t.Fatalf("Poll of serial 2 after the copies = %v, %v", changed, err)
	}
	// The previous registry's file written again is now an older serial: refused.
	wf.write(t, inForce)
	if _, err := wf.w.Poll(); !errors.Is(err, ErrStale) {
		t.Fatalf("Poll of the superseded registry = %v, want ErrStale", err)
	}
}
