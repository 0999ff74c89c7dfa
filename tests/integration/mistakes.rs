//! User mistakes, one table per class: what was given → the exit code → the phrase that names
//! the mistake. Every run goes through the leak-checking harness, and no run may leave a job
//! directory behind.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;

use crate::common::*;

/// One mistake: the environment and arguments, the documented exit code, and a phrase the
/// error must contain.
struct Case {
    what: &'static str,
    env: Vec<(&'static str, OsString)>,
    args: Vec<&'static str>,
    code: i32,
    says: &'static str,
}

fn case(
    what: &'static str,
    env: Vec<(&'static str, OsString)>,
    args: &[&'static str],
    code: i32,
    says: &'static str,
) -> Case {
    Case {
        what,
        env,
        args: args.to_vec(),
        code,
        says,
    }
}

fn os(s: impl Into<String>) -> OsString {
    s.into().into()
}

fn bytes(b: Vec<u8>) -> OsString {
    OsString::from_vec(b)
}

/// Runs every case in its own sandbox; `secrets` are registered first (values that are not
/// JWT-shaped, so the harness cannot learn them from the environment).
fn run_table(cases: Vec<Case>, secrets: &[&str]) {
    for c in cases {
        let sb = Sandbox::new();
        for s in secrets {
            sb.secret(s);
        }
        let mut cmd = sb.cmd(&c.args);
        for (n, v) in &c.env {
            cmd = cmd.env(n, v);
        }
        let out = cmd.run();
        assert_eq!(out.exit(), Some(c.code), "{}: {}", c.what, out.stderr());
        let stderr = out.stderr();
        assert!(
            stderr.contains(c.says),
            "{}: want {:?} in\n{stderr}",
            c.what,
            c.says
        );
        assert!(!stderr.contains("--validate none"), "{}: {stderr}", c.what);
        let left: Vec<_> = walk(&sb.tmpdir())
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(JOB_DIR_PREFIX))
            .collect();
        assert!(left.is_empty(), "{}: left behind {left:?}", c.what);
    }
}

const KEY_VAR: &str = "ANACONDA_AUTH_API_KEY";

// Regression: an empty variable was reported as "not set", a value that is not UTF-8 as "not
// set", and a key pasted with quotes, `Bearer ` or `NAME=` as a generic JWT error; tokens of
// other products were "not three dot-separated parts".
#[test]
fn key_mistakes_are_named_with_their_fix() {
    let jwt = canary();
    let org = "xx-0123abcd-4567-89ef-0123-456789abcdef";
    let hex = "0123456789abcdef0123456789abcdef01234567";
    let offline = &["validate", "--validate", "offline"];
    let none = &["setup", "--validate", "none"];
    let key = |v: String| vec![(KEY_VAR, os(v))];
    let cases = vec![
        case("unset", vec![], offline, 3, "ANACONDA_AUTH_API_KEY is not set"),
        case(
            "empty",
            key(String::new()),
            offline,
            3,
            "ANACONDA_AUTH_API_KEY is set but empty",
        ),
        case(
            "empty, named",
            vec![("MY_KEY", os(""))],
            &["validate", "--api-key-env", "MY_KEY"],
            3,
            "`MY_KEY` is set but empty",
        ),
        case(
            "unset, named",
            vec![],
            &["validate", "--api-key-env", "MY_KEY"],
            3,
            "`MY_KEY` is not set",
        ),
        case(
            "single quotes",
            key(format!("'{jwt}'")),
            none,
            4,
            "wrapped in quotes",
        ),
        case(
            "double quotes",
            key(format!("\"{jwt}\"")),
            offline,
            4,
            "wrapped in quotes",
        ),
        case(
            "one quote",
            key(format!("{jwt}\"")),
            offline,
            4,
            "wrapped in quotes",
        ),
        case(
            "Bearer",
            key(format!("Bearer {jwt}")),
            none,
            4,
            "remove the `Bearer ` prefix",
        ),
        case(
            "bearer, lower case",
            key(format!("bearer {jwt}")),
            offline,
            4,
            "remove the `Bearer ` prefix",
        ),
        case(
            "NAME=",
            key(format!("ANACONDA_API_KEY={jwt}")),
            none,
            4,
            "store only the part after `=`",
        ),
        case(
            "export NAME=",
            key(format!("export ANACONDA_AUTH_API_KEY={jwt}")),
            offline,
            4,
            "store only the part after `=`",
        ),
        case(
            "not UTF-8",
            vec![(KEY_VAR, bytes([jwt.as_bytes(), b"\xff"].concat()))],
            offline,
            4,
            "is not valid UTF-8",
        ),
        case(
            "not UTF-8, named",
            vec![("MY_KEY", bytes(b"\xfe\xff".to_vec()))],
            &["validate", "--api-key-env", "MY_KEY"],
            4,
            "`MY_KEY` is not valid UTF-8",
        ),
        case(
            "anaconda.org token",
            key(org.into()),
            none,
            4,
            "not an Anaconda API key",
        ),
        case(
            "hex token",
            key(hex.into()),
            offline,
            4,
            "anaconda.com account settings",
        ),
        case(
            "no dots",
            key("plain-secret-value-that-is-long-enough-0123".into()),
            offline,
            4,
            "it is not a JWT",
        ),
    ];
    run_table(cases, &[org, hex, "plain-secret-value-that-is-long-enough-0123"]);
}

// What is safely accepted: a trailing newline or CR, surrounding spaces, a byte-order mark.
#[test]
fn key_pasted_with_harmless_extras_is_accepted_as_is() {
    let sb = Sandbox::new();
    let jwt = sb.canary();
    for value in [
        format!("{jwt}\n"),
        format!("{jwt}\r\n"),
        format!("  {jwt} \t"),
        format!("\u{feff}{jwt}"),
    ] {
        let out = sb
            .cmd(["--json", "validate", "--validate", "offline"])
            .key(&value)
            .run();
        out.success();
        let fp = out.json()["fingerprint"].as_str().unwrap().to_owned();
        assert_eq!(fp, format!("sha256:{}", &sha256_hex(&jwt)[..16]), "{value:?}");
    }
}

#[test]
fn key_file_and_stdin_that_are_not_text_are_named() {
    let sb = Sandbox::new();
    let file = sb.path().join("key-utf16");
    std::fs::write(&file, b"\xff\xfek\x00e\x00y\x00").unwrap();
    sb.cmd(["validate", "--api-key-file"])
        .arg(&file)
        .run()
        .code(4)
        .stderr_has("is not valid UTF-8");
    sb.cmd(["validate", "--api-key-stdin"])
        .stdin(b"\xff\xfe\x00".to_vec())
        .run()
        .code(4)
        .stderr_has("standard input is not valid UTF-8");
}

// Regression: a bare number silently meant seconds (`--min-validity 7` let a key through that
// expires in a minute).
#[test]
fn durations_without_a_unit_are_refused() {
    let jwt = canary();
    let key = || (KEY_VAR, os(jwt.clone()));
    let v = &["validate", "--validate", "offline"];
    let cases = vec![
        case(
            "--min-validity",
            vec![key()],
            &["validate", "--validate", "offline", "--min-validity", "7"],
            2,
            "--min-validity: `7` has no unit: add a unit, e.g. 7d",
        ),
        case(
            "variable",
            vec![key(), ("ANACONDA_CI_AUTH_MIN_VALIDITY", os("3600"))],
            v,
            2,
            "ANACONDA_CI_AUTH_MIN_VALIDITY: `3600` has no unit",
        ),
        case(
            "--timeout",
            vec![key()],
            &["validate", "--validate", "offline", "--timeout", "30"],
            2,
            "--timeout: `30` has no unit: add a unit",
        ),
        case(
            "setup --timeout",
            vec![key()],
            &["setup", "--validate", "offline", "--timeout", "30"],
            2,
            "add a unit, e.g. 7d",
        ),
        case(
            "--max-age",
            vec![],
            &["cleanup", "--sweep", "--max-age", "100"],
            2,
            "--max-age: `100` has no unit",
        ),
        case(
            "empty",
            vec![key()],
            &["validate", "--validate", "offline", "--min-validity", ""],
            2,
            "the duration is empty",
        ),
        case(
            "unknown unit",
            vec![key()],
            &["validate", "--validate", "offline", "--min-validity", "7y"],
            2,
            "use s, m, h, d or w",
        ),
    ];
    run_table(cases, &[]);
}
