-- PostgreSQL twin of ../0008_replicas.sql.
CREATE TABLE gateway_replicas (
    id            TEXT COLLATE "C" PRIMARY KEY,
    address       TEXT COLLATE "C" NOT NULL,
    started_at    TEXT COLLATE "C" NOT NULL,
    last_seen_at  TEXT COLLATE "C" NOT NULL
);

ALTER TABLE alarms ADD COLUMN replica TEXT COLLATE "C";
