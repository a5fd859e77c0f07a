// Package keys holds a node's long-term keys: an Ed25519 signing key and an
// X25519 encryption key, each with a stable key id (the RFC 7638 JWK
// thumbprint, SHA-256, base64url). The embedded default keeps them in local
// files of mode 0600: the signing key as PKCS #8 PEM, the encryption key as an
// age X25519 identity ("AGE-SECRET-KEY-1…"), so operators can use it with the
// age tool directly.
//
// Nothing in this package logs; NodeKeys implements slog.LogValuer and logs
// only key ids.
package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/creditexchange/node/crypto/jose"
)

// File names inside a node directory.
const (
	SigningKeyFile    = "signing.key"
	EncryptionKeyFile = "encryption.agekey"
)

// ErrKeyFile is returned when a key file is missing, unreadable, too open, or
// not in the expected format.
var ErrKeyFile = errors.New("keys: bad key file")

// NodeKeys is a node's key pair set. Signer may be backed by a local key or by
// a remote service (Vault Transit); the encryption key is always in memory.
type NodeKeys struct {
	Signer        crypto.Signer // public key is ed25519.PublicKey
	SigningKID    string
	Encryption    *ecdh.PrivateKey // X25519
	EncryptionKID string
}

// LogValue logs key ids only.
func (k *NodeKeys) LogValue() slog.Value {
	return slog.GroupValue(slog.String("signing_kid", k.SigningKID), slog.String("encryption_kid", k.EncryptionKID))
}

// SigningPublic is the Ed25519 public signing key.
func (k *NodeKeys) SigningPublic() ed25519.PublicKey { return k.Signer.Public().(ed25519.PublicKey) }

// Generate makes fresh keys from crypto/rand.
func Generate() (*NodeKeys, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	enc, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return FromKeys(priv, enc), nil
}

// FromKeys wraps existing keys, computing their ids.
func FromKeys(signer crypto.Signer, enc *ecdh.PrivateKey) *NodeKeys {
	return &NodeKeys{
		Signer:        signer,
		SigningKID:    SigningKID(signer.Public().(ed25519.PublicKey)),
		Encryption:    enc,
		EncryptionKID: EncryptionKID(enc.PublicKey()),
	}
}

// Save writes the keys into dir with mode 0600, refusing to overwrite.
func (k *NodeKeys) Save(dir string) error {
	priv, ok := k.Signer.(ed25519.PrivateKey)
	if !ok {
		return errors.New("keys: only a local signing key can be saved")
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, SigningKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return err
	}
	id, err := AgeIdentity(k.Encryption)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("# public key: %s\n%s\n", id.Recipient(), id)
	return writeNew(filepath.Join(dir, EncryptionKeyFile), []byte(text))
}

func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Load reads keys saved by Save.
func Load(dir string) (*NodeKeys, error) {
	signer, err := LoadSigningKey(filepath.Join(dir, SigningKeyFile))
	if err != nil {
		return nil, err
	}
	enc, err := LoadEncryptionKey(filepath.Join(dir, EncryptionKeyFile))
	if err != nil {
		return nil, err
	}
	return FromKeys(signer, enc), nil
}

func readPrivate(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is readable by others (mode %v); chmod 600 it", ErrKeyFile, path, st.Mode().Perm())
	}
	return os.ReadFile(path)
}

// LoadSigningKey reads a PKCS #8 PEM Ed25519 private key file.
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	return ParseSigningKey(data)
}

// ParseSigningKey parses a PKCS #8 PEM Ed25519 private key.
func ParseSigningKey(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: no PRIVATE KEY block", ErrKeyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: not an Ed25519 key", ErrKeyFile)
	}
	return priv, nil
}

// MarshalSigningKey encodes an Ed25519 private key as PKCS #8 PEM.
func MarshalSigningKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WritePrivateFile writes data to a new file of mode 0600, refusing to overwrite.
func WritePrivateFile(path string, data []byte) error { return writeNew(path, data) }

// LoadEncryptionKey reads an age X25519 identity file (comments allowed).
func LoadEncryptionKey(path string) (*ecdh.PrivateKey, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		return ParseAgeIdentity(line)
	}
	return nil, fmt.Errorf("%w: no identity in %s", ErrKeyFile, path)
}

