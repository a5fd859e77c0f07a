package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/creditexchange/node/node/store"
)

// SubjectMapBackend is the store as the subject map (node/subjectlog) uses
// it.
type SubjectMapBackend interface {
	Close() error
	SubjectMapRevisions(ctx context.Context, n int) ([]store.SubjectMapRevision, error)
	SubjectMapNodes(ctx context.Context, rev uint64, ids [][]byte) ([]store.SubjectMapNode, error)
	ScanSubjectMapNodes(ctx context.Context, rev uint64, fn func(store.SubjectMapNode) error) error
	CommitSubjectMap(ctx context.Context, u store.SubjectMapUpdate) error
	AddSubjectCosignatures(ctx context.Context, cs []store.SubjectCosignature) (int, error)
	SubjectCosignatures(ctx context.Context, revs []uint64) ([]store.SubjectCosignature, error)
}

// SubjectMapOpener opens one database; called again after Close, the same
// database.
type SubjectMapOpener func(ctx context.Context) (SubjectMapBackend, error)

// RunSubjectMap runs the subject map suite; newDB returns an opener of a
// new, empty database per test.
func RunSubjectMap(t *testing.T, newDB func(t *testing.T) SubjectMapOpener) {
	runSuite(t, newDB, []suiteCase[SubjectMapOpener]{
		{"Empty", testMapEmpty},
		{"Versions", testMapVersions},
		{"Conflict", testMapConflict},
		{"InvalidWritesNothing", testMapInvalid},
		{"FailureHalfWayWritesNothing", testMapHalfWay},
		{"Prune", testMapPrune},
		{"PruneRetained", testMapPruneRetained},
		{"Reset", testMapReset},
		{"Durability", testMapDurability},
		{"ConcurrentCommits", testMapConcurrent},
		{"ManyIDs", testMapManyIDs},
		{"Cosignatures", testCosignatures},
		{"CosignaturesOfUnstoredRevision", testCosignaturesUnstored},
		{"CosignaturesInvalid", testCosignaturesInvalid},
		{"CosignaturesPruned", testCosignaturesPruned},
		{"CosignaturesDurability", testCosignaturesDurability},
	})
}

func openMap(t *testing.T, o SubjectMapOpener) SubjectMapBackend { t.Helper(); return openWith(t, o) }

func mapID(s string) []byte { return []byte("id:" + s) }

func mapRoot(rev uint64) []byte { return bytes.Repeat([]byte{byte(rev + 1)}, store.HashSize) }

// mapUpdate is revision rev after prev writing nodes named by ids (data
// "<id>@<rev>") and replacing the given refs.
func mapUpdate(prev *uint64, rev uint64, ids []string, replaced ...store.SubjectMapRef) store.SubjectMapUpdate {
	u := store.SubjectMapUpdate{
		Prev:     prev,
		Revision: store.SubjectMapRevision{Rev: rev, Root: mapRoot(rev), Keys: uint64(len(ids)), Note: fmt.Appendf(nil, "checkpoint %d\n", rev)},
		Replaced: replaced,
		Keep:     4,
	}
	for _, id := range ids {
		u.Nodes = append(u.Nodes, store.SubjectMapNode{ID: mapID(id), Data: fmt.Appendf(nil, "%s@%d", id, rev)})
	}
	return u
}

func ref(id string, rev uint64) store.SubjectMapRef {
	return store.SubjectMapRef{ID: mapID(id), Rev: rev}
}

func ptr(v uint64) *uint64 { return &v }

func mustCommit(t *testing.T, b SubjectMapBackend, u store.SubjectMapUpdate) {
	t.Helper()
	if err := b.CommitSubjectMap(t.Context(), u); err != nil {
		t.Fatalf("commit revision %d: %v", u.Revision.Rev, err)
	}
}

