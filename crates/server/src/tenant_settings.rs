//! A tenant's sync settings, as stored in the tenant's settings JSON (the same shape the
//! CLI's `import` saves).

use hr_domain::{CredentialSettings, DeliverySettings, TimeZone};
use serde::{Deserialize, Serialize};
use sync_engine::apply::Deliver;
use sync_engine::desired::DEFAULT_NAME_MAX_BYTES;
use sync_engine::{DeletionGuard, MappingSpec};

/// Mapping, credentials and the member name cap of one tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    #[serde(default)]
    pub mapping: MappingSpec,
    #[serde(default)]
    pub credentials: CredentialSettings,
    #[serde(default = "default_name_max")]
    pub member_name_max_bytes: usize,
    /// The IANA zone HR dates are calendar days in.
    #[serde(default)]
    pub time_zone: TimeZone,
    /// Limits on member deletions per run.
    #[serde(default)]
    pub deletion_guard: DeletionGuard,
    /// Minutes between full reconciles; 0 turns the schedule off.
    #[serde(default = "default_reconcile_minutes")]
    pub reconcile_every_minutes: u32,
    /// Sending new PINs and magic links to the work e-mail.
    #[serde(default)]
    pub delivery: DeliverySettings,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            mapping: MappingSpec::default(),
            credentials: CredentialSettings::default(),
            member_name_max_bytes: DEFAULT_NAME_MAX_BYTES,
            time_zone: TimeZone::utc(),
            deletion_guard: DeletionGuard::default(),
            reconcile_every_minutes: default_reconcile_minutes(),
            delivery: DeliverySettings::default(),
        }
    }
}

fn default_name_max() -> usize {
    DEFAULT_NAME_MAX_BYTES
}

fn default_reconcile_minutes() -> u32 {
    15
}

/// Most minutes between scheduled reconciles (a week).
pub const MAX_RECONCILE_MINUTES: u32 = 7 * 24 * 60;

impl TenantSettings {
    /// Reads stored settings; `{}` gives the defaults.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value.clone())
    }

    /// The settings as stored.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "mapping": self.mapping,
            "credentials": self.credentials,
            "member_name_max_bytes": self.member_name_max_bytes,
            "time_zone": self.time_zone,
            "deletion_guard": self.deletion_guard,
            "reconcile_every_minutes": self.reconcile_every_minutes,
            "delivery": self.delivery,
        })
    }

    /// Which new credentials the engine queues for delivery by e-mail.
    pub fn deliver(&self) -> Deliver {
        Deliver {
            pin: self.delivery.pin,
            magic_link: self.delivery.magic_link,
        }
    }

    /// A problem with the values, naming the field.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if let Some(problem) = self.deletion_guard.problem() {
            return Some(problem);
        }
        if let Some(problem) = self.delivery.problem() {
            return Some(problem);
        }
        if self.reconcile_every_minutes > MAX_RECONCILE_MINUTES {
            return Some((
                "reconcile_every_minutes",
                "must be at most 10080 (a week); 0 turns the schedule off",
            ));
        }
        if self.member_name_max_bytes < 8 {
            return Some(("member_name_max_bytes", "must be at least 8"));
        }
        let blank = self.mapping.groups.keys().any(|k| k.trim().is_empty());
        blank.then_some(("mapping.groups", "has a blank HR group name"))
    }
}
