package subjectlog

import (
	"bytes"
	"crypto/sha512"
	"errors"

	"filippo.io/edwards25519"
)

// This file is ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381
// (https://www.rfc-editor.org/rfc/rfc9381): a verifiable random function
// whose output (beta) is unique for a public key and input. The map key of a
// subject is derived from it, so a provider cannot place one subject at two
// positions of the map, and nobody without the provider's VRF key can compute
// where a guessed subject would be.

const (
	vrfSuite    = 0x03 // ECVRF-EDWARDS25519-SHA512-TAI
	vrfCLen     = 16
	vrfPtLen    = 32
	vrfProofLen = vrfPtLen + vrfCLen + 32
	// VRFPublicKeySize is the size of a VRF public key.
	VRFPublicKeySize = 32
	// VRFSeedSize is the size of a VRF private key seed (as an Ed25519 seed).
	VRFSeedSize = 32
)

// ErrVRFInvalid is returned when a VRF proof or public key does not verify.
var ErrVRFInvalid = errors.New("subjectlog: VRF proof invalid")

// VRFKey is an ECVRF private key. It is never logged or serialised.
type VRFKey struct {
	x      *edwards25519.Scalar
	prefix []byte // nonce key: the second half of SHA-512(seed)
	pub    []byte
}

// NewVRFKey makes the key of a 32-byte seed, derived as an RFC 8032 private key.
func NewVRFKey(seed []byte) (*VRFKey, error) {
	if len(seed) != VRFSeedSize {
		return nil, errors.New("subjectlog: VRF seed must be 32 bytes")
	}
	h := sha512.Sum512(seed)
	x, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		return nil, err
	}
	pub := new(edwards25519.Point).ScalarBaseMult(x).Bytes()
	return &VRFKey{x: x, prefix: bytes.Clone(h[32:]), pub: pub}, nil
}

// Public is the VRF public key.
func (k *VRFKey) Public() []byte { return bytes.Clone(k.pub) }

// Prove returns the proof pi for alpha and the output beta (64 bytes).
func (k *VRFKey) Prove(alpha []byte) (pi, beta []byte, err error) {
	y, err := new(edwards25519.Point).SetBytes(k.pub)
	if err != nil {
		return nil, nil, err
	}
	h, err := encodeToCurve(k.pub, alpha)
	if err != nil {
		return nil, nil, err
	}
	hs := h.Bytes()
	gamma := new(edwards25519.Point).ScalarMult(k.x, h)
	kh := sha512.New()
	kh.Write(k.prefix)
	kh.Write(hs)
	nonce, err := edwards25519.NewScalar().SetUniformBytes(kh.Sum(nil))
	if err != nil {
		return nil, nil, err
	}
	kB := new(edwards25519.Point).ScalarBaseMult(nonce)
	kH := new(edwards25519.Point).ScalarMult(nonce, h)
	c := challenge(y, h, gamma, kB, kH)
	cs, err := scalarFromC(c)
	if err != nil {
		return nil, nil, err
	}
	s := edwards25519.NewScalar().MultiplyAdd(cs, k.x, nonce)
	pi = make([]byte, 0, vrfProofLen)
	pi = append(pi, gamma.Bytes()...)
	pi = append(pi, c...)
	pi = append(pi, s.Bytes()...)
	return pi, proofToHash(gamma), nil
}

// VerifyVRF checks pi for alpha under pub and returns the output beta. It
// fails with ErrVRFInvalid.
func VerifyVRF(pub, alpha, pi []byte) ([]byte, error) {
	if len(pub) != VRFPublicKeySize || len(pi) != vrfProofLen {
		return nil, ErrVRFInvalid
	}
	y, err := decodePoint(pub)
	if err != nil || isSmallOrder(y) {
		return nil, ErrVRFInvalid
	}
	gamma, err := decodePoint(pi[:vrfPtLen])
	if err != nil {
		return nil, ErrVRFInvalid
	}
	c := pi[vrfPtLen : vrfPtLen+vrfCLen]
	s, err := edwards25519.NewScalar().SetCanonicalBytes(pi[vrfPtLen+vrfCLen:])
	if err != nil {
		return nil, ErrVRFInvalid
	}
	cs, err := scalarFromC(c)
	if err != nil {
		return nil, ErrVRFInvalid
	}
	h, err := encodeToCurve(pub, alpha)
	if err != nil {
		return nil, ErrVRFInvalid
	}
	negC := edwards25519.NewScalar().Negate(cs)
	// U = s*B - c*Y, V = s*H - c*Gamma
	u := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(negC, y, s)
	sH := new(edwards25519.Point).ScalarMult(s, h)
	cG := new(edwards25519.Point).ScalarMult(cs, gamma)
	v := new(edwards25519.Point).Subtract(sH, cG)
	if !bytes.Equal(challenge(y, h, gamma, u, v), c) {
		return nil, ErrVRFInvalid
	}
	return proofToHash(gamma), nil
}

// decodePoint decodes a canonical point encoding only.
func decodePoint(b []byte) (*edwards25519.Point, error) {
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p.Bytes(), b) {
		return nil, ErrVRFInvalid
	}
	return p, nil
}

func isSmallOrder(p *edwards25519.Point) bool {
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}

// encodeToCurve is ECVRF_encode_to_curve_try_and_increment with the public
// key as salt.
func encodeToCurve(pub, alpha []byte) (*edwards25519.Point, error) {
	for ctr := 0; ctr < 256; ctr++ {
		h := sha512.New()
		h.Write([]byte{vrfSuite, 0x01})
		h.Write(pub)
		h.Write(alpha)
		h.Write([]byte{byte(ctr), 0x00})
		sum := h.Sum(nil)
		p, err := new(edwards25519.Point).SetBytes(sum[:32])
		if err != nil {
			continue
		}
		return p.MultByCofactor(p), nil
	}
	return nil, errors.New("subjectlog: VRF encode to curve failed")
}

func challenge(pts ...*edwards25519.Point) []byte {
	h := sha512.New()
	h.Write([]byte{vrfSuite, 0x02})
	for _, p := range pts {
		h.Write(p.Bytes())
	}
	h.Write([]byte{0x00})
	return h.Sum(nil)[:vrfCLen]
}

func scalarFromC(c []byte) (*edwards25519.Scalar, error) {
	var b [32]byte
	copy(b[:], c)
	return edwards25519.NewScalar().SetCanonicalBytes(b[:])
}

func proofToHash(gamma *edwards25519.Point) []byte {
	h := sha512.New()
	h.Write([]byte{vrfSuite, 0x03})
	h.Write(new(edwards25519.Point).MultByCofactor(gamma).Bytes())
	h.Write([]byte{0x00})
	return h.Sum(nil)
}
