//! The canary key through every subcommand and error path: never on stdout or stderr, and in no
//! file except the keyring, key and secret files (and `$GITHUB_ENV` in env mode).

use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::*;
use crate::fake_api::{FakeApi, Reply, closed_port};

/// Runs the binary with `env`; a value for `ANACONDA_AUTH_API_KEY` is a secret whatever its shape.
fn run(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = sb.cmd(args).timeout(Duration::from_secs(30));
    for (n, v) in env {
        cmd = if *n == "ANACONDA_AUTH_API_KEY" {
            cmd.key(v)
        } else {
            cmd.env(n, v)
        };
    }
    cmd.run()
}

#[test]
fn setup_in_every_mode_and_output_format() {
    let api = FakeApi::always(Reply::ok("ci-bot"));
    let url = api.url();
    for mode in ["keyring", "env", "both"] {
        for format in [None, Some("--json"), Some("--print-env")] {
            let sb = Sandbox::new();
            let key = canary();
            let mut args = vec!["setup", "--api-url", &url, "--mode", mode];
            match format {
                Some("--print-env") => args.extend(["--print-env", "sh"]),
                Some(f) => args.push(f),
                None => {}
            }
            let out = run(&sb, &[("ANACONDA_AUTH_API_KEY", &key)], &args);
            let what = format!("setup --mode {mode} {format:?}");
            assert_eq!(out.exit(), Some(0), "{what}: {}", out.stderr());
            sb.assert_knows(&key);
            let stdout = String::from_utf8_lossy(&out.stdout);
            if format == Some("--print-env") && mode != "keyring" {
                assert!(
                    stdout.contains("export ANACONDA_AUTH_API_KEY=\"$(cat '"),
                    "{what}: the key must be exported by reference: {stdout}"
                );
            }
            if format == Some("--json") {
                let j = out.json();
                if mode != "keyring" {
                    assert_eq!(j["env"]["ANACONDA_AUTH_API_KEY"], "<redacted>", "{what}");
                }
                // The env file really gives the key to a shell that sources it.
                let env_file = j["env_file"].as_str().unwrap();
                let probe = format!(
                    ". '{env_file}'; if [ -n \"${{ANACONDA_AUTH_API_KEY-}}\" ]; then printf '%s' \"$ANACONDA_AUTH_API_KEY\" | sha256sum; else cat \"$ANACONDA_AUTH_KEYRING_PATH\" | sha256sum; fi"
                );
                let sourced = std::process::Command::new("sh")
                    .args(["-c", &probe])
                    .output()
                    .unwrap();
                let hash = String::from_utf8_lossy(&sourced.stdout);
                if mode == "keyring" {
                    assert!(!hash.contains(&sha256_hex(&key)), "{what}");
                    assert!(!hash.trim().is_empty(), "{what}: keyring not readable");
                } else {
                    assert!(
                        hash.contains(&sha256_hex(&key)),
                        "{what}: env.sh does not give the key"
                    );
                }
            }
        }
    }
}

