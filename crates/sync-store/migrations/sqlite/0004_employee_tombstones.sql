-- Removals of employees the store never had a record of. Without a row here, a create
-- with an older version arriving after the removal would be stored and synced. A put or
-- removal at or below the tombstone's version is stale; a newer put drops the tombstone.
CREATE TABLE employee_tombstones (
    tenant      TEXT    NOT NULL REFERENCES tenants (key),
    employee_id TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    removed_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, employee_id)
) STRICT;
