// Package reports assembles and verifies verifiable credit reports: with the
// subject's authorisation, a node queries several providers about one subject
// and signs the whole (schemas.TypReport). Each part is a provider's own
// signed answer (schemas.TypResponse), kept byte for byte as it came out of
// the JWE addressed to the assembler, so a verifier holding the signed
// federation registry can check, offline and without trusting the assembler:
//
//   - the report's signature, by a key the registry lists for its issuer;
//   - every part's signature, by a key the registry lists for its provider;
//   - that every part answers the assembler, about the report's subject, for
//     the report's purpose, was allowed, and matches its receipt digest;
//   - that every part is fresh relative to the report (MaxPartAge);
//   - the validity window (nbf ≤ now < exp, at most MaxValidity long);
//   - that the coverage and the summary the report states are exactly what
//     the parts hold, with negative categories judged by the verifier's own
//     category schemas, not by the assembler.
//
// A report whose summary counts no negative records is what can stand in for
// a paper "proof of no violations" for the categories and providers covered.
package reports

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// Limits.
const (
	// MaxValidity bounds how long a report may stand in for paper proofs.
	MaxValidity = 90 * 24 * time.Hour
	// DefaultValidity is used when a request names none.
	DefaultValidity = 30 * 24 * time.Hour
	// MaxPartAge bounds how much older than the report a part may be: an
	// assembler cannot re-date stale answers.
	MaxPartAge = 24 * time.Hour
	// MaxParts bounds the providers in one report.
	MaxParts = 32
	// Skew is the clock tolerance between assembler and providers.
	Skew = 5 * time.Minute
)

// Errors returned by Verify and Build. Details are wrapped around them;
// branch with errors.Is.
var (
	// ErrMalformed: the token is not a report in the profile, or its claims
	// are missing or ill-formed.
	ErrMalformed = errors.New("reports: malformed report")
	// ErrSignature: the report or a part is not signed by a key the registry
	// lists for its issuer.
	ErrSignature = errors.New("reports: signature does not verify")
	// ErrNotYetValid: before the report's not-before.
	ErrNotYetValid = errors.New("reports: not yet valid")
	// ErrExpired: at or past the report's expiry.
	ErrExpired = errors.New("reports: expired")
	// ErrPart: a verified part does not belong in this report (another
	// subject, purpose or requester, denied, stale, or its records do not
	// match its receipt).
	ErrPart = errors.New("reports: part does not match the report")
	// ErrCoverage: the stated coverage is not what the parts answered.
	ErrCoverage = errors.New("reports: coverage not backed by the parts")
	// ErrSummary: the stated summary is not what the parts hold.
	ErrSummary = errors.New("reports: summary does not match the parts")
	// ErrRequest: Build was asked for something it cannot assemble.
	ErrRequest = errors.New("reports: bad request")
)

// Keys yields the registered signing keys of members: a verified registry.
type Keys interface {
	SigningKey(memberID, kid string) (ed25519.PublicKey, bool)
}

// Negative reports whether records of a category are negative information
// (schemas.CategoryValidator.Negative).
type Negative func(category string) bool

// Report is a verified report: its claims and each part's verified answer,
// in the order of Claims.Parts.
type Report struct {
	Claims schemas.ReportClaims
	Parts  []schemas.QueryResponse
}

// NegativeRecords is the number of negative records across the report.
func (r *Report) NegativeRecords() int {
	n := 0
	for _, c := range r.Claims.Summary {
		if c.Negative {
			n += c.Records
		}
	}
	return n
}

