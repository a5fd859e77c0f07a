package paillier

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
)

func TestKnownAnswers(t *testing.T) {
	for _, v := range loadKATs(t) {
		t.Run(v.Name, func(t *testing.T) {
			sk := katKey(t, v)
			pk := sk.Public()
			if pk.N().Cmp(bigDec(t, v.N)) != 0 {
				t.Fatal("n differs")
			}
			var cts []*Ciphertext
			for i, c := range v.Cases {
				m, r := bigDec(t, c.M), bigDec(t, c.R)
				em, err := pk.encodePlaintext(m)
				if err != nil {
					t.Fatal(err)
				}
				rn := new(big.Int).Exp(r, pk.n, pk.nSquared)
				ct := pk.encryptWith(em, rn)
				want := unhex(t, c.C)
				if !bytes.Equal(ct.Bytes(), want) {
					t.Fatalf("case %d: ciphertext %x, want %x", i, ct.Bytes(), want)
				}
				parsed, err := pk.ParseCiphertext(want)
				if err != nil {
					t.Fatalf("case %d: parse: %v", i, err)
				}
				for name, dec := range map[string]func(*Ciphertext) (*big.Int, error){
					"crt": sk.Decrypt, "plain": sk.decryptNoCRT,
				} {
					got, err := dec(parsed)
					if err != nil || got.Cmp(m) != 0 {
						t.Fatalf("case %d %s: decrypt %v, %v; want %v", i, name, got, err, m)
					}
				}
				cts = append(cts, parsed)
			}
			k := bigDec(t, v.K)
			sum, _ := pk.Add(cts[0], cts[1])
			mul, _ := pk.MulPlain(cts[0], k)
			add, _ := pk.AddPlain(cts[0], k)
			for name, pair := range map[string]struct {
				ct   *Ciphertext
				want string
			}{"sum": {sum, v.SumC0C1}, "mul": {mul, v.MulC0K}, "add": {add, v.AddC0K}} {
				if got := pair.ct.Bytes(); !bytes.Equal(got, unhex(t, pair.want)) {
					t.Errorf("%s: %x, want %s", name, got, pair.want)
				}
			}
		})
	}
}

// The hand-checkable example of the doc: n = 77, m = 30, r = 73:
// (1 + 30·77) · 73^77 mod 5929 = 4758.
func TestHandExample(t *testing.T) {
	sk, err := NewPrivateKey(big.NewInt(7), big.NewInt(11), Options{AllowInsecureSize: true})
	if err != nil {
		t.Fatal(err)
	}
	pk := sk.Public()
	ct := pk.encryptWith(big.NewInt(30), new(big.Int).Exp(big.NewInt(73), big.NewInt(77), big.NewInt(5929)))
	if ct.c.Int64() != 4758 {
		t.Fatalf("c = %v", ct.c)
	}
	if m, _ := sk.Decrypt(ct); m.Int64() != 30 {
		t.Fatalf("m = %v", m)
	}
}

