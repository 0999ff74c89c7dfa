//! `cleanup`: undo exactly what one command did, found through its record; `--sweep` does the same
//! for stale job directories of earlier jobs. Idempotent: with nothing left to do it says so and
//! succeeds. Files we did not create are never removed; a directory with such files is left.

use crate::cli::CleanupArgs;
use crate::context::Ctx;
use crate::error::{Error, Kind, Result};
use crate::job::{self, Found, Record, Scope, SweepPolicy};
use crate::{report, settings, ui};

pub(crate) fn run(ctx: &Ctx, args: &CleanupArgs) -> Result<()> {
    let max_age = if args.sweep {
        Some(settings::sweep_age(args)?)
    } else {
        None
    };
    let summary = settings::summary(args.no_summary, &ctx.env)?;
    let mut r = report::Cleanup::default();
    match settings::state_path(&args.target, &ctx.env)
        .map(|p| job::find(&p))
        .transpose()?
    {
        Some(Found::Record(rec)) => clean(ctx, &rec, &mut r)?,
        Some(Found::Foreign(dir)) => {
            return Err(Error::new(
                Kind::Filesystem,
                format!(
                    "`{}` has no anaconda-ci-auth state file; refusing to touch it",
                    dir.display()
                ),
            )
            .hint("pass the directory that setup printed"));
        }
        Some(Found::Gone) => ui::info("anaconda-ci-auth: nothing to clean up (already removed)"),
        None => match ctx.platform.job_id(&ctx.env) {
            // A new shell (GitLab after_script, a Jenkins `sh` step) has no ANACONDA_CI_AUTH_STATE:
            // find this job's directories by the job id their records hold.
            Some(id) => {
                let (parent, _) = ctx.platform.job_parent(&ctx.env)?;
                let found = job::find_for_ci_job(&parent, &id);
                if found.is_empty() && !args.sweep {
                    ui::info("anaconda-ci-auth: nothing to clean up for this job");
                }
                for rec in found {
                    clean(ctx, &rec, &mut r)?;
                }
            }
            // Documented as safe to run always (`if: always()`): a setup that never ran, or
            // failed and undid itself, leaves nothing to name.
            None if !args.sweep => ui::info(
                "anaconda-ci-auth: nothing to clean up (no ANACONDA_CI_AUTH_STATE, --dir or --state, and no CI job id)",
            ),
            None => {}
        },
    }
    if let Some(max_age) = max_age {
        let (parent, exclusive) = match &args.sweep_dir {
            Some(d) => (d.clone(), false),
            None => ctx.platform.job_parent(&ctx.env)?,
        };
        let current = ctx.platform.job_id(&ctx.env);
        let policy = SweepPolicy {
            exclusive,
            max_age,
            current_job: current.as_deref(),
        };
        r.swept = job::sweep(&parent, &policy);
        if let Some(index) = settings::merge_index(&ctx.env) {
            r.swept.extend(job::tidy_merges(&index));
        }
        ui::lines(&r.swept);
    }
    for w in &r.warnings {
        ui::warn(w);
    }
    if summary {
        ctx.platform.add_to_summary(&ctx.env, r.summary().as_deref())?;
    }
    if ctx.json {
        ui::json(&r);
    }
    Ok(())
}

/// Undoes one job the user asked to clean up, and reports it.
fn clean(ctx: &Ctx, rec: &Record, r: &mut report::Cleanup) -> Result<()> {
    let undone = job::undo::undo(rec, Scope::Named)?;
    ctx.platform.forget(
        &ctx.env,
        rec.env.contains_key(crate::env::names::API_KEY),
        &rec.restore_env,
    )?;
    r.removed.extend(undone.removed);
    r.warnings.extend(undone.warnings);
    ui::info(&format!("anaconda-ci-auth: removed {}", rec.dir.display()));
    Ok(())
}
