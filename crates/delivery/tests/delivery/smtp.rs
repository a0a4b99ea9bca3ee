//! A real SMTP server for the tests: `tests/smtp_server.py` (aiosmtpd) as a child process.
//!
//! The Python is `AKILES_HR_SYNC_TEST_PYTHON` when set. Otherwise it is the venv
//! `smtp-venv` in the target directory (the one cargo builds into, so `CARGO_TARGET_DIR`
//! counts), which the first test that needs it creates and fills with aiosmtpd from PyPI;
//! a lock file beside it makes the other test processes and threads wait for that one.
//! When the setup fails the tests fail and say what to run; they never skip silently.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The variable naming the Python that has aiosmtpd.
pub const PYTHON_VAR: &str = "AKILES_HR_SYNC_TEST_PYTHON";

/// How long the server may take to start.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// How long a test process waits for another one to set the venv up.
const SETUP_DEADLINE: Duration = Duration::from_secs(600);

/// How often the lock is tried while another process holds it.
const LOCK_POLL: Duration = Duration::from_millis(100);

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

/// An SMTP server that accepts connections and never says anything: no greeting, no
/// reply. Stops on drop. Needs a Tokio runtime.
pub struct BlackHole {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl BlackHole {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Self {
            port,
            accepted,
            task,
        }
    }

    /// The connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
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

/// The directory cargo builds into: `CARGO_TARGET_DIR` (or `--target-dir`, or the
/// configured one) when set, else `<workspace>/target`. Cargo gives integration tests a
/// scratch directory right inside it.
fn target_dir() -> PathBuf {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
    scratch
        .parent()
        .map_or_else(|| workspace().join("target"), Path::to_path_buf)
}

/// The venv the tests set up and use.
fn venv_dir() -> PathBuf {
    target_dir().join("smtp-venv")
}

/// The Python to run the script with: the override, or the venv, set up on first use.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os(PYTHON_VAR) {
        return PathBuf::from(python);
    }
    // Once per process: the other threads wait here, the other processes on the lock.
    static PREPARED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PREPARED.get_or_init(|| prepare_venv(&venv_dir())) {
        Ok(python) => python.clone(),
        Err(problem) => panic!(
            "no Python with aiosmtpd for the SMTP tests: {problem}. {}",
            setup_hint()
        ),
    }
}

/// Makes `venv` a venv with aiosmtpd unless it is one already; returns its Python.
fn prepare_venv(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin/python");
    if has_aiosmtpd(&python) {
        return Ok(python);
    }
    let parent = venv.parent().ok_or("the venv has no parent directory")?;
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let lock_path = venv.with_extension("lock");
    let _lock = lock(&lock_path)?;
    // Another process may have finished it while this one waited.
    if has_aiosmtpd(&python) {
        return Ok(python);
    }
    // Whatever is there is an unfinished attempt: start it again.
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(venv))?;
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "aiosmtpd",
    ]))?;
    if has_aiosmtpd(&python) {
        Ok(python)
    } else {
        Err(format!(
            "aiosmtpd was installed but {} cannot import it",
            python.display()
        ))
    }
}

/// Holds `path` locked for this process until dropped (the system lets go of it when the
/// process dies, so a crashed run leaves nothing stuck). Waits at most [`SETUP_DEADLINE`].
fn lock(path: &Path) -> Result<File, String> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    let deadline = Instant::now() + SETUP_DEADLINE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(LOCK_POLL);
            }
            Err(TryLockError::WouldBlock) => {
                return Err(format!(
                    "another test process held {} for over {} s while setting the venv up",
                    path.display(),
                    SETUP_DEADLINE.as_secs()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()));
            }
        }
    }
}

fn has_aiosmtpd(python: &Path) -> bool {
    python.exists()
        && Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// Runs a setup command; its output is kept for the error.
fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{shown} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    ))
}

fn setup_hint() -> String {
    let venv = venv_dir();
    let venv = venv.display();
    format!(
        "The tests set up a venv with aiosmtpd themselves (this needs python3 with venv and \
         access to PyPI). To do it by hand, run: python3 -m venv {venv} && {venv}/bin/pip \
         install aiosmtpd; or set {PYTHON_VAR} to a Python that has aiosmtpd"
    )
}
