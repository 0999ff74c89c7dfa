//! GitHub Actions: `::add-mask::` workflow commands, `$GITHUB_ENV`/`$GITHUB_OUTPUT` files with
//! random heredoc delimiters, the step summary, and the fork check for `pull_request_target` and
//! `workflow_run`.
//!
//! Spec: <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>
//! (masks, environment and output files, step summary); the runner reads workflow commands on
//! stdout and stderr alike, so masks always go to stderr: stdout may be a child's output that
//! users redirect into a file (`exec -- conda env export > env.yml`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret as _, SecretString};

use crate::env::Env;
use crate::error::{Error, Result};

pub(super) const ENV_FILE: &str = "GITHUB_ENV";
pub(super) const OUTPUT_FILE: &str = "GITHUB_OUTPUT";
pub(super) const SUMMARY_FILE: &str = "GITHUB_STEP_SUMMARY";

pub(super) fn detect(env: &Env) -> bool {
    env.is_true("GITHUB_ACTIONS")
}

/// `::add-mask::` for every form, on stderr.
pub(super) fn mask(forms: &[SecretString]) {
    let mut text = zeroize::Zeroizing::new(String::new());
    for f in forms {
        text.push_str(&format!("::add-mask::{}\n", escape_command(f.expose_secret())));
    }
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// The runner gives each job its own `RUNNER_TEMP` and empties it, so only one job uses it.
pub(super) fn job_parent(env: &Env) -> Option<PathBuf> {
    env.path("RUNNER_TEMP")
}

pub(super) fn job_id(env: &Env) -> Option<String> {
    env.get("GITHUB_RUN_ID")
        .map(|r| format!("{r}/{}", env.get("GITHUB_JOB").unwrap_or("job")))
}

pub(super) fn preflight_warnings(env: &Env) -> Vec<String> {
    if env.is_true("RUNNER_DEBUG") {
        vec![
            "step debug logging is on; masked values stay masked, but review debug logs before sharing them"
                .into(),
        ]
    } else {
        Vec::new()
    }
}

/// Why the current trigger is untrusted: a `pull_request_target` or `workflow_run` from a fork,
/// or one whose event file cannot tell (missing, unreadable, not the runner's JSON): without it
/// a fork cannot be ruled out, so the check fails closed.
pub(super) fn untrusted_trigger(env: &Env) -> Option<String> {
    let event = env.get("GITHUB_EVENT_NAME")?;
    if event != "pull_request_target" && event != "workflow_run" {
        return None;
    }
    let unknown = |why: String| Some(format!("{event}, and {why}, so a fork cannot be ruled out"));
    let Some(path) = env.path("GITHUB_EVENT_PATH") else {
        return unknown("GITHUB_EVENT_PATH (the runner's event file) is not set".into());
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            return unknown(format!(
                "the event file `{}` cannot be read ({e})",
                path.display()
            ));
        }
    };
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return unknown(format!("the event file `{}` is not JSON", path.display()));
    };
    let pr = payload.get(if event == "pull_request_target" {
        "pull_request"
    } else {
        "workflow_run"
    });
    let head = pr
        .and_then(|pr| {
            pr.pointer("/head/repo/full_name")
                .or_else(|| pr.pointer("/head_repository/full_name"))
        })
        .and_then(serde_json::Value::as_str);
    let base = payload
        .pointer("/repository/full_name")
        .and_then(serde_json::Value::as_str);
    match (head, base) {
        (Some(head), Some(base)) => (head != base).then(|| format!("{event} from the fork `{head}`")),
        _ => unknown(format!(
            "the event file `{}` does not name the head and base repositories",
            path.display()
        )),
    }
}

/// Appends `NAME<<DELIM\nvalue\nDELIM` entries to the file named by `var` (a new file is 0600).
pub(super) fn append_to(env: &Env, var: &str, entries: &[(&str, &str)]) -> Result<bool> {
    match env.path(var) {
        Some(file) => append(&file, entries).map(|()| true),
        None => Ok(false),
    }
}

pub(super) fn append(file: &Path, entries: &[(&str, &str)]) -> Result<()> {
    let mut text = zeroize::Zeroizing::new(String::new());
    for (name, value) in entries {
        let delim = loop {
            let d = format!("ghadelimiter_{}", crate::fsx::random_hex(16));
            if !value.contains(&d) {
                break d;
            }
        };
        text.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
    }
    append_raw(file, text.as_bytes())
}

/// Appends to a runner file; creates it 0600 when it does not exist yet.
pub(super) fn append_raw(file: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(file).map_err(|e| Error::fs("append to", file, e))?;
    f.write_all(bytes).map_err(|e| Error::fs("append to", file, e))
}

/// Escapes data for a GitHub workflow command (`%`, CR, LF).
pub(crate) fn escape_command(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_use_heredoc_delimiters() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        append(&f, &[("A", "1"), ("B", "two\nlines")]).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("A<<ghadelimiter_"));
        assert_eq!(lines[1], "1");
        assert_eq!(lines[2], lines[0].trim_start_matches("A<<"));
        assert_eq!(lines[4], "two");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_runner_file_is_private_under_any_umask() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        let r = append(&f, &[("A", "1")]);
        nix::sys::stat::umask(old);
        r.unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn fork_pull_request_target_is_untrusted() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(&event, r#"{"pull_request":{"head":{"repo":{"full_name":"evil/fork"}}},"repository":{"full_name":"org/repo"}}"#).unwrap();
        let env = Env::from_pairs(&[
            ("GITHUB_EVENT_NAME", "pull_request_target"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ]);
        assert!(untrusted_trigger(&env).unwrap().contains("evil/fork"));
    }

    // Regression: an event file that could not be read or parsed skipped the fork check.
    #[test]
    fn an_event_file_that_cannot_tell_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        let partial = dir.path().join("partial.json");
        std::fs::write(&partial, r#"{"repository":{"full_name":"org/repo"}}"#).unwrap();
        let same = dir.path().join("same.json");
        std::fs::write(&same, r#"{"workflow_run":{"head_repository":{"full_name":"org/repo"}},"repository":{"full_name":"org/repo"}}"#).unwrap();
        let missing = dir.path().join("missing.json");
        for event in ["pull_request_target", "workflow_run"] {
            for (path, says) in [
                (Some(&missing), "cannot be read"),
                (Some(&dir.path().to_path_buf()), "cannot be read"),
                (Some(&bad), "is not JSON"),
                (Some(&partial), "does not name"),
                (None, "GITHUB_EVENT_PATH"),
            ] {
                let p = path.map(|p| p.to_str().unwrap().to_owned());
                let mut pairs = vec![("GITHUB_EVENT_NAME", event)];
                if let Some(p) = &p {
                    pairs.push(("GITHUB_EVENT_PATH", p));
                }
                let why = untrusted_trigger(&Env::from_pairs(&pairs)).unwrap();
                assert!(why.contains(says) && why.contains("cannot be ruled out"), "{why}");
            }
        }
        let env = Env::from_pairs(&[
            ("GITHUB_EVENT_NAME", "workflow_run"),
            ("GITHUB_EVENT_PATH", same.to_str().unwrap()),
        ]);
        assert_eq!(untrusted_trigger(&env), None);
        let env = Env::from_pairs(&[("GITHUB_EVENT_NAME", "push")]);
        assert_eq!(untrusted_trigger(&env), None);
    }
}
