package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/creditexchange/node/crypto/vault/vaulttest"
)

// TestVaultScripts runs the scripts in testdata/vault against a real Vault:
// the one .ci/run started (VAULT_ADDR, VAULT_TOKEN), or a dev server
// started here from the cached binary. Without either the test fails.
func TestVaultScripts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, err := vaulttest.Shared(ctx, nil)
	if err != nil {
		t.Fatalf("the keys scripts need a real Vault server: %v", err)
	}
	t.Cleanup(srv.Stop)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/vault",
		Setup: func(env *testscript.Env) error {
			env.Setenv("VAULT_ADDR", srv.Addr)
			env.Setenv("KEYNAME", vaulttest.Name("script"))
			return os.WriteFile(filepath.Join(env.WorkDir, "vault.token"), []byte(srv.Token), 0o600)
		},
	})
}
