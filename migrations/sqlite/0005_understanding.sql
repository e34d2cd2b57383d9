-- Lexicon entries administrators add at run time (the shipped files are in the binary),
-- and daily counts of normalised questions that found nothing or only partial matches.
-- Nothing here is about a caller: see src/understand/gaps.rs for what is stripped.
CREATE TABLE lexicon_entries (
    id TEXT PRIMARY KEY NOT NULL,
    need TEXT NOT NULL,
    phrase TEXT NOT NULL,
    confidence REAL NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE search_gaps (
    day TEXT NOT NULL,
    question TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, question, kind)
);
