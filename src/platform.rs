//! CI platforms: detection, where job directories go, masking, and handing variables to later steps.
//!
//! GitHub Actions: `::add-mask::` for every derived form, `$GITHUB_ENV`/`$GITHUB_OUTPUT` with a
//! random heredoc delimiter, a redacted table in `$GITHUB_STEP_SUMMARY`. Buildkite: `buildkite-agent
//! redactor add` on stdin. GitLab and Jenkins mask only what the user stored as masked, so there we
//! check what we can (GitLab's masking rules, `CI_DEBUG_TRACE`) and say so.
//!
//! See: <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>,
//! <https://buildkite.com/docs/agent/v3/cli-redactor>, <https://docs.gitlab.com/ci/variables/>

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use secrecy::{ExposeSecret as _, SecretString};

use crate::cli::CiArg;
use crate::env::{Env, names};
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Platform {
    Github,
    Gitlab,
    Buildkite,
    Jenkins,
    None,
}

impl Platform {
    pub(crate) fn detect(env: &Env, arg: CiArg) -> Self {
        match arg {
            CiArg::Github => Self::Github,
            CiArg::Gitlab => Self::Gitlab,
            CiArg::Buildkite => Self::Buildkite,
            CiArg::Jenkins => Self::Jenkins,
            CiArg::None => Self::None,
            CiArg::Auto if env.is_true("GITHUB_ACTIONS") => Self::Github,
            CiArg::Auto if env.is_true("GITLAB_CI") => Self::Gitlab,
            CiArg::Auto if env.is_true("BUILDKITE") => Self::Buildkite,
            CiArg::Auto if env.get("JENKINS_URL").is_some() || env.get("JENKINS_HOME").is_some() => {
                Self::Jenkins
            }
            CiArg::Auto => Self::None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Buildkite => "buildkite",
            Self::Jenkins => "jenkins",
            Self::None => "none",
        }
    }

    /// The directory job directories are created in, and whether only one job at a time uses it
    /// (so any other job directory there is stale).
    pub(crate) fn job_parent(self, env: &Env) -> (PathBuf, bool) {
        match self {
            // The runner gives each job its own RUNNER_TEMP and empties it, so only one job uses it.
            Self::Github => match env.path("RUNNER_TEMP") {
                Some(p) => (p, true),
                None => (env.temp_dir(), false),
            },
            Self::Gitlab => {
                if let Some(project) = env.get("CI_PROJECT_DIR") {
                    let sibling = PathBuf::from(format!("{}.tmp", project.trim_end_matches('/')));
                    if sibling.is_dir() {
                        return (sibling, true);
                    }
                }
                (env.temp_dir(), false)
            }
            _ => (env.temp_dir(), false),
        }
    }

    /// An identifier of the current job, recorded in the state file.
    pub(crate) fn job_id(self, env: &Env) -> Option<String> {
        let pick = |names: &[&str]| names.iter().find_map(|n| env.get(n)).map(str::to_owned);
        match self {
            Self::Github => {
                pick(&["GITHUB_RUN_ID"]).map(|r| format!("{r}/{}", env.get("GITHUB_JOB").unwrap_or("job")))
            }
            Self::Gitlab => pick(&["CI_JOB_ID"]),
            Self::Buildkite => pick(&["BUILDKITE_JOB_ID"]),
            Self::Jenkins => pick(&["BUILD_TAG", "BUILD_ID"]),
            Self::None => None,
        }
    }

    /// Asks the platform to mask the key's forms. Returns warnings for what could not be done.
    pub(crate) fn register_masks(self, forms: &[SecretString], env: &Env, to_stderr: bool) -> Vec<String> {
        let mut warnings = Vec::new();
        match self {
            Self::Github => {
                let mut text = String::new();
                for f in forms {
                    text.push_str(&format!(
                        "::add-mask::{}\n",
                        crate::ui::escape_command(f.expose_secret())
                    ));
                }
                if to_stderr {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(text.as_bytes());
                } else {
                    crate::ui::stdout_unredacted(&text);
                }
            }
            Self::Buildkite => {
                let agent = env
                    .get("BUILDKITE_AGENT_PATH")
                    .map_or_else(|| PathBuf::from("buildkite-agent"), PathBuf::from);
                for f in forms {
                    if let Err(problem) = redactor_add(&agent, f) {
                        warnings.push(format!(
                            "could not register the key with `buildkite-agent redactor add` ({problem}); Buildkite will not redact it from logs"
                        ));
                        break;
                    }
                }
            }
            Self::Gitlab | Self::Jenkins | Self::None => {}
        }
        warnings
    }

    /// Warnings and refusals specific to the platform, checked before anything is written.
    pub(crate) fn preflight(
        self,
        env: &Env,
        key: &str,
        env_mode: bool,
        allow_untrusted: bool,
    ) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        if let Some(why) = untrusted_trigger(self, env) {
            if allow_untrusted || env.is_true(names::ALLOW_UNTRUSTED) {
                warnings.push(format!(
                    "running with the key on an untrusted trigger ({why}) because it was explicitly allowed"
                ));
            } else {
                return Err(Error::usage(format!("refusing to use the key on an untrusted trigger: {why}")).hint(
                    "code from a fork runs in this job and could read the key; if the job never runs fork code, \
                     pass --allow-untrusted-trigger (allow-untrusted-trigger: true in the action)",
                ));
            }
        }
        if self == Self::Gitlab {
            if env.is_true("CI_DEBUG_TRACE") || env.is_true("CI_DEBUG_SERVICES") {
                if env_mode {
                    return Err(Error::usage(
                        "refusing --mode env while CI_DEBUG_TRACE is on: GitLab prints every variable",
                    )
                    .hint("turn CI_DEBUG_TRACE off, or use --mode keyring (the default)"));
                }
                warnings.push(
                    "CI_DEBUG_TRACE is on: GitLab prints every job variable, including the key's CI variable"
                        .into(),
                );
            }
            if !gitlab_maskable(key) {
                warnings.push(
                    "GitLab cannot mask this key (masked variables must be at least 8 characters of the base64 alphabet plus @:.~-_); keep it out of logs"
                        .into(),
                );
            }
        }
        if self == Self::Github && env.is_true("RUNNER_DEBUG") {
            warnings.push("step debug logging is on; masked values stay masked, but review debug logs before sharing them".into());
        }
        Ok(warnings)
    }
}

