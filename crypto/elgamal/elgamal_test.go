package elgamal

import (
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"
)

func TestRoundTripAndAdd(t *testing.T) {
	sk := GenerateKey()
	pk := sk.Public()
	tab, err := NewTable(10000)
	if err != nil {
		t.Fatal(err)
	}
	rng := mrand.New(mrand.NewPCG(5, 6))
	for _, m := range []uint64{0, 1, 2, 99, 100, 101, 9999, 10000} {
		if got, err := sk.Decrypt(pk.Encrypt(m), tab); err != nil || got != m {
			t.Fatalf("Decrypt(E(%d)) = %d, %v", m, got, err)
		}
	}
	for range 100 {
		a, b := rng.Uint64N(5001), rng.Uint64N(5000)
		if got, err := sk.Decrypt(Add(pk.Encrypt(a), pk.Encrypt(b)), tab); err != nil || got != a+b {
			t.Fatalf("%d + %d = %d, %v", a, b, got, err)
		}
	}
	if _, err := sk.Decrypt(pk.Encrypt(10001), tab); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("out of range: %v", err)
	}
	if _, err := GenerateKey().Decrypt(pk.Encrypt(5), tab); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := NewTable(MaxTableMax + 1); !errors.Is(err, ErrTableSize) {
		t.Fatal(err)
	}
	a, b := pk.Encrypt(7), pk.Encrypt(7)
	ab, _ := a.MarshalBinary()
	bb, _ := b.MarshalBinary()
	if bytes.Equal(ab, bb) {
		t.Fatal("not randomized")
	}
}

func TestEncoding(t *testing.T) {
	sk := GenerateKey()
	pkb, _ := sk.Public().MarshalBinary()
	pk, err := ParsePublicKey(pkb)
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := NewTable(100)
	ctb, _ := pk.Encrypt(42).MarshalBinary()
	ct, err := ParseCiphertext(ctb)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := sk.Decrypt(ct, tab); err != nil || m != 42 {
		t.Fatal(m, err)
	}
	zero := make([]byte, 32)
	nonCanon := bytes.Repeat([]byte{0xff}, 32)
	for name, b := range map[string][]byte{
		"short": ctb[:63], "long": append(bytes.Clone(ctb), 0), "c1 identity": append(bytes.Clone(zero), ctb[32:]...),
		"c1 noncanonical": append(bytes.Clone(nonCanon), ctb[32:]...), "c2 noncanonical": append(bytes.Clone(ctb[:32]), nonCanon...),
	} {
		if _, err := ParseCiphertext(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, b := range map[string][]byte{"identity": zero, "noncanonical": nonCanon, "short": pkb[:31]} {
		if _, err := ParsePublicKey(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("public key %s: %v", name, err)
		}
	}
	if _, err := sk.Decrypt(&Ciphertext{}, tab); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
}

func FuzzParseCiphertext(f *testing.F) {
	ctb, _ := GenerateKey().Public().Encrypt(3).MarshalBinary()
	f.Add(ctb)
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		ct, err := ParseCiphertext(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		if back, _ := ct.MarshalBinary(); !bytes.Equal(back, b) {
			t.Fatal("second encoding accepted")
		}
	})
}

func ExampleAdd() {
	sk := GenerateKey()
	pk := sk.Public()
	tally := pk.Encrypt(0)
	for _, vote := range []uint64{1, 0, 1, 1} {
		tally = Add(tally, pk.Encrypt(vote))
	}
	tab, _ := NewTable(1000)
	n, _ := sk.Decrypt(tally, tab)
	fmt.Println(n)
	// Output: 3
}

func BenchmarkEncrypt(b *testing.B) {
	pk := GenerateKey().Public()
	for b.Loop() {
		pk.Encrypt(12345)
	}
}

func BenchmarkDecrypt1e6(b *testing.B) {
	sk := GenerateKey()
	tab, _ := NewTable(1 << 20)
	ct := sk.Public().Encrypt(777777)
	for b.Loop() {
		if _, err := sk.Decrypt(ct, tab); err != nil {
			b.Fatal(err)
		}
	}
}
