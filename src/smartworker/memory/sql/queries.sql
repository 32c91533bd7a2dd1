-- Named queries of the failure memory. Each block starts with "-- name: <name>" and a one-line
-- description; parameters are psycopg named placeholders. Vectors go as %(...)b (binary): the
-- text form costs about 0.5 ms per 384-d vector to format in Python.

-- name: upsert_failure
-- Insert a failure, or refresh the row already stored for (queue, job_id); returns its id.
INSERT INTO failures (queue, job_id, name, data, opts, exception_type, reason, traceback, attempts,
                      signature, signature_hash)
VALUES (%(queue)s, %(job_id)s, %(name)s, %(data)s, %(opts)s, %(exception_type)s, %(reason)s,
        %(traceback)s, %(attempts)s, %(signature)s, %(signature_hash)s)
ON CONFLICT (queue, job_id) DO UPDATE
   SET name = EXCLUDED.name, data = EXCLUDED.data, opts = EXCLUDED.opts,
       exception_type = EXCLUDED.exception_type, reason = EXCLUDED.reason,
       traceback = EXCLUDED.traceback, attempts = EXCLUDED.attempts,
       signature = EXCLUDED.signature, signature_hash = EXCLUDED.signature_hash, updated_at = now()
RETURNING id;

-- name: delete_chunks
-- Drop a failure's chunks before storing the fresh ones (re-remembering replaces, never duplicates).
DELETE FROM failure_chunks WHERE failure_id = %(failure_id)s;

-- name: insert_chunk
-- Store one embedded chunk of a failure.
INSERT INTO failure_chunks (failure_id, category, weight, content, embedding)
VALUES (%(failure_id)s, %(category)s, %(weight)s, %(content)s, %(embedding)b);

-- name: resolve_failure
-- Mark the failure of (queue, job_id) resolved with a summary and diff; returns its id.
UPDATE failures
   SET resolved = true, resolution_summary = %(summary)s, resolution_diff = %(diff)s,
       resolved_at = now(), updated_at = now()
 WHERE queue = %(queue)s AND job_id = %(job_id)s
RETURNING id;

-- name: get_failure
-- One failure by id.
SELECT id, queue, job_id, name, data, opts, exception_type, reason, traceback, attempts, signature,
       signature_hash, resolved, resolution_summary, resolution_diff, failed_at, updated_at, resolved_at
  FROM failures WHERE id = %(id)s;

-- name: get_failures
-- Several failures by id (the search result's winner and neighbours).
SELECT id, queue, job_id, name, data, opts, exception_type, reason, traceback, attempts, signature,
       signature_hash, resolved, resolution_summary, resolution_diff, failed_at, updated_at, resolved_at
  FROM failures WHERE id = ANY(%(ids)s);

-- name: list_failures
-- A page of failures, newest first, optionally filtered by signature and resolution; with the total.
SELECT id, queue, job_id, name, data, opts, exception_type, reason, traceback, attempts, signature,
       signature_hash, resolved, resolution_summary, resolution_diff, failed_at, updated_at, resolved_at,
       count(*) OVER () AS total
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
-- K nearest chunks per query vector through each category's HNSW index, best per stored chunk, top K by distance/weight.
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
)
SELECT b.chunk_id, b.failure_id, b.category, b.content, b.distance, b.distance / w.weight AS weighted
  FROM best b
  JOIN (VALUES ('error_signature', %(w_error_signature)s::float8),
               ('failure_location', %(w_failure_location)s::float8),
               ('code_context', %(w_code_context)s::float8),
               ('metadata', %(w_metadata)s::float8)) AS w(category, weight) USING (category)
 ORDER BY weighted, b.chunk_id
 LIMIT %(k)s;

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
 WHERE queue = %(queue)s AND job_id = %(job_id)s AND resolution_diff = %(diff)s;

-- name: rejected_fixes
-- The newest rejected fixes of one handler and signature.
SELECT reason, summary, diff FROM rejected_fixes
 WHERE name = %(name)s AND signature = %(signature)s
 ORDER BY rejected_at DESC, id DESC
 LIMIT %(limit)s;
