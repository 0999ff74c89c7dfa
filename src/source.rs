//! Where the key comes from: a named variable, a file, stdin, or anaconda-auth's secrets directory.
//!
//! Never from an argument value: argv is visible to every process on the machine and CI logs echo
//! commands. [`refuse_key_in_argv`] turns a key passed by mistake into a usage error.

use std::io::Read as _;
use std::path::PathBuf;

use crate::cli::KeyArgs;
use crate::env::{Env, Presence, names};
use crate::error::{Error, Kind, Result};
use crate::jwt;
use crate::secret::ApiKey;

/// Read at most this much from a file or stdin.
const MAX_READ: u64 = 64 * 1024;

/// A key and a description of where it came from (for reports; never the value).
pub(crate) struct Sourced {
    pub(crate) key: ApiKey,
    pub(crate) source: String,
    /// The environment variable the key came from, if any (kept out of `exec` children in keyring mode).
    pub(crate) env_name: Option<String>,
}

pub(crate) fn read_key(args: &KeyArgs, env: &Env) -> Result<Sourced> {
    if let Some(name) = &args.api_key_env {
        if !is_env_name(name) {
            return Err(
                Error::usage(format!("`{}` is not an environment variable name", shorten(name))).hint(
                    "pass the variable's name, e.g. --api-key-env ANACONDA_API_KEY, never the key itself",
                ),
            );
        }
        return match env.presence(name) {
            Presence::Set => from_variable(name, env.get(name).unwrap_or_default()),
            presence => Err(missing_env(name, presence)),
        };
    }
    if let Some(path) = &args.api_key_file {
        let source = format!("file {}", path.display());
        return Ok(Sourced {
            key: jwt::sanitize(read_file(path)?, &source)?,
            source,
            env_name: None,
        });
    }
    if args.api_key_stdin {
        return from_stdin();
    }
    let presence = env.presence(names::API_KEY);
    match presence {
        Presence::Set => return from_variable(names::API_KEY, env.get(names::API_KEY).unwrap_or_default()),
        Presence::NotUtf8 => return Err(missing_env(names::API_KEY, presence)),
        Presence::Empty | Presence::Unset => {}
    }
    let secrets_dir = env
        .path(names::SECRETS_DIR)
        .unwrap_or_else(|| PathBuf::from("/run/secrets"));
    let file = secrets_dir.join(names::API_KEY);
    if file.is_file() {
        let source = format!("file {}", file.display());
        return Ok(Sourced {
            key: jwt::sanitize(read_file(&file)?, &source)?,
            source,
            env_name: None,
        });
    }
    let variable = if presence == Presence::Empty {
        "is set but empty"
    } else {
        "is not set"
    };
    Err(Error::new(
        Kind::KeyMissing,
        format!("no API key found: {} {variable} and `{}` does not exist", names::API_KEY, file.display()),
    )
    .hint(if presence == Presence::Empty {
        EMPTY_HINT
    } else {
        "map the CI secret to ANACONDA_AUTH_API_KEY in the job's environment, or use --api-key-env NAME, --api-key-file PATH or --api-key-stdin"
    }))
}

/// Why a variable mapped from a CI secret is empty.
const EMPTY_HINT: &str = "the CI secret it is mapped from is empty, misspelt in the mapping, or not given to this job \
     (secrets are not given to jobs started from forks; GitLab protected variables only reach protected branches)";

/// The key piped into standard input (never typed at a terminal).
fn from_stdin() -> Result<Sourced> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        // Reading would wait for someone to type the key, and echo it.
        return Err(Error::new(
            Kind::KeyMissing,
            "--api-key-stdin: standard input is a terminal, not the key piped in",
        )
        .hint("pipe the key in, e.g. `printenv MY_SECRET | anaconda-ci-auth setup --api-key-stdin`, or use --api-key-env NAME"));
    }
    let mut buf = String::new();
    std::io::stdin()
        .take(MAX_READ)
        .read_to_string(&mut buf)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                return not_utf8("standard input");
            }
            Error::new(Kind::KeyMissing, "failed to read the API key from standard input")
                .cause(e)
                .hint("pipe the key in, e.g. `printenv MY_SECRET | anaconda-ci-auth setup --api-key-stdin`")
        })?;
    let source = "standard input".to_owned();
    Ok(Sourced {
        key: jwt::sanitize(buf, &source)?,
        source,
        env_name: None,
    })
}

