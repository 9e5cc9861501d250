-- Enqueue supersedes the queued Evaluate jobs of a PR: this index finds them without reading
-- the PR's whole history (a busy PR has thousands of finished jobs), so enqueue is O(1).
CREATE INDEX jobs_pr_queued ON jobs (platform, repo, pr) WHERE kind = 'evaluate' AND state = 'queued';
