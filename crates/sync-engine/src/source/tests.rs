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
