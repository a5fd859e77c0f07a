package node_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/devnet"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/node/server"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/schemas"
)

// registryVerifier is the checkpoint verifier of node id's log, with the
// signing key the federation registry (as bank-a holds it) lists for id.
func (f *fed) registryVerifier(t *testing.T, id string, log store.LogID) note.Verifier {
	t.Helper()
	kid := f.nodes[id].Keys.SigningKID
	pub, ok := f.nodes["bank-a"].Registry.Current().SigningKey(id, kid)
	if !ok {
		t.Fatalf("registry lists no key %s for %s", kid, id)
	}
	v, err := tlog.NewVerifier(tlog.Origin(id, log), pub)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// publicGet GETs url (a node's public, server-TLS listener) as anyone.
func (f *fed) publicGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := peer.NewSubjectHTTPClient(f.net.CA.Pool()).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// checkpointAtLeast fetches url until it serves a checkpoint, verified with
// v, of at least size leaves (publication follows the batch that holds a
// receipt, asynchronously).
func (f *fed) checkpointAtLeast(t *testing.T, get func(string) (int, []byte), url string, v note.Verifier, size uint64) tlog.Checkpoint {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := get(url)
		if status == http.StatusOK {
			cp, err := tlog.VerifyCheckpoint(body, v)
			if err != nil {
				t.Fatalf("checkpoint from %s does not verify with the registry key: %v\n%s", url, err, body)
			}
			if cp.Size >= size {
				return cp
			}
		} else if status != http.StatusNotFound {
			t.Fatalf("GET %s: %d %s", url, status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size ≥ %d at %s (last: %d %s)", size, url, status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getJSON GETs url with get and decodes a 200 answer.
func getJSON[T any](t *testing.T, get func(string) (int, []byte), url string) T {
	t.Helper()
	status, body := get(url)
	if status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", url, status, body)
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return v
}

// wantLogError checks a 400 with the stable code.
func wantLogError(t *testing.T, what string, status int, body []byte, code schemas.Code) {
	t.Helper()
	var eb schemas.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("%s: error body not JSON (status %d): %s", what, status, body)
	}
	if status != http.StatusBadRequest || eb.Error.Code != code {
		t.Fatalf("%s: %d %s, want 400 %s", what, status, body, code)
	}
}

// TestLogRoutesOverLoopback: the provider's checkpoint, fetched from its
// public listener, verifies under the key the registry lists for it; the
// receipt of an answered query is proved included in it (member listener,
// mutual TLS); a later checkpoint is proved consistent with it; impossible
// ranges and malformed parameters are 400 bad_log_range; and the requester
// serves its outbound log's checkpoint and proofs, which cover the receipt
// it logged.
func TestLogRoutesOverLoopback(t *testing.T) { logRoutesOverLoopback(t) }

// TestLogRoutesOverLoopbackPostgres: the same with the provider's log, tree
// and checkpoints in PostgreSQL.
func TestLogRoutesOverLoopbackPostgres(t *testing.T) {
	prep, _ := onPostgres(t)
	logRoutesOverLoopback(t, prep)
}

func logRoutesOverLoopback(t *testing.T, prepare ...func(*devnet.Network)) {
	f := startFed(t, prepare...)
	ctx := context.Background()
	tok, _ := f.consent(t, "loan_approval", []string{"tax_payment", "social_insurance"}, 10)
	res, err := f.bank().Query(ctx, f.loanQuery(tok))
	if err != nil {
		t.Fatal(err)
	}
	rc := res.Response.Receipt
	leafHash, err := hex.DecodeString(rc.LeafHash)
	if err != nil || rc.Provider != "tax-dept" {
		t.Fatalf("receipt %+v: %v", rc, err)
	}

	pub := f.publicURL("tax-dept")
	member := func(url string) (int, []byte) {
		return memberGet(t, f.net, "bank-a", hostPort(f.memberURL("tax-dept"))+url)
	}
	public := func(url string) (int, []byte) { return f.publicGet(t, pub+url) }
	inqVer := f.registryVerifier(t, "tax-dept", store.LogInquiry)

	// Checkpoint, public listener; the member listener serves the same log.
	cp1 := f.checkpointAtLeast(t, public, "/.well-known/checkpoint", inqVer, rc.LogIndex+1)
	if cp1.Origin != "creditexchange/tax-dept/inquiry" {
		t.Fatalf("origin %q", cp1.Origin)
	}
	f.checkpointAtLeast(t, member, "/.well-known/checkpoint", inqVer, cp1.Size)
	// A checkpoint is not accepted under another member's key.
	if status, body := public("/.well-known/checkpoint"); status == http.StatusOK {
		if _, err := tlog.VerifyCheckpoint(body, f.registryVerifier(t, "bank-a", store.LogInquiry)); err == nil {
			t.Fatal("tax-dept's checkpoint verified under bank-a's key")
		}
	}

	// Inclusion of the receipt's leaf.
	ip := getJSON[schemas.InclusionProof](t, member, inclusionURL(server.RouteInclusionProof, rc.LogIndex, cp1.Size))
	if ip.Index != rc.LogIndex || ip.Size != cp1.Size {
		t.Fatalf("proof for %d/%d, asked %d/%d", ip.Index, ip.Size, rc.LogIndex, cp1.Size)
	}
	if err := tlog.VerifyInclusion(leafHash, rc.LogIndex, cp1.Size, ip.Hashes, cp1.Hash); err != nil {
		t.Fatalf("receipt not included in the checkpoint: %v", err)
	}
	other := append([]byte(nil), leafHash...)
	other[0] ^= 1
	if err := tlog.VerifyInclusion(other, rc.LogIndex, cp1.Size, ip.Hashes, cp1.Hash); err == nil {
		t.Fatal("inclusion proof verified for another leaf")
	}

	// More inquiries, then consistency between the two checkpoints.
	for range 3 {
		if _, err := f.bank().Query(ctx, f.loanQuery(tok)); err != nil {
			t.Fatal(err)
		}
	}
	cp2 := f.checkpointAtLeast(t, public, "/.well-known/checkpoint", inqVer, cp1.Size+3)
	cons := getJSON[schemas.ConsistencyProof](t, public, consistencyURL(server.RouteConsistencyProof, cp1.Size, cp2.Size))
	if cons.From != cp1.Size || cons.To != cp2.Size {
		t.Fatalf("consistency proof %d→%d, asked %d→%d", cons.From, cons.To, cp1.Size, cp2.Size)
	}
	if err := tlog.VerifyConsistency(cp1.Size, cp2.Size, cons.Hashes, cp1.Hash, cp2.Hash); err != nil {
		t.Fatalf("checkpoints %d and %d inconsistent: %v", cp1.Size, cp2.Size, err)
	}
	// The first receipt is still included at the new size.
	ip2 := getJSON[schemas.InclusionProof](t, public, inclusionURL(server.RouteInclusionProof, rc.LogIndex, cp2.Size))
	if err := tlog.VerifyInclusion(leafHash, rc.LogIndex, cp2.Size, ip2.Hashes, cp2.Hash); err != nil {
		t.Fatalf("receipt not included at size %d: %v", cp2.Size, err)
	}

	// Bad parameters: 400 bad_log_range, on both listeners.
	beyond := cp2.Size + 1000
	for _, c := range []struct{ name, url string }{
		{"index missing", "/v1/log/proof/inclusion?size=3"},
		{"size missing", "/v1/log/proof/inclusion?index=0"},
		{"index not a number", "/v1/log/proof/inclusion?index=abc&size=3"},
		{"negative index", "/v1/log/proof/inclusion?index=-1&size=3"},
		{"index repeated", "/v1/log/proof/inclusion?index=0&index=1&size=3"},
		{"index = size", inclusionURL(server.RouteInclusionProof, cp1.Size, cp1.Size)},
		{"size beyond the tree", inclusionURL(server.RouteInclusionProof, 0, beyond)},
		{"size over 2^63", "/v1/log/proof/inclusion?index=0&size=18446744073709551615"},
		{"from missing", "/v1/log/proof/consistency?to=3"},
		{"from 0", consistencyURL(server.RouteConsistencyProof, 0, cp2.Size)},
		{"from > to", consistencyURL(server.RouteConsistencyProof, cp2.Size, cp1.Size)},
		{"to beyond the tree", consistencyURL(server.RouteConsistencyProof, 1, beyond)},
		{"to not a number", "/v1/log/proof/consistency?from=1&to=x"},
	} {
		status, body := public(c.url)
		wantLogError(t, "public "+c.name, status, body, schemas.CodeBadLogRange)
		status, body = member(c.url)
		wantLogError(t, "member "+c.name, status, body, schemas.CodeBadLogRange)
	}

	// The requester's outbound log: its checkpoint, under bank-a's registry
	// key, covers the receipt bank-a logged, and grows consistently.
	outVer := f.registryVerifier(t, "bank-a", store.LogOutbound)
	bankPublic := func(url string) (int, []byte) { return f.publicGet(t, f.publicURL("bank-a")+url) }
	bankMember := func(url string) (int, []byte) {
		return memberGet(t, f.net, "tax-dept", hostPort(f.memberURL("bank-a"))+url)
	}
	ob, ok := f.nodes["bank-a"].Store.(interface {
		OutboundLeaves(ctx context.Context, from, to uint64) ([]store.StoredLeaf, error)
	})
	if !ok {
		t.Fatalf("bank-a's store %T cannot read its outbound log", f.nodes["bank-a"].Store)
	}
	ls, err := ob.OutboundLeaves(ctx, res.OutboundIndex, res.OutboundIndex+1)
	if err != nil {
		t.Fatal(err)
	}
	ocp1 := f.checkpointAtLeast(t, bankPublic, "/.well-known/checkpoint/outbound", outVer, res.OutboundIndex+1)
	if ocp1.Origin != "creditexchange/bank-a/outbound" {
		t.Fatalf("outbound origin %q", ocp1.Origin)
	}
	f.checkpointAtLeast(t, bankMember, "/.well-known/checkpoint/outbound", outVer, ocp1.Size)
	// The inquiry-log verifier of the same node does not accept it: the
	// origins differ.
	if status, body := bankPublic("/.well-known/checkpoint/outbound"); status == http.StatusOK {
		if _, err := tlog.VerifyCheckpoint(body, f.registryVerifier(t, "bank-a", store.LogInquiry)); err == nil {
			t.Fatal("outbound checkpoint verified as the inquiry log's")
		}
	}
	oip := getJSON[schemas.InclusionProof](t, bankPublic, inclusionURL(server.RouteOutboundInclusionProof, res.OutboundIndex, ocp1.Size))
	if err := tlog.VerifyInclusion(ls[0].LeafHash, res.OutboundIndex, ocp1.Size, oip.Hashes, ocp1.Hash); err != nil {
		t.Fatalf("outbound receipt entry not included: %v", err)
	}
	for range 2 {
		if _, err := f.bank().Query(ctx, f.loanQuery(tok)); err != nil {
			t.Fatal(err)
		}
	}
	ocp2 := f.checkpointAtLeast(t, bankPublic, "/.well-known/checkpoint/outbound", outVer, ocp1.Size+2)
	ocons := getJSON[schemas.ConsistencyProof](t, bankMember, consistencyURL(server.RouteOutboundConsistencyProof, ocp1.Size, ocp2.Size))
	if err := tlog.VerifyConsistency(ocp1.Size, ocp2.Size, ocons.Hashes, ocp1.Hash, ocp2.Hash); err != nil {
		t.Fatalf("outbound checkpoints inconsistent: %v", err)
	}
	status, body := bankPublic(inclusionURL(server.RouteOutboundInclusionProof, ocp2.Size, ocp2.Size))
	wantLogError(t, "outbound index = size", status, body, schemas.CodeBadLogRange)
	status, body = bankPublic(consistencyURL(server.RouteOutboundConsistencyProof, 0, ocp2.Size))
	wantLogError(t, "outbound from 0", status, body, schemas.CodeBadLogRange)
}

// inclusionURL is the path and query of route (a "GET /path" pattern).
func inclusionURL(route string, index, size uint64) string {
	return strings.TrimPrefix(route, "GET ") + "?index=" + strconv.FormatUint(index, 10) + "&size=" + strconv.FormatUint(size, 10)
}

func consistencyURL(route string, from, to uint64) string {
	return strings.TrimPrefix(route, "GET ") + "?from=" + strconv.FormatUint(from, 10) + "&to=" + strconv.FormatUint(to, 10)
}
