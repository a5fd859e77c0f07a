package store

import (
	"errors"
	"fmt"
)

// The two logs share one schema; the table name is always one of these
// constants, never caller input.
const (
	inquiryLog  = "inquiry_log"
	outboundLog = "outbound_log"
)

// The log logic both backends share: argument checks, the outcome of each
// commit of a batch, the consent checks and the leaf scans. Each backend
// keeps its SQL text, how it hands out indexes (SQLite from the rows under
// its single writer, PostgreSQL from the locked log head), its savepoints
// and its transaction.

// isCommitRefusal reports whether err is a per-commit refusal rather than a
// database failure.
func isCommitRefusal(err error) bool {
	return errors.Is(err, ErrReplay) || errors.Is(err, ErrConsentExhausted) || errors.Is(err, ErrConsentRevoked)
}

// validateCommits checks each commit of a CommitBatch, setting the result's
// Err of every invalid one, and counts the valid ones.
func validateCommits(cs []Commit) ([]BatchResult, int) {
	res := make([]BatchResult, len(cs))
	valid := 0
	for i := range cs {
		if res[i].Err = cs[i].validate(); res[i].Err == nil {
			valid++
		}
	}
	return res, valid
}

// settle records in r the outcome of one commit of a batch: a refusal fails
// that commit alone; any other error fails the whole batch and is returned.
func settle(r *BatchResult, a Appended, err error) error {
	switch {
	case err == nil:
		r.Appended = a
	case isCommitRefusal(err):
		r.Err = err
	default:
		return err
	}
	return nil
}

// checkConsentUsable reads row, whether the consent's subject revoked it,
// and refuses a revoked consent (ErrConsentRevoked) or one allowing no use
// (ErrConsentExhausted).
func checkConsentUsable(row rowScanner, maxUses int) error {
	var revoked bool
	if err := row.Scan(&revoked); err != nil {
		return unavailable("reading revocations", err)
	}
	if revoked {
		return ErrConsentRevoked
	}
	if maxUses < 1 {
		return ErrConsentExhausted
	}
	return nil
}

// checkLeafRange checks an InquiryLeaves or OutboundLeaves range.
func checkLeafRange(from, to uint64) error {
	if from > to || to > 1<<63-1 {
		return invalid("leaf range [%d, %d)", from, to)
	}
	return nil
}

// readLeaves reads the rows of a leaf query on table (leafColumns).
func readLeaves(rows rowIter, err error, table string) ([]StoredLeaf, error) {
	return collect(rows, err, "reading "+table, scanStoredLeaf)
}

// leafRange checks that a query for [from, to) of table found every leaf.
// Indexes are dense, so fewer rows than asked for means the range runs past
// the end of the log.
func leafRange(out []StoredLeaf, err error, table string, from, to uint64) ([]StoredLeaf, error) {
	if err != nil {
		return nil, err
	}
	if uint64(len(out)) != to-from {
		return nil, fmt.Errorf("%w: %s leaves [%d, %d): log has %d of them", ErrNotFound, table, from, to, len(out))
	}
	return out, nil
}
