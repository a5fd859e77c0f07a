package gate

import (
	"crypto/ecdh"
	"encoding/json"
	"errors"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/node/store"
	"github.com/creditexchange/node/schemas"
)

// CommitRefusal is the wire error of a commit the store refused because of
// the request (replay, consent_exhausted, consent_revoked: the request is
// denied and logged), or nil for any other outcome (success, or a failure
// of the log, which fails closed).
func CommitRefusal(err error) *schemas.Error {
	switch {
	case errors.Is(err, store.ErrReplay):
		return ErrReplay()
	case errors.Is(err, store.ErrConsentExhausted):
		return schemas.Errorf(schemas.CodeConsentExhausted, "consent has no uses left")
	case errors.Is(err, store.ErrConsentRevoked): // revoked while the request was being checked
		return schemas.Errorf(schemas.CodeConsentRevoked, "the subject revoked this consent")
	}
	return nil
}

// SealAnswer encodes an answer v, signs it with this node's key under JOSE
// type typ and encrypts it to the requester's registered key. Its errors
// come after the answer's entry was committed: the caller fails closed.
func SealAnswer(nk *keys.NodeKeys, typ string, v any, recipient *ecdh.PublicKey, recipientKID string) ([]byte, *schemas.Error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "encode answer")
	}
	signed, err := jose.Sign(nk.Signer, nk.SigningKID, typ, payload)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeKeysUnavailable, err, "signing key unavailable")
	}
	sealed, err := jose.Encrypt(signed, recipient, recipientKID, typ)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeInternal, err, "encrypt answer")
	}
	return sealed, nil
}
