use super::*;

fn spec(toml_text: &str) -> SourceSpec {
    toml::from_str(toml_text).unwrap()
}

fn basic() -> SourceSpec {
    spec(
        r#"
        format = "csv"
        date_format = "M/D/YYYY"
        inactive_values = ["terminated"]
        [columns]
        id = "employee_id"
        name = "full_name"
        email = "email"
        groups = ["groups"]
        status = "status"
        start_date = "start"
        end_date = "end"
        "#,
    )
}

const HEADER: &str = "employee_id,full_name,email,groups,status,start,end\n";

fn rows(errors: SourceError) -> Vec<String> {
    match errors {
        SourceError::Rows(rows) => rows.iter().map(ToString::to_string).collect(),
        other => panic!("expected row errors, got {other}"),
    }
}

#[test]
fn values_are_trimmed_including_non_breaking_spaces() {
    let csv = format!(
        "{HEADER}\" E-1007\",\"Tomás Herrera \",\"\u{a0}tomas.herrera@example.com \",HQ-Staff,Active,5/4/2026,\n"
    );

    let employees = read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap();

    let e = &employees[0];
    assert_eq!(e.id.as_str(), "E-1007");
    assert_eq!(e.name.as_str(), "Tomás Herrera");
    assert_eq!(
        e.email.as_ref().unwrap().as_str(),
        "tomas.herrera@example.com"
    );
    assert_eq!(e.start_date, Some(time::macros::date!(2026 - 05 - 04)));
    assert_eq!(e.groups.iter().next().unwrap().name(), "HQ-Staff");
}

#[test]
fn every_bad_row_is_listed_by_line_and_nothing_is_returned() {
    let csv = format!(
        "{HEADER}\
         E-1,Ana,,Lab,Active,1/2/2020,\n\
         ,No Id,,Lab,Active,,\n\
         E-1,Dup,,Lab,Active,,\n\
         E-3,Bad Date,,Lab,Active,31/31/2020,\n\
         E-4,Short,,Lab\n\
         E-5,Bad Mail,not-an-email,Lab,Active,,\n\
         E-6,Odd Status,,Lab,Sabbatical,,\n"
    );

    let errors = rows(read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap_err());

    assert_eq!(errors.len(), 6, "{errors:#?}");
    assert!(errors[0].starts_with("line 3: column \"employee_id\""));
    assert!(errors[1].starts_with("line 4: duplicate employee id E-1 (first at line 2)"));
    assert!(errors[2].starts_with("line 5: column \"start\": \"31/31/2020\" is not a date"));
    assert_eq!(errors[3], "line 6: has 4 fields, the header has 7");
    assert!(errors[4].starts_with("line 7: column \"email\""));
    assert!(errors[5].starts_with("line 8: column \"status\""));
}

#[test]
fn a_missing_column_names_the_column_and_the_ones_present() {
    let err = read_bytes(b"id,name\n1,A\n", Format::Csv, &basic()).unwrap_err();

    assert!(
        err.to_string()
            .contains("column \"employee_id\" is not in the file; its columns are: id, name")
    );
}

#[test]
fn header_only_file_is_an_empty_snapshot() {
    let employees = read_bytes(HEADER.as_bytes(), Format::Csv, &basic()).unwrap();

    assert!(employees.is_empty());
}

#[test]
fn json_records_with_placeholder_dates_and_group_arrays() {
    let spec = spec(
        r#"
        format = "json"
        records = "employees"
        empty_dates = ["0000-00-00"]
        [columns]
        id = "id"
        name = ["firstName", "lastName"]
        email = "workEmail"
        groups = ["teams"]
        end_date = "terminationDate"
        "#,
    );
    let json = r#"{"employees":[
        {"id":"4","firstName":"Charlotte","lastName":"Abbott","workEmail":"cabbott@efficientoffice.com",
         "teams":["Ops","Lab"],"terminationDate":"0000-00-00"},
        {"id":5,"firstName":"Ann","lastName":"B","workEmail":null,"teams":[],"terminationDate":"2026-13-01"}
    ]}"#;

    let err = rows(read_bytes(json.as_bytes(), Format::Json, &spec).unwrap_err());
    assert_eq!(err.len(), 1);
    assert!(err[0].starts_with("record 2: column \"terminationDate\""));

    let fixed = json.replace("2026-13-01", "2026-12-01");
    let employees = read_bytes(fixed.as_bytes(), Format::Json, &spec).unwrap();
    assert_eq!(employees[0].name.as_str(), "Charlotte Abbott");
    assert_eq!(employees[0].end_date, None);
    assert_eq!(employees[0].groups.len(), 2);
    assert_eq!(employees[1].id.as_str(), "5");
}

