package subjectlog

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/creditexchange/node/node/tlog"
)

// Extension line keywords of a subject checkpoint.
const (
	extMap = "cx-subject-map"
	extVRF = "cx-subject-vrf"
)

// vrfDerivationLabel is signed by the node key to derive its VRF seed.
const vrfDerivationLabel = "creditexchange subject-map VRF key derivation v1"

// maxNoteSize bounds a note read from outside.
const maxNoteSize = 64 << 10

// Checkpoint errors.
var (
	// ErrMalformed: the note body is not a subject checkpoint.
	ErrMalformed = errors.New("subjectlog: malformed subject checkpoint")
	// ErrNondeterministicSigner: the node key does not sign
	// deterministically (RFC 8032), so no stable VRF key can be derived.
	ErrNondeterministicSigner = errors.New("subjectlog: signing key is not deterministic")
)

// Checkpoint is a C2SP tlog-checkpoint of the inquiry log (origin, size,
// root) with two extension lines: the root of the subject map over the same
// leaves, and the VRF public key that places subjects in the map.
type Checkpoint struct {
	tlog.Checkpoint
	MapRoot [32]byte
	VRFKey  []byte
}

// Marshal returns the note body.
func (c Checkpoint) Marshal() []byte {
	b := c.Checkpoint.Marshal()
	b = fmt.Appendf(b, "%s %s\n", extMap, base64.StdEncoding.EncodeToString(c.MapRoot[:]))
	return fmt.Appendf(b, "%s %s\n", extVRF, base64.StdEncoding.EncodeToString(c.VRFKey))
}

// ParseCheckpoint parses a subject checkpoint body strictly: the three
// checkpoint lines (tlog.ParseCheckpoint), then exactly the map and VRF
// extension lines, canonical base64.
func ParseCheckpoint(body []byte) (Checkpoint, error) {
	if len(body) > maxNoteSize || !bytes.HasSuffix(body, []byte("\n")) {
		return Checkpoint{}, fmt.Errorf("%w: not newline-terminated", ErrMalformed)
	}
	lines := strings.SplitAfter(string(body), "\n")
	if len(lines) != 6 || lines[5] != "" {
		return Checkpoint{}, fmt.Errorf("%w: want 5 lines", ErrMalformed)
	}
	base, err := tlog.ParseCheckpoint([]byte(strings.Join(lines[:3], "")))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	mapRoot, err := extLine(lines[3], extMap)
	if err != nil {
		return Checkpoint{}, err
	}
	vrf, err := extLine(lines[4], extVRF)
	if err != nil {
		return Checkpoint{}, err
	}
	c := Checkpoint{Checkpoint: base, VRFKey: vrf}
	copy(c.MapRoot[:], mapRoot)
	return c, nil
}

func extLine(line, keyword string) ([]byte, error) {
	v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), keyword+" ")
	if !ok {
		return nil, fmt.Errorf("%w: want a %s line", ErrMalformed, keyword)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != 32 || base64.StdEncoding.EncodeToString(b) != v {
		return nil, fmt.Errorf("%w: bad %s value", ErrMalformed, keyword)
	}
	return b, nil
}

// SignCheckpoint signs c as a note with s (from tlog.NewSigner for c.Origin).
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("%w: signer %q for origin %q", tlog.ErrWrongOrigin, s.Name(), c.Origin)
	}
	return note.Sign(&note.Note{Text: string(c.Marshal())}, s)
}

// OpenCheckpoint verifies a signed subject checkpoint with the log's
// verifier (its origin is the verifier's name) and returns it with the
// signatures that verified under any of the extra verifiers (witness
// cosignature verifiers). A note carrying a bad signature by any known key
// is refused; signatures by unknown keys are ignored.
func OpenCheckpoint(text []byte, log note.Verifier, extra ...note.Verifier) (Checkpoint, *note.Note, error) {
	if len(text) > maxNoteSize {
		return Checkpoint{}, nil, fmt.Errorf("%w: over %d bytes", ErrMalformed, maxNoteSize)
	}
	n, err := note.Open(text, note.VerifierList(append([]note.Verifier{log}, extra...)...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return Checkpoint{}, nil, fmt.Errorf("%w: no signature by a known key", tlog.ErrUnknownKey)
		case errors.As(err, &invalid):
			return Checkpoint{}, nil, fmt.Errorf("%w: %v", tlog.ErrBadSignature, err)
		}
		return Checkpoint{}, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	signed := false
	for _, s := range n.Sigs {
		if s.Name == log.Name() && s.Hash == log.KeyHash() {
			signed = true
		}
	}
	if !signed {
		return Checkpoint{}, nil, fmt.Errorf("%w: not signed by %s", tlog.ErrUnknownKey, log.Name())
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != log.Name() {
		return Checkpoint{}, nil, fmt.Errorf("%w: %q, want %q", tlog.ErrWrongOrigin, c.Origin, log.Name())
	}
	return c, n, nil
}

// PeekCheckpoint parses a signed subject checkpoint without verifying any
// of its signatures: its body (the signed text) and what it says. It is for
// comparing and naming checkpoints (the size a subject pins a walk to, two
// pages' checkpoints); OpenCheckpoint is what verifies one.
func PeekCheckpoint(signed []byte) (Checkpoint, string, error) {
	if len(signed) > maxNoteSize {
		return Checkpoint{}, "", fmt.Errorf("%w: over %d bytes", ErrMalformed, maxNoteSize)
	}
	body, _, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		return Checkpoint{}, "", fmt.Errorf("%w: no signature block", ErrMalformed)
	}
	body += "\n"
	c, err := ParseCheckpoint([]byte(body))
	return c, body, err
}

// DeriveVRFKey derives the node's VRF key from its Ed25519 signing key: the
// seed is SHA-256 of the key's signature over a fixed label. Ed25519
// signatures are deterministic (RFC 8032), so the key is stable across
// restarts without storing another secret; a signer that is not
// deterministic fails with ErrNondeterministicSigner.
func DeriveVRFKey(signer crypto.Signer) (*VRFKey, error) {
	sign := func() ([]byte, error) { return signer.Sign(nil, []byte(vrfDerivationLabel), crypto.Hash(0)) }
	a, err := sign()
	if err != nil {
		return nil, fmt.Errorf("subjectlog: deriving VRF key: %w", err)
	}
	b, err := sign()
	if err != nil {
		return nil, fmt.Errorf("subjectlog: deriving VRF key: %w", err)
	}
	if !bytes.Equal(a, b) {
		return nil, ErrNondeterministicSigner
	}
	seed := sha256.Sum256(a)
	return NewVRFKey(seed[:])
}

// vrfInput is the VRF input naming a subject.
func vrfInput(subject string) []byte { return []byte("creditexchange/subject/v1\n" + subject) }

// KeyOf turns a VRF output into a map key.
func keyOf(beta []byte) Key {
	var k Key
	copy(k[:], beta[:KeySize])
	return k
}

// SubjectKey returns subject's map key and its VRF proof.
func (k *VRFKey) SubjectKey(subject string) (Key, []byte, error) {
	pi, beta, err := k.Prove(vrfInput(subject))
	if err != nil {
		return Key{}, nil, err
	}
	return keyOf(beta), pi, nil
}

// VerifySubjectKey checks a VRF proof of subject's map key under vrfPub.
func VerifySubjectKey(vrfPub []byte, subject string, pi []byte) (Key, error) {
	beta, err := VerifyVRF(vrfPub, vrfInput(subject), pi)
	if err != nil {
		return Key{}, err
	}
	return keyOf(beta), nil
}
