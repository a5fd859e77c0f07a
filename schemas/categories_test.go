package schemas_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/creditexchange/node/schemas"
)

// good holds one valid record per category. TestEveryCategoryHasExample
// fails if a category is added without one.
var good = map[string]string{
	"registration": `{"name":"Fujian Example Trading Co., Ltd.","legal_representative":"Zhang San",
		"registered_capital":5000000,"established":"2015-10-01","status":"in_business",
		"address":"1 Example Road, Fuzhou","industry":"F5191"}`,
	"administrative_penalty": `{"decision_no":"榕市监处罚〔2021〕88号","authority":"Fuzhou Market Regulation Bureau",
		"decision_date":"2021-06-30","violation":"false advertising","penalty":"fine","amount":20000.5,
		"publication_end":"2022-06-30","conduct_end":"2021-07-15"}`,
	"tax_payment":          `{"year":2023,"tax_paid":182000.25,"tax_credit_grade":"B","arrears":0,"declared_revenue":3500000}`,
	"social_insurance":     `{"month":"2024-03","insured_headcount":42,"contribution_base":210000,"arrears":0}`,
	"utility_payment":      `{"month":"2024-01","utility":"electricity","amount_due":8123.4,"amount_paid":8123.4,"days_late":0}`,
	"judicial_enforcement": `{"case_no":"(2022)闽0102执1234号","court":"Gulou District Court","filed":"2022-03-01","amount":150000,"status":"concluded","dishonest_debtor":false,"conduct_end":"2022-09-01"}`,
	"abnormal_operation":   `{"listed_on":"2020-07-01","reason":"annual report not filed","authority":"Fuzhou Market Regulation Bureau","removed_on":"2020-11-20","conduct_end":"2020-11-20"}`,
	"customs":              `{"year":2023,"import_value":1200000,"export_value":3400000,"credit_level":"general"}`,
	"commitment": `{"matter":"supply the fire-safety inspection certificate","authority":"Fuzhou Market Regulation Bureau",
		"text_digest":"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","made_on":"2024-01-10",
		"due":"2024-04-10","status":"fulfilled","fulfilled_on":"2024-03-28","conduct_end":"2024-03-28"}`,
	"untrustworthy_list": `{"list":"seriously_untrustworthy","list_name":"Food safety","basis":"Food Safety Law art. 134",
		"authority":"Fuzhou Market Regulation Bureau","decision_no":"榕市监失信〔2023〕3号","decided_on":"2023-03-01","listed_on":"2023-03-03",
		"measures":[{"code":"procurement_ban","description":"excluded from public procurement","until":"2026-03-02"}],
		"publication_end":"2026-03-02","removal_conditions":"rectify, commit, and apply after 1 year","objection":"object to the bureau within 15 days",
		"removed_on":"2024-04-01","removal_reason":"repaired","conduct_end":"2023-06-01"}`,
}

func newValidator(t testing.TB) *schemas.CategoryValidator {
	t.Helper()
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatalf("NewCategoryValidator: %v", err)
	}
	return v
}

func TestCategoriesList(t *testing.T) {
	v := newValidator(t)
	want := []string{"abnormal_operation", "administrative_penalty", "commitment", "customs", "judicial_enforcement",
		"registration", "social_insurance", "tax_payment", "untrustworthy_list", "utility_payment"}
	if got := v.Categories(); !slices.Equal(got, want) {
		t.Fatalf("Categories() = %v, want %v", got, want)
	}
	v.Categories()[0] = "changed"
	if v.Categories()[0] != want[0] {
		t.Fatal("Categories() exposes internal state")
	}
}

func TestEveryCategoryHasExample(t *testing.T) {
	v := newValidator(t)
	for _, c := range v.Categories() {
		if _, ok := good[c]; !ok {
			t.Errorf("no good example for category %s", c)
		}
	}
}

