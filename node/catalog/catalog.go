// Package catalog is a provider's published catalogue ("catalogue sharing"):
// for every category it provides, the title and description, sharing level,
// the purposes the policy may release it for, its fields with descriptions,
// how often it is updated and how long it is kept. The catalogue is signed by
// the provider (schemas.TypCatalog), validated against
// schemas/catalog.schema.json, and served on the member API at RouteCatalog.
//
// The catalogue is derived, so it cannot drift from what the node enforces:
// levels come from the node's config (`catalog`: category → level), fields
// and descriptions from the category JSON Schemas, purposes from the policy
// itself (each purpose is asked whether it could ever release the category at
// its level), and a provider may add titles, descriptions, update frequency
// and retention in an overlay file (OverlayFile). An overlay that states a
// level different from the config is refused (ErrInconsistent); a node whose
// config lists no categories takes its levels from the overlay (Levels).
package catalog

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/policy"
	"github.com/creditexchange/node/schemas"
)

// RouteCatalog serves the signed catalogue on the member API.
const RouteCatalog = "GET /v1/catalog"

// OverlayFile is the provider-authored overlay in a node directory.
const OverlayFile = "catalog.json"

// Errors. Details are wrapped around them; branch with errors.Is.
var (
	// ErrInconsistent: the overlay contradicts the node's config, or names
	// a category without a schema.
	ErrInconsistent = errors.New("catalog: inconsistent with the node's configuration")
	// ErrBadSignature: not a catalogue token signed by a key the registry
	// lists for the provider.
	ErrBadSignature = errors.New("catalog: bad signature")
	// ErrInvalid: the signed document does not match the catalogue schema or
	// names another provider.
	ErrInvalid = errors.New("catalog: invalid catalogue")
)

// Overlay is what a provider writes about its categories beyond what the
// schemas and policy say. Every field is optional.
type Overlay struct {
	Categories map[string]OverlayEntry `json:"categories"`
}

// OverlayEntry describes one category in an overlay.
type OverlayEntry struct {
	Title           string `json:"title,omitempty"`
	Description     string `json:"description,omitempty"`
	Level           string `json:"level,omitempty"`
	UpdateFrequency string `json:"update_frequency,omitempty"`
	Retention       string `json:"retention,omitempty"`
	RetentionDays   int    `json:"retention_days,omitempty"`
}

// LoadOverlay reads the overlay at path; a missing file is an empty overlay.
func LoadOverlay(path string) (*Overlay, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Overlay{}, nil
	}
	if err != nil {
		return nil, err
	}
	var o Overlay
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", path, err)
	}
	return &o, nil
}

// Levels returns the sharing levels the node enforces: config's, checked
// against the overlay, or the overlay's when config lists none.
func Levels(config map[string]string, o *Overlay) (map[string]string, error) {
	if len(config) == 0 {
		out := map[string]string{}
		for name, e := range o.Categories {
			if e.Level == "" {
				return nil, fmt.Errorf("%w: overlay category %s has no level", ErrInconsistent, name)
			}
			out[name] = e.Level
		}
		return out, nil
	}
	for name, e := range o.Categories {
		lvl, ok := config[name]
		if !ok {
			return nil, fmt.Errorf("%w: overlay describes %s, which the config does not provide", ErrInconsistent, name)
		}
		if e.Level != "" && e.Level != lvl {
			return nil, fmt.Errorf("%w: %s is %q in the config but %q in the overlay", ErrInconsistent, name, lvl, e.Level)
		}
	}
	return config, nil
}

// Decider is the policy: the catalogue asks it which purposes reach a
// category (a *policy.Engine).
type Decider interface {
	Decide(ctx context.Context, in policy.Input) (policy.Result, error)
	Purposes() []string
}

// Options configures Derive.
type Options struct {
	Provider     string
	Organisation string
	Levels       map[string]string // category → sharing level, as enforced
	Overlay      *Overlay          // may be nil
	Categories   *schemas.CategoryValidator
	Policy       Decider
	Now          time.Time
}

// negativeRetentionDays is how long negative information is provided after
// the conduct ends (Credit Reporting Industry Regulation art. 16: 5 years).
const negativeRetentionDays = 5*365 + 1

