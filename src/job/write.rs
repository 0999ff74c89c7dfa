//! The files of a `setup`/`exec` job directory, written through the transaction: the keyring (or
//! a merge into the user's), the key file in env mode, and for each selected client what it reads
//! (conda: `condarc.yml`; mamba: a merge into `~/.mamba/auth/authentication.json`; pixi:
//! `rattler-auth.json`; pip/uv: `netrc` and `uv.toml`), then `env.sh`.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::Txn;
use super::exports::{Exports, Value};
use super::layout;
use super::merge::Format;
use super::record::Mode;
use crate::clients::{self, Host};
use crate::condarc;
use crate::env::{Env, names};
use crate::error::Result;
use crate::secret::ApiKey;
use crate::settings::{Client, Job};
use crate::{fsx, keyring};

/// What to write.
pub(crate) struct Spec<'a> {
    pub(crate) job: &'a Job,
    pub(crate) domain: &'a str,
    /// A keyring of the user's to merge into (absolute) instead of a job keyring.
    pub(crate) keyring_path: Option<&'a Path>,
}

impl<'a> Spec<'a> {
    pub(crate) fn new(job: &'a Job, domain: &'a str, keyring_path: Option<&'a Path>) -> Self {
        Self {
            job,
            domain,
            keyring_path,
        }
    }
}

/// What was written.
pub(crate) struct Written {
    pub(crate) exports: Exports,
    pub(crate) keyring: Option<PathBuf>,
    pub(crate) condarc: Option<PathBuf>,
    pub(crate) env_file: PathBuf,
    /// Every client file, for reports.
    pub(crate) client_files: Vec<PathBuf>,
    pub(crate) warnings: Vec<String>,
}

/// Writes the job's files and records the exports in the transaction's record. `env` is the
/// job's environment (a user's `CONDARC`, `RATTLER_AUTH_FILE`, netrc and `HOME`).
pub(crate) fn write_files(txn: &mut Txn, spec: &Spec<'_>, key: &ApiKey, env: &Env) -> Result<Written> {
    let mut w = Written {
        exports: Exports::default(),
        keyring: None,
        condarc: None,
        env_file: PathBuf::new(),
        client_files: Vec::new(),
        warnings: Vec::new(),
    };
    if spec.job.has(Client::Conda) {
        write_condarc(txn, spec, env, &mut w)?;
    }
    w.keyring = write_keyring(txn, spec, key)?;
    if let Some(k) = &w.keyring {
        w.exports.set_plain(names::KEYRING_PATH, k.to_string_lossy());
    }
    if spec.domain != condarc::DEFAULT_DOMAIN {
        w.exports.set_plain(names::DOMAIN, spec.domain);
    }
    w.exports.set_plain(names::UNIFIED_KEY, "true");
    if spec.job.accept_tos {
        w.exports.set_plain(names::CONDA_AUTO_ACCEPT_TOS, "yes");
    }
    if spec.job.mode == Mode::Keyring {
        w.exports.unset(names::API_KEY);
    } else {
        let key_file = txn.write(layout::API_KEY, key.expose().as_bytes())?;
        w.exports.set(names::API_KEY, Value::Key(key_file));
    }
    let hosts = clients::hosts(&spec.job.channels);
    if spec.job.has(Client::Mamba) {
        write_mamba(txn, spec, &hosts, key, env, &mut w)?;
    }
    if spec.job.has(Client::Pixi) {
        let user = user_file(env, names::RATTLER_AUTH_FILE, txn.dir())?;
        remember(txn, env, names::RATTLER_AUTH_FILE);
        let text = clients::rattler_auth(user.as_deref().map(String::as_str), &hosts, key)?;
        let path = txn.write(layout::RATTLER_AUTH, text.as_bytes())?;
        w.exports
            .set_plain(names::RATTLER_AUTH_FILE, path.to_string_lossy());
        w.client_files.push(path);
    }
    if spec.job.has(Client::Pip) || spec.job.has(Client::Uv) {
        write_wheels(txn, spec, key, env, &mut w)?;
    }
    w.exports
        .set_plain(names::STATE, txn.record().path().to_string_lossy());
    let header = "# anaconda-ci-auth: source this file in later steps of the same job\n";
    w.env_file = txn.write(
        layout::ENV_SH,
        format!("{header}{}", w.exports.shell_lines()).as_bytes(),
    )?;
    let rec = txn.record_mut();
    rec.env = w.exports.redacted();
    rec.clients = spec.job.clients.clone();
    rec.channels = spec
        .job
        .channels
        .iter()
        .map(|c| match &c.auth_domain {
            Some(d) => format!("{}={d}", c.pattern),
            None => c.pattern.clone(),
        })
        .collect();
    Ok(w)
}

