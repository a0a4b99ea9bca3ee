-- Member deletions the deletion guard held for an admin, one row per employee. `state` is
-- held (waiting), approved (the next run deletes) or rejected (kept while the employee's
-- stored record stays at `record_version`). Member ids and the reason carry no personal
-- data.
CREATE TABLE held_deletions (
    tenant         TEXT    NOT NULL REFERENCES tenants (key),
    employee_id    TEXT    NOT NULL,
    member_ids     TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('held', 'approved', 'rejected')),
    record_version INTEGER,
    reason         TEXT    NOT NULL,
    run_id         INTEGER,
    held_at        INTEGER NOT NULL,
    decided_by     TEXT,
    decided_at     INTEGER,
    PRIMARY KEY (tenant, employee_id)
) STRICT;
