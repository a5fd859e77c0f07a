// Package peer is the requester side of a node: it signs queries, sends them
// over mutual TLS to the provider registered in the federation registry
// (pinning the provider's registered certificate), verifies and decrypts the
// answer, and keeps its own outbound log: one entry before the request
// leaves, one with the provider's receipt (or the failure) after.
package peer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/transport"
	"github.com/creditexchange/node/schemas"
)

// maxResponse bounds a provider's answer.
const maxResponse = 16 << 20

// Registry is what the client needs of the registry snapshot.
type Registry interface {
	Member(id string) (*schemas.Member, bool)
	SigningKey(memberID, kid string) (ed25519.PublicKey, bool)
}

// Registries yields the registry in force.
type Registries interface {
	Snapshot(now time.Time) (Registry, error)
}

// OutboundLog is the requester's own log.
type OutboundLog interface {
	AppendOutbound(ctx context.Context, l store.Leaf) (store.Appended, error)
}

// Options configures a Client.
type Options struct {
	ID          string // this node's member id
	Keys        *keys.NodeKeys
	Registries  Registries
	Log         OutboundLog
	Certificate tls.Certificate // this node's TLS client certificate
	CAs         *x509.CertPool
	Timeout     time.Duration
	Clock       func() time.Time
	Logger      *slog.Logger
}

// Client sends queries to providers.
type Client struct {
	opts Options

	mu      sync.Mutex
	clients map[string]*http.Client // by provider id
	wrap    func(http.RoundTripper) http.RoundTripper
}

// WrapTransport makes every connection pool the client opens from now on
// pass through wrap (tests validate each exchange with it). Call it before
// the first request: pools already open keep their transport.
func (c *Client) WrapTransport(wrap func(http.RoundTripper) http.RoundTripper) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wrap = wrap
}

// New makes a Client.
func New(opts Options) (*Client, error) {
	if opts.ID == "" || opts.Keys == nil || opts.Registries == nil || opts.Log == nil || opts.CAs == nil {
		return nil, errors.New("peer: ID, Keys, Registries, Log and CAs are required")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Client{opts: opts, clients: map[string]*http.Client{}}, nil
}

// Query is what a requester asks.
type Query struct {
	Provider   string
	Subject    string
	Purpose    string
	Categories []string
	Consent    string // compact consent JWS, if any
	Approval   string // compact special approval JWS (schemas.TypApproval), if any
	// Caller, set by the internal API, names who asked and why: it goes
	// into this node's outbound log; only its RefDigest goes to the
	// provider (claim "ref").
	Caller *Caller
}

// Caller is the organisation's own system, staff member and business
// reference behind a query made through the internal API.
type Caller struct {
	Client      string
	StaffID     string
	BusinessRef string
	RefDigest   string // opaque digest of BusinessRef (64 hex digits), sent to the provider
}

// Result is a verified, decrypted answer.
type Result struct {
	Response      schemas.QueryResponse
	OutboundIndex uint64 // this node's outbound-log entry holding the receipt
	// Signed is the provider's compact JWS (TypResponse) as it came out of
	// the JWE: verifiable by anyone holding the registry, so it can be
	// handed on as a part of a credit report (node/reports).
	Signed []byte
}

// NewRequestID returns a random 128-bit request id.
func NewRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Sign makes the signed query token for q with the given request id.
func (c *Client) Sign(q Query, requestID string) ([]byte, error) {
	claims := schemas.QueryClaims{
		ID:         requestID,
		IssuedAt:   c.opts.Clock().Unix(),
		Issuer:     c.opts.ID,
		Audience:   q.Provider,
		Subject:    q.Subject,
		Purpose:    q.Purpose,
		Categories: q.Categories,
		Consent:    q.Consent,
		Approval:   q.Approval,
	}
	if q.Caller != nil {
		claims.Ref = q.Caller.RefDigest
	}
	if strings.HasPrefix(q.Subject, "person:") {
		claims.SubjectType = schemas.SubjectPerson
	} else {
		claims.SubjectType = schemas.SubjectEnterprise
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	return jose.Sign(c.opts.Keys.Signer, c.opts.Keys.SigningKID, schemas.TypQuery, payload)
}

// Query signs and sends q, verifies the answer, and logs both ends of the
// exchange in the outbound log. A denial comes back as a *schemas.Error
// carrying the provider's code.
func (c *Client) Query(ctx context.Context, q Query) (*Result, error) {
	id := NewRequestID()
	tok, err := c.Sign(q, id)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeKeysUnavailable, err, "could not sign the query")
	}
	return c.Send(ctx, q, id, tok)
}

