package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/schemas"
)

func (a *app) catalogCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Show this node's signed catalogue and the catalogues of its peers"}

	var dir string
	var asJSON bool
	show := &cobra.Command{
		Use:   "show --dir DIR [--json]",
		Short: "Print the catalogue this node serves, as derived from its config, schemas, policy and catalog.json",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := a.openNode(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			v, err := schemas.NewCatalogValidator()
			if err != nil {
				return err
			}
			c, err := catalog.Verify(n.CatalogToken, n.Registry.Current(), n.Config.ID, v)
			if err != nil {
				return err
			}
			return a.printCatalogs(asJSON, []catalog.Fetched{{Provider: n.Config.ID, Catalog: c}})
		},
	}
	show.Flags().StringVar(&dir, "dir", "", "node directory")
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show.MarkFlagRequired("dir")

	var peerID string
	var all bool
	list := &cobra.Command{
		Use:   "list --dir DIR [--peer ID | --all] [--json]",
		Short: "Fetch and verify peers' signed catalogues over mutual TLS (default: every other member)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if peerID != "" && all {
				return fmt.Errorf("--peer and --all exclude each other")
			}
			n, err := a.openNode(cmd.Context(), dir, a.logger())
			if err != nil {
				return err
			}
			defer n.Close()
			reg := n.Registry.Current()
			var peers []string
			if peerID != "" {
				peers = []string{peerID}
			} else {
				for _, m := range reg.Doc().Members {
					if m.ID != n.Config.ID {
						peers = append(peers, m.ID)
					}
				}
			}
			got, err := catalog.Fetch(cmd.Context(), n.Client, reg, peers)
			if err != nil {
				return err
			}
			if err := a.printCatalogs(asJSON, got); err != nil {
				return err
			}
			for _, f := range got {
				if f.Err != nil {
					return silentExit(1)
				}
			}
			return nil
		},
	}
	list.Flags().StringVar(&dir, "dir", "", "this node's directory")
	list.Flags().StringVar(&peerID, "peer", "", "one member id")
	list.Flags().BoolVar(&all, "all", false, "every other member of the federation (the default)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	list.MarkFlagRequired("dir")

	cmd.AddCommand(show, list)
	return cmd
}

func (a *app) printCatalogs(asJSON bool, got []catalog.Fetched) error {
	if asJSON {
		type item struct {
			Provider string           `json:"provider"`
			Catalog  *schemas.Catalog `json:"catalog,omitempty"`
			Error    string           `json:"error,omitempty"`
		}
		out := make([]item, 0, len(got))
		for _, f := range got {
			it := item{Provider: f.Provider, Catalog: f.Catalog}
			if f.Err != nil {
				it.Error = f.Err.Error()
			}
			out = append(out, it)
		}
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, f := range got {
		printCatalog(a.out, f)
	}
	return nil
}

func printCatalog(w io.Writer, f catalog.Fetched) {
	if f.Err != nil {
		fmt.Fprintf(w, "%s: UNAVAILABLE: %v\n", f.Provider, f.Err)
		return
	}
	c := f.Catalog
	fmt.Fprintf(w, "%s (%s): %d categories, signature verified\n", c.Provider, c.Organisation, len(c.Categories))
	for _, e := range c.Categories {
		neg := ""
		if e.Negative {
			neg = "  negative"
		}
		fmt.Fprintf(w, "  %-24s %-10s updated %s%s\n", e.Name, e.Level, e.UpdateFrequency, neg)
		fmt.Fprintf(w, "    %s\n", e.Description)
		fmt.Fprintf(w, "    purposes: %s\n", dash(strings.Join(e.Purposes, ", ")))
		names := make([]string, len(e.Fields))
		for i, fl := range e.Fields {
			names[i] = fl.Name
		}
		fmt.Fprintf(w, "    fields:   %s\n", strings.Join(names, ", "))
		fmt.Fprintf(w, "    kept:     %s\n", e.Retention)
	}
}
