//! `akiles-hr-sync demo`: the service and the Akiles emulator on a laptop, nothing to
//! install.
//!
//! Starts the emulator (with this service registered as an OAuth application) and the
//! service in-process on a SQLite file in the demo folder, creates the tenant `demo` with
//! a made-up company (the same people every time) and an admin with a random password,
//! and prints the admin URL and login. Connecting goes through the real OAuth flow: press
//! Connect Akiles and approve on the emulator's consent page.
//!
//! With `--exit` it checks itself instead of waiting for Ctrl-C: it logs in, connects
//! and answers the consent page with plain HTTP requests, maps every department and turns
//! PINs on, waits until every employee is in sync, presses Sync now (nothing to do), then
//! applies a day of HR changes, printing the write calls of each step.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use akiles_emulator::{EmulatorConfig, OAuthClient, RunningEmulator};
use anyhow::{Context, bail};
use clap::Args;
use hr_domain::{
    Clock, Email, Employee, EmployeeId, EmploymentStatus, HrGroup, PersonName, SystemClock,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use sync_server::{AppState, Settings, SettingsSources};
use sync_store::{SqliteStore, Store, SyncState};
use url::Url;

use crate::telemetry;

/// Options of `akiles-hr-sync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's files (database, data key); default: a new folder under the
    /// system's temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Number of employees of the made-up company.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=5000))]
    pub employees: u32,
    /// Port of the service and its admin pages (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Check the whole flow without a browser and exit, instead of waiting for Ctrl-C.
    #[arg(long)]
    pub exit: bool,
}

