-- PostgreSQL twin of ../0006_invocations.sql.
CREATE TABLE invocations (
    id            TEXT COLLATE "C" PRIMARY KEY,
    function      TEXT COLLATE "C" NOT NULL,
    platform      TEXT COLLATE "C" NOT NULL,
    backend       TEXT COLLATE "C" NOT NULL,
    status        BIGINT           NOT NULL,
    outcome       TEXT COLLATE "C" NOT NULL,
    latency_ms    DOUBLE PRECISION NOT NULL,
    exec_ms       DOUBLE PRECISION,
    cold_start    BIGINT           NOT NULL,
    cost_usd      DOUBLE PRECISION NOT NULL,
    fallback      BIGINT           NOT NULL,
    payload_bytes BIGINT           NOT NULL,
    error         TEXT COLLATE "C",
    created_at    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX invocations_function_time ON invocations (function, created_at);
