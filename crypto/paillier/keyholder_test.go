package paillier

import (
	"bytes"
	"errors"
	"math/big"
	"testing"
)

// The key holder's encryptions reproduce the vectors made from the definition
// (Python, testdata/gen_vectors.py): every public-key case through
// randomizerOf(r), and the key-holder cases through crtRandomizer(sp, sq).
func TestKeyHolderKnownAnswers(t *testing.T) {
	for _, v := range loadKATs(t) {
		t.Run(v.Name, func(t *testing.T) {
			sk := katKey(t, v)
			for i, c := range v.Cases {
				m, r := bigDec(t, c.M), bigDec(t, c.R)
				em, _ := sk.encodePlaintext(m)
				if got := sk.encryptWith(em, sk.randomizerOf(r)).Bytes(); !bytes.Equal(got, unhex(t, c.C)) {
					t.Fatalf("case %d: CRT randomizer gives %x, want %s", i, got, c.C)
				}
			}
			if len(v.KeyHolder) == 0 {
				t.Fatal("no key-holder vectors")
			}
			for i, c := range v.KeyHolder {
				m := bigDec(t, c.M)
				em, err := sk.encodePlaintext(m)
				if err != nil {
					t.Fatal(err)
				}
				y := sk.crtRandomizer(bigDec(t, c.SP), bigDec(t, c.SQ))
				ct := sk.encryptWith(em, y)
				if !bytes.Equal(ct.Bytes(), unhex(t, c.C)) {
					t.Fatalf("key-holder case %d: %x, want %s", i, ct.Bytes(), c.C)
				}
				// The same randomizer is r^n for the r the generator derived.
				if y.Cmp(new(big.Int).Exp(bigDec(t, c.R), sk.n, sk.nSquared)) != 0 {
					t.Fatalf("key-holder case %d: randomizer is not r^n", i)
				}
				if got, err := sk.Decrypt(ct); err != nil || got.Cmp(m) != 0 {
					t.Fatalf("key-holder case %d: decrypt %v, %v", i, got, err)
				}
			}
		})
	}
}

// On tiny keys the whole distribution can be compared: (s_p, s_q) ↦
// CRT(s_p^p, s_q^q) and r ↦ r^n are both bijections from a set of φ(n)
// elements onto the n-th residues mod n², so the key holder's randomizers are
// exactly as distributed as the public ones.
func TestKeyHolderRandomizerDistribution(t *testing.T) {
	for _, pq := range [][2]int64{{7, 11}, {11, 13}, {23, 29}} {
		sk, err := NewPrivateKey(big.NewInt(pq[0]), big.NewInt(pq[1]), Options{AllowInsecureSize: true})
		if err != nil {
			t.Fatal(err)
		}
		public := map[int64]int{}
		for r := int64(1); r < sk.n.Int64(); r++ {
			if new(big.Int).GCD(nil, nil, big.NewInt(r), sk.n).Cmp(one) != 0 {
				continue
			}
			public[new(big.Int).Exp(big.NewInt(r), sk.n, sk.nSquared).Int64()]++
		}
		crt := map[int64]int{}
		for sp := int64(1); sp < pq[0]; sp++ {
			for sq := int64(1); sq < pq[1]; sq++ {
				crt[sk.crtRandomizer(big.NewInt(sp), big.NewInt(sq)).Int64()]++
			}
		}
		if len(public) != len(crt) {
			t.Fatalf("%v: %d public randomizers, %d CRT ones", pq, len(public), len(crt))
		}
		for y, k := range public {
			if k != 1 || crt[y] != 1 {
				t.Fatalf("%v: randomizer %d: %d public, %d CRT", pq, y, k, crt[y])
			}
		}
	}
}

