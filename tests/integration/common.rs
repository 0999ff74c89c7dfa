//! Test harness: the binary in a sandbox, canary keys, and the leak check every run goes through.
//!
//! [`Sandbox::cmd`] is the only way to run the binary. [`Cmd::run`] (and [`Spawned::wait`]) always
//! check stdout, stderr and every regular file under the sandbox for every derived form of every
//! secret the sandbox knows, so a test cannot forget the leak check. Secrets are learnt
//! automatically from what a run is given (any JWT-shaped value in its arguments, environment or
//! stdin) and explicitly with [`Sandbox::secret`]. The only files allowed to hold a secret are
//! the job's documented credential files (which must be mode 0600), files registered with
//! [`Sandbox::credential`] (also 0600), and files opted out with a reason through
//! [`Sandbox::allow_secret_in`].

use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead as _, BufReader, Read as _};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

/// A UUID `sub` like real keys have.
pub const SUB: &str = "d04c356b-afd2-4b3e-80f2-403113e0974b";

/// The files a job directory (or a `docker-secret` directory) holds the key in, by design.
pub const CREDENTIAL_FILES: &[&str] = &[
    "keyring",
    "api-key",
    "rattler-auth.json",
    "netrc",
    "ANACONDA_AUTH_API_KEY",
    "anaconda_keyring",
];

/// Credential files outside job directories that setup merges into on purpose (the default
/// clients include mamba), relative to the sandbox's HOME; cleanup restores them.
pub const MERGED_IN_HOME: &[&str] = &[".mamba/auth/authentication.json"];

/// The ledger beside a file merged into holds the jobs' entries while they run (0600, removed
/// with the last job).
pub const LEDGER_SUFFIX: &str = ".anaconda-ci-auth-ledger";

/// The state file that marks a job directory.
pub const STATE_FILE: &str = "state.json";

/// The prefix of job directories the binary creates itself.
pub const JOB_DIR_PREFIX: &str = "anaconda-ci-auth-";

/// How long a run may take before the harness gives up on it.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Secrets shorter than this cannot be searched for without false alarms.
const MIN_SECRET_LEN: usize = 8;

