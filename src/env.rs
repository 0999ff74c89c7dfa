//! The process environment, captured once in `main`, and the names of every variable we read or write.
//!
//! Commands receive an [`Env`] value instead of calling `std::env::var`, so tests can describe an
//! environment as a literal and nothing reads the environment behind the caller's back.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Variables this tool reads or exports, in one place.
pub(crate) mod names {
    /// Default variable the key is read from, and the one exported in `--mode env`.
    pub(crate) const API_KEY: &str = "ANACONDA_AUTH_API_KEY";
    /// Directory of secret files read by anaconda-auth (default `/run/secrets`).
    pub(crate) const SECRETS_DIR: &str = "ANACONDA_SECRETS_DIR";
    /// Where anaconda-auth 0.14.2 and later look for the file keyring.
    pub(crate) const KEYRING_PATH: &str = "ANACONDA_AUTH_KEYRING_PATH";
    /// anaconda-auth's site domain; exported only when it is not `anaconda.com`.
    pub(crate) const DOMAIN: &str = "ANACONDA_AUTH_DOMAIN";
    /// Makes anaconda-auth 0.9.0 to 0.15.2 send the API key to repo channels.
    pub(crate) const UNIFIED_KEY: &str = "ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY";
    /// The job's conda configuration file.
    pub(crate) const CONDARC: &str = "CONDARC";
    /// The state file of the current setup, read by `cleanup` and `status`.
    pub(crate) const STATE: &str = "ANACONDA_CI_AUTH_STATE";
    /// Opt-in to run on untrusted triggers (fork pull requests with secrets).
    pub(crate) const ALLOW_UNTRUSTED: &str = "ANACONDA_CI_AUTH_ALLOW_UNTRUSTED";
    pub(crate) const KEYRING_BACKEND: &str = "PYTHON_KEYRING_BACKEND";
    /// Default of `--validate`.
    pub(crate) const VALIDATE: &str = "ANACONDA_CI_AUTH_VALIDATE";
    /// Default of `--min-validity`.
    pub(crate) const MIN_VALIDITY: &str = "ANACONDA_CI_AUTH_MIN_VALIDITY";
    /// Default of `--api-url`.
    pub(crate) const API_URL: &str = "ANACONDA_CI_AUTH_API_URL";
    /// Default of `--clients`.
    pub(crate) const CLIENTS: &str = "ANACONDA_CI_AUTH_CLIENTS";
    /// Default of `--wheels-index`.
    pub(crate) const WHEELS_INDEX: &str = "ANACONDA_CI_AUTH_WHEELS_INDEX";
    /// Default of `--wheels-index-mode`.
    pub(crate) const WHEELS_INDEX_MODE: &str = "ANACONDA_CI_AUTH_WHEELS_INDEX_MODE";
    /// `true`: like `--accept-tos`.
    pub(crate) const ACCEPT_TOS: &str = "ANACONDA_CI_AUTH_ACCEPT_TOS";
    /// `false`: like `--no-summary`.
    pub(crate) const SUMMARY: &str = "ANACONDA_CI_AUTH_SUMMARY";
    /// conda-anaconda-tos' switch for non-interactive acceptance, exported with `--accept-tos`.
    pub(crate) const CONDA_AUTO_ACCEPT_TOS: &str = "CONDA_PLUGINS_AUTO_ACCEPT_TOS";
    /// rattler's (pixi, rattler-build) credential file.
    pub(crate) const RATTLER_AUTH_FILE: &str = "RATTLER_AUTH_FILE";
    /// The netrc file pip and uv read.
    pub(crate) const NETRC: &str = "NETRC";
    pub(crate) const PIP_INDEX_URL: &str = "PIP_INDEX_URL";
    pub(crate) const PIP_EXTRA_INDEX_URL: &str = "PIP_EXTRA_INDEX_URL";
    /// uv's configuration file (replaces the user-level `uv.toml`).
    pub(crate) const UV_CONFIG_FILE: &str = "UV_CONFIG_FILE";
    /// Extra CA bundles, also read by `--validate online`.
    pub(crate) const CA_BUNDLES: &[&str] = &["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"];
}

