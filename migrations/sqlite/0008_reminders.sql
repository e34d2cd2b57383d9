-- Reminders to the people who keep organisations' entries current, and the one-click
-- links in them.
CREATE TABLE update_contacts (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, email)
);

CREATE TABLE reminders (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- sent, failed or dry_run
    state TEXT NOT NULL,
    recipients TEXT NOT NULL,
    -- [{service_id, name, reasons}]
    services TEXT NOT NULL,
    error TEXT,
    answered_at TEXT,
    -- Set when this reminder made the run count enough unanswered ones in a row to ask
    -- the administrators.
    escalated_at TEXT
);
CREATE INDEX reminders_by_organization ON reminders (organization_id, created_at);

CREATE TABLE reminder_links (
    id TEXT PRIMARY KEY NOT NULL,
    reminder_id TEXT NOT NULL REFERENCES reminders (id),
    service_id TEXT NOT NULL,
    action TEXT NOT NULL,
    contact TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- Server secrets made once and shared by replicas (the key that signs reminder links).
CREATE TABLE secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
