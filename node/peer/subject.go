package peer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/subjectcheck"
	"github.com/creditexchange/node/schemas"
)

// SubjectClient is what a subject (an enterprise or a person) uses to talk
// to a provider's public API: read its own inquiry log, revoke a consent.
// The subject authenticates by signing with the key its registrar
// certified; the provider authenticates by server TLS and by signing the
// answer with its registered key.
type SubjectClient struct {
	Key  crypto.Signer // the subject's Ed25519 key
	Cert []byte        // the registrar-issued subject certificate
	// Registry, if set, is used to verify providers' signatures.
	Registry Registry
	HTTP     *http.Client
	Clock    func() time.Time
	// PageLimit is how many entries a page of the log holds at most (0:
	// the provider's default, schemas.SubjectPageDefault).
	PageLimit int
}

// NewSubjectHTTPClient trusts the federation CA for providers' public APIs.
func NewSubjectHTTPClient(cas *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: cas, MinVersion: tls.VersionTLS12,
		}},
	}
}

func (s *SubjectClient) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Inquiries fetches and verifies the subject's inquiry log at provider,
// whose public API is at baseURL, walking its pages (InquiryPages). Every
// entry's leaf hash is recomputed from its salt; every page must be signed
// by the provider's registered key, and the pages must form one walk
// (subjectcheck.OpenPages).
func (s *SubjectClient) Inquiries(ctx context.Context, baseURL, provider string) (*schemas.SubjectLog, error) {
	out, _, err := s.InquiriesSigned(ctx, baseURL, provider)
	return out, err
}

// InquiriesSigned is Inquiries, also returning the provider-signed pages
// as received (for export and later offline verification with
// OpenSubjectLog).
func (s *SubjectClient) InquiriesSigned(ctx context.Context, baseURL, provider string) (*schemas.SubjectLog, [][]byte, error) {
	toks, pages, err := s.walk(ctx, baseURL, provider)
	var e *schemas.Error
	if errors.As(err, &e) && e.Code == schemas.CodeBadLogRange && len(pages) > 0 {
		toks, pages, err = s.walk(ctx, baseURL, provider)
	}
	if err != nil {
		return nil, nil, err
	}
	out, err := subjectcheck.Assemble(pages)
	if err != nil {
		return nil, nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "pages do not fit together")
	}
	return out, toks, nil
}

// InquiryPages reads the subject's log at provider page by page and
// returns the pages as signed, after the checks of Inquiries.
func (s *SubjectClient) InquiryPages(ctx context.Context, baseURL, provider string) ([][]byte, error) {
	_, toks, err := s.InquiriesSigned(ctx, baseURL, provider)
	return toks, err
}

// walk reads the pages of one walk over the subject's log at provider: the
// first page from index 0, each following one from where the previous page
// said the next starts, pinned to the checkpoint of the first page and
// bounded by its Until, until a page says it is the last (at most subjectcheck.MaxPages). Each page is
// a request of its own, logged by the provider; the walk is one read of
// the subject's read limit. Each page is opened (subjectcheck.Open) as it
// arrives. If the provider no longer keeps the pinned checkpoint it answers
// bad_log_range, and InquiriesSigned walks again, once.
func (s *SubjectClient) walk(ctx context.Context, baseURL, provider string) ([][]byte, []*schemas.SubjectLog, error) {
	if s.Registry == nil {
		return nil, nil, errors.New("peer: no registry to verify the provider's signature")
	}
	var (
		toks  [][]byte
		pages []*schemas.SubjectLog
		req   = &schemas.SubjectPageRequest{Limit: s.PageLimit}
	)
	for {
		if len(pages) == subjectcheck.MaxPages {
			return toks, pages, schemas.Errorf(schemas.CodePeerBadResponse, "the provider's log runs over %d pages", subjectcheck.MaxPages)
		}
		body, err := s.readPage(ctx, baseURL, provider, req, len(pages) > 0)
		if err != nil {
			return toks, pages, err
		}
		pg, err := subjectcheck.Open(body, provider, s.Registry)
		if err != nil {
			return toks, pages, err
		}
		toks, pages = append(toks, body), append(pages, pg)
		switch {
		case pg.Page == nil || pg.Page.Next == 0:
			return toks, pages, nil // Assemble says whether this is the end
		case pg.Page.Next <= req.From:
			return toks, pages, schemas.Errorf(schemas.CodePeerBadResponse, "the provider's page from %d names no later page (%d)", req.From, pg.Page.Next)
		}
		req = &schemas.SubjectPageRequest{From: pg.Page.Next, Limit: s.PageLimit, Checkpoint: pg.Page.Checkpoint, Until: pg.Page.Until}
	}
}