fn redactor_add(agent: &Path, value: &SecretString) -> std::result::Result<(), String> {
    let mut child = Command::new(agent)
        .args(["redactor", "add"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(value.expose_secret().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    // A hung agent must not hang the job: give it a few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("exit status {status}")),
            None if std::time::Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("no answer within 15 seconds".into());
            }
            None => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
}

/// GitLab's rules for maskable values: at least 8 characters, one line, from the base64 alphabet
/// plus `@ : . ~ - _`.
fn gitlab_maskable(value: &str) -> bool {
    value.len() >= 8
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=@:.~-_".contains(&b))
}

/// Why the current trigger is untrusted, if it is.
fn untrusted_trigger(platform: Platform, env: &Env) -> Option<String> {
    match platform {
        Platform::Github => {
            let event = env.get("GITHUB_EVENT_NAME")?;
            if event != "pull_request_target" && event != "workflow_run" {
                return None;
            }
            let payload: serde_json::Value = std::fs::read(env.path("GITHUB_EVENT_PATH")?)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())?;
            let pr = if event == "pull_request_target" {
                payload.get("pull_request")?
            } else {
                payload.get("workflow_run")?
            };
            let head = pr
                .pointer("/head/repo/full_name")
                .or_else(|| pr.pointer("/head_repository/full_name"))?
                .as_str()?;
            let base = payload.pointer("/repository/full_name")?.as_str()?;
            (head != base).then(|| format!("{event} from the fork `{head}`"))
        }
        Platform::Gitlab => {
            let source = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")?;
            let target = env.get("CI_MERGE_REQUEST_PROJECT_ID")?;
            (source != target).then(|| "a merge request pipeline from a fork".to_owned())
        }
        _ => None,
    }
}

/// Appends `NAME<<DELIM\nvalue\nDELIM` entries to a GitHub environment or output file.
pub(crate) fn github_append(file: &Path, entries: &[(&str, &str)]) -> Result<()> {
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
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(file)
        .map_err(|e| Error::fs("append to", file, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::fs("append to", file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_platforms() {
        assert_eq!(
            Platform::detect(&Env::from_pairs(&[("GITHUB_ACTIONS", "true")]), CiArg::Auto),
            Platform::Github
        );
        assert_eq!(
            Platform::detect(&Env::from_pairs(&[("GITLAB_CI", "true")]), CiArg::Auto),
            Platform::Gitlab
        );
        assert_eq!(
            Platform::detect(&Env::from_pairs(&[("BUILDKITE", "true")]), CiArg::Auto),
            Platform::Buildkite
        );
        assert_eq!(
            Platform::detect(&Env::from_pairs(&[("JENKINS_URL", "http://j/")]), CiArg::Auto),
            Platform::Jenkins
        );
        assert_eq!(Platform::detect(&Env::default(), CiArg::Auto), Platform::None);
        assert_eq!(
            Platform::detect(&Env::from_pairs(&[("GITHUB_ACTIONS", "true")]), CiArg::None),
            Platform::None
        );
    }

    #[test]
    fn gitlab_debug_trace_refuses_env_mode() {
        let env = Env::from_pairs(&[("GITLAB_CI", "true"), ("CI_DEBUG_TRACE", "true")]);
        assert!(
            Platform::Gitlab
                .preflight(&env, "abcdefgh.ij.kl", true, false)
                .is_err()
        );
        let w = Platform::Gitlab
            .preflight(&env, "abcdefgh.ij.kl", false, false)
            .unwrap();
        assert!(w[0].contains("CI_DEBUG_TRACE"));
        let w = Platform::Gitlab
            .preflight(&Env::default(), "short", false, false)
            .unwrap();
        assert!(w[0].contains("cannot mask"));
    }

    #[test]
    fn fork_pull_request_target_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(&event, r#"{"pull_request":{"head":{"repo":{"full_name":"evil/fork"}}},"repository":{"full_name":"org/repo"}}"#).unwrap();
        let env = Env::from_pairs(&[
            ("GITHUB_EVENT_NAME", "pull_request_target"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ]);
        let err = Platform::Github.preflight(&env, "k", false, false).unwrap_err();
        assert!(err.message.contains("evil/fork"));
        assert!(Platform::Github.preflight(&env, "k", false, true).is_ok());
    }

    #[test]
    fn github_file_uses_heredoc_delimiters() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("env");
        github_append(&f, &[("A", "1"), ("B", "two\nlines")]).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("A<<ghadelimiter_"));
        assert_eq!(lines[1], "1");
        assert_eq!(lines[2], lines[0].trim_start_matches("A<<"));
        assert_eq!(lines[4], "two");
    }
}
