package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/crypto/vault"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
)

// keysTimeout bounds each keys command's calls to Vault.
const keysTimeout = 30 * time.Second

func (a *app) keysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage a node's signing key (local file or Vault): set up Vault, list, rotate, retire",
		Long: `With keys.backend file (the default) the signing key is a local file; "keys rotate" writes a new key
and keeps the earlier versions' public keys (never their private keys) in KEYFILE.previous.jwks, published
exactly as Vault versions are: list, rotate and retire work the same way on both backends.

With keys.backend vault the node's Ed25519 signing key lives in Vault's Transit engine (one key, several
versions, each named by the RFC 7638 thumbprint of its public key) and its X25519 key in a KV v2 secret.

Rotating: "keys rotate" adds a version. Every version that is not retired is published in the node's JWKS
and, by "registry build", in its registry entry, so signatures under older versions keep verifying. A node
signs with the latest version as of its start: after rotating, rebuild, sign and distribute the registry,
then restart the node. "keys retire --below N" stops publishing versions older than N.`,
	}
	cmd.AddCommand(a.keysVaultSetupCmd(), a.keysListCmd(), a.keysRotateCmd(), a.keysRetireCmd())
	return cmd
}

func (a *app) keysVaultSetupCmd() *cobra.Command {
	var dir string
	var v config.Vault
	var timeout, window time.Duration
	cmd := &cobra.Command{
		Use:   "vault-setup --dir DIR --address URL (--token-file F | --role-id-file F --secret-id-file F)",
		Short: "Move a node's keys to Vault: create the Transit key and the KV secret, update node.yaml",
		Long: `vault-setup creates the node's Ed25519 key in Transit (type ed25519, not exportable) unless it exists,
stores a fresh X25519 key in the KV v2 secret unless it exists (it is never written to disk), and switches
node.yaml to keys.backend vault. The local key files are no longer used. Rebuild the registry afterwards:
the node's signing key has changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v.Timeout, v.BatchWindow = config.Duration(timeout), config.Duration(window)
			if v.RoleIDFile != "" {
				v.Auth = "approle"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), keysTimeout)
			defer cancel()
			nk, err := node.UseVaultKeys(ctx, dir, v)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "node keys now in Vault at %s\nsigning kid    %s\nencryption kid %s\n", v.Address, nk.SigningKID, nk.EncryptionKID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "node directory")
	f.StringVar(&v.Address, "address", "", "Vault address, e.g. https://vault.internal:8200")
	f.StringVar(&v.CACert, "ca-cert", "", "PEM CAs for Vault's TLS certificate")
	f.StringVar(&v.Mount, "mount", "transit", "Transit mount")
	f.StringVar(&v.SigningKey, "signing-key", "", "Transit key name (default: the node id)")
	f.StringVar(&v.EncryptionSecret, "encryption-secret", "", "KV v2 secret MOUNT/PATH (default secret/creditnode/ID)")
	f.StringVar(&v.TokenFile, "token-file", "", "file holding a Vault token (mode 0600)")
	f.StringVar(&v.RoleIDFile, "role-id-file", "", "AppRole role id file (mode 0600)")
	f.StringVar(&v.SecretIDFile, "secret-id-file", "", "AppRole secret id file (mode 0600)")
	f.DurationVar(&timeout, "timeout", 2*time.Second, "deadline of one Vault call")
	f.DurationVar(&window, "batch-window", 0, "group concurrent signatures within this window into one request (0: off)")
	cmd.MarkFlagRequired("dir")
	cmd.MarkFlagRequired("address")
	return cmd
}

func (a *app) keysListCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "list --dir DIR",
		Short: "List the versions of the node's Transit key with their kids",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withKeys(cmd.Context(), dir, func(ctx context.Context, t *vault.Transit) (vault.KeyState, error) {
				return t.Read(ctx)
			}, func(string) error { return nil })
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "node directory")
	cmd.MarkFlagRequired("dir")
	return cmd
}

func (a *app) keysRotateCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "rotate --dir DIR",
		Short: "Add a new version of the node's Transit signing key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withKeys(cmd.Context(), dir, func(ctx context.Context, t *vault.Transit) (vault.KeyState, error) {
				return t.Rotate(ctx)
			}, keys.RotateLocal)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "node directory")
	cmd.MarkFlagRequired("dir")
	return cmd
}

func (a *app) keysRetireCmd() *cobra.Command {
	var dir string
	var below int
	cmd := &cobra.Command{
		Use:   "retire --dir DIR --below N",
		Short: "Stop publishing and accepting versions older than N (sets min_decryption_version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withKeys(cmd.Context(), dir, func(ctx context.Context, t *vault.Transit) (vault.KeyState, error) {
				return t.Retire(ctx, below)
			}, func(path string) error { return keys.RetireLocal(path, below) })
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "node directory")
	cmd.Flags().IntVar(&below, "below", 0, "oldest version to keep")
	cmd.MarkFlagRequired("dir")
	cmd.MarkFlagRequired("below")
	return cmd
}

// withKeys runs a key operation on the node's signing key: op on its
// Transit key with keys.backend vault, local on its key file otherwise;
// then lists the versions.
func (a *app) withKeys(ctx context.Context, dir string, op func(context.Context, *vault.Transit) (vault.KeyState, error), local func(path string) error) error {
	cfg, err := loadConfig(dir)
	if err != nil {
		return err
	}
	if cfg.Keys.Backend == config.BackendVault {
		return a.withTransit(ctx, dir, op)
	}
	path := cfg.Path(cfg.Keys.Signing)
	if err := local(path); err != nil {
		return err
	}
	pubs, retired, err := keys.LocalVersions(path)
	if err != nil {
		return err
	}
	st := vault.KeyState{Name: path, Latest: len(pubs), MinDecryptionVersion: retired + 1}
	for i, p := range pubs {
		st.Versions = append(st.Versions, vault.Version{Number: i + 1, Public: p, KID: keys.SigningKID(p), Retired: i < retired})
	}
	printKeyState(a.out, st)
	return nil
}

func (a *app) withTransit(ctx context.Context, dir string, op func(context.Context, *vault.Transit) (vault.KeyState, error)) error {
	ctx, cancel := context.WithTimeout(ctx, keysTimeout)
	defer cancel()
	t, err := node.NodeTransit(ctx, dir)
	if err != nil {
		return err
	}
	st, err := op(ctx, t)
	if err != nil {
		return err
	}
	printKeyState(a.out, st)
	return nil
}

func printKeyState(w io.Writer, st vault.KeyState) {
	fmt.Fprintf(w, "signing key %s: latest version %d, oldest published %d\n", st.Name, st.Latest, max(st.MinDecryptionVersion, 1))
	for _, v := range st.Versions {
		state := "published"
		switch {
		case v.Retired:
			state = "retired"
		case v.Number == st.Latest:
			state = "published, signs after restart"
		}
		fmt.Fprintf(w, "  v%d  %s  %s\n", v.Number, v.KID, state)
	}
}
