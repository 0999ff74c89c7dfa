//! User mistakes, one table per class: what was given → the exit code → the phrase that names
//! the mistake. Every run goes through the leak-checking harness, and no run may leave a job
//! directory behind.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};

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
        let out = sb.cmd(&c.args).envs_os(&c.env).run();
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
            "a key file that is a directory",
            vec![],
            &["validate", "--api-key-file", "/tmp"],
            3,
            "`/tmp` is a directory, not a file holding the API key",
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
            "Token scheme",
            key(format!("Token {jwt}")),
            none,
            4,
            "remove the `Token ` prefix",
        ),
        case(
            "a path that does not exist",
            key("/tmp/ANACONDA_AUTH_API_KEY-gone".into()),
            offline,
            3,
            "failed to read the API key from `/tmp/ANACONDA_AUTH_API_KEY-gone`",
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

// Regression: a `pull_request_target` or `workflow_run` whose event file was missing, unreadable
// or not JSON skipped the fork check and ran with the key; a TMPDIR that is not UTF-8 ended in
// "a bug (exit 1)" after creating the directory.
#[test]
fn ci_context_mistakes_fail_closed() {
    let sb = Sandbox::new();
    let runner = sb.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap();
    let bad = runner.join("bad.json");
    std::fs::write(&bad, "{oops").unwrap();
    let no_repos = runner.join("no-repos.json");
    std::fs::write(&no_repos, "{}").unwrap();
    let path = |p: &std::path::Path| os(p.to_str().unwrap());
    let jwt = canary();
    let github = |event: &str, event_path: Option<OsString>| {
        let mut env = vec![
            (KEY_VAR, os(jwt.clone())),
            ("GITHUB_ACTIONS", os("true")),
            ("GITHUB_ENV", path(&runner.join("env"))),
            ("RUNNER_TEMP", path(&runner)),
            ("GITHUB_EVENT_NAME", os(event)),
        ];
        env.extend(event_path.map(|p| ("GITHUB_EVENT_PATH", p)));
        env
    };
    let setup = &["setup", "--validate", "offline"];
    let not_utf8 = bytes(b"/tmp/\xff-not-utf8".to_vec());
    let cases = vec![
        case(
            "GITHUB_ACTIONS without GITHUB_ENV",
            vec![(KEY_VAR, os(jwt.clone())), ("GITHUB_ACTIONS", os("true"))],
            setup,
            2,
            "GITHUB_ENV is not set",
        ),
        case(
            "GITHUB_ENV in a directory that does not exist",
            vec![
                (KEY_VAR, os(jwt.clone())),
                ("GITHUB_ACTIONS", os("true")),
                ("GITHUB_ENV", os("/nonexistent-runner/env")),
            ],
            setup,
            8,
            "failed to append to `/nonexistent-runner/env`",
        ),
        case(
            "pull_request_target, event file missing",
            github("pull_request_target", Some(path(&runner.join("missing.json")))),
            setup,
            2,
            "cannot be read",
        ),
        case(
            "pull_request_target, no event path",
            github("pull_request_target", None),
            setup,
            2,
            "GITHUB_EVENT_PATH",
        ),
        case(
            "pull_request_target, event file a directory",
            github("pull_request_target", Some(path(&runner))),
            &["exec", "--validate", "offline", "--", "true"],
            125,
            "cannot be ruled out",
        ),
        case(
            "workflow_run, not JSON",
            github("workflow_run", Some(path(&bad))),
            setup,
            2,
            "is not JSON",
        ),
        case(
            "workflow_run, no repositories",
            github("workflow_run", Some(path(&no_repos))),
            setup,
            2,
            "does not name the head and base",
        ),
        case(
            "TMPDIR not UTF-8, setup",
            vec![(KEY_VAR, os(jwt.clone())), ("TMPDIR", not_utf8.clone())],
            setup,
            8,
            "TMPDIR is not valid UTF-8",
        ),
        case(
            "TMPDIR not UTF-8, exec",
            vec![(KEY_VAR, os(jwt.clone())), ("TMPDIR", not_utf8.clone())],
            &["exec", "--validate", "offline", "--", "true"],
            125,
            "TMPDIR is not valid UTF-8",
        ),
        case(
            "TMPDIR not UTF-8, docker-secret",
            vec![(KEY_VAR, os(jwt.clone())), ("TMPDIR", not_utf8.clone())],
            &["docker-secret", "--validate", "offline"],
            8,
            "TMPDIR is not valid UTF-8",
        ),
        case(
            "RUNNER_TEMP not UTF-8",
            vec![
                (KEY_VAR, os(jwt.clone())),
                ("GITHUB_ACTIONS", os("true")),
                ("GITHUB_ENV", path(&runner.join("env"))),
                ("RUNNER_TEMP", not_utf8.clone()),
            ],
            setup,
            8,
            "RUNNER_TEMP is not valid UTF-8",
        ),
        case(
            "GitLab merge request without the target project",
            vec![
                (KEY_VAR, os(jwt.clone())),
                ("GITLAB_CI", os("true")),
                ("CI_MERGE_REQUEST_SOURCE_PROJECT_ID", os("7")),
            ],
            setup,
            2,
            "so a fork cannot be ruled out",
        ),
    ];
    run_table(cases, &[]);
    assert!(!std::path::Path::new(std::ffi::OsStr::from_bytes(b"/tmp/\xff-not-utf8")).exists());
    let left: Vec<_> = std::fs::read_dir(&runner)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| n.to_string_lossy().starts_with(JOB_DIR_PREFIX))
        .collect();
    assert!(left.is_empty(), "left in RUNNER_TEMP: {left:?}");
    // Explicitly allowed, the unknown trigger runs (with a warning) and cleans up.
    sb.cmd([
        "exec",
        "--validate",
        "offline",
        "--allow-untrusted-trigger",
        "--",
        "true",
    ])
    .envs_os(&github("pull_request_target", Some(path(&bad))))
    .run()
    .success()
    .stderr_has("because it was explicitly allowed");
}

