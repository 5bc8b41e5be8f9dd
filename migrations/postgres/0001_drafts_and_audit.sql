-- Drafts and their hash-chained audit trail.

CREATE TABLE drafts (
    id                 TEXT PRIMARY KEY,
    status             TEXT NOT NULL,
    agent              TEXT NOT NULL,
    scenario           TEXT NOT NULL,
    verdict            TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    -- the suggestion as the pipeline produced it (JSON of NewDraft; conversation masked)
    suggestion         TEXT NOT NULL,
    final_text         TEXT,
    decided_by         TEXT,
    reason             TEXT,
    required_approvals BIGINT NOT NULL DEFAULT 1,
    approvals          TEXT NOT NULL DEFAULT '[]',
    -- unmasked conversation, only when raw retention is configured; purged after raw_purge_at
    raw_conversation   TEXT,
    raw_purge_at       TIMESTAMPTZ
);

CREATE INDEX drafts_status_expires ON drafts (status, expires_at);
CREATE INDEX drafts_agent_created ON drafts (agent, created_at);
CREATE INDEX drafts_raw_purge ON drafts (raw_purge_at) WHERE raw_conversation IS NOT NULL;

-- payload is the exact JSON text that was hashed (TEXT, not JSONB, which would re-serialize it).
CREATE TABLE audit_events (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    action    TEXT NOT NULL,
    draft_id  TEXT,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_draft ON audit_events (draft_id);
CREATE INDEX audit_events_actor ON audit_events (actor);

-- The chain's head, locked (FOR UPDATE) by every appending transaction: appends from all
-- replicas are serialized and the chain never forks.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: the application never updates or deletes events. (verify() still catches
-- changes made by someone who disables this trigger.)
CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
