package internalapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

type memImporter struct {
	mu    sync.Mutex
	calls [][]records.Record
}

func (m *memImporter) ImportRecords(_ context.Context, recs []records.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, recs)
	return nil
}

func (m *memImporter) imported() [][]records.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

const goodLine = `{"subject":"91330106MA10000095","category":"tax_payment","id":"tax-2025","data":{"year":2025,"tax_paid":182000,"tax_credit_grade":"A","arrears":0,"declared_revenue":3100000}}`

// waitJob polls a job until it leaves the running state.
func (f *fixture) waitJob(hc *http.Client, id string) Job {
	f.t.Helper()
	for range 3000 {
		s, b := f.do(hc, httpCall{"GET", "/internal/v1/jobs/" + id, "", who()})
		if s != http.StatusOK {
			f.t.Fatalf("job status: %d %s", s, b)
		}
		var j Job
		if err := json.Unmarshal(b, &j); err != nil {
			f.t.Fatal(err)
		}
		if j.State != JobRunning {
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatal("job never finished")
	return Job{}
}

// A data platform imports records as a job: all or nothing, with
// line-numbered errors, status visible to it alone.
func TestInternalRecordsImportJob(t *testing.T) {
	imp := &memImporter{}
	f := newFixtureImporting(t, imp)
	platform := f.client("data-platform", []string{OpImport}, []string{"none"}, nil)
	other := f.client("other-platform", []string{OpImport}, []string{"none"}, nil)

	body := goodLine + "\n" + strings.Replace(goodLine, "tax-2025", "tax-2024", 1) + "\n"
	s, b := f.do(platform, httpCall{"POST", "/internal/v1/records/import", body, who(HeaderIdempotencyKey, "batch-1")})
	if s != http.StatusOK {
		t.Fatalf("start: %d %s", s, b)
	}
	var started Job
	if err := json.Unmarshal(b, &started); err != nil || started.ID == "" {
		t.Fatalf("start answer: %s %v", b, err)
	}
	done := f.waitJob(platform, started.ID)
	if done.State != JobDone || done.Imported != 2 || len(imp.imported()) != 1 {
		t.Fatalf("job: %+v, importer calls %d", done, len(imp.imported()))
	}
	// Another client cannot see the job.
	if s, b := f.do(other, httpCall{"GET", "/internal/v1/jobs/" + started.ID, "", who()}); codeIn(t, s, b) != schemas.CodeJobUnknown {
		t.Fatalf("other client sees the job: %d %s", s, b)
	}
	// A bad line fails the whole batch, naming the line.
	bad := goodLine + "\n" + `{"subject":"91330106MA10000095","category":"tax_payment","id":"x","data":{"year":"soon"}}` + "\n"
	s, b = f.do(platform, httpCall{"POST", "/internal/v1/records/import", bad, who(HeaderIdempotencyKey, "batch-2")})
	if s != http.StatusOK {
		t.Fatalf("start: %d %s", s, b)
	}
	if err := json.Unmarshal(b, &started); err != nil {
		t.Fatal(err)
	}
	failed := f.waitJob(platform, started.ID)
	if failed.State != JobFailed || len(failed.BadLines) != 1 || failed.BadLines[0].Line != 2 || failed.Imported != 0 {
		t.Fatalf("bad batch: %+v", failed)
	}
	if len(imp.imported()) != 1 {
		t.Fatal("a batch with a bad line reached the store")
	}
	// An import changes state: it needs an idempotency key.
	if s, b := f.do(platform, httpCall{"POST", "/internal/v1/records/import", body, who()}); codeIn(t, s, b) != schemas.CodeIdempotencyKeyMissing {
		t.Fatalf("no key: %d %s", s, b)
	}
}
