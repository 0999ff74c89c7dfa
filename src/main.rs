//! Entry point: hands the command line and a snapshot of the environment to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    anaconda_ci_auth::main()
}
