package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

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
