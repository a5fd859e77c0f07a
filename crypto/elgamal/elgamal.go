// Package elgamal is exponential (additively homomorphic) ElGamal over
// ristretto255 (RFC 9496): T. ElGamal, "A Public Key Cryptosystem and a
// Signature Scheme Based on Discrete Logarithms", IEEE Trans. Inf. Theory
// 1985, with the message in the exponent as in R. Cramer, R. Gennaro and
// B. Schoenmakers, "A Secure and Optimally Efficient Multi-Authority Election
// Scheme", EUROCRYPT 1997.
//
// A ciphertext of m is (r·G, m·G + r·X) for the public key X = x·G and a
// fresh random r. Ciphertexts add componentwise, so Add gives E(a + b).
// Decryption recovers m·G and then m by a baby-step giant-step search over
// [0, Table.Max()], so it is only for small counts (tallies, per-bin counts).
//
// Elements are 32-byte canonical encodings; parsers reject non-canonical
// encodings and the identity where it cannot occur honestly (public keys,
// the first component of a ciphertext). Scalar multiplication is constant
// time; the discrete-log search is not (its time depends on m, which the key
// holder is about to learn anyway). The package never logs.
package elgamal

import (
	"crypto/rand"
	"errors"
	"log/slog"

	"github.com/cloudflare/circl/group"
)

const (
	// ElementSize is the length of an encoded element.
	ElementSize = 32
	// CiphertextSize is the length of an encoded ciphertext.
	CiphertextSize = 2 * ElementSize
	// MaxTableMax bounds Table.Max (the table holds about sqrt(max) entries).
	MaxTableMax = 1 << 40
)

// Errors returned by this package.
var (
	// ErrMalformed: wrong length, non-canonical encoding, or a forbidden identity.
	ErrMalformed = errors.New("elgamal: malformed encoding")
	// ErrOutOfRange: the plaintext is not in [0, Table.Max()] (or the key is wrong).
	ErrOutOfRange = errors.New("elgamal: plaintext out of table range")
	// ErrTableSize: NewTable was given a bound above MaxTableMax.
	ErrTableSize = errors.New("elgamal: table bound too large")
)

var g = group.Ristretto255

// PublicKey is X = x·G.
type PublicKey struct{ x group.Element }

// PrivateKey holds x. It is never encoded or logged by this package.
type PrivateKey struct {
	s   group.Scalar
	pub PublicKey
}

// GenerateKey returns a fresh key from crypto/rand.
func GenerateKey() *PrivateKey {
	s := g.RandomNonZeroScalar(rand.Reader)
	return &PrivateKey{s: s, pub: PublicKey{x: g.NewElement().MulGen(s)}}
}

// Public returns the public key.
func (sk *PrivateKey) Public() *PublicKey { return &sk.pub }

// LogValue hides the secret scalar.
func (sk *PrivateKey) LogValue() slog.Value { return slog.StringValue("elgamal.PrivateKey(secret)") }

// MarshalBinary returns the 32-byte encoding of X.
func (pk *PublicKey) MarshalBinary() ([]byte, error) { return pk.x.MarshalBinaryCompress() }

// ParsePublicKey decodes a public key: canonical and not the identity.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	e, err := decode(b, false)
	if err != nil {
		return nil, err
	}
	return &PublicKey{x: e}, nil
}

func decode(b []byte, allowIdentity bool) (group.Element, error) {
	if len(b) != ElementSize {
		return nil, ErrMalformed
	}
	e := g.NewElement()
	if err := e.UnmarshalBinary(b); err != nil {
		return nil, ErrMalformed
	}
	if !allowIdentity && e.IsIdentity() {
		return nil, ErrMalformed
	}
	return e, nil
}

// Ciphertext is (C1, C2) = (r·G, m·G + r·X).
type Ciphertext struct{ c1, c2 group.Element }

// Encrypt encrypts m with fresh randomness.
func (pk *PublicKey) Encrypt(m uint64) *Ciphertext {
	r := g.RandomNonZeroScalar(rand.Reader)
	mG := g.NewElement().MulGen(g.NewScalar().SetUint64(m))
	rX := g.NewElement().Mul(pk.x, r)
	return &Ciphertext{c1: g.NewElement().MulGen(r), c2: mG.Add(mG, rX)}
}

// Add returns E(a + b); the sum of the randomness stays uniform.
func Add(a, b *Ciphertext) *Ciphertext {
	return &Ciphertext{c1: g.NewElement().Add(a.c1, b.c1), c2: g.NewElement().Add(a.c2, b.c2)}
}

// MarshalBinary returns C1 ‖ C2.
func (ct *Ciphertext) MarshalBinary() ([]byte, error) {
	a, err := ct.c1.MarshalBinaryCompress()
	if err != nil {
		return nil, err
	}
	b, err := ct.c2.MarshalBinaryCompress()
	if err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

// ParseCiphertext decodes C1 ‖ C2: exactly 64 bytes, both canonical, C1 not
// the identity (r = 0 would leave m·G in the clear).
func ParseCiphertext(b []byte) (*Ciphertext, error) {
	if len(b) != CiphertextSize {
		return nil, ErrMalformed
	}
	c1, err := decode(b[:ElementSize], false)
	if err != nil {
		return nil, err
	}
	c2, err := decode(b[ElementSize:], true)
	if err != nil {
		return nil, err
	}
	return &Ciphertext{c1: c1, c2: c2}, nil
}

// Table is a baby-step table for discrete logarithms in [0, Max]. It is
// immutable after NewTable and safe for concurrent use.
type Table struct {
	max   uint64
	m     uint64 // baby steps: 0..m-1
	baby  map[[ElementSize]byte]uint64
	giant group.Element // -m·G
}

// NewTable precomputes ceil(sqrt(max+1)) multiples of G (32 MB at 2^40).
func NewTable(max uint64) (*Table, error) {
	if max > MaxTableMax {
		return nil, ErrTableSize
	}
	m := uint64(1)
	for m*m < max+1 {
		m++
	}
	t := &Table{max: max, m: m, baby: make(map[[ElementSize]byte]uint64, m)}
	p := g.Identity()
	gen := g.Generator()
	for j := range m {
		t.baby[key(p)] = j
		p = g.NewElement().Add(p, gen)
	}
	t.giant = g.NewElement().Neg(g.NewElement().MulGen(g.NewScalar().SetUint64(m)))
	return t, nil
}

// Max returns the largest plaintext the table can find.
func (t *Table) Max() uint64 { return t.max }

func key(e group.Element) [ElementSize]byte {
	var k [ElementSize]byte
	b, _ := e.MarshalBinaryCompress()
	copy(k[:], b)
	return k
}

// Decrypt returns m if it is in [0, t.Max()], else ErrOutOfRange. A
// ciphertext under another key almost surely gives ErrOutOfRange.
func (sk *PrivateKey) Decrypt(ct *Ciphertext, t *Table) (uint64, error) {
	if ct == nil || ct.c1 == nil || ct.c2 == nil {
		return 0, ErrMalformed
	}
	// m·G = C2 - x·C1
	mG := g.NewElement().Mul(ct.c1, sk.s)
	mG.Neg(mG)
	mG.Add(mG, ct.c2)
	for i := uint64(0); i*t.m <= t.max; i++ {
		if j, ok := t.baby[key(mG)]; ok {
			if m := i*t.m + j; m <= t.max {
				return m, nil
			}
			return 0, ErrOutOfRange
		}
		mG.Add(mG, t.giant)
	}
	return 0, ErrOutOfRange
}
