-- What the service needs next to the engine: the job queue, API keys, the push signing
-- secret, the Akiles connection, pending OAuth round trips and admin users. Shipped
-- migrations are never edited. Times are unix milliseconds; BLOB columns marked sealed hold
-- `format ‖ nonce ‖ AES-256-GCM ciphertext`.

-- The push signing secret of a tenant (sealed text; NULL when pushes are not signed).
ALTER TABLE tenants ADD COLUMN signing_secret BLOB;

-- The durable job queue. A job is written in the same transaction as the change it covers.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT    NOT NULL REFERENCES tenants (key),
    kind         TEXT    NOT NULL, -- sync_employee | sync_tenant
    employee_id  TEXT    NOT NULL, -- '' for tenant-wide jobs, so one key covers both kinds
    state        TEXT    NOT NULL CHECK (state IN ('queued', 'running', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       INTEGER NOT NULL,
    changed_at   INTEGER NOT NULL, -- oldest HR change this job covers
    last_error   BLOB,             -- sealed text
    locked_by    TEXT,
    locked_until INTEGER
) STRICT;

-- Changes coalesce: at most one waiting (queued or failed) job per tenant, kind and employee.
CREATE UNIQUE INDEX jobs_one_waiting ON jobs (tenant, kind, employee_id)
    WHERE state IN ('queued', 'failed');
CREATE INDEX jobs_by_state ON jobs (state, run_at, id);

-- Push API keys; only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT    NOT NULL REFERENCES tenants (key),
    label        TEXT    NOT NULL,
    prefix       TEXT    NOT NULL, -- first characters of the secret, for display
    secret_hash  TEXT    NOT NULL UNIQUE, -- lowercase hex SHA-256 of the whole secret
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT;

CREATE INDEX api_keys_by_tenant ON api_keys (tenant, id);

-- The Akiles connection of a tenant; tokens are sealed.
CREATE TABLE connections (
    tenant            TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (key),
    state             TEXT    NOT NULL,
    organization_id   TEXT,
    organization_name TEXT,
    access_token      BLOB,    -- sealed text
    refresh_token     BLOB,    -- sealed text
    access_expires_at INTEGER,
    scope             TEXT,
    reason            TEXT,
    revision          INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;

-- OAuth authorization requests on their way through the browser, keyed by the SHA-256 of
-- the `state` parameter; single use.
CREATE TABLE oauth_states (
    state_hash    TEXT    NOT NULL PRIMARY KEY,
    tenant        TEXT    NOT NULL REFERENCES tenants (key),
    pkce_verifier BLOB    NOT NULL, -- sealed text
    expires_at    INTEGER NOT NULL
) STRICT;

-- People who may log in to the admin pages; password hashes only (PHC strings).
CREATE TABLE admins (
    username      TEXT    NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
