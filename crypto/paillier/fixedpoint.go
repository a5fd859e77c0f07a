package paillier

import (
	"errors"
	"math"
	"math/big"
)

// DefaultFracBits is the scale joint-modelling code uses unless it has reason
// to choose another: values are multiplied by 2^32 (about 9.6 decimal digits
// after the point). With a 2048-bit modulus the plaintext space holds about
// 2^2015 in absolute value after encoding, so sums of millions of gradients
// and one plaintext multiplication (which doubles the scale to 2^64) stay far
// from overflow.
const DefaultFracBits = 32

// ErrNotFinite: FixedPoint.Encode was given NaN or an infinity.
var ErrNotFinite = errors.New("paillier: value is not finite")

// FixedPoint encodes a float64 x as the integer round(x · 2^FracBits) (ties
// away from zero) and decodes back by dividing by 2^FracBits. The encoding of
// a float64 is exact up to that rounding; decoding rounds to the nearest
// float64.
//
// Scales add under multiplication: MulPlain of a ciphertext at scale f by a
// plaintext at scale g yields scale f+g; decode it with FixedPoint{FracBits: f+g}.
// Add and AddPlain need both operands at the same scale.
type FixedPoint struct {
	FracBits uint
}

// Encode returns round(x · 2^FracBits). It does not check the range of a key;
// Encrypt does.
func (f FixedPoint) Encode(x float64) (*big.Int, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, ErrNotFinite
	}
	v := new(big.Float).SetPrec(0).SetFloat64(x) // exact, precision of x
	v.SetMantExp(v, int(f.FracBits))             // exact scaling by a power of two
	// v = mant · 2^exp with 0.5 ≤ |mant| < 1, so v has exp integer bits.
	// Rounding the mantissa to exp bits, ties away from zero, rounds v to an integer.
	exp := v.MantExp(nil)
	switch {
	case v.Sign() == 0 || exp < 0:
		return new(big.Int), nil // |v| < 0.5
	case exp == 0:
		return big.NewInt(int64(v.Sign())), nil // 0.5 ≤ |v| < 1
	}
	v.SetMode(big.ToNearestAway).SetPrec(uint(exp))
	i, _ := v.Int(nil)
	return i, nil
}

// Decode returns m / 2^FracBits as the nearest float64 (±Inf if it overflows).
func (f FixedPoint) Decode(m *big.Int) float64 {
	v := new(big.Float).SetInt(m)
	v.SetMantExp(v, -int(f.FracBits))
	x, _ := v.Float64()
	return x
}
