// Package ecdhpsi is private set intersection by double blinding in a
// prime-order group (the Diffie–Hellman PSI of C. Meadows, "A More Efficient
// Cryptographic Matchmaking Protocol", IEEE S&P 1986, and B. A. Huberman,
// M. Franklin, T. Hogg, "Enhancing Privacy and Trust in Electronic
// Communities", ACM EC 1999), over ristretto255 (RFC 9496) with identifiers
// hashed to the group by hash_to_ristretto255 (RFC 9380, appendix B; suite
// ristretto255_XMD:SHA-512_R255MAP_RO_) under the domain-separation tag DST.
// It is the entity-alignment step of joint modelling.
//
// # Protocol
//
// The guest (the party that learns which of its members are shared, e.g. the
// bank holding labels) has a set Y; the host (e.g. a department holding
// features) has a set X. Each picks a secret non-zero scalar, b and a. H is
// hashing to the group.
//
//  1. guest → host  Request   b·H(y) for y ∈ Y, in an order shuffled by the guest
//  2. host → guest  Response  a·(b·H(y)) for each Request element, in Request order;
//     a·H(x) for x ∈ X, shuffled by the host
//  3. guest         b·(a·H(x)) for each x; y is shared iff a·b·H(y) is among them
//  4. guest → host  Reply     b·(a·H(x)), shuffled again by the guest
//  5. host          counts the Reply elements that are among its a·(b·H(y))
//
// What each side learns (semi-honest parties; the discrete-logarithm and
// decisional Diffie–Hellman assumptions in ristretto255, H a random oracle):
//
//   - The guest learns |X|, and which of its own members are in X ∩ Y. It
//     learns nothing about the members of X outside Y: each a·H(x) is a
//     pseudorandom group element to anyone without a.
//   - The host learns |Y| and |X ∩ Y| and nothing else: every element it sees
//     is blinded by b, which it does not know; the guest's shuffles break any
//     link between the positions in the Request or Reply and the guest's
//     records, and between the Reply and the host's own Response, so the host
//     cannot tell which of its members matched.
//
// Set sizes are revealed; pad with random dummy identifiers if they are
// sensitive. A malicious party can cheat (for example a guest can send
// elements it did not derive from identifiers, or lie in the Reply); this
// package checks encodings, lengths and duplicates, not honesty.
// Identifiers should be normalised (e.g. upper-case USCCs) before hashing.
//
// # Encodings and validation
//
// Elements travel as their 32-byte canonical RFC 9496 encoding. Decoding
// rejects non-canonical encodings, encodings of no point, and the identity
// (which a zero scalar would produce and which would match everything).
// Message vectors of the wrong length and duplicate elements are rejected.
//
// # Side channels
//
// Scalar multiplication and hashing to the group are constant time
// (github.com/cloudflare/circl, github.com/bwesterb/go-ristretto). Set
// membership uses Go maps of blinded values: their timing depends only on
// pseudorandom encodings. Shuffles use ChaCha8 keyed from crypto/rand.
// Blinding scalars live in memory only and are never logged or encoded.
package ecdhpsi

import (
	"crypto/rand"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"runtime"
	"sync"

	"github.com/cloudflare/circl/group"
)

// DST is the domain-separation tag for hashing identifiers to ristretto255.
// It names this protocol and version, so hashes cannot be replayed into
// another use of the same hash-to-group suite.
const DST = "CreditExchange-ECDHPSI-v1-ristretto255_XMD:SHA-512_R255MAP_RO_"

// Sizes.
const (
	// ElementSize is the length of an encoded element.
	ElementSize = 32
	// MaxSetSize bounds the number of elements in any message or set.
	MaxSetSize = 1 << 24
)

// Errors returned by this package.
var (
	// ErrMalformed: an element is not a canonical encoding of a group element,
	// or a message has the wrong length.
	ErrMalformed = errors.New("ecdhpsi: malformed element or message")
	// ErrIdentity: an element is the identity.
	ErrIdentity = errors.New("ecdhpsi: identity element")
	// ErrLength: a message vector has the wrong number of elements.
	ErrLength = errors.New("ecdhpsi: wrong number of elements")
	// ErrDuplicate: a set or message holds the same identifier or element twice.
	ErrDuplicate = errors.New("ecdhpsi: duplicate identifier or element")
	// ErrTooLarge: a set or message exceeds MaxSetSize.
	ErrTooLarge = errors.New("ecdhpsi: set too large")
	// ErrOrder: a protocol step was called out of order.
	ErrOrder = errors.New("ecdhpsi: protocol step out of order")
)

