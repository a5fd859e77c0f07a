// Package paillier implements the Paillier cryptosystem (P. Paillier,
// "Public-Key Cryptosystems Based on Composite Degree Residuosity Classes",
// EUROCRYPT 1999, https://doi.org/10.1007/3-540-48910-X_16) with the
// generator g = n+1 (the simplification of I. Damgård and M. Jurik,
// "A Generalisation, a Simplification and Some Applications of Paillier's
// Probabilistic Public-Key System", PKC 2001, section 3), for the additively
// homomorphic steps of joint modelling: encrypted labels summed per bin,
// encrypted residuals and gradients summed and scaled by the feature holder.
//
// A ciphertext of m ∈ Z_n is c = (1 + m·n) · r^n mod n² for a uniform r ∈ Z*_n.
// Decryption uses the Chinese remainder theorem as in section 7 of the paper:
// m_p = L_p(c^(p-1) mod p²) · h_p mod p and likewise mod q, then CRT, which
// is about four times faster than the textbook L(c^λ mod n²) · μ mod n.
//
// Plaintexts are signed: an integer m with -n/2 < m < n/2 is encoded as
// m mod n, and decryption maps residues above n/2 back to negative numbers.
// FixedPoint encodes float64 values with a fixed number of fractional bits.
//
// # Homomorphism
//
//	Add(E(a), E(b))                     = E(a + b)
//	AddPlain(E(a), k)                   = E(a + k)
//	MulPlain(E(a), k)                   = E(a · k)
//	LinearCombination(E(a_i)…, k_i…)    = E(Σ k_i · a_i)   (multi-exponentiation)
//
// all modulo n, so results are only meaningful while they stay in (-n/2, n/2).
// AddPlain, MulPlain and LinearCombination are deterministic: a party that
// knows the E(a_i) and sees the result can recover k. Call Rerandomize (or
// Pool.Rerandomize) before sending a result back to anyone who saw the inputs.
//
// # Encryption by the key holder
//
// PrivateKey.Encrypt and PrivateKey.Rerandomize produce exactly the
// distribution of ciphertexts of the public-key methods, computing the
// randomizer r^n mod n² modulo p² and q² (CRT, about 3.5 times cheaper at 2048
// bits) or, for keys whose p-1 and q-1 factor, from precomputed powers of a
// generator (about 9 times cheaper); keyholder.go derives both. No assumption
// beyond the scheme's own (decisional composite residuosity) is involved.
//
// Not used: the variant of I. Damgård, M. Jurik and J. B. Nielsen ("A
// generalization of Paillier's public-key system with applications to
// electronic voting", Int. J. Inf. Secur. 9, 2010), whose randomizer is
// h_s^α for a fixed h_s = (-x²)^n mod n² and a short α < 2^⌈k/2⌉ (k the bits
// of n). It changes the public key (h_s joins n) and the security argument
// (ciphertexts are no longer distributed as Paillier's, so their security
// needs the paper's own argument about such short powers, not checked here),
// and for the key holder it would not be cheaper: α is as long as the
// exponents of the fixed-base path, which works modulo p² and q² and keeps
// Paillier's distribution exactly.
//
// # Keys
//
// GenerateKey makes 2048-bit moduli (two 1024-bit primes) from crypto/rand.
// Each prime p has p-1 = 2·k·p' with p' a random prime of 16 bits less and
// k < 2^16 (so p-1 has a large prime factor, as for safe primes, k = 1, used by
// threshold Paillier), which lets the key holder find a generator of Z*_p for
// its fixed-base encryption. Keys with other primes (NewPrivateKey) work the
// same, with the CRT path. Smaller moduli are refused unless
// Options.AllowInsecureSize is set, which exists for tests and is named so that
// it stands out in review.
//
// # Side channels
//
// The package uses math/big, which is not constant time. Public-key
// encryption, Add, AddPlain, MulPlain and LinearCombination only handle public
// values or values the caller encrypts itself; the timing of encryption
// depends on the bit length of the random r and of the plaintext, not on
// anything beyond what the ciphertext already commits to. The key holder's
// encryption uses the factors and, on the fixed-base path, looks up tables by
// the secret exponent that makes the randomizer: an attacker who can observe
// that process's memory accesses (cache timing on the same machine) may learn
// randomizers and so plaintexts, as it may learn the factors from decryption. Decryption exponentiates by the secret p-1 and q-1 with
// math/big's fixed-window Montgomery exponentiation, whose running time depends
// on the exponent only through its length, but its reductions are not
// constant time: do not expose a decryption oracle with fine-grained timing to
// untrusted parties (in joint modelling the key holder decrypts only
// aggregates it asked for). Ciphertext validation (range, gcd) is variable time
// on public data only.
//
// The package never logs. PrivateKey and PublicKey implement slog.LogValuer
// and log only a fingerprint of the public modulus.
package paillier

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/big"
	"sync"
)

