//! `setup`: write the job directory (keyring, condarc, env file, state) and hand the environment
//! to later CI steps. `exec` reuses [`write_job`] with a private directory and no export.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret as _, SecretString};

use super::{Ctx, Validated, prepare, sh_quote};
use crate::cli::{JobArgs, Mode, SetupArgs};
use crate::condarc::{self, Channel};
use crate::env::names;
use crate::error::{Error, Kind, Result};
use crate::fsx;
use crate::keyring::{self, Keyring};
use crate::platform::{self, Platform};
use crate::state::{self, KeyringMerge, State};
use crate::ui;

pub(crate) const KEYRING_FILE: &str = "keyring";
pub(crate) const CONDARC_FILE: &str = "condarc.yml";
pub(crate) const ENV_FILE: &str = "env.sh";
pub(crate) const KEY_FILE: &str = "api-key";
const BACKUP_FILE: &str = "keyring.backup";

/// A value exported to later steps.
pub(crate) enum Export {
    Plain(String),
    /// The key itself (env mode): written to `$GITHUB_ENV` directly, elsewhere by reference to the
    /// 0600 key file so it never reaches stdout.
    Key {
        file: PathBuf,
        value: SecretString,
    },
}

/// The written job: its state and the variables to export.
pub(crate) struct Job {
    pub(crate) state: State,
    pub(crate) exports: Vec<(String, Export)>,
    pub(crate) keyring_path: Option<PathBuf>,
    pub(crate) condarc_path: PathBuf,
    pub(crate) env_file: PathBuf,
    /// Variables later shells should drop: in keyring mode ANACONDA_AUTH_API_KEY, which
    /// anaconda-auth would otherwise prefer over the keyring.
    pub(crate) unset: Vec<&'static str>,
}

impl Job {
    /// The job's `unset`/`export` lines for a POSIX shell; see [`shell_lines`].
    pub(crate) fn shell_lines(&self) -> String {
        shell_lines(&self.unset, &self.exports)
    }

    /// Name → value for a child process or `$GITHUB_ENV`, the key included (zeroised on drop).
    pub(crate) fn env_pairs(&self) -> zeroize::Zeroizing<Vec<(String, String)>> {
        zeroize::Zeroizing::new(
            self.exports
                .iter()
                .map(|(n, e)| match e {
                    Export::Plain(s) => (n.clone(), s.clone()),
                    Export::Key { value, .. } => (n.clone(), value.expose_secret().to_owned()),
                })
                .collect(),
        )
    }

    /// Name → value with the key replaced by a marker; see [`redacted_env`].
    pub(crate) fn redacted_env(&self) -> BTreeMap<String, String> {
        redacted_env(&self.exports)
    }
}

/// `unset NAME` and `export NAME='value'` lines; the key by reference to its file.
fn shell_lines(unset: &[&str], exports: &[(String, Export)]) -> String {
    let mut out = String::new();
    for name in unset {
        out.push_str(&format!("unset {name}\n"));
    }
    for (name, value) in exports {
        match value {
            Export::Plain(v) => out.push_str(&format!("export {name}={}\n", sh_quote(v))),
            Export::Key { file, .. } => {
                out.push_str(&format!(
                    "export {name}=\"$(cat {})\"\n",
                    sh_quote(&file.to_string_lossy())
                ));
            }
        }
    }
    out
}

/// Name → value with the key replaced by a marker, for reports and the state file.
fn redacted_env(exports: &[(String, Export)]) -> BTreeMap<String, String> {
    exports
        .iter()
        .map(|(n, v)| {
            let shown = match v {
                Export::Plain(s) => s.clone(),
                Export::Key { .. } => state::REDACTED.to_owned(),
            };
            (n.clone(), shown)
        })
        .collect()
}