/// An unsigned JWT with `exp` and a unique marker in the payload. The marker comes first, so
/// the start of every key's payload is unique to it (see [`leak_check_forms`]).
pub fn jwt(exp: i64, marker: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"default","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"canary":"{marker}","exp":{exp},"sub":"{SUB}"}}"#));
    format!(
        "{header}.{payload}.{}",
        URL_SAFE_NO_PAD.encode("not-a-real-signature")
    )
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A canary key valid for a year.
pub fn canary() -> String {
    jwt(now() + 365 * 86_400, "CANARY-7f3a9c")
}

/// Whether `s` has the shape of a JWT: three base64url segments, the first two non-trivial.
fn is_jwt_shaped(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts[0].len() >= 10
        && parts[1].len() >= 10
        && !parts[2].is_empty()
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Every JWT-shaped token inside `text` (split at anything a JWT cannot contain).
fn jwts_in(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .filter(|t| is_jwt_shaped(t))
        .map(str::to_owned)
        .collect()
}

/// A sandbox: temporary HOME and TMPDIR, the secrets it has seen, and the files allowed to hold them.
pub struct Sandbox {
    tmp: tempfile::TempDir,
    secrets: RefCell<Vec<String>>,
    /// Files that may hold a secret, each with the reason why.
    allowed: RefCell<Vec<(PathBuf, String)>>,
    /// Credential files outside a job directory (e.g. `docker-secret --out`): must be 0600.
    credentials: RefCell<Vec<PathBuf>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("home")).unwrap();
        std::fs::create_dir_all(tmp.path().join("tmp")).unwrap();
        Self {
            tmp,
            secrets: RefCell::new(Vec::new()),
            allowed: RefCell::new(Vec::new()),
            credentials: RefCell::new(Vec::new()),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    pub fn tmpdir(&self) -> PathBuf {
        self.tmp.path().join("tmp")
    }

    /// A fresh canary key, known to the sandbox's leak check.
    pub fn canary(&self) -> String {
        self.secret(&canary())
    }

    /// Registers `value` as a secret that must not leak (returned for convenience).
    pub fn secret(&self, value: &str) -> String {
        assert!(
            value.trim().len() >= MIN_SECRET_LEN,
            "a secret of fewer than {MIN_SECRET_LEN} characters cannot be checked for leaks"
        );
        let mut secrets = self.secrets.borrow_mut();
        if !secrets.iter().any(|s| s == value) {
            secrets.push(value.to_owned());
        }
        value.to_owned()
    }

    /// Asserts that `value` is one of the secrets every run's leak check looks for.
    #[track_caller]
    pub fn assert_knows(&self, value: &str) {
        assert!(
            self.secrets.borrow().iter().any(|s| s == value),
            "the leak check does not know this secret"
        );
    }

    /// Lets `path` hold a secret, for a stated reason (a test input, a runner's file the key must
    /// reach on purpose). The file's mode is not checked.
    pub fn allow_secret_in(&self, path: impl Into<PathBuf>, reason: &str) {
        assert!(!reason.trim().is_empty(), "say why the file may hold the key");
        self.allowed.borrow_mut().push((path.into(), reason.to_owned()));
    }

    /// A credential file the binary writes outside a job directory (`docker-secret --out`): it
    /// may hold the key, and must be mode 0600.
    pub fn credential(&self, path: impl Into<PathBuf>) {
        self.credentials.borrow_mut().push(path.into());
    }

    /// The binary with `args`, in a scrubbed environment: no CI variables, no proxies, this
    /// sandbox's HOME and TMPDIR, and an empty secrets directory.
    pub fn cmd<I, S>(&self, args: I) -> Cmd<'_>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Cmd {
            sb: self,
            args: Vec::new(),
            env: vec![
                ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
                ("HOME".into(), self.home().into()),
                ("TMPDIR".into(), self.tmpdir().into()),
                (
                    "ANACONDA_SECRETS_DIR".into(),
                    self.path().join("no-secrets").into(),
                ),
            ],
            stdin: None,
            tty: false,
            timeout: DEFAULT_TIMEOUT,
            dir: self.path().to_path_buf(),
        };
        cmd.args_mut(args);
        cmd
    }

    /// A directory for fake tools, created on first use; prepend it to PATH with [`Sandbox::path_with_bin`].
    pub fn bin_dir(&self) -> PathBuf {
        let d = self.tmp.path().join("bin");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// PATH with the sandbox's bin directory first.
    pub fn path_with_bin(&self) -> String {
        format!(
            "{}:{}",
            self.bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// Writes an executable script into the sandbox's bin directory.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let p = self.bin_dir().join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// The leak check: panics if a secret (in any derived form) is on `stdout`, on `stderr`
    /// (outside `::add-mask::` lines when `github`), or in a file under the sandbox other than
    /// the credential files and opted-out files; and if a credential file is not mode 0600.
    pub fn assert_no_leaks(&self, what: &str, stdout: &[u8], stderr: &[u8], github: bool) {
        let secrets = self.secrets.borrow().clone();
        let stderr = if github {
            without_mask_lines(stderr)
        } else {
            stderr.to_vec()
        };
        for key in &secrets {
            assert_no_leak(&format!("{what}: stdout"), stdout, key);
            assert_no_leak(&format!("{what}: stderr"), &stderr, key);
        }
        for file in walk(self.path()) {
            let Ok(meta) = std::fs::symlink_metadata(&file) else {
                continue;
            };
            if !meta.file_type().is_file() {
                continue; // Symlinks point elsewhere; FIFOs and devices would block or lie.
            }
            if self.allowed.borrow().iter().any(|(p, _)| *p == file) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&file) else {
                continue;
            };
            if self.is_credential_file(&file) {
                // Holding the key is what it is for; then nobody else may read it.
                if secrets.iter().any(|k| find_leak(&bytes, k).is_some()) {
                    use std::os::unix::fs::PermissionsExt as _;
                    assert_eq!(
                        meta.permissions().mode() & 0o777,
                        0o600,
                        "{what}: credential file {} is not 0600",
                        file.display()
                    );
                }
                continue;
            }
            for key in &secrets {
                assert_no_leak(&format!("{what}: file {}", file.display()), &bytes, key);
            }
        }
    }

    /// A documented credential file: one of [`CREDENTIAL_FILES`] in a job directory, or one
    /// registered with [`Sandbox::credential`].
    fn is_credential_file(&self, file: &Path) -> bool {
        if self.credentials.borrow().iter().any(|p| p == file) {
            return true;
        }
        if MERGED_IN_HOME.iter().any(|m| self.home().join(m) == file) {
            return true;
        }
        if file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') && n.ends_with(LEDGER_SUFFIX))
        {
            return true;
        }
        let (Some(name), Some(dir)) = (file.file_name().and_then(|n| n.to_str()), file.parent()) else {
            return false;
        };
        CREDENTIAL_FILES.contains(&name) && is_job_dir(dir)
    }
}

/// A job directory: named by the binary, or holding a state file.
fn is_job_dir(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(JOB_DIR_PREFIX))
        || dir.join(STATE_FILE).is_file()
}

/// `text` without its `::add-mask::` lines (the one place GitHub needs the key, on stderr).
fn without_mask_lines(text: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// One run of the binary, being built.
#[must_use = "a command does nothing until .run() or .spawn()"]
pub struct Cmd<'a> {
    sb: &'a Sandbox,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    /// Standard input is a pseudo-terminal (kept open until the run ends).
    tty: bool,
    timeout: Duration,
    dir: PathBuf,
}

impl<'a> Cmd<'a> {
    fn args_mut<I, S>(&mut self, args: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            let a = a.as_ref();
            for k in jwts_in(&a.to_string_lossy()) {
                self.sb.secret(&k);
            }
            self.args.push(a.to_owned());
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args_mut([arg]);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args_mut(args);
        self
    }

    /// Sets a variable; a JWT-shaped value becomes a secret of the sandbox.
    pub fn env(mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let (name, value) = (name.as_ref().to_owned(), value.as_ref().to_owned());
        for k in jwts_in(&value.to_string_lossy()) {
            self.sb.secret(&k);
        }
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value));
        self
    }

    /// Sets variables whose values need not be UTF-8.
    pub fn envs_os(mut self, vars: &[(&str, OsString)]) -> Self {
        for (n, v) in vars {
            self = self.env(n, v);
        }
        self
    }

    pub fn envs<'e>(mut self, vars: impl IntoIterator<Item = &'e (&'e str, &'e str)>) -> Self {
        for (n, v) in vars {
            self = self.env(n, v);
        }
        self
    }

    /// Sets `ANACONDA_AUTH_API_KEY` to `key`, a secret of the sandbox whatever its shape.
    pub fn key(self, key: &str) -> Self {
        if key.trim().len() >= MIN_SECRET_LEN {
            self.sb.secret(key);
        }
        self.env("ANACONDA_AUTH_API_KEY", key)
    }

    /// Registers a secret that is not JWT-shaped (it is checked like the others).
    pub fn secret(self, value: &str) -> Self {
        self.sb.secret(value);
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        let data = data.into();
        for k in jwts_in(&String::from_utf8_lossy(&data)) {
            self.sb.secret(&k);
        }
        self.stdin = Some(data);
        self
    }

    /// Gives the run a pseudo-terminal as standard input, as when a person runs it.
    pub fn stdin_tty(mut self) -> Self {
        self.tty = true;
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether the binary will act as on GitHub Actions (where `::add-mask::` lines on stderr
    /// are the one place the key may appear).
    fn github(&self) -> bool {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let explicit = args.iter().enumerate().find_map(|(i, a)| {
            if a == "--" {
                return Some(None);
            }
            a.strip_prefix("--ci=")
                .map(str::to_owned)
                .or_else(|| (a == "--ci").then(|| args.get(i + 1).cloned().unwrap_or_default()))
                .map(Some)
        });
        match explicit.flatten() {
            Some(ci) if ci != "auto" => ci == "github",
            _ => self
                .env
                .iter()
                .any(|(n, v)| n == "GITHUB_ACTIONS" && v.eq_ignore_ascii_case("true")),
        }
    }

    /// A description for assertion messages (arguments only: they never hold a secret that
    /// the check would not catch).
    fn describe(&self) -> String {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                let a = a.to_string_lossy();
                if !jwts_in(&a).is_empty() {
                    "<key>".to_owned()
                } else if a.len() > 60 || a.contains('\n') {
                    let short: String = a.chars().take(40).collect();
                    format!("{}...", short.replace('\n', " "))
                } else {
                    a.into_owned()
                }
            })
            .collect();
        format!("`{}`", args.join(" "))
    }

    fn std_command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin());
        cmd.env_clear().args(&self.args).current_dir(&self.dir);
        for (n, v) in &self.env {
            cmd.env(n, v);
        }
        cmd
    }

    /// Runs the binary to the end (within the timeout) and runs the leak check.
    pub fn run(self) -> Run {
        // The terminal's controller end stays open (in `_pty`) until the run ends.
        let (stdin, _pty) = if self.tty {
            let pty = nix::pty::openpty(None, None).unwrap();
            (Stdio::from(pty.slave), Some(pty.master))
        } else if self.stdin.is_some() {
            (Stdio::piped(), None)
        } else {
            (Stdio::null(), None)
        };
        let mut child = self
            .std_command()
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        if let Some(data) = self.stdin.clone() {
            let mut w = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut w, &data);
            });
        }
        let stdout = child.stdout.take().map(|s| Box::new(s) as _);
        let out = Spawned::collect(&mut child, Vec::new(), stdout, self.timeout, &self.describe());
        self.finish(out, start.elapsed())
    }

    /// Starts the binary with piped stdout and stderr, for tests that signal it while it runs.
    pub fn spawn(self) -> Spawned<'a> {
        let child = self
            .std_command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let github = self.github();
        let what = self.describe();
        Spawned {
            sb: self.sb,
            child: Some(child),
            stdout: None,
            seen: Vec::new(),
            github,
            what,
            start: Instant::now(),
            timeout: self.timeout,
        }
    }

    fn finish(&self, out: Output, took: Duration) -> Run {
        let what = self.describe();
        self.sb
            .assert_no_leaks(&what, &out.stdout, &out.stderr, self.github());
        Run { out, took, what }
    }
}