// Key sizes, in bits of the modulus n.
const (
	// DefaultBits is the modulus size GenerateKey uses.
	DefaultBits = 2048
	// MinBits is the smallest modulus accepted without Options.AllowInsecureSize.
	MinBits = 2048
	// MaxBits bounds the modulus of any key this package generates or parses.
	MaxBits = 8192
	// minInsecureBits is the floor even for test keys (the p=7, q=11 example has 7).
	minInsecureBits = 6
)

// Errors returned by this package. They never contain key material or plaintexts.
var (
	// ErrKeySize: the modulus is smaller than MinBits (without
	// AllowInsecureSize) or larger than MaxBits.
	ErrKeySize = errors.New("paillier: key size not allowed")
	// ErrInvalidKey: the primes or modulus do not form a valid key.
	ErrInvalidKey = errors.New("paillier: invalid key")
	// ErrMalformed: an encoded key or ciphertext has the wrong length or form.
	ErrMalformed = errors.New("paillier: malformed encoding")
	// ErrInvalidCiphertext: the value is not in Z*_{n²} (0 < c < n², gcd(c, n) = 1).
	ErrInvalidCiphertext = errors.New("paillier: ciphertext not in Z*_{n^2}")
	// ErrKeyMismatch: the ciphertext belongs to a different public key.
	ErrKeyMismatch = errors.New("paillier: ciphertext under a different key")
	// ErrPlaintextRange: the plaintext is outside (-n/2, n/2).
	ErrPlaintextRange = errors.New("paillier: plaintext out of range")
)

var one = big.NewInt(1)

// Options tunes key generation and key parsing.
type Options struct {
	// Bits is the modulus size; zero means DefaultBits. It must be even.
	Bits int
	// AllowInsecureSize admits moduli smaller than MinBits. For tests only.
	AllowInsecureSize bool
}

func (o Options) checkBits(bits int) error {
	if bits > MaxBits {
		return ErrKeySize
	}
	if bits < MinBits && (!o.AllowInsecureSize || bits < minInsecureBits) {
		return ErrKeySize
	}
	return nil
}

// PublicKey is a Paillier public key: the modulus n, with g = n+1 implied.
// It is immutable and safe for concurrent use.
type PublicKey struct {
	n        *big.Int
	nSquared *big.Int
	half     *big.Int // floor(n/2): signed plaintexts are in [-half, half]
	size     int      // byte length of n²: the fixed ciphertext encoding length
}

func newPublicKey(n *big.Int) *PublicKey {
	n2 := new(big.Int).Mul(n, n)
	return &PublicKey{
		n:        new(big.Int).Set(n),
		nSquared: n2,
		half:     new(big.Int).Rsh(n, 1),
		size:     (n2.BitLen() + 7) / 8,
	}
}

// N returns a copy of the modulus.
func (pk *PublicKey) N() *big.Int { return new(big.Int).Set(pk.n) }

// Bits returns the bit length of the modulus.
func (pk *PublicKey) Bits() int { return pk.n.BitLen() }

// MaxPlaintext returns the largest absolute value a plaintext may have, floor(n/2).
func (pk *PublicKey) MaxPlaintext() *big.Int { return new(big.Int).Set(pk.half) }

// CiphertextSize is the length in bytes of an encoded ciphertext.
func (pk *PublicKey) CiphertextSize() int { return pk.size }

