package consent

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/uscc"
)

// Registrars answers which registry members may certify subjects and with which keys.
type Registrars interface {
	// RegistrarKey returns the signing key `kid` of member `id` if that member holds the "registrar" role.
	RegistrarKey(memberID, kid string) (ed25519.PublicKey, bool)
	// SubjectCertRevoked reports whether registrar revoked the subject
	// certificate certID (a lost or stolen key): its consents stop working.
	SubjectCertRevoked(registrar, certID string) bool
}

// SubjectCert is a subject certificate: a registrar's binding of a subject id
// to the subject's Ed25519 key. One returned by VerifySubjectCert has been
// verified; Key is the key in Claims.Confirmation.
type SubjectCert struct {
	Claims schemas.SubjectCertClaims
	Key    ed25519.PublicKey
}

// KeyID is the thumbprint of the certified subject key, the "kid" of every
// token the subject signs.
func (c *SubjectCert) KeyID() string { return keys.SigningKID(c.Key) }

// LogValue logs the certificate id, its registrar and the subject key id, never
// the subject id.
func (c *SubjectCert) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("cert_id", c.Claims.ID),
		slog.String("registrar", c.Claims.Issuer),
		slog.String("subject_kid", c.KeyID()),
	)
}

// GenerateSubjectKey makes a fresh Ed25519 subject key. Its file format is the
// node's signing-key format, PKCS #8 PEM: store it with keys.MarshalSigningKey
// and keys.WritePrivateFile, read it with keys.LoadSigningKey.
func GenerateSubjectKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	return priv, err
}

// personPrefix starts every natural person's subject id, "person:<id>".
const personPrefix = "person:"

// canonicalSubject checks that subject is a well-formed id of subjectType and
// returns its canonical form: the normalised USCC of an enterprise,
// "person:<id>" unchanged for a natural person.
func canonicalSubject(subject, subjectType string) (string, error) {
	switch subjectType {
	case schemas.SubjectEnterprise:
		return uscc.Normalize(subject)
	case schemas.SubjectPerson:
		id, ok := strings.CutPrefix(subject, personPrefix)
		if !ok || id == "" || !validName(subject) {
			return "", errors.New(`person id is not "person:<id>"`)
		}
		return subject, nil
	default:
		return "", errors.New("unknown subject type")
	}
}

// IssueSubjectCert is run by a registrar: it certifies that subjectPub is the
// key of subject (of subjectType, schemas.SubjectEnterprise or SubjectPerson)
// for validity from now. An enterprise id is normalised (uscc.Normalize)
// before it is certified. kid must be the thumbprint of the registrar's key,
// as published in the registry.
func IssueSubjectCert(registrar crypto.Signer, registrarID, kid string, subject, subjectType string, subjectPub ed25519.PublicKey, validity time.Duration, now time.Time) ([]byte, error) {
	if registrar == nil {
		return nil, invalidf("no registrar key")
	}
	regPub, ok := registrar.Public().(ed25519.PublicKey)
	if !ok {
		return nil, invalidf("registrar key is not Ed25519")
	}
	if kid != keys.SigningKID(regPub) {
		return nil, invalidf("kid is not the registrar key's thumbprint")
	}
	if !validName(registrarID) {
		return nil, invalidf("bad registrar id")
	}
	subject, err := canonicalSubject(subject, subjectType)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	if len(subjectPub) != ed25519.PublicKeySize {
		return nil, invalidf("subject key is not an Ed25519 public key")
	}
	if validity < time.Second {
		return nil, invalidf("validity under one second")
	}
	iat := now.Unix()
	exp := iat + int64(validity/time.Second)
	if !validUnix(iat) || !validUnix(exp) || exp < iat {
		return nil, invalidf("validity out of range")
	}
	jwk, err := json.Marshal(keys.SigningJWK(subjectPub))
	if err != nil {
		return nil, err
	}
	jti, err := newJTI()
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(schemas.SubjectCertClaims{
		ID:           jti,
		Issuer:       registrarID,
		Subject:      subject,
		SubjectType:  subjectType,
		IssuedAt:     iat,
		Expiry:       exp,
		Confirmation: schemas.Confirmation{JWK: jwk},
	})
	if err != nil {
		return nil, err
	}
	return jose.Sign(registrar, kid, schemas.TypSubjectCert, payload)
}

// VerifySubjectCert checks that tok is a subject certificate signed by a
// registrar's registered key, not revoked by that registrar, valid at now within skew, binding a well-formed subject id
// to an Ed25519 key. Every failure has code subject_cert_invalid.
func VerifySubjectCert(tok []byte, reg Registrars, now time.Time, skew time.Duration) (*SubjectCert, error) {
	skew = nonNegative(skew)
	fail := func(err error, msg string) error { return schemas.Wrap(schemas.CodeSubjectCertInvalid, err, msg) }
	if reg == nil {
		return nil, fail(nil, "no registry to verify the subject certificate")
	}
	if len(tok) > MaxTokenSize {
		return nil, fail(nil, "subject certificate too large")
	}
	// The claims are read before the signature is checked only to find the
	// registrar's key; they are returned only once the signature verifies.
	cert, kid, err := decodeSubjectCert(tok)
	if err != nil {
		return nil, fail(err, "malformed subject certificate")
	}
	regKey, ok := reg.RegistrarKey(cert.Claims.Issuer, kid)
	if !ok || keys.SigningKID(regKey) != kid {
		return nil, fail(nil, "subject certificate not issued by a registered registrar key")
	}
	if _, _, err := jose.Verify(tok, schemas.TypSubjectCert, regKey); err != nil {
		return nil, fail(err, "subject certificate signature does not verify")
	}
	if reg.SubjectCertRevoked(cert.Claims.Issuer, cert.Claims.ID) {
		return nil, fail(nil, "subject certificate revoked by its registrar")
	}
	if expired(cert.Claims.Expiry, now, skew) {
		return nil, fail(nil, "subject certificate expired")
	}
	if inFuture(cert.Claims.IssuedAt, now, skew) {
		return nil, fail(nil, "subject certificate issued in the future")
	}
	return cert, nil
}

// decodeSubjectCert parses a subject certificate and checks its shape without
// authenticating it, returning the certificate and its signing kid. Grant and
// the other signing functions use it on the subject's own certificate.
func decodeSubjectCert(tok []byte) (*SubjectCert, string, error) {
	h, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, "", err
	}
	if h.Type != schemas.TypSubjectCert {
		return nil, "", jose.ErrType
	}
	payload, err := payloadOf(tok)
	if err != nil {
		return nil, "", err
	}
	var c schemas.SubjectCertClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, "", err
	}
	switch {
	case !validName(c.ID):
		return nil, "", errors.New("bad jti")
	case !validName(c.Issuer):
		return nil, "", errors.New("bad iss")
	case !validUnix(c.IssuedAt) || !validUnix(c.Expiry) || c.Expiry <= c.IssuedAt:
		return nil, "", errors.New("bad iat or exp")
	}
	canon, err := canonicalSubject(c.Subject, c.SubjectType)
	if err != nil {
		return nil, "", err
	}
	if canon != c.Subject {
		return nil, "", errors.New("subject id not in canonical form")
	}
	key, _, err := keys.ParseSigningJWK(c.Confirmation.JWK)
	if err != nil {
		return nil, "", err
	}
	return &SubjectCert{Claims: c, Key: key}, h.KeyID, nil
}