// Regression: a host name that does not exist was retried for the whole `--timeout`.
// `.invalid` never resolves (RFC 6761); a refused connection to a host other than this machine
// (0.0.0.0 reaches this machine without being a loopback address) is not retried either.
#[test]
fn permanent_network_failures_fail_fast_with_a_hint() {
    let closed = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused: &'static str = Box::leak(format!("https://0.0.0.0:{port}").into_boxed_str());
    let jwt = canary();
    let key = || vec![(KEY_VAR, os(jwt.clone()))];
    let cases = [
        (
            case(
                "--api-url under .invalid",
                key(),
                &[
                    "validate",
                    "--timeout",
                    "30s",
                    "--api-url",
                    "https://anaconda.invalid",
                ],
                7,
                "the host name `anaconda.invalid` does not resolve",
            ),
            "check --domain and --api-url",
        ),
        (
            case(
                "--domain under .invalid",
                key(),
                &["setup", "--timeout", "30s", "--domain", "example.invalid"],
                7,
                "does not resolve (DNS answers that there is no such name)",
            ),
            "HTTPS_PROXY",
        ),
        (
            case(
                "refused by another host",
                key(),
                &["validate", "--timeout", "30s", "--api-url", refused],
                7,
                "the connection was refused",
            ),
            "check the host and port",
        ),
        (
            case(
                "a proxy that does not exist",
                vec![
                    (KEY_VAR, os(jwt.clone())),
                    ("HTTPS_PROXY", os("http://proxy.invalid:3128")),
                ],
                &["validate", "--timeout", "30s"],
                7,
                "through the proxy: its host name does not resolve",
            ),
            "check the proxy address in HTTPS_PROXY",
        ),
    ];
    for (c, hint) in cases {
        let sb = Sandbox::new();
        let out = sb.cmd(&c.args).envs_os(&c.env).run();
        out.code(c.code)
            .stderr_has(c.says)
            .stderr_has(hint)
            .stderr_lacks("retrying");
        assert!(
            out.took < std::time::Duration::from_secs(10),
            "{}: took {:?}",
            c.what,
            out.took
        );
        assert!(walk(&sb.tmpdir()).is_empty(), "{}", c.what);
    }
}

