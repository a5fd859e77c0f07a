package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// subjectRequester is the requester name under which a subject's own
// requests are recorded, so their ids share the replay store with members'.
func subjectRequester(subject string) string { return "subject:" + subject }

// SubjectInquiries answers a subject's signed read of one page of its own
// inquiry log (schemas.SubjectPageRequest: from an index, at most a limit
// of entries, optionally pinned to the checkpoint of the walk's first
// page, below the walk's bound: on a first page, up to the entry logging
// it). The read spends none of the subject's free reports: it is limited
// per subject once the signature verified (Options.SubjectReads: a walk's
// first page is a read, its following pages draw on the subject's page
// allowance, SubjectPagesPerRead pages a read), and per client address
// before that (RateLimit). Each page request is logged first, then the
// page's entries (the request's own among them, when it falls on the page)
// are returned with their proof, signed by this node. Nobody but the
// certified subject can read them: the token must be signed by the key a
// registrar bound to that subject.
func (p *Provider) SubjectInquiries(ctx context.Context, body []byte) Answer {
	now := p.opts.Clock()
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return Answer{Err: schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")}
	}
	rd, err := consent.VerifySubjectRead(body, reg, p.opts.ID, now, p.opts.Skew)
	if err != nil {
		// Unauthenticated: not attributed to any subject's log.
		return p.denyUnattributed(ctx, schemas.KindSubjectRead, body, schemas.AsError(err, schemas.CodeSubjectCertInvalid, "rejected"))
	}
	subject, jti := rd.Subject(), rd.ID()
	page := pageOf(rd.Claims.Page)
	entry := subjectEntry(now, schemas.KindSubjectRead, subject, jti, body)
	entry.Purpose = "self_query"
	// Reading one's own log is free (art. 17 counts reports, not reads); it
	// is bounded per subject instead, the refusal logged like any other.
	if !p.subjectReads.allowPage(subject, page.From) {
		return p.denySubject(ctx, entry, schemas.Errorf(schemas.CodeRateLimited, "too many reads of this subject's log; try again later"))
	}
	app, denied := p.commitSubjectRequest(ctx, entry, now)
	if denied != nil {
		return *denied
	}
	var all []uint64 // every index of the subject's, to choose the checkpoint of a walk's first page
	if p.opts.SubjectProofs != nil && page.Checkpoint == 0 {
		if all, err = p.opts.Store.SubjectInquiryIndexes(ctx, subject); err != nil {
			return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")}
		}
	}
	leaves, err := p.opts.Store.SubjectInquiryPage(ctx, subject, page.From, page.Limit+1)
	if err != nil {
		return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")}
	}
	until := page.Until
	if until == 0 { // a walk's first page: the walk holds the entries up to this read's own
		until = app.Index + 1
	}
	leaves = slices.DeleteFunc(leaves, func(l store.StoredLeaf) bool { return l.Index >= until })
	out := schemas.SubjectLog{Issuer: p.opts.ID, Subject: subject, IssuedAt: now.Unix(), Entries: make([]schemas.LoggedEntry, 0, len(leaves)),
		Page: &schemas.SubjectLogPage{From: page.From, Until: until}}
	if len(leaves) > page.Limit {
		leaves = leaves[:page.Limit]
		out.Page.Next = leaves[page.Limit-1].Index + 1
	}
	for _, l := range leaves {
		le, err := inquirylog.Decode(l)
		if err != nil {
			return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeInternal, err, "log entry failed its own hash check")}
		}
		out.Entries = append(out.Entries, le)
	}
	out.Receipt = &schemas.Receipt{Provider: p.opts.ID, LogIndex: app.Index, LeafHash: hex.EncodeToString(app.LeafHash)}
	if e := p.attachSubjectProof(ctx, &out, all, page.Checkpoint); e != nil { // completeness proof (subjectproof.go)
		idx := app.Index
		return Answer{RequestID: jti, LogIndex: &idx, Err: e}
	}
	return p.signJSON(ctx, schemas.TypSubjectLog, out, jti, app.Index)
}

