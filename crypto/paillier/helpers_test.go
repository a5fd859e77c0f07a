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
	K         string `json:"k"`
	SumC0C1   string `json:"sum_c0_c1"`
	MulC0K    string `json:"mul_c0_k"`
	AddC0K    string `json:"add_c0_k"`
	KeyHolder []struct {
		M  string `json:"m"`
		SP string `json:"sp"`
		SQ string `json:"sq"`
		R  string `json:"r"`
		C  string `json:"c"`
	} `json:"keyholder"`
	LinComb []struct {
		Ks []string `json:"ks"`
		C  string   `json:"c"`
	} `json:"lincomb"`
}

// structuredKAT is a key whose p-1 and q-1 factor (as GenerateKey makes them), with the
// smallest generators of Z*_p and Z*_q and fixed-base key-holder encryptions.
type structuredKAT struct {
	Name  string `json:"name"`
	P     string `json:"p"`
	Q     string `json:"q"`
	N     string `json:"n"`
	GP    string `json:"gp"`
	GQ    string `json:"gq"`
	Cases []struct {
		M  string `json:"m"`
		EP string `json:"ep"`
		EQ string `json:"eq"`
		C  string `json:"c"`
	} `json:"cases"`
}

type katFile struct {
	Vectors    []kat           `json:"vectors"`
	Structured []structuredKAT `json:"structured"`
}

func loadKATFile(tb testing.TB) katFile {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var file katFile
	if err := json.Unmarshal(data, &file); err != nil {
		tb.Fatal(err)
	}
	return file
}

func loadKATs(tb testing.TB) []kat { return loadKATFile(tb).Vectors }

// structuredKey2048 is the 2048-bit key of the structured vectors: it takes the fixed-base
// path, as keys from GenerateKey do.
func structuredKey2048(tb testing.TB) *PrivateKey {
	for _, v := range loadKATFile(tb).Structured {
		if v.Name == "s2048" {
			sk, err := NewPrivateKey(bigDec(tb, v.P), bigDec(tb, v.Q), Options{})
			if err != nil {
				tb.Fatal(err)
			}
			return sk
		}
	}
	tb.Fatal("no s2048 vector")
	return nil
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
