//! Snapshots (insta) of exit code + stdout + stderr: every subcommand's success, every
//! subcommand's `--help`, and one representative case of each error kind, in human and JSON
//! output. A changed output fails the test; review it and accept with `cargo insta review` (or
//! `INSTA_UPDATE=always`), then commit the `.snap` files.
//!
//! Filters replace what changes from run to run: the sandbox path, job-directory names, ports,
//! times and durations, and the version. The key is fixed (it expires in 2100), so its
//! fingerprint is stable. Every run goes through the harness, so each case is a leak test too.

use crate::common::*;
use crate::fake_api::{FakeApi, Reply};
use crate::register::FAKE_CONDA;

/// A canary key that expires on 2100-01-01, so fingerprints and expiry lines are stable.
fn fixed_key() -> String {
    jwt(4_102_444_800, "SNAPSHOT-e1a5")
}

/// An expired key with a fixed expiry.
fn expired_key() -> String {
    jwt(1_689_088_786, "SNAPSHOT-EXPIRED-77c2")
}

/// Exit code, stdout and stderr, normalised.
fn render(sb: &Sandbox, out: &Run) -> String {
    let text = format!(
        "exit_code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        out.exit().map_or_else(|| "signal".to_owned(), |c| c.to_string()),
        out.stdout(),
        out.stderr()
    );
    // The sandbox path first, before the regex filters see it.
    let root = sb.path().display().to_string();
    let real = std::fs::canonicalize(sb.path()).unwrap().display().to_string();
    text.replace(&real, "[SANDBOX]").replace(&root, "[SANDBOX]")
}

/// Snapshots `out` under `name` with the filters for what varies between runs.
#[track_caller]
fn snap(name: &str, sb: &Sandbox, out: &Run) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.add_filter(r"anaconda-ci-auth-[0-9a-f]{6,}", "anaconda-ci-auth-[ID]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    settings.add_filter(r"\b(in|after) \d+(\.\d+)?m?s\b", "$1 [DURATION]");
    settings.add_filter(&regex_escape(env!("CARGO_PKG_VERSION")), "[VERSION]");
    settings.add_filter(r#""created_at": \d+"#, r#""created_at": [TIME]"#);
    settings.bind(|| insta::assert_snapshot!(name, render(sb, out)));
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// One scenario: a name and how to run it in a fresh sandbox.
type Case = (&'static str, fn(&Sandbox) -> Run);

fn run_cases(cases: &[Case]) {
    for (name, case) in cases {
        let sb = Sandbox::new();
        let out = case(&sb);
        snap(name, &sb, &out);
    }
}

fn offline<'a>(sb: &'a Sandbox, args: &[&str]) -> Cmd<'a> {
    sb.cmd(args).key(&fixed_key())
}

/// Runs `setup --validate offline --json` and returns the job directory.
fn setup_dir(sb: &Sandbox) -> String {
    let out = offline(sb, &["setup", "--validate", "offline", "--json"]).run();
    out.success();
    out.json()["dir"].as_str().unwrap().to_owned()
}

fn with_conda<'a>(sb: &'a Sandbox, mode: &str, args: &[&str]) -> Cmd<'a> {
    sb.script("conda", FAKE_CONDA);
    sb.cmd(args)
        .env("PATH", sb.path_with_bin())
        .env("FAKE_CONDA_LOG", sb.path().join("conda.log"))
        .env("FAKE_CONDA_MODE", mode)
}

