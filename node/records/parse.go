package records

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/creditexchange/node/schemas"
)

// Format is the syntax of an import file.
type Format string

// The import formats.
//
// JSON Lines: one object per line,
//
//	{"subject": "<USCC or person:id>", "category": "...", "id": "...", "data": {...}}
//
// with exactly these four keys; blank lines are skipped.
//
// CSV (RFC 4180, comma-separated, UTF-8): a header row naming the columns
// subject, category and id, plus data columns named after fields of the
// category. One CSV file holds one category: every row must name the same
// category, and the header may only name fields of it. Cells are converted
// by the category schema's property types (number and integer cells must be
// JSON numbers such as 1200.50, boolean cells true or false in any case);
// empty cells are left out of the record.
//
// Both formats may start with a UTF-8 byte order mark.
const (
	FormatJSONL Format = "jsonl"
	FormatCSV   Format = "csv"
)

// Limits on what Parse reads.
const (
	MaxLineBytes  = 1 << 20  // longest line (JSONL) or row (CSV, sum of cells)
	MaxFileBytes  = 64 << 20 // largest file
	MaxLineErrors = 1000     // Parse stops reading after this many bad lines
)

// Errors of Parse, FormatFromPath and ImportFile.
var (
	ErrUnknownFormat = errors.New("records: unknown import format")
	ErrFileTooLarge  = errors.New("records: import file too large")
	// ErrBadLines matches every *BadLinesError.
	ErrBadLines = errors.New("records: bad lines in import file")
)

// LineError is a bad line of an import file. Reason names the rule broken
// and, for data, the JSON pointer; it never repeats the line's values, so it
// may be logged and shown.
type LineError struct {
	Line   int // 1-based line number; for CSV the line where the row starts
	Reason string
}

func (e LineError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// FormatFromPath picks the format from the file extension: .jsonl or .ndjson
// for JSON Lines, .csv for CSV, in any case.
func FormatFromPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return FormatJSONL, nil
	case ".csv":
		return FormatCSV, nil
	default:
		return "", fmt.Errorf("%w: %q (want .jsonl, .ndjson or .csv)", ErrUnknownFormat, filepath.Ext(path))
	}
}

// limits bounds a parse; tests shrink them.
type limits struct {
	line, file int64
	errors     int
}

// Parse reads records in the given format, normalising subjects with
// NormalizeSubject, checking record ids with CheckRecordID and validating
// each record's data against its category with v. Record data is returned
// compacted; UpdatedAt is left zero.
//
// Every bad line is reported as a LineError, including a second occurrence of
// the same (subject, category, id). Parse is all-or-nothing: if any line is
// bad it returns no records. It stops after MaxLineErrors bad lines. The
// error is for the input as a whole: ErrUnknownFormat, ErrFileTooLarge (over
// MaxFileBytes) or a read error.
func Parse(r io.Reader, format Format, v *schemas.CategoryValidator) ([]Record, []LineError, error) {
	return parse(r, format, v, limits{line: MaxLineBytes, file: MaxFileBytes, errors: MaxLineErrors})
}