#[test]
fn date_patterns_accept_only_what_they_say() {
    let us = DateFormat::compile("M/D/YYYY").unwrap();
    let iso = DateFormat::compile("YYYY-MM-DD").unwrap();

    assert_eq!(
        us.parse("7/5/2011"),
        Some(time::macros::date!(2011 - 07 - 05))
    );
    assert_eq!(
        us.parse("10/27/2008"),
        Some(time::macros::date!(2008 - 10 - 27))
    );
    assert_eq!(us.parse("2/30/2011"), None);
    assert_eq!(iso.parse("2011-7-05"), None);
    assert_eq!(iso.parse("2011-07-05x"), None);
    assert!(DateFormat::compile("YYYY-MM").is_err());
    assert!(DateFormat::compile("YYYY-MM-DDx").is_err());
}

fn shared(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/hr")
        .join(path)
}

#[test]
fn the_hr_dataset_reads_whole_with_207_active_employees() {
    let spec = spec(
        r#"
        date_format = "M/D/YYYY"
        [columns]
        id = "EmpID"
        name = "Employee_Name"
        groups = ["Department"]
        status = "EmploymentStatus"
        start_date = "DateofHire"
        end_date = "DateofTermination"
        "#,
    );

    let employees = read_file(&shared("HRDataset_v14.csv"), &spec).unwrap();

    assert_eq!(employees.len(), 311);
    let active = employees
        .iter()
        .filter(|e| e.status == EmploymentStatus::Active)
        .count();
    assert_eq!(active, 207);
    let first = employees.iter().find(|e| e.id.as_str() == "10026").unwrap();
    assert_eq!(first.name.as_str(), "Adinolfi, Wilson K");
    assert_eq!(first.groups.iter().next().unwrap().name(), "Production");
}

#[test]
fn the_entra_sample_is_refused_for_its_repeated_worker_ids() {
    let spec = spec(
        r#"
        [columns]
        id = "WorkerID"
        name = "FullName"
        groups = ["Department"]
        status = "WorkerStatus"
        start_date = "HireDate"
        "#,
    );

    let errors = rows(
        read_file(
            &shared("samples/entra-inbound-csv-with-1000-records.csv"),
            &spec,
        )
        .unwrap_err(),
    );

    assert_eq!(errors.len(), 1000 - 624);
    assert!(errors.iter().all(|e| e.contains("duplicate employee id")));
}

#[test]
fn crlf_line_numbers_count_each_line_once() {
    let csv = HEADER.replace('\n', "\r\n") + "E-1,A,,Lab,Active,,\r\n,B,,Lab,Active,,\r\n";

    let errors = rows(read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap_err());

    assert!(errors[0].starts_with("line 3:"), "{errors:?}");
}

/// A JSON spec reading id, first + last name and status, plus the `optional` columns
/// (`email`, `card`, `teams` as groups, `position` as metadata).
fn json_spec(optional: &[&str]) -> SourceSpec {
    let mut columns = String::new();
    let mut metadata = String::new();
    for column in optional {
        match *column {
            "teams" => columns.push_str("groups = [\"teams\"]\n"),
            "position" => {
                metadata.push_str("[[metadata]]\nkey = \"position\"\ncolumn = \"position\"\n")
            }
            other => columns.push_str(&format!("{other} = \"{other}\"\n")),
        }
    }
    spec(&format!(
        r#"
        format = "json"
        inactive_values = ["terminated"]
        group_separator = ";"
        [columns]
        id = "id"
        name = ["first", "last"]
        status = "status"
        {columns}
        {metadata}
        "#
    ))
}

