package records

import (
	"errors"
	"strings"
	"testing"

	"github.com/creditexchange/node/schemas"
)

// The limits are exercised with small values; the exported defaults only
// scale them.
func TestParseLimits(t *testing.T) {
	v, err := schemas.NewCategoryValidator()
	if err != nil {
		t.Fatal(err)
	}
	const line = `{"subject":"person:x","category":"customs","id":"c1","data":{"year":2023,"credit_level":"general"}}`
	lim := limits{line: int64(len(line)), file: 1 << 10, errors: 3}

	if recs, bad, err := parse(strings.NewReader(line+"\r\n"), FormatJSONL, v, lim); err != nil || len(bad) != 0 || len(recs) != 1 {
		t.Errorf("line at the limit: %d records, %v, %v", len(recs), bad, err)
	}
	long := strings.Replace(line, `"c1"`, `"c12"`, 1)
	_, bad, err := parse(strings.NewReader(long+"\n"+line), FormatJSONL, v, lim)
	if err != nil || len(bad) != 1 || bad[0].Line != 1 || !strings.Contains(bad[0].Reason, "longer than") {
		t.Errorf("line over the limit: %v, %v", bad, err)
	}
	csvIn := "subject,category,id,year,credit_level\nperson:x,customs,c1,2023," + strings.Repeat("g", len(line)) + "\n"
	_, bad, err = parse(strings.NewReader(csvIn), FormatCSV, v, lim)
	if err != nil || len(bad) != 1 || bad[0].Line != 2 || !strings.Contains(bad[0].Reason, "row longer than") {
		t.Errorf("CSV row over the limit: %v, %v", bad, err)
	}

	lim.line = 1 << 10
	atLimit := strings.Repeat("\n", int(lim.file))
	if _, bad, err := parse(strings.NewReader(atLimit), FormatJSONL, v, lim); err != nil || len(bad) != 0 {
		t.Errorf("file at the limit: %v, %v", bad, err)
	}
	for _, f := range []Format{FormatJSONL, FormatCSV} {
		if _, _, err := parse(strings.NewReader(atLimit+"\n"), f, v, lim); !errors.Is(err, ErrFileTooLarge) {
			t.Errorf("%s file over the limit: %v", f, err)
		}
	}

	_, bad, err = parse(strings.NewReader("a\nb\nc\nd\ne\n"), FormatJSONL, v, lim)
	if err != nil || len(bad) != 4 || !strings.Contains(bad[3].Reason, "stopped reading") || bad[3].Line != 3 {
		t.Errorf("too many errors: %v, %v", bad, err)
	}
}