pub(crate) fn run(ctx: &Ctx, args: &SetupArgs) -> Result<()> {
    let env_mode = args.job.mode != Mode::Keyring;
    let stdout_reserved = ctx.json || args.print_env.is_some();
    let v = prepare(
        ctx,
        &args.key,
        &args.validation,
        env_mode,
        args.job.allow_untrusted_trigger,
        stdout_reserved,
    )?;
    let channels = parse_channels(&args.job)?;

    let (dir, reuse) = match &args.dir {
        Some(d) => prepare_given_dir(d)?,
        None => {
            let (parent, exclusive) = ctx.platform.job_parent(&ctx.env);
            if !args.no_sweep {
                let current = ctx.platform.job_id(&ctx.env);
                for msg in super::cleanup::sweep(&parent, exclusive, 24 * 3600, current.as_deref()) {
                    ui::info(&msg);
                }
            }
            (fsx::create_unique_dir(&parent, state::DIR_PREFIX)?, None)
        }
    };
    let job = match write_job(
        ctx,
        &v,
        &args.job,
        &channels,
        &dir,
        args.keyring_path.as_deref(),
        reuse,
        "setup",
    ) {
        Ok(job) => job,
        Err(e) => {
            // Leave nothing half-written behind.
            let _ = super::cleanup::remove_dir_contents_we_created(&dir);
            return Err(e);
        }
    };
    let mut warnings = v.warnings.clone();
    warnings.extend(condarc::conflicts(
        &ctx.env,
        &condarc::channel_list(&channels),
        Some(&job.condarc_path),
    ));
    if job.keyring_path.is_some() {
        warnings.extend(super::status::keyring_traps(&ctx.env));
    }
    if !env_mode && ctx.platform == Platform::Github && ctx.env.get(names::API_KEY).is_some() {
        // Elsewhere the env file unsets it; $GITHUB_ENV cannot unset a variable.
        warnings.push(format!(
            "{} is set in this step's environment; anaconda-auth prefers it over the keyring, so keep it out of later steps",
            names::API_KEY
        ));
    }

    // Register before anything is exported, so a failed conda step leaves no job behind.
    if args.job.register {
        let child_env = job.env_pairs();
        let remove = super::exec::removed_key_vars(&v, env_mode);
        if let Err(e) = super::register::register(ctx, args.job.conda.as_deref(), &child_env, &remove) {
            let _ = super::cleanup::undo(&job.state);
            return Err(e);
        }
    }
    if ctx.platform == Platform::Github
        && let Err(e) = export_github(ctx, &v, &job)
    {
        let _ = super::cleanup::undo(&job.state);
        return Err(e);
    }
    for w in &warnings {
        ui::warn(w);
    }

    if let Some(crate::cli::PrintEnv::Sh) = args.print_env {
        ui::stdout(&job.shell_lines());
    } else if ctx.json {
        ui::stdout(&serde_json::to_string_pretty(&setup_json(ctx, &v, &job, &warnings)).unwrap_or_default());
    }
    ui::info(&format!(
        "anaconda-ci-auth: conda is set up for this job (key {}, {})",
        v.sourced.key.fingerprint(),
        validation_phrase(&v)
    ));
    ui::info(&format!("  directory  {}", job.state.dir.display()));
    if let Some(k) = &job.keyring_path {
        ui::info(&format!("  keyring    {}", k.display()));
    }
    ui::info(&format!("  condarc    {}", job.condarc_path.display()));
    if let Some(e) = v.expires_at() {
        ui::info(&format!("  expires    {e}"));
    }
    match ctx.platform {
        Platform::Github => ui::info("  the variables are exported to later steps through $GITHUB_ENV"),
        _ if args.print_env.is_some() => {}
        _ => ui::info(&format!(
            "  load the environment in later steps with: . {}",
            sh_quote(&job.env_file.to_string_lossy())
        )),
    }
    Ok(())
}

fn validation_phrase(v: &Validated) -> String {
    match (&v.mode, v.account.as_ref().and_then(|a| a.username.as_deref())) {
        (crate::cli::ValidateMode::Online, Some(u)) => format!("validated online as {u}"),
        (crate::cli::ValidateMode::Online, None) => "validated online".into(),
        (crate::cli::ValidateMode::Offline, _) => "checked offline".into(),
        (crate::cli::ValidateMode::None, _) => "not validated".into(),
    }
}

