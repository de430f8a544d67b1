-- PostgreSQL twin of ../0004_alarms.sql.
CREATE TABLE alarms (
    id            TEXT COLLATE "C" PRIMARY KEY,
    kind          TEXT COLLATE "C" NOT NULL,
    raised_at     TEXT COLLATE "C" NOT NULL,
    cleared_at    TEXT COLLATE "C",
    value         DOUBLE PRECISION NOT NULL,
    threshold     DOUBLE PRECISION NOT NULL,
    message       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX alarms_open ON alarms (cleared_at, raised_at);
