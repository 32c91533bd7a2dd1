-- Named queries of the failure memory. Each block starts with "-- name: <name>" and a one-line
-- description; parameters are psycopg named placeholders. Vectors go as %(...)b (binary): the
-- text form costs about 0.5 ms per 384-d vector to format in Python.

-- name: count_occurrence
-- Count a failure on the row already stored for its occurrence key (or find the job already counted); returns the row id, or nothing when the failure is new.
WITH known AS (
    SELECT j.failure_id FROM failure_jobs j JOIN failures f ON f.id = j.failure_id
     WHERE j.queue = %(queue)s AND j.job_id = %(job_id)s AND f.occurrence_key = %(key)s
), bumped AS (
    UPDATE failures f
       SET occurrences = f.occurrences + 1, last_seen = now(), updated_at = now(),
           sample_job_ids = (ARRAY[%(job_id)s::text] || f.sample_job_ids)[1:%(samples)s]
     WHERE f.occurrence_key = %(key)s AND NOT EXISTS (SELECT 1 FROM known)
    RETURNING f.id
), mapped AS (
    INSERT INTO failure_jobs (queue, job_id, failure_id)
    SELECT %(queue)s, %(job_id)s, id FROM bumped
    ON CONFLICT (queue, job_id) DO UPDATE SET failure_id = EXCLUDED.failure_id, seen_at = now()
)
SELECT failure_id FROM known UNION ALL SELECT id FROM bumped;

-- name: count_occurrences
-- count_occurrence for many failures in one statement (a job given twice counts once); per input row in order, the failure id or NULL.
WITH input AS (
    SELECT * FROM unnest(%(queues)s::text[], %(job_ids)s::text[], %(keys)s::text[])
           WITH ORDINALITY AS i(queue, job_id, key, ord)
), known AS (
    SELECT i.ord, j.failure_id FROM input i
      JOIN failure_jobs j ON j.queue = i.queue AND j.job_id = i.job_id
      JOIN failures f ON f.id = j.failure_id AND f.occurrence_key = i.key
), fresh AS (
    SELECT DISTINCT ON (i.queue, i.job_id) i.* FROM input i
     WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.ord = i.ord)
     ORDER BY i.queue, i.job_id, i.ord
), agg AS (
    SELECT key, count(*) AS n, array_agg(job_id ORDER BY ord DESC) AS ids FROM fresh GROUP BY key
), bumped AS (
    UPDATE failures f
       SET occurrences = f.occurrences + agg.n, last_seen = now(), updated_at = now(),
           sample_job_ids = (agg.ids || f.sample_job_ids)[1:%(samples)s]
      FROM agg WHERE f.occurrence_key = agg.key
    RETURNING f.id, f.occurrence_key
), mapped AS (
    INSERT INTO failure_jobs (queue, job_id, failure_id)
    SELECT fr.queue, fr.job_id, b.id FROM fresh fr JOIN bumped b ON b.occurrence_key = fr.key
    ON CONFLICT (queue, job_id) DO UPDATE SET failure_id = EXCLUDED.failure_id, seen_at = now()
)
SELECT i.ord, coalesce(k.failure_id, b.id) FROM input i
  LEFT JOIN known k ON k.ord = i.ord
  LEFT JOIN bumped b ON b.occurrence_key = i.key
 ORDER BY i.ord;

-- name: insert_failure
-- Store a new failure, or count it on the row another caller stored for the same key meanwhile; returns its id and whether it was inserted.
INSERT INTO failures (queue, job_id, name, data, opts, exception_type, reason, traceback, attempts,
                      signature, signature_hash, occurrence_key, sample_job_ids)
VALUES (%(queue)s, %(job_id)s, %(name)s, %(data)s, %(opts)s, %(exception_type)s, %(reason)s,
        %(traceback)s, %(attempts)s, %(signature)s, %(signature_hash)s, %(key)s, ARRAY[%(job_id)s::text])
ON CONFLICT (occurrence_key) DO UPDATE
   SET occurrences = failures.occurrences + 1, last_seen = now(), updated_at = now(),
       sample_job_ids = (ARRAY[EXCLUDED.job_id] || failures.sample_job_ids)[1:%(samples)s]
