// Package gate is the one way into a node for an HTTP request. Every route of
// every listener (member, subject, internal) is registered on a gate.Mux, so
// the node knows its own routes (the OpenAPI contract test compares them with
// schemas/openapi.yaml); every body is read by ReadBody with one size limit
// and one rule; every member request is attributed to a registry member by
// PeerOf from its TLS client certificate and the registry in force; and every
// error leaves through WriteError, the one writer of the stable error body
// {"error":{"code","message","request_id","log_index"}}.
//
// The gate decides nothing about a request's content: the services behind it
// (node/server, node/feeds, node/joint/remote, node/witness, node/internalapi)
// check claims, consents and policy, and log their inquiries.
package gate
