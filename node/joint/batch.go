package joint

import (
	"math/big"
	"math/bits"
)

// Mini-batches and packed gradients: arithmetic both parties do on public values only (the
// cohort size, TrainParams.BatchSize, the key size), so that neither has to tell the other.

// batches returns the number of mini-batches of a cohort of n members: n / size (so every
// batch holds at least size members), or 1 for full-batch training (size 0, or size ≥ n).
func batches(n, size int) int {
	if size <= 0 || size >= n {
		return 1
	}
	return n / size
}

// batchRange returns the cohort positions [lo, hi) of the batch step iter uses: batch
// iter mod batches(n, size), the batches being consecutive runs of the common order of sizes
// between size and 2·size-1.
func batchRange(n, size, iter int) (lo, hi int) {
	nb := batches(n, size)
	b := iter % nb
	return b * n / nb, (b + 1) * n / nb
}

// featureBitsBound bounds the bit length of a standardised feature at FeatureFracBits over a
// cohort of n members: with the population standard deviation Σ_i x_i² = n, so |x_i| ≤ √n ≤
// 2^⌈log2(n)/2⌉ and |round(x_i·2^FeatureFracBits)| ≤ 2^(FeatureFracBits+⌈log2(n)/2⌉).
func featureBitsBound(n int) int {
	return FeatureFracBits + (bits.Len(uint(max(n-1, 1)))+1)/2 + 1
}

// gradientBits bounds the bit length of one encrypted gradient Σ_i d_i·x_ij over at most n
// members, given the bit bound of the fixed-point features: |d_i| ≤ 1 at ResidualFracBits.
func gradientBits(n, featureBits int) int {
	return ResidualFracBits + featureBits + bits.Len(uint(n)) + 1
}

// packing returns the slot width and the number of slots per ciphertext in which a host packs
// its masked gradients for a cohort of n members under a keyBits-bit key. A slot holds
// g_j + 2^B + r_j with |g_j| < 2^B and r_j < 2^(B+1+maskSecurityBits), so it is below
// 2^(B+2+maskSecurityBits); B is the public bound gradientBits(n, featureBitsBound(n)), which
// the host's own bound never exceeds. The packed value stays below 2^(keyBits-2) < n/2, so it
// decrypts as a non-negative number. perCiphertext is 0 if the key is too small.
func packing(keyBits, n int) (slotBits, perCiphertext int) {
	slotBits = gradientBits(n, featureBitsBound(n)) + 2 + maskSecurityBits
	return slotBits, (keyBits - 2) / slotBits
}

// unpack splits a decrypted packed value into count slots of slotBits bits; ok is false if
// the value is negative or wider than count slots (a host that did not follow the protocol).
func unpack(m *big.Int, slotBits, count int) (slots []*big.Int, ok bool) {
	if m.Sign() < 0 || m.BitLen() > slotBits*count {
		return nil, false
	}
	mask := new(big.Int).Lsh(big.NewInt(1), uint(slotBits))
	mask.Sub(mask, big.NewInt(1))
	slots = make([]*big.Int, count)
	for t := range count {
		v := new(big.Int).Rsh(m, uint(t*slotBits))
		slots[t] = v.And(v, mask)
	}
	return slots, true
}
