//! GitLab CI: GitLab masks only variables the user stored as masked, so we check what we can: its
//! masking rules, `CI_DEBUG_TRACE` (which prints every variable), and fork merge requests. Job
//! directories go beside the project directory (`$CI_PROJECT_DIR.tmp`, one job at a time) when
//! the runner made it.
//!
//! Spec: <https://docs.gitlab.com/ci/variables/> (masking rules, `CI_DEBUG_TRACE`),
//! <https://docs.gitlab.com/ci/variables/predefined_variables/>.

use std::path::PathBuf;

use crate::env::Env;
use crate::error::{Error, Result};

pub(super) fn detect(env: &Env) -> bool {
    env.is_true("GITLAB_CI")
}

pub(super) fn job_parent(env: &Env) -> Option<PathBuf> {
    let project = env.get("CI_PROJECT_DIR")?;
    let sibling = PathBuf::from(format!("{}.tmp", project.trim_end_matches('/')));
    sibling.is_dir().then_some(sibling)
}

pub(super) fn job_id(env: &Env) -> Option<String> {
    env.get("CI_JOB_ID").map(str::to_owned)
}

pub(super) fn untrusted_trigger(env: &Env) -> Option<String> {
    let source = env.get("CI_MERGE_REQUEST_SOURCE_PROJECT_ID")?;
    // Without the target project a fork cannot be ruled out: fail closed.
    let Some(target) = env.get("CI_MERGE_REQUEST_PROJECT_ID") else {
        return Some(
            "a merge request pipeline without CI_MERGE_REQUEST_PROJECT_ID, so a fork cannot be ruled out"
                .to_owned(),
        );
    };
    (source != target).then(|| "a merge request pipeline from a fork".to_owned())
}

pub(super) fn preflight(env: &Env, maskable: bool, env_mode: bool) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    if env.is_true("CI_DEBUG_TRACE") || env.is_true("CI_DEBUG_SERVICES") {
        if env_mode {
            return Err(Error::usage(
                "refusing --mode env while CI_DEBUG_TRACE is on: GitLab prints every variable",
            )
            .hint("turn CI_DEBUG_TRACE off, or use --mode keyring (the default)"));
        }
        warnings.push(
            "CI_DEBUG_TRACE is on: GitLab prints every job variable, including the key's CI variable".into(),
        );
    }
    if !maskable {
        warnings.push(
            "GitLab cannot mask this key (masked variables must be at least 8 characters of the base64 alphabet plus @:.~-_); keep it out of logs"
                .into(),
        );
    }
    Ok(warnings)
}

/// GitLab's rules for maskable values: at least 8 characters, one line, from the base64 alphabet
/// plus `@ : . ~ - _`.
pub(super) fn maskable(value: &str) -> bool {
    value.len() >= 8
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=@:.~-_".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_trace_refuses_env_mode() {
        let env = Env::from_pairs(&[("GITLAB_CI", "true"), ("CI_DEBUG_TRACE", "true")]);
        assert!(preflight(&env, true, true).is_err());
        let w = preflight(&env, true, false).unwrap();
        assert!(w[0].contains("CI_DEBUG_TRACE"));
        let w = preflight(&Env::default(), maskable("short"), false).unwrap();
        assert!(w[0].contains("cannot mask"));
        assert!(maskable("abcdefgh.ij.kl"));
    }
}