fn read_json(json: &str, optional: &[&str]) -> Result<Vec<Employee>, SourceError> {
    read_bytes(json.as_bytes(), Format::Json, &json_spec(optional))
}

#[test]
fn json_numbers_are_taken_only_as_integers_that_fit_64_bits() {
    let json = r#"[
        {"id": 1.5e2, "first": "A", "last": "B", "status": "active"},
        {"id": 12345678901234567890123, "first": "C", "last": "D", "status": "active"},
        {"id": 150.0, "first": "E", "last": "F", "status": "active"},
        {"id": 7, "first": "G", "last": "H", "status": "active", "position": 2.5}
    ]"#;

    let errors = rows(read_json(json, &["position"]).unwrap_err());

    assert_eq!(errors.len(), 4, "{errors:#?}");
    for (i, error) in errors[..3].iter().enumerate() {
        let expected = format!(
            "record {}: column \"id\": holds a non-integer number; quote it as a string",
            i + 1
        );
        assert_eq!(*error, expected);
    }
    assert!(errors[3].starts_with("record 4: column \"position\": holds a non-integer"));
}

#[test]
fn large_json_integers_keep_their_exact_digits() {
    let json = r#"[
        {"id": 9007199254740993, "first": "A", "last": "B", "status": "active"},
        {"id": 18446744073709551615, "first": "C", "last": "D", "status": "active"},
        {"id": -42, "first": "E", "last": "F", "status": "active"}
    ]"#;

    let employees = read_json(json, &[]).unwrap();

    let ids: Vec<_> = employees.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["9007199254740993", "18446744073709551615", "-42"]);
}

proptest::proptest! {
    #[test]
    fn every_64_bit_json_integer_id_reads_as_written(n in proptest::prelude::any::<i64>()) {
        let json = format!(r#"[{{"id": {n}, "first": "A", "last": "B", "status": "active"}}]"#);

        let employees = read_json(&json, &[]).unwrap();

        proptest::prop_assert_eq!(employees[0].id.as_str(), n.to_string());
    }

    #[test]
    fn a_json_number_with_a_fraction_is_never_an_id(n in -1.0e12f64..1.0e12) {
        let json = format!(r#"[{{"id": {n:?}, "first": "A", "last": "B", "status": "active"}}]"#);

        let errors = rows(read_json(&json, &[]).unwrap_err());

        proptest::prop_assert!(errors[0].contains("non-integer number"), "{:?}", errors);
    }
}

#[test]
fn an_empty_or_missing_status_is_an_error_not_a_leaver() {
    let csv = format!("{HEADER}E-1,Ana,,Lab,,,\nE-2,Bo,,Lab, ,,\n");
    let lenient = spec(
        r#"
        [columns]
        id = "employee_id"
        name = "full_name"
        status = "status"
        "#,
    );

    let errors = rows(read_bytes(csv.as_bytes(), Format::Csv, &lenient).unwrap_err());
    assert_eq!(
        errors,
        [
            "line 2: column \"status\": status is empty",
            "line 3: column \"status\": status is empty"
        ]
    );

    let json = r#"[{"id": "E-1", "first": "A", "last": "B"},
                   {"id": "E-2", "first": "C", "last": "D", "status": null}]"#;
    let errors = rows(read_json(json, &[]).unwrap_err());
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors.iter().all(|e| e.ends_with("status is empty")));
}

#[test]
fn a_used_column_named_twice_in_the_header_is_refused() {
    let csv = "employee_id,full_name,email,groups,status,start,end,email\n\
               E-1,Ana,a@example.com,Lab,Active,,,b@example.com\n";

    let err = read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap_err();

    assert!(matches!(&err, SourceError::DuplicateColumn(c) if c == "email"));
    assert!(
        err.to_string()
            .contains("\"email\" appears twice in the header")
    );
}

#[test]
fn an_unused_column_named_twice_is_harmless() {
    let csv = format!(
        "{},notes,notes\nE-1,Ana,,Lab,Active,,,x,y\n",
        HEADER.trim_end()
    );

    let employees = read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap();

    assert_eq!(employees.len(), 1);
}

