package node_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
	"github.com/jackc/pgx/v5"
)

// onPostgres moves the provider tax-dept to a fresh PostgreSQL schema.
func onPostgres(t *testing.T) (func(*devnet.Network), *string) {
	url := new(string)
	return func(n *devnet.Network) {
		*url = pgtest.Schema(t)
		if err := n.SetStore("tax-dept", *url); err != nil {
			t.Fatal(err)
		}
	}, url
}

// TestPostgresProviderAnswers: an authorised query answered by a provider
// whose store is PostgreSQL, with the inquiry in its log there, and the
// outcome on the provider's /metrics.
func TestPostgresProviderAnswers(t *testing.T) {
	prep, _ := onPostgres(t)
	f := startFed(t, prep)
	if _, ok := f.nodes["tax-dept"].Store.(*store.Postgres); !ok {
		t.Fatalf("tax-dept store is %T, want *store.Postgres", f.nodes["tax-dept"].Store)
	}
	ctx := context.Background()
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 5)
	q := f.loanQuery(tok)
	id := peer.NewRequestID()
	signed, err := f.bank().Sign(q, id)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.bank().Send(ctx, q, id, signed)
	if err != nil {
		t.Fatalf("authorised query: %v", err)
	}
	if !res.Response.Decision.Allow || len(res.Response.Records) != 3 {
		t.Fatalf("response: allow=%v, %d records", res.Response.Decision.Allow, len(res.Response.Records))
	}
	if n := f.logSize(t, "tax-dept"); n != 1 {
		t.Fatalf("provider inquiry log size %d, want 1", n)
	}
	// The same request again is a replay, refused from PostgreSQL's guard.
	if _, err := f.bank().Send(ctx, q, id, signed); codeOf(t, err) != "replay" {
		t.Fatalf("replay: %v", err)
	}

	// /metrics on the member listener (mutual TLS, as bank-a).
	status, body := memberGet(t, f.net, "bank-a", hostPort(f.memberURL("tax-dept"))+"/metrics")
	if status != 200 {
		t.Fatalf("GET /metrics: %d", status)
	}
	for _, want := range []string{
		`creditnode_queries_total{code="ok",decision="allow",node="tax-dept",purpose="loan_approval"} 1`,
		`creditnode_queries_total{code="replay",decision="deny",node="tax-dept",purpose="loan_approval"} 1`,
		`creditnode_log_size{log="inquiry",node="tax-dept"} 2`,
		`creditnode_http_request_duration_seconds_count{listener="member",node="tax-dept",route="POST /v1/query",status="200"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestShutdownDrainsInFlight: a query in flight when the node is told to
// stop completes, and is answered, before Serve returns. The query is held
// in flight by locking the provider's inquiry-log head in PostgreSQL from
// another connection, then released after shutdown has begun.
func TestShutdownDrainsInFlight(t *testing.T) {
	prep, url := onPostgres(t)
	f := startFed(t, prep)
	ctx := context.Background()
	tax := f.nodes["tax-dept"]
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment"}, 5)
	q := f.loanQuery(tok)
	q.Categories = []string{"tax_payment"}

	lock, err := pgx.Connect(ctx, *url)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(ctx)
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT size FROM log_heads WHERE log = 'inquiry_log' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		id := peer.NewRequestID()
		signed, err := f.bank().Sign(q, id)
		if err == nil {
			_, err = f.bank().Send(ctx, q, id, signed)
		}
		done <- err
	}()
	// Wait until the query is blocked on the lock.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var waiting int
		if err := lock.QueryRow(ctx, `SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			WHERE NOT l.granted AND a.query LIKE 'UPDATE log_heads%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the query never reached the store")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := f.stopNode("tax-dept")
	select {
	case <-stopped:
		t.Fatal("Serve returned with a request in flight")
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight query failed during shutdown: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after draining")
	}
	// And the listener is closed now.
	if c, err := net.DialTimeout("tcp", tax.Config.Listen, time.Second); err == nil {
		c.Close()
		t.Fatal("member listener still accepting after shutdown")
	}
}

// memberGet GETs https://addrPath as member id, over mutual TLS with the
// member's own certificate.
func memberGet(t *testing.T, n *devnet.Network, id, addrPath string) (int, []byte) {
	t.Helper()
	dir := n.NodeDir(id)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: n.CA.Pool(), MinVersion: tls.VersionTLS12}}}
	resp, err := cl.Get("https://" + addrPath)
	if err != nil {
		t.Fatalf("GET %s: %v", addrPath, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (f *fed) memberURL(id string) string {
	m, _ := f.nodes["bank-a"].Registry.Current().Member(id)
	return m.Endpoint
}

// stopNode cancels node id's Serve; the channel closes when Serve returned.
func (f *fed) stopNode(id string) <-chan struct{} { return f.stops[id]() }
