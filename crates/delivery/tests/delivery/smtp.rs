//! A real SMTP server for the tests: `tests/smtp_server.py` (aiosmtpd) as a child process.
//!
//! Python with aiosmtpd is found through `AKILES_HR_SYNC_TEST_PYTHON`, or else the venv
//! `.ci/run` creates at `target/smtp-venv`. Without either the tests fail and say how to
//! set it up; they never skip silently.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The variable naming the Python that has aiosmtpd.
pub const PYTHON_VAR: &str = "AKILES_HR_SYNC_TEST_PYTHON";

/// How long the server may take to start.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// One message the server accepted, as the script parsed it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub login: Option<String>,
}

/// A running SMTP server on 127.0.0.1; killed on drop.
pub struct SmtpServer {
    pub port: u16,
    child: Child,
    _stdin: ChildStdin,
    dir: TempDir,
}

impl SmtpServer {
    /// A server that accepts every message.
    pub fn start() -> Self {
        Self::spawn(&[])
    }

    /// A server that only accepts a login with `user` and `password`.
    pub fn with_login(user: &str, password: &str) -> Self {
        Self::spawn(&["--auth", &format!("{user}:{password}")])
    }

    fn spawn(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = workspace().join("crates/delivery/tests/smtp_server.py");
        let mut child = Command::new(python())
            .args(["-W", "ignore"])
            .arg(&script)
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the SMTP server script: {e}"));
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();

        let (lines, port_line) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let port = wait_for_port(&port_line, &mut child);
        Self {
            port,
            child,
            _stdin: stdin,
            dir,
        }
    }

    /// Makes every message fail with `reply` (an SMTP reply line) until [`Self::recover`].
    pub fn fail_with(&self, reply: &str) {
        std::fs::write(self.dir.path().join("FAIL"), reply).unwrap();
    }

    /// Accepts messages again.
    pub fn recover(&self) {
        std::fs::remove_file(self.dir.path().join("FAIL")).unwrap();
    }

    /// Every message accepted so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_port(lines: &mpsc::Receiver<String>, child: &mut Child) -> u16 {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                if let Some(port) = line.strip_prefix("PORT ") {
                    return port.trim().parse().unwrap();
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!(
                    "the SMTP server script did not start (exit: {status:?}). {}",
                    setup_hint()
                );
            }
        }
    }
}

/// The workspace root: every crate sits in `crates/<name>`.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python to run the script with.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os(PYTHON_VAR) {
        return PathBuf::from(python);
    }
    let venv = workspace().join("target/smtp-venv/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "no Python with aiosmtpd for the SMTP tests. {}",
        setup_hint()
    );
}

fn setup_hint() -> String {
    format!(
        "Set {PYTHON_VAR} to a Python that has aiosmtpd, or create the venv the tests look \
         for: python3 -m venv target/smtp-venv && target/smtp-venv/bin/pip install aiosmtpd"
    )
}