/// A running binary (see [`Cmd::spawn`]). Killed if dropped before [`Spawned::wait`].
#[must_use = "wait() runs the leak check"]
pub struct Spawned<'a> {
    sb: &'a Sandbox,
    child: Option<Child>,
    stdout: Option<BufReader<std::process::ChildStdout>>,
    seen: Vec<u8>,
    github: bool,
    what: String,
    start: Instant,
    timeout: Duration,
}

impl Spawned<'_> {
    pub fn id(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Reads stdout line by line until a line equal to `line`; returns everything read so far.
    pub fn read_until_line(&mut self, line: &str) -> String {
        if self.stdout.is_none() {
            let out = self.child.as_mut().unwrap().stdout.take().unwrap();
            self.stdout = Some(BufReader::new(out));
        }
        let reader = self.stdout.as_mut().unwrap();
        loop {
            let mut buf = Vec::new();
            let n = reader.read_until(b'\n', &mut buf).unwrap();
            self.seen.extend_from_slice(&buf);
            if n == 0 || buf.strip_suffix(b"\n").unwrap_or(&buf) == line.as_bytes() {
                break;
            }
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Sends `signal` (a name such as `TERM`) to the binary.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the end (within the timeout), collects the rest of its output and runs the
    /// leak check.
    pub fn wait(mut self) -> Run {
        let mut child = self.child.take().unwrap();
        let seen = std::mem::take(&mut self.seen);
        let reader: Option<Box<dyn std::io::Read + Send>> = match self.stdout.take() {
            Some(r) => Some(Box::new(r)),
            None => child.stdout.take().map(|s| Box::new(s) as _),
        };
        let left = self.timeout.saturating_sub(self.start.elapsed());
        let out = Self::collect(&mut child, seen, reader, left, &self.what);
        self.sb
            .assert_no_leaks(&self.what, &out.stdout, &out.stderr, self.github);
        Run {
            out,
            took: self.start.elapsed(),
            what: self.what.clone(),
        }
    }

    /// Reads the child's remaining stdout and stderr on threads and waits for it, killing it at
    /// the deadline.
    fn collect(
        child: &mut Child,
        mut stdout: Vec<u8>,
        stdout_reader: Option<Box<dyn std::io::Read + Send>>,
        timeout: Duration,
        what: &str,
    ) -> Output {
        let pump = |r: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut buf);
                }
                buf
            })
        };
        let out_t = pump(stdout_reader);
        let err_t = pump(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        );
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not end within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        stdout.extend(out_t.join().unwrap());
        Output {
            status,
            stdout,
            stderr: err_t.join().unwrap(),
        }
    }
}