// nodesAt returns "id=data" of the nodes read at rev for ids, sorted by id.
func nodesAt(t *testing.T, b SubjectMapBackend, rev uint64, ids ...string) (map[string]string, error) {
	t.Helper()
	var raw [][]byte
	for _, id := range ids {
		raw = append(raw, mapID(id))
	}
	ns, err := b.SubjectMapNodes(t.Context(), rev, raw)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range ns {
		if _, dup := out[string(n.ID)]; dup {
			t.Fatalf("position %q returned twice", n.ID)
		}
		if !bytes.HasSuffix(n.Data, fmt.Appendf(nil, "@%d", n.Rev)) {
			t.Fatalf("node %q: data %q of revision %d", n.ID, n.Data, n.Rev)
		}
		out[string(n.ID)] = string(n.Data)
	}
	return out, nil
}

func mustNodesAt(t *testing.T, b SubjectMapBackend, rev uint64, ids ...string) map[string]string {
	t.Helper()
	m, err := nodesAt(t, b, rev, ids...)
	if err != nil {
		t.Fatalf("nodes at %d: %v", rev, err)
	}
	return m
}

func revs(t *testing.T, b SubjectMapBackend) []uint64 {
	t.Helper()
	rs, err := b.SubjectMapRevisions(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, r := range rs {
		out = append(out, r.Rev)
	}
	return out
}

func testMapEmpty(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	if rs := revs(t, b); len(rs) != 0 {
		t.Fatalf("revisions %v", rs)
	}
	if _, err := nodesAt(t, b, 0, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nodes of no revision: %v", err)
	}
	// The first revision may be 0 (an empty log) and hold no nodes.
	mustCommit(t, b, mapUpdate(nil, 0, nil))
	if got := mustNodesAt(t, b, 0, "a"); len(got) != 0 {
		t.Fatalf("%v", got)
	}
	rs, err := b.SubjectMapRevisions(t.Context(), 1)
	if err != nil || len(rs) != 1 || rs[0].Rev != 0 || !bytes.Equal(rs[0].Root, mapRoot(0)) || string(rs[0].Note) != "checkpoint 0\n" {
		t.Fatalf("%+v %v", rs, err)
	}
}

func testMapVersions(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 3, []string{"a", "b"}))
	mustCommit(t, b, mapUpdate(ptr(3), 7, []string{"a", "c"}, ref("a", 3)))
	mustCommit(t, b, mapUpdate(ptr(7), 8, nil)) // a revision that changed nothing
	want := map[uint64]map[string]string{
		3: {"id:a": "a@3", "id:b": "b@3"},
		7: {"id:a": "a@7", "id:b": "b@3", "id:c": "c@7"},
		8: {"id:a": "a@7", "id:b": "b@3", "id:c": "c@7"},
	}
	for rev, w := range want {
		got := mustNodesAt(t, b, rev, "a", "b", "c", "d")
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("at %d: %v, want %v", rev, got, w)
		}
		var scanned []string
		if err := b.ScanSubjectMapNodes(t.Context(), rev, func(n store.SubjectMapNode) error {
			scanned = append(scanned, string(n.ID)+"="+string(n.Data))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var ws []string
		for _, id := range []string{"id:a", "id:b", "id:c"} {
			if d, ok := w[id]; ok {
				ws = append(ws, id+"="+d)
			}
		}
		if fmt.Sprint(scanned) != fmt.Sprint(ws) {
			t.Fatalf("scan at %d: %v, want %v", rev, scanned, ws)
		}
	}
	// Revisions that were never committed are not readable.
	if _, err := nodesAt(t, b, 5, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("nodes at an uncommitted revision: %v", err)
	}
	if got := revs(t, b); fmt.Sprint(got) != "[3 7 8]" {
		t.Fatalf("revisions %v", got)
	}
	rs, err := b.SubjectMapRevisions(t.Context(), 2)
	if err != nil || len(rs) != 2 || rs[0].Rev != 7 || rs[1].Rev != 8 || rs[0].Keys != 2 {
		t.Fatalf("newest two: %+v %v", rs, err)
	}
}

