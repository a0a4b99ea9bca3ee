//! Filters and expands for list and get calls, and how they become query strings.

/// Largest page the API serves; lists use it unless a query asks for less.
pub const MAX_PAGE_SIZE: u8 = 100;

/// Which members a list returns by soft-delete state (`is_deleted=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsDeleted {
    /// Only live members (`false`); what the API does when the filter is absent.
    False,
    /// Only soft-deleted members (`true`).
    True,
    /// Both (`any`).
    Any,
}

impl IsDeleted {
    /// The query-string value.
    pub fn as_str(self) -> &'static str {
        match self {
            IsDeleted::False => "false",
            IsDeleted::True => "true",
            IsDeleted::Any => "any",
        }
    }
}

/// Arrays a member response can include (`expand=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberExpand {
    /// `emails`.
    Emails,
    /// `magic_links` (without the secret links).
    MagicLinks,
    /// `pins` (without the digits).
    Pins,
    /// `cards`.
    Cards,
    /// `group_associations`.
    GroupAssociations,
}

impl MemberExpand {
    /// Every expand, for callers that want the whole member.
    pub const ALL: [MemberExpand; 5] = [
        MemberExpand::Emails,
        MemberExpand::MagicLinks,
        MemberExpand::Pins,
        MemberExpand::Cards,
        MemberExpand::GroupAssociations,
    ];

    /// The query-string value.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberExpand::Emails => "emails",
            MemberExpand::MagicLinks => "magic_links",
            MemberExpand::Pins => "pins",
            MemberExpand::Cards => "cards",
            MemberExpand::GroupAssociations => "group_associations",
        }
    }
}

/// Filters of `GET /members`. The default lists live members, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberQuery {
    /// Exact matches on metadata keys (`metadata.<key>=<value>`); all must match.
    pub metadata: Vec<(String, String)>,
    /// Members with this e-mail address.
    pub email: Option<String>,
    /// Soft-delete filter; `None` leaves the API default (live members only).
    pub is_deleted: Option<IsDeleted>,
    /// Arrays to include on each member.
    pub expand: Vec<MemberExpand>,
    /// Page size, clamped to 1..=100; `None` means 100.
    pub limit: Option<u8>,
}

impl MemberQuery {
    /// Members whose metadata key `key` equals `value`.
    pub fn by_metadata(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            metadata: vec![(key.into(), value.into())],
            ..Self::default()
        }
    }

    pub(crate) fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = metadata_pairs(&self.metadata);
        if let Some(email) = &self.email {
            pairs.push(("email".to_owned(), email.clone()));
        }
        if let Some(is_deleted) = self.is_deleted {
            pairs.push(("is_deleted".to_owned(), is_deleted.as_str().to_owned()));
        }
        pairs.extend(expand_pair(&self.expand));
        pairs
    }
}

/// Filters of `GET /member_groups`. The default lists live groups, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberGroupQuery {
    /// Free-text search on the name (`q=`).
    pub q: Option<String>,
    /// Soft-delete filter; `None` leaves the API default.
    pub is_deleted: Option<IsDeleted>,
    /// Page size, clamped to 1..=100; `None` means 100.
    pub limit: Option<u8>,
}

impl MemberGroupQuery {
    // No metadata filter: Akiles documents `metadata.<key>` only for members, and an
    // ignored filter would silently return every group.
    pub(crate) fn to_pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(("q".to_owned(), q.clone()));
        }
        if let Some(is_deleted) = self.is_deleted {
            pairs.push(("is_deleted".to_owned(), is_deleted.as_str().to_owned()));
        }
        pairs
    }
}

/// The page size to request for an optional caller limit.
pub(crate) fn page_size(limit: Option<u8>) -> u8 {
    limit.unwrap_or(MAX_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
}

fn metadata_pairs(metadata: &[(String, String)]) -> Vec<(String, String)> {
    metadata
        .iter()
        .map(|(key, value)| (format!("metadata.{key}"), value.clone()))
        .collect()
}

/// `expand=a,b`, or nothing for an empty list. Duplicates are dropped.
pub(crate) fn expand_pair(expand: &[MemberExpand]) -> Option<(String, String)> {
    let mut names: Vec<&str> = Vec::with_capacity(expand.len());
    for name in expand.iter().map(|e| e.as_str()) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    (!names.is_empty()).then(|| ("expand".to_owned(), names.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    #[test]
    fn empty_member_query_sends_no_filters() {
        assert!(MemberQuery::default().to_pairs().is_empty());
    }

    #[test]
    fn member_query_repeats_metadata_and_joins_expands() {
        let query = MemberQuery {
            metadata: vec![pair("source", "hr"), pair("employee_id", "E-1")],
            email: Some("ann@example.com".to_owned()),
            is_deleted: Some(IsDeleted::Any),
            expand: vec![MemberExpand::Emails, MemberExpand::GroupAssociations],
            limit: Some(10),
        };

        assert_eq!(
            query.to_pairs(),
            vec![
                pair("metadata.source", "hr"),
                pair("metadata.employee_id", "E-1"),
                pair("email", "ann@example.com"),
                pair("is_deleted", "any"),
                pair("expand", "emails,group_associations"),
            ]
        );
    }

    #[test]
    fn is_deleted_values_match_the_api() {
        let values: Vec<_> = [IsDeleted::False, IsDeleted::True, IsDeleted::Any]
            .map(IsDeleted::as_str)
            .into();

        assert_eq!(values, ["false", "true", "any"]);
    }

    #[test]
    fn all_expands_are_joined_once_each() {
        let mut expand = MemberExpand::ALL.to_vec();
        expand.push(MemberExpand::Pins);

        assert_eq!(
            expand_pair(&expand),
            Some(pair(
                "expand",
                "emails,magic_links,pins,cards,group_associations"
            ))
        );
        assert_eq!(expand_pair(&[]), None);
    }

    #[test]
    fn page_size_defaults_to_100_and_stays_in_range() {
        assert_eq!(page_size(None), 100);
        assert_eq!(page_size(Some(0)), 1);
        assert_eq!(page_size(Some(7)), 7);
        assert_eq!(page_size(Some(250)), 100);
    }

    #[test]
    fn member_group_query_sends_search_and_filters() {
        let query = MemberGroupQuery {
            q: Some("Office".to_owned()),
            is_deleted: Some(IsDeleted::False),
            limit: None,
        };

        assert_eq!(
            query.to_pairs(),
            vec![pair("q", "Office"), pair("is_deleted", "false")]
        );
    }
}
