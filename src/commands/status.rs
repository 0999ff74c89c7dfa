//! `status`: what is configured now, redacted, with warnings for the traps that make anaconda-auth
//! ignore the job keyring (see [`crate::doctor`]) and for a key about to expire.

use crate::cli::StatusArgs;
use crate::condarc;
use crate::context::Ctx;
use crate::env::names;
use crate::error::Result;
use crate::job::{self, Found, Record};
use crate::secret::fingerprint_of;
use crate::{doctor, fsx, jwt, report, settings, ui};

pub(crate) fn run(ctx: &Ctx, args: &StatusArgs) -> Result<()> {
    let state_path = settings::state_path(&args.target, &ctx.env);
    let found = state_path.as_deref().map(job::find).transpose()?;
    let looked_at = looked_at(args, ctx, state_path.as_deref(), found.as_ref());
    let rec = match found {
        Some(Found::Record(rec)) => Some(*rec),
        _ => None,
    };
    let env_key = ctx.env.get(names::API_KEY).map(|k| fingerprint_of(k.trim()));
    let mut warnings = doctor::keyring_traps(&ctx.env);
    if let Some(rec) = &rec {
        warnings.extend(record_warnings(ctx, rec));
        if let Some(fp) = &env_key
            && rec.mode == crate::job::record::Mode::Keyring
        {
            warnings.push(format!(
                "{} is set ({fp}); anaconda-auth uses it instead of the job keyring",
                names::API_KEY
            ));
        }
    }
    let files = rec
        .iter()
        .flat_map(|r| r.files.iter().chain(r.merges.iter().map(|m| &m.target)))
        .map(|f| report::FileStatus {
            path: f.clone(),
            exists: f.exists(),
            mode: fsx::mode_string(f),
        })
        .collect();
    let conda = crate::conda::find(&ctx.env, None)
        .ok()
        .map(|path| (crate::conda::plugin(&path), path));
    if let Some((crate::conda::Plugin::Missing, path)) = &conda
        && rec
            .as_ref()
            .is_none_or(|r| r.clients.is_empty() || r.clients.contains(&crate::settings::Client::Conda))
    {
        warnings.push(format!(
            "conda at `{}` has no anaconda-auth plugin, so it will not send the key; {}",
            path.display(),
            crate::conda::PLUGIN_HINT
        ));
    }
    let r = report::Status {
        configured: rec.is_some(),
        state_path: rec.as_ref().map(Record::path),
        dir: rec.as_ref().map(|r| r.dir.clone()),
        mode: rec.as_ref().map(|r| r.mode.as_str()),
        domain: rec.as_ref().map(|r| r.domain.clone()),
        key_source: rec.as_ref().map(|r| r.key_source.clone()),
        fingerprint: rec.as_ref().map(|r| r.fingerprint.clone()).or(env_key.clone()),
        expires_at: rec.as_ref().and_then(|r| r.expires_at).map(jwt::rfc3339),
        files,
        env: rec.as_ref().map(|r| r.env.clone()),
        env_key_fingerprint: env_key,
        conda: conda.map(|(plugin, path)| report::CondaStatus::new(path, plugin)),
        ci: ctx.platform.name(),
        warnings,
        written_by: rec.as_ref().map(|r| (command_name(r.command), r.ci.clone())),
        looked_at,
    };
    if ctx.json {
        ui::json(&r);
    } else {
        ui::lines(&r.human());
    }
    for w in &r.warnings {
        ui::warn(w);
    }
    Ok(())
}

/// Where status looked and what it found there, naming the setting that pointed there.
fn looked_at(args: &StatusArgs, ctx: &Ctx, state: Option<&std::path::Path>, found: Option<&Found>) -> String {
    let Some(state) = state else {
        return format!("no {}, --dir or --state was given", names::STATE);
    };
    let given = match (&args.target.dir, &args.target.state) {
        (Some(d), _) => format!("--dir `{}`", d.display()),
        (None, Some(_)) => "--state".to_owned(),
        (None, None) if ctx.env.path(names::STATE).is_some() => names::STATE.to_owned(),
        (None, None) => "the state path".to_owned(),
    };
    match found {
        Some(Found::Foreign(dir)) if args.target.dir.is_some() => {
            format!("{given} holds files but no anaconda-ci-auth state file",)
        }
        _ if args.target.dir.is_some() => format!(
            "{given} has no state file `{}` (cleaned up, or never set up)",
            state.display()
        ),
        _ => format!(
            "{given} names `{}`, which does not exist (cleaned up, or never set up)",
            state.display()
        ),
    }
}

fn command_name(c: crate::job::record::Command) -> &'static str {
    use crate::job::record::Command;
    match c {
        Command::Setup => "setup",
        Command::Exec => "exec",
        Command::DockerSecret => "docker-secret",
    }
}

/// Overriding condarc entries, the key's expiry, missing files.
fn record_warnings(ctx: &Ctx, rec: &Record) -> Vec<String> {
    let mut w = Vec::new();
    let ours = rec.env.get(names::CONDARC).map(std::path::PathBuf::from);
    // The patterns the job routed (recorded as PATTERN or PATTERN=DOMAIN).
    let mut channels: Vec<condarc::Channel> = rec
        .channels
        .iter()
        .filter_map(|c| condarc::Channel::parse(c).ok())
        .collect();
    if channels.is_empty() {
        channels = condarc::channel_list(&[]);
    }
    if rec.clients.is_empty() || rec.clients.contains(&crate::settings::Client::Conda) {
        w.extend(doctor::condarc_traps_asking_conda(
            &ctx.env,
            &channels,
            &rec.domain,
            ours.as_deref(),
        ));
    }
    if let Some(exp) = rec.expires_at {
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
    for f in &rec.files {
        if !f.exists() {
            w.push(format!("`{}` is missing; run setup again", f.display()));
        }
    }
    // A later step of another tool (setup-micromamba, setup-pixi) may export its own file.
    for (var, ours) in &rec.env {
        let now = ctx.env.get(var);
        if ours != crate::job::exports::REDACTED && now.is_some_and(|n| n != ours) {
            w.push(format!(
                "{var} now names `{}`, not the job's `{ours}`: a later step replaced it; run setup after other setup steps",
                now.unwrap_or_default()
            ));
        }
    }
    w
}
