package gate

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"net/http"
	"time"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/schemas"
)

// RegistryView is one consistent snapshot of the federation registry.
type RegistryView interface {
	Member(id string) (*schemas.Member, bool)
	MemberByFingerprint(fp string) (string, bool)
	SigningKey(memberID, kid string) (ed25519.PublicKey, bool)
	RegistrarKey(memberID, kid string) (ed25519.PublicKey, bool)
	// SubjectCertRevoked reports whether registrar revoked a subject
	// certificate: consents and requests under it are refused.
	SubjectCertRevoked(registrar, certID string) bool
	EncryptionKey(memberID string) (*ecdh.PublicKey, string, bool)
}

// Registries yields the registry in force, or an error when none is valid
// (then requests fail closed with registry_unavailable).
type Registries interface {
	Snapshot(now time.Time) (RegistryView, error)
}

// Peer is the registry member a request comes from, and the registry
// snapshot it was found in: every later check of the request uses that
// snapshot, so one request never sees two registries.
type Peer struct {
	ID       string
	Org      string
	Registry RegistryView
}

// PeerOf names the registry member holding r's TLS client certificate. The
// TLS handshake checked the certificate against the registry in force then,
// but a keep-alive connection outlives a member's removal, so it is looked up
// again in the registry in force now (unknown_member, registry_unavailable).
func PeerOf(r *http.Request, regs Registries, now time.Time) (Peer, *schemas.Error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return Peer{}, schemas.Errorf(schemas.CodeUnknownMember, "no client certificate")
	}
	reg, err := regs.Snapshot(now)
	if err != nil {
		return Peer{}, schemas.Wrap(schemas.CodeRegistryUnavailable, err, "no valid federation registry")
	}
	id, ok := reg.MemberByFingerprint(certs.Fingerprint(r.TLS.PeerCertificates[0].Raw))
	if !ok {
		return Peer{}, schemas.Errorf(schemas.CodeUnknownMember, "client certificate is not registered")
	}
	p := Peer{ID: id, Registry: reg}
	if m, ok := reg.Member(id); ok && m != nil {
		p.Org = m.Organisation
	}
	return p, nil
}

// CertificateID names r's TLS client by its certificate when no registry
// can say which member it is (the registry expired): "tls-sha256:" and the
// first 16 hex digits of the certificate's SHA-256 fingerprint, so the
// refusal can still be logged against the client that sent it. Empty
// without a client certificate.
func CertificateID(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	fp := certs.Fingerprint(r.TLS.PeerCertificates[0].Raw)
	return "tls-sha256:" + fp[:min(16, len(fp))]
}

// RefusalRequester names who a refusal by PeerOf is logged against, in the
// inquiry log of the route's kind: with no valid registry to name the member
// (registry_unavailable), the client's certificate (CertificateID). It is
// empty, and the refusal is answered without an entry, for a request without
// a client certificate or one whose certificate no member holds, which the
// TLS layer refuses before any route.
func RefusalRequester(r *http.Request, e *schemas.Error) string {
	if e == nil || e.Code != schemas.CodeRegistryUnavailable {
		return ""
	}
	return CertificateID(r)
}

// LoggedRoute marks a member route that looks its peer up itself (PeerOf)
// and logs every refusal RefusalRequester attributes, registry_unavailable
// included, through Inquiries.Deny. A guard in front of such a route (the
// member listener's) lets those requests through for the route to log.
type LoggedRoute struct{ http.Handler }
