//! `akiles-hr-sync`: keeps Akiles door access in step with an HR system.
//!
//! Subcommands: `demo` (emulator + a made-up company, end to end), `import` (a file
//! export as a complete snapshot), `emulator` (the local Akiles stand-in), `serve` (the
//! service: push and management APIs, workers) and `tenants` (tenant admin).

/// `println!` that survives a closed stdout (`… | head`): what cannot be printed is
/// dropped and the command carries on, so a run is never cut short or turned into a panic
/// by its reader going away.
macro_rules! say {
    () => {
        $crate::output::say(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::say(format_args!($($arg)*))
    };
}

mod admin;
mod demo;
mod import;
mod keys;
mod output;
mod reconcile;
mod serve;
mod telemetry;
mod tenant_reconcile;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Keeps Akiles door access in step with an HR system.
#[derive(Debug, Parser)]
#[command(name = "akiles-hr-sync", version, about)]
struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "AKILES_HR_SYNC_LOG_FORMAT"
    )]
    log_format: telemetry::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole thing locally: emulator, a made-up company, imports and a change.
    Demo(demo::DemoArgs),
    /// Import an HR export (CSV or JSON) as a complete snapshot and make Akiles match it.
    Import(import::ImportArgs),
    /// Compare every owned member with the stored employee records and repair drift.
    Reconcile(reconcile::ReconcileArgs),
    /// Preview the effect of an export or of a configuration's settings; changes nothing.
    Plan(reconcile::PlanArgs),
    /// List, approve or reject member deletions held by the deletion guard.
    Deletions(reconcile::DeletionsArgs),
    /// Run the Akiles emulator (a local, in-memory stand-in for the Akiles API).
    Emulator(EmulatorArgs),
    /// Run the service: push and management APIs and the sync workers.
    Serve(serve::ServeArgs),
    /// Create, list and delete tenants and their API keys.
    Tenants(serve::TenantsArgs),
    /// Manage who may log in to the admin pages.
    Admin(admin::AdminArgs),
}

/// Options of `akiles-hr-sync emulator`.
#[derive(Debug, Args)]
struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Static API key accepted as a Bearer token (repeat for several).
    #[arg(long = "api-key", env = "AKILES_EMULATOR_API_KEY", required = true)]
    api_keys: Vec<String>,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer 429 (with Retry-After) above this many requests per second (at least 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
    /// Retry-After seconds sent with a 429.
    #[arg(long, default_value_t = 1)]
    retry_after_secs: u32,
    /// Share of requests answered with a 500 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Keep the state in this file across restarts.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Seed of the id generator (the seeded organization's ids depend only on it).
    #[arg(long)]
    seed: Option<u64>,
    /// OAuth application to register (repeat for several, or for more redirect URIs of
    /// one client). The redirect URI may contain colons.
    #[arg(
        long = "oauth-client",
        value_name = "CLIENT_ID:CLIENT_SECRET:REDIRECT_URI",
        value_parser = parse_oauth_client
    )]
    oauth_clients: Vec<akiles_emulator::OAuthClient>,
    /// Lifetime of OAuth access tokens, in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    access_token_ttl_secs: u64,
}

/// Reads `CLIENT_ID:CLIENT_SECRET:REDIRECT_URI`, splitting on the first two colons.
fn parse_oauth_client(value: &str) -> Result<akiles_emulator::OAuthClient, String> {
    let mut parts = value.splitn(3, ':');
    let (Some(id), Some(secret), Some(uri)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected CLIENT_ID:CLIENT_SECRET:REDIRECT_URI".into());
    };
    if id.is_empty() || secret.is_empty() {
        return Err("the client id and the client secret must not be empty".into());
    }
    let url = url::Url::parse(uri).map_err(|e| format!("bad redirect URI {uri:?}: {e}"))?;
    if url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(format!(
            "bad redirect URI {uri:?}: it must be absolute and have no fragment"
        ));
    }
    Ok(akiles_emulator::OAuthClient {
        client_id: id.to_owned(),
        client_secret: secret.to_owned(),
        redirect_uris: vec![uri.to_owned()],
    })
}

