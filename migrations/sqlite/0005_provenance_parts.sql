-- Provenance per part (issue 14): a division's `provenance` is now that of its code
-- and name, `geometry_provenance` that of its outline or seat point; a settlement's
-- `provenance` is that of its code and name, `location_provenance` of its point and
-- `population_provenance` of its population figures (NULL where there are none).
ALTER TABLE divisions ADD COLUMN geometry_provenance TEXT
    CHECK (geometry_provenance IN ('real', 'synthetic', 'registered'));
ALTER TABLE settlements ADD COLUMN location_provenance TEXT NOT NULL DEFAULT 'synthetic'
    CHECK (location_provenance IN ('real', 'synthetic', 'registered'));
ALTER TABLE settlements ADD COLUMN population_provenance TEXT
    CHECK (population_provenance IN ('real', 'synthetic', 'registered'));

-- Until now one label stood for the whole record: it described the parts diming
-- synthesised. Every division and settlement diming ever made carries an NBS 2023
-- code and name (data/README.md), so those are real; the old label moves to the
-- geometry, the point and the population.
UPDATE divisions SET geometry_provenance = provenance WHERE geometry IS NOT NULL;
-- A record an officer imported kept the old label: its parts are the officer's, never
-- to be redrawn or relabelled as sample data.
UPDATE divisions SET geometry_provenance = 'registered'
    WHERE geometry IS NOT NULL AND code IN (SELECT entity_id FROM history WHERE entity = 'division' AND action = 'import');
UPDATE divisions SET provenance = 'real' WHERE provenance = 'synthetic';
UPDATE settlements SET location_provenance = provenance,
    population_provenance = CASE WHEN population IS NULL AND population_60plus IS NULL THEN NULL ELSE provenance END;
UPDATE settlements SET location_provenance = 'registered',
    population_provenance = CASE WHEN population IS NULL AND population_60plus IS NULL THEN NULL ELSE 'registered' END
    WHERE code IN (SELECT entity_id FROM history WHERE entity = 'settlement' AND action = 'import');
UPDATE settlements SET provenance = 'real' WHERE provenance = 'synthetic';
-- The seeded standard names of townships and villages: real NBS names at synthetic places.
UPDATE places SET provenance = 'real', attributes = json_set(attributes, '$.geometry_provenance', 'synthetic')
    WHERE provenance = 'synthetic' AND category IN ('township', 'village');

