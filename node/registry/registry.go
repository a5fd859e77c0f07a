// Package registry is the signed federation registry: the list of members,
// their roles, endpoints, public keys and pinned TLS certificates, signed by
// the federation authority as a compact JWS of type schemas.TypRegistry.
//
// Verify checks the signature against the authority's Ed25519 key (the only
// trust anchor a node is configured with), validates every member, and returns
// an immutable, indexed Registry. A Watcher keeps the registry in force
// current by polling the file it is published as, refusing any update that is
// badly signed, invalid, expired or not newer than the one in force.
//
// Look-ups never hand out internal state: Member and Doc return copies, so a
// Registry can be shared freely between goroutines.
package registry

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"time"

	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/schemas"
	"github.com/creditexchange/node/schemas/uscc"
)

// Member roles. A member may hold several.
const (
	RoleBank       = "bank"       // lender: queries providers
	RoleBureau     = "bureau"     // credit bureau: provides and queries
	RoleDepartment = "department" // government department: provides, supervises
	RoleRegistrar  = "registrar"  // issues subject certificates
	RoleRegulator  = "regulator"  // supervises the federation
)

// KnownRole reports whether role is one of the defined roles.
func KnownRole(role string) bool {
	switch role {
	case RoleBank, RoleBureau, RoleDepartment, RoleRegistrar, RoleRegulator:
		return true
	}
	return false
}

// Limits on the document.
const (
	maxMembers  = 10000
	maxIDLength = 64
)

// Errors returned by Verify and the Watcher. Details are wrapped around them;
// branch with errors.Is.
var (
	// ErrBadSignature: the token is not a registry JWS in the profile, is
	// signed by another key, or its signature does not verify.
	ErrBadSignature = errors.New("registry: bad signature")
	// ErrExpired: the registry's expires_at has passed.
	ErrExpired = errors.New("registry: expired")
	// ErrNotYetValid: the registry's issued_at is in the future.
	ErrNotYetValid = errors.New("registry: not yet valid")
	// ErrInvalid: the signed document breaks a rule (duplicate member, bad
	// key, bad fingerprint, unknown role, …).
	ErrInvalid = errors.New("registry: invalid document")
	// ErrStale: an update's serial is not greater than the registry in force
	// (a rollback or a replay of an older document).
	ErrStale = errors.New("registry: serial not newer than the registry in force")
	// ErrNotLoaded: the Watcher holds no registry yet.
	ErrNotLoaded = errors.New("registry: not loaded")
)

// Registry is a verified federation registry, indexed for look-ups. It is
// immutable.
type Registry struct {
	doc     schemas.Registry
	token   []byte
	members map[string]*entry
	byFP    map[string]string // TLS fingerprint → member id
}

type entry struct {
	member  schemas.Member
	signing map[string]ed25519.PublicKey
	enc     *ecdh.PublicKey
	encKID  string
	revoked map[string]bool // subject certificate ids the registrar revoked
}

// Verify checks that tok is a registry signed by authority (its JWS kid must
// be the authority key's thumbprint), that the document is valid, and that
// issued_at ≤ now < expires_at.
func Verify(tok []byte, authority ed25519.PublicKey, now time.Time) (*Registry, error) {
	if len(authority) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: authority key is not an Ed25519 public key", ErrBadSignature)
	}
	hdr, err := jose.ParseJWSHeader(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if hdr.KeyID != keys.SigningKID(authority) {
		return nil, fmt.Errorf("%w: not signed by the federation authority key", ErrBadSignature)
	}
	payload, _, err := jose.Verify(tok, schemas.TypRegistry, authority)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	reg, err := parse(payload)
	if err != nil {
		return nil, err
	}
	if err := reg.Valid(now); err != nil {
		return nil, err
	}
	reg.token = bytes.Clone(tok)
	return reg, nil
}

// parse decodes and validates a registry document. Unknown fields are
// refused: a node must not silently ignore a rule it does not understand.
func parse(payload []byte) (*Registry, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var doc schemas.Registry
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the document", ErrInvalid)
	}
	return index(doc)
}

