//! `exec`: set up in a private temporary directory, run one command with that environment, scrub
//! the key from its output as it streams, and remove the directory however the command ends
//! (see [`crate::process`] for signals and exit codes).

use std::sync::Arc;

use crate::check::{self, Purpose};
use crate::cli::ExecArgs;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::job::record::Command;
use crate::job::write::{self, Spec};
use crate::job::{self, Txn};
use crate::process::{self, signals::Forwarder};
use crate::redact::Redactor;
use crate::{conda, report, settings, ui};

pub(crate) fn run(ctx: &Ctx, args: &ExecArgs) -> Result<u8> {
    // Catch terminating signals from the start, so one that arrives before the command runs
    // still leads to removing the directory rather than dying with it in place.
    let forwarder = Forwarder::install();
    let validation = settings::validation(&args.validation, &ctx.env)?;
    let spec = settings::job(&args.job, &ctx.env)?;
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("no command given after `--`"))?;
    let purpose = Purpose::Job {
        env_mode: spec.env_mode(),
        allow_untrusted: spec.allow_untrusted,
    };
    let k = check::check(ctx, &args.key, &validation, purpose)?;
    for w in &k.warnings {
        ui::warn(w);
    }
    let dir = job::create_dir(&ctx.env.temp_dir()?)?;
    let mut txn = Txn::begin(k.new_record(ctx, spec.mode, dir, true, Command::Exec))?;
    let written = write::write_files(&mut txn, &Spec::new(&spec, &k.domain, None), k.key(), &ctx.env)?;
    for w in &written.warnings {
        ui::warn(w);
    }
    let pairs = written.exports.pairs(k.key());
    let removed = k.removed_key_vars(spec.env_mode());
    if spec.register {
        conda::register(&ctx.env, spec.conda.as_deref(), &pairs, &removed)?;
    }
    let scrub = (!args.no_scrub).then(|| Arc::new(Redactor::new(k.key().derived_forms(&k.domain))));
    let ended = process::run(
        &process::Spec {
            program,
            args: rest,
            remove_env: &removed,
            set_env: &pairs,
            scrub,
        },
        &forwarder,
    )?;
    drop(forwarder);
    if let Err(e) = txn.discard() {
        // The key may still be on disk: anaconda-ci-auth's own failure, not the command's.
        return Err(Error {
            message: format!(
                "`{program}` exited with {}, but the job directory could not be removed: {}",
                ended.code, e.message
            ),
            ..e
        });
    }
    if ctx.json {
        ui::json_line(&report::Exec {
            command: program.clone(),
            started: ended.started,
            exit_code: ended.code,
            key: k.facts(ctx, k.warnings.clone()),
        });
    }
    Ok(ended.code)
}
