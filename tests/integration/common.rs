//! Test harness: the binary with a clean environment, canary keys, and leak assertions.

#![allow(dead_code, reason = "each test module uses part of the shared helpers")]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// A UUID `sub` like real keys have.
pub const SUB: &str = "d04c356b-afd2-4b3e-80f2-403113e0974b";

/// An unsigned JWT with `exp` and a unique marker in the payload. The marker comes first, so
/// the start of every key's payload is unique to it (see [`assert_no_leak`]).
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

/// A sandbox: temporary HOME and TMPDIR, and the binary with only those variables set.
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("home")).unwrap();
        std::fs::create_dir_all(tmp.path().join("tmp")).unwrap();
        Self { tmp }
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

    /// The binary with a scrubbed environment: no CI variables, no proxies, our HOME and TMPDIR,
    /// and an empty secrets directory.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as [`Sandbox::cmd`] as a `std` command, for tests that spawn and signal it.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin());
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("TMPDIR", self.tmpdir())
            .env("ANACONDA_SECRETS_DIR", self.path().join("no-secrets"))
            .current_dir(self.path());
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
}

/// The binary under test.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("anaconda-ci-auth")
}

/// The SHA-256 of `data` in hex, computed by `sha256sum` (as the scripts in tests compute it).
pub fn sha256_hex(data: &str) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
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

/// The forms of `key` that must never be printed.
pub fn leak_forms(key: &str) -> Vec<String> {
    let payload = format!(r#"{{"domain":"anaconda.com","api_key":"{key}","repo_tokens":[],"version":2}}"#);
    vec![
        key.to_owned(),
        format!("Bearer {key}"),
        STANDARD.encode(key),
        URL_SAFE_NO_PAD.encode(key),
        STANDARD.encode(payload),
    ]
}

/// Panics if `text` contains `key` or a derived form (outside `::add-mask::` lines).
pub fn assert_no_leak(what: &str, text: &[u8], key: &str) {
    let text = String::from_utf8_lossy(text);
    let filtered: String = text
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    for form in leak_forms(key) {
        assert!(
            !filtered.contains(&form),
            "{what} contains the key or a derived form"
        );
    }
    // The key's payload part alone is specific enough to catch partial leaks; so is any
    // 24-character piece of its start, which encodes the key's unique marker (a key cut short).
    let middle = key.split('.').nth(1).unwrap_or(key);
    assert!(!filtered.contains(middle), "{what} contains the key's payload");
    let head = &middle.as_bytes()[..middle.len().min(32)];
    for piece in head.windows(24.min(head.len())) {
        let piece = String::from_utf8_lossy(piece);
        assert!(
            !filtered.contains(piece.as_ref()),
            "{what} contains part of the key's payload"
        );
    }
}

/// Asserts that no file under `dir` other than those in `allowed` contains the key.
pub fn assert_no_leak_in_tree(dir: &Path, key: &str, allowed: &[PathBuf]) {
    for entry in walk(dir) {
        if allowed.iter().any(|a| a == &entry) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(&entry) {
            assert_no_leak(&entry.display().to_string(), &bytes, key);
        }
    }
}

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
