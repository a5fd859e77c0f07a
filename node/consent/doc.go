// Package consent issues and verifies the tokens a credit subject signs: the
// registrar's subject certificate that binds a subject id to the subject's
// Ed25519 key, the subject's consent (authorisation) for a requester to query
// it, the withdrawal of a consent, and the subject's request to read its own
// inquiry log. Every token is a compact JWS in the crypto/jose profile whose
// "typ" names its kind (schemas.TypSubjectCert, TypConsent, TypRevocation,
// TypSubjectRead); key ids are RFC 7638 thumbprints (keys.SigningKID).
//
// # Trust chain
//
// A registry member holding the "registrar" role certifies a subject by
// signing a SubjectCertClaims whose "cnf" holds the subject's public key
// (IssueSubjectCert). The subject embeds that certificate in every token it
// signs, so a verifier needs only the registry (the Registrars interface) to
// check a consent, a revocation or a read request offline: first the
// certificate (signed by a registrar's registered key, within its validity),
// then the token's signature under the certified key, then that the token's
// issuer is the certified subject.
//
// # Which verification to use
//
//   - The requester, before sending a query, uses VerifyConsent: the consent
//     must be valid now and cover exactly what it is about to ask.
//   - The provider uses VerifyConsentToken, then (*Consent).CheckParties for
//     subject, requester and provider, and hands purpose and category coverage
//     to the policy as facts (Claims.Purpose, Claims.Categories), so the
//     policy decides and records why a query was denied.
//   - Revocation and the use count are not in the token: the caller checks
//     Consent.Claims.ID against its revocation store and counts uses against
//     Claims.MaxUses (codes consent_revoked, consent_exhausted).
//   - VerifyRevocation and VerifySubjectRead check freshness (iat within the
//     skew); the caller must also reject a jti it has seen within the window
//     (code replay).
//
// # Time
//
// With skew s ≥ 0 (negative is treated as 0), a token is accepted at time now
// when nbf - s ≤ now < exp + s: exactly at exp + s it has expired, exactly at
// nbf - s it is already valid. A subject certificate is also rejected when its
// iat is more than s in the future. Revocations and read requests need
// |now - iat| ≤ s.
//
// # Errors
//
// Every verification failure is a *schemas.Error with a stable wire code and
// a message that is safe to send to the peer: it never echoes token contents.
// Issuing functions return ErrInvalidClaims, ErrKeyMismatch or ErrCertificate.
// Nothing in this package logs; Consent, SubjectCert, Revocation and
// ReadRequest implement slog.LogValuer and log only ids and digests.
package consent
