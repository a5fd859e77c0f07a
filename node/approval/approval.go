package approval

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/node/records"
	"github.com/creditexchange/node/schemas"
)

// Limits on approvals.
const (
	// MaxTokenSize bounds the token Verify accepts.
	MaxTokenSize = 16 << 10
	// MaxNameLength bounds ids, node ids, purposes and categories.
	MaxNameLength = 256
	// MaxCaseLength bounds a case id, in characters (a case number as the
	// regulator writes it, e.g. 京市监罚〔2025〕第12号).
	MaxCaseLength = 128
	// MaxCategories bounds the categories one approval may name.
	MaxCategories = 32
	// MaxValidity is the longest an approval may be valid (exp - iat).
	MaxValidity = 366 * 24 * time.Hour
)

// RoleRegulator is the registry role whose members may issue approvals
// (registry.RoleRegulator).
const RoleRegulator = "regulator"

// ErrInvalidClaims is returned by Issue when an argument or claim is missing
// or malformed. It is a local error for the regulator, not a wire error.
var ErrInvalidClaims = errors.New("approval: invalid claims")

// Registry is what verification needs of a verified federation registry
// (registry.Registry and the provider's snapshot implement it).
type Registry interface {
	Member(id string) (*schemas.Member, bool)
	SigningKey(memberID, kid string) (ed25519.PublicKey, bool)
}

// Approval is a verified special approval.
type Approval struct {
	Claims schemas.ApprovalClaims
	// Digest is the hex SHA-256 of the token bytes.
	Digest string
}

// LogValue logs the case id, issuer and digest only: whom a case concerns is
// personal data.
func (a *Approval) LogValue() slog.Value {
	return slog.GroupValue(slog.String("case", a.Claims.Case), slog.String("issuer", a.Claims.Issuer),
		slog.String("digest", a.Digest))
}

// Issue signs an approval as the regulator member c.Issuer with signer,
// whose registered key id is kid. From c it keeps Case, Issuer, Subject
// (normalised, as records.NormalizeSubject does), Requester, Purpose,
// Categories and Expiry; it fills ID if empty and sets IssuedAt to now.
// Issue does not know the registry: an issuer without the regulator role
// makes approvals every provider refuses.
func Issue(signer crypto.Signer, kid string, c schemas.ApprovalClaims, now time.Time) ([]byte, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: no signing key", ErrInvalidClaims)
	}
	subject, _, err := records.NormalizeSubject(c.Subject)
	if err != nil {
		return nil, fmt.Errorf("%w: subject: %v", ErrInvalidClaims, err)
	}
	c.Subject = subject
	if c.ID == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		c.ID = hex.EncodeToString(b[:])
	}
	c.IssuedAt = now.Unix()
	if err := validate(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidClaims, err)
	}
	if c.Expiry <= c.IssuedAt {
		return nil, fmt.Errorf("%w: expiry is not in the future", ErrInvalidClaims)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return jose.Sign(signer, kid, schemas.TypApproval, payload)
}

// Verify checks that tok is an approval signed with a registered key of a
// registry member holding the regulator role, valid at now within skew
// (negative skew counts as zero). It does not check what the approval
// covers: see CheckParties and the policy.
func Verify(tok []byte, reg Registry, now time.Time, skew time.Duration) (*Approval, error) {
	skew = max(skew, 0)
	if reg == nil {
		return nil, schemas.Errorf(schemas.CodeApprovalInvalid, "no registry to verify the approval")
	}
	if len(tok) > MaxTokenSize {
		return nil, schemas.Errorf(schemas.CodeApprovalInvalid, "approval token too large")
	}
	h, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeApprovalInvalid, err, "approval is not a compact JWS in the profile")
	}
	if h.Type != schemas.TypApproval {
		return nil, schemas.Wrap(schemas.CodeApprovalInvalid, jose.ErrType, "wrong token type")
	}
	unverified, err := payloadOf(tok)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeApprovalInvalid, err, "approval is not a compact JWS in the profile")
	}
	var issuer struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(unverified, &issuer); err != nil {
		return nil, schemas.Wrap(schemas.CodeApprovalInvalid, err, "approval claims are not a JSON object")
	}
	m, ok := reg.Member(issuer.Issuer)
	if !ok {
		return nil, schemas.Errorf(schemas.CodeApprovalInvalid, "approval issuer is not a registry member")
	}
	pub, ok := reg.SigningKey(m.ID, h.KeyID)
	if !ok {
		return nil, schemas.Errorf(schemas.CodeApprovalInvalid, "kid is not a registered key of the issuer")
	}
	payload, _, err := jose.Verify(tok, schemas.TypApproval, pub)
	if err != nil {
		return nil, schemas.Wrap(schemas.CodeApprovalInvalid, err, "approval signature does not verify")
	}
	var c schemas.ApprovalClaims
	if err := schemas.DecodeStrict(payload, &c); err != nil {
		return nil, schemas.Wrap(schemas.CodeApprovalInvalid, err, "malformed approval claims")
	}
	if err := validate(&c); err != nil {
		return nil, schemas.Wrap(schemas.CodeApprovalInvalid, err, "malformed approval claims")
	}
	if c.Issuer != m.ID { // the key verified is m's: the signed iss must be m
		return nil, schemas.Errorf(schemas.CodeApprovalInvalid, "approval issuer does not match its key")
	}
	if !m.HasRole(RoleRegulator) {
		return nil, schemas.Errorf(schemas.CodeApprovalNotRegulator, "approval issuer does not hold the regulator role")
	}
	if time.Unix(c.IssuedAt, 0).After(now.Add(skew)) {
		return nil, schemas.Errorf(schemas.CodeApprovalNotYetValid, "approval issued in the future")
	}
	if !now.Before(time.Unix(c.Expiry, 0).Add(skew)) {
		return nil, schemas.Errorf(schemas.CodeApprovalExpired, "approval expired")
	}
	sum := sha256.Sum256(tok)
	return &Approval{Claims: c, Digest: hex.EncodeToString(sum[:])}, nil
}

