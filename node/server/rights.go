package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/rights"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// DefaultFreeReportsPerYear is how many reports a subject gets free per
// calendar year (art. 17: twice a year). Reads of its own inquiry log are
// not reports and spend none.
const DefaultFreeReportsPerYear = 2

// RightsStore is what the subject-rights endpoints and the record screen
// need of the store. *store.SQLite implements it.
type RightsStore interface {
	FileObjection(ctx context.Context, o store.Objection, c store.Commit) (store.Appended, error)
	FileRepair(ctx context.Context, r store.Repair, c store.Commit) (store.Appended, error)
	Objections(ctx context.Context, f store.RightsFilter) ([]store.Objection, error)
	Repairs(ctx context.Context, f store.RightsFilter) ([]store.Repair, error)
	RecordFlags(ctx context.Context, subject string) (map[store.RecordKey]store.RecordFlags, error)
	TakeFreeReport(ctx context.Context, subject string, year, limit int) (int, error)
}

var _ RightsStore = (*store.SQLite)(nil)

// screen drops from recs, in the provider's record selection before
// projection, what must not leave: records an objection had removed,
// negative records past retention (rights.Retained; an unreadable
// conduct_end withholds the record), and, when the decision carries the
// withhold_repaired obligation, records whose repair was approved. It
// returns the rest with the keys of those under an open objection.
func (p *Provider) screen(ctx context.Context, subject string, recs []records.Record, d *policy.Result, now time.Time) ([]records.Record, map[store.RecordKey]bool, error) {
	var flags map[store.RecordKey]store.RecordFlags
	if p.opts.Rights != nil {
		var err error
		if flags, err = p.opts.Rights.RecordFlags(ctx, subject); err != nil {
			return nil, nil, err
		}
	}
	withholdRepaired := false
	if d != nil {
		withholdRepaired, _ = d.Obligations[rights.ObligationWithholdRepaired].(bool)
	}
	kept := recs[:0:0]
	disputed := map[store.RecordKey]bool{}
	for _, r := range recs {
		k := store.RecordKey{Category: r.Category, ID: r.ID}
		f := flags[k]
		if f.Removed || (f.Repaired && withholdRepaired) {
			continue
		}
		keep, err := rights.Retained(p.opts.Categories.Negative(r.Category), r.Data, now)
		if err != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "negative record withheld: unreadable conduct_end",
				slog.String("category", r.Category), slog.String("record_id", r.ID))
		}
		if !keep {
			continue
		}
		if f.Disputed {
			disputed[k] = true
		}
		kept = append(kept, r)
	}
	return kept, disputed, nil
}

