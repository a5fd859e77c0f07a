package keys

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A local signing key rotates as a Vault Transit key does: a new key signs,
// and the public keys of the earlier versions stay published (node JWKS,
// registry entry) until retired, so signatures made under them keep
// verifying. The earlier versions' public keys are kept, oldest first, in
// PreviousKeysFile(signing key path); their private keys are not kept.

// PreviousKeysFile is the file of the earlier, still published, public
// keys of the local signing key at path.
func PreviousKeysFile(path string) string { return path + ".previous.jwks" }

// RetiredKeysFile is the file of the retired (no longer published) public
// keys of the local signing key at path, oldest first: kept so versions
// keep their numbers, as Vault's do.
func RetiredKeysFile(path string) string { return path + ".retired.jwks" }

// LocalVersioned is a local signing key with earlier versions still
// published: a VersionedSigner like a Vault Transit key.
type LocalVersioned struct {
	ed25519.PrivateKey
	previous []ed25519.PublicKey // oldest first
}

// PublicKeys lists every published version, oldest first, the signing one
// last.
func (l LocalVersioned) PublicKeys() []ed25519.PublicKey {
	return append(append([]ed25519.PublicKey(nil), l.previous...), l.Public().(ed25519.PublicKey))
}

// Public is the public key of the version that signs.
func (l LocalVersioned) Public() crypto.PublicKey { return l.PrivateKey.Public() }

// LoadVersionedSigningKey loads the local signing key at path with its
// earlier published versions: a plain ed25519.PrivateKey when it was never
// rotated, a LocalVersioned otherwise.
func LoadVersionedSigningKey(path string) (crypto.Signer, error) {
	priv, err := LoadSigningKey(path)
	if err != nil {
		return nil, err
	}
	prev, err := readPrevious(path)
	if err != nil {
		return nil, err
	}
	if len(prev) == 0 {
		return priv, nil
	}
	return LocalVersioned{PrivateKey: priv, previous: prev}, nil
}

// LocalVersions lists every version of the local signing key at path,
// oldest first (version i+1 is element i, the last signs), and how many of
// the oldest are retired (not published).
func LocalVersions(path string) (versions []ed25519.PublicKey, retired int, err error) {
	s, err := LoadVersionedSigningKey(path)
	if err != nil {
		return nil, 0, err
	}
	old, err := readKeys(RetiredKeysFile(path))
	if err != nil {
		return nil, 0, err
	}
	if vs, ok := s.(VersionedSigner); ok {
		return append(old, vs.PublicKeys()...), len(old), nil
	}
	return append(old, s.Public().(ed25519.PublicKey)), len(old), nil
}

// RotateLocal makes a new signing key at path and keeps the current one's
// public key published as the newest earlier version. The earlier versions
// are written first, so a crash between the two writes leaves the old key
// signing and nothing unpublished.
func RotateLocal(path string) error {
	old, err := LoadSigningKey(path)
	if err != nil {
		return err
	}
	prev, err := readPrevious(path)
	if err != nil {
		return err
	}
	if !containsKey(prev, old.Public().(ed25519.PublicKey)) {
		prev = append(prev, old.Public().(ed25519.PublicKey))
	}
	if err := writePrevious(path, prev); err != nil {
		return err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	pemKey, err := MarshalSigningKey(priv)
	if err != nil {
		return err
	}
	return replaceFile(path, pemKey, 0o600)
}

// RetireLocal stops publishing the versions older than below (numbered as
// LocalVersions). The signing version cannot be retired; retiring is never
// undone.
func RetireLocal(path string, below int) error {
	vs, retired, err := LocalVersions(path)
	if err != nil {
		return err
	}
	if below < 1 || below > len(vs) {
		return fmt.Errorf("keys: --below must be 1..%d (the signing version is %d)", len(vs), len(vs))
	}
	if below-1 <= retired {
		return nil
	}
	// Retired first: a crash between the writes leaves a key both retired
	// and published, which the next retire completes.
	if err := writeKeys(RetiredKeysFile(path), vs[:below-1]); err != nil {
		return err
	}
	return writePrevious(path, vs[below-1:len(vs)-1])
}

func containsKey(set []ed25519.PublicKey, k ed25519.PublicKey) bool {
	for _, p := range set {
		if p.Equal(k) {
			return true
		}
	}
	return false
}

// readPrevious reads the earlier published versions in file order.
func readPrevious(path string) ([]ed25519.PublicKey, error) { return readKeys(PreviousKeysFile(path)) }

// readKeys reads a file of public signing keys in order; no file is none.
func readKeys(file string) ([]ed25519.PublicKey, error) {
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := ParseSigningJWKS(raw); err != nil { // strict: no duplicates, public keys only
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, file, err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, file, err)
	}
	out := make([]ed25519.PublicKey, 0, len(set.Keys))
	for _, k := range set.Keys {
		pub, _, err := ParseSigningJWK(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyFile, file, err)
		}
		out = append(out, pub)
	}
	return out, nil
}

func writePrevious(path string, prev []ed25519.PublicKey) error {
	return writeKeys(PreviousKeysFile(path), prev)
}

func writeKeys(file string, prev []ed25519.PublicKey) error {
	if len(prev) == 0 {
		err := os.Remove(file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	var set JWKS
	for _, p := range prev {
		set.Keys = append(set.Keys, SigningJWK(p))
	}
	raw, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	return replaceFile(file, append(raw, '\n'), 0o644)
}

// replaceFile writes data to path atomically (a synced temporary file
// renamed over it).
func replaceFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
