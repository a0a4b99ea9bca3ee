//! Reading HR exports (CSV or JSON) into employee records, with a column mapping.
//!
//! A file is a complete snapshot, so it is read whole or not at all: every bad row is
//! collected (missing id, duplicate id, unparseable date, wrong column count, bad e-mail…)
//! and the file is refused with the full list, by line (CSV) or record number (JSON).
//! Every text value is normalised on the way in (see [`hr_domain::normalize_text`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use hr_domain::{
    CardCredential, CardKind, Email, Employee, EmployeeId, EmploymentStatus, HrGroup, PersonName,
    normalize_text,
};
use serde::Deserialize;
use time::Date;

/// Input format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

/// Where each field comes from in the export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// Column holding the HR employee id.
    pub id: String,
    /// Column(s) holding the name; several are joined with a space (e.g. first, last).
    pub name: OneOrMany,
    #[serde(default)]
    pub email: Option<String>,
    /// Columns whose values are HR groups (department, team, site…).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Column with the employment status; without it everyone listed is active.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default)]
    pub card: Option<String>,
}

/// A single column name or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(name) => vec![name.as_str()],
            OneOrMany::Many(names) => names.iter().map(String::as_str).collect(),
        }
    }
}

/// An optional field copied into member metadata under `key`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataField {
    pub key: String,
    pub column: String,
}

/// How to read one HR export: format, columns and value conventions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `csv` or `json`; when absent, taken from the file extension.
    #[serde(default)]
    pub format: Option<Format>,
    /// CSV field delimiter (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// JSON: dotted path to the array of records (e.g. `employees`); absent = the top
    /// level is the array.
    #[serde(default)]
    pub records: Option<String>,
    pub columns: Columns,
    /// Status values meaning "active" (compared normalised, ignoring case).
    #[serde(default = "default_active")]
    pub active_values: Vec<String>,
    /// Status values meaning "not active". When given, any other value is an error; when
    /// absent, every value not in `active_values` means terminated.
    #[serde(default)]
    pub inactive_values: Option<Vec<String>>,
    /// Date pattern built from `YYYY`, `MM`/`M`, `DD`/`D` and literal separators, e.g.
    /// `M/D/YYYY` (default `YYYY-MM-DD`).
    #[serde(default = "default_date_format")]
    pub date_format: String,
    /// Values that mean "no date" besides the empty string (e.g. BambooHR's `0000-00-00`).
    #[serde(default)]
    pub empty_dates: Vec<String>,
    /// Splits one group cell into several groups (e.g. `;`).
    #[serde(default)]
    pub group_separator: Option<String>,
    /// How the card column identifies a card (default `uid`).
    #[serde(default = "default_card_kind")]
    pub card_kind: CardKind,
    /// Optional fields copied into member metadata, in priority order.
    #[serde(default)]
    pub metadata: Vec<MetadataField>,
}

fn default_active() -> Vec<String> {
    vec!["active".to_owned()]
}

fn default_date_format() -> String {
    "YYYY-MM-DD".to_owned()
}

fn default_card_kind() -> CardKind {
    CardKind::Uid
}

/// Where in the file a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line of a CSV file.
    Line(u64),
    /// 1-based record index of a JSON array.
    Record(usize),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub at: Position,
    /// What is wrong, naming the column; never the personal value itself.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Why an export was refused.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot tell the format of {0}: name it with `format = \"csv\"` or `\"json\"`")]
    UnknownFormat(String),
    #[error("the date format {0:?} is not valid: use YYYY, MM or M, DD or D and separators")]
    DateFormat(String),
    #[error("column {column:?} is not in the file; its columns are: {available}")]
    MissingColumn { column: String, available: String },
    #[error("the file is not valid CSV at {at}")]
    Csv {
        at: Position,
        #[source]
        source: csv::Error,
    },
    #[error("the file is not valid JSON")]
    Json(#[source] serde_json::Error),
    #[error("the JSON has no array of records at {0:?}")]
    NoRecords(String),
    #[error("{} bad row(s); nothing was imported:\n{}", .0.len(), list(.0))]
    Rows(Vec<RowError>),
}

