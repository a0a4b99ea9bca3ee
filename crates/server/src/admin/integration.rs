//! `/admin/tenants/{key}`: the integration page, as the Akiles HR guide describes it.
//!
//! Shows the connection in words, the Connect/Reconnect and Disconnect buttons, and once
//! connected the credential types and the mapping of HR groups (seen in the tenant's
//! employee records, already mapped, or typed in) to the Akiles member groups read live
//! from `GET /member_groups`. Saving stores the settings and queues a sync of the tenant.
//! Below: delivery of new credentials by e-mail ([`super::delivery`]), the push API keys
//! and the signing secret.

use std::collections::{BTreeMap, BTreeSet};

use akiles_types::MemberGroup;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use hr_domain::{CredentialSettings, PinLength};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sync_engine::MappingSpec;
use sync_store::{ApiKeyId, ConnectionState, JobKind};

use super::connect::{ConnectionView, connection_words};
use super::deletions::held_waiting;
use super::delivery::{DeliveryView, parse_delivery_settings, placeholders_help};
use super::page::{Chrome, Flash, PageError, existing_tenant, when};
use super::run_settings::{RunSettingsView, parse_run_settings};
use super::session::AdminSession;
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// Blank rows offered for typing in HR groups not seen yet.
const BLANK_ROWS: usize = 2;

/// One Akiles member group offered in a mapping row.
#[derive(Debug, Clone)]
pub struct GroupChoice {
    pub id: String,
    pub name: String,
    pub checked: bool,
}

/// One HR group and the Akiles groups it maps to.
#[derive(Debug, Clone)]
pub struct MappingRow {
    /// The HR group; empty for a blank row.
    pub hr_group: String,
    pub choices: Vec<GroupChoice>,
    /// Mapped references that match no live group; kept as they are.
    pub missing: Vec<String>,
}

/// An API key as listed.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: i64,
    pub label: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/integration.html")]
struct IntegrationPage {
    chrome: Chrome,
    tenant: String,
    connection: ConnectionView,
    oauth_ready: bool,
    credentials: CredentialSettings,
    /// Why the member groups could not be read, if they could not.
    groups_error: Option<String>,
    every: MappingRow,
    rows: Vec<MappingRow>,
    keys: Vec<KeyRow>,
    signing_secret_set: bool,
    /// Time zone, deletion guard and reconcile interval, as the form shows them.
    run_settings: RunSettingsView,
    /// Member deletions the guard holds for an admin's approval.
    held_waiting: usize,
    /// Delivery of new credentials by e-mail.
    delivery: DeliveryView,
    delivery_placeholders: String,
}

/// `GET /admin/tenants/{tenant}`.
pub async fn page(
    State(state): State<AppState>,
    axum::extract::Extension(context): axum::extract::Extension<
        std::sync::Arc<super::AdminContext>,
    >,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Response, PageError> {
    let stored = existing_tenant(&state, &tenant).await?;
    let settings = TenantSettings::from_json(&stored.settings).unwrap_or_default();
    let connection = state.store.connection(&tenant).await?;
    let connected = connection
        .as_ref()
        .is_some_and(|c| c.state == ConnectionState::Connected);

    let (groups, groups_error) = if connected {
        match live_groups(&state, &tenant).await {
            Ok(groups) => (groups, None),
            Err(reason) => (Vec::new(), Some(reason)),
        }
    } else {
        (Vec::new(), None)
    };
    let hr_groups = hr_groups(&state, &tenant, &settings.mapping).await?;
    let every = row(String::new(), &settings.mapping.every_employee, &groups);
    let mut rows: Vec<MappingRow> = hr_groups
        .into_iter()
        .map(|name| {
            let mapped = settings
                .mapping
                .groups
                .get(&name)
                .cloned()
                .unwrap_or_default();
            row(name, &mapped, &groups)
        })
        .collect();
    rows.extend((0..BLANK_ROWS).map(|_| row(String::new(), &[], &groups)));

    let page = IntegrationPage {
        chrome: chrome(&session, &tenant, "integration", "Integration"),
        connection: connection_words(connection.as_ref()),
        run_settings: RunSettingsView::of(&settings),
        held_waiting: held_waiting(&state, &tenant).await?,
        oauth_ready: context.oauth.is_some(),
        credentials: settings.credentials,
        groups_error,
        every,
        rows,
        keys: key_rows(&state, &tenant).await?,
        signing_secret_set: state.store.signing_secret(&tenant).await?.is_some(),
        delivery: DeliveryView::load(&state, &tenant, &settings).await?,
        delivery_placeholders: placeholders_help(),
        tenant,
    };
    Ok(session.render(page))
}

/// The chrome of a tenant page.
pub fn chrome(session: &AdminSession, tenant: &str, tab: &'static str, title: &str) -> Chrome {
    Chrome {
        username: session.username.clone(),
        flash: session.flash.clone(),
        tenant: Some(tenant.to_owned()),
        tab,
        title: format!("{title} · {tenant}"),
    }
}

/// The live member groups of the tenant's organization, or why they could not be read.
async fn live_groups(state: &AppState, tenant: &str) -> Result<Vec<MemberGroup>, String> {
    let client = state
        .connections
        .client(tenant)
        .await
        .map_err(|e| e.to_string())?;
    let groups = state
        .connections
        .member_groups(tenant, &client)
        .await
        .map_err(|e| e.to_string())?;
    let mut groups: Vec<MemberGroup> = groups.into_iter().filter(|g| !g.is_deleted).collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(groups)
}

/// HR groups seen in the tenant's employee records, plus those already mapped.
async fn hr_groups(
    state: &AppState,
    tenant: &str,
    mapping: &MappingSpec,
) -> Result<BTreeSet<String>, PageError> {
    let mut names: BTreeSet<String> = mapping.groups.keys().cloned().collect();
    for stored in state.store.employees(tenant).await? {
        let seen = stored.employee.groups.iter().map(|g| g.name().to_owned());
        names.extend(seen.filter(|n| !mapping.groups.keys().any(|k| k.eq_ignore_ascii_case(n))));
    }
    Ok(names)
}

fn row(hr_group: String, mapped: &[String], groups: &[MemberGroup]) -> MappingRow {
    let choices = groups
        .iter()
        .map(|g| GroupChoice {
            id: g.id.clone(),
            name: g.name.clone(),
            checked: mapped.iter().any(|r| *r == g.id || *r == g.name),
        })
        .collect();
    let missing = mapped
        .iter()
        .filter(|r| !groups.iter().any(|g| **r == g.id || **r == g.name))
        .cloned()
        .collect();
    MappingRow {
        hr_group,
        choices,
        missing,
    }
}

async fn key_rows(state: &AppState, tenant: &str) -> Result<Vec<KeyRow>, PageError> {
    let keys = state.store.api_keys(tenant).await?;
    Ok(keys
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.0,
            label: k.label,
            prefix: k.prefix,
            created: when(k.created_at),
            last_used: k.last_used_at.map_or_else(|| "never".to_owned(), when),
        })
        .collect())
}