func testMapConflict(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	if err := b.CommitSubjectMap(t.Context(), mapUpdate(ptr(1), 2, []string{"a"})); !errors.Is(err, store.ErrSubjectMapConflict) {
		t.Fatalf("update on a revision never stored: %v", err)
	}
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a"}))
	for _, u := range []store.SubjectMapUpdate{
		mapUpdate(nil, 2, []string{"x"}),    // as if the map were empty
		mapUpdate(ptr(0), 2, []string{"x"}), // on an older revision
		mapUpdate(ptr(5), 6, []string{"x"}), // on a newer one
		mapUpdate(ptr(0), 9, []string{"x"}), // reset, but on a stale view
		mapUpdate(nil, 9, []string{"x"}),    // reset, as if empty
	} {
		u.Reset = u.Revision.Rev == 9
		if err := b.CommitSubjectMap(t.Context(), u); !errors.Is(err, store.ErrSubjectMapConflict) {
			t.Fatalf("update on %v: %v", u.Prev, err)
		}
	}
	if got := revs(t, b); fmt.Sprint(got) != "[1]" {
		t.Fatalf("revisions %v", got)
	}
	if got := mustNodesAt(t, b, 1, "a", "x"); fmt.Sprint(got) != "map[id:a:a@1]" {
		t.Fatalf("%v", got)
	}
}

func testMapInvalid(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a"}))
	bad := []func(u *store.SubjectMapUpdate){
		func(u *store.SubjectMapUpdate) { u.Revision.Rev = 1 },                     // not after Prev
		func(u *store.SubjectMapUpdate) { u.Revision.Root = u.Revision.Root[:31] }, // short root
		func(u *store.SubjectMapUpdate) { u.Revision.Note = nil },                  // no checkpoint
		func(u *store.SubjectMapUpdate) { u.Keep = 0 },
		func(u *store.SubjectMapUpdate) { u.Nodes[1].ID = nil },
		func(u *store.SubjectMapUpdate) { u.Nodes[1].ID = make([]byte, store.MaxSubjectMapID+1) },
		func(u *store.SubjectMapUpdate) { u.Nodes[1].Data = nil },
		func(u *store.SubjectMapUpdate) { u.Nodes[1].Data = make([]byte, store.MaxSubjectMapNode+1) },
		func(u *store.SubjectMapUpdate) { u.Replaced = []store.SubjectMapRef{ref("a", 2)} }, // replaced by its own revision
		func(u *store.SubjectMapUpdate) { u.Replaced = []store.SubjectMapRef{{Rev: 1}} },
	}
	for i, mutate := range bad {
		u := mapUpdate(ptr(1), 2, []string{"a", "b"}, ref("a", 1))
		mutate(&u)
		if err := b.CommitSubjectMap(t.Context(), u); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("case %d: %v, want ErrInvalid", i, err)
		}
	}
	if got := revs(t, b); fmt.Sprint(got) != "[1]" {
		t.Fatalf("revisions %v", got)
	}
	if got := mustNodesAt(t, b, 1, "a", "b"); fmt.Sprint(got) != "map[id:a:a@1]" {
		t.Fatalf("%v", got)
	}
}

