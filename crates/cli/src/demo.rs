//! `akiles-hr-sync demo`: the whole sync on a laptop, with nothing to install.
//!
//! Starts the Akiles emulator in-process, writes a made-up company's HR export (the same
//! every time) and a configuration into a demo folder, imports it, imports it again to
//! show that nothing more is needed, then applies a day of HR changes. It keeps the
//! emulator running afterwards so the result can be looked at (Ctrl-C stops it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use sync_engine::Config;

use crate::{import, telemetry};

/// Options of `akiles-hr-sync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's files (export, configuration, database); default: a new
    /// folder under the system's temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Number of employees of the made-up company.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=5000))]
    pub employees: u32,
    /// Port of the emulator (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Exit when done instead of keeping the emulator running.
    #[arg(long)]
    pub exit: bool,
}

const API_KEY: &str = "ak_demo_key_not_secret";

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("akiles-hr-sync-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let emulator_config = akiles_emulator::EmulatorConfig {
        api_keys: vec![API_KEY.to_owned()],
        ..akiles_emulator::EmulatorConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("cannot start the emulator")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(akiles_emulator::serve(listener, emulator_config, async {
        let _ = stopped.await;
    }));
    let base_url = format!("http://{addr}/v2");
    println!("Akiles emulator running at {base_url}\n");

    let company = Company::generate(args.employees as usize);
    let export = dir.join("employees.csv");
    let config_path = dir.join("demo.toml");
    write(&export, &company.to_csv())?;
    write(&config_path, &demo_config(&base_url, &dir))?;
    let config = Config::load(&config_path)?;
    let client = import::build_client(&config, config.akiles.url.as_deref(), Some(API_KEY))?;
    let store = import::open_store(
        config
            .database
            .as_deref()
            .unwrap_or(import::DEFAULT_DATABASE),
    )
    .await?;

    println!("== 1. First import of {} ==", export.display());
    let first = run_import(&export, &config, &client, store.as_ref()).await?;
    println!("\n== 2. The same file again: nothing should change ==");
    let second = run_import(&export, &config, &client, store.as_ref()).await?;

    let changed = company.with_changes();
    let changed_export = dir.join("employees-next-day.csv");
    write(&changed_export, &changed.to_csv())?;
    println!("\n== 3. Next day: 3 transfers, 2 leavers, 1 hire, 1 renamed ==");
    let third = run_import(&changed_export, &config, &client, store.as_ref()).await?;

    println!("\n== Write calls per run: {first}, {second}, {third} ==");
    print_how_to_look(&base_url, &config_path, &changed_export, &dir);

    if !args.exit {
        println!("\nThe emulator keeps running; press Ctrl-C to stop.");
        telemetry::shutdown_signal().await;
    }
    let _ = stop.send(());
    server
        .await
        .context("the emulator task failed")?
        .context("the emulator failed")?;
    Ok(ExitCode::SUCCESS)
}

