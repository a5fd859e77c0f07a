package store

import (
	"errors"
	"fmt"
	"time"
)

// Sizes of a leaf's fixed-length fields.
const (
	SaltSize     = 32 // Leaf.Salt
	LeafHashSize = 32 // Leaf.LeafHash: SHA-256, RFC 6962 leaf hash
)

var (
	// ErrReplay is returned by CommitInquiry (and per commit by CommitBatch)
	// when the (requester, request id) pair has been committed before.
	// Nothing is written.
	ErrReplay = errors.New("store: request id already used")

	// ErrConsentExhausted is returned by CommitInquiry (and per commit by
	// CommitBatch) when the consent has no uses left. Nothing is written.
	ErrConsentExhausted = errors.New("store: consent has no uses left")

	// ErrConsentRevoked is returned by CommitInquiry (and per commit by
	// CommitBatch) when the consent was revoked, including by a Revoke that
	// committed after the caller's own Revoked check. Nothing is written.
	ErrConsentRevoked = errors.New("store: consent revoked")

	// ErrNotFound is returned when asked for log leaves at or beyond the
	// log's current size.
	ErrNotFound = errors.New("store: not found")

	// ErrInvalid is returned when an argument is malformed: an empty id, a
	// salt or leaf hash of the wrong length, an inverted range. It is a
	// programming error in the caller. Nothing is written.
	ErrInvalid = errors.New("store: invalid argument")

	// ErrUnavailable wraps every database failure: I/O errors, a full disk, a
	// closed or unreachable database, a cancelled context. Callers fail
	// closed (store_unavailable, log_unavailable). The underlying error is
	// wrapped too, for the operator's log.
	ErrUnavailable = errors.New("store: database unavailable")
)

// unavailable wraps a database failure in ErrUnavailable, keeping the cause
// (and so context.Canceled or context.DeadlineExceeded) reachable by
// errors.Is.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
}

// invalid reports a malformed argument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Leaf is one entry of an append-only log (the provider's inquiry log or the
// requester's outbound log).
type Leaf struct {
	// Subject is the subject id the entry is about, "" if none or unknown.
	// Entries are indexed by it for the subject's own look-ups.
	Subject string
	Time    time.Time
	// Entry is the canonical JSON of the entry; opaque to the store.
	Entry []byte
	// Salt is SaltSize random bytes, hashed in front of Entry so that a
	// leaf hash reveals nothing about a guessable entry.
	Salt []byte
	// LeafHash is the RFC 6962 leaf hash over Salt||Entry, computed by the
	// caller. The store does not recompute it.
	LeafHash []byte
	// Audit, for an outbound leaf, are the internal audit's search keys
	// (fields of Entry, repeated so the store can index them without
	// reading entries); nil indexes the leaf under none.
	Audit *AuditKeys
}

func (l *Leaf) validate() error {
	switch {
	case len(l.Entry) == 0:
		return invalid("leaf has an empty entry")
	case len(l.Salt) != SaltSize:
		return invalid("leaf salt is %d bytes, want %d", len(l.Salt), SaltSize)
	case len(l.LeafHash) != LeafHashSize:
		return invalid("leaf hash is %d bytes, want %d", len(l.LeafHash), LeafHashSize)
	case l.Time.IsZero():
		return invalid("leaf has no time")
	}
	return nil
}

// Appended is the position a leaf was stored at.
type Appended struct {
	// Index is the leaf's 0-based position in its log: dense, never reused.
	Index    uint64
	LeafHash []byte
}

// StoredLeaf is a leaf read back from a log, with its index.
type StoredLeaf struct {
	Index uint64
	Leaf
}

// Commit is what the provider writes atomically when it answers a query.
type Commit struct {
	// Requester and RequestID mark the request as used; a second commit of
	// the same pair fails with ErrReplay.
	Requester string
	RequestID string
	// ConsentID, if not empty, is the consent the query relies on: the
	// commit consumes one use, and fails with ErrConsentExhausted if that
	// would exceed MaxUses, or ErrConsentRevoked if the consent's subject
	// revoked it. The consent's subject is Leaf.Subject, the subject queried,
	// which the caller must already have checked is the subject who gave the
	// consent; a commit with a consent but no Leaf.Subject is invalid, since
	// no revocation could be found for it.
	ConsentID string
	MaxUses   int
	// Leaf is the inquiry-log entry recording the answer.
	Leaf Leaf
}

func (c *Commit) validate() error {
	switch {
	case c.Requester == "":
		return invalid("commit has no requester")
	case c.RequestID == "":
		return invalid("commit has no request id")
	case c.ConsentID != "" && c.Leaf.Subject == "":
		return invalid("commit has a consent but no subject")
	}
	return c.Leaf.validate()
}

// BatchResult is the outcome of one Commit in a batch: Err is nil, ErrReplay,
// ErrConsentExhausted, ErrConsentRevoked or ErrInvalid; Appended is set only
// when Err is nil.
type BatchResult struct {
	Appended Appended
	Err      error
}

// Revocation records that a subject withdrew a consent. It counts only for
// that subject: revocations are keyed by (Subject, ConsentID).
type Revocation struct {
	ConsentID string
	// Subject is the authenticated subject who sent the revocation, and so
	// the only subject whose consent it can revoke.
	Subject      string
	RevocationID string
	RevokedAt    time.Time
}

func (r *Revocation) validate() error {
	switch {
	case r.ConsentID == "":
		return invalid("revocation has no consent id")
	case r.Subject == "":
		return invalid("revocation has no subject")
	case r.RevocationID == "":
		return invalid("revocation has no revocation id")
	case r.RevokedAt.IsZero():
		return invalid("revocation has no time")
	}
	return nil
}

// AuditKeys are an outbound leaf's search keys: the staff member, business
// reference and purpose of the request it records ("" where none).
type AuditKeys struct {
	StaffID, BusinessRef, Purpose string
}

// OutboundSearch selects outbound leaves for the internal audit: every
// non-zero field must match; From is inclusive, To exclusive (the leaf's
// time). At most Limit leaves are returned, in index order.
type OutboundSearch struct {
	Subject, StaffID, BusinessRef, Purpose string
	From, To                               time.Time
	Limit                                  int
}
