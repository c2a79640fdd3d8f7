-- Webhook subscriptions and their deliveries. The outbox is the history itself: a
-- subscription keeps the change number it has delivered through, and its deliverer
-- reads the change feed on from there (filtered by its layers and counties), so a
-- change is never lost to a crash or a restart and costs no extra row per
-- subscriber. Times for scheduling are Unix milliseconds.
CREATE TABLE webhooks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    url               TEXT NOT NULL,
    layers            TEXT NOT NULL DEFAULT '',
    counties          TEXT NOT NULL DEFAULT '',
    secret            TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'failing', 'disabled')),
    delivered_through INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    failing_since_ms  INTEGER,
    next_attempt_ms   INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    last_delivery_at  TEXT,
    lease_owner       TEXT,
    lease_until_ms    INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id),
    at          TEXT NOT NULL,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    changes     INTEGER NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL,
    ok          BOOLEAN NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