RETURNING id, (xmax = 0) AS inserted;

-- name: map_job
-- Record which failure row a job was counted on (a job that failed again another way moves).
INSERT INTO failure_jobs (queue, job_id, failure_id) VALUES (%(queue)s, %(job_id)s, %(failure_id)s)
ON CONFLICT (queue, job_id) DO UPDATE SET failure_id = EXCLUDED.failure_id, seen_at = now();

-- name: chunk_vectors
-- The stored vectors of a failure's chunks with the given texts (to search without embedding them again).
SELECT DISTINCT ON (content) content, embedding FROM failure_chunks
 WHERE failure_id = %(failure_id)s AND content = ANY(%(contents)s);

-- name: insert_chunk
-- Store one embedded chunk of a failure.
INSERT INTO failure_chunks (failure_id, category, weight, content, embedding)
VALUES (%(failure_id)s, %(category)s, %(weight)s, %(content)s, %(embedding)b);

-- name: resolve_failure
-- Mark the failure row (queue, job_id) was counted on resolved with a summary and diff; returns its id.
UPDATE failures
   SET resolved = true, resolution_summary = %(summary)s, resolution_diff = %(diff)s,
       resolved_at = now(), updated_at = now()
 WHERE id = (SELECT failure_id FROM failure_jobs WHERE queue = %(queue)s AND job_id = %(job_id)s)
RETURNING id;

-- name: get_failure
-- One failure by id.
SELECT id, queue, job_id, name, data, opts, exception_type, reason, traceback, attempts, signature,
       signature_hash, resolved, resolution_summary, resolution_diff, failed_at, updated_at, resolved_at,
       occurrences, last_seen, sample_job_ids
  FROM failures WHERE id = %(id)s;

-- name: list_failures
-- A page of failures, newest first, optionally filtered by signature and resolution; with the total.
SELECT id, queue, job_id, name, data, opts, exception_type, reason, traceback, attempts, signature,
       signature_hash, resolved, resolution_summary, resolution_diff, failed_at, updated_at, resolved_at,
       occurrences, last_seen, sample_job_ids, count(*) OVER () AS total
  FROM failures
 WHERE (%(signature)s::text IS NULL OR signature = %(signature)s::text)
   AND (%(resolved)s::boolean IS NULL OR resolved = %(resolved)s::boolean)
 ORDER BY id DESC
 LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_failures
-- How many failures match the list filters (for a page past the end, where the window has no row).
SELECT count(*) FROM failures
 WHERE (%(signature)s::text IS NULL OR signature = %(signature)s::text)
   AND (%(resolved)s::boolean IS NULL OR resolved = %(resolved)s::boolean);

