package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditexchange/node/schemas"
)

func TestParseHostCategories(t *testing.T) {
	hosts := []string{"tax-dept", "si-dept"}
	for _, tc := range []struct {
		specs []string
		want  map[string][]string
		err   string
	}{
		{specs: []string{"tax_payment"}, want: map[string][]string{"tax-dept": {"tax_payment"}, "si-dept": {"tax_payment"}}},
		{specs: []string{"tax-dept:tax_payment,si-dept:social_insurance", "si-dept:social_insurance"},
			want: map[string][]string{"tax-dept": {"tax_payment"}, "si-dept": {"social_insurance"}}},
		{specs: []string{"tax-dept:tax_payment"}, err: "no category for host si-dept"},
		{specs: []string{"bank-b:tax_payment", "x"}, err: "HOST one of --hosts"},
		{specs: []string{"tax-dept:", "x"}, err: "HOST one of --hosts"},
		{err: "no category for host tax-dept"},
	} {
		got, err := parseHostCategories(tc.specs, hosts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.specs, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%q: %v, %v", tc.specs, got, err)
			continue
		}
		for h, cats := range tc.want {
			if !slices.Equal(got[h], cats) {
				t.Errorf("%q: %s gets %v, want %v", tc.specs, h, got[h], cats)
			}
		}
	}
}

// TestAskHostsOrderAndBound: joint status asks the hosts concurrently, never more than
// statusWorkers at once, and reports in the order of --hosts, failures included.
func TestAskHostsOrderAndBound(t *testing.T) {
	var hosts []string
	for i := range 3 * statusWorkers {
		hosts = append(hosts, fmt.Sprintf("host-%02d", i))
	}
	var mu sync.Mutex
	running, most := 0, 0
	out := askHosts(t.Context(), hosts, func(ctx context.Context, h string) (*schemas.JointStatus, error) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
		if strings.HasSuffix(h, "3") {
			return nil, schemas.Errorf(schemas.CodeJobUnknown, "no such job")
		}
		return &schemas.JointStatus{Job: "j", State: schemas.JobDone, Updated: h}, nil
	})
	if most > statusWorkers || most < 2 {
		t.Fatalf("%d hosts asked at once, want 2..%d", most, statusWorkers)
	}
	for i, r := range out {
		if r.host != hosts[i] {
			t.Fatalf("answer %d from %s, want %s", i, r.host, hosts[i])
		}
		if strings.HasSuffix(r.host, "3") {
			if errorCode(r.err) != schemas.CodeJobUnknown {
				t.Fatalf("%s: %v", r.host, r.err)
			}
			continue
		}
		if r.err != nil || r.st.Updated != r.host {
			t.Fatalf("%s: %+v %v", r.host, r.st, r.err)
		}
	}
	it := 4
	if got := (hostStatus{host: "tax-dept", st: &schemas.JointStatus{Job: "j", State: schemas.JobTraining, Iterations: &it,
		Updated: "2026-01-01T00:00:00Z"}}).line(); got != "tax-dept: job j training, iterations 4, updated 2026-01-01T00:00:00Z" {
		t.Fatalf("line %q", got)
	}
}