/// The variables a later step sees after `setup --json` (what env.sh or $GITHUB_ENV give it).
fn later_step_env(setup: &serde_json::Value) -> Vec<(&'static str, OsString)> {
    let mut out = Vec::new();
    for (k, v) in setup["env"].as_object().unwrap() {
        let v = v.as_str().unwrap();
        if v != "<redacted>" {
            out.push((&*Box::leak(k.clone().into_boxed_str()), os(v)));
        }
    }
    out
}

// Regression: a second setup in the same job wrote a new job directory and orphaned the first,
// whose entries stayed in mamba's file and a user's keyring until a sweep.
#[test]
fn a_second_setup_in_the_same_job_replaces_the_first() {
    let sb = Sandbox::new();
    let mamba = sb.home().join(".mamba/auth/authentication.json");
    std::fs::create_dir_all(mamba.parent().unwrap()).unwrap();
    let original = r#"{"other.example.com": {"token": "not-ours"}}"#;
    std::fs::write(&mamba, original).unwrap();
    let keyring = sb.home().join(".anaconda/keyring");
    std::fs::create_dir_all(keyring.parent().unwrap()).unwrap();
    std::fs::write(&keyring, "{}").unwrap();
    sb.allow_secret_in(
        &keyring,
        "the user's keyring, merged into on purpose with --keyring-path",
    );
    let (first, second) = (sb.canary(), sb.secret(&jwt(now() + 86_400 * 300, "SECOND-9b1e")));
    let setup = ["--json", "setup", "--validate", "offline", "--keyring-path"];
    let one = sb.cmd(setup).arg(&keyring).key(&first).run();
    one.success();
    let one = one.json();
    let dir1 = std::path::PathBuf::from(one["dir"].as_str().unwrap());
    // Through the state variable (a later step), and through the CI job id (a new shell).
    let two = sb
        .cmd(setup)
        .arg(&keyring)
        .key(&second)
        .envs_os(&later_step_env(&one))
        .run();
    two.success()
        .stderr_has("replacing the earlier setup of this job");
    let two = two.json();
    assert!(!dir1.exists(), "the first job directory was orphaned");
    let dir2 = std::path::PathBuf::from(two["dir"].as_str().unwrap());
    let condarc = std::fs::read_to_string(dir2.join("condarc.yml")).unwrap();
    assert!(!condarc.contains(dir1.to_str().unwrap()), "{condarc}");
    for file in [&mamba, &keyring] {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains(&second) || text.contains(&base64_of_entry(&second)),
            "{}",
            file.display()
        );
        assert!(
            !text.contains(&first) && !text.contains(&base64_of_entry(&first)),
            "{}: still holds the first key",
            file.display()
        );
    }
    sb.cmd(["cleanup"]).envs_os(&later_step_env(&two)).run().success();
    assert_eq!(std::fs::read_to_string(&mamba).unwrap(), original);
    assert_eq!(std::fs::read_to_string(&keyring).unwrap(), "{}");
    assert!(!dir2.exists());

    // A new shell of the same CI job (no state variable) finds the earlier setup by the job id
    // where the job has the directory to itself (GitHub's RUNNER_TEMP).
    let runner = sb.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap();
    let runner_s = runner.to_str().unwrap();
    let github_env = runner.join("github_env");
    let github = [
        ("GITHUB_ACTIONS", "true"),
        ("RUNNER_TEMP", runner_s),
        ("GITHUB_ENV", github_env.to_str().unwrap()),
        ("GITHUB_RUN_ID", "42"),
        ("GITHUB_JOB", "build"),
    ];
    let one = sb
        .cmd(["--json", "setup", "--validate", "offline"])
        .key(&first)
        .envs(&github)
        .run();
    let dir1 = std::path::PathBuf::from(one.success().json()["dir"].as_str().unwrap().to_owned());
    let two = sb
        .cmd(["--json", "setup", "--validate", "offline"])
        .key(&second)
        .envs(&github)
        .run();
    two.success().stderr_has("replacing the earlier setup");
    assert!(!dir1.exists());
    assert!(std::fs::read_to_string(&mamba).unwrap().contains(&second));
    sb.cmd(["cleanup"]).envs(&github).run().success();
    assert_eq!(std::fs::read_to_string(&mamba).unwrap(), original);
    assert!(walk(&runner).iter().all(|p| p == &github_env));

    // In a shared TMPDIR (parallel stages of one Jenkins build share BUILD_TAG), a setup in
    // another shell is not this shell's to replace.
    let jenkins = [
        ("JENKINS_URL", "http://ci.example"),
        ("BUILD_TAG", "jenkins-job-7"),
    ];
    let setup = ["--json", "setup", "--validate", "offline"];
    let one = sb.cmd(setup).key(&first).envs(&jenkins).run();
    let one = one.success().json();
    let two = sb.cmd(setup).key(&first).envs(&jenkins).run();
    two.success().stderr_lacks("replacing");
    let two = two.json();
    assert!(std::path::Path::new(one["dir"].as_str().unwrap()).exists());
    for json in [&one, &two] {
        sb.cmd(["cleanup"]).envs_os(&later_step_env(json)).run().success();
    }
    assert_eq!(std::fs::read_to_string(&mamba).unwrap(), original);
    assert!(walk(&sb.tmpdir()).is_empty());
}

