//! `setup`: check the key, write the job directory (keyring or a merge into the user's, condarc,
//! env file, record), optionally register, and hand the environment to later CI steps.

use std::path::PathBuf;

use crate::check::{self, CheckedKey, Purpose};
use crate::cli::{PrintEnv, SetupArgs};
use crate::context::Ctx;
use crate::env::names;
use crate::error::Result;
use crate::job::exports::sh_quote;
use crate::job::record::{Command, Record};
use crate::job::write::{self, Spec};
use crate::job::{self, SweepPolicy, Txn};
use crate::platform::Exported;
use crate::{conda, doctor, report, settings, ui};

pub(crate) fn run(ctx: &Ctx, args: &SetupArgs) -> Result<()> {
    let validation = settings::validation(&args.validation, &ctx.env)?;
    let spec = settings::job(&args.job, &ctx.env)?;
    let summary = settings::summary(args.no_summary, &ctx.env)?;
    let keyring_path = match &args.keyring_path {
        Some(p) => Some(settings::keyring_path(p, &ctx.env)?),
        None => None,
    };
    let purpose = Purpose::Job {
        env_mode: spec.env_mode(),
        allow_untrusted: spec.allow_untrusted,
    };
    let k = check::check(ctx, &args.key, &validation, purpose)?;
    let env = replace_earlier_setups(ctx, args)?;

    let mut record = k.new_record(ctx, spec.mode, PathBuf::new(), true, Command::Setup);
    (record.dir, record.created_dir) = job_dir(ctx, args, &mut record)?;
    let mut txn = Txn::begin(record)?;
    let written = write::write_files(
        &mut txn,
        &Spec::new(&spec, &k.domain, keyring_path.as_deref()),
        k.key(),
        &env,
    )?;
    let pairs = written.exports.pairs(k.key());
    // Register before anything is exported: a failed conda step leaves no job behind.
    if spec.register {
        conda::register(
            &ctx.env,
            spec.conda.as_deref(),
            &pairs,
            &k.removed_key_vars(spec.env_mode()),
        )?;
    }
    let exported = ctx.platform.export(&ctx.env, &pairs)?;
    let mut warnings = warnings(ctx, &k, &spec, &written, exported);
    if args.keyring_path.is_none() && !spec.env_mode() {
        warnings.extend(keys_the_keyring_lacks(&spec, &k.domain));
    }
    let load_hint = match exported {
        Exported::ToLaterSteps(how) => Some(format!(
            "  the variables are exported to later steps through {how}"
        )),
        Exported::ByEnvFile if args.print_env.is_some() => None,
        Exported::ByEnvFile => Some(format!(
            "  load the environment in later steps with: . {}",
            sh_quote(&written.env_file.to_string_lossy())
        )),
    };
    let r = report::Setup {
        dir: txn.dir().to_path_buf(),
        keyring_path: written.keyring.clone(),
        condarc_path: written.condarc.clone(),
        clients: spec.clients.iter().map(|c| c.name()).collect(),
        client_files: written.client_files.clone(),
        state_path: txn.record().path(),
        env_file: written.env_file.clone(),
        env: written.exports.redacted(),
        mode: spec.mode.as_str(),
        key: k.facts(ctx, warnings),
        validation_phrase: k.validation_phrase(),
        load_hint,
    };
    let username = k.account.as_ref().and_then(|a| a.username.as_deref());
    let outputs = r.outputs(username);
    ctx.platform.publish(
        &ctx.env,
        &outputs,
        summary.then(|| r.summary(&outputs)).as_deref(),
    )?;
    txn.commit()?;
    for w in &r.key.warnings {
        ui::warn(w);
    }
    match args.print_env {
        Some(PrintEnv::Sh) => ui::stdout(&written.exports.shell_lines()),
        None if ctx.json => ui::json(&r),
        None => {}
    }
    ui::lines(&r.human());
    Ok(())
}

