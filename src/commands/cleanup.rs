//! `cleanup`: undo exactly what one setup did, found through its state file; `--sweep` does the
//! same for stale job directories of earlier jobs. Idempotent: a second run finds nothing to do.
//! Files we did not create are never removed; a directory with such files in it is left in place.

use std::path::{Path, PathBuf};

use super::Ctx;
use crate::cli::CleanupArgs;
use crate::env::names;
use crate::error::{Error, Result};
use crate::fsx;
use crate::keyring::{self, Keyring};
use crate::secret::fingerprint_of;
use crate::state::{self, State};
use crate::ui;

pub(crate) fn run(ctx: &Ctx, args: &CleanupArgs) -> Result<()> {
    let state_path: Option<PathBuf> = args.target.state_path(&ctx.env);
    let mut report = serde_json::Map::new();
    let mut removed: Vec<PathBuf> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    match &state_path {
        Some(path) if path.exists() => {
            clean(ctx, &State::load(path)?, &mut removed, &mut warnings)?;
        }
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| d.exists()) {
                return Err(Error::new(
                    crate::error::Kind::Filesystem,
                    format!(
                        "`{}` has no anaconda-ci-auth state file; refusing to touch it",
                        dir.display()
                    ),
                )
                .hint("pass the directory that setup printed"));
            }
            ui::info("anaconda-ci-auth: nothing to clean up (already removed)");
        }
        None => match ctx.platform.job_id(&ctx.env) {
            // A new shell (GitLab after_script, a Jenkins `sh` step) has no ANACONDA_CI_AUTH_STATE:
            // find this job's directories by the job id their state files record.
            Some(job) => {
                let (parent, _) = ctx.platform.job_parent(&ctx.env);
                let found = current_job_states(&parent, &job);
                if found.is_empty() && !args.sweep {
                    ui::info("anaconda-ci-auth: nothing to clean up for this job");
                }
                for st in found {
                    clean(ctx, &st, &mut removed, &mut warnings)?;
                }
            }
            None if !args.sweep => {
                return Err(Error::usage("nothing to clean up: no --dir, --state or ANACONDA_CI_AUTH_STATE").hint(
                    "run cleanup in a step that has setup's environment, or pass --dir; use --sweep for stale directories",
                ));
            }
            None => {}
        },
    }
    let mut swept = Vec::new();
    if args.sweep {
        let max_age = crate::jwt::parse_duration(&args.max_age)
            .map_err(|e| Error::usage(format!("--max-age: {e}")).hint("for example --max-age 12h"))?;
        let (parent, exclusive) = match &args.sweep_dir {
            Some(d) => (d.clone(), false),
            None => ctx.platform.job_parent(&ctx.env),
        };
        let current = ctx.platform.job_id(&ctx.env);
        swept = sweep(&parent, exclusive, max_age, current.as_deref());
        for s in &swept {
            ui::info(s);
        }
    }
    for w in &warnings {
        ui::warn(w);
    }
    if ctx.json {
        report.insert("removed".into(), serde_json::json!(removed));
        report.insert("swept".into(), serde_json::json!(swept));
        report.insert("warnings".into(), serde_json::json!(warnings));
        ui::stdout(&serde_json::to_string_pretty(&serde_json::Value::Object(report)).unwrap_or_default());
    }
    Ok(())
}

/// Undoes one setup the user asked to clean up, and reports it.
fn clean(ctx: &Ctx, st: &State, removed: &mut Vec<PathBuf>, warnings: &mut Vec<String>) -> Result<()> {
    let (r, w) = undo(st)?;
    forget_exported_key(ctx, st)?;
    removed.extend(r);
    warnings.extend(w);
    ui::info(&format!("anaconda-ci-auth: removed {}", st.dir.display()));
    Ok(())
}

