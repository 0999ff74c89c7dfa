//! Command-line definitions only (clap derive): no I/O, no environment reads, no logic.
//!
//! The key is never accepted as an argument value; only the *place* it is read from is.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turn an Anaconda API key from a CI secret into an authenticated conda job, without printing it.
#[derive(Debug, Parser)]
#[command(
    name = "anaconda-ci-auth",
    version,
    about,
    long_about = None,
    max_term_width = 100,
    after_long_help = after_long_help()
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `--help`'s closing section: where the key is read from, how durations are written, and the
/// exit codes (from [`crate::error::Kind`], so the list cannot drift).
fn after_long_help() -> String {
    format!(
        "Key source (never an argument): --api-key-env NAME, --api-key-file PATH or --api-key-stdin; \
         by default the variable ANACONDA_AUTH_API_KEY, then the file \
         $ANACONDA_SECRETS_DIR/ANACONDA_AUTH_API_KEY (ANACONDA_SECRETS_DIR defaults to /run/secrets).\n\n\
         Durations (--min-validity, --timeout, --max-age): a number and a unit, s, m, h, d or w \
         (90s, 30m, 12h, 7d, 2w); a number without a unit is refused.\n\n{}\n{}",
        crate::error::exit_code_help(),
        crate::error::EXEC_RULE.replace('`', "")
    )
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// Print one JSON object on stdout instead of human output
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Only print warnings and errors on stderr
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
    /// The CI platform (default: detected from the environment)
    #[arg(long, global = true, value_enum, default_value_t = CiArg::Auto)]
    pub(crate) ci: CiArg,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Validate the key, write a job-scoped keyring and condarc, and export the environment for later steps
    Setup(SetupArgs),
    /// Run the same checks as setup without writing anything
    Validate(ValidateArgs),
    /// Set up in a private temporary directory, run a command, scrub its output, clean up
    Exec(ExecArgs),
    /// Write a file for `docker build --secret` and print the argument to use
    DockerSecret(DockerSecretArgs),
    /// Remove exactly what a setup wrote; with --sweep, also stale job directories
    Cleanup(CleanupArgs),
    /// Show what is configured now, redacted, with warnings for known traps
    Status(StatusArgs),
    /// Install anaconda-registration into conda's base environment (skipped when present)
    Register(RegisterArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CiArg {
    Auto,
    Github,
    Gitlab,
    Buildkite,
    Jenkins,
    None,
}

/// Where the key comes from. With none given: the variable `ANACONDA_AUTH_API_KEY`, then the file
/// `$ANACONDA_SECRETS_DIR/ANACONDA_AUTH_API_KEY` (default directory `/run/secrets`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Key source (never the key itself)")]
pub(crate) struct KeyArgs {
    /// Read the key from this environment variable [default: ANACONDA_AUTH_API_KEY, then the
    /// file $ANACONDA_SECRETS_DIR/ANACONDA_AUTH_API_KEY, default directory /run/secrets]
    #[arg(long, value_name = "NAME", conflicts_with_all = ["api_key_file", "api_key_stdin"])]
    pub(crate) api_key_env: Option<String>,
    /// Read the key from this file (GitLab file variables, /run/secrets/...)
    #[arg(long, value_name = "PATH", conflicts_with = "api_key_stdin")]
    pub(crate) api_key_file: Option<PathBuf>,
    /// Read the key from standard input
    #[arg(long)]
    pub(crate) api_key_stdin: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ValidateMode {
    /// Offline checks, then GET /api/account on the Anaconda API
    Online,
    /// Check the key's structure and expiry only
    Offline,
    /// Only check that the value can be a key at all
    None,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Validation")]
pub(crate) struct ValidationArgs {
    /// How to validate the key [default: online; env: ANACONDA_CI_AUTH_VALIDATE]
    #[arg(long, value_enum)]
    pub(crate) validate: Option<ValidateMode>,
    /// Fail if the key expires sooner than this (e.g. 7d, 12h; a unit is required) [env: ANACONDA_CI_AUTH_MIN_VALIDITY]
    #[arg(long, value_name = "DURATION")]
    pub(crate) min_validity: Option<String>,
    /// The anaconda-auth site domain the key belongs to [default: anaconda.com; env: ANACONDA_AUTH_DOMAIN]
    #[arg(long, value_name = "DOMAIN")]
    pub(crate) domain: Option<String>,
    /// Base URL of the Anaconda API (default: https://DOMAIN); http:// only for loopback [env: ANACONDA_CI_AUTH_API_URL]
    #[arg(long, value_name = "URL")]
    pub(crate) api_url: Option<String>,
    /// Extra CA certificates (PEM) to trust; SSL_CERT_FILE and REQUESTS_CA_BUNDLE are also read
    #[arg(long, value_name = "PATH")]
    pub(crate) ca_bundle: Option<PathBuf>,
    /// Total time allowed for online validation, retries included (e.g. 60s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub(crate) timeout: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// Write a keyring file and point anaconda-auth at it
    Keyring,
    /// Export ANACONDA_AUTH_API_KEY instead of writing a keyring
    Env,
    /// Both
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrintEnv {
    /// `export NAME='value'` lines for `eval`
    Sh,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Job configuration")]
pub(crate) struct JobArgs {
    /// Keyring file, environment variable, or both
    #[arg(long, value_enum, default_value_t = Mode::Keyring)]
    pub(crate) mode: Mode,
    /// Extra channel pattern routed to anaconda-auth, as PATTERN or PATTERN=AUTH_DOMAIN (repeatable)
    #[arg(long = "channel", value_name = "PATTERN[=DOMAIN]")]
    pub(crate) channels: Vec<String>,
    /// Also install anaconda-registration into conda's base environment
    #[arg(long)]
    pub(crate) register: bool,
    /// The conda executable (default: `conda` on PATH, or $CONDA_EXE)
    #[arg(long, value_name = "PATH")]
    pub(crate) conda: Option<PathBuf>,
    /// Run even on untrusted triggers such as pull_request_target from a fork
    #[arg(long)]
    pub(crate) allow_untrusted_trigger: bool,
    /// Package clients to configure, comma-separated: conda, mamba, pixi, pip, uv
    /// [default: conda,mamba,pixi; env: ANACONDA_CI_AUTH_CLIENTS]
    #[arg(long, value_name = "LIST")]
    pub(crate) clients: Option<String>,
    /// pip/uv: the wheels index [default: Anaconda's anaconda-wheels index; env: ANACONDA_CI_AUTH_WHEELS_INDEX]
    #[arg(long, value_name = "URL")]
    pub(crate) wheels_index: Option<String>,
    /// pip/uv: use the wheels index instead of PyPI (primary), or beside it (extra: exposed to
    /// dependency confusion) [default: primary; env: ANACONDA_CI_AUTH_WHEELS_INDEX_MODE]
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) wheels_index_mode: Option<IndexMode>,
    /// Accept Anaconda's Terms of Service for this job's conda commands (conda-anaconda-tos)
    /// [env: ANACONDA_CI_AUTH_ACCEPT_TOS]
    #[arg(long)]
    pub(crate) accept_tos: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum IndexMode {
    /// The only index pip and uv install from
    Primary,
    /// An extra index beside PyPI
    Extra,
}

#[derive(Debug, Args)]
pub(crate) struct SetupArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    #[command(flatten)]
    pub(crate) validation: ValidationArgs,
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// The job directory (default: chosen for the CI platform, e.g. under $RUNNER_TEMP)
    #[arg(long, value_name = "DIR", help_heading = "Job configuration")]
    pub(crate) dir: Option<PathBuf>,
    /// Merge the key into this existing keyring instead of a job keyring (e.g. ~/.anaconda/keyring)
    #[arg(long, value_name = "PATH", help_heading = "Job configuration")]
    pub(crate) keyring_path: Option<PathBuf>,
    /// Print the environment as shell `export` lines on stdout
    #[arg(
        long,
        value_enum,
        value_name = "SHELL",
        conflicts_with = "json",
        help_heading = "Job configuration"
    )]
    pub(crate) print_env: Option<PrintEnv>,
    /// Do not remove stale job directories of earlier jobs
    #[arg(long, help_heading = "Job configuration")]
    pub(crate) no_sweep: bool,
    /// Do not write the redacted summary (GitHub step summary, Buildkite annotation)
    ///
    /// [env: ANACONDA_CI_AUTH_SUMMARY=false]
    #[arg(long, help_heading = "Job configuration")]
    pub(crate) no_summary: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    #[command(flatten)]
    pub(crate) validation: ValidationArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    #[command(flatten)]
    pub(crate) validation: ValidationArgs,
    #[command(flatten)]
    pub(crate) job: JobArgs,
    /// Do not scrub the key from the command's output (it is then passed through unchanged)
    #[arg(long, help_heading = "Job configuration")]
    pub(crate) no_scrub: bool,
    /// The command to run, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SecretKind {
    /// The bare key, as anaconda-auth reads it from /run/secrets/ANACONDA_AUTH_API_KEY
    Key,
    /// A keyring file, to mount at /root/.anaconda/keyring
    Keyring,
}

#[derive(Debug, Args)]
pub(crate) struct DockerSecretArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    #[command(flatten)]
    pub(crate) validation: ValidationArgs,
    /// What the secret file contains
    #[arg(long, value_enum, default_value_t = SecretKind::Key)]
    pub(crate) kind: SecretKind,
    /// The secret id (default: ANACONDA_AUTH_API_KEY, or anaconda_keyring with --kind keyring)
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,
    /// Where to write the file (default: a new private temporary directory); must not exist
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CleanupArgs {
    #[command(flatten)]
    pub(crate) target: StateArgs,
    /// Also remove stale job directories left by crashed or timed-out jobs
    #[arg(long)]
    pub(crate) sweep: bool,
    /// With --sweep: in shared temporary directories, how old a job directory must be to count as stale (e.g. 24h)
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub(crate) max_age: String,
    /// With --sweep: the directory to sweep (default: the CI platform's job-directory parent)
    #[arg(long, value_name = "DIR")]
    pub(crate) sweep_dir: Option<PathBuf>,
    /// Do not add what was removed to the step summary or annotation [env: ANACONDA_CI_AUTH_SUMMARY=false]
    #[arg(long)]
    pub(crate) no_summary: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) target: StateArgs,
}

/// Which setup to act on.
#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// The job directory setup created
    #[arg(long, value_name = "DIR", conflicts_with = "state")]
    pub(crate) dir: Option<PathBuf>,
    /// The state file setup wrote (default: $ANACONDA_CI_AUTH_STATE)
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// The conda executable (default: `conda` on PATH, or $CONDA_EXE)
    #[arg(long, value_name = "PATH")]
    pub(crate) conda: Option<PathBuf>,
}
