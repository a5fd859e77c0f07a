package vault_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/vault"
	"github.com/creditexchange/node/crypto/vault/vaulttest"
)

// shared is the Vault server of this package's tests: the one .ci/run
// started (VAULT_ADDR, VAULT_TOKEN) or a private dev server started here.
// Tests that seal or kill Vault start their own with vaulttest.Start.
var shared *vaulttest.Server

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	s, err := vaulttest.Shared(ctx, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the Vault tests need a real Vault server: %v\n", err)
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// connect logs in to s with its root token.
func connect(t testing.TB, s *vaulttest.Server) *vault.Client {
	t.Helper()
	c, err := vault.Connect(context.Background(), vault.Options{Address: s.Addr, Auth: vault.Token(s.Token), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newKey creates a fresh Transit Ed25519 key on s.
func newKey(t testing.TB, c *vault.Client) *vault.Transit {
	t.Helper()
	tr, err := vault.NewTransit(c, "", vaulttest.Name("test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr
}

// private starts a dev server only this test uses.
func private(t *testing.T) *vaulttest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := vaulttest.Start(ctx, nil)
	if err != nil {
		t.Fatalf("this test needs its own Vault dev server: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}
