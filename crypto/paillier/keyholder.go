package paillier

import (
	"crypto/rand"
	"math/big"
	"sync"
)

// Encryption by the key holder.
//
// A randomizer is r^n mod n² for a uniform r ∈ Z*_n, a uniform element of the
// subgroup of n-th residues, which by the CRT is U_p × U_q with U_p the
// subgroup of order p-1 of Z*_{p²}. Whoever knows p and q can draw it modulo
// p² and q² separately and recombine, in one of two ways, both giving exactly
// the distribution of r^n mod n² (the ciphertexts are those of
// PublicKey.Encrypt, in distribution):
//
// CRT path, any key. With ω(x) ∈ U_p the unique element ≡ x (mod p) (the
// Teichmüller lift, ω(x) = x^p mod p²):
//
//	r^n ≡ ω(r)^n = ω(r)^(n mod (p-1)) = ω(r)^(q mod (p-1)) = ω(s_p) = s_p^p mod p²,
//	with s_p = r^(q mod (p-1)) mod p,
//
// because r = ω(r)·(1 + p·t), (1 + p·t)^n ≡ 1 (mod p²) as p divides n, U_p has
// order p-1, and n ≡ q (mod p-1). As r runs uniformly over Z*_n, s_p runs
// uniformly over Z*_p (x ↦ x^(q mod (p-1)) is a bijection of Z*_p since
// gcd(q, p-1) = 1, which NewPrivateKey checks). So the randomizer is
// CRT(s_p^p mod p², s_q^q mod q²) for uniform s_p, s_q: two exponentiations with
// 1024-bit exponents modulo 2048-bit numbers instead of one with a 2048-bit
// exponent modulo a 4096-bit number.
//
// Fixed-base path, keys whose p-1 and q-1 factor (those GenerateKey makes:
// p-1 = 2·k·p' with k < 2^16 and p' prime). Then a generator g_p of Z*_p can
// be found and checked, h_p = ω(g_p) generates U_p, and h_p^e for e uniform in
// [0, p-1) is uniform on U_p. The powers h_p^(d·2^(w·i)) are precomputed once
// per key (fixedBaseWindow bits per window), so an exponentiation costs about
// bits(p)/w multiplications modulo p² and no squaring. The table takes about
// (bits(p)/w)·2^w·bits(p²)/8 bytes per prime, about 5 MB for each 1024-bit
// prime, and is built on the key holder's first encryption.
//
// Both paths use the secret factors: the CRT path as exponents, the
// fixed-base path through table lookups indexed by the secret exponent e,
// which reveals the randomizer, and so the plaintext, to an attacker who can
// observe the memory access pattern of the key holder's process (cache
// timing). The package documentation's caveat for decryption (math/big is not
// constant time) applies to both.

// fixedBaseWindow is the window, in bits, of the fixed-base tables.
const fixedBaseWindow = 7

// smallPrimeBound bounds the trial division of p-1: GenerateKey's k is below
// 2^16, so 2k has no prime factor of 2^17 or more.
const smallPrimeBound = 1 << 17

// smallPrimes lists the primes below smallPrimeBound (computed once; read-only).
var smallPrimes = sync.OnceValue(func() []int64 {
	composite := make([]bool, smallPrimeBound)
	var out []int64
	for i := 2; i < smallPrimeBound; i++ {
		if composite[i] {
			continue
		}
		out = append(out, int64(i))
		for j := i * i; j < smallPrimeBound; j += i {
			composite[j] = true
		}
	}
	return out
})

// factorPm1 returns the distinct prime factors of p-1 if they are all below
// smallPrimeBound but one, which must be prime; otherwise nil.
func factorPm1(p *big.Int) []*big.Int {
	m := new(big.Int).Sub(p, one)
	var out []*big.Int
	q, r := new(big.Int), new(big.Int)
	for _, l := range smallPrimes() {
		bl := big.NewInt(l)
		if q.QuoRem(m, bl, r); r.Sign() != 0 {
			continue
		}
		out = append(out, bl)
		for r.Sign() == 0 {
			m.Set(q)
			q.QuoRem(m, bl, r)
		}
		if m.Cmp(one) == 0 {
			return out
		}
	}
	if m.ProbablyPrime(20) {
		return append(out, m)
	}
	return nil
}

