package peer

import (
	"context"
	"encoding/json"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/subjectcheck"
	"github.com/creditexchange/node/schemas"
)

// Object files the subject's objection to its record (category, recordID)
// at provider, whose public API is at baseURL. The provider flags the record
// disputed until it answers; the answer is due by the returned DueBy.
func (s *SubjectClient) Object(ctx context.Context, baseURL, provider, category, recordID, reason string) (*schemas.RightsFiled, error) {
	tok, err := consent.Object(s.Key, s.Cert, provider, category, recordID, reason, s.now())
	if err != nil {
		return nil, err
	}
	return s.filed(ctx, baseURL, "/v1/subject/objections", tok, schemas.ObjectionOpen)
}

// ApplyRepair applies for credit repair of the subject's negative record
// (category, recordID) at provider, stating what was done to correct it.
func (s *SubjectClient) ApplyRepair(ctx context.Context, baseURL, provider, category, recordID, reason string) (*schemas.RightsFiled, error) {
	tok, err := consent.ApplyRepair(s.Key, s.Cert, provider, category, recordID, reason, s.now())
	if err != nil {
		return nil, err
	}
	return s.filed(ctx, baseURL, "/v1/subject/repairs", tok, schemas.RepairPending)
}

func (s *SubjectClient) filed(ctx context.Context, baseURL, path string, tok []byte, status string) (*schemas.RightsFiled, error) {
	body, err := s.post(ctx, baseURL, path, tok)
	if err != nil {
		return nil, err
	}
	var out schemas.RightsFiled
	if err := json.Unmarshal(body, &out); err != nil || out.Status != status || out.ID == "" {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "unexpected answer to a filed request")
	}
	return &out, nil
}

// Rights fetches the subject's objections and repair applications at
// provider, with their status and outcome, verified under the provider's
// registered key.
func (s *SubjectClient) Rights(ctx context.Context, baseURL, provider string) (*schemas.SubjectRights, error) {
	tok, err := consent.RightsStatus(s.Key, s.Cert, provider, s.now())
	if err != nil {
		return nil, err
	}
	body, err := s.post(ctx, baseURL, "/v1/subject/rights", tok)
	if err != nil {
		return nil, err
	}
	if s.Registry == nil {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "no registry to verify the provider's signature")
	}
	return subjectcheck.OpenRights(body, provider, s.Registry)
}

// Report asks provider for the subject's own credit report, verified
// against the provider's registered signing key. Each report spends one of
// the subject's free reports of the year there; past them the answer is
// free_reports_exhausted.
func (s *SubjectClient) Report(ctx context.Context, baseURL, provider string) (*schemas.SubjectReport, error) {
	tok, err := consent.ReportRequest(s.Key, s.Cert, provider, s.now())
	if err != nil {
		return nil, err
	}
	body, err := s.post(ctx, baseURL, "/v1/subject/report", tok)
	if err != nil {
		return nil, err
	}
	if s.Registry == nil {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "no registry to verify the provider's signature")
	}
	return subjectcheck.OpenReport(body, provider, s.Registry)
}
