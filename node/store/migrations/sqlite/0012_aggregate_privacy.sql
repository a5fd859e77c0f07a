-- Aggregate statistics with differential privacy (node/joint/aggregate): every privacy-budget
-- spend per requester (the ledger is their composition) and the query sets answered per
-- dataset (the differencing rule compares a new set with every earlier one).
CREATE TABLE aggregate_spends (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    requester  TEXT    NOT NULL,
    cost       TEXT    NOT NULL, -- JSON: epsilon, delta, rho as exact rationals
    spent_at   INTEGER NOT NULL  -- Unix nanoseconds
);
CREATE INDEX aggregate_spends_by_requester ON aggregate_spends (requester, seq);

CREATE TABLE aggregate_query_sets (
    dataset    TEXT    NOT NULL,
    digest     TEXT    NOT NULL, -- hex SHA-256 of the sorted member list
    members    TEXT    NOT NULL, -- JSON array of identifiers, sorted
    created_at INTEGER NOT NULL,
    PRIMARY KEY (dataset, digest)
);
