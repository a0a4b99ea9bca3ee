//! One tenant's SMTP connection: builds the multipart message and hands it to the server.

use std::time::Duration;

use hr_domain::Email;
use hr_domain::delivery::{Rendered, Sender, SmtpSecurity, SmtpSettings};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// Why a message could not be sent. The texts never hold the address or the credential.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    /// The SMTP settings are not usable (they are checked when saved, so this is rare).
    #[error("the SMTP settings are not valid: {field} {message}")]
    Settings {
        field: &'static str,
        message: &'static str,
    },
    /// A login name is set but no password is.
    #[error("the SMTP password is not set")]
    NoPassword,
    /// The employee's address was refused by the message builder.
    #[error("the work e-mail address cannot be used as a recipient")]
    Recipient,
    /// The message could not be put together.
    #[error("the message cannot be built")]
    Message(#[source] lettre::error::Error),
    /// The server could not be reached, refused the login or refused the message.
    #[error("the SMTP server did not accept the message")]
    Smtp(#[source] lettre::transport::smtp::Error),
    /// Connecting, the greeting and the whole transaction took longer than the timeout
    /// (a server that accepts the connection but never answers).
    #[error("the SMTP server did not finish within the timeout of {secs} s")]
    Timeout { secs: u64 },
}

impl MailerError {
    /// Whether trying again later may help (the server was unreachable or busy).
    pub fn is_transient(&self) -> bool {
        match self {
            MailerError::Smtp(error) => !error.is_permanent(),
            MailerError::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// Sends messages for one tenant through its SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The bound on one whole send; lettre's own timeout covers single socket steps only.
    timeout: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp`, logging in with the settings' user name and `password` when a
    /// user name is set. Nothing is sent or connected yet.
    pub fn new(smtp: &SmtpSettings, password: Option<&SecretString>) -> Result<Self, MailerError> {
        if let Some((field, message)) = smtp.problem() {
            return Err(MailerError::Settings { field, message });
        }
        let from = sender_mailbox(&smtp.from)?;
        let host = smtp.host.trim();
        let builder = match smtp.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(MailerError::Smtp)?;
        let timeout = Duration::from_secs(smtp.timeout_secs);
        let mut builder = builder.port(smtp.port).timeout(Some(timeout));
        if let Some(username) = &smtp.username {
            let password = password.ok_or(MailerError::NoPassword)?;
            let credentials = Credentials::new(
                username.trim().to_owned(),
                password.expose_secret().to_owned(),
            );
            builder = builder.credentials(credentials);
        }
        Ok(Self {
            transport: builder.build(),
            from,
            timeout,
        })
    }

    /// Sends `message` to `to` as text and HTML alternatives. Connecting, the greeting
    /// and the whole transaction together take at most the settings' timeout.
    pub async fn send(&self, to: &Email, message: &Rendered) -> Result<(), MailerError> {
        let to: Address = to.as_str().parse().map_err(|_| MailerError::Recipient)?;
        let body = MultiPart::alternative_plain_html(message.text.clone(), message.html.clone());
        let email = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(message.subject.as_str())
            .multipart(body)
            .map_err(MailerError::Message)?;

        match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(sent) => sent.map(drop).map_err(MailerError::Smtp),
            Err(_elapsed) => Err(MailerError::Timeout {
                secs: self.timeout.as_secs(),
            }),
        }
    }
}

fn sender_mailbox(from: &str) -> Result<Mailbox, MailerError> {
    let invalid = MailerError::Settings {
        field: "delivery.smtp.from",
        message: "is not a valid sender",
    };
    let Some(sender) = Sender::parse(from) else {
        return Err(invalid);
    };
    let address: Address = sender.address.as_str().parse().map_err(|_| invalid)?;
    Ok(Mailbox::new(sender.name, address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(security: SmtpSecurity) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: 2525,
            security,
            username: None,
            from: "Acme Doors <doors@example.com>".into(),
            timeout_secs: 5,
        }
    }

    #[test]
    fn a_login_without_a_password_is_refused_before_connecting() {
        let settings = SmtpSettings {
            username: Some("mailer".into()),
            ..smtp(SmtpSecurity::None)
        };

        let result = Mailer::new(&settings, None);

        assert!(matches!(result, Err(MailerError::NoPassword)));
    }

    // The connection pool needs a runtime, also when it is dropped.
    #[tokio::test]
    async fn a_mailer_is_built_for_every_kind_of_security() {
        let password = SecretString::from("pw");
        for security in [
            SmtpSecurity::Starttls,
            SmtpSecurity::Tls,
            SmtpSecurity::None,
        ] {
            let settings = SmtpSettings {
                username: Some("mailer".into()),
                ..smtp(security)
            };

            assert!(
                Mailer::new(&settings, Some(&password)).is_ok(),
                "{security:?}"
            );
        }
    }

    #[test]
    fn the_sender_keeps_its_display_name() {
        let mailbox = sender_mailbox("Acme Doors <doors@example.com>").unwrap();

        assert_eq!(mailbox.name.as_deref(), Some("Acme Doors"));
        assert_eq!(mailbox.email.to_string(), "doors@example.com");
    }
}
