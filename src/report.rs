//! What each command reports, as typed values: serialised for `--json` and rendered as lines for
//! people by the same struct, so the two can never disagree. Printing is `ui`'s job.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::Error;

/// How the key was checked.
#[derive(Serialize)]
pub(crate) struct Validation {
    pub(crate) mode: &'static str,
    pub(crate) username: Option<String>,
}

/// What every report that checked a key says about it (and the platform it ran on).
#[derive(Serialize)]
pub(crate) struct KeyFacts {
    pub(crate) fingerprint: String,
    pub(crate) expires_at: Option<String>,
    pub(crate) domain: String,
    pub(crate) key_source: String,
    pub(crate) validation: Validation,
    pub(crate) ci: &'static str,
    pub(crate) warnings: Vec<String>,
}

/// `validate`.
#[derive(Serialize)]
pub(crate) struct Validate {
    pub(crate) valid: bool,
    #[serde(flatten)]
    pub(crate) key: KeyFacts,
}

impl Validate {
    pub(crate) fn human(&self) -> Vec<String> {
        let k = &self.key;
        let mut out = vec![
            format!("key from {}: valid", k.key_source),
            format!("  fingerprint  {}", k.fingerprint),
        ];
        if let Some(e) = &k.expires_at {
            out.push(format!("  expires      {e}"));
        }
        if let Some(u) = &k.validation.username {
            out.push(format!("  account      {u}"));
        }
        out.push(format!("  validation   {}", k.validation.mode));
        out
    }
}

/// `exec --json`: printed on stdout after the command's own output, however it ended.
#[derive(Serialize)]
pub(crate) struct Exec {
    pub(crate) command: String,
    /// Whether the command started (false: not found, 127, or not executable, 126).
    pub(crate) started: bool,
    /// The command's exit code (128+signal when a signal ended it), which exec exits with.
    pub(crate) exit_code: u8,
    #[serde(flatten)]
    pub(crate) key: KeyFacts,
}

/// `setup`.
#[derive(Serialize)]
pub(crate) struct Setup {
    pub(crate) dir: PathBuf,
    pub(crate) keyring_path: Option<PathBuf>,
    /// Absent when conda is not among the clients.
    pub(crate) condarc_path: Option<PathBuf>,
    /// The package clients configured.
    pub(crate) clients: Vec<&'static str>,
    /// The client files written or merged into (rattler, mamba, netrc, uv).
    pub(crate) client_files: Vec<PathBuf>,
    pub(crate) state_path: PathBuf,
    pub(crate) env_file: PathBuf,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) mode: &'static str,
    #[serde(flatten)]
    pub(crate) key: KeyFacts,
    /// "validated online as NAME", ... (human output only).
    #[serde(skip)]
    pub(crate) validation_phrase: String,
    /// How later steps get the variables (human output only).
    #[serde(skip)]
    pub(crate) load_hint: Option<String>,
}

