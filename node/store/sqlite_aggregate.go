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
		rows, err := tx.QueryContext(ctx, `SELECT cost FROM aggregate_spends WHERE requester = ? ORDER BY seq`, requester)
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO aggregate_spends (requester, cost, spent_at) VALUES (?, ?, ?)`,
			requester, string(cost), now.UnixNano()); err != nil {
			return unavailable("spending privacy budget", err)
		}
		return nil
	})
}

// AggregateQuerySets returns the query sets answered on dataset, each sorted.
func (s *SQLite) AggregateQuerySets(ctx context.Context, dataset string) ([][]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT members FROM aggregate_query_sets WHERE dataset = ? ORDER BY created_at, digest`, dataset)
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
func (s *SQLite) AddAggregateQuerySet(ctx context.Context, dataset string, members []string, now time.Time) error {
	m, digest, err := querySetKey(members)
	if err != nil {
		return err
	}
	return s.inWriteTx(ctx, "recording query set", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aggregate_query_sets (dataset, digest, members, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (dataset, digest) DO NOTHING`, dataset, digest, m, now.UnixNano()); err != nil {
			return unavailable("recording query set", err)
		}
		return nil
	})
}