#[test]
fn setup_in_each_mode() {
    run_cases(&[
        ("setup_keyring", |sb| {
            offline(sb, &["setup", "--validate", "offline"]).run()
        }),
        ("setup_env", |sb| {
            offline(sb, &["setup", "--validate", "offline", "--mode", "env"]).run()
        }),
        ("setup_both", |sb| {
            offline(sb, &["setup", "--validate", "offline", "--mode", "both"]).run()
        }),
        ("setup_keyring_json", |sb| {
            offline(sb, &["setup", "--validate", "offline", "--json"]).run()
        }),
        ("setup_both_json", |sb| {
            offline(
                sb,
                &["setup", "--validate", "offline", "--mode", "both", "--json"],
            )
            .run()
        }),
        ("setup_keyring_print_env", |sb| {
            offline(sb, &["setup", "--validate", "offline", "--print-env", "sh"]).run()
        }),
        ("setup_env_print_env", |sb| {
            offline(
                sb,
                &[
                    "setup",
                    "--validate",
                    "offline",
                    "--mode",
                    "env",
                    "--print-env",
                    "sh",
                ],
            )
            .run()
        }),
        ("setup_merge_keyring_path", |sb| {
            let kr = sb.home().join(".anaconda/keyring");
            std::fs::create_dir_all(kr.parent().unwrap()).unwrap();
            std::fs::write(&kr, r#"{"Anaconda Cloud": {"example.org": "e30="}}"#).unwrap();
            sb.allow_secret_in(
                &kr,
                "the user's keyring, merged into on purpose with --keyring-path",
            );
            offline(
                sb,
                &[
                    "setup",
                    "--validate",
                    "offline",
                    "--keyring-path",
                    "~/.anaconda/keyring",
                    "--dir",
                    "job",
                ],
            )
            .run()
        }),
        ("setup_online", |sb| {
            let api = FakeApi::always(Reply::ok("ci-bot"));
            offline(sb, &["setup", "--api-url", &api.url()]).run()
        }),
    ]);
}

#[test]
fn validate_exec_docker_secret_status_cleanup() {
    run_cases(&[
        ("validate_offline", |sb| {
            offline(sb, &["validate", "--validate", "offline"]).run()
        }),
        ("validate_online", |sb| {
            let api = FakeApi::always(Reply::ok("ci-bot"));
            offline(sb, &["validate", "--api-url", &api.url()]).run()
        }),
        ("validate_online_json", |sb| {
            let api = FakeApi::always(Reply::ok("ci-bot"));
            offline(sb, &["validate", "--api-url", &api.url(), "--json"]).run()
        }),
        ("exec", |sb| {
            offline(
                sb,
                &[
                    "exec",
                    "--validate",
                    "offline",
                    "--",
                    "sh",
                    "-c",
                    "echo out; echo err >&2; exit 3",
                ],
            )
            .run()
        }),
        ("docker_secret_key", |sb| {
            offline(sb, &["docker-secret", "--validate", "offline"]).run()
        }),
        ("docker_secret_keyring_json", |sb| {
            offline(
                sb,
                &[
                    "docker-secret",
                    "--validate",
                    "offline",
                    "--kind",
                    "keyring",
                    "--json",
                ],
            )
            .run()
        }),
        ("status_configured", |sb| {
            let dir = setup_dir(sb);
            sb.cmd(["status", "--dir", &dir]).run()
        }),
        ("status_configured_json", |sb| {
            let dir = setup_dir(sb);
            sb.cmd(["status", "--dir", &dir, "--json"]).run()
        }),
        ("status_nothing", |sb| sb.cmd(["status"]).run()),
        ("cleanup_dir", |sb| {
            let dir = setup_dir(sb);
            sb.cmd(["cleanup", "--dir", &dir]).run()
        }),
        ("cleanup_dir_json", |sb| {
            let dir = setup_dir(sb);
            sb.cmd(["cleanup", "--dir", &dir, "--json"]).run()
        }),
        ("cleanup_sweep", |sb| {
            let sweep = sb.path().join("sweep");
            std::fs::create_dir(&sweep).unwrap();
            sb.cmd(["cleanup", "--sweep", "--sweep-dir"]).arg(&sweep).run()
        }),
    ]);
}

#[test]
fn register_with_a_fake_conda() {
    run_cases(&[
        ("register_installs", |sb| with_conda(sb, "", &["register"]).run()),
        ("register_installs_json", |sb| {
            with_conda(sb, "", &["register", "--json"]).run()
        }),
        ("register_already_installed", |sb| {
            with_conda(sb, "installed", &["register"]).run()
        }),
        ("register_reinstalls", |sb| {
            with_conda(sb, "token", &["register"]).run()
        }),
        ("setup_register", |sb| {
            with_conda(sb, "", &["setup", "--validate", "offline", "--register"])
                .key(&fixed_key())
                .run()
        }),
    ]);
}

#[test]
fn version_and_help() {
    let sb = Sandbox::new();
    snap("version", &sb, &sb.cmd(["--version"]).run());
    snap("help", &sb, &sb.cmd(["--help"]).run());
    for sub in [
        "setup",
        "validate",
        "exec",
        "docker-secret",
        "cleanup",
        "status",
        "register",
    ] {
        let out = sb.cmd([sub, "--help"]).run();
        out.success();
        snap(&format!("help_{}", sub.replace('-', "_")), &sb, &out);
    }
}

/// A failing scenario: its kind's name, exit code, and how to run it (with `--json` or not).
type ErrorCase = (&'static str, i32, fn(&Sandbox, bool) -> Run);

/// One representative case of each error kind in `src/error.rs`, with its exit code.
const ERROR_KINDS: &[ErrorCase] = &[
    ("internal", 1, |sb, json| {
        // A PEM block that is not a certificate: parsed as a bundle, refused by the TLS stack.
        let pem = sb.path().join("garbage.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let mut args = vec!["validate", "--api-url", "https://127.0.0.1:9", "--timeout", "2s"];
        args.extend(["--ca-bundle", "garbage.pem"]);
        with_json(offline(sb, &args), json).run()
    }),
    ("usage", 2, |sb, json| {
        with_json(sb.cmd(["validate", "--min-validity", "7"]), json).run()
    }),
    ("key_missing", 3, |sb, json| {
        with_json(sb.cmd(["setup", "--validate", "offline"]), json).run()
    }),
    ("key_malformed", 4, |sb, json| {
        with_json(sb.cmd(["setup", "--validate", "offline"]), json)
            .key("not-a-jwt-but-long-enough")
            .run()
    }),
    ("key_expired", 5, |sb, json| {
        with_json(sb.cmd(["setup", "--validate", "offline"]), json)
            .key(&expired_key())
            .run()
    }),
    ("key_rejected", 6, |sb, json| {
        let api = FakeApi::always(Reply::unauthorized());
        with_json(offline(sb, &["setup", "--api-url", &api.url()]), json).run()
    }),
    ("api_unreachable", 7, |sb, json| {
        let api = FakeApi::always(Reply::json(404, r#"{"detail":"Not Found"}"#));
        with_json(offline(sb, &["validate", "--api-url", &api.url()]), json).run()
    }),
    ("filesystem", 8, |sb, json| {
        let foreign = sb.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("precious"), "user data").unwrap();
        with_json(
            offline(sb, &["setup", "--validate", "offline", "--dir", "foreign"]),
            json,
        )
        .run()
    }),
    ("conda", 9, |sb, json| {
        with_json(with_conda(sb, "fail", &["register"]), json).run()
    }),
];

fn with_json(cmd: Cmd<'_>, json: bool) -> Cmd<'_> {
    if json { cmd.arg("--json") } else { cmd }
}

#[test]
fn each_error_kind() {
    for (name, code, case) in ERROR_KINDS {
        for json in [false, true] {
            let sb = Sandbox::new();
            let out = case(&sb, json);
            out.code(*code);
            if json {
                let j = out.json();
                assert_eq!(j["error"]["exit_code"], *code, "{name}");
                assert_eq!(j["error"]["kind"], name.replace('_', "-"), "{name}");
            }
            let suffix = if json { "_json" } else { "" };
            snap(&format!("error_{name}{suffix}"), &sb, &out);
        }
    }
}

#[test]
fn a_usage_error_from_the_argument_parser() {
    let sb = Sandbox::new();
    let out = sb.cmd(["setup", "--bogus"]).run();
    out.code(2);
    snap("error_usage_parser", &sb, &out);
}