// Equal reports whether pk and other have the same modulus.
func (pk *PublicKey) Equal(other *PublicKey) bool {
	return other != nil && (pk == other || pk.n.Cmp(other.n) == 0)
}

// Fingerprint is the hex SHA-256 of the binary public key, shortened to 16 bytes.
func (pk *PublicKey) Fingerprint() string {
	b, _ := pk.MarshalBinary()
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// LogValue logs only the fingerprint and size.
func (pk *PublicKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("paillier_key", pk.Fingerprint()), slog.Int("bits", pk.Bits()))
}

// PrivateKey holds the factorisation of n and the CRT constants of the paper's
// section 7. It is immutable and safe for concurrent use.
type PrivateKey struct {
	PublicKey
	p, q       *big.Int
	pSq, qSq   *big.Int // p², q²
	pm1, qm1   *big.Int // p-1, q-1: the decryption exponents
	hp, hq     *big.Int // h_p = L_p(g^(p-1) mod p²)^(-1) mod p, likewise h_q
	qInvP      *big.Int // q^(-1) mod p, for CRT recombination
	lambda, mu *big.Int // λ = (p-1)(q-1), μ = λ^(-1) mod n: the non-CRT path
	// Key-holder encryption (keyholder.go).
	qSqInvPSq        *big.Int // (q²)^(-1) mod p²
	qModPm1, pModQm1 *big.Int // q mod (p-1), p mod (q-1)
	gp, gq           *big.Int // generators of Z*_p and Z*_q if p-1 and q-1 factor, else nil
	tables           func() [2]*fixedBase
}

// Public returns the public key.
func (sk *PrivateKey) Public() *PublicKey { return &sk.PublicKey }

// LogValue logs only the public fingerprint, never the factors.
func (sk *PrivateKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("paillier_private_key", sk.Fingerprint()), slog.Int("bits", sk.Bits()))
}

// GenerateKey returns a fresh key with a modulus of opts.Bits bits (default
// 2048) made of two primes of equal length from crypto/rand, each with a
// factored p-1 (see the package documentation) unless the primes are shorter
// than 64 bits.
func GenerateKey(opts Options) (*PrivateKey, error) {
	bits := opts.Bits
	if bits == 0 {
		bits = DefaultBits
	}
	if bits%2 != 0 || bits < 16 {
		return nil, ErrKeySize
	}
	if err := opts.checkBits(bits); err != nil {
		return nil, err
	}
	prime := func() (*big.Int, error) {
		if bits/2 < 64 { // test sizes: no room for the structure
			return rand.Prime(rand.Reader, bits/2)
		}
		return structuredPrime(bits / 2)
	}
	for {
		// Both prime makers set the top two bits, so p·q has exactly bits bits.
		p, err := prime()
		if err != nil {
			return nil, err
		}
		q, err := prime()
		if err != nil {
			return nil, err
		}
		if p.Cmp(q) == 0 {
			continue
		}
		sk, err := NewPrivateKey(p, q, opts)
		if errors.Is(err, ErrInvalidKey) {
			continue // gcd(n, φ(n)) ≠ 1 cannot happen for equal-length primes; be safe
		}
		return sk, err
	}
}

