//! The two HTML pages of the authorization endpoint: the consent form and the error page.
//! Plain server-side HTML, no script; every echoed value is escaped.

use std::fmt::Write;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// What the consent page shows and carries in its hidden fields.
#[derive(Debug)]
pub struct Consent<'a> {
    /// The application asking.
    pub client_id: &'a str,
    /// Requested scopes, space-separated.
    pub scope: &'a str,
    /// The request parameters to post back, name → value.
    pub hidden: Vec<(&'a str, &'a str)>,
    /// Organizations to choose from, id → name; the first is preselected.
    pub organizations: &'a [(String, String)],
}

/// The consent page: scopes, a radio list of organizations, Approve and Deny.
pub fn consent_page(consent: &Consent<'_>) -> Html<String> {
    let client = escape(consent.client_id);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <title>Authorize {client} (Akiles emulator)</title></head>\n<body>\n\
         <h1>Authorize application</h1>\n\
         <p>The application <code>{client}</code> asks for access with these scopes:</p>\n<ul>\n"
    );
    for scope in consent.scope.split(' ') {
        let _ = writeln!(html, "<li><code>{}</code></li>", escape(scope));
    }
    html.push_str("</ul>\n<form method=\"post\" action=\"/oauth2/auth/decision\">\n");
    for (name, value) in &consent.hidden {
        let _ = writeln!(
            html,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    }
    html.push_str("<fieldset>\n<legend>Organization</legend>\n");
    for (index, (id, name)) in consent.organizations.iter().enumerate() {
        let checked = if index == 0 { " checked" } else { "" };
        let _ = writeln!(
            html,
            "<label><input type=\"radio\" name=\"organization_id\" value=\"{}\"{checked}> {}</label><br>",
            escape(id),
            escape(name)
        );
    }
    html.push_str(
        "</fieldset>\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n\
         </form>\n<p>Akiles emulator: there is no sign-in; anyone reaching this page approves \
         as the organization's administrator.</p>\n</body>\n</html>\n",
    );
    Html(html)
}

/// A 400 page for a request that must not be sent back to the application.
pub fn error_page(message: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <title>Invalid authorization request (Akiles emulator)</title></head>\n<body>\n\
         <h1>Invalid authorization request</h1>\n<p>{}</p>\n</body>\n</html>\n",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, Html(html)).into_response()
}

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn consent_page_escapes_echoed_values() {
        let orgs = vec![("org_1".to_owned(), "A <b> Co".to_owned())];
        let consent = Consent {
            client_id: "app_<x>",
            scope: "offline",
            hidden: vec![("state", "\"><script>")],
            organizations: &orgs,
        };

        let Html(html) = consent_page(&consent);

        assert!(!html.contains("<script>"));
        assert!(!html.contains("<x>"));
        assert!(html.contains("A &lt;b&gt; Co"));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
    }
}
