package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/schemas"
)

// TestOpenReportsSubjectMapCatchUp: Open tells WithSubjectMapProgress how
// far it has got folding the inquiry log's leaves into the subject map,
// here the leaves appended after the node last folded them.
func TestOpenReportsSubjectMapCatchUp(t *testing.T) {
	ctx := context.Background()
	n, err := devnet.Create(t.TempDir(), specs())
	if err != nil {
		t.Fatal(err)
	}
	dir := n.NodeDir("tax-dept")
	nd, err := node.Open(ctx, dir, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	const leaves = 7
	for range leaves {
		l, err := inquirylog.NewLeaf(schemas.InquiryEntry{Kind: schemas.KindQuery, Requester: "bank-a", Subject: "91330106MA10000095",
			Purpose: "loan_approval", Decision: schemas.DecisionDeny, Code: schemas.CodeConsentMissing}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nd.Logs.Inquiry.AppendInquiry(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := nd.Close(); err != nil {
		t.Fatal(err)
	}
	var done, total []uint64
	nd, err = node.Open(ctx, dir, quietLogger(), node.WithSubjectMapProgress(func(d, tot uint64) {
		done, total = append(done, d), append(total, tot)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	if len(done) != leaves+1 || done[0] != 0 || done[leaves] != leaves || total[0] != leaves || total[leaves] != leaves {
		t.Fatalf("reported done %v of %v, want 0..%d of %d", done, total, leaves, leaves)
	}
}
