package paillier

import (
	"context"
	"math/big"
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
