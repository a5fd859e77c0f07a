package subjectlog

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 9381 Appendix B.3, examples 16 and 17.
func TestVRFKnownAnswers(t *testing.T) {
	for _, v := range []struct{ sk, pk, alpha, pi, beta string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab1268a1b0db10836d9826a528ca76567805",
			"90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae"},
	} {
		k, err := NewVRFKey(unhex(t, v.sk))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Public(), unhex(t, v.pk)) {
			t.Fatalf("public key %x", k.Public())
		}
		pi, beta, err := k.Prove(unhex(t, v.alpha))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pi, unhex(t, v.pi)) || !bytes.Equal(beta, unhex(t, v.beta)) {
			t.Fatalf("pi %x\nbeta %x", pi, beta)
		}
		got, err := VerifyVRF(k.Public(), unhex(t, v.alpha), pi)
		if err != nil || !bytes.Equal(got, beta) {
			t.Fatalf("verify: %v", err)
		}
	}
}

func TestVRFTampering(t *testing.T) {
	k, _ := NewVRFKey(bytes.Repeat([]byte{7}, 32))
	other, _ := NewVRFKey(bytes.Repeat([]byte{8}, 32))
	pi, _, err := k.Prove([]byte("91110000100000016D"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range pi {
		bad := bytes.Clone(pi)
		bad[i] ^= 1
		if _, err := VerifyVRF(k.Public(), []byte("91110000100000016D"), bad); !errors.Is(err, ErrVRFInvalid) {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	if _, err := VerifyVRF(k.Public(), []byte("91110000100000017D"), pi); !errors.Is(err, ErrVRFInvalid) {
		t.Fatal("proof accepted for another input")
	}
	if _, err := VerifyVRF(other.Public(), []byte("91110000100000016D"), pi); !errors.Is(err, ErrVRFInvalid) {
		t.Fatal("proof accepted under another key")
	}
	if _, err := VerifyVRF(k.Public(), []byte("91110000100000016D"), pi[:len(pi)-1]); !errors.Is(err, ErrVRFInvalid) {
		t.Fatal("truncated proof accepted")
	}
}
