// Package gate is the one way into a node for an HTTP request. Every route of
// every listener (member, subject, internal) is registered on a gate.Mux, so
// the node knows its own routes (the OpenAPI contract test compares them with
// schemas/openapi.yaml); every body is read by ReadBody with one size limit
// and one rule; every member request is attributed to a registry member by
// PeerOf from its TLS client certificate and the registry in force; and every
// error leaves through WriteError, the one writer of the stable error body
// {"error":{"code","message","request_id","log_index"}}.
//
// Every signed member request (query, discovery, feed pull, joint
// modelling) then goes through the same checks, in the services' order:
// VerifyRequest (the JWS profile, a registered key of the TLS peer, strict
// claims: schemas.DecodeStrict), CheckIssuer, CheckAudienceAndSkew,
// CheckReplay, CheckConsent, and PolicyInput for the requester's part of the
// policy input. A refusal is recorded by Inquiries.Deny with the service's
// own inquiry entry, or fails closed (log_unavailable) when the log cannot
// take it; Inquiries also tracks whether the log can be written, for
// readiness. PreAuth bounds what requests refused before authentication cost
// the log. What a request may have (records, feeds, joint steps) stays with
// the services (node/server, node/feeds, node/joint/remote, node/witness).
package gate
