//! The job directory: its layout, the transaction that writes it, merges into shared credential
//! files, the record of what was written, undo, finding a CI job's directories, and sweep.
//!
//! Every command that writes anything with the key goes through a [`Txn`]:
//! 1. the directory is created (0700) or adopted, and the record is written before anything else;
//! 2. each file is added to the record before it is written (record first), and each merge into
//!    a shared file is recorded before the merge starts (see [`merge`]);
//! 3. [`Txn::commit`] writes the final record; a transaction dropped without a commit undoes
//!    everything through the record, and a failed undo is reported, never ignored.
//!
//! `cleanup` and `--sweep` undo a committed job through the same record ([`undo`]).

pub(crate) mod exports;
pub(crate) mod merge;
pub(crate) mod record;
pub(crate) mod undo;
pub(crate) mod write;

use std::path::{Path, PathBuf};

pub(crate) use merge::tidy as tidy_merges;
pub(crate) use record::Record;
pub(crate) use undo::{DIR_PREFIX, Scope, SweepPolicy, Undone, find_for_ci_job, sweep};

use crate::error::{Error, Kind, Result};
use crate::fsx;
use crate::ui;

/// File names inside a job directory.
pub(crate) mod layout {
    pub(crate) const KEYRING: &str = "keyring";
    pub(crate) const CONDARC: &str = "condarc.yml";
    pub(crate) const ENV_SH: &str = "env.sh";
    pub(crate) const API_KEY: &str = "api-key";
    /// rattler's (pixi, rattler-build) credentials.
    pub(crate) const RATTLER_AUTH: &str = "rattler-auth.json";
    /// pip's and uv's credentials for the wheels index.
    pub(crate) const NETRC: &str = "netrc";
    /// uv's configuration naming the wheels index.
    pub(crate) const UV_TOML: &str = "uv.toml";
    pub(crate) use super::record::STATE_FILE as STATE;
}

/// Creates a new private job directory under `parent`.
pub(crate) fn create_dir(parent: &Path) -> Result<PathBuf> {
    fsx::create_unique_dir(parent, DIR_PREFIX)
}

/// A directory the user named with `--dir`: created when missing; an existing one must be a
/// real directory of the current user and either empty or a job directory of an earlier setup
/// (whose record is returned). Returns the absolute path and whether we created it.
pub(crate) fn adopt_dir(dir: &Path) -> Result<(PathBuf, bool, Option<Record>)> {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsx::create_dir_all_private(parent)?;
        }
        fsx::create_private_dir(dir)?;
        return Ok((absolute(dir), true, None));
    };
    if meta.file_type().is_symlink() || !meta.is_dir() || !fsx::owned_by_me(&meta) {
        return Err(Error::new(
            Kind::Filesystem,
            format!(
                "refusing to use `{}`: not a directory of the current user",
                dir.display()
            ),
        )
        .hint("pass a new path with --dir, or omit it to get a fresh private directory"));
    }
    let dir = absolute(dir);
    let state = dir.join(layout::STATE);
    if std::fs::symlink_metadata(&state).is_ok() {
        let rec = Record::load(&state)?;
        let created = rec.created_dir;
        return Ok((dir, created, Some(rec)));
    }
    let empty = std::fs::read_dir(&dir).is_ok_and(|mut r| r.next().is_none());
    if !empty {
        return Err(Error::new(
            Kind::Filesystem,
            format!(
                "refusing to write into `{}`: it is not empty and was not created by anaconda-ci-auth",
                dir.display()
            ),
        )
        .hint("pass a new or empty directory with --dir"));
    }
    fsx::make_private_dir(&dir)?;
    Ok((dir, false, None))
}

/// The live setups of the current job, other than the one in `except`: the one `state`
/// (ANACONDA_CI_AUTH_STATE) names, and those under `parent` recorded with the job id `job`.
pub(crate) fn earlier_setups(
    state: Option<&Path>,
    parent: &Path,
    job: Option<&str>,
    except: Option<&Path>,
) -> Vec<Record> {
    let mut found: Vec<Record> = Vec::new();
    if let Some(Ok(Found::Record(rec))) = state.map(find) {
        found.push(*rec);
    }
    if let Some(job) = job {
        found.extend(find_for_ci_job(parent, job));
    }
    let same = |a: &Path, b: &Path| a == b || std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok();
    let mut out: Vec<Record> = Vec::new();
    for rec in found {
        let ours = rec.command == record::Command::Setup;
        let excepted = except.is_some_and(|d| same(d, &rec.dir));
        if ours && !excepted && !out.iter().any(|r| same(&r.dir, &rec.dir)) {
            out.push(rec);
        }
    }
    out
}

/// What is at the state path a user named.
pub(crate) enum Found {
    Record(Box<Record>),
    /// Nothing left: already cleaned up (or an empty directory the user made).
    Gone,
    /// A directory with other files but no record: not ours to touch.
    Foreign(PathBuf),
}

