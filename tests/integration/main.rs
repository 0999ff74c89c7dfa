//! Integration tests: run the real binary in a scrubbed sandbox (`common`), where every run is
//! checked for leaks of the key.

#![allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")]
#![allow(
    clippy::disallowed_methods,
    reason = "tests run the binary from the real environment and remove files freely"
)]
#![allow(unreachable_pub, reason = "helpers are shared between the test modules")]
#![allow(clippy::too_many_lines, reason = "a scenario reads best top to bottom")]

mod cli;
mod cli_key;
mod common;
mod conformance;
mod exec;
mod exec_scrub;
mod fake_api;
mod leaks;
mod mistakes;
mod online;
mod register;
mod secret_doors;
mod snapshots;
mod tls;
