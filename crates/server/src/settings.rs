//! The service's settings: one typed struct, loaded once at startup.
//!
//! Sources, each overriding the one before: built-in defaults, the TOML file given with
//! `--config`, environment variables `AKILES_HR_SYNC__<SECTION>__<KEY>` (for example
//! `AKILES_HR_SYNC__WORKERS__CONCURRENCY=8`), then command-line flags. The older
//! `AKILES_HR_SYNC_DATA_KEY` and `AKILES_HR_SYNC_DATABASE` variables of the CLI are read
//! too, below the prefixed ones. Every key is listed in [`KNOWN_KEYS`] and documented in
//! `docs/configuration.md` ("Service settings").

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;
use sync_store::DataKey;
use url::Url;

/// Prefix of the environment variables that set service keys.
pub const ENV_PREFIX: &str = "AKILES_HR_SYNC__";

/// The CLI's variable for the data key, also accepted by the service.
pub const LEGACY_DATA_KEY_ENV: &str = "AKILES_HR_SYNC_DATA_KEY";

/// The CLI's variable for the store URL, also accepted by the service.
pub const LEGACY_DATABASE_ENV: &str = "AKILES_HR_SYNC_DATABASE";

/// Every settings key, dotted. Environment variables naming anything else are warned about.
pub const KNOWN_KEYS: &[&str] = &[
    "listen",
    "public_url",
    "database",
    "data_key",
    "cookie_key",
    "management_token",
    "request_timeout_secs",
    "akiles.api_url",
    "akiles.authorize_url",
    "akiles.token_url",
    "akiles.client_id",
    "akiles.client_secret",
    "akiles.rate_per_second",
    "akiles.timeout_secs",
    "akiles.groups_cache_secs",
    "workers.concurrency",
    "workers.max_attempts",
    "workers.lease_secs",
    "workers.poll_interval_ms",
    "workers.backoff_base_ms",
    "workers.backoff_max_ms",
    "push.signature_tolerance_secs",
    "push.max_body_bytes",
];

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A source could not be read or a value has the wrong type.
    #[error("the settings are not valid: {0}")]
    Invalid(#[source] Box<figment::Error>),
    /// A required key has no value.
    #[error("{key} is not set. {hint}")]
    Missing {
        key: &'static str,
        hint: &'static str,
    },
    /// A value is out of range or malformed.
    #[error("{key} is not valid: {reason}")]
    Bad { key: &'static str, reason: String },
}

const DATA_KEY_HINT: &str = "It is the base64 of 32 random bytes that seals personal data and \
    tokens in the store; make one with `openssl rand -base64 32` and set data_key in the \
    settings file, AKILES_HR_SYNC__DATA_KEY or AKILES_HR_SYNC_DATA_KEY. Keep it: without it \
    the stored data cannot be read.";

const COOKIE_KEY_HINT: &str = "It is the base64 of at least 64 random bytes that protects admin \
    sessions; make one with `openssl rand -base64 64` and set cookie_key in the settings \
    file or AKILES_HR_SYNC__COOKIE_KEY.";

/// Where the settings come from, besides defaults and the environment.
#[derive(Debug, Clone, Default)]
pub struct SettingsSources {
    /// The TOML file of `--config`.
    pub file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<SocketAddr>,
}

/// The validated settings of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// URL at which users and Akiles reach this service (OAuth redirect, links).
    pub public_url: Url,
    /// Store URL.
    pub database: String,
    /// Key sealing personal data and tokens in the store.
    pub data_key: DataKey,
    /// Key for admin session cookies (at least 64 bytes).
    pub cookie_key: CookieKey,
    /// Bearer token of the management API; `None` turns that API off.
    pub management_token: Option<SecretString>,
    /// Limit for handling one request.
    pub request_timeout: Duration,
    pub akiles: AkilesSettings,
    pub workers: WorkerSettings,
    pub push: PushSettings,
}

/// The secret bytes of the admin session cookie key.
#[derive(Clone)]
pub struct CookieKey(std::sync::Arc<SecretBox<Vec<u8>>>);