// index validates doc and builds the look-up tables.
func index(doc schemas.Registry) (*Registry, error) {
	switch {
	case doc.Federation == "":
		return nil, fmt.Errorf("%w: federation name is empty", ErrInvalid)
	case doc.Serial <= 0:
		return nil, fmt.Errorf("%w: serial must be positive", ErrInvalid)
	case doc.IssuedAt.IsZero() || doc.ExpiresAt.IsZero():
		return nil, fmt.Errorf("%w: issued_at and expires_at are required", ErrInvalid)
	case !doc.ExpiresAt.After(doc.IssuedAt):
		return nil, fmt.Errorf("%w: expires_at is not after issued_at", ErrInvalid)
	case len(doc.Members) == 0:
		return nil, fmt.Errorf("%w: no members", ErrInvalid)
	case len(doc.Members) > maxMembers:
		return nil, fmt.Errorf("%w: more than %d members", ErrInvalid, maxMembers)
	}
	r := &Registry{
		members: make(map[string]*entry, len(doc.Members)),
		byFP:    make(map[string]string, len(doc.Members)),
	}
	kidOwner := make(map[string]string)
	for i := range doc.Members {
		e, err := parseMember(doc.Members[i])
		if err != nil {
			return nil, fmt.Errorf("%w: member %d: %w", ErrInvalid, i, err)
		}
		id := e.member.ID
		if _, dup := r.members[id]; dup {
			return nil, fmt.Errorf("%w: member id %q appears twice", ErrInvalid, id)
		}
		if other, dup := r.byFP[e.member.TLSCertSHA256]; dup {
			return nil, fmt.Errorf("%w: members %q and %q share a TLS certificate", ErrInvalid, other, id)
		}
		for kid := range e.signing {
			if other, dup := kidOwner[kid]; dup {
				return nil, fmt.Errorf("%w: members %q and %q share signing key %s", ErrInvalid, other, id, kid)
			}
			kidOwner[kid] = id
		}
		r.members[id] = e
		r.byFP[e.member.TLSCertSHA256] = id
	}
	r.doc = copyDoc(doc)
	return r, nil
}

// parseMember validates one member and parses its keys. Errors name the
// field, never echo key material.
func parseMember(m schemas.Member) (*entry, error) {
	if err := checkID(m.ID); err != nil {
		return nil, err
	}
	if m.Organisation == "" {
		return nil, fmt.Errorf("%q: organisation is empty", m.ID)
	}
	code, err := uscc.Normalize(m.USCC)
	if err != nil {
		return nil, fmt.Errorf("%q: uscc: %w", m.ID, err)
	}
	if code != m.USCC {
		return nil, fmt.Errorf("%q: uscc is not in canonical form", m.ID)
	}
	if len(m.Roles) == 0 {
		return nil, fmt.Errorf("%q: no roles", m.ID)
	}
	for i, role := range m.Roles {
		if !KnownRole(role) {
			return nil, fmt.Errorf("%q: unknown role %q", m.ID, truncate(role))
		}
		if slices.Contains(m.Roles[:i], role) {
			return nil, fmt.Errorf("%q: role %q listed twice", m.ID, role)
		}
	}
	if err := checkEndpoint(m.Endpoint); err != nil {
		return nil, fmt.Errorf("%q: endpoint: %w", m.ID, err)
	}
	if m.PublicEndpoint != "" {
		if err := checkEndpoint(m.PublicEndpoint); err != nil {
			return nil, fmt.Errorf("%q: public_endpoint: %w", m.ID, err)
		}
	}
	if !validFingerprint(m.TLSCertSHA256) {
		return nil, fmt.Errorf("%q: tls_cert_sha256 must be 64 lower-case hex characters", m.ID)
	}
	signing, err := keys.ParseSigningJWKS(m.SigningKeys)
	if err != nil {
		return nil, fmt.Errorf("%q: signing_keys: %w", m.ID, err)
	}
	enc, encKID, err := keys.ParseEncryptionJWK(m.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("%q: encryption_key: %w", m.ID, err)
	}
	var revoked map[string]bool
	if len(m.RevokedSubjectCerts) > 0 {
		if !m.HasRole(RoleRegistrar) {
			return nil, fmt.Errorf("%q: revoked_subject_certs on a member that is not a registrar", m.ID)
		}
		revoked = make(map[string]bool, len(m.RevokedSubjectCerts))
		for _, id := range m.RevokedSubjectCerts {
			if checkID(id) != nil || revoked[id] {
				return nil, fmt.Errorf("%q: revoked_subject_certs: invalid or repeated id %q", m.ID, truncate(id))
			}
			revoked[id] = true
		}
	}
	return &entry{member: copyMember(m), signing: signing, enc: enc, encKID: encKID, revoked: revoked}, nil
}

// checkID accepts the ids node configuration accepts: 1..64 lower-case
// letters, digits and '-', which are also valid DNS labels for certificates.
func checkID(id string) error {
	if id == "" || len(id) > maxIDLength {
		return fmt.Errorf("id must be 1..%d characters", maxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("id %q: use lower-case letters, digits and '-'", truncate(id))
		}
	}
	if id[0] == '-' || id[len(id)-1] == '-' {
		return fmt.Errorf("id %q may not start or end with '-'", id)
	}
	return nil
}

// checkEndpoint accepts absolute https URLs with a host and nothing a client
// could misread: no user info, query or fragment.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Scheme != "https":
		return errors.New("scheme must be https")
	case u.Hostname() == "":
		return errors.New("host is empty")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return errors.New("user info, query and fragment are not allowed")
	}
	return nil
}