#[test]
fn json_arrays_are_taken_only_in_group_columns() {
    let json = r#"[
        {"id": ["E-1", "E-2"], "first": "A", "last": "B", "status": "active"},
        {"id": "E-3", "first": ["C", "Ce"], "last": "D", "status": "active"},
        {"id": "E-4", "first": "E", "last": "F", "status": ["active"]},
        {"id": "E-5", "first": "G", "last": "H", "status": "active", "email": {"work": "x"}},
        {"id": "E-6", "first": "I", "last": "J", "status": "active", "teams": [["Lab"]]},
        {"id": "E-7", "first": "K", "last": "L", "status": "active", "teams": ["Lab", null, "Ops"],
         "unused": {"nested": [1.5]}}
    ]"#;

    let errors = rows(read_json(json, &["email", "teams"]).unwrap_err());

    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(errors[0].starts_with("record 1: column \"id\": holds a list"));
    assert!(errors[1].starts_with("record 2: column \"first\": holds a list"));
    assert!(errors[2].starts_with("record 3: column \"status\": holds a list"));
    assert!(errors[3].starts_with("record 4: column \"email\": holds a nested object"));
    assert!(errors[4].starts_with("record 5: column \"teams\": holds a nested list"));
}

#[test]
fn a_name_of_invisible_characters_only_is_empty() {
    let csv = format!("{HEADER}E-1,\u{200b},,Lab,Active,,\nE-2,\u{feff}\u{2060},,Lab,Active,,\n");

    let errors = rows(read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap_err());

    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .all(|e| e.ends_with("column \"full_name\": name is empty"))
    );
}

#[test]
fn control_characters_are_refused_naming_the_column() {
    let json = r#"[
        {"id": "E-1", "first": "An\u0007a", "last": "B", "status": "active"},
        {"id": "E-2", "first": "C", "last": "D", "status": "active", "email": "c\u001b@example.com"},
        {"id": "E-3", "first": "E", "last": "F", "status": "active", "teams": ["Lab\u0007"]},
        {"id": "E-4", "first": "G", "last": "H", "status": "active", "position": "\u001b[2J"},
        {"id": "E-5\n6", "first": "I", "last": "J", "status": "active"},
        {"id": "E-7\t8", "first": "K", "last": "L", "status": "active"}
    ]"#;

    let optional = ["email", "teams", "position"];
    let errors = rows(read_json(json, &optional).unwrap_err());

    let expected = [
        "record 1: column \"first\": contains a control character",
        "record 2: column \"email\": contains a control character",
        "record 3: column \"teams\": contains a control character",
        "record 4: column \"position\": contains a control character",
        "record 5: column \"id\": employee id contains a control character",
        "record 6: column \"id\": employee id contains a control character",
    ];
    assert_eq!(errors, expected);
}

#[test]
fn an_id_with_a_line_break_inside_a_quoted_csv_field_is_refused() {
    let csv = format!("{HEADER}\"E-1\n2\",Ana,,Lab,Active,,\n");

    let errors = rows(read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap_err());

    assert_eq!(
        errors,
        ["line 2: column \"employee_id\": employee id contains a control character"]
    );
}

#[test]
fn an_hr_group_longer_than_200_bytes_is_refused() {
    let long = "D".repeat(201);
    let csv = format!("{HEADER}E-1,Ana,,{long},Active,,\nE-2,Bo,,Lab;{long},Active,,\n");
    let mut spec = basic();
    spec.group_separator = Some(";".to_owned());

    let errors = rows(read_bytes(csv.as_bytes(), Format::Csv, &spec).unwrap_err());

    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .all(|e| e.ends_with("column \"groups\": HR group is longer than 200 bytes"))
    );
    assert!(!errors.iter().any(|e| e.contains("DDDD")));
}

#[test]
fn the_same_email_or_card_on_two_active_rows_is_refused_without_printing_it() {
    let json = r#"[
        {"id": "E-1", "first": "A", "last": "B", "status": "active",
         "email": "ana@example.com", "card": "04:a2:2b:1a"},
        {"id": "E-2", "first": "C", "last": "D", "status": "terminated",
         "email": "ana@example.com", "card": "04a22b1a"},
        {"id": "E-3", "first": "E", "last": "F", "status": "active",
         "email": "Ana@Example.COM", "card": "04-A2-2B-1A"}
    ]"#;

    let err = read_json(json, &["email", "card"]).unwrap_err();
    let text = err.to_string();
    let errors = rows(err);

    assert_eq!(
        errors,
        [
            "record 3: column \"email\": work e-mail also on record 1",
            "record 3: column \"card\": card also on record 1",
        ]
    );
    assert!(!text.to_lowercase().contains("ana@"), "{text}");
    assert!(!text.contains("04"), "{text}");
}

