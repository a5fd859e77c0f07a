package schemas

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// categoryFS holds one JSON Schema (draft 2020-12) per record category; the
// file name without ".json" is the category name.
//
//go:embed categories/*.json
var categoryFS embed.FS

// Sentinel errors of CategoryValidator.Validate.
var (
	// ErrUnknownCategory is returned for a category with no schema.
	ErrUnknownCategory = errors.New("schemas: unknown category")
	// ErrInvalidRecord matches every *RecordError.
	ErrInvalidRecord = errors.New("schemas: record does not match its category schema")
)

// RecordError reports why a record's data does not match its category's
// schema. Reasons name JSON pointers, keywords and the schema's limits; they
// never repeat the record's values, so the error may be logged.
type RecordError struct {
	Category string
	Problems []Problem
}

// Problem is one failure: where in the data, and why.
type Problem struct {
	Pointer string // RFC 6901 JSON pointer into the data; "" is the whole object
	Reason  string
}

func (e *RecordError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "category %s:", e.Category)
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte(';')
		}
		ptr := p.Pointer
		if ptr == "" {
			ptr = "/"
		}
		fmt.Fprintf(&b, " %s: %s", ptr, p.Reason)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidRecord) true for every *RecordError.
func (e *RecordError) Is(target error) bool { return target == ErrInvalidRecord }

// CategoryValidator validates record data against the category schemas
// embedded in this package. It is safe for concurrent use.
type CategoryValidator struct {
	names    []string // sorted
	raw      map[string][]byte
	compiled map[string]*jsonschema.Schema
	types    map[string]map[string]string
	negative map[string]bool
}

