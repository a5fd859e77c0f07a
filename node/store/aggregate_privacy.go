package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
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

// textRows is what scanQuerySets and scanSpends need of *sql.Rows and pgx.Rows.
type textRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanTexts reads the one text column of every row; the caller closes rows.
func scanTexts(rows textRows, op string) ([]string, error) {
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, unavailable(op, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(op, err)
	}
	return out, nil
}

// scanQuerySets reads rows of aggregate_query_sets.members.
func scanQuerySets(rows textRows) ([][]string, error) {
	ms, err := scanTexts(rows, "reading query sets")
	if err != nil {
		return nil, err
	}
	var out [][]string
	for _, m := range ms {
		set, err := decodeQuerySet(m)
		if err != nil {
			return nil, err
		}
		out = append(out, set)
	}
	return out, nil
}

// scanSpends reads rows of aggregate_spends.cost.
func scanSpends(rows textRows) ([][]byte, error) {
	cs, err := scanTexts(rows, "reading privacy budget")
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, c := range cs {
		out = append(out, []byte(c))
	}
	return out, nil
}
