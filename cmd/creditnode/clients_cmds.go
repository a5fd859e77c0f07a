package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/internalapi"
)

func (a *app) clientsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "clients", Short: "The organisation's own systems allowed to call this node's internal API"}

	var dir, name, ops, purposes, providers, certFile, out string
	add := &cobra.Command{
		Use:   "add --dir DIR --name NAME --operations OP,… --purposes P,… [--providers ID,…] [--cert FILE | --out DIR]",
		Short: "Register an internal client: issue its certificate and key, or register an existing certificate",
		Long: `add registers one of the organisation's own systems (a loan-origination system, a data platform) as a
client of the node's internal API (internal_listen in node.yaml) with an allow-list of operations
(` + strings.Join(internalapi.Operations(), ", ") + `), purposes and, optionally, providers (default: any).
Without --cert it issues a client certificate and key from the node's operator CA (created in
DIR/internal on first use; never the federation CA) and writes NAME.crt, NAME.key (mode 0600),
internal-ca.crt (to trust the internal listener) and NAME.yaml (the identity for --client-config:
url, cert, key, ca) into --out. With --cert it registers that certificate
by its SHA-256 fingerprint; a federation member's certificate is refused. A running node sees the change
on its next request.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(dir)
			if err != nil {
				return err
			}
			opts := internalapi.AddOptions{Name: name, Operations: splitList(ops), Purposes: splitList(purposes), Providers: splitList(providers)}
			if certFile != "" {
				if opts.CertPEM, err = os.ReadFile(certFile); err != nil {
					return err
				}
				if opts.FederationCAs, err = certs.LoadPool(cfg.Path(cfg.TLS.CA)); err != nil {
					return err
				}
			}
			op := internalapi.NewOperator(dir)
			c, certPEM, keyPEM, err := op.Add(opts)
			if err != nil {
				return err
			}
			if certPEM != nil {
				if err := os.MkdirAll(out, 0o700); err != nil {
					return err
				}
				caPEM, err := os.ReadFile(op.CACertPath())
				if err != nil {
					return err
				}
				identity := internalapi.ClientConfig{Cert: name + ".crt", Key: name + ".key", CA: "internal-ca.crt"}
				if cfg.InternalListen != "" {
					identity.URL = "https://" + cfg.InternalListen
				}
				identityYAML, err := yaml.Marshal(identity)
				if err != nil {
					return err
				}
				for _, f := range []struct {
					name string
					data []byte
					mode os.FileMode
				}{{name + ".crt", certPEM, 0o644}, {name + ".key", keyPEM, 0o600}, {"internal-ca.crt", caPEM, 0o644}, {name + ".yaml", identityYAML, 0o644}} {
					if err := os.WriteFile(filepath.Join(out, f.name), f.data, f.mode); err != nil {
						return err
					}
				}
				fmt.Fprintf(a.out, "client %s added (fingerprint %s); wrote %s, %s, %s and %s (the identity for --client-config)\n", c.Name, c.Fingerprint,
					filepath.Join(out, name+".crt"), filepath.Join(out, name+".key"), filepath.Join(out, "internal-ca.crt"), filepath.Join(out, name+".yaml"))
				return nil
			}
			fmt.Fprintf(a.out, "client %s added (fingerprint %s)\n", c.Name, c.Fingerprint)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&dir, "dir", "", "node directory")
	f.StringVar(&name, "name", "", "client name (lower-case letters, digits, '-')")
	f.StringVar(&ops, "operations", "", "comma-separated operations the client may call")
	f.StringVar(&purposes, "purposes", "", "comma-separated purpose codes the client may act for")
	f.StringVar(&providers, "providers", "", "comma-separated providers the client may address (default: any)")
	f.StringVar(&certFile, "cert", "", "register this existing client certificate (PEM) instead of issuing one")
	f.StringVar(&out, "out", ".", "folder for the issued certificate, key and internal-ca.crt")
	for _, n := range []string{"dir", "name", "operations", "purposes"} {
		add.MarkFlagRequired(n)
	}

	var listDir string
	list := &cobra.Command{
		Use:   "list --dir DIR",
		Short: "List internal clients: name, state, operations, purposes, providers, fingerprint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := internalapi.OpenRegistry(listDir).List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tOPERATIONS\tPURPOSES\tPROVIDERS\tFINGERPRINT")
			for _, c := range cs {
				state := "active"
				if c.Revoked != nil {
					state = "revoked " + c.Revoked.Format(time.RFC3339)
				}
				prov := strings.Join(c.Providers, ",")
				if prov == "" {
					prov = "any"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, state, strings.Join(c.Operations, ","),
					strings.Join(c.Purposes, ","), prov, c.Fingerprint)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listDir, "dir", "", "node directory")
	list.MarkFlagRequired("dir")

	var revokeDir, revokeName string
	revoke := &cobra.Command{
		Use:   "revoke --dir DIR --name NAME",
		Short: "Revoke an internal client; a running node refuses it from its next request (client_revoked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := internalapi.OpenRegistry(revokeDir).Revoke(revokeName, time.Now())
			if errors.Is(err, internalapi.ErrClientMissing) {
				return fmt.Errorf("no client named %q", revokeName)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "client %s revoked\n", revokeName)
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeDir, "dir", "", "node directory")
	revoke.Flags().StringVar(&revokeName, "name", "", "client name")
	revoke.MarkFlagRequired("dir")
	revoke.MarkFlagRequired("name")

	cmd.AddCommand(add, list, revoke)
	return cmd
}
