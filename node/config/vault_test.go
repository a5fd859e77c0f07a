package config

import (
	"strings"
	"testing"
	"time"
)

func TestVaultKeysConfig(t *testing.T) {
	c, err := Load(write(t, good+`keys:
  backend: vault
  vault: {address: "https://vault.internal:8200", token_file: vault.token}
`))
	if err != nil {
		t.Fatal(err)
	}
	v := c.Keys.Vault
	if v.Mount != "transit" || v.SigningKey != "bank-a" || v.EncryptionSecret != "secret/creditnode/bank-a" ||
		v.Auth != "token" || v.Timeout.D() != 2*time.Second || v.BatchWindow != 0 {
		t.Fatalf("defaults: %+v", v)
	}
	for body, want := range map[string]string{
		`keys: {backend: hsm}`:                                                                              "not supported",
		`keys: {backend: vault}`:                                                                            "needs a keys.vault section",
		`keys: {backend: vault, vault: {token_file: t}}`:                                                    "address is required",
		`keys: {backend: vault, vault: {address: "vault:8200", token_file: t}}`:                             "http(s) URL",
		`keys: {backend: vault, vault: {address: "http://v:8200"}}`:                                         "needs token_file",
		`keys: {backend: vault, vault: {address: "http://v:8200", auth: approle, role_id_file: r}}`:         "role_id_file and secret_id_file",
		`keys: {backend: vault, vault: {address: "http://v:8200", auth: ldap}}`:                             "use token or approle",
		`keys: {backend: vault, vault: {address: "http://v:8200", token_file: t, encryption_secret: flat}}`: "MOUNT/PATH",
		`keys: {backend: vault, vault: {address: "http://v:8200", token_file: t, batch_window: 1s}}`:        "batch_window",
	} {
		_, err := Load(write(t, good+body+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
