package tlog_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/tlog"
)

// tamper runs SQL against the node's database behind the store's back, with
// the append-only triggers of the leaf table and of the tables named in
// unprotect dropped, as an attacker with file access (SQLite) or the
// database owner's role (PostgreSQL) would.
func (f *fixture) tamper(t *testing.T, unprotect []string, stmts ...string) {
	t.Helper()
	var drops []string
	for _, table := range append([]string{"inquiry_log"}, unprotect...) {
		switch f.dialect {
		case "sqlite":
			drops = append(drops, `DROP TRIGGER IF EXISTS `+table+`_no_update`, `DROP TRIGGER IF EXISTS `+table+`_no_delete`,
				`DROP TRIGGER IF EXISTS `+table+`_dense`)
		default:
			drops = append(drops, `DROP TRIGGER IF EXISTS `+table+`_no_change ON `+table,
				`DROP TRIGGER IF EXISTS `+table+`_dense ON `+table)
		}
	}
	if f.dialect == "sqlite" {
		db, err := sql.Open("sqlite", f.path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range append(drops, stmts...) {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range append(drops, stmts...) {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// blob is the SQL literal of the bytes of s in f's dialect; zero32 is 32
// zero bytes.
func (f *fixture) blob(s string) string {
	if f.dialect == "sqlite" {
		return `CAST('` + s + `' AS BLOB)`
	}
	return `convert_to('` + s + `', 'UTF8')`
}

func (f *fixture) zero32() string {
	if f.dialect == "sqlite" {
		return `zeroblob(32)`
	}
	return `decode(repeat('00', 32), 'hex')`
}

func audit(t *testing.T, f *fixture) *tlog.Report {
	t.Helper()
	rep, err := tlog.Audit(context.Background(), f.st, store.LogInquiry, f.ver)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func hasProblem(rep *tlog.Report, kind tlog.ProblemKind, index uint64, detail string) bool {
	for _, p := range rep.Problems {
		if p.Kind == kind && p.Index == index && strings.Contains(p.Detail, detail) {
			return true
		}
	}
	return false
}

// hasProblemIn is hasProblem for an index in [lo, hi].
func hasProblemIn(rep *tlog.Report, kind tlog.ProblemKind, lo, hi uint64, detail string) bool {
	for i := lo; i <= hi; i++ {
		if hasProblem(rep, kind, i, detail) {
			return true
		}
	}
	return false
}

// Attack 21: rows deleted, edited or reordered are detected and named.
func TestAuditDetectsTampering(t *testing.T) {
	const n = 40
	cases := []struct {
		name      string
		unprotect []string
		sql       func(f *fixture) []string
		check     func(t *testing.T, rep *tlog.Report)
	}{
		{"intact", nil, nil, func(t *testing.T, rep *tlog.Report) {
			if !rep.OK() || !rep.RootMatches || rep.Rows != n || rep.LatestSize != n {
				t.Fatalf("intact log: %+v", rep)
			}
		}},
		{"entry edited", nil, func(f *fixture) []string {
			return []string{`UPDATE inquiry_log SET entry = ` + f.blob(`{"n":999}`) + ` WHERE idx = 17`}
		},
			func(t *testing.T, rep *tlog.Report) {
				if !hasProblem(rep, tlog.ProblemEdited, 17, "salt and entry") || rep.RootMatches {
					t.Fatalf("%v", rep.Problems)
				}
			}},
		{"entry and leaf hash edited", nil, func(f *fixture) []string {
			return []string{
				`UPDATE inquiry_log SET entry = ` + f.blob(`{"n":999}`) + ` WHERE idx = 23`,
				// recompute the RFC 6962 leaf hash as the attacker would
				`UPDATE inquiry_log SET leaf_hash = (SELECT leaf_hash FROM inquiry_log WHERE idx = 24) WHERE idx = 23`,
			}
		}, func(t *testing.T, rep *tlog.Report) {
			// The leaf hash no longer matches its row, and differs from what was integrated.
			if !hasProblem(rep, tlog.ProblemEdited, 23, "") || rep.RootMatches {
				t.Fatalf("%v", rep.Problems)
			}
		}},
		{"row deleted", nil, func(*fixture) []string { return []string{`DELETE FROM inquiry_log WHERE idx = 5`} },
			func(t *testing.T, rep *tlog.Report) {
				if !hasProblem(rep, tlog.ProblemDeleted, 5, "[5, 6)") || rep.RootMatches {
					t.Fatalf("%v", rep.Problems)
				}
			}},
		{"tail deleted", nil, func(*fixture) []string { return []string{`DELETE FROM inquiry_log WHERE idx >= 35`} },
			func(t *testing.T, rep *tlog.Report) {
				if !hasProblem(rep, tlog.ProblemDeleted, 35, "covers 40") {
					t.Fatalf("%v", rep.Problems)
				}
			}},
		{"rows reordered", nil, func(*fixture) []string {
			return []string{
				`UPDATE inquiry_log SET idx = 1000 WHERE idx = 3`,
				`UPDATE inquiry_log SET idx = 3 WHERE idx = 9`,
				`UPDATE inquiry_log SET idx = 9 WHERE idx = 1000`,
			}
		}, func(t *testing.T, rep *tlog.Report) {
			if !hasProblem(rep, tlog.ProblemReordered, 3, "index 9") || !hasProblem(rep, tlog.ProblemReordered, 9, "index 3") || rep.RootMatches {
				t.Fatalf("%v", rep.Problems)
			}
		}},
		{"checkpoint replaced", []string{"log_checkpoints"}, func(f *fixture) []string {
			return []string{`UPDATE log_checkpoints SET root = ` + f.zero32() + ` WHERE size = 40`}
		}, func(t *testing.T, rep *tlog.Report) {
			if !hasProblem(rep, tlog.ProblemCheckpoint, 40, "signed note") {
				t.Fatalf("%v", rep.Problems)
			}
		}},
		{"tree copy edited too", []string{"log_tree_nodes"}, func(f *fixture) []string {
			return []string{
				`UPDATE inquiry_log SET entry = ` + f.blob(`{"n":1}`) + `, leaf_hash = ` + f.zero32() + ` WHERE idx = 30`,
				`UPDATE log_tree_nodes SET hash = ` + f.zero32() + ` WHERE log = 'inquiry' AND level = 0 AND idx = 30`,
			}
		}, func(t *testing.T, rep *tlog.Report) {
			// Whatever the attacker rewrote, the signed root no longer
			// matches, from the first checkpoint covering leaf 30 (of size 31
			// or more: integration may have taken several leaves at once).
			if !hasProblemIn(rep, tlog.ProblemRoot, 31, n, "leaf rows") || !hasProblemIn(rep, tlog.ProblemTree, 31, n, "stored tree") {
				t.Fatalf("%v", rep.Problems)
			}
		}},
	}
	eachBackend(t, func(t *testing.T, newFixture func(testing.TB) *fixture) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newFixture(t)
				f.appendN(t, n)
				if err := f.seq.Close(); err != nil {
					t.Fatal(err)
				}
				if c.sql != nil {
					f.tamper(t, c.unprotect, c.sql(f)...)
				}
				rep := audit(t, f)
				for _, p := range rep.Problems {
					t.Log(p)
				}
				c.check(t, rep)
			})
		}
	})
}