impl CookieKey {
    /// The key bytes (64 or more).
    pub fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

/// How to reach Akiles.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AkilesSettings {
    /// API base URL, ending in `/v2`.
    pub api_url: Url,
    /// OAuth authorization endpoint.
    pub authorize_url: Url,
    /// OAuth token endpoint.
    pub token_url: Url,
    /// OAuth client id of this service.
    pub client_id: Option<String>,
    /// OAuth client secret of this service.
    pub client_secret: Option<SecretString>,
    /// Requests per second to one organization (also the burst).
    pub rate_per_second: u32,
    /// Limit for one Akiles request, in seconds.
    pub timeout_secs: u64,
    /// How long a tenant's member groups are reused before being read again, in seconds.
    pub groups_cache_secs: u64,
}

impl Default for AkilesSettings {
    fn default() -> Self {
        Self {
            api_url: fixed_url("https://api.akiles.app/v2"),
            authorize_url: fixed_url("https://auth.akiles.app/oauth2/auth"),
            token_url: fixed_url("https://auth.akiles.app/oauth2/token"),
            client_id: None,
            client_secret: None,
            rate_per_second: 20,
            timeout_secs: 30,
            groups_cache_secs: 30,
        }
    }
}

impl AkilesSettings {
    /// Limit for one Akiles request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// How long member groups are cached per tenant.
    pub fn groups_cache(&self) -> Duration {
        Duration::from_secs(self.groups_cache_secs)
    }
}

fn fixed_url(text: &str) -> Url {
    Url::parse(text).expect("built-in URLs are valid")
}

/// The in-process worker pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Jobs run at once.
    pub concurrency: usize,
    /// Attempts of a job before it is marked failed.
    pub max_attempts: u32,
    /// How long a claimed job stays reserved for its worker, in seconds.
    pub lease_secs: u64,
    /// How often an idle worker looks for due jobs, in milliseconds.
    pub poll_interval_ms: u64,
    /// First retry delay, in milliseconds (doubled per attempt, with jitter).
    pub backoff_base_ms: u64,
    /// Largest retry delay, in milliseconds.
    pub backoff_max_ms: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            max_attempts: 8,
            lease_secs: 300,
            poll_interval_ms: 1000,
            backoff_base_ms: 2_000,
            backoff_max_ms: 600_000,
        }
    }
}

impl WorkerSettings {
    /// The lease of a claimed job.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// The idle poll interval.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// The first retry delay.
    pub fn backoff_base(&self) -> Duration {
        Duration::from_millis(self.backoff_base_ms)
    }

    /// The largest retry delay.
    pub fn backoff_max(&self) -> Duration {
        Duration::from_millis(self.backoff_max_ms)
    }
}

/// The push API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSettings {
    /// Largest accepted distance between a signature's timestamp and now, in seconds.
    pub signature_tolerance_secs: u64,
    /// Largest accepted request body, in bytes (a snapshot is one body).
    pub max_body_bytes: usize,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            signature_tolerance_secs: 300,
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What the sources hold, before checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default = "default_listen")]
    listen: SocketAddr,
    #[serde(default)]
    public_url: Option<Url>,
    #[serde(default = "default_database")]
    database: String,
    #[serde(default)]
    data_key: Option<SecretString>,
    #[serde(default)]
    cookie_key: Option<SecretString>,
    #[serde(default)]
    management_token: Option<SecretString>,
    #[serde(default = "default_request_timeout")]
    request_timeout_secs: u64,
    #[serde(default)]
    akiles: AkilesSettings,
    #[serde(default)]
    workers: WorkerSettings,
    #[serde(default)]
    push: PushSettings,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// The default store: a SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "sqlite://akiles-hr-sync.db?mode=rwc";

fn default_database() -> String {
    DEFAULT_DATABASE.to_owned()
}

fn default_request_timeout() -> u64 {
    30
}

impl Settings {
    /// Loads defaults, the file, the environment and the flags, then checks the result.
    pub fn load(sources: &SettingsSources) -> Result<Self, SettingsError> {
        warn_unknown_env(std::env::vars().map(|(name, _)| name));
        Self::from_figment(figment(sources))
    }

    /// Checks and types what a figment holds (tests build their own figment).
    pub fn from_figment(figment: Figment) -> Result<Self, SettingsError> {
        let raw: RawSettings = figment
            .extract()
            .map_err(|e| SettingsError::Invalid(Box::new(e)))?;
        raw.validate()
    }
}

