package internalapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// QueryRequest is the body of RouteQuery.
type QueryRequest struct {
	Provider   string   `json:"provider"`
	Subject    string   `json:"subject"`
	Purpose    string   `json:"purpose"`
	Categories []string `json:"categories"`
	Consent    string   `json:"consent,omitempty"`  // the subject's compact consent JWS
	Approval   string   `json:"approval,omitempty"` // a regulator's special approval JWS
}

// QueryAnswer is an allowed query's verified, decrypted answer.
type QueryAnswer struct {
	Decision  schemas.Decision    `json:"decision"`
	Provider  string              `json:"provider"`
	RequestID string              `json:"request_id"`
	Subject   string              `json:"subject"`
	Purpose   string              `json:"purpose"`
	Records   []schemas.RecordOut `json:"records"`
	Receipt   schemas.Receipt     `json:"receipt"`
	// OutboundIndex is this node's outbound-log entry holding the receipt,
	// the staff id and the business reference.
	OutboundIndex uint64 `json:"outbound_index"`
	// Response is the provider's signed answer (compact JWS), verifiable by
	// anyone holding the registry.
	Response string `json:"response"`
}

func (s *Server) queryRoute() route[QueryRequest] {
	return route[QueryRequest]{
		op: OpQuery, needsRef: true, spends: true,
		parse: func(_ *http.Request, body []byte) (*QueryRequest, *schemas.Error) {
			var q QueryRequest
			if err := schemas.DecodeStrict(body, &q); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "query body is not a well-formed query request")
			}
			if q.Provider == "" || q.Purpose == "" || len(q.Categories) == 0 || !schemas.UniqueNames(q.Categories) {
				return nil, schemas.Errorf(schemas.CodeMalformedRequest, "provider, purpose and unique categories are required")
			}
			if _, _, err := records.NormalizeSubject(q.Subject); err != nil {
				return nil, schemas.Wrap(schemas.CodeMalformedRequest, err, "bad subject id")
			}
			return &q, nil
		},
		scope: func(q *QueryRequest) (string, []string) { return q.Purpose, []string{q.Provider} },
		run: func(ctx context.Context, c *call, q *QueryRequest) (any, *schemas.Error) {
			subject, _, _ := records.NormalizeSubject(q.Subject)
			res, err := s.opts.Peer.Query(ctx, peer.Query{Provider: q.Provider, Subject: subject, Purpose: q.Purpose,
				Categories: q.Categories, Consent: q.Consent, Approval: q.Approval, Caller: c.caller(s)})
			if err != nil {
				return nil, schemas.AsError(err, schemas.CodeInternal, "query failed")
			}
			r := res.Response
			return QueryAnswer{Decision: r.Decision, Provider: q.Provider, RequestID: r.RequestID, Subject: r.Subject,
				Purpose: r.Purpose, Records: nonNilRecords(r.Records), Receipt: r.Receipt, OutboundIndex: res.OutboundIndex,
				Response: string(res.Signed)}, nil
		},
	}
}

func nonNilRecords(r []schemas.RecordOut) []schemas.RecordOut {
	if r == nil {
		return []schemas.RecordOut{}
	}
	return r
}

func errorBody(e *schemas.Error) []byte {
	b, _ := json.Marshal(schemas.ErrorBody{Error: schemas.ErrorDetail{Code: e.Code, Message: e.Message}})
	return append(b, '\n')
}

func marshalLine(v any) ([]byte, *schemas.Error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "encode answer")
	}
	return append(b, '\n'), nil
}

// noScope is the scope of a request naming no purpose or provider.
func noScope[T any](*T) (string, []string) { return "", nil }
