package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Aggregate statistics with differential privacy (node/joint/aggregate) keep two things here:
// every privacy-budget spend per requester (aggregate_spends) and the query sets answered per
// dataset (aggregate_query_sets). RecordAggregateAnswer decides a new answer on both and
// records it in one transaction that excludes every other one on the same dataset or
// requester, from this process or any other sharing the database; SpendPrivacyBudget,
// AggregateQuerySets and AddAggregateQuerySet are the separate steps, for callers that
// serialise the check themselves.

// querySetKey sorts and de-duplicates members and returns them as JSON with their digest.
func querySetKey(members []string) (string, string, error) {
	if len(members) == 0 {
		return "", "", fmt.Errorf("%w: empty query set", ErrInvalid)
	}
	m := slices.Clone(members)
	slices.Sort(m)
	m = slices.Compact(m)
	b, err := json.Marshal(m)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:]), nil
}

func decodeQuerySet(s string) ([]string, error) {
	var m []string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("store: aggregate query set: %w", err)
	}
	return m, nil
}

// querySets reads the query sets answered on dataset.
func querySets(ctx context.Context, c conn, dataset string) ([][]string, error) {
	rows, err := c.query(ctx, `SELECT members FROM aggregate_query_sets WHERE dataset = ? ORDER BY created_at, digest`, dataset)
	return collect(rows, err, "reading query sets", func(row rowScanner) ([]string, error) {
		var m string
		if err := row.Scan(&m); err != nil {
			return nil, err
		}
		return decodeQuerySet(m)
	})
}

// spends reads requester's privacy-budget spends, oldest first.
func spends(ctx context.Context, c conn, requester string) ([][]byte, error) {
	rows, err := c.query(ctx, `SELECT cost FROM aggregate_spends WHERE requester = ? ORDER BY seq`, requester)
	return collect(rows, err, "reading privacy budget", func(row rowScanner) ([]byte, error) {
		var c string
		err := row.Scan(&c)
		return []byte(c), err
	})
}

func addSpend(ctx context.Context, c conn, requester string, cost []byte, now time.Time) error {
	if _, err := c.exec(ctx, `INSERT INTO aggregate_spends (requester, cost, spent_at) VALUES (?, ?, ?)`,
		requester, string(cost), now.UnixNano()); err != nil {
		return unavailable("spending privacy budget", err)
	}
	return nil
}

func addQuerySet(ctx context.Context, c conn, dataset, digest, members string, now time.Time) error {
	if _, err := c.exec(ctx, `INSERT INTO aggregate_query_sets (dataset, digest, members, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (dataset, digest) DO NOTHING`, dataset, digest, members, now.UnixNano()); err != nil {
		return unavailable("recording query set", err)
	}
	return nil
}

// The PostgreSQL locks of the aggregate answers, transaction-scoped
// advisory locks held across every process on the database until commit or
// rollback; under READ COMMITTED each query after them sees what earlier
// holders committed. SQLite needs none: its one write transaction at a time
// excludes every other writer on the file, in this process or another.
const (
	querySetsLockSQL = `SELECT pg_advisory_xact_lock(hashtextextended('aggregate_query_sets:' || ?, 0))`
	spendsLockSQL    = `SELECT pg_advisory_xact_lock(hashtextextended('aggregate_spends:' || ?, 0))`
)

// SpendPrivacyBudget records one privacy-budget spend of requester (cost, opaque JSON) if check,
// given every earlier spend of the requester in order, accepts it; check's error is returned
// unchanged and nothing is recorded. The read, the check and the insert are one write
// transaction holding the requester's lock, so concurrent spends cannot both pass on the same
// remainder.
func (s *ops) SpendPrivacyBudget(ctx context.Context, requester string, cost []byte, check func(prior [][]byte) error, now time.Time) error {
	return s.d.transact(ctx, "spending privacy budget", func(tx conn) error {
		if err := s.d.serialise(ctx, tx, "locking privacy budget", spendsLockSQL, requester); err != nil {
			return err
		}
		prior, err := spends(ctx, tx, requester)
		if err != nil {
			return err
		}
		if err := check(prior); err != nil {
			return err
		}
		return addSpend(ctx, tx, requester, cost, now)
	})
}

// AggregateQuerySets returns the query sets answered on dataset, each sorted.
func (s *ops) AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error) {
	return querySets(ctx, s.d.reader(), dataset)
}

// AddAggregateQuerySet records a query set answered on dataset; recording the same set again
// is a no-op.
func (s *ops) AddAggregateQuerySet(ctx context.Context, dataset string, members []string, now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	return addQuerySet(ctx, s.d.writer(), dataset, digest, m, now)
}

// RecordAggregateAnswer records an aggregate answer on dataset for requester over members if
// decide accepts it. decide is given the query sets answered on dataset (each sorted, by any
// requester, oldest first) and requester's earlier spends (opaque JSON, oldest first); the cost
// it returns becomes a spend of requester, and members a query set of dataset (the same set
// again is not a second row). decide's error is returned unchanged and nothing is recorded.
// The reads, decide and the inserts are one write transaction. On PostgreSQL it takes two
// locks, always in this order: the dataset's, which every RecordAggregateAnswer on the dataset
// takes, so that no two decide on the same history; then the requester's, which
// SpendPrivacyBudget takes too, so that no two spends decide on the same remainder.
func (s *ops) RecordAggregateAnswer(ctx context.Context, dataset, requester string, members []string,
	decide func(querySets [][]string, spends [][]byte) (cost []byte, err error), now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	return s.d.transact(ctx, "recording aggregate answer", func(tx conn) error {
		if err := s.d.serialise(ctx, tx, "locking query sets", querySetsLockSQL, dataset); err != nil {
			return err
		}
		if err := s.d.serialise(ctx, tx, "locking privacy budget", spendsLockSQL, requester); err != nil {
			return err
		}
		sets, err := querySets(ctx, tx, dataset)
		if err != nil {
			return err
		}
		prior, err := spends(ctx, tx, requester)
		if err != nil {
			return err
		}
		cost, err := decide(sets, prior)
		if err != nil {
			return err
		}
		if err := addSpend(ctx, tx, requester, cost, now); err != nil {
			return err
		}
		return addQuerySet(ctx, tx, dataset, digest, m, now)
	})
}
