-- 0002_log_dense: the logs accept an insert only at the next index, so no
-- gap can be made (mirrors migrations/sqlite/0002).
--
-- PostgreSQL runs writers concurrently, so the next index cannot simply be
-- read as MAX(idx)+1: two transactions would read the same value. Each log
-- has a row in log_heads holding its size; a writer increments it first
-- (UPDATE ... RETURNING), which row-locks the head until the writer commits
-- or rolls back, so appends to one log are serialised and a rolled-back
-- append gives its index back. The head only ever grows by one.

CREATE TABLE log_heads (
    log  TEXT   PRIMARY KEY CHECK (log IN ('inquiry_log', 'outbound_log')),
    size BIGINT NOT NULL CHECK (size >= 0)
);
INSERT INTO log_heads (log, size)
SELECT 'inquiry_log', COALESCE(MAX(idx) + 1, 0) FROM inquiry_log
UNION ALL
SELECT 'outbound_log', COALESCE(MAX(idx) + 1, 0) FROM outbound_log;

CREATE FUNCTION log_head_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.log <> OLD.log OR NEW.size <> OLD.size + 1 THEN
        RAISE EXCEPTION 'log_heads is append-only: a head only grows by one' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER log_heads_grow BEFORE UPDATE OR DELETE ON log_heads
    FOR EACH ROW EXECUTE FUNCTION log_head_grows();
CREATE TRIGGER log_heads_no_truncate BEFORE TRUNCATE ON log_heads
    FOR EACH STATEMENT EXECUTE FUNCTION log_append_only();

-- A new row must sit exactly at the end of its log.
CREATE FUNCTION log_dense() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    want BIGINT;
BEGIN
    EXECUTE format('SELECT COALESCE(MAX(idx) + 1, 0) FROM %I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME) INTO want;
    IF NEW.idx IS DISTINCT FROM want THEN
        RAISE EXCEPTION '% is append-only: wrong index', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER inquiry_log_dense BEFORE INSERT ON inquiry_log
    FOR EACH ROW EXECUTE FUNCTION log_dense();
CREATE TRIGGER outbound_log_dense BEFORE INSERT ON outbound_log
    FOR EACH ROW EXECUTE FUNCTION log_dense();
