// Package vaulttest runs a real Vault development server for tests: the
// binary built by compose/vault-dev.sh (found through CREDITNODE_VAULT_BIN or
// the creditnode cache), on a free loopback port, with a random root token,
// in-memory storage and the Transit engine enabled. Tests may instead use a
// server already running (VAULT_ADDR and VAULT_TOKEN, as .ci/run exports).
//
// There is no fallback: when no Vault is available the helpers return
// ErrNoVault with instructions, and tests fail with it.
package vaulttest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/vault/api"
)

// Version is the Vault release the project builds and tests against.
const Version = "1.21.0"

// Environment variables read by the helpers.
const (
	EnvBin   = "CREDITNODE_VAULT_BIN" // path of the vault binary
	EnvCache = "CREDITNODE_CACHE"     // cache dir (default $HOME/.cache/creditnode)
	EnvAddr  = "VAULT_ADDR"
	EnvToken = "VAULT_TOKEN"
)

// ErrNoVault: neither a running server nor a vault binary was found.
var ErrNoVault = errors.New("vaulttest: no Vault available: run `compose/vault-dev.sh build` (or set " +
	EnvBin + " to a vault " + Version + " binary), or start one with `eval \"$(compose/vault-dev.sh start)\"`")

// Binary locates the vault binary: $CREDITNODE_VAULT_BIN, else
// ${CREDITNODE_CACHE:-$HOME/.cache/creditnode}/vault-1.21.0.
func Binary() (string, error) {
	if b := os.Getenv(EnvBin); b != "" {
		if _, err := os.Stat(b); err != nil {
			return "", fmt.Errorf("%w (%s=%s: %v)", ErrNoVault, EnvBin, b, err)
		}
		return b, nil
	}
	cache := os.Getenv(EnvCache)
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", ErrNoVault
		}
		cache = filepath.Join(home, ".cache", "creditnode")
	}
	b := filepath.Join(cache, "vault-"+Version)
	if _, err := os.Stat(b); err != nil {
		return "", fmt.Errorf("%w (looked for %s)", ErrNoVault, b)
	}
	return b, nil
}

// Server is a Vault server the tests talk to.
type Server struct {
	Addr      string // http://127.0.0.1:PORT
	Token     string // root token
	UnsealKey string // only for servers started here
	cmd       *exec.Cmd
	waited    chan struct{}
	stopOnce  sync.Once
}

// Env returns the server named by VAULT_ADDR and VAULT_TOKEN, if both are set.
func Env() (*Server, bool) {
	addr, tok := os.Getenv(EnvAddr), os.Getenv(EnvToken)
	if addr == "" || tok == "" {
		return nil, false
	}
	return &Server{Addr: addr, Token: tok}, true
}

// Shared returns the server from the environment, or starts a private dev
// server. Call Stop when done (a no-op for a server not started here).
func Shared(ctx context.Context, log io.Writer) (*Server, error) {
	if s, ok := Env(); ok {
		return s, nil
	}
	return Start(ctx, log)
}

// Start runs `vault server -dev` from Binary on a free loopback port and
// waits until it is unsealed and Transit is mounted. Its output goes to log
// (may be nil).
func Start(ctx context.Context, log io.Writer) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	s := &Server{Addr: "http://" + port, Token: "root-" + hex.EncodeToString(tok), waited: make(chan struct{})}
	cmd := exec.Command(bin, "server", "-dev", "-dev-no-store-token",
		"-dev-listen-address="+port, "-dev-root-token-id="+s.Token)
	cmd.Env = append(os.Environ(), "VAULT_LOG_LEVEL=warn", "HOME="+os.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("vaulttest: start %s: %w", bin, err)
	}
	s.cmd = cmd
	unseal := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if k, ok := strings.CutPrefix(strings.TrimSpace(line), "Unseal Key: "); ok && !sent {
				unseal <- k
				sent = true
				continue // keep the key out of the log
			}
			if !strings.Contains(line, "Root Token") {
				fmt.Fprintln(log, line)
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(s.waited) }()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	select {
	case s.UnsealKey = <-unseal:
	case <-s.waited:
		return nil, fmt.Errorf("vaulttest: %s exited during start", bin)
	case <-ctx.Done():
		s.Stop()
		return nil, fmt.Errorf("vaulttest: dev server printed no unseal key: %w", ctx.Err())
	}
	if err := s.WaitHealthy(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.EnableTransit(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Client is a root-token API client for the server.
func (s *Server) Client() (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = s.Addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(s.Token)
	return c, nil
}

// WaitHealthy polls sys/health until the server is initialised and unsealed.
func (s *Server) WaitHealthy(ctx context.Context) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	for {
		h, err := c.Sys().HealthWithContext(ctx)
		if err == nil && h.Initialized && !h.Sealed {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vaulttest: %s not healthy: %v", s.Addr, err)
		case <-s.waited:
			return fmt.Errorf("vaulttest: vault exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// EnableTransit mounts the Transit engine at transit/ unless it is mounted.
func (s *Server) EnableTransit(ctx context.Context) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return fmt.Errorf("vaulttest: list mounts: %w", err)
	}
	if _, ok := mounts["transit/"]; ok {
		return nil
	}
	if err := c.Sys().MountWithContext(ctx, "transit", &api.MountInput{Type: "transit"}); err != nil {
		return fmt.Errorf("vaulttest: mount transit: %w", err)
	}
	return nil
}

// Seal seals the server through the API.
func (s *Server) Seal(ctx context.Context) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	return c.Sys().SealWithContext(ctx)
}

// Unseal unseals a server started by Start and waits until it is healthy.
func (s *Server) Unseal(ctx context.Context) error {
	if s.UnsealKey == "" {
		return errors.New("vaulttest: unseal key unknown (server not started here)")
	}
	c, err := s.Client()
	if err != nil {
		return err
	}
	if _, err := c.Sys().UnsealWithContext(ctx, s.UnsealKey); err != nil {
		return err
	}
	return s.WaitHealthy(ctx)
}

// Stop kills a server started by Start (its in-memory data is lost).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.stopOnce.Do(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.waited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.waited
		}
	})
}

// Name returns a unique name for a test's key or secret.
func Name(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
