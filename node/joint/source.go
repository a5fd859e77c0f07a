package joint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/creditexchange/node/schemas"
)

// FileSource is a host's joint-modelling table in a CSV file: the first
// column the enterprise's USCC, the others numeric features named
// CATEGORY.FEATURE (e.g. tax_payment.arrears_months). A job sees only the
// columns of its categories.
//
// It keeps the table it last read and, at each call (a job's proposal, the
// host built for a job's step), reads the file again if its modification
// time or size changed, so a table written or replaced while the node runs
// serves the next job without a restart. A new table is parsed and checked
// whole before it replaces the previous one; a file that cannot be read or is
// not a valid table leaves the previous table in force and is logged once, at
// error, with the file's path and what is wrong with it (a line, a column
// name, never a value). A missing file serves no job. A FileSource is safe
// for concurrent use.
type FileSource struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex
	stamp fileStamp // of the table in force
	table *Dataset  // nil: none read yet, or the file is gone
	bad   fileStamp // of the last file refused, logged once
}

type fileStamp struct {
	mtime time.Time
	size  int64
}

// NewFileSource reads the table at path as it is at each call (see
// FileSource); logger (nil: slog.Default) takes the refusals of bad files.
func NewFileSource(path string, logger *slog.Logger) *FileSource {
	if logger == nil {
		logger = slog.Default()
	}
	return &FileSource{path: path, log: logger.With(slog.String("file", path))}
}

// JointData returns the table in force, read again first if the file
// changed, with the columns of categories (see SelectCategories).
func (s *FileSource) JointData(ctx context.Context, categories []string) (*Dataset, error) {
	table, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	return SelectCategories(table, categories)
}

// current returns the table in force, after reading the file if it changed.
func (s *FileSource) current(ctx context.Context) (*Dataset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.table, s.stamp = nil, fileStamp{}
		return nil, fmt.Errorf("joint: no joint-modelling table (%s)", s.path)
	}
	if err != nil {
		return s.keep(ctx, fileStamp{}, err)
	}
	stamp := fileStamp{st.ModTime(), st.Size()}
	if s.table != nil && stamp == s.stamp {
		return s.table, nil
	}
	if stamp == s.bad {
		return s.keep(ctx, stamp, nil)
	}
	table, stamp, err := s.read()
	if err != nil {
		return s.keep(ctx, stamp, err)
	}
	if s.table != nil {
		s.log.LogAttrs(ctx, slog.LevelInfo, "joint-modelling table reloaded", slog.Int("rows", len(table.IDs)),
			slog.Int("features", len(table.Features)))
	}
	s.table, s.stamp, s.bad = table, stamp, fileStamp{}
	return table, nil
}

// keep answers with the table in force after the file at stamp was refused
// for err (nil: refused before, already logged).
func (s *FileSource) keep(ctx context.Context, stamp fileStamp, err error) (*Dataset, error) {
	if err != nil {
		s.bad = stamp
		msg := "joint-modelling table refused; no table in force"
		if s.table != nil {
			msg = "joint-modelling table refused; keeping the table in force"
		}
		s.log.LogAttrs(ctx, slog.LevelError, msg, slog.String("err", err.Error()))
	}
	if s.table == nil {
		return nil, fmt.Errorf("joint: joint-modelling table %s is not valid", s.path)
	}
	return s.table, nil
}

// read parses and checks the file, with its stamp as of before the read (a
// write racing the read is picked up at the next call).
func (s *FileSource) read() (*Dataset, fileStamp, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fileStamp{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, err
	}
	stamp := fileStamp{st.ModTime(), st.Size()}
	d, err := ReadCSV(f, "")
	if err == nil {
		err = d.Validate()
	}
	return d, stamp, err
}

// SelectCategories keeps the columns CATEGORY.FEATURE of the given
// categories, in d's order; every category must have at least one
// (category_unknown otherwise). The result shares nothing with d.
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
	out := &Dataset{IDs: slices.Clone(d.IDs), X: make([][]float64, len(d.X))}
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
