package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SpendPrivacyBudget is SQLite.SpendPrivacyBudget; a transaction-scoped advisory lock on the
// requester serialises concurrent spends.
func (s *Postgres) SpendPrivacyBudget(ctx context.Context, requester string, cost []byte, check func(prior [][]byte) error, now time.Time) error {
	return s.inTx(ctx, "spending privacy budget", func(tx pgx.Tx) error {
		if err := pgLockSpends(ctx, tx, requester); err != nil {
			return err
		}
		prior, err := pgSpends(ctx, tx, requester)
		if err != nil {
			return err
		}
		if err := check(prior); err != nil {
			return err
		}
		return pgAddSpend(ctx, tx, requester, cost, now)
	})
}

// AggregateQuerySets returns the query sets answered on dataset, each sorted.
func (s *Postgres) AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error) {
	return pgQuerySets(ctx, s.pool, dataset)
}

// AddAggregateQuerySet records a query set answered on dataset; recording the same set again
// is a no-op.
func (s *Postgres) AddAggregateQuerySet(ctx context.Context, dataset string, members []string, now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	return pgAddQuerySet(ctx, s.pool, dataset, digest, m, now)
}

// RecordAggregateAnswer is SQLite.RecordAggregateAnswer. Its transaction takes two
// transaction-scoped advisory locks, always in this order: the dataset's, which every
// RecordAggregateAnswer on the dataset takes, so that no two decide on the same history; then
// the requester's, which SpendPrivacyBudget takes too, so that no two spends decide on the same
// remainder. The locks hold across every process on the database until commit or rollback;
// under READ COMMITTED each query after them sees what earlier holders committed.
func (s *Postgres) RecordAggregateAnswer(ctx context.Context, dataset, requester string, members []string,
	decide func(querySets [][]string, spends [][]byte) (cost []byte, err error), now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "recording aggregate answer", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aggregate_query_sets:' || $1, 0))`, dataset); err != nil {
			return unavailable("locking query sets", err)
		}
		if err := pgLockSpends(ctx, tx, requester); err != nil {
			return err
		}
		sets, err := pgQuerySets(ctx, tx, dataset)
		if err != nil {
			return err
		}
		prior, err := pgSpends(ctx, tx, requester)
		if err != nil {
			return err
		}
		cost, err := decide(sets, prior)
		if err != nil {
			return err
		}
		if err := pgAddSpend(ctx, tx, requester, cost, now); err != nil {
			return err
		}
		return pgAddQuerySet(ctx, tx, dataset, digest, m, now)
	})
}

// pgQuerier is a pool or a transaction.
type pgQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgExecer is a pool or a transaction.
type pgExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// pgLockSpends takes the requester's privacy-budget lock until the transaction ends.
func pgLockSpends(ctx context.Context, tx pgx.Tx, requester string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aggregate_spends:' || $1, 0))`, requester); err != nil {
		return unavailable("locking privacy budget", err)
	}
	return nil
}

func pgQuerySets(ctx context.Context, q pgQuerier, dataset string) ([][]string, error) {
	rows, err := q.Query(ctx, `SELECT members FROM aggregate_query_sets WHERE dataset = $1 ORDER BY created_at, digest`, dataset)
	if err != nil {
		return nil, unavailable("reading query sets", err)
	}
	defer rows.Close()
	return scanQuerySets(rows)
}

func pgSpends(ctx context.Context, q pgQuerier, requester string) ([][]byte, error) {
	rows, err := q.Query(ctx, `SELECT cost FROM aggregate_spends WHERE requester = $1 ORDER BY seq`, requester)
	if err != nil {
		return nil, unavailable("reading privacy budget", err)
	}
	defer rows.Close()
	return scanSpends(rows)
}

func pgAddSpend(ctx context.Context, tx pgx.Tx, requester string, cost []byte, now time.Time) error {
	if _, err := tx.Exec(ctx, `INSERT INTO aggregate_spends (requester, cost, spent_at) VALUES ($1, $2, $3)`,
		requester, string(cost), now.UnixNano()); err != nil {
		return unavailable("spending privacy budget", err)
	}
	return nil
}

func pgAddQuerySet(ctx context.Context, e pgExecer, dataset, digest, members string, now time.Time) error {
	if _, err := e.Exec(ctx, `INSERT INTO aggregate_query_sets (dataset, digest, members, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (dataset, digest) DO NOTHING`, dataset, digest, members, now.UnixNano()); err != nil {
		return unavailable("recording query set", err)
	}
	return nil
}