const TENANT: &str = "demo";
const ADMIN: &str = "admin";
const CLIENT_ID: &str = "app_akileshrsyncdemo";
/// How long the self-check waits for the workers at each step.
const DEADLINE: Duration = Duration::from_secs(180);

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("akiles-hr-sync-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .context("cannot bind the service's port")?;
    let base = format!("http://{}", listener.local_addr()?);
    let client_secret = random_text(16);
    let emulator = akiles_emulator::spawn(EmulatorConfig {
        oauth_clients: vec![OAuthClient {
            client_id: CLIENT_ID.to_owned(),
            client_secret: client_secret.clone(),
            redirect_uris: vec![format!("{base}/oauth/callback")],
        }],
        ..EmulatorConfig::default()
    })
    .await
    .context("cannot start the emulator")?;

    let database = format!("sqlite://{}?mode=rwc", dir.join("demo.db").display());
    let settings = demo_settings(&dir, &base, &emulator, &database, &client_secret)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteStore::connect(&database, settings.data_key.clone(), clock.clone())
        .await
        .context("cannot open the demo database")?;
    let store: Arc<dyn Store> = Arc::new(store);
    crate::serve::release_leases(store.as_ref()).await?;
    let password = random_text(12);
    prepare(store.as_ref(), &password, args.employees as usize).await?;

    let tokens = sync_server::token_sources(&settings, store.clone(), clock.clone());
    let state = AppState::new(settings, store.clone(), clock, tokens);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(sync_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    print_welcome(&base, &emulator, &password, args.employees);

    let outcome = if args.exit {
        self_check(
            &base,
            &password,
            &emulator,
            store.as_ref(),
            args.employees as usize,
        )
        .await
    } else {
        say!("\nThe service and the emulator keep running; press Ctrl-C to stop.");
        telemetry::shutdown_signal().await;
        Ok(())
    };
    let _ = stop.send(());
    service
        .await
        .context("the service task failed")?
        .context("the service failed")?;
    emulator.shutdown().await;
    outcome?;
    Ok(ExitCode::SUCCESS)
}

fn demo_settings(
    dir: &Path,
    base: &str,
    emulator: &RunningEmulator,
    database: &str,
    client_secret: &str,
) -> anyhow::Result<Settings> {
    let data_key = crate::keys::data_key(database)?;
    let toml = format!(
        r#"# Written by `akiles-hr-sync demo`; see docs/configuration.md for every key.
        public_url = "{base}"
        database = "{database}"
        data_key = "{data_key}"
        cookie_key = "{cookie_key}"
        [akiles]
        api_url = "{api_url}"
        authorize_url = "{auth_url}"
        token_url = "{token_url}"
        client_id = "{CLIENT_ID}"
        client_secret = "{client_secret}"
        rate_per_second = 500
        groups_cache_secs = 5
        [workers]
        concurrency = 4
        poll_interval_ms = 200
        backoff_base_ms = 200
        backoff_max_ms = 5000
        "#,
        data_key = data_key.to_base64(),
        cookie_key = random_base64(64),
        api_url = emulator.base_url(),
        auth_url = emulator.auth_url(),
        token_url = emulator.token_url(),
    );
    let path = dir.join("demo-service.toml");
    std::fs::write(&path, toml).with_context(|| format!("cannot write {}", path.display()))?;
    let sources = SettingsSources {
        file: Some(path),
        listen: None,
    };
    Settings::load(&sources).context("the demo's settings are not valid")
}

/// The tenant, its employees (each with a queued sync) and the admin.
async fn prepare(store: &dyn Store, password: &str, size: usize) -> anyhow::Result<()> {
    store.ensure_tenant(TENANT).await?;
    for person in &Company::generate(size).people {
        store
            .put_employee_and_enqueue(TENANT, &person.employee()?, 1)
            .await?;
    }
    let hash = sync_server::admin::hash_password(password)
        .map_err(|e| anyhow::anyhow!("cannot hash the admin password: {e}"))?;
    store.upsert_admin(ADMIN, &hash).await?;
    Ok(())
}

fn print_welcome(base: &str, emulator: &RunningEmulator, password: &str, employees: u32) {
    say!("Akiles emulator running at {}", emulator.base_url());
    say!("akiles-hr-sync running at {base} with tenant {TENANT} ({employees} employees)\n");
    say!("Admin pages:  {base}/admin/tenants/{TENANT}");
    say!("Login:        {ADMIN} / {password}");
    say!(
        "Then press Connect Akiles, approve on the emulator's page, tick PIN and map the \
         departments."
    );
}

/// The demo's run without a browser: connect, map, converge, change, converge.
async fn self_check(
    base: &str,
    password: &str,
    emulator: &RunningEmulator,
    store: &dyn Store,
    size: usize,
) -> anyhow::Result<()> {
    let browser = Browser::new(base)?;
    browser.login(password).await?;
    browser.connect().await?;
    say!("\n== Connected to the emulator's organization through OAuth ==");

    browser.save_mapping(emulator).await?;
    wait_in_sync(store, size).await?;
    let first = emulator.write_calls();
    say!("== 1. Mapping saved, PIN on: every employee in sync ({first} write calls) ==");

    browser
        .post(&format!("/admin/tenants/{TENANT}/sync"), &[])
        .await?;
    wait_in_sync(store, size).await?;
    let second = emulator.write_calls() - first;
    say!("== 2. Sync now: nothing should change ({second} write calls) ==");

    let next_day = Company::generate(size).with_changes();
    for person in &next_day.people {
        store
            .put_employee_and_enqueue(TENANT, &person.employee()?, 2)
            .await?;
    }
    wait_in_sync(store, next_day.people.len()).await?;
    let third = emulator.write_calls() - first - second;
    say!("== 3. Next day: 3 transfers, 2 leavers, 1 hire, 1 renamed ({third} write calls) ==");

    say!("\n== Write calls per run: {first}, {second}, {third} ==");
    let mut calls = String::new();
    for (endpoint, count) in emulator.calls() {
        let _ = writeln!(calls, "  {endpoint}: {count}");
    }
    say!("\nEmulator calls by endpoint:\n{calls}");
    Ok(())
}

/// Waits until `size` employees are linked and in sync with no job left.
async fn wait_in_sync(store: &dyn Store, size: usize) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let jobs = store.jobs(Some(TENANT), None, 1).await?;
        let links = store.links(TENANT).await?;
        let synced = links
            .iter()
            .filter(|l| l.state == SyncState::InSync)
            .count();
        if jobs.is_empty() && synced >= size {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the employees did not reach Akiles in time ({synced} of {size} in sync)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A scripted browser: keeps the service's cookies and answers the consent page.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: std::sync::Mutex<BTreeMap<String, String>>,
}

impl Browser {
    fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            base: base.to_owned(),
            http,
            cookies: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let cookie = {
            let cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
            let pairs: Vec<String> = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            pairs.join("; ")
        };
        let response = request.header(COOKIE, cookie).send().await?;
        let mut cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        for header in response.headers().get_all(SET_COOKIE) {
            let text = header.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Ok(response)
    }

    async fn post(&self, path: &str, form: &[(String, String)]) -> anyhow::Result<String> {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in form {
            body.append_pair(name, value);
        }
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish());
        let response = self.send(request).await?;
        if response.status() != reqwest::StatusCode::SEE_OTHER {
            bail!("POST {path} answered {}", response.status());
        }
        location(&response)
    }

    async fn login(&self, password: &str) -> anyhow::Result<()> {
        let form = [("username", ADMIN), ("password", password)].map(owned);
        self.post("/admin/login", &form).await?;
        Ok(())
    }

    /// Connect Akiles, approve on the consent page, follow the callback.
    async fn connect(&self) -> anyhow::Result<()> {
        let authorize = self
            .post(&format!("/admin/tenants/{TENANT}/connect"), &[])
            .await?;
        let consent = self.http.get(&authorize).send().await?.text().await?;
        let consent = akiles_emulator::ConsentForm::parse(&consent)
            .context("the emulator's consent page has no form")?;
        let form = consent.answer("approve");
        let action = Url::parse(&authorize)?.join(&consent.action)?;
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &form {
            body.append_pair(name, value);
        }
        let answer = self
            .http
            .post(action)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await?;
        let callback = location(&answer)?;
        if callback.contains("error=") {
            bail!("the consent page refused the demo's request");
        }
        let back = self.send(self.http.get(&callback)).await?;
        let page = location(&back)?;
        if page != format!("/admin/tenants/{TENANT}") {
            bail!("connecting did not finish: the callback led to {page}");
        }
        Ok(())
    }

    /// Every employee gets "All staff", each department its own group, and a PIN.
    async fn save_mapping(&self, emulator: &RunningEmulator) -> anyhow::Result<()> {
        let group = |name: &str| {
            emulator
                .member_group_id(name)
                .with_context(|| format!("the emulator has no group {name}"))
        };
        let mut form = vec![
            owned(("pin", "on")),
            owned(("pin_length", "6")),
            ("every".to_owned(), group("All staff")?),
        ];
        for (index, (department, _)) in DEPARTMENTS.iter().enumerate() {
            form.push((format!("hr.{index}"), (*department).to_owned()));
            form.push((format!("to.{index}"), group(department)?));
        }
        self.post(&format!("/admin/tenants/{TENANT}/settings"), &form)
            .await?;
        Ok(())
    }
}

