-- One partial HNSW cosine index per category: a search names its category as a constant, so the
-- planner picks that category's index and the graph holds only comparable chunks (a single index
-- with a category filter would lose neighbours to the other categories).
-- Bulk loads (bench/memory.py) drop these, COPY, then run this file again: building after the
-- load is many times faster than inserting into a live graph.

CREATE INDEX IF NOT EXISTS failure_chunks_hnsw_error_signature ON failure_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    WHERE category = 'error_signature';
CREATE INDEX IF NOT EXISTS failure_chunks_hnsw_failure_location ON failure_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    WHERE category = 'failure_location';
CREATE INDEX IF NOT EXISTS failure_chunks_hnsw_code_context ON failure_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    WHERE category = 'code_context';
CREATE INDEX IF NOT EXISTS failure_chunks_hnsw_metadata ON failure_chunks
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)
    WHERE category = 'metadata';