func TestSchemaDocuments(t *testing.T) {
	v := newValidator(t)
	for _, c := range v.Categories() {
		raw, ok := v.Schema(c)
		if !ok {
			t.Fatalf("Schema(%s) missing", c)
		}
		var doc struct {
			Schema     string                     `json:"$schema"`
			ID         string                     `json:"$id"`
			Title      string                     `json:"title"`
			Additional *bool                      `json:"additionalProperties"`
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.Title != c ||
			!strings.HasSuffix(doc.ID, "/"+c+".json") {
			t.Errorf("%s: $schema %q, $id %q, title %q", c, doc.Schema, doc.ID, doc.Title)
		}
		if doc.Additional == nil || *doc.Additional {
			t.Errorf("%s: additionalProperties is not false", c)
		}
		for _, r := range doc.Required {
			if _, ok := doc.Properties[r]; !ok {
				t.Errorf("%s: required %q is not a property", c, r)
			}
		}
		_, hasConductEnd := doc.Properties["conduct_end"]
		if v.Negative(c) != hasConductEnd {
			t.Errorf("%s: Negative = %v but conduct_end present = %v", c, v.Negative(c), hasConductEnd)
		}
	}
	if _, ok := v.Schema("nope"); ok {
		t.Error("Schema(nope) found")
	}
}

func TestFieldTypes(t *testing.T) {
	v := newValidator(t)
	want := map[string]map[string]string{
		"registration": {"name": "string", "legal_representative": "string", "registered_capital": "number",
			"established": "string", "status": "string", "address": "string", "industry": "string"},
		"administrative_penalty": {"decision_no": "string", "authority": "string", "decision_date": "string",
			"violation": "string", "penalty": "string", "amount": "number", "publication_end": "string",
			"conduct_end": "string"},
		"tax_payment": {"year": "integer", "tax_paid": "number", "tax_credit_grade": "string", "arrears": "number",
			"declared_revenue": "number"},
		"social_insurance": {"month": "string", "insured_headcount": "integer", "contribution_base": "number",
			"arrears": "number"},
		"utility_payment": {"month": "string", "utility": "string", "amount_due": "number", "amount_paid": "number",
			"days_late": "integer"},
		"judicial_enforcement": {"case_no": "string", "court": "string", "filed": "string", "amount": "number",
			"status": "string", "dishonest_debtor": "boolean", "conduct_end": "string"},
		"abnormal_operation": {"listed_on": "string", "reason": "string", "authority": "string",
			"removed_on": "string", "conduct_end": "string"},
		"customs": {"year": "integer", "import_value": "number", "export_value": "number", "credit_level": "string"},
		"commitment": {"matter": "string", "authority": "string", "text_digest": "string", "made_on": "string",
			"due": "string", "status": "string", "fulfilled_on": "string", "conduct_end": "string"},
	}
	for c, fields := range want {
		got := v.FieldTypes(c)
		if len(got) != len(fields) {
			t.Errorf("%s: FieldTypes = %v, want %v", c, got, fields)
		}
		for f, typ := range fields {
			if got[f] != typ {
				t.Errorf("%s.%s: type %q, want %q", c, f, got[f], typ)
			}
		}
	}
	if v.FieldTypes("nope") != nil {
		t.Error("FieldTypes(nope) not nil")
	}
	v.FieldTypes("customs")["year"] = "string"
	if v.FieldTypes("customs")["year"] != "integer" {
		t.Error("FieldTypes exposes internal state")
	}
}

func TestValidateGood(t *testing.T) {
	v := newValidator(t)
	for c, doc := range good {
		if err := v.Validate(c, []byte(doc)); err != nil {
			t.Errorf("%s: good example refused: %v", c, err)
		}
	}
}

// mutate returns the category's good example with f applied to it.
func mutate(t *testing.T, category string, f func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(good[category]), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Generic rules every schema must enforce, derived from the schema itself.
func TestValidateRefusesGenerically(t *testing.T) {
	v := newValidator(t)
	for _, c := range v.Categories() {
		var doc struct {
			Required   []string `json:"required"`
			Properties map[string]struct {
				Type   string `json:"type"`
				Format string `json:"format"`
			} `json:"properties"`
		}
		raw, _ := v.Schema(c)
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Required) == 0 {
			t.Errorf("%s: no required fields", c)
		}
		for _, r := range doc.Required {
			data := mutate(t, c, func(m map[string]any) { delete(m, r) })
			expectProblem(t, v, c, data, "", r)
		}
		data := mutate(t, c, func(m map[string]any) { m["extra_field"] = "x" })
		expectProblem(t, v, c, data, "", "extra_field")
		for prop, p := range doc.Properties {
			wrong := any("text")
			if p.Type == "string" {
				wrong = 12
			}
			data := mutate(t, c, func(m map[string]any) { m[prop] = wrong })
			expectProblem(t, v, c, data, "/"+prop, "want "+p.Type)
			if p.Format == "date" {
				for _, bad := range []string{"2023-02-30", "2023/01/05", "2023-1-5", "2023-01-05T00:00:00Z"} {
					data := mutate(t, c, func(m map[string]any) { m[prop] = bad })
					expectProblem(t, v, c, data, "/"+prop, "not a valid date")
				}
			}
			if p.Type == "number" || p.Type == "integer" {
				data := mutate(t, c, func(m map[string]any) { m[prop] = -1 })
				expectProblem(t, v, c, data, "/"+prop, "below minimum")
			}
			data = mutate(t, c, func(m map[string]any) { m[prop] = nil })
			expectProblem(t, v, c, data, "/"+prop, "got null")
		}
	}
}

// expectProblem checks that Validate refuses data with a *RecordError having a
// problem at ptr whose reason contains reason.
func expectProblem(t *testing.T, v *schemas.CategoryValidator, category string, data []byte, ptr, reason string) {
	t.Helper()
	err := v.Validate(category, data)
	var re *schemas.RecordError
	if !errors.As(err, &re) || !errors.Is(err, schemas.ErrInvalidRecord) {
		t.Errorf("%s %s: Validate = %v, want *RecordError", category, data, err)
		return
	}
	if re.Category != category || !strings.HasPrefix(err.Error(), "category "+category+":") {
		t.Errorf("error %q does not name category %s", err, category)
	}
	for _, p := range re.Problems {
		if p.Pointer == ptr && strings.Contains(p.Reason, reason) {
			return
		}
	}
	t.Errorf("%s %s: problems %+v lack %q at %q", category, data, re.Problems, reason, ptr)
}

func TestValidateRefusesSpecific(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		category, data, ptr, reason string
	}{
		{"registration", `{"name":"A","legal_representative":"B","established":"2015-10-01","status":"dormant"}`, "/status", "not one of in_business, suspended"},
		{"registration", `{"name":"A","legal_representative":"B","established":"2015-10-01","status":"in_business","industry":"` + strings.Repeat("x", 129) + `"}`, "/industry", "longer than 128 characters"},
		{"registration", `{"name":"","legal_representative":"B","established":"2015-10-01","status":"in_business"}`, "/name", "shorter than 1"},
		{"tax_payment", `{"year":2023,"tax_paid":1,"tax_credit_grade":"E"}`, "/tax_credit_grade", "not one of A, B, M, C, D"},
		{"tax_payment", `{"year":2023.5,"tax_paid":1}`, "/year", "want integer"},
		{"tax_payment", `{"year":1800,"tax_paid":1}`, "/year", "below minimum 1949"},
		{"social_insurance", `{"month":"2024-13","insured_headcount":1}`, "/month", "does not match pattern"},
		{"social_insurance", `{"month":"2024-01","insured_headcount":"12"}`, "/insured_headcount", "got string, want integer"},
		{"utility_payment", `{"month":"2024-01","utility":"telephone","amount_due":1,"amount_paid":1}`, "/utility", "not one of electricity, water, gas"},
		{"judicial_enforcement", `{"case_no":"1","court":"c","filed":"2022-03-01","status":"concluded","dishonest_debtor":"false"}`, "/dishonest_debtor", "want boolean"},
		{"customs", `{"year":2023,"credit_level":"excellent"}`, "/credit_level", "not one of"},
		{"customs", `[]`, "", "got array, want object"},
		{"customs", `{"year":2023,"credit_level":"general","year":1900}`, "/year", "duplicate object key"},
		{"customs", `{"year":2023,"credit_level":"general","\u0079ear":1900}`, "/year", "duplicate object key"},
		{"customs", `{"year":2023,"credit_level":"general"} {}`, "", "not valid JSON"},
		{"customs", `{"year":2023,`, "", "not valid JSON"},
		{"customs", "{\"year\":2023,\"credit_level\":\"gen\xffral\"}", "", "not valid UTF-8"},
	}
	for _, tt := range tests {
		expectProblem(t, v, tt.category, []byte(tt.data), tt.ptr, tt.reason)
	}
}

