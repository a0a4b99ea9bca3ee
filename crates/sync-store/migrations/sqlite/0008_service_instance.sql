-- The one `serve` process an SQLite database belongs to: a lease its holder renews while
-- it runs. A second process refuses to start while the lease is live, since it would
-- release the first one's running jobs and send its due e-mails a second time.
CREATE TABLE service_instance (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
