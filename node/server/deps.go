// Package server is the provider side of a node: the mutual-TLS member API
// that answers credit queries, and the public API where subjects read their
// inquiry logs and revoke consents.
//
// A query is checked in a fixed order, each check with its own wire code:
// the signature against the registry key of the TLS peer (bad_signature,
// identity_mismatch, wrong_audience), issued-at within the skew window
// (clock_skew), the request id never seen (replay), the consent (consent_*),
// then the OPA policy. Every inquiry, allowed or denied, is appended durably
// to the inquiry log before any response leaves; if the append fails the
// request fails closed with log_unavailable and nothing is sent.
package server

import (
	"context"

	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/node/store"
)

// RegistryView is one consistent snapshot of the federation registry.
type RegistryView = gate.RegistryView

// Registries yields the registry in force (gate.Registries).
type Registries = gate.Registries

// Store is what the provider needs of the node's store.
type Store interface {
	Records(ctx context.Context, subject string, categories []string) ([]records.Record, error)
	RequestSeen(ctx context.Context, requester, requestID string) (bool, error)
	ConsentUses(ctx context.Context, subject, consentID string) (int, error)
	ConsentUsedElsewhere(ctx context.Context, subject, consentID string) (bool, error)
	Revoked(ctx context.Context, subject, consentID string) (bool, error)
	Revoke(ctx context.Context, r store.Revocation) error
	CommitInquiry(ctx context.Context, c store.Commit) (store.Appended, error)
	AppendInquiry(ctx context.Context, l store.Leaf) (store.Appended, error)
	SubjectInquiryPage(ctx context.Context, subject string, from uint64, limit int) ([]store.StoredLeaf, error)
	SubjectInquiryIndexes(ctx context.Context, subject string) ([]uint64, error)
	Ping(ctx context.Context) error
}

// Decider evaluates the policy.
type Decider = gate.Decider
