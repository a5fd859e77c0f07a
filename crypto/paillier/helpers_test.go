package paillier

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

type kat struct {
	Name  string `json:"name"`
	P     string `json:"p"`
	Q     string `json:"q"`
	N     string `json:"n"`
	Cases []struct {
		M string `json:"m"`
		R string `json:"r"`
		C string `json:"c"`
	} `json:"cases"`
	K       string `json:"k"`
	SumC0C1 string `json:"sum_c0_c1"`
	MulC0K  string `json:"mul_c0_k"`
	AddC0K  string `json:"add_c0_k"`
}

func loadKATs(tb testing.TB) []kat {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var file struct {
		Vectors []kat `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		tb.Fatal(err)
	}
	return file.Vectors
}

func bigDec(tb testing.TB, s string) *big.Int {
	tb.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		tb.Fatalf("bad decimal %q", s)
	}
	return v
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func katKey(tb testing.TB, v kat) *PrivateKey {
	tb.Helper()
	sk, err := NewPrivateKey(bigDec(tb, v.P), bigDec(tb, v.Q), Options{AllowInsecureSize: true})
	if err != nil {
		tb.Fatalf("%s: %v", v.Name, err)
	}
	return sk
}

// key2048 is the fixed 2048-bit key of the vectors file (no key generation
// in benchmarks).
func key2048(tb testing.TB) *PrivateKey {
	for _, v := range loadKATs(tb) {
		if v.Name == "n2048" {
			sk, err := NewPrivateKey(bigDec(tb, v.P), bigDec(tb, v.Q), Options{})
			if err != nil {
				tb.Fatal(err)
			}
			return sk
		}
	}
	tb.Fatal("no n2048 vector")
	return nil
}

// testKey is a 512-bit key generated once per test binary: big enough to
// exercise the arithmetic, small enough to be fast. Insecure by design.
var testKey = sync.OnceValue(func() *PrivateKey {
	sk, err := GenerateKey(Options{Bits: 512, AllowInsecureSize: true})
	if err != nil {
		panic(err)
	}
	return sk
})