/// The layered sources: defaults (in the structs), file, environment, flags.
pub fn figment(sources: &SettingsSources) -> Figment {
    let mut figment = Figment::new();
    if let Some(file) = &sources.file {
        figment = figment.merge(Toml::file_exact(file));
    }
    figment = figment
        .merge(
            Env::raw()
                .only(&[LEGACY_DATA_KEY_ENV])
                .map(|_| "data_key".into()),
        )
        .merge(
            Env::raw()
                .only(&[LEGACY_DATABASE_ENV])
                .map(|_| "database".into()),
        )
        .merge(Env::prefixed(ENV_PREFIX).split("__"));
    if let Some(listen) = sources.listen {
        figment = figment.merge(Serialized::default("listen", listen.to_string()));
    }
    figment
}

/// Logs a warning for each `AKILES_HR_SYNC__*` variable that names no key.
pub fn warn_unknown_env(names: impl Iterator<Item = String>) {
    for name in unknown_env(names) {
        tracing::warn!(env = %name, "Ignoring {name}: it names no setting");
    }
}

fn unknown_env(names: impl Iterator<Item = String>) -> Vec<String> {
    names
        .filter(|name| {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                return false;
            };
            let key = rest.to_ascii_lowercase().replace("__", ".");
            !KNOWN_KEYS.contains(&key.as_str())
        })
        .collect()
}

impl RawSettings {
    fn validate(self) -> Result<Settings, SettingsError> {
        let data_key = self.data_key.ok_or(SettingsError::Missing {
            key: "data_key",
            hint: DATA_KEY_HINT,
        })?;
        let data_key = DataKey::from_base64(data_key.expose_secret().trim()).map_err(|e| {
            SettingsError::Bad {
                key: "data_key",
                reason: format!("{e}. {DATA_KEY_HINT}"),
            }
        })?;
        let cookie_key = cookie_key(self.cookie_key)?;
        let public_url = match self.public_url {
            Some(url) => url,
            None => {
                Url::parse(&format!("http://{}", self.listen)).map_err(|e| SettingsError::Bad {
                    key: "public_url",
                    reason: e.to_string(),
                })?
            }
        };
        check_ranges(&self.workers, &self.akiles, self.request_timeout_secs)?;
        let management_token = self
            .management_token
            .filter(|t| !t.expose_secret().trim().is_empty());
        Ok(Settings {
            listen: self.listen,
            public_url,
            database: self.database,
            data_key,
            cookie_key,
            management_token,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            akiles: self.akiles,
            workers: self.workers,
            push: self.push,
        })
    }
}

fn cookie_key(value: Option<SecretString>) -> Result<CookieKey, SettingsError> {
    let value = value.ok_or(SettingsError::Missing {
        key: "cookie_key",
        hint: COOKIE_KEY_HINT,
    })?;
    let bytes = BASE64
        .decode(value.expose_secret().trim())
        .map_err(|_| SettingsError::Bad {
            key: "cookie_key",
            reason: format!("it is not base64. {COOKIE_KEY_HINT}"),
        })?;
    if bytes.len() < 64 {
        return Err(SettingsError::Bad {
            key: "cookie_key",
            reason: format!("it holds {} bytes, at least 64 are needed", bytes.len()),
        });
    }
    Ok(CookieKey(std::sync::Arc::new(SecretBox::new(Box::new(
        bytes,
    )))))
}