/// The key's warnings, then traps that would make anaconda-auth or conda ignore the job.
fn warnings(
    ctx: &Ctx,
    k: &CheckedKey,
    spec: &settings::Job,
    written: &write::Written,
    exported: Exported,
) -> Vec<String> {
    let mut warnings = k.warnings.clone();
    warnings.extend(written.warnings.iter().cloned());
    if written.condarc.is_some() {
        warnings.extend(doctor::condarc_traps(
            &ctx.env,
            &spec.channels,
            &k.domain,
            written.condarc.as_deref(),
        ));
    }
    if written.keyring.is_some() {
        warnings.extend(doctor::keyring_traps(&ctx.env));
    }
    // Without anaconda-auth's plugin conda never sends the key: say so now, not at the first
    // confusing 401 (register installs it, after this check).
    if written.condarc.is_some()
        && !spec.register
        && let Ok(path) = conda::find(&ctx.env, spec.conda.as_deref())
        && conda::plugin(&path) == conda::Plugin::Missing
    {
        warnings.push(format!(
            "conda at `{}` has no anaconda-auth plugin, so conda steps will not send the key; {}",
            path.display(),
            conda::PLUGIN_HINT
        ));
    }
    if let Exported::ToLaterSteps(_) = exported
        && !spec.env_mode()
        && ctx.env.get(names::API_KEY).is_some()
    {
        // env.sh unsets it; the platform's export cannot.
        warnings.push(format!(
            "{} is set in this step's environment; anaconda-auth prefers it over the keyring, so keep it out of later steps",
            names::API_KEY
        ));
    }
    warnings
}

/// A second setup in the same job replaces the first: the earlier job directory is cleaned up
/// (its merges left, so a user's keyring and mamba's file hold only the new entries) before the
/// new one is written, instead of being orphaned. Returns the environment as it was before the
/// earlier setup exported anything, which the new one starts from.
///
/// The job id finds it only where one job at a time uses the parent directory (GitHub's
/// RUNNER_TEMP, GitLab's project `.tmp`): in a shared TMPDIR, parallel stages of one Jenkins build
/// share the id, and each keeps its own setup.
fn replace_earlier_setups(ctx: &Ctx, args: &SetupArgs) -> Result<crate::env::Env> {
    let (parent, exclusive) = ctx.platform.job_parent(&ctx.env)?;
    let job_id = ctx.platform.job_id(&ctx.env).filter(|_| exclusive);
    let except = args.dir.as_deref();
    let mut env = ctx.env.clone();
    let state = ctx.env.path(names::STATE);
    for rec in job::earlier_setups(state.as_deref(), &parent, job_id.as_deref(), except) {
        ui::info(&format!(
            "anaconda-ci-auth: replacing the earlier setup of this job in {}",
            rec.dir.display()
        ));
        let undone = job::undo::undo(&rec, job::Scope::Named)?;
        for w in &undone.warnings {
            ui::warn(w);
        }
        // Later steps must not keep the earlier key where the new setup exports none (GitHub).
        ctx.platform
            .forget(&ctx.env, rec.env.contains_key(names::API_KEY), &rec.restore_env)?;
        env = env.before_job(&rec.env, &rec.restore_env);
    }
    Ok(env)
}

/// `--channel PATTERN=OTHER` makes anaconda-auth look for OTHER's key, which a job keyring
/// (holding only `--domain`'s) does not have: conda would send nothing to those channels.
fn keys_the_keyring_lacks(spec: &settings::Job, domain: &str) -> Vec<String> {
    spec.channels
        .iter()
        .filter_map(|c| {
            let other = c.auth_domain.as_deref().filter(|d| *d != domain)?;
            Some(format!(
                "--channel `{}` names the auth domain `{other}`, but the job keyring holds a key for `{domain}` only: conda will send no key to those channels; drop `={other}`, use --mode env, or merge into a keyring that has `{other}`'s key with --keyring-path",
                c.pattern
            ))
        })
        .collect()
}

/// The job directory: `--dir` (adopting an earlier setup's record there), or a new one under
/// the platform's parent after sweeping stale ones. Returns it and whether we created it.
fn job_dir(ctx: &Ctx, args: &SetupArgs, record: &mut Record) -> Result<(PathBuf, bool)> {
    if let Some(d) = &args.dir {
        let (dir, created, previous) = job::adopt_dir(d)?;
        if let Some(prev) = previous {
            record.created_at = prev.created_at;
            record.files = prev.files;
            record.merges = prev.merges;
        }
        return Ok((dir, created));
    }
    let (parent, exclusive) = ctx.platform.job_parent(&ctx.env)?;
    if !args.no_sweep {
        let current = ctx.platform.job_id(&ctx.env);
        let policy = SweepPolicy {
            exclusive,
            max_age: settings::SETUP_SWEEP_AGE,
            current_job: current.as_deref(),
        };
        ui::lines(&job::sweep(&parent, &policy));
        if let Some(index) = settings::merge_index(&ctx.env) {
            ui::lines(&job::tidy_merges(&index));
        }
    }
    Ok((job::create_dir(&parent)?, true))
}