// generatorModPrime returns the smallest generator of Z*_p, given the distinct
// prime factors of p-1.
func generatorModPrime(p *big.Int, factors []*big.Int) *big.Int {
	pm1 := new(big.Int).Sub(p, one)
	e, x := new(big.Int), new(big.Int)
	for g := big.NewInt(2); g.Cmp(p) < 0; g.Add(g, one) {
		ok := true
		for _, l := range factors {
			if x.Exp(g, e.Quo(pm1, l), p).Cmp(one) == 0 {
				ok = false
				break
			}
		}
		if ok {
			return g
		}
	}
	return nil // p = 2 or wrong factors; NewPrivateKey rules both out
}

// fixedBase holds the powers of one base modulo one modulus for exponents
// below 2^(w·len(table)).
type fixedBase struct {
	mod   *big.Int
	w     uint
	table [][]*big.Int // table[i][d-1] = h^(d·2^(w·i)) mod mod, 1 ≤ d < 2^w
}

func newFixedBase(h, mod *big.Int, expBits int, w uint) *fixedBase {
	f := &fixedBase{mod: mod, w: w, table: make([][]*big.Int, (expBits+int(w)-1)/int(w))}
	base := new(big.Int).Set(h)
	for i := range f.table {
		row := make([]*big.Int, 1<<w-1)
		row[0] = new(big.Int).Set(base)
		for d := 1; d < len(row); d++ {
			row[d] = new(big.Int).Mul(row[d-1], base)
			row[d].Mod(row[d], mod)
		}
		f.table[i] = row
		// base^(2^w) = row[last]·base
		base.Mul(row[len(row)-1], base)
		base.Mod(base, mod)
	}
	return f
}

// exp returns h^e mod mod for 0 ≤ e < 2^(w·len(table)).
func (f *fixedBase) exp(e *big.Int) *big.Int {
	words := e.Bits()
	acc := big.NewInt(1)
	for i, row := range f.table {
		if d := digit(words, uint(i)*f.w, f.w); d != 0 {
			acc.Mul(acc, row[d-1])
			acc.Mod(acc, f.mod)
		}
	}
	return acc
}

// combine returns the y mod n² with y ≡ yp (mod p²) and y ≡ yq (mod q²).
func (sk *PrivateKey) combine(yp, yq *big.Int) *big.Int {
	// y = yq + q²·((yp - yq)·(q²)^(-1) mod p²)
	y := new(big.Int).Sub(yp, yq)
	y.Mul(y, sk.qSqInvPSq)
	y.Mod(y, sk.pSq)
	y.Mul(y, sk.qSq)
	return y.Add(y, yq)
}

// crtRandomizer returns CRT(sp^p mod p², sq^q mod q²) for sp ∈ Z*_p, sq ∈ Z*_q.
func (sk *PrivateKey) crtRandomizer(sp, sq *big.Int) *big.Int {
	return sk.combine(new(big.Int).Exp(sp, sk.p, sk.pSq), new(big.Int).Exp(sq, sk.q, sk.qSq))
}

// fixedBaseRandomizer returns CRT(h_p^ep mod p², h_q^eq mod q²) for
// 0 ≤ ep < p-1, 0 ≤ eq < q-1; only for keys with generators.
func (sk *PrivateKey) fixedBaseRandomizer(ep, eq *big.Int) *big.Int {
	t := sk.tables()
	return sk.combine(t[0].exp(ep), t[1].exp(eq))
}

// buildTables computes the fixed-base tables of h_p = ω(g_p) and h_q = ω(g_q).
func (sk *PrivateKey) buildTables() [2]*fixedBase {
	hp := new(big.Int).Exp(sk.gp, sk.p, sk.pSq)
	hq := new(big.Int).Exp(sk.gq, sk.q, sk.qSq)
	return [2]*fixedBase{
		newFixedBase(hp, sk.pSq, sk.pm1.BitLen(), fixedBaseWindow),
		newFixedBase(hq, sk.qSq, sk.qm1.BitLen(), fixedBaseWindow),
	}
}

// randomizerOf returns r^n mod n² for r ∈ Z*_n through the CRT path; the
// known-answer tests use it to reproduce PublicKey encryptions exactly.
func (sk *PrivateKey) randomizerOf(r *big.Int) *big.Int {
	sp := new(big.Int).Exp(r, sk.qModPm1, sk.p)
	sq := new(big.Int).Exp(r, sk.pModQm1, sk.q)
	return sk.crtRandomizer(sp, sq)
}

