//! `register`: install anaconda-registration into conda's base environment (see [`crate::conda`]).

use crate::cli::RegisterArgs;
use crate::conda;
use crate::context::Ctx;
use crate::error::Result;
use crate::report;
use crate::ui;

pub(crate) fn run(ctx: &Ctx, args: &RegisterArgs) -> Result<()> {
    conda::register_env_secrets(&ctx.env);
    let result = conda::register(&ctx.env, args.conda.as_deref(), &[], &[])?;
    if ctx.json {
        ui::json_line(&report::Register {
            package: conda::PACKAGE,
            result,
        });
    }
    Ok(())
}
