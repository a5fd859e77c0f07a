package feeds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/schematest"
)

// TestPullRefusesAmbiguousNames: a pull signed again with a duplicate
// member or a member name in another case is refused malformed_request and
// logged.
func TestPullRefusesAmbiguousNames(t *testing.T) {
	f := newFixture(t)
	f.st.used = map[string]bool{tSubscriber + "\x00req-1": true} // the valid pull stops at the replay check, after its claims
	tok := f.token(t, f.request())
	wantCode(t, f.p.Pull(context.Background(), tSubscriber, tok), schemas.CodeReplay)
	for _, v := range schematest.NameVariants(t, tok, f.sub.sign) {
		t.Run(v.Name, func(t *testing.T) {
			before := len(f.st.denials())
			r := f.p.Pull(context.Background(), tSubscriber, v.Token)
			wantCode(t, r, schemas.CodeMalformedRequest)
			if d := f.st.denials(); r.LogIndex == nil || len(d) != before+1 || d[before].Code != schemas.CodeMalformedRequest {
				t.Fatalf("refusal not logged: %+v", r)
			}
		})
	}
}

// TestOpenRefusesAmbiguousBatch: a batch sealed with a duplicate member or
// a member name in another case, at the top or inside an item, is refused
// by the subscriber.
func TestOpenRefusesAmbiguousBatch(t *testing.T) {
	f := newFixture(t)
	s := &Subscriber{ID: "self", Keys: &keys.NodeKeys{Encryption: f.sub.enc}, Registries: fakeReg{f.sub},
		Clock: func() time.Time { return f.now }}
	req := Request{ID: "req-1", Feed: tFeed}
	payload, err := json.Marshal(Batch{Issuer: tSubscriber, Audience: "self", IssuedAt: f.now.Unix(), RequestID: "req-1",
		Feed: tFeed, To: 1, Items: []Item{{Seq: 1, Subject: "s", ID: "r", Data: json.RawMessage(`{"a":1}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	open := func(payload []byte) error {
		sealed, err := Seal(f.sub.sign, f.sub.kid, payload, f.sub.enc.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Open(sealed, tSubscriber, req)
		return err
	}
	if err := open(payload); err != nil {
		t.Fatalf("valid batch: %v", err)
	}
	variants := schematest.PayloadVariants(t, payload)
	variants = append(variants,
		schematest.Variant{Name: "item member in another case", Token: bytes.Replace(payload, []byte(`"seq":1`), []byte(`"seq":1,"SEQ":1`), 1)},
		schematest.Variant{Name: "record data with a duplicate", Token: bytes.Replace(payload, []byte(`{"a":1}`), []byte(`{"a":1,"a":2}`), 1)})
	for _, v := range variants {
		t.Run(v.Name, func(t *testing.T) {
			if err := open(v.Token); !errors.Is(err, ErrMalformed) || !errors.Is(err, schemas.ErrMemberName) {
				t.Fatalf("got %v, want ErrMalformed for a member name", err)
			}
		})
	}
}