/// The keyring holds the key inside base64 JSON.
fn base64_of_entry(key: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!(
        r#"{{"domain":"anaconda.com","api_key":"{key}","repo_tokens":[],"version":2}}"#
    ))
}

// Regression: `cleanup` with nothing to name failed (exit 2) though documented as safe under
// `if: always()`; `status` did not say which setting it followed to an empty place.
#[test]
fn state_mistakes_are_named_and_cleanup_is_idempotent() {
    let sb = Sandbox::new();
    let foreign = sb.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let missing = sb.path().join("missing");
    let path =
        |p: &std::path::Path| -> &'static str { Box::leak(p.to_str().unwrap().to_owned().into_boxed_str()) };
    let (missing_s, foreign_s) = (path(&missing), path(&foreign));
    let state_var = |p: &'static str| vec![("ANACONDA_CI_AUTH_STATE", os(p))];
    let cases = vec![
        case(
            "cleanup, nothing named",
            vec![],
            &["cleanup"],
            0,
            "nothing to clean up (no ANACONDA_CI_AUTH_STATE, --dir or --state, and no CI job id)",
        ),
        case(
            "cleanup, a job id without directories",
            vec![("JENKINS_URL", os("http://ci")), ("BUILD_TAG", os("j-1"))],
            &["cleanup"],
            0,
            "nothing to clean up for this job",
        ),
        case(
            "cleanup, --dir already removed",
            vec![],
            &["cleanup", "--dir", missing_s],
            0,
            "nothing to clean up (already removed)",
        ),
        case(
            "cleanup, --dir of someone else's files",
            vec![],
            &["cleanup", "--dir", foreign_s],
            8,
            "has no anaconda-ci-auth state file; refusing to touch it",
        ),
        case(
            "status, --dir missing",
            vec![],
            &["status", "--dir", missing_s],
            0,
            "--dir `",
        ),
        case(
            "status, --dir of someone else's files",
            vec![],
            &["status", "--dir", foreign_s],
            0,
            "holds files but no anaconda-ci-auth state file",
        ),
        case(
            "status, --state missing",
            vec![],
            &["status", "--state", missing_s],
            0,
            "--state names `",
        ),
        case(
            "status, variable names nothing",
            state_var(missing_s),
            &["status"],
            0,
            "ANACONDA_CI_AUTH_STATE names `",
        ),
        case(
            "cleanup, --state naming a directory",
            vec![],
            &["cleanup", "--state", foreign_s],
            2,
            "is a directory, not a state file",
        ),
        case(
            "status, the variable naming a directory",
            state_var(foreign_s),
            &["status"],
            2,
            "pass the job directory with --dir",
        ),
        case(
            "status, nothing given",
            vec![],
            &["status"],
            0,
            "no ANACONDA_CI_AUTH_STATE, --dir or --state was given",
        ),
    ];
    run_table(cases, &[]);
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "mine"
    );
    let out = sb.cmd(["status", "--dir", missing_s]).run();
    out.stderr_lacks("no ANACONDA_CI_AUTH_STATE, --dir or --state");
}

