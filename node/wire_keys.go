package node

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"os"
	"strings"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/crypto/vault"
	"github.com/creditexchange/node/node/config"
)

// OpenKeys loads the node's keys from the configured backend: local files,
// or Vault (signing key in Transit, X25519 key read from KV v2 into memory).
// Open and MemberEntry both use it, so the registry entry lists the same
// keys the running node publishes.
func OpenKeys(ctx context.Context, cfg *config.Config) (*keys.NodeKeys, error) {
	switch cfg.Keys.Backend {
	case config.BackendVault:
		return openVaultKeys(ctx, cfg)
	default:
		signer, err := keys.LoadVersionedSigningKey(cfg.Path(cfg.Keys.Signing)) // with its earlier versions (keys rotate)
		if err != nil {
			return nil, err
		}
		enc, err := keys.LoadEncryptionKey(cfg.Path(cfg.Keys.Encryption))
		if err != nil {
			return nil, err
		}
		return keys.FromKeys(signer, enc), nil
	}
}

func openVaultKeys(ctx context.Context, cfg *config.Config) (*keys.NodeKeys, error) {
	v := cfg.Keys.Vault
	c, err := ConnectVault(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t, err := vault.NewTransit(c, v.Mount, v.SigningKey)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, v.Timeout.D())
	defer cancel()
	signer, err := vault.NewSigner(rctx, t, vault.SignerOptions{Timeout: v.Timeout.D(), BatchWindow: v.BatchWindow.D()})
	if err != nil {
		return nil, fmt.Errorf("node: signing key in Vault: %w", err)
	}
	sp, err := vault.ParseSecretPath(v.EncryptionSecret)
	if err != nil {
		return nil, err
	}
	enc, err := vault.ReadEncryptionKey(rctx, c, sp)
	if err != nil {
		return nil, fmt.Errorf("node: encryption key in Vault: %w", err)
	}
	return keys.FromKeys(signer, enc), nil
}

// ConnectVault logs in to the Vault named in the config, reading the
// credentials from their files (kept in memory only).
func ConnectVault(ctx context.Context, cfg *config.Config) (*vault.Client, error) {
	v := cfg.Keys.Vault
	if cfg.Keys.Backend != config.BackendVault || v == nil {
		return nil, fmt.Errorf("node: %s does not keep its keys in Vault (keys.backend: %s)", cfg.ID, cfg.Keys.Backend)
	}
	var auth vault.Auth
	switch v.Auth {
	case "approle":
		roleID, err := readCredential(cfg.Path(v.RoleIDFile))
		if err != nil {
			return nil, err
		}
		secretID, err := readCredential(cfg.Path(v.SecretIDFile))
		if err != nil {
			return nil, err
		}
		auth = vault.AppRole{RoleID: roleID, SecretID: secretID, Mount: v.AppRoleMount}
	default:
		tok, err := readCredential(cfg.Path(v.TokenFile))
		if err != nil {
			return nil, err
		}
		auth = vault.Token(tok)
	}
	ctx, cancel := context.WithTimeout(ctx, v.Timeout.D())
	defer cancel()
	return vault.Connect(ctx, vault.Options{Address: v.Address, Auth: auth, CACert: cfg.Path(v.CACert), Timeout: v.Timeout.D()})
}

// readCredential reads a one-line secret from a file that others cannot read.
func readCredential(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("node: Vault credential: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("node: Vault credential %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("node: Vault credential: %w", err)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", fmt.Errorf("node: Vault credential %s is empty", path)
	}
	return s, nil
}

// UseVaultKeys switches the node in dir to keys in Vault: it creates the
// Transit Ed25519 key if it does not exist, stores a fresh X25519 key in the
// KV secret if that does not exist (never on disk), and rewrites node.yaml
// with keys.backend vault and v. The node's local key files are no longer
// used; rebuild the registry afterwards, since the signing key changed.
func UseVaultKeys(ctx context.Context, dir string, v config.Vault) (*keys.NodeKeys, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	cfg.Keys.Backend = config.BackendVault
	cfg.Keys.Vault = &v
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c, err := ConnectVault(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t, err := vault.NewTransit(c, cfg.Keys.Vault.Mount, cfg.Keys.Vault.SigningKey)
	if err != nil {
		return nil, err
	}
	if _, err := t.Create(ctx); err != nil {
		return nil, fmt.Errorf("node: create Transit key: %w", err)
	}
	sp, err := vault.ParseSecretPath(cfg.Keys.Vault.EncryptionSecret)
	if err != nil {
		return nil, err
	}
	if _, err := vault.ReadEncryptionKey(ctx, c, sp); err != nil {
		enc, gerr := ecdh.X25519().GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		if err := vault.StoreEncryptionKey(ctx, c, sp, enc); err != nil {
			return nil, fmt.Errorf("node: store encryption key: %w", err)
		}
	}
	nk, err := OpenKeys(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := cfg.Save(dir); err != nil {
		return nil, err
	}
	return nk, nil
}

// NodeTransit is the Transit key of the node in dir, for rotation and
// retirement.
func NodeTransit(ctx context.Context, dir string) (*vault.Transit, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return nil, err
	}
	c, err := ConnectVault(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return vault.NewTransit(c, cfg.Keys.Vault.Mount, cfg.Keys.Vault.SigningKey)
}
