package store

import "testing"

func TestPgPlaceholders(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' || ?, "col?" FROM t WHERE x = ?`, `SELECT '?' || $1, "col?" FROM t WHERE x = $2`},
		{`SELECT 'it''s ?' WHERE a = ?`, `SELECT 'it''s ?' WHERE a = $1`},
		{"SELECT ? -- what?\nFROM t WHERE a = ?", "SELECT $1 -- what?\nFROM t WHERE a = $2"},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`SELECT a - ? FROM t -- end?`, `SELECT a - $1 FROM t -- end?`},
	} {
		if got := pgPlaceholders(c.in); got != c.want {
			t.Errorf("pgPlaceholders(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPgStatementsRewritesOnce(t *testing.T) {
	var p pgStatements
	q := `SELECT ? FROM t`
	a := p.text(q)
	b := p.text(q)
	if a != `SELECT $1 FROM t` || b != a {
		t.Fatalf("text = %q then %q", a, b)
	}
	n := 0
	p.m.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d cached statements, want 1", n)
	}
}