// `cleanup` removes a `--dir` only when setup created it; a directory the user made stays.
#[test]
fn cleanup_keeps_a_dir_the_user_created() {
    let sb = Sandbox::new();
    let key = sb.canary();
    let made = sb.path().join("made-by-user");
    std::fs::create_dir(&made).unwrap();
    let created = sb.path().join("new/job");
    for (dir, kept) in [(&made, true), (&created, false)] {
        for _ in 0..2 {
            // Twice: a re-run in the same directory keeps what the first run knew.
            sb.cmd(["setup", "--validate", "offline", "--dir"])
                .arg(dir)
                .key(&key)
                .run()
                .success();
        }
        sb.cmd(["cleanup", "--dir"]).arg(dir).run().success();
        assert_eq!(dir.exists(), kept, "{}", dir.display());
        if kept {
            assert!(
                std::fs::read_dir(dir).unwrap().next().is_none(),
                "left files in {}",
                dir.display()
            );
        }
    }
}

// Regression: without `--` clap said only "unexpected argument"; a whole command line as one
// argument, or a shell builtin, was only "not found"; and exec's own failures (exit 2 to 9) could
// not be told from the command's exit status.
#[test]
fn exec_mistakes_say_how_to_run_the_command() {
    let jwt = canary();
    let key = || vec![(KEY_VAR, os(jwt.clone()))];
    let cases = vec![
        case(
            "no `--`",
            key(),
            &["exec", "--validate", "offline", "conda", "install", "x"],
            125,
            "put the command and its own options after `--`",
        ),
        case(
            "an option meant for the command",
            key(),
            &["exec", "--validate", "offline", "--yes", "--", "true"],
            125,
            "options before `--` are anaconda-ci-auth's",
        ),
        case(
            "no command",
            key(),
            &["exec", "--validate", "offline"],
            125,
            "no command given to run",
        ),
        case(
            "a command line as one argument",
            key(),
            &["exec", "--validate", "offline", "--", "conda install x"],
            127,
            "-- sh -c 'conda install x'",
        ),
        case(
            "a shell builtin",
            key(),
            &["exec", "--validate", "offline", "--", "source", "env.sh"],
            127,
            "`source` is a shell builtin",
        ),
        case(
            "exec's own failure: no key",
            vec![],
            &["exec", "--validate", "offline", "--", "true"],
            125,
            "(key-missing, exit code 3 outside exec)",
        ),
        case(
            "exec's own failure: a bad key",
            vec![(KEY_VAR, os(format!("Bearer {jwt}")))],
            &["exec", "--", "true"],
            125,
            "(key-malformed, exit code 4 outside exec)",
        ),
        case(
            "exec's own failure: a bare duration",
            key(),
            &["exec", "--timeout", "5", "--", "true"],
            125,
            "(usage, exit code 2 outside exec)",
        ),
        case(
            "the command's own exit 4 passes through",
            key(),
            &[
                "exec",
                "--validate",
                "offline",
                "--",
                "sh",
                "-c",
                "echo own >&2; exit 4",
            ],
            4,
            "own",
        ),
    ];
    run_table(cases, &[]);
}

