-- The first schema of the SQLite store. Shipped migrations are never edited: change the
-- schema by adding the next numbered file. Times are unix milliseconds; columns named in
-- the README as sealed hold `format ‖ nonce ‖ AES-256-GCM ciphertext` of JSON.

CREATE TABLE tenants (
    key        TEXT    NOT NULL PRIMARY KEY,
    settings   TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- The desired state of each employee, as the newest version from the HR source.
CREATE TABLE employees (
    tenant      TEXT    NOT NULL REFERENCES tenants (key),
    employee_id TEXT    NOT NULL,
    record      BLOB    NOT NULL, -- sealed JSON of the employee
    version     INTEGER NOT NULL,
    present     INTEGER NOT NULL CHECK (present IN (0, 1)),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, employee_id)
) STRICT;

-- Which Akiles member stands for an employee and which Akiles objects the sync owns.
CREATE TABLE member_links (
    tenant      TEXT    NOT NULL REFERENCES tenants (key),
    employee_id TEXT    NOT NULL,
    member_id   TEXT,
    owned       TEXT    NOT NULL, -- JSON of Akiles ids only
    state       TEXT    NOT NULL,
    last_error  BLOB,             -- sealed text
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, employee_id)
) STRICT;

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL REFERENCES tenants (key),
    kind        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    summary     TEXT    NOT NULL DEFAULT '{}',
    -- lets history rows point at a run of their own tenant only
    UNIQUE (tenant, id)
) STRICT;

CREATE TABLE employee_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant      TEXT    NOT NULL REFERENCES tenants (key),
    employee_id TEXT    NOT NULL,
    run_id      INTEGER,
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    detail      BLOB    NOT NULL, -- sealed JSON
    FOREIGN KEY (tenant, run_id) REFERENCES sync_runs (tenant, id)
) STRICT;

CREATE INDEX employee_history_by_employee ON employee_history (tenant, employee_id, id);
