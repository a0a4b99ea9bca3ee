//! End-to-end tests of the `akiles-hr-sync` binary against the in-process emulator.

mod delivery;
mod import_hrdataset;
mod reconcile_hrdataset;
mod reconcile_tenant;
mod serve;

use std::path::{Path, PathBuf};
use std::process::Output;

/// `../shared/data/hr/<name>`: real HR exports, read in place and never copied.
pub fn shared_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/hr")
        .join(name)
}

/// The repository's `examples/<name>`.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// Runs the binary with `args` in `dir`, with a store in `dir`.
pub async fn run_cli(dir: &Path, args: &[&str]) -> Output {
    let database = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
    tokio::process::Command::new(env!("CARGO_BIN_EXE_akiles-hr-sync"))
        .args(args)
        .current_dir(dir)
        .env("AKILES_HR_SYNC_DATABASE", database)
        .env("RUST_LOG", "warn")
        .env_remove("AKILES_URL")
        .env_remove("AKILES_TOKEN")
        .env_remove("AKILES_HR_SYNC_DATA_KEY")
        .output()
        .await
        .expect("the binary runs")
}

/// stdout and stderr as text, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
