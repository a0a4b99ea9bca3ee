-- The outbox of credential e-mails: one row per new PIN or magic link to send to the
-- employee's work e-mail. A row holds ids only: never the PIN, the link or the address,
-- which are looked up (and the credential revealed by Akiles) at send time.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT    NOT NULL REFERENCES tenants (key) ON DELETE CASCADE,
    employee_id     TEXT    NOT NULL,
    credential      TEXT    NOT NULL CHECK (credential IN ('pin', 'magic_link')),
    member_id       TEXT    NOT NULL,
    credential_id   TEXT    NOT NULL,
    state           TEXT    NOT NULL
                    CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      BLOB,             -- sealed text
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;

-- A credential is delivered at most once, however often its creation is recorded.
CREATE UNIQUE INDEX deliveries_one_per_credential ON deliveries (tenant, credential, credential_id);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at, id);
CREATE INDEX deliveries_by_employee ON deliveries (tenant, employee_id, id);

-- The password of a tenant's SMTP account (sealed text; NULL when not set).
ALTER TABLE tenants ADD COLUMN smtp_password BLOB;
