//! Which keys are accepted (JWTs of a sane length; under `--validate none` anything long enough,
//! with every escaped form scrubbed) and that no error echoes an argument holding the key.

use crate::common::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs the binary with `MY_KEY=key` and `args`.
fn run(sb: &Sandbox, key: &str, args: &[&str]) -> Run {
    sb.cmd(args).env("MY_KEY", key).run()
}

// Regression: `--validate none` accepted a key of a few characters, too short to scrub safely.
#[test]
fn cli_refuses_a_short_key_in_every_validation_mode() {
    let sb = Sandbox::new();
    for mode in ["none", "offline"] {
        for command in ["validate", "setup"] {
            let out = run(
                &sb,
                "abc.def.ghi",
                &[command, "--validate", mode, "--api-key-env", "MY_KEY"],
            );
            assert_eq!(out.status.code(), Some(4), "{mode}: {}", text(&out.stderr));
            let stderr = text(&out.stderr);
            assert!(stderr.contains("too short"), "{stderr}");
            assert!(!stderr.contains("abc.def"), "{stderr}");
        }
    }
    assert!(crate::common::walk(&sb.tmpdir()).is_empty());
}

// Regression: the offline check accepted characters a JWT never has (here after a valid JWT).
#[test]
fn cli_refuses_what_cannot_be_a_jwt_and_says_what_to_do() {
    let sb = Sandbox::new();
    let jwt = canary();
    for (suffix, says) in [
        ("%3D", "URL-encoded"),
        ("==", "base64url"),
        ("+x", "base64url"),
        ("\\\"", "quoted"),
    ] {
        let key = format!("{jwt}{suffix}");
        let out = run(
            &sb,
            &key,
            &[
                "validate",
                "--validate",
                "offline",
                "--api-key-env",
                "MY_KEY",
                "--json",
            ],
        );
        assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(stderr.contains(says), "{suffix}: {stderr}");
        assert!(stderr.contains("help: Anaconda API keys are JWTs"), "{stderr}");
        assert!(
            !stderr.contains("--validate") && !stdout.contains("--validate"),
            "{stderr}"
        );
        assert_no_leak("stderr", stderr.as_bytes(), &jwt);
        assert_no_leak("stdout", stdout.as_bytes(), &jwt);
    }
}

// Regression: a key that is not a JWT, accepted with `--validate none`, was not scrubbed in its
// URL-encoded and JSON-escaped forms.
#[test]
fn exec_scrubs_the_escaped_forms_of_a_key_accepted_without_validation() {
    let sb = Sandbox::new();
    let key = r#"not/a+jwt="quoted"\back%slash-0123456789abcdefghijklmnop"#;
    let script = r#"python3 -c '
import json, os, urllib.parse
k = os.environ["MY_KEY"]
print("quote:", urllib.parse.quote(k))
print("quote-all:", urllib.parse.quote(k, safe=""))
print("json:", json.dumps({"k": k}))
print("json-slash:", json.dumps(k).replace("/", "\\/"))
print("done")
'"#;
    let out = run(
        &sb,
        key,
        &[
            "exec",
            "--validate",
            "none",
            "--api-key-env",
            "MY_KEY",
            "--mode",
            "env",
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout,
        "quote: ****\nquote-all: ****\njson: {\"k\": \"****\"}\njson-slash: \"****\"\ndone\n"
    );
}

// Regression: a key glued after other text in an argument passed the argv check, and clap echoed
// the argument on stderr and in `--json`.
#[test]
fn cli_never_echoes_an_argument_that_contains_the_key() {
    let sb = Sandbox::new();
    let jwt = canary();
    let glued = [
        vec!["setup".to_owned(), "--mode".to_owned(), format!("x{jwt}")],
        vec!["setup".to_owned(), format!("--mode=x{jwt}")],
        vec![
            "validate".to_owned(),
            "--validate".to_owned(),
            format!("none{jwt}"),
        ],
        vec![
            "setup".to_owned(),
            format!("--channel=https://x.example/t/abc{jwt}"),
        ],
        vec!["setup".to_owned(), format!("--no-such-option=x{jwt}")],
        vec!["setup".to_owned(), format!("x{jwt}")],
    ];
    for args in &glued {
        for json in [false, true] {
            let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
            args.extend(["--api-key-env", "MY_KEY"]);
            if json {
                args.push("--json");
            }
            let out = run(&sb, &jwt, &args);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
            assert_no_leak("stderr", &out.stderr, &jwt);
            assert_no_leak("stdout", &out.stdout, &jwt);
            assert!(
                text(&out.stderr).contains("looks like an API key"),
                "{}",
                text(&out.stderr)
            );
        }
    }
}

// The same for a key that is not shaped like a JWT (accepted with `--validate none`): it is
// known only as the value of the variable `--api-key-env` names.
#[test]
fn cli_never_echoes_an_argument_that_contains_a_non_jwt_key() {
    let sb = Sandbox::new();
    let key = "plain-secret-value-for-validate-none-0123456789";
    for args in [
        vec![
            "setup",
            "--validate",
            "none",
            "--api-key-env",
            "MY_KEY",
            "--mode",
            "xplain-secret-value-for-validate-none-0123456789",
        ],
        vec![
            "setup",
            "--api-key-env=MY_KEY",
            "--ci=plain-secret-value-for-validate-none-0123456789",
            "--json",
        ],
    ] {
        let out = run(&sb, key, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(!text(&out.stderr).contains(key), "{}", text(&out.stderr));
        assert!(!text(&out.stdout).contains(key), "{}", text(&out.stdout));
    }
}
