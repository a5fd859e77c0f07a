package keys_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/creditexchange/node/crypto/keys"
)

// TestRotateLocalPublishesEarlierVersions: after two rotations a new key
// signs and both earlier public keys stay published (in order) in the
// node's JWKS, as Vault versions are; retiring drops the oldest; the
// earlier private keys are not kept.
func TestRotateLocalPublishesEarlierVersions(t *testing.T) {
	dir := t.TempDir()
	nk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := nk.Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, keys.SigningKeyFile)
	v1 := nk.SigningPublic()
	for range 2 {
		if err := keys.RotateLocal(path); err != nil {
			t.Fatal(err)
		}
	}
	vs, retired, err := keys.LocalVersions(path)
	if err != nil || len(vs) != 3 || retired != 0 || !vs[0].Equal(v1) || vs[1].Equal(v1) || vs[2].Equal(vs[1]) {
		t.Fatalf("versions %d (%v), want 3 with v1 first", len(vs), err)
	}
	signer, err := keys.LoadVersionedSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !signer.Public().(ed25519.PublicKey).Equal(vs[2]) {
		t.Fatal("the newest version does not sign")
	}
	loaded := keys.FromKeys(signer, nk.Encryption)
	published := map[string]bool{}
	for _, k := range loaded.PublicJWKS().Keys {
		published[k.KeyID] = true
	}
	for i, v := range vs {
		if !published[keys.SigningKID(v)] {
			t.Errorf("version %d not in the JWKS", i+1)
		}
	}
	raw, err := os.ReadFile(keys.PreviousKeysFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.ParseSigningJWKS(raw); err != nil {
		t.Fatalf("earlier versions file is not a public JWKS: %v", err)
	}

	if err := keys.RetireLocal(path, 2); err != nil {
		t.Fatal(err)
	}
	vs2, retired, err := keys.LocalVersions(path)
	if err != nil || len(vs2) != 3 || retired != 1 || !vs2[0].Equal(v1) || !vs2[2].Equal(vs[2]) {
		t.Fatalf("after retiring below 2: %d versions, %d retired (%v), want 3 with 1 retired", len(vs2), retired, err)
	}
	signer, err = keys.LoadVersionedSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.FromKeys(signer, nk.Encryption).PublicJWKS().Keys {
		if k.KeyID == keys.SigningKID(v1) {
			t.Error("retired version 1 still in the JWKS")
		}
	}
	if err := keys.RetireLocal(path, 4); err == nil {
		t.Fatal("retiring the signing version succeeded")
	}
}