// testMapHalfWay: a commit that fails after some of its rows were written
// (the last node repeats a position) leaves neither its nodes nor its
// revision: a checkpoint is never stored without its map, nor the other way
// round.
func testMapHalfWay(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a"}))
	u := mapUpdate(ptr(1), 2, []string{"a", "b", "c", "b"}, ref("a", 1))
	if err := b.CommitSubjectMap(t.Context(), u); err == nil {
		t.Fatal("a commit writing one position twice succeeded")
	}
	if got := revs(t, b); fmt.Sprint(got) != "[1]" {
		t.Fatalf("revisions %v", got)
	}
	if _, err := nodesAt(t, b, 2, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revision 2 readable: %v", err)
	}
	if got := mustNodesAt(t, b, 1, "a", "b", "c"); fmt.Sprint(got) != "map[id:a:a@1]" {
		t.Fatalf("%v", got)
	}
	// The stale index entry of a@1 was rolled back too: a@1 is still the
	// current a, and pruning must keep it.
	for r := uint64(2); r <= 5; r++ {
		u := mapUpdate(ptr(r-1), r, []string{"b"})
		if r > 2 {
			u.Replaced = []store.SubjectMapRef{ref("b", r-1)}
		}
		u.Keep = 2
		mustCommit(t, b, u)
	}
	if got := mustNodesAt(t, b, 5, "a", "b"); fmt.Sprint(got) != "map[id:a:a@1 id:b:b@5]" {
		t.Fatalf("%v", got)
	}
}

// testMapPrune: with Keep revisions kept, every kept revision still reads
// exactly as written and older ones are gone.
func testMapPrune(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	const keep = 3
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a", "b", "c"}))
	// Each revision r rewrites a, and b on even r; c never changes.
	lastA, lastB := uint64(1), uint64(1)
	want := map[uint64]string{}
	for r := uint64(2); r <= 9; r++ {
		ids := []string{"a"}
		rep := []store.SubjectMapRef{ref("a", lastA)}
		if r%2 == 0 {
			ids = append(ids, "b")
			rep = append(rep, ref("b", lastB))
			lastB = r
		}
		lastA = r
		u := mapUpdate(ptr(r-1), r, ids, rep...)
		u.Keep = keep
		mustCommit(t, b, u)
		want[r] = fmt.Sprintf("map[id:a:a@%d id:b:b@%d id:c:c@1]", r, lastB)
	}
	if got := revs(t, b); fmt.Sprint(got) != "[7 8 9]" {
		t.Fatalf("revisions %v", got)
	}
	for r := uint64(1); r <= 9; r++ {
		got, err := nodesAt(t, b, r, "a", "b", "c")
		if r < 7 {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("pruned revision %d: %v %v", r, got, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != want[r] {
			t.Fatalf("kept revision %d: %v %v, want %s", r, got, err, want[r])
		}
	}
}

// testMapPruneRetained: older revisions named in Retain stay beside the
// newest Keep, each still reading exactly as written (with its
// cosignatures), while the others between them go; once no longer
// retained, they go too.
func testMapPruneRetained(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a", "b", "c"}))
	// Each revision r rewrites a, and b on even r; c never changes.
	lastA, lastB := uint64(1), uint64(1)
	want := map[uint64]string{1: "map[id:a:a@1 id:b:b@1 id:c:c@1]"}
	commit := func(r uint64, retain ...uint64) {
		t.Helper()
		ids := []string{"a"}
		rep := []store.SubjectMapRef{ref("a", lastA)}
		if r%2 == 0 {
			ids = append(ids, "b")
			rep = append(rep, ref("b", lastB))
			lastB = r
		}
		lastA = r
		u := mapUpdate(ptr(r-1), r, ids, rep...)
		u.Keep, u.Retain = 2, retain
		mustCommit(t, b, u)
		want[r] = fmt.Sprintf("map[id:a:a@%d id:b:b@%d id:c:c@1]", r, lastB)
	}
	check := func(kept ...uint64) {
		t.Helper()
		if got := revs(t, b); fmt.Sprint(got) != fmt.Sprint(kept) {
			t.Fatalf("revisions %v, want %v", got, kept)
		}
		for r := uint64(1); r <= lastA; r++ {
			got, err := nodesAt(t, b, r, "a", "b", "c")
			if !slices.Contains(kept, r) {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("pruned revision %d: %v %v", r, got, err)
				}
				continue
			}
			if err != nil || fmt.Sprint(got) != want[r] {
				t.Fatalf("kept revision %d: %v %v, want %s", r, got, err, want[r])
			}
		}
	}
	commit(2)
	mustAddCosigs(t, b, 1, cosig(2, "w1", 1, "a"))
	mustAddCosigs(t, b, 1, cosig(2, "w2", 2, "b"))
	commit(3, 2)
	commit(4, 2, 3, 99) // 99 is not stored: ignored
	commit(5, 2)
	commit(6, 2, 4)
	commit(7, 2, 4)
	check(2, 4, 6, 7)
	if got := cosigsOf(t, b, 2, 3, 4); fmt.Sprint(got) != "[2 w1 00000001 a 2 w2 00000002 b]" {
		t.Fatalf("cosignatures of the retained revision: %v", got)
	}
	commit(8, 4) // 2 is no longer retained
	check(4, 7, 8)
	if got := cosigsOf(t, b, 2); len(got) != 0 {
		t.Fatalf("cosignatures of a pruned revision: %v", got)
	}
	commit(9)
	check(8, 9)
	u := mapUpdate(ptr(9), 10, nil)
	u.Retain = make([]uint64, store.MaxSubjectMapRetain+1)
	if err := b.CommitSubjectMap(t.Context(), u); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("retaining %d revisions: %v", len(u.Retain), err)
	}
}