// Send sends an already signed query token (Query does both; Send alone lets
// a caller resend the same token, as the demo does to show replay refusal).
func (c *Client) Send(ctx context.Context, q Query, requestID string, tok []byte) (*Result, error) {
	sent := schemas.OutboundEntry{
		Stage: schemas.OutboundSent, RequestID: requestID, Provider: q.Provider, Subject: q.Subject,
		Purpose: q.Purpose, Categories: q.Categories, RequestDigest: inquirylog.Digest(tok),
	}
	if c := q.Caller; c != nil {
		sent.Client, sent.StaffID, sent.BusinessRef, sent.BusinessRefDigest = c.Client, c.StaffID, c.BusinessRef, c.RefDigest
	}
	if _, err := c.appendOutbound(ctx, sent); err != nil {
		return nil, schemas.Wrap(schemas.CodeLogUnavailable, err, "outbound log unavailable: query not sent")
	}
	resp, err := c.post(ctx, q.Provider, "/v1/query", tok)
	if err != nil {
		return nil, c.failed(ctx, sent, schemas.AsError(err, schemas.CodePeerUnavailable, "request failed"), nil)
	}
	if resp.status != http.StatusOK {
		e, idx := decodeError(resp)
		return nil, c.failed(ctx, sent, e, idx)
	}
	out, signed, err := c.open(q, requestID, resp.body)
	if err != nil {
		return nil, c.failed(ctx, sent, schemas.Wrap(schemas.CodePeerBadResponse, err, "provider answer failed verification"), nil)
	}
	idx := out.Receipt.LogIndex
	rcpt := sent
	rcpt.Stage = schemas.OutboundReceipt
	rcpt.Decision = schemas.DecisionAllow
	rcpt.ProviderLogIndex = &idx
	rcpt.ProviderLeafHash = out.Receipt.LeafHash
	rcpt.RecordsDigest = out.Receipt.RecordsDigest
	app, err := c.appendOutbound(ctx, rcpt)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeLogUnavailable, err, "outbound log unavailable: receipt not recorded")
	}
	return &Result{Response: *out, OutboundIndex: app.Index, Signed: signed}, nil
}

// open decrypts, verifies and checks a provider's answer against the query.
func (c *Client) open(q Query, requestID string, body []byte) (*schemas.QueryResponse, []byte, error) {
	signed, _, err := jose.Decrypt(body, c.opts.Keys.Encryption)
	if err != nil {
		return nil, nil, err
	}
	payload, err := c.verifyFrom(q.Provider, schemas.TypResponse, signed)
	if err != nil {
		return nil, nil, err
	}
	var out schemas.QueryResponse
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, nil, err
	}
	switch {
	case out.RequestID != requestID:
		return nil, nil, errors.New("response is for another request")
	case out.Issuer != q.Provider || out.Receipt.Provider != q.Provider:
		return nil, nil, errors.New("response issued by another provider")
	case out.Audience != c.opts.ID:
		return nil, nil, errors.New("response addressed to another node")
	}
	digest, err := inquirylog.RecordsDigest(out.Records)
	if err != nil {
		return nil, nil, err
	}
	if digest != out.Receipt.RecordsDigest {
		return nil, nil, errors.New("records do not match the receipt digest")
	}
	return &out, signed, nil
}

