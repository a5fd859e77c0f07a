package records_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/uscc"
)

const (
	codeA = "91350100M000100Y43" // GB 32100-2015 worked example
	codeB = "91350102MA2XN7QK4X"
)

func newValidator(t testing.TB) *schemas.CategoryValidator {
	t.Helper()
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// memStore is an Importer keeping what it was given.
type memStore struct {
	calls int
	recs  []records.Record
	err   error
}

func (m *memStore) ImportRecords(_ context.Context, recs []records.Record) error {
	m.calls++
	if m.err != nil {
		return m.err
	}
	m.recs = append(m.recs, recs...)
	return nil
}

var _ records.Importer = (*memStore)(nil)

func TestNormalizeSubject(t *testing.T) {
	tests := []struct {
		in, id, typ string
		usccRule    uscc.Rule // for refused USCCs
	}{
		{codeA, codeA, schemas.SubjectEnterprise, 0},
		{" " + strings.ToLower(codeB) + " ", codeB, schemas.SubjectEnterprise, 0},
		{"person:p-7Hq2xK9", "person:p-7Hq2xK9", schemas.SubjectPerson, 0},
		{"PERSON:p-7Hq2xK9", "person:p-7Hq2xK9", schemas.SubjectPerson, 0},
		{"person:" + strings.Repeat("a", 64), "person:" + strings.Repeat("a", 64), schemas.SubjectPerson, 0},
		{"person:a.b_c~d-e", "person:a.b_c~d-e", schemas.SubjectPerson, 0},
		{"person:", "", "", 0},
		{"person:" + strings.Repeat("a", 65), "", "", 0},
		{"person:a/b", "", "", 0},
		{"person:a b", "", "", 0},
		{"person:名字", "", "", 0},
		{"person:a\x00", "", "", 0},
		{"", "", "", uscc.RuleLength},
		{"persn:abc", "", "", uscc.RuleLength},
		{codeA[:17] + "0", "", "", uscc.RuleCheckChar},
	}
	for _, tt := range tests {
		id, typ, err := records.NormalizeSubject(tt.in)
		if tt.id != "" {
			if err != nil || id != tt.id || typ != tt.typ {
				t.Errorf("NormalizeSubject(%q) = %q, %q, %v; want %q, %q", tt.in, id, typ, err, tt.id, tt.typ)
			}
			continue
		}
		if !errors.Is(err, records.ErrInvalidSubject) || id != "" || typ != "" {
			t.Errorf("NormalizeSubject(%q) = %q, %q, %v; want ErrInvalidSubject", tt.in, id, typ, err)
			continue
		}
		var ue *uscc.Error
		if tt.usccRule != 0 && (!errors.As(err, &ue) || ue.Rule != tt.usccRule) {
			t.Errorf("NormalizeSubject(%q) = %v; want uscc rule %v", tt.in, err, tt.usccRule)
		}
	}
}

func TestCheckRecordID(t *testing.T) {
	good := []string{"a", "tax-2023", "(2022)闽0102执1234号", "with inner space", strings.Repeat("x", 128)}
	bad := []string{"", " a", "a ", "a\tb", "a\nb", strings.Repeat("x", 129), "\xff", "rtl\u202eoverride"}
	for _, id := range good {
		if err := records.CheckRecordID(id); err != nil {
			t.Errorf("CheckRecordID(%q) = %v", id, err)
		}
	}
	for _, id := range bad {
		if err := records.CheckRecordID(id); !errors.Is(err, records.ErrInvalidRecordID) {
			t.Errorf("CheckRecordID(%q) = %v, want ErrInvalidRecordID", id, err)
		}
	}
}

func TestFormatFromPath(t *testing.T) {
	tests := map[string]records.Format{
		"a.jsonl": records.FormatJSONL, "dir.csv/A.NDJSON": records.FormatJSONL,
		"x.csv": records.FormatCSV, "X.CSV": records.FormatCSV,
	}
	for path, want := range tests {
		if got, err := records.FormatFromPath(path); err != nil || got != want {
			t.Errorf("FormatFromPath(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{"a.json", "a", "a.csv.gz", "csv"} {
		if _, err := records.FormatFromPath(path); !errors.Is(err, records.ErrUnknownFormat) {
			t.Errorf("FormatFromPath(%q) = %v, want ErrUnknownFormat", path, err)
		}
	}
}

// jl builds one JSON Lines line.
func jl(subject, category, id, data string) string {
	return fmt.Sprintf(`{"subject":%q,"category":%q,"id":%q,"data":%s}`, subject, category, id, data)
}

const customs = `{"year":2023,"credit_level":"general"}`

type badLine struct {
	line   int
	reason string // substring of the reason
}

func checkParse(t *testing.T, recs []records.Record, bad []records.LineError, err error, wantRecs int, wantBad []badLine) {
	t.Helper()
	if err != nil {
		t.Fatalf("Parse error: %v", err)
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad lines %v, want %v", bad, wantBad)
	}
	for i, w := range wantBad {
		if bad[i].Line != w.line || !strings.Contains(bad[i].Reason, w.reason) {
			t.Errorf("bad line %d = %v, want line %d containing %q", i, bad[i], w.line, w.reason)
		}
	}
	if len(wantBad) > 0 && recs != nil {
		t.Errorf("bad lines but %d records returned", len(recs))
	}
	if len(recs) != wantRecs {
		t.Errorf("got %d records, want %d", len(recs), wantRecs)
	}
}

func TestParseJSONL(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		name  string
		in    string
		recs  int
		bad   []badLine
		check func(t *testing.T, recs []records.Record)
	}{
		{name: "empty", in: ""},
		{name: "blank lines", in: "\n  \n\r\n"},
		{name: "one", in: jl(codeA, "customs", "c1", customs), recs: 1, check: func(t *testing.T, r []records.Record) {
			if r[0].Subject != codeA || r[0].Category != "customs" || r[0].ID != "c1" || string(r[0].Data) != customs || !r[0].UpdatedAt.IsZero() {
				t.Errorf("record %+v", r[0])
			}
		}},
		{name: "compacted", in: jl(codeA, "customs", "c1", "{ \"year\" : 2023,\t\"credit_level\": \"general\" }"), recs: 1,
			check: func(t *testing.T, r []records.Record) {
				if string(r[0].Data) != customs {
					t.Errorf("data %s not compacted", r[0].Data)
				}
			}},
		{name: "BOM and CRLF", in: "\xEF\xBB\xBF" + jl(codeA, "customs", "c1", customs) + "\r\n" + jl(codeB, "customs", "c1", customs) + "\r\n", recs: 2},
		{name: "no final newline", in: jl(codeA, "customs", "c1", customs) + "\n" + jl(codeA, "customs", "c2", customs), recs: 2},
		{name: "normalised subject", in: jl(strings.ToLower(codeA), " customs ", "c1", customs), recs: 1,
			check: func(t *testing.T, r []records.Record) {
				if r[0].Subject != codeA || r[0].Category != "customs" {
					t.Errorf("record %+v", r[0])
				}
			}},
		{name: "same id other category or subject", in: jl(codeA, "customs", "x", customs) + "\n" + jl(codeB, "customs", "x", customs) + "\n" +
			jl(codeA, "tax_payment", "x", `{"year":2023,"tax_paid":1}`), recs: 3},
		{name: "duplicate after normalising", in: jl(codeA, "customs", "c1", customs) + "\n" + jl(strings.ToLower(codeA), "customs", "c1", customs),
			bad: []badLine{{2, "duplicate of line 1"}}},
		{name: "bad subject", in: jl(codeA[:17]+"0", "customs", "c1", customs), bad: []badLine{{1, "invalid subject"}}},
		{name: "unknown category", in: jl(codeA, "loans", "c1", customs), bad: []badLine{{1, `unknown category "loans"`}}},
		{name: "bad id", in: jl(codeA, "customs", "", customs), bad: []badLine{{1, "invalid record id"}}},
		{name: "bad data", in: jl(codeA, "customs", "c1", `{"year":"2023"}`), bad: []badLine{{1, "/: missing required property \"credit_level\"; /year: got string, want integer"}}},
		{name: "null data", in: jl(codeA, "customs", "c1", `null`), bad: []badLine{{1, "got null, want object"}}},
		{name: "duplicate key in data", in: jl(codeA, "customs", "c1", `{"year":2023,"credit_level":"general","year":1}`), bad: []badLine{{1, "/year: duplicate object key"}}},
		{name: "duplicate outer key", in: `{"subject":"` + codeA + `","subject":"` + codeB + `","category":"customs","id":"c","data":` + customs + `}`, bad: []badLine{{1, `duplicate key "subject"`}}},
		{name: "unknown key", in: `{"subject":"` + codeA + `","category":"customs","id":"c","data":` + customs + `,"Subject":"x"}`, bad: []badLine{{1, `unknown key "Subject"`}}},
		{name: "missing keys", in: `{"data":` + customs + `}`, bad: []badLine{{1, "missing subject, category, id"}}},
		{name: "non-string id", in: `{"subject":"` + codeA + `","category":"customs","id":7,"data":` + customs + `}`, bad: []badLine{{1, "id: want a string"}}},
		{name: "trailing data", in: jl(codeA, "customs", "c1", customs) + ` {}`, bad: []badLine{{1, "data after the JSON object"}}},
		{name: "array", in: `[1]`, bad: []badLine{{1, "not a JSON object"}}},
		{name: "truncated", in: `{"subject":"` + codeA + `","category"`, bad: []badLine{{1, "not valid JSON"}}},
		{name: "invalid UTF-8", in: `{"subject":"` + codeA + `","category":"customs","id":"c` + "\xff" + `","data":` + customs + `}`, bad: []badLine{{1, "not valid UTF-8"}}},
		{name: "every bad line", in: "x\n" + jl(codeA, "customs", "c1", customs) + "\n\ny\nz", bad: []badLine{{1, "not a JSON object"}, {4, "not a JSON object"}, {5, "not a JSON object"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, bad, err := records.Parse(strings.NewReader(tt.in), records.FormatJSONL, v)
			checkParse(t, recs, bad, err, tt.recs, tt.bad)
			if tt.check != nil && !t.Failed() {
				tt.check(t, recs)
			}
		})
	}
}

func TestParseCSV(t *testing.T) {
	v := newValidator(t)
	const header = "subject,category,id,month,utility,amount_due,amount_paid,days_late\n"
	row := func(subject, id, rest string) string { return subject + ",utility_payment," + id + "," + rest + "\n" }
	tests := []struct {
		name string
		in   string
		recs int
		bad  []badLine
		data []string
	}{
		{name: "empty", in: ""},
		{name: "header only", in: header},
		{name: "converted", in: header + row(codeA, "u1", "2024-01,water,12.50,12.5,0") + row(codeA, "u2", "2024-02,gas,-0,1e2, 3 "), recs: 2,
			data: []string{`{"month":"2024-01","utility":"water","amount_due":12.50,"amount_paid":12.5,"days_late":0}`,
				`{"month":"2024-02","utility":"gas","amount_due":-0,"amount_paid":1e2,"days_late":3}`}},
		{name: "empty cells left out", in: header + row(codeA, "u1", "2024-01,water,1,1,"), recs: 1,
			data: []string{`{"month":"2024-01","utility":"water","amount_due":1,"amount_paid":1}`}},
		{name: "columns in any order, subset", in: "utility,id,amount_paid,subject,amount_due,category,month\nwater,u1,2,person:x1,3,utility_payment,2024-01\n", recs: 1,
			data: []string{`{"utility":"water","amount_paid":2,"amount_due":3,"month":"2024-01"}`}},
		{name: "quoted cells and HTML characters", in: "subject,category,id,listed_on,reason,authority\n" + codeA + `,abnormal_operation,a1,2020-07-01,"address <unreachable>, ""B"" & co","Bureau` + "\n" + `of X"` + "\n", recs: 1,
			data: []string{`{"listed_on":"2020-07-01","reason":"address <unreachable>, \"B\" & co","authority":"Bureau\nof X"}`}},
		{name: "boolean", in: "subject,category,id,case_no,court,filed,status,dishonest_debtor\n" + codeA + ",judicial_enforcement,j1,1,c,2022-03-01,concluded,TRUE\n" + codeA + ",judicial_enforcement,j2,2,c,2022-03-01,concluded,yes\n",
			bad: []badLine{{3, "column dishonest_debtor: not true or false"}}},
		{name: "number with separator", in: header + row(codeA, "u1", "2024-01,water,\"1,000\",1,0"), bad: []badLine{{2, "column amount_due: not a number"}}},
		{name: "hex number", in: header + row(codeA, "u1", "2024-01,water,0x10,1,0"), bad: []badLine{{2, "column amount_due: not a number"}}},
		{name: "NaN", in: header + row(codeA, "u1", "2024-01,water,NaN,1,0"), bad: []badLine{{2, "not a number"}}},
		{name: "leading zero", in: header + row(codeA, "u1", "2024-01,water,01,1,0"), bad: []badLine{{2, "not a number"}}},
		{name: "integer field", in: header + row(codeA, "u1", "2024-01,water,1,1,1.5"), bad: []badLine{{2, "/days_late: got number, want integer"}}},
		{name: "schema", in: header + row(codeA, "u1", "2024-01,telephone,1,1,0"), bad: []badLine{{2, "/utility: not one of"}}},
		{name: "duplicate", in: header + row(codeA, "u1", "2024-01,water,1,1,0") + row(strings.ToLower(codeA), "u1", "2024-01,water,1,1,0"), bad: []badLine{{3, "duplicate of line 2"}}},
		{name: "two categories", in: header + row(codeA, "u1", "2024-01,water,1,1,0") + codeA + ",customs,c1,,,,,\n", bad: []badLine{{3, "one category per CSV file"}}},
		{name: "unknown column", in: "subject,category,id,month,colour\n" + codeA + ",utility_payment,u1,2024-01,red\n", bad: []badLine{{1, `column "colour" is not a field of category utility_payment`}}},
		{name: "unknown category", in: "subject,category,id\n" + codeA + ",loans,l1\n" + codeA + ",loans,l2\n", bad: []badLine{{2, "unknown category"}, {3, "unknown category"}}},
		{name: "missing column", in: "subject,id,month\n", bad: []badLine{{1, "no category column"}}},
		{name: "duplicate column", in: "subject,category,id,month,month\n", bad: []badLine{{1, `column "month" appears twice`}}},
		{name: "empty column name", in: "subject,category,id,\n", bad: []badLine{{1, "column 4 has no name"}}},
		{name: "field count", in: header + codeA + ",utility_payment,u1\n" + row(codeA, "u2", "2024-01,water,1,1,0"), bad: []badLine{{2, "has 3 fields, header has 8"}}},
		{name: "bare quote stops", in: header + row(codeA, "u1", `2024-01,wa"ter,1,1,0`) + row(codeA, "u2", "2024-01,water,1,1,0"), bad: []badLine{{2, "the rest of the file was not read"}}},
		{name: "invalid UTF-8", in: header + row(codeA, "u1", "2024-01,wat\xffer,1,1,0"), bad: []badLine{{2, "column 5: not valid UTF-8"}}},
		{name: "BOM before quoted header", in: "\xEF\xBB\xBF\"subject\",category,id,year,credit_level\n" + codeA + ",customs,c1,2023,general\n", recs: 1},
		{name: "multi-line row numbers", in: "subject,category,id,listed_on,reason,authority\n" + codeA + ",abnormal_operation,a1,2020-07-01,\"x\ny\nz\",B\n" + codeA + ",abnormal_operation,a2,2020-13-01,r,B\n",
			bad: []badLine{{5, "/listed_on: not a valid date"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, bad, err := records.Parse(strings.NewReader(tt.in), records.FormatCSV, v)
			checkParse(t, recs, bad, err, tt.recs, tt.bad)
			for i, d := range tt.data {
				if i < len(recs) && string(recs[i].Data) != d {
					t.Errorf("record %d data %s, want %s", i, recs[i].Data, d)
				}
			}
		})
	}
}

func TestParseArguments(t *testing.T) {
	v := newValidator(t)
	if _, _, err := records.Parse(strings.NewReader(""), "xml", v); !errors.Is(err, records.ErrUnknownFormat) {
		t.Errorf("Parse(xml) = %v", err)
	}
	if _, _, err := records.Parse(strings.NewReader(""), records.FormatCSV, nil); err == nil {
		t.Error("Parse with nil validator succeeded")
	}
	failing := errors.New("disk on fire")
	if _, _, err := records.Parse(errReader{failing}, records.FormatJSONL, v); !errors.Is(err, failing) {
		t.Errorf("Parse(failing reader) = %v", err)
	}
	if _, _, err := records.Parse(errReader{failing}, records.FormatCSV, v); !errors.Is(err, failing) {
		t.Errorf("Parse(failing reader, csv) = %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestImportFileGood(t *testing.T) {
	v := newValidator(t)
	for _, name := range []string{"good.jsonl", "good.csv"} {
		t.Run(name, func(t *testing.T) {
			store := &memStore{}
			rep, err := records.ImportFile(context.Background(), filepath.Join("testdata", name), v, store)
			if err != nil {
				t.Fatal(err)
			}
			if store.calls != 1 || rep.Imported != len(store.recs) || rep.Imported == 0 || rep.Bad != nil {
				t.Fatalf("report %+v, store calls %d with %d records", rep, store.calls, len(store.recs))
			}
			for _, r := range store.recs {
				if r.UpdatedAt.IsZero() || r.UpdatedAt != store.recs[0].UpdatedAt {
					t.Errorf("record %s UpdatedAt %v", r.ID, r.UpdatedAt)
				}
				if _, _, err := records.NormalizeSubject(r.Subject); err != nil {
					t.Errorf("stored subject invalid: %v", err)
				}
				if err := v.Validate(r.Category, r.Data); err != nil {
					t.Errorf("stored data invalid: %v", err)
				}
			}
		})
	}
}

func TestImportFileGoodCSVValues(t *testing.T) {
	store := &memStore{}
	if _, err := records.ImportFile(context.Background(), "testdata/good.csv", newValidator(t), store); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"year":2022,"tax_paid":150000,"tax_credit_grade":"A","arrears":0,"declared_revenue":3000000}`,
		`{"year":2022,"tax_paid":90000.50,"tax_credit_grade":"M"}`,
		`{"year":2023,"tax_paid":0,"tax_credit_grade":"D","arrears":12000.75,"declared_revenue":1e6}`,
	}
	if len(store.recs) != len(want) {
		t.Fatalf("%d records", len(store.recs))
	}
	for i, w := range want {
		if string(store.recs[i].Data) != w {
			t.Errorf("record %d: %s, want %s", i, store.recs[i].Data, w)
		}
	}
}

func TestImportFileBad(t *testing.T) {
	v := newValidator(t)
	tests := []struct {
		file string
		bad  []badLine
	}{
		{"bad.jsonl", []badLine{
			{2, "invalid subject"},
			{3, "unknown category"},
			{4, "/year: got string, want integer"},
			{5, "duplicate of line 1"},
			{6, "person id must be 1 to 64"},
			{7, `unknown key "extra"`},
			{8, "not a JSON object"},
			{9, "surrounding white space"},
		}},
		{"bad.csv", []badLine{
			{3, "column insured_headcount: not a number"},
			{4, "duplicate of line 2"},
			{5, "one category per CSV file"},
			{6, "has 5 fields, header has 6"},
			{7, "person id character 9"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			store := &memStore{}
			path := filepath.Join("testdata", tt.file)
			rep, err := records.ImportFile(context.Background(), path, v, store)
			var ble *records.BadLinesError
			if !errors.As(err, &ble) || !errors.Is(err, records.ErrBadLines) {
				t.Fatalf("ImportFile = %v, want *BadLinesError", err)
			}
			if store.calls != 0 || rep.Imported != 0 {
				t.Fatalf("imported despite bad lines: %+v, %d calls", rep, store.calls)
			}
			checkParse(t, nil, rep.Bad, nil, 0, tt.bad)
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, "nothing imported") {
				t.Errorf("message %q", msg)
			}
			for _, l := range tt.bad {
				if !strings.Contains(msg, fmt.Sprintf("line %d: ", l.line)) {
					t.Errorf("message lacks line %d:\n%s", l.line, msg)
				}
			}
			// The message is safe to log: no values from the file.
			for _, value := range []string{"twelve", "reg-2", "cc-1", "c3", "2023"} {
				if strings.Contains(msg, value) {
					t.Errorf("message repeats %q:\n%s", value, msg)
				}
			}
		})
	}
}

func TestImportFileErrors(t *testing.T) {
	v := newValidator(t)
	dir := t.TempDir()
	ctx := context.Background()

	storeErr := errors.New("database down")
	if _, err := records.ImportFile(ctx, "testdata/good.jsonl", v, &memStore{err: storeErr}); !errors.Is(err, storeErr) {
		t.Errorf("store failure: %v", err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	store := &memStore{}
	if _, err := records.ImportFile(canceled, "testdata/good.jsonl", v, store); !errors.Is(err, context.Canceled) || store.calls != 0 {
		t.Errorf("canceled: %v, %d calls", err, store.calls)
	}

	if _, err := records.ImportFile(ctx, filepath.Join(dir, "missing.csv"), v, store); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := records.ImportFile(ctx, "testdata/README.md", v, store); !errors.Is(err, records.ErrUnknownFormat) {
		t.Errorf("README.md: %v", err)
	}
	if _, err := records.ImportFile(ctx, dir+"/x.csv", v, store); err == nil {
		t.Error("missing x.csv imported")
	}
	if err := os.Mkdir(filepath.Join(dir, "d.csv"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := records.ImportFile(ctx, filepath.Join(dir, "d.csv"), v, store); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}

	// A sparse file just over the limit is refused before it is read.
	big := filepath.Join(dir, "big.jsonl")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(records.MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := records.ImportFile(ctx, big, v, store); !errors.Is(err, records.ErrFileTooLarge) {
		t.Errorf("big file: %v", err)
	}

	empty := filepath.Join(dir, "empty.csv")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if rep, err := records.ImportFile(ctx, empty, v, store); err != nil || rep.Imported != 0 || store.calls != 0 {
		t.Errorf("empty file: %+v, %v, %d calls", rep, err, store.calls)
	}
}

func TestRecordLogValue(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	r := records.Record{Subject: codeA, Category: "customs", ID: "c1", Data: json.RawMessage(`{"secret":"Zhang San"}`)}
	logger.Info("imported", "record", r)
	out := buf.String()
	if strings.Contains(out, "Zhang") || !strings.Contains(out, `"id":"c1"`) || !strings.Contains(out, "data_sha256") {
		t.Errorf("log line %s", out)
	}
}

func FuzzParse(f *testing.F) {
	v := newValidator(f)
	for _, name := range []string{"good.jsonl", "bad.jsonl", "good.csv", "bad.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, strings.HasSuffix(name, ".csv"))
	}
	f.Add([]byte("\xEF\xBB\xBF\"subject\",category,id\n"), true)
	f.Add([]byte(`{"subject":"person:x","category":"customs","id":"1","data":{"year":2023,"credit_level":"general"}}`), false)
	f.Fuzz(func(t *testing.T, data []byte, isCSV bool) {
		format := records.FormatJSONL
		if isCSV {
			format = records.FormatCSV
		}
		recs, bad, err := records.Parse(bytes.NewReader(data), format, v)
		if err != nil {
			t.Fatalf("Parse error on in-memory input: %v", err)
		}
		if len(bad) > 0 && recs != nil {
			t.Fatal("records returned with bad lines")
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		if len(recs) > lines {
			t.Fatalf("%d records from %d lines", len(recs), lines)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			id, _, err := records.NormalizeSubject(r.Subject)
			if err != nil || id != r.Subject {
				t.Fatalf("subject %q not canonical: %v", r.Subject, err)
			}
			if err := v.Validate(r.Category, r.Data); err != nil {
				t.Fatalf("accepted invalid data: %v", err)
			}
			if err := records.CheckRecordID(r.ID); err != nil {
				t.Fatal(err)
			}
			k := r.Subject + "\x00" + r.Category + "\x00" + r.ID
			if seen[k] {
				t.Fatalf("duplicate record %s", k)
			}
			seen[k] = true
		}
		for _, l := range bad {
			if l.Line < 1 || l.Line > lines || l.Reason == "" {
				t.Fatalf("bad line %+v outside 1..%d", l, lines)
			}
		}
	})
}

func ExampleParse() {
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		panic(err)
	}
	in := strings.NewReader(`{"subject":"91350100m000100y43","category":"customs","id":"c-2023","data":{"year":2023,"credit_level":"general"}}
{"subject":"91350100M000100Y40","category":"customs","id":"c-2024","data":{"year":"2024"}}
`)
	recs, bad, err := records.Parse(in, records.FormatJSONL, v)
	fmt.Println(len(recs), err)
	for _, l := range bad {
		fmt.Println(l)
	}
	// Output:
	// 0 <nil>
	// line 2: invalid subject: not person:<id> and not a USCC: uscc: check character at position 18 does not match positions 1-17; data: /: missing required property "credit_level"; /year: got string, want integer
}

// A bad line names every problem it has, not only the first.
func TestLineReportsEveryProblem(t *testing.T) {
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"subject, id and data", `{"subject":"bad","category":"customs","id":"","data":{"year":"x"}}`,
			[]string{"invalid subject", "id", `missing required property "credit_level"`, "/year"}},
		{"unknown key and unknown category", `{"subject":"91350100M000100Y43","category":"nosuch","id":"a","data":{},"extra":1}`,
			[]string{`unknown key "extra"`, `unknown category "nosuch"`}},
		{"wrong type and missing data", `{"subject":"91350100M000100Y43","category":7,"id":"a"}`,
			[]string{"category: want a string", "missing data"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, bad, err := records.Parse(strings.NewReader(tc.line+"\n"), records.FormatJSONL, v)
			if err != nil {
				t.Fatal(err)
			}
			if len(bad) != 1 {
				t.Fatalf("bad lines %v, want one", bad)
			}
			for _, w := range tc.want {
				if !strings.Contains(bad[0].Reason, w) {
					t.Errorf("reason %q lacks %q", bad[0].Reason, w)
				}
			}
		})
	}
}

func ExampleNormalizeSubject() {
	fmt.Println(records.NormalizeSubject(" 91350100m000100y43"))
	fmt.Println(records.NormalizeSubject("Person:p-7Hq2xK9"))
	// Output:
	// 91350100M000100Y43 enterprise <nil>
	// person:p-7Hq2xK9 person <nil>
}
