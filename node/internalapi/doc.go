// Package internalapi is a node's interface for its own organisation's
// systems: a loan-origination system, a data platform, an internal audit
// tool. It is the node's third listener (internal_listen in node.yaml), next
// to the member API peers call and the subject API: JSON over HTTPS with
// mutual TLS, where the client certificates are the node operator's own
// (issued by `creditnode clients add` from an operator CA kept in the node
// directory, or registered by fingerprint), never a federation member's.
//
// Every request is checked in one order, each step with its stable code,
// before anything reaches a peer:
//
//  1. the TLS client certificate is a registered client (client_unknown) that
//     was not revoked (client_revoked); the registry file is re-read when it
//     changes, so a revocation counts from the next request;
//  2. the route's operation is on the client's allow-list
//     (client_not_permitted);
//  3. the call names the staff member it is made for (X-Staff-Id,
//     staff_id_missing) and, where it concerns a subject, the business
//     reference (X-Business-Ref, business_ref_missing);
//  4. a POST that spends a consent use carries an Idempotency-Key
//     (idempotency_key_missing);
//  5. the body is read within the size limit and decoded strictly
//     (body_too_large, malformed_request);
//  6. the purpose and providers it names are on the client's allow-list
//     (client_not_permitted);
//  7. a reused Idempotency-Key replays the stored answer if the body is the
//     same and is refused otherwise (idempotency_conflict).
//
// Who and why travel with every query: the staff id and business reference
// are written into this node's outbound-log entries; the provider receives
// only a keyed digest of the business reference (claim "ref"), which it
// logs, and never the staff id. The internal audit search reads them back
// from the outbound log.
package internalapi
