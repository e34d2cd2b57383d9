-- Reference data for eligibility: GP practices and their networks, postcodes and
-- postcode districts. Each kind is replaced whole by `signpost geo import`.
CREATE TABLE gp_practices (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    postcode TEXT NOT NULL,
    status TEXT NOT NULL,
    icb TEXT,
    sub_icb TEXT,
    -- lower-case name, address, postcode and code, for finding a practice by any of them
    search TEXT NOT NULL
);

CREATE TABLE practice_pcns (
    practice TEXT PRIMARY KEY NOT NULL,
    pcn TEXT NOT NULL,
    pcn_name TEXT NOT NULL,
    started TEXT
);

CREATE TABLE postcode_districts (
    outcode TEXT PRIMARY KEY NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    non_geographic BOOLEAN NOT NULL
);

CREATE TABLE postcodes (
    postcode TEXT PRIMARY KEY NOT NULL,
    latitude DOUBLE PRECISION,
    longitude DOUBLE PRECISION,
    local_authority TEXT,
    sub_icb TEXT,
    icb TEXT,
    terminated TEXT
);

CREATE TABLE sub_icbs (
    ons TEXT PRIMARY KEY NOT NULL,
    ods TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX sub_icbs_by_ods ON sub_icbs (ods);

CREATE TABLE geo_releases (
    kind TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    rows BIGINT NOT NULL,
    imported_at TEXT NOT NULL
);
