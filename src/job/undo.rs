//! Undoing a job directory from its record, finding the directories of the current CI job, and
//! sweeping stale ones.
//!
//! Order: leave every shared-file merge first (so the user's file is put back while the record
//! still names it), then the files, then the record, then the directory. Anything that fails
//! stops before the record goes, so a later cleanup can finish the work. Only real directories
//! and records of the current user are acted on; files outside the job directory are removed only
//! when the user named the job, and only if they still hold this job's key.

use std::path::{Path, PathBuf};

use super::merge;
use super::record::{self, Command, Record};
use crate::error::{Error, Kind, Result};
use crate::fsx;
use crate::keyring::{self, Keyring};
use crate::secret::fingerprint_of;

/// Job directories are named with this prefix, which `--sweep` looks for.
pub(crate) const DIR_PREFIX: &str = "anaconda-ci-auth-";

/// Who asked for the undo.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The user named this job (`--dir`, `--state`, the environment), or its own command failed.
    Named,
    /// A sweep of stale directories nobody named: nothing outside the job directory is removed
    /// except through its merges.
    Sweep,
}

/// What an undo did.
#[derive(Default)]
pub(crate) struct Undone {
    pub(crate) removed: Vec<PathBuf>,
    pub(crate) warnings: Vec<String>,
}

/// Undoes one record. When a file of the job cannot be removed, the record stays (naming
/// what is left) and the error is returned, so a later cleanup can finish.
pub(crate) fn undo(rec: &Record, scope: Scope) -> Result<Undone> {
    let mut out = Undone::default();
    for m in &rec.merges {
        out.warnings.extend(merge::leave(&m.target, &rec.path())?);
        if let Some(index) = &rec.merge_index {
            merge::unlist_if_done(index, &m.target);
        }
    }
    for d in &rec.merge_index_dirs {
        fsx::remove_dir_if_empty(d);
    }
    let mut left = Vec::new();
    for f in &rec.files {
        let inside = f.parent() == Some(rec.dir.as_path());
        // `docker-secret --out` writes outside the job directory: remove such a file only when
        // asked by name, and only if it still holds this job's key.
        let our_secret = !inside
            && scope == Scope::Named
            && rec.command == Command::DockerSecret
            && holds_key(f, &rec.fingerprint);
        if !inside && !our_secret {
            if f.exists() {
                out.warnings.push(format!(
                    "not removing `{}`: outside the job directory",
                    f.display()
                ));
            }
            continue;
        }
        match fsx::remove_own_file(f) {
            Ok(true) => out.removed.push(f.clone()),
            Ok(false) => {}
            Err(e) if inside => left.push((f.clone(), e)),
            Err(e) => out.warnings.push(e.message),
        }
    }
    if let Some((path, err)) = left.first() {
        let mut rest = rec.clone();
        rest.merges.clear();
        rest.files = left.iter().map(|(p, _)| p.clone()).collect();
        rest.save()?;
        return Err(Error::new(
            Kind::Filesystem,
            format!(
                "could not remove `{}` (and {} more); the job directory is kept",
                path.display(),
                left.len() - 1
            ),
        )
        .cause(&err.message)
        .hint("fix the cause and run cleanup again"));
    }
    // Leftovers of a write killed half-way.
    fsx::remove_stale_temps(&rec.dir);
    let state = rec.path();
    if fsx::remove_own_file(&state)? {
        out.removed.push(state);
    }
    if !rec.created_dir {
        return Ok(out);
    }
    if fsx::remove_dir_if_empty(&rec.dir) {
        out.removed.push(rec.dir.clone());
    } else {
        out.warnings.push(format!(
            "left `{}` in place: it contains files anaconda-ci-auth did not create",
            rec.dir.display()
        ));
    }
    Ok(out)
}

/// Whether `path` is a small regular file holding the key with `fingerprint`, bare or as a keyring.
fn holds_key(path: &Path, fingerprint: &str) -> bool {
    let Ok(Some(meta)) = fsx::regular_or_absent(path, "a secret file") else {
        return false;
    };
    if meta.len() > 64 * 1024 || !fsx::owned_by_me(&meta) {
        return false;
    }
    let Ok(Some(bytes)) = fsx::read_regular(path, "a secret file") else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes);
    if fingerprint_of(text.trim()) == fingerprint {
        return true;
    }
    Keyring::parse(&text, path).is_ok_and(|kr| {
        kr.entries()
            .any(|e| keyring::entry_api_key(e).is_some_and(|k| fingerprint_of(&k) == fingerprint))
    })
}

/// The records of job directories under `parent` (real directories of the current user only).
fn records_in(parent: &Path) -> Vec<Record> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(DIR_PREFIX))
        .filter(|e| std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir() && fsx::owned_by_me(&m)))
        .filter_map(|e| Record::load(&e.path().join(record::STATE_FILE)).ok())
        .collect()
}

/// The records under `parent` created by the CI job `job`.
pub(crate) fn find_for_ci_job(parent: &Path, job: &str) -> Vec<Record> {
    records_in(parent)
        .into_iter()
        .filter(|r| r.job.as_deref() == Some(job))
        .collect()
}

/// Which job directories count as stale.
pub(crate) struct SweepPolicy<'a> {
    /// Only one job at a time uses `parent` (so any other job's directory is stale).
    pub(crate) exclusive: bool,
    /// Elsewhere: older than this many seconds (from the record's creation time).
    pub(crate) max_age: i64,
    pub(crate) current_job: Option<&'a str>,
}

/// Undoes stale job directories under `parent`; one line per directory for the user.
pub(crate) fn sweep(parent: &Path, policy: &SweepPolicy<'_>) -> Vec<String> {
    let now = crate::jwt::now();
    let mut out = remove_unfinished(parent, policy.max_age);
    for rec in records_in(parent) {
        let other_job = rec.job.as_deref() != policy.current_job || policy.current_job.is_none();
        let stale = (policy.exclusive && other_job && rec.job.is_some() && policy.current_job.is_some())
            || now - rec.created_at >= policy.max_age;
        if !stale {
            continue;
        }
        match undo(&rec, Scope::Sweep) {
            Ok(_) => out.push(format!(
                "anaconda-ci-auth: removed stale job directory {}",
                rec.dir.display()
            )),
            Err(e) => out.push(format!(
                "anaconda-ci-auth: could not remove stale {}: {}",
                rec.dir.display(),
                e.message
            )),
        }
    }
    out
}

/// Removes job directories that never got a record (a setup killed between creating the
/// directory and writing its record): real directories of the current user holding nothing but
/// our temporary files, at least `max_age` seconds old.
fn remove_unfinished(parent: &Path, max_age: i64) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let dir = e.path();
        if !e.file_name().to_string_lossy().starts_with(DIR_PREFIX) || dir.join(record::STATE_FILE).exists() {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        let old_enough = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| i64::try_from(age.as_secs()).unwrap_or(i64::MAX) >= max_age);
        if !meta.is_dir() || !fsx::owned_by_me(&meta) || !old_enough {
            continue;
        }
        let only_ours = std::fs::read_dir(&dir).is_ok_and(|mut d| {
            d.all(|f| f.is_ok_and(|f| f.file_name().to_string_lossy().starts_with(fsx::TEMP_PREFIX)))
        });
        if !only_ours {
            continue;
        }
        fsx::remove_stale_temps(&dir);
        if fsx::remove_dir_if_empty(&dir) {
            out.push(format!(
                "anaconda-ci-auth: removed the unfinished job directory {}",
                dir.display()
            ));
        }
    }
    out
}
