//! What every command knows about its invocation: the environment snapshot, the CI platform,
//! whether output is JSON, and the command line (to refuse a key that also appears in it).

use crate::env::Env;
use crate::platform::Platform;

pub(crate) struct Ctx {
    pub(crate) env: Env,
    pub(crate) platform: Platform,
    pub(crate) json: bool,
    pub(crate) argv: Vec<String>,
}
