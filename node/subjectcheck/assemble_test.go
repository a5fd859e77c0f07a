package subjectcheck

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/creditexchange/node/schemas"
)

// page is a page of subject S's walk over [from, next) bounded by until,
// holding entries at idx, each with an inclusion proof, and the proof
// against checkpoint cp (a note) unless cp is empty.
func page(from, next, until uint64, cp string, idx ...uint64) *schemas.SubjectLog {
	pg := &schemas.SubjectLog{Issuer: "p", Subject: "S", Page: &schemas.SubjectLogPage{From: from, Next: next, Until: until}}
	for _, i := range idx {
		pg.Entries = append(pg.Entries, schemas.LoggedEntry{Index: i})
	}
	if cp != "" {
		pg.Proof = &schemas.SubjectProof{Checkpoint: cp, VRFProof: "aa", Count: 3, Head: "bb", MapSiblings: []string{"cc"}, Inclusion: []schemas.EntryInclusion{}}
		for _, i := range idx {
			pg.Proof.Inclusion = append(pg.Proof.Inclusion, schemas.EntryInclusion{Index: i, Proof: []string{"dd"}})
		}
		pg.Page.Checkpoint = sizeOf(cp)
	}
	return pg
}

// notes of the checkpoints of sizes 10 and 11 (the body is parsed, the
// signatures are not checked by Assemble), the first one also with a
// witness's cosignature.
const (
	root     = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	body10   = "creditexchange/p/inquiry\n10\n" + root + "\ncx-subject-map " + root + "\ncx-subject-vrf " + root + "\n"
	body11   = "creditexchange/p/inquiry\n11\n" + root + "\ncx-subject-map " + root + "\ncx-subject-vrf " + root + "\n"
	note10   = body10 + "\n— creditexchange/p/inquiry AAAAAQ==\n"
	note10w  = note10 + "— creditexchange/w/witness AAAAAg==\n"
	note11   = body11 + "\n— creditexchange/p/inquiry AAAAAQ==\n"
	noteJunk = "not a note"
)

func sizeOf(cp string) uint64 {
	switch {
	case strings.HasPrefix(cp, body10):
		return 10
	case strings.HasPrefix(cp, body11):
		return 11
	}
	return 0
}

func indexes(l *schemas.SubjectLog) []uint64 {
	var out []uint64
	for _, e := range l.Entries {
		out = append(out, e.Index)
	}
	return out
}

// TestAssembleWalk: an honest walk of three pages makes one log: every
// entry once, in order, with its inclusion proof from its own page, the
// map proof once, and the note with the most cosignatures.
func TestAssembleWalk(t *testing.T) {
	pages := []*schemas.SubjectLog{page(0, 4, 12, note10, 1, 3), page(4, 8, 12, note10w, 4, 7), page(8, 0, 12, note10, 9, 11)}
	pages[1].Proof.Inclusion = append(pages[1].Proof.Inclusion, schemas.EntryInclusion{Index: 1, Proof: []string{"ee"}}) // not its entry: dropped
	log, err := Assemble(pages)
	if err != nil {
		t.Fatal(err)
	}
	if got := indexes(log); len(got) != 6 || got[0] != 1 || got[5] != 11 {
		t.Fatalf("entries %v", got)
	}
	if log.Page != nil || log.Proof == nil || log.Proof.Checkpoint != note10w || len(log.Proof.Inclusion) != 6 {
		t.Fatalf("assembled %+v", log)
	}
	for _, in := range log.Proof.Inclusion {
		if in.Index == 1 && in.Proof[0] != "dd" {
			t.Fatal("entry 1 proven by another page's proof")
		}
	}
	// One page, no proof (a provider without commitments): one log, no proof.
	log, err = Assemble([]*schemas.SubjectLog{page(0, 0, 5, "", 0, 2, 4)})
	if err != nil || log.Proof != nil || len(log.Entries) != 3 {
		t.Fatalf("one page without proof: %+v, %v", log, err)
	}
}