/// On GitHub Actions, an env-mode setup put the key into the job environment through
/// `$GITHUB_ENV`; set it to empty for later steps (anaconda-auth treats an empty value as unset).
/// The other variables only name files that are now gone, which reads as "not logged in".
fn forget_exported_key(ctx: &Ctx, st: &State) -> Result<()> {
    if ctx.platform != crate::platform::Platform::Github || !st.env.contains_key(names::API_KEY) {
        return Ok(());
    }
    match ctx.env.path("GITHUB_ENV") {
        Some(file) => crate::platform::github_append(&file, &[(names::API_KEY, "")]),
        None => Ok(()),
    }
}

/// Undoes one state: restores a merged keyring entry, removes the files and the directory.
pub(crate) fn undo(st: &State) -> Result<(Vec<PathBuf>, Vec<String>)> {
    undo_in(st, false)
}

/// `undo`, for `sweeping` a directory nobody asked for by name: then nothing outside the job
/// directory is touched.
fn undo_in(st: &State, sweeping: bool) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut removed = Vec::new();
    let mut warnings = Vec::new();
    let mut keep = Vec::new();
    if let Some(m) = &st.keyring_merge {
        let (w, keep_backup) = restore_keyring(m, &st.fingerprint, &st.dir)?;
        warnings.extend(w);
        if keep_backup {
            keep.push(m.backup.clone());
        }
    }
    for f in &st.files {
        if keep.contains(f) {
            continue;
        }
        let inside = f.parent() == Some(st.dir.as_path());
        // `docker-secret --out` writes outside the job directory: remove such a file only when
        // asked by name, and only if it still holds this job's key.
        let our_secret =
            !inside && !sweeping && st.command == "docker-secret" && holds_key(f, &st.fingerprint);
        if !inside && !our_secret {
            warnings.push(format!(
                "not removing `{}`: outside the job directory",
                f.display()
            ));
            continue;
        }
        match std::fs::symlink_metadata(f) {
            Ok(meta) if meta.is_file() && fsx::owned_by_me(&meta) => {
                std::fs::remove_file(f).map_err(|e| Error::fs("remove", f, e))?;
                removed.push(f.clone());
            }
            Ok(_) => warnings.push(format!(
                "not removing `{}`: not a regular file of the current user",
                f.display()
            )),
            Err(_) => {}
        }
    }
    if !keep.is_empty() {
        // The state file stays too, so a later cleanup can still find the saved entry.
        return Ok((removed, warnings));
    }
    let state_path = st.path();
    if state_path.exists() {
        std::fs::remove_file(&state_path).map_err(|e| Error::fs("remove", &state_path, e))?;
        removed.push(state_path);
    }
    match std::fs::remove_dir(&st.dir) {
        Ok(()) => removed.push(st.dir.clone()),
        Err(_) if !st.dir.exists() => {}
        Err(_) => warnings.push(format!(
            "left `{}` in place: it contains files anaconda-ci-auth did not create",
            st.dir.display()
        )),
    }
    Ok((removed, warnings))
}

/// Whether `path` is a small regular file holding the key with `fingerprint`, bare or as a keyring.
fn holds_key(path: &std::path::Path, fingerprint: &str) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.len() > 64 * 1024 {
        return false;
    }
    let Ok(Some(text)) = fsx::read_private(path) else {
        return false;
    };
    if fingerprint_of(text.trim()) == fingerprint {
        return true;
    }
    Keyring::parse(&text, path).is_ok_and(|kr| {
        kr.entries()
            .any(|e| keyring::entry_api_key(e).is_some_and(|k| fingerprint_of(&k) == fingerprint))
    })
}