impl Setup {
    pub(crate) fn human(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "anaconda-ci-auth: conda is set up for this job (key {}, {})",
                self.key.fingerprint, self.validation_phrase
            ),
            format!("  directory  {}", self.dir.display()),
        ];
        if let Some(k) = &self.keyring_path {
            out.push(format!("  keyring    {}", k.display()));
        }
        if let Some(c) = &self.condarc_path {
            out.push(format!("  condarc    {}", c.display()));
        }
        out.push(format!("  clients    {}", self.clients.join(", ")));
        for f in &self.client_files {
            out.push(format!("  file       {}", f.display()));
        }
        if let Some(e) = &self.key.expires_at {
            out.push(format!("  expires    {e}"));
        }
        out.extend(self.load_hint.clone());
        out
    }

    /// Step outputs, by name (GitHub).
    pub(crate) fn outputs(&self, username: Option<&str>) -> Vec<(&'static str, String)> {
        let path = |p: &PathBuf| p.to_string_lossy().into_owned();
        vec![
            ("dir", path(&self.dir)),
            (
                "keyring-path",
                self.keyring_path.as_ref().map(path).unwrap_or_default(),
            ),
            (
                "condarc-path",
                self.condarc_path.as_ref().map(path).unwrap_or_default(),
            ),
            ("clients", self.clients.join(",")),
            ("state-path", path(&self.state_path)),
            ("env-file", path(&self.env_file)),
            ("fingerprint", self.key.fingerprint.clone()),
            ("expires-at", self.key.expires_at.clone().unwrap_or_default()),
            ("username", username.unwrap_or_default().to_owned()),
        ]
    }

    /// A Markdown table for a step summary: outputs, validation, and the exports (redacted).
    pub(crate) fn summary(&self, outputs: &[(&str, String)]) -> String {
        let cell = |s: &str| s.replace('|', "\\|");
        let mut md = String::from("### anaconda-ci-auth\n\n| | |\n|---|---|\n");
        for (n, val) in outputs {
            if !val.is_empty() {
                md.push_str(&format!("| {n} | `{}` |\n", cell(val)));
            }
        }
        md.push_str(&format!("| validation | {} |\n", self.validation_phrase));
        for f in &self.client_files {
            md.push_str(&format!("| client file | `{}` |\n", cell(&f.to_string_lossy())));
        }
        for (n, val) in &self.env {
            md.push_str(&format!("| env `{n}` | `{}` |\n", cell(val)));
        }
        md.push_str(
            "| cleanup | `anaconda-ci-auth cleanup` (the integrations run it when the job ends) |\n\n",
        );
        md
    }
}

/// `cleanup`.
#[derive(Serialize, Default)]
pub(crate) struct Cleanup {
    pub(crate) removed: Vec<PathBuf>,
    pub(crate) swept: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

impl Cleanup {
    /// A Markdown line for the step summary or annotation: what cleanup did (None when nothing).
    pub(crate) fn summary(&self) -> Option<String> {
        if self.removed.is_empty() && self.swept.is_empty() && self.warnings.is_empty() {
            return None;
        }
        let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut md = format!(
            "**anaconda-ci-auth cleanup**: removed {} of this job",
            count(self.removed.len(), "file", "files")
        );
        if !self.swept.is_empty() {
            md.push_str(&format!(
                ", swept {}",
                count(self.swept.len(), "stale job directory", "stale job directories")
            ));
        }
        if self.warnings.is_empty() {
            md.push_str("; nothing is left behind.\n\n");
        } else {
            md.push_str(&format!(
                "; {}: see the job log.\n\n",
                count(self.warnings.len(), "warning", "warnings")
            ));
        }
        Some(md)
    }
}

/// `docker-secret`.
#[derive(Serialize)]
pub(crate) struct DockerSecret {
    pub(crate) secret_arg: String,
    pub(crate) id: String,
    pub(crate) path: PathBuf,
    pub(crate) kind: &'static str,
    pub(crate) dir: PathBuf,
    pub(crate) state_path: PathBuf,
    pub(crate) mount_target: String,
    pub(crate) run_env: BTreeMap<&'static str, &'static str>,
    pub(crate) fingerprint: String,
    pub(crate) expires_at: Option<String>,
    pub(crate) validation: Validation,
    pub(crate) ci: &'static str,
    pub(crate) warnings: Vec<String>,
}

/// One file in a `status` report.
#[derive(Serialize)]
pub(crate) struct FileStatus {
    pub(crate) path: PathBuf,
    pub(crate) exists: bool,
    pub(crate) mode: Option<String>,
}

/// conda in a `status` report.
#[derive(Serialize)]
pub(crate) struct CondaStatus {
    pub(crate) path: PathBuf,
    /// `installed`, `missing` or `unknown` (conda is not in an environment's `bin`).
    pub(crate) plugin: &'static str,
    pub(crate) plugin_version: Option<String>,
}

impl CondaStatus {
    pub(crate) fn new(path: PathBuf, plugin: crate::conda::Plugin) -> Self {
        Self {
            plugin: plugin.as_str(),
            plugin_version: match plugin {
                crate::conda::Plugin::Installed(v) => Some(v),
                _ => None,
            },
            path,
        }
    }

