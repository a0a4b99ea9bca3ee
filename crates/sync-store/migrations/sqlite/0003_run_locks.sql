-- One sync run per tenant at a time (an import, a full pass): a lease that the holder
-- renews while it runs and releases when done. An expired lease can be taken over.
CREATE TABLE run_locks (
    tenant     TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (key),
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
