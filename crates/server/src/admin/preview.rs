//! `POST /admin/tenants/{key}/settings/preview`: the effect of proposed settings, shown
//! before they are saved.
//!
//! The form is read exactly as Save reads it. The tenant's stored employee records are
//! then prepared as a full reconcile against its live Akiles organization under the
//! proposed settings, by the planner the runs use, and nothing is written. The page lists
//! the effect ("12 members gain Floor 3", "0 deletions") and carries the proposed form
//! values on to a "Save these settings" button that posts to the ordinary save. The
//! computation is [`crate::reconcile::preview_tenant`], shared with the management API.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::Response;

use super::integration::{chrome, parse_settings_form};
use super::page::{Chrome, Flash, PageError, existing_tenant};
use super::session::AdminSession;
use crate::extract::ApiPath;
use crate::reconcile::{ReconcileError, preview_tenant};
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// What the proposed settings would do, or why that cannot be said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// One line per effect, from [`sync_engine::run::Preview::lines`].
    Lines(Vec<String>),
    /// Akiles could not be asked (not connected, unreachable, a broken mapping).
    Unknown(String),
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/preview.html")]
struct PreviewPage {
    chrome: Chrome,
    tenant: String,
    lines: Vec<String>,
    problem: Option<String>,
    /// The posted form, carried on unchanged to Save.
    fields: Vec<(String, String)>,
    time_zone: String,
    max_deletions: u32,
    max_deletion_percent: u8,
    reconcile_every_minutes: u32,
}

/// `POST /admin/tenants/{tenant}/settings/preview`: changes nothing.
pub async fn preview(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let stored = existing_tenant(&state, &tenant).await?;
    let current = TenantSettings::from_json(&stored.settings).unwrap_or_default();
    let settings = match proposed_settings(&fields, current) {
        Ok(settings) => settings,
        Err(problem) => {
            let page = format!("/admin/tenants/{tenant}");
            return Ok(session.redirect(&page, Flash::error(problem)));
        }
    };

    let (lines, problem) = match effect_of(&state, &tenant, &settings).await {
        Effect::Lines(lines) => (lines, None),
        Effect::Unknown(why) => (Vec::new(), Some(why)),
    };
    let page = PreviewPage {
        chrome: chrome(&session, &tenant, "integration", "Preview"),
        tenant,
        lines,
        problem,
        fields,
        time_zone: settings.time_zone.name().to_owned(),
        max_deletions: settings.deletion_guard.max_deletions,
        max_deletion_percent: settings.deletion_guard.max_deletion_percent,
        reconcile_every_minutes: settings.reconcile_every_minutes,
    };
    Ok(session.render(page))
}

/// The form read as Save reads it: parsed, then checked; the error names the field.
fn proposed_settings(
    fields: &[(String, String)],
    current: TenantSettings,
) -> Result<TenantSettings, String> {
    let settings = parse_settings_form(fields, current)?;
    if let Some((field, reason)) = settings.problem() {
        return Err(format!("{field} {reason}."));
    }
    Ok(settings)
}

/// Prepares a reconcile of the stored records under `settings`
/// ([`crate::reconcile::preview_tenant`]), writing nothing.
pub async fn effect_of(state: &AppState, tenant: &str, settings: &TenantSettings) -> Effect {
    match preview_tenant(state, tenant, settings).await {
        Ok(preview) => Effect::Lines(preview.lines()),
        Err(ReconcileError::ReconnectNeeded) => Effect::Unknown(
            "This tenant is not connected to Akiles (or must reconnect), so the effect cannot \
             be computed. Connect Akiles first."
                .to_owned(),
        ),
        Err(e) => {
            tracing::warn!(tenant = %tenant, error = %e, "No preview of tenant {tenant}'s settings");
            Effect::Unknown(format!(
                "The effect cannot be computed: {:#}. Akiles may be unreachable; try again.",
                anyhow::Error::new(e)
            ))
        }
    }
}
