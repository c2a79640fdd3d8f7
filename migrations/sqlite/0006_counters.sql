-- The next number of each generated id (f0001, p00001): read and advanced inside the
-- write transaction that uses it, so a create never scans the table for the
-- largest id. Started past the largest such id already held.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    next INTEGER NOT NULL CHECK (next >= 1)
);
INSERT INTO counters (name, next)
SELECT 'facilities', COALESCE(MAX(CAST(substr(id, 2) AS INTEGER)), 0) + 1 FROM facilities
WHERE id GLOB 'f[0-9]*' AND NOT substr(id, 2) GLOB '*[^0-9]*' AND length(id) <= 16;
INSERT INTO counters (name, next)
SELECT 'places', COALESCE(MAX(CAST(substr(id, 2) AS INTEGER)), 0) + 1 FROM places
WHERE id GLOB 'p[0-9]*' AND NOT substr(id, 2) GLOB '*[^0-9]*' AND length(id) <= 16;
