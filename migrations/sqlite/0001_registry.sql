-- diming registry, SQLite dialect. Geometry is GeoJSON text in CGCS2000 lon/lat
-- (EPSG:4490); point layers also keep lon/lat columns for plain SQL queries.
-- Every table that officers change has a `version`; `history` keeps every version
-- of every record and `audit` every action, both written in the same transaction.

PRAGMA application_id = 1684630887; -- 'dimg': marks the file as a diming registry

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE divisions (
    code        TEXT PRIMARY KEY,
    level       TEXT NOT NULL CHECK (level IN ('county', 'township', 'village')),
    name        TEXT NOT NULL,
    pinyin      TEXT NOT NULL,
    parent_code TEXT REFERENCES divisions (code),
    geometry    TEXT,
    is_xpcc     INTEGER NOT NULL DEFAULT 0,
    provenance  TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    properties  TEXT NOT NULL DEFAULT '{}',
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX divisions_parent ON divisions (parent_code);
CREATE INDEX divisions_level ON divisions (level);

CREATE TABLE settlements (
    code              TEXT PRIMARY KEY REFERENCES divisions (code),
    name              TEXT NOT NULL,
    short_name        TEXT NOT NULL,
    township_code     TEXT NOT NULL REFERENCES divisions (code),
    village_kind      TEXT NOT NULL,
    lon               REAL NOT NULL,
    lat               REAL NOT NULL,
    population        INTEGER CHECK (population >= 0),
    population_60plus INTEGER CHECK (population_60plus >= 0),
    is_xpcc           INTEGER NOT NULL DEFAULT 0,
    provenance        TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    version           INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX settlements_township ON settlements (township_code);

CREATE TABLE facilities (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL CHECK (length(trim(name)) > 0),
    kind          TEXT NOT NULL,
    township_code TEXT NOT NULL REFERENCES divisions (code),
    lon           REAL NOT NULL,
    lat           REAL NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'planned', 'closed')),
    capacity_beds INTEGER CHECK (capacity_beds >= 0),
    operator      TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    provenance    TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TEXT NOT NULL
);
CREATE INDEX facilities_kind ON facilities (kind);
CREATE INDEX facilities_township ON facilities (township_code);

-- Standard place names; the naming workflow fills this table (see the place-name issue).
CREATE TABLE places (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    category      TEXT NOT NULL,
    division_code TEXT REFERENCES divisions (code),
    geometry      TEXT,
    romanization  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('proposed', 'approved', 'renamed', 'retired')),
    attributes    TEXT NOT NULL DEFAULT '{}',
    provenance    TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    version       INTEGER NOT NULL DEFAULT 1,
    updated_at    TEXT NOT NULL
);

CREATE TABLE history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    UNIQUE (entity, entity_id, version)
);

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_entity ON audit (entity, entity_id);
