package internalapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/creditexchange/node/node/catalog"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/reports"
	"github.com/creditexchange/node/schemas"
)

// ConsentCheckRequest is the body of RouteConsentCheck: a consent token and
// what the organisation means to use it for.
type ConsentCheckRequest struct {
	Consent    string   `json:"consent"`
	Subject    string   `json:"subject"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	Providers  []string `json:"providers"`
}

// ConsentCheckAnswer says whether the consent can be used as asked. A
// consent that cannot is Valid false with the code a provider would answer.
// Uses are counted by each provider: once the consent checks here, each
// named provider is asked (a signed consent status request, logged by both
// sides) and answers its state and uses left there (AtProviders); a
// provider that says revoked or exhausted makes the consent invalid, one
// that cannot be asked is listed with its code and leaves Valid as checked
// here.
type ConsentCheckAnswer struct {
	Valid      bool         `json:"valid"`
	Code       schemas.Code `json:"code,omitempty"`
	Message    string       `json:"message,omitempty"`
	ConsentID  string       `json:"consent_id,omitempty"`
	Subject    string       `json:"subject,omitempty"`
	Requester  string       `json:"requester,omitempty"`
	Purpose    string       `json:"purpose,omitempty"`
	Categories []string     `json:"categories,omitempty"`
	Providers  []string     `json:"providers,omitempty"` // empty: any provider
	NotBefore  string       `json:"not_before,omitempty"`
	Expiry     string       `json:"expiry,omitempty"`
	MaxUses    int          `json:"max_uses,omitempty"`
	// AtProviders is each provider's answer, in the order of the request.
	AtProviders []ProviderConsentState `json:"at_providers,omitempty"`
}

// ProviderConsentState is one provider's account of a consent: its state
// (usable, exhausted, revoked) and uses spent and left there, or the code
// of the failure to ask it.
type ProviderConsentState struct {
	Provider string       `json:"provider"`
	State    string       `json:"state,omitempty"`
	Uses     int          `json:"uses"`
	UsesLeft int          `json:"uses_left"`
	Code     schemas.Code `json:"code,omitempty"`
	Message  string       `json:"message,omitempty"`
}

func (s *Server) consentRoute() route[ConsentCheckRequest] {
	return route[ConsentCheckRequest]{
		op: OpConsentCheck, needsRef: true,
		parse: func(_ *http.Request, body []byte) (*ConsentCheckRequest, *schemas.Error) {
			var q ConsentCheckRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed consent check")
			}
			if q.Consent == "" || q.Purpose == "" || len(q.Categories) == 0 || len(q.Providers) == 0 {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "consent, purpose, categories and providers are required")
			}
			if _, _, err := records.NormalizeSubject(q.Subject); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad subject id")
			}
			return &q, nil
		},
		scope: func(q *ConsentCheckRequest) (string, []string) { return q.Purpose, q.Providers },
		run: func(ctx context.Context, cl *call, q *ConsentCheckRequest) (any, *schemas.Error) {
			now := s.opts.Clock()
			reg, err := s.opts.Registry(now)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
			}
			subject, _, _ := records.NormalizeSubject(q.Subject)
			invalid := func(err error) (any, *schemas.Error) {
				e := schemas.AsError(err, schemas.CodeConsentInvalid, "rejected")
				return ConsentCheckAnswer{Code: e.Code, Message: e.Message}, nil
			}
			cons, err := consent.VerifyConsentToken([]byte(q.Consent), reg, now, s.opts.Skew)
			if err != nil {
				return invalid(err)
			}
			c := cons.Claims
			ans := ConsentCheckAnswer{ConsentID: c.ID, Subject: c.Subject, Requester: c.Requester, Purpose: c.Purpose,
				Categories: c.Categories, Providers: c.Providers, MaxUses: c.MaxUses,
				NotBefore: time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339), Expiry: time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339)}
			for _, p := range q.Providers {
				if err := cons.Check(consent.Expectation{Requester: s.opts.ID, Provider: p, Subject: subject,
					Purpose: q.Purpose, Categories: q.Categories}); err != nil {
					e := schemas.AsError(err, schemas.CodeConsentInvalid, "rejected")
					ans.Code, ans.Message = e.Code, e.Message
					return ans, nil
				}
			}
			ans.Valid = true
			ans.AtProviders = make([]ProviderConsentState, len(q.Providers))
			var wg sync.WaitGroup
			for i, p := range q.Providers {
				wg.Go(func() {
					st := ProviderConsentState{Provider: p}
					a, err := s.opts.Peer.ConsentStatus(ctx, p, subject, q.Consent, cl.caller(s))
					if err != nil {
						e := schemas.AsError(err, schemas.CodeInternal, "provider did not answer")
						st.Code, st.Message = e.Code, e.Message
					} else {
						st.State, st.Uses, st.UsesLeft = a.State, a.Uses, a.UsesLeft
					}
					ans.AtProviders[i] = st
				})
			}
			wg.Wait()
			for _, st := range ans.AtProviders {
				code := map[string]schemas.Code{schemas.ConsentRevoked: schemas.CodeConsentRevoked, schemas.ConsentExhausted: schemas.CodeConsentExhausted}[st.State]
				if code != "" && ans.Valid {
					ans.Valid, ans.Code, ans.Message = false, code, "consent is "+st.State+" at "+st.Provider
				}
			}
			return ans, nil
		},
	}
}

// ReportBuildRequest is the body of RouteReportBuild.
type ReportBuildRequest struct {
	Subject  string       `json:"subject"`
	Purpose  string       `json:"purpose"`
	Consent  string       `json:"consent"`
	Parts    []ReportPart `json:"parts"`
	ValidFor string       `json:"valid_for,omitempty"` // Go duration; default reports.DefaultValidity
}

// ReportPart names one provider and its categories.
type ReportPart struct {
	Provider   string   `json:"provider"`
	Categories []string `json:"categories"`
}

// ReportBuildAnswer is a signed credit report.
type ReportBuildAnswer struct {
	Report string `json:"report"` // compact JWS signed by this node
	ID     string `json:"id"`
	Expiry string `json:"expiry"`
	Parts  int    `json:"parts"`
}

func (s *Server) reportBuildRoute() route[ReportBuildRequest] {
	return route[ReportBuildRequest]{
		op: OpReport, needsRef: true, spends: true,
		parse: func(_ *http.Request, body []byte) (*ReportBuildRequest, *schemas.Error) {
			var q ReportBuildRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "body is not a well-formed report request")
			}
			if q.Purpose == "" || q.Consent == "" || len(q.Parts) == 0 || len(q.Parts) > reports.MaxParts {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "purpose, consent and 1..%d parts are required", reports.MaxParts)
			}
			if q.ValidFor != "" {
				if _, err := time.ParseDuration(q.ValidFor); err != nil {
					return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "valid_for is not a duration")
				}
			}
			return &q, nil
		},
		scope: func(q *ReportBuildRequest) (string, []string) {
			var ps []string
			for _, p := range q.Parts {
				ps = append(ps, p.Provider)
			}
			return q.Purpose, ps
		},
		run: func(ctx context.Context, c *call, q *ReportBuildRequest) (any, *schemas.Error) {
			validFor, _ := time.ParseDuration(q.ValidFor)
			asm, err := reports.NewAssembler(reports.AssemblerOptions{ID: s.opts.ID, Signer: s.opts.Keys.Signer,
				KID: s.opts.Keys.SigningKID, Querier: callerQuerier{s.opts.Peer, c.caller(s)}, Negative: s.negative, Clock: s.opts.Clock})
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeInternal, err, "report assembler")
			}
			parts := make([]reports.PartRequest, len(q.Parts))
			for i, p := range q.Parts {
				parts[i] = reports.PartRequest{Provider: p.Provider, Categories: p.Categories}
			}
			tok, claims, err := asm.Build(ctx, reports.Request{Subject: q.Subject, Purpose: q.Purpose, Consent: q.Consent, Parts: parts, ValidFor: validFor})
			if errors.Is(err, reports.ErrRequest) {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, err.Error())
			}
			if err != nil {
				return nil, schemas.AsError(err, schemas.CodeInternal, "report could not be built")
			}
			return ReportBuildAnswer{Report: string(tok), ID: claims.ID, Parts: len(claims.Parts),
				Expiry: time.Unix(claims.Expiry, 0).UTC().Format(time.RFC3339)}, nil
		},
	}
}

// callerQuerier adds the caller to every query of a report.
type callerQuerier struct {
	p      Peer
	caller *peer.Caller
}

func (q callerQuerier) Query(ctx context.Context, pq peer.Query) (*peer.Result, error) {
	pq.Caller = q.caller
	return q.p.Query(ctx, pq)
}

// ReportVerifyRequest is the body of RouteReportVerify.
type ReportVerifyRequest struct {
	Report string `json:"report"`
}

// ReportVerifyAnswer is a report checked against the registry in force.
type ReportVerifyAnswer struct {
	Valid           bool                    `json:"valid"`
	Reason          string                  `json:"reason,omitempty"`
	Claims          *schemas.ReportClaims   `json:"claims,omitempty"`
	Parts           []schemas.QueryResponse `json:"parts,omitempty"`
	NegativeRecords int                     `json:"negative_records"`
}

func (s *Server) reportVerifyRoute() route[ReportVerifyRequest] {
	return route[ReportVerifyRequest]{
		op: OpReport,
		parse: func(_ *http.Request, body []byte) (*ReportVerifyRequest, *schemas.Error) {
			var q ReportVerifyRequest
			if err := schemas.DecodeStrict(body, &q); err != nil || q.Report == "" {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "body must be {\"report\": JWS}")
			}
			return &q, nil
		},
		scope: noScope[ReportVerifyRequest],
		run: func(_ context.Context, _ *call, q *ReportVerifyRequest) (any, *schemas.Error) {
			now := s.opts.Clock()
			reg, err := s.opts.Registry(now)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
			}
			rep, err := reports.Verify([]byte(q.Report), reg, now, s.negative)
			if err != nil {
				return ReportVerifyAnswer{Reason: err.Error()}, nil
			}
			return ReportVerifyAnswer{Valid: true, Claims: &rep.Claims, Parts: rep.Parts, NegativeRecords: rep.NegativeRecords()}, nil
		},
	}
}

// DiscoverRequest is the body of RouteDiscover.
type DiscoverRequest struct {
	Provider    string `json:"provider"`
	Purpose     string `json:"purpose"`
	SubjectType string `json:"subject_type,omitempty"`
}

func (s *Server) discoverRoute() route[DiscoverRequest] {
	return route[DiscoverRequest]{
		op: OpDiscover,
		parse: func(_ *http.Request, body []byte) (*DiscoverRequest, *schemas.Error) {
			var q DiscoverRequest
			if err := schemas.DecodeStrict(body, &q); err != nil || q.Provider == "" || q.Purpose == "" {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "body must name provider and purpose")
			}
			return &q, nil
		},
		scope: func(q *DiscoverRequest) (string, []string) { return q.Purpose, []string{q.Provider} },
		run: func(ctx context.Context, _ *call, q *DiscoverRequest) (any, *schemas.Error) {
			ans, err := s.opts.Peer.Discover(ctx, q.Provider, q.Purpose, q.SubjectType)
			if err != nil {
				return nil, schemas.AsError(err, schemas.CodeInternal, "discovery failed")
			}
			return ans, nil
		},
	}
}

// CatalogRequest is RouteCatalog's query: peer=ID, repeatable; none means
// every other member (within the client's providers).
type CatalogRequest struct{ Peers []string }

// CatalogAnswer lists peers' verified catalogues.
type CatalogAnswer struct {
	Catalogs []CatalogEntry `json:"catalogs"`
}

// CatalogEntry is one peer's catalogue or why it could not be had.
type CatalogEntry struct {
	Provider string           `json:"provider"`
	Catalog  *schemas.Catalog `json:"catalog,omitempty"`
	Error    string           `json:"error,omitempty"`
}

func (s *Server) catalogRoute() route[CatalogRequest] {
	return route[CatalogRequest]{
		op: OpCatalog,
		parse: func(r *http.Request, _ []byte) (*CatalogRequest, *schemas.Error) {
			return &CatalogRequest{Peers: r.URL.Query()["peer"]}, nil
		},
		scope: func(q *CatalogRequest) (string, []string) { return "", q.Peers },
		run: func(ctx context.Context, c *call, q *CatalogRequest) (any, *schemas.Error) {
			reg, err := s.opts.Registry(s.opts.Clock())
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
			}
			peers := q.Peers
			if len(peers) == 0 {
				for _, m := range reg.Doc().Members {
					if m.ID != s.opts.ID && c.client.AllowsProvider(m.ID) {
						peers = append(peers, m.ID)
					}
				}
			}
			slices.Sort(peers)
			got, err := catalog.Fetch(ctx, s.opts.Peer, reg, peers)
			if err != nil {
				return nil, schemas.Wrap(schemas.CodeInternal, err, "catalogue listing failed")
			}
			out := CatalogAnswer{Catalogs: []CatalogEntry{}}
			for _, f := range got {
				e := CatalogEntry{Provider: f.Provider, Catalog: f.Catalog}
				if f.Err != nil {
					e.Catalog, e.Error = nil, string(schemas.CodeOf(f.Err))
				}
				out.Catalogs = append(out.Catalogs, e)
			}
			return out, nil
		},
	}
}
