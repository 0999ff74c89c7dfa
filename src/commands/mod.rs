//! Subcommands, one file each: orchestration only. A command resolves its settings, checks the
//! key, drives the job directory and the platform, and hands a typed report to `ui`. Commands
//! never import each other, never touch files directly and never branch on the platform.

pub(crate) mod cleanup;
pub(crate) mod docker_secret;
pub(crate) mod exec;
pub(crate) mod generate;
pub(crate) mod register;
pub(crate) mod setup;
pub(crate) mod status;
pub(crate) mod validate;