// ParseAgeIdentity turns an age X25519 identity string into an X25519 key.
func ParseAgeIdentity(s string) (*ecdh.PrivateKey, error) {
	if _, err := age.ParseX25519Identity(s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	hrp, scalar, err := bech32Decode(s)
	if err != nil || hrp != "age-secret-key-" || len(scalar) != 32 {
		return nil, fmt.Errorf("%w: not an age X25519 identity", ErrKeyFile)
	}
	return ecdh.X25519().NewPrivateKey(scalar)
}

// AgeIdentity converts an X25519 key into an age identity.
func AgeIdentity(k *ecdh.PrivateKey) (*age.X25519Identity, error) {
	// age has no constructor from a raw scalar; its identity string is the
	// Bech32 encoding, which we make here and parse back through age.
	s, err := bech32Encode("age-secret-key-", k.Bytes())
	if err != nil {
		return nil, err
	}
	return age.ParseX25519Identity(strings.ToUpper(s))
}

// AgeRecipient is the age recipient for an X25519 public key.
func AgeRecipient(pub *ecdh.PublicKey) (*age.X25519Recipient, error) {
	s, err := bech32Encode("age", pub.Bytes())
	if err != nil {
		return nil, err
	}
	return age.ParseX25519Recipient(s)
}

func thumbprint(members string) string {
	sum := sha256.Sum256([]byte(members))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// SigningKID is the RFC 7638 thumbprint of an Ed25519 public key (RFC 8037 OKP JWK).
func SigningKID(pub ed25519.PublicKey) string {
	return thumbprint(`{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`)
}

// EncryptionKID is the RFC 7638 thumbprint of an X25519 public key.
func EncryptionKID(pub *ecdh.PublicKey) string {
	return thumbprint(`{"crv":"X25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub.Bytes()) + `"}`)
}

// JWK is an RFC 8037 OKP public key.
type JWK struct {
	KeyType string `json:"kty"`
	Curve   string `json:"crv"`
	X       string `json:"x"`
	KeyID   string `json:"kid,omitempty"`
	Use     string `json:"use,omitempty"`
	Alg     string `json:"alg,omitempty"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// SigningJWK describes an Ed25519 public key.
func SigningJWK(pub ed25519.PublicKey) JWK {
	return JWK{KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), KeyID: SigningKID(pub), Use: "sig", Alg: "EdDSA"}
}

// EncryptionJWK describes an X25519 public key.
func EncryptionJWK(pub *ecdh.PublicKey) JWK {
	return JWK{KeyType: "OKP", Curve: "X25519", X: base64.RawURLEncoding.EncodeToString(pub.Bytes()), KeyID: EncryptionKID(pub), Use: "enc", Alg: "ECDH-ES+A256KW"}
}

// VersionedSigner is a Signer whose key has several published versions
// (Vault Transit): PublicKeys lists every one that peers should accept,
// including the one Public returns and signs with.
type VersionedSigner interface {
	crypto.Signer
	PublicKeys() []ed25519.PublicKey
}

// PublicJWKS is the node's published key set: its signing key(s) and its
// encryption key.
func (k *NodeKeys) PublicJWKS() JWKS {
	var set JWKS
	if vs, ok := k.Signer.(VersionedSigner); ok {
		for _, pub := range vs.PublicKeys() {
			if !pub.Equal(k.SigningPublic()) {
				set.Keys = append(set.Keys, SigningJWK(pub))
			}
		}
	}
	set.Keys = append(set.Keys, SigningJWK(k.SigningPublic()), EncryptionJWK(k.Encryption.PublicKey()))
	return set
}

// ErrJWK is returned when a JWK or key set is malformed, is not a public key
// of the expected kind, carries private key material, or names a weak key.
var ErrJWK = errors.New("keys: bad JWK")

// parseOKP strictly decodes a public OKP JWK on curve crv: no duplicate
// members, none but kty, crv, x, kid, use and alg (so never the private "d"), "use" and "alg" (if present) as given, x the canonical
// base64url of 32 bytes.
func parseOKP(raw []byte, crv, use, alg string) (j JWK, x []byte, err error) {
	members, err := decodeStrictObject(raw)
	if err != nil {
		return JWK{}, nil, err
	}
	fields := map[string]*string{"kty": &j.KeyType, "crv": &j.Curve, "x": &j.X, "kid": &j.KeyID, "use": &j.Use, "alg": &j.Alg}
	for name, val := range members {
		dst, ok := fields[name]
		if !ok {
			return JWK{}, nil, fmt.Errorf("%w: member %q not allowed", ErrJWK, truncate(name))
		}
		if err := json.Unmarshal(val, dst); err != nil {
			return JWK{}, nil, fmt.Errorf("%w: %q is not a string", ErrJWK, name)
		}
	}
	if j.KeyType != "OKP" || j.Curve != crv {
		return JWK{}, nil, fmt.Errorf("%w: not an %s key", ErrJWK, crv)
	}
	if j.Use != "" && j.Use != use {
		return JWK{}, nil, fmt.Errorf("%w: use is not %q", ErrJWK, use)
	}
	if j.Alg != "" && j.Alg != alg {
		return JWK{}, nil, fmt.Errorf("%w: alg is not %q", ErrJWK, alg)
	}
	x, err = base64.RawURLEncoding.Strict().DecodeString(j.X)
	if err != nil || len(x) != 32 || base64.RawURLEncoding.EncodeToString(x) != j.X {
		return JWK{}, nil, fmt.Errorf("%w: bad %s x", ErrJWK, crv)
	}
	return j, x, nil
}

// decodeStrictObject decodes one JSON object into its members, refusing
// duplicates (encoding/json would silently keep the last).
func decodeStrictObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrJWK)
	}
	out := make(map[string]json.RawMessage)
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: not a JSON object", ErrJWK)
		}
		key, _ := kt.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("%w: not a JSON object", ErrJWK)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: duplicate member %q", ErrJWK, truncate(key))
		}
		out[key] = val
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrJWK)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrJWK)
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// ParseSigningJWK parses an Ed25519 public JWK and checks that its kid, if
// present, is its thumbprint. It refuses, with ErrJWK, anything but a public
// OKP Ed25519 key with use "sig" and alg "EdDSA" (when given), and keys of
// small order.
func ParseSigningJWK(raw []byte) (ed25519.PublicKey, string, error) {
	j, x, err := parseOKP(raw, "Ed25519", "sig", "EdDSA")
	if err != nil {
		return nil, "", err
	}
	if jose.WeakEd25519Key(x) {
		return nil, "", fmt.Errorf("%w: Ed25519 key of small order", ErrJWK)
	}
	pub := ed25519.PublicKey(x)
	kid := SigningKID(pub)
	if j.KeyID != "" && j.KeyID != kid {
		return nil, "", fmt.Errorf("%w: kid is not its thumbprint", ErrJWK)
	}
	return pub, kid, nil
}

// ParseSigningJWKS parses a key set of Ed25519 keys into a kid → key map.
// Public keys of other types in the set are ignored; a set holding private
// or symmetric key material, two keys with one kid, or no Ed25519 key is
// refused with ErrJWK.
func ParseSigningJWKS(raw []byte) (map[string]ed25519.PublicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("%w: bad JWKS", ErrJWK)
	}
	out := make(map[string]ed25519.PublicKey)
	for _, k := range set.Keys {
		members, err := decodeStrictObject(k)
		if err != nil {
			return nil, err
		}
		for _, secret := range []string{"d", "k", "p", "q", "dp", "dq", "qi", "oth"} {
			if _, ok := members[secret]; ok {
				return nil, fmt.Errorf("%w: key set holds private key material", ErrJWK)
			}
		}
		var crv string
		if c, ok := members["crv"]; ok {
			_ = json.Unmarshal(c, &crv)
		}
		if crv != "Ed25519" {
			continue
		}
		pub, kid, err := ParseSigningJWK(k)
		if err != nil {
			return nil, err
		}
		if _, dup := out[kid]; dup {
			return nil, fmt.Errorf("%w: duplicate key", ErrJWK)
		}
		out[kid] = pub
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no Ed25519 key in set", ErrJWK)
	}
	return out, nil
}

// ParseEncryptionJWK parses an X25519 public JWK. It refuses, with ErrJWK,
// anything but a public OKP X25519 key with use "enc" and alg
// "ECDH-ES+A256KW" (when given), and keys of low order.
func ParseEncryptionJWK(raw []byte) (*ecdh.PublicKey, string, error) {
	j, x, err := parseOKP(raw, "X25519", "enc", "ECDH-ES+A256KW")
	if err != nil {
		return nil, "", err
	}
	if jose.WeakX25519Key(x) {
		return nil, "", fmt.Errorf("%w: X25519 key of low order", ErrJWK)
	}
	pub, err := ecdh.X25519().NewPublicKey(x)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrJWK, err)
	}
	kid := EncryptionKID(pub)
	if j.KeyID != "" && j.KeyID != kid {
		return nil, "", fmt.Errorf("%w: kid is not its thumbprint", ErrJWK)
	}
	return pub, kid, nil
}
