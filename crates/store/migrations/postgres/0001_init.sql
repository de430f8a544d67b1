-- PostgreSQL twin of ../0001_init.sql (same tables and columns; see src/migrations.rs).
CREATE TABLE models (
    name          TEXT COLLATE "C" NOT NULL,
    version       BIGINT           NOT NULL,
    sha256        TEXT COLLATE "C" NOT NULL,
    artifact_path TEXT COLLATE "C" NOT NULL,
    size_bytes    BIGINT           NOT NULL,
    task          TEXT COLLATE "C" NOT NULL,
    preprocess    TEXT COLLATE "C" NOT NULL,
    labels        TEXT COLLATE "C" NOT NULL,
    signature     TEXT COLLATE "C" NOT NULL,
    source        TEXT COLLATE "C" NOT NULL,
    active        BIGINT           NOT NULL DEFAULT 0,
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE inferences (
    id            TEXT COLLATE "C" PRIMARY KEY,
    created_at    TEXT COLLATE "C" NOT NULL,
    model         TEXT COLLATE "C" NOT NULL,
    version       BIGINT           NOT NULL,
    label         TEXT COLLATE "C" NOT NULL,
    confidence    DOUBLE PRECISION NOT NULL,
    in_domain     BIGINT           NOT NULL,
    cached        BIGINT           NOT NULL,
    timings       TEXT COLLATE "C" NOT NULL,
    answer        TEXT COLLATE "C" NOT NULL,
    image_sha256  TEXT COLLATE "C" NOT NULL,
    object_key    TEXT COLLATE "C" NOT NULL,
    content_type  TEXT COLLATE "C" NOT NULL,
    size_bytes    BIGINT           NOT NULL,
    client_id     TEXT COLLATE "C"
);
CREATE INDEX inferences_label ON inferences (label, id);
CREATE INDEX inferences_created ON inferences (created_at);

CREATE TABLE output_cache (
    image_sha256  TEXT COLLATE "C" NOT NULL,
    model         TEXT COLLATE "C" NOT NULL,
    version       BIGINT           NOT NULL,
    logits        BYTEA            NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (image_sha256, model, version)
);
