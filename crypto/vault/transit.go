package vault

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
)

// DefaultTransitMount is where the Transit engine is usually mounted.
const DefaultTransitMount = "transit"

// Version is one version of a Transit Ed25519 key.
type Version struct {
	Number  int
	Public  ed25519.PublicKey
	KID     string // RFC 7638 thumbprint of Public
	Created time.Time
	Retired bool // below min_decryption_version: no longer published
}

// KeyState is what Vault reports about a Transit key.
type KeyState struct {
	Name                 string
	Latest               int
	MinDecryptionVersion int
	MinAvailableVersion  int
	Versions             []Version // ascending by Number
}

// Active is the versions that are not retired, ascending.
func (s KeyState) Active() []Version {
	var out []Version
	for _, v := range s.Versions {
		if !v.Retired {
			out = append(out, v)
		}
	}
	return out
}

// Version returns version n.
func (s KeyState) Version(n int) (Version, bool) {
	for _, v := range s.Versions {
		if v.Number == n {
			return v, true
		}
	}
	return Version{}, false
}

// Transit names one Ed25519 key in a Transit mount.
type Transit struct {
	c     *Client
	mount string
	name  string
}

// NewTransit refers to key name under mount (DefaultTransitMount if empty).
func NewTransit(c *Client, mount, name string) (*Transit, error) {
	if c == nil || name == "" {
		return nil, fmt.Errorf("%w: transit needs a client and a key name", ErrConfig)
	}
	if mount == "" {
		mount = DefaultTransitMount
	}
	return &Transit{c: c, mount: mount, name: name}, nil
}

// Name is the key name.
func (t *Transit) Name() string { return t.name }

func (t *Transit) path(op string) string { return t.mount + "/" + op + "/" + t.name }

// Create makes the key (type ed25519, not exportable) if it does not exist;
// an existing key must be an ed25519 key.
func (t *Transit) Create(ctx context.Context) (KeyState, error) {
	if st, err := t.Read(ctx); err == nil {
		return st, nil
	}
	if _, err := t.c.write(ctx, t.path("keys"), map[string]any{"type": "ed25519", "exportable": false}); err != nil {
		return KeyState{}, err
	}
	return t.Read(ctx)
}

// Read fetches the key's versions and public keys.
func (t *Transit) Read(ctx context.Context) (KeyState, error) {
	s, err := t.c.read(ctx, t.path("keys"))
	if err != nil {
		return KeyState{}, err
	}
	if s == nil || s.Data == nil {
		return KeyState{}, fmt.Errorf("%w: transit key %q not found", ErrKey, t.name)
	}
	return parseKeyState(t.name, s.Data)
}

func parseKeyState(name string, d map[string]any) (KeyState, error) {
	if typ, _ := d["type"].(string); typ != "ed25519" {
		return KeyState{}, fmt.Errorf("%w: transit key %q is of type %q, not ed25519", ErrKey, name, typ)
	}
	st := KeyState{Name: name}
	var err error
	if st.Latest, err = intOf(d["latest_version"]); err != nil {
		return KeyState{}, fmt.Errorf("%w: latest_version: %v", ErrKey, err)
	}
	if st.MinDecryptionVersion, err = intOf(d["min_decryption_version"]); err != nil {
		return KeyState{}, fmt.Errorf("%w: min_decryption_version: %v", ErrKey, err)
	}
	st.MinAvailableVersion, _ = intOf(d["min_available_version"])
	vers, ok := d["keys"].(map[string]any)
	if !ok || len(vers) == 0 {
		return KeyState{}, fmt.Errorf("%w: transit key %q lists no versions", ErrKey, name)
	}
	for num, raw := range vers {
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			return KeyState{}, fmt.Errorf("%w: bad version %q", ErrKey, num)
		}
		m, ok := raw.(map[string]any)
		if !ok {
			return KeyState{}, fmt.Errorf("%w: version %d has no public key", ErrKey, n)
		}
		b64, _ := m["public_key"].(string)
		pub, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(pub) != ed25519.PublicKeySize || jose.WeakEd25519Key(pub) {
			return KeyState{}, fmt.Errorf("%w: version %d: bad Ed25519 public key", ErrKey, n)
		}
		v := Version{Number: n, Public: ed25519.PublicKey(pub), KID: keys.SigningKID(pub), Retired: n < st.MinDecryptionVersion}
		if ct, _ := m["creation_time"].(string); ct != "" {
			v.Created, _ = time.Parse(time.RFC3339Nano, ct)
		}
		st.Versions = append(st.Versions, v)
	}
	slices.SortFunc(st.Versions, func(a, b Version) int { return a.Number - b.Number })
	if _, ok := st.Version(st.Latest); !ok {
		return KeyState{}, fmt.Errorf("%w: latest version %d not listed", ErrKey, st.Latest)
	}
	return st, nil
}

