package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{SigningKeyFile, EncryptionKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if err := k.Save(dir); err == nil {
		t.Fatal("Save overwrote existing keys")
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.SigningKID != k.SigningKID || got.EncryptionKID != k.EncryptionKID {
		t.Fatalf("kids changed across save/load")
	}
	if !bytes.Equal(got.Encryption.Bytes(), k.Encryption.Bytes()) {
		t.Fatal("encryption key changed")
	}
}

// The identity file must work with age itself: encrypt to the recipient we
// derive, decrypt with the identity age parses from our file.
func TestAgeInterop(t *testing.T) {
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	id, err := AgeIdentity(k.Encryption)
	if err != nil {
		t.Fatal(err)
	}
	rcpt, err := AgeRecipient(k.Encryption.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if rcpt.String() != id.Recipient().String() {
		t.Fatalf("recipient mismatch: %s vs %s", rcpt, id.Recipient())
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rcpt)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	w.Close()
	back, err := ParseAgeIdentity(id.String())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), k.Encryption.Bytes()) {
		t.Fatal("scalar changed through age identity text")
	}
	r, err := age.Decrypt(&buf, id)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(r)
	if out.String() != "hello" {
		t.Fatalf("got %q", out.String())
	}
}

func TestLoadRejectsOpenPermissions(t *testing.T) {
	dir := t.TempDir()
	k, _ := Generate()
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, SigningKeyFile), 0o644)
	if _, err := Load(dir); err == nil {
		t.Fatal("loaded a world-readable key")
	}
}

// RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
func TestSigningKIDRFC8037(t *testing.T) {
	pub, kid, err := ParseSigningJWK([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; kid != want {
		t.Fatalf("kid %s, want %s", kid, want)
	}
	if SigningKID(pub) != kid {
		t.Fatal("SigningKID disagrees with ParseSigningJWK")
	}
}
