//! The settings form's fields for how runs behave: the time zone HR dates are read in,
//! the deletion guard's two limits and the minutes between full reconciles.
//!
//! [`parse_run_settings`] reads them into [`TenantSettings`]; a field missing from the
//! form keeps its stored value, so an older form or a script that posts only the mapping
//! changes nothing here. Every refusal names the form field.

use hr_domain::TimeZone;

use crate::tenant_settings::{MAX_RECONCILE_MINUTES, TenantSettings};

/// Zones offered in the time zone field's list; any IANA name is accepted.
pub const COMMON_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Rome",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Atlantic/Canary",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Mexico_City",
    "America/Bogota",
    "America/Sao_Paulo",
    "America/Buenos_Aires",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
];

/// The run fields as the form shows them.
#[derive(Debug, Clone)]
pub struct RunSettingsView {
    pub time_zone: String,
    pub max_deletions: u32,
    pub max_deletion_percent: u8,
    pub reconcile_every_minutes: u32,
    pub zones: &'static [&'static str],
}

impl RunSettingsView {
    /// The stored values of `settings`.
    pub fn of(settings: &TenantSettings) -> Self {
        Self {
            time_zone: settings.time_zone.name().to_owned(),
            max_deletions: settings.deletion_guard.max_deletions,
            max_deletion_percent: settings.deletion_guard.max_deletion_percent,
            reconcile_every_minutes: settings.reconcile_every_minutes,
            zones: COMMON_ZONES,
        }
    }
}

/// Reads `time_zone`, `max_deletions`, `max_deletion_percent` and
/// `reconcile_every_minutes` into `settings`; the error names the field.
pub fn parse_run_settings(
    fields: &[(String, String)],
    settings: &mut TenantSettings,
) -> Result<(), String> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
    };

    if let Some(name) = value("time_zone") {
        settings.time_zone = TimeZone::parse(name)
            .map_err(|e| format!("Time zone (time_zone): {e}. Nothing was saved."))?;
    }
    if let Some(text) = value("max_deletions") {
        settings.deletion_guard.max_deletions = text.parse().map_err(|_| {
            "Most deletions per run (max_deletions) must be a whole number from 0. \
             Nothing was saved."
                .to_owned()
        })?;
    }
    if let Some(text) = value("max_deletion_percent") {
        settings.deletion_guard.max_deletion_percent = text
            .parse()
            .ok()
            .filter(|percent| *percent <= 100)
            .ok_or_else(|| {
                "Most deletions per run, in percent (max_deletion_percent) must be a whole \
                 number from 0 to 100. Nothing was saved."
                    .to_owned()
            })?;
    }
    if let Some(text) = value("reconcile_every_minutes") {
        settings.reconcile_every_minutes = text
            .parse()
            .ok()
            .filter(|minutes| *minutes <= MAX_RECONCILE_MINUTES)
            .ok_or_else(|| {
                format!(
                    "Minutes between full reconciles (reconcile_every_minutes) must be a whole \
                     number from 0 (off) to {MAX_RECONCILE_MINUTES}. Nothing was saved."
                )
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_run_fields_become_the_zone_the_guard_and_the_interval() {
        let fields = pairs(&[
            ("time_zone", " europe/madrid "),
            ("max_deletions", "25"),
            ("max_deletion_percent", "30"),
            ("reconcile_every_minutes", "60"),
        ]);
        let mut settings = TenantSettings::default();

        parse_run_settings(&fields, &mut settings).unwrap();

        assert_eq!(settings.time_zone.name(), "Europe/Madrid");
        assert_eq!(settings.deletion_guard.max_deletions, 25);
        assert_eq!(settings.deletion_guard.max_deletion_percent, 30);
        assert_eq!(settings.reconcile_every_minutes, 60);
    }

    #[test]
    fn missing_run_fields_keep_the_stored_values() {
        let mut settings = TenantSettings {
            reconcile_every_minutes: 5,
            ..TenantSettings::default()
        };

        parse_run_settings(&pairs(&[("pin", "on")]), &mut settings).unwrap();

        assert_eq!(settings.reconcile_every_minutes, 5);
        assert_eq!(settings.time_zone.name(), "UTC");
    }

    #[test]
    fn each_bad_run_field_is_refused_by_its_name() {
        for (field, value) in [
            ("time_zone", "Mars/Olympus_Mons"),
            ("time_zone", ""),
            ("max_deletions", "-1"),
            ("max_deletion_percent", "101"),
            ("reconcile_every_minutes", "lots"),
        ] {
            let mut settings = TenantSettings::default();

            let error = parse_run_settings(&pairs(&[(field, value)]), &mut settings).unwrap_err();

            assert!(error.contains(&format!("({field})")), "{field}: {error}");
        }
    }
}
