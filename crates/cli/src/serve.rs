//! `akiles-hr-sync serve` (the service) and `akiles-hr-sync tenants …` (tenant admin on
//! the service's database).
//!
//! Startup order: telemetry (done by `main`), settings, store and migrations, released job
//! leases, state, bind; the listen address is logged once; SIGINT or SIGTERM stops the
//! service gracefully.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use hr_domain::{Clock, SystemClock};
use secrecy::ExposeSecret;
use sync_server::{AppState, Settings, SettingsSources};
use sync_store::{SqliteStore, Store};

use crate::telemetry;

/// Options of `akiles-hr-sync serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Settings file (TOML); see docs/configuration.md, "Service settings".
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides `listen`).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

/// Runs the service until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (settings, store) = settings_and_store(args.config, args.listen).await?;
    let holder = format!("serve-{}-{:08x}", std::process::id(), rand::random::<u32>());
    let held = hold_instance(store.as_ref(), &holder)
        .await
        .context("cannot take the database's service lease")?;
    if !held {
        anyhow::bail!(
            "another `serve` is running on this database (an SQLite database belongs to one \
             service process); stop it first, or wait {} s if it was killed",
            INSTANCE_LEASE.as_secs()
        );
    }
    let renewal = tokio::spawn(keep_instance(store.clone(), holder.clone()));
    release_leases(store.as_ref()).await?;
    let listen = settings.listen;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tokens = sync_server::token_sources(&settings, store.clone(), clock.clone());
    let state = AppState::new(settings, store, clock, tokens);

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("cannot read the bound address")?;
    tracing::info!(%addr, "akiles-hr-sync listening on http://{addr}");
    say!("akiles-hr-sync listening on http://{addr}");
    let store = state.store.clone();
    let served = sync_server::serve(listener, state, telemetry::shutdown_signal()).await;
    renewal.abort();
    if let Err(e) = store.release_instance(&holder).await {
        tracing::warn!(error = %e, "Could not give the service lease up; it expires by itself");
    }
    served?;
    tracing::info!("akiles-hr-sync stopped");
    Ok(ExitCode::SUCCESS)
}

/// Takes the database's service lease. A lease left by a `serve` of this machine that is
/// no longer running (killed: its pid is gone) is taken over at once rather than waited
/// out.
async fn hold_instance(store: &dyn Store, holder: &str) -> Result<bool, sync_store::StoreError> {
    if store.try_hold_instance(holder, INSTANCE_LEASE).await? {
        return Ok(true);
    }
    let Some(current) = store.instance_holder().await? else {
        return store.try_hold_instance(holder, INSTANCE_LEASE).await;
    };
    let pid = current
        .split('-')
        .nth(1)
        .and_then(|p| p.parse::<u32>().ok());
    let gone = pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
    if !gone {
        return Ok(false);
    }
    tracing::warn!("Taking over the service lease of a stopped process ({current})");
    store.release_instance(&current).await?;
    store.try_hold_instance(holder, INSTANCE_LEASE).await
}

/// How long the database's service lease lasts without renewal; renewed every third.
const INSTANCE_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// Renews the service lease while the service runs.
async fn keep_instance(store: Arc<dyn Store>, holder: String) {
    loop {
        tokio::time::sleep(INSTANCE_LEASE / 3).await;
        match store.try_hold_instance(&holder, INSTANCE_LEASE).await {
            Ok(true) => {}
            Ok(false) => tracing::error!(
                "Another process took this database's service lease; two services now share it"
            ),
            Err(e) => tracing::warn!(error = %e, "Could not renew the service lease; retrying"),
        }
    }
}

/// Queues again the jobs that were running when the last process stopped (a crash or
/// `kill -9` leaves them `running` until their lease ends), so they run at once.
///
/// Only sound because the SQLite store belongs to this one process: no other worker can
/// hold a live lease now. Never call it from commands that may run beside `serve` (such as
/// `tenants`), nor with a store shared by several instances.
pub async fn release_leases(store: &dyn Store) -> anyhow::Result<()> {
    let released = store
        .release_leases()
        .await
        .context("cannot release the leases of jobs left running")?;
    if released > 0 {
        tracing::warn!(
            released,
            "Queued {released} jobs again that were running when the service last stopped"
        );
    } else {
        tracing::info!(released, "No jobs were left running by the last stop");
    }
    Ok(())
}

/// The service settings (file, environment, flags) and the store they name.
pub async fn settings_and_store(
    file: Option<PathBuf>,
    listen: Option<SocketAddr>,
) -> anyhow::Result<(Settings, Arc<dyn Store>)> {
    let settings = Settings::load(&SettingsSources { file, listen })?;
    let store = open_store(&settings).await?;
    Ok((settings, store))
}

/// Opens (and migrates) the store named by the settings.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = &settings.database;
    if !url.starts_with("sqlite:") {
        anyhow::bail!("unsupported database URL: only sqlite: URLs are supported so far");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::connect(url, settings.data_key.clone(), clock)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                url.split('?').next().unwrap_or(url)
            )
        })?;
    Ok(Arc::new(store))
}

/// Options of `akiles-hr-sync tenants`.
#[derive(Debug, Args)]
pub struct TenantsArgs {
    /// Settings file (TOML), for the database and the data key.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: TenantsCommand,
}

/// What `tenants` does.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant.
    Create {
        /// Tenant key: letters, digits, - and _.
        key: String,
    },
    /// List tenants.
    List,
    /// Delete a tenant and all its data here (members in Akiles stay as they are).
    Delete { key: String },
    /// Manage a tenant's push API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
}

/// What `tenants api-key` does.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a push API key; its secret is printed once.
    Create {
        key: String,
        /// What the key is for.
        #[arg(long)]
        label: String,
    },
}

/// Runs `tenants …`.
pub async fn run_tenants(args: TenantsArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = settings_and_store(args.config, None).await?;
    match args.command {
        TenantsCommand::Create { key } => {
            if let Some(problem) = sync_server::routes::manage::tenants::tenant_key_problem(&key) {
                anyhow::bail!("tenant key {key:?} {problem}");
            }
            if store.tenant(&key).await?.is_some() {
                anyhow::bail!("tenant {key} already exists");
            }
            store.ensure_tenant(&key).await?;
            say!("Created tenant {key}");
        }
        TenantsCommand::List => {
            for tenant in store.tenants().await? {
                say!("{}", tenant.key);
            }
        }
        TenantsCommand::Delete { key } => {
            if !store.delete_tenant(&key).await? {
                anyhow::bail!("tenant {key} does not exist");
            }
            say!("Deleted tenant {key}; members already in Akiles stay as they are");
        }
        TenantsCommand::ApiKey(ApiKeyCommand::Create { key, label }) => {
            if store.tenant(&key).await?.is_none() {
                anyhow::bail!("tenant {key} does not exist");
            }
            let (api_key, secret) = store.create_api_key(&key, label.trim()).await?;
            say!(
                "Created API key {} for tenant {key}. Its secret, shown only now:",
                api_key.id.0
            );
            say!("{}", secret.expose_secret());
        }
    }
    Ok(ExitCode::SUCCESS)
}
