//! The job record (`state.json`): what one command created, so `cleanup` undoes exactly that.
//!
//! It holds paths, the exported variables (with the key shown as a marker), the key's fingerprint
//! and expiry, never the key. It is written before anything that needs undoing and rewritten
//! before each further file (record first), so whatever stops a command half-way, the record
//! names everything there is to undo. A record is trusted only if it carries our marker, is a
//! regular file of the current user inside the job directory it names, and that directory is a
//! real directory of the current user.
//!
//! Versioning: `format` is [`FORMAT`]; a reader refuses any other number with a message naming
//! both, rather than guessing (job directories do not outlive the job that wrote them, so a
//! version change needs no migration; a stale one is removed by hand or by the same version).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind, Result};
use crate::fsx;

/// The record's file name inside a job directory.
pub(crate) const STATE_FILE: &str = "state.json";
/// The `tool` marker every record carries.
pub(crate) const MARKER: &str = "anaconda-ci-auth";
/// The record format this version reads and writes.
pub(crate) const FORMAT: u32 = 2;

/// The command that wrote a job directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Command {
    Setup,
    Exec,
    DockerSecret,
}

/// What the job directory provides: how anaconda-auth gets the key, or which kind of secret file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    Keyring,
    Env,
    Both,
    /// `docker-secret --kind key`.
    Key,
}

impl Mode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::Env => "env",
            Self::Both => "both",
            Self::Key => "key",
        }
    }
}

/// A shared credential file outside the job directory that this job merged entries into.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Merge {
    /// The shared file, absolute.
    pub(crate) target: PathBuf,
    pub(crate) format: super::merge::Format,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) tool: String,
    pub(crate) format: u32,
    pub(crate) command: Command,
    pub(crate) dir: PathBuf,
    pub(crate) created_at: i64,
    pub(crate) ci: String,
    /// The CI job that created it, when known.
    pub(crate) job: Option<String>,
    pub(crate) mode: Mode,
    pub(crate) domain: String,
    pub(crate) fingerprint: String,
    pub(crate) expires_at: Option<i64>,
    pub(crate) key_source: String,
    /// Files this command created or is about to create (inside `dir`, or `--out` for
    /// docker-secret); listed before they are written.
    pub(crate) files: Vec<PathBuf>,
    /// Extra channel patterns routed to anaconda-auth, with their auth domain.
    #[serde(default)]
    pub(crate) channels: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
    /// Shared files this job merged into (recorded before the merge starts).
    #[serde(default)]
    pub(crate) merges: Vec<Merge>,
    /// Whether the command created `dir` (a `--dir` the user made stays when cleaned up).
    pub(crate) created_dir: bool,
    /// The package clients configured.
    #[serde(default)]
    pub(crate) clients: Vec<crate::settings::Client>,
    /// Variables the job replaced, with their values before ("" when unset): put back for later
    /// steps on platforms that keep the job's exports (GitHub).
    #[serde(default)]
    pub(crate) restore_env: BTreeMap<String, String>,
    /// The caller's merge index the merges are listed in, and the directories the job created
    /// for it (removed again when empty).
    #[serde(default)]
    pub(crate) merge_index: Option<PathBuf>,
    #[serde(default)]
    pub(crate) merge_index_dirs: Vec<PathBuf>,
}