func testMapReset(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 4, []string{"a", "b"}))
	mustCommit(t, b, mapUpdate(ptr(4), 6, []string{"a"}, ref("a", 4)))
	u := mapUpdate(ptr(6), 6, []string{"c"}) // a rebuild may land on the same size
	u.Reset = true
	mustCommit(t, b, u)
	if got := revs(t, b); fmt.Sprint(got) != "[6]" {
		t.Fatalf("revisions %v", got)
	}
	if got := mustNodesAt(t, b, 6, "a", "b", "c"); fmt.Sprint(got) != "map[id:c:c@6]" {
		t.Fatalf("%v", got)
	}
}

func testMapDurability(t *testing.T, o SubjectMapOpener) {
	b, err := o(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, b, mapUpdate(nil, 2, []string{"a", "b"}))
	mustCommit(t, b, mapUpdate(ptr(2), 3, []string{"b"}, ref("b", 2)))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openMap(t, o)
	if got := revs(t, b); fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("revisions %v", got)
	}
	if got := mustNodesAt(t, b, 3, "a", "b"); fmt.Sprint(got) != "map[id:a:a@2 id:b:b@3]" {
		t.Fatalf("%v", got)
	}
}

// testMapConcurrent: of several commits built on the same revision, exactly
// one lands.
func testMapConcurrent(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a"}))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = b.CommitSubjectMap(context.Background(), mapUpdate(ptr(1), uint64(2+i), []string{"a"}, ref("a", 1)))
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrSubjectMapConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent commits on one revision landed", won)
	}
	if rs := revs(t, b); len(rs) != 2 {
		t.Fatalf("revisions %v", rs)
	}
}

// testMapManyIDs: a read of more positions than one statement takes.
func testMapManyIDs(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	var ids []string
	for i := range 1234 {
		ids = append(ids, fmt.Sprint(i))
	}
	mustCommit(t, b, mapUpdate(nil, 1, ids))
	got := mustNodesAt(t, b, 1, append(ids, "missing")...)
	if len(got) != len(ids) || got["id:1233"] != "1233@1" {
		t.Fatalf("%d nodes", len(got))
	}
}

// cosig is a well-formed stored cosignature of rev by key name with hash
// h, its bytes made from tag.
func cosig(rev uint64, name string, h uint32, tag string) store.SubjectCosignature {
	sig := binary.BigEndian.AppendUint32(nil, h)
	sig = append(sig, bytes.Repeat([]byte(tag), 64/len(tag)+1)[:64]...)
	return store.SubjectCosignature{Rev: rev, Name: name, Hash: h, Sig: sig}
}

