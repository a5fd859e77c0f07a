package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/schemas/uscc"
)

func (a *app) initCmd() *cobra.Command {
	var o node.InitOptions
	var dir, roles, catalog string
	cmd := &cobra.Command{
		Use:   "init --dir DIR --id ID --org NAME --uscc CODE --roles ROLES",
		Short: "Create a node directory: keys (mode 0600) and node.yaml",
		Long: `init creates a node directory holding a fresh Ed25519 signing key (PKCS #8 PEM), an X25519
encryption key (age identity format), and node.yaml. Keys are named by their RFC 7638 thumbprints.
The node still needs a TLS certificate (creditnode certs) and a signed registry (creditnode registry).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Roles = splitList(roles)
			cat, err := parseCatalog(catalog)
			if err != nil {
				return err
			}
			o.Catalog = cat
			cfg, err := node.Init(dir, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "created node %s in %s\n", cfg.ID, dir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "node directory to create")
	f.StringVar(&o.ID, "id", "", "member id (lower-case letters, digits, '-')")
	f.StringVar(&o.Organisation, "org", "", "organisation name")
	f.StringVar(&o.USCC, "uscc", "", "the organisation's Uniform Social Credit Code")
	f.StringVar(&roles, "roles", "", "comma-separated roles: bank, bureau, department, registrar, regulator")
	f.StringVar(&o.Jurisdiction, "jurisdiction", "CN", "jurisdiction code")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:7443", "mutual-TLS member API address")
	f.StringVar(&o.PublicListen, "public-listen", "127.0.0.1:7444", "subject API address")
	f.StringVar(&catalog, "catalog", "", "categories provided, as name=level,… (levels: public, shared, authorised, restricted)")
	f.StringVar(&o.Registry, "registry", "", "signed registry file (default registry.jws in the node directory)")
	f.StringVar(&o.AuthorityKey, "authority", "", "federation authority public JWK (default authority.jwk)")
	f.StringVar(&o.CA, "ca", "", "federation CA certificate (default ca.crt)")
	for _, n := range []string{"dir", "id", "org", "uscc", "roles"} {
		cmd.MarkFlagRequired(n)
	}
	return cmd
}

func (a *app) serveCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "serve --dir DIR",
		Short: "Run the node: member API (mutual TLS) and subject API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := a.serviceLogger()
			n, err := a.openNode(cmd.Context(), dir, logger)
			if err != nil {
				return err
			}
			defer n.Close()
			applyRuntime(cmd.Context(), n.Config.Runtime.Settings(os.Getenv), logger)
			return n.Serve(cmd.Context(), nil)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "node directory")
	cmd.MarkFlagRequired("dir")
	return cmd
}

func (a *app) usccCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "uscc", Short: "Work with Uniform Social Credit Codes (GB 32100-2015)"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check CODE...",
		Short: "Validate codes: one line per code; exit status 1 if any is invalid",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, c := range args {
				norm, err := uscc.Normalize(c)
				if err != nil {
					bad++
					fmt.Fprintf(a.out, "%s\tinvalid\t%v\n", c, err)
					continue
				}
				fmt.Fprintf(a.out, "%s\tvalid\t%s\n", c, norm)
			}
			if bad > 0 {
				return silentExit(1)
			}
			return nil
		},
	})
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseCatalog(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range splitList(s) {
		name, level, ok := strings.Cut(p, "=")
		if !ok || name == "" || level == "" {
			return nil, fmt.Errorf("catalog entry %q: want name=level", p)
		}
		out[name] = level
	}
	return out, nil
}

// applyRuntime sets the collector's target and memory limit for the serving
// process (config.Runtime; GOGC and GOMEMLIMIT in the environment win, and
// leave the matching field zero).
func applyRuntime(ctx context.Context, s config.GCSettings, logger *slog.Logger) {
	if s.GCPercent > 0 {
		debug.SetGCPercent(s.GCPercent)
	}
	if s.MemoryLimitBytes > 0 {
		debug.SetMemoryLimit(s.MemoryLimitBytes)
	}
	// gc_percent 0: left to GOGC. SetMemoryLimit with a negative value
	// only reads the limit in force (math.MaxInt64: none, logged as 0).
	limit := debug.SetMemoryLimit(-1)
	if limit == math.MaxInt64 {
		limit = 0
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "go runtime",
		slog.Int("gc_percent", s.GCPercent),
		slog.Int64("memory_limit_mib", limit>>20))
}
