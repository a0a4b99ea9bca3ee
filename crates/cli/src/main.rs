//! `akiles-hr-sync`: keeps Akiles door access in step with an HR system.
//!
//! Subcommands: `demo` (emulator + a made-up company, end to end), `import` (a file
//! export as a complete snapshot), `emulator` (the local Akiles stand-in).

mod demo;
mod import;
mod keys;
mod output;
mod telemetry;

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
    /// Run the Akiles emulator (a local, in-memory stand-in for the Akiles API).
    Emulator(EmulatorArgs),
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
    /// Answer 429 (with Retry-After) above this many requests per second.
    #[arg(long)]
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
            Command::Emulator(args) => run_emulator(args).await,
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
        ..akiles_emulator::EmulatorConfig::default()
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "Akiles emulator listening on http://{addr}/v2");
    println!("Akiles emulator: http://{addr}/v2 (calls: http://{addr}/_emulator/calls)");
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
}