// pageOf is the page a read asks for, its limit defaulted.
func pageOf(r *schemas.SubjectPageRequest) schemas.SubjectPageRequest {
	var p schemas.SubjectPageRequest
	if r != nil {
		p = *r
	}
	if p.Limit == 0 {
		p.Limit = schemas.SubjectPageDefault
	}
	return p
}

// Revoke handles a subject's signed revocation of a consent. From the moment
// it is stored, queries carrying that consent are denied consent_revoked.
// The answer says what the provider knows (revocationStatus): "revoked" for
// a consent of this subject's it has seen used, "revoked_before_use" for a
// consent id it has never seen used (kept for the future), and
// consent_unknown, storing nothing, for an id it has seen used only by
// other subjects. The status is also the log entry's outcome.
//
// The log entry is committed first and the revocation stored after it, so
// no revocation is ever in force without its entry, and a replayed token is
// refused (replay, logged) before anything is stored. The store offers no
// method that commits both in one transaction, so the two steps can part:
// if storing fails after the commit, the committed entry (decision allow)
// records a revocation that was accepted but did not take effect, and a
// second entry with the same request id, decision deny and code
// store_unavailable records the failure (best effort: if the log fails too,
// only the first entry remains). The answer is store_unavailable either
// way, and the request id is spent: the subject retries with a new token.
func (p *Provider) Revoke(ctx context.Context, body []byte) Answer {
	now := p.opts.Clock()
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return Answer{Err: schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")}
	}
	rv, err := consent.VerifyRevocation(body, reg, p.opts.ID, now, p.opts.Skew)
	if err != nil {
		return p.denyUnattributed(ctx, schemas.KindRevocation, body, schemas.AsError(err, schemas.CodeSubjectCertInvalid, "rejected"))
	}
	subject, jti := rv.Subject(), rv.ID()
	entry := subjectEntry(now, schemas.KindRevocation, subject, jti, body)
	entry.ConsentID = rv.Claims.ConsentID
	status, e := p.revocationStatus(ctx, subject, rv.Claims.ConsentID)
	if e != nil {
		return p.denySubject(ctx, entry, e)
	}
	entry.Outcome = status
	app, denied := p.commitSubjectRequest(ctx, entry, now)
	if denied != nil {
		return *denied // replay (logged) or log_unavailable: nothing stored
	}
	if err := p.opts.Store.Revoke(ctx, store.Revocation{ConsentID: rv.Claims.ConsentID, Subject: subject, RevocationID: jti, RevokedAt: now}); err != nil {
		e := schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
		p.log.LogAttrs(ctx, slog.LevelError, "logged revocation not stored", slog.String("consent_id", rv.Claims.ConsentID),
			slog.Uint64("log_index", app.Index), slog.Any("cause", err))
		if a := p.denySubject(ctx, entry, e); a.Err != nil && a.Err.Code == e.Code {
			return a
		}
		idx := app.Index
		return Answer{RequestID: jti, LogIndex: &idx, Err: e}
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "consent revoked", slog.String("consent_id", rv.Claims.ConsentID),
		slog.String("status", status), slog.Uint64("log_index", app.Index))
	body, err = json.Marshal(map[string]any{"status": status, "consent_id": rv.Claims.ConsentID, "log_index": app.Index})
	if err != nil {
		return Answer{Err: schemas.Wrap(schemas.CodeInternal, err, "encode")}
	}
	idx := app.Index
	return Answer{Body: body, ContentType: schemas.ContentTypeJSON, LogIndex: &idx, RequestID: jti}
}

// Statuses of a stored revocation.
const (
	// RevokedUsed: the subject's consent has been used here; from now on it
	// is refused.
	RevokedUsed = "revoked"
	// RevokedBeforeUse: the provider has not seen the consent used (by
	// anyone); the revocation is kept so that the consent is refused if it is
	// ever presented.
	RevokedBeforeUse = "revoked_before_use"
)