fn check_ranges(
    workers: &WorkerSettings,
    akiles: &AkilesSettings,
    request_timeout_secs: u64,
) -> Result<(), SettingsError> {
    let checks: [(&'static str, bool, &str); 7] = [
        (
            "workers.concurrency",
            (1..=64).contains(&workers.concurrency),
            "between 1 and 64",
        ),
        (
            "workers.max_attempts",
            workers.max_attempts >= 1,
            "at least 1",
        ),
        ("workers.lease_secs", workers.lease_secs >= 1, "at least 1"),
        (
            "workers.poll_interval_ms",
            workers.poll_interval_ms >= 1,
            "at least 1",
        ),
        (
            "akiles.rate_per_second",
            akiles.rate_per_second >= 1,
            "at least 1",
        ),
        (
            "akiles.timeout_secs",
            akiles.timeout_secs >= 1,
            "at least 1",
        ),
        (
            "request_timeout_secs",
            request_timeout_secs >= 1,
            "at least 1",
        ),
    ];
    for (key, ok, rule) in checks {
        if !ok {
            return Err(SettingsError::Bad {
                key,
                reason: format!("it must be {rule}"),
            });
        }
    }
    if workers.backoff_max_ms < workers.backoff_base_ms {
        return Err(SettingsError::Bad {
            key: "workers.backoff_max_ms",
            reason: "it must not be below workers.backoff_base_ms".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use figment::providers::Serialized;

    use super::*;

    fn with_keys() -> Figment {
        Figment::new()
            .merge(Serialized::default(
                "data_key",
                DataKey::generate().to_base64(),
            ))
            .merge(Serialized::default("cookie_key", BASE64.encode([7u8; 64])))
    }

    #[test]
    fn defaults_fill_everything_but_the_keys() {
        let settings = Settings::from_figment(with_keys()).unwrap();

        assert_eq!(settings.listen, default_listen());
        assert_eq!(settings.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(settings.database, DEFAULT_DATABASE);
        assert_eq!(settings.workers.concurrency, 4);
        assert_eq!(settings.workers.max_attempts, 8);
        assert_eq!(settings.push.signature_tolerance_secs, 300);
        assert!(settings.management_token.is_none());
        assert_eq!(
            settings.akiles.api_url.as_str(),
            "https://api.akiles.app/v2"
        );
    }

    #[test]
    fn a_missing_data_key_names_the_key_and_how_to_make_one() {
        let figment =
            Figment::new().merge(Serialized::default("cookie_key", BASE64.encode([7u8; 64])));

        let error = Settings::from_figment(figment).unwrap_err();

        assert!(matches!(
            error,
            SettingsError::Missing {
                key: "data_key",
                ..
            }
        ));
        assert!(error.to_string().contains("openssl rand -base64 32"));
    }

    #[test]
    fn a_short_cookie_key_is_refused() {
        let figment =
            with_keys().merge(Serialized::default("cookie_key", BASE64.encode([1u8; 16])));

        let error = Settings::from_figment(figment).unwrap_err();

        assert!(matches!(
            error,
            SettingsError::Bad {
                key: "cookie_key",
                ..
            }
        ));
    }

    #[test]
    fn toml_and_nested_values_are_typed() {
        let toml = r#"
            listen = "127.0.0.1:9999"
            management_token = "m-token"
            [workers]
            concurrency = 2
            backoff_base_ms = 10
            [akiles]
            api_url = "http://127.0.0.1:1/v2"
        "#;
        let figment = with_keys().merge(Toml::string(toml));

        let settings = Settings::from_figment(figment).unwrap();

        assert_eq!(settings.listen.port(), 9999);
        assert_eq!(settings.public_url.as_str(), "http://127.0.0.1:9999/");
        assert_eq!(settings.workers.concurrency, 2);
        assert_eq!(settings.workers.backoff_base(), Duration::from_millis(10));
        assert_eq!(settings.akiles.api_url.as_str(), "http://127.0.0.1:1/v2");
        assert!(settings.management_token.is_some());
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error() {
        let figment = with_keys().merge(Toml::string("[workers]\nconcurency = 2\n"));

        assert!(matches!(
            Settings::from_figment(figment),
            Err(SettingsError::Invalid(_))
        ));
    }

    #[test]
    fn only_unknown_prefixed_variables_are_reported() {
        let names = [
            "AKILES_HR_SYNC__WORKERS__CONCURRENCY",
            "AKILES_HR_SYNC__WORKERS__CONCURENCY",
            "AKILES_HR_SYNC_DATA_KEY",
            "PATH",
        ]
        .map(str::to_owned);

        let unknown = unknown_env(names.into_iter());

        assert_eq!(unknown, vec!["AKILES_HR_SYNC__WORKERS__CONCURENCY"]);
    }

    #[test]
    fn every_key_is_documented() {
        let docs = include_str!("../../../docs/configuration.md");
        for key in KNOWN_KEYS {
            assert!(
                docs.contains(&format!("`{key}`")),
                "{key} is not documented"
            );
        }
    }
}
