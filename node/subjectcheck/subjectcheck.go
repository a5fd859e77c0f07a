// Package subjectcheck verifies what a provider answers a subject reading its
// own inquiry log: the provider's signature over the answer, that the log is
// the subject's own, and that its entries are all of the subject's entries up
// to a signed, witnessed checkpoint (node/subjectlog).
//
// A log is read in pages (schemas.SubjectPageRequest), each a signed
// answer of its own: the subject walks them from index 0, each page from
// where the previous one ended, all proven against the checkpoint of the
// first. [Assemble] checks that the pages form one such walk — each starts
// where the previous one ended, no entry is on two pages or out of order,
// the last page says it is the last, and every page carries the same
// checkpoint and map proof — and puts them together; the completeness
// check then runs on the whole: the chain the signed map commits to is
// recomputed over the entries of all the pages, so an entry missing from
// any page, or a page left out, fails it as a missing entry of a single
// answer would. Each page carries the inclusion proofs of its own entries
// only, so a page stays well under the token size limit however many
// entries the subject has.
//
// `creditnode subject inquiries --verify` and the portal's WebAssembly
// verifier (cmd/portalverify) both call this package, so a terminal and a
// browser apply one set of rules to one proof format.
package subjectcheck

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/node/witness"
	"github.com/creditexchange/node/schemas"
)

// SigningKeys finds a member's registered signing key by key id (a
// *registry.Registry).
type SigningKeys interface {
	SigningKey(member, kid string) (ed25519.PublicKey, bool)
}

// Open verifies a provider-signed subject log: the signature under a key
// the registry lists for provider, the issuer, and every entry's leaf hash
// recomputed from its salt. Failures are peer_bad_response.
func Open(tok []byte, provider string, reg SigningKeys) (*schemas.SubjectLog, error) {
	payload, err := verifySigned(tok, schemas.TypSubjectLog, provider, reg)
	if err != nil {
		return nil, err
	}
	var out schemas.SubjectLog
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "subject log malformed")
	}
	if out.Issuer != provider {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "subject log issued by %q, not %q", out.Issuer, provider)
	}
	for _, e := range out.Entries {
		if err := inquirylog.VerifyLogged(e); err != nil {
			return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, fmt.Sprintf("entry %d fails its leaf hash", e.Index))
		}
	}
	return &out, nil
}

// OpenRights verifies a provider-signed list of the subject's objections
// and repair applications (an answer to a rights-status request): the
// signature under a key the registry lists for provider, and the issuer.
// Failures are peer_bad_response.
func OpenRights(tok []byte, provider string, reg SigningKeys) (*schemas.SubjectRights, error) {
	payload, err := verifySigned(tok, schemas.TypRightsList, provider, reg)
	if err != nil {
		return nil, err
	}
	var out schemas.SubjectRights
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "rights list malformed")
	}
	if out.Issuer != provider {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "rights list issued by %q, not %q", out.Issuer, provider)
	}
	return &out, nil
}

// OpenReport verifies a provider-signed credit report of the subject (an
// answer to a report request): the signature under a key the registry lists
// for provider, and the issuer. Failures are peer_bad_response.
func OpenReport(tok []byte, provider string, reg SigningKeys) (*schemas.SubjectReport, error) {
	payload, err := verifySigned(tok, schemas.TypSubjectReport, provider, reg)
	if err != nil {
		return nil, err
	}
	var out schemas.SubjectReport
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "report malformed")
	}
	if out.Issuer != provider {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "report issued by %q, not %q", out.Issuer, provider)
	}
	return &out, nil
}

// verifySigned checks a provider's signed answer of type typ.
func verifySigned(tok []byte, typ, provider string, reg SigningKeys) ([]byte, error) {
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "answer is not a signed token")
	}
	if reg == nil {
		return nil, errors.New("subjectcheck: no registry to verify the provider's signature")
	}
	pub, ok := reg.SigningKey(provider, hdr.KeyID)
	if !ok {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "answer signed by a key not registered to %s", provider)
	}
	payload, _, err := jose.Verify(tok, typ, pub)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "provider signature does not verify")
	}
	return payload, nil
}

// Own checks that log is the log of the subject cert certifies, and that
// cert verifies under a registrar of reg (threats.md 29: a provider must not
// pass off another subject's log as the reader's).
func Own(log *schemas.SubjectLog, cert []byte, reg *registry.Registry, now time.Time) (*consent.SubjectCert, error) {
	sub, err := consent.VerifySubjectCert(cert, reg, now, time.Minute)
	if err != nil {
		return nil, fmt.Errorf("your subject certificate: %w", err)
	}
	if log.Subject != sub.Claims.Subject {
		return nil, fmt.Errorf("the provider answered with the log of %q, not yours", log.Subject)
	}
	return sub, nil
}

