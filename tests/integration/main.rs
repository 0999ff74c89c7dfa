//! Integration tests: run the real binary in a scrubbed sandbox (`common`), where every run is
//! checked for leaks of the key.

#![allow(clippy::unwrap_used)]

mod cli;
mod common;
mod conformance;
mod exec;
mod fake_api;
mod leaks;
mod online;
mod register;
mod secret_doors;
mod snapshots;
mod tls;