// CheckParties checks that the approval names subject and requester. Codes,
// in this order: approval_wrong_subject, approval_wrong_requester.
func (a *Approval) CheckParties(subject, requester string) error {
	switch {
	case a.Claims.Subject != subject:
		return schemas.Errorf(schemas.CodeApprovalWrongSubject, "approval names another subject")
	case a.Claims.Requester != requester:
		return schemas.Errorf(schemas.CodeApprovalWrongRequester, "approval names another requester")
	}
	return nil
}

// maxUnix is 9999-12-31T23:59:59Z: later timestamps could overflow time
// arithmetic.
const maxUnix = 253402300799

// validate checks the claims every approval carries. The error text names
// the rule, never a value.
func validate(c *schemas.ApprovalClaims) error {
	switch {
	case !validName(c.ID):
		return errors.New("bad jti")
	case !validCaseID(c.Case):
		return errors.New("bad case id")
	case !validName(c.Issuer):
		return errors.New("bad iss")
	case !validName(c.Subject):
		return errors.New("bad sub")
	case !validName(c.Requester):
		return errors.New("bad requester")
	case !validName(c.Purpose):
		return errors.New("bad purpose")
	case len(c.Categories) == 0 || len(c.Categories) > MaxCategories || !validNames(c.Categories):
		return errors.New("categories empty, too many or malformed")
	case c.IssuedAt <= 0 || c.IssuedAt > maxUnix || c.Expiry <= 0 || c.Expiry > maxUnix:
		return errors.New("iat or exp out of range")
	case c.Expiry <= c.IssuedAt:
		return errors.New("exp not after iat")
	case time.Duration(c.Expiry-c.IssuedAt)*time.Second > MaxValidity:
		return errors.New("valid for longer than allowed")
	}
	return nil
}

// validCaseID accepts a case number as regulators write them: 1 to
// MaxCaseLength characters of letters (any script), digits, marks,
// punctuation and symbols (〔〕, parentheses, "No.", "/"), words separated by
// single spaces. Control and format characters (line breaks, tabs, bidi
// overrides that would make a log line read differently than it is stored),
// invalid UTF-8 and leading, trailing or doubled spaces are refused.
func validCaseID(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxCaseLength ||
		strings.TrimSpace(s) != s || strings.Contains(s, "  ") {
		return false
	}
	for _, r := range s {
		switch {
		case r == ' ':
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r), unicode.IsPunct(r), unicode.IsSymbol(r):
		default:
			return false
		}
	}
	return true
}

// validName accepts 1..MaxNameLength bytes of printable ASCII without spaces.
func validName(s string) bool {
	if s == "" || len(s) > MaxNameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// validNames accepts a list of valid, distinct names.
func validNames(list []string) bool {
	for i, s := range list {
		if !validName(s) || slices.Contains(list[:i], s) {
			return false
		}
	}
	return true
}

// payloadOf returns the still unauthenticated payload of a compact JWS whose
// header jose.ParseJWSHeader has accepted.
func payloadOf(tok []byte) ([]byte, error) {
	parts := bytes.Split(tok, []byte{'.'})
	if len(parts) != 3 {
		return nil, jose.ErrMalformed
	}
	return base64.RawURLEncoding.Strict().DecodeString(string(parts[1]))
}