// NewCategoryValidator compiles every embedded category schema once, with
// format assertions on ("date" is checked, not just annotated). Schemas may
// not refer to anything outside themselves: the loader refuses every URL.
func NewCategoryValidator() (*CategoryValidator, error) {
	files, err := categoryFS.ReadDir("categories")
	if err != nil {
		return nil, fmt.Errorf("schemas: reading embedded categories: %w", err)
	}
	v := &CategoryValidator{
		raw:      make(map[string][]byte),
		compiled: make(map[string]*jsonschema.Schema),
		types:    make(map[string]map[string]string),
		negative: make(map[string]bool),
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	urls := make(map[string]string)
	for _, f := range files {
		name, ok := strings.CutSuffix(f.Name(), ".json")
		if !ok {
			continue
		}
		raw, err := categoryFS.ReadFile(path.Join("categories", f.Name()))
		if err != nil {
			return nil, fmt.Errorf("schemas: reading category %s: %w", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("schemas: parsing category %s: %w", name, err)
		}
		var meta struct {
			ID         string `json:"$id"`
			Negative   bool   `json:"x-negative"`
			Properties map[string]struct {
				Type string `json:"type"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("schemas: parsing category %s: %w", name, err)
		}
		if !strings.HasSuffix(meta.ID, "/"+f.Name()) {
			return nil, fmt.Errorf("schemas: category %s: $id %q does not end in /%s", name, meta.ID, f.Name())
		}
		if err := c.AddResource(meta.ID, doc); err != nil {
			return nil, fmt.Errorf("schemas: adding category %s: %w", name, err)
		}
		types := make(map[string]string, len(meta.Properties))
		for prop, p := range meta.Properties {
			types[prop] = p.Type
		}
		v.names = append(v.names, name)
		v.raw[name] = raw
		v.types[name] = types
		v.negative[name] = meta.Negative
		urls[name] = meta.ID
	}
	for _, name := range v.names {
		sch, err := c.Compile(urls[name])
		if err != nil {
			return nil, fmt.Errorf("schemas: compiling category %s: %w", name, err)
		}
		v.compiled[name] = sch
	}
	slices.Sort(v.names)
	return v, nil
}

// refuseLoader stops the compiler fetching schemas from files or the network.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas: refusing to load %q: category schemas must be self-contained", url)
}

// Categories returns the category names, sorted.
func (v *CategoryValidator) Categories() []string { return slices.Clone(v.names) }

// Known reports whether category has a schema.
func (v *CategoryValidator) Known(category string) bool {
	_, ok := v.compiled[category]
	return ok
}

// Schema returns a copy of the category's JSON Schema document.
func (v *CategoryValidator) Schema(category string) ([]byte, bool) {
	raw, ok := v.raw[category]
	return bytes.Clone(raw), ok
}

// FieldTypes maps each property of the category to its JSON type ("string",
// "number", "integer" or "boolean"); nil for an unknown category. The map is
// a copy the caller may change.
func (v *CategoryValidator) FieldTypes(category string) map[string]string {
	t, ok := v.types[category]
	if !ok {
		return nil
	}
	out := make(map[string]string, len(t))
	for k, typ := range t {
		out[k] = typ
	}
	return out
}

// Negative reports whether records of the category are negative information
// (schema keyword "x-negative"), kept only 5 years after their "conduct_end".
func (v *CategoryValidator) Negative(category string) bool { return v.negative[category] }

// Validate checks that data is one JSON object valid against the category's
// schema. It fails with ErrUnknownCategory for a category without schema and
// with a *RecordError otherwise. Beyond the schema it refuses invalid UTF-8
// (which encoding/json would silently replace) and duplicate object keys
// (which parsers resolve differently: the validator would see one value and a
// field projection another).
func (v *CategoryValidator) Validate(category string, data []byte) error {
	sch, ok := v.compiled[category]
	if !ok {
		return fmt.Errorf("%w: %.64q", ErrUnknownCategory, category)
	}
	fail := func(ptr, reason string) error {
		return &RecordError{Category: category, Problems: []Problem{{Pointer: ptr, Reason: reason}}}
	}
	if !utf8.Valid(data) {
		return fail("", "not valid UTF-8")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fail("", "not valid JSON")
	}
	if ptr, dup := duplicateKey(data); dup {
		return fail(ptr, "duplicate object key")
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fail("", "validation failed")
	}
	re := &RecordError{Category: category}
	collectProblems(ve, &re.Problems)
	// Causes come from map iteration; sort so that messages are stable.
	slices.SortFunc(re.Problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Pointer, b.Pointer), strings.Compare(a.Reason, b.Reason))
	})
	if len(re.Problems) == 0 {
		re.Problems = []Problem{{Reason: "validation failed"}}
	}
	return re
}

// duplicateKey reports the JSON pointer of the first object key that appears
// twice in one object of data, which must already be known to be valid JSON
// (so nesting is bounded by encoding/json's depth limit).
func duplicateKey(data []byte) (string, bool) {
	ptr, dup, _ := walkKeys(json.NewDecoder(bytes.NewReader(data)), "")
	return ptr, dup
}

// walkKeys reads one value from dec, looking for duplicate keys.
func walkKeys(dec *json.Decoder, ptr string) (string, bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch tok {
	case json.Delim('{'):
		seen := make(map[string]bool)
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", false, err
			}
			key, _ := kt.(string)
			p := ptr + "/" + escapePointer(key)
			if seen[key] {
				return p, true, nil
			}
			seen[key] = true
			if p, dup, err := walkKeys(dec, p); dup || err != nil {
				return p, dup, err
			}
		}
		_, err = dec.Token() // '}'
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if p, dup, err := walkKeys(dec, ptr+"/"+strconv.Itoa(i)); dup || err != nil {
				return p, dup, err
			}
		}
		_, err = dec.Token() // ']'
	}
	return "", false, err
}

// escapePointer escapes a reference token of an RFC 6901 JSON pointer.
func escapePointer(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// collectProblems flattens the leaves of a validation error tree into
// problems whose reasons come from the schema, never from the data.
func collectProblems(ve *jsonschema.ValidationError, out *[]Problem) {
	if len(ve.Causes) > 0 {
		for _, c := range ve.Causes {
			collectProblems(c, out)
		}
		return
	}
	var ptr strings.Builder
	for _, tok := range ve.InstanceLocation {
		ptr.WriteByte('/')
		ptr.WriteString(escapePointer(tok))
	}
	*out = append(*out, Problem{Pointer: ptr.String(), Reason: reasonOf(ve.ErrorKind)})
}

// reasonOf describes a failed keyword using only the schema's side of it.
func reasonOf(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("got %s, want %s", k.Got, strings.Join(k.Want, " or "))
	case *kind.Required:
		return fmt.Sprintf("missing required %s", quoteNames(k.Missing))
	case *kind.AdditionalProperties:
		return fmt.Sprintf("unknown %s", quoteNames(k.Properties))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		return "not one of " + strings.Join(want, ", ")
	case *kind.Format:
		return "not a valid " + k.Want
	case *kind.Pattern:
		return "does not match pattern " + k.Want
	case *kind.MinLength:
		return fmt.Sprintf("shorter than %d characters", k.Want)
	case *kind.MaxLength:
		return fmt.Sprintf("longer than %d characters", k.Want)
	case *kind.Minimum:
		return "below minimum " + k.Want.RatString()
	case *kind.Maximum:
		return "above maximum " + k.Want.RatString()
	case *kind.FalseSchema:
		return "not allowed"
	default:
		if kw := k.KeywordPath(); len(kw) > 0 {
			return fmt.Sprintf("fails %q", strings.Join(kw, "/"))
		}
		return "validation failed"
	}
}

// quoteNames quotes property names for a message, each cut to 64 characters
// and at most 8 of them: they come from the data.
func quoteNames(names []string) string {
	const max = 8
	var b strings.Builder
	if len(names) == 1 {
		b.WriteString("property ")
	} else {
		b.WriteString("properties ")
	}
	for i, n := range names {
		if i == max {
			fmt.Fprintf(&b, ", … (%d more)", len(names)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%.64q", n)
	}
	return b.String()
}
