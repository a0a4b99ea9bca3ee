//! Delivery of new credentials by e-mail.
//!
//! When a tenant turns it on ([`DeliverySettings`]), the sync engine queues a delivery
//! for every PIN or magic link it creates; the delivery row holds ids only. [`send_due`]
//! later takes the due deliveries of a tenant, reveals each credential from Akiles, fills
//! the tenant's templates in and sends a text and HTML message through the tenant's SMTP
//! server ([`Mailer`]). Each outcome is written to the delivery and to the employee's
//! history; a failure is tried again with a growing wait, then shown as failed. The PIN,
//! the link, the address and the SMTP password are never stored or logged by this crate.

mod mailer;
mod send;

pub use hr_domain::delivery::{
    DeliverySettings, MessageValues, Placeholder, Rendered, Sender, SmtpSecurity, SmtpSettings,
    Templates,
};
pub use mailer::{Mailer, MailerError};
pub use send::{
    FIRST_RETRY_DELAY, MAX_ATTEMPTS, MAX_RETRY_DELAY, SendContext, SendError, SendReport, label,
    next_attempt_at, send_due,
};
