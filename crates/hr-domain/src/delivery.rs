//! Delivery settings: whether new PINs and magic links are sent to the employee's work
//! e-mail, through which SMTP server, and with which templates. No I/O: the sending
//! itself lives in the `credential-delivery` crate, so the configuration file and the
//! tenant settings can hold these without pulling in a mail library.
//!
//! Templates are plain text with `{{placeholder}}`s (see [`Placeholder`]); an unknown
//! placeholder is a settings problem, caught when the settings are saved.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Email;

/// Per-tenant delivery of new credentials by e-mail. Off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// Send each new PIN.
    #[serde(default)]
    pub pin: bool,
    /// Send each new magic link.
    #[serde(default)]
    pub magic_link: bool,
    /// The server to send through; needed when either switch is on.
    #[serde(default)]
    pub smtp: Option<SmtpSettings>,
    #[serde(default)]
    pub templates: Templates,
}

/// How to reach the tenant's SMTP server. The password is kept apart (sealed in the
/// store, or an environment variable for the CLI), never here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// Log in with this user name (and the stored password); no login when absent.
    #[serde(default)]
    pub username: Option<String>,
    /// The sender: `address` or `Name <address>`.
    pub from: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

impl SmtpSecurity {
    /// The name used in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    /// Parses the name used in settings.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "starttls" => SmtpSecurity::Starttls,
            "tls" => SmtpSecurity::Tls,
            "none" => SmtpSecurity::None,
            _ => return None,
        })
    }
}

/// The message sent, in three parts the tenant can edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    #[serde(default = "default_subject")]
    pub subject: String,
    #[serde(default = "default_text")]
    pub text: String,
    #[serde(default = "default_html")]
    pub html: String,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            subject: default_subject(),
            text: default_text(),
            html: default_html(),
        }
    }
}

/// Longest wait for the SMTP server accepted, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 300;

fn default_port() -> u16 {
    587
}

fn default_timeout_secs() -> u64 {
    30
}

fn default_subject() -> String {
    "Your door access {{credential}}".to_owned()
}

fn default_text() -> String {
    "Hello {{name}},\n\n\
     Here is your {{credential}} for the doors:\n\n\
     {{value}}\n\n\
     Keep it to yourself; ask your office manager if you did not expect this message.\n"
        .to_owned()
}

fn default_html() -> String {
    "<p>Hello {{name}},</p>\n\
     <p>Here is your {{credential}} for the doors:</p>\n\
     <p><strong>{{value}}</strong></p>\n\
     <p>Keep it to yourself; ask your office manager if you did not expect this \
     message.</p>\n"
        .to_owned()
}

impl DeliverySettings {
    /// Whether any credential is sent.
    pub fn enabled(&self) -> bool {
        self.pin || self.magic_link
    }

    /// A problem with the values, naming the field.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if let Some(smtp) = &self.smtp {
            if let Some(problem) = smtp.problem() {
                return Some(problem);
            }
        } else if self.enabled() {
            return Some(("delivery.smtp", "is needed to send credentials by e-mail"));
        }
        self.templates.problem()
    }
}

impl SmtpSettings {
    /// A problem with the values, naming the field.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        let host = self.host.trim();
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Some(("delivery.smtp.host", "must be a host name or address"));
        }
        if self.port == 0 {
            return Some(("delivery.smtp.port", "must be between 1 and 65535"));
        }
        if self.security == SmtpSecurity::None && !is_local_host(host) {
            return Some((
                "delivery.smtp.security",
                "\"none\" (no TLS) is only allowed for localhost or 127.0.0.1; \
                 use \"starttls\" or \"tls\"",
            ));
        }
        if self
            .username
            .as_deref()
            .is_some_and(|u| u.trim().is_empty())
        {
            return Some((
                "delivery.smtp.username",
                "is blank; leave it out for no login",
            ));
        }
        if Sender::parse(&self.from).is_none() {
            return Some((
                "delivery.smtp.from",
                "must be an e-mail address, or a name and an address: Name <address>",
            ));
        }
        if self.timeout_secs == 0 || self.timeout_secs > MAX_TIMEOUT_SECS {
            return Some(("delivery.smtp.timeout_secs", "must be between 1 and 300"));
        }
        None
    }
}