// failed records a failed or denied query in the outbound log, with the
// provider's log index when the provider logged the denial.
func (c *Client) failed(ctx context.Context, sent schemas.OutboundEntry, e *schemas.Error, providerIndex *uint64) error {
	f := sent
	f.Stage = schemas.OutboundFailed
	f.Decision = schemas.DecisionDeny
	f.Code = e.Code
	f.ProviderLogIndex = providerIndex
	if _, err := c.appendOutbound(ctx, f); err != nil {
		c.opts.Logger.LogAttrs(ctx, slog.LevelError, "outbound log append failed", slog.String("request_id", sent.RequestID), slog.Any("err", err))
	}
	c.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "query refused", slog.String("request_id", sent.RequestID),
		slog.String("provider", sent.Provider), slog.String("code", string(e.Code)))
	return e
}

func (c *Client) appendOutbound(ctx context.Context, e schemas.OutboundEntry) (store.Appended, error) {
	now := c.opts.Clock()
	leaf, err := inquirylog.NewOutboundLeaf(e, now)
	if err != nil {
		return store.Appended{}, err
	}
	return c.opts.Log.AppendOutbound(ctx, leaf)
}

type response struct {
	status int
	body   []byte
}

// post sends body to the provider's member endpoint over pinned mutual TLS.
func (c *Client) post(ctx context.Context, provider, path string, body []byte) (*response, error) {
	reg, err := c.opts.Registries.Snapshot(c.opts.Clock())
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	m, ok := reg.Member(provider)
	if !ok {
		return nil, schemas.Errorf(schemas.CodeUnknownMember, "provider %q is not in the registry", provider)
	}
	hc, err := c.httpClient(m)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "TLS configuration")
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(m.Endpoint, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "bad endpoint")
	}
	req.Header.Set("Content-Type", schemas.ContentTypeJOSE)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, fmt.Sprintf("provider %s unreachable", provider))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerUnavailable, err, "reading provider answer")
	}
	if len(b) > maxResponse {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "provider answer too large")
	}
	return &response{status: resp.StatusCode, body: b}, nil
}

// SendRaw posts an arbitrary body to a provider's member API and returns the
// status and body unverified. For tests and diagnostics.
func (c *Client) SendRaw(ctx context.Context, provider, path string, body []byte) (int, []byte, error) {
	r, err := c.post(ctx, provider, path, body)
	if err != nil {
		return 0, nil, err
	}
	return r.status, r.body, nil
}

// httpClient returns the pooled client for a provider. Its TLS pin is read
// from the registry in force at every handshake, so a re-registered
// certificate takes effect on the next connection.
func (c *Client) httpClient(m *schemas.Member) (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.clients[m.ID]; ok {
		return hc, nil
	}
	id := m.ID
	cfg, err := transport.ClientConfig(transport.ClientOptions{
		Certificate:  c.opts.Certificate,
		RootCAs:      c.opts.CAs,
		SessionCache: tls.NewLRUClientSessionCache(64),
		Pin: func() (string, bool) {
			reg, err := c.opts.Registries.Snapshot(c.opts.Clock())
			if err != nil {
				return "", false
			}
			m, ok := reg.Member(id)
			if !ok {
				return "", false
			}
			return m.TLSCertSHA256, true
		},
	})
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = &http.Transport{
		TLSClientConfig:     cfg,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	if c.wrap != nil {
		rt = c.wrap(rt)
	}
	hc := &http.Client{Transport: rt}
	c.clients[id] = hc
	return hc, nil
}

// decodeError reads a provider's error body: its code and the index of the
// log entry recording the denial.
func decodeError(r *response) (*schemas.Error, *uint64) {
	var body schemas.ErrorBody
	if err := json.Unmarshal(r.body, &body); err != nil || !body.Error.Code.Known() {
		return schemas.Errorf(schemas.CodePeerBadResponse, "provider answered HTTP %d without a known error code", r.status), nil
	}
	return &schemas.Error{Code: body.Error.Code, Message: body.Error.Message}, body.Error.LogIndex
}