func parse(r io.Reader, format Format, v *schemas.CategoryValidator, lim limits) ([]Record, []LineError, error) {
	if v == nil {
		return nil, nil, errors.New("records: Parse needs a category validator")
	}
	if format != FormatJSONL && format != FormatCSV {
		return nil, nil, fmt.Errorf("%w: %.16q", ErrUnknownFormat, string(format))
	}
	cr := &countingReader{r: io.LimitReader(r, lim.file+1)}
	br := bufio.NewReaderSize(cr, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	p := &parser{v: v, lim: lim, seen: make(map[recordKey]int)}
	var err error
	if format == FormatJSONL {
		err = p.jsonl(br)
	} else {
		err = p.csv(br)
	}
	if cr.n > lim.file {
		return nil, nil, fmt.Errorf("%w: over %d bytes", ErrFileTooLarge, lim.file)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("records: reading import: %w", err)
	}
	if len(p.bad) > 0 {
		return nil, p.bad, nil
	}
	return p.recs, nil, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// recordKey identifies a record within a provider.
type recordKey struct{ subject, category, id string }

// parser collects the records and bad lines of one file.
type parser struct {
	v       *schemas.CategoryValidator
	lim     limits
	recs    []Record
	bad     []LineError
	seen    map[recordKey]int // line of first occurrence
	stopped bool              // too many bad lines
}

// fail records a bad line.
func (p *parser) fail(line int, format string, args ...any) {
	if p.stopped {
		return
	}
	p.bad = append(p.bad, LineError{Line: line, Reason: fmt.Sprintf(format, args...)})
	if len(p.bad) >= p.lim.errors {
		p.bad = append(p.bad, LineError{Line: line, Reason: fmt.Sprintf("%d bad lines: stopped reading", len(p.bad))})
		p.stopped = true
	}
}

// add checks one record and keeps it if it is good; otherwise the line
// fails with every problem found (and those the caller found before).
func (p *parser) add(line int, subject, category, id string, data []byte, earlier ...string) {
	reasons := append([]string(nil), earlier...)
	subj, _, err := NormalizeSubject(subject)
	if err != nil {
		reasons = append(reasons, strings.TrimPrefix(err.Error(), "records: "))
	}
	category = strings.TrimSpace(category)
	known := p.v.Known(category)
	if !known {
		reasons = append(reasons, fmt.Sprintf("unknown category %.32q", category))
	}
	if err := CheckRecordID(id); err != nil {
		reasons = append(reasons, strings.TrimPrefix(err.Error(), "records: "))
	}
	if known {
		if err := p.v.Validate(category, data); err != nil {
			reasons = append(reasons, "data: "+dataReason(err))
		}
	}
	if len(reasons) > 0 {
		p.fail(line, "%s", strings.Join(reasons, "; "))
		return
	}
	key := recordKey{subj, category, id}
	if first, dup := p.seen[key]; dup {
		p.fail(line, "duplicate of line %d (same subject, category and id)", first)
		return
	}
	p.seen[key] = line
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil { // cannot happen: Validate parsed it
		p.fail(line, "data: not valid JSON")
		return
	}
	p.recs = append(p.recs, Record{Subject: subj, Category: category, ID: id, Data: compact.Bytes()})
}

// dataReason describes a Validate failure without the category prefix.
func dataReason(err error) string {
	var re *schemas.RecordError
	if !errors.As(err, &re) {
		return "invalid"
	}
	parts := make([]string, len(re.Problems))
	for i, pr := range re.Problems {
		ptr := pr.Pointer
		if ptr == "" {
			ptr = "/"
		}
		parts[i] = ptr + ": " + pr.Reason
	}
	return strings.Join(parts, "; ")
}

// jsonl parses JSON Lines.
func (p *parser) jsonl(br *bufio.Reader) error {
	for line := 1; !p.stopped; line++ {
		b, tooLong, err := readLine(br, p.lim.line)
		if err != nil && err != io.EOF {
			return err
		}
		switch {
		case tooLong:
			p.fail(line, "line longer than %d bytes", p.lim.line)
		case len(bytes.TrimSpace(b)) > 0:
			p.jsonlLine(line, b)
		}
		if err == io.EOF {
			return nil
		}
	}
	return nil
}

// readLine reads one line without its "\n" or "\r\n". If the line is longer
// than max it is consumed but not returned, and tooLong is set. At the end of
// input it returns io.EOF with the last line, possibly empty.
func readLine(br *bufio.Reader, max int64) (line []byte, tooLong bool, err error) {
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if int64(len(line)+len(frag)) > max+2 { // room for "\r\n"
				tooLong, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if int64(len(line)) > max {
			tooLong, line = true, nil
		}
		return line, tooLong, err
	}
}

// jsonlLine parses one JSON Lines object strictly: exactly the keys subject,
// category, id and data, each once, nothing after the object.
func (p *parser) jsonlLine(line int, b []byte) {
	if !utf8.Valid(b) {
		p.fail(line, "not valid UTF-8")
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		p.fail(line, "not a JSON object")
		return
	}
	var subject, category, id *string
	var data json.RawMessage
	var reasons []string // every problem of the line, reported together
	seen := make(map[string]bool, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			p.fail(line, "not valid JSON")
			return
		}
		key, _ := tok.(string)
		if seen[key] {
			p.fail(line, "duplicate key %.32q", key)
			return
		}
		seen[key] = true
		var target *string
		switch key {
		case "subject":
			subject = new(string)
			target = subject
		case "category":
			category = new(string)
			target = category
		case "id":
			id = new(string)
			target = id
		case "data":
			if err := dec.Decode(&data); err != nil {
				p.fail(line, "not valid JSON")
				return
			}
			continue
		default:
			reasons = append(reasons, fmt.Sprintf("unknown key %.32q (want subject, category, id, data)", key))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				p.fail(line, "not valid JSON")
				return
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.fail(line, "not valid JSON")
			return
		}
		if err := json.Unmarshal(raw, target); err != nil {
			reasons = append(reasons, key+": want a string")
			*target = ""
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		p.fail(line, "not valid JSON")
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		p.fail(line, "data after the JSON object")
		return
	}
	var missing []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"subject", subject != nil}, {"category", category != nil}, {"id", id != nil}, {"data", data != nil}} {
		if !k.set {
			missing = append(missing, k.name)
		}
	}
	if len(missing) > 0 {
		reasons = append(reasons, "missing "+strings.Join(missing, ", "))
		p.fail(line, "%s", strings.Join(reasons, "; "))
		return
	}
	p.add(line, *subject, *category, *id, data, reasons...)
}

