package main

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/schemas"
)

func (a *app) certsCmd() *cobra.Command {
	var out string
	var nodes, hosts []string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "certs --out DIR --node ID [--node ID…]",
		Short: "Create a development CA and one TLS certificate per node",
		Long: `certs creates DIR/ca.crt and DIR/ca.key (a development CA; reused if present) and, for each --node,
DIR/ID/tls.crt and DIR/ID/tls.key: a certificate usable for both the server and the client side of
mutual TLS, valid for the node id and the --host names (default 127.0.0.1, ::1, localhost).
For production, use your organisation's CA and register the certificate fingerprint in the registry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := certs.LoadCA(out)
			if err != nil {
				if ca, err = certs.NewCA("Credit Exchange development CA", validity); err != nil {
					return err
				}
				if err := os.MkdirAll(out, 0o700); err != nil {
					return err
				}
				if err := ca.WriteFiles(out); err != nil {
					return err
				}
				fmt.Fprintf(a.out, "created CA %s\n", filepath.Join(out, "ca.crt"))
			}
			for _, id := range nodes {
				certPEM, keyPEM, err := ca.IssueNode(id, hosts, validity)
				if err != nil {
					return err
				}
				dir := filepath.Join(out, id)
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return err
				}
				if err := certs.WriteNodeFiles(dir, certPEM, keyPEM); err != nil {
					return err
				}
				fp, _ := certs.FingerprintPEM(certPEM)
				fmt.Fprintf(a.out, "issued %s/tls.crt sha256=%s\n", dir, fp)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "output directory")
	f.StringSliceVar(&nodes, "node", nil, "node id to issue a certificate for (repeatable)")
	f.StringSliceVar(&hosts, "host", nil, "extra DNS name or IP address (repeatable)")
	f.DurationVar(&validity, "validity", 90*24*time.Hour, "certificate validity")
	cmd.MarkFlagRequired("out")
	return cmd
}

func (a *app) registryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "Build, sign and verify the federation registry"}

	var keygenOut string
	keygen := &cobra.Command{
		Use:   "keygen --out DIR",
		Short: "Create the federation authority key (authority.key, authority.jwk)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := registry.GenerateAuthority()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(keygenOut, 0o700); err != nil {
				return err
			}
			if err := registry.SaveAuthority(keygenOut, k); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "authority kid %s\n", keys.SigningKID(k.Public().(ed25519.PublicKey)))
			return nil
		},
	}
	keygen.Flags().StringVar(&keygenOut, "out", ".", "directory for authority.key and authority.jwk")

	var buildDirs []string
	var buildOut, federation string
	build := &cobra.Command{
		Use:   "build --node-dir DIR… --out registry.json",
		Short: "Build an unsigned registry document from node directories",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg := schemas.Registry{Federation: federation}
			for _, d := range buildDirs {
				m, err := node.MemberEntry(d)
				if err != nil {
					return fmt.Errorf("%s: %w", d, err)
				}
				reg.Members = append(reg.Members, m)
			}
			b, err := json.MarshalIndent(reg, "", "  ")
			if err != nil {
				return err
			}
			return os.WriteFile(buildOut, append(b, '\n'), 0o644)
		},
	}
	build.Flags().StringSliceVar(&buildDirs, "node-dir", nil, "node directory (repeatable)")
	build.Flags().StringVar(&buildOut, "out", "registry.json", "output file")
	build.Flags().StringVar(&federation, "federation", "credit-exchange", "federation name")

	var signKey, signIn, signOut string
	var validity time.Duration
	var serial int64
	sign := &cobra.Command{
		Use:   "sign --key authority.key --in registry.json --out registry.jws",
		Short: "Sign a registry document with the federation authority key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, err := keys.LoadSigningKey(signKey)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(signIn)
			if err != nil {
				return err
			}
			var reg schemas.Registry
			if err := json.Unmarshal(data, &reg); err != nil {
				return fmt.Errorf("%s: %w", signIn, err)
			}
			now := time.Now().UTC().Truncate(time.Second)
			reg.IssuedAt, reg.ExpiresAt = now, now.Add(validity)
			if serial != 0 {
				reg.Serial = serial
			} else {
				reg.Serial = now.Unix()
			}
			tok, err := registry.Sign(&reg, priv, keys.SigningKID(priv.Public().(ed25519.PublicKey)))
			if err != nil {
				return err
			}
			if err := os.WriteFile(signOut, tok, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "signed registry serial %d with %d members, expires %s\n", reg.Serial, len(reg.Members), reg.ExpiresAt.Format(time.RFC3339))
			return nil
		},
	}
	sign.Flags().StringVar(&signKey, "key", "authority.key", "authority private key")
	sign.Flags().StringVar(&signIn, "in", "registry.json", "registry document")
	sign.Flags().StringVar(&signOut, "out", "registry.jws", "signed registry")
	sign.Flags().DurationVar(&validity, "validity", 30*24*time.Hour, "how long the registry is valid")
	sign.Flags().Int64Var(&serial, "serial", 0, "serial number (default: the signing time in Unix seconds)")

	var verifyKey, verifyIn string
	verify := &cobra.Command{
		Use:   "verify FILE --authority authority.jwk",
		Short: "Verify a signed registry and list its members",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := verifyIn
			if len(args) == 1 {
				if cmd.Flags().Changed("in") {
					return usageErr(errors.New("name the registry once: as FILE or with --in"))
				}
				file = args[0]
			}
			pub, err := registry.LoadAuthorityPublic(verifyKey)
			if err != nil {
				return err
			}
			tok, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			reg, err := registry.Verify(tok, pub, time.Now())
			if err != nil {
				return err
			}
			doc := reg.Doc()
			fmt.Fprintf(a.out, "registry %s serial %d valid until %s\n", doc.Federation, doc.Serial, doc.ExpiresAt.Format(time.RFC3339))
			for _, m := range doc.Members {
				fmt.Fprintf(a.out, "  %-16s %-40s %v %s\n", m.ID, m.Organisation, m.Roles, m.Endpoint)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&verifyKey, "authority", "authority.jwk", "authority public JWK")
	verify.Flags().StringVar(&verifyIn, "in", "registry.jws", "signed registry (the same as FILE; kept for scripts)")

	cmd.AddCommand(keygen, build, sign, verify)
	return cmd
}
