package paillier_test

import (
	"fmt"
	"math/big"

	"github.com/creditexchange/node/crypto/paillier"
)

// The label holder encrypts labels; the feature holder sums them per bin
// without seeing them; the label holder decrypts only the per-bin sums.
func Example_binSums() {
	// Tests use a small key; production keys come from GenerateKey(paillier.Options{}).
	sk, err := paillier.GenerateKey(paillier.Options{Bits: 512, AllowInsecureSize: true})
	if err != nil {
		panic(err)
	}
	pk := sk.Public()

	labels := []int64{1, 0, 1, 1, 0, 0}
	enc := make([]*paillier.Ciphertext, len(labels))
	for i, y := range labels {
		enc[i], _ = pk.EncryptInt64(y)
	}

	// Feature holder: bins of its own feature, rows 0,1,2 and 3,4,5.
	bin0, _ := pk.Sum(enc[0], enc[1], enc[2])
	bin1, _ := pk.Sum(enc[3], enc[4], enc[5])
	bin0, _ = pk.Rerandomize(bin0)
	bin1, _ = pk.Rerandomize(bin1)

	s0, _ := sk.Decrypt(bin0)
	s1, _ := sk.Decrypt(bin1)
	fmt.Println("events per bin:", s0, s1)
	// Output: events per bin: 2 1
}

// Fixed-point values: a gradient times a feature has twice the scale.
func ExampleFixedPoint() {
	sk, _ := paillier.GenerateKey(paillier.Options{Bits: 512, AllowInsecureSize: true})
	pk := sk.Public()
	f := paillier.FixedPoint{FracBits: paillier.DefaultFracBits}

	g, _ := f.Encode(-0.25) // residual, encrypted by the label holder
	x, _ := f.Encode(3.5)   // feature value, plaintext at the feature holder
	cg, _ := pk.Encrypt(g)
	prod, _ := pk.MulPlain(cg, x)

	m, _ := sk.Decrypt(prod)
	fmt.Println(paillier.FixedPoint{FracBits: 2 * paillier.DefaultFracBits}.Decode(m))
	// Output: -0.875
}

func ExamplePublicKey_AddPlain() {
	sk, _ := paillier.NewPrivateKey(big.NewInt(7), big.NewInt(11), paillier.Options{AllowInsecureSize: true})
	pk := sk.Public() // n = 77: plaintexts in [-38, 38]
	c, _ := pk.EncryptInt64(30)
	c, _ = pk.AddPlain(c, big.NewInt(-37))
	m, _ := sk.Decrypt(c)
	fmt.Println(m)
	// Output: -7
}

// The feature holder's encrypted gradient Σ_i x_i·d_i over residuals d_i it
// cannot read, in one multi-exponentiation; the label holder encrypts with its
// private key (the same ciphertexts, computed faster) and decrypts the sum.
func ExamplePublicKey_LinearCombination() {
	sk, _ := paillier.GenerateKey(paillier.Options{Bits: 512, AllowInsecureSize: true})
	pk := sk.Public()

	residuals := []int64{3, -1, 4, -1, 5}
	enc := make([]*paillier.Ciphertext, len(residuals))
	for i, d := range residuals {
		enc[i], _ = sk.EncryptInt64(d)
	}
	features := []*big.Int{big.NewInt(2), big.NewInt(-7), big.NewInt(1), big.NewInt(0), big.NewInt(10)}
	sum, _ := pk.LinearCombination(enc, features)
	sum, _ = pk.Rerandomize(sum)

	g, _ := sk.Decrypt(sum)
	fmt.Println(g) // 6 + 7 + 4 + 0 + 50
	// Output: 67
}
