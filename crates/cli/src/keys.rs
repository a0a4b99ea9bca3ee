//! The data key that seals personal data in the store.
//!
//! Taken from `AKILES_HR_SYNC_DATA_KEY` (base64 of 32 bytes) when set; otherwise read from
//! a key file next to the SQLite database (`<database>.key`), which is created with mode
//! 0600 on first use. Losing the key makes the stored records unreadable (the sync then
//! needs a fresh database; Akiles itself is unaffected).

use std::path::{Path, PathBuf};

use anyhow::Context;
use sync_store::DataKey;

/// Environment variable holding the base64 data key.
pub const DATA_KEY_ENV: &str = "AKILES_HR_SYNC_DATA_KEY";

/// The key for `database_url`.
pub fn data_key(database_url: &str) -> anyhow::Result<DataKey> {
    if let Ok(text) = std::env::var(DATA_KEY_ENV) {
        return DataKey::from_base64(text.trim())
            .with_context(|| format!("{DATA_KEY_ENV} is not a valid data key"));
    }
    match key_file_for(database_url) {
        Some(path) => load_or_create(&path),
        None => Ok(DataKey::generate()),
    }
}

/// `<path>.key` for a file-backed SQLite URL; `None` for in-memory or other databases.
fn key_file_for(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || rest.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(format!("{path}.key")))
}

fn load_or_create(path: &Path) -> anyhow::Result<DataKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => DataKey::from_base64(text.trim())
            .with_context(|| format!("the data key file {} is not valid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = DataKey::generate();
            match write_private(path, key.to_base64().as_bytes()) {
                Ok(()) => {}
                // Another process created it first: use theirs.
                Err(e) if is_already_exists(&e) => return load_or_create(path),
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot write the data key file {}", path.display())
                    });
                }
            }
            tracing::warn!(path = %path.display(),
                "Created a new data key at {}; keep it with the database", path.display());
            Ok(key)
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the data key file {}", path.display()))
        }
    }
}

fn is_already_exists(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists)
}

/// Writes `bytes` to a new file at `path`, readable by the owner only. The file appears
/// whole or not at all (written aside, then linked into place without replacing), so a
/// process racing to create the same key reads a complete key or finds none.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let aside = path.with_extension(format!("key.{:016x}.tmp", rand::random::<u64>()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&aside).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&aside, path));
    let _ = std::fs::remove_file(&aside);
    linked?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_sits_next_to_a_sqlite_file() {
        assert_eq!(
            key_file_for("sqlite://data/a.db?mode=rwc"),
            Some(PathBuf::from("data/a.db.key"))
        );
        assert_eq!(key_file_for("sqlite::memory:"), None);
        assert_eq!(key_file_for("postgres://x"), None);
    }

    #[test]
    fn a_created_key_is_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.key");

        let first = load_or_create(&path).unwrap();
        let second = load_or_create(&path).unwrap();

        assert_eq!(first.to_base64(), second.to_base64());
    }

    #[test]
    fn processes_creating_the_key_at_once_all_get_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("race.db.key");

        let keys: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| load_or_create(&path).map(|k| k.to_base64())))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });

        assert!(keys.windows(2).all(|pair| pair[0] == pair[1]));
    }
}
