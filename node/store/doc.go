// Package store is the node's database: the provider's credit records, the
// replay guard on request ids, consent use counts and revocations, and the two
// append-only logs (the provider's inquiry log and the requester's outbound
// log) whose leaves the tamper-evident log package hashes into its trees.
//
// Two backends have the same methods and guarantees: [SQLite], embedded, one
// database file; and [Postgres], on a PostgreSQL server, where several nodes
// may share a database, one schema each. Each operation is written once (db.go:
// statements with ? placeholders run on either driver through one small
// interface); only what the backends do differently is written per backend,
// where each says why: taking locks (SQLite has one writer, PostgreSQL
// concurrent writers), reserving log indexes, binding lists, bulk inserts,
// reading JSON, and the migrations. The behaviour both must share is pinned
// by the reusable test suite in package storetest, run on both.
//
// # Guarantees
//
//   - Every write is durable when its method returns.
//   - Log indexes are 0-based, dense and never reused, even across crashes:
//     they are assigned inside the writing transaction from the rows already
//     stored, never from a counter in memory. Log rows are never updated or
//     deleted.
//   - [SQLite.CommitInquiry] marks the request id used, consumes a consent
//     use and appends the inquiry-log leaf in one transaction: either all of
//     it is stored or none of it.
//   - [SQLite.CommitSubjectMap] writes a revision of the subject map (its
//     versioned nodes, stale-node index and signed subject checkpoint) and
//     prunes old revisions, with their witness cosignatures, in one
//     transaction. [SQLite.AddSubjectCosignatures] stores cosignatures of
//     stored revisions only, at most one per revision and witness key.
//   - Every database failure is returned wrapping [ErrUnavailable], so
//     callers can fail closed without inspecting driver errors.
//
// The store never logs, and treats log entries and record data as opaque
// bytes.
package store
