package paillier

import "math/big"

// Add returns E(a + b) = E(a) · E(b) mod n². Both ciphertexts must be under pk.
func (pk *PublicKey) Add(a, b *Ciphertext) (*Ciphertext, error) {
	if err := pk.check(a); err != nil {
		return nil, err
	}
	if err := pk.check(b); err != nil {
		return nil, err
	}
	c := new(big.Int).Mul(a.c, b.c)
	return &Ciphertext{pk: pk, c: c.Mod(c, pk.nSquared)}, nil
}

// Sum returns E(Σ aᵢ); the sum of no ciphertexts is the deterministic E(0) = 1,
// which should be rerandomized before it is sent anywhere.
func (pk *PublicKey) Sum(cts ...*Ciphertext) (*Ciphertext, error) {
	acc := new(big.Int).SetInt64(1)
	for _, ct := range cts {
		if err := pk.check(ct); err != nil {
			return nil, err
		}
		acc.Mul(acc, ct.c)
		acc.Mod(acc, pk.nSquared)
	}
	return &Ciphertext{pk: pk, c: acc}, nil
}

// AddPlain returns E(a + k) = E(a) · (1 + k·n) mod n² for a signed k with
// |k| ≤ floor(n/2). The result is not rerandomized.
func (pk *PublicKey) AddPlain(a *Ciphertext, k *big.Int) (*Ciphertext, error) {
	if err := pk.check(a); err != nil {
		return nil, err
	}
	ek, err := pk.encodePlaintext(k)
	if err != nil {
		return nil, err
	}
	g := ek.Mul(ek, pk.n)
	g.Add(g, one)
	g.Mul(g, a.c)
	return &Ciphertext{pk: pk, c: g.Mod(g, pk.nSquared)}, nil
}

// MulPlain returns E(a · k) = E(a)^(k mod n) mod n² for a signed k with
// |k| ≤ floor(n/2). The result is not rerandomized; for k = 0 it is the
// deterministic E(0) = 1.
func (pk *PublicKey) MulPlain(a *Ciphertext, k *big.Int) (*Ciphertext, error) {
	if err := pk.check(a); err != nil {
		return nil, err
	}
	ek, err := pk.encodePlaintext(k)
	if err != nil {
		return nil, err
	}
	// For negative k, k mod n is large; the inverse of c raised to |k| is
	// cheaper, and c is invertible because it is in Z*_{n²}.
	if k.Sign() < 0 {
		inv := new(big.Int).ModInverse(a.c, pk.nSquared)
		abs := new(big.Int).Neg(k)
		return &Ciphertext{pk: pk, c: inv.Exp(inv, abs, pk.nSquared)}, nil
	}
	return &Ciphertext{pk: pk, c: new(big.Int).Exp(a.c, ek, pk.nSquared)}, nil
}

// Neg returns E(-a) = E(a)^(-1) mod n².
func (pk *PublicKey) Neg(a *Ciphertext) (*Ciphertext, error) {
	if err := pk.check(a); err != nil {
		return nil, err
	}
	return &Ciphertext{pk: pk, c: new(big.Int).ModInverse(a.c, pk.nSquared)}, nil
}

// Sub returns E(a - b).
func (pk *PublicKey) Sub(a, b *Ciphertext) (*Ciphertext, error) {
	nb, err := pk.Neg(b)
	if err != nil {
		return nil, err
	}
	return pk.Add(a, nb)
}
