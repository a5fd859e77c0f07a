-- 0002_log_dense: the logs accept an insert only at the next index, so no
-- gap can be made and no row replaced: INSERT OR REPLACE deletes the old row
-- without firing the DELETE triggers of 0001.

CREATE TRIGGER inquiry_log_dense BEFORE INSERT ON inquiry_log
WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM inquiry_log)
BEGIN
    SELECT RAISE(ABORT, 'inquiry_log is append-only: wrong index');
END;

CREATE TRIGGER outbound_log_dense BEFORE INSERT ON outbound_log
WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM outbound_log)
BEGIN
    SELECT RAISE(ABORT, 'outbound_log is append-only: wrong index');
END;