/// Looks at `state`: a record (checked), nothing, or a directory of someone else's files.
pub(crate) fn find(state: &Path) -> Result<Found> {
    if std::fs::symlink_metadata(state).is_ok_and(|m| m.is_dir()) {
        return Err(Error::new(
            Kind::Usage,
            format!("`{}` is a directory, not a state file", state.display()),
        )
        .hint(format!(
            "pass the job directory with --dir, or its state file with --state {}",
            state.join(layout::STATE).display()
        )));
    }
    if std::fs::symlink_metadata(state).is_ok() {
        return Record::load(state).map(|r| Found::Record(Box::new(r)));
    }
    // An empty job directory of ours is what a cleanup killed after removing the record leaves.
    if let Some(dir) = state.parent()
        && dir
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(DIR_PREFIX))
        && std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && fsx::owned_by_me(&m))
    {
        fsx::remove_dir_if_empty(dir);
    }
    match state.parent() {
        Some(dir) if std::fs::read_dir(dir).is_ok_and(|mut e| e.next().is_some()) => {
            Ok(Found::Foreign(dir.to_path_buf()))
        }
        _ => Ok(Found::Gone),
    }
}

/// A job directory being written; undone on drop unless committed.
pub(crate) struct Txn {
    record: Record,
    /// What this run wrote and joined (a re-run in the same directory removes the rest at commit).
    written: Vec<PathBuf>,
    joined: Vec<record::Merge>,
    open: bool,
}

impl Txn {
    /// Starts the transaction: the record is saved before anything else is written. If even that
    /// fails, a directory the command created is removed again.
    pub(crate) fn begin(record: Record) -> Result<Self> {
        if let Err(e) = record.save() {
            if record.created_dir {
                fsx::remove_stale_temps(&record.dir);
                fsx::remove_dir_if_empty(&record.dir);
            }
            return Err(e);
        }
        Ok(Self {
            record,
            written: Vec::new(),
            joined: Vec::new(),
            open: true,
        })
    }

    pub(crate) fn record(&self) -> &Record {
        &self.record
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.record.dir
    }

    /// Adds `path` to the record (saved) before it is written.
    fn plan(&mut self, path: &Path) -> Result<()> {
        if !self.record.files.iter().any(|f| f == path) {
            self.record.files.push(path.to_path_buf());
            self.record.save()?;
        }
        self.written.push(path.to_path_buf());
        Ok(())
    }

    /// Writes a private file (0600) named `name` in the job directory.
    pub(crate) fn write(&mut self, name: &str, contents: &[u8]) -> Result<PathBuf> {
        let path = self.record.dir.join(name);
        self.plan(&path)?;
        fsx::write_atomic(&path, contents)?;
        Ok(path)
    }

    /// Writes a new private file outside the job directory (`docker-secret --out`); it must not exist.
    pub(crate) fn write_new_outside(&mut self, path: &Path, contents: &[u8]) -> Result<()> {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(Error::new(
                Kind::Filesystem,
                format!("`{}` already exists; refusing to replace it", path.display()),
            )
            .hint("pass a new path, or remove the old file first"));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsx::check_parent(parent)?;
        }
        self.plan(path)?;
        fsx::write_new(path, contents)
    }

    /// Merges this job's entries into the shared file `target` (absolute). `make_entries` gets
    /// the file as it was before any job changed it.
    pub(crate) fn merge(
        &mut self,
        target: &Path,
        format: merge::Format,
        index: Option<&Path>,
        make_entries: impl FnOnce(&merge::Doc) -> merge::Entries,
    ) -> Result<()> {
        let m = record::Merge {
            target: target.to_path_buf(),
            format,
        };
        if !self.record.merges.contains(&m) {
            self.record.merges.push(m.clone());
            self.record.save()?;
        }
        // Only a recovery aid: without it a wiped job directory is recovered by the next merge
        // into the same file instead of by the next sweep.
        if let Some(index) = index {
            match merge::list_in_index(index, target) {
                Ok(created) => {
                    self.record.merge_index = Some(index.to_path_buf());
                    self.record.merge_index_dirs.extend(created);
                    self.record.save()?;
                }
                Err(e) => ui::warn(&format!(
                    "could not list `{}` for --sweep in `{}`: {}",
                    target.display(),
                    index.display(),
                    e.message
                )),
            }
        }
        merge::join(target, format, &self.record.path(), make_entries)?;
        self.joined.push(m);
        Ok(())
    }

    /// Changes the record before the commit (exports, channels).
    pub(crate) fn record_mut(&mut self) -> &mut Record {
        &mut self.record
    }

    /// Finishes the job directory: what an earlier run in the same directory wrote and this one
    /// did not is removed, and the final record is saved.
    pub(crate) fn commit(mut self) -> Result<Record> {
        let stale: Vec<PathBuf> = self
            .record
            .files
            .iter()
            .filter(|f| !self.written.contains(f))
            .cloned()
            .collect();
        for m in self.record.merges.clone() {
            if !self.joined.contains(&m) {
                merge::leave(&m.target, &self.record.path())?;
            }
        }
        for f in &stale {
            if f.parent() == Some(self.record.dir.as_path()) {
                fsx::remove_own_file(f)?;
            }
        }
        self.record.files.retain(|f| !stale.contains(f));
        self.record.merges = self.joined.clone();
        self.record.save()?;
        self.open = false;
        Ok(self.record.clone())
    }

    /// Undoes everything now (the end of `exec`, or a failure a caller wants to report).
    pub(crate) fn discard(mut self) -> Result<Undone> {
        self.open = false;
        undo::undo(&self.record, Scope::Named)
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        self.open = false;
        if let Err(e) = undo::undo(&self.record, Scope::Named) {
            ui::warn(&format!(
                "could not undo the unfinished job directory `{}`: {}; run `anaconda-ci-auth cleanup --dir {}`",
                self.record.dir.display(),
                e.message,
                self.record.dir.display()
            ));
        }
    }
}
