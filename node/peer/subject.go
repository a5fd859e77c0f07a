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
// whose public API is at baseURL. Every entry's leaf hash is recomputed from
// its salt; the whole answer must be signed by the provider's registered key
// when a Registry is set.
func (s *SubjectClient) Inquiries(ctx context.Context, baseURL, provider string) (*schemas.SubjectLog, error) {
	out, _, err := s.InquiriesSigned(ctx, baseURL, provider)
	return out, err
}

// InquiriesSigned is Inquiries, also returning the provider-signed token as
// received (for export and later offline verification with OpenSubjectLog).
func (s *SubjectClient) InquiriesSigned(ctx context.Context, baseURL, provider string) (*schemas.SubjectLog, []byte, error) {
	tok, err := consent.SubjectRead(s.Key, s.Cert, provider, s.now())
	if err != nil {
		return nil, nil, err
	}
	body, err := s.post(ctx, baseURL, "/v1/subject/inquiries", tok)
	if err != nil {
		return nil, nil, err
	}
	out, err := s.OpenSubjectLog(body, provider)
	if err != nil {
		return nil, nil, err
	}
	return out, body, nil
}

// OpenSubjectLog verifies a provider-signed subject log offline: the
// provider's registered signature, the issuer, every entry's leaf hash
// (subjectcheck.Open, which the portal's browser verifier runs too).
func (s *SubjectClient) OpenSubjectLog(tok []byte, provider string) (*schemas.SubjectLog, error) {
	if s.Registry == nil {
		return nil, errors.New("peer: no registry to verify the provider's signature")
	}
	return subjectcheck.Open(tok, provider, s.Registry)
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
