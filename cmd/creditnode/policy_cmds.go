package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/policy"
)

// policyBundleCmd builds, signs and verifies policy bundles.
func (a *app) policyBundleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bundle", Short: "Build, sign and verify signed OPA policy bundles"}

	var (
		dir, out, rev string
		serial        int64
	)
	build := &cobra.Command{
		Use:   "build --serial N --out bundle.tar.gz [--dir DIR] [--revision R]",
		Short: "Build an unsigned bundle from the embedded policy or a directory of .rego files and data.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := policy.EmbeddedSource()
			if dir != "" {
				src, err = policy.DirSource(dir)
			}
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			got, err := policy.BuildBundle(&buf, src, rev, serial)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "built %s revision %s serial %d\n", out, got, serial)
			return nil
		},
	}
	build.Flags().StringVar(&dir, "dir", "", "directory of .rego files and data.json (default: the embedded policy)")
	build.Flags().StringVar(&out, "out", "bundle.tar.gz", "bundle to write")
	build.Flags().StringVar(&rev, "revision", "", "manifest revision (default: the content hash)")
	build.Flags().Int64Var(&serial, "serial", 0, "bundle serial: greater than that of every bundle signed before (nodes refuse older serials)")
	_ = build.MarkFlagRequired("serial")

	var key, in, signOut string
	sign := &cobra.Command{
		Use:   "sign --key authority.key --in bundle.tar.gz --out signed.tar.gz",
		Short: "Sign a bundle with the federation authority key (OPA .signatures.json, EdDSA)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, err := keys.LoadSigningKey(key)
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(in)
			if err != nil {
				return err
			}
			kid := keys.SigningKID(priv.Public().(ed25519.PublicKey))
			var buf bytes.Buffer
			if err := policy.SignBundle(bytes.NewReader(raw), &buf, priv, kid); err != nil {
				return err
			}
			if signOut == "" {
				signOut = in
			}
			if err := os.WriteFile(signOut, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "signed %s kid %s\n", signOut, kid)
			return nil
		},
	}
	sign.Flags().StringVar(&key, "key", "authority.key", "authority private key")
	sign.Flags().StringVar(&in, "in", "bundle.tar.gz", "bundle to sign")
	sign.Flags().StringVar(&signOut, "out", "", "signed bundle (default: overwrite --in)")

	var authority, verifyIn string
	verify := &cobra.Command{
		Use:   "verify --authority authority.jwk --in bundle.tar.gz",
		Short: "Verify a bundle's signature and compile it as a node would",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, err := registry.LoadAuthorityPublic(authority)
			if err != nil {
				return err
			}
			f, err := os.Open(verifyIn)
			if err != nil {
				return err
			}
			defer f.Close()
			eng, err := policy.LoadBundle(cmd.Context(), f, policy.Authority{KeyID: keys.SigningKID(pub), Key: pub})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "bundle ok: revision %s serial %d\n", eng.Revision(), eng.Serial())
			return nil
		},
	}
	verify.Flags().StringVar(&authority, "authority", "authority.jwk", "authority public JWK")
	verify.Flags().StringVar(&verifyIn, "in", "bundle.tar.gz", "signed bundle")

	cmd.AddCommand(build, sign, verify)
	return cmd
}

// policyExplainCmd decides one input file and shows why.
func (a *app) policyExplainCmd() *cobra.Command {
	var input, authority, bundleFile string
	cmd := &cobra.Command{
		Use:   "explain --input FILE [--bundle B --authority authority.jwk]",
		Short: "Decide a JSON policy input and list the reasons and the rules that fired",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := os.ReadFile(input)
			if err != nil {
				return err
			}
			var in any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&in); err != nil {
				return fmt.Errorf("input %s: %w", input, err)
			}
			eng, err := a.policyEngine(cmd, bundleFile, authority)
			if err != nil {
				return err
			}
			ex, err := eng.Explain(cmd.Context(), in)
			if err != nil {
				return err
			}
			r := ex.Result
			verdict := "DENY " + r.Code
			if r.Allow {
				verdict = "ALLOW"
			}
			fmt.Fprintf(a.out, "decision: %s\nrevision: %s\nreasons:  %s\n", verdict, r.Revision, strings.Join(r.Reasons, ", "))
			for _, cat := range slices.Sorted(maps.Keys(r.Fields)) {
				fmt.Fprintf(a.out, "fields %s: %s\n", cat, strings.Join(r.Fields[cat], ", "))
			}
			if len(r.Obligations) > 0 {
				ob, _ := json.Marshal(r.Obligations)
				fmt.Fprintf(a.out, "obligations: %s\n", ob)
			}
			fmt.Fprintln(a.out, "rules that fired:")
			for _, f := range ex.Fired {
				fmt.Fprintf(a.out, "  %-28s %s\n", f.Rule, f.Location)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "policy input as JSON (the shape of policy.Input)")
	cmd.Flags().StringVar(&bundleFile, "bundle", "", "signed bundle to use instead of the embedded policy")
	cmd.Flags().StringVar(&authority, "authority", "authority.jwk", "authority public JWK (with --bundle)")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

func (a *app) policyEngine(cmd *cobra.Command, bundleFile, authority string) (*policy.Engine, error) {
	if bundleFile == "" {
		return policy.New(cmd.Context(), policy.Options{})
	}
	pub, err := registry.LoadAuthorityPublic(authority)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(bundleFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return policy.LoadBundle(cmd.Context(), f, policy.Authority{KeyID: keys.SigningKID(pub), Key: pub})
}
