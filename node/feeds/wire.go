package feeds

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/creditexchange/node/schemas"
)

// Wire constants.
const (
	// Route is the member-API route of feed pulls (server.Options.MemberRoutes).
	Route = "POST /v1/feed"
	// TypRequest is the JWS type of a pull: subscriber → provider.
	TypRequest = "cx-feed-request+jws"
	// TypBatch is the JWS type of a batch: provider → subscriber, inside age.
	TypBatch = "cx-feed-batch+jws"
	// ContentTypeAge is the media type of an age-encrypted batch.
	ContentTypeAge = "application/vnd.age"
	// Purpose is the statutory purpose every feed delivery is decided under.
	Purpose = "administrative_supervision"
	// KindDelivery is the inquiry-log kind of a feed delivery.
	KindDelivery = "feed_delivery"

	// MaxBatch bounds the changes in one batch.
	MaxBatch = 500
	// MaxBatchBytes bounds a batch's decrypted size.
	MaxBatchBytes = 16 << 20
	// maxRequestID bounds a request id.
	maxRequestID = 64
	// maxRequestBytes bounds a pull's body.
	maxRequestBytes = 64 << 10
)

// Request is a subscriber's pull.
type Request struct {
	Issuer   string `json:"iss"` // subscriber node id
	Audience string `json:"aud"` // provider node id
	IssuedAt int64  `json:"iat"`
	ID       string `json:"jti"`
	Feed     string `json:"feed"`  // the record category
	After    uint64 `json:"after"` // the subscriber's cursor
	Limit    int    `json:"limit"` // at most this many changes (0: MaxBatch)
}

// Batch is the provider's answer: the changes with From < seq ≤ To. To is
// the last change included, or From when there is none. More says the
// provider has changes beyond To.
type Batch struct {
	Issuer         string `json:"iss"`
	Audience       string `json:"aud"`
	IssuedAt       int64  `json:"iat"`
	RequestID      string `json:"request_id"`
	Feed           string `json:"feed"`
	From           uint64 `json:"from"`
	To             uint64 `json:"to"`
	More           bool   `json:"more"`
	PolicyRevision string `json:"policy_revision"`
	Items          []Item `json:"items"`
}

// Item is one changed record, projected to the fields the policy allows.
// A Withdrawn item has no data: the record may no longer be shared (an
// objection removed it, it is past the 5-year rule, or its repair was
// approved and the purpose withholds repaired records), and the subscriber
// deletes its copy. Disputed marks a record under an open objection.
type Item struct {
	Seq       uint64          `json:"seq"`
	Subject   string          `json:"subject"`
	ID        string          `json:"id"`
	Data      json.RawMessage `json:"data,omitempty"`
	Withdrawn bool            `json:"withdrawn,omitempty"`
	Disputed  bool            `json:"disputed,omitempty"`
	UpdatedAt int64           `json:"updated_at"` // Unix nanoseconds at the provider
	LogIndex  uint64          `json:"log_index"`  // the provider's inquiry-log entry for this subject
}

// ErrMalformed is returned for a request or batch that does not decode
// strictly into its type.
var ErrMalformed = errors.New("feeds: malformed message")

// decodeStrict decodes a batch with schemas.DecodeStrict: no unknown,
// duplicate or case-variant member names, no trailing data.
func decodeStrict(b []byte, v any) error {
	if err := schemas.DecodeStrict(b, v); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
