package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite REFERENCE.md")

func TestReferenceUpToDate(t *testing.T) {
	got, err := Reference(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("REFERENCE.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("REFERENCE.md")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatal("REFERENCE.md is not what the config types say: run go test ./node/config -run TestReferenceUpToDate -update")
	}
	for _, k := range FileKeys() {
		if !strings.Contains(got, "`"+k.Path+"`") {
			t.Errorf("key %s missing from the reference", k.Path)
		}
	}
}

// Every key has its own variable, and every key is documented.
func TestKeysUniqueAndDocumented(t *testing.T) {
	docs, err := fieldDocs(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, k := range FileKeys() {
		if other, dup := seen[k.Env]; dup {
			t.Errorf("%s and %s share %s", k.Path, other, k.Env)
		}
		seen[k.Env] = k.Path
		if strings.TrimSpace(docs[k.owner()+"."+k.field.Name]) == "" {
			t.Errorf("%s (%s.%s) has no doc comment", k.Path, k.owner(), k.field.Name)
		}
	}
	for _, want := range []string{"CREDITNODE_PUBLIC_LISTEN", "CREDITNODE_KEYS_VAULT_ADDRESS", "CREDITNODE_LOG_MAX_BATCH", "CREDITNODE_CATALOG"} {
		if _, ok := seen[want]; !ok {
			t.Errorf("no key for %s", want)
		}
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	dir := t.TempDir()
	yaml := "id: bank-a\norganisation: Bank A\nuscc: 91110000100000016D\nroles: [bank]\nlisten: 127.0.0.1:7443\npublic_listen: 127.0.0.1:7444\nregistry: registry.jws\nauthority_key: authority.jwk\ntls: {ca: ca.crt}\nclock_skew: 1m\n"
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"CREDITNODE_PUBLIC_LISTEN":      "127.0.0.1:9444",
		"CREDITNODE_CLOCK_SKEW":         "90s",
		"CREDITNODE_ROLES":              "[bank, bureau]",
		"CREDITNODE_CATALOG":            "{tax_payment: authorised}",
		"CREDITNODE_KEYS_VAULT_ADDRESS": "https://vault.internal:8200",
		"CREDITNODE_LOG_MAX_BATCH":      "64",
		"UNRELATED":                     "x",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	c, err := LoadEnv(dir, lookup)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.PublicListen != "127.0.0.1:9444":
		t.Errorf("public_listen %q", c.PublicListen)
	case c.Listen != "127.0.0.1:7443":
		t.Errorf("listen %q changed", c.Listen)
	case c.ClockSkew.D() != 90*time.Second:
		t.Errorf("clock_skew %s", c.ClockSkew.D())
	case strings.Join(c.Roles, ",") != "bank,bureau":
		t.Errorf("roles %v", c.Roles)
	case c.Catalog["tax_payment"] != "authorised":
		t.Errorf("catalog %v", c.Catalog)
	case c.Keys.Vault == nil || c.Keys.Vault.Address != "https://vault.internal:8200":
		t.Errorf("keys.vault %+v", c.Keys.Vault)
	case c.Log.MaxBatch != 64:
		t.Errorf("log.max_batch %d", c.Log.MaxBatch)
	}
	if strings.Join(c.FromEnv, ",") != "CREDITNODE_CATALOG,CREDITNODE_CLOCK_SKEW,CREDITNODE_KEYS_VAULT_ADDRESS,CREDITNODE_LOG_MAX_BATCH,CREDITNODE_PUBLIC_LISTEN,CREDITNODE_ROLES" {
		t.Errorf("FromEnv %v", c.FromEnv)
	}
	// A value that does not parse names its variable; a bad value is still validated.
	env = map[string]string{"CREDITNODE_CLOCK_SKEW": "soon"}
	if _, err := LoadEnv(dir, lookup); err == nil || !strings.Contains(err.Error(), "CREDITNODE_CLOCK_SKEW") {
		t.Errorf("bad duration: %v", err)
	}
	env = map[string]string{"CREDITNODE_ID": "Bank A"}
	if _, err := LoadEnv(dir, lookup); err == nil || !strings.Contains(err.Error(), "id") {
		t.Errorf("invalid id from the environment: %v", err)
	}
}
