package catalog

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

type fixture struct {
	cv  *schemas.CategoryValidator
	v   *schemas.CatalogValidator
	eng *policy.Engine
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	cv, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	v, err := schemas.NewCatalogValidator()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{cv: cv, v: v, eng: eng}
}

func (f *fixture) derive(t testing.TB, levels map[string]string, o *Overlay) (*schemas.Catalog, error) {
	t.Helper()
	return Derive(context.Background(), Options{Provider: "tax-dept", Organisation: "Tax Service", Levels: levels, Overlay: o,
		Categories: f.cv, Policy: f.eng, Now: time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)})
}

func entry(t *testing.T, c *schemas.Catalog, name string) schemas.CatalogEntry {
	t.Helper()
	for _, e := range c.Categories {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no entry %s", name)
	return schemas.CatalogEntry{}
}

// The purposes come from the policy: an authorised category is reachable
// only by purposes that take consent; a shared one only by statutory ones.
func TestDerivePurposesFromPolicy(t *testing.T) {
	f := newFixture(t)
	c, err := f.derive(t, map[string]string{"tax_payment": "authorised", "administrative_penalty": "shared", "registration": "public"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{c.Categories[0].Name, c.Categories[1].Name, c.Categories[2].Name}; !slices.IsSorted(got) {
		t.Fatalf("categories not sorted: %v", got)
	}
	tax := entry(t, c, "tax_payment")
	if !slices.Contains(tax.Purposes, "loan_approval") || slices.Contains(tax.Purposes, "administrative_supervision") || slices.Contains(tax.Purposes, "joint_punishment_check") {
		t.Errorf("tax_payment (authorised) purposes: %v", tax.Purposes)
	}
	if tax.Negative || tax.RetentionDays != 0 || tax.Level != "authorised" {
		t.Errorf("tax_payment: %+v", tax)
	}
	pen := entry(t, c, "administrative_penalty")
	if !slices.Contains(pen.Purposes, "joint_punishment_check") || slices.Contains(pen.Purposes, "loan_approval") {
		t.Errorf("administrative_penalty (shared) purposes: %v", pen.Purposes)
	}
	if !pen.Negative || pen.RetentionDays != 5*365+1 {
		t.Errorf("administrative_penalty retention: %+v", pen)
	}
	i := slices.IndexFunc(pen.Fields, func(fl schemas.CatalogField) bool { return fl.Name == "conduct_end" })
	if i < 0 || !strings.Contains(pen.Fields[i].Description, "5 years") {
		t.Errorf("field descriptions not taken from the schema: %+v", pen.Fields)
	}
	reg := entry(t, c, "registration")
	if !slices.Contains(reg.Purposes, "loan_approval") || !slices.Contains(reg.Purposes, "joint_punishment_check") {
		t.Errorf("registration (public) purposes: %v", reg.Purposes)
	}
}

func TestOverlayAndLevels(t *testing.T) {
	f := newFixture(t)
	o := &Overlay{Categories: map[string]OverlayEntry{"tax_payment": {Title: "Tax payments", UpdateFrequency: "monthly", Level: "authorised"}}}
	levels, err := Levels(map[string]string{"tax_payment": "authorised"}, o)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.derive(t, levels, o)
	if err != nil {
		t.Fatal(err)
	}
	if e := entry(t, c, "tax_payment"); e.Title != "Tax payments" || e.UpdateFrequency != "monthly" {
		t.Fatalf("overlay not applied: %+v", e)
	}
	// Config empty: levels come from the overlay.
	if l, err := Levels(nil, o); err != nil || l["tax_payment"] != "authorised" {
		t.Fatalf("levels from overlay: %v %v", l, err)
	}
	for name, tc := range map[string]struct {
		config  map[string]string
		overlay *Overlay
	}{
		"level differs":           {map[string]string{"tax_payment": "public"}, o},
		"category not configured": {map[string]string{"customs": "restricted"}, o},
		"overlay without level":   {nil, &Overlay{Categories: map[string]OverlayEntry{"customs": {}}}},
	} {
		if _, err := Levels(tc.config, tc.overlay); !errors.Is(err, ErrInconsistent) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.derive(t, map[string]string{"no_such_category": "public"}, nil); !errors.Is(err, ErrInconsistent) {
		t.Errorf("category without schema: %v", err)
	}
	// A bad update frequency fails the schema.
	bad := &Overlay{Categories: map[string]OverlayEntry{"tax_payment": {UpdateFrequency: "hourly"}}}
	if _, err := f.derive(t, levels, bad); !errors.Is(err, schemas.ErrInvalidCatalog) {
		t.Errorf("bad frequency: %v", err)
	}
}

func TestLoadOverlay(t *testing.T) {
	dir := t.TempDir()
	o, err := LoadOverlay(filepath.Join(dir, OverlayFile))
	if err != nil || len(o.Categories) != 0 {
		t.Fatalf("missing overlay: %v %v", o, err)
	}
	os.WriteFile(filepath.Join(dir, OverlayFile), []byte(`{"categories":{"tax_payment":{"titel":"x"}}}`), 0o600)
	if _, err := LoadOverlay(filepath.Join(dir, OverlayFile)); err == nil {
		t.Fatal("unknown overlay field accepted")
	}
}

type testKeys map[string]ed25519.PrivateKey

func (k testKeys) SigningKey(id, kid string) (ed25519.PublicKey, bool) {
	p, ok := k[id]
	if !ok || keys.SigningKID(p.Public().(ed25519.PublicKey)) != kid {
		return nil, false
	}
	return p.Public().(ed25519.PublicKey), true
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func kid(p ed25519.PrivateKey) string { return keys.SigningKID(p.Public().(ed25519.PublicKey)) }

func TestSignVerify(t *testing.T) {
	f := newFixture(t)
	c, err := f.derive(t, map[string]string{"tax_payment": "authorised"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k := testKeys{"tax-dept": newKey(t), "market-reg": newKey(t)}
	tok, err := Sign(c, k["tax-dept"], kid(k["tax-dept"]))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(tok, k, "tax-dept", f.v)
	if err != nil || got.Categories[0].Name != "tax_payment" {
		t.Fatalf("verify: %v", err)
	}
	// Served by another member: its key does not sign tax-dept's catalogue.
	if _, err := Verify(tok, k, "market-reg", f.v); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other provider: %v", err)
	}
	// market-reg signs a catalogue naming tax-dept.
	forged, _ := Sign(c, k["market-reg"], kid(k["market-reg"]))
	if _, err := Verify(forged, k, "market-reg", f.v); !errors.Is(err, ErrInvalid) {
		t.Errorf("catalogue naming another provider: %v", err)
	}
	// A schema-invalid document, properly signed.
	b, _ := json.Marshal(map[string]any{"provider": "tax-dept", "organisation": "x", "iat": 1, "categories": []any{map[string]any{"name": "x"}}})
	invalid, _ := jose.Sign(k["tax-dept"], kid(k["tax-dept"]), schemas.TypCatalog, b)
	if _, err := Verify(invalid, k, "tax-dept", f.v); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid document: %v", err)
	}
	// A response token is not a catalogue.
	other, _ := jose.Sign(k["tax-dept"], kid(k["tax-dept"]), schemas.TypResponse, []byte(`{}`))
	if _, err := Verify(other, k, "tax-dept", f.v); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong typ: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	c, err := fx.derive(f, map[string]string{"registration": "public"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	priv := newKey(f)
	k := testKeys{"tax-dept": priv}
	tok, _ := Sign(c, priv, kid(priv))
	f.Add(tok)
	b, _ := json.Marshal(c)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Signed fuzz payloads reach the schema validator and decoder.
		signed, err := jose.Sign(priv, kid(priv), schemas.TypCatalog, data)
		if err != nil {
			return
		}
		if got, err := Verify(signed, k, "tax-dept", fx.v); err == nil && got.Provider != "tax-dept" {
			t.Fatal("accepted a catalogue of another provider")
		}
		Verify(data, k, "tax-dept", fx.v)
	})
}
