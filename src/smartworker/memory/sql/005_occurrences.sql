-- Occurrences: a failure whose job, signature and location are already stored is counted on that
-- row instead of being stored (and embedded) again. A storm of one bug is one row with a count.
--
-- occurrence_key: SHA-256 (hex) of queue, job name, signature hash and the failure_location chunk
-- texts in order, each line-separated (store.occurrence_key computes the same in Python).
-- sample_job_ids: the newest few job ids that failed this way (store.SAMPLE_JOB_IDS at most).

ALTER TABLE failures
    ADD COLUMN occurrence_key text,
    ADD COLUMN occurrences    integer     NOT NULL DEFAULT 1,
    ADD COLUMN last_seen      timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN sample_job_ids text[]      NOT NULL DEFAULT '{}';

-- Which failure row each failed job was counted on: a retried `remember` counts once, and a
-- resolution of any of its jobs finds the row. One small row per job (no vectors).
CREATE TABLE failure_jobs (
    queue      text        NOT NULL,
    job_id     text        NOT NULL,
    failure_id bigint      NOT NULL REFERENCES failures (id) ON DELETE CASCADE,
    seen_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, job_id)
);
CREATE INDEX failure_jobs_failure_idx ON failure_jobs (failure_id);
-- A row's queue and job_id now name the job that first failed this way; failure_jobs maps the others.
-- A job retried with its own id that fails another way gets a row of its own, so drop the uniqueness.
ALTER TABLE failures DROP CONSTRAINT failures_queue_job_id_key;

-- Rows stored before this migration: each is its own job, first and last seen when it failed.
UPDATE failures SET last_seen = failed_at, sample_job_ids = ARRAY[job_id];
INSERT INTO failure_jobs (queue, job_id, failure_id, seen_at)
SELECT queue, job_id, id, failed_at FROM failures;

-- Earlier duplicates keep their own rows; the oldest of each group carries the key, so new
-- occurrences are counted there.
WITH keyed AS (
    SELECT f.id,
           encode(sha256(convert_to(
               f.queue || E'\n' || f.name || E'\n' || f.signature_hash
               || coalesce((SELECT string_agg(E'\n' || c.content, '' ORDER BY c.id)
                              FROM failure_chunks c
                             WHERE c.failure_id = f.id AND c.category = 'failure_location'), ''),
               'UTF8')), 'hex') AS k
      FROM failures f
), first AS (
    SELECT DISTINCT ON (k) id, k FROM keyed ORDER BY k, id
)
UPDATE failures f SET occurrence_key = first.k FROM first WHERE f.id = first.id;

CREATE UNIQUE INDEX failures_occurrence_key_idx ON failures (occurrence_key);