// cosigsOf is "rev name hash tag" of the cosignatures stored for revs.
func cosigsOf(t *testing.T, b SubjectMapBackend, revs ...uint64) []string {
	t.Helper()
	cs, err := b.SubjectCosignatures(t.Context(), revs)
	if err != nil {
		t.Fatalf("cosignatures of %v: %v", revs, err)
	}
	var out []string
	for _, c := range cs {
		if len(c.Sig) != 68 || binary.BigEndian.Uint32(c.Sig) != c.Hash {
			t.Fatalf("cosignature %+v read back malformed", c)
		}
		out = append(out, fmt.Sprintf("%d %s %08x %s", c.Rev, c.Name, c.Hash, c.Sig[4:5]))
	}
	return out
}

func mustAddCosigs(t *testing.T, b SubjectMapBackend, want int, cs ...store.SubjectCosignature) {
	t.Helper()
	n, err := b.AddSubjectCosignatures(t.Context(), cs)
	if err != nil || n != want {
		t.Fatalf("add %d cosignatures: %d added, %v; want %d", len(cs), n, err, want)
	}
}

// testCosignatures: cosignatures are stored per revision and key, read back
// in (revision, name, hash) order, and adding one again (even with other
// bytes, as a witness's later cosignature of the same checkpoint would
// have) changes nothing.
func testCosignatures(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a"}))
	mustCommit(t, b, mapUpdate(ptr(1), 2, []string{"b"}))
	if got := cosigsOf(t, b, 1, 2); len(got) != 0 {
		t.Fatalf("cosignatures before any was added: %v", got)
	}
	mustAddCosigs(t, b, 3,
		cosig(2, "witness-b", 0xb0000002, "x"),
		cosig(1, "witness-b", 0xb0000001, "y"),
		cosig(2, "witness-a", 0xa0000002, "z"))
	// Again, with one new key; the same key name with another hash is
	// another key.
	mustAddCosigs(t, b, 2,
		cosig(2, "witness-b", 0xb0000002, "q"),
		cosig(1, "witness-c", 0xc0000001, "w"),
		cosig(1, "witness-b", 0xb00000ff, "v"))
	mustAddCosigs(t, b, 0, cosig(1, "witness-b", 0xb0000001, "y"))
	mustAddCosigs(t, b, 0)
	want := "[1 witness-b b0000001 y 1 witness-b b00000ff v 1 witness-c c0000001 w 2 witness-a a0000002 z 2 witness-b b0000002 x]"
	if got := cosigsOf(t, b, 1, 2); fmt.Sprint(got) != want {
		t.Fatalf("cosignatures %v\nwant %s", got, want)
	}
	if got := cosigsOf(t, b, 2, 7); fmt.Sprint(got) != "[2 witness-a a0000002 z 2 witness-b b0000002 x]" {
		t.Fatalf("cosignatures of 2 and 7: %v", got)
	}
	if got := cosigsOf(t, b); len(got) != 0 {
		t.Fatalf("cosignatures of no revision: %v", got)
	}
}

// testCosignaturesUnstored: a cosignature of a revision not stored is
// refused, and so are the others added with it.
func testCosignaturesUnstored(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	if _, err := b.AddSubjectCosignatures(t.Context(), []store.SubjectCosignature{cosig(1, "w", 1, "x")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cosignature with no revision stored: %v", err)
	}
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a"}))
	_, err := b.AddSubjectCosignatures(t.Context(), []store.SubjectCosignature{cosig(1, "w", 1, "x"), cosig(5, "w", 1, "x")})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cosignature of an unstored revision: %v", err)
	}
	if got := cosigsOf(t, b, 1, 5); len(got) != 0 {
		t.Fatalf("a refused add wrote %v", got)
	}
}

