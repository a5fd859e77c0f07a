package schemas

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TypCatalog is the JWS "typ" of a provider's signed catalogue.
const TypCatalog = "cx-catalog+jws"

// Catalog is what one provider shares, category by category (the payload of a
// TypCatalog token). Its JSON Schema is catalog.schema.json.
type Catalog struct {
	Provider     string         `json:"provider"`
	Organisation string         `json:"organisation"`
	IssuedAt     int64          `json:"iat"`
	Categories   []CatalogEntry `json:"categories"`
}

// CatalogEntry describes one category a provider shares.
type CatalogEntry struct {
	Name            string         `json:"name"`
	Title           string         `json:"title"`
	Description     string         `json:"description"`
	Level           string         `json:"level"`    // public, shared, authorised, restricted
	Purposes        []string       `json:"purposes"` // purposes the policy may release it for
	Fields          []CatalogField `json:"fields"`
	UpdateFrequency string         `json:"update_frequency"`
	Retention       string         `json:"retention"`
	RetentionDays   int            `json:"retention_days,omitempty"`
	Negative        bool           `json:"negative"`
}

// CatalogField is one field of a category's records.
type CatalogField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

//go:embed catalog.schema.json
var catalogSchema []byte

// ErrInvalidCatalog is returned (wrapped, with details) for a catalogue that
// does not match catalog.schema.json.
var ErrInvalidCatalog = errors.New("schemas: catalogue does not match its schema")

// CatalogValidator validates catalogue documents. It is safe for concurrent use.
type CatalogValidator struct{ sch *jsonschema.Schema }

// NewCatalogValidator compiles the embedded catalogue schema.
func NewCatalogValidator() (*CatalogValidator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(catalogSchema))
	if err != nil {
		return nil, fmt.Errorf("schemas: parsing catalogue schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	const id = "https://creditexchange.example/schemas/catalog.schema.json"
	if err := c.AddResource(id, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, fmt.Errorf("schemas: compiling catalogue schema: %w", err)
	}
	return &CatalogValidator{sch: sch}, nil
}

// Schema returns the catalogue's JSON Schema.
func (v *CatalogValidator) Schema() []byte { return bytes.Clone(catalogSchema) }

// Validate checks that data is one catalogue document valid against the
// schema, refusing invalid UTF-8 and duplicate keys as record validation does.
func (v *CatalogValidator) Validate(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidCatalog)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: not valid JSON", ErrInvalidCatalog)
	}
	if ptr, dup := duplicateKey(data); dup {
		return fmt.Errorf("%w: duplicate object key at %q", ErrInvalidCatalog, ptr)
	}
	if err := v.sch.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			var probs []Problem
			collectProblems(ve, &probs)
			if len(probs) > 0 {
				return fmt.Errorf("%w: %s: %s", ErrInvalidCatalog, probs[0].Pointer, probs[0].Reason)
			}
		}
		return fmt.Errorf("%w: validation failed", ErrInvalidCatalog)
	}
	return nil
}
