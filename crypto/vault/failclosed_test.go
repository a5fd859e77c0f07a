package vault_test

import (
	"context"
	"crypto"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/vault"
)

// tcpProxy forwards a loopback address to Vault. Stop makes Vault
// unreachable (listener and connections closed), Start brings it back on the
// same address, and a delay slows every request down.
type tcpProxy struct {
	addr, target string
	delay        atomic.Int64 // nanoseconds before forwarding each chunk to Vault

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{target: strings.TrimPrefix(target, "http://"), conns: map[net.Conn]bool{}}
	if err := p.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func (p *tcpProxy) URL() string { return "http://" + p.addr }

func (p *tcpProxy) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return nil
}

func (p *tcpProxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				time.Sleep(time.Duration(p.delay.Load()))
				if _, werr := up.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		up.Close()
	}()
	io.Copy(c, up)
	c.Close()
}

// Stop closes the listener and every connection.
func (p *tcpProxy) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// Start listens again on the same address.
func (p *tcpProxy) Start(t *testing.T) {
	t.Helper()
	var err error
	for range 50 { // the port may linger briefly
		if err = p.listen(p.addr); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal(err)
}

func signOnce(s *vault.Signer) error {
	_, err := s.Sign(nil, []byte("probe"), crypto.Hash(0))
	return err
}

// waitRecovered retries until signing succeeds again, with no new signer.
func waitRecovered(t *testing.T, s *vault.Signer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := signOnce(s)
		if err == nil && s.Check(context.Background()) == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("signer did not recover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestFailClosedSealed(t *testing.T) {
	srv := private(t)
	tr := newKey(t, connect(t, srv))
	for _, window := range []time.Duration{0, 5 * time.Millisecond} {
		s, err := vault.NewSigner(context.Background(), tr, vault.SignerOptions{Timeout: time.Second, BatchWindow: window})
		if err != nil {
			t.Fatal(err)
		}
		if err := signOnce(s); err != nil {
			t.Fatal(err)
		}
		if err := srv.Seal(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := signOnce(s); !errors.Is(err, vault.ErrUnavailable) || !strings.Contains(err.Error(), "sealed") {
			t.Fatalf("sign while sealed: %v", err)
		}
		if err := s.Check(context.Background()); !errors.Is(err, vault.ErrUnavailable) {
			t.Fatalf("check while sealed: %v", err)
		}
		if err := srv.Unseal(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitRecovered(t, s)
	}
}

func TestFailClosedUnreachable(t *testing.T) {
	p := newTCPProxy(t, shared.Addr)
	c, err := vault.Connect(context.Background(), vault.Options{Address: p.URL(), Auth: vault.Token(shared.Token)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := vault.NewSigner(context.Background(), newKey(t, c), vault.SignerOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := signOnce(s); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if err := signOnce(s); !errors.Is(err, vault.ErrUnavailable) {
		t.Fatalf("sign while unreachable: %v", err)
	}
	if err := s.Check(context.Background()); !errors.Is(err, vault.ErrUnavailable) {
		t.Fatalf("check while unreachable: %v", err)
	}
	p.Start(t)
	waitRecovered(t, s)
}

func TestFailClosedSlowerThanDeadline(t *testing.T) {
	p := newTCPProxy(t, shared.Addr)
	c, err := vault.Connect(context.Background(), vault.Options{Address: p.URL(), Auth: vault.Token(shared.Token)})
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	s, err := vault.NewSigner(context.Background(), newKey(t, c), vault.SignerOptions{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	p.delay.Store(int64(2 * time.Second))
	start := time.Now()
	err = signOnce(s)
	if !errors.Is(err, vault.ErrUnavailable) {
		t.Fatalf("sign through a slow Vault: %v", err)
	}
	if took := time.Since(start); took > timeout+500*time.Millisecond {
		t.Fatalf("gave up after %s, deadline %s", took, timeout)
	}
	// SignContext: a shorter caller deadline wins.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := s.SignContext(ctx, []byte("x")); !errors.Is(err, vault.ErrUnavailable) || time.Since(start) > 400*time.Millisecond {
		t.Fatalf("SignContext: %v after %s", err, time.Since(start))
	}
	p.delay.Store(0)
	waitRecovered(t, s)
}

func TestFailClosedKilled(t *testing.T) {
	srv := private(t)
	s, err := vault.NewSigner(context.Background(), newKey(t, connect(t, srv)), vault.SignerOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := signOnce(s); err != nil {
		t.Fatal(err)
	}
	srv.Stop() // the process is gone, and with it the dev server's in-memory keys
	if err := signOnce(s); !errors.Is(err, vault.ErrUnavailable) {
		t.Fatalf("sign after Vault died: %v", err)
	}
	if err := s.Check(context.Background()); !errors.Is(err, vault.ErrUnavailable) {
		t.Fatalf("check after Vault died: %v", err)
	}
}
