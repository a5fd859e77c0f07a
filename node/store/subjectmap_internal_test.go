package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/creditexchange/node/node/store/pgtest"
)

// TestSubjectMapPruneDeletesRows: pruning frees the rows no kept revision
// reaches (the stale index follows them out too), on both backends.
func TestSubjectMapPruneDeletesRows(t *testing.T) {
	for _, b := range pruneBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			// Revision r rewrites node "hot" and adds node "r<r>"; keep 3.
			var prev *uint64
			for r := uint64(1); r <= 10; r++ {
				u := SubjectMapUpdate{
					Prev:     prev,
					Revision: SubjectMapRevision{Rev: r, Root: bytes.Repeat([]byte{1}, HashSize), Note: []byte("n")},
					Nodes:    []SubjectMapNode{{ID: []byte("hot"), Data: []byte{byte(r)}}, {ID: fmt.Appendf(nil, "r%d", r), Data: []byte{1}}},
					Keep:     3,
				}
				if r > 1 {
					u.Replaced = []SubjectMapRef{{ID: []byte("hot"), Rev: r - 1}}
				}
				if err := b.st.CommitSubjectMap(t.Context(), u); err != nil {
					t.Fatal(err)
				}
				prev = &r
			}
			// Kept: revisions 8, 9, 10; "hot" of 8, 9 and 10; the ten others.
			if n := b.count("subject_map_revisions"); n != 3 {
				t.Fatalf("%d revisions", n)
			}
			if n := b.count("subject_map_nodes"); n != 3+10 {
				t.Fatalf("%d nodes", n)
			}
			if n := b.count("subject_map_stale"); n != 2 { // hot@8 and hot@9, stale since 9 and 10
				t.Fatalf("%d stale index rows", n)
			}
		})
	}
}

// TestSubjectMapPruneRetainedDeletesRows: with older revisions retained,
// pruning still frees every row that no kept revision reaches, as retained
// revisions are released one by one, on both backends.
func TestSubjectMapPruneRetainedDeletesRows(t *testing.T) {
	for _, b := range pruneBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			// Revision r rewrites node "hot" and adds node "r<r>"; keep
			// the newest 2 and those retained.
			var prev *uint64
			commit := func(r uint64, retain ...uint64) {
				t.Helper()
				u := SubjectMapUpdate{
					Prev:     prev,
					Revision: SubjectMapRevision{Rev: r, Root: bytes.Repeat([]byte{1}, HashSize), Note: []byte("n")},
					Nodes:    []SubjectMapNode{{ID: []byte("hot"), Data: []byte{byte(r)}}, {ID: fmt.Appendf(nil, "r%d", r), Data: []byte{1}}},
					Keep:     2,
					Retain:   retain,
				}
				if r > 1 {
					u.Replaced = []SubjectMapRef{{ID: []byte("hot"), Rev: r - 1}}
				}
				if err := b.st.CommitSubjectMap(t.Context(), u); err != nil {
					t.Fatal(err)
				}
				prev = &r
			}
			counts := func(revs, nodes, stale int) {
				t.Helper()
				got := [3]int{b.count("subject_map_revisions"), b.count("subject_map_nodes"), b.count("subject_map_stale")}
				if got != [3]int{revs, nodes, stale} {
					t.Fatalf("revisions, nodes, stale index rows: %v, want %v", got, [3]int{revs, nodes, stale})
				}
			}
			for r := uint64(1); r <= 10; r++ {
				commit(r, 3, 6)
			}
			// Kept: revisions 3, 6, 9, 10; "hot" of each; the ten
			// others; stale: hot@3, hot@6, hot@9.
			counts(4, 4+10, 3)
			commit(11, 6) // 3 released: 6, 10, 11
			counts(3, 3+11, 2)
			commit(12) // 6 released: 11, 12, contiguous again
			counts(2, 2+12, 1)
		})
	}
}

// pruneBackend is a store of either backend with a row counter.
type pruneBackend struct {
	name string
	st   interface {
		CommitSubjectMap(ctx context.Context, u SubjectMapUpdate) error
	}
	count func(table string) int
}

func pruneBackends(t *testing.T) []pruneBackend {
	t.Helper()
	sq, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "node.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	pg, err := OpenPostgres(t.Context(), pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	return []pruneBackend{
		{"sqlite", sq, func(table string) int {
			var n int
			if err := sq.r.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}},
		{"postgres", pg, func(table string) int {
			var n int
			if err := pg.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}},
	}
}