// Complete checks that log's entries are all of the subject's entries up to
// the provider's signed checkpoint, cosigned by at least k other members of
// reg (witness.VerifySubjectLog).
func Complete(log *schemas.SubjectLog, reg *registry.Registry, k int) (*subjectlog.Result, error) {
	if k < 0 {
		return nil, errors.New("subjectcheck: the number of witnesses must not be negative")
	}
	return witness.VerifySubjectLog(log, witness.RegistryMembers{Current: func() *registry.Registry { return reg }}, k)
}

// Report is the outcome of Check.
type Report struct {
	Log *schemas.SubjectLog
	// Result is what the completeness check established; nil if it failed.
	Result *subjectlog.Result
	// Incomplete is why the completeness check failed, nil if it passed.
	Incomplete error
}

// Check runs OpenPages, Own and Complete on the provider-signed pages of
// one walk, in the order they were read. A failure of OpenPages or Own is
// returned as the error (the answer cannot be shown as the subject's); a
// failure of Complete is Report.Incomplete (the entries are shown, marked
// as not proven complete).
func Check(pages [][]byte, provider string, reg *registry.Registry, cert []byte, now time.Time, k int) (*Report, error) {
	log, err := OpenPages(pages, provider, reg)
	if err != nil {
		return nil, err
	}
	if _, err := Own(log, cert, reg, now); err != nil {
		return nil, err
	}
	rep := &Report{Log: log}
	res, err := Complete(log, reg, k)
	if err != nil {
		rep.Incomplete = err
		return rep, nil
	}
	rep.Result = res
	return rep, nil
}

// MaxPages bounds the pages of one walk (a million entries at the
// default page size): a provider cannot keep a subject walking forever.
const MaxPages = 1000

// ErrPages: the pages a provider answered do not form one walk over the
// subject's log.
var ErrPages = errors.New("subjectcheck: the provider's pages do not form one walk")

// OpenPages runs Open on each of the provider-signed pages of one walk, in
// the order they were read, and Assemble on them. Failures are
// peer_bad_response.
func OpenPages(toks [][]byte, provider string, reg SigningKeys) (*schemas.SubjectLog, error) {
	if len(toks) > MaxPages {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, ErrPages, fmt.Sprintf("over %d pages", MaxPages))
	}
	pages := make([]*schemas.SubjectLog, len(toks))
	for i, tok := range toks {
		pg, err := Open(tok, provider, reg)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", i+1, err)
		}
		pages[i] = pg
	}
	log, err := Assemble(pages)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "pages do not fit together")
	}
	return log, nil
}

