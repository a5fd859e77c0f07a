package devnet

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// InquiryAppender is a provider's inquiry-log sequencer (node.Node's
// Logs.Inquiry).
type InquiryAppender interface {
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
}

// SeedInquiries appends n entries to a provider's inquiry log through its
// sequencer, as allowed loan_approval queries of bank-a about subject for
// category: what n full queries would leave there, for tests and benchmarks
// of large logs. Many go at once, so the sequencer batches them.
func SeedInquiries(ctx context.Context, seq InquiryAppender, subject, category string, n int) error {
	now := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				e := schemas.InquiryEntry{Time: now.UTC().Format(time.RFC3339Nano), Kind: schemas.KindQuery,
					RequestID: fmt.Sprintf("seed-%s-%d", subject, i), Requester: "bank-a", RequesterOrg: "Bank A", Subject: subject,
					Purpose: "loan_approval", Categories: []string{category}, Decision: schemas.DecisionAllow}
				leaf, err := inquirylog.NewLeaf(e, now)
				if err == nil {
					_, err = seq.AppendInquiry(ctx, leaf)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return first
}
