package store

import (
	"context"
	"database/sql"
	"time"
)

// SpendPrivacyBudget records one privacy-budget spend of requester (cost, opaque JSON) if check,
// given every earlier spend of the requester in order, accepts it; check's error is returned
// unchanged and nothing is recorded. The read, the check and the insert are one write
// transaction, so concurrent spends cannot both pass on the same remainder.
func (s *SQLite) SpendPrivacyBudget(ctx context.Context, requester string, cost []byte, check func(prior [][]byte) error, now time.Time) error {
	return s.inWriteTx(ctx, "spending privacy budget", func(tx *sql.Tx) error {
		prior, err := sqliteSpends(ctx, tx, requester)
		if err != nil {
			return err
		}
		if err := check(prior); err != nil {
			return err
		}
		return sqliteAddSpend(ctx, tx, requester, cost, now)
	})
}

// AggregateQuerySets returns the query sets answered on dataset, each sorted.
func (s *SQLite) AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error) {
	return sqliteQuerySets(ctx, s.r, dataset)
}

// AddAggregateQuerySet records a query set answered on dataset; recording the same set again
// is a no-op.
func (s *SQLite) AddAggregateQuerySet(ctx context.Context, dataset string, members []string, now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	return s.inWriteTx(ctx, "recording query set", func(tx *sql.Tx) error {
		return sqliteAddQuerySet(ctx, tx, dataset, digest, m, now)
	})
}

// RecordAggregateAnswer records an aggregate answer on dataset for requester over members if
// decide accepts it. decide is given the query sets answered on dataset (each sorted, by any
// requester, oldest first) and requester's earlier spends (opaque JSON, oldest first); the cost
// it returns becomes a spend of requester, and members a query set of dataset (the same set
// again is not a second row). decide's error is returned unchanged and nothing is recorded.
// The reads, decide and the inserts are one write transaction, begun with BEGIN IMMEDIATE:
// SQLite's one write lock excludes every other writer on the file, in this process or another,
// so no answer can be decided on a history or a budget that another is about to change.
func (s *SQLite) RecordAggregateAnswer(ctx context.Context, dataset, requester string, members []string,
	decide func(querySets [][]string, spends [][]byte) (cost []byte, err error), now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	return s.inWriteTx(ctx, "recording aggregate answer", func(tx *sql.Tx) error {
		sets, err := sqliteQuerySets(ctx, tx, dataset)
		if err != nil {
			return err
		}
		prior, err := sqliteSpends(ctx, tx, requester)
		if err != nil {
			return err
		}
		cost, err := decide(sets, prior)
		if err != nil {
			return err
		}
		if err := sqliteAddSpend(ctx, tx, requester, cost, now); err != nil {
			return err
		}
		return sqliteAddQuerySet(ctx, tx, dataset, digest, m, now)
	})
}

// sqliteQuerier is the read pool or a transaction.
type sqliteQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func sqliteQuerySets(ctx context.Context, q sqliteQuerier, dataset string) ([][]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT members FROM aggregate_query_sets WHERE dataset = ? ORDER BY created_at, digest`, dataset)
	if err != nil {
		return nil, unavailable("reading query sets", err)
	}
	defer rows.Close()
	return scanQuerySets(rows)
}

func sqliteSpends(ctx context.Context, q sqliteQuerier, requester string) ([][]byte, error) {
	rows, err := q.QueryContext(ctx, `SELECT cost FROM aggregate_spends WHERE requester = ? ORDER BY seq`, requester)
	if err != nil {
		return nil, unavailable("reading privacy budget", err)
	}
	defer rows.Close()
	return scanSpends(rows)
}

func sqliteAddSpend(ctx context.Context, tx *sql.Tx, requester string, cost []byte, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO aggregate_spends (requester, cost, spent_at) VALUES (?, ?, ?)`,
		requester, string(cost), now.UnixNano()); err != nil {
		return unavailable("spending privacy budget", err)
	}
	return nil
}

func sqliteAddQuerySet(ctx context.Context, tx *sql.Tx, dataset, digest, members string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO aggregate_query_sets (dataset, digest, members, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (dataset, digest) DO NOTHING`, dataset, digest, members, now.UnixNano()); err != nil {
		return unavailable("recording query set", err)
	}
	return nil
}
