//! `import` with a `[delivery]` section: new PINs reach a real SMTP server after the run,
//! with the password from the environment, and one line reports the counts.

use std::path::Path;
use std::process::Output;

use akiles_emulator::EmulatorConfig;

use crate::text;

#[path = "../../../delivery/tests/delivery/smtp.rs"]
#[expect(
    dead_code,
    reason = "the SMTP helper is shared with the delivery suite"
)]
mod smtp;

use smtp::{BlackHole, SmtpServer};

const EXPORT: &str = "\
Id,Name,Email,Department
E-1,Ana López,ana.lopez@example.com,Sales
E-2,Bo Berg,,Sales
";

fn config(port: u16) -> String {
    format!(
        r#"
tenant = "acme"
[source.columns]
id = "Id"
name = "Name"
email = "Email"
groups = ["Department"]
[mapping.groups]
"Sales" = ["Sales"]
[credentials]
pin = true
[delivery]
pin = true
[delivery.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
username = "mailer"
from = "Acme Doors <doors@example.com>"
"#
    )
}

async fn import(dir: &Path, url: &str, key: &str, password: &str) -> Output {
    let database = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
    tokio::process::Command::new(env!("CARGO_BIN_EXE_akiles-hr-sync"))
        .args(["import", "export.csv", "--config", "sync.toml"])
        .args(["--akiles-url", url, "--akiles-token", key])
        .current_dir(dir)
        .env("AKILES_HR_SYNC_DATABASE", database)
        .env("AKILES_HR_SYNC_SMTP_PASSWORD", password)
        .env("RUST_LOG", "warn")
        .env_remove("AKILES_URL")
        .env_remove("AKILES_TOKEN")
        .env_remove("AKILES_HR_SYNC_DATA_KEY")
        .output()
        .await
        .expect("the binary runs")
}

#[tokio::test]
async fn import_sends_new_pins_by_email_and_reports_the_counts() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let server = SmtpServer::with_login("mailer", "cli-smtp-pass");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.csv"), EXPORT).unwrap();
    std::fs::write(dir.path().join("sync.toml"), config(server.port)).unwrap();
    let (url, key) = (emulator.base_url(), emulator.api_key());

    let first = import(dir.path(), &url, &key, "cli-smtp-pass").await;
    let second = import(dir.path(), &url, &key, "cli-smtp-pass").await;

    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        stdout.contains("PINs and magic links sent by e-mail: 1, failed: 1 (0 retried"),
        "{}",
        text(&first)
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].rcpt_tos, ["ana.lopez@example.com"]);
    assert_eq!(received[0].login.as_deref(), Some("mailer"));
    assert!(second.status.success(), "{}", text(&second));
    assert!(!String::from_utf8_lossy(&second.stdout).contains("sent by e-mail: 1"));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains(
            "Credential e-mails not delivered yet: 0 waiting for a later run, 1 given up"
        ),
        "the one without an address stays visible: {}",
        text(&second)
    );
    let all = format!("{}{}", text(&first), text(&second));
    assert!(!all.contains("cli-smtp-pass"));
    assert!(!all.contains("ana.lopez@example.com"));
}

#[tokio::test]
async fn import_ends_although_the_smtp_server_never_answers() {
    let emulator = akiles_emulator::spawn(EmulatorConfig::default())
        .await
        .unwrap();
    let hole = BlackHole::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("export.csv"), EXPORT).unwrap();
    let config = format!("{}timeout_secs = 1\n", config(hole.port));
    std::fs::write(dir.path().join("sync.toml"), config).unwrap();
    let (url, key) = (emulator.base_url(), emulator.api_key());

    let run = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        import(dir.path(), &url, &key, "cli-smtp-pass"),
    )
    .await
    .expect("import ends although the SMTP server never answers");

    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", text(&run));
    assert!(stdout.contains("sent by e-mail: 0,"), "{}", text(&run));
    assert!(
        stdout.contains("(1 retried on the next run)"),
        "{}",
        text(&run)
    );
    assert_eq!(hole.accepted(), 1);
}