// csvColumn is a data column of a CSV file.
type csvColumn struct {
	name  string
	index int
}

// csv parses a CSV file holding one category.
func (p *parser) csv(r io.Reader) error {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		p.fail(pe.StartLine, "CSV header: %v", pe.Err)
		return nil
	}
	if err != nil {
		return err
	}
	fixed := map[string]int{"subject": -1, "category": -1, "id": -1}
	var cols []csvColumn
	names := make(map[string]bool, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			p.fail(1, "header: column %d has no name", i+1)
			return nil
		case names[h]:
			p.fail(1, "header: column %.32q appears twice", h)
			return nil
		}
		names[h] = true
		if _, ok := fixed[h]; ok {
			fixed[h] = i
			continue
		}
		cols = append(cols, csvColumn{name: h, index: i})
	}
	for _, h := range []string{"subject", "category", "id"} {
		if fixed[h] < 0 {
			p.fail(1, "header: no %s column", h)
			return nil
		}
	}

	var (
		category string            // the file's category, from its first row
		types    map[string]string // its property types; nil if unknown
		started  bool              // category is set
	)
	for !p.stopped {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if errors.As(err, &pe) {
			if errors.Is(err, csv.ErrFieldCount) {
				p.fail(pe.StartLine, "has %d fields, header has %d", len(rec), len(header))
				continue
			}
			p.fail(pe.StartLine, "CSV syntax: %v; the rest of the file was not read", pe.Err)
			return nil
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		if reason := checkRow(rec, p.lim.line); reason != "" {
			p.fail(line, "%s", reason)
			continue
		}
		rowCategory := strings.TrimSpace(rec[fixed["category"]])
		if !started {
			started = true
			category, types = rowCategory, p.v.FieldTypes(rowCategory)
			for _, c := range cols {
				if types != nil && types[c.name] == "" {
					p.fail(1, "header: column %.32q is not a field of category %s", c.name, category)
					return nil
				}
			}
		}
		if rowCategory != category {
			p.fail(line, "category differs from the file's (%.32q): one category per CSV file", category)
			continue
		}
		if types == nil {
			p.fail(line, "unknown category %.32q", rowCategory)
			continue
		}
		data, err := csvData(rec, cols, types)
		if err != nil {
			p.fail(line, "%v", err)
			continue
		}
		p.add(line, rec[fixed["subject"]], rowCategory, rec[fixed["id"]], data)
	}
	return nil
}

// checkRow checks a CSV row's size and encoding; "" if it is fine.
func checkRow(rec []string, max int64) string {
	size := 0
	for _, f := range rec {
		size += len(f)
	}
	if int64(size) > max {
		return fmt.Sprintf("row longer than %d bytes", max)
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return fmt.Sprintf("column %d: not valid UTF-8", i+1)
		}
	}
	return ""
}

// csvData builds the JSON object of one row, converting cells by type and
// leaving out empty cells.
func csvData(rec []string, cols []csvColumn, types map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	n := 0
	for _, c := range cols {
		cell := rec[c.index]
		if cell == "" {
			continue
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		n++
		_ = enc.Encode(c.name) // strings always encode
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte(':')
		switch typ := types[c.name]; typ {
		case "string":
			_ = enc.Encode(cell)
			buf.Truncate(buf.Len() - 1) // Encode's newline
		case "number", "integer":
			t := strings.TrimSpace(cell)
			if !isJSONNumber(t) {
				return nil, fmt.Errorf("column %s: not a number (write 1234.5, no separators)", c.name)
			}
			buf.WriteString(t)
		case "boolean":
			switch t := strings.TrimSpace(cell); {
			case strings.EqualFold(t, "true"):
				buf.WriteString("true")
			case strings.EqualFold(t, "false"):
				buf.WriteString("false")
			default:
				return nil, fmt.Errorf("column %s: not true or false", c.name)
			}
		default:
			return nil, fmt.Errorf("column %s: type %q cannot come from CSV", c.name, typ)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// isJSONNumber reports whether s is exactly one JSON number.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	return json.Valid([]byte(s))
}