func validFingerprint(fp string) bool {
	if len(fp) != 64 {
		return false
	}
	for i := 0; i < len(fp); i++ {
		c := fp[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func copyMember(m schemas.Member) schemas.Member {
	m.Roles = slices.Clone(m.Roles)
	m.SigningKeys = bytes.Clone(m.SigningKeys)
	m.EncryptionKey = bytes.Clone(m.EncryptionKey)
	m.RevokedSubjectCerts = slices.Clone(m.RevokedSubjectCerts)
	return m
}

func copyDoc(doc schemas.Registry) schemas.Registry {
	members := make([]schemas.Member, len(doc.Members))
	for i, m := range doc.Members {
		members[i] = copyMember(m)
	}
	doc.Members = members
	return doc
}

// Valid reports whether the registry is in force at now: ErrNotYetValid
// before issued_at, ErrExpired from expires_at on.
func (r *Registry) Valid(now time.Time) error {
	if now.Before(r.doc.IssuedAt) {
		return fmt.Errorf("%w: issued at %s", ErrNotYetValid, r.doc.IssuedAt.UTC().Format(time.RFC3339))
	}
	if !now.Before(r.doc.ExpiresAt) {
		return fmt.Errorf("%w: expired at %s", ErrExpired, r.doc.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// Member returns a copy of the member with the given id.
func (r *Registry) Member(id string) (*schemas.Member, bool) {
	e, ok := r.members[id]
	if !ok {
		return nil, false
	}
	m := copyMember(e.member)
	return &m, true
}

// MemberByFingerprint names the member whose TLS certificate has fingerprint
// fp (lower-case hex SHA-256 of the leaf DER). It implements
// transport.MemberLookup.
func (r *Registry) MemberByFingerprint(fp string) (string, bool) {
	id, ok := r.byFP[fp]
	return id, ok
}

// TLSFingerprint is the certificate fingerprint registered for memberID: the
// pin for calling it (transport.ClientOptions).
func (r *Registry) TLSFingerprint(memberID string) (string, bool) {
	e, ok := r.members[memberID]
	if !ok {
		return "", false
	}
	return e.member.TLSCertSHA256, true
}

// SigningKey returns memberID's signing key with key id kid.
func (r *Registry) SigningKey(memberID, kid string) (ed25519.PublicKey, bool) {
	e, ok := r.members[memberID]
	if !ok {
		return nil, false
	}
	pub, ok := e.signing[kid]
	return pub, ok
}

// RegistrarKey is SigningKey for members holding the registrar role only:
// the keys that may sign subject certificates.
func (r *Registry) RegistrarKey(memberID, kid string) (ed25519.PublicKey, bool) {
	e, ok := r.members[memberID]
	if !ok || !e.member.HasRole(RoleRegistrar) {
		return nil, false
	}
	pub, ok := e.signing[kid]
	return pub, ok
}

// SubjectCertRevoked reports whether registrar has revoked the subject
// certificate with id certID (its revoked_subject_certs entry).
func (r *Registry) SubjectCertRevoked(registrar, certID string) bool {
	e, ok := r.members[registrar]
	return ok && e.revoked[certID]
}

// EncryptionKey returns memberID's X25519 encryption key and its key id.
func (r *Registry) EncryptionKey(memberID string) (*ecdh.PublicKey, string, bool) {
	e, ok := r.members[memberID]
	if !ok {
		return nil, "", false
	}
	return e.enc, e.encKID, true
}

// MembersWithRole returns copies of the members holding role, in document
// order.
func (r *Registry) MembersWithRole(role string) []*schemas.Member {
	var out []*schemas.Member
	for _, m := range r.doc.Members {
		if m.HasRole(role) {
			c := copyMember(m)
			out = append(out, &c)
		}
	}
	return out
}

// Doc returns a copy of the signed document.
func (r *Registry) Doc() schemas.Registry { return copyDoc(r.doc) }

// Token returns the signed registry as received, for passing on to others.
func (r *Registry) Token() []byte { return bytes.Clone(r.token) }

// Federation is the federation's name.
func (r *Registry) Federation() string { return r.doc.Federation }

// Serial is the registry's serial number; each new registry has a greater one.
func (r *Registry) Serial() int64 { return r.doc.Serial }

// IssuedAt is when the registry takes effect.
func (r *Registry) IssuedAt() time.Time { return r.doc.IssuedAt }

// ExpiresAt is when the registry stops being valid.
func (r *Registry) ExpiresAt() time.Time { return r.doc.ExpiresAt }

// LogValue logs the registry's identity, never its keys.
func (r *Registry) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("federation", r.doc.Federation),
		slog.Int64("serial", r.doc.Serial),
		slog.Int("members", len(r.doc.Members)),
		slog.Time("expires_at", r.doc.ExpiresAt),
	)
}
