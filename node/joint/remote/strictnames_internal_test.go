package remote

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/schematest"
)

// TestJointRequestRefusesAmbiguousNames: a joint request signed again with
// a duplicate member or a member name in another case is refused
// malformed_request by the host, and logged.
func TestJointRequestRefusesAmbiguousNames(t *testing.T) {
	f := newStFed(t)
	a := f.client("bank-a")
	f.propose(t, a, "job-1")
	nk := f.reg.members["bank-a"].keys
	payload, _ := json.Marshal(schemas.JointRequest{ID: "r-1", IssuedAt: time.Now().Unix(), Issuer: "bank-a", Audience: "tax-dept",
		Op: schemas.JointOpStatus, Job: "job-1"})
	tok, err := jose.Sign(nk.Signer, nk.SigningKID, schemas.TypJointRequest, payload)
	if err != nil {
		t.Fatal(err)
	}
	send := stSender{mux: f.mux, cert: f.reg.members["bank-a"].cert}
	for _, v := range schematest.NameVariants(t, tok, nk.Signer) {
		t.Run(v.Name, func(t *testing.T) {
			before := len(f.log.entries)
			status, body, _ := send.SendRaw(t.Context(), "tax-dept", PathStatus, v.Token)
			if c := wireCode(t, status, body); c != schemas.CodeMalformedRequest {
				t.Fatalf("code %s, want malformed_request", c)
			}
			if len(f.log.entries) != before+1 || f.log.entries[before].Code != schemas.CodeMalformedRequest {
				t.Fatal("refusal not logged")
			}
		})
	}
	// The valid request is answered.
	if status, body, _ := send.SendRaw(t.Context(), "tax-dept", PathStatus, tok); status != 200 {
		t.Fatalf("valid request: %d %s", status, body)
	}
}

// TestJointAnswerRefusesAmbiguousNames: an answer signed by the host with a
// duplicate member or a member name in another case is refused by the
// guest as a bad response.
func TestJointAnswerRefusesAmbiguousNames(t *testing.T) {
	f := newStFed(t)
	c := f.client("bank-a")
	host := f.reg.members["tax-dept"].keys
	claims := schemas.JointRequest{ID: "r-1", Job: "job-1"}
	payload, _ := json.Marshal(schemas.JointAnswer{RequestID: "r-1", Issuer: "tax-dept", Audience: "bank-a",
		IssuedAt: time.Now().Unix(), Job: "job-1", State: schemas.JobProposed})
	seal := func(payload []byte) []byte {
		signed, err := jose.Sign(host.Signer, host.SigningKID, schemas.TypJointAnswer, payload)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := jose.Encrypt(signed, c.Keys.Encryption.PublicKey(), c.Keys.EncryptionKID, schemas.TypJointAnswer)
		if err != nil {
			t.Fatal(err)
		}
		return sealed
	}
	if _, err := c.open("tax-dept", claims, seal(payload)); err != nil {
		t.Fatalf("valid answer: %v", err)
	}
	for _, v := range schematest.PayloadVariants(t, payload) {
		t.Run(v.Name, func(t *testing.T) {
			if _, err := c.open("tax-dept", claims, seal(v.Token)); codeOf(err) != schemas.CodePeerBadResponse {
				t.Fatalf("got %v, want peer_bad_response", err)
			}
		})
	}
}