func TestKeyHolderEncrypt(t *testing.T) {
	sk := testKey()
	pk := sk.Public()
	// randomizerOf(r) = r^n mod n² on random r; every randomizer is an n-th
	// residue: y^λ = 1 mod n² (gcd(n, λ) = 1).
	for range 20 {
		r, err := pk.randomZnStar()
		if err != nil {
			t.Fatal(err)
		}
		if sk.randomizerOf(r).Cmp(new(big.Int).Exp(r, sk.n, sk.nSquared)) != 0 {
			t.Fatal("randomizerOf(r) ≠ r^n")
		}
		y, err := sk.randomizer()
		if err != nil {
			t.Fatal(err)
		}
		if new(big.Int).Exp(y, sk.lambda, sk.nSquared).Cmp(one) != 0 {
			t.Fatal("randomizer is not an n-th residue")
		}
	}
	half := pk.MaxPlaintext()
	seen := map[string]bool{}
	for _, m := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(-1), half, new(big.Int).Neg(half), big.NewInt(-123456789)} {
		for range 3 {
			ct, err := sk.Encrypt(m)
			if err != nil {
				t.Fatal(err)
			}
			if ct.PublicKey() != pk {
				t.Fatal("ciphertext not under the key's public key")
			}
			if seen[string(ct.Bytes())] {
				t.Fatal("two key-holder encryptions are equal")
			}
			seen[string(ct.Bytes())] = true
			if got, _ := sk.Decrypt(ct); got.Cmp(m) != 0 {
				t.Fatalf("%v → %v", m, got)
			}
			// Ciphertexts parse and combine like public ones.
			parsed, err := pk.ParseCiphertext(ct.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			rr, err := sk.Rerandomize(parsed)
			if err != nil || bytes.Equal(rr.Bytes(), ct.Bytes()) {
				t.Fatalf("rerandomize: %v", err)
			}
			if got, _ := sk.Decrypt(rr); got.Cmp(m) != 0 {
				t.Fatalf("rerandomized %v → %v", m, got)
			}
		}
	}
	if ct, err := sk.EncryptInt64(-7); err != nil {
		t.Fatal(err)
	} else if got, _ := sk.Decrypt(ct); got.Int64() != -7 {
		t.Fatal(got)
	}
	over := new(big.Int).Add(half, one)
	for _, m := range []*big.Int{over, new(big.Int).Neg(over), pk.N(), nil} {
		if _, err := sk.Encrypt(m); !errors.Is(err, ErrPlaintextRange) {
			t.Fatalf("Encrypt(%v): %v", m, err)
		}
	}
	other, _ := key2048(t).EncryptInt64(1)
	if _, err := sk.Rerandomize(other); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("rerandomize under another key: %v", err)
	}
	if _, err := sk.Rerandomize(nil); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatalf("rerandomize nil: %v", err)
	}
}

// The fixed-base path reproduces the structured vectors: the same generators as the Python
// generator's smallest ones, and the same ciphertexts for given exponents.
func TestFixedBaseKnownAnswers(t *testing.T) {
	file := loadKATFile(t)
	if len(file.Structured) == 0 {
		t.Fatal("no structured vectors")
	}
	for _, v := range file.Structured {
		t.Run(v.Name, func(t *testing.T) {
			sk, err := NewPrivateKey(bigDec(t, v.P), bigDec(t, v.Q), Options{AllowInsecureSize: true})
			if err != nil {
				t.Fatal(err)
			}
			if !sk.FastEncryption() || sk.gp.Cmp(bigDec(t, v.GP)) != 0 || sk.gq.Cmp(bigDec(t, v.GQ)) != 0 {
				t.Fatalf("generators %v, %v; want %s, %s", sk.gp, sk.gq, v.GP, v.GQ)
			}
			for i, c := range v.Cases {
				m := bigDec(t, c.M)
				em, _ := sk.encodePlaintext(m)
				ct := sk.encryptWith(em, sk.fixedBaseRandomizer(bigDec(t, c.EP), bigDec(t, c.EQ)))
				if !bytes.Equal(ct.Bytes(), unhex(t, c.C)) {
					t.Fatalf("case %d: %x, want %s", i, ct.Bytes(), c.C)
				}
				if got, err := sk.Decrypt(ct); err != nil || got.Cmp(m) != 0 {
					t.Fatalf("case %d: decrypt %v, %v", i, got, err)
				}
			}
		})
	}
	// The random-prime vectors do not factor: they take the CRT path.
	if key2048(t).FastEncryption() {
		t.Error("a random 2048-bit key claims factored p-1 and q-1")
	}
}

// On tiny keys the fixed-base path's whole distribution is compared with the public one:
// (e_p, e_q) ↦ CRT(h_p^e_p, h_q^e_q) over [0, p-1) × [0, q-1) hits every n-th residue once.
func TestFixedBaseRandomizerDistribution(t *testing.T) {
	for _, pq := range [][2]int64{{7, 11}, {11, 13}, {23, 59}} {
		sk, err := NewPrivateKey(big.NewInt(pq[0]), big.NewInt(pq[1]), Options{AllowInsecureSize: true})
		if err != nil {
			t.Fatal(err)
		}
		if !sk.FastEncryption() {
			t.Fatalf("%v: p-1 and q-1 factor by trial division", pq)
		}
		public := map[int64]bool{}
		for r := int64(1); r < sk.n.Int64(); r++ {
			if new(big.Int).GCD(nil, nil, big.NewInt(r), sk.n).Cmp(one) == 0 {
				public[new(big.Int).Exp(big.NewInt(r), sk.n, sk.nSquared).Int64()] = true
			}
		}
		fixed := map[int64]int{}
		for ep := range pq[0] - 1 {
			for eq := range pq[1] - 1 {
				fixed[sk.fixedBaseRandomizer(big.NewInt(ep), big.NewInt(eq)).Int64()]++
			}
		}
		if len(fixed) != len(public) {
			t.Fatalf("%v: %d fixed-base randomizers, %d n-th residues", pq, len(fixed), len(public))
		}
		for y, k := range fixed {
			if k != 1 || !public[y] {
				t.Fatalf("%v: randomizer %d hit %d times, n-th residue %v", pq, y, k, public[y])
			}
		}
	}
}