#[test]
fn setup_from_file_stdin_and_secrets_dir() {
    let sb = Sandbox::new();
    let key = canary();
    let file = sb.path().join("secret-file");
    std::fs::write(&file, format!("{key}\n")).unwrap();
    sb.allow_secret_in(&file, "test input: the file --api-key-file reads");
    sb.secret(&key);
    let out = run(
        &sb,
        &[],
        &[
            "setup",
            "--validate",
            "offline",
            "--api-key-file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);

    let sb = Sandbox::new();
    let out = sb
        .cmd(["setup", "--validate", "offline", "--api-key-stdin", "--json"])
        .stdin(format!("{key}\n"))
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);

    let sb = Sandbox::new();
    let secrets = sb.path().join("no-secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("ANACONDA_AUTH_API_KEY"), &key).unwrap();
    sb.secret(&key);
    sb.allow_secret_in(
        secrets.join("ANACONDA_AUTH_API_KEY"),
        "test input: the secrets directory the key is read from",
    );
    let out = run(&sb, &[], &["validate", "--validate", "offline", "--json"]);
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    assert!(out.json()["key_source"].as_str().unwrap().contains("no-secrets"));
    sb.assert_knows(&key);
}

#[test]
fn validate_status_cleanup_and_exec() {
    let api = FakeApi::always(Reply::ok("ci-bot"));
    let sb = Sandbox::new();
    let key = canary();
    let env = [("ANACONDA_AUTH_API_KEY", key.as_str())];
    for args in [
        vec!["validate", "--api-url", &api.url()],
        vec!["validate", "--api-url", &api.url(), "--json"],
    ] {
        let out = run(&sb, &env, &args);
        assert_eq!(out.exit(), Some(0), "{args:?}: {}", out.stderr());
        sb.assert_knows(&key);
    }

    let out = run(
        &sb,
        &env,
        &["setup", "--validate", "offline", "--mode", "both", "--json"],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    let state = out.json()["state_path"].as_str().unwrap().to_owned();
    let dir = out.json()["dir"].as_str().unwrap().to_owned();
    let env_state = [
        ("ANACONDA_AUTH_API_KEY", key.as_str()),
        ("ANACONDA_CI_AUTH_STATE", state.as_str()),
    ];
    for args in [
        vec!["status"],
        vec!["status", "--json"],
        vec!["status", "--dir", &dir],
    ] {
        let out = run(&sb, &env_state, &args);
        assert_eq!(out.exit(), Some(0), "{args:?}: {}", out.stderr());
        sb.assert_knows(&key);
    }
    let out = run(&sb, &env_state, &["cleanup"]);
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);
    assert!(!Path::new(&dir).exists());

    let out = run(
        &sb,
        &env,
        &[
            "exec",
            "--validate",
            "offline",
            "--mode",
            "env",
            "--",
            "sh",
            "-c",
            "echo \"$ANACONDA_AUTH_API_KEY\"; echo \"$ANACONDA_AUTH_API_KEY\" >&2; exit 3",
        ],
    );
    assert_eq!(out.exit(), Some(3));
    sb.assert_knows(&key);
    assert!(walk(&sb.tmpdir()).is_empty());
}

#[test]
fn docker_secret_both_kinds() {
    for kind in ["key", "keyring"] {
        for json_flag in [false, true] {
            let sb = Sandbox::new();
            let key = canary();
            let mut args = vec!["docker-secret", "--validate", "offline", "--kind", kind];
            if json_flag {
                args.push("--json");
            }
            let out = run(&sb, &[("ANACONDA_AUTH_API_KEY", &key)], &args);
            let what = format!("docker-secret --kind {kind} json={json_flag}");
            assert_eq!(out.exit(), Some(0), "{what}: {}", out.stderr());
            sb.assert_knows(&key);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let path = if json_flag {
                out.json()["path"].as_str().unwrap().to_owned()
            } else {
                let arg = stdout.trim().strip_prefix("--secret ").unwrap();
                arg.split(",src=").nth(1).unwrap().to_owned()
            };
            let content = std::fs::read_to_string(&path).unwrap();
            if kind == "key" {
                assert_eq!(content, key, "{what}");
            } else {
                assert!(content.starts_with("{\"Anaconda Cloud\""), "{what}");
            }
            let dir = Path::new(&path).parent().unwrap().to_owned();
            let out = run(&sb, &[], &["cleanup", "--dir", dir.to_str().unwrap()]);
            assert_eq!(out.exit(), Some(0), "{what}: {}", out.stderr());
            assert!(!dir.exists(), "{what}: cleanup left the secret");
        }
    }
}

#[test]
fn register_with_a_key_in_the_environment() {
    let sb = Sandbox::new();
    let key = canary();
    sb.script(
        "conda",
        "#!/bin/sh\necho \"conda sees $ANACONDA_AUTH_API_KEY\"; echo \"Bearer $ANACONDA_AUTH_API_KEY\" >&2; exit 1\n",
    );
    let out = run(
        &sb,
        &[("ANACONDA_AUTH_API_KEY", &key), ("PATH", &sb.path_with_bin())],
        &["register", "--json"],
    );
    assert_eq!(out.exit(), Some(9), "{}", out.stderr());
    sb.assert_knows(&key);
}

#[test]
fn a_key_passed_as_an_argument_is_refused_without_echo() {
    let sb = Sandbox::new();
    let key = canary();
    let cases: Vec<Vec<&str>> = vec![
        vec!["setup", "--api-key-env", &key],
        vec!["setup", "--api-key-file", &key],
        vec!["setup", &key],
        vec!["validate", "--domain", &key],
        vec!["exec", "--", "echo", &key],
        vec![&key],
        vec!["--json", "setup", &key],
    ];
    let eq_env = format!("--api-key-env={key}");
    let eq_domain = format!("--domain={key}");
    let mut cases = cases;
    cases.push(vec!["setup", &eq_env]);
    cases.push(vec!["validate", &eq_domain]);
    for args in cases {
        let out = run(&sb, &[], &args);
        let usage = if args.first() == Some(&"exec") { 125 } else { 2 };
        assert_eq!(out.exit(), Some(usage), "{}", out.stderr());
        assert!(out.stderr().contains("looks like an API key"), "{}", out.stderr());
        sb.assert_knows(&key);
    }
    // Not key-shaped, but the value of the key variable.
    let odd = "opaque-secret-value-0123456789";
    let out = run(
        &sb,
        &[("ANACONDA_AUTH_API_KEY", odd)],
        &["exec", "--", "echo", odd],
    );
    assert_eq!(out.exit(), Some(125), "{}", out.stderr());
    sb.assert_knows(odd);
}

#[test]
fn malformed_keys_are_not_echoed() {
    let good = canary();
    let parts: Vec<&str> = good.split('.').collect();
    let cases: Vec<(String, i32)> = vec![
        (format!("{}.{}", parts[0], parts[1]), 4),
        (format!("{} {}", good, "trailing-words-here"), 4),
        (format!("{}.{}.{}.extra", parts[0], parts[1], parts[2]), 4),
        (
            format!("{}.bm90LWpzb24tYXQtYWxsLXBheWxvYWQ.{}", parts[0], parts[2]),
            4,
        ),
        ("sk-live-0123456789abcdefghijklmnopqrstuvwxyz".to_owned(), 4),
        (format!("\"{good}\""), 4),
        (format!("{good}\u{e9}"), 4),
    ];
    for (key, want) in cases {
        for json_flag in [false, true] {
            let sb = Sandbox::new();
            let mut args = vec!["setup", "--validate", "offline"];
            if json_flag {
                args.push("--json");
            }
            let out = run(&sb, &[("ANACONDA_AUTH_API_KEY", &key)], &args);
            assert_eq!(out.exit(), Some(want), "{}", out.stderr());
            sb.assert_knows(&key);
            if json_flag {
                let j = out.json();
                assert_eq!(j["error"]["exit_code"], want);
                assert_eq!(j["error"]["kind"], "key-malformed");
                assert!(!j["error"]["hints"].as_array().unwrap().is_empty());
            }
            assert!(walk(&sb.tmpdir()).is_empty());
        }
    }
}

#[test]
fn expired_and_short_lived_keys() {
    let sb = Sandbox::new();
    let expired = jwt(now() - 3600, "EXPIRED-c4n4ry");
    let out = run(&sb, &[("ANACONDA_AUTH_API_KEY", &expired)], &["setup", "--json"]);
    assert_eq!(out.exit(), Some(5), "{}", out.stderr());
    assert_eq!(out.json()["error"]["kind"], "key-expired");
    sb.assert_knows(&expired);

    let key = canary();
    let out = run(
        &sb,
        &[("ANACONDA_AUTH_API_KEY", &key)],
        &["validate", "--validate", "offline", "--min-validity", "400d"],
    );
    assert_eq!(out.exit(), Some(5), "{}", out.stderr());
    sb.assert_knows(&key);
}

#[test]
fn rejected_and_unreachable() {
    let api = FakeApi::always(Reply::unauthorized());
    let sb = Sandbox::new();
    let key = canary();
    let env = [("ANACONDA_AUTH_API_KEY", key.as_str())];
    let out = run(&sb, &env, &["setup", "--api-url", &api.url(), "--json"]);
    assert_eq!(out.exit(), Some(6), "{}", out.stderr());
    sb.assert_knows(&key);

    let dead = format!("http://127.0.0.1:{}", closed_port());
    let out = run(&sb, &env, &["setup", "--api-url", &dead, "--timeout", "1s"]);
    assert_eq!(out.exit(), Some(7), "{}", out.stderr());
    sb.assert_knows(&key);
    assert!(walk(&sb.tmpdir()).is_empty());
}

#[test]
fn a_server_that_echoes_the_key_in_its_error() {
    // A proxy or API that echoes the Authorization header back in an error body.
    let api = FakeApi::start(|req, _| {
        let auth = req.header("authorization").unwrap_or_default().to_owned();
        Reply::json(
            401,
            &format!(r#"{{"error":{{"code":"bad token {auth}"}},"detail":"{auth}"}}"#),
        )
    });
    let sb = Sandbox::new();
    let key = canary();
    for args in [
        vec!["validate", "--api-url", &api.url()],
        vec!["setup", "--api-url", &api.url(), "--json"],
    ] {
        let out = run(&sb, &[("ANACONDA_AUTH_API_KEY", &key)], &args);
        assert_eq!(out.exit(), Some(6), "{}", out.stderr());
        sb.assert_knows(&key);
    }
}

#[test]
fn with_rust_backtrace_on() {
    let api = FakeApi::always(Reply::unauthorized());
    let sb = Sandbox::new();
    let key = canary();
    let env = [
        ("ANACONDA_AUTH_API_KEY", key.as_str()),
        ("RUST_BACKTRACE", "full"),
        ("RUST_LIB_BACKTRACE", "1"),
    ];
    for args in [
        vec!["setup", "--api-url", &api.url()],
        vec!["setup", "--validate", "offline", "--json"],
        vec!["validate", "--api-url", "http://example.invalid"],
        vec!["exec", "--validate", "offline", "--", "/nonexistent/command"],
    ] {
        let out = run(&sb, &env, &args);
        assert!(!out.stderr().contains("panicked"), "{args:?}: {}", out.stderr());
        sb.assert_knows(&key);
    }
}

/// GitHub Actions runner files inside the sandbox.
struct Github {
    env_file: PathBuf,
    output: PathBuf,
    summary: PathBuf,
    runner_temp: PathBuf,
}

impl Github {
    fn new(sb: &Sandbox) -> Self {
        let d = sb.path().join("runner");
        let runner_temp = d.join("temp");
        std::fs::create_dir_all(&runner_temp).unwrap();
        let g = Self {
            env_file: d.join("github_env"),
            output: d.join("github_output"),
            summary: d.join("step_summary"),
            runner_temp,
        };
        for f in [&g.env_file, &g.output, &g.summary] {
            std::fs::write(f, "").unwrap();
        }
        g
    }

    fn env<'a>(&'a self, key: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("ANACONDA_AUTH_API_KEY", key),
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_ENV", self.env_file.to_str().unwrap()),
            ("GITHUB_OUTPUT", self.output.to_str().unwrap()),
            ("GITHUB_STEP_SUMMARY", self.summary.to_str().unwrap()),
            ("RUNNER_TEMP", self.runner_temp.to_str().unwrap()),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_JOB", "build"),
        ]
    }
}

/// The `::add-mask::` lines of a stream, and whether they all come before any other line.
fn masks(stream: &[u8]) -> (Vec<String>, bool) {
    let text = String::from_utf8_lossy(stream);
    let mut masks = Vec::new();
    let mut first = true;
    let mut seen_other = false;
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("::add-mask::") {
            masks.push(m.to_owned());
            if seen_other {
                first = false;
            }
        } else {
            seen_other = true;
        }
    }
    (masks, first)
}

