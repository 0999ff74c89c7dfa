//! conda: finding it, and installing anaconda-registration into its base environment, as
//! Anaconda's registration instructions say, skipped when it is already installed. On
//! anaconda-auth's "Token not found" error (an incompatible anaconda-auth in base) it reinstalls
//! anaconda-auth once.
//!
//! conda's output is only shown when a step fails, and then with the key scrubbed: the key of the
//! current setup, or on its own the key in `ANACONDA_AUTH_API_KEY` and in the job keyring. Within
//! `setup`/`exec` in keyring mode conda does not inherit the variable the key was read from.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use secrecy::SecretString;

use crate::condarc;
use crate::env::{Env, names};
use crate::error::{Error, Kind, Result};
use crate::keyring;
use crate::secret::ApiKey;
use crate::ui;

pub(crate) const PACKAGE: &str = "anaconda-registration";
pub(crate) const CHANNEL: &str = "https://repo.anaconda.cloud/repo/anaconda-tools";

/// Runs the registration with `extra_env` added to conda's environment and the variables in
/// `remove_env` taken out of it (the variable the key was read from, in keyring mode). Returns
/// `installed`, `already-installed` or `reinstalled`.
pub(crate) fn register(
    env: &Env,
    conda: Option<&Path>,
    extra_env: &[(String, String)],
    remove_env: &[&str],
) -> Result<&'static str> {
    let conda = find(env, conda)?;
    let run = |args: &[&str]| run_conda(&conda, args, extra_env, remove_env);
    // Only stdout is the JSON listing: conda prints warnings (e.g. about a newer version) on stderr.
    let (ok, listing, _) = run(&["list", "--name", "base", "--json", "--full-name", PACKAGE])?;
    let installed = ok
        && serde_json::from_str::<serde_json::Value>(&listing)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .is_some_and(|items| {
                items
                    .iter()
                    .any(|i| i.get("name").and_then(|n| n.as_str()) == Some(PACKAGE))
            });
    if installed {
        ui::info(&format!(
            "anaconda-ci-auth: {PACKAGE} is already installed in base"
        ));
        return Ok("already-installed");
    }
    let install = [
        "install",
        "--name",
        "base",
        PACKAGE,
        "--channel",
        CHANNEL,
        "--override-channels",
        "--yes",
    ];
    ui::info(&format!("anaconda-ci-auth: running conda {}", install.join(" ")));
    let (ok, _, output) = run(&install)?;
    if ok {
        return Ok("installed");
    }
    if output.contains("Token not found") {
        ui::warn(
            "conda reported `AnacondaAuthError: Token not found` (an incompatible anaconda-auth in base); reinstalling anaconda-auth",
        );
        let (removed, _, out) = run(&["remove", "--name", "base", "anaconda-auth", "--force", "--yes"])?;
        if !removed {
            return Err(conda_failed(
                "conda remove --name base anaconda-auth --force",
                &out,
            ));
        }
        let (ok, _, out) = run(&install)?;
        if ok {
            return Ok("reinstalled");
        }
        return Err(conda_failed(
            "conda install anaconda-registration (after reinstalling anaconda-auth)",
            &out,
        ));
    }
    Err(conda_failed("conda install anaconda-registration", &output))
}

/// Runs conda with `args`: (success, stdout, stdout and stderr redacted for error messages).
fn run_conda(
    conda: &Path,
    args: &[&str],
    extra_env: &[(String, String)],
    remove_env: &[&str],
) -> Result<(bool, String, String)> {
    let mut cmd = Command::new(conda);
    cmd.args(args);
    for name in remove_env {
        cmd.env_remove(name);
    }
    cmd.envs(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(Kind::Conda, format!("failed to run `{}`", conda.display()))
            .cause(e)
            .hint("check --conda")
    })?;
    // Read stderr on its own thread: a chatty conda would block on a full pipe otherwise.
    let err_reader = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut err = Vec::new();
            let _ = s.read_to_end(&mut err);
            err
        })
    });
    let mut out = Vec::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out);
    }
    let err = err_reader.and_then(|t| t.join().ok()).unwrap_or_default();
    let out = String::from_utf8_lossy(&out);
    let err = String::from_utf8_lossy(&err);
    let status = child
        .wait()
        .map_err(|e| Error::new(Kind::Conda, "conda did not finish").cause(e))?;
    let combined = ui::redact(&format!("{out}{err}"));
    Ok((status.success(), out.into_owned(), combined))
}

