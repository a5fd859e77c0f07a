// Package node is a credit exchange node's composition root: Open builds a
// node from its directory, Serve runs its listeners, Close releases it.
//
// # Open
//
// Open builds the parts in the order they depend on each other; each step
// uses only what the steps before it built, and whatever a step acquires
// (the store, the logs' sequencers) is released, the last first, if a later
// step fails, and by Close:
//
//  1. the config (node.yaml), the logger (with the node id and request ids)
//     and the node's Prometheus registry;
//  2. the keys, from files or Vault (OpenKeys);
//  3. the trust anchors: the federation authority's key, the registry it
//     signed (watched for updates), the TLS certificate and the CA;
//  4. the store, SQLite or PostgreSQL (OpenStore), and the metrics read
//     from it (log sizes, overdue objections);
//  5. the policy: the embedded one, replaced by a signed bundle when the
//     config names one (policyload; older bundle serials are refused);
//  6. the tamper-evident logs: inquiry and outbound sequencers and trees;
//  7. the peer client, which records each request in the outbound log
//     before sending it;
//  8. subject commitments and the witness of peers' logs, which fetches
//     peers' checkpoints through the client;
//  9. the signed catalogue and the sharing levels it sets;
//  10. the member routes beyond the provider's own: the catalogue, change
//     feeds, joint modelling jobs (when the node has a joint table) and the
//     witness API;
//  11. the provider: the mutual-TLS member API and the public subject API.
//
// Store is the union of what these parts (and the operator's commands)
// need of the database; both backends are checked against it at compile
// time, so no part asks the store at run time what it can do.
//
// # Files
//
// One scheme, so that a part's wiring is found by name: node.go holds Node,
// Open, Close and Serve; wire_<part>.go builds one part for Open (wire_keys,
// wire_trust, wire_store, wire_policy, wire_logs, wire_witness,
// wire_catalog, wire_feeds, wire_joint); serve_<part>.go is what Serve runs
// besides the two listeners (serve_ops: the metrics route and the ops
// listener); init_dir.go makes a node directory and its registry entry,
// before a node can be opened.
package node