#[test]
fn github_actions_in_every_mode_with_json() {
    for mode in ["keyring", "env", "both"] {
        github_setup(mode, true);
    }
}

#[test]
fn github_actions_in_every_mode_human_output() {
    for mode in ["keyring", "env", "both"] {
        github_setup(mode, false);
    }
}

fn github_setup(mode: &str, json_flag: bool) {
    let sb = Sandbox::new();
    let gh = Github::new(&sb);
    let key = canary();
    if mode != "keyring" {
        sb.allow_secret_in(
            &gh.env_file,
            "the runner's GITHUB_ENV: in env mode the key must reach later steps",
        );
    }
    // The platform named explicitly, as the action does, as well as detected.
    let mut args = vec!["--ci", "github", "setup", "--validate", "offline", "--mode", mode];
    if json_flag {
        args.push("--json");
    }
    let out = run(&sb, &gh.env(&key), &args);
    let what = format!("github --mode {mode} json={json_flag}");
    assert_eq!(out.exit(), Some(0), "{what}: {}", out.stderr());
    sb.assert_knows(&key);
    // Masks first, on stderr (stdout may be a file or carry JSON).
    let (mask_stream, other) = (&out.stderr, &out.stdout);
    let (m, first) = masks(mask_stream);
    assert!(first, "{what}: ::add-mask:: must come before anything else");
    for form in masked_forms(&key) {
        assert!(m.contains(&form), "{what}: a derived form is not masked");
    }
    assert!(masks(other).0.is_empty(), "{what}");
    let genv = std::fs::read_to_string(&gh.env_file).unwrap();
    assert!(genv.contains("CONDARC<<ghadelimiter_"), "{what}: {genv}");
    if mode == "keyring" {
        assert!(!genv.contains("ANACONDA_AUTH_API_KEY"), "{what}");
    } else {
        assert!(genv.contains("ANACONDA_AUTH_API_KEY<<"), "{what}");
        assert!(genv.contains(&key), "{what}: the key must reach later steps");
    }
    let output = std::fs::read_to_string(&gh.output).unwrap();
    assert!(output.contains("fingerprint<<"), "{what}: {output}");
    let summary = std::fs::read_to_string(&gh.summary).unwrap();
    assert!(summary.contains("anaconda-ci-auth"), "{what}");
    let dir = walk(&gh.runner_temp);
    assert!(!dir.is_empty(), "{what}: the job dir belongs under RUNNER_TEMP");
}

