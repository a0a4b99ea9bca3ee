//! `akiles-hr-sync admin …`: people who may log in to the admin pages.
//!
//! `admin set-password USERNAME` creates the admin or replaces their password. The
//! password comes from `AKILES_HR_SYNC_ADMIN_PASSWORD` when set, otherwise from the first
//! line of stdin; only its argon2 hash is stored.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

/// Environment variable that may hold the new password.
pub const PASSWORD_ENV: &str = "AKILES_HR_SYNC_ADMIN_PASSWORD";

/// Shortest password accepted.
const MIN_PASSWORD_LEN: usize = 10;

/// Options of `akiles-hr-sync admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Settings file (TOML), for the database and the data key.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// What `admin` does.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin or change their password (read from stdin or
    /// AKILES_HR_SYNC_ADMIN_PASSWORD).
    SetPassword {
        /// The admin's login name.
        username: String,
    },
    /// List the admins.
    List,
}

/// Runs `admin …`.
pub async fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = crate::serve::settings_and_store(args.config, None).await?;
    match args.command {
        AdminCommand::SetPassword { username } => {
            let username = username.trim();
            if username.is_empty() || username.contains('|') {
                anyhow::bail!("the username must not be empty or contain '|'");
            }
            let password = read_password()?;
            let hash = sync_server::admin::hash_password(&password)
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
            store.upsert_admin(username, &hash).await?;
            say!("Saved the password of admin {username}");
        }
        AdminCommand::List => {
            for admin in store.admins().await? {
                say!("{}", admin.username);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_password() -> anyhow::Result<String> {
    let password = match std::env::var(PASSWORD_ENV) {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < MIN_PASSWORD_LEN {
        anyhow::bail!("the password must have at least {MIN_PASSWORD_LEN} characters");
    }
    Ok(password)
}