#[test]
fn a_leaver_may_share_an_email_with_an_active_row() {
    let json = r#"[
        {"id": "E-1", "first": "A", "last": "B", "status": "terminated", "email": "a@example.com"},
        {"id": "E-2", "first": "C", "last": "D", "status": "active", "email": "a@example.com"}
    ]"#;

    assert_eq!(read_json(json, &["email"]).unwrap().len(), 2);
}

#[test]
fn the_row_error_summary_counts_problems_and_rows() {
    let csv = format!("{HEADER}E-1,,bad,Lab,Sabbatical,,\nE-2,Bo,,Lab,Active,,\n");

    let err = read_bytes(csv.as_bytes(), Format::Csv, &basic()).unwrap_err();

    let text = err.to_string();
    assert!(
        text.starts_with("3 problem(s) in 1 row(s); nothing was imported:\n  line 2:"),
        "{text}"
    );
}

#[test]
fn an_empty_file_says_it_is_empty() {
    for (bytes, format) in [
        (&b""[..], Format::Csv),
        (b"\xef\xbb\xbf \r\n", Format::Csv),
        (b"  \n", Format::Json),
    ] {
        let err = read_bytes(bytes, format, &basic()).unwrap_err();

        assert!(matches!(err, SourceError::Empty), "{err}");
        assert_eq!(err.to_string(), "the file is empty");
    }
}

#[test]
fn json_without_records_names_the_setting() {
    let object = r#"{"employees": [{"id": "E-1"}]}"#;

    let err = read_json(object, &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the top level is not an array; set source.records to the path of the array"
    );

    let mut spec = json_spec(&[]);
    spec.records = Some("staff.list".to_owned());
    let err = read_bytes(object.as_bytes(), Format::Json, &spec).unwrap_err();
    assert!(matches!(&err, SourceError::NoRecords(p) if p == "staff.list"));
    assert!(err.to_string().contains("(source.records)"));
}

#[test]
fn an_unknown_format_names_source_format() {
    let mut spec = basic();
    spec.format = None;

    let err = read_file(Path::new("export.xlsx"), &spec).unwrap_err();

    assert!(err.to_string().contains("set source.format"), "{err}");
}

#[test]
fn a_delimiter_that_is_not_one_ascii_character_is_a_setting_error() {
    for bad in ['é', '"', '\n'] {
        let mut spec = basic();
        spec.delimiter = Some(bad);

        let err = read_bytes(HEADER.as_bytes(), Format::Csv, &spec).unwrap_err();

        assert!(
            matches!(
                err,
                SourceError::Setting {
                    key: "delimiter",
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
    }
    let mut spec = basic();
    spec.delimiter = Some(';');
    let csv = HEADER.replace(',', ";") + "E-1;Ana;;Lab;Active;;\n";
    assert_eq!(
        read_bytes(csv.as_bytes(), Format::Csv, &spec)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn an_empty_group_separator_is_a_setting_error() {
    let mut spec = basic();
    spec.group_separator = Some(String::new());

    let err = read_bytes(HEADER.as_bytes(), Format::Csv, &spec).unwrap_err();

    assert!(matches!(
        err,
        SourceError::Setting {
            key: "group_separator",
            ..
        }
    ));
}

#[test]
fn the_bamboohr_sample_reads_with_integer_and_string_ids() {
    let spec = spec(
        r#"
        format = "json"
        records = "employees"
        [columns]
        id = "id"
        name = ["firstName", "lastName"]
        "#,
    );

    let employees = read_file(
        &shared("samples/bamboohr-custom-report-employees.json"),
        &spec,
    );

    assert!(employees.is_ok(), "{}", employees.unwrap_err());
}
