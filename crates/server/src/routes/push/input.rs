//! Reading pushed employee records: JSON in, [`Employee`] out, every problem named by
//! its field.
//!
//! The body is read as generic JSON first and each field checked on its own, so one
//! answer lists every problem (`email: e-mail address is not valid…`,
//! `employees[3].status: …`). Values go through the same domain parsers as the file
//! import; messages never repeat the value itself.

use std::collections::BTreeSet;

use hr_domain::{
    CardCredential, CardKind, Email, Employee, EmployeeId, EmploymentStatus, HrGroup, PersonName,
};
use serde_json::{Map, Value};
use time::Date;
use time::macros::format_description;

use crate::error::{ApiError, Problem};

/// Fields an employee record may have.
const EMPLOYEE_FIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "groups",
    "status",
    "start_date",
    "end_date",
    "card",
    "attributes",
    "version",
];

/// Parses a body as JSON: 400 when it is not JSON at all.
pub fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

/// The body as an object, or a 422 naming `field`.
pub fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::invalid(vec![Problem::new(field, "must be a JSON object")]))
}

/// Collects the problems of one request.
#[derive(Debug, Default)]
pub struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Notes a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem::new(field, message));
    }

    /// `Ok` when nothing was noted, else a 422 listing everything.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.list))
        }
    }
}

/// The required integer `version` of `object`, noted under `field`.
pub fn version(object: &Map<String, Value>, field: &str, problems: &mut Problems) -> Option<i64> {
    match object.get("version") {
        None | Some(Value::Null) => {
            problems.add(
                field,
                "is required: the source's change counter or change time in ms",
            );
            None
        }
        Some(value) => match value.as_i64() {
            Some(v) if v >= 0 => Some(v),
            _ => {
                problems.add(field, "must be a non-negative integer");
                None
            }
        },
    }
}

/// An employee id from a URL path.
pub fn path_id(raw: &str) -> Result<EmployeeId, ApiError> {
    EmployeeId::parse(raw)
        .map_err(|e| ApiError::invalid(vec![Problem::new("employee_id", e.to_string())]))
}

/// Reads one employee record. `expected_id` is the id from the URL, if any; `prefix`
/// is put before field names (`employees[3].`).
pub fn employee(
    record: &Map<String, Value>,
    expected_id: Option<&EmployeeId>,
    prefix: &str,
    problems: &mut Problems,
) -> Option<Employee> {
    let field = |name: &str| format!("{prefix}{name}");
    for key in record.keys() {
        if !EMPLOYEE_FIELDS.contains(&key.as_str()) {
            problems.add(field(key), "is not a known field");
        }
    }

    let id = record_id(record, expected_id, &field("id"), problems);
    let name = required_text(record, "name", &field("name"), problems)
        .and_then(|text| parsed(PersonName::parse(&text), &field("name"), problems));
    let email = optional_text(record, "email", &field("email"), problems)
        .and_then(|text| parsed(Email::parse(&text), &field("email"), problems));
    let groups = groups(record.get("groups"), &field("groups"), problems);
    let status = status(record.get("status"), &field("status"), problems);
    let start_date = date(record, "start_date", &field("start_date"), problems);
    let end_date = date(record, "end_date", &field("end_date"), problems);
    let card = card(record.get("card"), &field("card"), problems);
    let attributes = attributes(record.get("attributes"), &field("attributes"), problems);
    if let (Some(Some(start)), Some(Some(end))) = (start_date, end_date)
        && end < start
    {
        problems.add(field("end_date"), "is before start_date");
        return None;
    }

    Some(Employee {
        id: id?,
        name: name?,
        email,
        groups: groups?,
        status: status?,
        start_date: start_date?,
        end_date: end_date?,
        card: card?,
        attributes: attributes?,
    })
}

