//! Buildkite: every form of the key goes to `buildkite-agent redactor add` on stdin (never argv),
//! and the redacted summary to `buildkite-agent annotate`, each with a deadline so a hung agent
//! cannot hang the job.
//!
//! Spec: <https://buildkite.com/docs/agent/v3/cli-redactor>,
//! <https://buildkite.com/docs/agent/v3/cli-annotate>,
//! <https://buildkite.com/docs/pipelines/configure/environment-variables>.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret as _, SecretString};

use crate::env::Env;

/// How long one `buildkite-agent` call may take.
const AGENT_DEADLINE: Duration = Duration::from_secs(15);

pub(super) fn detect(env: &Env) -> bool {
    env.is_true("BUILDKITE")
}

pub(super) fn job_id(env: &Env) -> Option<String> {
    env.get("BUILDKITE_JOB_ID").map(str::to_owned)
}

/// The build annotation context every job of a build appends to.
const ANNOTATION_CONTEXT: &str = "anaconda-ci-auth";

fn agent(env: &Env) -> PathBuf {
    env.get("BUILDKITE_AGENT_PATH")
        .map_or_else(|| PathBuf::from("buildkite-agent"), PathBuf::from)
}

/// Registers every form with the agent's redactor; a warning when that could not be done.
pub(super) fn mask(forms: &[SecretString], env: &Env) -> Vec<String> {
    let agent = agent(env);
    for f in forms {
        if let Err(problem) = redactor_add(&agent, f) {
            return vec![format!(
                "could not register the key with `buildkite-agent redactor add` ({problem}); Buildkite will not redact it from logs"
            )];
        }
    }
    Vec::new()
}

fn redactor_add(agent: &Path, value: &SecretString) -> std::result::Result<(), String> {
    run_agent(agent, &["redactor", "add"], value.expose_secret().as_bytes())
}

/// Appends already redacted Markdown to the build's annotation, under this job's label.
pub(super) fn annotate(env: &Env, markdown: &str) -> std::result::Result<(), String> {
    let body = match env.get("BUILDKITE_LABEL").filter(|l| !l.is_empty()) {
        Some(label) => format!(
            "{}\n",
            markdown.replacen(
                "### anaconda-ci-auth",
                &format!("### anaconda-ci-auth: {label}"),
                1
            )
        ),
        None => format!("{markdown}\n"),
    };
    run_agent(
        &agent(env),
        &[
            "annotate",
            "--context",
            ANNOTATION_CONTEXT,
            "--style",
            "info",
            "--append",
        ],
        body.as_bytes(),
    )
}

/// Runs the agent with INPUT on stdin (never argv), within the deadline.
fn run_agent(agent: &Path, args: &[&str], input: &[u8]) -> std::result::Result<(), String> {
    let mut child = Command::new(agent)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + AGENT_DEADLINE;
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("exit status {status}")),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} seconds", AGENT_DEADLINE.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
