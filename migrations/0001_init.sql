-- thoth-bot store, version 1.
-- Times are timestamptz (microseconds); enum-like columns are text with CHECK constraints, so the
-- stored names are the ones the Rust types print and a new variant is a one-line migration.

-- Webhook deliveries seen, for dedupe at intake. Pruned by age.
CREATE TABLE deliveries (
    key     text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
CREATE INDEX deliveries_seen_at ON deliveries (seen_at);

-- The durable job queue.
CREATE TABLE jobs (
    id          uuid PRIMARY KEY,
    -- Enqueue order: ties on time are claimed first-in first-out, and "newer job of this PR"
    -- means a higher seq.
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    platform    text NOT NULL,
    repo        text NOT NULL,
    pr          bigint NOT NULL,
    head_sha    text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('evaluate', 'command')),
    -- One job per webhook delivery: redeliveries are duplicates.
    delivery    text NOT NULL UNIQUE,
    -- `json`, not `jsonb`: the payload is opaque here and jsonb rejects \u0000, which a PR
    -- description may well contain.
    payload     json NOT NULL,
    state       text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead', 'superseded')),
    attempts    integer NOT NULL DEFAULT 0,
    run_after   timestamptz NOT NULL,
    -- When a claim may take the job: run_after while queued, lease_until while running.
    ready_at    timestamptz NOT NULL,
    lease_owner text,
    lease_until timestamptz,
    last_error  text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- What `claim` reads: the front of the runnable jobs.
CREATE INDEX jobs_ready ON jobs (ready_at, seq) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_state ON jobs (state, seq);
-- Coalescing looks up the Evaluate jobs of one PR.
CREATE INDEX jobs_pr ON jobs (platform, repo, pr, seq) WHERE kind = 'evaluate';

-- Audit trail of decisions, downgrades and overrides.
CREATE TABLE decisions (
    id              uuid PRIMARY KEY,
    at              timestamptz NOT NULL,
    platform        text NOT NULL,
    repo            text NOT NULL,
    pr              bigint NOT NULL,
    head_sha        text NOT NULL,
    decision        text NOT NULL,
    risk            smallint NOT NULL CHECK (risk BETWEEN 0 AND 255),
    confidence      double precision NOT NULL,
    reasons         text[] NOT NULL,
    findings_digest text NOT NULL,
    actor           text NOT NULL,
    downgraded_from text
);
CREATE INDEX decisions_at ON decisions (at DESC, id DESC);

-- Automatic actions per repository, kind and UTC day (daily limits).
CREATE TABLE action_counts (
    repo text NOT NULL,
    day  date NOT NULL,
    kind text NOT NULL,
    used integer NOT NULL,
    PRIMARY KEY (repo, day, kind)
);

-- One row per repository: the lock that serializes its actions, and the cooldown clock.
CREATE TABLE repo_actions (
    repo           text PRIMARY KEY,
    last_action_at timestamptz
);

CREATE TABLE overrides (
    platform        text NOT NULL,
    repo            text NOT NULL,
    pr              bigint NOT NULL,
    head_sha        text NOT NULL,
    decision        text NOT NULL,
    reason          text NOT NULL,
    actor           text NOT NULL,
    findings_digest text NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (platform, repo, pr)
);

CREATE TABLE pr_states (
    platform             text NOT NULL,
    repo                 text NOT NULL,
    pr                   bigint NOT NULL,
    summary_comment_id   text,
    last_findings_digest text,
    last_head_sha        text,
    PRIMARY KEY (platform, repo, pr)
);