#[test]
fn github_error_paths() {
    let sb = Sandbox::new();
    let gh = Github::new(&sb);
    let key = canary();
    let api = FakeApi::always(Reply::unauthorized());
    let out = run(&sb, &gh.env(&key), &["setup", "--api-url", &api.url()]);
    assert_eq!(out.exit(), Some(6), "{}", out.stderr());
    sb.assert_knows(&key);
    assert!(out.stderr().contains("::error"), "{}", out.stderr());
    assert_eq!(
        std::fs::read_to_string(&gh.env_file).unwrap(),
        "",
        "nothing exported on failure"
    );
}

#[test]
fn gitlab() {
    let sb = Sandbox::new();
    let key = canary();
    let project = sb.path().join("builds/group/project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(sb.path().join("builds/group/project.tmp")).unwrap();
    let base = [
        ("ANACONDA_AUTH_API_KEY", key.as_str()),
        ("GITLAB_CI", "true"),
        ("CI_PROJECT_DIR", project.to_str().unwrap()),
        ("CI_JOB_ID", "7"),
    ];
    for mode in ["keyring", "env"] {
        let out = run(
            &sb,
            &base,
            &[
                "--ci",
                "gitlab",
                "setup",
                "--validate",
                "offline",
                "--mode",
                mode,
                "--json",
            ],
        );
        assert_eq!(out.exit(), Some(0), "{}", out.stderr());
        sb.assert_knows(&key);
        let dir = out.json()["dir"].as_str().unwrap().to_owned();
        assert!(dir.contains("project.tmp"), "{dir}");
    }
    let mut debug = base.to_vec();
    debug.push(("CI_DEBUG_TRACE", "true"));
    let out = run(&sb, &debug, &["setup", "--validate", "offline", "--mode", "env"]);
    assert_eq!(out.exit(), Some(2), "{}", out.stderr());
    sb.assert_knows(&key);
}

#[test]
fn buildkite_gets_the_key_on_stdin_only() {
    let sb = Sandbox::new();
    let key = canary();
    let argv_log = sb.path().join("agent-argv.log");
    let stdin_log = sb.path().join("agent-stdin.log");
    sb.script(
        "buildkite-agent",
        &format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\ncat >> '{}'\nprintf '\\n--\\n' >> '{}'\n",
            argv_log.display(),
            stdin_log.display(),
            stdin_log.display()
        ),
    );
    let env = [
        ("ANACONDA_AUTH_API_KEY", key.as_str()),
        ("BUILDKITE", "true"),
        ("BUILDKITE_JOB_ID", "0190"),
        ("PATH", &sb.path_with_bin()),
    ];
    sb.allow_secret_in(
        &stdin_log,
        "the fake agent's record of what it was asked to redact: the key's forms, on purpose",
    );
    let out = run(
        &sb,
        &env,
        &["--ci", "buildkite", "setup", "--validate", "offline", "--json"],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);
    let argv = std::fs::read_to_string(&argv_log).unwrap();
    assert!(!argv.is_empty());
    assert_no_leak("buildkite-agent argv", argv.as_bytes(), &key);
    let stdin = std::fs::read_to_string(&stdin_log).unwrap();
    let bodies: Vec<&str> = stdin.split("\n--\n").collect();
    // The fake agent logs one argv line and one stdin body per call, in order: every call but
    // the last registers a form; the last adds the summary, which holds none of them.
    let calls: Vec<&str> = argv.lines().collect();
    let (annotate, redactor) = calls.split_last().unwrap();
    assert!(redactor.iter().all(|l| *l == "redactor add"), "{argv}");
    assert_eq!(*annotate, ANNOTATE_ARGV, "{argv}");
    let summary = bodies[calls.len() - 1];
    assert!(summary.contains("### anaconda-ci-auth"), "{summary}");
    assert_no_leak("the Buildkite annotation", summary.as_bytes(), &key);
    let values = &bodies[..calls.len() - 1];
    for form in masked_forms(&key) {
        assert!(
            values.contains(&form.as_str()),
            "a derived form was not sent to the redactor"
        );
    }
}