// revocationStatus says what a revocation of consentID by subject can
// truthfully do here. A consent id seen used under subject is revoked; one
// seen used only under other subjects names no consent of subject's that
// the provider knows, so nothing is revoked (consent_unknown); one never
// seen is recorded for the future (RevokedBeforeUse).
func (p *Provider) revocationStatus(ctx context.Context, subject, consentID string) (string, *schemas.Error) {
	uses, err := p.opts.Store.ConsentUses(ctx, subject, consentID)
	if err != nil {
		return "", schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	if uses > 0 {
		return RevokedUsed, nil
	}
	elsewhere, err := p.opts.Store.ConsentUsedElsewhere(ctx, subject, consentID)
	switch {
	case err != nil:
		return "", schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	case elsewhere:
		return "", schemas.Errorf(schemas.CodeConsentUnknown, "no consent of this subject with this id has been used here; nothing was revoked")
	}
	return RevokedBeforeUse, nil
}

// subjectEntry is the log entry of an authenticated subject request.
func subjectEntry(now time.Time, kind, subject, jti string, body []byte) schemas.InquiryEntry {
	return schemas.InquiryEntry{
		Time:          now.UTC().Format(time.RFC3339Nano),
		Kind:          kind,
		RequestID:     jti,
		Requester:     subjectRequester(subject),
		Subject:       subject,
		Decision:      schemas.DecisionAllow,
		RequestDigest: inquirylog.Digest(body),
	}
}

// commitSubjectRequest logs an authenticated subject request durably, its id
// joining the replay store under the subject's name. It returns the receipt,
// or the answer to send instead (replay, or the log failing closed).
func (p *Provider) commitSubjectRequest(ctx context.Context, entry schemas.InquiryEntry, now time.Time) (store.Appended, *Answer) {
	leaf, err := inquirylog.NewLeaf(entry, now)
	if err != nil {
		return store.Appended{}, &Answer{Err: schemas.Wrap(schemas.CodeLogUnavailable, err, "log entry could not be made")}
	}
	app, err := p.opts.Sequencer.CommitInquiry(ctx, store.Commit{Requester: entry.Requester, RequestID: entry.RequestID, Leaf: leaf})
	switch {
	case errors.Is(err, store.ErrReplay):
		a := p.denySubject(ctx, entry, schemas.Errorf(schemas.CodeReplay, "request id already used"))
		return store.Appended{}, &a
	case err != nil:
		return store.Appended{}, &Answer{RequestID: entry.RequestID, Err: schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable")}
	}
	return app, nil
}

func (p *Provider) denySubject(ctx context.Context, entry schemas.InquiryEntry, e *schemas.Error) Answer {
	return failed(p.inq.Deny(ctx, entry, e))
}

// denyUnattributed refuses a subject request before any signature verified
// (or whose body could not be read: body is nil): it is attributed to no
// subject's log, and its cost to the log is bounded per client address
// (gate.PreAuth).
func (p *Provider) denyUnattributed(ctx context.Context, kind string, body []byte, e *schemas.Error) Answer {
	entry := schemas.InquiryEntry{Time: p.opts.Clock().UTC().Format(time.RFC3339Nano), Kind: kind}
	if body != nil {
		entry.RequestDigest = inquirylog.Digest(body)
	}
	if p.preAuth == nil {
		return failed(p.inq.Deny(ctx, entry, e))
	}
	return failed(p.preAuth.Deny(ctx, sourceOf(ctx), entry, e))
}

// RunRefusalSummaries logs the summary entries of unauthenticated subject
// requests refused (gate.PreAuth.Run) until ctx is done, and then those
// still pending.
func (p *Provider) RunRefusalSummaries(ctx context.Context) {
	if p.preAuth != nil {
		p.preAuth.Run(ctx)
	}
}

// sourceKey carries the client address key of a public request in its
// context, for the accounting of unauthenticated refusals.
type sourceKey struct{}

func withSource(ctx context.Context, remoteAddr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, clientKey(remoteAddr))
}

func sourceOf(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

func (p *Provider) signJSON(ctx context.Context, typ string, v any, requestID string, idx uint64) Answer {
	payload, err := json.Marshal(v)
	if err != nil {
		return Answer{RequestID: requestID, Err: schemas.Wrap(schemas.CodeInternal, err, "encode")}
	}
	tok, err := jose.Sign(p.opts.Keys.Signer, p.opts.Keys.SigningKID, typ, payload)
	if err != nil {
		return Answer{RequestID: requestID, Err: schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable")}
	}
	return Answer{Body: tok, ContentType: schemas.ContentTypeJOSE, LogIndex: &idx, RequestID: requestID}
}
