package main

import (
	"context"
	"fmt"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/gate"
	"github.com/creditexchange/node/node/peer"
	"github.com/creditexchange/node/schemas"
)

// The floor of a query: the work no implementation can avoid, measured in
// the same run on the same payloads. At the provider: three signature
// verifications (the query, the consent, the subject certificate), the
// policy decision, a signature and an encryption of the answer; at the
// requester: a signature of the query, a decryption and a verification of
// the answer. Everything else a query costs (TLS, HTTP, the store, the logs,
// JSON) is above the floor; bench prints the ratio.

// floorRounds is how many times each floor is measured (CPU time in this
// process, averaged).
const floorRounds = 300

// queryFloor measures the provider's and the requester's floor per query,
// using bank's keys and policy for both sides (the operations cost the same
// whichever node holds the keys), q's consent and tok, a query signed as
// the load signs them, and answer, the provider's signed answer to it.
func queryFloor(ctx context.Context, bank *node.Node, q peer.Query, levels map[string]string, answer []byte) (provider, requester time.Duration, err error) {
	reg := bank.Registry.Current()
	pub := bank.Keys.SigningPublic()
	encPub := bank.Keys.Encryption.PublicKey()
	tok, err := bank.Client.Sign(q, peer.NewRequestID())
	if err != nil {
		return 0, 0, err
	}
	hdr, err := jose.ParseJWSHeader(answer)
	if err != nil {
		return 0, 0, err
	}
	provPub, ok := reg.SigningKey(q.Provider, hdr.KeyID)
	if !ok {
		return 0, 0, fmt.Errorf("bench: the answer's key is not in the registry")
	}
	payload, _, err := jose.Verify(answer, schemas.TypResponse, provPub)
	if err != nil {
		return 0, 0, err
	}
	sealed, err := jose.Encrypt(answer, encPub, bank.Keys.EncryptionKID, schemas.TypResponse)
	if err != nil {
		return 0, 0, err
	}
	skew := bank.Config.ClockSkew.D()
	providerOps := func() error {
		if _, _, err := jose.Verify(tok, schemas.TypQuery, pub); err != nil {
			return err
		}
		cons, err := consent.VerifyConsentToken([]byte(q.Consent), reg, time.Now(), skew) // the consent and its subject certificate
		if err != nil {
			return err
		}
		in := gate.PolicyInput(reg, bank.Config.ID, gate.Self{ID: q.Provider}, q.Purpose, time.Now())
		in.Subject.ID, in.Subject.Type = q.Subject, schemas.SubjectEnterprise
		gate.AddCategories(&in, q.Categories, levels)
		gate.AddConsent(&in, cons, 1<<20)
		if _, err := bank.Policy.Decide(ctx, in); err != nil {
			return err
		}
		signed, err := jose.Sign(bank.Keys.Signer, bank.Keys.SigningKID, schemas.TypResponse, payload)
		if err != nil {
			return err
		}
		_, err = jose.Encrypt(signed, encPub, bank.Keys.EncryptionKID, schemas.TypResponse)
		return err
	}
	requesterOps := func() error {
		if _, err := bank.Client.Sign(q, peer.NewRequestID()); err != nil {
			return err
		}
		signed, _, err := jose.Decrypt(sealed, bank.Keys.Encryption)
		if err != nil {
			return err
		}
		_, _, err = jose.Verify(signed, schemas.TypResponse, provPub)
		return err
	}
	measure := func(ops func() error) (time.Duration, error) {
		for range 20 { // warm up
			if err := ops(); err != nil {
				return 0, err
			}
		}
		t0, err := selfCPU()
		if err != nil {
			return 0, err
		}
		for range floorRounds {
			if err := ops(); err != nil {
				return 0, err
			}
		}
		t1, err := selfCPU()
		return (t1 - t0) / floorRounds, err
	}
	if provider, err = measure(providerOps); err != nil {
		return 0, 0, fmt.Errorf("bench: provider floor: %w", err)
	}
	if requester, err = measure(requesterOps); err != nil {
		return 0, 0, fmt.Errorf("bench: requester floor: %w", err)
	}
	return provider, requester, nil
}

// floor is a query's floor at each side, printed beside a run's CPU time.
type floor struct{ provider, requester time.Duration }

// printRatio prints the floor and each process's CPU time per query as a
// multiple of it; perQuery is in the order of the load's clocks (provider,
// requester).
func (a *app) printRatio(f floor, perQuery []time.Duration) {
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	sum, fsum := perQuery[0]+perQuery[1], f.provider+f.requester
	fmt.Fprintf(a.out, "floor:     provider %.0f µs (3 verifications, policy, sign, encrypt), requester %.0f µs (sign, decrypt, verify), sum %.0f µs\n",
		us(f.provider), us(f.requester), us(fsum))
	fmt.Fprintf(a.out, "ratio:     provider %.2f×, requester %.2f×, sum %.2f× the floor\n",
		float64(perQuery[0])/float64(f.provider), float64(perQuery[1])/float64(f.requester), float64(sum)/float64(fsum))
}
