package portal_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/config"
	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// fed is a three-node federation on loopback, every node serving real TLS
// listeners in this process with the portal enabled, tax-dept's public
// endpoint reached through hider.
type fed struct {
	net   *devnet.Network
	nodes map[string]*node.Node
	smes  []devnet.SME
	subj  *devnet.Subject
	hider *hider
}

func specs() []devnet.Spec {
	return []devnet.Spec{
		{ID: "bank-a", Organisation: "Bank A", USCC: "91110000100000016D", Roles: []string{"bank"}},
		// tax-dept gives few free reports, so that a test reaches the limit.
		{ID: "tax-dept", Organisation: "Tax Service", USCC: "11110000000013127H", Roles: []string{"department"},
			Catalog: map[string]string{"tax_payment": "authorised", "social_insurance": "authorised"}, FreeReportsPerYear: 3},
		{ID: "market-reg", Organisation: "Market Regulation", USCC: "11110000000017232M", Roles: []string{"department", "registrar"},
			Catalog: map[string]string{"registration": "public", "administrative_penalty": "shared"}},
	}
}

// startFed builds the federation and starts its nodes. Ports are picked
// free when the network is built and bound when the nodes start; another
// test process may bind one in between, so a federation whose node finds
// its port taken is built again, up to three times.
func startFed(t testing.TB, witnesses int) *fed {
	t.Helper()
	for attempt := 1; ; attempt++ {
		f, err := tryStartFed(t, witnesses)
		if err == nil {
			return f
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("building the federation again: %v", err)
	}
}

// tryStartFed is one attempt of startFed: a node that cannot bind its port
// stops the nodes started so far and is returned as an error.
func tryStartFed(t testing.TB, witnesses int) (*fed, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := devnet.Create(t.TempDir(), specs())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range n.Specs {
		cfg, err := config.Load(n.NodeDir(s.ID))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Portal = config.Portal{Enabled: true, Witnesses: witnesses}
		if err := cfg.Save(n.NodeDir(s.ID)); err != nil {
			t.Fatal(err)
		}
	}
	// tax-dept's subjects reach it through a proxy that can turn dishonest.
	taxKeys, err := keys.Load(n.NodeDir("tax-dept"))
	if err != nil {
		t.Fatal(err)
	}
	tax, err := node.MemberEntry(n.NodeDir("tax-dept"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHider(t, tax.PublicEndpoint, taxKeys)
	if err := n.SignRegistry(h.route); err != nil {
		t.Fatal(err)
	}
	smes, err := devnet.DemoSMEs(3)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := n.ImportRecords(ctx, "tax-dept", devnet.TaxRecords(smes, now)); err != nil {
		t.Fatal(err)
	}
	if err := n.ImportRecords(ctx, "market-reg", append(devnet.RegistrationRecords(smes, now), penalty(smes[0].USCC, now))); err != nil {
		t.Fatal(err)
	}
	f := &fed{net: n, nodes: map[string]*node.Node{}, smes: smes, hider: h}
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
		nd, err := node.Open(ctx, n.NodeDir(s.ID), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		f.nodes[s.ID] = nd
		ready := make(chan struct{})
		failed := make(chan error, 1)
		go func() {
			if err := nd.Serve(ctx, func() { close(ready) }); err != nil {
				select {
				case <-ready:
					t.Errorf("serve %s: %v", s.ID, err)
				default:
					failed <- fmt.Errorf("serve %s: %w", s.ID, err)
				}
			}
			done <- struct{}{}
		}()
		select {
		case <-ready:
		case err := <-failed:
			stopAll()
			return nil, err
		case <-time.After(30 * time.Second):
			t.Fatalf("node %s did not start", s.ID)
		}
	}
	t.Cleanup(stopAll)
	if f.subj, err = n.EnrolSubject("market-reg", smes[0].USCC); err != nil {
		t.Fatal(err)
	}
	return f, nil
}

// penaltyID is the administrative penalty market-reg holds on the first SME.
const penaltyID = "pen-1"

func penalty(subject string, now time.Time) records.Record {
	b, _ := json.Marshal(map[string]any{"decision_no": "AMR-2026-1", "authority": "Administration for Market Regulation",
		"decision_date": now.AddDate(0, -2, 0).Format(time.DateOnly), "violation": "late annual report", "penalty": "warning"})
	return records.Record{Subject: subject, Category: "administrative_penalty", ID: penaltyID, Data: b, UpdatedAt: now.UTC()}
}

// commit makes each provider's subject checkpoint current and has every
// other member witness it, then lets the provider collect the
// cosignatures.
func (f *fed) commit(t testing.TB, providers ...string) {
	t.Helper()
	ctx := context.Background()
	for _, p := range providers {
		nd := f.nodes[p]
		if _, err := nd.Logs.Inquiry.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := nd.Witnessing.Committer.Advance(ctx); err != nil {
			t.Fatal(err)
		}
		for id, w := range f.nodes {
			if id != p {
				if err := w.Witnessing.Witness.Poll(ctx, p); err != nil {
					t.Fatalf("%s witnessing %s: %v", id, p, err)
				}
			}
		}
		for id := range f.nodes {
			if id != p {
				if err := nd.Witnessing.Witness.Poll(ctx, id); err != nil {
					t.Fatalf("%s collecting from %s: %v", p, id, err)
				}
			}
		}
	}
}

// publicURL is the public endpoint of id in the registry in force.
func (f *fed) publicURL(id string) string {
	m, _ := f.nodes["bank-a"].Registry.Current().Member(id)
	return m.PublicEndpoint
}

// hider forwards everything to a provider's public listener; once hide is
// set, it drops the subject's denied entries from the provider's answer to
// a read and signs the doctored answer with the provider's registered key,
// as a provider hiding an inquiry would. Once alterReport is set, it
// changes the records of a signed credit report in transit and keeps the
// provider's signature, as a party between the subject and the provider
// would. Once otherSubject is set to a subject id, it re-signs the report
// with the provider's key as that subject's, as a provider passing off
// another subject's report would.
type hider struct {
	srv          *httptest.Server
	hide         atomic.Bool
	alterReport  atomic.Bool
	otherSubject atomic.Pointer[string]
}

func newHider(t testing.TB, target string, k *keys.NodeKeys) *hider {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	h := &hider{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test's own loopback node
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path == "/v1/subject/report" && resp.StatusCode == http.StatusOK {
			if other := h.otherSubject.Load(); other != nil {
				return reportOf(resp, *other, k)
			}
			if h.alterReport.Load() {
				return alterReport(resp)
			}
			return nil
		}
		if !h.hide.Load() || resp.Request.URL.Path != "/v1/subject/inquiries" || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		payload, _, err := jose.Verify(body, schemas.TypSubjectLog, k.SigningPublic())
		if err != nil {
			return err
		}
		var sl schemas.SubjectLog
		if err := json.Unmarshal(payload, &sl); err != nil {
			return err
		}
		sl.Entries = slices.DeleteFunc(sl.Entries, func(e schemas.LoggedEntry) bool { return e.Entry.Decision == schemas.DecisionDeny })
		b, _ := json.Marshal(sl)
		forged, err := jose.Sign(k.Signer, k.SigningKID, schemas.TypSubjectLog, b)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(forged))
		resp.ContentLength = int64(len(forged))
		resp.Header.Set("Content-Length", strconv.Itoa(len(forged)))
		return nil
	}
	h.srv = httptest.NewTLSServer(rp)
	t.Cleanup(h.srv.Close)
	return h
}

// alterReport rewrites every record's data in a signed report to an
// invented debt, keeping the header and signature of the original.
func alterReport(resp *http.Response) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	resp.Body.Close()
	parts := strings.Split(string(body), ".")
	if len(parts) != 3 {
		return fmt.Errorf("report is not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var rep schemas.SubjectReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return err
	}
	for i := range rep.Records {
		rep.Records[i].Data = json.RawMessage(`{"arrears":"9999999"}`)
	}
	b, _ := json.Marshal(rep)
	altered := []byte(parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2])
	resp.Body = io.NopCloser(bytes.NewReader(altered))
	resp.ContentLength = int64(len(altered))
	resp.Header.Set("Content-Length", strconv.Itoa(len(altered)))
	return nil
}

// reportOf re-signs a report with k as the report of subject.
func reportOf(resp *http.Response, subject string, k *keys.NodeKeys) error {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	resp.Body.Close()
	payload, _, err := jose.Verify(body, schemas.TypSubjectReport, k.SigningPublic())
	if err != nil {
		return err
	}
	var rep schemas.SubjectReport
	if err := json.Unmarshal(payload, &rep); err != nil {
		return err
	}
	rep.Subject = subject
	b, _ := json.Marshal(rep)
	forged, err := jose.Sign(k.Signer, k.SigningKID, schemas.TypSubjectReport, b)
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(forged))
	resp.ContentLength = int64(len(forged))
	resp.Header.Set("Content-Length", strconv.Itoa(len(forged)))
	return nil
}

// route sends subjects to tax-dept through the hider (a registry mutation).
func (h *hider) route(r *schemas.Registry) {
	for i := range r.Members {
		if r.Members[i].ID == "tax-dept" {
			r.Members[i].PublicEndpoint = h.srv.URL
		}
	}
}

// resign rebuilds the registry from the node directories (as `registry
// build` and `registry sign` do), keeping the hider's route, and has every
// node load it.
func (f *fed) resign(t testing.TB) {
	t.Helper()
	if err := f.net.SignRegistry(f.hider.route); err != nil {
		t.Fatal(err)
	}
	for id, nd := range f.nodes {
		if err := nd.Registry.Load(); err != nil {
			t.Fatalf("%s loading the registry: %v", id, err)
		}
	}
}

// payloadOf decodes a compact JWS's payload without checking it (the
// test reads what the page produced; the providers check it).
func payloadOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
