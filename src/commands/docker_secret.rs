//! `docker-secret`: write the key (or a keyring) to a private file for `docker build --secret` and
//! print the `--secret id=...,src=...` argument. The file is recorded in a job directory before it
//! is written, so `cleanup --dir` removes it.

use std::collections::BTreeMap;

use crate::check::{self, Purpose};
use crate::cli::{DockerSecretArgs, SecretKind};
use crate::context::Ctx;
use crate::env::names;
use crate::error::{Error, Result};
use crate::job::record::{Command, Mode};
use crate::job::{self, Txn};
use crate::{keyring, report, settings, ui};

/// BuildKit mounts secrets read-only; anaconda-auth's file keyring declares itself unusable when it
/// cannot open the file for appending, unless the backend is named explicitly.
const READ_ONLY_BACKEND: &str = "anaconda_auth.token.AnacondaKeyring";

pub(crate) fn run(ctx: &Ctx, args: &DockerSecretArgs) -> Result<()> {
    let validation = settings::validation(&args.validation, &ctx.env)?;
    let k = check::check(ctx, &args.key, &validation, Purpose::DockerSecret)?;
    for w in &k.warnings {
        ui::warn(w);
    }
    let id = secret_id(args)?;
    let (mode, contents) = match args.kind {
        SecretKind::Key => (Mode::Key, zeroize::Zeroizing::new(k.key().expose().to_owned())),
        SecretKind::Keyring => (Mode::Keyring, keyring::render_new(&k.domain, k.key())),
    };
    let dir = job::create_dir(&ctx.env.temp_dir()?)?;
    let mut txn = Txn::begin(k.new_record(ctx, mode, dir, true, Command::DockerSecret))?;
    let path = match &args.out {
        Some(p) => {
            let p = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            txn.write_new_outside(&p, contents.as_bytes())?;
            p
        }
        None => txn.write(&id, contents.as_bytes())?,
    };
    let secret_arg = format!("id={id},src={}", path.display());
    let (mount_target, run_env) = match args.kind {
        SecretKind::Key => (format!("/run/secrets/{id}"), BTreeMap::new()),
        SecretKind::Keyring => (
            "/root/.anaconda/keyring".to_owned(),
            // anaconda-auth 0.9 to 0.15.2 send the API key to repository channels only with
            // the unified-key switch, as setup exports it.
            BTreeMap::from([
                (names::KEYRING_BACKEND, READ_ONLY_BACKEND),
                (names::UNIFIED_KEY, "true"),
            ]),
        ),
    };
    let r = report::DockerSecret {
        secret_arg: format!("--secret {secret_arg}"),
        id: id.clone(),
        path: path.clone(),
        kind: mode.as_str(),
        dir: txn.dir().to_path_buf(),
        state_path: txn.record().path(),
        mount_target,
        run_env,
        fingerprint: k.fingerprint(),
        expires_at: k.expires_at(),
        validation: k.validation(),
        ci: ctx.platform.name(),
        warnings: k.warnings.clone(),
    };
    let outputs = [
        ("secret", secret_arg.clone()),
        ("secret-file", path.to_string_lossy().into_owned()),
        ("dir", r.dir.to_string_lossy().into_owned()),
    ];
    ctx.platform.publish(&ctx.env, &outputs, None)?;
    txn.commit()?;
    if ctx.json {
        ui::json(&r);
        return Ok(());
    }
    print_human(&r, args.kind);
    Ok(())
}

/// The secret id: `--id`, or the default for the kind; letters, digits, `_`, `-` and `.` only.
fn secret_id(args: &DockerSecretArgs) -> Result<String> {
    let id: String = args.id.clone().unwrap_or_else(|| match args.kind {
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
    Ok(id)
}

fn print_human(r: &report::DockerSecret, kind: SecretKind) {
    ui::stdout(&r.secret_arg);
    ui::info(&format!(
        "anaconda-ci-auth: wrote the secret file (key {}); remove it with: anaconda-ci-auth cleanup --dir {}",
        r.fingerprint,
        r.dir.display()
    ));
    if kind == SecretKind::Keyring {
        ui::info(&format!(
            "  mount it with: RUN --mount=type=secret,id={},target=/root/.anaconda/keyring,required=true \\\n      {}={READ_ONLY_BACKEND} {}=true conda ...",
            r.id,
            names::KEYRING_BACKEND,
            names::UNIFIED_KEY
        ));
        ui::info(
            "  (secret mounts are read-only; anaconda-auth skips a read-only keyring unless its backend is named)",
        );
    } else {
        ui::info(&format!(
            "  use it with: RUN --mount=type=secret,id={},required=true ...",
            r.id
        ));
    }
}
