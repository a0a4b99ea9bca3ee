//! List endpoints: query parameters, opaque cursors and the page envelope.
//!
//! Items live in maps keyed by id, and ids sort in creation order (see [`crate::ids`]), so
//! "newest first" is reverse key order and a cursor is simply the last id returned. Items
//! created between two page requests sort before the cursor and so never shift a page.

use std::collections::BTreeMap;
use std::ops::Bound;

use akiles_types::{
    Card, Gadget, GroupAssociation, Member, MemberCard, MemberEmail, MemberGroup, MemberMagicLink,
    MemberPin, Page, Site,
};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;

/// Page size when the request gives no `limit` (a guess; see the README).
pub const DEFAULT_LIMIT: usize = 50;

/// Largest accepted `limit`.
pub const MAX_LIMIT: usize = 100;

/// The raw query string as key/value pairs, keeping repeats and order.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Pairs whose key starts with `prefix`, with the prefix removed.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }

    /// The comma-separated values of every `key` parameter, flattened.
    pub fn list(&self, key: &str) -> Vec<&str> {
        let values = self.0.iter().filter(|(k, _)| k == key);
        values
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| Params(pairs))
            .map_err(|_| ApiError::invalid("query", "the query string could not be parsed"))
    }
}

/// Which items a list shows with respect to soft deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedFilter {
    /// Only live items (the default).
    Live,
    /// Only soft-deleted items.
    Deleted,
    /// Both.
    Any,
}

impl DeletedFilter {
    fn keeps(self, is_deleted: bool) -> bool {
        match self {
            DeletedFilter::Live => !is_deleted,
            DeletedFilter::Deleted => is_deleted,
            DeletedFilter::Any => true,
        }
    }
}

/// The parameters every list endpoint takes.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// Page size.
    pub limit: usize,
    /// Id of the last item of the previous page.
    pub after_id: Option<String>,
    /// Soft-delete filter.
    pub deleted: DeletedFilter,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

impl ListOptions {
    /// Reads `limit`, `cursor`, `is_deleted` and `sort`.
    pub fn parse(params: &Params) -> Result<Self, ApiError> {
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::invalid("limit", "limit must be between 1 and 100"))?,
        };
        let after_id = params.get("cursor").map(decode_cursor).transpose()?;
        let deleted = match params.get("is_deleted") {
            None | Some("false") => DeletedFilter::Live,
            Some("true") => DeletedFilter::Deleted,
            Some("any") => DeletedFilter::Any,
            Some(_) => return Err(ApiError::invalid("is_deleted", "use true, false or any")),
        };
        let ascending = match params.get("sort") {
            None | Some("created_at:desc") => false,
            Some("created_at:asc") => true,
            Some(_) => {
                return Err(ApiError::invalid(
                    "sort",
                    "only created_at:asc|desc is supported",
                ));
            }
        };
        Ok(Self {
            limit,
            after_id,
            deleted,
            ascending,
        })
    }
}

/// The opaque cursor for a page that ended with `last_id`.
pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

/// The id a cursor stands for; a cursor this emulator did not issue is a 400.
pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let bad = || ApiError::invalid("cursor", "the cursor is not valid");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let id = String::from_utf8(bytes).map_err(|_| bad())?;
    if !id.contains('_') {
        return Err(bad());
    }
    Ok(id)
}

/// What a list needs to know about an item.
pub trait Listed {
    /// The item's id (also its sort key).
    fn id(&self) -> &str;
    /// Whether the item is soft-deleted.
    fn is_deleted(&self) -> bool;
}

macro_rules! listed {
    ($($ty:ty),*) => {$(
        impl Listed for $ty {
            fn id(&self) -> &str {
                &self.id
            }
            fn is_deleted(&self) -> bool {
                self.is_deleted
            }
        }
    )*};
}

listed!(
    Card,
    Gadget,
    GroupAssociation,
    Member,
    MemberCard,
    MemberEmail,
    MemberGroup,
    MemberMagicLink,
    MemberPin,
    Site
);

/// One page of `items` that pass the soft-delete filter and `keep`, in the asked order.
pub fn paginate<T: Listed + Clone>(
    items: &BTreeMap<String, T>,
    options: &ListOptions,
    keep: impl Fn(&T) -> bool,
) -> Page<T> {
    let after = options.after_id.as_deref();
    let candidates: Box<dyn Iterator<Item = &T>> = if options.ascending {
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        Box::new(
            items
                .range::<str, _>((lower, Bound::Unbounded))
                .map(|(_, v)| v),
        )
    } else {
        let upper = after.map_or(Bound::Unbounded, Bound::Excluded);
        Box::new(
            items
                .range::<str, _>((Bound::Unbounded, upper))
                .rev()
                .map(|(_, v)| v),
        )
    };

    let mut data: Vec<T> = candidates
        .filter(|item| options.deleted.keeps(item.is_deleted()) && keep(item))
        .take(options.limit + 1)
        .cloned()
        .collect();
    let has_next = data.len() > options.limit;
    data.truncate(options.limit);
    let cursor_next = has_next.then(|| data.last().map(|item| encode_cursor(item.id())));

    Page {
        data,
        has_next,
        cursor_next: cursor_next.flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let cursor = encode_cursor("mem_11111111111abcdefghj");

        assert_eq!(decode_cursor(&cursor).unwrap(), "mem_11111111111abcdefghj");
        assert!(decode_cursor("!!!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("nounderscore")).is_err());
    }

    #[test]
    fn limit_outside_one_to_hundred_is_rejected() {
        for bad in ["0", "101", "-1", "ten"] {
            let error = ListOptions::parse(&params(&[("limit", bad)])).unwrap_err();
            assert_eq!(error.body.args["field"], "limit");
        }
        assert_eq!(
            ListOptions::parse(&params(&[])).unwrap().limit,
            DEFAULT_LIMIT
        );
        assert_eq!(
            ListOptions::parse(&params(&[("limit", "100")]))
                .unwrap()
                .limit,
            100
        );
    }

    #[test]
    fn unknown_sort_and_is_deleted_values_are_rejected() {
        assert!(ListOptions::parse(&params(&[("sort", "name:asc")])).is_err());
        assert!(ListOptions::parse(&params(&[("is_deleted", "maybe")])).is_err());
        assert!(
            ListOptions::parse(&params(&[("sort", "created_at:asc")]))
                .unwrap()
                .ascending
        );
    }

    #[test]
    fn list_values_split_on_commas_across_repeats() {
        let p = params(&[("expand", "emails,pins"), ("expand", "cards")]);

        assert_eq!(p.list("expand"), vec!["emails", "pins", "cards"]);
    }
}
