package remote

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// memOutbound is an outbound log that, like the node's, refuses appends on an ended context.
type memOutbound struct {
	mu      sync.Mutex
	entries []schemas.OutboundEntry
}

func (m *memOutbound) AppendOutbound(ctx context.Context, l store.Leaf) (store.Appended, error) {
	if err := ctx.Err(); err != nil {
		return store.Appended{}, err
	}
	var e schemas.OutboundEntry
	if err := json.Unmarshal(l.Entry, &e); err != nil {
		return store.Appended{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	return store.Appended{Index: uint64(len(m.entries) - 1)}, nil
}

// interruptingSender ends the request's context while it is in flight, as Ctrl-C does.
type interruptingSender struct{ interrupt context.CancelFunc }

func (s interruptingSender) SendRaw(ctx context.Context, member, path string, body []byte) (int, []byte, error) {
	s.interrupt()
	return 0, nil, ctx.Err()
}

// TestInterruptedRequestRecorded: a request whose context ends in flight is recorded in the
// outbound log as failed, and fails with peer_unavailable only.
func TestInterruptedRequestRecorded(t *testing.T) {
	nk, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	log := &memOutbound{}
	c := &Client{ID: "bank-a", Keys: nk, Sender: interruptingSender{interrupt}, Log: log}
	_, err = c.Cancel(ctx, "tax-dept", "job-1")
	if e, ok := err.(*schemas.Error); !ok || e.Code != schemas.CodePeerUnavailable {
		t.Fatalf("error %v, want peer_unavailable alone", err)
	}
	if len(log.entries) != 2 || log.entries[0].Stage != schemas.OutboundSent || log.entries[1].Stage != schemas.OutboundFailed ||
		log.entries[1].Code != schemas.CodePeerUnavailable || log.entries[1].RequestID != log.entries[0].RequestID {
		t.Fatalf("outbound entries %+v", log.entries)
	}
}
