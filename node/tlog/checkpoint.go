package tlog

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// maxCheckpointSize bounds a checkpoint note read from outside.
const maxCheckpointSize = 16 << 10

// algEd25519 is the note signature algorithm byte for Ed25519.
const algEd25519 = 1

// Checkpoint is the body of a C2SP tlog-checkpoint: the origin line, the
// tree size in decimal, and the base64 root hash, each ending in a newline.
type Checkpoint struct {
	Origin string
	Size   uint64
	Hash   []byte
}

// Marshal returns the checkpoint body (the text that is signed).
func (c Checkpoint) Marshal() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Hash))
}

// ParseCheckpoint parses a checkpoint body strictly: exactly three lines
// (this profile has no extension lines), an origin without spaces or '+', a
// decimal size without leading zeros, and a canonical base64 32-byte hash.
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	if len(body) > maxCheckpointSize || !bytes.HasSuffix(body, []byte("\n")) {
		return Checkpoint{}, fmt.Errorf("%w: not newline-terminated", ErrMalformedCheckpoint)
	}
	lines := strings.Split(string(body[:len(body)-1]), "\n")
	if len(lines) != 3 {
		return Checkpoint{}, fmt.Errorf("%w: %d lines, want 3", ErrMalformedCheckpoint, len(lines))
	}
	origin, sizeStr, hashStr := lines[0], lines[1], lines[2]
	if origin == "" || strings.ContainsAny(origin, " \t\r+") {
		return Checkpoint{}, fmt.Errorf("%w: bad origin line", ErrMalformedCheckpoint)
	}
	size, err := strconv.ParseUint(sizeStr, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeStr {
		return Checkpoint{}, fmt.Errorf("%w: bad tree size", ErrMalformedCheckpoint)
	}
	hash, err := base64.StdEncoding.Strict().DecodeString(hashStr)
	if err != nil || len(hash) != hasher.Size() || base64.StdEncoding.EncodeToString(hash) != hashStr {
		return Checkpoint{}, fmt.Errorf("%w: bad root hash", ErrMalformedCheckpoint)
	}
	return Checkpoint{Origin: origin, Size: size, Hash: hash}, nil
}

// noteSigner signs notes with an Ed25519 crypto.Signer (the node's signing
// key, wherever it lives), under the key name origin.
type noteSigner struct {
	name string
	hash uint32
	key  crypto.Signer
}

var _ note.Signer = (*noteSigner)(nil)

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.hash }
func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	return s.key.Sign(rand.Reader, msg, crypto.Hash(0))
}

// NewSigner returns a note signer for the log with the given origin, using
// key, whose public key must be Ed25519. The key never leaves key.
func NewSigner(origin string, key crypto.Signer) (note.Signer, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("tlog: signing key is not Ed25519")
	}
	if _, err := note.NewEd25519VerifierKey(origin, pub); err != nil { // checks the name
		return nil, fmt.Errorf("tlog: origin %q: %w", origin, err)
	}
	return &noteSigner{name: origin, hash: keyHash(origin, pub), key: key}, nil
}

// keyHash is the note key hash: the first 4 bytes of
// SHA-256(name || "\n" || alg || public key).
func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := crypto.SHA256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algEd25519})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// VerifierKey is the encoded note verifier key (name+hash+key) of the log
// with the given origin signed by pub, for publishing to witnesses.
func VerifierKey(origin string, pub ed25519.PublicKey) (string, error) {
	return note.NewEd25519VerifierKey(origin, pub)
}

// NewVerifier returns the note verifier of the log with the given origin
// signed by pub.
func NewVerifier(origin string, pub ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := VerifierKey(origin, pub)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	return note.NewVerifier(vkey)
}

// Sign signs c as a note with s. The signer's name must be c.Origin.
func Sign(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("%w: signer %q for origin %q", ErrWrongOrigin, s.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: string(c.Marshal())}, s)
}

// VerifyCheckpoint opens a signed checkpoint note: it must carry a valid
// signature by v, and its origin line must be v's name. Signatures by other
// keys are ignored. It fails with ErrUnknownKey, ErrBadSignature,
// ErrWrongOrigin or ErrMalformedCheckpoint.
func VerifyCheckpoint(noteText []byte, v note.Verifier) (Checkpoint, error) {
	if len(noteText) > maxCheckpointSize {
		return Checkpoint{}, fmt.Errorf("%w: over %d bytes", ErrMalformedCheckpoint, maxCheckpointSize)
	}
	n, err := note.Open(noteText, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return Checkpoint{}, fmt.Errorf("%w: want %s", ErrUnknownKey, v.Name())
		case errors.As(err, &invalid):
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: %q, want %q", ErrWrongOrigin, c.Origin, v.Name())
	}
	return c, nil
}

// CheckSameView reports ErrSplitView if a and b are checkpoints of the same
// log and size with different roots: proof that the log showed two views.
func CheckSameView(a, b Checkpoint) error {
	if a.Origin == b.Origin && a.Size == b.Size && !bytes.Equal(a.Hash, b.Hash) {
		return fmt.Errorf("%w: %s size %d", ErrSplitView, a.Origin, a.Size)
	}
	return nil
}
