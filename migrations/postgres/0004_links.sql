-- Link checking: every check of every URL, each URL's running state and flag, the
-- cycles run, and the lease that lets one replica run a cycle at a time.
CREATE TABLE link_checks (
    seq BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    finding TEXT NOT NULL,
    status INTEGER,
    detail TEXT NOT NULL,
    final_url TEXT,
    suggested_url TEXT,
    hops TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    elapsed_ms BIGINT NOT NULL
);
CREATE INDEX link_checks_by_url ON link_checks (url, seq);

CREATE TABLE link_states (
    url TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    flag TEXT,
    checked_at TEXT NOT NULL
);
CREATE INDEX link_states_by_flag ON link_states (flag);

CREATE TABLE link_cycles (
    seq BIGSERIAL PRIMARY KEY,
    holder TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    urls BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL
);

CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
