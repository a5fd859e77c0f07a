package registry

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/creditexchange/node/certs"
	"github.com/creditexchange/node/crypto/jose"
	"github.com/creditexchange/node/crypto/keys"
	"github.com/creditexchange/node/schemas"
)

// File names of the federation authority's key pair, as written by
// SaveAuthority.
const (
	AuthorityKeyFile    = "authority.key" // PKCS #8 PEM, mode 0600; keep offline
	AuthorityPublicFile = "authority.jwk" // Ed25519 public JWK; give to every node
)

// Sign validates reg and signs it as a compact JWS of type
// schemas.TypRegistry. kid must be the thumbprint of signer's public key
// (keys.SigningKID), which is what Verify expects. Times are written in UTC.
func Sign(reg *schemas.Registry, signer crypto.Signer, kid string) ([]byte, error) {
	pub, ok := signer.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("registry: authority key is not Ed25519")
	}
	if kid != keys.SigningKID(pub) {
		return nil, errors.New("registry: kid is not the authority key's thumbprint")
	}
	doc := copyDoc(*reg)
	doc.IssuedAt = doc.IssuedAt.UTC()
	doc.ExpiresAt = doc.ExpiresAt.UTC()
	if _, err := index(doc); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("registry: encode: %w", err)
	}
	return jose.Sign(signer, kid, schemas.TypRegistry, payload)
}

// GenerateAuthority makes a new federation authority key.
func GenerateAuthority() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	return priv, err
}

// SaveAuthority writes the authority key into dir: authority.key (PKCS #8
// PEM, mode 0600) and authority.jwk (the public key as a JWK, mode 0644).
// It refuses to overwrite either.
func SaveAuthority(dir string, priv ed25519.PrivateKey) error {
	pemKey, err := keys.MarshalSigningKey(priv)
	if err != nil {
		return err
	}
	jwk, err := json.MarshalIndent(keys.SigningJWK(priv.Public().(ed25519.PublicKey)), "", "  ")
	if err != nil {
		return err
	}
	if err := keys.WritePrivateFile(filepath.Join(dir, AuthorityKeyFile), pemKey); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, AuthorityPublicFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(jwk, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadAuthorityPublic reads the authority's public JWK, the trust anchor of
// every node.
func LoadAuthorityPublic(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("registry: authority key: %w", err)
	}
	pub, _, err := keys.ParseSigningJWK(data)
	if err != nil {
		return nil, fmt.Errorf("registry: authority key %s: %w", path, err)
	}
	return pub, nil
}

// MemberParts are the facts a registry entry is built from: a node's
// configuration, its published keys and its TLS certificate.
type MemberParts struct {
	ID             string
	Organisation   string
	USCC           string
	Roles          []string
	Jurisdiction   string
	Endpoint       string // https URL of the mutual-TLS API
	PublicEndpoint string // https URL of the subject API; may be empty
	// Keys is the node's public JWKS (keys.NodeKeys.PublicJWKS): its Ed25519
	// signing keys and, unless EncryptionKey is set, its X25519 key.
	Keys []byte
	// EncryptionKey, if set, is the X25519 public JWK.
	EncryptionKey []byte
	// CertPEM is the node's TLS certificate; its fingerprint is pinned.
	CertPEM []byte
	// RevokedSubjectCerts, for a registrar, are the subject certificates it
	// revoked (ids).
	RevokedSubjectCerts []string
}

// MemberFromParts builds and validates a registry entry. The keys are
// re-encoded in canonical form (kid = thumbprint, sorted by kid), so the
// entry does not depend on how the node wrote its JWKS.
func MemberFromParts(p MemberParts) (schemas.Member, error) {
	signing, err := keys.ParseSigningJWKS(p.Keys)
	if err != nil {
		return schemas.Member{}, fmt.Errorf("%w: signing keys: %w", ErrInvalid, err)
	}
	kids := make([]string, 0, len(signing))
	for kid := range signing {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	var set keys.JWKS
	for _, kid := range kids {
		set.Keys = append(set.Keys, keys.SigningJWK(signing[kid]))
	}
	encRaw := p.EncryptionKey
	if len(encRaw) == 0 {
		if encRaw, err = findX25519(p.Keys); err != nil {
			return schemas.Member{}, err
		}
	}
	enc, _, err := keys.ParseEncryptionJWK(encRaw)
	if err != nil {
		return schemas.Member{}, fmt.Errorf("%w: encryption key: %w", ErrInvalid, err)
	}
	fp, err := certs.FingerprintPEM(p.CertPEM)
	if err != nil {
		return schemas.Member{}, fmt.Errorf("%w: TLS certificate: %w", ErrInvalid, err)
	}
	sigJSON, err := json.Marshal(set)
	if err != nil {
		return schemas.Member{}, err
	}
	encJSON, err := json.Marshal(keys.EncryptionJWK(enc))
	if err != nil {
		return schemas.Member{}, err
	}
	m := schemas.Member{
		ID: p.ID, Organisation: p.Organisation, USCC: p.USCC, Roles: slices.Clone(p.Roles),
		Jurisdiction: p.Jurisdiction, Endpoint: p.Endpoint, PublicEndpoint: p.PublicEndpoint,
		SigningKeys: sigJSON, EncryptionKey: encJSON, TLSCertSHA256: fp,
		RevokedSubjectCerts: slices.Clone(p.RevokedSubjectCerts),
	}
	if _, err := parseMember(m); err != nil {
		return schemas.Member{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return m, nil
}

// findX25519 picks the single X25519 key out of a JWKS.
func findX25519(jwks []byte) ([]byte, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, fmt.Errorf("%w: keys: %w", ErrInvalid, err)
	}
	var found []byte
	for _, k := range set.Keys {
		var j keys.JWK
		if json.Unmarshal(k, &j) == nil && j.Curve == "X25519" {
			if found != nil {
				return nil, fmt.Errorf("%w: keys: more than one X25519 key; set EncryptionKey", ErrInvalid)
			}
			found = k
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: keys: no X25519 encryption key", ErrInvalid)
	}
	return found, nil
}