/// Runs `conda ARGS` with nothing on stdin and returns its stdout, or None when it fails or does
/// not finish within `deadline` (then it is killed).
pub(crate) fn output_within(conda: &Path, args: &[&str], deadline: std::time::Duration) -> Option<Vec<u8>> {
    let mut child = Command::new(conda)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let until = std::time::Instant::now() + deadline;
    loop {
        match child.try_wait().ok()? {
            Some(status) if status.success() => return reader.join().ok(),
            Some(_) => return None,
            None if std::time::Instant::now() >= until => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            None => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// Registers with the redactor the secrets a standalone `register` may see conda print: the key
/// in `ANACONDA_AUTH_API_KEY`, and the entries and keys of the keyring at
/// `ANACONDA_AUTH_KEYRING_PATH` (a later CI step after `setup`).
pub(crate) fn register_env_secrets(env: &Env) {
    let domain = env.get(names::DOMAIN).unwrap_or(condarc::DEFAULT_DOMAIN);
    let mut forms: Vec<SecretString> = Vec::new();
    if let Some(key) = env.get(names::API_KEY).map(str::trim).filter(|k| !k.is_empty()) {
        forms.extend(ApiKey::new(key.to_owned()).derived_forms(domain));
    }
    let keyring = env
        .path(names::KEYRING_PATH)
        .and_then(|p| crate::fsx::read_private(&p).ok().flatten())
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    let services = keyring.as_ref().and_then(serde_json::Value::as_object);
    for domains in services.into_iter().flat_map(|s| s.values()) {
        for (d, entry) in domains.as_object().into_iter().flatten() {
            let Some(entry) = entry.as_str().filter(|e| e.len() >= 8) else {
                continue;
            };
            forms.push(SecretString::from(entry.to_owned()));
            if let Some(key) = keyring::entry_api_key(entry) {
                forms.extend(ApiKey::new(key.as_str().to_owned()).derived_forms(d));
            }
        }
    }
    if !forms.is_empty() {
        ui::add_secrets(forms);
    }
}

fn conda_failed(what: &str, output: &str) -> Error {
    let tail: Vec<&str> = output
        .lines()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut e = Error::new(Kind::Conda, format!("`{what}` failed"));
    if !tail.is_empty() {
        e = e.cause(format!("conda said:\n{}", tail.join("\n")));
    }
    e.hint("check that the key can access https://repo.anaconda.cloud (see `anaconda-ci-auth validate`) and that the conda in base is writable")
}

/// Whether anaconda-auth's conda plugin is installed beside a conda executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Plugin {
    /// Its distribution (this version) declares the `conda` entry point conda loads plugins from.
    Installed(String),
    /// conda's environment has no anaconda-auth with a conda plugin: conda will not send the key.
    Missing,
    /// The executable is not in a conda environment's `bin`, `condabin` or `Scripts` directory.
    Unknown,
}

impl Plugin {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Self::Installed(_) => "installed",
            Self::Missing => "missing",
            Self::Unknown => "unknown",
        }
    }
}

/// The hint for a conda without the plugin.
pub(crate) const PLUGIN_HINT: &str = "install anaconda-registration into conda's base environment: run setup with --register (the GitHub Action's `register: \"true\"`), or `conda install --name base --channel https://repo.anaconda.cloud/repo/anaconda-tools anaconda-registration`";

/// Looks for anaconda-auth's conda plugin in the environment `conda` belongs to, without running
/// conda: an `anaconda_auth-<version>.dist-info` in its site-packages whose `entry_points.txt`
/// has the `[conda]` group (conda loads plugins from that entry point group).
pub(crate) fn plugin(conda: &Path) -> Plugin {
    let exe = std::fs::canonicalize(conda).unwrap_or_else(|_| conda.to_path_buf());
    let Some(prefix) = exe
        .parent()
        .filter(|d| {
            d.file_name()
                .is_some_and(|n| n == "bin" || n == "condabin" || n == "Scripts")
        })
        .and_then(Path::parent)
    else {
        return Plugin::Unknown;
    };
    let mut site_dirs = vec![prefix.join("Lib").join("site-packages")];
    if let Ok(entries) = std::fs::read_dir(prefix.join("lib")) {
        site_dirs.extend(
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
                .map(|e| e.path().join("site-packages")),
        );
    }
    for site in site_dirs {
        let Ok(entries) = std::fs::read_dir(&site) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(version) = name
                .strip_prefix("anaconda_auth-")
                .and_then(|v| v.strip_suffix(".dist-info"))
            else {
                continue;
            };
            let declares_plugin = std::fs::read_to_string(e.path().join("entry_points.txt"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "[conda]"));
            if declares_plugin {
                return Plugin::Installed(version.to_owned());
            }
        }
    }
    Plugin::Missing
}

/// The conda executable: `explicit`, else `conda` on PATH, else `$CONDA_EXE`.
pub(crate) fn find(env: &Env, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        return Err(
            Error::new(Kind::Conda, format!("conda not found at `{}`", p.display()))
                .hint("pass the conda executable with --conda"),
        );
    }
    if let Some(path) = env.get("PATH") {
        for dir in std::env::split_paths(path) {
            for name in ["conda", "conda.exe", "conda.bat"] {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
    }
    if let Some(exe) = env.path("CONDA_EXE").filter(|p| p.is_file()) {
        return Ok(exe);
    }
    Err(Error::new(Kind::Conda, "conda was not found on PATH")
        .hint("install conda first (e.g. setup-miniconda), or pass its path with --conda"))
}