impl Record {
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub(crate) fn save(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| {
                Error::new(
                    crate::error::Kind::Filesystem,
                    format!("a path under `{}` is not valid UTF-8", self.dir.display()),
                )
                .cause(e)
                .hint("the state file names every path as text: use --dir, --keyring-path and TMPDIR paths that are UTF-8")
            })?;
        fsx::write_atomic(&self.path(), text.as_bytes())
    }

    /// Loads and checks a record.
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let not_ours = |why: &str| {
            Error::new(
                Kind::Filesystem,
                format!("refusing to use `{}`: {why}", path.display()),
            )
            .hint("run cleanup as the user that ran setup, and pass the --dir that setup printed")
        };
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && (!meta.is_file() || !fsx::owned_by_me(&meta))
        {
            return Err(not_ours("it is not a regular file of the current user"));
        }
        let text = fsx::read_private(path)?.ok_or_else(|| {
            Error::new(
                Kind::Filesystem,
                format!("state file `{}` does not exist", path.display()),
            )
            .hint("it was already cleaned up, or pass the --dir that setup printed")
        })?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::new(
                Kind::Filesystem,
                format!("`{}` is not an anaconda-ci-auth state file", path.display()),
            )
            .cause(e)
            .hint("pass the --dir or --state that setup printed")
        })?;
        if value.get("tool").and_then(serde_json::Value::as_str) != Some(MARKER) {
            return Err(Error::new(
                Kind::Filesystem,
                format!("`{}` was not written by anaconda-ci-auth", path.display()),
            )
            .hint("cleanup only removes what anaconda-ci-auth created"));
        }
        let format = value.get("format").and_then(serde_json::Value::as_u64);
        if format != Some(u64::from(FORMAT)) {
            return Err(Error::new(
                Kind::Filesystem,
                format!(
                    "`{}` has state format {}, this anaconda-ci-auth reads format {FORMAT}",
                    path.display(),
                    format.map_or_else(|| "?".to_owned(), |f| f.to_string())
                ),
            )
            .hint("clean it up with the anaconda-ci-auth version that wrote it, or remove the directory by hand"));
        }
        let record: Self = serde_json::from_value(value).map_err(|e| {
            Error::new(
                Kind::Filesystem,
                format!("`{}` is not a valid anaconda-ci-auth state file", path.display()),
            )
            .cause(e)
            .hint("pass the --dir or --state that setup printed")
        })?;
        let dir_ok = path
            .parent()
            .zip(std::fs::canonicalize(&record.dir).ok())
            .is_some_and(|(p, d)| std::fs::canonicalize(p).is_ok_and(|p| p == d));
        if !dir_ok {
            return Err(not_ours("it names another directory"));
        }
        let meta =
            std::fs::symlink_metadata(&record.dir).map_err(|e| Error::fs("inspect", &record.dir, e))?;
        if !meta.is_dir() || !fsx::owned_by_me(&meta) {
            return Err(not_ours(
                "its directory is not a real directory of the current user",
            ));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> Record {
        Record {
            tool: MARKER.into(),
            format: FORMAT,
            command: Command::Setup,
            dir: dir.to_path_buf(),
            created_at: 1,
            ci: "none".into(),
            job: None,
            mode: Mode::Keyring,
            domain: "anaconda.com".into(),
            fingerprint: "sha256:00".into(),
            expires_at: None,
            key_source: "env".into(),
            files: vec![],
            channels: vec![],
            env: BTreeMap::new(),
            merges: vec![],
            created_dir: true,
            clients: vec![],
            restore_env: BTreeMap::new(),
            merge_index: None,
            merge_index_dirs: vec![],
        }
    }

    #[test]
    fn round_trips_and_refuses_other_formats() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("job");
        fsx::create_private_dir(&dir).unwrap();
        let rec = sample(&dir);
        rec.save().unwrap();
        let back = Record::load(&rec.path()).unwrap();
        assert_eq!(back.command, Command::Setup);
        assert_eq!(back.mode, Mode::Keyring);
        let text = std::fs::read_to_string(rec.path()).unwrap();
        std::fs::write(rec.path(), text.replace("\"format\": 2", "\"format\": 1")).unwrap();
        let err = Record::load(&rec.path()).unwrap_err();
        assert!(err.message.contains("state format 1"), "{}", err.message);
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_symlinked_record() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("job");
        fsx::create_private_dir(&dir).unwrap();
        let other = tmp.path().join("elsewhere.json");
        sample(&dir).save().unwrap();
        std::fs::rename(dir.join(STATE_FILE), &other).unwrap();
        std::os::unix::fs::symlink(&other, dir.join(STATE_FILE)).unwrap();
        assert!(Record::load(&dir.join(STATE_FILE)).is_err());
    }
}
