-- thoth-bot store: the push API. Tokens keep only the SHA-256 of their secret; pushed plans
-- (one per repository, commit and project) and drift reports (one per repository and
-- environment) are replaced by a newer push; pr_heads remembers the head each pull request
-- was last evaluated at, so a plan pushed for that head can start its evaluation again.
CREATE TABLE push_tokens (
    id            text PRIMARY KEY,
    scope_kind    text NOT NULL,
    scope_name    text NOT NULL,
    secret_sha256 text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE pushed_plans (
    repo     text NOT NULL,
    head_sha text NOT NULL,
    project  text NOT NULL,
    body     text NOT NULL,
    at       timestamptz NOT NULL,
    PRIMARY KEY (repo, head_sha, project)
);
CREATE INDEX pushed_plans_at ON pushed_plans (at);

CREATE TABLE pushed_drift (
    repo        text NOT NULL,
    environment text NOT NULL,
    body        text NOT NULL,
    at          timestamptz NOT NULL,
    PRIMARY KEY (repo, environment)
);
CREATE INDEX pushed_drift_at ON pushed_drift (at);

CREATE TABLE pr_heads (
    platform     text NOT NULL,
    repo         text NOT NULL,
    pr           bigint NOT NULL,
    head_sha     text NOT NULL,
    pull_request jsonb NOT NULL,
    at           timestamptz NOT NULL,
    PRIMARY KEY (platform, repo, pr)
);
CREATE INDEX pr_heads_head ON pr_heads (repo, head_sha);
CREATE INDEX pr_heads_at ON pr_heads (at);
