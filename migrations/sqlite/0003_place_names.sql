-- Standard place names (标准地名): the naming workflow's fields. A name is
-- proposed, then approved by someone other than its proposer (with the approving
-- body, document number and date); a renaming approves a successor and marks the
-- old record `renamed`; a retired name is never deleted and still resolves.

ALTER TABLE places ADD COLUMN specific_term TEXT NOT NULL DEFAULT '';
ALTER TABLE places ADD COLUMN generic_term TEXT NOT NULL DEFAULT '';
ALTER TABLE places ADD COLUMN romanization_source TEXT NOT NULL DEFAULT 'suggested'
    CHECK (romanization_source IN ('suggested', 'officer'));
ALTER TABLE places ADD COLUMN origin TEXT;
ALTER TABLE places ADD COLUMN alternate_names TEXT NOT NULL DEFAULT '[]';
ALTER TABLE places ADD COLUMN historic_names TEXT NOT NULL DEFAULT '[]';
ALTER TABLE places ADD COLUMN minority_form TEXT;
ALTER TABLE places ADD COLUMN proposed_by TEXT;
ALTER TABLE places ADD COLUMN decided_by TEXT;
ALTER TABLE places ADD COLUMN approving_body TEXT;
ALTER TABLE places ADD COLUMN document_no TEXT;
ALTER TABLE places ADD COLUMN decided_on TEXT;
ALTER TABLE places ADD COLUMN predecessor_id TEXT REFERENCES places (id);
ALTER TABLE places ADD COLUMN successor_id TEXT REFERENCES places (id);

CREATE INDEX places_name ON places (name);
CREATE INDEX places_status ON places (status);
CREATE INDEX places_division ON places (division_code);
