package store

import (
	"context"
	"fmt"
)

// ScanLeafHashes calls fn with the index, subject and leaf hash of every
// leaf of log from index from on, in index order, stopping at fn's first
// error. It is what the subject map (node/subjectlog) needs to follow the
// log without reading entry bytes. A gap in the indexes fails with
// ErrTreeCorrupt.
func (s *SQLite) ScanLeafHashes(ctx context.Context, log LogID, from uint64, fn func(index uint64, subject string, leafHash []byte) error) error {
	table, err := log.table()
	if err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT idx, subject, leaf_hash FROM `+table+` WHERE idx >= ? ORDER BY idx`, int64(from))
	if err != nil {
		return unavailable("reading "+table, err)
	}
	defer rows.Close()
	next := from
	for rows.Next() {
		var idx int64
		var subject string
		var h []byte
		if err := rows.Scan(&idx, &subject, &h); err != nil {
			return unavailable("reading "+table, err)
		}
		if uint64(idx) != next {
			return fmt.Errorf("%w: %s has index %d where %d was expected", ErrTreeCorrupt, table, idx, next)
		}
		next++
		if err := fn(uint64(idx), subject, h); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return unavailable("reading "+table, err)
	}
	return nil
}
