//! Settings resolved once: command-line arguments plus the [`Env`] snapshot become typed values
//! (durations, domain, API URL, CA bundles, channels, paths) before any command runs. The only
//! place where environment defaults of options are applied and where their text is parsed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum as _;

use crate::cli::{CleanupArgs, JobArgs, Mode, StateArgs, ValidateMode, ValidationArgs};
use crate::condarc::{self, Channel};
use crate::env::{Env, names};
use crate::error::{Error, Result};
use crate::job::{layout, record};

/// How to check the key.
#[derive(Debug)]
pub(crate) struct Validation {
    pub(crate) mode: ValidateMode,
    /// Refuse a key that expires sooner than this many seconds from now.
    pub(crate) min_validity: i64,
    /// anaconda-auth's site domain, normalised.
    pub(crate) domain: String,
    /// Base URL of the account API.
    pub(crate) base_url: String,
    pub(crate) ca_bundles: Vec<PathBuf>,
    /// Total time for online validation, retries included (at least one second).
    pub(crate) timeout: Duration,
}

/// A package client the job configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Client {
    Conda,
    Mamba,
    Pixi,
    Pip,
    Uv,
}

impl Client {
    pub(crate) const ALL: [Self; 5] = [Self::Conda, Self::Mamba, Self::Pixi, Self::Pip, Self::Uv];
    /// Configured unless `--clients` says otherwise: every conda-channel client. pip and uv change
    /// which index a job installs from, so they are opt-in.
    pub(crate) const DEFAULT: [Self; 3] = [Self::Conda, Self::Mamba, Self::Pixi];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Conda => "conda",
            Self::Mamba => "mamba",
            Self::Pixi => "pixi",
            Self::Pip => "pip",
            Self::Uv => "uv",
        }
    }
}

/// Anaconda's wheels index, for pip and uv.
pub(crate) const WHEELS_INDEX: &str = "https://repo.anaconda.cloud/repo/anaconda-wheels/simple";

/// The wheels index for pip/uv.
pub(crate) struct WheelsIndex {
    pub(crate) url: url::Url,
    /// The only index (true) or an extra one beside PyPI.
    pub(crate) primary: bool,
}

/// What the job directory provides.
pub(crate) struct Job {
    pub(crate) mode: record::Mode,
    /// Every channel pattern routed to anaconda-auth (defaults first).
    pub(crate) channels: Vec<Channel>,
    pub(crate) register: bool,
    pub(crate) conda: Option<PathBuf>,
    pub(crate) allow_untrusted: bool,
    pub(crate) clients: Vec<Client>,
    pub(crate) wheels: WheelsIndex,
    pub(crate) accept_tos: bool,
    /// Where this user's merges into shared files are listed, for `--sweep` ([`merge_index`]).
    pub(crate) merge_index: Option<PathBuf>,
}

impl Job {
    pub(crate) fn env_mode(&self) -> bool {
        self.mode != record::Mode::Keyring
    }

    pub(crate) fn has(&self, c: Client) -> bool {
        self.clients.contains(&c)
    }
}

pub(crate) fn validation(args: &ValidationArgs, env: &Env) -> Result<Validation> {
    let mode = match (args.validate, env.get(names::VALIDATE)) {
        (Some(m), _) => m,
        (None, Some(text)) => ValidateMode::from_str(text, true).map_err(|_| {
            Error::usage(format!("{}={text} is not a validation mode", names::VALIDATE))
                .hint("use online, offline or none")
        })?,
        (None, None) => ValidateMode::Online,
    };
    let domain_text = args
        .domain
        .clone()
        .or_else(|| env.get(names::DOMAIN).map(str::to_owned))
        .unwrap_or_else(|| condarc::DEFAULT_DOMAIN.to_owned());
    let domain = condarc::normalize_domain(&domain_text)
        .map_err(|e| Error::usage(format!("--domain: {e}")).hint("use a domain like anaconda.com"))?;
    let min_validity = match (&args.min_validity, env.get(names::MIN_VALIDITY)) {
        (Some(s), _) => duration("--min-validity", s, "7d")?,
        (None, Some(s)) => duration(names::MIN_VALIDITY, s, "7d")?,
        (None, None) => 0,
    };
    let timeout = duration("--timeout", &args.timeout, "60s")?;
    if timeout == 0 {
        return Err(Error::usage("--timeout must be at least 1s").hint("for example --timeout 60s"));
    }
    let api_url = args
        .api_url
        .clone()
        .or_else(|| env.get(names::API_URL).map(str::to_owned));
    let base_url = crate::online::base_url(&domain, api_url.as_deref())?;
    let mut ca_bundles: Vec<PathBuf> = args.ca_bundle.iter().cloned().collect();
    for name in names::CA_BUNDLES {
        if let Some(p) = env.path(name)
            && p.is_file()
            && !ca_bundles.contains(&p)
        {
            ca_bundles.push(p);
        }
    }
    Ok(Validation {
        mode,
        min_validity,
        domain,
        base_url,
        ca_bundles,
        timeout: Duration::from_secs(u64::try_from(timeout).unwrap_or(1)),
    })
}

