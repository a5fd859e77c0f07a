// Package inquirylog turns inquiry-log entries into Merkle leaves.
//
// Every entry is stored as its canonical bytes (encoding/json of
// schemas.InquiryEntry: fixed field order, no maps) next to a fresh 32-byte
// random salt. The leaf hash is the RFC 6962 leaf hash of salt || entry, so
// a published tree head or inclusion proof reveals nothing about entries that
// a reader does not already hold: without the salt an entry cannot be
// confirmed by guessing. The subject receives entries with their salts and
// can recompute every leaf. The log's index is the leaf's position, assigned by
// the store inside the write transaction; the tamper-evident tree (checkpoints,
// proofs) is built over these leaf hashes.
package inquirylog

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// SaltSize is the length of the per-entry salt.
const SaltSize = 32

// ErrLeafMismatch is returned when an entry and salt do not hash to the leaf.
var ErrLeafMismatch = errors.New("inquirylog: entry does not match its leaf hash")

// NewLeaf encodes e canonically, salts it, and computes its leaf hash. The
// subject index key is e.Subject.
func NewLeaf(e schemas.InquiryEntry, now time.Time) (store.Leaf, error) {
	if e.Time == "" {
		e.Time = now.UTC().Format(time.RFC3339Nano)
	}
	return newLeaf(e, e.Subject, now)
}

// NewOutboundLeaf is NewLeaf for the requester's outbound log, with the
// entry's staff id, business reference and purpose as its audit keys.
func NewOutboundLeaf(e schemas.OutboundEntry, now time.Time) (store.Leaf, error) {
	if e.Time == "" {
		e.Time = now.UTC().Format(time.RFC3339Nano)
	}
	l, err := newLeaf(e, e.Subject, now)
	if err != nil {
		return store.Leaf{}, err
	}
	l.Audit = &store.AuditKeys{StaffID: e.StaffID, BusinessRef: e.BusinessRef, Purpose: e.Purpose}
	return l, nil
}

func newLeaf(v any, subject string, now time.Time) (store.Leaf, error) {
	entry, err := json.Marshal(v)
	if err != nil {
		return store.Leaf{}, fmt.Errorf("inquirylog: encode entry: %w", err)
	}
	salt := make([]byte, SaltSize)
	if _, err := rand.Read(salt); err != nil {
		return store.Leaf{}, err
	}
	return store.Leaf{
		Subject:  subject,
		Time:     now.UTC(),
		Entry:    entry,
		Salt:     salt,
		LeafHash: LeafHash(salt, entry),
	}, nil
}

// LeafHash is the RFC 6962 leaf hash of salt || entry.
func LeafHash(salt, entry []byte) []byte {
	buf := make([]byte, 0, len(salt)+len(entry))
	buf = append(append(buf, salt...), entry...)
	return rfc6962.DefaultHasher.HashLeaf(buf)
}

// Decode parses a stored leaf back into a logged entry, checking that the
// stored hash matches the stored bytes.
func Decode(l store.StoredLeaf) (schemas.LoggedEntry, error) {
	if !bytes.Equal(LeafHash(l.Salt, l.Entry), l.LeafHash) {
		return schemas.LoggedEntry{}, fmt.Errorf("%w at index %d", ErrLeafMismatch, l.Index)
	}
	var e schemas.InquiryEntry
	if err := json.Unmarshal(l.Entry, &e); err != nil {
		return schemas.LoggedEntry{}, fmt.Errorf("inquirylog: decode entry %d: %w", l.Index, err)
	}
	return schemas.LoggedEntry{
		Index:    l.Index,
		LeafHash: hex.EncodeToString(l.LeafHash),
		Salt:     hex.EncodeToString(l.Salt),
		Entry:    e,
	}, nil
}

// VerifyLogged recomputes a logged entry's leaf hash from its entry and salt,
// as a subject does offline.
func VerifyLogged(le schemas.LoggedEntry) error {
	salt, err := hex.DecodeString(le.Salt)
	if err != nil || len(salt) != SaltSize {
		return fmt.Errorf("%w: bad salt", ErrLeafMismatch)
	}
	want, err := hex.DecodeString(le.LeafHash)
	if err != nil {
		return fmt.Errorf("%w: bad leaf hash", ErrLeafMismatch)
	}
	entry, err := json.Marshal(le.Entry)
	if err != nil {
		return err
	}
	if !bytes.Equal(LeafHash(salt, entry), want) {
		return ErrLeafMismatch
	}
	return nil
}

// Digest is the hex SHA-256 of b; the log holds digests of what was sent,
// never the data.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// RecordsDigest is the digest of the canonical encoding of the records that
// left the provider, as carried in the response receipt and the log entry.
func RecordsDigest(recs []schemas.RecordOut) (string, error) {
	if recs == nil {
		recs = []schemas.RecordOut{}
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return "", err
	}
	return Digest(b), nil
}
