package feeds

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// ErrBadBatch is returned when a batch opens and verifies but does not
// answer this pull: another issuer, audience, request, feed, or a range that
// does not start at the cursor or holds changes outside it.
var ErrBadBatch = errors.New("feeds: batch does not answer the pull")

// Poster sends a body to a member's API over pinned mutual TLS and returns
// the status and body (peer.Client.SendRaw).
type Poster interface {
	SendRaw(ctx context.Context, member, path string, body []byte) (int, []byte, error)
}

// Cursors is the subscriber's side of the store (node/store).
type Cursors interface {
	FeedCursor(ctx context.Context, provider, feed string) (uint64, error)
	ApplyFeed(ctx context.Context, b store.FeedBatch, check store.RecordCheck) (bool, error)
}

// Validator checks a record against its category schema
// (*schemas.CategoryValidator).
type Validator interface {
	Validate(category string, data []byte) error
}

// Subscriber pulls feeds as this node.
type Subscriber struct {
	ID         string
	Keys       *keys.NodeKeys
	Registries gate.Registries
	Poster     Poster
	Store      Cursors
	Validator  Validator
	Limit      int              // changes per batch; 0 means the provider's maximum
	Clock      func() time.Time // default time.Now
	// Check, if set, is called for each record inside the apply
	// transaction after validation; an error rolls the batch back. Tests
	// use it to crash a subscriber part-way through a batch.
	Check store.RecordCheck
}

// Pulled is the outcome of one pull.
type Pulled struct {
	From, To uint64
	Records  int  // records upserted
	Removed  int  // records withdrawn by the provider, deleted here
	Applied  bool // false if the batch had been applied before
	More     bool
}

func (s *Subscriber) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Pull fetches and applies one batch of provider's feed after this node's
// cursor.
func (s *Subscriber) Pull(ctx context.Context, provider, feed string) (Pulled, error) {
	cursor, err := s.Store.FeedCursor(ctx, provider, feed)
	if err != nil {
		return Pulled{}, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	req := Request{Issuer: s.ID, Audience: provider, IssuedAt: s.now().Unix(), ID: hex.EncodeToString(id),
		Feed: feed, After: cursor, Limit: s.Limit}
	payload, err := json.Marshal(req)
	if err != nil {
		return Pulled{}, err
	}
	tok, err := jose.Sign(s.Keys.Signer, s.Keys.SigningKID, TypRequest, payload)
	if err != nil {
		return Pulled{}, schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable")
	}
	status, body, err := s.Poster.SendRaw(ctx, provider, strings.TrimPrefix(Route, "POST "), tok)
	if err != nil {
		return Pulled{}, err
	}
	if status != http.StatusOK {
		var eb schemas.ErrorBody
		if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
			return Pulled{}, schemas.Errorf(eb.Error.Code, "provider %s: %s", provider, eb.Error.Message)
		}
		return Pulled{}, schemas.Errorf(schemas.CodePeerBadResponse, "provider %s answered status %d", provider, status)
	}
	b, err := s.Open(body, provider, req)
	if err != nil {
		return Pulled{}, schemas.Wrap(schemas.CodePeerBadResponse, err, "feed batch refused")
	}
	return s.Apply(ctx, provider, b)
}

// Open decrypts, verifies and checks a sealed batch against the pull req
// sent to provider.
func (s *Subscriber) Open(sealed []byte, provider string, req Request) (*Batch, error) {
	reg, err := s.Registries.Snapshot(s.now())
	if err != nil {
		return nil, err
	}
	payload, err := Open(sealed, s.Keys.Encryption, func(kid string) (ed25519.PublicKey, bool) {
		return reg.SigningKey(provider, kid)
	})
	if err != nil {
		return nil, err
	}
	var b Batch
	if err := decodeStrict(payload, &b); err != nil {
		return nil, err
	}
	switch {
	case b.Issuer != provider, b.Audience != s.ID, b.RequestID != req.ID, b.Feed != req.Feed:
		return nil, fmt.Errorf("%w: issuer, audience, request id or feed", ErrBadBatch)
	case b.From != req.After || b.To < b.From:
		return nil, fmt.Errorf("%w: range", ErrBadBatch)
	}
	last := b.From
	for _, it := range b.Items {
		if it.Seq <= last || it.Seq > b.To || it.Subject == "" || it.ID == "" {
			return nil, fmt.Errorf("%w: item out of order or outside the range", ErrBadBatch)
		}
		if it.Withdrawn != (len(it.Data) == 0) {
			return nil, fmt.Errorf("%w: an item has data if and only if it is not withdrawn", ErrBadBatch)
		}
		last = it.Seq
	}
	return &b, nil
}

// Apply validates every record of b and applies the batch and the new
// cursor in one transaction. Record ids are prefixed with the provider id.
func (s *Subscriber) Apply(ctx context.Context, provider string, b *Batch) (Pulled, error) {
	fb := store.FeedBatch{Provider: provider, Feed: b.Feed, From: b.From, To: b.To}
	for _, it := range b.Items {
		if it.Withdrawn {
			fb.Withdrawn = append(fb.Withdrawn, store.Key{Subject: it.Subject, Category: b.Feed, ID: provider + "/" + it.ID})
			continue
		}
		fb.Records = append(fb.Records, records.Record{Subject: it.Subject, Category: b.Feed, ID: provider + "/" + it.ID,
			Data: it.Data, UpdatedAt: time.Unix(0, it.UpdatedAt).UTC()})
	}
	applied, err := s.Store.ApplyFeed(ctx, fb, func(i int, r records.Record) error {
		if s.Validator != nil {
			if err := s.Validator.Validate(r.Category, r.Data); err != nil {
				return err
			}
		}
		if s.Check != nil {
			return s.Check(i, r)
		}
		return nil
	})
	if err != nil {
		return Pulled{}, err
	}
	return Pulled{From: b.From, To: b.To, Records: len(fb.Records), Removed: len(fb.Withdrawn), Applied: applied, More: b.More}, nil
}

// Sync pulls until the provider has nothing more, returning the records
// applied.
func (s *Subscriber) Sync(ctx context.Context, provider, feed string) (int, error) {
	total := 0
	for {
		p, err := s.Pull(ctx, provider, feed)
		if err != nil {
			return total, err
		}
		total += p.Records
		if !p.More {
			return total, nil
		}
	}
}
