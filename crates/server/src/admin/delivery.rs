//! The "Delivery by e-mail" part of the integration page: the switches, the SMTP server
//! and the templates (fields of the settings form, read by [`parse_delivery_settings`]),
//! the write-only SMTP password, and the recent deliveries with a Retry button for
//! failed ones. Also how an employee's page words a delivery history entry.

use axum::Form;
use axum::extract::State;
use axum::response::Response;
use hr_domain::delivery::{DeliverySettings, SmtpSecurity, SmtpSettings, Templates};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sync_store::{DeliveryId, DeliveryState};

use super::page::{Flash, PageError, existing_tenant, when};
use super::session::AdminSession;
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::tenant_settings::TenantSettings;

/// Recent deliveries shown on the page.
const RECENT: u32 = 10;

/// Longest SMTP password accepted.
const MAX_PASSWORD_LEN: usize = 1024;

/// One delivery as the table shows it: ids and states only.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: i64,
    pub employee_id: String,
    pub credential: &'static str,
    pub state: &'static str,
    pub attempts: u32,
    pub created: String,
    pub note: String,
    pub retriable: bool,
}

/// The delivery fields and table as the page shows them.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub pin: bool,
    pub magic_link: bool,
    pub host: String,
    pub port: u16,
    pub security: &'static str,
    pub username: String,
    pub from: String,
    pub timeout_secs: u64,
    pub templates: Templates,
    pub password_set: bool,
    pub recent: Vec<DeliveryRow>,
}

impl DeliveryView {
    /// The stored delivery settings, whether a password is set, and recent deliveries.
    pub async fn load(
        state: &AppState,
        tenant: &str,
        settings: &TenantSettings,
    ) -> Result<Self, PageError> {
        let delivery = &settings.delivery;
        let smtp = delivery.smtp.clone();
        let deliveries = state.store.deliveries(tenant, None, RECENT).await?;
        Ok(Self {
            pin: delivery.pin,
            magic_link: delivery.magic_link,
            host: smtp.as_ref().map(|s| s.host.clone()).unwrap_or_default(),
            port: smtp.as_ref().map_or(587, |s| s.port),
            security: smtp
                .as_ref()
                .map_or(SmtpSecurity::Starttls, |s| s.security)
                .as_str(),
            username: smtp
                .as_ref()
                .and_then(|s| s.username.clone())
                .unwrap_or_default(),
            from: smtp.as_ref().map(|s| s.from.clone()).unwrap_or_default(),
            timeout_secs: smtp.as_ref().map_or(30, |s| s.timeout_secs),
            templates: delivery.templates.clone(),
            password_set: state.store.smtp_password(tenant).await?.is_some(),
            recent: deliveries.iter().map(row).collect(),
        })
    }
}

fn row(delivery: &sync_store::Delivery) -> DeliveryRow {
    let note = match (delivery.state, &delivery.last_error) {
        (DeliveryState::Sent, _) => delivery
            .sent_at
            .map(|at| format!("sent {}", when(at)))
            .unwrap_or_default(),
        (DeliveryState::Pending, Some(error)) => {
            format!("next try {}: {error}", when(delivery.next_attempt_at))
        }
        (_, Some(error)) => error.clone(),
        (_, None) => String::new(),
    };
    DeliveryRow {
        id: delivery.id.0,
        employee_id: delivery.employee_id.to_string(),
        credential: credential_words(delivery.credential),
        state: delivery.state.as_str(),
        attempts: delivery.attempts,
        created: when(delivery.created_at),
        note,
        retriable: delivery.state == DeliveryState::Failed,
    }
}

fn credential_words(credential: sync_store::CredentialKind) -> &'static str {
    match credential {
        sync_store::CredentialKind::Pin => "PIN",
        sync_store::CredentialKind::MagicLink => "Magic link",
    }
}