#[test]
fn exec_json_reports_every_ending() {
    let sb = Sandbox::new();
    let key = sb.canary();
    let plain = sb.path().join("not-executable");
    std::fs::write(&plain, "#!/bin/sh\n").unwrap();
    let plain = plain.to_str().unwrap().to_owned();
    let offline = ["--json", "exec", "--validate", "offline", "--"];
    for (cmd, code, started) in [
        (vec!["true"], 0, true),
        (vec!["sh", "-c", "exit 3"], 3, true),
        (vec!["no-such-command-x"], 127, false),
        (vec![plain.as_str()], 126, false),
    ] {
        let out = sb.cmd(offline).args(&cmd).key(&key).run();
        out.code(code);
        let last = out.stdout().lines().last().unwrap_or_default().to_owned();
        let report: serde_json::Value = serde_json::from_str(&last).unwrap();
        assert_eq!(report["exit_code"], code, "{cmd:?}: {last}");
        assert_eq!(report["started"], started, "{cmd:?}: {last}");
        assert_eq!(report["command"], cmd[0], "{cmd:?}: {last}");
    }
    // exec's own failure: 125, with the class and its usual code in the report.
    let out = sb.cmd(offline).arg("true").run();
    out.code(125);
    let report = out.json();
    assert_eq!(report["error"]["kind"], "key-missing");
    assert_eq!(report["error"]["exit_code"], 125);
    assert_eq!(report["error"]["kind_exit_code"], 3);
    assert!(walk(&sb.tmpdir()).is_empty());
}

// `--help` says where the key is read from, how to write durations, and every exit code.
#[test]
fn help_states_key_source_durations_and_exit_codes() {
    let sb = Sandbox::new();
    let out = sb.cmd(["--help"]).run();
    let help = out.success().stdout();
    // Wrapped at the terminal width: compare the words.
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for phrase in [
        "by default the variable ANACONDA_AUTH_API_KEY, then the file",
        "a number and a unit, s, m, h, d or w",
        "it exits 125 when it fails itself",
    ] {
        assert!(words.contains(phrase), "{phrase:?} missing from --help:\n{help}");
    }
    for code in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 125] {
        let row = format!("\n  {code:<6} ");
        assert!(
            help.contains(&row),
            "exit code {code} missing from --help:\n{help}"
        );
    }
    let setup = sb.cmd(["setup", "--help"]).run();
    setup
        .success()
        .stdout_has("[default: ANACONDA_AUTH_API_KEY, then the");
}

// exec's own failure after the command ran (its directory could not be removed) is 125 too,
// naming the command's exit code and the failure class.
#[test]
fn exec_failing_to_clean_up_after_the_command_exits_125() {
    let sb = Sandbox::new();
    let key = sb.canary();
    let sabotage =
        r#"d=$(dirname "$CONDARC"); rm "$d/state.json"; mkdir "$d/state.json"; touch "$d/state.json/x""#;
    let out = sb
        .cmd([
            "--json",
            "exec",
            "--validate",
            "offline",
            "--",
            "sh",
            "-c",
            sabotage,
        ])
        .key(&key)
        .run();
    out.code(125)
        .stderr_has("`sh` exited with 0, but the job directory could not be removed")
        .stderr_has("(filesystem, exit code 8 outside exec)");
    let report = out.json();
    assert_eq!(report["error"]["exit_code"], 125);
    assert_eq!(report["error"]["kind_exit_code"], 8);
}

// An API URL that cannot work is a usage error before any request, never a retry loop.
#[test]
fn api_urls_that_cannot_work_are_refused_at_once() {
    let jwt = canary();
    let key = || vec![(KEY_VAR, os(jwt.clone()))];
    let cases = vec![
        case(
            "not a URL",
            key(),
            &["validate", "--api-url", "anaconda.com/api"],
            2,
            "is not a valid URL",
        ),
        case(
            "another scheme",
            key(),
            &["validate", "--api-url", "ftp://anaconda.com"],
            2,
            "scheme `ftp` is not supported",
        ),
        case(
            "plain http to another host",
            key(),
            &["setup", "--api-url", "http://anaconda.com"],
            2,
            "refusing to send the key over plain http",
        ),
        case(
            "from the variable",
            vec![
                (KEY_VAR, os(jwt.clone())),
                ("ANACONDA_CI_AUTH_API_URL", os("ftp://x.example")),
            ],
            &["validate"],
            2,
            "is not supported",
        ),
        case(
            "a domain that is not one",
            key(),
            &["validate", "--domain", "https://anaconda.com/x y"],
            2,
            "--domain",
        ),
    ];
    run_table(cases, &[]);
}