// takeFreeReport uses one of the subject's free self reports of the calendar
// year (UTC) of now, or returns the answer refusing the read
// (free_reports_exhausted, logged). A request id already seen is left to
// the commit to refuse as a replay, without spending a report, so a replayed
// token cannot use up the subject's free reports.
func (p *Provider) takeFreeReport(ctx context.Context, entry schemas.InquiryEntry, now time.Time) *Answer {
	if p.opts.Rights == nil {
		return nil
	}
	seen, err := p.opts.Store.RequestSeen(ctx, entry.Requester, entry.RequestID)
	if err != nil {
		return &Answer{RequestID: entry.RequestID, Err: schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")}
	}
	if seen {
		return nil
	}
	_, err = p.opts.Rights.TakeFreeReport(ctx, entry.Subject, now.UTC().Year(), p.opts.FreeReportsPerYear)
	switch {
	case errors.Is(err, store.ErrFreeReportsExhausted):
		a := p.denySubject(ctx, entry, schemas.Errorf(schemas.CodeFreeReportsExhausted,
			"the %d free reports of %d are used up", p.opts.FreeReportsPerYear, now.UTC().Year()))
		return &a
	case err != nil:
		return &Answer{RequestID: entry.RequestID, Err: schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")}
	}
	return nil
}

// Object handles a subject's signed objection to one of its records. The
// objection is stored open, with its log entry, in one transaction; from
// then on the record leaves flagged disputed. The record must be the
// subject's: another subject's record is not_found, as is a missing one.
func (p *Provider) Object(ctx context.Context, body []byte) Answer {
	return p.recordRequest(ctx, body, schemas.TypObjection)
}

// ApplyRepair handles a subject's signed application for credit repair of
// one of its negative records; the operator decides it.
func (p *Provider) ApplyRepair(ctx context.Context, body []byte) Answer {
	return p.recordRequest(ctx, body, schemas.TypRepair)
}

func (p *Provider) recordRequest(ctx context.Context, body []byte, typ string) Answer {
	kind := schemas.KindObjection
	if typ == schemas.TypRepair {
		kind = schemas.KindRepair
	}
	if p.opts.Rights == nil {
		return Answer{Err: schemas.Errorf(schemas.CodeNotFound, "this node keeps no objections or repairs")}
	}
	now := p.opts.Clock()
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return Answer{Err: schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")}
	}
	rq, err := consent.VerifyRecordRequest(body, typ, reg, p.opts.ID, now, p.opts.Skew)
	if err != nil {
		return p.denyUnattributed(ctx, kind, body, schemas.AsError(err, schemas.CodeSubjectCertInvalid, "rejected"))
	}
	subject, jti, c := rq.Subject(), rq.ID(), rq.Claims
	entry := subjectEntry(now, kind, subject, jti, body)
	entry.Categories = []string{c.Category}
	entry.Record = c.RecordID
	if typ == schemas.TypRepair && !p.opts.Categories.Negative(c.Category) {
		return p.denySubject(ctx, entry, schemas.Errorf(schemas.CodeRecordNotNegative, "category %s holds no negative information", c.Category))
	}
	entry.Outcome = schemas.ObjectionOpen
	if typ == schemas.TypRepair {
		entry.Outcome = schemas.RepairPending
	}
	leaf, err := inquirylog.NewLeaf(entry, now)
	if err != nil {
		return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeLogUnavailable, err, "log entry could not be made")}
	}
	commit := store.Commit{Requester: entry.Requester, RequestID: jti, Leaf: leaf}
	var app store.Appended
	if typ == schemas.TypObjection {
		app, err = p.opts.Rights.FileObjection(ctx, store.Objection{
			ID: jti, Subject: subject, Category: c.Category, RecordID: c.RecordID, Reason: c.Reason, FiledAt: now}, commit)
	} else {
		app, err = p.opts.Rights.FileRepair(ctx, store.Repair{
			ID: jti, Subject: subject, Category: c.Category, RecordID: c.RecordID, Reason: c.Reason, FiledAt: now}, commit)
	}
	entry.Outcome = ""
	switch {
	case errors.Is(err, store.ErrReplay):
		return p.denySubject(ctx, entry, schemas.Errorf(schemas.CodeReplay, "request id already used"))
	case errors.Is(err, store.ErrNotFound):
		return p.denySubject(ctx, entry, schemas.Errorf(schemas.CodeNotFound, "you hold no such record here"))
	case errors.Is(err, store.ErrAlreadyOpen):
		return p.denySubject(ctx, entry, schemas.Errorf(schemas.CodeAlreadyOpen, "a request on this record is still open"))
	case err != nil:
		return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeLogUnavailable, err, "inquiry log unavailable")}
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "subject request filed", slog.Any("request", rq), slog.Uint64("log_index", app.Index))
	out := schemas.RightsFiled{ID: jti, Status: schemas.ObjectionOpen, LogIndex: app.Index}
	if typ == schemas.TypObjection {
		out.DueBy = rights.DueBy(now).UTC().Format(time.RFC3339Nano)
	} else {
		out.Status = schemas.RepairPending
	}
	b, err := json.Marshal(out)
	if err != nil {
		return Answer{Err: schemas.Wrap(schemas.CodeInternal, err, "encode")}
	}
	idx := app.Index
	return Answer{Body: b, ContentType: schemas.ContentTypeJSON, LogIndex: &idx, RequestID: jti}
}

