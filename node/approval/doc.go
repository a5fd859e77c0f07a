// Package approval issues and verifies special approvals: tokens by which a
// federation member holding the "regulator" role allows one requester to
// receive categories at the "restricted" sharing level about one subject, for
// one purpose, in one named case, until an expiry.
//
// An approval is a compact JWS in the crypto/jose profile of type
// schemas.TypApproval whose payload is schemas.ApprovalClaims, signed with a
// signing key the federation registry lists for the issuing member. The
// requester puts it in its query (schemas.QueryClaims.Approval); the provider
// verifies it with Verify and CheckParties and hands the remaining facts
// (purpose, categories) to the policy, which decides whether the approval
// covers the restricted categories asked for and says precisely why not.
//
// # Checks and codes
//
// Verify, in this order: approval_invalid (too large, not a compact JWS in
// the profile, wrong typ, issuer not a registry member, kid not registered to
// the issuer, bad signature, malformed or duplicate claims), then
// approval_not_regulator (the verified issuer does not hold the regulator
// role), approval_not_yet_valid (iat more than skew in the future),
// approval_expired (now ≥ exp + skew). CheckParties: approval_wrong_subject,
// approval_wrong_requester. The policy: approval_wrong_purpose,
// approval_wrong_category (and approval_missing without an approval).
//
// With skew s ≥ 0, an approval is accepted at time now when
// iat - s ≤ now < exp + s; exactly at exp + s it has expired.
//
// Every failure is a *schemas.Error whose message is safe to send to the
// peer. Issue returns ErrInvalidClaims. Nothing here logs; Approval
// implements slog.LogValuer and logs only the case id and the digest.
package approval