func testCosignaturesInvalid(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	mustCommit(t, b, mapUpdate(nil, 1, []string{"a"}))
	good := cosig(1, "witness-a", 7, "x")
	bad := []func(c *store.SubjectCosignature){
		func(c *store.SubjectCosignature) { c.Name = "" },
		func(c *store.SubjectCosignature) { c.Name = "a b" },
		func(c *store.SubjectCosignature) { c.Name = "a+b" },
		func(c *store.SubjectCosignature) { c.Name = "a\nb" },
		func(c *store.SubjectCosignature) {
			c.Name = string(bytes.Repeat([]byte("n"), store.MaxCosignatureName+1))
		},
		func(c *store.SubjectCosignature) { c.Sig = c.Sig[:4] },
		func(c *store.SubjectCosignature) { c.Sig = make([]byte, store.MaxCosignatureSig+1) },
		func(c *store.SubjectCosignature) { c.Hash++ }, // bytes of another key
		func(c *store.SubjectCosignature) { c.Rev = 1 << 63 },
	}
	for i, mutate := range bad {
		c := good
		c.Sig = bytes.Clone(good.Sig)
		mutate(&c)
		if _, err := b.AddSubjectCosignatures(t.Context(), []store.SubjectCosignature{good, c}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("case %d: %v, want ErrInvalid", i, err)
		}
	}
	if got := cosigsOf(t, b, 1); len(got) != 0 {
		t.Fatalf("an invalid add wrote %v", got)
	}
	if _, err := b.SubjectCosignatures(t.Context(), []uint64{1 << 63}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("read at revision 2^63: %v", err)
	}
}

// testCosignaturesPruned: a revision's cosignatures go with it, when it is
// pruned and when the map is reset; the kept revisions' stay.
func testCosignaturesPruned(t *testing.T, o SubjectMapOpener) {
	b := openMap(t, o)
	commit := func(prev *uint64, rev uint64, reset bool) {
		t.Helper()
		u := mapUpdate(prev, rev, []string{fmt.Sprint(rev)})
		u.Keep, u.Reset = 2, reset
		mustCommit(t, b, u)
	}
	commit(nil, 1, false)
	mustAddCosigs(t, b, 2, cosig(1, "w1", 1, "a"), cosig(1, "w2", 2, "b"))
	commit(ptr(1), 2, false)
	mustAddCosigs(t, b, 1, cosig(2, "w1", 1, "c"))
	if got := cosigsOf(t, b, 1, 2); len(got) != 3 {
		t.Fatalf("before pruning: %v", got)
	}
	commit(ptr(2), 3, false) // prunes 1
	if got := revs(t, b); fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("revisions %v", got)
	}
	if got := cosigsOf(t, b, 1, 2, 3); fmt.Sprint(got) != "[2 w1 00000001 c]" {
		t.Fatalf("after pruning revision 1: %v", got)
	}
	// A rebuild reuses revision 3's number: none of the old cosignatures
	// come with it.
	mustAddCosigs(t, b, 1, cosig(3, "w3", 3, "d"))
	commit(ptr(3), 3, true)
	commit(ptr(3), 4, false)
	if got := cosigsOf(t, b, 1, 2, 3, 4); len(got) != 0 {
		t.Fatalf("after a reset: %v", got)
	}
}

func testCosignaturesDurability(t *testing.T, o SubjectMapOpener) {
	b, err := o(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, b, mapUpdate(nil, 2, []string{"a"}))
	mustCommit(t, b, mapUpdate(ptr(2), 3, []string{"b"}))
	mustAddCosigs(t, b, 2, cosig(2, "w1", 1, "a"), cosig(3, "w1", 1, "b"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openMap(t, o)
	if got := cosigsOf(t, b, 2, 3); fmt.Sprint(got) != "[2 w1 00000001 a 3 w1 00000001 b]" {
		t.Fatalf("after reopening: %v", got)
	}
	mustAddCosigs(t, b, 0, cosig(3, "w1", 1, "b"))
}
