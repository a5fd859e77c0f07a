package joint

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/creditexchange/node/schemas"
)

// FileSource is a host's joint-modelling table in a CSV file: the first
// column the enterprise's USCC, the others numeric features named
// CATEGORY.FEATURE (e.g. tax_payment.arrears_months). It is read again for
// each job, so an updated table serves the next job, and a job sees only the
// columns of its categories.
type FileSource struct{ Path string }

// JointData reads the table and keeps the columns of categories (see
// SelectCategories).
func (s FileSource) JointData(_ context.Context, categories []string) (*Dataset, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all, err := ReadCSV(f, "")
	if err != nil {
		return nil, err
	}
	return SelectCategories(all, categories)
}

// SelectCategories keeps the columns CATEGORY.FEATURE of the given
// categories, in d's order; every category must have at least one
// (category_unknown otherwise).
func SelectCategories(d *Dataset, categories []string) (*Dataset, error) {
	var cols []int
	for _, cat := range categories {
		n := 0
		for j, name := range d.Features {
			if strings.HasPrefix(name, cat+".") {
				cols = append(cols, j)
				n++
			}
		}
		if n == 0 {
			return nil, schemas.Errorf(schemas.CodeCategoryUnknown, "no joint-modelling features for category %s", cat)
		}
	}
	slices.Sort(cols)
	out := &Dataset{IDs: d.IDs, X: make([][]float64, len(d.X))}
	for _, j := range cols {
		out.Features = append(out.Features, d.Features[j])
	}
	for i, row := range d.X {
		out.X[i] = make([]float64, len(cols))
		for k, j := range cols {
			out.X[i][k] = row[j]
		}
	}
	return out, nil
}