func TestKeySizes(t *testing.T) {
	if _, err := GenerateKey(Options{Bits: 1024}); !errors.Is(err, ErrKeySize) {
		t.Fatalf("1024 bits without the option: %v", err)
	}
	if _, err := GenerateKey(Options{Bits: 2 * MaxBits, AllowInsecureSize: true}); !errors.Is(err, ErrKeySize) {
		t.Fatalf("too large: %v", err)
	}
	if _, err := GenerateKey(Options{Bits: 513, AllowInsecureSize: true}); !errors.Is(err, ErrKeySize) {
		t.Fatalf("odd size: %v", err)
	}
	if testing.Short() {
		t.Skip("2048-bit key generation")
	}
	sk, err := GenerateKey(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sk.Bits() != DefaultBits || !sk.FastEncryption() {
		t.Fatalf("bits %d, fast encryption %v", sk.Bits(), sk.FastEncryption())
	}
	ct, _ := sk.EncryptInt64(-12345)
	if m, _ := sk.Decrypt(ct); m.Int64() != -12345 {
		t.Fatal(m)
	}
}

func TestNewPrivateKeyRejects(t *testing.T) {
	opt := Options{AllowInsecureSize: true}
	for name, pq := range map[string][2]int64{
		"equal":     {11, 11},
		"composite": {15, 11},
		"two":       {2, 11},
		"gcd":       {3, 7}, // n = 21, φ = 12, gcd 3
		"tiny":      {3, 5}, // n = 15 has 4 bits
	} {
		if _, err := NewPrivateKey(big.NewInt(pq[0]), big.NewInt(pq[1]), opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewPrivateKey(nil, big.NewInt(7), opt); !errors.Is(err, ErrInvalidKey) {
		t.Error("nil accepted")
	}
}

func TestSignedRoundTrip(t *testing.T) {
	sk := testKey()
	pk := sk.Public()
	half := pk.MaxPlaintext()
	negHalf := new(big.Int).Neg(half)
	for _, m := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(-1), half, negHalf, big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)} {
		ct, err := pk.Encrypt(m)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := sk.Decrypt(ct); got.Cmp(m) != 0 {
			t.Fatalf("round trip %v → %v", m, got)
		}
	}
	over := new(big.Int).Add(half, one)
	for _, m := range []*big.Int{over, new(big.Int).Neg(over), pk.N(), nil} {
		if _, err := pk.Encrypt(m); !errors.Is(err, ErrPlaintextRange) {
			t.Fatalf("Encrypt(%v): %v", m, err)
		}
		if m != nil {
			ct, _ := pk.EncryptInt64(1)
			if _, err := pk.AddPlain(ct, m); !errors.Is(err, ErrPlaintextRange) {
				t.Fatalf("AddPlain(%v): %v", m, err)
			}
			if _, err := pk.MulPlain(ct, m); !errors.Is(err, ErrPlaintextRange) {
				t.Fatalf("MulPlain(%v): %v", m, err)
			}
		}
	}
}

func TestEncryptionIsRandomized(t *testing.T) {
	pk := testKey().Public()
	a, _ := pk.EncryptInt64(7)
	b, _ := pk.EncryptInt64(7)
	if bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two encryptions of 7 are equal")
	}
	c, _ := pk.Rerandomize(a)
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Fatal("rerandomize did nothing")
	}
	if m, _ := testKey().Decrypt(c); m.Int64() != 7 {
		t.Fatal(m)
	}
}

