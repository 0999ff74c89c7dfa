//! "Is this key usable": read it, have the platform mask every form of it, run the platform's
//! preflight, then the offline and online checks, in this order for every command. Masks are
//! registered before any network call, so even error text is covered.

use crate::cli::{KeyArgs, ValidateMode};
use crate::context::Ctx;
use crate::error::Result;
use crate::job::record::{self, Command, Record};
use crate::jwt::{self, Claims};
use crate::online::{self, Account};
use crate::report;
use crate::secret::ApiKey;
use crate::settings::Validation;
use crate::source::{self, Sourced};
use crate::ui;

/// What the key will be used for: decides the platform's refusals.
#[derive(Clone, Copy)]
pub(crate) enum Purpose {
    /// Nothing is written or exported.
    Validate,
    /// A job directory for later steps or a child process.
    Job { env_mode: bool, allow_untrusted: bool },
    /// A secret file for `docker build`.
    DockerSecret,
}

/// A key that passed the requested checks.
pub(crate) struct CheckedKey {
    pub(crate) sourced: Sourced,
    pub(crate) domain: String,
    pub(crate) claims: Option<Claims>,
    pub(crate) account: Option<Account>,
    pub(crate) mode: ValidateMode,
    pub(crate) warnings: Vec<String>,
}

impl CheckedKey {
    pub(crate) fn key(&self) -> &ApiKey {
        &self.sourced.key
    }

    pub(crate) fn fingerprint(&self) -> String {
        self.sourced.key.fingerprint()
    }

    pub(crate) fn expires_at(&self) -> Option<String> {
        self.claims.as_ref().map(|c| jwt::rfc3339(c.exp))
    }

    pub(crate) fn validation(&self) -> report::Validation {
        report::Validation {
            mode: match self.mode {
                ValidateMode::Online => "online",
                ValidateMode::Offline => "offline",
                ValidateMode::None => "none",
            },
            username: self.account.as_ref().and_then(|a| a.username.clone()),
        }
    }

    /// The record a command starts its job directory with.
    pub(crate) fn new_record(
        &self,
        ctx: &Ctx,
        mode: record::Mode,
        dir: std::path::PathBuf,
        created_dir: bool,
        command: Command,
    ) -> Record {
        Record {
            tool: record::MARKER.into(),
            format: record::FORMAT,
            command,
            dir,
            created_at: jwt::now(),
            ci: ctx.platform.name().into(),
            job: ctx.platform.job_id(&ctx.env),
            mode,
            domain: self.domain.clone(),
            fingerprint: self.fingerprint(),
            expires_at: self.claims.as_ref().map(|c| c.exp),
            key_source: self.sourced.source.clone(),
            files: Vec::new(),
            channels: Vec::new(),
            env: std::collections::BTreeMap::new(),
            merges: Vec::new(),
            created_dir,
            clients: Vec::new(),
            restore_env: std::collections::BTreeMap::new(),
            merge_index: None,
            merge_index_dirs: Vec::new(),
        }
    }

    /// The variables a child must not inherit: in keyring mode, where the key came from (and
    /// ANACONDA_AUTH_API_KEY, which anaconda-auth would prefer over the keyring).
    pub(crate) fn removed_key_vars(&self, env_mode: bool) -> Vec<&str> {
        if env_mode {
            return Vec::new();
        }
        let mut out = vec![crate::env::names::API_KEY];
        out.extend(self.sourced.env_name.as_deref());
        out
    }

    /// The facts a report gives about this key.
    pub(crate) fn facts(&self, ctx: &Ctx, warnings: Vec<String>) -> report::KeyFacts {
        report::KeyFacts {
            fingerprint: self.fingerprint(),
            expires_at: self.expires_at(),
            domain: self.domain.clone(),
            key_source: self.sourced.source.clone(),
            validation: self.validation(),
            ci: ctx.platform.name(),
            warnings,
        }
    }

    /// "validated online as NAME", "checked offline", ...
    pub(crate) fn validation_phrase(&self) -> String {
        match (
            &self.mode,
            self.account.as_ref().and_then(|a| a.username.as_deref()),
        ) {
            (ValidateMode::Online, Some(u)) => format!("validated online as {u}"),
            (ValidateMode::Online, None) => "validated online".into(),
            (ValidateMode::Offline, _) => "checked offline".into(),
            (ValidateMode::None, _) => "not validated".into(),
        }
    }
}

pub(crate) fn check(ctx: &Ctx, key_args: &KeyArgs, v: &Validation, purpose: Purpose) -> Result<CheckedKey> {
    let sourced = source::read_key(key_args, &ctx.env)?;
    source::refuse_this_key_in_argv(&ctx.argv, &sourced.key)?;
    let forms = sourced.key.derived_forms(&v.domain);
    let mut warnings = ctx.platform.mask(&forms, &ctx.env);
    ui::add_secrets(forms);
    let (env_mode, allow_untrusted) = match purpose {
        Purpose::Validate => (false, true),
        Purpose::Job {
            env_mode,
            allow_untrusted,
        } => (env_mode, allow_untrusted),
        Purpose::DockerSecret => (false, false),
    };
    warnings.extend(
        ctx.platform
            .preflight(&ctx.env, &sourced.key, env_mode, allow_untrusted)?,
    );
    let claims = match v.mode {
        ValidateMode::None => {
            warnings.push(
                "validation is off (--validate none): a bad key will only fail when conda uses it".into(),
            );
            None
        }
        _ => {
            let (claims, w) = jwt::check(&sourced.key, jwt::now(), v.min_validity)?;
            warnings.extend(w);
            Some(claims)
        }
    };
    let account = if v.mode == ValidateMode::Online {
        let opts = online::OnlineOptions {
            base_url: v.base_url.clone(),
            ca_bundles: v.ca_bundles.clone(),
            deadline: v.timeout,
        };
        Some(online::check_account(&sourced.key, &opts)?)
    } else {
        None
    };
    Ok(CheckedKey {
        sourced,
        domain: v.domain.clone(),
        claims,
        account,
        mode: v.mode,
        warnings,
    })
}
