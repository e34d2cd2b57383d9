-- Organisations and services keep their editable content as a JSON document; the columns
-- beside it are what queries filter and sort on.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    retired BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    last_modified TEXT NOT NULL
);

CREATE TABLE services (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    last_modified TEXT NOT NULL
);
CREATE INDEX services_by_organization ON services (organization_id, id);
CREATE INDEX services_by_status ON services (status, id);
CREATE INDEX services_by_last_modified ON services (last_modified);

CREATE TABLE service_categories (
    category TEXT NOT NULL,
    service_id TEXT NOT NULL REFERENCES services (id),
    PRIMARY KEY (category, service_id)
);
CREATE INDEX service_categories_by_service ON service_categories (service_id);

-- Every write to a service appends here; search indexes follow this log by sequence.
CREATE TABLE change_log (
    seq BIGSERIAL PRIMARY KEY,
    service_id TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
