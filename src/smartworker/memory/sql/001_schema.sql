-- Failures, their embedded chunks and the memory's own metadata.
-- @DIMENSION@ is replaced by the embedding dimension when the migration is applied.

CREATE EXTENSION IF NOT EXISTS vector;

-- One row per key: embedding_dimension and embedding_model, written once, checked at every start.
CREATE TABLE memory_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE failures (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue              text        NOT NULL,
    job_id             text        NOT NULL,
    name               text        NOT NULL,
    data               jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- redacted
    opts               jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- redacted
    exception_type     text        NOT NULL DEFAULT '',
    reason             text        NOT NULL DEFAULT '',           -- redacted exception message
    traceback          text        NOT NULL DEFAULT '',           -- redacted
    attempts           integer     NOT NULL DEFAULT 0,
    signature          text        NOT NULL DEFAULT '',
    signature_hash     text        NOT NULL DEFAULT '',
    resolved           boolean     NOT NULL DEFAULT false,
    resolution_summary text,
    resolution_diff    text,
    failed_at          timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    resolved_at        timestamptz,
    UNIQUE (queue, job_id)
);

-- The dashboard filters by signature and by resolution, newest first.
CREATE INDEX failures_signature_idx ON failures (signature, id DESC);
CREATE INDEX failures_resolved_idx ON failures (resolved, id DESC);

CREATE TABLE failure_chunks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    failure_id bigint  NOT NULL REFERENCES failures (id) ON DELETE CASCADE,
    category   text    NOT NULL
        CHECK (category IN ('error_signature', 'failure_location', 'code_context', 'metadata')),
    weight     real    NOT NULL,  -- the weight in force when stored; search uses the current settings
    content    text    NOT NULL,
    embedding  vector(@DIMENSION@) NOT NULL
);

-- ON DELETE CASCADE and re-remembering a failure look chunks up by failure.
CREATE INDEX failure_chunks_failure_idx ON failure_chunks (failure_id);
