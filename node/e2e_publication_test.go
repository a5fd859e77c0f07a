package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
)

// TestPenaltyPublicationWindow: with administrative_penalty public in
// market-reg's catalogue, a bank (reaching it only because it is public)
// gets a penalty only from its decision_date through its publication_end;
// a department under a statutory purpose (which would reach it at the
// shared level) gets every retained penalty. Dates are relative to today
// (UTC), the nodes' clock: the day before the decision, the decision day,
// the publication_end day and the day after it.
func TestPenaltyPublicationWindow(t *testing.T) {
	nodes := specs()
	for i := range nodes {
		if nodes[i].ID == "market-reg" {
			nodes[i].Catalog = map[string]string{"registration": "public", "administrative_penalty": "public"}
		}
	}
	now := time.Now().UTC()
	d := func(days int) string { return now.AddDate(0, 0, days).Format(time.DateOnly) }
	var subject string
	f := startFedSpecs(t, nodes, func(n *devnet.Network) {
		smes, err := devnet.DemoSMEs(3)
		if err != nil {
			t.Fatal(err)
		}
		subject = smes[0].USCC
		pen := func(id, decided, end string) records.Record {
			m := map[string]any{"decision_no": "MR-" + id, "authority": "Market Regulation", "decision_date": decided,
				"violation": "false advertising", "penalty": "fine", "amount": 20000.0}
			if end != "" {
				m["publication_end"] = end
			}
			b, _ := json.Marshal(m)
			return records.Record{Subject: subject, Category: "administrative_penalty", ID: id, Data: b, UpdatedAt: now}
		}
		if err := n.ImportRecords(context.Background(), "market-reg", []records.Record{
			pen("decided-tomorrow", d(1), ""),     // today is the day before the decision
			pen("decided-today", d(0), ""),        // decision day, no publication_end
			pen("ends-today", d(-30), d(0)),       // publication_end day
			pen("ended-yesterday", d(-30), d(-1)), // the day after publication_end
		}); err != nil {
			t.Fatal(err)
		}
	})
	if f.smes[0].USCC != subject {
		t.Fatalf("subject %s, want %s", f.smes[0].USCC, subject)
	}
	if d(0) != time.Now().UTC().Format(time.DateOnly) {
		t.Skip("the UTC day changed while the federation started")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		requester, purpose string
		want               []string
	}{
		{"bank-a", "loan_approval", []string{"decided-today", "ends-today"}},
		{"tax-dept", "administrative_supervision", []string{"decided-today", "decided-tomorrow", "ended-yesterday", "ends-today"}},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.requester, tc.purpose), func(t *testing.T) {
			res, err := f.nodes[tc.requester].Client.Query(ctx, peer.Query{Provider: "market-reg", Subject: subject,
				Purpose: tc.purpose, Categories: []string{"administrative_penalty"}})
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range res.Response.Records {
				got = append(got, r.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("records %v, want %v (reasons %v)", got, tc.want, res.Response.Decision.Reasons)
			}
		})
	}
}