/// Longest subject template: a subject line is read at a glance.
pub const MAX_SUBJECT_BYTES: usize = 200;

/// Longest text or HTML template: a credential e-mail is short, and every message and
/// every page that edits it carries the whole template.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Whether `host` names this machine, where an unencrypted connection stays local.
pub fn is_local_host(host: &str) -> bool {
    matches!(
        host.trim().to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1" | "[::1]"
    )
}

/// A sender as written in settings: an address, with an optional display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: Option<String>,
    pub address: Email,
}

impl Sender {
    /// Parses `address` or `Name <address>`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let Some(open) = text.find('<') else {
            let address = Email::parse(text).ok()?;
            return Some(Self {
                name: None,
                address,
            });
        };
        let inner = text[open + 1..].strip_suffix('>')?;
        let name = text[..open].trim().trim_matches('"').trim();
        if name
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>'))
        {
            return None;
        }
        Some(Self {
            name: (!name.is_empty()).then(|| name.to_owned()),
            address: Email::parse(inner).ok()?,
        })
    }
}

/// What a template may refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{{name}}`: the employee's name.
    Name,
    /// `{{credential}}`: what is sent, "PIN" or "magic link".
    Credential,
    /// `{{value}}`: the PIN digits or the link, whichever is sent.
    Value,
    /// `{{pin}}`: the PIN digits (empty in a magic link's message).
    Pin,
    /// `{{link}}`: the magic link (empty in a PIN's message).
    Link,
}

impl Placeholder {
    /// Every placeholder, for help texts.
    pub const ALL: [Placeholder; 5] = [
        Placeholder::Name,
        Placeholder::Credential,
        Placeholder::Value,
        Placeholder::Pin,
        Placeholder::Link,
    ];

    /// The name between the braces.
    pub fn as_str(self) -> &'static str {
        match self {
            Placeholder::Name => "name",
            Placeholder::Credential => "credential",
            Placeholder::Value => "value",
            Placeholder::Pin => "pin",
            Placeholder::Link => "link",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Whether it stands for the secret credential.
    fn is_secret(self) -> bool {
        matches!(
            self,
            Placeholder::Value | Placeholder::Pin | Placeholder::Link
        )
    }
}

/// One piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Slot(Placeholder),
}

/// A template refers to an unknown `{{placeholder}}` or leaves `{{` unclosed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError;

/// Splits a template into text and placeholders (`{{ name }}`, spaces allowed).
fn pieces(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let (text, after) = rest.split_at(open);
        let close = after.find("}}").ok_or(TemplateError)?;
        let slot = Placeholder::parse(after[2..close].trim()).ok_or(TemplateError)?;
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        pieces.push(Piece::Slot(slot));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

impl Templates {
    /// A problem with the templates, naming the field.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        const UNKNOWN: &str = "has an unknown or unclosed placeholder; use {{name}}, \
                               {{credential}}, {{value}}, {{pin}} or {{link}}";
        const NO_SECRET: &str = "must contain {{value}} (or {{pin}} and {{link}})";
        let fields = [
            ("delivery.templates.subject", &self.subject),
            ("delivery.templates.text", &self.text),
            ("delivery.templates.html", &self.html),
        ];
        for (field, template) in fields {
            let limit = if field.ends_with("subject") {
                MAX_SUBJECT_BYTES
            } else {
                MAX_BODY_BYTES
            };
            if template.len() > limit {
                return Some((
                    field,
                    if field.ends_with("subject") {
                        "is longer than 200 bytes"
                    } else {
                        "is longer than 64 KiB"
                    },
                ));
            }
            let Ok(pieces) = pieces(template) else {
                return Some((field, UNKNOWN));
            };
            if field.ends_with("subject") {
                if self.subject.contains(['\r', '\n']) {
                    return Some((field, "must be one line"));
                }
                if pieces
                    .iter()
                    .any(|p| matches!(p, Piece::Slot(s) if s.is_secret()))
                {
                    return Some((field, "must not contain the credential"));
                }
            } else if !carries_both_secrets(&pieces) {
                return Some((field, NO_SECRET));
            }
        }
        None
    }

    /// Fills the three templates in; values are HTML-escaped in the HTML part.
    pub fn render(&self, values: &MessageValues<'_>) -> Result<Rendered, TemplateError> {
        Ok(Rendered {
            subject: fill(&self.subject, values, false)?,
            text: fill(&self.text, values, false)?,
            html: fill(&self.html, values, true)?,
        })
    }
}