/// Every variable this tool reads or exports, with what it does (the generated reference in
/// `docs/environment.md`).
#[cfg(test)]
pub(crate) const REFERENCE: &[(&str, &str, &str)] = &[
    (
        names::API_KEY,
        "read, exported",
        "The key (default source). Exported only in `--mode env`/`both`; in keyring mode later shells unset it, as anaconda-auth prefers it over the keyring.",
    ),
    (
        names::SECRETS_DIR,
        "read",
        "Directory of secret files: the key is read from `$ANACONDA_SECRETS_DIR/ANACONDA_AUTH_API_KEY` when the variable is not set (default `/run/secrets`).",
    ),
    (
        names::VALIDATE,
        "read",
        "Default of `--validate` (`online`, `offline`, `none`).",
    ),
    (
        names::MIN_VALIDITY,
        "read",
        "Default of `--min-validity` (a duration such as `7d`).",
    ),
    (
        names::DOMAIN,
        "read, exported",
        "Default of `--domain`; exported when the domain is not `anaconda.com`.",
    ),
    (
        names::API_URL,
        "read",
        "Default of `--api-url` (the account API's base URL; `http://` only for loopback).",
    ),
    (
        "SSL_CERT_FILE",
        "read",
        "Extra CA certificates (PEM) for online validation.",
    ),
    (
        "REQUESTS_CA_BUNDLE",
        "read",
        "Extra CA certificates (PEM) for online validation.",
    ),
    (
        names::ALLOW_UNTRUSTED,
        "read",
        "`true` allows running on untrusted triggers (fork pull requests with secrets), like `--allow-untrusted-trigger`.",
    ),
    (
        names::CLIENTS,
        "read",
        "Default of `--clients` (comma-separated: `conda`, `mamba`, `pixi`, `pip`, `uv`).",
    ),
    (
        names::WHEELS_INDEX,
        "read",
        "Default of `--wheels-index` (pip/uv).",
    ),
    (
        names::WHEELS_INDEX_MODE,
        "read",
        "Default of `--wheels-index-mode` (`primary` or `extra`).",
    ),
    (names::ACCEPT_TOS, "read", "`true`: like `--accept-tos`."),
    (
        names::SUMMARY,
        "read",
        "`false`: like `--no-summary` (no GitHub step summary, no Buildkite annotation).",
    ),
    (
        names::CONDA_AUTO_ACCEPT_TOS,
        "exported",
        "`yes` with `--accept-tos`: conda-anaconda-tos accepts the Terms of Service for the job.",
    ),
    (
        names::RATTLER_AUTH_FILE,
        "read, exported",
        "pixi/rattler-build credentials: the job's file (a user's own file's entries are copied in).",
    ),
    (
        names::NETRC,
        "read, exported",
        "pip/uv credentials for the wheels index: the job's netrc (a user's own netrc entries for other hosts are copied in).",
    ),
    (
        names::PIP_INDEX_URL,
        "exported",
        "pip, `--wheels-index-mode primary`: the wheels index.",
    ),
    (
        names::PIP_EXTRA_INDEX_URL,
        "exported",
        "pip, `--wheels-index-mode extra`: the wheels index beside PyPI.",
    ),
    (
        names::UV_CONFIG_FILE,
        "exported",
        "uv: the job's `uv.toml` with the wheels index (`authenticate = \"always\"`).",
    ),
    (
        names::STATE,
        "read, exported",
        "The job's state file; `cleanup` and `status` find the job through it.",
    ),
    (
        names::CONDARC,
        "read, exported",
        "The job's `condarc.yml` with `channel_settings` for anaconda-auth; a `CONDARC` the job already had is carried into it.",
    ),
    (
        names::KEYRING_PATH,
        "exported",
        "The keyring anaconda-auth 0.14.2 and later read.",
    ),
    (
        names::UNIFIED_KEY,
        "exported",
        "`true`: anaconda-auth 0.9 to 0.15.2 send the API key to repository channels.",
    ),
    (
        names::KEYRING_BACKEND,
        "read",
        "Checked by `setup` and `status`: a backend other than anaconda-auth's hides the job keyring.",
    ),
    (
        "TMPDIR, TEMP",
        "read",
        "Where job directories go outside CI platforms that provide one.",
    ),
    (
        "HOME, USERPROFILE",
        "read",
        "`~` in `--keyring-path`; user-level conda and anaconda-auth configuration checked for overrides.",
    ),
    (
        "GITHUB_ACTIONS, GITLAB_CI, BUILDKITE, JENKINS_URL, JENKINS_HOME",
        "read",
        "Detect the CI platform (or pass `--ci`).",
    ),
    (
        "GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY",
        "read",
        "GitHub Actions files setup appends to (created 0600 when missing).",
    ),
    (
        "RUNNER_TEMP, CI_PROJECT_DIR",
        "read",
        "Where job directories go on GitHub Actions and GitLab.",
    ),
    (
        "GITHUB_RUN_ID, GITHUB_JOB, CI_JOB_ID, BUILDKITE_JOB_ID, BUILD_TAG, BUILD_ID",
        "read",
        "The CI job id recorded in the state file; `cleanup` without `--dir` finds the job's directories by it.",
    ),
    (
        "BUILDKITE_AGENT_PATH",
        "read",
        "The `buildkite-agent` used for `redactor add` and `annotate`.",
    ),
    (
        "BUILDKITE_LABEL",
        "read",
        "The step's label, heading this job's part of the build annotation.",
    ),
    (
        "CONDA_EXE, PATH",
        "read",
        "Where `register` finds conda, and the conda `status` and `setup` check for anaconda-auth's plugin.",
    ),
    (
        "CONDA_ROOT, CONDA_PREFIX, XDG_CONFIG_HOME",
        "read",
        "conda's search path, checked by `setup` and `status` for condarc files that override the job's `channel_settings`; `XDG_CONFIG_HOME` also for a keyring backend set in `python_keyring/keyringrc.cfg`.",
    ),
    (
        "ANACONDA_CONFIG_TOML",
        "read",
        "anaconda-auth's `config.toml` (default `~/.anaconda/config.toml`), checked for an `api_key` that would win over the keyring.",
    ),
    (
        "XDG_STATE_HOME",
        "read",
        "Where the list of files jobs merged into is kept (`anaconda-ci-auth/merges`, default under `~/.local/state`), so that `--sweep` can restore them.",
    ),
    (
        "HTTPS_PROXY, NO_PROXY",
        "read",
        "The proxy for online validation (read by the HTTP client); a loopback `--api-url` is always reached directly.",
    ),
    (
        "GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, CI_MERGE_REQUEST_PROJECT_ID, CI_MERGE_REQUEST_SOURCE_PROJECT_ID",
        "read",
        "Untrusted triggers: `pull_request_target` and `workflow_run` from a fork on GitHub, merge request pipelines from a fork on GitLab (refused unless allowed).",
    ),
    (
        "CI_DEBUG_TRACE, CI_DEBUG_SERVICES",
        "read",
        "GitLab debug tracing, which prints every variable: `--mode env` is refused while either is on.",
    ),
    (
        "RUNNER_DEBUG",
        "read",
        "GitHub step debug logging: setup warns to review debug logs before sharing them.",
    ),
];