/// Puts back the keyring entry that setup replaced, if the entry still holds our key. Returns
/// warnings, and whether the backup must be kept (the entry was changed by someone else since, so
/// the saved entry is the only copy left).
fn restore_keyring(
    m: &state::KeyringMerge,
    fingerprint: &str,
    dir: &std::path::Path,
) -> Result<(Vec<String>, bool)> {
    let mut warnings = Vec::new();
    if !m.path.exists() {
        return Ok((warnings, false));
    }
    if m.backup.parent() != Some(dir) {
        warnings.push(format!(
            "not restoring `{}`: its backup is outside the job directory",
            m.path.display()
        ));
        return Ok((warnings, false));
    }
    let _lock = fsx::Lock::acquire(&m.path)?;
    let text = fsx::read_private(&m.path)?.unwrap_or_default();
    let mut kr = Keyring::parse(&text, &m.path)?;
    let ours = kr
        .entry(&m.domain)
        .and_then(keyring::entry_api_key)
        .is_some_and(|k| fingerprint_of(&k) == fingerprint);
    if !ours {
        warnings.push(format!(
            "left `{}` unchanged: its `{}` entry was changed after setup (by another job?); the entry it replaced is kept in `{}`",
            m.path.display(),
            m.domain,
            m.backup.display()
        ));
        return Ok((warnings, true));
    }
    let backup_text = fsx::read_private(&m.backup)?.unwrap_or_default();
    let backup = Keyring::parse(&backup_text, &m.backup)?;
    kr.set_raw(&m.domain, backup.entry(&m.domain).map(str::to_owned));
    if kr.is_empty() && m.created_file {
        std::fs::remove_file(&m.path).map_err(|e| Error::fs("remove", &m.path, e))?;
        #[cfg(not(unix))]
        {
            let mut lock_name = m.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            lock_name.push(".lock");
            let _ = std::fs::remove_file(m.path.with_file_name(lock_name));
        }
        for d in &m.created_dirs {
            // Only if empty: anything else in it is not ours.
            let _ = std::fs::remove_dir(d);
        }
        return Ok((warnings, false));
    }
    if kr.is_empty() && m.original_empty {
        fsx::write_durable(&m.path, b"")?;
    } else {
        fsx::write_durable(&m.path, kr.render().as_bytes())?;
    }
    if let Some(mode) = m.original_mode {
        fsx::set_mode_bits(&m.path, mode)?;
    }
    fsx::restore_owner(&m.path, m.original_owner)?;
    Ok((warnings, false))
}

/// The state files of job directories under `parent` created by the job `job`.
fn current_job_states(parent: &Path, job: &str) -> Vec<State> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(state::DIR_PREFIX))
        .filter_map(|e| State::load(&e.path().join(state::STATE_FILE)).ok())
        .filter(|st| st.job.as_deref() == Some(job))
        .collect()
}

/// Removes stale job directories under `parent`: in a directory only one job uses at a time
/// (`exclusive`), any other job's directory; elsewhere, those older than `max_age` seconds.
pub(crate) fn sweep(parent: &Path, exclusive: bool, max_age: i64, current_job: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return out;
    };
    let now = crate::jwt::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(state::DIR_PREFIX) {
            continue;
        }
        let dir = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        if !meta.is_dir() || !fsx::owned_by_me(&meta) {
            continue;
        }
        let Ok(st) = State::load(&dir.join(state::STATE_FILE)) else {
            continue;
        };
        let other_job = st.job.as_deref() != current_job || current_job.is_none();
        let stale = (exclusive && other_job && st.job.is_some() && current_job.is_some())
            || now - st.created_at > max_age;
        if !stale {
            continue;
        }
        match undo_in(&st, true) {
            Ok(_) => out.push(format!(
                "anaconda-ci-auth: removed stale job directory {}",
                dir.display()
            )),
            Err(e) => out.push(format!(
                "anaconda-ci-auth: could not remove stale {}: {}",
                dir.display(),
                e.message
            )),
        }
    }
    out
}

/// Best-effort removal of a job directory whose setup failed half-way: through its state file
/// when there is one, else (or when that fails) the files setup writes, by name. A keyring
/// backup is never removed this way: it may be the only copy of the user's entry.
pub(crate) fn remove_dir_contents_we_created(dir: &Path) -> Result<()> {
    if let Ok(st) = State::load(&dir.join(state::STATE_FILE))
        && undo(&st).is_ok()
    {
        return Ok(());
    }
    for name in [
        super::setup::KEYRING_FILE,
        super::setup::CONDARC_FILE,
        super::setup::ENV_FILE,
        super::setup::KEY_FILE,
    ] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let _ = std::fs::remove_dir(dir);
    Ok(())
}
