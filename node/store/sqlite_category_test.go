package store_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
)

func TestSQLiteRecordsInCategory(t *testing.T) {
	ctx := t.Context()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	recs := []records.Record{
		{Subject: "B", Category: "commitment", ID: "2", Data: json.RawMessage(`{"n":2}`), UpdatedAt: now},
		{Subject: "A", Category: "commitment", ID: "1", Data: json.RawMessage(`{"n":1}`), UpdatedAt: now},
		{Subject: "A", Category: "tax_payment", ID: "1", Data: json.RawMessage(`{"n":3}`), UpdatedAt: now},
	}
	if err := s.ImportRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecordsInCategory(ctx, "commitment", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Subject != "A" || got[1].Subject != "B" || string(got[1].Data) != `{"n":2}` {
		t.Fatalf("got %+v", got)
	}
	if got, _ := s.RecordsInCategory(ctx, "commitment", 1); len(got) != 1 {
		t.Fatalf("limit 1: %d records", len(got))
	}
	if _, err := s.RecordsInCategory(ctx, "", 0); err == nil {
		t.Fatal("empty category accepted")
	}
}
