//! Reading back the emulator's own consent page, for programs that answer it without a
//! browser (the demo's self-check, tests).
//!
//! ```
//! let html = r#"<form method="post" action="/oauth2/auth/decision">
//!   <input type="hidden" name="state" value="s&amp;1">
//!   <input type="radio" name="organization_id" value="org_1" checked></form>"#;
//! let form = akiles_emulator::ConsentForm::parse(html).unwrap();
//! assert_eq!(form.action, "/oauth2/auth/decision");
//! assert!(form.answer("approve").contains(&("state".into(), "s&1".into())));
//! ```

/// The consent page's form: where it posts, and what it sends besides the button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentForm {
    /// The form's `action` (relative to the page).
    pub action: String,
    /// Hidden fields and checked radio buttons, unescaped, in page order.
    pub fields: Vec<(String, String)>,
}

impl ConsentForm {
    /// Reads the first form of a consent page; `None` when the page has no form.
    pub fn parse(html: &str) -> Option<Self> {
        let form = &html[html.find("<form")?..];
        let action = attribute(form, "action")?;
        let mut fields = Vec::new();
        for chunk in form.split("<input").skip(1) {
            let tag = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
            let kind = attribute(tag, "type").unwrap_or_default();
            let sent = kind == "hidden" || (kind == "radio" && tag.contains(" checked"));
            if let (true, Some(name), Some(value)) =
                (sent, attribute(tag, "name"), attribute(tag, "value"))
            {
                fields.push((name, value));
            }
        }
        Some(Self { action, fields })
    }

    /// The form body of pressing a button: `decision` is `approve` or `deny`.
    pub fn answer(&self, decision: &str) -> Vec<(String, String)> {
        let mut fields = self.fields.clone();
        fields.push(("decision".to_owned(), decision.to_owned()));
        fields
    }
}

/// The unescaped value of a double-quoted attribute.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
