//! Integration tests: run the real binary with `assert_cmd` in a scrubbed environment.

#![allow(clippy::unwrap_used)]

mod cli;
mod cli_key;
mod common;
mod exec;
mod exec_scrub;
mod fake_api;
mod leaks;
mod online;
mod register;
mod tls;