fn record_id(
    record: &Map<String, Value>,
    expected: Option<&EmployeeId>,
    field: &str,
    problems: &mut Problems,
) -> Option<EmployeeId> {
    let given = match record.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => parsed(EmployeeId::parse(text), field, problems),
        Some(_) => {
            problems.add(field, "must be a string");
            return None;
        }
    };
    match (given, expected) {
        (Some(given), Some(expected)) if &given != expected => {
            problems.add(field, "differs from the employee id in the URL");
            None
        }
        (Some(given), _) => Some(given),
        (None, Some(expected)) => Some(expected.clone()),
        (None, None) if record.get("id").is_none_or(Value::is_null) => {
            problems.add(field, "is required");
            None
        }
        (None, None) => None,
    }
}

fn parsed<T>(
    result: Result<T, hr_domain::DomainError>,
    field: &str,
    problems: &mut Problems,
) -> Option<T> {
    result.map_err(|e| problems.add(field, e.to_string())).ok()
}

fn required_text(
    record: &Map<String, Value>,
    key: &str,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    match record.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        None | Some(Value::Null) => {
            problems.add(field, "is required");
            None
        }
        Some(_) => {
            problems.add(field, "must be a string");
            None
        }
    }
}

/// `None` both when absent and when wrong (the problem is noted); the caller cannot tell,
/// but the request fails as a whole when anything was noted.
fn optional_text(
    record: &Map<String, Value>,
    key: &str,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    match record.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
        None | Some(Value::Null | Value::String(_)) => None,
        Some(_) => {
            problems.add(field, "must be a string or null");
            None
        }
    }
}

fn groups(
    value: Option<&Value>,
    field: &str,
    problems: &mut Problems,
) -> Option<BTreeSet<HrGroup>> {
    let items = match value {
        None | Some(Value::Null) => return Some(BTreeSet::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.add(field, "must be an array of group names");
            return None;
        }
    };
    let mut groups = BTreeSet::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match item.as_str().map(HrGroup::try_parse) {
            Some(Ok(Some(group))) => {
                groups.insert(group);
            }
            Some(Ok(None)) => {
                problems.add(format!("{field}[{i}]"), "is blank");
                ok = false;
            }
            Some(Err(why)) => {
                problems.add(format!("{field}[{i}]"), why.to_string());
                ok = false;
            }
            None => {
                problems.add(format!("{field}[{i}]"), "must be a string");
                ok = false;
            }
        }
    }
    ok.then_some(groups)
}

fn status(value: Option<&Value>, field: &str, problems: &mut Problems) -> Option<EmploymentStatus> {
    match value.and_then(Value::as_str).map(str::trim) {
        Some(text) if text.eq_ignore_ascii_case("active") => Some(EmploymentStatus::Active),
        Some(text) if text.eq_ignore_ascii_case("terminated") => Some(EmploymentStatus::Terminated),
        _ if value.is_none_or(Value::is_null) => {
            problems.add(field, "is required: active or terminated");
            None
        }
        _ => {
            problems.add(field, "must be active or terminated");
            None
        }
    }
}

/// `Some(None)` when absent, `None` when wrong.
fn date(
    record: &Map<String, Value>,
    key: &str,
    field: &str,
    problems: &mut Problems,
) -> Option<Option<Date>> {
    let text = match record.get(key) {
        None | Some(Value::Null) => return Some(None),
        Some(Value::String(text)) if text.trim().is_empty() => return Some(None),
        Some(Value::String(text)) => text.trim(),
        Some(_) => {
            problems.add(field, "must be a date YYYY-MM-DD or null");
            return None;
        }
    };
    match Date::parse(text, format_description!("[year]-[month]-[day]")) {
        Ok(date) => Some(Some(date)),
        Err(_) => {
            problems.add(field, "must be a date YYYY-MM-DD");
            None
        }
    }
}