    fn human(&self) -> String {
        let plugin = match (self.plugin, &self.plugin_version) {
            ("installed", Some(v)) => format!("anaconda-auth plugin {v}"),
            ("missing", _) => "no anaconda-auth plugin".to_owned(),
            _ => "anaconda-auth plugin not checked: conda is not in an environment's bin".to_owned(),
        };
        format!("  conda        {} ({plugin})", self.path.display())
    }
}

/// `status`.
#[derive(Serialize)]
pub(crate) struct Status {
    pub(crate) configured: bool,
    pub(crate) state_path: Option<PathBuf>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) mode: Option<&'static str>,
    pub(crate) domain: Option<String>,
    pub(crate) key_source: Option<String>,
    pub(crate) fingerprint: Option<String>,
    pub(crate) expires_at: Option<String>,
    pub(crate) files: Vec<FileStatus>,
    pub(crate) env: Option<BTreeMap<String, String>>,
    pub(crate) env_key_fingerprint: Option<String>,
    /// The conda that `conda` steps would run, and whether anaconda-auth's plugin is beside it.
    pub(crate) conda: Option<CondaStatus>,
    pub(crate) ci: &'static str,
    pub(crate) warnings: Vec<String>,
    /// The command that wrote the record and the platform it ran on (human output only).
    #[serde(skip)]
    pub(crate) written_by: Option<(&'static str, String)>,
    /// What was looked at when nothing was found (human output only).
    #[serde(skip)]
    pub(crate) looked_at: String,
}

impl Status {
    pub(crate) fn human(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.written_by, &self.dir) {
            (Some((command, ci)), Some(dir)) => {
                out.push(format!(
                    "anaconda-ci-auth: configured by `{command}` ({} mode, {ci})",
                    self.mode.unwrap_or("?")
                ));
                out.push(format!("  directory    {}", dir.display()));
                out.push(format!(
                    "  key          {} from {}",
                    self.fingerprint.as_deref().unwrap_or("?"),
                    self.key_source.as_deref().unwrap_or("?")
                ));
                if let Some(e) = &self.expires_at {
                    out.push(format!("  expires      {e}"));
                }
                for f in &self.files {
                    let how = if f.exists {
                        f.mode.as_deref().unwrap_or("?")
                    } else {
                        "missing"
                    };
                    out.push(format!("  file         {} ({how})", f.path.display()));
                }
                for (k, v) in self.env.iter().flatten() {
                    out.push(format!("  env          {k}={v}"));
                }
            }
            _ => {
                out.push(format!("anaconda-ci-auth: no setup found: {}", self.looked_at));
                if let Some(fp) = &self.env_key_fingerprint {
                    out.push(format!("  {} is set ({fp})", crate::env::names::API_KEY));
                }
            }
        }
        out.push(match &self.conda {
            Some(c) => c.human(),
            None => "  conda        not found on PATH or CONDA_EXE".to_owned(),
        });
        out
    }
}

/// `register`.
#[derive(Serialize)]
pub(crate) struct Register {
    pub(crate) package: &'static str,
    pub(crate) result: &'static str,
}

/// An error, as `--json` prints it.
#[derive(Serialize)]
pub(crate) struct ErrorReport {
    pub(crate) error: ErrorBody,
}

#[derive(Serialize)]
pub(crate) struct ErrorBody {
    pub(crate) kind: &'static str,
    pub(crate) exit_code: u8,
    pub(crate) message: String,
    pub(crate) hints: Vec<String>,
    /// Under `exec`, which exits 125 for its own failures: the code this failure class has
    /// outside `exec`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) kind_exit_code: Option<u8>,
}

impl ErrorReport {
    /// The error with its text redacted.
    pub(crate) fn new(e: &Error) -> Self {
        Self {
            error: ErrorBody {
                kind: e.kind.name(),
                exit_code: e.kind.exit_code(),
                message: crate::ui::redact(&e.message),
                hints: e.hints.iter().map(|h| crate::ui::redact(h)).collect(),
                kind_exit_code: None,
            },
        }
    }

    /// The report of `exec`'s own failure: exit code 125, and the class's own code beside it.
    pub(crate) fn under_exec(e: &Error) -> Self {
        let mut r = Self::new(e);
        r.error.exit_code = crate::error::EXEC_FAILED;
        r.error.kind_exit_code = Some(e.kind.exit_code());
        r
    }
}
