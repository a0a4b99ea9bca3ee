//! Request bodies: JSON parsing with Akiles-style validation errors, and metadata rules.
//!
//! Bodies are read by [`JsonBody`], which answers 400 `invalid_request` (never axum's plain
//! text rejections) and names the offending field in `args.field` where it can tell.

use akiles_types::{Metadata, MetadataPatch};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Most bytes of JSON-encoded metadata one object may hold.
pub const METADATA_LIMIT_BYTES: usize = 1024;

/// Largest request body the emulator reads.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// A JSON body parsed into `T`. An empty body counts as `{}`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::invalid("body", "the request body could not be read"))?;
        parse_body(&bytes).map(JsonBody)
    }
}

/// Parses a request body, mapping every failure to 400 `invalid_request`.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(bytes)
            .map_err(|e| ApiError::invalid("body", format!("malformed JSON: {e}")))?
    };
    let Value::Object(object) = value else {
        return Err(ApiError::invalid("body", "the body must be a JSON object"));
    };

    serde_json::from_value(Value::Object(object.clone())).map_err(|error| {
        let field = offending_field::<T>(&object, &error.to_string());
        ApiError::invalid(&field, format!("invalid value for `{field}`: {error}"))
    })
}

/// Names the top-level field that made deserialisation fail.
///
/// serde_json does not report the path of a type error, so this removes one key at a time:
/// the culprit is the key whose removal makes the error go away (or turn into "missing
/// field" for that very key).
fn offending_field<T: DeserializeOwned>(object: &Map<String, Value>, message: &str) -> String {
    if let Some(name) = missing_field_name(message) {
        return name;
    }
    for key in object.keys() {
        let mut without = object.clone();
        without.remove(key);
        match serde_json::from_value::<T>(Value::Object(without)) {
            Ok(_) => return key.clone(),
            Err(e) if missing_field_name(&e.to_string()).as_deref() == Some(key) => {
                return key.clone();
            }
            Err(_) => {}
        }
    }
    "body".to_owned()
}

fn missing_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next().map(str::to_owned)
}

/// Size of metadata as the emulator counts it: the UTF-8 bytes of its JSON encoding.
pub fn metadata_size(metadata: &Metadata) -> usize {
    serde_json::to_string(metadata).map_or(usize::MAX, |s| s.len())
}

/// Rejects metadata over [`METADATA_LIMIT_BYTES`].
pub fn check_metadata(metadata: &Metadata) -> Result<(), ApiError> {
    let size = metadata_size(metadata);
    if size > METADATA_LIMIT_BYTES {
        return Err(ApiError::invalid_because(
            "metadata",
            "too_large",
            format!("metadata is {size} bytes; the limit is {METADATA_LIMIT_BYTES}"),
        ));
    }
    Ok(())
}

/// Applies a metadata patch (merge; `null` deletes a key) and checks the merged size.
pub fn merge_metadata(current: &Metadata, patch: &MetadataPatch) -> Result<Metadata, ApiError> {
    let mut merged = current.clone();
    for (key, value) in patch {
        match value {
            Some(value) => merged.insert(key.clone(), value.clone()),
            None => merged.remove(key),
        };
    }
    check_metadata(&merged)?;
    Ok(merged)
}

/// Rejects an empty or blank required string.
pub fn require_non_empty(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use akiles_types::NewMember;

    fn field_of(error: &ApiError) -> &str {
        error
            .body
            .args
            .get("field")
            .map(String::as_str)
            .unwrap_or("")
    }

    #[test]
    fn metadata_size_counts_json_utf8_bytes() {
        let metadata = Metadata::from([("k".to_owned(), "é".to_owned())]);

        assert_eq!(metadata_size(&metadata), r#"{"k":"é"}"#.len());
        assert_eq!(metadata_size(&Metadata::new()), 2);
    }

    #[test]
    fn metadata_at_the_limit_passes_and_one_byte_more_fails() {
        let value = "x".repeat(METADATA_LIMIT_BYTES - r#"{"k":""}"#.len());
        let mut metadata = Metadata::from([("k".to_owned(), value)]);
        assert!(check_metadata(&metadata).is_ok());

        metadata.get_mut("k").unwrap().push('x');
        let error = check_metadata(&metadata).unwrap_err();

        assert_eq!(field_of(&error), "metadata");
        assert_eq!(error.body.args["reason"], "too_large");
    }

    #[test]
    fn metadata_patch_merges_and_null_deletes() {
        let current = Metadata::from([("a".into(), "1".into()), ("b".into(), "2".into())]);
        let patch = MetadataPatch::from([("a".into(), None), ("c".into(), Some("3".into()))]);

        let merged = merge_metadata(&current, &patch).unwrap();

        assert_eq!(
            merged,
            Metadata::from([("b".into(), "2".into()), ("c".into(), "3".into())])
        );
    }

    #[test]
    fn a_wrong_field_type_names_the_field() {
        let error = parse_body::<NewMember>(br#"{"name":"A","metadata":{"k":5}}"#).unwrap_err();

        assert_eq!(field_of(&error), "metadata");
    }

    #[test]
    fn a_missing_required_field_names_the_field() {
        let error = parse_body::<NewMember>(br#"{"metadata":{}}"#).unwrap_err();

        assert_eq!(field_of(&error), "name");
    }

    #[test]
    fn malformed_json_is_an_invalid_request_about_the_body() {
        let error = parse_body::<NewMember>(b"{nope").unwrap_err();

        assert_eq!(error.body.kind, "invalid_request");
        assert_eq!(field_of(&error), "body");
    }
}