/// The last value `$GITHUB_ENV` gives `name` (its `NAME<<DELIM` entries).
fn github_env_value(file: &std::path::Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut value = None;
    for (i, l) in lines.iter().enumerate() {
        if let Some(delim) = l.strip_prefix(&format!("{name}<<")) {
            let end = lines[i + 1..].iter().position(|x| *x == delim).unwrap();
            value = Some(lines[i + 1..i + 1 + end].join("\n"));
        }
    }
    value
}

// A second setup that exports no key (keyring mode) after one that did (env mode): later steps
// must not keep the first key.
#[test]
fn a_replaced_setup_takes_back_the_key_it_exported() {
    let sb = Sandbox::new();
    let runner = sb.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap();
    let github_env = runner.join("github_env");
    sb.allow_secret_in(
        &github_env,
        "the runner's GITHUB_ENV: in env mode the key must reach later steps",
    );
    let github = [
        ("GITHUB_ACTIONS", "true"),
        ("RUNNER_TEMP", runner.to_str().unwrap()),
        ("GITHUB_ENV", github_env.to_str().unwrap()),
        ("GITHUB_RUN_ID", "43"),
        ("GITHUB_JOB", "build"),
    ];
    let key = sb.canary();
    sb.cmd(["setup", "--validate", "offline", "--mode", "env"])
        .key(&key)
        .envs(&github)
        .run()
        .success();
    assert_eq!(
        github_env_value(&github_env, KEY_VAR).as_deref(),
        Some(key.as_str())
    );
    sb.cmd(["setup", "--validate", "offline"])
        .key(&key)
        .envs(&github)
        .run()
        .success()
        .stderr_has("replacing the earlier setup");
    assert_eq!(github_env_value(&github_env, KEY_VAR).as_deref(), Some(""));
    sb.cmd(["cleanup"]).envs(&github).run().success();
}

// Regression: `--api-key-stdin` from a terminal waited for the key to be typed (and echoed).
#[test]
fn api_key_stdin_from_a_terminal_is_refused() {
    let sb = Sandbox::new();
    let out = sb
        .cmd(["validate", "--validate", "offline", "--api-key-stdin"])
        .stdin_tty()
        .timeout(std::time::Duration::from_secs(10))
        .run();
    out.code(3)
        .stderr_has("standard input is a terminal")
        .stderr_has("pipe the key in");
}

#[test]
fn a_home_that_is_not_utf8_is_named_when_mamba_cannot_be_configured() {
    let sb = Sandbox::new();
    let key = sb.canary();
    let home = OsString::from_vec(b"/nonexistent/\xff-home".to_vec());
    let out = sb
        .cmd(["setup", "--validate", "offline", "--clients", "conda,mamba"])
        .key(&key)
        .envs_os(&[("HOME", home)])
        .run();
    out.success()
        .stderr_has("HOME is not valid UTF-8: mamba/micromamba were not configured")
        .stderr_lacks("HOME is not set");
}

#[test]
fn a_channel_routed_to_a_domain_the_job_keyring_lacks_is_named() {
    let setup = |extra: &[&str]| {
        let sb = Sandbox::new();
        let key = sb.canary();
        let mut args = vec!["setup", "--validate", "offline", "--clients", "conda"];
        args.extend_from_slice(extra);
        let out = sb.cmd(&args).key(&key).run();
        out.success();
        out.stderr()
    };
    let lacking =
        "names the auth domain `example.org`, but the job keyring holds a key for `anaconda.com` only";
    let warned = setup(&["--channel", "https://private.example.org/t/*=example.org"]);
    assert!(warned.contains(lacking), "{warned}");
    // The key's own domain, or env mode (anaconda-auth then sends the variable to every routed
    // channel): nothing to say.
    for extra in [
        &["--channel", "https://private.example.org/t/*=anaconda.com"][..],
        &["--channel", "https://private.example.org/t/*"][..],
        &[
            "--channel",
            "https://private.example.org/t/*=example.org",
            "--mode",
            "env",
        ][..],
    ] {
        let quiet = setup(extra);
        assert!(!quiet.contains("names the auth domain"), "{extra:?}: {quiet}");
    }
}
