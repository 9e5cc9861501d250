-- thoth-bot store, version 6 (5 is taken by a change made at the same time).

-- One row per evaluation, for the details page and the dashboard. The record is JSON text (not
-- jsonb: jsonb refuses \u0000, which a finding message may carry); the columns beside it are
-- what the pages look records up by.
CREATE TABLE evaluations (
    id uuid PRIMARY KEY,
    at timestamptz NOT NULL,
    platform text NOT NULL,
    repo text NOT NULL,
    pr bigint NOT NULL,
    record text NOT NULL
);
CREATE INDEX evaluations_at ON evaluations (at DESC, id DESC);
CREATE INDEX evaluations_pr ON evaluations (platform, repo, pr, at DESC);
