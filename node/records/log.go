package records

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
)

// LogValue logs a record by its ids and a digest of its data, never the data
// itself.
func (r Record) LogValue() slog.Value {
	sum := sha256.Sum256(r.Data)
	return slog.GroupValue(
		slog.String("subject", r.Subject),
		slog.String("category", r.Category),
		slog.String("id", r.ID),
		slog.String("data_sha256", hex.EncodeToString(sum[:])),
	)
}

var _ slog.LogValuer = Record{}