/// Joins repeated `--oauth-client` values of one client id into one client.
fn merge_oauth_clients(
    clients: Vec<akiles_emulator::OAuthClient>,
) -> anyhow::Result<Vec<akiles_emulator::OAuthClient>> {
    let mut merged: Vec<akiles_emulator::OAuthClient> = Vec::new();
    for client in clients {
        let Some(known) = merged.iter_mut().find(|c| c.client_id == client.client_id) else {
            merged.push(client);
            continue;
        };
        if known.client_secret != client.client_secret {
            anyhow::bail!(
                "--oauth-client {} is given twice with different secrets",
                client.client_id
            );
        }
        for uri in client.redirect_uris {
            if !known.redirect_uris.contains(&uri) {
                known.redirect_uris.push(uri);
            }
        }
    }
    Ok(merged)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Reconcile(args) => reconcile::run(args).await,
            Command::Plan(args) => reconcile::plan(args).await,
            Command::Deletions(args) => reconcile::deletions(args).await,
            Command::Emulator(args) => run_emulator(args).await,
            Command::Serve(args) => serve::run(args).await,
            Command::Tenants(args) => serve::run_tenants(args).await,
            Command::Admin(args) => admin::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn run_emulator(args: EmulatorArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context;

    if !(0.0..=1.0).contains(&args.error_rate) {
        anyhow::bail!("--error-rate must be between 0.0 and 1.0");
    }
    let mut config = akiles_emulator::EmulatorConfig {
        api_keys: args.api_keys,
        latency: std::time::Duration::from_millis(args.latency_ms),
        rate_limit: args
            .rate_limit
            .map(|per_second| akiles_emulator::RateLimit {
                per_second,
                retry_after_secs: args.retry_after_secs,
            }),
        error_rate: args.error_rate,
        state_file: args.state_file,
        oauth_clients: merge_oauth_clients(args.oauth_clients)?,
        access_token_ttl: std::time::Duration::from_secs(args.access_token_ttl_secs),
        ..akiles_emulator::EmulatorConfig::default()
    };
    let oauth_clients = config.oauth_clients.len();
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "Akiles emulator listening on http://{addr}/v2");
    say!("Akiles emulator: http://{addr}/v2 (calls: http://{addr}/_emulator/calls)");
    say!(
        "OAuth: authorize http://{addr}/oauth2/auth, token http://{addr}/oauth2/token \
         ({oauth_clients} client(s) registered)"
    );
    akiles_emulator::serve(listener, config, telemetry::shutdown_signal())
        .await
        .context("the emulator stopped")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn reconcile_takes_a_configuration_or_a_tenant_but_not_both() {
        let parse = |args: &[&str]| {
            let mut all = vec!["akiles-hr-sync", "reconcile"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
        };

        assert!(parse(&["--config", "tenant.toml", "--dry-run"]).is_ok());
        assert!(parse(&["--tenant", "acme", "--settings", "service.toml"]).is_ok());
        assert!(parse(&["--tenant", "acme", "--config", "tenant.toml"]).is_err());
        assert!(parse(&["--settings", "service.toml"]).is_err());
        assert!(parse(&[]).is_err());
    }

    #[test]
    fn oauth_client_splits_on_the_first_two_colons() {
        let client = parse_oauth_client("app_1:s3cret:http://127.0.0.1:8765/cb").unwrap();

        assert_eq!(client.client_id, "app_1");
        assert_eq!(client.client_secret, "s3cret");
        assert_eq!(client.redirect_uris, vec!["http://127.0.0.1:8765/cb"]);
    }

    #[test]
    fn bad_oauth_clients_are_clap_errors() {
        for bad in [
            "app_1:secret",
            ":secret:http://x/cb",
            "app_1:secret:/relative",
        ] {
            let parsed = Cli::try_parse_from([
                "akiles-hr-sync",
                "emulator",
                "--api-key",
                "k",
                "--oauth-client",
                bad,
            ]);
            assert!(parsed.is_err(), "{bad}");
        }
    }

    #[test]
    fn a_zero_emulator_rate_limit_is_a_clap_error() {
        let parse = |rate: &str| {
            Cli::try_parse_from([
                "akiles-hr-sync",
                "emulator",
                "--api-key",
                "k",
                "--rate-limit",
                rate,
            ])
        };

        assert!(parse("0").is_err());
        assert!(parse("1").is_ok());
    }

    #[test]
    fn repeated_oauth_clients_merge_their_redirect_uris() {
        let first = parse_oauth_client("app_1:s:http://127.0.0.1:1/a").unwrap();
        let second = parse_oauth_client("app_1:s:http://127.0.0.1:1/b").unwrap();
        let clash = parse_oauth_client("app_1:other:http://127.0.0.1:1/c").unwrap();

        let merged = merge_oauth_clients(vec![first.clone(), second]).unwrap();

        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].redirect_uris.len(), 2);
        assert!(merge_oauth_clients(vec![first, clash]).is_err());
    }
}
