package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/policyload"
	"github.com/creditexchange/node/policy"
)

// TestPolicyBundleRollbackAcrossRestart: a node configured with a signed
// policy bundle starts on it and records its serial; restarted on an older,
// validly signed bundle it refuses it (the embedded policy is in force, not
// the old bundle); with its state file unreadable it does not start.
func TestPolicyBundleRollbackAcrossRestart(t *testing.T) {
	ctx := context.Background()
	net, err := devnet.Create(t.TempDir(), specs())
	if err != nil {
		t.Fatal(err)
	}
	dir := net.NodeDir("tax-dept")
	cfg, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Bundle = "policy"
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "policy"), 0o700); err != nil {
		t.Fatal(err)
	}
	src, err := policy.EmbeddedSource()
	if err != nil {
		t.Fatal(err)
	}
	publish := func(rev string, serial int64) {
		t.Helper()
		var unsigned, signed bytes.Buffer
		if _, err := policy.BuildBundle(&unsigned, src, rev, serial); err != nil {
			t.Fatal(err)
		}
		kid := keys.SigningKID(net.Authority.Public().(ed25519.PublicKey))
		if err := policy.SignBundle(&unsigned, &signed, net.Authority, kid); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "policy", policyload.BundleFile), signed.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	inForce := func() string {
		t.Helper()
		n, err := node.Open(ctx, dir, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		return n.Policy.Revision()
	}

	publish("rev-2", 2)
	if got := inForce(); got != "rev-2" {
		t.Fatalf("serial 2: revision in force %q", got)
	}
	publish("rev-1", 1)
	got := inForce()
	if got == "rev-1" || got == "rev-2" {
		t.Fatalf("after a restart on serial 1: revision in force %q, want the embedded policy", got)
	}
	publish("rev-3", 3)
	if got := inForce(); got != "rev-3" {
		t.Fatalf("serial 3: revision in force %q", got)
	}

	state := filepath.Join(dir, policyload.StateFile)
	good, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte("not a state"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := node.Open(ctx, dir, quietLogger()); !errors.Is(err, policyload.ErrState) {
		if n != nil {
			n.Close()
		}
		t.Fatalf("Open with an unreadable state file: %v, want ErrState", err)
	}
	if err := os.WriteFile(state, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := inForce(); got != "rev-3" {
		t.Fatalf("state restored: revision in force %q", got)
	}
}
