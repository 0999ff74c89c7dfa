//! `status`: what is configured now, redacted, with warnings for the traps that make anaconda-auth
//! ignore the job keyring (an overriding condarc entry, a keyring backend override, a `.env` file,
//! a key about to expire).

use std::path::PathBuf;

use super::Ctx;
use crate::cli::StatusArgs;
use crate::condarc;
use crate::env::names;
use crate::error::Result;
use crate::fsx;
use crate::jwt;
use crate::secret::fingerprint_of;
use crate::state::State;
use crate::ui;

pub(crate) fn run(ctx: &Ctx, args: &StatusArgs) -> Result<()> {
    let state_path: Option<PathBuf> = args.target.state_path(&ctx.env);
    let st = match &state_path {
        Some(p) if p.exists() => Some(State::load(p)?),
        _ => None,
    };
    let mut warnings = traps(ctx, st.as_ref());
    let env_key = ctx.env.get(names::API_KEY).map(|k| fingerprint_of(k.trim()));
    if let Some(fp) = &env_key
        && st.as_ref().is_some_and(|s| s.mode.as_deref() == Some("keyring"))
    {
        warnings.push(format!(
            "{} is set ({fp}); anaconda-auth uses it instead of the job keyring",
            names::API_KEY
        ));
    }
    let files: Vec<serde_json::Value> = st
        .as_ref()
        .map(|s| {
            s.files
                .iter()
                .chain(s.keyring_merge.as_ref().map(|m| &m.path))
                .map(|f| serde_json::json!({"path": f, "exists": f.exists(), "mode": fsx::mode_string(f)}))
                .collect()
        })
        .unwrap_or_default();
    if ctx.json {
        let out = serde_json::json!({
            "configured": st.is_some(),
            "state_path": st.as_ref().map(State::path),
            "dir": st.as_ref().map(|s| &s.dir),
            "mode": st.as_ref().and_then(|s| s.mode.clone()),
            "domain": st.as_ref().map(|s| &s.domain),
            "key_source": st.as_ref().map(|s| &s.key_source),
            "fingerprint": st.as_ref().map(|s| s.fingerprint.clone()).or(env_key.clone()),
            "expires_at": st.as_ref().and_then(|s| s.expires_at).map(jwt::rfc3339),
            "files": files,
            "env": st.as_ref().map(|s| &s.env),
            "env_key_fingerprint": env_key,
            "ci": ctx.platform.name(),
            "warnings": warnings,
        });
        ui::stdout(&serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        match &st {
            Some(s) => {
                ui::info(&format!(
                    "anaconda-ci-auth: configured by `{}` ({} mode, {})",
                    s.command,
                    s.mode.as_deref().unwrap_or("?"),
                    s.ci
                ));
                ui::info(&format!("  directory    {}", s.dir.display()));
                ui::info(&format!("  key          {} from {}", s.fingerprint, s.key_source));
                if let Some(e) = s.expires_at {
                    ui::info(&format!("  expires      {}", jwt::rfc3339(e)));
                }
                for f in &files {
                    ui::info(&format!(
                        "  file         {} ({})",
                        f["path"].as_str().unwrap_or("?"),
                        if f["exists"].as_bool() == Some(true) {
                            f["mode"].as_str().unwrap_or("?")
                        } else {
                            "missing"
                        }
                    ));
                }
                for (k, v) in &s.env {
                    ui::info(&format!("  env          {k}={v}"));
                }
            }
            None => {
                ui::info(
                    "anaconda-ci-auth: no setup found in this environment (no ANACONDA_CI_AUTH_STATE, --dir or --state)",
                );
                if let Some(fp) = &env_key {
                    ui::info(&format!("  {} is set ({fp})", names::API_KEY));
                }
            }
        }
    }
    for w in &warnings {
        ui::warn(w);
    }
    Ok(())
}

/// Known reasons anaconda-auth would not use what setup wrote.
fn traps(ctx: &Ctx, st: Option<&State>) -> Vec<String> {
    let env = &ctx.env;
    let mut w = keyring_traps(env);
    if let Some(s) = st {
        let ours = PathBuf::from(s.env.get(names::CONDARC).cloned().unwrap_or_default());
        w.extend(condarc::conflicts(env, &condarc::channel_list(&[]), Some(&ours)));
        if let Some(exp) = s.expires_at {
            let left = exp - jwt::now();
            if left <= 0 {
                w.push(format!("the key expired at {}", jwt::rfc3339(exp)));
            } else if left < jwt::EXPIRY_WARNING_SECS {
                w.push(format!(
                    "the key expires in {} ({})",
                    jwt::human_duration(left),
                    jwt::rfc3339(exp)
                ));
            }
        }
        for f in &s.files {
            if !f.exists() {
                w.push(format!("`{}` is missing; run setup again", f.display()));
            }
        }
    }
    w
}

/// Settings in this environment that make anaconda-auth ignore the keyring setup writes (also
/// checked by setup, so the job fails loudly there rather than later in conda).
pub(crate) fn keyring_traps(env: &crate::env::Env) -> Vec<String> {
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
