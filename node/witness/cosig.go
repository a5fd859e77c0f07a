package witness

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// algCosignatureV1 is the note signature type of a C2SP tlog-cosignature
// (https://c2sp.org/tlog-cosignature): Ed25519 over a timestamped message.
const algCosignatureV1 = 0x04

// cosigSize is the size of a cosignature: 8-byte timestamp, 64-byte signature.
const cosigSize = 8 + ed25519.SignatureSize

// Name is the cosigner (note key) name of node id's witness.
func Name(nodeID string) string { return "creditexchange/" + nodeID + "/witness" }

// cosignedMessage is what a cosignature signs: the header lines then the
// checkpoint body.
func cosignedMessage(t uint64, body []byte) []byte {
	msg := []byte("cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n")
	return append(msg, body...)
}

func cosigKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

type cosigner struct {
	name  string
	hash  uint32
	key   crypto.Signer
	clock func() time.Time
}

func (s *cosigner) Name() string    { return s.name }
func (s *cosigner) KeyHash() uint32 { return s.hash }
func (s *cosigner) Sign(msg []byte) ([]byte, error) {
	t := uint64(s.clock().Unix())
	sig, err := s.key.Sign(rand.Reader, cosignedMessage(t, msg), crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint64(nil, t), sig...), nil
}

// NewCosigner returns a note signer producing C2SP cosignatures under name
// with key (Ed25519; the key never leaves it). clock stamps each cosignature.
func NewCosigner(name string, key crypto.Signer, clock func() time.Time) (note.Signer, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("witness: cosigning key is not Ed25519")
	}
	if !validName(name) {
		return nil, fmt.Errorf("witness: bad cosigner name %q", name)
	}
	if clock == nil {
		clock = time.Now
	}
	return &cosigner{name: name, hash: cosigKeyHash(name, pub), key: key, clock: clock}, nil
}

type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != cosigSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	return ed25519.Verify(v.pub, cosignedMessage(t, msg), sig[8:])
}

// NewVerifier returns the verifier of cosignatures by name with pub.
func NewVerifier(name string, pub ed25519.PublicKey) (note.Verifier, error) {
	if len(pub) != ed25519.PublicKeySize || !validName(name) {
		return nil, errors.New("witness: bad cosignature verifier")
	}
	return &cosigVerifier{name: name, hash: cosigKeyHash(name, pub), pub: pub}, nil
}

// CosignatureTime returns the timestamp of a cosignature's raw bytes.
func CosignatureTime(sig []byte) (time.Time, bool) {
	if len(sig) != cosigSize {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(sig[:8])), 0).UTC(), true
}

// validName follows the note key-name rules: non-empty, no spaces or '+'.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r == '+' || r > '~' {
			return false
		}
	}
	return true
}