fn card(
    value: Option<&Value>,
    field: &str,
    problems: &mut Problems,
) -> Option<Option<CardCredential>> {
    let card = match value {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Object(card)) => card,
        Some(_) => {
            problems.add(field, "must be an object {kind, value} or null");
            return None;
        }
    };
    let kind = match card.get("kind").and_then(Value::as_str) {
        None => Some(CardKind::Uid),
        Some("uid") => Some(CardKind::Uid),
        Some("printed_code") => Some(CardKind::PrintedCode),
        Some(_) => {
            problems.add(format!("{field}.kind"), "must be uid or printed_code");
            None
        }
    };
    let Some(raw) = card.get("value").and_then(Value::as_str) else {
        problems.add(format!("{field}.value"), "is required and must be a string");
        return None;
    };
    let parsed = CardCredential::parse(kind?, raw)
        .map_err(|e| problems.add(format!("{field}.value"), e.to_string()))
        .ok()?;
    Some(Some(parsed))
}

/// Member metadata keys that mark ownership; an attribute may not set them.
const RESERVED_METADATA: [&str; 4] = ["managed_by", "sync_tenant", "employee_id", "card"];

fn attributes(
    value: Option<&Value>,
    field: &str,
    problems: &mut Problems,
) -> Option<Vec<(String, String)>> {
    let map = match value {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Object(map)) => map,
        Some(_) => {
            problems.add(field, "must be an object of text values");
            return None;
        }
    };
    let mut attributes = Vec::with_capacity(map.len());
    let mut ok = true;
    for (key, value) in map {
        match value {
            Value::String(_) if RESERVED_METADATA.contains(&key.trim()) => {
                problems.add(
                    format!("{field}.{key}"),
                    "is a key the sync keeps for itself",
                );
                ok = false;
            }
            Value::String(text) if !key.trim().is_empty() => {
                attributes.push((key.trim().to_owned(), hr_domain::normalize_text(text)));
            }
            Value::String(_) => {
                problems.add(field, "has a blank key");
                ok = false;
            }
            _ => {
                problems.add(format!("{field}.{key}"), "must be a string");
                ok = false;
            }
        }
    }
    ok.then_some(attributes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(value: Value) -> (Option<Employee>, Vec<Problem>) {
        let mut problems = Problems::default();
        let object = value.as_object().unwrap().clone();
        let employee = employee(&object, None, "", &mut problems);
        (employee, problems.list)
    }

    #[test]
    fn a_full_record_is_read() {
        let (employee, problems) = read(json!({
            "id": " E-1001 ", "name": "Marta  Quiroga", "email": "marta@example.com",
            "groups": ["HQ-Staff"], "status": "active", "start_date": "2026-01-05",
            "end_date": null, "card": {"kind": "uid", "value": "04:A2:2B:1C"},
            "attributes": {"department": "Sales"}, "version": 3
        }));

        assert!(problems.is_empty(), "{problems:?}");
        let employee = employee.unwrap();
        assert_eq!(employee.id.as_str(), "E-1001");
        assert_eq!(employee.name.as_str(), "Marta Quiroga");
        assert_eq!(employee.groups.len(), 1);
        assert_eq!(employee.card.unwrap().value, "04a22b1c");
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let (employee, problems) = read(json!({
            "id": "E-1", "name": "", "email": "nope", "groups": ["ok", 5],
            "status": "retired", "start_date": "05/01/2026", "colour": "red"
        }));

        assert!(employee.is_none());
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for expected in [
            "name",
            "email",
            "groups[1]",
            "status",
            "start_date",
            "colour",
        ] {
            assert!(
                fields.contains(&expected),
                "{expected} missing in {fields:?}"
            );
        }
    }

    #[test]
    fn the_body_id_must_match_the_url() {
        let mut problems = Problems::default();
        let record = json!({"id": "E-2", "name": "A", "status": "active"});
        let expected = EmployeeId::parse("E-1").unwrap();

        let employee = employee(
            record.as_object().unwrap(),
            Some(&expected),
            "",
            &mut problems,
        );

        assert!(employee.is_none());
        assert_eq!(problems.list[0].field, "id");
    }
}
