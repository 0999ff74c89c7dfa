//! Subcommands. Each file owns one; this module holds what they share: the run context and
//! `prepare`, which reads, masks and validates the key in the same order for every command.

pub(crate) mod cleanup;
pub(crate) mod docker_secret;
pub(crate) mod exec;
pub(crate) mod register;
pub(crate) mod setup;
pub(crate) mod status;

use std::time::Duration;

use crate::cli::{KeyArgs, ValidateMode, ValidationArgs};
use crate::condarc;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::jwt::{self, Claims};
use crate::online::{self, Account};
use crate::platform::Platform;
use crate::source::{self, Sourced};
use crate::ui;

/// What every command knows about its invocation.
pub(crate) struct Ctx {
    pub(crate) env: Env,
    pub(crate) platform: Platform,
    pub(crate) json: bool,
    /// The command line, to refuse a key that was also passed as an argument.
    pub(crate) argv: Vec<String>,
}

/// A key that passed the requested checks.
pub(crate) struct Validated {
    pub(crate) sourced: Sourced,
    pub(crate) domain: String,
    pub(crate) claims: Option<Claims>,
    pub(crate) account: Option<Account>,
    pub(crate) mode: ValidateMode,
    pub(crate) warnings: Vec<String>,
}

impl Validated {
    pub(crate) fn expires_at(&self) -> Option<String> {
        self.claims.as_ref().map(|c| jwt::rfc3339(c.exp))
    }

    pub(crate) fn validation_json(&self) -> serde_json::Value {
        let mode = match self.mode {
            ValidateMode::Online => "online",
            ValidateMode::Offline => "offline",
            ValidateMode::None => "none",
        };
        serde_json::json!({
            "mode": mode,
            "username": self.account.as_ref().and_then(|a| a.username.clone()),
        })
    }
}

/// Reads the key, has the platform mask it, runs the platform's preflight and the offline and
/// online checks. Masks are registered before any network call so even error text is covered.
pub(crate) fn prepare(
    ctx: &Ctx,
    key_args: &KeyArgs,
    v: &ValidationArgs,
    env_mode: bool,
    allow_untrusted: bool,
    stdout_reserved: bool,
) -> Result<Validated> {
    let domain = condarc::normalize_domain(&v.domain)
        .map_err(|e| Error::usage(format!("--domain: {e}")).hint("use a domain like anaconda.com"))?;
    let min_validity = match &v.min_validity {
        Some(s) => jwt::parse_duration(s).map_err(|e| {
            Error::usage(format!("--min-validity: {e}")).hint("for example --min-validity 7d")
        })?,
        None => 0,
    };
    let deadline = jwt::parse_duration(&v.timeout)
        .map_err(|e| Error::usage(format!("--timeout: {e}")).hint("for example --timeout 60s"))?;
    let base_url = online::base_url(&domain, v.api_url.as_deref())?;

    let sourced = source::read_key(key_args, &ctx.env)?;
    source::refuse_this_key_in_argv(&ctx.argv, &sourced.key)?;
    let forms = sourced.key.derived_forms(&domain);
    let mut warnings = ctx.platform.register_masks(&forms, &ctx.env, stdout_reserved);
    ui::register_secrets(forms);
    warnings.extend(
        ctx.platform
            .preflight(&ctx.env, sourced.key.expose(), env_mode, allow_untrusted)?,
    );

    let claims = match v.validate {
        ValidateMode::None => {
            warnings.push(
                "validation is off (--validate none): a bad key will only fail when conda uses it".into(),
            );
            None
        }
        _ => {
            let (claims, w) = jwt::check(&sourced.key, jwt::now(), min_validity)?;
            warnings.extend(w);
            Some(claims)
        }
    };
    let account = if v.validate == ValidateMode::Online {
        let mut ca_bundles: Vec<_> = v.ca_bundle.iter().cloned().collect();
        for name in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"] {
            if let Some(p) = ctx.env.path(name)
                && p.is_file()
                && !ca_bundles.contains(&p)
            {
                ca_bundles.push(p);
            }
        }
        let opts = online::OnlineOptions {
            base_url,
            ca_bundles,
            deadline: Duration::from_secs(deadline.max(1) as u64),
        };
        Some(online::check_account(&sourced.key, &opts)?)
    } else {
        None
    };
    Ok(Validated {
        sourced,
        domain,
        claims,
        account,
        mode: v.validate,
        warnings,
    })
}

/// `validate`: the checks, nothing written.
pub(crate) fn validate(ctx: &Ctx, args: &crate::cli::ValidateArgs) -> Result<()> {
    let v = prepare(ctx, &args.key, &args.validation, false, true, ctx.json)?;
    for w in &v.warnings {
        ui::warn(w);
    }
    if ctx.json {
        ui::stdout(
            &serde_json::to_string_pretty(&serde_json::json!({
                "valid": true,
                "fingerprint": v.sourced.key.fingerprint(),
                "expires_at": v.expires_at(),
                "domain": v.domain,
                "key_source": v.sourced.source,
                "validation": v.validation_json(),
                "ci": ctx.platform.name(),
                "warnings": v.warnings,
            }))
            .unwrap_or_default(),
        );
    } else {
        ui::info(&format!("key from {}: valid", v.sourced.source));
        ui::info(&format!("  fingerprint  {}", v.sourced.key.fingerprint()));
        if let Some(e) = v.expires_at() {
            ui::info(&format!("  expires      {e}"));
        }
        if let Some(u) = v.account.as_ref().and_then(|a| a.username.as_deref()) {
            ui::info(&format!("  account      {u}"));
        }
        ui::info(&format!(
            "  validation   {}",
            v.validation_json()["mode"].as_str().unwrap_or("?")
        ));
    }
    Ok(())
}

/// Quotes a value for POSIX shells.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
