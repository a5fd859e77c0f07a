package vault_test

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/creditexchange/node/crypto/vault"
	"github.com/creditexchange/node/crypto/vault/vaulttest"
)

func TestEncryptionKeyInKV(t *testing.T) {
	ctx := context.Background()
	c := connect(t, shared)
	p, err := vault.ParseSecretPath("secret/" + vaulttest.Name("creditnode"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.ReadEncryptionKey(ctx, c, p); !errors.Is(err, vault.ErrKey) {
		t.Fatalf("missing secret: %v", err)
	}
	k, _ := ecdh.X25519().GenerateKey(rand.Reader)
	if err := vault.StoreEncryptionKey(ctx, c, p, k); err != nil {
		t.Fatal(err)
	}
	got, err := vault.ReadEncryptionKey(ctx, c, p)
	if err != nil || !got.Equal(k) {
		t.Fatalf("read back: %v", err)
	}
	other, _ := ecdh.X25519().GenerateKey(rand.Reader)
	err = vault.StoreEncryptionKey(ctx, c, p, other)
	if err == nil {
		t.Fatal("overwrote an existing encryption key")
	}
	if strings.Contains(err.Error(), "AGE-SECRET-KEY") {
		t.Fatal("error holds key material")
	}
	for _, bad := range []string{"secret", "/secret/", ""} {
		if _, err := vault.ParseSecretPath(bad); !errors.Is(err, vault.ErrConfig) {
			t.Fatalf("ParseSecretPath(%q): %v", bad, err)
		}
	}
}

func TestAppRoleLogin(t *testing.T) {
	ctx := context.Background()
	root, err := shared.Client()
	if err != nil {
		t.Fatal(err)
	}
	mount := vaulttest.Name("approle")
	if err := root.Sys().EnableAuthWithOptionsWithContext(ctx, mount, &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	key := vaulttest.Name("approle-key")
	policy := fmt.Sprintf(`path "transit/keys/%[1]s" { capabilities = ["read"] }
path "transit/sign/%[1]s" { capabilities = ["update"] }`, key)
	if err := root.Sys().PutPolicyWithContext(ctx, key, policy); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/node", map[string]any{"token_policies": key, "token_ttl": "1h"}); err != nil {
		t.Fatal(err)
	}
	rid, err := root.Logical().ReadWithContext(ctx, "auth/"+mount+"/role/node/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := root.Logical().WriteWithContext(ctx, "auth/"+mount+"/role/node/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	rootClient := connect(t, shared)
	tr, _ := vault.NewTransit(rootClient, "", key)
	if _, err := tr.Create(ctx); err != nil {
		t.Fatal(err)
	}
	auth := vault.AppRole{RoleID: rid.Data["role_id"].(string), SecretID: sid.Data["secret_id"].(string), Mount: mount}
	c, err := vault.Connect(ctx, vault.Options{Address: shared.Addr, Auth: auth, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tr2, _ := vault.NewTransit(c, "", key)
	s, err := vault.NewSigner(ctx, tr2, vault.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(nil, []byte("approle"), crypto.Hash(0)); err != nil {
		t.Fatal(err)
	}
	// The role may not rotate.
	if _, err := tr2.Rotate(ctx); !errors.Is(err, vault.ErrDenied) {
		t.Fatalf("rotate without permission: %v", err)
	}
	// A wrong secret id is refused, and the error does not echo it.
	bad := vault.AppRole{RoleID: auth.RoleID, SecretID: "not-the-secret-id-0123456789", Mount: mount}
	_, err = vault.Connect(ctx, vault.Options{Address: shared.Addr, Auth: bad})
	if err == nil || strings.Contains(err.Error(), bad.SecretID) {
		t.Fatalf("bad secret id: %v", err)
	}
}
