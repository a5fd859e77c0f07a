package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Key backends.
const (
	BackendFile  = "file"
	BackendVault = "vault"
)

// Vault says where a node's keys live in HashiCorp Vault (keys.backend:
// vault): the Ed25519 signing key in the Transit engine, the X25519 key in a
// KV version 2 secret. Credentials are read from files at start and kept in
// memory only; the config never holds them.
type Vault struct {
	Address string `yaml:"address"`           // e.g. https://vault.internal:8200
	CACert  string `yaml:"ca_cert,omitempty"` // PEM CAs for Vault's TLS; system roots if empty
	// Mount is the Transit mount (default "transit").
	Mount string `yaml:"mount"`
	// SigningKey is the Transit key's name (default the node id).
	SigningKey string `yaml:"signing_key"`
	// EncryptionSecret is the KV v2 secret "MOUNT/PATH" holding the X25519
	// key (default "secret/creditnode/ID").
	EncryptionSecret string `yaml:"encryption_secret"`

	Auth         string `yaml:"auth"`                     // "token" or "approle"
	TokenFile    string `yaml:"token_file,omitempty"`     // auth: token
	RoleIDFile   string `yaml:"role_id_file,omitempty"`   // auth: approle
	SecretIDFile string `yaml:"secret_id_file,omitempty"` // auth: approle
	AppRoleMount string `yaml:"approle_mount,omitempty"`  // default "approle"

	// Timeout is the deadline of one Vault call, signatures included
	// (default 2s; never more than request_timeout).
	Timeout Duration `yaml:"timeout,omitempty"`
	// BatchWindow > 0 groups concurrent signatures into one Transit batch
	// request; 0 (the default) sends one request per signature.
	BatchWindow Duration `yaml:"batch_window,omitempty"`
}

func (v *Vault) setDefaults(c *Config) {
	if v.Mount == "" {
		v.Mount = "transit"
	}
	if v.SigningKey == "" {
		v.SigningKey = c.ID
	}
	if v.EncryptionSecret == "" {
		v.EncryptionSecret = "secret/creditnode/" + c.ID
	}
	if v.Auth == "" {
		v.Auth = "token"
	}
	if v.Timeout == 0 {
		v.Timeout = Duration(2 * time.Second)
	}
	if c.RequestTimeout > 0 && v.Timeout > c.RequestTimeout {
		v.Timeout = c.RequestTimeout
	}
}

// validateKeys checks the keys section.
func (c *Config) validateKeys() error {
	switch c.Keys.Backend {
	case BackendFile:
		return nil
	case BackendVault:
	default:
		return fmt.Errorf("config: keys.backend %q is not supported (use file or vault)", c.Keys.Backend)
	}
	v := c.Keys.Vault
	switch {
	case v == nil:
		return errors.New("config: keys.backend vault needs a keys.vault section")
	case v.Address == "":
		return errors.New("config: keys.vault.address is required")
	case !strings.HasPrefix(v.Address, "https://") && !strings.HasPrefix(v.Address, "http://"):
		return fmt.Errorf("config: keys.vault.address %q: want an http(s) URL", v.Address)
	case !strings.Contains(strings.Trim(v.EncryptionSecret, "/"), "/"):
		return fmt.Errorf("config: keys.vault.encryption_secret %q: want MOUNT/PATH", v.EncryptionSecret)
	case v.Timeout.D() <= 0:
		return errors.New("config: keys.vault.timeout must be positive")
	case v.BatchWindow.D() < 0 || v.BatchWindow.D() > 100*time.Millisecond:
		return errors.New("config: keys.vault.batch_window must be in [0, 100ms]")
	}
	switch v.Auth {
	case "token":
		if v.TokenFile == "" {
			return errors.New("config: keys.vault.auth token needs token_file")
		}
	case "approle":
		if v.RoleIDFile == "" || v.SecretIDFile == "" {
			return errors.New("config: keys.vault.auth approle needs role_id_file and secret_id_file")
		}
	default:
		return fmt.Errorf("config: keys.vault.auth %q: use token or approle", v.Auth)
	}
	return nil
}