func intOf(v any) (int, error) {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return int(n), err
	case float64:
		return int(x), nil
	case int:
		return x, nil
	case nil:
		return 0, fmt.Errorf("missing")
	default:
		return 0, fmt.Errorf("not a number")
	}
}

// Rotate adds a new key version and returns the new state.
func (t *Transit) Rotate(ctx context.Context) (KeyState, error) {
	if _, err := t.c.write(ctx, t.path("keys")+"/rotate", nil); err != nil {
		return KeyState{}, err
	}
	return t.Read(ctx)
}

// Retire stops publishing and accepting versions below minVersion by
// raising min_decryption_version. It refuses to retire the latest version.
func (t *Transit) Retire(ctx context.Context, minVersion int) (KeyState, error) {
	st, err := t.Read(ctx)
	if err != nil {
		return KeyState{}, err
	}
	if minVersion < 1 || minVersion > st.Latest {
		return KeyState{}, fmt.Errorf("%w: versions are 1..%d; the latest cannot be retired", ErrConfig, st.Latest)
	}
	if _, err := t.c.write(ctx, t.path("keys")+"/config", map[string]any{"min_decryption_version": minVersion}); err != nil {
		return KeyState{}, err
	}
	return t.Read(ctx)
}

// sign asks Transit to sign msgs with version, in one request; one message
// uses the plain form, several the batch_input form.
func (t *Transit) sign(ctx context.Context, version int, msgs [][]byte) ([][]byte, error) {
	var data map[string]any
	if len(msgs) == 1 {
		data = map[string]any{"input": base64.StdEncoding.EncodeToString(msgs[0]), "key_version": version}
	} else {
		batch := make([]map[string]any, len(msgs))
		for i, m := range msgs {
			batch[i] = map[string]any{"input": base64.StdEncoding.EncodeToString(m)}
		}
		data = map[string]any{"batch_input": batch, "key_version": version}
	}
	s, err := t.c.write(ctx, t.path("sign"), data)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Data == nil {
		return nil, fmt.Errorf("%w: empty sign response", ErrUnavailable)
	}
	out := make([][]byte, len(msgs))
	if len(msgs) == 1 {
		sig, _ := s.Data["signature"].(string)
		if out[0], err = parseSignature(sig, version); err != nil {
			return nil, err
		}
		return out, nil
	}
	results, ok := s.Data["batch_results"].([]any)
	if !ok || len(results) != len(msgs) {
		return nil, fmt.Errorf("%w: batch answer has %d results for %d inputs", ErrKey, len(results), len(msgs))
	}
	for i, r := range results {
		m, _ := r.(map[string]any)
		if e, _ := m["error"].(string); e != "" {
			return nil, fmt.Errorf("%w: batch item %d: %s", ErrKey, i, e)
		}
		sig, _ := m["signature"].(string)
		if out[i], err = parseSignature(sig, version); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseSignature parses "vault:vN:BASE64" and checks that N is the version
// asked for and the signature is 64 bytes.
func parseSignature(s string, version int) ([]byte, error) {
	want := "vault:v" + strconv.Itoa(version) + ":"
	if len(s) <= len(want) || s[:len(want)] != want {
		return nil, fmt.Errorf("%w: signature is not from version %d", ErrKey, version)
	}
	sig, err := base64.StdEncoding.DecodeString(s[len(want):])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: malformed signature", ErrKey)
	}
	return sig, nil
}
