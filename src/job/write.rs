//! The files of a `setup`/`exec` job directory, written through the transaction: the keyring (or
//! a merge into the user's), the key file in env mode, `condarc.yml`, and `env.sh`.

use std::path::{Path, PathBuf};

use super::Txn;
use super::exports::{Exports, Value};
use super::layout;
use super::record::Mode;
use crate::condarc::{self, Channel};
use crate::env::names;
use crate::error::Result;
use crate::keyring;
use crate::secret::ApiKey;

/// What to write.
pub(crate) struct Spec<'a> {
    pub(crate) mode: Mode,
    pub(crate) domain: &'a str,
    /// Every channel pattern routed to anaconda-auth (defaults included).
    pub(crate) channels: &'a [Channel],
    /// A keyring of the user's to merge into (absolute) instead of a job keyring.
    pub(crate) keyring_path: Option<&'a Path>,
}

impl<'a> Spec<'a> {
    pub(crate) fn new(
        job: &'a crate::settings::Job,
        domain: &'a str,
        keyring_path: Option<&'a Path>,
    ) -> Self {
        Self {
            mode: job.mode,
            domain,
            channels: &job.channels,
            keyring_path,
        }
    }
}

/// What was written.
pub(crate) struct Written {
    pub(crate) exports: Exports,
    pub(crate) keyring: Option<PathBuf>,
    pub(crate) condarc: PathBuf,
    pub(crate) env_file: PathBuf,
}

/// Writes the job's files and records the exports in the transaction's record.
pub(crate) fn write_files(txn: &mut Txn, spec: &Spec<'_>, key: &ApiKey) -> Result<Written> {
    let mut exports = Exports::default();
    let condarc = txn.write(
        layout::CONDARC,
        condarc::render(spec.channels, spec.domain).as_bytes(),
    )?;
    exports.set_plain(names::CONDARC, condarc.to_string_lossy());
    let keyring = match (spec.mode, spec.keyring_path) {
        (Mode::Env | Mode::Key, _) => None,
        (_, Some(target)) => {
            let domain = spec.domain;
            txn.merge(target, domain, |original| {
                let existing = original.and_then(keyring::decode_entry);
                keyring::entry_value(domain, key, existing.as_ref())
            })?;
            Some(target.to_path_buf())
        }
        (_, None) => Some(txn.write(layout::KEYRING, keyring::render_new(spec.domain, key).as_bytes())?),
    };
    if let Some(k) = &keyring {
        exports.set_plain(names::KEYRING_PATH, k.to_string_lossy());
    }
    if spec.domain != condarc::DEFAULT_DOMAIN {
        exports.set_plain(names::DOMAIN, spec.domain);
    }
    exports.set_plain(names::UNIFIED_KEY, "true");
    if spec.mode == Mode::Keyring {
        exports.unset(names::API_KEY);
    } else {
        let key_file = txn.write(layout::API_KEY, key.expose().as_bytes())?;
        exports.set(names::API_KEY, Value::Key(key_file));
    }
    exports.set_plain(names::STATE, txn.record().path().to_string_lossy());
    let header = "# anaconda-ci-auth: source this file in later steps of the same job\n";
    let env_file = txn.write(
        layout::ENV_SH,
        format!("{header}{}", exports.shell_lines()).as_bytes(),
    )?;
    let rec = txn.record_mut();
    rec.env = exports.redacted();
    rec.channels = spec
        .channels
        .iter()
        .map(|c| match &c.auth_domain {
            Some(d) => format!("{}={d}", c.pattern),
            None => c.pattern.clone(),
        })
        .collect();
    Ok(Written {
        exports,
        keyring,
        condarc,
        env_file,
    })
}
