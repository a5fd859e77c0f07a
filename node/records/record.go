// Package records defines the provider's credit records and imports them from
// JSON Lines or CSV files, validating each line against its category's JSON
// Schema (schemas/categories).
package records

import (
	"encoding/json"
	"time"
)

// Record is one credit record held by a provider: the data of one category
// about one subject. Data is a JSON object valid against the category's schema.
type Record struct {
	Subject  string          `json:"subject"`  // normalised USCC or person id
	Category string          `json:"category"` // catalogue category name
	ID       string          `json:"id"`       // provider's record id, unique per (subject, category)
	Data     json.RawMessage `json:"data"`
	// UpdatedAt is when the provider last changed the record.
	UpdatedAt time.Time `json:"updated_at"`
}
