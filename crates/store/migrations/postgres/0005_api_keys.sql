-- PostgreSQL twin of ../0005_api_keys.sql.
CREATE TABLE api_keys (
    id            TEXT COLLATE "C" PRIMARY KEY,
    name          TEXT COLLATE "C",
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('admin', 'client')),
    token_sha256  TEXT COLLATE "C" NOT NULL UNIQUE,
    rate_per_s    DOUBLE PRECISION,
    burst         BIGINT,
    created_at    TEXT COLLATE "C" NOT NULL,
    last_used_at  TEXT COLLATE "C",
    revoked_at    TEXT COLLATE "C"
);

CREATE INDEX inferences_client ON inferences (client_id, id);