fn list(errors: &[RowError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads and validates a whole export.
pub fn read_file(path: &Path, spec: &SourceSpec) -> Result<Vec<Employee>, SourceError> {
    let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let format = match spec.format {
        Some(format) => format,
        None => match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(ext) if ext == "csv" || ext == "txt" => Format::Csv,
            Some(ext) if ext == "json" => Format::Json,
            _ => return Err(SourceError::UnknownFormat(path.display().to_string())),
        },
    };
    read_bytes(&bytes, format, spec)
}

/// Reads and validates an export held in memory.
pub fn read_bytes(
    bytes: &[u8],
    format: Format,
    spec: &SourceSpec,
) -> Result<Vec<Employee>, SourceError> {
    let dates = DateFormat::compile(&spec.date_format)?;
    let rows = match format {
        Format::Csv => csv_rows(bytes, spec)?,
        Format::Json => json_rows(bytes, spec)?,
    };
    let reader = RowReader { spec, dates };
    let mut employees = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    let mut seen: BTreeMap<EmployeeId, Position> = BTreeMap::new();

    for row in rows {
        match row.fields.and_then(|fields| reader.employee(&fields)) {
            Ok(employee) => match seen.get(&employee.id) {
                Some(first) => errors.push(RowError {
                    at: row.at,
                    message: format!("duplicate employee id {} (first at {first})", employee.id),
                }),
                None => {
                    seen.insert(employee.id.clone(), row.at);
                    employees.push(employee);
                }
            },
            Err(problems) => errors.extend(problems.into_iter().map(|message| RowError {
                at: row.at,
                message,
            })),
        }
    }

    if errors.is_empty() {
        Ok(employees)
    } else {
        Err(SourceError::Rows(errors))
    }
}

/// A row as named values (missing columns absent), or the problems found reading it.
struct RawRow {
    at: Position,
    fields: Result<BTreeMap<String, Vec<String>>, Vec<String>>,
}

fn csv_rows(bytes: &[u8], spec: &SourceSpec) -> Result<Vec<RawRow>, SourceError> {
    let delimiter = u8::try_from(spec.delimiter.unwrap_or(',')).unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|source| SourceError::Csv {
            at: Position::Line(1),
            source,
        })?
        .iter()
        .map(|h| normalize_text(h.trim_start_matches('\u{feff}')))
        .collect();
    check_columns(spec, &headers)?;

    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(source) => {
                return Err(SourceError::Csv {
                    at: Position::Line(line),
                    source,
                });
            }
        }
        let at = Position::Line(record.position().map_or(line, |p| record_line(bytes, p)));
        if record.len() == 1
            && record
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        let fields = if record.len() != headers.len() {
            Err(vec![format!(
                "has {} fields, the header has {}",
                record.len(),
                headers.len()
            )])
        } else {
            csv_fields(&headers, &record)
        };
        rows.push(RawRow { at, fields });
    }
    Ok(rows)
}

/// The line a record starts on. After a CRLF terminator the reader stops at the `\n`,
/// which still belongs to the line before; the record itself starts one line later.
fn record_line(bytes: &[u8], position: &csv::Position) -> u64 {
    let at = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    match bytes.get(at) {
        Some(b'\n') => position.line() + 1,
        _ => position.line(),
    }
}

fn csv_fields(
    headers: &[String],
    record: &csv::ByteRecord,
) -> Result<BTreeMap<String, Vec<String>>, Vec<String>> {
    let mut fields = BTreeMap::new();
    for (header, value) in headers.iter().zip(record.iter()) {
        match std::str::from_utf8(value) {
            Ok(text) => fields.insert(header.clone(), vec![text.to_owned()]),
            Err(_) => return Err(vec![format!("column {header:?} is not valid UTF-8")]),
        };
    }
    Ok(fields)
}

fn json_rows(bytes: &[u8], spec: &SourceSpec) -> Result<Vec<RawRow>, SourceError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let root: serde_json::Value = serde_json::from_slice(bytes).map_err(SourceError::Json)?;
    let mut node = &root;
    if let Some(path) = &spec.records {
        for part in path.split('.').filter(|p| !p.is_empty()) {
            node = node
                .get(part)
                .ok_or_else(|| SourceError::NoRecords(path.clone()))?;
        }
    }
    let items = node
        .as_array()
        .ok_or_else(|| SourceError::NoRecords(spec.records.clone().unwrap_or_default()))?;

    let mut keys = BTreeSet::new();
    for item in items.iter().filter_map(|i| i.as_object()) {
        keys.extend(item.keys().map(|k| normalize_text(k)));
    }
    if !items.is_empty() {
        check_columns(spec, &keys.iter().cloned().collect::<Vec<_>>())?;
    }

    let rows = items
        .iter()
        .enumerate()
        .map(|(i, item)| RawRow {
            at: Position::Record(i + 1),
            fields: json_fields(item),
        })
        .collect();
    Ok(rows)
}

