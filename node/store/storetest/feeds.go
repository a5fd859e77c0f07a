package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
)

// FeedsBackend is the store as change feeds (node/feeds) use it.
type FeedsBackend interface {
	Close() error
	ImportRecords(ctx context.Context, recs []records.Record) error
	Records(ctx context.Context, subject string, categories []string) ([]records.Record, error)
	Changes(ctx context.Context, category string, after uint64, limit int) ([]store.Change, error)
	FeedCursor(ctx context.Context, provider, feed string) (uint64, error)
	ApplyFeed(ctx context.Context, b store.FeedBatch, check store.RecordCheck) (bool, error)
}

// RunFeeds runs the change-feed suite.
func RunFeeds[B FeedsBackend](t *testing.T, newDB func(t *testing.T) func(context.Context) (B, error)) {
	runSuite(t, newDB, []suiteCase[func(context.Context) (B, error)]{
		{"ChangesAndApplyFeed", testFeeds[B]},
	})
}

func testFeeds[B FeedsBackend](t *testing.T, o func(context.Context) (B, error)) {
	s := openWith(t, o)
	ctx := t.Context()
	r := func(subject, id, data string) records.Record {
		return records.Record{Subject: subject, Category: "abnormal_operation", ID: id, Data: json.RawMessage(data), UpdatedAt: time.Now()}
	}
	if err := s.ImportRecords(ctx, []records.Record{r("A", "1", `{"v":1}`), r("B", "1", `{"v":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.ImportRecords(ctx, []records.Record{r("A", "1", `{"v":2}`)}); err != nil { // an update is a change too
		t.Fatal(err)
	}
	ch, err := s.Changes(ctx, "abnormal_operation", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 3 || ch[0].Seq >= ch[1].Seq || ch[1].Seq >= ch[2].Seq || string(ch[2].Record.Data) != `{"v":2}` {
		t.Fatalf("changes = %+v", ch)
	}
	if ch, _ := s.Changes(ctx, "abnormal_operation", ch[1].Seq, 10); len(ch) != 1 || ch[0].Record.Subject != "A" {
		t.Fatalf("changes after 2 = %+v", ch)
	}
	if ch, _ := s.Changes(ctx, "tax_payment", 0, 10); len(ch) != 0 {
		t.Fatalf("other category: %+v", ch)
	}

	// Subscriber side.
	b := store.FeedBatch{Provider: "p", Feed: "abnormal_operation", From: 0, To: 5,
		Records: []records.Record{r("X", "p/1", `{"v":1}`), r("Y", "p/2", `{"v":1}`)}}
	boom := errors.New("crash")
	if _, err := s.ApplyFeed(ctx, b, func(i int, _ records.Record) error {
		if i == 1 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("failing check: %v", err)
	}
	if got, _ := s.Records(ctx, "X", []string{"abnormal_operation"}); len(got) != 0 {
		t.Fatal("a failed batch left a record behind")
	}
	if c, _ := s.FeedCursor(ctx, "p", "abnormal_operation"); c != 0 {
		t.Fatalf("cursor after failed batch = %d", c)
	}
	if applied, err := s.ApplyFeed(ctx, b, nil); err != nil || !applied {
		t.Fatalf("apply: %v %v", applied, err)
	}
	if applied, err := s.ApplyFeed(ctx, b, nil); err != nil || applied {
		t.Fatalf("re-apply: %v %v (want skipped)", applied, err)
	}
	if c, _ := s.FeedCursor(ctx, "p", "abnormal_operation"); c != 5 {
		t.Fatalf("cursor = %d", c)
	}
	for _, bad := range []store.FeedBatch{
		{Provider: "p", Feed: "abnormal_operation", From: 6, To: 8}, // gap
		{Provider: "p", Feed: "abnormal_operation", From: 3, To: 8}, // overlap
	} {
		if _, err := s.ApplyFeed(ctx, bad, nil); !errors.Is(err, store.ErrFeedCursor) {
			t.Fatalf("batch %d..%d: %v", bad.From, bad.To, err)
		}
	}
	// A withdrawn record is deleted with the cursor move.
	if applied, err := s.ApplyFeed(ctx, store.FeedBatch{Provider: "p", Feed: "abnormal_operation", From: 5, To: 6,
		Withdrawn: []store.Key{{Subject: "X", Category: "abnormal_operation", ID: "p/1"}}}, nil); err != nil || !applied {
		t.Fatalf("withdrawal: %v %v", applied, err)
	}
	if got, _ := s.Records(ctx, "X", []string{"abnormal_operation"}); len(got) != 0 {
		t.Fatal("withdrawn record still there")
	}
	// Applied records are changes of this node too, so a chain can follow,
	// and a deletion is a change, delivered as such.
	ch, err = s.Changes(ctx, "abnormal_operation", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 3 || !ch[0].Deleted || ch[1].Deleted || !ch[2].Deleted || ch[2].Record.ID != "p/1" || ch[2].Record.Data != nil {
		t.Fatalf("subscriber's own changes = %+v", ch)
	}
}