// randomBelow returns a uniform integer in [lo, m).
func randomBelow(lo int64, m *big.Int) (*big.Int, error) {
	for {
		s, err := rand.Int(rand.Reader, m)
		if err != nil {
			return nil, err
		}
		if s.Cmp(big.NewInt(lo)) >= 0 {
			return s, nil
		}
	}
}

// randomizer returns a fresh r^n mod n², computed with the factors.
func (sk *PrivateKey) randomizer() (*big.Int, error) {
	if sk.gp != nil {
		ep, err := randomBelow(0, sk.pm1)
		if err != nil {
			return nil, err
		}
		eq, err := randomBelow(0, sk.qm1)
		if err != nil {
			return nil, err
		}
		return sk.fixedBaseRandomizer(ep, eq), nil
	}
	sp, err := randomBelow(1, sk.p)
	if err != nil {
		return nil, err
	}
	sq, err := randomBelow(1, sk.q)
	if err != nil {
		return nil, err
	}
	return sk.crtRandomizer(sp, sq), nil
}

// FastEncryption reports whether the key holder's encryptions take the
// fixed-base path (the factorisations of p-1 and q-1 are known) rather than
// the CRT path. Both give the same distribution of ciphertexts.
func (sk *PrivateKey) FastEncryption() bool { return sk.gp != nil }

// Encrypt is PublicKey.Encrypt computed by the key holder: the same
// distribution of ciphertexts, with the randomizer computed modulo p² and q²
// (see the comment at the top of keyholder.go).
func (sk *PrivateKey) Encrypt(m *big.Int) (*Ciphertext, error) {
	em, err := sk.encodePlaintext(m)
	if err != nil {
		return nil, err
	}
	rn, err := sk.randomizer()
	if err != nil {
		return nil, err
	}
	return sk.encryptWith(em, rn), nil
}

// EncryptInt64 is Encrypt for an int64.
func (sk *PrivateKey) EncryptInt64(m int64) (*Ciphertext, error) {
	return sk.Encrypt(big.NewInt(m))
}

// Rerandomize is PublicKey.Rerandomize computed by the key holder.
func (sk *PrivateKey) Rerandomize(ct *Ciphertext) (*Ciphertext, error) {
	if err := sk.check(ct); err != nil {
		return nil, err
	}
	rn, err := sk.randomizer()
	if err != nil {
		return nil, err
	}
	return sk.mulRandomizer(ct, rn), nil
}

// structuredPrime returns a prime p of exactly bits bits with its top two bits
// set and p-1 = 2·k·p' for a prime p' and k < 2^16, so that p-1 factors by
// trial division and a generator of Z*_p can be checked (the fixed-base path).
// p' has bits-16 bits; such primes are "strong" against Pollard's p-1 method.
func structuredPrime(bits int) (*big.Int, error) {
	lo := new(big.Int).Lsh(big.NewInt(3), uint(bits-2)) // p ≥ 3·2^(bits-2)
	hi := new(big.Int).Lsh(one, uint(bits))             // p < 2^bits
	for {
		pp, err := rand.Prime(rand.Reader, bits-16)
		if err != nil {
			return nil, err
		}
		step := new(big.Int).Lsh(pp, 1) // 2p'
		// k ∈ [kLo, kHi): 2k·p' + 1 ∈ [lo, hi)
		kLo := new(big.Int).Sub(lo, one)
		kLo.Add(kLo, step).Sub(kLo, one).Quo(kLo, step)
		kHi := new(big.Int).Sub(hi, one)
		kHi.Sub(kHi, one).Quo(kHi, step).Add(kHi, one)
		span := new(big.Int).Sub(kHi, kLo)
		if span.Sign() <= 0 {
			continue
		}
		p := new(big.Int)
		for range 4 * bits { // about 2·ln(2^bits)/2 candidates hold one prime; else a new p'
			k, err := rand.Int(rand.Reader, span)
			if err != nil {
				return nil, err
			}
			k.Add(k, kLo)
			p.Mul(step, k).Add(p, one)
			if p.ProbablyPrime(20) {
				return p, nil
			}
		}
	}
}
