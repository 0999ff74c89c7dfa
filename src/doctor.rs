//! Diagnostics: settings in this environment that would make anaconda-auth or conda ignore what
//! setup wrote (a keyring backend override, a `.env` file, an `api_key` in config.toml, an
//! overriding condarc entry). Read-only; `setup` and `status` report what it finds.

use std::path::Path;

use crate::condarc::{self, Channel};
use crate::env::{Env, names};

/// condarc entries that would take a routed channel pattern away from the job, found by scanning
/// conda's search path ([`condarc::conflicts`]); fast enough for every setup.
pub(crate) fn condarc_traps(
    env: &Env,
    channels: &[Channel],
    domain: &str,
    ours: Option<&Path>,
) -> Vec<String> {
    condarc::conflicts(env, channels, domain, ours)
}

/// [`condarc_traps`], asking conda itself (`conda config --show-sources --json`: every file it
/// reads, in its own parsing) when it is on PATH; the scan otherwise. For `status`.
pub(crate) fn condarc_traps_asking_conda(
    env: &Env,
    channels: &[Channel],
    domain: &str,
    ours: Option<&Path>,
) -> Vec<String> {
    match conda_sources(env) {
        Some(sources) => sources
            .iter()
            .filter(|(file, _)| ours.is_none_or(|o| Path::new(file) != o))
            .flat_map(|(file, settings)| condarc::settings_conflicts(file, settings, channels, domain))
            .collect(),
        None => condarc::conflicts(env, channels, domain, ours),
    }
}

/// Every config source conda reports with its `channel_settings`, or None when conda is not on
/// PATH or does not answer within a few seconds.
fn conda_sources(env: &Env) -> Option<Vec<(String, Vec<condarc::Setting>)>> {
    let conda = crate::conda::find(env, None).ok()?;
    let out = crate::conda::output_within(&conda, &["config", "--show-sources", "--json"], CONDA_DEADLINE)?;
    let value: serde_json::Value = serde_json::from_slice(&out).ok()?;
    let sources = value.as_object()?;
    Some(
        sources
            .iter()
            .filter(|(name, _)| *name != "cmd_line" && *name != "envvars")
            .map(|(file, cfg)| {
                let settings = cfg
                    .get("channel_settings")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let field = |k: &str| e.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
                        Some(condarc::Setting {
                            channel: field("channel")?,
                            auth: field("auth"),
                            auth_domain: field("auth_domain"),
                        })
                    })
                    .collect();
                (file.clone(), settings)
            })
            .collect(),
    )
}

/// How long `status`/`setup` wait for `conda config`.
const CONDA_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

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
