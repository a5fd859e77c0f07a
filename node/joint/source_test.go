package joint

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/creditexchange/node/schemas"
)

func TestFileSourceSelectsCategories(t *testing.T) {
	path := filepath.Join(t.TempDir(), "features.csv")
	table := "uscc,tax_payment.arrears,social_insurance.headcount,tax_payment.paid\n" +
		"91330106MA10000095,1,18,170\n" +
		"91440305MA10313743,0,7,90\n"
	if err := os.WriteFile(path, []byte(table), 0o600); err != nil {
		t.Fatal(err)
	}
	src := FileSource{Path: path}
	d, err := src.JointData(context.Background(), []string{"tax_payment"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Features, []string{"tax_payment.arrears", "tax_payment.paid"}) || len(d.X) != 2 || !slices.Equal(d.X[0], []float64{1, 170}) {
		t.Fatalf("tax_payment: features %v rows %v", d.Features, d.X)
	}
	d, err = src.JointData(context.Background(), []string{"social_insurance", "tax_payment"})
	if err != nil || len(d.Features) != 3 || d.Features[1] != "social_insurance.headcount" {
		t.Fatalf("both: %v %v", d, err)
	}
	if _, err := src.JointData(context.Background(), []string{"registration"}); schemas.CodeOf(err) != schemas.CodeCategoryUnknown {
		t.Fatalf("a category without columns: %v", err)
	}
	if _, err := (FileSource{Path: filepath.Join(t.TempDir(), "none.csv")}).JointData(context.Background(), []string{"tax_payment"}); err == nil {
		t.Fatal("a missing table read")
	}
}
