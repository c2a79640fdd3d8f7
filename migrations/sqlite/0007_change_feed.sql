-- The change feed (GET /api/v1/changes): every history row names the change of the
-- sequence that wrote it (`seq`, the audit id) and the county-level unit its record
-- lies in (`county`, the first six digits of its code, its township's or its
-- division's; NULL for records outside any county), so a page of the feed, of one
-- county or of the whole registry, is read from an index in order.
ALTER TABLE history ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE history ADD COLUMN county TEXT;

CREATE INDEX audit_at ON audit (at, id);

-- A write of one record audits it once: the entry of the same record and version.
UPDATE history SET seq = COALESCE((
    SELECT a.id FROM audit a
    WHERE a.entity = history.entity AND a.entity_id = history.entity_id
      AND json_valid(a.after) AND json_extract(a.after, '$.version') = history.version
    ORDER BY a.id LIMIT 1), 0);
-- A write of many records (a county added by `init --region`) audits them together,
-- at the same time stamp: the first entry at or after the row's.
UPDATE history SET seq = COALESCE((
    SELECT a.id FROM audit a WHERE a.at >= history.changed_at ORDER BY a.at, a.id LIMIT 1),
    (SELECT MAX(id) FROM audit), 0)
WHERE seq = 0;

UPDATE history SET county = CASE
    WHEN entity IN ('division', 'settlement') THEN substr(entity_id, 1, 6)
    WHEN entity = 'facility' AND json_valid(data) THEN substr(json_extract(data, '$.township_code'), 1, 6)
    WHEN entity = 'place' AND json_valid(data) THEN substr(json_extract(data, '$.division_code'), 1, 6)
END;

CREATE INDEX history_seq ON history (seq, id);
CREATE INDEX history_county_seq ON history (county, seq, id);
