//! `validate`: the checks setup runs, nothing written.

use crate::check::{self, Purpose};
use crate::cli::ValidateArgs;
use crate::context::Ctx;
use crate::error::Result;
use crate::{report, settings, ui};

pub(crate) fn run(ctx: &Ctx, args: &ValidateArgs) -> Result<()> {
    let validation = settings::validation(&args.validation, &ctx.env)?;
    let k = check::check(ctx, &args.key, &validation, Purpose::Validate)?;
    for w in &k.warnings {
        ui::warn(w);
    }
    let r = report::Validate {
        valid: true,
        key: k.facts(ctx, k.warnings.clone()),
    };
    if ctx.json {
        ui::json(&r);
    } else {
        ui::lines(&r.human());
    }
    Ok(())
}
