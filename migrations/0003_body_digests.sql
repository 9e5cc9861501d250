-- thoth-bot store, version 3.

-- SHA-256 of every signed GitHub body taken up, and the delivery that first carried it: the same
-- body under another delivery id is a replay and is not run again. Pruned by age with the
-- deliveries.
CREATE TABLE body_digests (
    digest   text PRIMARY KEY,
    delivery text NOT NULL,
    seen_at  timestamptz NOT NULL
);
CREATE INDEX body_digests_seen_at ON body_digests (seen_at);