// Verify checks a report token against the registry's keys at time now,
// judging negative categories with negative. It returns the verified report,
// or an error wrapping one of the package's sentinels.
func Verify(tok []byte, reg Keys, now time.Time, negative Negative) (*Report, error) {
	if reg == nil || negative == nil {
		return nil, errors.New("reports: Verify needs keys and a negative-category test")
	}
	tok = bytes.TrimSpace(tok)
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if hdr.Type != schemas.TypReport {
		return nil, fmt.Errorf("%w: token type %q is not a report", ErrMalformed, hdr.Type)
	}
	// The issuer picks the key; it is read before the signature is checked
	// and compared with the verified claims afterwards.
	iss, err := unverifiedIssuer(tok)
	if err != nil {
		return nil, err
	}
	pub, ok := reg.SigningKey(iss, hdr.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: key %s is not registered to %q", ErrSignature, hdr.KeyID, iss)
	}
	payload, _, err := jose.Verify(tok, schemas.TypReport, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: report: %w", ErrSignature, err)
	}
	var c schemas.ReportClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	if c.Issuer != iss {
		return nil, fmt.Errorf("%w: issuer changed under the signature", ErrMalformed)
	}
	if err := checkClaims(&c); err != nil {
		return nil, err
	}
	nbf, exp := time.Unix(c.NotBefore, 0), time.Unix(c.Expiry, 0)
	if now.Before(nbf.Add(-Skew)) {
		return nil, fmt.Errorf("%w: valid from %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339))
	}
	if !now.Before(exp) {
		return nil, fmt.Errorf("%w: expired at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	rep := &Report{Claims: c}
	seen := map[string]bool{}
	for i, part := range c.Parts {
		if seen[part.Provider] {
			return nil, fmt.Errorf("%w: provider %q appears twice", ErrMalformed, part.Provider)
		}
		seen[part.Provider] = true
		resp, err := verifyPart(part, reg, &c)
		if err != nil {
			return nil, fmt.Errorf("part %d (%s): %w", i, part.Provider, err)
		}
		rep.Parts = append(rep.Parts, *resp)
	}
	if !slices.EqualFunc(c.Coverage, coverage(c.Parts, rep.Parts), equalCoverage) {
		return nil, ErrCoverage
	}
	if !slices.Equal(c.Summary, summary(rep.Parts, negative)) {
		return nil, ErrSummary
	}
	return rep, nil
}

func checkClaims(c *schemas.ReportClaims) error {
	switch {
	case c.ID == "" || len(c.ID) > 128:
		return fmt.Errorf("%w: jti must be 1..128 characters", ErrMalformed)
	case c.Subject == "" || c.Purpose == "" || c.Issuer == "":
		return fmt.Errorf("%w: iss, sub and purpose are required", ErrMalformed)
	case len(c.Parts) == 0 || len(c.Parts) > MaxParts:
		return fmt.Errorf("%w: a report holds 1..%d parts", ErrMalformed, MaxParts)
	case c.NotBefore <= 0 || c.Expiry <= c.NotBefore:
		return fmt.Errorf("%w: nbf must be positive and exp must follow it", ErrMalformed)
	case c.Expiry-c.NotBefore > int64(MaxValidity/time.Second):
		return fmt.Errorf("%w: validity longer than %s", ErrMalformed, MaxValidity)
	case c.IssuedAt < c.NotBefore-int64(Skew/time.Second) || c.IssuedAt >= c.Expiry:
		return fmt.Errorf("%w: iat outside the validity window", ErrMalformed)
	}
	return nil
}

// verifyPart checks one provider's signed answer against the registry and
// the report it sits in.
func verifyPart(part schemas.ReportPart, reg Keys, c *schemas.ReportClaims) (*schemas.QueryResponse, error) {
	tok := []byte(part.Response)
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	pub, ok := reg.SigningKey(part.Provider, hdr.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: key %s is not registered to %q", ErrSignature, hdr.KeyID, part.Provider)
	}
	payload, _, err := jose.Verify(tok, schemas.TypResponse, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	var r schemas.QueryResponse
	if err := schemas.DecodeStrict(payload, &r); err != nil {
		return nil, fmt.Errorf("%w: response: %w", ErrMalformed, err)
	}
	iat := time.Unix(r.IssuedAt, 0)
	reportAt := time.Unix(c.IssuedAt, 0)
	switch {
	case r.Issuer != part.Provider || r.Receipt.Provider != part.Provider:
		return nil, fmt.Errorf("%w: issued by another provider", ErrPart)
	case r.Audience != c.Issuer:
		return nil, fmt.Errorf("%w: answer addressed to %q, not the assembler", ErrPart, r.Audience)
	case r.Subject != c.Subject:
		return nil, fmt.Errorf("%w: answer about another subject", ErrPart)
	case r.Purpose != c.Purpose:
		return nil, fmt.Errorf("%w: answer for purpose %q", ErrPart, r.Purpose)
	case !r.Decision.Allow || len(r.Decision.Fields) == 0:
		return nil, fmt.Errorf("%w: not an allowed answer", ErrPart)
	case iat.After(reportAt.Add(Skew)) || iat.Before(reportAt.Add(-MaxPartAge)):
		return nil, fmt.Errorf("%w: answered at %s, outside %s before the report", ErrPart, iat.UTC().Format(time.RFC3339), MaxPartAge)
	}
	digest, err := inquirylog.RecordsDigest(r.Records)
	if err != nil || digest != r.Receipt.RecordsDigest {
		return nil, fmt.Errorf("%w: records do not match the receipt digest", ErrPart)
	}
	for _, rec := range r.Records {
		if _, ok := r.Decision.Fields[rec.Category]; !ok {
			return nil, fmt.Errorf("%w: record of category %q outside the decision", ErrPart, rec.Category)
		}
	}
	return &r, nil
}

// coverage derives, per part, the categories the provider answered for: the
// categories of its decision (the policy grants all requested categories or
// none), sorted.
func coverage(parts []schemas.ReportPart, resps []schemas.QueryResponse) []schemas.ReportCoverage {
	out := make([]schemas.ReportCoverage, 0, len(parts))
	for i, p := range parts {
		cats := make([]string, 0, len(resps[i].Decision.Fields))
		for name := range resps[i].Decision.Fields {
			cats = append(cats, name)
		}
		slices.Sort(cats)
		out = append(out, schemas.ReportCoverage{Provider: p.Provider, Categories: cats})
	}
	return out
}

func equalCoverage(a, b schemas.ReportCoverage) bool {
	return a.Provider == b.Provider && slices.Equal(a.Categories, b.Categories)
}

// summary counts records per covered category across parts, sorted by name;
// a covered category without records counts 0, which is the point: "no
// records" is stated, and backed by a signed answer.
func summary(resps []schemas.QueryResponse, negative Negative) []schemas.ReportCount {
	counts := map[string]int{}
	for _, r := range resps {
		for name := range r.Decision.Fields {
			if _, ok := counts[name]; !ok {
				counts[name] = 0
			}
		}
		for _, rec := range r.Records {
			counts[rec.Category]++
		}
	}
	out := make([]schemas.ReportCount, 0, len(counts))
	for name, n := range counts {
		out = append(out, schemas.ReportCount{Category: name, Negative: negative(name), Records: n})
	}
	slices.SortFunc(out, func(a, b schemas.ReportCount) int { return cmp.Compare(a.Category, b.Category) })
	return out
}

// Querier sends one authorised query and returns the verified answer with
// the provider's signed response (peer.Client).
type Querier interface {
	Query(ctx context.Context, q peer.Query) (*peer.Result, error)
}

// AssemblerOptions configures an Assembler. Every field is required unless
// noted.
type AssemblerOptions struct {
	ID       string        // this node's member id: the requester of every part
	Signer   crypto.Signer // this node's Ed25519 signing key
	KID      string
	Querier  Querier
	Negative Negative
	Clock    func() time.Time // defaults to time.Now
}

// Assembler builds reports by querying providers as this node.
type Assembler struct{ opts AssemblerOptions }

// NewAssembler makes an Assembler.
func NewAssembler(o AssemblerOptions) (*Assembler, error) {
	if o.ID == "" || o.Signer == nil || o.KID == "" || o.Querier == nil || o.Negative == nil {
		return nil, errors.New("reports: ID, Signer, KID, Querier and Negative are required")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return &Assembler{opts: o}, nil
}

// Request is what a report is built from.
type Request struct {
	Subject  string
	Purpose  string
	Consent  string // the subject's consent token, naming every provider (or any)
	Parts    []PartRequest
	ValidFor time.Duration // 0: DefaultValidity
}

// PartRequest names one provider and the categories to ask it for.
type PartRequest struct {
	Provider   string
	Categories []string
}

// Build queries every provider (each query goes through the provider's full
// pipeline: consent, policy, inquiry log), then signs the report. It is all
// or nothing: any refused part fails the build, with the provider's wire
// error wrapped.
func (a *Assembler) Build(ctx context.Context, req Request) ([]byte, *schemas.ReportClaims, error) {
	validFor := cmp.Or(req.ValidFor, DefaultValidity)
	switch {
	case validFor < 0 || validFor > MaxValidity:
		return nil, nil, fmt.Errorf("%w: validity must be at most %s", ErrRequest, MaxValidity)
	case len(req.Parts) == 0 || len(req.Parts) > MaxParts:
		return nil, nil, fmt.Errorf("%w: 1..%d providers", ErrRequest, MaxParts)
	}
	subject, subjectType, err := records.NormalizeSubject(req.Subject)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	parts := slices.Clone(req.Parts)
	slices.SortFunc(parts, func(x, y PartRequest) int { return cmp.Compare(x.Provider, y.Provider) })
	c := schemas.ReportClaims{
		ID: peer.NewRequestID(), Issuer: a.opts.ID, Subject: subject, SubjectType: subjectType, Purpose: req.Purpose,
	}
	var resps []schemas.QueryResponse
	for i, p := range parts {
		if i > 0 && parts[i-1].Provider == p.Provider {
			return nil, nil, fmt.Errorf("%w: provider %q named twice", ErrRequest, p.Provider)
		}
		res, err := a.opts.Querier.Query(ctx, peer.Query{
			Provider: p.Provider, Subject: subject, Purpose: req.Purpose, Categories: p.Categories, Consent: req.Consent,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("reports: part from %s: %w", p.Provider, err)
		}
		if len(res.Signed) == 0 {
			return nil, nil, fmt.Errorf("reports: part from %s: no signed response kept", p.Provider)
		}
		c.Parts = append(c.Parts, schemas.ReportPart{Provider: p.Provider, Response: string(res.Signed)})
		resps = append(resps, res.Response)
	}
	now := a.opts.Clock()
	c.IssuedAt, c.NotBefore, c.Expiry = now.Unix(), now.Unix(), now.Add(validFor).Unix()
	c.Coverage = coverage(c.Parts, resps)
	c.Summary = summary(resps, a.opts.Negative)
	tok, err := Sign(a.opts.Signer, a.opts.KID, &c)
	if err != nil {
		return nil, nil, err
	}
	return tok, &c, nil
}

// Sign signs report claims as the assembler. Build uses it; it is exported
// for tools and tests that assemble parts themselves.
func Sign(signer crypto.Signer, kid string, c *schemas.ReportClaims) ([]byte, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return jose.Sign(signer, kid, schemas.TypReport, payload)
}

// unverifiedIssuer reads "iss" from a token's payload to choose the
// verification key. Nothing else is read before the signature is checked.
func unverifiedIssuer(tok []byte) (string, error) {
	parts := strings.Split(string(tok), ".")
	if len(parts) != 3 {
		return "", ErrMalformed
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("%w: payload encoding", ErrMalformed)
	}
	var head struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &head); err != nil || head.Issuer == "" {
		return "", fmt.Errorf("%w: no issuer", ErrMalformed)
	}
	return head.Issuer, nil
}
