//! anaconda-ci-auth: turn an Anaconda API key from a CI secret into an authenticated conda job.
//!
//! Module map (ARCHITECTURE.md has the details and the dependency rule):
//! - entry and input: `cli` (clap only), `settings` (arguments + `env` snapshot → typed settings),
//!   `context` (what a command knows), `commands` (one orchestration module per subcommand).
//! - the key: `source` (where it is read from), `secret` (the type), `check` (mask, preflight,
//!   offline `jwt`, `online`), `redact` (scrubbing), `ui` (the only printer), `report` (typed output).
//! - the job: `job` (directory, transaction, record, merge, undo, sweep), the formats `keyring`
//!   and `condarc`, `fsx` (careful file operations), `doctor` (traps), `conda`, `process` (exec's
//!   child and signals), `platform` (one file per CI), `error` (kinds and exit codes).

mod check;
mod cli;
mod clients;
mod commands;
mod conda;
mod condarc;
mod context;
#[cfg(test)]
mod docs;
mod doctor;
mod env;
mod error;
mod fsx;
mod job;
mod jwt;
mod keyring;
mod online;
mod platform;
mod process;
mod redact;
mod report;
mod secret;
mod settings;
mod source;
mod ui;

use std::process::ExitCode;

use clap::Parser as _;

pub use env::Env;

/// Runs the command line in `args` with `env`, returning the process exit code.
pub fn run(args: Vec<String>, env: Env) -> u8 {
    // `--json` is global: known before parsing, so early failures honour it too.
    let json = args
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json");
    // Check before parsing: clap would echo an unknown argument in its error message.
    if let Err(e) = source::refuse_key_in_argv(&args, &env) {
        return fail(&e, json);
    }
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return 0;
        }
        Err(e) => {
            if json {
                let first = e
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .to_owned();
                let err = error::Error::usage(first.trim_start_matches("error: ").to_owned())
                    .hint("see `anaconda-ci-auth --help`");
                print_json_error(&err);
            }
            let _ = e.print();
            return 2;
        }
    };
    let platform = platform::Platform::detect(&env, cli.global.ci);
    ui::configure(cli.global.quiet, platform.annotations());
    let ctx = context::Ctx {
        env,
        platform,
        json: cli.global.json,
        argv: args,
    };
    let result = match &cli.command {
        cli::Command::Setup(a) => commands::setup::run(&ctx, a).map(|()| 0),
        cli::Command::Validate(a) => commands::validate::run(&ctx, a).map(|()| 0),
        cli::Command::Exec(a) => commands::exec::run(&ctx, a),
        cli::Command::DockerSecret(a) => commands::docker_secret::run(&ctx, a).map(|()| 0),
        cli::Command::Cleanup(a) => commands::cleanup::run(&ctx, a).map(|()| 0),
        cli::Command::Status(a) => commands::status::run(&ctx, a).map(|()| 0),
        cli::Command::Register(a) => commands::register::run(&ctx, a).map(|()| 0),
        cli::Command::Completions(a) => commands::generate::completions(a).map(|()| 0),
        cli::Command::Man => commands::generate::man().map(|()| 0),
    };
    match result {
        Ok(code) => code,
        Err(e) => fail(&e, ctx.json),
    }
}

/// Prints an error (and with `--json` the error object) and returns its exit code.
fn fail(e: &error::Error, json: bool) -> u8 {
    ui::error(e);
    if json {
        print_json_error(e);
    }
    e.kind.exit_code()
}

fn print_json_error(e: &error::Error) {
    ui::json_line(&report::ErrorReport::new(e));
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    // A panic message could quote data; print only where it happened.
    #[expect(
        clippy::print_stderr,
        reason = "the panic hook cannot use ui, which may hold the poisoned lock"
    )]
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error{at}; this is a bug in anaconda-ci-auth, please report it");
    }));
    process::harden();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    ExitCode::from(run(args, Env::capture()))
}