/// The key from a variable, or from the file it names: a GitLab File-type variable holds the
/// path of a temporary file with the value.
fn from_variable(name: &str, value: &str) -> Result<Sourced> {
    if let Some(path) = file_variable(value) {
        let source = format!("file {} (named by {name})", path.display());
        return Ok(Sourced {
            key: jwt::sanitize(read_file(&path)?, &source)?,
            source,
            env_name: Some(name.to_owned()),
        });
    }
    let source = format!("environment variable {name}");
    Ok(Sourced {
        key: jwt::sanitize(value.to_owned(), &source)?,
        source,
        env_name: Some(name.to_owned()),
    })
}

/// The path in `value` when it names an existing file rather than holding a key.
fn file_variable(value: &str) -> Option<PathBuf> {
    let looks_like_path = value.contains('/') || value.contains('\\');
    let path = PathBuf::from(value.trim());
    // An absolute path in an existing directory (a GitLab File variable whose file is gone) is
    // never a key, which starts with `eyJ`: say the file is missing instead of judging the path
    // as a key. Other values are never echoed as paths.
    let in_a_dir = path.is_absolute()
        && path
            .parent()
            .is_some_and(|d| d != std::path::Path::new("/") && d.is_dir());
    (looks_like_path && !jwt::looks_like_key(value) && (in_a_dir || path.is_file())).then_some(path)
}

fn missing_env(name: &str, presence: Presence) -> Error {
    let name = shorten(name);
    match presence {
        Presence::NotUtf8 => return not_utf8(&format!("environment variable `{name}`")),
        Presence::Empty => {
            return Error::new(
                Kind::KeyMissing,
                format!("environment variable `{name}` is set but empty"),
            )
            .hint(EMPTY_HINT);
        }
        Presence::Unset | Presence::Set => {}
    }
    Error::new(
        Kind::KeyMissing,
        format!("environment variable `{name}` is not set"),
    )
    .hint(
        "map the CI secret into this step's environment (GitHub: `env:` from `secrets.`; GitLab: a masked or \
         File-type CI/CD variable; Buildkite: the agent's secrets; Jenkins: withCredentials); \
         secrets are not given to jobs started from forks",
    )
}

/// The key's source holds bytes that are not UTF-8 text.
fn not_utf8(what: &str) -> Error {
    Error::new(Kind::KeyMalformed, format!("the value of {what} is not valid UTF-8 text"))
        .hint("an API key is plain ASCII text: store the key again, copied as text (not UTF-16 or another encoding, not a binary file)")
}

