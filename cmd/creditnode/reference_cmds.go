package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// purposesCmd lists the purposes the embedded policy knows.
func (a *app) purposesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "purposes", Short: "The purposes a query may name, and their rules"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List every purpose of the embedded policy: who may ask, whether consent is needed, retention and the fair-use query limit",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			src, err := policy.EmbeddedSource()
			if err != nil {
				return err
			}
			var doc struct {
				Creditnode struct {
					Config struct {
						Purposes map[string]struct {
							Roles         []string `json:"roles"`
							Statutory     bool     `json:"statutory"`
							Consent       bool     `json:"consent"`
							RetentionDays int      `json:"retention_days"`
						} `json:"purposes"`
						FairUse map[string]struct {
							MaxQueries *int `json:"max_queries_per_period"`
							PeriodDays int  `json:"period_days"`
						} `json:"fair_use"`
					} `json:"config"`
				} `json:"creditnode"`
			}
			if err := json.Unmarshal(src.Data, &doc); err != nil {
				return fmt.Errorf("policy data: %w", err)
			}
			cfg := doc.Creditnode.Config
			names := make([]string, 0, len(cfg.Purposes))
			for n := range cfg.Purposes {
				names = append(names, n)
			}
			slices.Sort(names)
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PURPOSE\tROLES\tCONSENT\tSTATUTORY\tRETENTION\tQUERY LIMIT")
			for _, n := range names {
				p := cfg.Purposes[n]
				limit := "-"
				if f, ok := cfg.FairUse[n]; ok && f.MaxQueries != nil && f.PeriodDays > 0 {
					limit = fmt.Sprintf("%d per %d days per subject", *f.MaxQueries, f.PeriodDays)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d days\t%s\n", n, strings.Join(p.Roles, ","), yesNo(p.Consent), yesNo(p.Statutory), p.RetentionDays, limit)
			}
			return tw.Flush()
		},
	})
	return cmd
}

// categoriesCmd lists the record categories and their formats.
func (a *app) categoriesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "categories", Short: "The record categories, their formats and sharing levels"}
	var dir string
	list := &cobra.Command{
		Use:   "list [--dir D]",
		Short: "List every record category with its fields (required ones marked *); with --dir, the sharing level at that node (schemas/categories.md has the full reference)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var catalog map[string]string
			if dir != "" {
				cfg, err := loadConfig(dir)
				if err != nil {
					return err
				}
				catalog = cfg.Catalog
			}
			v, err := schemas.NewCategoryValidator()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			head := "CATEGORY\tNEGATIVE\tFIELDS"
			if dir != "" {
				head = "CATEGORY\tLEVEL\tNEGATIVE\tFIELDS"
			}
			fmt.Fprintln(tw, head)
			for _, c := range v.Categories() {
				raw, _ := v.Schema(c)
				var s struct {
					Required []string `json:"required"`
				}
				if err := json.Unmarshal(raw, &s); err != nil {
					return err
				}
				types := v.FieldTypes(c)
				fields := make([]string, 0, len(types))
				for f := range types {
					if slices.Contains(s.Required, f) {
						f += "*"
					}
					fields = append(fields, f)
				}
				slices.Sort(fields)
				row := fmt.Sprintf("%s\t%s\t%s", c, yesNo(v.Negative(c)), strings.Join(fields, " "))
				if dir != "" {
					level := catalog[c]
					if level == "" {
						level = "not provided"
					}
					row = fmt.Sprintf("%s\t%s\t%s\t%s", c, level, yesNo(v.Negative(c)), strings.Join(fields, " "))
				}
				fmt.Fprintln(tw, row)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&dir, "dir", "", "node directory: also show each category's sharing level at this node")
	cmd.AddCommand(list)
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
