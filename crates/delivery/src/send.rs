//! Working through a tenant's due deliveries: reveal, render, send, record.

use std::time::Duration as StdDuration;

use akiles_client::ClientError;
use hr_domain::delivery::{DeliverySettings, MessageValues};
use hr_domain::{Clock, Email, EmployeeId};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sync_engine::Akiles;
use sync_store::{CredentialKind, Delivery, HistoryEntry, Store, StoreError};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::mailer::{Mailer, MailerError};

/// Attempts before a delivery is given up (until an admin retries it).
pub const MAX_ATTEMPTS: u32 = 5;

/// The wait after the first failed attempt; each later failure doubles it.
pub const FIRST_RETRY_DELAY: StdDuration = StdDuration::from_secs(60);

/// The longest wait between two attempts.
pub const MAX_RETRY_DELAY: StdDuration = StdDuration::from_secs(60 * 60);

/// Everything [`send_due`] needs for one tenant.
#[derive(Clone, Copy)]
pub struct SendContext<'a> {
    pub store: &'a dyn Store,
    pub api: &'a dyn Akiles,
    pub clock: &'a dyn Clock,
    pub tenant: &'a str,
    pub settings: &'a DeliverySettings,
    /// The SMTP password, when the settings name a user.
    pub password: Option<&'a SecretString>,
}

impl std::fmt::Debug for SendContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendContext")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// What one pass over the due deliveries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Accepted by the SMTP server.
    pub sent: usize,
    /// Failed this time; tried again later.
    pub retrying: usize,
    /// Given up: out of attempts, or nowhere to send them.
    pub failed: usize,
    /// Dropped: the credential is gone, or its kind is no longer sent.
    pub cancelled: usize,
}

impl SendReport {
    /// Adds another pass's counts.
    pub fn add(&mut self, other: SendReport) {
        self.sent += other.sent;
        self.retrying += other.retrying;
        self.failed += other.failed;
        self.cancelled += other.cancelled;
    }

    /// Whether nothing was due.
    pub fn is_empty(&self) -> bool {
        *self == SendReport::default()
    }
}

/// Why a pass could not start.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the due deliveries cannot be read")]
    Store(#[from] StoreError),
}