/// How setup calls the agent to add its summary to the build's annotation.
const ANNOTATE_ARGV: &str = "annotate --context anaconda-ci-auth --style info --append";

#[test]
fn the_checks_catch_leaks() {
    let caught = |f: &dyn Fn()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err();
    let sb = Sandbox::new();
    let key = sb.canary();
    let check = |stdout: &str, stderr: &str, github: bool| {
        sb.assert_no_leaks("self-test", stdout.as_bytes(), stderr.as_bytes(), github)
    };
    assert!(!caught(&|| check("", "", false)));
    let log = sb.tmpdir().join("log.txt");
    std::fs::write(&log, format!("x {key} y")).unwrap();
    assert!(caught(&|| check("", "", false)), "a file holding the key");
    sb.allow_secret_in(&log, "self-test: an opted-out file");
    assert!(!caught(&|| check("", "", false)), "an opted-out file");

    // A credential file in a job directory must be 0600.
    let job = sb.tmpdir().join(format!("{JOB_DIR_PREFIX}selftest"));
    std::fs::create_dir(&job).unwrap();
    let keyring = job.join("keyring");
    std::fs::write(&keyring, &key).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&keyring, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        caught(&|| check("", "", false)),
        "a credential file readable by others"
    );
    std::fs::set_permissions(&keyring, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!caught(&|| check("", "", false)), "a 0600 credential file");
    // The same name outside a job directory is not a credential file.
    let stray = sb.home().join("keyring");
    std::fs::write(&stray, &key).unwrap();
    assert!(
        caught(&|| check("", "", false)),
        "a keyring outside a job directory"
    );
    std::fs::remove_file(&stray).unwrap();

    let payload = key.split('.').nth(1).unwrap().to_owned();
    let wrapped = |width: usize| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{{\"k\":\"{key}\"}}"));
        b64.as_bytes()
            .chunks(width)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut forms = masked_forms(&key);
    forms.push(payload.clone());
    forms.push(payload[..24].to_owned());
    for align in ["", "a", "ab"] {
        forms.push(base64::engine::general_purpose::STANDARD.encode(format!("{align}{key}")));
        forms.push(base64::engine::general_purpose::URL_SAFE.encode(format!("{align}{key}")));
    }
    forms.push(wrapped(64));
    forms.push(wrapped(76));
    forms.push(format!("Bearer%20{key}"));
    forms.push(
        base64::engine::general_purpose::STANDARD
            .encode(&key)
            .replace('+', "%2B")
            .replace('/', "%2F"),
    );
    forms.push(
        base64::engine::general_purpose::STANDARD
            .encode(&key)
            .replace('/', "\\/"),
    );
    for form in &forms {
        assert!(
            caught(&|| check("", &format!("error: {form}\n"), false)),
            "stderr: {form}"
        );
        assert!(
            caught(&|| check(&format!("{{\"v\":\"{form}\"}}"), "", false)),
            "stdout: {form}"
        );
    }
    // ::add-mask:: lines are the one place the key may appear: on stderr, on GitHub.
    // A spawned binary dropped without wait() fails the test (its output went unchecked).
    assert!(caught(&|| {
        let _running = sb
            .cmd(["exec", "--validate", "offline", "--", "sleep", "5"])
            .spawn();
    }));
    let mask = format!("::add-mask::{key}\n");
    assert!(!caught(&|| check("", &mask, true)));
    assert!(caught(&|| check(&mask, "", true)), "a mask line on stdout");
    assert!(caught(&|| check("", &mask, false)), "a mask line off GitHub");
}

