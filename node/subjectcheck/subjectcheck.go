// Package subjectcheck verifies what a provider answers a subject reading its
// own inquiry log: the provider's signature over the answer, that the log is
// the subject's own, and that its entries are all of the subject's entries up
// to a signed, witnessed checkpoint (node/subjectlog).
//
// `creditnode subject inquiries --verify` and the portal's WebAssembly
// verifier (cmd/portalverify) both call this package, so a terminal and a
// browser apply one set of rules to one proof format.
package subjectcheck

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/consent"
	"github.com/creditexchange/node/node/inquirylog"
	"github.com/creditexchange/node/node/registry"
	"github.com/creditexchange/node/node/subjectlog"
	"github.com/creditexchange/node/node/tlog"
	"github.com/creditexchange/node/node/witness"
	"github.com/creditexchange/node/schemas"
)

// SigningKeys finds a member's registered signing key by key id (a
// *registry.Registry).
type SigningKeys interface {
	SigningKey(member, kid string) (ed25519.PublicKey, bool)
}

// Open verifies a provider-signed subject log: the signature under a key
// the registry lists for provider, the issuer, and every entry's leaf hash
// recomputed from its salt. Failures are peer_bad_response.
func Open(tok []byte, provider string, reg SigningKeys) (*schemas.SubjectLog, error) {
	payload, err := verifySigned(tok, schemas.TypSubjectLog, provider, reg)
	if err != nil {
		return nil, err
	}
	var out schemas.SubjectLog
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "subject log malformed")
	}
	if out.Issuer != provider {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "subject log issued by %q, not %q", out.Issuer, provider)
	}
	for _, e := range out.Entries {
		if err := inquirylog.VerifyLogged(e); err != nil {
			return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, fmt.Sprintf("entry %d fails its leaf hash", e.Index))
		}
	}
	return &out, nil
}

// OpenRights verifies a provider-signed list of the subject's objections
// and repair applications (an answer to a rights-status request): the
// signature under a key the registry lists for provider, and the issuer.
// Failures are peer_bad_response.
func OpenRights(tok []byte, provider string, reg SigningKeys) (*schemas.SubjectRights, error) {
	payload, err := verifySigned(tok, schemas.TypRightsList, provider, reg)
	if err != nil {
		return nil, err
	}
	var out schemas.SubjectRights
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "rights list malformed")
	}
	if out.Issuer != provider {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "rights list issued by %q, not %q", out.Issuer, provider)
	}
	return &out, nil
}

// OpenReport verifies a provider-signed credit report of the subject (an
// answer to a report request): the signature under a key the registry lists
// for provider, and the issuer. Failures are peer_bad_response.
func OpenReport(tok []byte, provider string, reg SigningKeys) (*schemas.SubjectReport, error) {
	payload, err := verifySigned(tok, schemas.TypSubjectReport, provider, reg)
	if err != nil {
		return nil, err
	}
	var out schemas.SubjectReport
	if err := schemas.DecodeStrict(payload, &out); err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "report malformed")
	}
	if out.Issuer != provider {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "report issued by %q, not %q", out.Issuer, provider)
	}
	return &out, nil
}

// verifySigned checks a provider's signed answer of type typ.
func verifySigned(tok []byte, typ, provider string, reg SigningKeys) ([]byte, error) {
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "answer is not a signed token")
	}
	if reg == nil {
		return nil, errors.New("subjectcheck: no registry to verify the provider's signature")
	}
	pub, ok := reg.SigningKey(provider, hdr.KeyID)
	if !ok {
		return nil, schemas.Errorf(schemas.CodePeerBadResponse, "answer signed by a key not registered to %s", provider)
	}
	payload, _, err := jose.Verify(tok, typ, pub)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodePeerBadResponse, err, "provider signature does not verify")
	}
	return payload, nil
}

// Own checks that log is the log of the subject cert certifies, and that
// cert verifies under a registrar of reg (threats.md 29: a provider must not
// pass off another subject's log as the reader's).
func Own(log *schemas.SubjectLog, cert []byte, reg *registry.Registry, now time.Time) (*consent.SubjectCert, error) {
	sub, err := consent.VerifySubjectCert(cert, reg, now, time.Minute)
	if err != nil {
		return nil, fmt.Errorf("your subject certificate: %w", err)
	}
	if log.Subject != sub.Claims.Subject {
		return nil, fmt.Errorf("the provider answered with the log of %q, not yours", log.Subject)
	}
	return sub, nil
}

// Complete checks that log's entries are all of the subject's entries up to
// the provider's signed checkpoint, cosigned by at least k other members of
// reg (witness.VerifySubjectLog).
func Complete(log *schemas.SubjectLog, reg *registry.Registry, k int) (*subjectlog.Result, error) {
	if k < 0 {
		return nil, errors.New("subjectcheck: the number of witnesses must not be negative")
	}
	return witness.VerifySubjectLog(log, witness.RegistryMembers{Current: func() *registry.Registry { return reg }}, k)
}

// Report is the outcome of Check.
type Report struct {
	Log *schemas.SubjectLog
	// Result is what the completeness check established; nil if it failed.
	Result *subjectlog.Result
	// Incomplete is why the completeness check failed, nil if it passed.
	Incomplete error
}

// Check runs Open, Own and Complete on a provider-signed answer. A failure
// of Open or Own is returned as the error (the answer cannot be shown as
// the subject's); a failure of Complete is Report.Incomplete (the entries
// are shown, marked as not proven complete).
func Check(tok []byte, provider string, reg *registry.Registry, cert []byte, now time.Time, k int) (*Report, error) {
	log, err := Open(tok, provider, reg)
	if err != nil {
		return nil, err
	}
	if _, err := Own(log, cert, reg, now); err != nil {
		return nil, err
	}
	rep := &Report{Log: log}
	res, err := Complete(log, reg, k)
	if err != nil {
		rep.Incomplete = err
		return rep, nil
	}
	rep.Result = res
	return rep, nil
}

// FailedCheck names the check an error of Complete comes from, for a
// reader: "proof", "checkpoint", "witnesses", "subject key", "inclusion" or
// "completeness".
func FailedCheck(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, subjectlog.ErrNoProof):
		return "proof"
	case errors.Is(err, subjectlog.ErrNotWitnessed):
		return "witnesses"
	case errors.Is(err, subjectlog.ErrInclusion):
		return "inclusion"
	case errors.Is(err, subjectlog.ErrIncomplete), errors.Is(err, subjectlog.ErrForeignEntry), errors.Is(err, subjectlog.ErrMapProof):
		return "completeness"
	case errors.Is(err, subjectlog.ErrVRFInvalid):
		return "subject key"
	case errors.Is(err, tlog.ErrUnknownKey), errors.Is(err, tlog.ErrBadSignature), errors.Is(err, tlog.ErrWrongOrigin):
		return "checkpoint"
	}
	return "checkpoint"
}
