package joint

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Dataset is one party's table: one row per member, keyed by an identifier (a USCC or, in the
// test data, a row id). Labels is non-nil only at the guest. A Dataset is personal data: it has
// no String method and must never be logged.
type Dataset struct {
	IDs      []string
	Features []string    // feature names, one per column of X
	X        [][]float64 // X[i][j]: feature j of member i
	Labels   []int       // 0/1 per member, guest only
}

// Validate checks shapes, distinct ids, finite features and 0/1 labels.
func (d *Dataset) Validate() error {
	if len(d.X) != len(d.IDs) || (d.Labels != nil && len(d.Labels) != len(d.IDs)) {
		return fmt.Errorf("%w: %d ids, %d rows, %d labels", ErrData, len(d.IDs), len(d.X), len(d.Labels))
	}
	seen := make(map[string]struct{}, len(d.IDs))
	for i, id := range d.IDs {
		if _, dup := seen[id]; dup || id == "" {
			return fmt.Errorf("%w: duplicate or empty id at row %d", ErrData, i)
		}
		seen[id] = struct{}{}
		if len(d.X[i]) != len(d.Features) {
			return fmt.Errorf("%w: row %d has %d features, want %d", ErrData, i, len(d.X[i]), len(d.Features))
		}
		for _, v := range d.X[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: non-finite feature at row %d", ErrData, i)
			}
		}
		if d.Labels != nil && d.Labels[i] != 0 && d.Labels[i] != 1 {
			return fmt.Errorf("%w: label at row %d is not 0 or 1", ErrData, i)
		}
	}
	return nil
}

// index maps ids to rows.
func (d *Dataset) index() map[string]int {
	m := make(map[string]int, len(d.IDs))
	for i, id := range d.IDs {
		m[id] = i
	}
	return m
}

// ReadCSV reads a table whose first column is the identifier; a column named labelColumn (if
// not empty) holds 0/1 labels; every other column is a numeric feature.
func ReadCSV(r io.Reader, labelColumn string) (*Dataset, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrData, err)
	}
	if len(head) < 2 {
		return nil, fmt.Errorf("%w: need an id column and at least one feature", ErrData)
	}
	d := &Dataset{}
	labelAt := -1
	var cols []int
	for j := 1; j < len(head); j++ {
		if labelColumn != "" && head[j] == labelColumn {
			labelAt = j
			continue
		}
		cols = append(cols, j)
		d.Features = append(d.Features, head[j])
	}
	if labelColumn != "" {
		if labelAt < 0 {
			return nil, fmt.Errorf("%w: no label column %q", ErrData, labelColumn)
		}
		d.Labels = []int{}
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrData, line, err)
		}
		d.IDs = append(d.IDs, rec[0])
		row := make([]float64, len(cols))
		for k, j := range cols {
			v, err := strconv.ParseFloat(rec[j], 64)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d column %q is not a number", ErrData, line, head[j])
			}
			row[k] = v
		}
		d.X = append(d.X, row)
		if labelAt >= 0 {
			y, err := strconv.Atoi(rec[labelAt])
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: label is not an integer", ErrData, line)
			}
			d.Labels = append(d.Labels, y)
		}
	}
	return d, d.Validate()
}