// Assemble checks that pages, opened in the order they were read, form one
// walk over a subject's log, and returns the log they make together (with
// the first page's receipt, and no Page). One walk: every page says which
// page it is; the first starts at index 0 and each other where the
// previous one said the next starts; every page has the first page's
// bound (Until); only the last says it is the last;
// every entry of a page lies within its range, in strictly increasing
// index order across all pages (no entry twice); and either no page
// carries a proof or every page carries one with the same signed
// checkpoint (as the page names it) and the same map proof. Each entry's
// inclusion proof is taken from its own page (a page's proofs of entries
// not on it are dropped). The note with the most
// signatures of the pages' (one text) is kept: cosignatures collected
// during the walk count. Failures wrap ErrPages and name the page.
func Assemble(pages []*schemas.SubjectLog) (*schemas.SubjectLog, error) {
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: no page", ErrPages)
	}
	if len(pages) > MaxPages {
		return nil, fmt.Errorf("%w: over %d pages", ErrPages, MaxPages)
	}
	first := pages[0]
	out := &schemas.SubjectLog{Issuer: first.Issuer, Subject: first.Subject, IssuedAt: first.IssuedAt, Receipt: first.Receipt,
		Entries: []schemas.LoggedEntry{}}
	var (
		body  string // the first page's checkpoint text
		size  uint64
		sigs  int
		prev  uint64
		saw   bool
		from  uint64
		proof *schemas.SubjectProof
	)
	for i, pg := range pages {
		n := i + 1
		switch {
		case pg.Page == nil:
			return nil, fmt.Errorf("%w: page %d does not say which page it is", ErrPages, n)
		case pg.Issuer != first.Issuer || pg.Subject != first.Subject:
			return nil, fmt.Errorf("%w: page %d is of another log (%s, %q)", ErrPages, n, pg.Issuer, pg.Subject)
		case pg.Page.From != from && i == 0:
			return nil, fmt.Errorf("%w: the first page starts at index %d, not 0", ErrPages, pg.Page.From)
		case pg.Page.From != from:
			return nil, fmt.Errorf("%w: page %d starts at index %d, not at %d where page %d said the next starts", ErrPages, n, pg.Page.From, from, i)
		case pg.Page.Next != 0 && pg.Page.Next <= pg.Page.From:
			return nil, fmt.Errorf("%w: page %d ends (%d) where it starts (%d)", ErrPages, n, pg.Page.Next, pg.Page.From)
		case pg.Page.Next == 0 && n < len(pages):
			return nil, fmt.Errorf("%w: page %d says it is the last, but %d pages follow", ErrPages, n, len(pages)-n)
		case pg.Page.Next != 0 && n == len(pages):
			return nil, fmt.Errorf("%w: the walk stops at page %d, which says a next page starts at index %d", ErrPages, n, pg.Page.Next)
		case pg.Page.Until != first.Page.Until:
			return nil, fmt.Errorf("%w: page %d bounds the walk at index %d, page 1 at %d", ErrPages, n, pg.Page.Until, first.Page.Until)
		case pg.Page.Next > pg.Page.Until:
			return nil, fmt.Errorf("%w: page %d says the next page starts at index %d, past the walk's bound %d", ErrPages, n, pg.Page.Next, pg.Page.Until)
		}
		on := make(map[uint64]bool, len(pg.Entries))
		for _, e := range pg.Entries {
			switch {
			case saw && e.Index <= prev:
				return nil, fmt.Errorf("%w: entry %d on page %d repeats or precedes entry %d", ErrPages, e.Index, n, prev)
			case e.Index < pg.Page.From || (pg.Page.Next != 0 && e.Index >= pg.Page.Next) || e.Index >= pg.Page.Until:
				return nil, fmt.Errorf("%w: entry %d is outside page %d's range [%d, %d) of the walk up to %d", ErrPages, e.Index, n, pg.Page.From, pg.Page.Next, pg.Page.Until)
			}
			prev, saw = e.Index, true
			on[e.Index] = true
		}
		out.Entries = append(out.Entries, pg.Entries...)
		from = pg.Page.Next
		if (pg.Proof == nil) != (first.Proof == nil) {
			return nil, fmt.Errorf("%w: page %d carries a proof and page 1 not, or the other way round", ErrPages, n)
		}
		if pg.Proof == nil {
			continue
		}
		cp, text, err := subjectlog.PeekCheckpoint([]byte(pg.Proof.Checkpoint))
		if err != nil {
			return nil, fmt.Errorf("%w: page %d: %v", ErrPages, n, err)
		}
		if pg.Page.Checkpoint != cp.Size {
			return nil, fmt.Errorf("%w: page %d names checkpoint %d but is proven against checkpoint %d", ErrPages, n, pg.Page.Checkpoint, cp.Size)
		}
		if i == 0 {
			body, size = text, cp.Size
			p := *pg.Proof
			p.Inclusion = []schemas.EntryInclusion{}
			proof = &p
		} else if text != body {
			return nil, fmt.Errorf("%w: page %d is proven against another checkpoint (size %d) than page 1 (size %d)", ErrPages, n, cp.Size, size)
		} else if !sameMapProof(pg.Proof, proof) {
			return nil, fmt.Errorf("%w: page %d carries another map proof than page 1", ErrPages, n)
		}
		if c := strings.Count(pg.Proof.Checkpoint, "\n— "); c > sigs {
			sigs, proof.Checkpoint = c, pg.Proof.Checkpoint
		}
		for _, in := range pg.Proof.Inclusion {
			if on[in.Index] { // another page's entry is proven by its own page
				proof.Inclusion = append(proof.Inclusion, in)
			}
		}
	}
	out.Proof = proof
	return out, nil
}

// sameMapProof says whether a and b prove the same subject key and value.
func sameMapProof(a, b *schemas.SubjectProof) bool {
	return a.VRFProof == b.VRFProof && a.Count == b.Count && a.Head == b.Head && slices.Equal(a.MapSiblings, b.MapSiblings) &&
		a.MapOtherKey == b.MapOtherKey && a.MapOtherValue == b.MapOtherValue
}

// FailedCheck names the check an error of Complete comes from, for a
// reader: "proof", "checkpoint", "witnesses", "subject key", "inclusion" or
// "completeness".
func FailedCheck(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, subjectlog.ErrNoProof):
		return "proof"
	case errors.Is(err, subjectlog.ErrNotWitnessed):
		return "witnesses"
	case errors.Is(err, subjectlog.ErrInclusion):
		return "inclusion"
	case errors.Is(err, subjectlog.ErrIncomplete), errors.Is(err, subjectlog.ErrForeignEntry), errors.Is(err, subjectlog.ErrMapProof):
		return "completeness"
	case errors.Is(err, subjectlog.ErrVRFInvalid):
		return "subject key"
	case errors.Is(err, tlog.ErrUnknownKey), errors.Is(err, tlog.ErrBadSignature), errors.Is(err, tlog.ErrWrongOrigin):
		return "checkpoint"
	}
	return "checkpoint"
}