/// Reads the delivery fields of the settings form into `settings`, when the form has
/// them (the hidden `delivery_form` field); an older form changes nothing here. An empty
/// host means no SMTP server. Values are checked with the rest of the settings.
pub fn parse_delivery_settings(
    fields: &[(String, String)],
    settings: &mut TenantSettings,
) -> Result<(), String> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if value("delivery_form").is_none() {
        return Ok(());
    }
    let on = |name: &str| value(name) == Some("on");
    let text = |name: &str| value(name).unwrap_or_default().trim().to_owned();

    let host = text("smtp_host");
    let smtp = if host.is_empty() {
        None
    } else {
        Some(SmtpSettings {
            host,
            port: number(&text("smtp_port"), 587, "The SMTP port")?,
            security: SmtpSecurity::parse(&text("smtp_security"))
                .ok_or("The SMTP security must be STARTTLS, TLS or none.")?,
            username: Some(text("smtp_username")).filter(|u| !u.is_empty()),
            from: text("smtp_from"),
            timeout_secs: number(&text("smtp_timeout_secs"), 30, "The SMTP timeout")?,
        })
    };
    let template = |name: &str, stored: &str| {
        value(name).map_or_else(|| stored.to_owned(), |v| v.replace("\r\n", "\n"))
    };
    let stored = &settings.delivery.templates;
    let templates = Templates {
        subject: template("template_subject", &stored.subject)
            .trim()
            .to_owned(),
        text: template("template_text", &stored.text),
        html: template("template_html", &stored.html),
    };
    settings.delivery = DeliverySettings {
        pin: on("delivery_pin"),
        magic_link: on("delivery_magic_link"),
        smtp,
        templates,
    };
    Ok(())
}

fn number<T: std::str::FromStr>(text: &str, default: T, what: &str) -> Result<T, String> {
    if text.is_empty() {
        return Ok(default);
    }
    text.parse()
        .map_err(|_| format!("{what} must be a whole number."))
}

/// The SMTP password form: a new password, or `clear`.
#[derive(Debug, Deserialize)]
pub struct SmtpPasswordForm {
    pub action: String,
    #[serde(default)]
    pub password: Option<SecretString>,
}

/// `POST /admin/tenants/{tenant}/smtp-password`: stores (sealed) or clears it.
pub async fn smtp_password(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath(tenant): ApiPath<String>,
    Form(form): Form<SmtpPasswordForm>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}#delivery");
    if form.action == "clear" {
        state.store.set_smtp_password(&tenant, None).await?;
        tracing::info!(tenant = %tenant, "Cleared the SMTP password of tenant {tenant}");
        return Ok(session.redirect(&page, Flash::ok("Cleared the SMTP password.")));
    }

    let password = form.password.filter(|p| {
        let length = p.expose_secret().len();
        length > 0 && length <= MAX_PASSWORD_LEN
    });
    let Some(password) = password else {
        let flash = Flash::error("Type the SMTP password (at most 1024 characters).");
        return Ok(session.redirect(&page, flash));
    };
    state
        .store
        .set_smtp_password(&tenant, Some(&password))
        .await?;
    tracing::info!(tenant = %tenant, "Set the SMTP password of tenant {tenant}");
    Ok(session.redirect(&page, Flash::ok("Saved the SMTP password.")))
}

/// `POST /admin/tenants/{tenant}/deliveries/{id}/retry`: a failed delivery is due again.
pub async fn retry(
    State(state): State<AppState>,
    session: AdminSession,
    ApiPath((tenant, id)): ApiPath<(String, i64)>,
) -> Result<Response, PageError> {
    existing_tenant(&state, &tenant).await?;
    let page = format!("/admin/tenants/{tenant}#delivery");
    if !state.store.retry_delivery(&tenant, DeliveryId(id)).await? {
        let flash = Flash::error("That delivery is not failed any more; nothing to retry.");
        return Ok(session.redirect(&page, flash));
    }
    state.wake_workers();
    tracing::info!(tenant = %tenant, delivery.id = id, "Queued failed delivery {id} again");
    Ok(session.redirect(&page, Flash::ok("The e-mail will be sent again shortly.")))
}

