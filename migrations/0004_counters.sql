-- thoth-bot store, version 3.

-- Per-user budgets of comment commands, shared by replicas: one row per key and time window,
-- counted with an upsert so concurrent increments never lose one. Old windows are pruned.
CREATE TABLE counters (
    window_start timestamptz NOT NULL,
    key text NOT NULL,
    used integer NOT NULL,
    PRIMARY KEY (window_start, key)
);