/// The settings form, as name/value pairs (checkbox groups repeat their name):
/// `email`, `magic_link`, `pin`, `card` (`on`), `pin_length`, `every` (group ids),
/// `hr.N` (an HR group) with `to.N` (its group ids), and the run fields of
/// [`parse_run_settings`].
pub fn parse_settings_form(
    fields: &[(String, String)],
    mut settings: TenantSettings,
) -> Result<TenantSettings, String> {
    let on = |name: &str| fields.iter().any(|(n, v)| n == name && v == "on");
    let values = |name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    };

    let pin_length = values("pin_length")
        .first()
        .map_or(Ok(6), |v| v.parse::<u32>());
    let pin_length = pin_length
        .ok()
        .and_then(|digits| PinLength::new(digits).ok())
        .ok_or("The PIN length must be a number from 4 to 20.")?;
    settings.credentials = CredentialSettings {
        email: on("email"),
        magic_link: on("magic_link"),
        pin: on("pin"),
        pin_length,
        card: on("card"),
    };

    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in fields {
        let Some(index) = name.strip_prefix("hr.") else {
            continue;
        };
        let hr_group = value.trim();
        let targets = values(&format!("to.{index}"));
        if hr_group.is_empty() || targets.is_empty() {
            continue;
        }
        groups
            .entry(hr_group.to_owned())
            .or_default()
            .extend(targets);
    }
    for targets in groups.values_mut() {
        targets.sort();
        targets.dedup();
    }
    settings.mapping = MappingSpec {
        every_employee: values("every"),
        groups,
    };
    parse_run_settings(fields, &mut settings)?;
    parse_delivery_settings(fields, &mut settings)?;
    Ok(settings)
}

/// `POST /admin/tenants/{tenant}/settings`: saves credentials and mapping, queues a sync.
pub async fn save(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let stored = existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}");
    let current = TenantSettings::from_json(&stored.settings).unwrap_or_default();
    let settings = match parse_settings_form(&fields, current) {
        Ok(settings) => settings,
        Err(problem) => return Ok(session.redirect(&page, Flash::error(problem))),
    };
    if let Some((field, reason)) = settings.problem() {
        return Ok(session.redirect(&page, Flash::error(format!("{field} {reason}."))));
    }

    state
        .store
        .save_tenant_settings(&tenant, &settings.to_json())
        .await?;
    state.connections.forget_groups(&tenant);
    state
        .store
        .enqueue(&tenant, JobKind::SyncTenant, None)
        .await?;
    state.wake_workers();
    tracing::info!(tenant = %tenant, "Saved the settings of tenant {tenant} from the admin pages");

    let employees = state.store.employees(&tenant).await?.len();
    let flash = Flash::ok(format!(
        "Saved. Queued a sync of all {employees} employees: {}; {} HR groups mapped.",
        credentials_in_words(&settings.credentials),
        settings.mapping.groups.len()
    ));
    Ok(session.redirect(&page, flash))
}

