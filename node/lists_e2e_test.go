package node_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/lists"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// serveAll opens and serves every node of n in this process until test end.
func serveAll(t *testing.T, n *devnet.Network) map[string]*node.Node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	nodes := map[string]*node.Node{}
	done := make(chan struct{}, len(n.Specs))
	t.Cleanup(func() {
		cancel()
		for range nodes {
			<-done
		}
		for _, nd := range nodes {
			nd.Close()
		}
	})
	for _, s := range n.Specs {
		nd, err := node.Open(ctx, n.NodeDir(s.ID), quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		validateExchanges(t, nd)
		nodes[s.ID] = nd
		ready := make(chan struct{})
		go func() {
			nd.Serve(ctx, func() { close(ready) })
			done <- struct{}{}
		}()
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatalf("node %s did not start", s.ID)
		}
	}
	return nodes
}

func listRecord(t *testing.T, subject, id string, e lists.Entry) records.Record {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return records.Record{Subject: subject, Category: lists.Category, ID: id, Data: b, UpdatedAt: time.Now().UTC()}
}

// A department checks subjects across the federation: a listed one, one
// removed after credit repair, one never listed; a bank may not ask.
func TestJointPunishmentCheck(t *testing.T) {
	ctx := context.Background()
	n, err := devnet.Create(t.TempDir(), []devnet.Spec{
		{ID: "bank-a", Organisation: "Bank A", USCC: "91110000100000016D", Roles: []string{"bank"}},
		{ID: "tax-dept", Organisation: "Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"tax_payment": "authorised"}},
		{ID: "market-reg", Organisation: "Market Regulation", USCC: "11110000000017232M", Roles: []string{"department", "registrar"},
			Catalog: map[string]string{"registration": "public", lists.Category: "shared"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	smes, err := devnet.DemoSMEs(3)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	entry := lists.Entry{List: "seriously_untrustworthy", ListName: "Food safety", Basis: "Food Safety Law art. 134", Authority: "Market Regulation",
		DecisionNo: "MR-2026-3", DecidedOn: today.AddDate(0, -2, 0).Format(time.DateOnly), ListedOn: today.AddDate(0, -2, 0).Format(time.DateOnly),
		Measures:          []lists.Measure{{Code: "procurement_ban", Description: "excluded from public procurement", Until: today.AddDate(2, 0, 0).Format(time.DateOnly)}},
		PublicationEnd:    today.AddDate(3, 0, 0).Format(time.DateOnly),
		RemovalConditions: "rectify, commit in writing, apply after 1 year", Objection: "object to Market Regulation within 15 days"}
	repaired := entry
	repaired.RemovedOn, repaired.RemovalReason = today.AddDate(0, 0, -1).Format(time.DateOnly), "repaired"
	if err := n.ImportRecords(ctx, "market-reg", []records.Record{
		listRecord(t, smes[1].USCC, "l-1", entry), listRecord(t, smes[2].USCC, "l-2", repaired),
	}); err != nil {
		t.Fatal(err)
	}
	nodes := serveAll(t, n)
	checker := &lists.Checker{Querier: nodes["tax-dept"].Client}
	before := nodes["market-reg"].Store

	out, err := checker.Check(ctx, smes[1].USCC, []string{"market-reg"})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Complete() || !out.Listed() || len(out.Measures) != 1 || out.Measures[0].Code != "procurement_ban" || out.Findings[0].Entry.Basis == "" {
		t.Fatalf("listed subject: %+v", out)
	}
	out, err = checker.Check(ctx, smes[2].USCC, []string{"market-reg"})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Complete() || out.Listed() || len(out.Measures) != 0 {
		t.Fatalf("repaired subject still punished: %+v", out)
	}
	out, err = checker.Check(ctx, smes[0].USCC, []string{"market-reg", "tax-dept"})
	if err != nil {
		t.Fatal(err)
	}
	// tax-dept does not hold the category: the check is incomplete, not clean.
	if out.Listed() || out.Complete() || out.Failed[0].Provider != "tax-dept" || schemas.CodeOf(out.Failed[0].Err) != schemas.CodeCategoryUnknown {
		t.Fatalf("unlisted subject: %+v", out)
	}
	size, err := before.InquiryLogSize(ctx)
	if err != nil || size != 3 {
		t.Fatalf("market-reg logged %d inquiries (%v), want 3", size, err)
	}
	// A bank may not run joint punishment checks.
	out, err = (&lists.Checker{Querier: nodes["bank-a"].Client}).Check(ctx, smes[1].USCC, []string{"market-reg"})
	if err != nil || out.Complete() || schemas.CodeOf(out.Failed[0].Err) != schemas.CodePurposeNotPermitted {
		t.Fatalf("bank: %+v %v", out, err)
	}
}
