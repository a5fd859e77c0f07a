package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/feeds"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

type recordImporter interface {
	ImportRecords(ctx context.Context, recs []records.Record) error
}

func abnormal(subject string, i int, removed string) records.Record {
	d := map[string]string{"listed_on": fmt.Sprintf("2025-0%d-01", 1+i%9), "reason": "annual report not filed", "authority": "Market Regulation"}
	if removed != "" {
		d["removed_on"] = removed
	}
	b, _ := json.Marshal(d)
	return records.Record{Subject: subject, Category: "abnormal_operation", ID: fmt.Sprintf("ab-%d", i), Data: b, UpdatedAt: time.Now().UTC()}
}

func penalty(subject string, i int) records.Record {
	b, _ := json.Marshal(map[string]any{"decision_no": fmt.Sprintf("TAX-%d", i), "authority": "Tax Service", "decision_date": "2025-03-01",
		"violation": "late filing", "penalty": "fine", "amount": 1000 + i})
	return records.Record{Subject: subject, Category: "administrative_penalty", ID: fmt.Sprintf("pen-%d", i), Data: b, UpdatedAt: time.Now().UTC()}
}

// Three departments: market-reg and tax-dept provide, city-dept subscribes
// to both. The subscriber crashes part-way through a batch, a new subscriber
// process (a fresh Subscriber over the same store) resumes, and in the end
// every record is there exactly once; a later change arrives as an update;
// each delivery is in the provider's inquiry log, per subject; a bank may
// not subscribe.
func TestFeedsThreeDepartmentsCrashResume(t *testing.T) {
	ctx := context.Background()
	n, err := devnet.Create(t.TempDir(), []devnet.Spec{
		{ID: "market-reg", Organisation: "Market Regulation", USCC: "11110000000017232M", Roles: []string{"department", "registrar"},
			Catalog: map[string]string{"registration": "public", "abnormal_operation": "shared"}},
		{ID: "tax-dept", Organisation: "Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"administrative_penalty": "shared"}},
		{ID: "city-dept", Organisation: "City Supervision", USCC: "11330100000000318C", Roles: []string{"department"}},
		{ID: "bank-a", Organisation: "Bank A", USCC: "91110000100000016D", Roles: []string{"bank"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	smes, err := devnet.DemoSMEs(3)
	if err != nil {
		t.Fatal(err)
	}
	var ab, pen []records.Record
	for i := range 7 {
		ab = append(ab, abnormal(smes[i%3].USCC, i, ""))
	}
	for i := range 3 {
		pen = append(pen, penalty(smes[i].USCC, i))
	}
	if err := n.ImportRecords(ctx, "market-reg", ab); err != nil {
		t.Fatal(err)
	}
	if err := n.ImportRecords(ctx, "tax-dept", pen); err != nil {
		t.Fatal(err)
	}
	nodes := serveAll(t, n)
	city := nodes["city-dept"]

	sub, err := city.Subscriber()
	if err != nil {
		t.Fatal(err)
	}
	sub.Limit = 3
	// Crash while applying the second record of the second batch.
	crash := errors.New("simulated crash")
	batches := 0
	sub.Check = func(i int, _ records.Record) error {
		if i == 0 {
			batches++
		}
		if batches == 2 && i == 1 {
			return crash
		}
		return nil
	}
	if _, err := sub.Sync(ctx, "market-reg", "abnormal_operation"); !errors.Is(err, crash) {
		t.Fatalf("Sync with crash: %v", err)
	}
	cs := city.Store.(interface {
		FeedCursor(ctx context.Context, provider, feed string) (uint64, error)
	})
	cur, err := cs.FeedCursor(ctx, "market-reg", "abnormal_operation")
	if err != nil || cur != 3 {
		t.Fatalf("cursor after the crash = %d (%v), want 3: the first batch only", cur, err)
	}
	if got := countRecords(t, city, smes, "abnormal_operation"); got != 3 {
		t.Fatalf("%d records after the crash, want the 3 of the first batch", got)
	}

	// A restarted subscriber resumes from the cursor.
	sub2, err := city.Subscriber()
	if err != nil {
		t.Fatal(err)
	}
	sub2.Limit = 3
	got, err := sub2.Sync(ctx, "market-reg", "abnormal_operation")
	if err != nil || got != 4 {
		t.Fatalf("resumed Sync = %d, %v; want the 4 remaining records", got, err)
	}
	if got, err := sub2.Sync(ctx, "tax-dept", "administrative_penalty"); err != nil || got != 3 {
		t.Fatalf("tax feed = %d, %v", got, err)
	}
	if got := countRecords(t, city, smes, "abnormal_operation"); got != 7 {
		t.Fatalf("%d abnormal-operation records, want 7: none lost, none doubled", got)
	}
	if got := countRecords(t, city, smes, "administrative_penalty"); got != 3 {
		t.Fatalf("%d penalties, want 3", got)
	}

	// Nothing new: an empty batch, still decided and logged.
	if p, err := sub2.Pull(ctx, "market-reg", "abnormal_operation"); err != nil || p.Records != 0 || p.From != 7 || p.To != 7 {
		t.Fatalf("empty pull = %+v, %v", p, err)
	}

	// The provider removes a listing: the change arrives as an update.
	upd := abnormal(smes[0].USCC, 0, "2025-06-30")
	if err := nodes["market-reg"].Store.(recordImporter).ImportRecords(ctx, []records.Record{upd}); err != nil {
		t.Fatal(err)
	}
	if got, err := sub2.Sync(ctx, "market-reg", "abnormal_operation"); err != nil || got != 1 {
		t.Fatalf("update = %d, %v", got, err)
	}
	if got := countRecords(t, city, smes, "abnormal_operation"); got != 7 {
		t.Fatalf("%d records after the update, want still 7", got)
	}
	recs, err := city.Store.Records(ctx, smes[0].USCC, []string{"abnormal_operation"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.ID == "market-reg/ab-0" {
			var d map[string]string
			json.Unmarshal(r.Data, &d)
			found = d["removed_on"] == "2025-06-30"
		}
	}
	if !found {
		t.Fatal("the update did not reach the subscriber")
	}

	// Past the 5-year rule the provider withdraws the record: the
	// subscriber deletes its copy.
	old := abnormal(smes[2].USCC, 2, "2019-01-01")
	old.Data, _ = json.Marshal(map[string]string{"listed_on": "2018-01-01", "reason": "r", "authority": "Market Regulation",
		"removed_on": "2019-01-01", "conduct_end": "2019-01-01"})
	if err := nodes["market-reg"].Store.(recordImporter).ImportRecords(ctx, []records.Record{old}); err != nil {
		t.Fatal(err)
	}
	if p, err := sub2.Pull(ctx, "market-reg", "abnormal_operation"); err != nil || p.Removed != 1 || p.Records != 0 {
		t.Fatalf("withdrawal = %+v, %v", p, err)
	}
	if got := countRecords(t, city, smes, "abnormal_operation"); got != 6 {
		t.Fatalf("%d records after the withdrawal, want 6", got)
	}

	// Every delivery is logged by the provider, per subject.
	leaves, err := nodes["market-reg"].Store.SubjectInquiries(ctx, smes[1].USCC)
	if err != nil {
		t.Fatal(err)
	}
	deliveries := 0
	for _, l := range leaves {
		e, err := inquirylog.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		if e.Entry.Kind == feeds.KindDelivery && e.Entry.Requester == "city-dept" && e.Entry.Purpose == feeds.Purpose && e.Entry.RecordsDigest != "" {
			deliveries++
		}
	}
	// smes[1] has records ab-1 and ab-4: in batch 1 (1..3) and batch 2
	// (4..6), which was delivered twice (before and after the crash).
	if deliveries != 3 {
		t.Fatalf("%d deliveries of smes[1] logged, want 3", deliveries)
	}

	// A bank may not subscribe: administrative_supervision is for departments.
	bankSub, err := nodes["bank-a"].Subscriber()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bankSub.Pull(ctx, "market-reg", "abnormal_operation"); schemas.CodeOf(err) != schemas.CodePurposeNotPermitted {
		t.Fatalf("bank pull: %v", err)
	}
	// A feed the provider does not offer.
	if _, err := sub2.Pull(ctx, "tax-dept", "abnormal_operation"); schemas.CodeOf(err) != schemas.CodeCategoryUnknown {
		t.Fatalf("unknown feed: %v", err)
	}
}

func countRecords(t *testing.T, n *node.Node, smes []devnet.SME, category string) int {
	t.Helper()
	total := 0
	for _, s := range smes {
		recs, err := n.Store.Records(context.Background(), s.USCC, []string{category})
		if err != nil {
			t.Fatal(err)
		}
		total += len(recs)
	}
	return total
}
