-- 0010_feed_cursors: where this node, as a subscriber, stands in each
-- provider's change feed (node/feeds). The cursor is the provider's change
-- seq up to which every change has been applied; it is written in the same
-- transaction as the records of the batch it ends, so a crash leaves either
-- the whole batch and the new cursor, or neither.
CREATE TABLE feed_cursors (
    provider   TEXT    NOT NULL CHECK (provider <> ''),
    feed       TEXT    NOT NULL CHECK (feed <> ''),
    cursor     BIGINT  NOT NULL CHECK (cursor >= 0),
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (provider, feed)
);