// NewPrivateKey builds a key from two distinct odd primes p and q with
// gcd(pq, (p-1)(q-1)) = 1. It checks primality (Baillie–PSW) and the size
// rules of opts (opts.Bits is ignored). If p-1 and q-1 each factor into primes
// below 2^17 and one further prime, as GenerateKey's do, it also finds
// generators of Z*_p and Z*_q for the key holder's fixed-base encryption.
func NewPrivateKey(p, q *big.Int, opts Options) (*PrivateKey, error) {
	if p == nil || q == nil || p.Cmp(big.NewInt(2)) <= 0 || q.Cmp(big.NewInt(2)) <= 0 || p.Cmp(q) == 0 {
		return nil, ErrInvalidKey
	}
	if !p.ProbablyPrime(20) || !q.ProbablyPrime(20) {
		return nil, ErrInvalidKey
	}
	n := new(big.Int).Mul(p, q)
	if err := opts.checkBits(n.BitLen()); err != nil {
		return nil, err
	}
	pm1 := new(big.Int).Sub(p, one)
	qm1 := new(big.Int).Sub(q, one)
	lambda := new(big.Int).Mul(pm1, qm1)
	if new(big.Int).GCD(nil, nil, n, lambda).Cmp(one) != 0 {
		return nil, ErrInvalidKey
	}
	sk := &PrivateKey{
		PublicKey: *newPublicKey(n),
		p:         new(big.Int).Set(p),
		q:         new(big.Int).Set(q),
		pSq:       new(big.Int).Mul(p, p),
		qSq:       new(big.Int).Mul(q, q),
		pm1:       pm1,
		qm1:       qm1,
		lambda:    lambda,
		mu:        new(big.Int).ModInverse(lambda, n),
		qInvP:     new(big.Int).ModInverse(q, p),
		qModPm1:   new(big.Int).Mod(q, pm1),
		pModQm1:   new(big.Int).Mod(p, qm1),
	}
	sk.qSqInvPSq = new(big.Int).ModInverse(sk.qSq, sk.pSq)
	g := new(big.Int).Add(n, one)
	sk.hp = hFunc(g, p, sk.pSq, pm1)
	sk.hq = hFunc(g, q, sk.qSq, qm1)
	if sk.mu == nil || sk.qInvP == nil || sk.hp == nil || sk.hq == nil || sk.qSqInvPSq == nil {
		return nil, ErrInvalidKey
	}
	if fp, fq := factorPm1(p), factorPm1(q); fp != nil && fq != nil {
		sk.gp, sk.gq = generatorModPrime(p, fp), generatorModPrime(q, fq)
		if sk.gp == nil || sk.gq == nil {
			return nil, ErrInvalidKey
		}
		sk.tables = sync.OnceValue(sk.buildTables)
	}
	return sk, nil
}

// hFunc computes h_p = L_p(g^(p-1) mod p²)^(-1) mod p (paper, section 7).
func hFunc(g, p, pSq, pm1 *big.Int) *big.Int {
	x := new(big.Int).Exp(g, pm1, pSq)
	return new(big.Int).ModInverse(lFunc(x, p), p)
}

// lFunc is L(x) = (x-1)/d.
func lFunc(x, d *big.Int) *big.Int {
	t := new(big.Int).Sub(x, one)
	return t.Quo(t, d)
}

// Ciphertext is an element of Z*_{n²} under a given public key. The zero value
// is not usable; ciphertexts come from Encrypt, the homomorphic operations and
// PublicKey.ParseCiphertext. A Ciphertext is immutable.
type Ciphertext struct {
	pk *PublicKey
	c  *big.Int
}

// PublicKey returns the key the ciphertext is under.
func (ct *Ciphertext) PublicKey() *PublicKey { return ct.pk }

// encodePlaintext maps a signed m ∈ [-floor(n/2), floor(n/2)] to m mod n.
func (pk *PublicKey) encodePlaintext(m *big.Int) (*big.Int, error) {
	if m == nil || new(big.Int).Abs(m).Cmp(pk.half) > 0 {
		return nil, ErrPlaintextRange
	}
	if m.Sign() < 0 {
		return new(big.Int).Add(m, pk.n), nil
	}
	return new(big.Int).Set(m), nil
}

// decodePlaintext maps a residue in [0, n) to (-n/2, n/2).
func (pk *PublicKey) decodePlaintext(m *big.Int) *big.Int {
	if m.Cmp(pk.half) > 0 {
		return m.Sub(m, pk.n)
	}
	return m
}

// randomZnStar returns a uniform r ∈ Z*_n.
func (pk *PublicKey) randomZnStar() (*big.Int, error) {
	for {
		r, err := rand.Int(rand.Reader, pk.n)
		if err != nil {
			return nil, err
		}
		if r.Sign() > 0 && new(big.Int).GCD(nil, nil, r, pk.n).Cmp(one) == 0 {
			return r, nil
		}
	}
}

