package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// SpendPrivacyBudget is SQLite.SpendPrivacyBudget; a transaction-scoped advisory lock on the
// requester serialises concurrent spends.
func (s *Postgres) SpendPrivacyBudget(ctx context.Context, requester string, cost []byte, check func(prior [][]byte) error, now time.Time) error {
	return s.inTx(ctx, "spending privacy budget", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aggregate_spends:' || $1, 0))`, requester); err != nil {
			return unavailable("locking privacy budget", err)
		}
		rows, err := tx.Query(ctx, `SELECT cost FROM aggregate_spends WHERE requester = $1 ORDER BY seq`, requester)
		if err != nil {
			return unavailable("reading privacy budget", err)
		}
		var prior [][]byte
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return unavailable("reading privacy budget", err)
			}
			prior = append(prior, []byte(c))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return unavailable("reading privacy budget", err)
		}
		if err := check(prior); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO aggregate_spends (requester, cost, spent_at) VALUES ($1, $2, $3)`,
			requester, string(cost), now.UnixNano()); err != nil {
			return unavailable("spending privacy budget", err)
		}
		return nil
	})
}

// AggregateQuerySets returns the query sets answered on dataset, each sorted.
func (s *Postgres) AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT members FROM aggregate_query_sets WHERE dataset = $1 ORDER BY created_at, digest`, dataset)
	if err != nil {
		return nil, unavailable("reading query sets", err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, unavailable("reading query sets", err)
		}
		set, err := decodeQuerySet(m)
		if err != nil {
			return nil, err
		}
		out = append(out, set)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("reading query sets", err)
	}
	return out, nil
}

// AddAggregateQuerySet records a query set answered on dataset; recording the same set again
// is a no-op.
func (s *Postgres) AddAggregateQuerySet(ctx context.Context, dataset string, members []string, now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO aggregate_query_sets (dataset, digest, members, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (dataset, digest) DO NOTHING`, dataset, digest, m, now.UnixNano()); err != nil {
		return unavailable("recording query set", err)
	}
	return nil
}