fn owned((name, value): (&str, &str)) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

fn location(response: &reqwest::Response) -> anyhow::Result<String> {
    let value = response
        .headers()
        .get(LOCATION)
        .with_context(|| format!("expected a redirect, got {}", response.status()))?;
    Ok(value.to_str()?.to_owned())
}

fn random_text(bytes: usize) -> String {
    let mut out = String::new();
    for _ in 0..bytes {
        let _ = write!(out, "{:02x}", rand::random::<u8>());
    }
    out
}

fn random_base64(bytes: usize) -> String {
    use base64::Engine as _;
    let data: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(data)
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
}

impl Person {
    /// The person as an HR record.
    fn employee(&self) -> anyhow::Result<Employee> {
        let date = |text: &str| -> anyhow::Result<Option<time::Date>> {
            if text.is_empty() {
                return Ok(None);
            }
            let format = time::macros::format_description!("[year]-[month]-[day]");
            Ok(Some(time::Date::parse(text, &format)?))
        };
        Ok(Employee {
            id: EmployeeId::parse(&self.id)?,
            name: PersonName::parse(&format!("{} {}", self.first, self.last))?,
            email: Some(Email::parse(&self.email())?),
            groups: HrGroup::parse(self.department).into_iter().collect(),
            status: if self.active {
                EmploymentStatus::Active
            } else {
                EmploymentStatus::Terminated
            },
            start_date: date(&self.start)?,
            end_date: date(&self.end)?,
            card: None,
            attributes: Vec::new(),
        })
    }

    /// A made-up work address.
    fn email(&self) -> String {
        let number = self.id.trim_start_matches("E-");
        format!(
            "{}.{}.{number}@example.com",
            ascii(&self.first),
            ascii(&self.last)
        )
    }
}

/// Lower-case ASCII letters of a name, for a made-up address.
fn ascii(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
