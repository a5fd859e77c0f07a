package records

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/creditexchange/node/schemas"
)

// Importer stores a batch of records. ImportRecords must store all of them or
// none (one database transaction), replacing any record with the same
// (subject, category, id).
type Importer interface {
	ImportRecords(ctx context.Context, recs []Record) error
}

// Report says what ImportFile did.
type Report struct {
	Imported int         // records handed to the Importer
	Bad      []LineError // bad lines; if any, nothing was imported
}

// BadLinesError is returned by ImportFile when a file has bad lines. It lists
// every one (up to MaxLineErrors) and matches ErrBadLines.
type BadLinesError struct {
	Path  string
	Lines []LineError
}

func (e *BadLinesError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "records: %s: %d bad line(s), nothing imported:", e.Path, len(e.Lines))
	for _, l := range e.Lines {
		b.WriteString("\n\t")
		b.WriteString(l.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBadLines) true for every *BadLinesError.
func (e *BadLinesError) Is(target error) bool { return target == ErrBadLines }

// ImportFile parses the file at path (format from its extension, see
// FormatFromPath), and if every line is good hands all its records to dst in
// one call, stamped with the current time as UpdatedAt. If any line is bad
// nothing is imported: the Report lists the bad lines and the error is a
// *BadLinesError. Files over MaxFileBytes fail with ErrFileTooLarge before
// being read. A file with no records imports nothing and is not an error.
func ImportFile(ctx context.Context, path string, v *schemas.CategoryValidator, dst Importer) (Report, error) {
	format, err := FormatFromPath(path)
	if err != nil {
		return Report{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("records: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Report{}, fmt.Errorf("records: %w", err)
	}
	if !info.Mode().IsRegular() {
		return Report{}, fmt.Errorf("records: %s is not a regular file", path)
	}
	if info.Size() > MaxFileBytes {
		return Report{}, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrFileTooLarge, path, info.Size(), MaxFileBytes)
	}
	recs, bad, err := Parse(f, format, v)
	if err != nil {
		return Report{}, fmt.Errorf("records: %s: %w", path, err)
	}
	if len(bad) > 0 {
		return Report{Bad: bad}, &BadLinesError{Path: path, Lines: bad}
	}
	if len(recs) == 0 {
		return Report{}, nil
	}
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}
	now := time.Now().UTC()
	for i := range recs {
		recs[i].UpdatedAt = now
	}
	if err := dst.ImportRecords(ctx, recs); err != nil {
		return Report{}, fmt.Errorf("records: importing %s: %w", path, err)
	}
	return Report{Imported: len(recs)}, nil
}
