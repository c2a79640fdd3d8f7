-- The audit as a hash chain (store::chain): each entry keeps the hash of the one
-- before it and its own. Entries written before this migration are sealed in id
-- order when the registry is next opened.
ALTER TABLE audit ADD COLUMN prev_hash TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;