#[test]
fn merged_keyring_explicit_dir_and_secret_out() {
    let sb = Sandbox::new();
    let key = canary();
    let env = [("ANACONDA_AUTH_API_KEY", key.as_str())];
    let kr_dir = sb.home().join(".anaconda");
    std::fs::create_dir_all(&kr_dir).unwrap();
    let kr = kr_dir.join("keyring");
    let other = r#"{"Anaconda Cloud": {"example.org": "e30="}}"#;
    std::fs::write(&kr, other).unwrap();
    sb.allow_secret_in(
        &kr,
        "the user's keyring, merged into on purpose with --keyring-path",
    );
    let dir = sb.path().join("job");
    let out = run(
        &sb,
        &env,
        &[
            "setup",
            "--validate",
            "offline",
            "--keyring-path",
            kr.to_str().unwrap(),
            "--dir",
            dir.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);
    assert!(std::fs::read_to_string(&kr).unwrap().contains("example.org"));
    let out = run(&sb, &[], &["cleanup", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    assert_eq!(
        std::fs::read_to_string(&kr).unwrap(),
        other,
        "cleanup restores the keyring"
    );
    assert!(!dir.exists());

    let secret = sb.path().join("out/secret");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    sb.credential(&secret);
    let out = run(
        &sb,
        &env,
        &[
            "docker-secret",
            "--validate",
            "offline",
            "--out",
            secret.to_str().unwrap(),
        ],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);
    // Refuses to replace an existing file, without echoing what is in it.
    let out = run(
        &sb,
        &env,
        &[
            "docker-secret",
            "--validate",
            "offline",
            "--out",
            secret.to_str().unwrap(),
        ],
    );
    assert_eq!(out.exit(), Some(8), "{}", out.stderr());
    sb.assert_knows(&key);
}

#[test]
fn a_key_inside_a_larger_argument_is_refused() {
    // The key read from another variable, and also pasted into the command by mistake.
    let sb = Sandbox::new();
    let key = canary();
    let curl = format!("true curl -H 'Authorization: Bearer {key}' http://127.0.0.1:9");
    let out = run(
        &sb,
        &[("MY_SECRET", &key)],
        &[
            "exec",
            "--validate",
            "offline",
            "--api-key-env",
            "MY_SECRET",
            "--",
            "sh",
            "-c",
            &curl,
        ],
    );
    // exec's own failures exit 125, the class named in the message.
    assert_eq!(out.exit(), Some(125), "{}", out.stderr());
    assert!(
        out.stderr().contains("(usage, exit code 2 outside exec)"),
        "{}",
        out.stderr()
    );
    assert!(out.stderr().contains("looks like an API key"), "{}", out.stderr());
    sb.assert_knows(&key);
}

#[test]
fn exec_on_github_exports_nothing_to_later_steps() {
    let sb = Sandbox::new();
    let gh = Github::new(&sb);
    let key = canary();
    let mut env = gh.env(&key);
    env.push(("MY_SECRET", &key));
    let out = run(
        &sb,
        &env,
        &[
            "exec",
            "--validate",
            "offline",
            "--mode",
            "env",
            "--",
            "sh",
            "-c",
            "echo \"$ANACONDA_AUTH_API_KEY\"",
        ],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);
    assert_eq!(
        std::fs::read_to_string(&gh.env_file).unwrap(),
        "",
        "exec must not export its temporary paths"
    );
    // Masks first, on stderr: stdout is the command's own output.
    let (m, first) = masks(&out.stderr);
    assert!(first && !m.is_empty(), "masks come first on GitHub");
    assert!(
        masks(&out.stdout).0.is_empty(),
        "no mask line on the command's stdout"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("****"));
}

#[test]
fn buildkite_without_an_agent_warns() {
    let sb = Sandbox::new();
    let key = canary();
    let env = [
        ("ANACONDA_AUTH_API_KEY", key.as_str()),
        ("BUILDKITE", "true"),
        ("PATH", "/nonexistent-bin"),
    ];
    let out = run(&sb, &env, &["setup", "--validate", "offline"]);
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    assert!(
        out.stderr().contains("buildkite-agent redactor add"),
        "{}",
        out.stderr()
    );
    sb.assert_knows(&key);
}

#[test]
fn a_second_setup_in_the_same_dir_replaces_the_old_key_everywhere() {
    let sb = Sandbox::new();
    let old = jwt(now() + 86_400 * 30, "OLD-KEY-9d1e");
    let new = canary();
    let dir = sb.path().join("job");
    for (key, mode) in [(&old, "both"), (&new, "both")] {
        let out = run(
            &sb,
            &[("ANACONDA_AUTH_API_KEY", key)],
            &[
                "setup",
                "--validate",
                "offline",
                "--mode",
                mode,
                "--dir",
                dir.to_str().unwrap(),
            ],
        );
        assert_eq!(out.exit(), Some(0), "{}", out.stderr());
        sb.assert_knows(key);
    }
    // The old key is nowhere, not even in the key files.
    assert_no_leak_in_tree(sb.path(), &old, &[]);
    let keyring = std::fs::read_to_string(dir.join("keyring")).unwrap();
    let api_key = std::fs::read_to_string(dir.join("api-key")).unwrap();
    assert_eq!(api_key, new);
    assert!(keyring.starts_with("{\"Anaconda Cloud\""));
    let out = run(&sb, &[], &["cleanup", "--dir", dir.to_str().unwrap()]);
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    assert!(!dir.exists());
}

#[test]
fn switching_mode_in_the_same_dir_leaves_no_stale_key_file() {
    let sb = Sandbox::new();
    let old = jwt(now() + 86_400 * 30, "OLD-KEY-5b7a");
    let new = canary();
    let dir = sb.path().join("job");
    let d = dir.to_str().unwrap();
    let out = run(
        &sb,
        &[("ANACONDA_AUTH_API_KEY", &old)],
        &["setup", "--validate", "offline", "--mode", "env", "--dir", d],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    let out = run(
        &sb,
        &[("ANACONDA_AUTH_API_KEY", &new)],
        &["setup", "--validate", "offline", "--mode", "keyring", "--dir", d],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    assert_no_leak_in_tree(sb.path(), &old, &[]);
    let env_sh = std::fs::read_to_string(dir.join("env.sh")).unwrap();
    assert!(!env_sh.contains("export ANACONDA_AUTH_API_KEY"), "{env_sh}");
    assert!(env_sh.contains("unset ANACONDA_AUTH_API_KEY\n"), "{env_sh}");
    let out = run(&sb, &[], &["cleanup", "--dir", d]);
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    assert!(!dir.exists(), "{:?}", walk(&dir));
}

#[test]
fn cleanup_removes_a_docker_secret_written_with_out() {
    let sb = Sandbox::new();
    let key = canary();
    let secret = sb.path().join("ctx/anaconda.secret");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    sb.credential(&secret);
    let out = run(
        &sb,
        &[("ANACONDA_AUTH_API_KEY", &key)],
        &[
            "docker-secret",
            "--validate",
            "offline",
            "--out",
            secret.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    sb.assert_knows(&key);
    let j = out.json();
    assert_eq!(j["path"].as_str().unwrap(), secret.to_str().unwrap());
    let dir = j["dir"].as_str().unwrap().to_owned();
    let out = run(&sb, &[], &["cleanup", "--dir", &dir]);
    assert_eq!(out.exit(), Some(0), "{}", out.stderr());
    assert!(!secret.exists(), "cleanup left the secret file");
    assert!(!Path::new(&dir).exists());
    assert_no_leak_in_tree(sb.path(), &key, &[]);
}
