package vault

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseSignature(t *testing.T) {
	sig := base64.StdEncoding.EncodeToString(make([]byte, 64))
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"vault:v3:" + sig, true},
		{"vault:v2:" + sig, false},  // another version
		{"vault:v33:" + sig, false}, // prefix confusion
		{"vault:v3:" + base64.StdEncoding.EncodeToString(make([]byte, 63)), false},
		{"vault:v3:!!!", false},
		{"", false},
		{sig, false},
	} {
		_, err := parseSignature(c.in, 3)
		if (err == nil) != c.ok {
			t.Errorf("parseSignature(%q) = %v", c.in, err)
		}
		if err != nil && !errors.Is(err, ErrKey) {
			t.Errorf("parseSignature(%q): %v is not ErrKey", c.in, err)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add("vault:v1:" + base64.StdEncoding.EncodeToString(make([]byte, 64)))
	f.Add("vault:v1:")
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := parseSignature(s, 1)
		if err == nil && len(sig) != ed25519.SignatureSize {
			t.Fatalf("accepted a %d-byte signature", len(sig))
		}
	})
}

func TestParseKeyState(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	good := func() map[string]any {
		return map[string]any{
			"type": "ed25519", "latest_version": json.Number("2"), "min_decryption_version": json.Number("2"),
			"keys": map[string]any{
				"1": map[string]any{"public_key": base64.StdEncoding.EncodeToString(pub)},
				"2": map[string]any{"public_key": base64.StdEncoding.EncodeToString(pub)},
			},
		}
	}
	st, err := parseKeyState("k", good())
	if err != nil || len(st.Versions) != 2 || !st.Versions[0].Retired || len(st.Active()) != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	for name, mutate := range map[string]func(map[string]any){
		"wrong type":     func(d map[string]any) { d["type"] = "aes256-gcm96" },
		"no versions":    func(d map[string]any) { d["keys"] = map[string]any{} },
		"latest missing": func(d map[string]any) { d["latest_version"] = json.Number("3") },
		"short key": func(d map[string]any) {
			d["keys"].(map[string]any)["2"] = map[string]any{"public_key": "AAAA"}
		},
		"small-order key": func(d map[string]any) {
			d["keys"].(map[string]any)["2"] = map[string]any{"public_key": base64.StdEncoding.EncodeToString(make([]byte, 32))}
		},
	} {
		d := good()
		mutate(d)
		if _, err := parseKeyState("k", d); !errors.Is(err, ErrKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBatcherGroupsAndHonoursDeadlines(t *testing.T) {
	var calls atomic.Int64
	var sizes sync.Map
	b := newBatcher(20*time.Millisecond, 8, func(ctx context.Context, msgs [][]byte) ([][]byte, error) {
		calls.Add(1)
		sizes.Store(calls.Load(), len(msgs))
		out := make([][]byte, len(msgs))
		for i, m := range msgs {
			out[i] = append([]byte("sig:"), m...)
		}
		return out, nil
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := []byte{byte(i)}
			sig, err := b.sign(context.Background(), msg)
			if err != nil || string(sig) != "sig:"+string(msg) {
				t.Errorf("message %d: %q %v", i, sig, err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n < 3 || n > 10 {
		t.Fatalf("20 signatures, batches of ≤ 8: %d requests", n)
	}
	sizes.Range(func(_, v any) bool {
		if v.(int) > 8 {
			t.Errorf("batch of %d", v)
		}
		return true
	})

	// A slow backend: the caller's deadline wins.
	slow := newBatcher(time.Millisecond, 8, func(ctx context.Context, msgs [][]byte) ([][]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := slow.sign(ctx, []byte("x")); !errors.Is(err, ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow backend: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("deadline not honoured")
	}
}
