//! `/admin`: the tenants, and a form to create one.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use sync_store::ConnectionState;

use super::page::{Chrome, Flash, PageError};
use super::session::AdminSession;
use crate::routes::manage::tenants::tenant_key_problem;
use crate::state::AppState;

/// One row of the tenant list.
#[derive(Debug)]
pub struct TenantRow {
    pub key: String,
    /// The connection in words.
    pub connection: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/tenants.html")]
struct TenantsPage {
    chrome: Chrome,
    tenants: Vec<TenantRow>,
}

/// `GET /admin`.
pub async fn list(
    State(state): State<AppState>,
    session: AdminSession,
) -> Result<Response, PageError> {
    let mut tenants = Vec::new();
    for tenant in state.store.tenants().await? {
        let connection = state.store.connection(&tenant.key).await?;
        let connection = match connection {
            Some(c) if c.state == ConnectionState::Connected => {
                let name = c.organization_name.unwrap_or_else(|| "Akiles".to_owned());
                format!("Connected to {name}")
            }
            Some(c) if c.state == ConnectionState::ReconnectNeeded => "Reconnect needed".into(),
            _ => "Not connected".to_owned(),
        };
        tenants.push(TenantRow {
            key: tenant.key,
            connection,
        });
    }

    let page = TenantsPage {
        chrome: Chrome {
            username: session.username.clone(),
            flash: session.flash.clone(),
            tenant: None,
            tab: "tenants",
            title: "Tenants".to_owned(),
        },
        tenants,
    };
    Ok(session.render(page))
}

/// The create-tenant form.
#[derive(Debug, Deserialize)]
pub struct CreateTenantForm {
    pub key: String,
}

/// `POST /admin/tenants`.
pub async fn create(
    State(state): State<AppState>,
    session: AdminSession,
    Form(form): Form<CreateTenantForm>,
) -> Result<Response, PageError> {
    let key = form.key.trim();
    if let Some(reason) = tenant_key_problem(key) {
        let flash = Flash::error(format!("The tenant key {reason}."));
        return Ok(session.redirect("/admin", flash));
    }
    if state.store.tenant(key).await?.is_some() {
        let flash = Flash::error(format!("Tenant {key} already exists."));
        return Ok(session.redirect("/admin", flash));
    }

    state.store.ensure_tenant(key).await?;
    tracing::info!(tenant = %key, "Created tenant {key} from the admin pages");
    let flash = Flash::ok(format!("Created tenant {key}. Connect it to Akiles next."));
    Ok(session.redirect(&format!("/admin/tenants/{key}"), flash))
}