// TestHomomorphism checks the three laws on random signed operands (fixed
// seed), including wrap-around into negative results.
func TestHomomorphism(t *testing.T) {
	sk := testKey()
	pk := sk.Public()
	rng := mrand.New(mrand.NewPCG(1, 2))
	lim := new(big.Int).Rsh(pk.half, 1) // keep a+b in range
	rnd := func(bits uint) *big.Int {
		buf := make([]byte, (bits+7)/8)
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		v := new(big.Int).SetBytes(buf)
		v.Rsh(v, uint(len(buf)*8)-bits)
		if rng.IntN(2) == 0 {
			v.Neg(v)
		}
		if new(big.Int).Abs(v).Cmp(lim) > 0 {
			v.Mod(v, lim)
		}
		return v
	}
	dec := func(ct *Ciphertext) *big.Int {
		m, err := sk.Decrypt(ct)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for i := range 200 {
		a, b := rnd(uint(1+rng.IntN(250))), rnd(uint(1+rng.IntN(250)))
		k := rnd(uint(1 + rng.IntN(200)))
		small := rnd(uint(1 + rng.IntN(40)))
		ca, _ := pk.Encrypt(a)
		cb, _ := pk.Encrypt(b)
		if s, _ := pk.Add(ca, cb); dec(s).Cmp(new(big.Int).Add(a, b)) != 0 {
			t.Fatalf("%d: add", i)
		}
		if s, _ := pk.Sub(ca, cb); dec(s).Cmp(new(big.Int).Sub(a, b)) != 0 {
			t.Fatalf("%d: sub", i)
		}
		if s, _ := pk.AddPlain(ca, k); dec(s).Cmp(new(big.Int).Add(a, k)) != 0 {
			t.Fatalf("%d: addplain", i)
		}
		// a·small stays in range: |a| < 2^250, |small| < 2^40, n/2 ≈ 2^511.
		if s, _ := pk.MulPlain(ca, small); dec(s).Cmp(new(big.Int).Mul(a, small)) != 0 {
			t.Fatalf("%d: mulplain", i)
		}
		if s, _ := pk.Neg(ca); dec(s).Cmp(new(big.Int).Neg(a)) != 0 {
			t.Fatalf("%d: neg", i)
		}
		if s, _ := sk.decryptNoCRT(ca); s.Cmp(a) != 0 {
			t.Fatalf("%d: CRT and plain decryption differ", i)
		}
	}
	// Sum of many, as in per-bin label sums.
	var cts []*Ciphertext
	want := new(big.Int)
	for range 100 {
		v := big.NewInt(int64(rng.IntN(3) - 1))
		want.Add(want, v)
		ct, _ := pk.Encrypt(v)
		cts = append(cts, ct)
	}
	s, _ := pk.Sum(cts...)
	if dec(s).Cmp(want) != 0 {
		t.Fatal("sum")
	}
	empty, _ := pk.Sum()
	if dec(empty).Sign() != 0 {
		t.Fatal("empty sum")
	}
	// Overflow wraps modulo n: documented behaviour.
	h, _ := pk.Encrypt(pk.half)
	w, _ := pk.AddPlain(h, one)
	if dec(w).Cmp(new(big.Int).Neg(pk.half)) != 0 {
		t.Fatal("wrap")
	}
}

func TestWrongKey(t *testing.T) {
	sk := testKey()
	other, err := GenerateKey(Options{Bits: 512, AllowInsecureSize: true})
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := sk.EncryptInt64(5)
	if _, err := other.Decrypt(ct); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("decrypt under other key: %v", err)
	}
	oct, _ := other.EncryptInt64(5)
	if _, err := sk.Public().Add(ct, oct); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("add across keys: %v", err)
	}
	if _, err := other.Public().MulPlain(ct, big.NewInt(2)); !errors.Is(err, ErrKeyMismatch) {
		t.Fatal(err)
	}
	// Bytes of a ciphertext under a different key: either rejected, or (if
	// it happens to be in range) decrypts to garbage, never to 5 by design.
	if parsed, err := other.Public().ParseCiphertext(ct.Bytes()); err == nil {
		if m, _ := other.Decrypt(parsed); m.Int64() == 5 {
			t.Log("coincidence: decrypted to 5")
		}
	}
	// A 2048-bit key's ciphertexts have another length.
	big2 := key2048(t)
	if _, err := big2.Public().ParseCiphertext(ct.Bytes()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short ciphertext under 2048-bit key: %v", err)
	}
	if _, err := sk.Decrypt(nil); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatal(err)
	}
	if _, err := sk.Decrypt(&Ciphertext{}); !errors.Is(err, ErrInvalidCiphertext) {
		t.Fatal(err)
	}
}

func TestMalformedCiphertexts(t *testing.T) {
	sk := testKey()
	pk := sk.Public()
	size := pk.CiphertextSize()
	pad := func(v *big.Int) []byte { return v.FillBytes(make([]byte, size)) }
	p := sk.p
	cases := map[string][]byte{
		"empty":          nil,
		"short":          make([]byte, size-1),
		"long":           make([]byte, size+1),
		"zero":           make([]byte, size),
		"n squared":      pad(pk.nSquared),
		"n squared + 1":  pad(new(big.Int).Add(pk.nSquared, one)),
		"all ones":       bytes.Repeat([]byte{0xff}, size),
		"multiple of p":  pad(new(big.Int).Mul(p, big.NewInt(12345))),
		"n":              pad(pk.n),
		"multiple of q":  pad(sk.q),
		"valid + prefix": append([]byte{0}, pad(big.NewInt(1))...),
	}
	for name, b := range cases {
		if _, err := pk.ParseCiphertext(b); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrInvalidCiphertext) {
			t.Errorf("%s: unexpected error %v", name, err)
		}
	}
	// The smallest and largest valid values are accepted.
	for _, v := range []*big.Int{one, new(big.Int).Sub(pk.nSquared, one)} {
		if _, err := pk.ParseCiphertext(pad(v)); err != nil {
			t.Errorf("%v rejected: %v", v, err)
		}
	}
	// Text form: padding, standard alphabet, wrong length.
	ct, _ := pk.EncryptInt64(3)
	txt, _ := ct.MarshalText()
	if got, err := pk.ParseCiphertextText(txt); err != nil || !bytes.Equal(got.Bytes(), ct.Bytes()) {
		t.Fatalf("text round trip: %v", err)
	}
	for name, s := range map[string]string{
		"padded":                string(txt) + "=",
		"std":                   strings.NewReplacer("-", "+", "_", "/").Replace(string(txt)) + strings.Repeat("+", 0),
		"short":                 string(txt[1:]),
		"space":                 " " + string(txt[1:]),
		"nonzero trailing bits": string(txt[:len(txt)-1]) + flipLast(txt[len(txt)-1]),
	} {
		if name == "std" && s == string(txt) {
			continue // no - or _ in this encoding
		}
		if _, err := pk.ParseCiphertextText([]byte(s)); err == nil {
			t.Errorf("text %s: accepted", name)
		}
	}
}

