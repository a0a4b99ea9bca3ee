//! The configuration file of `import`, `plan` and the demo (TOML).
//!
//! ```toml
//! tenant = "acme"
//! [akiles]
//! url = "https://api.akiles.app/v2"
//! [source]
//! format = "csv"
//! [source.columns]
//! id = "EmpID"
//! name = "Employee_Name"
//! [mapping]
//! every_employee = ["All staff"]
//! [mapping.groups]
//! "Production" = ["Production"]
//! [credentials]
//! pin = true
//! ```
//! Every key is documented in `docs/configuration.md`.

use std::path::Path;

use hr_domain::{CredentialSettings, DeliverySettings, TimeZone};
use serde::Deserialize;

use crate::desired::DEFAULT_NAME_MAX_BYTES;
use crate::guard::DeletionGuard;
use crate::run::MappingSpec;
use crate::source::SourceSpec;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tenant key in the store (default `default`).
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// Store URL (default `sqlite://akiles-hr-sync.db?mode=rwc`).
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub akiles: AkilesConfig,
    #[serde(default)]
    pub sync: SyncConfig,
    pub source: SourceSpec,
    #[serde(default)]
    pub mapping: MappingSpec,
    #[serde(default)]
    pub credentials: CredentialSettings,
    /// Limits on member deletions per run.
    #[serde(default)]
    pub deletion_guard: DeletionGuard,
    /// Sending new PINs and magic links to the work e-mail (off by default).
    #[serde(default)]
    pub delivery: DeliverySettings,
}

fn default_tenant() -> String {
    "default".to_owned()
}

/// How to reach Akiles.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkilesConfig {
    /// API base URL, ending in `/v2`.
    #[serde(default)]
    pub url: Option<String>,
    /// Bearer token (an OAuth access token or an API key). Prefer `AKILES_TOKEN`.
    #[serde(default)]
    pub token: Option<String>,
    /// Requests per second to this organization.
    #[serde(default = "default_rate")]
    pub rate_per_second: u32,
    /// Per-request timeout in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

impl Default for AkilesConfig {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            rate_per_second: default_rate(),
            timeout_secs: default_timeout(),
        }
    }
}

fn default_rate() -> u32 {
    20
}

fn default_timeout() -> u64 {
    30
}

/// How the sync behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Longest member name sent to Akiles, in bytes (the full name stays in the store).
    #[serde(default = "default_name_max")]
    pub member_name_max_bytes: usize,
    /// Employees applied at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// The IANA time zone HR dates are calendar days in (default `UTC`).
    #[serde(default)]
    pub time_zone: TimeZone,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            member_name_max_bytes: default_name_max(),
            concurrency: default_concurrency(),
            time_zone: TimeZone::utc(),
        }
    }
}

fn default_name_max() -> usize {
    DEFAULT_NAME_MAX_BYTES
}

fn default_concurrency() -> usize {
    4
}

impl Config {
    /// Reads and checks a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses and checks TOML text; the error names the key and the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        if config.sync.member_name_max_bytes < 8 {
            return Err("sync.member_name_max_bytes must be at least 8".to_owned());
        }
        if config.sync.concurrency == 0 || config.sync.concurrency > 64 {
            return Err("sync.concurrency must be between 1 and 64".to_owned());
        }
        if let Some((field, problem)) = config.deletion_guard.problem() {
            return Err(format!("{field} {problem}"));
        }
        if let Some((field, problem)) = config.delivery.problem() {
            return Err(format!("{field} {problem}"));
        }
        if config.akiles.rate_per_second == 0 {
            return Err("akiles.rate_per_second must be at least 1".to_owned());
        }
        if config.akiles.timeout_secs == 0 {
            return Err("akiles.timeout_secs must be at least 1".to_owned());
        }
        if !config
            .tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || config.tenant.is_empty()
        {
            return Err("tenant must be letters, digits, - or _".to_owned());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "[source.columns]\nid = \"Id\"\nname = \"Name\"\n";

    #[test]
    fn delivery_is_off_without_a_section() {
        let config = Config::parse(SOURCE).unwrap();

        assert!(!config.delivery.enabled());
    }

    #[test]
    fn a_delivery_section_is_read() {
        let text = format!(
            "{SOURCE}[delivery]\npin = true\n[delivery.smtp]\nhost = \"smtp.example.com\"\n\
             from = \"Doors <doors@example.com>\"\nusername = \"doors\"\n"
        );

        let config = Config::parse(&text).unwrap();

        assert!(config.delivery.pin && !config.delivery.magic_link);
        let smtp = config.delivery.smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.example.com", 587));
    }

    #[test]
    fn a_delivery_problem_names_its_key() {
        let text = format!(
            "{SOURCE}[delivery]\npin = true\n[delivery.smtp]\nhost = \"smtp.example.com\"\n\
             from = \"doors@example.com\"\nsecurity = \"none\"\n"
        );

        let error = Config::parse(&text).unwrap_err();

        assert!(error.starts_with("delivery.smtp.security"), "{error}");
    }
}