/// How one delivery ended this time.
enum Settled {
    Sent,
    Retry(String),
    /// The SMTP server did not answer in time: tried again later like [`Settled::Retry`],
    /// and the rest of the pass waits, since it would not answer them either.
    TimedOut(String),
    Fail(String),
    Cancel(&'static str),
}

/// The secret and what the message needs besides it.
struct Revealed {
    address: Email,
    name: String,
    secret: SecretString,
}

/// Sends up to `limit` of the tenant's due deliveries, one at a time, and records each
/// outcome in the delivery and the employee's history. Without SMTP settings nothing is
/// sent and the deliveries wait. When the SMTP server does not answer within its timeout,
/// the pass ends there: the deliveries not tried yet stay due, untouched, for the next
/// pass, so a silent server costs one timeout per pass. Only ids and counts are logged.
pub async fn send_due(ctx: SendContext<'_>, limit: u32) -> Result<SendReport, SendError> {
    let mut report = SendReport::default();
    let Some(smtp) = &ctx.settings.smtp else {
        return Ok(report);
    };
    let due = ctx
        .store
        .due_deliveries(Some(ctx.tenant), ctx.clock.now(), limit)
        .await?;
    if due.is_empty() {
        return Ok(report);
    }
    // Settings that cannot make a mailer (a login without a password) fail each attempt,
    // so the deliveries show why instead of waiting unseen.
    let mailer = Mailer::new(smtp, ctx.password).map_err(|error| describe(&error, &[]));

    for (done, delivery) in due.iter().enumerate() {
        let settled = match &mailer {
            Ok(mailer) => attempt(ctx, mailer, delivery).await,
            Err(reason) => Settled::Retry(reason.clone()),
        };
        let silent = matches!(settled, Settled::TimedOut(_));
        settle(ctx, delivery, settled, &mut report).await;
        let waiting = due.len() - done - 1;
        if silent && waiting > 0 {
            warn!(
                tenant = ctx.tenant,
                waiting,
                "The SMTP server of tenant {} did not answer; {waiting} e-mails wait for the next pass",
                ctx.tenant
            );
            break;
        }
    }
    info!(
        tenant = ctx.tenant,
        sent = report.sent,
        retrying = report.retrying,
        failed = report.failed,
        cancelled = report.cancelled,
        "Delivered credentials of tenant {}: {} sent, {} to retry, {} failed",
        ctx.tenant,
        report.sent,
        report.retrying,
        report.failed
    );
    Ok(report)
}

/// One attempt at one delivery.
async fn attempt(ctx: SendContext<'_>, mailer: &Mailer, delivery: &Delivery) -> Settled {
    if !switched_on(ctx.settings, delivery.credential) {
        return Settled::Cancel("delivery of this kind of credential was turned off");
    }
    let revealed = match reveal(ctx, delivery).await {
        Ok(revealed) => revealed,
        Err(settled) => return settled,
    };

    let values = MessageValues {
        name: &revealed.name,
        credential: label(delivery.credential),
        secret: revealed.secret.expose_secret(),
        is_pin: delivery.credential == CredentialKind::Pin,
    };
    let Ok(message) = ctx.settings.templates.render(&values) else {
        return Settled::Fail("a template has an unknown placeholder".to_owned());
    };
    match mailer.send(&revealed.address, &message).await {
        Ok(()) => Settled::Sent,
        Err(error) => {
            let text = describe(&error, &[revealed.address.as_str(), values.secret]);
            // Even a permanent refusal (a login or sender the admin is fixing) is tried
            // again a few times before the delivery is given up.
            if matches!(error, MailerError::Timeout { .. }) {
                Settled::TimedOut(text)
            } else if matches!(error, MailerError::Smtp(_)) {
                Settled::Retry(text)
            } else {
                Settled::Fail(text)
            }
        }
    }
}

/// The employee's address and name, and the credential from Akiles.
async fn reveal(ctx: SendContext<'_>, delivery: &Delivery) -> Result<Revealed, Settled> {
    let id = &delivery.employee_id;
    let stored = match ctx.store.employee(ctx.tenant, id).await {
        Ok(stored) => stored,
        Err(error) => return Err(Settled::Retry(format!("reading the employee: {error}"))),
    };
    let Some(stored) = stored else {
        return Err(Settled::Fail("the employee has no record".to_owned()));
    };
    let Some(address) = stored.employee.email.clone() else {
        return Err(Settled::Fail("no work e-mail on record".to_owned()));
    };

    let (member, credential) = (&delivery.member_id, &delivery.credential_id);
    let secret = match delivery.credential {
        CredentialKind::Pin => ctx.api.reveal_pin(member, credential).await,
        CredentialKind::MagicLink => ctx.api.reveal_magic_link(member, credential).await,
    };
    match secret {
        Ok(Some(secret)) => Ok(Revealed {
            address,
            name: stored.employee.name.as_str().to_owned(),
            secret,
        }),
        Ok(None) => Err(Settled::Cancel("the credential was deleted in Akiles")),
        Err(error) if error.is_not_found() => {
            Err(Settled::Cancel("the credential was deleted in Akiles"))
        }
        Err(error) => Err(Settled::Retry(akiles_failure(&error))),
    }
}

fn akiles_failure(error: &ClientError) -> String {
    format!("revealing the credential in Akiles failed: {error}")
}

/// Writes the outcome to the delivery and the employee's history, and counts it.
async fn settle(
    ctx: SendContext<'_>,
    delivery: &Delivery,
    settled: Settled,
    report: &mut SendReport,
) {
    let attempt = delivery.attempts + 1;
    let (state, reason, written) = match &settled {
        Settled::Sent => {
            report.sent += 1;
            (
                "sent",
                None,
                ctx.store.mark_delivery_sent(delivery.id).await,
            )
        }
        Settled::Retry(reason) | Settled::TimedOut(reason) if attempt < MAX_ATTEMPTS => {
            report.retrying += 1;
            let at = next_attempt_at(ctx.clock.now(), attempt);
            let written = ctx.store.reschedule_delivery(delivery.id, reason, at).await;
            ("retrying", Some(reason.as_str()), written)
        }
        Settled::Retry(reason) | Settled::TimedOut(reason) | Settled::Fail(reason) => {
            report.failed += 1;
            let written = ctx.store.fail_delivery(delivery.id, reason).await;
            ("failed", Some(reason.as_str()), written)
        }
        Settled::Cancel(reason) => {
            report.cancelled += 1;
            let written = ctx.store.cancel_delivery(delivery.id, reason).await;
            ("cancelled", Some(*reason), written)
        }
    };
    log_outcome(ctx.tenant, delivery, state, reason);
    if let Err(error) = written {
        warn!(delivery.id = delivery.id.0, error = %error, "Could not record delivery {}", delivery.id.0);
    }

    let mut detail = json!({
        "credential": delivery.credential,
        "state": state,
        "attempt": attempt,
        "delivery": delivery.id.0,
    });
    if let Some(reason) = reason {
        detail["reason"] = json!(reason);
    }
    record(ctx, &delivery.employee_id, detail).await;
}

fn log_outcome(tenant: &str, delivery: &Delivery, state: &str, reason: Option<&str>) {
    let (id, employee) = (delivery.id.0, &delivery.employee_id);
    let credential = delivery.credential.as_str();
    match reason {
        None => info!(
            tenant, delivery.id = id, employee.id = %employee, credential,
            "Sent the {credential} of employee {employee} by e-mail (delivery {id})"
        ),
        Some(reason) => warn!(
            tenant, delivery.id = id, employee.id = %employee, credential, state,
            "Delivery {id} of employee {employee}'s {credential}: {state}: {reason}"
        ),
    }
}

async fn record(ctx: SendContext<'_>, employee: &EmployeeId, detail: serde_json::Value) {
    let entry = HistoryEntry {
        kind: "delivery".to_owned(),
        detail,
    };
    if let Err(e) = ctx
        .store
        .append_history(ctx.tenant, employee, None, &entry)
        .await
    {
        warn!(employee.id = %employee, error = %e, "Could not record history for employee {employee}");
    }
}

/// When to try again after `attempt` failed attempts: the first delay, doubled each
/// time, at most [`MAX_RETRY_DELAY`].
pub fn next_attempt_at(now: OffsetDateTime, attempt: u32) -> OffsetDateTime {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let delay = FIRST_RETRY_DELAY
        .saturating_mul(factor)
        .min(MAX_RETRY_DELAY);
    now + delay
}

fn switched_on(settings: &DeliverySettings, credential: CredentialKind) -> bool {
    match credential {
        CredentialKind::Pin => settings.pin,
        CredentialKind::MagicLink => settings.magic_link,
    }
}

/// What the message calls the credential.
pub fn label(credential: CredentialKind) -> &'static str {
    match credential {
        CredentialKind::Pin => "PIN",
        CredentialKind::MagicLink => "magic link",
    }
}