/// Whether a message would show the secret for both kinds of credential.
fn carries_both_secrets(pieces: &[Piece<'_>]) -> bool {
    let has = |wanted: Placeholder| pieces.contains(&Piece::Slot(wanted));
    has(Placeholder::Value) || (has(Placeholder::Pin) && has(Placeholder::Link))
}

/// The values a message is filled with. `Debug` hides the secret.
pub struct MessageValues<'a> {
    pub name: &'a str,
    /// "PIN" or "magic link".
    pub credential: &'a str,
    /// The PIN digits or the link.
    pub secret: &'a str,
    /// Whether the secret is a PIN (else a link).
    pub is_pin: bool,
}

impl fmt::Debug for MessageValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageValues")
            .field("credential", &self.credential)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A filled-in message. It holds the credential: never log it. `Debug` hides it all.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Rendered([redacted])")
    }
}

fn fill(template: &str, values: &MessageValues<'_>, html: bool) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 64);
    for piece in pieces(template)? {
        let value = match piece {
            Piece::Text(text) => {
                out.push_str(text);
                continue;
            }
            Piece::Slot(Placeholder::Name) => values.name,
            Piece::Slot(Placeholder::Credential) => values.credential,
            Piece::Slot(Placeholder::Value) => values.secret,
            Piece::Slot(Placeholder::Pin) => {
                if values.is_pin {
                    values.secret
                } else {
                    ""
                }
            }
            Piece::Slot(Placeholder::Link) => {
                if values.is_pin {
                    ""
                } else {
                    values.secret
                }
            }
        };
        if html {
            push_escaped(&mut out, value);
        } else {
            out.push_str(value);
        }
    }
    Ok(out)
}