impl Drop for Spawned<'_> {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            // A test that drops a running binary without `wait()` skipped the leak check.
            assert!(
                std::thread::panicking(),
                "{}: spawned but never waited for, so its output was not checked for leaks",
                self.what
            );
        }
    }
}

/// A finished run, leak-checked. Derefs to the process [`Output`].
pub struct Run {
    out: Output,
    pub took: Duration,
    what: String,
}

impl Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.out
    }
}

impl Run {
    /// The exit code (`None` if killed by a signal).
    pub fn exit(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.exit(),
            Some(code),
            "{}: exit code\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what,
            self.stdout(),
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout().contains(needle),
            "{}: stdout lacks {needle:?}:\n{}",
            self.what,
            self.stdout()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr().contains(needle),
            "{}: stderr lacks {needle:?}:\n{}",
            self.what,
            self.stderr()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr().contains(needle),
            "{}: stderr has {needle:?}:\n{}",
            self.what,
            self.stderr()
        );
        self
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.out.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}): {}\n--- stderr ---\n{}",
                self.what,
                self.stdout(),
                self.stderr()
            )
        })
    }
}

/// The words of `line` as an argument list (for arguments without spaces).
pub fn argv(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The binary under test.
fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_anaconda-ci-auth"))
}

/// The SHA-256 of `data` in hex, computed by `sha256sum` (as the scripts in tests compute it).
pub fn sha256_hex(data: &str) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// The forms of `key` the binary asks a CI platform to mask.
pub fn masked_forms(key: &str) -> Vec<String> {
    let payload = format!(r#"{{"domain":"anaconda.com","api_key":"{key}","repo_tokens":[],"version":2}}"#);
    vec![
        key.to_owned(),
        format!("Bearer {key}"),
        STANDARD.encode(key),
        URL_SAFE_NO_PAD.encode(key),
        STANDARD.encode(payload),
    ]
}

/// The base64 of `key` as it appears inside any longer base64 text, at each of the three
/// alignments and in both alphabets: the characters that depend on the key's bytes only.
fn base64_cores(key: &str) -> Vec<String> {
    let mut cores = Vec::new();
    for engine in [&STANDARD, &URL_SAFE] {
        for align in 0..3usize {
            let mut data = vec![0u8; align];
            data.extend_from_slice(key.as_bytes());
            let enc = engine.encode(&data);
            // Leading characters mixed with the prefix; trailing ones with what follows the key.
            let skip = [0, 2, 3][align];
            let end = enc.trim_end_matches('=').len().saturating_sub(3);
            if end > skip + 16 {
                cores.push(enc[skip..end].to_owned());
            }
        }
    }
    cores
}

fn url_encode(s: &str, upper: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

fn json_escape(s: &str, slash: bool) -> String {
    let quoted = serde_json::to_string(s).unwrap();
    let inner = &quoted[1..quoted.len() - 1];
    if slash {
        inner.replace('/', "\\/")
    } else {
        inner.to_owned()
    }
}

/// Every form of `key` the leak check looks for: the key, `Bearer <key>`, base64 at every
/// alignment in both alphabets (the check also runs on the text with line breaks removed, which
/// catches base64 wrapped at any width), the masked forms, and URL-encoded and JSON-escaped
/// variants of each.
pub fn leak_check_forms(key: &str) -> Vec<String> {
    let mut base = masked_forms(key);
    base.extend(base64_cores(key));
    base.push(format!("Bearer%20{key}"));
    let mut forms = Vec::new();
    for f in base {
        for v in [
            url_encode(&f, true),
            url_encode(&f, false),
            json_escape(&f, false),
            json_escape(&f, true),
            f.clone(),
        ] {
            if !forms.contains(&v) {
                forms.push(v);
            }
        }
    }
    forms
}

/// What of `key` `text` holds, if anything: `key` or a derived form, a piece of the key's
/// payload, or a base64 form of the key broken across lines.
pub fn find_leak(text: &[u8], key: &str) -> Option<&'static str> {
    let text = String::from_utf8_lossy(text);
    let joined: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    for form in leak_check_forms(key) {
        if text.contains(&form) {
            return Some("the key or a derived form");
        }
        if joined.contains(&form) {
            return Some("a derived form of the key split across lines");
        }
    }
    // The key's payload part alone is specific enough to catch partial leaks; so is any
    // 24-character piece of its start, which encodes the key's unique marker (a key cut short).
    let middle = key.split('.').nth(1).unwrap_or(key);
    if text.contains(middle) {
        return Some("the key's payload");
    }
    let head = &middle.as_bytes()[..middle.len().min(32)];
    for piece in head.windows(24.min(head.len())) {
        if text.contains(String::from_utf8_lossy(piece).as_ref()) {
            return Some("part of the key's payload");
        }
    }
    None
}

/// Panics if `text` holds `key` in any form [`find_leak`] looks for.
#[track_caller]
pub fn assert_no_leak(what: &str, text: &[u8], key: &str) {
    if let Some(found) = find_leak(text, key) {
        panic!("{what} contains {found}");
    }
}

/// Asserts that no file under `dir` other than those in `allowed` contains `key`: stricter than
/// the harness's check, for a key that must be gone even from the credential files.
pub fn assert_no_leak_in_tree(dir: &Path, key: &str, allowed: &[PathBuf]) {
    for entry in walk(dir) {
        if allowed.iter().any(|a| a == &entry) || !entry.is_file() {
            continue;
        }
        if let Ok(bytes) = std::fs::read(&entry) {
            assert_no_leak(&entry.display().to_string(), &bytes, key);
        }
    }
}

/// Every path under `dir` (directories are descended into, not listed; symlinks are listed).
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