/// The job keyring, or a merge into the user's; none in env mode.
fn write_keyring(txn: &mut Txn, spec: &Spec<'_>, key: &ApiKey) -> Result<Option<PathBuf>> {
    match (spec.job.mode, spec.keyring_path) {
        (Mode::Env | Mode::Key, _) => Ok(None),
        (_, Some(target)) => {
            let domain = spec.domain;
            txn.merge(
                target,
                Format::Keyring,
                spec.job.merge_index.as_deref(),
                |original| {
                    let existing = original
                        .entry(domain)
                        .and_then(|v| v.as_str())
                        .and_then(keyring::decode_entry);
                    let value = keyring::entry_value(domain, key, existing.as_ref());
                    vec![(domain.to_owned(), serde_json::Value::String(value.to_string()))]
                },
            )?;
            Ok(Some(target.to_path_buf()))
        }
        (_, None) => Ok(Some(
            txn.write(layout::KEYRING, keyring::render_new(spec.domain, key).as_bytes())?,
        )),
    }
}

/// conda: `condarc.yml` with our `channel_settings`, carrying the job's own `CONDARC` (set by
/// setup-micromamba, for example) so conda and micromamba still read the user's settings.
fn write_condarc(txn: &mut Txn, spec: &Spec<'_>, env: &Env, w: &mut Written) -> Result<()> {
    let ours = condarc::render(&spec.job.channels, spec.domain);
    let text = match user_file(env, names::CONDARC, txn.dir())? {
        Some(user) => {
            let (text, warning) = clients::condarc_with_user(&user, &ours);
            w.warnings.extend(warning);
            remember(txn, env, names::CONDARC);
            text
        }
        None => ours,
    };
    let path = txn.write(layout::CONDARC, text.as_bytes())?;
    w.exports.set_plain(names::CONDARC, path.to_string_lossy());
    w.condarc = Some(path);
    Ok(())
}

/// mamba/micromamba: Bearer entries merged into `~/.mamba/auth/authentication.json`, the only
/// place libmamba reads them from (restored at cleanup).
fn write_mamba(
    txn: &mut Txn,
    spec: &Spec<'_>,
    hosts: &[Host],
    key: &ApiKey,
    env: &Env,
    w: &mut Written,
) -> Result<()> {
    let Some(home) = env.home() else {
        let why = match env.presence("HOME") {
            crate::env::Presence::NotUtf8 => "HOME is not valid UTF-8",
            _ => "HOME is not set",
        };
        w.warnings.push(format!(
            "{why}: mamba/micromamba were not configured (their credentials live under ~/.mamba)"
        ));
        return Ok(());
    };
    let target = std::path::absolute(home.join(".mamba/auth/authentication.json"))
        .map_err(|e| crate::error::Error::fs("resolve", &home, e))?;
    let entries = clients::mamba_entries(hosts, key);
    txn.merge(
        &target,
        Format::MambaAuth,
        spec.job.merge_index.as_deref(),
        |_| entries,
    )?;
    w.client_files.push(target);
    Ok(())
}

/// pip/uv: a netrc with the wheels index credentials, and the index for each.
fn write_wheels(txn: &mut Txn, spec: &Spec<'_>, key: &ApiKey, env: &Env, w: &mut Written) -> Result<()> {
    let index = &spec.job.wheels;
    let host = index.url.host_str().unwrap_or_default().to_owned();
    let user = match env.path(names::NETRC) {
        Some(_) => user_file(env, names::NETRC, txn.dir())?,
        None => env
            .home()
            .map(|h| h.join(".netrc"))
            .and_then(|p| fsx::read_regular(&p, "a netrc").ok().flatten())
            .map(|b| Zeroizing::new(String::from_utf8_lossy(&b).into_owned())),
    };
    remember(txn, env, names::NETRC);
    let (text, warning) = clients::netrc(user.as_deref().map(String::as_str), &host, key);
    w.warnings.extend(warning);
    let path = txn.write(layout::NETRC, text.as_bytes())?;
    w.exports.set_plain(names::NETRC, path.to_string_lossy());
    w.client_files.push(path);
    let url = index.url.as_str();
    if spec.job.has(Client::Pip) {
        let var = if index.primary {
            names::PIP_INDEX_URL
        } else {
            names::PIP_EXTRA_INDEX_URL
        };
        w.exports.set_plain(var, url);
    }
    if spec.job.has(Client::Uv) {
        let path = txn.write(layout::UV_TOML, clients::uv_toml(url, index.primary).as_bytes())?;
        w.exports.set_plain(names::UV_CONFIG_FILE, path.to_string_lossy());
        w.client_files.push(path);
    }
    Ok(())
}

/// Keeps the value `var` had before the job (if any) for `platform.forget`.
fn remember(txn: &mut Txn, env: &Env, var: &str) {
    if let Some(v) = env.get(var).filter(|v| !Path::new(v).starts_with(txn.dir())) {
        txn.record_mut().restore_env.insert(var.to_owned(), v.to_owned());
    }
}

/// The content of the file a variable of the job names (a user's `CONDARC`, `RATTLER_AUTH_FILE`,
/// `NETRC`), unless it is one of this job directory's own files; the original value is kept for
/// GitHub, where cleanup puts it back for later steps.
fn user_file(env: &Env, var: &str, dir: &Path) -> Result<Option<Zeroizing<String>>> {
    let Some(path) = env.path(var) else {
        return Ok(None);
    };
    if path.parent() == Some(dir) {
        return Ok(None);
    }
    Ok(fsx::read_regular(&path, "a file named by the job's environment")?
        .map(|b| Zeroizing::new(String::from_utf8_lossy(&b).into_owned())))
}
