//! Errors: one type, a failure class per documented exit code, and a next step for every error.
//! Also the exit-code tables (README, `--help`) and `exec`'s own code, 125.
//!
//! Messages are lowercase, name the thing that failed, and never contain the key: they are built
//! from our own text and paths, and `ui` passes everything through the redactor before printing.

use std::fmt;

/// The failure classes, each with its own exit code (documented in README "Exit codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bug or an unexpected state.
    Internal,
    /// Bad flags, an argument that looks like a key, or a setting refused for safety.
    Usage,
    /// No key found in the configured source.
    KeyMissing,
    /// The key is not a well-formed Anaconda API key (JWT).
    KeyMalformed,
    /// The key has expired, or expires before `--min-validity`.
    KeyExpired,
    /// The Anaconda API answered 401/403: invalid or revoked.
    KeyRejected,
    /// The Anaconda API could not be reached or gave no usable answer.
    Unreachable,
    /// Reading or writing files failed, or a path was unsafe.
    Filesystem,
    /// conda was not found or a conda command failed.
    Conda,
}

impl Kind {
    /// Every kind, in exit-code order (for the generated exit-code tables).
    pub(crate) const ALL: [Self; 9] = [
        Self::Internal,
        Self::Usage,
        Self::KeyMissing,
        Self::KeyMalformed,
        Self::KeyExpired,
        Self::KeyRejected,
        Self::Unreachable,
        Self::Filesystem,
        Self::Conda,
    ];

    /// What the exit code means, for the documentation and `--help`.
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Self::Internal => "internal error (a bug)",
            Self::Usage => {
                "usage error, or refused for safety (a key on the command line, `--mode env` under GitLab `CI_DEBUG_TRACE`, an untrusted trigger)"
            }
            Self::KeyMissing => "no key found",
            Self::KeyMalformed => "the key is malformed",
            Self::KeyExpired => "the key has expired, or expires sooner than `--min-validity`",
            Self::KeyRejected => "the Anaconda API rejected the key (401/403)",
            Self::Unreachable => "the Anaconda API could not be reached or gave no usable answer",
            Self::Filesystem => "filesystem error or an unsafe path",
            Self::Conda => "conda not found, or a conda step failed",
        }
    }

    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Self::Internal => 1,
            Self::Usage => 2,
            Self::KeyMissing => 3,
            Self::KeyMalformed => 4,
            Self::KeyExpired => 5,
            Self::KeyRejected => 6,
            Self::Unreachable => 7,
            Self::Filesystem => 8,
            Self::Conda => 9,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::Usage => "usage",
            Self::KeyMissing => "key-missing",
            Self::KeyMalformed => "key-malformed",
            Self::KeyExpired => "key-expired",
            Self::KeyRejected => "key-rejected",
            Self::Unreachable => "api-unreachable",
            Self::Filesystem => "filesystem",
            Self::Conda => "conda",
        }
    }
}

/// `exec`'s exit code when anaconda-ci-auth itself fails (before or after running the command),
/// as `env`, `timeout` and `chroot` do: the command's own codes, 126 and 127 keep their meaning.
pub(crate) const EXEC_FAILED: u8 = 125;

/// What `exec` exits with besides the codes of [`Kind`]: (code, meaning), `None` for "any other".
pub(crate) const EXEC_CODES: [(Option<u8>, &str); 2] = [
    (
        Some(EXEC_FAILED),
        "`exec`: anaconda-ci-auth itself failed, before or after running the command; the message (and `kind_exit_code` in the `--json` report) names the failure class and its code from this table",
    ),
    (
        None,
        "`exec`: the command's exit code, 128+N when it was killed by signal N, 127 when it was not found, 126 when it could not be run",
    ),
];

/// The rule behind `exec`'s exit codes, next to the table.
pub(crate) const EXEC_RULE: &str = "Under `exec`, codes 1 to 9 are never anaconda-ci-auth's own: like `env`, `timeout` and \
`chroot`, it exits 125 when it fails itself (a bad key, a usage error, a failed cleanup), so a \
command that exits 3 to 9 cannot be mistaken for it; 126 and 127 keep the shell's meaning \
(found but not executable, not found), and every other code is the command's.";

/// The exit codes as a Markdown table (README, generated and checked by `cargo test docs`).
#[cfg(test)]
pub(crate) fn exit_code_markdown() -> String {
    let mut out = String::from("| code | meaning |\n| --- | --- |\n| 0 | success |\n");
    for k in Kind::ALL {
        out.push_str(&format!("| {} | {} |\n", k.exit_code(), k.meaning()));
    }
    for (code, meaning) in EXEC_CODES {
        let code = code.map_or_else(|| "other".to_owned(), |c| c.to_string());
        out.push_str(&format!("| {code} | {meaning} |\n"));
    }
    out.push('\n');
    out.push_str(&EXEC_RULE.replace("\n", " "));
    out.push('\n');
    out
}

/// The exit codes as plain text for `--help`.
pub(crate) fn exit_code_help() -> String {
    let plain = |s: &str| s.replace('`', "");
    let mut out = String::from("Exit codes:\n  0      success\n");
    for k in Kind::ALL {
        out.push_str(&format!("  {:<6} {}\n", k.exit_code(), plain(k.meaning())));
    }
    for (code, meaning) in EXEC_CODES {
        let code = code.map_or_else(|| "other".to_owned(), |c| c.to_string());
        out.push_str(&format!("  {code:<6} {}\n", plain(meaning)));
    }
    out
}

/// An error with its class, a message, optional causes and the next steps to take.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) kind: Kind,
    pub(crate) message: String,
    pub(crate) causes: Vec<String>,
    pub(crate) hints: Vec<String>,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub(crate) fn cause(mut self, cause: impl fmt::Display) -> Self {
        self.causes.push(cause.to_string());
        self
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, message)
            .hint("this is a bug in anaconda-ci-auth; please report it with the command you ran")
    }

    /// A filesystem error about `path`, with the OS error as the cause.
    pub(crate) fn fs(action: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::PermissionDenied => {
                "check the permissions of the path and its parent directory, or choose another one with --dir"
            }
            std::io::ErrorKind::NotFound => "check that the path exists",
            _ => "check the path and free disk space",
        };
        Self::new(
            Kind::Filesystem,
            format!("failed to {action} `{}`", path.display()),
        )
        .cause(err)
        .hint(hint)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
