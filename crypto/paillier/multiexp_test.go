package paillier

import (
	"bytes"
	"errors"
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

func TestLinearCombinationKnownAnswers(t *testing.T) {
	for _, v := range loadKATs(t) {
		t.Run(v.Name, func(t *testing.T) {
			sk := katKey(t, v)
			pk := sk.Public()
			var cts []*Ciphertext
			for _, c := range v.Cases {
				ct, err := pk.ParseCiphertext(unhex(t, c.C))
				if err != nil {
					t.Fatal(err)
				}
				cts = append(cts, ct)
			}
			if len(v.LinComb) == 0 {
				t.Fatal("no linear-combination vectors")
			}
			for i, lc := range v.LinComb {
				ks := make([]*big.Int, len(lc.Ks))
				want := new(big.Int)
				for j, k := range lc.Ks {
					ks[j] = bigDec(t, k)
					m, _ := sk.Decrypt(cts[j])
					want.Add(want, new(big.Int).Mul(m, ks[j]))
				}
				got, err := pk.LinearCombination(cts, ks)
				if err != nil {
					t.Fatalf("set %d: %v", i, err)
				}
				if !bytes.Equal(got.Bytes(), unhex(t, lc.C)) {
					t.Fatalf("set %d: %x, want %s", i, got.Bytes(), lc.C)
				}
				// And it decrypts to Σ k_i·m_i mod n, signed.
				want.Mod(want, sk.n)
				if m, _ := sk.Decrypt(got); new(big.Int).Mod(m, sk.n).Cmp(want) != 0 {
					t.Fatalf("set %d: decrypts to %v", i, m)
				}
			}
		})
	}
}

// TestLinearCombinationMatchesMulPlain: the multi-exponentiation gives the very
// ciphertext Π MulPlain(c_i, k_i) gives, for random signed scalars of many sizes
// (so every window width and word-boundary digit is exercised), zeros included.
func TestLinearCombinationMatchesMulPlain(t *testing.T) {
	sk := testKey()
	pk := sk.Public()
	rng := mrand.New(mrand.NewPCG(3, 4))
	scalar := func(bits int) *big.Int {
		k := new(big.Int)
		for range (bits + 63) / 64 {
			k.Lsh(k, 64).Or(k, new(big.Int).SetUint64(rng.Uint64()))
		}
		k.Rsh(k, uint(((bits+63)/64)*64-bits))
		if rng.IntN(2) == 0 {
			k.Neg(k)
		}
		return k
	}
	for _, n := range []int{0, 1, 2, 3, 17, 100, 333} {
		for _, bits := range []int{1, 7, 24, 63, 64, 65, 130, 250} {
			cts := make([]*Ciphertext, n)
			ks := make([]*big.Int, n)
			want, _ := pk.Sum()
			for i := range n {
				ct, err := pk.EncryptInt64(int64(rng.IntN(2001) - 1000))
				if err != nil {
					t.Fatal(err)
				}
				cts[i] = ct
				switch rng.IntN(5) {
				case 0:
					ks[i] = new(big.Int)
				case 1:
					ks[i] = scalar(1 + rng.IntN(bits))
				default:
					ks[i] = scalar(bits)
				}
				term, err := pk.MulPlain(ct, ks[i])
				if err != nil {
					t.Fatal(err)
				}
				if want, err = pk.Add(want, term); err != nil {
					t.Fatal(err)
				}
			}
			got, err := pk.LinearCombination(cts, ks)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("n=%d bits=%d: multi-exponentiation differs from MulPlain", n, bits)
			}
		}
	}
	// Extreme scalars ±floor(n/2).
	a, _ := pk.EncryptInt64(3)
	b, _ := pk.EncryptInt64(-5)
	half := pk.MaxPlaintext()
	got, err := pk.LinearCombination([]*Ciphertext{a, b, a}, []*big.Int{half, new(big.Int).Neg(half), big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := pk.MulPlain(a, half)
	m2, _ := pk.MulPlain(b, new(big.Int).Neg(half))
	want, _ := pk.Sum(m1, m2, a)
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("extreme scalars")
	}
}

func TestLinearCombinationRejects(t *testing.T) {
	sk := testKey()
	pk := sk.Public()
	a, _ := pk.EncryptInt64(1)
	foreign, _ := key2048(t).EncryptInt64(1)
	over := new(big.Int).Add(pk.MaxPlaintext(), one)
	for name, tc := range map[string]struct {
		cts  []*Ciphertext
		ks   []*big.Int
		want error
	}{
		"length":          {[]*Ciphertext{a, a}, []*big.Int{one}, ErrMalformed},
		"nil ciphertext":  {[]*Ciphertext{a, nil}, []*big.Int{one, one}, ErrInvalidCiphertext},
		"zero ciphertext": {[]*Ciphertext{{}}, []*big.Int{one}, ErrInvalidCiphertext},
		"other key":       {[]*Ciphertext{a, foreign}, []*big.Int{one, one}, ErrKeyMismatch},
		"nil scalar":      {[]*Ciphertext{a}, []*big.Int{nil}, ErrPlaintextRange},
		"scalar too big":  {[]*Ciphertext{a, a}, []*big.Int{one, over}, ErrPlaintextRange},
		"scalar too low":  {[]*Ciphertext{a}, []*big.Int{new(big.Int).Neg(over)}, ErrPlaintextRange},
	} {
		if _, err := pk.LinearCombination(tc.cts, tc.ks); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	empty, err := pk.LinearCombination(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := sk.Decrypt(empty); m.Sign() != 0 {
		t.Fatal("empty combination")
	}
	zeros, _ := pk.LinearCombination([]*Ciphertext{a, a}, []*big.Int{new(big.Int), new(big.Int)})
	if zeros.c.Cmp(one) != 0 {
		t.Fatal("zero scalars: want the deterministic E(0) = 1")
	}
}

func TestDigit(t *testing.T) {
	x := new(big.Int)
	x.SetString("f0000000000000000abcdef0123456789", 16) // spans three 64-bit words
	words := x.Bits()
	for off := uint(0); off < 140; off++ {
		for _, c := range []uint{1, 5, 8, 13, 16} {
			want := new(big.Int).Rsh(x, off)
			want.And(want, big.NewInt(1<<c-1))
			if got := digit(words, off, c); uint64(got) != want.Uint64() {
				t.Fatalf("digit(off=%d, c=%d) = %x, want %x", off, c, got, want)
			}
		}
	}
	if c := windowBits(1, 24); c < 1 || c > 16 {
		t.Fatal(c)
	}
	if windowBits(100000, 24) <= windowBits(100, 24) {
		t.Fatal("more terms should use wider windows")
	}
}
