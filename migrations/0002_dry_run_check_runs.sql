-- thoth-bot store, version 2.

-- Dry runs are audited too, flagged so reports can leave them out. Older rows were real runs.
ALTER TABLE decisions ADD COLUMN dry_run boolean NOT NULL DEFAULT false;

-- `thoth-bot history --repo` and the API filter the audit trail by repository.
CREATE INDEX decisions_repo_at ON decisions (repo, at DESC, id DESC);

-- The GitHub check run is updated in place (re-runs), like the summary comment.
ALTER TABLE pr_states ADD COLUMN check_run_id text;