pub(crate) fn job(args: &JobArgs, env: &Env) -> Result<Job> {
    let mode = match args.mode {
        Mode::Keyring => record::Mode::Keyring,
        Mode::Env => record::Mode::Env,
        Mode::Both => record::Mode::Both,
    };
    let clients = match args
        .clients
        .clone()
        .or_else(|| env.get(names::CLIENTS).map(str::to_owned))
    {
        Some(list) => clients(&list)?,
        None => Client::DEFAULT.to_vec(),
    };
    Ok(Job {
        mode,
        channels: condarc::channel_list(&extra_channels(&args.channels)?),
        register: args.register,
        conda: args.conda.clone(),
        allow_untrusted: args.allow_untrusted_trigger,
        clients,
        wheels: wheels_index(args, env)?,
        accept_tos: args.accept_tos || env.is_true(names::ACCEPT_TOS),
        merge_index: merge_index(env),
    })
}

/// `--clients conda,pixi`: known names, comma-separated, at least one.
fn clients(list: &str) -> Result<Vec<Client>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let c = Client::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::usage(format!(
                    "--clients: `{name}` is not a client this tool configures"
                ))
                .hint("use a comma-separated list of conda, mamba, pixi, pip, uv")
            })?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.is_empty() {
        return Err(Error::usage("--clients is empty").hint("for example --clients conda,pixi"));
    }
    Ok(out)
}

fn wheels_index(args: &JobArgs, env: &Env) -> Result<WheelsIndex> {
    let text = args
        .wheels_index
        .clone()
        .or_else(|| env.get(names::WHEELS_INDEX).map(str::to_owned))
        .unwrap_or_else(|| WHEELS_INDEX.to_owned());
    let url = url::Url::parse(&text).map_err(|e| {
        Error::usage(format!("--wheels-index: `{text}` is not a URL ({e})"))
            .hint(format!("for example --wheels-index {WHEELS_INDEX}"))
    })?;
    let loopback = crate::online::is_loopback(&url);
    if url.host().is_none() || !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        return Err(Error::usage(format!(
            "--wheels-index `{text}` must be an https:// URL: pip and uv would send the key with every request"
        ))
        .hint(format!("for example --wheels-index {WHEELS_INDEX}")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::usage("--wheels-index must not contain credentials")
            .hint("the key is added for pip and uv through a job-scoped netrc"));
    }
    let mode = match (args.wheels_index_mode, env.get(names::WHEELS_INDEX_MODE)) {
        (Some(m), _) => m,
        (None, Some(text)) => crate::cli::IndexMode::from_str(text, true).map_err(|_| {
            Error::usage(format!(
                "{}={text} is not an index mode",
                names::WHEELS_INDEX_MODE
            ))
            .hint("use primary or extra")
        })?,
        (None, None) => crate::cli::IndexMode::Primary,
    };
    Ok(WheelsIndex {
        url,
        primary: mode == crate::cli::IndexMode::Primary,
    })
}

/// `--channel` values: repeatable, and each may hold several patterns separated by commas or
/// newlines (a multi-line CI input).
fn extra_channels(values: &[String]) -> Result<Vec<Channel>> {
    values
        .iter()
        .flat_map(|c| c.split(['\n', ',']).map(str::trim).filter(|s| !s.is_empty()))
        .map(|c| {
            Channel::parse(c).map_err(|e| {
                Error::usage(e).hint("for example --channel 'https://repo.example.com/*=anaconda.com'")
            })
        })
        .collect()
}

