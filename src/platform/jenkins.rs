//! Jenkins: detection and the job id. Jenkins masks only credentials bound with
//! `withCredentials`, and every `sh` step is a new shell, so later steps load `env.sh`.
//!
//! Spec: <https://www.jenkins.io/doc/book/pipeline/jenkinsfile/#using-environment-variables>.

use crate::env::Env;

pub(super) fn detect(env: &Env) -> bool {
    env.get("JENKINS_URL").is_some() || env.get("JENKINS_HOME").is_some()
}

pub(super) fn job_id(env: &Env) -> Option<String> {
    ["BUILD_TAG", "BUILD_ID"]
        .iter()
        .find_map(|n| env.get(n))
        .map(str::to_owned)
}
