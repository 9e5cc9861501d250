-- thoth-bot store, version 5.

-- Recovery scans (webhook redelivery, reconciliation): one replica at a time holds a scan's
-- lease until `lease_until`; an expired lease may be taken by another replica.
CREATE TABLE scan_leases (
    name text PRIMARY KEY,
    owner text NOT NULL,
    lease_until timestamptz NOT NULL
);

-- Where each scan stopped (opaque to the store) and when it last completed.
CREATE TABLE scan_cursors (
    name text PRIMARY KEY,
    position text NOT NULL,
    last_success timestamptz
);