// flipLast changes the last base64 character to one that differs only in the
// unused low bits (non-canonical encoding), or to another character.
func flipLast(c byte) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alpha, c)
	return string(alpha[i^1])
}

func TestPublicKeyEncoding(t *testing.T) {
	sk := key2048(t)
	pk := sk.Public()
	b, _ := pk.MarshalBinary()
	got, err := ParsePublicKey(b, Options{})
	if err != nil || !got.Equal(pk) {
		t.Fatalf("binary round trip: %v", err)
	}
	j, _ := pk.MarshalJSON()
	got, err = ParsePublicKeyJSON(j, Options{})
	if err != nil || !got.Equal(pk) {
		t.Fatalf("json round trip: %v", err)
	}
	// Ciphertexts carry over: encrypt under the parsed key, decrypt with sk.
	ct, _ := got.EncryptInt64(-9)
	if m, err := sk.Decrypt(ct); err != nil || m.Int64() != -9 {
		t.Fatalf("decrypt under parsed key: %v %v", m, err)
	}

	small, _ := testKey().Public().MarshalBinary()
	nHex := b64.EncodeToString(b)
	for name, tc := range map[string]struct {
		b    []byte
		json string
	}{
		"leading zero":   {b: append([]byte{0}, b...)},
		"empty":          {b: []byte{}},
		"small":          {b: small},
		"even":           {b: new(big.Int).Add(pk.n, one).Bytes()},
		"prime":          {b: mustPrime2048(t)},
		"square":         {b: new(big.Int).Mul(sk.p, sk.p).Bytes()},
		"small factor":   {b: new(big.Int).Mul(big.NewInt(3), new(big.Int).Quo(pk.n, sk.q)).Bytes()},
		"too big":        {b: bytes.Repeat([]byte{0xff}, MaxBits/8+1)},
		"json extra":     {json: `{"kty":"Paillier","n":"` + nHex + `","e":"AQAB"}`},
		"json dup":       {json: `{"kty":"Paillier","n":"` + nHex + `","n":"` + nHex + `"}`},
		"json kty":       {json: `{"kty":"RSA","n":"` + nHex + `"}`},
		"json missing":   {json: `{"n":"` + nHex + `"}`},
		"json padded":    {json: `{"kty":"Paillier","n":"` + nHex + `="}`},
		"json trailing":  {json: `{"kty":"Paillier","n":"` + nHex + `"} {}`},
		"json number":    {json: `{"kty":"Paillier","n":5}`},
		"json array":     {json: `["kty","Paillier"]`},
		"json truncated": {json: `{"kty":"Paillier","n":"` + nHex},
	} {
		var err error
		if tc.json != "" {
			_, err = ParsePublicKeyJSON([]byte(tc.json), Options{})
		} else {
			_, err = ParsePublicKey(tc.b, Options{})
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A test-sized key parses only with the explicit option.
	if _, err := ParsePublicKey(small, Options{AllowInsecureSize: true}); err != nil {
		t.Fatal(err)
	}
}

func mustPrime2048(t *testing.T) []byte {
	// The product test above guarantees the key's p; p·p is a square, and a
	// prime of 2048 bits comes from NextPrime-style search on n.
	p := new(big.Int).Set(key2048(t).n)
	p.SetBit(p, 0, 1)
	for !p.ProbablyPrime(20) {
		p.Add(p, big.NewInt(2))
	}
	return p.Bytes()
}

func TestFixedPoint(t *testing.T) {
	f := FixedPoint{FracBits: DefaultFracBits}
	for _, x := range []float64{0, 1, -1, 0.5, -0.5, 3.141592653589793, -2.718281828, 1e-12, -1e-12, 1e15, -1e15, math.MaxFloat64, -math.SmallestNonzeroFloat64, 0x1p-33, 0x1p-32, -0x1p-33 * 3} {
		m, err := f.Encode(x)
		if err != nil {
			t.Fatal(err)
		}
		got := f.Decode(m)
		if diff := math.Abs(got - x); diff > 0x1p-33 {
			t.Errorf("Encode/Decode(%g) = %g (diff %g)", x, got, diff)
		}
	}
	// Rounding is to nearest, ties away from zero.
	for x, want := range map[float64]int64{0x1p-33: 1, -0x1p-33: -1, 0x1p-34: 0, 3 * 0x1p-33: 2, -3 * 0x1p-33: -2} {
		if m, _ := f.Encode(x); m.Int64() != want {
			t.Errorf("Encode(%g) = %v, want %d", x, m, want)
		}
	}
	// Large integers are exact (no rounding of v+0.5 in 53 bits).
	if m, _ := (FixedPoint{}).Encode(0x1p60 + 0x1p8); m.Cmp(new(big.Int).Add(new(big.Int).Lsh(one, 60), big.NewInt(256))) != 0 {
		t.Errorf("large: %v", m)
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := f.Encode(x); !errors.Is(err, ErrNotFinite) {
			t.Errorf("Encode(%g): %v", x, err)
		}
	}
	// Through encryption: Σ gradient·feature at scale 2f.
	sk := testKey()
	pk := sk.Public()
	grads := []float64{0.25, -0.125, 0.3, -0.7}
	feats := []float64{1.5, 2, -0.5, 0.1}
	acc, _ := pk.Sum()
	want := 0.0
	for i := range grads {
		g, _ := f.Encode(grads[i])
		x, _ := f.Encode(feats[i])
		cg, _ := pk.Encrypt(g)
		p, _ := pk.MulPlain(cg, x)
		acc, _ = pk.Add(acc, p)
		want += grads[i] * feats[i]
	}
	m, _ := sk.Decrypt(acc)
	if got := (FixedPoint{FracBits: 2 * DefaultFracBits}).Decode(m); math.Abs(got-want) > 1e-9 {
		t.Fatalf("encrypted dot product %g, want %g", got, want)
	}
}

func TestPool(t *testing.T) {
	sk := testKey()
	pk := sk.Public()
	if _, err := NewPool(pk, 0); !errors.Is(err, ErrPoolSize) {
		t.Fatal(err)
	}
	pool, err := NewPool(pk, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Fill(context.Background(), 10); err != nil || pool.Len() != 10 {
		t.Fatalf("fill: %v, len %d", err, pool.Len())
	}
	seen := map[string]bool{}
	for i := range 20 { // 10 from the pool, 10 on demand
		ct, err := pool.Encrypt(big.NewInt(int64(i - 10)))
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := sk.Decrypt(ct); m.Int64() != int64(i-10) {
			t.Fatalf("pool encrypt %d → %v", i-10, m)
		}
		seen[string(ct.Bytes())] = true
	}
	if len(seen) != 20 || pool.Len() != 0 {
		t.Fatal("randomizer reused or pool not drained")
	}
	// Background refill with two workers, cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := pool.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Error(err)
			}
		})
	}
	for pool.Len() < pool.Cap() {
		ct, _ := pool.Encrypt(big.NewInt(1)) // consumes concurrently with refill
		if m, _ := sk.Decrypt(ct); m.Int64() != 1 {
			t.Fatal("concurrent")
		}
		if pool.Len() > 32 {
			break
		}
	}
	cancel()
	wg.Wait()
	ct, _ := pool.Encrypt(big.NewInt(4))
	rr, _ := pool.Rerandomize(ct)
	if bytes.Equal(rr.Bytes(), ct.Bytes()) {
		t.Fatal("rerandomize")
	}
	if m, _ := sk.Decrypt(rr); m.Int64() != 4 {
		t.Fatal(m)
	}
	other, _ := NewPool(key2048(t).Public(), 1)
	if _, err := other.Rerandomize(ct); !errors.Is(err, ErrKeyMismatch) {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := pool.Fill(ctx, 64); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestLogValueHidesFactors(t *testing.T) {
	sk := testKey()
	s := sk.LogValue().String() + sk.Public().LogValue().String()
	for _, secret := range []*big.Int{sk.p, sk.q, sk.lambda} {
		if strings.Contains(s, secret.String()) || strings.Contains(s, secret.Text(16)) {
			t.Fatal("log value contains a factor")
		}
	}
	if !strings.Contains(s, sk.Fingerprint()) {
		t.Fatal("no fingerprint")
	}
}
