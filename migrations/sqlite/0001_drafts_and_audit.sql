-- Drafts and their hash-chained audit trail. Times are UTC text in one fixed format
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ) so that text order is time order.

CREATE TABLE drafts (
    id                 TEXT PRIMARY KEY NOT NULL,
    status             TEXT NOT NULL,
    agent              TEXT NOT NULL,
    scenario           TEXT NOT NULL,
    verdict            TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    expires_at         TEXT NOT NULL,
    -- the suggestion as the pipeline produced it (JSON of NewDraft; conversation masked)
    suggestion         TEXT NOT NULL,
    final_text         TEXT,
    decided_by         TEXT,
    reason             TEXT,
    required_approvals INTEGER NOT NULL DEFAULT 1,
    approvals          TEXT NOT NULL DEFAULT '[]',
    -- unmasked conversation, only when raw retention is configured; purged after raw_purge_at
    raw_conversation   TEXT,
    raw_purge_at       TEXT
);

CREATE INDEX drafts_status_expires ON drafts (status, expires_at);
CREATE INDEX drafts_agent_created ON drafts (agent, created_at);
CREATE INDEX drafts_raw_purge ON drafts (raw_purge_at) WHERE raw_conversation IS NOT NULL;

CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY NOT NULL,
    at        TEXT NOT NULL,
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

-- The chain's head: every append reads and moves it inside the writing transaction.
CREATE TABLE chain_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: the application never updates or deletes events. (verify() still catches
-- changes made by someone who drops these triggers.)
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
