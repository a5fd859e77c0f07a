package main

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
)

func (a *app) logCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "log", Short: "Operate the node's tamper-evident logs"}
	var dir, which string
	verify := &cobra.Command{
		Use:   "verify --dir DIR",
		Short: "Recompute each log's Merkle tree from the database and check it against the signed checkpoints",
		Long: "verify reads every row of the inquiry and outbound logs, recomputes their Merkle trees and compares\n" +
			"them with every checkpoint the node signed. It names rows that were edited, deleted or reordered, and\n" +
			"exits with status 1 if it finds anything. With the inquiry log it checks the stored subject map too:\n" +
			"its newest revision's nodes, the root recomputed from its leaves against the signed subject checkpoint,\n" +
			"and its values against the subjects' chains recomputed from the log. Run it on a stopped node or a\n" +
			"copy of its database.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := config.Load(dir)
			if err != nil {
				return err
			}
			nk, err := node.OpenKeys(ctx, cfg)
			if err != nil {
				return err
			}
			st, err := node.OpenStore(ctx, cfg, a.logger()) // SQLite or PostgreSQL
			if err != nil {
				return err
			}
			defer st.Close()
			logs := []store.LogID{store.LogInquiry, store.LogOutbound}
			switch which {
			case "all":
			case string(store.LogInquiry), string(store.LogOutbound):
				logs = []store.LogID{store.LogID(which)}
			default:
				return fmt.Errorf("log verify: --log %q: want inquiry, outbound or all", which)
			}
			bad := 0
			for _, l := range logs {
				v, err := tlog.NewVerifier(tlog.Origin(cfg.ID, l), nk.SigningPublic())
				if err != nil {
					return err
				}
				prog := newCountProgress(a.errOut, string(l)+" log rows")
				rep, err := tlog.Audit(ctx, &auditProgress{AuditStore: st, log: l, prog: prog}, l, v)
				prog.End()
				if err != nil {
					return err
				}
				status := "ok"
				if !rep.OK() {
					status = "TAMPERED"
					bad++
				}
				fmt.Fprintf(a.out, "%s log: %s: %d rows, tree %d, %d signed checkpoints, latest size %d root %s, root matches: %t\n",
					l, status, rep.Rows, rep.TreeSize, rep.Checkpoints, rep.LatestSize,
					base64.StdEncoding.EncodeToString(rep.LatestRoot), rep.RootMatches)
				for _, p := range rep.Problems {
					fmt.Fprintf(a.out, "  %s\n", p)
				}
				if l != store.LogInquiry {
					continue
				}
				// The subject map's newest revision against its signed
				// subject checkpoint and the log's leaves.
				mrep, err := subjectlog.AuditMap(ctx, st, v)
				if err != nil {
					return err
				}
				if !mrep.Stored {
					fmt.Fprintf(a.out, "subject map: none stored\n")
					continue
				}
				status = "ok"
				if !mrep.OK() {
					status = "TAMPERED"
					bad++
				}
				fmt.Fprintf(a.out, "subject map: %s: revision %d, %d subjects, %d nodes, root matches: %t\n",
					status, mrep.Revision, mrep.Subjects, mrep.Nodes, mrep.RootMatches)
				for _, p := range mrep.Problems {
					fmt.Fprintf(a.out, "  %s\n", p)
				}
			}
			if bad > 0 {
				return silentExit(1)
			}
			return nil
		},
	}
	verify.Flags().StringVar(&dir, "dir", "", "node directory")
	verify.Flags().StringVar(&which, "log", "all", "log to verify: inquiry, outbound or all")
	verify.MarkFlagRequired("dir")
	cmd.AddCommand(verify)
	return cmd
}

// auditProgress counts the rows tlog.Audit reads against the size of the
// log's tree, for a progress bar on large logs.
type auditProgress struct {
	tlog.AuditStore
	log  store.LogID
	prog *countProgress
	size int
}

func (a *auditProgress) TreeState(ctx context.Context, log store.LogID) (store.TreeState, error) {
	s, err := a.AuditStore.TreeState(ctx, log)
	if err == nil && log == a.log {
		a.size = int(s.Size)
	}
	return s, err
}

func (a *auditProgress) ScanLeaves(ctx context.Context, log store.LogID, fn func(store.StoredLeaf) error) error {
	rows := 0
	if a.size > 0 {
		a.prog.Count(0, a.size)
	}
	err := a.AuditStore.ScanLeaves(ctx, log, func(l store.StoredLeaf) error {
		rows++
		a.prog.Count(min(rows, a.size), a.size)
		return fn(l)
	})
	if err == nil && rows != a.size {
		a.prog.Count(rows, 0) // more or fewer rows than the tree: show the count
	}
	return err
}
