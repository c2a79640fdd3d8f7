-- diming registry, PostgreSQL/PostGIS dialect: the same tables, columns and
-- meanings as migrations/sqlite (the store's SQL is shared), plus PostGIS geometry
-- columns in CGCS2000 (SRID 4490) kept by the database itself, with GiST indexes,
-- so GIS tools (QGIS, ArcGIS, GDAL) can open the tables directly.
--
-- The text columns `geometry` (GeoJSON) and `lon`/`lat` are what diming reads and
-- writes; `geom` is generated from them and never written by hand.

CREATE EXTENSION IF NOT EXISTS postgis;

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
    is_xpcc     BOOLEAN NOT NULL DEFAULT FALSE,
    provenance  TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    properties  TEXT NOT NULL DEFAULT '{}',
    version     BIGINT NOT NULL DEFAULT 1,
    geom        geometry(Geometry, 4490)
        GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4490)) STORED
);
CREATE INDEX divisions_parent ON divisions (parent_code);
CREATE INDEX divisions_level ON divisions (level);
CREATE INDEX divisions_geom ON divisions USING GIST (geom);

CREATE TABLE settlements (
    code              TEXT PRIMARY KEY REFERENCES divisions (code),
    name              TEXT NOT NULL,
    short_name        TEXT NOT NULL,
    township_code     TEXT NOT NULL REFERENCES divisions (code),
    village_kind      TEXT NOT NULL,
    lon               DOUBLE PRECISION NOT NULL,
    lat               DOUBLE PRECISION NOT NULL,
    population        BIGINT CHECK (population >= 0),
    population_60plus BIGINT CHECK (population_60plus >= 0),
    is_xpcc           BOOLEAN NOT NULL DEFAULT FALSE,
    provenance        TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    version           BIGINT NOT NULL DEFAULT 1,
    geom              geometry(Point, 4490) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4490)) STORED
);
CREATE INDEX settlements_township ON settlements (township_code);
CREATE INDEX settlements_geom ON settlements USING GIST (geom);

CREATE TABLE facilities (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL CHECK (length(trim(name)) > 0),
    kind          TEXT NOT NULL,
    township_code TEXT NOT NULL REFERENCES divisions (code),
    lon           DOUBLE PRECISION NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'planned', 'closed')),
    capacity_beds BIGINT CHECK (capacity_beds >= 0),
    operator      TEXT,
    attributes    TEXT NOT NULL DEFAULT '{}',
    provenance    TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    version       BIGINT NOT NULL DEFAULT 1,
    updated_at    TEXT NOT NULL,
    geom          geometry(Point, 4490) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4490)) STORED
);
CREATE INDEX facilities_kind ON facilities (kind);
CREATE INDEX facilities_township ON facilities (township_code);
CREATE INDEX facilities_geom ON facilities USING GIST (geom);

CREATE TABLE places (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    category            TEXT NOT NULL,
    division_code       TEXT REFERENCES divisions (code),
    geometry            TEXT,
    romanization        TEXT,
    status              TEXT NOT NULL CHECK (status IN ('proposed', 'approved', 'renamed', 'retired')),
    attributes          TEXT NOT NULL DEFAULT '{}',
    provenance          TEXT NOT NULL CHECK (provenance IN ('real', 'synthetic', 'registered')),
    version             BIGINT NOT NULL DEFAULT 1,
    updated_at          TEXT NOT NULL,
    specific_term       TEXT NOT NULL DEFAULT '',
    generic_term        TEXT NOT NULL DEFAULT '',
    romanization_source TEXT NOT NULL DEFAULT 'suggested' CHECK (romanization_source IN ('suggested', 'officer')),
    origin              TEXT,
    alternate_names     TEXT NOT NULL DEFAULT '[]',
    historic_names      TEXT NOT NULL DEFAULT '[]',
    minority_form       TEXT,
    proposed_by         TEXT,
    decided_by          TEXT,
    approving_body      TEXT,
    document_no         TEXT,
    decided_on          TEXT,
    predecessor_id      TEXT REFERENCES places (id) DEFERRABLE INITIALLY DEFERRED,
    successor_id        TEXT REFERENCES places (id) DEFERRABLE INITIALLY DEFERRED,
    geom                geometry(Geometry, 4490)
        GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromGeoJSON(geometry), 4490)) STORED
);
CREATE INDEX places_name ON places (name);
CREATE INDEX places_status ON places (status);
CREATE INDEX places_division ON places (division_code);
CREATE INDEX places_geom ON places USING GIST (geom);

CREATE TABLE history (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    entity     TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    UNIQUE (entity, entity_id, version)
);

CREATE TABLE audit (
    id        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_entity ON audit (entity, entity_id);

CREATE TABLE users (
    id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (length(trim(username)) > 0),
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'approver', 'admin')),
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TEXT NOT NULL,
    version       BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Marks the database as a diming registry (SQLite uses PRAGMA application_id).
INSERT INTO meta (key, value) VALUES ('application', 'diming');
