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
    let exec = is_exec(&args);
    // Check before parsing: clap would echo an unknown argument in its error message.
    if let Err(e) = source::refuse_key_in_argv(&args, &env) {
        return fail(&e, json, exec);
    }
    let cli = match cli::Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return 0;
        }
        Err(e) if exec => return fail(&exec_parse_error(&e), json, exec),
        Err(e) => {
            if json {
                let err = error::Error::usage(first_line(&e)).hint("see `anaconda-ci-auth --help`");
                print_json_error(&err, false);
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
        Err(e) => fail(&e, ctx.json, exec),
    }
}

/// Prints an error (and with `--json` the error object) and returns its exit code. Under `exec`
/// that is [`error::EXEC_FAILED`], and the message names the class and its usual code, so the
/// tool's failure cannot be taken for the command's exit status.
fn fail(e: &error::Error, json: bool, exec: bool) -> u8 {
    if !exec {
        ui::error(e);
        if json {
            print_json_error(e, false);
        }
        return e.kind.exit_code();
    }
    let named = error::Error {
        kind: e.kind,
        message: format!(
            "{} [exec: anaconda-ci-auth failed ({}, exit code {} outside exec), not the command; exit code {}]",
            e.message,
            e.kind.name(),
            e.kind.exit_code(),
            error::EXEC_FAILED
        ),
        causes: e.causes.clone(),
        hints: e.hints.clone(),
    };
    ui::error(&named);
    if json {
        print_json_error(e, true);
    }
    error::EXEC_FAILED
}

fn print_json_error(e: &error::Error, exec: bool) {
    if exec {
        ui::json_line(&report::ErrorReport::under_exec(e));
    } else {
        ui::json_line(&report::ErrorReport::new(e));
    }
}

/// Whether the subcommand is `exec` (known before parsing, for the exit code of every failure).
fn is_exec(args: &[String]) -> bool {
    let mut words = args.iter().skip(1).take_while(|a| *a != "--");
    while let Some(a) = words.next() {
        match a.as_str() {
            "--ci" => {
                words.next();
            }
            a if a.starts_with('-') => {}
            a => return a == "exec",
        }
    }
    false
}

fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.trim_start_matches("error: ").to_owned()
}

/// A command-line error of `exec`: most often the command was not put after `--`, or an option
/// meant for the command was taken for ours.
fn exec_parse_error(e: &clap::Error) -> error::Error {
    use clap::error::ErrorKind as K;
    let err = match e.kind() {
        K::MissingRequiredArgument => error::Error::usage("no command given to run"),
        _ => error::Error::usage(first_line(e)),
    };
    match e.kind() {
        K::UnknownArgument | K::MissingRequiredArgument | K::InvalidSubcommand | K::TooManyValues => err
            .hint("put the command and its own options after `--`: anaconda-ci-auth exec [OPTIONS] -- conda install x")
            .hint("options before `--` are anaconda-ci-auth's; a shell command line runs as `-- sh -c 'conda install x && ...'`"),
        _ => err.hint("see `anaconda-ci-auth exec --help`"),
    }
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