/// Appends `value` with the characters HTML gives a meaning to escaped (attribute-safe).
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp() -> SmtpSettings {
        SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: Some("mailer".into()),
            from: "Acme Doors <doors@example.com>".into(),
            timeout_secs: 30,
        }
    }

    fn values(secret: &str, is_pin: bool) -> MessageValues<'_> {
        MessageValues {
            name: "Ana <Admin> & Co",
            credential: if is_pin { "PIN" } else { "magic link" },
            secret,
            is_pin,
        }
    }

    #[test]
    fn defaults_are_off_and_without_problems() {
        let settings: DeliverySettings = serde_json::from_str("{}").unwrap();

        assert!(!settings.enabled());
        assert_eq!(settings.templates, Templates::default());
        assert_eq!(settings.problem(), None);
    }

    #[test]
    fn smtp_defaults_to_starttls_on_port_587() {
        let json = r#"{"host": "smtp.example.com", "from": "doors@example.com"}"#;

        let smtp: SmtpSettings = serde_json::from_str(json).unwrap();

        assert_eq!((smtp.port, smtp.security), (587, SmtpSecurity::Starttls));
        assert_eq!((smtp.username, smtp.timeout_secs), (None, 30));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let result = serde_json::from_str::<DeliverySettings>(r#"{"pins": true}"#);

        assert!(result.is_err());
    }

    #[test]
    fn oversized_templates_are_refused_naming_the_field() {
        let mut templates = Templates::default();
        templates.text.push_str(&"x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            templates.problem(),
            Some(("delivery.templates.text", "is longer than 64 KiB"))
        );
        let templates = Templates {
            subject: "s".repeat(MAX_SUBJECT_BYTES + 1),
            ..Templates::default()
        };
        assert_eq!(
            templates.problem().map(|p| p.0),
            Some("delivery.templates.subject")
        );
    }

    #[test]
    fn a_switch_without_a_server_is_a_problem() {
        let settings = DeliverySettings {
            pin: true,
            ..DeliverySettings::default()
        };

        assert_eq!(settings.problem().unwrap().0, "delivery.smtp");
    }

    #[test]
    fn no_tls_is_only_allowed_on_this_machine() {
        let remote = SmtpSettings {
            security: SmtpSecurity::None,
            ..smtp()
        };
        let local = SmtpSettings {
            host: "127.0.0.1".into(),
            ..remote.clone()
        };

        let (field, message) = remote.problem().unwrap();
        assert_eq!(field, "delivery.smtp.security");
        assert!(message.contains("localhost or 127.0.0.1"));
        assert_eq!(local.problem(), None);
    }

    #[test]
    fn bad_smtp_values_name_their_field() {
        let cases = [
            (
                SmtpSettings {
                    host: " ".into(),
                    ..smtp()
                },
                "delivery.smtp.host",
            ),
            (SmtpSettings { port: 0, ..smtp() }, "delivery.smtp.port"),
            (
                SmtpSettings {
                    from: "doors".into(),
                    ..smtp()
                },
                "delivery.smtp.from",
            ),
            (
                SmtpSettings {
                    username: Some("".into()),
                    ..smtp()
                },
                "delivery.smtp.username",
            ),
            (
                SmtpSettings {
                    timeout_secs: 0,
                    ..smtp()
                },
                "delivery.smtp.timeout_secs",
            ),
        ];

        for (settings, field) in cases {
            assert_eq!(settings.problem().map(|p| p.0), Some(field), "{settings:?}");
        }
    }

    #[test]
    fn a_sender_may_carry_a_name() {
        let named = Sender::parse("Acme Doors <doors@example.com>").unwrap();
        let bare = Sender::parse("doors@example.com").unwrap();

        assert_eq!(named.name.as_deref(), Some("Acme Doors"));
        assert_eq!(named.address.as_str(), "doors@example.com");
        assert_eq!(bare.name, None);
        assert!(Sender::parse("Acme <doors@example.com").is_none());
    }

    #[test]
    fn an_unknown_placeholder_is_a_problem_of_its_template() {
        let templates = Templates {
            html: "<p>{{value}} {{organisation}}</p>".into(),
            ..Templates::default()
        };

        assert_eq!(templates.problem().unwrap().0, "delivery.templates.html");
    }

    #[test]
    fn a_body_must_carry_the_credential_and_the_subject_must_not() {
        let no_secret = Templates {
            text: "Hello {{name}}".into(),
            ..Templates::default()
        };
        let secret_subject = Templates {
            subject: "Your PIN is {{pin}}".into(),
            ..Templates::default()
        };
        let pin_and_link = Templates {
            text: "{{pin}}{{link}}".into(),
            ..Templates::default()
        };

        assert_eq!(no_secret.problem().unwrap().0, "delivery.templates.text");
        assert_eq!(
            secret_subject.problem().unwrap().0,
            "delivery.templates.subject"
        );
        assert_eq!(pin_and_link.problem(), None);
    }

    #[test]
    fn rendering_escapes_values_in_html_only() {
        let templates = Templates {
            subject: "For {{ name }}".into(),
            text: "{{name}}: {{value}}".into(),
            html: "<a href=\"{{link}}\">{{name}}</a>{{pin}}".into(),
        };

        let rendered = templates
            .render(&values("https://x.test/?a=1&b=\"2\"", false))
            .unwrap();

        assert_eq!(rendered.subject, "For Ana <Admin> & Co");
        assert_eq!(
            rendered.text,
            "Ana <Admin> & Co: https://x.test/?a=1&b=\"2\""
        );
        assert_eq!(
            rendered.html,
            "<a href=\"https://x.test/?a=1&amp;b=&quot;2&quot;\">Ana &lt;Admin&gt; &amp; Co</a>"
        );
    }

    #[test]
    fn the_default_templates_show_a_pin() {
        let rendered = Templates::default()
            .render(&values("482913", true))
            .unwrap();

        assert_eq!(rendered.subject, "Your door access PIN");
        assert!(rendered.text.contains("\n482913\n"));
        assert!(rendered.html.contains("<strong>482913</strong>"));
        assert!(!format!("{rendered:?}").contains("482913"));
    }
}
