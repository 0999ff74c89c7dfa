//! Diagnostics: settings in this environment that would make anaconda-auth or conda ignore what
//! setup wrote (a keyring backend override, a `.env` file, an `api_key` in config.toml, an
//! overriding condarc entry). Read-only; `setup` and `status` report what it finds.

use std::path::Path;

use crate::condarc::{self, Channel};
use crate::env::{Env, names};

/// condarc files that override a routed channel pattern (see [`condarc::conflicts`]).
pub(crate) fn condarc_traps(env: &Env, channels: &[Channel], ours: Option<&Path>) -> Vec<String> {
    condarc::conflicts(env, channels, ours)
}

/// Settings in this environment that make anaconda-auth ignore the keyring setup writes (also
/// checked by setup, so the job fails loudly there rather than later in conda).
pub(crate) fn keyring_traps(env: &Env) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(backend) = env.get(names::KEYRING_BACKEND)
        && !backend.contains("anaconda_auth")
    {
        w.push(format!(
            "{}={backend} hides anaconda-auth's file keyring; unset it for conda steps",
            names::KEYRING_BACKEND
        ));
    }
    let keyringrc = env
        .path("XDG_CONFIG_HOME")
        .or_else(|| env.home().map(|h| h.join(".config")))
        .map(|c| c.join("python_keyring/keyringrc.cfg"));
    if let Some(rc) = keyringrc
        && std::fs::read_to_string(&rc)
            .is_ok_and(|t| t.contains("default-keyring") && !t.contains("anaconda_auth"))
    {
        w.push(format!(
            "`{}` selects another keyring backend, which hides anaconda-auth's file keyring",
            rc.display()
        ));
    }
    if std::fs::read_to_string(".env").is_ok_and(|t| {
        t.lines().any(|l| {
            l.trim_start()
                .trim_start_matches("export ")
                .starts_with("ANACONDA_AUTH_")
        })
    }) {
        w.push("`.env` in the working directory sets ANACONDA_AUTH_* variables, which anaconda-auth reads; it may override the job's settings".into());
    }
    if let Some(home) = env.home() {
        let toml = env
            .path("ANACONDA_CONFIG_TOML")
            .unwrap_or_else(|| home.join(".anaconda/config.toml"));
        if std::fs::read_to_string(&toml)
            .is_ok_and(|t| t.lines().any(|l| l.trim_start().starts_with("api_key")))
        {
            w.push(format!(
                "`{}` sets api_key, which anaconda-auth prefers over the keyring",
                toml.display()
            ));
        }
    }
    w
}