// TestGeneratorModPrime: against brute force (the smallest element of order p-1) for every
// prime below 3000.
func TestGeneratorModPrime(t *testing.T) {
	for p := int64(3); p < 3000; p += 2 {
		if !big.NewInt(p).ProbablyPrime(20) {
			continue
		}
		f := factorPm1(big.NewInt(p))
		if f == nil {
			t.Fatalf("%d-1 does not factor", p)
		}
		want := int64(0)
		for g := int64(2); g < p && want == 0; g++ {
			x, order := g, int64(1)
			for x != 1 {
				x = x * g % p
				order++
			}
			if order == p-1 {
				want = g
			}
		}
		if got := generatorModPrime(big.NewInt(p), f); got.Int64() != want {
			t.Fatalf("generator mod %d: %v, want %d", p, got, want)
		}
	}
}

func TestFactorPm1(t *testing.T) {
	// A structured prime: 2k·p' + 1 factors; the product of the factors' powers is p-1.
	p, err := structuredPrime(256)
	if err != nil {
		t.Fatal(err)
	}
	if p.BitLen() != 256 || p.Bit(254) != 1 || !p.ProbablyPrime(20) {
		t.Fatalf("structured prime %x", p)
	}
	f := factorPm1(p)
	if f == nil {
		t.Fatal("p-1 of a structured prime does not factor")
	}
	m := new(big.Int).Sub(p, one)
	for _, l := range f {
		if !l.ProbablyPrime(20) {
			t.Fatalf("factor %v is not prime", l)
		}
		for new(big.Int).Mod(m, l).Sign() == 0 {
			m.Quo(m, l)
		}
	}
	if m.Cmp(one) != 0 || f[len(f)-1].BitLen() != 240 {
		t.Fatalf("factors %v leave %v", f, m)
	}
	// p-1 with two large prime factors does not factor: the CRT path.
	a, _ := new(big.Int).SetString("170141183460469231731687303715884105727", 10) // 2^127-1
	b, _ := new(big.Int).SetString("618970019642690137449562111", 10)             // 2^89-1
	for k := int64(1); ; k++ {
		c := new(big.Int).Mul(a, b)
		c.Mul(c, big.NewInt(2*k)).Add(c, one)
		if c.ProbablyPrime(20) {
			if factorPm1(c) != nil {
				t.Fatal("p-1 with two large prime factors reported as factored")
			}
			break
		}
	}
}

func TestFixedBaseExp(t *testing.T) {
	sk := testKey()
	h, _ := sk.randomizer()
	h.Mod(h, sk.pSq)
	for _, w := range []uint{1, 3, 7, 8} {
		f := newFixedBase(h, sk.pSq, sk.pm1.BitLen(), w)
		for _, e := range []*big.Int{new(big.Int), one, new(big.Int).Sub(sk.pm1, one), new(big.Int).Rsh(sk.pm1, 3), new(big.Int).Lsh(one, uint(sk.pm1.BitLen()-1))} {
			if got, want := f.exp(e), new(big.Int).Exp(h, e, sk.pSq); got.Cmp(want) != 0 {
				t.Fatalf("w=%d e=%v: %v, want %v", w, e, got, want)
			}
		}
	}
}

// Keys from GenerateKey take the fixed-base path; their randomizers are n-th residues and
// their ciphertexts decrypt.
func TestGeneratedKeyFastEncryption(t *testing.T) {
	sk := testKey()
	if !sk.FastEncryption() {
		t.Fatal("GenerateKey made a key without factored p-1 and q-1")
	}
	for range 10 {
		y, err := sk.randomizer()
		if err != nil {
			t.Fatal(err)
		}
		if new(big.Int).Exp(y, sk.lambda, sk.nSquared).Cmp(one) != 0 {
			t.Fatal("fixed-base randomizer is not an n-th residue")
		}
	}
	small, err := GenerateKey(Options{Bits: 64, AllowInsecureSize: true}) // no room for structure
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := small.EncryptInt64(-3)
	if m, _ := small.Decrypt(ct); m.Int64() != -3 {
		t.Fatal(m)
	}
}
