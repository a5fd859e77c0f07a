package subjectlog

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/node/store/pgtest"
)

// mapBackends open a new, empty store of each kind.
var mapBackends = []struct {
	name string
	open func(t *testing.T) MapStore
}{
	{"sqlite", func(t *testing.T) MapStore {
		st, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "node.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(t *testing.T) MapStore {
		st, err := store.OpenPostgres(t.Context(), pgtest.Schema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// testKey is a reproducible random key.
func testKey(i int) Key { return Key(sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))) }

// flip is k with bit d flipped: the two share exactly d bits.
func flip(k Key, d int) Key {
	k[d/8] ^= 0x80 >> (d % 8)
	return k
}

// leafOf is a made-up leaf hash for index i.
func leafOf(i uint64) []byte {
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("leaf"), i))
	return h[:]
}

// batch is one update of the stored map and of its in-memory reference.
type batch struct {
	next uint64 // next leaf index
	ups  map[Key][]leafRef
}

func (b *batch) add(m *Map, k Key, n int) {
	if b.ups == nil {
		b.ups = map[Key][]leafRef{}
	}
	for range n {
		b.ups[k] = append(b.ups[k], leafRef{index: b.next, hash: leafOf(b.next)})
		m.Append(k, b.next, leafOf(b.next))
		b.next++
	}
}

func (b *batch) sorted() []keyUpdate {
	var out []keyUpdate
	for k, ls := range b.ups {
		out = append(out, keyUpdate{key: k, leaves: ls})
	}
	slices.SortFunc(out, func(a, b keyUpdate) int { return compareKeys(a.key, b.key) })
	b.ups = nil
	return out
}

func compareKeys(a, b Key) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// commitBatch computes and stores the next revision (rev: its number).
func commitBatch(t testing.TB, st MapStore, base *mapRevision, rev uint64, ups []keyUpdate) *mapRevision {
	t.Helper()
	ctx := context.Background()
	up, err := computeUpdate(ctx, st, base, ups)
	if err != nil {
		t.Fatalf("revision %d: %v", rev, err)
	}
	var prev *uint64
	if base != nil {
		prev = &base.rev
	}
	if err := st.CommitSubjectMap(ctx, store.SubjectMapUpdate{
		Prev:     prev,
		Revision: store.SubjectMapRevision{Rev: rev, Root: up.root[:], Keys: up.keys, Note: []byte("test\n")},
		Nodes:    up.nodes,
		Replaced: up.replaced,
		Keep:     storeKeep,
	}); err != nil {
		t.Fatalf("revision %d: %v", rev, err)
	}
	return &mapRevision{rev: rev, root: up.root, keys: up.keys}
}

// checkAgainst compares the stored map at r with the in-memory m: root,
// key count, and each key's value and proof (present and absent keys).
func checkAgainst(t *testing.T, st MapStore, r *mapRevision, m *Map, absent []Key) {
	t.Helper()
	if r.root != m.Root() || r.keys != uint64(m.Len()) {
		t.Fatalf("revision %d: root %x over %d keys, in memory %x over %d", r.rev, r.root, r.keys, m.Root(), m.Len())
	}
	keys := absent
	for k := range m.vals {
		keys = append(keys, k)
	}
	for _, k := range keys {
		v, p, err := proveStored(t.Context(), st, *r, k)
		if err != nil {
			t.Fatalf("revision %d, key %x: %v", r.rev, k[:4], err)
		}
		if v != m.Get(k) {
			t.Fatalf("revision %d, key %x: value %+v, in memory %+v", r.rev, k[:4], v, m.Get(k))
		}
		if want := m.Prove(k); !reflect.DeepEqual(p, want) {
			t.Fatalf("revision %d, key %x: proof\n%+v\nin memory\n%+v", r.rev, k[:4], p, want)
		}
	}
}

// TestStoredMapMatchesMemory: the stored map, updated batch by batch,
// has the root and gives the proofs of the in-memory Map over the same
// keys, at the newest revision and at older kept ones; including keys that
// share long prefixes (leaves pushed down to depth 256, paths longer than
// one read window) and keys updated again in later batches.
func TestStoredMapMatchesMemory(t *testing.T) {
	for _, be := range mapBackends {
		t.Run(be.name, func(t *testing.T) {
			st := be.open(t)
			m := NewMap()
			var b batch
			deep := testKey(-1)
			absent := []Key{testKey(-2), flip(deep, 254), flip(deep, 40), {}}

			// Revision 1: 300 keys, a pair sharing 200 bits, and deep.
			for i := range 300 {
				b.add(m, testKey(i), 1+i%3)
			}
			b.add(m, testKey(-3), 1)
			b.add(m, flip(testKey(-3), 200), 2)
			b.add(m, deep, 1)
			r1 := commitBatch(t, st, nil, 1, b.sorted())
			m1 := m.Clone()
			checkAgainst(t, st, r1, m, absent)

			// Revision 2: old keys again, new ones, and one sharing 100
			// bits with deep.
			for i := 250; i < 350; i++ {
				b.add(m, testKey(i), 1)
			}
			b.add(m, flip(deep, 100), 1)
			r2 := commitBatch(t, st, r1, 2, b.sorted())
			checkAgainst(t, st, r2, m, absent)

			// Revision 3: deep gets a neighbour sharing all but its last
			// bit: both leaves end at depth 256.
			b.add(m, flip(deep, 255), 1)
			r3 := commitBatch(t, st, r2, 3, b.sorted())
			checkAgainst(t, st, r3, m, absent)

			// Revision 4: deep itself again, and nothing else.
			b.add(m, deep, 2)
			r4 := commitBatch(t, st, r3, 4, b.sorted())
			checkAgainst(t, st, r4, m, absent)

			// Revision 1 is still kept and reads as it was.
			checkAgainst(t, st, r1, m1, absent)

			// Revision 5 (no change) prunes revision 1.
			r5 := commitBatch(t, st, r4, 5, nil)
			if r5.root != r4.root {
				t.Fatal("an empty batch changed the root")
			}
			checkAgainst(t, st, r5, m, absent)
			if _, _, err := proveStored(t.Context(), st, *r1, deep); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("proof at a pruned revision: %v", err)
			}
		})
	}
}

// TestStoredMapEmpty: proofs in an empty map and a map of one key.
func TestStoredMapEmpty(t *testing.T) {
	st := mapBackends[0].open(t)
	m := NewMap()
	r0 := commitBatch(t, st, nil, 0, nil)
	checkAgainst(t, st, r0, m, []Key{testKey(1)})
	var b batch
	b.add(m, testKey(1), 1)
	r1 := commitBatch(t, st, r0, 1, b.sorted())
	checkAgainst(t, st, r1, m, []Key{testKey(2), flip(testKey(1), 255)})
}
