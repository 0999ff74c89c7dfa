//! `completions` and `man`: shell completion scripts and the man page, generated from the clap
//! definition so they cannot drift from the options.

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, Result};
use crate::ui;

pub(crate) fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "anaconda-ci-auth", &mut out);
    print(out)
}

pub(crate) fn man() -> Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::internal("could not render the man page").cause(e))?;
    print(out)
}

fn print(out: Vec<u8>) -> Result<()> {
    let text = String::from_utf8(out).map_err(|e| Error::internal("generated text is not UTF-8").cause(e))?;
    ui::stdout(&text);
    Ok(())
}
