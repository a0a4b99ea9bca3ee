//! Reading HR exports (CSV or JSON) into employee records, with a column mapping.
//!
//! A file is a complete snapshot, so it is read whole or not at all: every bad row is
//! collected (missing id, duplicate id, unparseable date, wrong column count, bad e-mail,
//! a work e-mail or card that another active row also has…) and the file is refused with
//! the full list, by line (CSV) or record number (JSON). Every text value is normalised on
//! the way in (see [`hr_domain::normalize_text`]); control characters are refused, never
//! dropped. A JSON value is taken only when it means one thing: a string, an integer that
//! fits 64 bits (kept as written), a boolean, null, or an array in a group column.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use hr_domain::{
    CardCredential, CardKind, Email, Employee, EmployeeId, EmploymentStatus, HrGroup, PersonName,
    Repeat, RepeatedField, UniqueValues, has_control_character, normalize_text,
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

impl SourceSpec {
    /// Checks the settings that can be wrong before any file is read.
    pub fn validate(&self) -> Result<(), SourceError> {
        if let Some(delimiter) = self.delimiter
            && (!delimiter.is_ascii() || matches!(delimiter, '"' | '\n' | '\r'))
        {
            return Err(SourceError::Setting {
                key: "delimiter",
                why: "use one ASCII character other than a quote or a line break",
            });
        }
        if self.group_separator.as_deref() == Some("") {
            return Err(SourceError::Setting {
                key: "group_separator",
                why: "it is empty; leave it out to keep each cell one group",
            });
        }
        DateFormat::compile(&self.date_format).map(drop)
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

impl Position {
    /// The same place, described as where a repeated value was seen before.
    fn also_on(self) -> String {
        format!("also on {self}")
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
    #[error("cannot tell the format of {0}: set source.format to \"csv\" or \"json\"")]
    UnknownFormat(String),
    #[error("source.date_format {0:?} is not valid: use YYYY, MM or M, DD or D and separators")]
    DateFormat(String),
    #[error("source.{key} is not valid: {why}")]
    Setting {
        key: &'static str,
        why: &'static str,
    },
    #[error("the file is empty")]
    Empty,
    #[error("column {column:?} is not in the file; its columns are: {available}")]
    MissingColumn { column: String, available: String },
    #[error("column {0:?} appears twice in the header, so it is not clear which one to read")]
    DuplicateColumn(String),
    #[error("the file is not valid CSV at {at}")]
    Csv {
        at: Position,
        #[source]
        source: csv::Error,
    },
    #[error("the file is not valid JSON")]
    Json(#[source] serde_json::Error),
    #[error("the JSON has no array of records at {0:?} (source.records)")]
    NoRecords(String),
    #[error("the top level is not an array; set source.records to the path of the array")]
    NotAnArray,
    #[error("{}", rows_summary(.0))]
    Rows(Vec<RowError>),
}

/// "N problem(s) in M row(s)…" and the list, one problem a line.
fn rows_summary(errors: &[RowError]) -> String {
    let rows = errors.iter().map(|e| e.at).collect::<BTreeSet<_>>().len();
    let mut text = format!(
        "{} problem(s) in {rows} row(s); nothing was imported:",
        errors.len()
    );
    for error in errors {
        text.push_str(&format!("\n  {error}"));
    }
    text
}

/// Reads and validates a whole export.
pub fn read_file(path: &Path, spec: &SourceSpec) -> Result<Vec<Employee>, SourceError> {
    spec.validate()?;
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
    let bytes = std::fs::read(path).map_err(|source| SourceError::Read {
        path: path.display().to_string(),
        source,
    })?;
    read_bytes(&bytes, format, spec)
}

/// Reads and validates an export held in memory.
pub fn read_bytes(
    bytes: &[u8],
    format: Format,
    spec: &SourceSpec,
) -> Result<Vec<Employee>, SourceError> {
    spec.validate()?;
    let dates = DateFormat::compile(&spec.date_format)?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(SourceError::Empty);
    }
    let rows = match format {
        Format::Csv => csv_rows(bytes, spec)?,
        Format::Json => json_rows(bytes, spec)?,
    };
    let reader = RowReader { spec, dates };
    let mut employees = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    let mut seen = UniqueValues::default();

    for row in rows {
        let problems = match row.fields.and_then(|fields| reader.employee(&fields)) {
            Ok(employee) => {
                let repeated = repeats(&employee, seen.record(&employee, row.at), &spec.columns);
                employees.push(employee);
                repeated
            }
            Err(problems) => problems,
        };
        errors.extend(problems.into_iter().map(|message| RowError {
            at: row.at,
            message,
        }));
    }

    if errors.is_empty() {
        Ok(employees)
    } else {
        Err(SourceError::Rows(errors))
    }
}

/// The problems of values an earlier row already holds. A message names the column and
/// the other row, never the value (personal data).
fn repeats(employee: &Employee, repeats: Vec<Repeat<Position>>, columns: &Columns) -> Vec<String> {
    let column = |name: &Option<String>| name.clone().unwrap_or_default();
    repeats
        .into_iter()
        .map(|repeat| match repeat.field {
            RepeatedField::Id => {
                format!(
                    "duplicate employee id {} (first at {})",
                    employee.id, repeat.first
                )
            }
            RepeatedField::Email => format!(
                "column {:?}: work e-mail {}",
                column(&columns.email),
                repeat.first.also_on()
            ),
            RepeatedField::Card => {
                format!(
                    "column {:?}: card {}",
                    column(&columns.card),
                    repeat.first.also_on()
                )
            }
        })
        .collect()
}

/// One field of a record as the file holds it, before any column reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    /// A CSV field, or a JSON string, integer (as written) or boolean; JSON null is "".
    Text(String),
    /// A JSON array of such values; only group columns take one.
    List(Vec<String>),
    /// A JSON value no column can take, and why (shown if a configured column has it).
    Unusable(&'static str),
}

/// A record's fields by normalised column name; a column the record lacks is absent.
#[derive(Debug, Default)]
struct Fields(BTreeMap<String, Cell>);

impl Fields {
    /// The raw text of a single-value column ("" when absent). Lists, unusable JSON
    /// values and control characters are refused with the reason.
    fn text(&self, column: &str) -> Result<&str, String> {
        let text = match self.0.get(&normalize_text(column)) {
            None => "",
            Some(Cell::Text(text)) => text.as_str(),
            Some(Cell::List(_)) => {
                return Err("holds a list; only group columns may hold one".to_owned());
            }
            Some(Cell::Unusable(why)) => return Err((*why).to_owned()),
        };
        check_controls(text)?;
        Ok(text)
    }

    /// The raw texts of a group column: one, several (a JSON array) or none.
    fn texts(&self, column: &str) -> Result<Vec<&str>, String> {
        let texts = match self.0.get(&normalize_text(column)) {
            None => Vec::new(),
            Some(Cell::Text(text)) => vec![text.as_str()],
            Some(Cell::List(items)) => items.iter().map(String::as_str).collect(),
            Some(Cell::Unusable(why)) => return Err((*why).to_owned()),
        };
        for text in &texts {
            check_controls(text)?;
        }
        Ok(texts)
    }
}

fn check_controls(text: &str) -> Result<(), String> {
    if has_control_character(text) {
        return Err("contains a control character".to_owned());
    }
    Ok(())
}

/// A record's fields, or the problems found reading it.
struct RawRow {
    at: Position,
    fields: Result<Fields, Vec<String>>,
}

fn csv_rows(bytes: &[u8], spec: &SourceSpec) -> Result<Vec<RawRow>, SourceError> {
    // `validate` has made sure the delimiter is ASCII.
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
        .map(normalize_text)
        .collect();
    check_columns(spec, &headers)?;
    check_repeated_columns(spec, &headers)?;

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

fn csv_fields(headers: &[String], record: &csv::ByteRecord) -> Result<Fields, Vec<String>> {
    let mut fields = Fields::default();
    for (header, value) in headers.iter().zip(record.iter()) {
        match std::str::from_utf8(value) {
            Ok(text) => fields.0.insert(header.clone(), Cell::Text(text.to_owned())),
            Err(_) => return Err(vec![format!("column {header:?} is not valid UTF-8")]),
        };
    }
    Ok(fields)
}

fn json_rows(bytes: &[u8], spec: &SourceSpec) -> Result<Vec<RawRow>, SourceError> {
    let root: serde_json::Value = serde_json::from_slice(bytes).map_err(SourceError::Json)?;
    let items = match &spec.records {
        None => root.as_array().ok_or(SourceError::NotAnArray)?,
        Some(path) => path
            .split('.')
            .filter(|p| !p.is_empty())
            .try_fold(&root, |node, part| node.get(part))
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| SourceError::NoRecords(path.clone()))?,
    };

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

fn json_fields(item: &serde_json::Value) -> Result<Fields, Vec<String>> {
    let Some(object) = item.as_object() else {
        return Err(vec!["is not a JSON object".to_owned()]);
    };
    let fields = object
        .iter()
        .map(|(key, value)| (normalize_text(key), json_cell(value)))
        .collect();
    Ok(Fields(fields))
}

const NOT_AN_INTEGER: &str = "holds a non-integer number; quote it as a string";

/// Reads one JSON value. A number is taken only as an integer that fits 64 bits, in the
/// digits the file wrote: `1.5e2` or a 23-digit id would otherwise become a float's text.
fn json_cell(value: &serde_json::Value) -> Cell {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            // A null item reads as "", a blank group, which adds none.
            let mut texts = Vec::new();
            for item in items {
                match json_cell(item) {
                    Cell::Text(text) => texts.push(text),
                    Cell::List(_) => return Cell::Unusable("holds a nested list"),
                    unusable @ Cell::Unusable(_) => return unusable,
                }
            }
            Cell::List(texts)
        }
        Value::Null => Cell::Text(String::new()),
        Value::String(text) => Cell::Text(text.clone()),
        Value::Bool(flag) => Cell::Text(flag.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Cell::Text(n.to_string()),
        Value::Number(_) => Cell::Unusable(NOT_AN_INTEGER),
        Value::Object(_) => Cell::Unusable("holds a nested object"),
    }
}

/// Every column the spec reads, as configured.
fn wanted_columns(spec: &SourceSpec) -> impl Iterator<Item = &str> {
    let c = &spec.columns;
    std::iter::once(c.id.as_str())
        .chain(c.name.names())
        .chain(c.groups.iter().map(String::as_str))
        .chain(
            [&c.email, &c.status, &c.start_date, &c.end_date, &c.card]
                .into_iter()
                .flatten()
                .map(String::as_str),
        )
        .chain(spec.metadata.iter().map(|m| m.column.as_str()))
}

fn check_columns(spec: &SourceSpec, available: &[String]) -> Result<(), SourceError> {
    for column in wanted_columns(spec) {
        if !available.iter().any(|a| *a == normalize_text(column)) {
            let available = match available.join(", ") {
                none if none.is_empty() => "(none)".to_owned(),
                some => some,
            };
            return Err(SourceError::MissingColumn {
                column: column.to_owned(),
                available,
            });
        }
    }
    Ok(())
}

/// A column the spec reads must be named once: with two, which one counts is a guess.
fn check_repeated_columns(spec: &SourceSpec, headers: &[String]) -> Result<(), SourceError> {
    for column in wanted_columns(spec) {
        let name = normalize_text(column);
        if headers.iter().filter(|h| **h == name).count() > 1 {
            return Err(SourceError::DuplicateColumn(column.to_owned()));
        }
    }
    Ok(())
}

struct RowReader<'a> {
    spec: &'a SourceSpec,
    dates: DateFormat,
}

impl RowReader<'_> {
    fn employee(&self, fields: &Fields) -> Result<Employee, Vec<String>> {
        let c = &self.spec.columns;
        let mut problems = Problems::default();

        let id = problems.check(
            &c.id,
            fields
                .text(&c.id)
                .and_then(|raw| parsed(EmployeeId::parse(raw))),
        );
        let name = self.name(fields, &mut problems);
        let email = problems.optional(c.email.as_deref(), fields, |v| parsed(Email::parse(v)));
        let status = match &c.status {
            Some(col) => problems.check(col, fields.text(col).and_then(|v| self.status(v))),
            None => Some(EmploymentStatus::Active),
        };
        let date = |problems: &mut Problems, column: Option<&str>| {
            problems
                .optional(column, fields, |v| self.date(v))
                .map(Option::flatten)
        };
        let start_date = date(&mut problems, c.start_date.as_deref());
        let end_date = date(&mut problems, c.end_date.as_deref());
        let card = problems.optional(c.card.as_deref(), fields, |v| {
            parsed(CardCredential::parse(self.spec.card_kind, v))
        });
        if let (Some(Some(start)), Some(Some(end))) = (start_date, end_date)
            && end < start
        {
            problems
                .0
                .push("the end date is before the start date".to_owned());
        }
        let groups = self.groups(fields, &mut problems);
        let attributes = self.attributes(fields, &mut problems);

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

    /// The name, from one column or several joined with a space.
    fn name(&self, fields: &Fields, problems: &mut Problems) -> Option<PersonName> {
        let columns = self.spec.columns.name.names();
        let mut parts = Vec::with_capacity(columns.len());
        for column in &columns {
            parts.push(problems.check(column, fields.text(column))?);
        }
        problems.check(
            &columns.join("+"),
            parsed(PersonName::parse(&parts.join(" "))),
        )
    }

    fn groups(&self, fields: &Fields, problems: &mut Problems) -> BTreeSet<HrGroup> {
        let mut groups = BTreeSet::new();
        for column in &self.spec.columns.groups {
            let Some(values) = problems.check(column, fields.texts(column)) else {
                continue;
            };
            let separator = self.spec.group_separator.as_deref();
            let names = values.into_iter().flat_map(|value| match separator {
                Some(sep) => value.split(sep).collect(),
                None => vec![value],
            });
            for name in names {
                if let Some(Some(group)) = problems.check(column, parsed(HrGroup::try_parse(name)))
                {
                    groups.insert(group);
                }
            }
        }
        groups
    }

    /// The metadata fields the record has, normalised, in the configured order.
    fn attributes(&self, fields: &Fields, problems: &mut Problems) -> Vec<(String, String)> {
        let mut attributes = Vec::new();
        for field in &self.spec.metadata {
            let Some(raw) = problems.check(&field.column, fields.text(&field.column)) else {
                continue;
            };
            let value = normalize_text(raw);
            if !value.is_empty() {
                attributes.push((field.key.clone(), value));
            }
        }
        attributes
    }

    /// A status value; a configured status column must hold one on every row, since an
    /// empty value says nothing about whether the person still works here.
    fn status(&self, raw: &str) -> Result<EmploymentStatus, String> {
        let value = normalize_text(raw);
        if value.is_empty() {
            return Err("status is empty".to_owned());
        }
        let matches = |list: &[String]| {
            list.iter()
                .any(|v| normalize_text(v).eq_ignore_ascii_case(&value))
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

    fn date(&self, raw: &str) -> Result<Option<Date>, String> {
        let value = normalize_text(raw);
        if self.spec.empty_dates.contains(&value) {
            return Ok(None);
        }
        self.dates.parse(&value).map(Some).ok_or_else(|| {
            format!(
                "{value:?} is not a date in the format {}",
                self.spec.date_format
            )
        })
    }
}

/// A domain parse result with the error as text.
fn parsed<T>(result: Result<T, hr_domain::DomainError>) -> Result<T, String> {
    result.map_err(|e| e.to_string())
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

    /// Reads an optional column: absent column or blank value = `None`. `parse` gets the
    /// raw value (the domain parsers normalise it themselves).
    fn optional<T>(
        &mut self,
        column: Option<&str>,
        fields: &Fields,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let Some(column) = column else {
            return Some(None);
        };
        let raw = self.check(column, fields.text(column))?;
        if normalize_text(raw).is_empty() {
            return Some(None);
        }
        self.check(column, parse(raw)).map(Some)
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