/// A delivery history entry in words: what was sent and how it went.
pub fn history_summary(detail: &serde_json::Value) -> String {
    let credential = match detail.get("credential").and_then(|c| c.as_str()) {
        Some("pin") => "PIN",
        Some("magic_link") => "magic link",
        _ => "credential",
    };
    let state = detail.get("state").and_then(|s| s.as_str()).unwrap_or("?");
    let reason = detail.get("reason").and_then(|r| r.as_str());
    let words = match state {
        "queued" => format!("{credential} e-mail queued"),
        "sent" => format!("{credential} sent by e-mail"),
        "retrying" => format!("{credential} e-mail failed, will retry"),
        "failed" => format!("{credential} e-mail failed"),
        "cancelled" => format!("{credential} e-mail cancelled"),
        other => format!("{credential} e-mail: {other}"),
    };
    match reason {
        Some(reason) => format!("{words}: {reason}"),
        None => words,
    }
}

/// The help line listing the placeholders, for the template fields.
pub fn placeholders_help() -> String {
    hr_domain::delivery::Placeholder::ALL
        .iter()
        .map(|p| format!("{{{{{}}}}}", p.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
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
    fn the_delivery_fields_become_settings() {
        let fields = pairs(&[
            ("delivery_form", "1"),
            ("delivery_pin", "on"),
            ("smtp_host", " smtp.example.com "),
            ("smtp_port", "465"),
            ("smtp_security", "tls"),
            ("smtp_username", "doors"),
            ("smtp_from", "Doors <doors@example.com>"),
            ("smtp_timeout_secs", ""),
            ("template_subject", "Access for {{name}}"),
            ("template_text", "PIN:\r\n{{value}}"),
        ]);
        let mut settings = TenantSettings::default();

        parse_delivery_settings(&fields, &mut settings).unwrap();

        let delivery = &settings.delivery;
        assert!(delivery.pin && !delivery.magic_link);
        let smtp = delivery.smtp.as_ref().unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.example.com", 465));
        assert_eq!((smtp.security, smtp.timeout_secs), (SmtpSecurity::Tls, 30));
        assert_eq!(smtp.username.as_deref(), Some("doors"));
        assert_eq!(delivery.templates.subject, "Access for {{name}}");
        assert_eq!(delivery.templates.text, "PIN:\n{{value}}");
        assert_eq!(delivery.templates.html, Templates::default().html);
    }

    #[test]
    fn a_form_without_the_delivery_fields_keeps_the_stored_ones() {
        let mut settings = TenantSettings::default();
        settings.delivery.pin = true;

        parse_delivery_settings(&pairs(&[("pin", "on")]), &mut settings).unwrap();

        assert!(settings.delivery.pin);
    }

    #[test]
    fn an_empty_host_means_no_server_and_a_bad_port_is_refused() {
        let mut settings = TenantSettings::default();
        let no_host = pairs(&[("delivery_form", "1"), ("smtp_host", "")]);
        let bad_port = pairs(&[
            ("delivery_form", "1"),
            ("smtp_host", "h"),
            ("smtp_port", "x"),
        ]);

        parse_delivery_settings(&no_host, &mut settings).unwrap();
        let refused = parse_delivery_settings(&bad_port, &mut settings);

        assert!(settings.delivery.smtp.is_none());
        assert!(refused.unwrap_err().contains("SMTP port"));
    }

    #[test]
    fn history_entries_read_as_words() {
        let sent = serde_json::json!({"credential": "pin", "state": "sent"});
        let failed = serde_json::json!({"credential": "magic_link", "state": "failed",
                                        "reason": "no work e-mail on record"});

        assert_eq!(history_summary(&sent), "PIN sent by e-mail");
        assert_eq!(
            history_summary(&failed),
            "magic link e-mail failed: no work e-mail on record"
        );
    }
}