// pageRetries bounds how often a following page refused rate_limited is
// asked again, pageRetryWait apart.
const (
	pageRetries   = 30
	pageRetryWait = time.Second
)

// readPage asks for one page. A following page refused rate_limited (the
// provider's limit per client address, which counts pages: 5 a second by
// default) is asked again a second later, up to pageRetries times, so that
// a long walk slows down rather than fails.
func (s *SubjectClient) readPage(ctx context.Context, baseURL, provider string, req *schemas.SubjectPageRequest, following bool) ([]byte, error) {
	for try := 0; ; try++ {
		tok, err := consent.SubjectReadPage(s.Key, s.Cert, provider, req, s.now())
		if err != nil {
			return nil, err
		}
		body, err := s.post(ctx, baseURL, "/v1/subject/inquiries", tok)
		var e *schemas.Error
		if !following || try == pageRetries || !errors.As(err, &e) || e.Code != schemas.CodeRateLimited {
			return body, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pageRetryWait):
		}
	}
}

// OpenSubjectLog verifies provider-signed pages of the subject's log
// offline, in the order they were read: the provider's registered
// signature, the issuer, every entry's leaf hash, and that the pages form
// one walk (subjectcheck.OpenPages, which the portal's browser verifier
// runs too). It returns the log they make together.
func (s *SubjectClient) OpenSubjectLog(pages [][]byte, provider string) (*schemas.SubjectLog, error) {
	if s.Registry == nil {
		return nil, errors.New("peer: no registry to verify the provider's signature")
	}
	return subjectcheck.OpenPages(pages, provider, s.Registry)
}

// Revocation is a provider's answer to a revocation: Status is "revoked"
// (a consent the provider has seen used) or "revoked_before_use" (one it
// has not seen used yet; it is refused if ever presented).
type Revocation struct {
	Status   string
	LogIndex uint64
}

// Revoke withdraws consentID at provider. A provider that has seen this
// consent id used only by other subjects answers consent_unknown.
func (s *SubjectClient) Revoke(ctx context.Context, baseURL, provider, consentID string) (Revocation, error) {
	tok, err := consent.Revoke(s.Key, s.Cert, provider, consentID, s.now())
	if err != nil {
		return Revocation{}, err
	}
	body, err := s.post(ctx, baseURL, "/v1/consent/revoke", tok)
	if err != nil {
		return Revocation{}, err
	}
	var out struct {
		Status   string `json:"status"`
		LogIndex uint64 `json:"log_index"`
	}
	if err := json.Unmarshal(body, &out); err != nil || (out.Status != "revoked" && out.Status != "revoked_before_use") {
		return Revocation{}, schemas.Errorf(schemas.CodePeerBadResponse, "unexpected revocation answer")
	}
	return Revocation{Status: out.Status, LogIndex: out.LogIndex}, nil
}

func (s *SubjectClient) post(ctx context.Context, baseURL, path string, tok []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(baseURL, "/")+path, bytes.NewReader(tok))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", schemas.ContentTypeJOSE)
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, "provider unreachable")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, "reading answer")
	}
	if resp.StatusCode != http.StatusOK {
		e, _ := decodeError(&response{status: resp.StatusCode, body: body})
		return nil, e
	}
	return body, nil
}