/// The error and its causes as one line, with every `hidden` text (the address, the
/// credential) cut out: an SMTP server may quote the recipient in its answer.
fn describe(error: &MailerError, hidden: &[&str]) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    hide(&text, hidden)
}

/// `text` with every occurrence of each `hidden` value (ignoring case) replaced.
fn hide(text: &str, hidden: &[&str]) -> String {
    let mut out = text.to_owned();
    for value in hidden.iter().filter(|v| !v.is_empty()) {
        let lower = out.to_lowercase();
        let needle = value.to_lowercase();
        if lower.len() != out.len() {
            // Lower-casing changed byte offsets; fall back to an exact match.
            out = out.replace(value, "[hidden]");
            continue;
        }
        let mut result = String::with_capacity(out.len());
        let mut last = 0;
        for (at, _) in lower.match_indices(&needle) {
            result.push_str(&out[last..at]);
            result.push_str("[hidden]");
            last = at + needle.len();
        }
        result.push_str(&out[last..]);
        out = result;
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        let now = datetime!(2026-03-02 08:00 UTC);

        let waits: Vec<i64> = (1..=8)
            .map(|attempt| (next_attempt_at(now, attempt) - now).whole_minutes())
            .collect();

        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn hidden_values_are_cut_out_of_error_texts_whatever_their_case() {
        let text = "550 5.1.1 <Ana@Example.com>: unknown; PIN 4821 ana@example.com";

        let hidden = hide(text, &["ana@example.com", "4821"]);

        assert_eq!(
            hidden,
            "550 5.1.1 <[hidden]>: unknown; PIN [hidden] [hidden]"
        );
    }
}
