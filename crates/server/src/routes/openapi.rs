//! `GET /api/openapi.yaml`: the OpenAPI document of the push and management APIs, kept in
//! the repository as `crates/server/openapi.yaml`.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as committed.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Serves the document.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `(METHOD, path)` of every operation in the document, read from its layout (paths
    /// at two spaces of indent, methods at four).
    fn documented() -> BTreeSet<(String, String)> {
        let mut operations = BTreeSet::new();
        let mut path = None;
        for line in OPENAPI_YAML.lines() {
            if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                path = Some(format!("/{p}"));
            } else if !line.starts_with("  ") {
                path = None;
            } else if let (Some(path), Some(method)) = (&path, line.strip_prefix("    ")) {
                let method = method.trim_end_matches(':');
                if ["get", "put", "post", "delete", "patch"].contains(&method) {
                    operations.insert((method.to_owned(), path.clone()));
                }
            }
        }
        operations
    }

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        let routed: BTreeSet<(String, String)> = crate::OPERATIONS_ROUTES
            .iter()
            .chain(crate::PUSH_ROUTES)
            .chain(crate::MANAGE_ROUTES)
            .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
            .collect();

        let documented = documented();

        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "not in openapi.yaml: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "in openapi.yaml but not routed: {unrouted:?}"
        );
    }
}
