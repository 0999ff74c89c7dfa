//! CI platforms behind one interface: detection, masking, preflight checks, where job directories
//! go, the job id, exporting variables to later steps, publishing outputs and a summary, and
//! forgetting an exported key. Each platform's knowledge, with its spec links, lives in its file;
//! commands only call the verbs here.

mod buildkite;
mod github;
mod gitlab;
mod jenkins;

use std::path::PathBuf;

use secrecy::SecretString;

use crate::cli::CiArg;
use crate::env::{Env, names};
use crate::error::{Error, Result};
use crate::secret::ApiKey;

pub(crate) use github::escape_command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Platform {
    Github,
    Gitlab,
    Buildkite,
    Jenkins,
    None,
}

/// How `export` handed the variables on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exported {
    /// The platform gives them to later steps itself, through what is named (`$GITHUB_ENV`).
    ToLaterSteps(&'static str),
    /// The platform cannot: later steps load `env.sh` (or `--print-env`).
    ByEnvFile,
}

impl Platform {
    pub(crate) fn detect(env: &Env, arg: CiArg) -> Self {
        match arg {
            CiArg::Github => Self::Github,
            CiArg::Gitlab => Self::Gitlab,
            CiArg::Buildkite => Self::Buildkite,
            CiArg::Jenkins => Self::Jenkins,
            CiArg::None => Self::None,
            CiArg::Auto if github::detect(env) => Self::Github,
            CiArg::Auto if gitlab::detect(env) => Self::Gitlab,
            CiArg::Auto if buildkite::detect(env) => Self::Buildkite,
            CiArg::Auto if jenkins::detect(env) => Self::Jenkins,
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

    /// Whether warnings and errors are also printed as workflow-command annotations.
    pub(crate) fn annotations(self) -> bool {
        self == Self::Github
    }

    /// The directory job directories are created in, and whether only one job at a time uses it
    /// (so any other job directory there is stale).
    pub(crate) fn job_parent(self, env: &Env) -> Result<(PathBuf, bool)> {
        env.require_utf8(match self {
            Self::Github => &["RUNNER_TEMP"],
            Self::Gitlab => &["CI_PROJECT_DIR"],
            _ => &[],
        })?;
        let own = match self {
            Self::Github => github::job_parent(env),
            Self::Gitlab => gitlab::job_parent(env),
            _ => None,
        };
        Ok(match own {
            Some(p) => (p, true),
            None => (env.temp_dir()?, false),
        })
    }

    /// An identifier of the current job, recorded in the state file.
    pub(crate) fn job_id(self, env: &Env) -> Option<String> {
        match self {
            Self::Github => github::job_id(env),
            Self::Gitlab => gitlab::job_id(env),
            Self::Buildkite => buildkite::job_id(env),
            Self::Jenkins => jenkins::job_id(env),
            Self::None => None,
        }
    }

    /// Asks the platform to mask the key's forms (never on stdout). Returns warnings for what
    /// could not be done.
    pub(crate) fn mask(self, forms: &[SecretString], env: &Env) -> Vec<String> {
        match self {
            Self::Github => {
                github::mask(forms);
                Vec::new()
            }
            Self::Buildkite => buildkite::mask(forms, env),
            Self::Gitlab | Self::Jenkins | Self::None => Vec::new(),
        }
    }

    /// Warnings and refusals specific to the platform, checked before anything is written.
    pub(crate) fn preflight(
        self,
        env: &Env,
        key: &ApiKey,
        env_mode: bool,
        allow_untrusted: bool,
    ) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        let untrusted = match self {
            Self::Github => github::untrusted_trigger(env),
            Self::Gitlab => gitlab::untrusted_trigger(env),
            _ => None,
        };
        if let Some(why) = untrusted {
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
        match self {
            Self::Gitlab => {
                warnings.extend(gitlab::preflight(env, gitlab::maskable(key.expose()), env_mode)?)
            }
            Self::Github => warnings.extend(github::preflight_warnings(env)),
            _ => {}
        }
        Ok(warnings)
    }

    /// Hands `pairs` to later steps where the platform can.
    pub(crate) fn export(self, env: &Env, pairs: &[(String, String)]) -> Result<Exported> {
        if self != Self::Github {
            return Ok(Exported::ByEnvFile);
        }
        let entries: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        if github::append_to(env, github::ENV_FILE, &entries)? {
            Ok(Exported::ToLaterSteps("$GITHUB_ENV"))
        } else {
            Err(Error::usage(
                "GITHUB_ACTIONS is true but GITHUB_ENV is not set: the variables cannot reach later steps",
            )
            .hint("run setup inside a GitHub Actions step, or pass --ci none and load env.sh in later steps"))
        }
    }

    /// Publishes step outputs and a (redacted) summary where the platform has them.
    pub(crate) fn publish(self, env: &Env, outputs: &[(&str, String)], summary: Option<&str>) -> Result<()> {
        match self {
            Self::Github => {
                let entries: Vec<(&str, &str)> = outputs.iter().map(|(n, v)| (*n, v.as_str())).collect();
                github::append_to(env, github::OUTPUT_FILE, &entries)?;
                self.add_to_summary(env, summary)
            }
            Self::Buildkite => self.add_to_summary(env, summary),
            _ => Ok(()),
        }
    }

    /// Adds redacted Markdown to the job's summary: the GitHub step summary, or the build's
    /// `anaconda-ci-auth` annotation on Buildkite (a warning when the agent refuses: a summary
    /// is never worth failing the job for).
    pub(crate) fn add_to_summary(self, env: &Env, markdown: Option<&str>) -> Result<()> {
        let Some(md) = markdown else {
            return Ok(());
        };
        let md = crate::ui::redact(md);
        match self {
            Self::Github => match env.path(github::SUMMARY_FILE) {
                Some(file) => github::append_raw(&file, md.as_bytes()),
                None => Ok(()),
            },
            Self::Buildkite => {
                if let Err(problem) = buildkite::annotate(env, &md) {
                    crate::ui::warn(&format!(
                        "could not add the summary with `buildkite-agent annotate` ({problem}); pass --no-summary to skip it"
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// After cleanup, where the platform keeps the job's exports for later steps (GitHub): takes
    /// back an exported key (set to empty, which anaconda-auth treats as unset) and puts back the
    /// values the job replaced (a user's `CONDARC`, `RATTLER_AUTH_FILE`, ...).
    pub(crate) fn forget(
        self,
        env: &Env,
        exported_key: bool,
        restore: &std::collections::BTreeMap<String, String>,
    ) -> Result<()> {
        if self != Self::Github {
            return Ok(());
        }
        let mut entries: Vec<(&str, &str)> = restore.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if exported_key {
            entries.push((names::API_KEY, ""));
        }
        if entries.is_empty() {
            return Ok(());
        }
        github::append_to(env, github::ENV_FILE, &entries).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_platforms() {
        let detect = |pairs: &[(&str, &str)], arg| Platform::detect(&Env::from_pairs(pairs), arg);
        assert_eq!(
            detect(&[("GITHUB_ACTIONS", "true")], CiArg::Auto),
            Platform::Github
        );
        assert_eq!(detect(&[("GITLAB_CI", "true")], CiArg::Auto), Platform::Gitlab);
        assert_eq!(detect(&[("BUILDKITE", "true")], CiArg::Auto), Platform::Buildkite);
        assert_eq!(
            detect(&[("JENKINS_URL", "http://j/")], CiArg::Auto),
            Platform::Jenkins
        );
        assert_eq!(detect(&[], CiArg::Auto), Platform::None);
        assert_eq!(detect(&[("GITHUB_ACTIONS", "true")], CiArg::None), Platform::None);
    }

    #[test]
    fn github_without_env_file_cannot_export() {
        let env = Env::from_pairs(&[("GITHUB_ACTIONS", "true")]);
        let err = Platform::Github
            .export(&env, &[("A".into(), "1".into())])
            .unwrap_err();
        assert!(err.message.contains("GITHUB_ENV"));
        assert_eq!(Platform::Gitlab.export(&env, &[]).unwrap(), Exported::ByEnvFile);
    }
}