// Derive builds the catalogue and validates it against the schema.
func Derive(ctx context.Context, o Options) (*schemas.Catalog, error) {
	if o.Categories == nil || o.Policy == nil || o.Provider == "" {
		return nil, errors.New("catalog: Provider, Categories and Policy are required")
	}
	overlay := o.Overlay
	if overlay == nil {
		overlay = &Overlay{}
	}
	names := make([]string, 0, len(o.Levels))
	for name := range o.Levels {
		names = append(names, name)
	}
	slices.Sort(names)
	cat := &schemas.Catalog{Provider: o.Provider, Organisation: o.Organisation, IssuedAt: o.Now.Unix(), Categories: []schemas.CatalogEntry{}}
	for _, name := range names {
		raw, ok := o.Categories.Schema(name)
		if !ok {
			return nil, fmt.Errorf("%w: category %s has no schema", ErrInconsistent, name)
		}
		e, err := entryFromSchema(name, raw)
		if err != nil {
			return nil, err
		}
		e.Level = o.Levels[name]
		e.Negative = o.Categories.Negative(name)
		e.UpdateFrequency = "daily"
		e.Retention = "while current; superseded records are kept as history"
		if e.Negative {
			e.Retention = "provided until 5 years after the conduct ended, then no longer provided (Credit Reporting Industry Regulation art. 16)"
			e.RetentionDays = negativeRetentionDays
		}
		if e.Purposes, err = purposes(ctx, o.Policy, o.Provider, name, e.Level, o.Now); err != nil {
			return nil, err
		}
		if ov, ok := overlay.Categories[name]; ok {
			e.Title = cmpOr(ov.Title, e.Title)
			e.Description = cmpOr(ov.Description, e.Description)
			e.UpdateFrequency = cmpOr(ov.UpdateFrequency, e.UpdateFrequency)
			e.Retention = cmpOr(ov.Retention, e.Retention)
			if ov.RetentionDays > 0 {
				e.RetentionDays = ov.RetentionDays
			}
		}
		cat.Categories = append(cat.Categories, e)
	}
	v, err := schemas.NewCatalogValidator()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(cat)
	if err != nil {
		return nil, err
	}
	if err := v.Validate(b); err != nil {
		return nil, err
	}
	return cat, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// entryFromSchema reads the title, description and fields of a category
// from its JSON Schema, fields sorted by name.
func entryFromSchema(name string, raw []byte) (schemas.CatalogEntry, error) {
	var s struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Properties  map[string]struct {
			Type        any    `json:"type"`
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return schemas.CatalogEntry{}, fmt.Errorf("catalog: schema of %s: %w", name, err)
	}
	e := schemas.CatalogEntry{Name: name, Title: cmpOr(s.Title, name), Description: cmpOr(s.Description, name)}
	for field, p := range s.Properties {
		typ, _ := p.Type.(string)
		e.Fields = append(e.Fields, schemas.CatalogField{Name: field, Type: cmpOr(typ, "any"), Description: p.Description})
	}
	slices.SortFunc(e.Fields, func(a, b schemas.CatalogField) int { return cmp.Compare(a.Name, b.Name) })
	return e, nil
}

// purposes asks the policy, for every purpose, whether some requester role
// could receive the category at its level, given every authorisation the
// level can call for (a consent covering it, a special approval for it).
// The answer is the policy's own: a bundle that changes the rules changes
// the catalogue.
func purposes(ctx context.Context, d Decider, provider, name, level string, now time.Time) ([]string, error) {
	out := []string{}
	for _, p := range d.Purposes() {
		for _, role := range []string{registry.RoleBank, registry.RoleBureau, registry.RoleDepartment, registry.RoleRegistrar, registry.RoleRegulator} {
			in := policy.Input{
				Requester:  policy.Requester{ID: "catalog-probe", Roles: []string{role}, Jurisdiction: "CN"},
				Provider:   policy.Provider{ID: provider, Jurisdiction: "CN"},
				Subject:    policy.Subject{ID: "catalog-probe", Type: schemas.SubjectEnterprise},
				Purpose:    p,
				Categories: []policy.Category{{Name: name, Level: level}},
				Consent:    policy.Consent{Present: true, ID: "probe", Requester: "catalog-probe", Purpose: p, Categories: []string{name}, UsesLeft: 1},
				Approval:   policy.Approval{Present: true, ID: "probe", Purpose: p, Categories: []string{name}, Requester: "catalog-probe", Subject: "catalog-probe"},
				Time:       now.UTC(),
			}
			res, err := d.Decide(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("catalog: asking the policy about %s for %s: %w", name, p, err)
			}
			if res.Allow {
				out = append(out, p)
				break
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Sign signs the catalogue as the provider.
func Sign(c *schemas.Catalog, signer crypto.Signer, kid string) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return jose.Sign(signer, kid, schemas.TypCatalog, b)
}

// Keys yields registered signing keys (a verified registry).
type Keys interface {
	SigningKey(memberID, kid string) (ed25519.PublicKey, bool)
}

// Verify checks a catalogue token from provider: signed by one of its
// registered keys, valid against the catalogue schema, naming provider.
func Verify(tok []byte, keys Keys, provider string, v *schemas.CatalogValidator) (*schemas.Catalog, error) {
	tok = bytes.TrimSpace(tok)
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	pub, ok := keys.SigningKey(provider, hdr.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w: key is not registered to %s", ErrBadSignature, provider)
	}
	payload, _, err := jose.Verify(tok, schemas.TypCatalog, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if err := v.Validate(payload); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var c schemas.Catalog
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.Provider != provider {
		return nil, fmt.Errorf("%w: catalogue of %q served by %q", ErrInvalid, c.Provider, provider)
	}
	return &c, nil
}

// Handler serves the signed catalogue token.
func Handler(tok []byte) http.Handler {
	tok = bytes.Clone(tok)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", schemas.ContentTypeJOSE)
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(tok)
	})
}