// Reasons come from the schema, never the record: errors may be logged.
func TestValidateErrorOmitsValues(t *testing.T) {
	v := newValidator(t)
	secret := "SECRET-VALUE-9f2c"
	docs := []struct{ category, data string }{
		{"registration", `{"name":"A","legal_representative":"B","established":"` + secret + `","status":"in_business"}`},
		{"registration", `{"name":"A","legal_representative":"B","established":"2015-10-01","status":"` + secret + `"}`},
		{"social_insurance", `{"month":"` + secret + `","insured_headcount":1}`},
		{"tax_payment", `{"year":2023,"tax_paid":-98765123}`},
	}
	for _, d := range docs {
		err := v.Validate(d.category, []byte(d.data))
		if err == nil {
			t.Fatalf("accepted %s", d.data)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "98765123") {
			t.Errorf("error repeats a value: %v", err)
		}
	}
}

func TestValidateUnknownCategory(t *testing.T) {
	v := newValidator(t)
	err := v.Validate("credit_card", []byte(`{}`))
	if !errors.Is(err, schemas.ErrUnknownCategory) || v.Known("credit_card") || !v.Known("customs") {
		t.Fatalf("Validate(credit_card) = %v", err)
	}
}

func ExampleCategoryValidator_Validate() {
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Validate("tax_payment", []byte(`{"year":2023,"tax_paid":1000,"tax_credit_grade":"A"}`)))
	fmt.Println(v.Validate("tax_payment", []byte(`{"year":"2023","tax_paid":1000,"tax_credit_grade":"Z"}`)))
	// Output:
	// <nil>
	// category tax_payment: /tax_credit_grade: not one of A, B, M, C, D; /year: got string, want integer
}

func FuzzValidate(f *testing.F) {
	v := newValidator(f)
	for c, doc := range good {
		f.Add(c, []byte(doc))
	}
	f.Add("customs", []byte(`{"year":2023,"credit_level":"general","year":1}`))
	f.Add("customs", []byte(`{"a":[{"b":1,"b":2}]}`))
	f.Add("registration", []byte("\xff"))
	f.Fuzz(func(t *testing.T, category string, data []byte) {
		err := v.Validate(category, data)
		if err == nil {
			var m map[string]any
			if jerr := json.Unmarshal(data, &m); jerr != nil || m == nil {
				t.Fatalf("accepted %q, which is not a JSON object: %v", data, jerr)
			}
			return
		}
		if !errors.Is(err, schemas.ErrUnknownCategory) && !errors.Is(err, schemas.ErrInvalidRecord) {
			t.Fatalf("error %v is neither sentinel", err)
		}
	})
}
