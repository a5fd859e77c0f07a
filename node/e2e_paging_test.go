package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/subjectcheck"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/schemas"
)

// seedInquiries appends n entries about subject to provider's inquiry log,
// as answered queries of bank-a, through the provider's sequencer (many at
// once: it batches them), instead of n full queries.
func (f *fed) seedInquiries(t testing.TB, provider, subject string, n int) {
	t.Helper()
	if err := devnet.SeedInquiries(context.Background(), f.nodes[provider].Logs.Inquiry, subject, "tax_payment", n); err != nil {
		t.Fatal(err)
	}
}

// TestSubjectLogPages: a subject reads its log at tax-dept in pages, every
// page a signed answer logged as a read, and verifies the walk as one log,
// complete up to the witnessed checkpoint; a walk of more pages than the
// read burst is one read. A provider that hides an entry on a page, serves
// a page proven against another checkpoint, repeats an entry, leaves a
// page out or ends the walk early is caught, each with its reason; a page
// pinned to a checkpoint no longer kept is refused bad_log_range
// (threats.md 34).
func TestSubjectLogPages(t *testing.T) {
	f := startFed(t)
	ctx := context.Background()
	f.seedInquiries(t, "tax-dept", f.subj.ID, 10)
	commitAndWitness(t, f)
	reg := f.nodes["bank-a"].Registry.Current()
	tax := f.nodes["tax-dept"]
	url := f.publicURL("tax-dept")
	sc := f.subjectClient(t, f.subj)
	sc.PageLimit = 3
	check := func(pages [][]byte) (*subjectcheck.Report, error) {
		return subjectcheck.Check(pages, "tax-dept", reg, f.subj.Cert, time.Now(), 1)
	}

	log, pages, err := sc.InquiriesSigned(ctx, url, "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	// 10 entries and the entry logging the walk's first page; the entries
	// logging the following pages are not part of this walk.
	if len(pages) != 4 || len(log.Entries) != 11 {
		t.Fatalf("%d pages, %d entries; want 4 and 11", len(pages), len(log.Entries))
	}
	rep, err := check(pages)
	if err != nil || rep.Incomplete != nil {
		t.Fatalf("honest pages: %v, %v", err, rep.Incomplete)
	}
	if rep.Result.Committed != 10 || rep.Result.Pending != 1 {
		t.Fatalf("result %+v", rep.Result)
	}

	// One entry a page: a walk of 14 pages (10 entries, the 4 page reads
	// of the walk above, this walk's first) is one read of the default
	// limit (a burst of 10 reads), and verifies.
	one := f.subjectClient(t, f.subj)
	one.PageLimit = 1
	_, long, err := one.InquiriesSigned(ctx, url, "tax-dept")
	if err != nil {
		t.Fatalf("a walk of one entry a page: %v", err)
	}
	if rep, err := check(long); len(long) != 15 || err != nil || rep.Incomplete != nil {
		t.Fatalf("%d pages of one entry: %v, %+v", len(long), err, rep)
	}

	open := func(tok []byte) *schemas.SubjectLog {
		t.Helper()
		payload, _, err := jose.Verify(tok, schemas.TypSubjectLog, tax.Keys.SigningPublic())
		if err != nil {
			t.Fatal(err)
		}
		var pg schemas.SubjectLog
		if err := json.Unmarshal(payload, &pg); err != nil {
			t.Fatal(err)
		}
		return &pg
	}
	// The provider signs what it likes with its registered key.
	sign := func(pg *schemas.SubjectLog) []byte {
		t.Helper()
		b, _ := json.Marshal(pg)
		tok, err := jose.Sign(tax.Keys.Signer, tax.Keys.SigningKID, schemas.TypSubjectLog, b)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	with := func(i int, tok []byte) [][]byte {
		out := append([][]byte(nil), pages...)
		out[i] = tok
		return out
	}

	// An entry hidden on page 2 (with its inclusion proof): the pages fit
	// together, the chain over them does not.
	p2 := open(pages[1])
	p2.Entries = p2.Entries[1:]
	p2.Proof.Inclusion = p2.Proof.Inclusion[1:]
	rep, err = check(with(1, sign(p2)))
	if err != nil || !errors.Is(rep.Incomplete, subjectlog.ErrIncomplete) || subjectcheck.FailedCheck(rep.Incomplete) != "completeness" {
		t.Fatalf("entry hidden on page 2: %v, %v", err, rep.Incomplete)
	}

	// An entry of page 1 repeated on page 2.
	p2 = open(pages[1])
	p1 := open(pages[0])
	p2.Entries = append([]schemas.LoggedEntry{p1.Entries[len(p1.Entries)-1]}, p2.Entries...)
	if _, err := check(with(1, sign(p2))); !errors.Is(err, subjectcheck.ErrPages) || !strings.Contains(err.Error(), "page 2") {
		t.Fatalf("entry repeated on page 2: %v", err)
	}
	// A page left out, the walk ended early, a page twice.
	for name, ps := range map[string][][]byte{
		"page 2 left out":   {pages[0], pages[2], pages[3]},
		"last page missing": pages[:3],
		"page 2 twice":      {pages[0], pages[1], pages[1], pages[2], pages[3]},
	} {
		if _, err := check(ps); !errors.Is(err, subjectcheck.ErrPages) {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Page 2 proven against a later checkpoint (another walk's, made to
	// look like this walk's page 2).
	f.seedInquiries(t, "tax-dept", f.subj.ID, 2)
	commitAndWitness(t, f)
	_, later, err := sc.InquiriesSigned(ctx, url, "tax-dept")
	if err != nil {
		t.Fatal(err)
	}
	lp2 := open(later[1])
	if lp2.Page.Checkpoint == p2.Page.Checkpoint {
		t.Fatalf("no later checkpoint: %d", lp2.Page.Checkpoint)
	}
	lp2.Page.Until = p2.Page.Until
	if _, err := check(with(1, sign(lp2))); !errors.Is(err, subjectcheck.ErrPages) || !strings.Contains(err.Error(), "another checkpoint") {
		t.Fatalf("page 2 of a later checkpoint: %v", err)
	}

	// A following page pinned to a checkpoint the provider does not keep.
	before := f.logSize(t, "tax-dept")
	tok, err := consent.SubjectReadPage(f.subj.Key, f.subj.Cert, "tax-dept", &schemas.SubjectPageRequest{From: 1, Checkpoint: 1 << 40, Until: 1 << 40}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/subject/inquiries", bytes.NewReader(tok))
	req.Header.Set("Content-Type", schemas.ContentTypeJOSE)
	resp, err := sc.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var eb schemas.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != http.StatusBadRequest || eb.Error.Code != schemas.CodeBadLogRange {
		t.Fatalf("page pinned to an unknown checkpoint: %d %s", resp.StatusCode, body)
	}
	if after := f.logSize(t, "tax-dept"); after != before+1 {
		t.Fatalf("the refused page read was not logged: size %d → %d", before, after)
	}
}
