package internalapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// Audit search bounds.
const (
	auditDefaultLimit = 200
	auditMaxLimit     = 1000
)

// AuditRequest is RouteAudit's query: every given filter must match.
// Parameters: subject, staff_id, business_ref, purpose, from, to (RFC 3339,
// from inclusive, to exclusive), limit.
type AuditRequest struct {
	Subject     string
	StaffID     string
	BusinessRef string
	Purpose     string
	From, To    time.Time
	Limit       int
}

// AuditEntry is one matching outbound-log entry with its index.
type AuditEntry struct {
	Index uint64                `json:"index"`
	Entry schemas.OutboundEntry `json:"entry"`
}

// AuditAnswer lists matching entries in log order; Truncated is set when
// more matched than the limit.
type AuditAnswer struct {
	Entries   []AuditEntry `json:"entries"`
	Truncated bool         `json:"truncated"`
	Scanned   uint64       `json:"scanned"` // outbound-log size searched
}

func parseAudit(r *http.Request, _ []byte) (*AuditRequest, *schemas.Error) {
	v := r.URL.Query()
	for name, vals := range v {
		switch name {
		case "subject", "staff_id", "business_ref", "purpose", "from", "to", "limit":
			if len(vals) != 1 {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "parameter %s given more than once", name)
			}
		default:
			return nil, schemas.Errorf(schemas.CodeMalformedRequest, "unknown parameter %s", name)
		}
	}
	q := &AuditRequest{StaffID: v.Get("staff_id"), BusinessRef: v.Get("business_ref"), Purpose: v.Get("purpose"), Limit: auditDefaultLimit}
	if s := v.Get("subject"); s != "" {
		subject, _, err := records.NormalizeSubject(s)
		if err != nil {
			return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad subject id")
		}
		q.Subject = subject
	}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, p.name+" is not an RFC 3339 time")
			}
			*p.to = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > auditMaxLimit {
			return nil, schemas.Errorf(schemas.CodeMalformedRequest, "limit must be 1..%d", auditMaxLimit)
		}
		q.Limit = n
	}
	if q.Subject == "" && q.StaffID == "" && q.BusinessRef == "" && q.Purpose == "" && q.From.IsZero() && q.To.IsZero() {
		return nil, schemas.Errorf(schemas.CodeMalformedRequest, "give at least one of subject, staff_id, business_ref, purpose, from, to")
	}
	return q, nil
}

func (q *AuditRequest) matches(e *schemas.OutboundEntry) bool {
	switch {
	case q.Subject != "" && e.Subject != q.Subject,
		q.StaffID != "" && e.StaffID != q.StaffID,
		q.BusinessRef != "" && e.BusinessRef != q.BusinessRef,
		q.Purpose != "" && e.Purpose != q.Purpose:
		return false
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		t, err := time.Parse(time.RFC3339Nano, e.Time)
		if err != nil || (!q.From.IsZero() && t.Before(q.From)) || (!q.To.IsZero() && !t.Before(q.To)) {
			return false
		}
	}
	return true
}

func (s *Server) auditRoute() route[AuditRequest] {
	return route[AuditRequest]{
		op:    OpAudit,
		parse: parseAudit,
		scope: func(q *AuditRequest) (string, []string) { return q.Purpose, nil },
		run: func(ctx context.Context, _ *call, q *AuditRequest) (any, *schemas.Error) {
			return s.searchOutbound(ctx, q)
		},
	}
}

// searchOutbound finds q's entries through the store's audit index (by
// subject, staff id, business reference, purpose and time), checks every
// leaf's hash against its stored bytes, and keeps the entries q matches: the
// index narrows the search, the entries decide it.
func (s *Server) searchOutbound(ctx context.Context, q *AuditRequest) (*AuditAnswer, *schemas.Error) {
	size, err := s.opts.Outbound.OutboundLogSize(ctx)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "outbound log unavailable")
	}
	leaves, err := s.opts.Outbound.SearchOutbound(ctx, store.OutboundSearch{Subject: q.Subject, StaffID: q.StaffID,
		BusinessRef: q.BusinessRef, Purpose: q.Purpose, From: q.From, To: q.To, Limit: q.Limit + 1})
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeStoreUnavailable, err, "outbound log unavailable")
	}
	ans := &AuditAnswer{Entries: []AuditEntry{}, Scanned: size}
	for _, l := range leaves {
		if !bytes.Equal(inquirylog.LeafHash(l.Salt, l.Entry), l.LeafHash) {
			return nil, schemas.Errorf(schemas.CodeInternal, "outbound log entry %d does not match its leaf hash", l.Index)
		}
		var e schemas.OutboundEntry
		if err := json.Unmarshal(l.Entry, &e); err != nil {
			return nil, schemas.Wrap(schemas.CodeInternal, err, "outbound log entry unreadable")
		}
		if !q.matches(&e) {
			return nil, schemas.Errorf(schemas.CodeInternal, "outbound log entry %d does not match its audit index", l.Index)
		}
		if len(ans.Entries) == q.Limit {
			ans.Truncated = true
			break
		}
		ans.Entries = append(ans.Entries, AuditEntry{Index: l.Index, Entry: e})
	}
	return ans, nil
}
