//! `docker-secret`: write the key (or a keyring) to a private file for `docker build --secret` and
//! print the `--secret id=...,src=...` argument. The file is recorded in a state file, so
//! `cleanup --dir` removes it.

use std::path::PathBuf;

use super::{Ctx, prepare};
use crate::cli::{DockerSecretArgs, SecretKind};
use crate::env::names;
use crate::error::{Error, Kind, Result};
use crate::fsx;
use crate::keyring;
use crate::platform::{self, Platform};
use crate::state::{self, State};
use crate::ui;

/// BuildKit mounts secrets read-only; anaconda-auth's file keyring declares itself unusable when it
/// cannot open the file for appending, unless the backend is named explicitly.
const READ_ONLY_BACKEND: &str = "anaconda_auth.token.AnacondaKeyring";

pub(crate) fn run(ctx: &Ctx, args: &DockerSecretArgs) -> Result<()> {
    let v = prepare(ctx, &args.key, &args.validation, false, false, true)?;
    for w in &v.warnings {
        ui::warn(w);
    }
    let id = args.id.clone().unwrap_or_else(|| match args.kind {
        SecretKind::Key => names::API_KEY.to_owned(),
        SecretKind::Keyring => "anaconda_keyring".to_owned(),
    });
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(Error::usage(format!(
            "secret id `{id}` may only contain letters, digits, `_`, `-` and `.`"
        ))
        .hint("for example --id ANACONDA_AUTH_API_KEY"));
    }
    let dir = fsx::create_unique_dir(&ctx.env.temp_dir(), state::DIR_PREFIX)?;
    let path: PathBuf = match &args.out {
        Some(p) => {
            if std::fs::symlink_metadata(p).is_ok() {
                let _ = std::fs::remove_dir(&dir);
                return Err(Error::new(
                    Kind::Filesystem,
                    format!("`{}` already exists; refusing to replace it", p.display()),
                )
                .hint("pass a new path with --out, or remove the old file first"));
            }
            if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                fsx::check_parent(parent)?;
            }
            std::path::absolute(p).unwrap_or_else(|_| p.clone())
        }
        None => dir.join(&id),
    };
    let contents = match args.kind {
        SecretKind::Key => zeroize::Zeroizing::new(v.sourced.key.expose().to_owned()),
        SecretKind::Keyring => keyring::render_new(&v.domain, v.sourced.key.expose()),
    };
    if let Err(e) = fsx::write_new(&path, contents.as_bytes()) {
        let _ = std::fs::remove_dir(&dir);
        return Err(e);
    }
    let st = State {
        tool: state::MARKER.into(),
        format: 1,
        command: "docker-secret".into(),
        dir: dir.clone(),
        created_at: crate::jwt::now(),
        ci: ctx.platform.name().into(),
        job: ctx.platform.job_id(&ctx.env),
        mode: Some(match args.kind {
            SecretKind::Key => "key".into(),
            SecretKind::Keyring => "keyring".into(),
        }),
        domain: v.domain.clone(),
        fingerprint: v.sourced.key.fingerprint(),
        expires_at: v.claims.as_ref().map(|c| c.exp),
        key_source: v.sourced.source.clone(),
        files: vec![path.clone()],
        env: Default::default(),
        keyring_merge: None,
    };
    if let Err(e) = st.save() {
        // Without a state file nothing could clean the secret up later.
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&dir);
        return Err(e);
    }
    let secret_arg = format!("id={id},src={}", path.display());
    if ctx.platform == Platform::Github
        && let Some(out) = ctx.env.path("GITHUB_OUTPUT")
    {
        let path_s = path.to_string_lossy().into_owned();
        let dir_s = dir.to_string_lossy().into_owned();
        platform::github_append(
            &out,
            &[("secret", &secret_arg), ("secret-file", &path_s), ("dir", &dir_s)],
        )?;
    }
    if ctx.json {
        ui::stdout(
            &serde_json::to_string_pretty(&serde_json::json!({
                "secret_arg": format!("--secret {secret_arg}"),
                "id": id,
                "path": path,
                "kind": st.mode,
                "dir": dir,
                "state_path": st.path(),
                "mount_target": match args.kind { SecretKind::Key => format!("/run/secrets/{id}"), SecretKind::Keyring => "/root/.anaconda/keyring".into() },
                "run_env": match args.kind {
                    SecretKind::Key => serde_json::json!({}),
                    SecretKind::Keyring => serde_json::json!({ "PYTHON_KEYRING_BACKEND": READ_ONLY_BACKEND }),
                },
                "fingerprint": st.fingerprint,
                "expires_at": v.expires_at(),
                "validation": v.validation_json(),
                "ci": ctx.platform.name(),
                "warnings": v.warnings,
            }))
            .unwrap_or_default(),
        );
    } else {
        ui::stdout(&format!("--secret {secret_arg}"));
        ui::info(&format!(
            "anaconda-ci-auth: wrote the secret file (key {}); remove it with: anaconda-ci-auth cleanup --dir {}",
            st.fingerprint,
            dir.display()
        ));
        if args.kind == SecretKind::Keyring {
            ui::info(&format!(
                "  mount it with: RUN --mount=type=secret,id={id},target=/root/.anaconda/keyring,required=true \\\n      PYTHON_KEYRING_BACKEND={READ_ONLY_BACKEND} conda ..."
            ));
            ui::info(
                "  (secret mounts are read-only; anaconda-auth skips a read-only keyring unless its backend is named)",
            );
        } else {
            ui::info(&format!(
                "  use it with: RUN --mount=type=secret,id={id},required=true ..."
            ));
        }
    }
    Ok(())
}