var g = group.Ristretto255 // the group: an immutable value, not state

// Element is the canonical encoding of a ristretto255 element.
type Element [ElementSize]byte

// HashToElement hashes an identifier to the group under DST.
func HashToElement(id []byte) Element {
	return encode(g.HashToElement(id, []byte(DST)))
}

func encode(e group.Element) Element {
	var out Element
	b, err := e.MarshalBinaryCompress()
	if err != nil || len(b) != ElementSize {
		panic("ecdhpsi: ristretto255 encoding failed") // cannot happen
	}
	copy(out[:], b)
	return out
}

// Decode checks that e is the canonical encoding of a non-identity element.
func Decode(e Element) (group.Element, error) {
	p := g.NewElement()
	if err := p.UnmarshalBinary(e[:]); err != nil {
		return nil, ErrMalformed
	}
	if p.IsIdentity() {
		return nil, ErrIdentity
	}
	return p, nil
}

// Key is a secret blinding scalar. It is never encoded or logged.
type Key struct {
	s group.Scalar
}

// NewKey returns a uniformly random non-zero scalar (from crypto/rand).
func NewKey() *Key {
	return &Key{s: g.RandomNonZeroScalar(rand.Reader)}
}

// String hides the scalar.
func (k *Key) String() string { return "ecdhpsi.Key(secret)" }

// LogValue hides the scalar.
func (k *Key) LogValue() slog.Value { return slog.StringValue("ecdhpsi.Key(secret)") }

// Options tunes the work split.
type Options struct {
	// Workers is the number of goroutines for hashing and blinding; zero
	// means runtime.GOMAXPROCS(0).
	Workers int
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// parallel runs f(i) for i in [0, n) on w goroutines and returns the first error.
func parallel(n, w int, f func(i int) error) error {
	if w > n {
		w = max(n, 1)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	chunk := (n + w - 1) / w
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		wg.Go(func() {
			for i := start; i < end; i++ {
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// BlindIdentifiers returns k·H(id) for each identifier, in order.
// Identifiers must be distinct.
func (k *Key) BlindIdentifiers(ids [][]byte, opts Options) ([]Element, error) {
	if len(ids) > MaxSetSize {
		return nil, ErrTooLarge
	}
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if _, dup := seen[string(id)]; dup {
			return nil, ErrDuplicate
		}
		seen[string(id)] = struct{}{}
	}
	out := make([]Element, len(ids))
	err := parallel(len(ids), opts.workers(), func(i int) error {
		p := g.HashToElement(ids[i], []byte(DST))
		out[i] = encode(p.Mul(p, k.s))
		return nil
	})
	return out, err
}

// Blind returns k·e for each element, in order, after checking that each is a
// canonical non-identity encoding and that none repeats.
func (k *Key) Blind(in []Element, opts Options) ([]Element, error) {
	if len(in) > MaxSetSize {
		return nil, ErrTooLarge
	}
	if err := checkDistinct(in); err != nil {
		return nil, err
	}
	out := make([]Element, len(in))
	err := parallel(len(in), opts.workers(), func(i int) error {
		p, err := Decode(in[i])
		if err != nil {
			return err
		}
		out[i] = encode(p.Mul(p, k.s))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func checkDistinct(in []Element) error {
	seen := make(map[Element]struct{}, len(in))
	for _, e := range in {
		if _, dup := seen[e]; dup {
			return ErrDuplicate
		}
		seen[e] = struct{}{}
	}
	return nil
}

// newShuffler returns a ChaCha8 generator keyed from crypto/rand.
func newShuffler() *mrand.Rand {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		panic(err) // crypto/rand.Read does not fail since Go 1.24
	}
	return mrand.New(mrand.NewChaCha8(seed))
}
