//! The state file: a record of what one setup created, so `cleanup` removes exactly that.
//!
//! It holds paths, the exported variables (with the key shown as a marker), the key's fingerprint
//! and expiry, never the key. `cleanup` trusts a state file only if it carries our marker, lies in
//! the job directory it names, and that directory belongs to the current user.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind, Result};
use crate::fsx;

pub(crate) const STATE_FILE: &str = "state.json";
pub(crate) const MARKER: &str = "anaconda-ci-auth";
/// Job directories are named with this prefix, which `--sweep` looks for.
pub(crate) const DIR_PREFIX: &str = "anaconda-ci-auth-";
/// Shown instead of the key wherever an exported value is reported.
pub(crate) const REDACTED: &str = "<redacted>";

/// A keyring outside the job directory that setup merged our entry into.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct KeyringMerge {
    pub(crate) path: PathBuf,
    pub(crate) domain: String,
    /// A keyring-format file in the job directory with the entry as it was (absent: `{}`).
    pub(crate) backup: PathBuf,
    /// Whether setup created the keyring file (so cleanup may delete it once it is empty).
    pub(crate) created_file: bool,
    /// Whether the file existed but was empty (anaconda-auth creates an empty one when it probes
    /// its backend); cleanup then leaves it empty again rather than `{}`.
    #[serde(default)]
    pub(crate) original_empty: bool,
    /// The file's permission bits before setup, restored by cleanup (unix).
    #[serde(default)]
    pub(crate) original_mode: Option<u32>,
    /// Directories setup created for the keyring, removed by cleanup when empty (innermost first).
    #[serde(default)]
    pub(crate) created_dirs: Vec<PathBuf>,
    /// The file's owner (uid, gid) before setup (unix): a merge run as root into another user's
    /// keyring gives the file back to that user.
    #[serde(default)]
    pub(crate) original_owner: Option<(u32, u32)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) tool: String,
    pub(crate) format: u32,
    /// `setup`, `exec` or `docker-secret`.
    pub(crate) command: String,
    pub(crate) dir: PathBuf,
    pub(crate) created_at: i64,
    pub(crate) ci: String,
    /// The CI job that created it, when known.
    pub(crate) job: Option<String>,
    pub(crate) mode: Option<String>,
    pub(crate) domain: String,
    pub(crate) fingerprint: String,
    pub(crate) expires_at: Option<i64>,
    pub(crate) key_source: String,
    /// Files this setup created (inside `dir`, or `--out` for docker-secret).
    pub(crate) files: Vec<PathBuf>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) keyring_merge: Option<KeyringMerge>,
}

impl State {
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub(crate) fn save(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::internal("could not encode the state file").cause(e))?;
        fsx::write_atomic(&self.path(), text.as_bytes())
    }

    /// Loads and checks a state file.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = fsx::read_private(path)?.ok_or_else(|| {
            Error::new(
                Kind::Filesystem,
                format!("state file `{}` does not exist", path.display()),
            )
            .hint("it was already cleaned up, or pass the --dir that setup printed")
        })?;
        let state: Self = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                Kind::Filesystem,
                format!("`{}` is not an anaconda-ci-auth state file", path.display()),
            )
            .cause(e)
            .hint("pass the --dir or --state that setup printed")
        })?;
        if state.tool != MARKER {
            return Err(Error::new(
                Kind::Filesystem,
                format!("`{}` was not written by anaconda-ci-auth", path.display()),
            )
            .hint("cleanup only removes what anaconda-ci-auth created"));
        }
        let dir_ok = path
            .parent()
            .zip(std::fs::canonicalize(&state.dir).ok())
            .is_some_and(|(p, d)| std::fs::canonicalize(p).is_ok_and(|p| p == d));
        if !dir_ok {
            return Err(Error::new(
                Kind::Filesystem,
                format!(
                    "state file `{}` names another directory; refusing to use it",
                    path.display()
                ),
            )
            .hint("pass the job directory itself with --dir"));
        }
        let meta = std::fs::symlink_metadata(&state.dir).map_err(|e| Error::fs("inspect", &state.dir, e))?;
        if !meta.is_dir() || !fsx::owned_by_me(&meta) {
            return Err(Error::new(
                Kind::Filesystem,
                format!(
                    "`{}` is not a directory owned by the current user; refusing to touch it",
                    state.dir.display()
                ),
            )
            .hint("run cleanup as the user that ran setup"));
        }
        Ok(state)
    }
}