fn read_file(path: &std::path::Path) -> Result<String> {
    if path.is_dir() {
        return Err(Error::new(
            Kind::KeyMissing,
            format!(
                "`{}` is a directory, not a file holding the API key",
                path.display()
            ),
        )
        .hint(format!(
            "name the file itself, e.g. --api-key-file {}",
            path.join(names::API_KEY).display()
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| {
        Error::new(
            Kind::KeyMissing,
            format!("failed to read the API key from `{}`", path.display()),
        )
        .cause(e)
        .hint("check the path; GitLab file variables hold the path of a temporary file")
    })?;
    let mut buf = String::new();
    file.take(MAX_READ).read_to_string(&mut buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            return not_utf8(&format!("`{}`", path.display()));
        }
        Error::fs("read", path, e)
    })?;
    Ok(buf)
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A variable name as given, for an error message: shown only when it looks like one by CI
/// convention (upper case, digits, `_`), so a secret pasted in its place is not echoed.
fn shorten(s: &str) -> String {
    let conventional = s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !conventional || jwt::looks_like_key(s) {
        "<value hidden>".into()
    } else {
        s.into()
    }
}

/// Fails when any argument looks like an API key, or contains the value of a variable the key
/// may come from (`ANACONDA_AUTH_API_KEY`, or the one `--api-key-env` names), without echoing it.
///
/// Runs before the command line is parsed: clap echoes argument values in its errors.
pub(crate) fn refuse_key_in_argv(args: &[String], env: &Env) -> Result<()> {
    let options: Vec<&str> = args
        .iter()
        .skip(1)
        .map(String::as_str)
        .take_while(|a| *a != "--")
        .collect();
    let mut sources = vec![names::API_KEY];
    for (i, a) in options.iter().enumerate() {
        match a.strip_prefix("--api-key-env=") {
            Some(name) => sources.push(name),
            None if *a == "--api-key-env" => sources.extend(options.get(i + 1)),
            None => {}
        }
    }
    // A File-type variable holds a path, which may well appear in the arguments.
    let keys: Vec<&str> = sources
        .into_iter()
        .filter_map(|name| env.get(name))
        .map(str::trim)
        .filter(|v| v.len() >= 8 && file_variable(v).is_none())
        .collect();
    for (i, arg) in args.iter().enumerate().skip(1) {
        if jwt::looks_like_key(arg) || keys.iter().any(|k| arg.contains(k)) {
            return Err(Error::usage(format!("argument {i} looks like an API key; refusing to run")).hint(
                "never put the key on the command line (every process can read it and CI logs echo commands); \
                 use --api-key-env NAME, --api-key-file PATH or --api-key-stdin, and rotate the key if it was logged",
            ));
        }
    }
    Ok(())
}

/// Fails when the key that was read also appears inside an argument (e.g. a command for `exec`).
pub(crate) fn refuse_this_key_in_argv(args: &[String], key: &ApiKey) -> Result<()> {
    let k = key.expose();
    match args.iter().skip(1).position(|a| k.len() >= 8 && a.contains(k)) {
        Some(i) => Err(Error::usage(format!("argument {} contains the API key; refusing to run", i + 1)).hint(
            "never put the key on the command line (every process can read it and CI logs echo commands); \
             let the command read it from the environment or the keyring, and rotate the key if it was logged",
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> KeyArgs {
        KeyArgs {
            api_key_env: None,
            api_key_file: None,
            api_key_stdin: false,
        }
    }

    /// A key long enough to be accepted, distinct for each `n`.
    fn key(n: u64) -> String {
        crate::jwt::tests::make_jwt(&format!(r#"{{"exp":{}}}"#, 4_102_444_800 + n))
    }

    #[test]
    fn default_env_then_secrets_dir() {
        let env = Env::from_pairs(&[(names::API_KEY, &format!("{}\n", key(1)))]);
        let s = read_key(&args(), &env).unwrap();
        assert_eq!(s.key.expose(), key(1));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(names::API_KEY), key(2)).unwrap();
        let env = Env::from_pairs(&[(names::SECRETS_DIR, dir.path().to_str().unwrap())]);
        let s = read_key(&args(), &env).unwrap();
        assert_eq!(s.key.expose(), key(2));
        assert!(s.source.contains("file"));
    }

    #[test]
    fn missing_everywhere_is_key_missing() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_pairs(&[(names::SECRETS_DIR, dir.path().to_str().unwrap())]);
        assert_eq!(
            read_key(&args(), &env).err().map(|e| e.kind),
            Some(Kind::KeyMissing)
        );
    }

    #[test]
    fn unset_empty_and_not_utf8_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().to_str().unwrap();
        for (env, kind, says) in [
            (
                Env::from_pairs(&[(names::SECRETS_DIR, secrets)]),
                Kind::KeyMissing,
                "is not set",
            ),
            (
                Env::from_pairs(&[(names::SECRETS_DIR, secrets), (names::API_KEY, "")]),
                Kind::KeyMissing,
                "is set but empty",
            ),
            (
                Env::from_pairs(&[(names::SECRETS_DIR, secrets)]).with_not_utf8(names::API_KEY),
                Kind::KeyMalformed,
                "is not valid UTF-8",
            ),
        ] {
            let err = read_key(&args(), &env).err().unwrap();
            assert_eq!(err.kind, kind, "{}", err.message);
            assert!(err.message.contains(says), "{}", err.message);
        }
    }

    #[test]
    fn named_env_and_bad_names() {
        let env = Env::from_pairs(&[("MY_KEY", &key(3))]);
        let mut a = args();
        a.api_key_env = Some("MY_KEY".into());
        assert_eq!(
            read_key(&a, &env).map(|s| s.key.expose().to_owned()).ok(),
            Some(key(3))
        );
        a.api_key_env = Some("not a name".into());
        assert_eq!(read_key(&a, &env).err().map(|e| e.kind), Some(Kind::Usage));
    }

    #[test]
    fn a_variable_naming_a_file_reads_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ANACONDA_AUTH_API_KEY");
        std::fs::write(&file, format!("{}\n", key(4))).unwrap();
        let path = file.to_str().unwrap();
        let env = Env::from_pairs(&[(names::API_KEY, path)]);
        let s = read_key(&args(), &env).unwrap();
        assert_eq!(s.key.expose(), key(4));
        let argv = vec!["x".into(), "setup".into(), "--api-key-file".into(), path.into()];
        assert!(refuse_key_in_argv(&argv, &env).is_ok());
    }

    #[test]
    fn refuses_keys_in_argv() {
        let jwt = crate::jwt::tests::make_jwt(r#"{"exp":1}"#);
        let env = Env::default();
        let argv = vec![
            "anaconda-ci-auth".into(),
            "setup".into(),
            "--api-key-env".into(),
            jwt,
        ];
        let err = refuse_key_in_argv(&argv, &env).unwrap_err();
        assert!(!err.message.contains("eyJ"));
        let env = Env::from_pairs(&[(names::API_KEY, "plainsecretvalue")]);
        let argv = vec![
            "x".into(),
            "exec".into(),
            "--".into(),
            "echo".into(),
            "plainsecretvalue".into(),
        ];
        assert!(refuse_key_in_argv(&argv, &env).is_err());
    }

    // Regression: a key glued after other text in an option's value passed the check, and clap
    // echoed the value in its error.
    #[test]
    fn refuses_a_key_glued_into_an_argument() {
        let jwt = key(5);
        let env = Env::default();
        for arg in [
            format!("x{jwt}"),
            format!("--channel=https://x.example/t/abc{jwt}"),
        ] {
            let argv = vec!["x".into(), "setup".into(), "--mode".into(), arg];
            let err = refuse_key_in_argv(&argv, &env).unwrap_err();
            assert!(!err.message.contains(&jwt[..12]), "{}", err.message);
        }
    }

    #[test]
    fn refuses_the_value_of_the_variable_api_key_env_names() {
        // Not shaped like a JWT: only known as the named variable's value.
        let env = Env::from_pairs(&[("MY_KEY", "plain-secret-value-that-is-long-enough-0123")]);
        for named in [
            vec!["--api-key-env".to_owned(), "MY_KEY".to_owned()],
            vec!["--api-key-env=MY_KEY".to_owned()],
        ] {
            let mut argv: Vec<String> = vec!["x".into(), "setup".into()];
            argv.extend(named);
            assert!(refuse_key_in_argv(&argv, &env).is_ok());
            argv.extend([
                "--mode".into(),
                "xplain-secret-value-that-is-long-enough-0123".into(),
            ]);
            assert!(refuse_key_in_argv(&argv, &env).is_err(), "{argv:?}");
        }
    }
}