fn json_fields(item: &serde_json::Value) -> Result<BTreeMap<String, Vec<String>>, Vec<String>> {
    use serde_json::Value;
    let Some(object) = item.as_object() else {
        return Err(vec!["is not a JSON object".to_owned()]);
    };
    let mut fields = BTreeMap::new();
    for (key, value) in object {
        let values = match value {
            Value::Null => Vec::new(),
            Value::String(s) => vec![s.clone()],
            Value::Number(n) => vec![n.to_string()],
            Value::Bool(b) => vec![b.to_string()],
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        Value::Number(n) => out.push(n.to_string()),
                        Value::Null => {}
                        _ => return Err(vec![format!("field {key:?} holds a nested value")]),
                    }
                }
                out
            }
            Value::Object(_) => return Err(vec![format!("field {key:?} holds a nested object")]),
        };
        fields.insert(normalize_text(key), values);
    }
    Ok(fields)
}

fn check_columns(spec: &SourceSpec, available: &[String]) -> Result<(), SourceError> {
    let c = &spec.columns;
    let wanted = std::iter::once(c.id.as_str())
        .chain(c.name.names())
        .chain(c.groups.iter().map(String::as_str))
        .chain(
            [&c.email, &c.status, &c.start_date, &c.end_date, &c.card]
                .into_iter()
                .flatten()
                .map(String::as_str),
        )
        .chain(spec.metadata.iter().map(|m| m.column.as_str()));
    for column in wanted {
        if !available.iter().any(|a| *a == normalize_text(column)) {
            return Err(SourceError::MissingColumn {
                column: column.to_owned(),
                available: available.join(", "),
            });
        }
    }
    Ok(())
}

struct RowReader<'a> {
    spec: &'a SourceSpec,
    dates: DateFormat,
}

impl RowReader<'_> {
    fn employee(&self, fields: &BTreeMap<String, Vec<String>>) -> Result<Employee, Vec<String>> {
        let c = &self.spec.columns;
        let get = |column: &str| -> String {
            fields
                .get(&normalize_text(column))
                .map(|v| normalize_text(&v.join(" ")))
                .unwrap_or_default()
        };
        let mut problems = Problems::default();

        let id = problems.check(
            &c.id,
            EmployeeId::parse(&get(&c.id)).map_err(|e| e.to_string()),
        );
        let name_columns = c.name.names();
        let name_text = name_columns
            .iter()
            .map(|n| get(n))
            .collect::<Vec<_>>()
            .join(" ");
        let name_parsed = PersonName::parse(&name_text).map_err(|e| e.to_string());
        let name = problems.check(&name_columns.join("+"), name_parsed);
        let email = problems.optional(c.email.as_deref(), &get, |v| {
            Email::parse(v).map(Some).map_err(|e| e.to_string())
        });
        let status = match &c.status {
            Some(col) => problems.check(col, self.status(&get(col))),
            None => Some(EmploymentStatus::Active),
        };
        let start_date = problems.optional(c.start_date.as_deref(), &get, |v| self.date(v));
        let end_date = problems.optional(c.end_date.as_deref(), &get, |v| self.date(v));
        let card = problems.optional(c.card.as_deref(), &get, |v| {
            CardCredential::parse(self.spec.card_kind, v)
                .map(Some)
                .map_err(|e| e.to_string())
        });
        if let (Some(Some(start)), Some(Some(end))) = (start_date, end_date)
            && end < start
        {
            problems
                .0
                .push("the end date is before the start date".to_owned());
        }

        let groups = self.groups(fields);
        let attributes = self
            .spec
            .metadata
            .iter()
            .map(|m| (m.key.clone(), get(&m.column)))
            .filter(|(_, v)| !v.is_empty())
            .collect();

        match (id, name, email, status, start_date, end_date, card) {
            (
                Some(id),
                Some(name),
                Some(email),
                Some(status),
                Some(start_date),
                Some(end_date),
                Some(card),
            ) if problems.0.is_empty() => Ok(Employee {
                id,
                name,
                email,
                groups,
                status,
                start_date,
                end_date,
                card,
                attributes,
            }),
            _ => Err(problems.0),
        }
    }

    fn groups(&self, fields: &BTreeMap<String, Vec<String>>) -> BTreeSet<HrGroup> {
        let mut groups = BTreeSet::new();
        for column in &self.spec.columns.groups {
            for value in fields.get(&normalize_text(column)).into_iter().flatten() {
                match &self.spec.group_separator {
                    Some(sep) => {
                        groups.extend(value.split(sep.as_str()).filter_map(HrGroup::parse))
                    }
                    None => groups.extend(HrGroup::parse(value)),
                }
            }
        }
        groups
    }

    fn status(&self, value: &str) -> Result<EmploymentStatus, String> {
        let matches = |list: &[String]| {
            list.iter()
                .any(|v| normalize_text(v).eq_ignore_ascii_case(value))
        };
        if matches(&self.spec.active_values) {
            return Ok(EmploymentStatus::Active);
        }
        match &self.spec.inactive_values {
            Some(inactive) if matches(inactive) => Ok(EmploymentStatus::Terminated),
            Some(_) => Err(format!(
                "status {value:?} is neither an active nor an inactive value"
            )),
            None => Ok(EmploymentStatus::Terminated),
        }
    }

    fn date(&self, value: &str) -> Result<Option<Date>, String> {
        if self.spec.empty_dates.iter().any(|e| e == value) {
            return Ok(None);
        }
        self.dates.parse(value).map(Some).ok_or_else(|| {
            format!(
                "{value:?} is not a date in the format {}",
                self.spec.date_format
            )
        })
    }
}

