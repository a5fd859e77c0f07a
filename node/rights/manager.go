package rights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// ErrBadOutcome is returned for an unknown status or an empty or over-long
// written answer.
var ErrBadOutcome = errors.New("rights: bad outcome")

// Store is what the operator's actions need of the node's store.
type Store interface {
	ResolveObjection(ctx context.Context, r store.Resolution, entry func(store.Objection) (store.Leaf, error)) (store.Objection, store.Appended, error)
	DecideRepair(ctx context.Context, r store.Resolution, entry func(store.Repair) (store.Leaf, error)) (store.Repair, store.Appended, error)
	CountOpenObjections(ctx context.Context, filedBefore time.Time) (int, error)
	RecordsInCategories(ctx context.Context, categories []string) ([]records.Record, error)
	PurgeRecords(ctx context.Context, recs []store.PurgedRecord, l store.Leaf) (int, store.Appended, error)
}

var _ Store = (*store.SQLite)(nil)

// Manager carries out the operator's side: answering objections, deciding
// repair applications, purging expired negative records. Each action and its
// inquiry-log entry are written in one transaction.
type Manager struct {
	Store      Store
	Categories interface {
		Negatives
		Categories() []string
	}
	// Operator names who acted, for the log entry's requester field
	// (e.g. "operator:tax-dept").
	Operator string
	Clock    func() time.Time // defaults to time.Now
}

func (m *Manager) now() time.Time {
	if m.Clock != nil {
		return m.Clock()
	}
	return time.Now()
}

func validOutcome(s string) bool {
	return s != "" && len(s) <= schemas.MaxReasonLength && utf8.ValidString(s)
}

// ResolveObjection answers objection id with status (corrected, removed or
// upheld) and the written answer. Errors: ErrBadOutcome, store.ErrNotFound,
// store.ErrNotOpen, store.ErrNotCorrected (corrected needs the record
// re-imported first).
func (m *Manager) ResolveObjection(ctx context.Context, id, status, answer string) (store.Objection, uint64, error) {
	if !validOutcome(answer) {
		return store.Objection{}, 0, fmt.Errorf("%w: the answer must be 1..%d bytes of UTF-8", ErrBadOutcome, schemas.MaxReasonLength)
	}
	switch status {
	case schemas.ObjectionCorrected, schemas.ObjectionRemoved, schemas.ObjectionUpheld:
	default:
		return store.Objection{}, 0, fmt.Errorf("%w: status %q: want corrected, removed or upheld", ErrBadOutcome, status)
	}
	now := m.now()
	o, a, err := m.Store.ResolveObjection(ctx, store.Resolution{ID: id, Status: status, Outcome: answer, At: now},
		func(o store.Objection) (store.Leaf, error) {
			return m.leaf(now, schemas.KindObjectionResolved, o.ID, o.Subject, o.Category, o.RecordID, status, answer)
		})
	return o, a.Index, err
}

// DecideRepair approves or rejects repair application id. Errors as for
// ResolveObjection.
func (m *Manager) DecideRepair(ctx context.Context, id, status, answer string) (store.Repair, uint64, error) {
	if !validOutcome(answer) {
		return store.Repair{}, 0, fmt.Errorf("%w: the answer must be 1..%d bytes of UTF-8", ErrBadOutcome, schemas.MaxReasonLength)
	}
	if status != schemas.RepairApproved && status != schemas.RepairRejected {
		return store.Repair{}, 0, fmt.Errorf("%w: decision %q: want approved or rejected", ErrBadOutcome, status)
	}
	now := m.now()
	r, a, err := m.Store.DecideRepair(ctx, store.Resolution{ID: id, Status: status, Outcome: answer, At: now},
		func(r store.Repair) (store.Leaf, error) {
			return m.leaf(now, schemas.KindRepairDecided, r.ID, r.Subject, r.Category, r.RecordID, status, answer)
		})
	return r, a.Index, err
}

// leaf is the log entry of an operator action on one subject's record. The
// written answer itself is not logged, only its digest (in RequestDigest):
// the subject reads it through the status endpoint.
func (m *Manager) leaf(now time.Time, kind, id, subject, category, recordID, status, answer string) (store.Leaf, error) {
	return inquirylog.NewLeaf(schemas.InquiryEntry{
		Time:          now.UTC().Format(time.RFC3339Nano),
		Kind:          kind,
		RequestID:     id,
		Requester:     m.Operator,
		Subject:       subject,
		Categories:    []string{category},
		Record:        recordID,
		Outcome:       status,
		Decision:      schemas.DecisionAllow,
		RequestDigest: inquirylog.Digest([]byte(answer)),
	}, now)
}

// OverdueObjections counts the open objections past their deadline at now.
// (No metrics type exists in the node yet; this is the value to export.)
func (m *Manager) OverdueObjections(ctx context.Context, now time.Time) (int, error) {
	return OverdueCount{Store: m.Store}.OverdueObjections(ctx, now)
}

// PurgeReport says what a purge found and did.
type PurgeReport struct {
	Expired  []store.PurgedRecord // the negative records past retention
	Deleted  int                  // 0 on a dry run
	LogIndex uint64               // the audit entry; only when not a dry run
	Digest   string               // the ids digest written in the audit entry
	Bad      int                  // negative records with an unparsable conduct_end (withheld, not deleted)
}

// Purge finds the negative records whose retention ended at now and, unless
// dryRun, deletes them and writes one audit entry (kind retention_purge:
// the count and a digest of the record ids, never contents) in the same
// transaction. A purge that finds nothing writes nothing.
func (m *Manager) Purge(ctx context.Context, dryRun bool) (PurgeReport, error) {
	now := m.now()
	var negative []string
	for _, c := range m.Categories.Categories() {
		if m.Categories.Negative(c) {
			negative = append(negative, c)
		}
	}
	recs, err := m.Store.RecordsInCategories(ctx, negative)
	if err != nil {
		return PurgeReport{}, err
	}
	var rep PurgeReport
	for _, r := range recs {
		keep, err := Retained(true, r.Data, now)
		if errors.Is(err, ErrBadConductEnd) {
			rep.Bad++
			continue
		}
		if !keep {
			rep.Expired = append(rep.Expired, store.PurgedRecord{Subject: r.Subject, Category: r.Category, ID: r.ID})
		}
	}
	rep.Digest = IDsDigest(rep.Expired)
	if dryRun || len(rep.Expired) == 0 {
		return rep, nil
	}
	leaf, err := inquirylog.NewLeaf(schemas.InquiryEntry{
		Time:          now.UTC().Format(time.RFC3339Nano),
		Kind:          schemas.KindPurge,
		Requester:     m.Operator,
		Categories:    negative,
		Decision:      schemas.DecisionAllow,
		Outcome:       fmt.Sprintf("negative records past %d years after conduct_end", RetentionYears),
		Count:         len(rep.Expired),
		RecordsDigest: rep.Digest,
	}, now)
	if err != nil {
		return PurgeReport{}, err
	}
	n, a, err := m.Store.PurgeRecords(ctx, rep.Expired, leaf)
	if err != nil {
		return PurgeReport{}, err
	}
	rep.Deleted, rep.LogIndex = n, a.Index
	return rep, nil
}

// IDsDigest is the hex SHA-256 over the purged records' keys, each as
// subject, category and id terminated by NUL bytes, in the given order: an
// auditor holding the list can check it, the log holds no ids in clear.
func IDsDigest(recs []store.PurgedRecord) string {
	h := sha256.New()
	for _, r := range recs {
		for _, s := range []string{r.Subject, r.Category, r.ID} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
