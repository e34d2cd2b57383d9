-- Other directories' Open Referral UK feeds that signpost reads, what each pull found,
-- and which local service each of their records became.
CREATE TABLE sources (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    added_at TEXT NOT NULL,
    -- new, ok or failing
    state TEXT NOT NULL,
    last_attempt_at TEXT,
    last_success_at TEXT,
    -- The last pull that walked every record (and so could tell which vanished).
    last_full_at TEXT,
    -- What the next pull asks for as modified_after.
    next_modified_after TEXT,
    last_error TEXT,
    last_report TEXT,
    records BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE source_records (
    source_id TEXT NOT NULL REFERENCES sources (id),
    record_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    -- When signpost last took a changed copy of it.
    copied_at TEXT NOT NULL,
    -- When a pull last found it.
    seen_at TEXT NOT NULL,
    vanished_at TEXT,
    PRIMARY KEY (source_id, record_id)
);
CREATE UNIQUE INDEX source_records_by_service ON source_records (service_id);

-- Likely duplicates found when a pull brings a new record, for a person to decide.
CREATE TABLE possible_duplicates (
    service_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    found_at TEXT NOT NULL,
    PRIMARY KEY (service_id, other_id)
);