fn credentials_in_words(credentials: &CredentialSettings) -> String {
    let mut on = Vec::new();
    if credentials.email {
        on.push("e-mail".to_owned());
    }
    if credentials.magic_link {
        on.push("magic link".to_owned());
    }
    if credentials.pin {
        on.push(format!("PIN ({} digits)", credentials.pin_length.get()));
    }
    if credentials.card {
        on.push("card".to_owned());
    }
    if on.is_empty() {
        "no credentials".to_owned()
    } else {
        on.join(", ")
    }
}

/// `POST /admin/tenants/{tenant}/sync`: queues a full reconcile of the tenant.
pub async fn sync_now(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    state
        .store
        .enqueue(&tenant, JobKind::SyncTenant, None)
        .await?;
    state.wake_workers();
    let flash = Flash::ok(
        "Queued a full reconcile: every employee is checked against Akiles and any drift \
         is repaired.",
    );
    Ok(session.redirect(&format!("/admin/tenants/{tenant}"), flash))
}

/// The create-key form.
#[derive(Debug, Deserialize)]
pub struct CreateKeyForm {
    pub label: String,
}

/// `POST /admin/tenants/{tenant}/api-keys`: the secret is shown once, in the flash.
pub async fn create_key(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Form(form): Form<CreateKeyForm>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}#keys");
    let label = form.label.trim();
    if label.is_empty() || label.len() > 200 {
        let flash = Flash::error("Give the key a label of 1 to 200 characters.");
        return Ok(session.redirect(&page, flash));
    }

    let (key, secret) = state.store.create_api_key(&tenant, label).await?;
    tracing::info!(tenant = %tenant, api_key.id = key.id.0, "Created API key {} for tenant {tenant}", key.id.0);
    let flash = Flash::ok(format!(
        "Created API key \"{label}\". Copy its secret now, it is not shown again: {}",
        secret.expose_secret()
    ));
    Ok(session.redirect(&page, flash))
}

/// `POST /admin/tenants/{tenant}/api-keys/{key_id}/revoke`.
pub async fn revoke_key(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath((tenant, key_id)): ApiPath<(String, i64)>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}#keys");
    if !state
        .store
        .revoke_api_key(&tenant, ApiKeyId(key_id))
        .await?
    {
        return Ok(session.redirect(&page, Flash::error("That API key does not exist.")));
    }
    tracing::info!(tenant = %tenant, api_key.id = key_id, "Revoked API key {key_id} of tenant {tenant}");
    Ok(session.redirect(&page, Flash::ok("Revoked the API key.")))
}

/// The signing-secret form: `action` is `generate` or `remove`.
#[derive(Debug, Deserialize)]
pub struct SigningSecretForm {
    pub action: String,
}

/// `POST /admin/tenants/{tenant}/signing-secret`: a new random secret, or none.
pub async fn signing_secret(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Form(form): Form<SigningSecretForm>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}#signing");
    if form.action == "remove" {
        state.store.set_signing_secret(&tenant, None).await?;
        tracing::info!(tenant = %tenant, "Removed the signing secret of tenant {tenant}");
        let flash = Flash::ok("Removed the signing secret: pushes need no signature now.");
        return Ok(session.redirect(&page, flash));
    }

    let secret = SecretString::from(random_secret());
    state
        .store
        .set_signing_secret(&tenant, Some(&secret))
        .await?;
    tracing::info!(tenant = %tenant, "Set a new signing secret for tenant {tenant}");
    let flash = Flash::ok(format!(
        "New signing secret; every push must now be signed with it. Copy it now, it is not \
         shown again: {}",
        secret.expose_secret()
    ));
    Ok(session.redirect(&page, flash))
}

/// 32 random bytes as hex.
fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
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
    fn the_form_becomes_credentials_and_a_mapping() {
        let fields = pairs(&[
            ("pin", "on"),
            ("pin_length", "8"),
            ("every", "mg_all"),
            ("hr.0", "Sales"),
            ("to.0", "mg_sales"),
            ("to.0", "mg_floor2"),
            ("hr.1", "IT"),
            ("hr.2", "Typed in"),
            ("to.2", "mg_new"),
            ("hr.3", ""),
            ("to.3", "mg_lost"),
        ]);

        let settings = parse_settings_form(&fields, TenantSettings::default()).unwrap();

        assert!(settings.credentials.pin && !settings.credentials.email);
        assert_eq!(settings.credentials.pin_length.get(), 8);
        assert_eq!(settings.mapping.every_employee, vec!["mg_all"]);
        assert_eq!(settings.mapping.groups.len(), 2);
        assert_eq!(
            settings.mapping.groups["Sales"],
            vec!["mg_floor2", "mg_sales"]
        );
        assert_eq!(settings.mapping.groups["Typed in"], vec!["mg_new"]);
    }

    #[test]
    fn a_pin_length_out_of_range_is_refused() {
        let fields = pairs(&[("pin", "on"), ("pin_length", "3")]);

        assert!(parse_settings_form(&fields, TenantSettings::default()).is_err());
    }
}
