-- Fixes people rejected, with their reason: shown to the model as what not to do when the same
-- handler fails with the same signature again.

CREATE TABLE rejected_fixes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fix_id      text        NOT NULL UNIQUE,
    name        text        NOT NULL,               -- the handler (job name)
    signature   text        NOT NULL,
    reason      text        NOT NULL,               -- redacted
    summary     text        NOT NULL DEFAULT '',    -- redacted
    diff        text        NOT NULL DEFAULT '',    -- redacted
    rejected_by text        NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);

-- The resolver looks rejections up by handler and exact signature, newest first.
CREATE INDEX rejected_fixes_signature_idx ON rejected_fixes (name, signature, rejected_at DESC);
