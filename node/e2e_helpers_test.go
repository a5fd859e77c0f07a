package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/openapitest"
)

// fed is a running three-node federation on loopback, each node serving real
// TLS listeners in this process.
type fed struct {
	net   *devnet.Network
	nodes map[string]*node.Node
	smes  []devnet.SME
	subj  *devnet.Subject                   // enrolled subject: smes[0]
	stops map[string]func() <-chan struct{} // stops one node's Serve; the channel closes when it returned
}

func specs() []devnet.Spec {
	return []devnet.Spec{
		{ID: "bank-a", Organisation: "Bank A", USCC: "91110000100000016D", Roles: []string{"bank"}},
		{ID: "tax-dept", Organisation: "Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"tax_payment": "authorised", "social_insurance": "authorised", "customs": "restricted"}},
		{ID: "market-reg", Organisation: "Market Regulation", USCC: "11110000000017232M", Roles: []string{"department", "registrar"},
			Catalog: map[string]string{"registration": "public", "administrative_penalty": "shared"}},
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startFed builds the network and starts every node; all stop at test end.
// prepare, if given, runs on the network before records are imported and the
// nodes open (e2e_postgres_test.go moves a node to PostgreSQL).
func startFed(t *testing.T, prepare ...func(*devnet.Network)) *fed {
	t.Helper()
	return startFedSpecs(t, specs(), prepare...)
}

// startFedSpecs is startFed with another list of nodes (it must still hold
// bank-a, tax-dept and the registrar market-reg). Ports are picked free
// when the network is built and bound when the nodes start; another test
// process may bind one in between, so a federation whose node finds its
// port taken is built again, up to three times.
func startFedSpecs(t *testing.T, nodes []devnet.Spec, prepare ...func(*devnet.Network)) *fed {
	t.Helper()
	for attempt := 1; ; attempt++ {
		f, err := tryStartFed(t, nodes, prepare...)
		if err == nil {
			return f
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("building the federation again: %v", err)
	}
}

// tryStartFed builds the network and starts its nodes; a node that cannot
// bind its port stops the nodes started so far and is returned as an error.
func tryStartFed(t *testing.T, nodes []devnet.Spec, prepare ...func(*devnet.Network)) (*fed, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	n, err := devnet.Create(dir, nodes)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prepare {
		p(n)
	}
	smes, err := devnet.DemoSMEs(3)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := n.ImportRecords(ctx, "tax-dept", devnet.TaxRecords(smes, now)); err != nil {
		t.Fatal(err)
	}
	if err := n.ImportRecords(ctx, "market-reg", devnet.RegistrationRecords(smes, now)); err != nil {
		t.Fatal(err)
	}
	f := &fed{net: n, nodes: map[string]*node.Node{}, smes: smes, stops: map[string]func() <-chan struct{}{}}
	done := make(chan struct{}, len(n.Specs))
	stopAll := func() {
		cancel()
		for range f.nodes {
			<-done
		}
		for _, nd := range f.nodes {
			nd.Close()
		}
	}
	for _, s := range n.Specs {
		nd, err := node.Open(ctx, n.NodeDir(s.ID), quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		validateExchanges(t, nd)
		f.nodes[s.ID] = nd
		ready := make(chan struct{})
		nctx, ncancel := context.WithCancel(ctx)
		served := make(chan struct{})
		failed := make(chan error, 1)
		f.stops[s.ID] = func() <-chan struct{} { ncancel(); return served }
		go func() {
			if err := nd.Serve(nctx, func() { close(ready) }); err != nil {
				select {
				case <-ready:
					t.Errorf("serve %s: %v", s.ID, err)
				default:
					failed <- fmt.Errorf("serve %s: %w", s.ID, err)
				}
			}
			close(served)
			done <- struct{}{}
		}()
		select {
		case <-ready:
		case err := <-failed:
			stopAll()
			return nil, err
		case <-time.After(10 * time.Second):
			t.Fatalf("node %s did not start", s.ID)
		}
	}
	t.Cleanup(stopAll)
	if f.subj, err = n.EnrolSubject("market-reg", smes[0].USCC); err != nil {
		t.Fatal(err)
	}
	return f, nil
}

func (f *fed) bank() *peer.Client { return f.nodes["bank-a"].Client }

// consent grants a consent from the enrolled subject to bank-a.
func (f *fed) consent(t *testing.T, purpose string, cats []string, maxUses int) (string, string) {
	t.Helper()
	tok, id, err := devnet.GrantConsent(f.subj, "bank-a", purpose, cats, []string{"tax-dept"}, time.Hour, maxUses)
	if err != nil {
		t.Fatal(err)
	}
	return tok, id
}

func (f *fed) loanQuery(consentTok string) peer.Query {
	return peer.Query{Provider: "tax-dept", Subject: f.smes[0].USCC, Purpose: "loan_approval",
		Categories: []string{"tax_payment", "social_insurance"}, Consent: consentTok}
}

// codeOf extracts the wire code of a client error.
func codeOf(t *testing.T, err error) schemas.Code {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got success")
	}
	var e *schemas.Error
	if !errors.As(err, &e) {
		t.Fatalf("error without a wire code: %v", err)
	}
	return e.Code
}

// raw posts body to tax-dept's member API as bank-a and decodes the error.
func (f *fed) raw(t *testing.T, body []byte) (int, schemas.ErrorBody) {
	t.Helper()
	status, resp, err := f.bank().SendRaw(context.Background(), "tax-dept", "/v1/query", body)
	if err != nil {
		t.Fatalf("transport: %v", err)
	}
	var eb schemas.ErrorBody
	if status != 200 {
		if err := json.Unmarshal(resp, &eb); err != nil {
			t.Fatalf("error body not JSON (status %d): %q", status, resp)
		}
	}
	return status, eb
}

// subjectClient is the enrolled subject's client to tax-dept's public API.
func (f *fed) subjectClient(t *testing.T, s *devnet.Subject) *peer.SubjectClient {
	t.Helper()
	hc := peer.NewSubjectHTTPClient(f.net.CA.Pool())
	hc.Transport = validatingTransport(t, schemas.ListenerSubject, hc.Transport)
	return &peer.SubjectClient{Key: s.Key, Cert: s.Cert, Registry: f.nodes["bank-a"].Registry.Current(), HTTP: hc}
}

// validateExchanges makes every listener of nd check each request it
// serves and its answer against the OpenAPI document (schemas/openapi.yaml),
// and nd's peer client each exchange it has with another node's member
// listener: a route or answer departing from it fails t.
func validateExchanges(t *testing.T, nd *node.Node) {
	t.Helper()
	nd.Wrap = openapitest.Wrap(t.Error)
	nd.Client.WrapTransport(func(rt http.RoundTripper) http.RoundTripper {
		return validatingTransport(t, schemas.ListenerMember, rt)
	})
}

// validatingTransport checks every exchange of a client with a listener
// against the OpenAPI document, as the client sees it.
func validatingTransport(t *testing.T, listener string, base http.RoundTripper) http.RoundTripper {
	t.Helper()
	v, err := openapitest.New(listener, false)
	if err != nil {
		t.Fatal(err)
	}
	return &openapitest.Transport{Base: base, Validator: v, Fail: t.Error}
}

func (f *fed) publicURL(id string) string {
	m, _ := f.nodes["bank-a"].Registry.Current().Member(id)
	return m.PublicEndpoint
}

// logSize is the provider's inquiry log size.
func (f *fed) logSize(t *testing.T, id string) uint64 {
	t.Helper()
	n, err := f.nodes[id].Store.InquiryLogSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// signQuery signs arbitrary query claims with bank-a's key.
func (f *fed) signQuery(t testing.TB, c schemas.QueryClaims) []byte {
	t.Helper()
	b := f.nodes["bank-a"]
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jose.Sign(b.Keys.Signer, b.Keys.SigningKID, schemas.TypQuery, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (f *fed) claims(consentTok string) schemas.QueryClaims {
	return schemas.QueryClaims{ID: peer.NewRequestID(), IssuedAt: time.Now().Unix(), Issuer: "bank-a", Audience: "tax-dept",
		Subject: f.smes[0].USCC, SubjectType: schemas.SubjectEnterprise, Purpose: "loan_approval",
		Categories: []string{"tax_payment"}, Consent: consentTok}
}

func containsKey(data []byte, key string) bool { return bytes.Contains(data, []byte(`"`+key+`"`)) }

func hostPort(url string) string { return strings.TrimPrefix(url, "https://") }