// TestAssembleRefuses: every way pages can fail to form one walk is
// refused with ErrPages and a reason naming it (threats.md 34).
func TestAssembleRefuses(t *testing.T) {
	ok := func() []*schemas.SubjectLog {
		return []*schemas.SubjectLog{page(0, 4, 12, note10, 1, 3), page(4, 8, 12, note10, 4, 7), page(8, 0, 12, note10, 9, 11)}
	}
	cases := []struct {
		name   string
		tamper func([]*schemas.SubjectLog) []*schemas.SubjectLog
		reason string
	}{
		{"no pages", func([]*schemas.SubjectLog) []*schemas.SubjectLog { return nil }, "no page"},
		{"a page without its place", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[1].Page = nil; return p }, "page 2 does not say which page"},
		{"the walk not from the start", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { return p[1:] }, "first page starts at index 4"},
		{"a page left out", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { return []*schemas.SubjectLog{p[0], p[2]} }, "page 2 starts at index 8, not at 4"},
		{"the last page left out", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { return p[:2] }, "stops at page 2"},
		{"a page read twice", func(p []*schemas.SubjectLog) []*schemas.SubjectLog {
			return []*schemas.SubjectLog{p[0], p[1], p[1], p[2]}
		}, "page 3 starts at index 4, not at 8"},
		{"wrong cursor: next skips entries", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[0].Page.Next = 5; return p }, "page 2 starts at index 4, not at 5"},
		{"a page says it is the last too early", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[1].Page.Next = 0; return p }, "page 2 says it is the last"},
		{"an entry on two pages", func(p []*schemas.SubjectLog) []*schemas.SubjectLog {
			p[1].Entries = append([]schemas.LoggedEntry{{Index: 3}}, p[1].Entries...)
			return p
		}, "entry 3 on page 2 repeats"},
		{"an entry twice on one page", func(p []*schemas.SubjectLog) []*schemas.SubjectLog {
			p[1].Entries = append(p[1].Entries, schemas.LoggedEntry{Index: 7})
			return p
		}, "entry 7 on page 2 repeats"},
		{"an entry outside its page", func(p []*schemas.SubjectLog) []*schemas.SubjectLog {
			p[0].Entries = append(p[0].Entries, schemas.LoggedEntry{Index: 5})
			return p
		}, "entry 5 is outside page 1's range"},
		{"an entry past the walk's bound", func(p []*schemas.SubjectLog) []*schemas.SubjectLog {
			p[2].Entries = append(p[2].Entries, schemas.LoggedEntry{Index: 12})
			return p
		}, "entry 12 is outside page 3's range"},
		{"pages of two walks' bounds", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[2].Page.Until = 13; return p }, "page 3 bounds the walk at index 13, page 1 at 12"},
		{"a page proven against another checkpoint", func(p []*schemas.SubjectLog) []*schemas.SubjectLog {
			p[1] = page(4, 8, 12, note11, 4, 7)
			return p
		}, "page 2 is proven against another checkpoint (size 11) than page 1 (size 10)"},
		{"a page naming another checkpoint than its proof's", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[1].Page.Checkpoint = 11; return p }, "page 2 names checkpoint 11 but is proven against checkpoint 10"},
		{"a page with another map proof", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[2].Proof.Count = 2; return p }, "page 3 carries another map proof"},
		{"a page without proof", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[1].Proof = nil; return p }, "page 2 carries a proof and page 1 not"},
		{"an unreadable checkpoint", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[1].Proof.Checkpoint = noteJunk; return p }, "page 2: subjectlog"},
		{"a page of another subject", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[2].Subject = "T"; return p }, "page 3 is of another log"},
		{"a page ending where it starts", func(p []*schemas.SubjectLog) []*schemas.SubjectLog {
			return []*schemas.SubjectLog{page(0, 4, 12, note10, 1, 3), page(4, 4, 12, note10)}
		}, "page 2 ends (4) where it starts (4)"},
		{"a next page past the bound", func(p []*schemas.SubjectLog) []*schemas.SubjectLog { p[0].Page.Next, p[1].Page.From = 13, 13; return p }, "past the walk's bound 12"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Assemble(tc.tamper(ok()))
			if !errors.Is(err, ErrPages) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("got %v, want ErrPages naming %q", err, tc.reason)
			}
		})
	}
	if _, err := Assemble(make([]*schemas.SubjectLog, MaxPages+1)); !errors.Is(err, ErrPages) {
		t.Fatalf("over MaxPages: %v", err)
	}
}

// FuzzAssemble: pages from outside never panic Assemble, and whatever it
// accepts is one walk: entries strictly increasing, each below the bound,
// each with at most its own inclusion proof.
func FuzzAssemble(f *testing.F) {
	seed, _ := json.Marshal([]*schemas.SubjectLog{page(0, 4, 12, note10, 1, 3), page(4, 0, 12, note10w, 4, 7)})
	f.Add(seed)
	seed, _ = json.Marshal([]*schemas.SubjectLog{page(0, 0, 5, "", 0, 2, 4)})
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		var pages []*schemas.SubjectLog
		if json.Unmarshal(data, &pages) != nil {
			return
		}
		for _, p := range pages {
			if p == nil {
				return // Open never yields a nil page
			}
		}
		log, err := Assemble(pages)
		if err != nil {
			if !errors.Is(err, ErrPages) {
				t.Fatalf("error not ErrPages: %v", err)
			}
			return
		}
		until := pages[0].Page.Until
		for i, e := range log.Entries {
			if (i > 0 && e.Index <= log.Entries[i-1].Index) || e.Index >= until {
				t.Fatalf("accepted entries %v bounded by %d", indexes(log), until)
			}
		}
		if log.Proof != nil && len(log.Proof.Inclusion) > len(log.Entries) {
			t.Fatalf("%d inclusion proofs for %d entries", len(log.Proof.Inclusion), len(log.Entries))
		}
	})
}