/// The problems found in one row, each naming its column.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check<T>(&mut self, column: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(why) => {
                self.0.push(format!("column {column:?}: {why}"));
                None
            }
        }
    }

    /// Reads an optional column: absent column or empty value = `None`.
    fn optional<T>(
        &mut self,
        column: Option<&str>,
        get: &dyn Fn(&str) -> String,
        parse: impl Fn(&str) -> Result<Option<T>, String>,
    ) -> Option<Option<T>> {
        let Some(column) = column else {
            return Some(None);
        };
        let value = get(column);
        if value.is_empty() {
            return Some(None);
        }
        self.check(column, parse(&value))
    }
}

/// A date pattern such as `M/D/YYYY`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DateFormat(Vec<DatePart>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum DatePart {
    Year,
    /// Month; `true` = exactly two digits.
    Month(bool),
    Day(bool),
    Literal(char),
}

impl DateFormat {
    fn compile(pattern: &str) -> Result<Self, SourceError> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        while !rest.is_empty() {
            let (part, len) = if rest.starts_with("YYYY") {
                (DatePart::Year, 4)
            } else if rest.starts_with("MM") {
                (DatePart::Month(true), 2)
            } else if rest.starts_with('M') {
                (DatePart::Month(false), 1)
            } else if rest.starts_with("DD") {
                (DatePart::Day(true), 2)
            } else if rest.starts_with('D') {
                (DatePart::Day(false), 1)
            } else {
                let c = rest.chars().next().unwrap_or(' ');
                if c.is_ascii_alphanumeric() {
                    return Err(SourceError::DateFormat(pattern.to_owned()));
                }
                (DatePart::Literal(c), c.len_utf8())
            };
            parts.push(part);
            rest = &rest[len..];
        }
        let count = |f: fn(&DatePart) -> bool| parts.iter().filter(|p| f(p)).count();
        let complete = count(|p| matches!(p, DatePart::Year)) == 1
            && count(|p| matches!(p, DatePart::Month(_))) == 1
            && count(|p| matches!(p, DatePart::Day(_))) == 1;
        if !complete {
            return Err(SourceError::DateFormat(pattern.to_owned()));
        }
        Ok(Self(parts))
    }

    fn parse(&self, text: &str) -> Option<Date> {
        let (mut year, mut month, mut day) = (None, None, None);
        let mut rest = text;
        for part in &self.0 {
            match part {
                DatePart::Literal(c) => rest = rest.strip_prefix(*c)?,
                DatePart::Year => year = Some(take_digits(&mut rest, 4, 4)?),
                DatePart::Month(exact) => month = Some(take_digits(&mut rest, min(*exact), 2)?),
                DatePart::Day(exact) => day = Some(take_digits(&mut rest, min(*exact), 2)?),
            }
        }
        if !rest.is_empty() {
            return None;
        }
        let month = time::Month::try_from(u8::try_from(month?).ok()?).ok()?;
        Date::from_calendar_date(i32::try_from(year?).ok()?, month, u8::try_from(day?).ok()?).ok()
    }
}

fn min(exact: bool) -> usize {
    if exact { 2 } else { 1 }
}

fn take_digits(rest: &mut &str, min: usize, max: usize) -> Option<u32> {
    let len = rest
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    if len < min {
        return None;
    }
    let value = rest[..len].parse().ok()?;
    *rest = &rest[len..];
    Some(value)
}

#[cfg(test)]
mod tests;