// RightsStatus answers a subject's signed request for its objections and
// repair applications, with status, outcome and, for open objections past
// their 20 days, overdue: true as of this node's clock. The read is logged
// first, and does not count as a free report.
func (p *Provider) RightsStatus(ctx context.Context, body []byte) Answer {
	if p.opts.Rights == nil {
		return Answer{Err: schemas.Errorf(schemas.CodeNotFound, "this node keeps no objections or repairs")}
	}
	now := p.opts.Clock()
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return Answer{Err: schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")}
	}
	rd, err := consent.VerifyRightsStatus(body, reg, p.opts.ID, now, p.opts.Skew)
	if err != nil {
		return p.denyUnattributed(ctx, schemas.KindRightsStatus, body, schemas.AsError(err, schemas.CodeSubjectCertInvalid, "rejected"))
	}
	subject, jti := rd.Subject(), rd.ID()
	app, denied := p.commitSubjectRequest(ctx, subjectEntry(now, schemas.KindRightsStatus, subject, jti, body), now)
	if denied != nil {
		return *denied
	}
	objs, err := p.opts.Rights.Objections(ctx, store.RightsFilter{Subject: subject})
	if err != nil {
		return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")}
	}
	reps, err := p.opts.Rights.Repairs(ctx, store.RightsFilter{Subject: subject})
	if err != nil {
		return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")}
	}
	out := schemas.SubjectRights{Issuer: p.opts.ID, Subject: subject, IssuedAt: now.Unix(),
		Objections: make([]schemas.ObjectionOut, 0, len(objs)), Repairs: make([]schemas.RepairOut, 0, len(reps))}
	for _, o := range objs {
		out.Objections = append(out.Objections, rights.ObjectionOut(o, now))
	}
	for _, r := range reps {
		out.Repairs = append(out.Repairs, rights.RepairOut(r))
	}
	out.Receipt = &schemas.Receipt{Provider: p.opts.ID, LogIndex: app.Index, LeafHash: hex.EncodeToString(app.LeafHash)}
	return p.signJSON(ctx, schemas.TypRightsList, out, jti, app.Index)
}

// SubjectReport answers a subject's signed request for its own credit
// report: every record this node holds on the subject, in the categories it
// provides, screened as for queries (records an objection had removed and
// negative records past retention are not in it; open objections flag
// theirs disputed), signed by this node. Unlike reading one's own log, a
// report spends one of the subject's free reports of the year (art. 17):
// past FreeReportsPerYear it is refused free_reports_exhausted, logged. A
// request whose signature does not verify, or that cannot be answered
// because the store is unavailable, spends none; one whose log append
// fails after the report was counted stays counted.
func (p *Provider) SubjectReport(ctx context.Context, body []byte) Answer {
	now := p.opts.Clock()
	reg, err := p.opts.Registries.Snapshot(now)
	if err != nil {
		return Answer{Err: schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")}
	}
	rd, err := consent.VerifyReportRequest(body, reg, p.opts.ID, now, p.opts.Skew)
	if err != nil {
		return p.denyUnattributed(ctx, schemas.KindSubjectReport, body, schemas.AsError(err, schemas.CodeSubjectCertInvalid, "rejected"))
	}
	subject, jti := rd.Subject(), rd.ID()
	entry := subjectEntry(now, schemas.KindSubjectReport, subject, jti, body)
	entry.Purpose = "self_query"
	out, e := p.ownRecords(ctx, subject, now)
	if e != nil {
		return Answer{RequestID: jti, Err: e}
	}
	if entry.RecordsDigest, err = inquirylog.RecordsDigest(out); err != nil {
		return Answer{RequestID: jti, Err: schemas.Wrap(schemas.CodeInternal, err, "digest failed")}
	}
	if refused := p.takeFreeReport(ctx, entry, now); refused != nil {
		return *refused
	}
	app, denied := p.commitSubjectRequest(ctx, entry, now)
	if denied != nil {
		return *denied
	}
	rep := schemas.SubjectReport{Issuer: p.opts.ID, Subject: subject, IssuedAt: now.Unix(), Records: out,
		Receipt: &schemas.Receipt{Provider: p.opts.ID, LogIndex: app.Index, LeafHash: hex.EncodeToString(app.LeafHash)}}
	return p.signJSON(ctx, schemas.TypSubjectReport, rep, jti, app.Index)
}

// ownRecords is what this node holds on subject, in the categories it
// provides, screened (screen) without any policy decision: the subject sees
// its own records whole, a repaired one included.
func (p *Provider) ownRecords(ctx context.Context, subject string, now time.Time) ([]schemas.RecordOut, *schemas.Error) {
	cats := slices.Sorted(maps.Keys(p.opts.Catalog))
	out := []schemas.RecordOut{}
	if len(cats) == 0 {
		return out, nil
	}
	recs, err := p.opts.Store.Records(ctx, subject, cats)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	recs, disputed, err := p.screen(ctx, subject, recs, nil, now)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "store unavailable")
	}
	for _, r := range recs {
		k := store.RecordKey{Category: r.Category, ID: r.ID}
		out = append(out, schemas.RecordOut{Category: r.Category, ID: r.ID, Data: r.Data, Disputed: disputed[k]})
	}
	return out, nil
}
