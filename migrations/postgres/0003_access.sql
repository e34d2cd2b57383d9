-- API keys with roles, the audit trail of every change, navigators' reports and the
-- notes that resolve review-queue items.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    organization_id TEXT REFERENCES organizations (id),
    -- SHA-256 of the whole key, hex; the key itself is never stored
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);

CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX audit_by_entity ON audit_log (entity, entity_id, seq);

CREATE TABLE reports (
    id TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id),
    kind TEXT NOT NULL,
    text TEXT,
    reporter TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by TEXT,
    resolution TEXT
);
CREATE INDEX reports_open ON reports (resolved_at, created_at);

CREATE TABLE review_resolutions (
    item TEXT PRIMARY KEY NOT NULL,
    service_id TEXT NOT NULL,
    resolved_at TEXT NOT NULL,
    resolved_by TEXT NOT NULL,
    note TEXT NOT NULL
);
