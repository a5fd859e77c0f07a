package subjectlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// KeySize is the size of a map key and of every map hash.
const KeySize = 32

// Domain-separation prefixes of the map and chain hashes.
const (
	prefixMapLeaf = 0x00
	prefixMapNode = 0x01
	prefixChain   = 0x02
)

// MaxMapDepth bounds a map proof: one sibling per key bit.
const MaxMapDepth = 8 * KeySize

// Map proof errors.
var (
	// ErrMapProof: a map proof does not lead to the committed root.
	ErrMapProof = errors.New("subjectlog: map proof invalid")
)

// Key is a map position: the first 32 bytes of the subject's VRF output.
type Key [KeySize]byte

// Value is what the map holds for one subject: how many entries of the
// inquiry log name it, and the head of the hash chain over them.
type Value struct {
	Count uint64
	Head  [32]byte
}

// valueHash is SHA-256(count || head).
func (v Value) hash() [32]byte {
	var b [8 + 32]byte
	binary.BigEndian.PutUint64(b[:8], v.Count)
	copy(b[8:], v.Head[:])
	return sha256.Sum256(b[:])
}

// ExtendChain is the next chain head: SHA-256(0x02 || head || index || leafHash).
func ExtendChain(head [32]byte, index uint64, leafHash []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{prefixChain})
	h.Write(head[:])
	h.Write(binary.BigEndian.AppendUint64(nil, index))
	h.Write(leafHash)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// mapLeafHash is SHA-256(0x00 || key || valueHash).
func mapLeafHash(k Key, valueHash [32]byte) [32]byte {
	var b [1 + 2*KeySize]byte
	b[0] = prefixMapLeaf
	copy(b[1:], k[:])
	copy(b[1+KeySize:], valueHash[:])
	return sha256.Sum256(b[:])
}

func mapNodeHash(l, r [32]byte) [32]byte {
	var b [1 + 2*KeySize]byte
	b[0] = prefixMapNode
	copy(b[1:], l[:])
	copy(b[1+KeySize:], r[:])
	return sha256.Sum256(b[:])
}

// bit is bit d of k, most significant first.
func bit(k Key, d int) int { return int(k[d/8]>>(7-d%8)) & 1 }

// Map is a sparse Merkle tree over 256-bit keys. A subtree holding no key
// hashes to 32 zero bytes, a subtree holding exactly one key is that key's
// leaf hash (wherever it sits), any other subtree is the node hash of its two
// halves. The shape is a function of the key set only, so the root commits to
// exactly one value per key: two proofs for one key with different values
// would need a collision of SHA-256 (leaf and node hashes are domain
// separated). A Map is not safe for concurrent mutation.
type Map struct {
	vals map[Key]Value
}

// NewMap returns an empty map.
func NewMap() *Map { return &Map{vals: make(map[Key]Value)} }

// Clone returns an independent copy.
func (m *Map) Clone() *Map {
	c := &Map{vals: make(map[Key]Value, len(m.vals))}
	for k, v := range m.vals {
		c.vals[k] = v
	}
	return c
}

// Len is the number of keys.
func (m *Map) Len() int { return len(m.vals) }

// Get returns k's value (the zero Value if absent).
func (m *Map) Get(k Key) Value { return m.vals[k] }

// Append extends k's chain with the leaf at index.
func (m *Map) Append(k Key, index uint64, leafHash []byte) {
	v := m.vals[k]
	v.Head = ExtendChain(v.Head, index, leafHash)
	v.Count++
	m.vals[k] = v
}

type kv struct {
	k Key
	h [32]byte // leaf hash
}

func (m *Map) sorted() []kv {
	out := make([]kv, 0, len(m.vals))
	for k, v := range m.vals {
		out = append(out, kv{k, mapLeafHash(k, v.hash())})
	}
	slices.SortFunc(out, func(a, b kv) int { return bytes.Compare(a.k[:], b.k[:]) })
	return out
}

// split returns the index of the first key of s (sorted, sharing the bits
// above d) whose bit d is 1.
func split(s []kv, d int) int {
	return sort.Search(len(s), func(i int) bool { return bit(s[i].k, d) == 1 })
}

func subtreeRoot(s []kv, d int) [32]byte {
	switch len(s) {
	case 0:
		return [32]byte{}
	case 1:
		return s[0].h
	}
	i := split(s, d)
	return mapNodeHash(subtreeRoot(s[:i], d+1), subtreeRoot(s[i:], d+1))
}

// Root is the map's root hash.
func (m *Map) Root() [32]byte { return subtreeRoot(m.sorted(), 0) }

// MapProof proves k's value (or its absence) against a map root.
type MapProof struct {
	// Siblings are the hashes beside k's path, from the root down; the path
	// ends where k's subtree holds at most one key.
	Siblings [][32]byte
	// When k is absent and its subtree holds another key, that key and the
	// hash of its value; otherwise OtherKey is nil.
	OtherKey       *Key
	OtherValueHash [32]byte
}

// Prove returns the proof of k's value (absent keys have the zero Value).
func (m *Map) Prove(k Key) MapProof {
	s := m.sorted()
	var p MapProof
	for d := 0; len(s) > 1; d++ {
		i := split(s, d)
		if bit(k, d) == 0 {
			p.Siblings = append(p.Siblings, subtreeRoot(s[i:], d+1))
			s = s[:i]
		} else {
			p.Siblings = append(p.Siblings, subtreeRoot(s[:i], d+1))
			s = s[i:]
		}
	}
	if len(s) == 1 && s[0].k != k {
		other := s[0].k
		p.OtherKey = &other
		p.OtherValueHash = m.vals[other].hash()
	}
	return p
}

// VerifyMapProof checks that root commits k to v. A zero v (Count 0) is
// checked as absence. It fails with ErrMapProof.
func VerifyMapProof(root [32]byte, k Key, v Value, p MapProof) error {
	if len(p.Siblings) > MaxMapDepth {
		return fmt.Errorf("%w: %d siblings", ErrMapProof, len(p.Siblings))
	}
	var h [32]byte
	switch {
	case v.Count == 0 && v.Head != [32]byte{}:
		return fmt.Errorf("%w: a chain head for no entries", ErrMapProof)
	case v.Count == 0 && p.OtherKey == nil:
		// empty subtree: h stays zero
	case v.Count == 0:
		o := *p.OtherKey
		if o == k {
			return fmt.Errorf("%w: absence shown by the key itself", ErrMapProof)
		}
		for d := range p.Siblings {
			if bit(o, d) != bit(k, d) {
				return fmt.Errorf("%w: the other key is off the path", ErrMapProof)
			}
		}
		h = mapLeafHash(o, p.OtherValueHash)
	case p.OtherKey != nil:
		return fmt.Errorf("%w: another key where the subject's leaf should be", ErrMapProof)
	default:
		h = mapLeafHash(k, v.hash())
	}
	for d := len(p.Siblings) - 1; d >= 0; d-- {
		if bit(k, d) == 0 {
			h = mapNodeHash(h, p.Siblings[d])
		} else {
			h = mapNodeHash(p.Siblings[d], h)
		}
	}
	if h != root {
		return fmt.Errorf("%w: root mismatch", ErrMapProof)
	}
	return nil
}
