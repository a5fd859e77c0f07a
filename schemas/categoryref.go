package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// CategoryReference renders the record format of every category (from the
// JSON Schemas in schemas/categories) as Markdown: for each category its
// description, whether it is negative information, and one row per field
// with its type, whether it is required, its constraints and its meaning.
// schemas/categories.md is this output (TestCategoryReferenceUpToDate).
func CategoryReference(v *CategoryValidator) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`# Record categories

Generated from the JSON Schemas in ` + "`schemas/categories/`" + ` by ` + "`schemas.CategoryReference`" + `;
do not edit by hand (` + "`go test ./schemas -run TestCategoryReferenceUpToDate -update`" + ` rewrites it).
` + "`creditnode categories list`" + ` prints the same list with the sharing level each category has at a node.

A record is one JSON Lines object ` + "`{\"subject\": USCC, \"category\": NAME, \"id\": ID, \"data\": {…}}`" + `
(or a CSV row) imported with ` + "`creditnode records import`" + `; ` + "`data`" + ` must match the category's format
below, with no other fields.

A provider sets each category's sharing level in its ` + "`node.yaml`" + ` (` + "`catalog:`" + `, or ` + "`init --catalog`" + `):
` + "`public`" + ` (any member, any listed purpose, no consent), ` + "`shared`" + ` (public bodies under a statutory
purpose), ` + "`authorised`" + ` (only with the subject's consent), ` + "`restricted`" + ` (only with a regulator's
special approval). A category absent from the catalogue is not provided.
`)
	for _, name := range v.Categories() {
		raw, _ := v.Schema(name)
		var s catSchema
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("schemas: category %s: %w", name, err)
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", name, s.Description)
		if s.Negative {
			b.WriteString("\nNegative information: retained only for its legal period after the conduct ended (`conduct_end`).\n")
		}
		b.WriteString("\n| field | type | required | constraints | meaning |\n|---|---|---|---|---|\n")
		s.rows(&b, "")
	}
	return b.Bytes(), nil
}

// catSchema is the part of a category's JSON Schema the reference shows.
type catSchema struct {
	Description string               `json:"description"`
	Type        string               `json:"type"`
	Negative    bool                 `json:"x-negative"`
	Properties  map[string]catSchema `json:"properties"`
	Required    []string             `json:"required"`
	Items       *catSchema           `json:"items"`
	Enum        []any                `json:"enum"`
	Format      string               `json:"format"`
	Pattern     string               `json:"pattern"`
	Minimum     *float64             `json:"minimum"`
	Maximum     *float64             `json:"maximum"`
	MinLength   *int                 `json:"minLength"`
	MaxLength   *int                 `json:"maxLength"`
	MinItems    *int                 `json:"minItems"`
	MaxItems    *int                 `json:"maxItems"`
}

// rows writes one table row per property, in sorted order, descending into
// the objects of arrays as field[].sub.
func (s catSchema) rows(b *bytes.Buffer, prefix string) {
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := s.Properties[n]
		req := ""
		if slices.Contains(s.Required, n) {
			req = "yes"
		}
		typ := p.Type
		if p.Type == "array" && p.Items != nil {
			typ = "array of " + p.Items.Type
		}
		fmt.Fprintf(b, "| `%s%s` | %s | %s | %s | %s |\n", prefix, n, typ, req, cell(p.constraints()), cell(p.Description))
		if p.Items != nil && len(p.Items.Properties) > 0 {
			p.Items.rows(b, prefix+n+"[].")
		}
	}
}

func (s catSchema) constraints() string {
	var c []string
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = fmt.Sprint(e)
		}
		c = append(c, "one of "+strings.Join(vals, ", "))
	}
	if s.Format != "" {
		c = append(c, "format "+s.Format)
	}
	if s.Pattern != "" {
		c = append(c, "pattern `"+s.Pattern+"`")
	}
	num := func(label string, f *float64) {
		if f != nil {
			c = append(c, fmt.Sprintf("%s %g", label, *f))
		}
	}
	num("≥", s.Minimum)
	num("≤", s.Maximum)
	count := func(label string, n *int) {
		if n != nil {
			c = append(c, fmt.Sprintf("%s %d", label, *n))
		}
	}
	count("length ≥", s.MinLength)
	count("length ≤", s.MaxLength)
	count("items ≥", s.MinItems)
	count("items ≤", s.MaxItems)
	return strings.Join(c, "; ")
}

// cell makes text safe in a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}