pub(crate) fn parse_channels(job: &JobArgs) -> Result<Vec<Channel>> {
    job.channels
        .iter()
        .flat_map(|c| {
            c.split(['\n', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|c| {
            Channel::parse(&c).map_err(|e| {
                Error::usage(e).hint("for example --channel 'https://repo.example.com/*=anaconda.com'")
            })
        })
        .collect()
}

/// Checks a `--dir` given by the user: a new directory is created; an existing one must be ours
/// and either empty or a job directory of an earlier setup (which is then updated).
fn prepare_given_dir(dir: &Path) -> Result<(PathBuf, Option<State>)> {
    match std::fs::symlink_metadata(dir) {
        Err(_) => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fsx::create_dir_all_private(parent)?;
            }
            fsx::create_private_dir(dir)?;
            Ok((absolute(dir), None))
        }
        Ok(meta) => {
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
            let state_path = dir.join(state::STATE_FILE);
            if state_path.exists() {
                return Ok((absolute(dir), Some(State::load(&state_path)?)));
            }
            let empty = std::fs::read_dir(dir)
                .map(|mut r| r.next().is_none())
                .unwrap_or(false);
            if !empty {
                return Err(Error::new(
                    Kind::Filesystem,
                    format!("refusing to write into `{}`: it is not empty and was not created by anaconda-ci-auth", dir.display()),
                )
                .hint("pass a new or empty directory with --dir"));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
            }
            Ok((absolute(dir), None))
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Writes keyring (or merges it), key file, condarc, env file and state into `dir`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_job(
    ctx: &Ctx,
    v: &Validated,
    job: &JobArgs,
    channels: &[Channel],
    dir: &Path,
    keyring_path: Option<&Path>,
    previous: Option<State>,
    command: &str,
) -> Result<Job> {
    let key = v.sourced.key.expose();
    let mut files = Vec::new();
    let mut exports: Vec<(String, Export)> = Vec::new();
    let mut merge = previous.as_ref().and_then(|p| p.keyring_merge.clone());
    let mut written_keyring = None;

    // Before anything with the key is written, record every file this run may write (and what an
    // earlier run here wrote), so that whatever fails below, cleanup can find and remove them all.
    let mut planned: Vec<PathBuf> = previous.as_ref().map(|p| p.files.clone()).unwrap_or_default();
    let mut plan = |p: PathBuf| {
        if !planned.contains(&p) {
            planned.push(p);
        }
    };
    match (job.mode, keyring_path) {
        (Mode::Env, _) => {}
        (_, Some(_)) => plan(dir.join(BACKUP_FILE)),
        (_, None) => plan(dir.join(KEYRING_FILE)),
    }
    if job.mode != Mode::Keyring {
        plan(dir.join(KEY_FILE));
    }
    plan(dir.join(CONDARC_FILE));
    plan(dir.join(ENV_FILE));
    let provisional = |merge: Option<KeyringMerge>| {
        new_state(
            ctx,
            v,
            job,
            dir,
            previous.as_ref(),
            command,
            planned.clone(),
            BTreeMap::new(),
            merge,
        )
    };
    provisional(merge.clone()).save()?;

    if job.mode != Mode::Env {
        let path = match keyring_path {
            Some(target) => {
                let target = expand_home(target, &ctx.env);
                let merged = merge_keyring(&target, &v.domain, key, dir, merge)?;
                // Record the merge at once, so a failure below still lets cleanup restore the keyring.
                provisional(Some(merged.clone())).save()?;
                merge = Some(merged);
                target
            }
            None => {
                let path = dir.join(KEYRING_FILE);
                fsx::write_atomic(&path, keyring::render_new(&v.domain, key).as_bytes())?;
                files.push(path.clone());
                path
            }
        };
        exports.push((
            names::KEYRING_PATH.into(),
            Export::Plain(path.to_string_lossy().into_owned()),
        ));
        written_keyring = Some(path);
    }
    if let Some(m) = &merge {
        files.push(m.backup.clone());
    }
    let condarc_path = dir.join(CONDARC_FILE);
    fsx::write_atomic(
        &condarc_path,
        condarc::render(&condarc::channel_list(channels), &v.domain).as_bytes(),
    )?;
    files.push(condarc_path.clone());
    exports.insert(
        0,
        (
            names::CONDARC.into(),
            Export::Plain(condarc_path.to_string_lossy().into_owned()),
        ),
    );
    if v.domain != condarc::DEFAULT_DOMAIN {
        exports.push((names::DOMAIN.into(), Export::Plain(v.domain.clone())));
    }
    exports.push((names::UNIFIED_KEY.into(), Export::Plain("true".into())));
    if job.mode != Mode::Keyring {
        let key_file = dir.join(KEY_FILE);
        fsx::write_atomic(&key_file, key.as_bytes())?;
        files.push(key_file.clone());
        exports.push((
            names::API_KEY.into(),
            Export::Key {
                file: key_file,
                value: SecretString::from(key.to_owned()),
            },
        ));
    }
    let state_path = dir.join(state::STATE_FILE);
    exports.push((
        names::STATE.into(),
        Export::Plain(state_path.to_string_lossy().into_owned()),
    ));

    let env_file = dir.join(ENV_FILE);
    let unset = if job.mode == Mode::Keyring {
        vec![names::API_KEY]
    } else {
        Vec::new()
    };
    let header = "# anaconda-ci-auth: source this file in later steps of the same job\n";
    fsx::write_atomic(
        &env_file,
        format!("{header}{}", shell_lines(&unset, &exports)).as_bytes(),
    )?;
    files.push(env_file.clone());

    // A setup run again in the same directory: remove what the earlier one wrote and this one did
    // not (an `api-key` with an old key when switching to keyring mode, a keyring when switching to env).
    if let Some(prev) = &previous {
        for f in &prev.files {
            if !files.contains(f) && f.parent() == Some(dir) && f.is_file() {
                std::fs::remove_file(f).map_err(|e| Error::fs("remove", f, e))?;
            }
        }
    }
    let state = new_state(
        ctx,
        v,
        job,
        dir,
        previous.as_ref(),
        command,
        files,
        redacted_env(&exports),
        merge,
    );
    state.save()?;
    Ok(Job {
        state,
        exports,
        keyring_path: written_keyring,
        condarc_path,
        env_file,
        unset,
    })
}

#[allow(clippy::too_many_arguments)]
fn new_state(
    ctx: &Ctx,
    v: &Validated,
    job: &JobArgs,
    dir: &Path,
    previous: Option<&State>,
    command: &str,
    files: Vec<PathBuf>,
    env: BTreeMap<String, String>,
    keyring_merge: Option<KeyringMerge>,
) -> State {
    State {
        tool: state::MARKER.into(),
        format: 1,
        command: command.into(),
        dir: dir.to_path_buf(),
        created_at: previous.map_or_else(crate::jwt::now, |p| p.created_at),
        ci: ctx.platform.name().into(),
        job: ctx.platform.job_id(&ctx.env),
        mode: Some(format!("{:?}", job.mode).to_lowercase()),
        domain: v.domain.clone(),
        fingerprint: v.sourced.key.fingerprint(),
        expires_at: v.claims.as_ref().map(|c| c.exp),
        key_source: v.sourced.source.clone(),
        files,
        env,
        keyring_merge,
    }
}

fn expand_home(p: &Path, env: &crate::env::Env) -> PathBuf {
    match (p.strip_prefix("~"), env.home()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => p.to_path_buf(),
    }
}

/// Merges our entry into an existing keyring under a lock, saving the previous entry to a backup
/// in the job directory so cleanup can restore it.
fn merge_keyring(
    target: &Path,
    domain: &str,
    key: &str,
    dir: &Path,
    previous: Option<KeyringMerge>,
) -> Result<KeyringMerge> {
    let mut created_dirs = Vec::new();
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut missing = parent;
        while !missing.exists() {
            created_dirs.push(missing.to_path_buf());
            match missing.parent() {
                Some(p) if !p.as_os_str().is_empty() => missing = p,
                _ => break,
            }
        }
        fsx::create_dir_all_private(parent)?;
        fsx::check_parent(parent)?;
    }
    fsx::refuse_symlink(target)?;
    let _lock = fsx::Lock::acquire(target)?;
    let existing = fsx::read_private(target)?;
    let text = existing.as_deref().map(String::as_str).unwrap_or("");
    let mut kr = Keyring::parse(text, target)?;
    let backup = dir.join(BACKUP_FILE);
    let merge = match previous {
        Some(p) => p,
        None => {
            let mut saved = Keyring::parse("", target)?;
            if let Some(old) = kr.entry(domain) {
                saved.set_raw(domain, Some(old.to_owned()));
            }
            fsx::write_atomic(&backup, saved.render().as_bytes())?;
            KeyringMerge {
                path: target.to_path_buf(),
                domain: domain.into(),
                backup,
                created_file: existing.is_none(),
                original_empty: existing.as_ref().is_some_and(|t| t.trim().is_empty()),
                original_mode: fsx::mode_bits(target),
                original_owner: fsx::owner(target),
                created_dirs,
            }
        }
    };
    kr.set_key(domain, key);
    fsx::write_durable(target, kr.render().as_bytes())?;
    // Replacing the file makes it ours; a root job merging into a user's keyring gives it back.
    fsx::restore_owner(target, merge.original_owner)?;
    Ok(merge)
}

fn export_github(ctx: &Ctx, v: &Validated, job: &Job) -> Result<()> {
    let env_entries = job.env_pairs();
    if let Some(file) = ctx.env.path("GITHUB_ENV") {
        let pairs: Vec<(&str, &str)> = env_entries
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        platform::github_append(&file, &pairs)?;
    }
    let path_str = |p: &Path| p.to_string_lossy().into_owned();
    let outputs = vec![
        ("dir", path_str(&job.state.dir)),
        (
            "keyring-path",
            job.keyring_path.as_deref().map(path_str).unwrap_or_default(),
        ),
        ("condarc-path", path_str(&job.condarc_path)),
        ("state-path", path_str(&job.state.path())),
        ("env-file", path_str(&job.env_file)),
        ("fingerprint", v.sourced.key.fingerprint()),
        ("expires-at", v.expires_at().unwrap_or_default()),
        (
            "username",
            v.account
                .as_ref()
                .and_then(|a| a.username.clone())
                .unwrap_or_default(),
        ),
    ];
    if let Some(file) = ctx.env.path("GITHUB_OUTPUT") {
        let pairs: Vec<(&str, &str)> = outputs.iter().map(|(n, v)| (*n, v.as_str())).collect();
        platform::github_append(&file, &pairs)?;
    }
    if let Some(file) = ctx.env.path("GITHUB_STEP_SUMMARY") {
        let mut md = String::from("### anaconda-ci-auth\n\n| | |\n|---|---|\n");
        for (n, val) in &outputs {
            if !val.is_empty() {
                md.push_str(&format!("| {n} | `{}` |\n", val.replace('|', "\\|")));
            }
        }
        md.push_str(&format!("| validation | {} |\n", validation_phrase(v)));
        for (n, val) in job.redacted_env() {
            md.push_str(&format!("| env `{n}` | `{}` |\n", val.replace('|', "\\|")));
        }
        md.push('\n');
        let text = ui::redact(&md);
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&file)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .map_err(|e| Error::fs("append to", &file, e))?;
    }
    Ok(())
}

fn setup_json(ctx: &Ctx, v: &Validated, job: &Job, warnings: &[String]) -> serde_json::Value {
    serde_json::json!({
        "dir": job.state.dir,
        "keyring_path": job.keyring_path,
        "condarc_path": job.condarc_path,
        "state_path": job.state.path(),
        "env_file": job.env_file,
        "env": job.redacted_env(),
        "mode": job.state.mode,
        "fingerprint": v.sourced.key.fingerprint(),
        "expires_at": v.expires_at(),
        "domain": v.domain,
        "key_source": v.sourced.source,
        "validation": v.validation_json(),
        "ci": ctx.platform.name(),
        "warnings": warnings,
    })
}
