package schemas_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/creditexchange/node/schemas"
)

var update = flag.Bool("update", false, "rewrite generated files (categories.md)")

// TestCategoryReferenceUpToDate: schemas/categories.md is what
// CategoryReference renders from the category schemas, so a schema change
// that is not regenerated fails here.
func TestCategoryReferenceUpToDate(t *testing.T) {
	got, err := schemas.CategoryReference(newValidator(t))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("categories.md", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("categories.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("schemas/categories.md is out of date: run go test ./schemas -run TestCategoryReferenceUpToDate -update")
	}
	for _, c := range newValidator(t).Categories() {
		if !bytes.Contains(want, []byte("\n## "+c+"\n")) {
			t.Errorf("categories.md has no section for %s", c)
		}
	}
}
