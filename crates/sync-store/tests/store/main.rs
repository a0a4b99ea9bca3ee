//! The store suite.
//!
//! Each area module writes its tests as `async fn name(store: &TestStore)` against the
//! [`Store`](sync_store::Store) trait only, then lists them in [`store_tests!`], which runs
//! every one on a fresh SQLite file. A PostgreSQL backend adds one arm to that macro and the
//! same functions run on it unchanged. `sqlite_files` holds the checks that look at the
//! SQLite file itself.

/// Runs each listed suite function once per backend, on a fresh database.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let store = crate::harness::sqlite_store().await;
                    super::$name(&store).await;
                }
            )*
        }
    };
}

mod admins;
mod api_keys;
mod connections;
mod deliveries;
mod employees;
mod harness;
mod held;
mod history;
mod jobs;
mod links;
mod runs;
mod sqlite_files;
mod tenants;