-- name: search_chunks
-- K nearest chunks per query vector through each category's HNSW index, best per stored chunk, top K by distance/weight, each with its failure's columns.
WITH hits AS (
    SELECT 'error_signature'::text AS category, h.*
      FROM unnest(%(error_signature)b::vector[]) AS q(embedding)
     CROSS JOIN LATERAL (
        SELECT c.id AS chunk_id, c.failure_id, c.content, c.embedding <=> q.embedding AS distance
          FROM failure_chunks c
         WHERE c.category = 'error_signature'
           AND (SELECT (f.resolved OR NOT %(resolved_only)s) AND NOT (f.queue = %(queue)s AND f.job_id = %(job_id)s)
                  FROM failures f WHERE f.id = c.failure_id)
         ORDER BY c.embedding <=> q.embedding LIMIT %(k)s) h
    UNION ALL
    SELECT 'failure_location', h.*
      FROM unnest(%(failure_location)b::vector[]) AS q(embedding)
     CROSS JOIN LATERAL (
        SELECT c.id, c.failure_id, c.content, c.embedding <=> q.embedding
          FROM failure_chunks c
         WHERE c.category = 'failure_location'
           AND (SELECT (f.resolved OR NOT %(resolved_only)s) AND NOT (f.queue = %(queue)s AND f.job_id = %(job_id)s)
                  FROM failures f WHERE f.id = c.failure_id)
         ORDER BY c.embedding <=> q.embedding LIMIT %(k)s) h
    UNION ALL
    SELECT 'code_context', h.*
      FROM unnest(%(code_context)b::vector[]) AS q(embedding)
     CROSS JOIN LATERAL (
        SELECT c.id, c.failure_id, c.content, c.embedding <=> q.embedding
          FROM failure_chunks c
         WHERE c.category = 'code_context'
           AND (SELECT (f.resolved OR NOT %(resolved_only)s) AND NOT (f.queue = %(queue)s AND f.job_id = %(job_id)s)
                  FROM failures f WHERE f.id = c.failure_id)
         ORDER BY c.embedding <=> q.embedding LIMIT %(k)s) h
    UNION ALL
    SELECT 'metadata', h.*
      FROM unnest(%(metadata)b::vector[]) AS q(embedding)
     CROSS JOIN LATERAL (
        SELECT c.id, c.failure_id, c.content, c.embedding <=> q.embedding
          FROM failure_chunks c
         WHERE c.category = 'metadata'
           AND (SELECT (f.resolved OR NOT %(resolved_only)s) AND NOT (f.queue = %(queue)s AND f.job_id = %(job_id)s)
                  FROM failures f WHERE f.id = c.failure_id)
         ORDER BY c.embedding <=> q.embedding LIMIT %(k)s) h
    -- The failure filter is a scalar sub-select on purpose: it stays a per-row check under the
    -- ordered index scan, where a join could be planned as a hash join that drains the index.
), best AS (
    SELECT DISTINCT ON (chunk_id) category, chunk_id, failure_id, content, distance
      FROM hits ORDER BY chunk_id, distance
), top AS (
    SELECT b.chunk_id, b.failure_id, b.category, b.content, b.distance, b.distance / w.weight AS weighted
      FROM best b
      JOIN (VALUES ('error_signature', %(w_error_signature)s::float8),
                   ('failure_location', %(w_failure_location)s::float8),
                   ('code_context', %(w_code_context)s::float8),
                   ('metadata', %(w_metadata)s::float8)) AS w(category, weight) USING (category)
     ORDER BY weighted, b.chunk_id
     LIMIT %(k)s
)
-- The failures come along (one round trip, not two: a search right after storing is on the
-- resolver's path, and on a busy machine each round trip cost tens of milliseconds).
SELECT t.chunk_id, t.failure_id, t.category, t.content, t.distance, t.weighted,
       f.id, f.queue, f.job_id, f.name, f.data, f.opts, f.exception_type, f.reason, f.traceback, f.attempts,
       f.signature, f.signature_hash, f.resolved, f.resolution_summary, f.resolution_diff, f.failed_at,
       f.updated_at, f.resolved_at, f.occurrences, f.last_seen, f.sample_job_ids
  FROM top t JOIN failures f ON f.id = t.failure_id
 ORDER BY t.weighted, t.chunk_id;

-- name: reject_fix
-- Store a fix a person rejected, with the reason (the same fix again replaces it).
INSERT INTO rejected_fixes (fix_id, name, signature, reason, summary, diff, rejected_by)
VALUES (%(fix_id)s, %(name)s, %(signature)s, %(reason)s, %(summary)s, %(diff)s, %(by)s)
ON CONFLICT (fix_id) DO UPDATE
   SET reason = EXCLUDED.reason, rejected_by = EXCLUDED.rejected_by, rejected_at = now();

-- name: unresolve_failure
-- Take back the resolution of (queue, job_id) when a person rejected the fix behind it.
UPDATE failures
   SET resolved = false, resolution_summary = NULL, resolution_diff = NULL, resolved_at = NULL,
       updated_at = now()
 WHERE id = (SELECT failure_id FROM failure_jobs WHERE queue = %(queue)s AND job_id = %(job_id)s)
   AND resolution_diff = %(diff)s;

-- name: rejected_fixes
-- The newest rejected fixes of one handler and signature.
SELECT reason, summary, diff FROM rejected_fixes
 WHERE name = %(name)s AND signature = %(signature)s
 ORDER BY rejected_at DESC, id DESC
 LIMIT %(limit)s;