/// A snapshot of the environment.
#[derive(Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// Variables whose value is not valid UTF-8 (not in `vars`): named in errors, never read.
    not_utf8: std::collections::BTreeSet<String>,
}

/// What a variable holds, for the errors that tell unset, empty and unreadable apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    Unset,
    Empty,
    NotUtf8,
    Set,
}

impl Env {
    /// Reads the real environment. Only `main` calls this.
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads the environment"
    )]
    pub fn capture() -> Self {
        let mut env = Self::default();
        for (k, v) in std::env::vars_os() {
            let Ok(k) = k.into_string() else { continue };
            match v.into_string() {
                Ok(v) => {
                    env.vars.insert(k, v);
                }
                Err(_) => {
                    env.not_utf8.insert(k);
                }
            }
        }
        env
    }

    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self {
            vars: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            not_utf8: std::collections::BTreeSet::new(),
        }
    }

    /// Marks `name` as holding a value that is not valid UTF-8.
    #[cfg(test)]
    pub(crate) fn with_not_utf8(mut self, name: &str) -> Self {
        self.not_utf8.insert(name.to_owned());
        self
    }

    /// Whether `name` is unset, empty, not UTF-8 or set.
    pub(crate) fn presence(&self, name: &str) -> Presence {
        match self.vars.get(name) {
            Some(v) if v.is_empty() => Presence::Empty,
            Some(_) => Presence::Set,
            None if self.not_utf8.contains(name) => Presence::NotUtf8,
            None => Presence::Unset,
        }
    }

    /// The first of `names` whose value is not valid UTF-8.
    pub(crate) fn first_not_utf8<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        names.iter().copied().find(|n| self.not_utf8.contains(*n))
    }

    /// The value of `name`, if set (set to the empty string counts as unset).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A flag that is on: `true`, `t` (Go's strconv.ParseBool, as GitLab Runner reads it), `1`, `yes`, `on`.
    pub(crate) fn is_true(&self, name: &str) -> bool {
        matches!(
            self.get(name).map(str::to_ascii_lowercase).as_deref(),
            Some("true" | "t" | "1" | "yes" | "on")
        )
    }

    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }

    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.path("HOME").or_else(|| self.path("USERPROFILE"))
    }

    /// This environment as it was before a job exported `exported`: each variable put back to
    /// the value in `restore`, or removed.
    pub(crate) fn before_job(
        &self,
        exported: &BTreeMap<String, String>,
        restore: &BTreeMap<String, String>,
    ) -> Self {
        let mut env = self.clone();
        for var in exported.keys().map(String::as_str).chain([names::STATE]) {
            match restore.get(var) {
                Some(v) => env.vars.insert(var.to_owned(), v.clone()),
                None => env.vars.remove(var),
            };
        }
        env
    }

    /// Where temporary job directories go: `TMPDIR`, `TEMP`, or the system's default.
    pub(crate) fn temp_dir(&self) -> crate::error::Result<PathBuf> {
        for name in ["TMPDIR", "TEMP"] {
            if let Some(p) = self.path(name) {
                return Ok(p);
            }
            if self.presence(name) == Presence::NotUtf8 {
                return Err(not_utf8_dir(name));
            }
        }
        Ok(std::env::temp_dir())
    }

    /// Fails when one of `names` (directories job directories would go under) is not UTF-8.
    pub(crate) fn require_utf8(&self, names: &[&str]) -> crate::error::Result<()> {
        self.first_not_utf8(names)
            .map_or(Ok(()), |n| Err(not_utf8_dir(n)))
    }
}

/// A directory variable whose value is not UTF-8: the record names every path it writes, as text.
fn not_utf8_dir(name: &str) -> crate::error::Error {
    crate::error::Error::new(
        crate::error::Kind::Filesystem,
        format!("{name} is not valid UTF-8: job directories cannot be created under it"),
    )
    .hint(format!(
        "set {name} to a directory whose path is UTF-8 text, e.g. {name}=/tmp"
    ))
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Env({} variables)", self.vars.len())
    }
}
