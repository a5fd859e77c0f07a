package paillier

import (
	"context"
	"fmt"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

// All benchmarks use the fixed 2048-bit key of testdata/vectors.json.

var benchM = big.NewInt(-123456789)

func BenchmarkEncrypt2048(b *testing.B) {
	pk := key2048(b).Public()
	for b.Loop() {
		if _, err := pk.Encrypt(benchM); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptPooled2048 measures Pool.Encrypt when a randomizer is
// ready. Computing randomizers takes as long as BenchmarkEncrypt2048, so the
// benchmark computes 16 once and puts them back into the pool outside the
// timer (reuse is fine for timing, never for real ciphertexts).
func BenchmarkEncryptPooled2048(b *testing.B) {
	pk := key2048(b).Public()
	const batch = 16
	pool, _ := NewPool(pk, batch)
	if err := pool.Fill(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	saved := make([]*big.Int, 0, batch)
	for range batch {
		saved = append(saved, <-pool.ch)
	}
	for b.Loop() {
		if pool.Len() == 0 {
			b.StopTimer()
			for _, rn := range saved {
				pool.ch <- rn
			}
			b.StartTimer()
		}
		if _, err := pool.Encrypt(benchM); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAdd2048(b *testing.B) {
	pk := key2048(b).Public()
	x, _ := pk.Encrypt(benchM)
	y, _ := pk.Encrypt(benchM)
	for b.Loop() {
		if _, err := pk.Add(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMulPlain64bit2048(b *testing.B) {
	pk := key2048(b).Public()
	x, _ := pk.Encrypt(benchM)
	k := new(big.Int).Lsh(big.NewInt(1), 63)
	for b.Loop() {
		if _, err := pk.MulPlain(x, k); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptCRT2048(b *testing.B) {
	sk := key2048(b)
	x, _ := sk.Encrypt(benchM)
	for b.Loop() {
		if _, err := sk.Decrypt(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptPlain2048(b *testing.B) {
	sk := key2048(b)
	x, _ := sk.Encrypt(benchM)
	for b.Loop() {
		if _, err := sk.decryptNoCRT(x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCiphertext2048(b *testing.B) {
	pk := key2048(b).Public()
	x, _ := pk.Encrypt(benchM)
	enc := x.Bytes()
	for b.Loop() {
		if _, err := pk.ParseCiphertext(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptKeyHolder2048 is PrivateKey.Encrypt, the label holder's
// encryption (keyholder.go): "crt" for a key with random primes (the vectors'
// n2048), "fixedbase" for a key like those GenerateKey makes (s2048; the
// one-off table is built before the timer starts).
func BenchmarkEncryptKeyHolder2048(b *testing.B) {
	for name, sk := range map[string]*PrivateKey{"crt": key2048(b), "fixedbase": structuredKey2048(b)} {
		b.Run(name, func(b *testing.B) {
			if _, err := sk.Encrypt(benchM); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := sk.Encrypt(benchM); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFixedBaseTables2048 is the one-off cost of the fixed-base tables.
func BenchmarkFixedBaseTables2048(b *testing.B) {
	sk := structuredKey2048(b)
	for b.Loop() {
		sk.buildTables()
	}
}

func BenchmarkRerandomize2048(b *testing.B) {
	pk := key2048(b).Public()
	x, _ := pk.Encrypt(benchM)
	for b.Loop() {
		if _, err := pk.Rerandomize(x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMulPlain24bit2048 is one term of an encrypted gradient the way the
// feature holder computed it term by term: a residual times a 24-bit
// fixed-point feature.
func BenchmarkMulPlain24bit2048(b *testing.B) {
	pk := key2048(b).Public()
	x, _ := pk.Encrypt(benchM)
	k := big.NewInt(-0xabcdef)
	for b.Loop() {
		if _, err := pk.MulPlain(x, k); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLinearCombination2048 is Σ_i k_i·E(d_i) by multi-exponentiation
// over N residual ciphertexts with standardised features at 2^-20 as scalars
// (normal, so about 22 bits and half of them negative); ns/term is the cost
// per residual and feature. "shifted" makes every scalar non-negative by
// subtracting the minimum, as a feature holder could (then correcting with
// min·Σ E(d_i)), to compare with the split by sign done inside.
func BenchmarkLinearCombination2048(b *testing.B) {
	pk := key2048(b).Public()
	rng := mrand.New(mrand.NewPCG(5, 6))
	for _, n := range []int{1024, 30000} {
		cts := make([]*Ciphertext, n)
		base, _ := pk.Encrypt(benchM)
		for i := range cts {
			// Distinct valid ciphertexts without n encryptions: E(m)·(1+i·n).
			cts[i], _ = pk.AddPlain(base, big.NewInt(int64(i)))
		}
		signed := make([]*big.Int, n)
		minK := int64(0)
		for i := range signed {
			k := int64(math.Round(rng.NormFloat64() * (1 << 20)))
			signed[i] = big.NewInt(k)
			minK = min(minK, k)
		}
		shifted := make([]*big.Int, n)
		for i, k := range signed {
			shifted[i] = new(big.Int).Sub(k, big.NewInt(minK))
		}
		for name, ks := range map[string][]*big.Int{"signed": signed, "shifted": shifted} {
			b.Run(fmt.Sprintf("N=%d/%s", n, name), func(b *testing.B) {
				for b.Loop() {
					if _, err := pk.LinearCombination(cts, ks); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/term")
			})
		}
	}
}
