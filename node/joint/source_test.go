package joint

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	src := NewFileSource(path, nil)
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
	if _, err := NewFileSource(filepath.Join(t.TempDir(), "none.csv"), nil).JointData(context.Background(), []string{"tax_payment"}); err == nil {
		t.Fatal("a missing table read")
	}
}

// TestFileSourceReloads: a replaced table is read at the next call; a bad
// one leaves the table in force and is logged once, at error, with the
// file's path and without its values; a removed file serves nothing.
func TestFileSourceReloads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "features.csv")
	var logs bytes.Buffer
	src := NewFileSource(path, slog.New(slog.NewJSONHandler(&logs, nil)))
	if _, err := src.JointData(ctx, []string{"tax_payment"}); err == nil {
		t.Fatal("no file: read")
	}
	mtime := time.Now()
	write := func(table string) {
		t.Helper()
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(table), 0o600); err != nil {
			t.Fatal(err)
		}
		mtime = mtime.Add(time.Second)
		if err := os.Chtimes(tmp, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	features := func() []string {
		t.Helper()
		d, err := src.JointData(ctx, []string{"tax_payment"})
		if err != nil {
			t.Fatal(err)
		}
		return d.Features
	}
	write("uscc,tax_payment.a\n91330106MA10000095,1\n")
	if got := features(); !slices.Equal(got, []string{"tax_payment.a"}) {
		t.Fatalf("first table: %v", got)
	}
	write("uscc,tax_payment.b,tax_payment.c\n91330106MA10000095,1,2\n")
	if got := features(); !slices.Equal(got, []string{"tax_payment.b", "tax_payment.c"}) {
		t.Fatalf("replaced table: %v", got)
	}
	for name, bad := range map[string]string{
		"not a number": "uscc,tax_payment.d\n91330106MA10000095,secret-value-7\n",
		"duplicate id": "uscc,tax_payment.d\n91330106MA10000095,1\n91330106MA10000095,2\n",
		"half written": "uscc,tax_payment.d\n91330106MA10000095,1,2,",
		"no feature":   "uscc\n",
	} {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			write(bad)
			for range 2 {
				if got := features(); !slices.Equal(got, []string{"tax_payment.b", "tax_payment.c"}) {
					t.Fatalf("after a bad table: %v", got)
				}
			}
			out := logs.String()
			if strings.Count(out, `"level":"ERROR"`) != 1 || !strings.Contains(out, path) || !strings.Contains(out, "keeping the table in force") {
				t.Fatalf("bad table not logged once at error with its path: %s", out)
			}
			if strings.Contains(out, "secret-value-7") || strings.Contains(out, "91330106MA10000095") {
				t.Fatalf("log holds the table's data: %s", out)
			}
		})
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := src.JointData(ctx, []string{"tax_payment"}); err == nil {
		t.Fatal("removed file: still served")
	}
	write("uscc,tax_payment.e\n91330106MA10000095,1\n")
	if got := features(); !slices.Equal(got, []string{"tax_payment.e"}) {
		t.Fatalf("table written again: %v", got)
	}
}
