-- API keys. The token itself is never stored: only its SHA-256 (hex), shown once at creation.
CREATE TABLE api_keys (
    id            TEXT    PRIMARY KEY,
    name          TEXT,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'client')),
    token_sha256  TEXT    NOT NULL UNIQUE,
    rate_per_s    REAL,             -- NULL: the role's rate from the config; 0: unlimited
    burst         INTEGER,          -- NULL: the role's burst from the config
    created_at    TEXT    NOT NULL, -- RFC 3339 UTC
    last_used_at  TEXT,             -- RFC 3339 UTC, updated at most once a minute
    revoked_at    TEXT              -- RFC 3339 UTC; NULL while the key is valid
);

-- A client's own history (client_id is the API key id when auth is on).
CREATE INDEX inferences_client ON inferences (client_id, id);
