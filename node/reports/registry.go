package reports

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/creditexchange/node/node/registry"
)

// VerifyOffline checks a report against a signed registry token and the
// federation authority's key, as `creditnode report verify` does, with no
// network access.
//
// The registry must verify under the authority and be in force either now or
// at the report's issue time: a report outlives the registry it was built
// under, and the keys that signed it were registered when they signed. The
// report's own validity is always judged at now.
func VerifyOffline(tok, registryTok []byte, authority ed25519.PublicKey, now time.Time, negative Negative) (*Report, *registry.Registry, error) {
	reg, err := registry.Verify(registryTok, authority, now)
	if errors.Is(err, registry.ErrExpired) || errors.Is(err, registry.ErrNotYetValid) {
		if iat, ok := unverifiedIssuedAt(tok); ok {
			reg, err = registry.Verify(registryTok, authority, iat)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reports: registry: %w", err)
	}
	rep, err := Verify(tok, reg, now, negative)
	if err != nil {
		return nil, nil, err
	}
	return rep, reg, nil
}

// unverifiedIssuedAt reads "iat" only to choose the time at which the
// registry is checked; the report's signature is checked afterwards.
func unverifiedIssuedAt(tok []byte) (time.Time, bool) {
	parts := strings.Split(strings.TrimSpace(string(tok)), ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var head struct {
		IssuedAt int64 `json:"iat"`
	}
	if json.Unmarshal(payload, &head) != nil || head.IssuedAt <= 0 {
		return time.Time{}, false
	}
	return time.Unix(head.IssuedAt, 0), true
}