async fn run_import(
    file: &Path,
    config: &Config,
    client: &akiles_client::Client,
    store: &dyn sync_store::Store,
) -> anyhow::Result<usize> {
    let employees = import::read_export(file, config)?;
    let report = import::import(config, employees, client, store, false, false).await?;
    if report.has_problems() {
        anyhow::bail!("the demo import reported problems");
    }
    Ok(report.applied().values().sum())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn demo_config(base_url: &str, dir: &Path) -> String {
    let database = dir.join("demo.db");
    format!(
        r#"# Written by `akiles-hr-sync demo`. See docs/configuration.md for every key.
tenant = "demo"
database = "sqlite://{database}?mode=rwc"

[akiles]
url = "{base_url}"
rate_per_second = 500

[source]
format = "csv"
date_format = "YYYY-MM-DD"
active_values = ["active"]
inactive_values = ["terminated"]

[source.columns]
id = "employee_id"
name = ["first_name", "last_name"]
email = "work_email"
groups = ["department"]
status = "status"
start_date = "start_date"
end_date = "end_date"

[mapping]
every_employee = ["All staff"]

[mapping.groups]
"Production" = ["Production"]
"IT/IS" = ["IT/IS"]
"Sales" = ["Sales"]
"Software Engineering" = ["Software Engineering"]
"Admin Offices" = ["Admin Offices"]
"Executive Office" = ["Executive Office"]

[credentials]
pin = true
pin_length = 6
"#,
        database = database.display()
    )
}

fn print_how_to_look(base_url: &str, config: &Path, export: &Path, dir: &Path) {
    let root = base_url.trim_end_matches("/v2");
    println!("\nLook at the result:");
    println!("  calls per endpoint:  curl -s {root}/_emulator/calls");
    println!(
        "  managed members:     curl -s -H 'Authorization: Bearer {API_KEY}' \\\n      \
         '{base_url}/members?metadata.managed_by=akiles-hr-sync&expand=group_associations,pins&limit=5'"
    );
    println!(
        "  plan again:          akiles-hr-sync import {} --config {} --akiles-token {API_KEY} --dry-run -v",
        export.display(),
        config.display()
    );
    println!("  files:               {}", dir.display());
}

/// A made-up company: the same people for the same size, every time.
#[derive(Debug, Clone)]
struct Company {
    people: Vec<Person>,
}

#[derive(Debug, Clone)]
struct Person {
    id: String,
    first: String,
    last: String,
    department: &'static str,
    active: bool,
    start: String,
    end: String,
}

const FIRST: [&str; 24] = [
    "Ana", "Jonas", "Priya", "Tomás", "Marta", "Kwame", "Zoë", "Lars", "Aiko", "Omar", "Chloé",
    "Mateo", "Ingrid", "Ravi", "Sofía", "Björn", "Amara", "Luca", "Noor", "Elif", "Hugo", "Yuki",
    "Nia", "Pavel",
];
const LAST: [&str; 24] = [
    "Quiroga",
    "Peltier",
    "Natarajan",
    "Herrera",
    "Mensah",
    "Dvořák",
    "Lindqvist",
    "Tanaka",
    "Haddad",
    "Moreau",
    "Rossi",
    "Okafor",
    "Şahin",
    "Novak",
    "Fischer",
    "Silva",
    "Kowalski",
    "O'Brien",
    "Nguyen",
    "García",
    "Jensen",
    "Costa",
    "Ivanova",
    "Müller",
];
const DEPARTMENTS: [(&str, u64); 6] = [
    ("Production", 60),
    ("IT/IS", 16),
    ("Sales", 10),
    ("Software Engineering", 8),
    ("Admin Offices", 5),
    ("Executive Office", 1),
];

/// A small deterministic generator (xorshift), so the demo needs no seed handling.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

impl Company {
    fn generate(size: usize) -> Self {
        let mut rng = Xorshift(0x5eed_cafe_f00d_1234);
        let total_weight: u64 = DEPARTMENTS.iter().map(|(_, w)| w).sum();
        let people = (0..size)
            .map(|i| {
                let mut pick = rng.below(total_weight);
                let department = DEPARTMENTS
                    .iter()
                    .find(|(_, w)| {
                        let hit = pick < *w;
                        pick = pick.saturating_sub(*w);
                        hit
                    })
                    .map_or("Production", |(d, _)| d);
                let active = rng.below(10) < 8;
                let year = 2012 + rng.below(13);
                let start = format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
                let end = if active {
                    String::new()
                } else {
                    format!("{}-06-30", year + 1)
                };
                Person {
                    id: format!("E-{}", 1000 + i),
                    first: FIRST[rng.below(FIRST.len() as u64) as usize].to_owned(),
                    last: LAST[rng.below(LAST.len() as u64) as usize].to_owned(),
                    department,
                    active,
                    start,
                    end,
                }
            })
            .collect();
        Self { people }
    }

    /// The next day: 3 transfers, 2 leavers, 1 hire, 1 renamed (all among active people).
    fn with_changes(&self) -> Self {
        let mut next = self.clone();
        let mut active = next.people.iter_mut().filter(|p| p.active);
        for person in active.by_ref().take(3) {
            person.department = if person.department == "Sales" {
                "IT/IS"
            } else {
                "Sales"
            };
        }
        for person in active.by_ref().take(2) {
            person.active = false;
            person.end = "2026-12-03".to_owned();
        }
        if let Some(person) = active.next() {
            person.last = format!("{}-Whitfield", person.last);
        }
        next.people.push(Person {
            id: format!("E-{}", 1000 + self.people.len()),
            first: "Wilhelmina".to_owned(),
            last: "Okonkwo".to_owned(),
            department: "Software Engineering",
            active: true,
            start: "2026-12-01".to_owned(),
            end: String::new(),
        });
        next
    }

    fn to_csv(&self) -> String {
        let mut out = String::from(
            "employee_id,first_name,last_name,work_email,department,status,start_date,end_date\n",
        );
        for p in &self.people {
            let number = p.id.trim_start_matches("E-");
            let email = format!(
                "{}.{}.{number}@example.com",
                ascii(&p.first),
                ascii(&p.last)
            );
            let status = if p.active { "active" } else { "terminated" };
            let _ = writeln!(
                out,
                "{},{},\"{}\",{email},{},{status},{},{}",
                p.id, p.first, p.last, p.department, p.start, p.end
            );
        }
        out
    }
}

/// Lower-case ASCII letters of a name, for a made-up address.
fn ascii(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