// randomizer returns a fresh r^n mod n².
func (pk *PublicKey) randomizer() (*big.Int, error) {
	r, err := pk.randomZnStar()
	if err != nil {
		return nil, err
	}
	return r.Exp(r, pk.n, pk.nSquared), nil
}

// encryptWith returns (1 + m·n) · rn mod n² for m already in [0, n).
func (pk *PublicKey) encryptWith(m, rn *big.Int) *Ciphertext {
	c := new(big.Int).Mul(m, pk.n)
	c.Add(c, one) // < n², no reduction needed
	c.Mul(c, rn)
	c.Mod(c, pk.nSquared)
	return &Ciphertext{pk: pk, c: c}
}

// Encrypt encrypts the signed integer m, which must satisfy |m| ≤ floor(n/2),
// with fresh randomness from crypto/rand.
func (pk *PublicKey) Encrypt(m *big.Int) (*Ciphertext, error) {
	em, err := pk.encodePlaintext(m)
	if err != nil {
		return nil, err
	}
	rn, err := pk.randomizer()
	if err != nil {
		return nil, err
	}
	return pk.encryptWith(em, rn), nil
}

// EncryptInt64 is Encrypt for an int64.
func (pk *PublicKey) EncryptInt64(m int64) (*Ciphertext, error) {
	return pk.Encrypt(big.NewInt(m))
}

// Decrypt returns the signed plaintext of ct, using the CRT (paper, section 7).
// It returns ErrKeyMismatch for a ciphertext under another key.
func (sk *PrivateKey) Decrypt(ct *Ciphertext) (*big.Int, error) {
	if err := sk.check(ct); err != nil {
		return nil, err
	}
	mp := sk.decryptMod(ct.c, sk.p, sk.pSq, sk.pm1, sk.hp)
	mq := sk.decryptMod(ct.c, sk.q, sk.qSq, sk.qm1, sk.hq)
	// m = mq + q·((mp - mq)·q^(-1) mod p)
	m := new(big.Int).Sub(mp, mq)
	m.Mul(m, sk.qInvP)
	m.Mod(m, sk.p)
	m.Mul(m, sk.q)
	m.Add(m, mq)
	return sk.decodePlaintext(m), nil
}

// decryptMod computes L_p(c^(p-1) mod p²) · h_p mod p.
func (sk *PrivateKey) decryptMod(c, p, pSq, pm1, hp *big.Int) *big.Int {
	x := new(big.Int).Mod(c, pSq)
	x.Exp(x, pm1, pSq)
	m := lFunc(x, p)
	m.Mul(m, hp)
	return m.Mod(m, p)
}

// decryptNoCRT is the textbook m = L(c^λ mod n²) · μ mod n, kept for the
// benchmark that compares it with the CRT path and as a cross-check in tests.
func (sk *PrivateKey) decryptNoCRT(ct *Ciphertext) (*big.Int, error) {
	if err := sk.check(ct); err != nil {
		return nil, err
	}
	x := new(big.Int).Exp(ct.c, sk.lambda, sk.nSquared)
	m := lFunc(x, sk.n)
	m.Mul(m, sk.mu)
	m.Mod(m, sk.n)
	return sk.decodePlaintext(m), nil
}

// check verifies that ct is usable under pk.
func (pk *PublicKey) check(ct *Ciphertext) error {
	if ct == nil || ct.c == nil || ct.pk == nil {
		return ErrInvalidCiphertext
	}
	if !pk.Equal(ct.pk) {
		return ErrKeyMismatch
	}
	return nil
}

// Rerandomize returns a ciphertext of the same plaintext with fresh randomness:
// c · r^n mod n².
func (pk *PublicKey) Rerandomize(ct *Ciphertext) (*Ciphertext, error) {
	if err := pk.check(ct); err != nil {
		return nil, err
	}
	rn, err := pk.randomizer()
	if err != nil {
		return nil, err
	}
	return pk.mulRandomizer(ct, rn), nil
}

func (pk *PublicKey) mulRandomizer(ct *Ciphertext, rn *big.Int) *Ciphertext {
	c := new(big.Int).Mul(ct.c, rn)
	return &Ciphertext{pk: pk, c: c.Mod(c, pk.nSquared)}
}