/// A user keyring to merge into: `~` expanded, made absolute (so a cleanup from another
/// directory finds the same file).
pub(crate) fn keyring_path(p: &Path, env: &Env) -> Result<PathBuf> {
    let expanded = match (p.strip_prefix("~"), env.home()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    };
    std::path::absolute(&expanded).map_err(|e| Error::fs("resolve", p, e))
}

/// The state file named by `--state`, `--dir` or `ANACONDA_CI_AUTH_STATE`.
pub(crate) fn state_path(args: &StateArgs, env: &Env) -> Option<PathBuf> {
    args.state
        .clone()
        .or_else(|| args.dir.as_ref().map(|d| d.join(layout::STATE)))
        .or_else(|| env.path(names::STATE))
}

/// Whether to write the redacted summary: off with `--no-summary` or `ANACONDA_CI_AUTH_SUMMARY=false`.
pub(crate) fn summary(no_summary: bool, env: &Env) -> Result<bool> {
    if no_summary {
        return Ok(false);
    }
    match env.get(names::SUMMARY).map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(_) => Err(
            Error::usage(format!("{} is not `true` or `false`", names::SUMMARY))
                .hint("set it to `false` to turn the summary off, or unset it"),
        ),
    }
}

/// The caller's list of files merged into (`$XDG_STATE_HOME/anaconda-ci-auth/merges`, by default
/// under `~/.local/state`): how `--sweep` finds a merge whose job directory was wiped.
pub(crate) fn merge_index(env: &Env) -> Option<PathBuf> {
    env.path("XDG_STATE_HOME")
        .or_else(|| env.home().map(|h| h.join(".local/state")))
        .map(|d| d.join("anaconda-ci-auth/merges"))
}

/// `--max-age` in seconds.
pub(crate) fn sweep_age(args: &CleanupArgs) -> Result<i64> {
    duration("--max-age", &args.max_age, "12h")
}

/// The age after which `setup` sweeps job directories of earlier jobs in a shared directory.
pub(crate) const SETUP_SWEEP_AGE: i64 = 24 * 3600;

/// A duration from `setting` (a flag, or the variable that defaults it).
fn duration(setting: &str, text: &str, example: &str) -> Result<i64> {
    crate::jwt::parse_duration(text).map_err(|e| {
        let example = if setting.starts_with("--") {
            format!("{setting} {example}")
        } else {
            format!("{setting}={example}")
        };
        Error::usage(format!("{setting}: {e}")).hint(format!(
            "for example {example}; units: s, m, h, d (days), w (weeks)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ValidationArgs {
        ValidationArgs {
            validate: None,
            min_validity: None,
            domain: None,
            api_url: None,
            ca_bundle: None,
            timeout: "60s".into(),
        }
    }

    #[test]
    fn env_defaults_come_from_the_snapshot_and_flags_win() {
        let env = Env::from_pairs(&[
            (names::VALIDATE, "offline"),
            (names::DOMAIN, "example.com"),
            (names::MIN_VALIDITY, "2h"),
        ]);
        let v = validation(&args(), &env).unwrap();
        assert_eq!(v.mode, ValidateMode::Offline);
        assert_eq!(v.domain, "example.com");
        assert_eq!(v.min_validity, 7200);
        let mut a = args();
        a.validate = Some(ValidateMode::None);
        a.domain = Some("anaconda.com".into());
        let v = validation(&a, &env).unwrap();
        assert_eq!(v.mode, ValidateMode::None);
        assert_eq!(v.domain, "anaconda.com");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let env = Env::from_pairs(&[(names::VALIDATE, "sometimes")]);
        assert!(
            validation(&args(), &env)
                .unwrap_err()
                .message
                .contains("ANACONDA_CI_AUTH_VALIDATE")
        );
        let mut a = args();
        a.timeout = "0s".into();
        assert!(
            validation(&a, &Env::default())
                .unwrap_err()
                .message
                .contains("--timeout")
        );
    }

    #[test]
    fn keyring_paths_become_absolute() {
        let env = Env::from_pairs(&[("HOME", "/home/u")]);
        assert_eq!(
            keyring_path(Path::new("~/.anaconda/keyring"), &env).unwrap(),
            PathBuf::from("/home/u/.anaconda/keyring")
        );
        assert!(
            keyring_path(Path::new("rel/keyring"), &env)
                .unwrap()
                .is_absolute()
        );
    }
}
