//! `register` and `setup --register` against a fake `conda` on PATH that records its arguments and
//! environment and behaves as `FAKE_CONDA_MODE` says.

use std::time::Duration;

use crate::common::*;

pub const FAKE_CONDA: &str = r#"#!/bin/sh
# A stand-in for conda: logs argv and the job variables, answers per FAKE_CONDA_MODE.
log="$FAKE_CONDA_LOG"
printf '%s\n' "$*" >> "$log"
printf 'CONDARC=%s KEYRING=%s\n' "${CONDARC-unset}" "${ANACONDA_AUTH_KEYRING_PATH-unset}" >> "$log.env"
leak() {
    if [ -n "${FAKE_CONDA_LEAK-}" ]; then
        echo "token: ${ANACONDA_AUTH_API_KEY-}"
        if [ -n "${ANACONDA_AUTH_KEYRING_PATH-}" ]; then cat "$ANACONDA_AUTH_KEYRING_PATH"; echo; fi
        echo "header: Authorization: Bearer ${ANACONDA_AUTH_API_KEY-}" >&2
    fi
}
case "$1" in
list)
    if [ -n "${FAKE_CONDA_WARN-}" ]; then
        echo "==> WARNING: A newer version of conda exists. <==" >&2
    fi
    if [ "${FAKE_CONDA_MODE-}" = installed ]; then
        echo '[{"base_url":"https://repo.anaconda.cloud/repo/anaconda-tools","name":"anaconda-registration","version":"0.3.0"}]'
    else
        echo '[]'
    fi ;;
install)
    leak
    case "${FAKE_CONDA_MODE-}" in
    fail) echo "CondaHTTPError: HTTP 403 FORBIDDEN for url <https://repo.anaconda.cloud/repo/anaconda-tools>" >&2; exit 1 ;;
    token)
        [ -f "$log.removed" ] && exit 0
        echo "AnacondaAuthError: Token not found" >&2; exit 1 ;;
    token-always) echo "AnacondaAuthError: Token not found" >&2; exit 1 ;;
    noisy) i=0; while [ $i -lt 4000 ]; do echo "progress line $i of a very chatty conda solver run ......" >&2; i=$((i+1)); done; exit 0 ;;
    *) exit 0 ;;
    esac ;;
remove) touch "$log.removed" ;;
*) echo "unexpected conda call: $*" >&2; exit 64 ;;
esac
"#;

const LIST: &str = "list --name base --json --full-name anaconda-registration";
const INSTALL: &str = "install --name base anaconda-registration --channel https://repo.anaconda.cloud/repo/anaconda-tools --override-channels --yes";
const REMOVE: &str = "remove --name base anaconda-auth --force --yes";

struct Conda {
    sb: Sandbox,
    log: std::path::PathBuf,
}

impl Conda {
    fn new() -> Self {
        let sb = Sandbox::new();
        sb.script("conda", FAKE_CONDA);
        let log = sb.path().join("conda.log");
        Self { sb, log }
    }

    fn run(&self, mode: &str, key: Option<&str>, extra_env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut cmd = self
            .sb
            .cmd(args)
            .env("PATH", self.sb.path_with_bin())
            .env("FAKE_CONDA_LOG", &self.log)
            .env("FAKE_CONDA_MODE", mode)
            .timeout(Duration::from_secs(30));
        if let Some(k) = key {
            cmd = cmd.key(k);
        }
        cmd.envs(extra_env).run()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn envs(&self) -> Vec<String> {
        std::fs::read_to_string(self.log.with_extension("log.env"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn installs_when_missing() {
    let c = Conda::new();
    let out = c.run("", None, &[], &["register", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(c.calls(), vec![LIST, INSTALL]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["result"], "installed");
}

#[test]
fn skips_when_already_installed() {
    let c = Conda::new();
    let out = c.run("installed", None, &[], &["register", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(c.calls(), vec![LIST]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["result"], "already-installed");
}

#[test]
fn token_not_found_reinstalls_anaconda_auth_once() {
    let c = Conda::new();
    let out = c.run("token", None, &[], &["register", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(c.calls(), vec![LIST, INSTALL, REMOVE, INSTALL]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["result"], "reinstalled");
    assert!(text(&out.stderr).contains("Token not found"));
}

#[test]
fn token_not_found_twice_fails_without_looping() {
    let c = Conda::new();
    let out = c.run("token-always", None, &[], &["register"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert_eq!(c.calls(), vec![LIST, INSTALL, REMOVE, INSTALL]);
}

#[test]
fn install_failure_is_exit_9_with_condas_output() {
    let c = Conda::new();
    let out = c.run("fail", None, &[], &["register", "--json"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("CondaHTTPError: HTTP 403 FORBIDDEN"), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "conda");
}

#[test]
fn no_conda_on_path_is_exit_9_with_a_clear_error() {
    let sb = Sandbox::new();
    let out = sb
        .cmd(["register"])
        .env("PATH", sb.bin_dir())
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("conda was not found on PATH"),
        "{}",
        text(&out.stderr)
    );

    let out = sb.cmd(["register", "--conda", "/nonexistent/bin/conda"]).run();
    out.code(9);
    assert!(text(&out.stderr).contains("/nonexistent/bin/conda"));
}

#[test]
fn a_chatty_conda_does_not_deadlock() {
    let c = Conda::new();
    let out = c.run("noisy", None, &[], &["register"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(c.calls(), vec![LIST, INSTALL]);
}

#[test]
fn setup_register_passes_the_job_environment_to_conda() {
    let c = Conda::new();
    let key = canary();
    let out = c.run(
        "",
        Some(&key),
        &[],
        &["setup", "--validate", "offline", "--register", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let condarc = json["condarc_path"].as_str().unwrap();
    let keyring = json["keyring_path"].as_str().unwrap();
    assert_eq!(c.calls(), vec![LIST, INSTALL]);
    let expected = format!("CONDARC={condarc} KEYRING={keyring}");
    assert!(
        c.envs().iter().all(|e| *e == expected),
        "{:?} != {expected}",
        c.envs()
    );
}

#[test]
fn exec_register_passes_the_job_environment_to_conda() {
    let c = Conda::new();
    let key = canary();
    let out = c.run(
        "",
        Some(&key),
        &[],
        &[
            "exec",
            "--validate",
            "offline",
            "--register",
            "--",
            "sh",
            "-c",
            "echo \"CONDARC=$CONDARC\"",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let condarc = text(&out.stdout)
        .trim()
        .strip_prefix("CONDARC=")
        .unwrap()
        .to_owned();
    assert_eq!(c.calls(), vec![LIST, INSTALL]);
    assert!(
        c.envs()[0].starts_with(&format!("CONDARC={condarc} KEYRING=")),
        "{:?}",
        c.envs()
    );
}

#[test]
fn a_conda_that_prints_the_key_is_scrubbed() {
    for mode in ["keyring", "env", "both"] {
        let c = Conda::new();
        let key = canary();
        let out = c.run(
            "fail",
            Some(&key),
            &[("FAKE_CONDA_LEAK", "1")],
            &["setup", "--validate", "offline", "--register", "--mode", mode],
        );
        assert_eq!(out.status.code(), Some(9), "{mode}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        if mode == "keyring" {
            // conda gets the key through the keyring only, not the variable it was read from.
            assert!(err.contains("token: \n"), "{mode}: {err}");
        } else {
            assert!(err.contains("token: ****"), "{mode}: {err}");
            assert!(err.contains("Authorization: ****"), "{mode}: {err}");
        }
        if mode != "env" {
            assert!(err.contains("\"anaconda.com\": \"****\""), "{mode}: {err}");
        }
        assert!(err.contains("CondaHTTPError"), "{mode}: {err}");
    }
}

#[test]
fn a_failed_setup_register_leaves_no_job_dir() {
    let c = Conda::new();
    let key = canary();
    let out = c.run(
        "fail",
        Some(&key),
        &[],
        &["setup", "--validate", "offline", "--register"],
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    let left = walk(&c.sb.tmpdir());
    assert!(left.is_empty(), "a failed setup left {left:?}");
}

#[test]
fn standalone_register_scrubs_a_key_from_the_environment() {
    let c = Conda::new();
    let key = canary();
    let out = c.run("fail", Some(&key), &[("FAKE_CONDA_LEAK", "1")], &["register"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("token: ****"), "{}", text(&out.stderr));
}

#[test]
fn standalone_register_scrubs_the_key_in_the_job_keyring() {
    let c = Conda::new();
    let key = canary();
    let setup = c.run("", Some(&key), &[], &["setup", "--validate", "offline", "--json"]);
    assert_eq!(setup.status.code(), Some(0), "{}", text(&setup.stderr));
    let json: serde_json::Value = serde_json::from_slice(&setup.stdout).unwrap();
    let keyring = json["keyring_path"].as_str().unwrap().to_owned();
    // A later step: the key is only in the keyring now.
    let out = c.run(
        "fail",
        None,
        &[("FAKE_CONDA_LEAK", "1"), ("ANACONDA_AUTH_KEYRING_PATH", &keyring)],
        &["register"],
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    assert_no_leak("stdout", &out.stdout, &key);
    assert_no_leak("stderr", &out.stderr, &key);
}

#[test]
fn a_warning_on_stderr_does_not_hide_the_installed_package() {
    let c = Conda::new();
    let out = c.run(
        "installed",
        None,
        &[("FAKE_CONDA_WARN", "1")],
        &["register", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(c.calls(), vec![LIST], "reinstalled a package that is there");
}

/// A conda environment at `prefix`: `bin/conda` (the fake conda), and when `plugin` is given, an
/// `anaconda_auth-<version>.dist-info` whose entry points are `entry_points` (as pip and conda
/// install it into site-packages).
fn conda_env(prefix: &std::path::Path, plugin: Option<(&str, &str)>) -> std::path::PathBuf {
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let conda = bin.join("conda");
    std::fs::write(&conda, FAKE_CONDA).unwrap();
    std::fs::set_permissions(&conda, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let site = prefix.join("lib/python3.12/site-packages");
    std::fs::create_dir_all(&site).unwrap();
    if let Some((version, entry_points)) = plugin {
        let dist = site.join(format!("anaconda_auth-{version}.dist-info"));
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("entry_points.txt"), entry_points).unwrap();
    }
    conda
}

const PLUGIN_ENTRY_POINTS: &str = "[conda]\nanaconda-auth = anaconda_auth._conda.entrypoint\n\n[console_scripts]\nconda-token = anaconda_auth._conda.cli:main\n";

#[test]
fn status_says_whether_conda_has_the_anaconda_auth_plugin() {
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a str, Option<&'a str>);
    let cases: [Case; 3] = [
        (
            "installed",
            Some(("0.15.3", PLUGIN_ENTRY_POINTS)),
            "installed",
            Some("0.15.3"),
        ),
        // anaconda-auth without the conda entry point (only its console scripts): no plugin.
        (
            "library only",
            Some(("0.15.3", "[console_scripts]\nanaconda = x:y\n")),
            "missing",
            None,
        ),
        ("not installed", None, "missing", None),
    ];
    for (name, plugin, state, version) in cases {
        let sb = Sandbox::new();
        let prefix = sb.path().join("miniforge");
        let conda = conda_env(&prefix, plugin);
        let out = sb
            .cmd(["status", "--json"])
            .env("CONDA_EXE", &conda)
            .env("PATH", "/usr/bin:/bin")
            .run();
        out.success();
        let json = out.json();
        assert_eq!(json["conda"]["path"], conda.to_str().unwrap(), "{name}");
        assert_eq!(json["conda"]["plugin"], state, "{name}");
        assert_eq!(json["conda"]["plugin_version"].as_str(), version, "{name}");
        let warned = json["warnings"].as_array().unwrap().iter().any(|w| {
            w.as_str()
                .unwrap()
                .contains("has no anaconda-auth plugin, so it will not send the key")
        });
        assert_eq!(warned, state == "missing", "{name}: {json}");
        let human = sb
            .cmd(["status"])
            .env("CONDA_EXE", &conda)
            .env("PATH", "/usr/bin:/bin")
            .run();
        let line = match version {
            Some(v) => format!("  conda        {} (anaconda-auth plugin {v})", conda.display()),
            None => format!("  conda        {} (no anaconda-auth plugin)", conda.display()),
        };
        human.success().stderr_has(&line);
    }
}

#[test]
fn status_says_when_conda_is_not_found_or_not_in_an_environment() {
    let sb = Sandbox::new();
    let out = sb.cmd(["status", "--json"]).env("PATH", "/usr/bin:/bin").run();
    assert!(out.success().json()["conda"].is_null());
    sb.cmd(["status"])
        .env("PATH", "/usr/bin:/bin")
        .run()
        .success()
        .stderr_has("  conda        not found on PATH or CONDA_EXE");
    // A conda outside an environment's bin (a wrapper script, say): the plugin is not guessed at.
    let odd = sb.path().join("tools");
    std::fs::create_dir_all(&odd).unwrap();
    std::fs::write(odd.join("conda"), FAKE_CONDA).unwrap();
    std::fs::set_permissions(
        odd.join("conda"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let json = sb
        .cmd(["status", "--json"])
        .env("CONDA_EXE", odd.join("conda"))
        .env("PATH", "/usr/bin:/bin")
        .run();
    let json = json.success().json();
    assert_eq!(json["conda"]["plugin"], "unknown");
    assert!(!json["warnings"].to_string().contains("anaconda-auth plugin"));
}

#[test]
fn setup_warns_early_when_conda_lacks_the_plugin_and_register_is_off() {
    // setup with conda (with or without the plugin) in CONDA_EXE and these clients.
    let setup = |plugin: Option<(&str, &str)>, clients: &str| {
        let sb = Sandbox::new();
        let key = sb.canary();
        let conda = conda_env(&sb.path().join("env"), plugin);
        let out = sb
            .cmd(["setup", "--validate", "offline", "--clients", clients])
            .key(&key)
            .env("CONDA_EXE", &conda)
            .env("PATH", "/usr/bin:/bin")
            .run();
        out.success();
        out.stderr()
    };
    let warned = setup(None, "conda,mamba");
    assert!(
        warned.contains("has no anaconda-auth plugin, so conda steps will not send the key")
            && warned.contains("run setup with --register"),
        "{warned}"
    );
    // With the plugin, or without conda among the clients: no warning.
    for (plugin, clients) in [(Some(("0.15.3", PLUGIN_ENTRY_POINTS)), "conda"), (None, "pixi")] {
        let quiet = setup(plugin, clients);
        assert!(!quiet.contains("anaconda-auth plugin"), "{clients}: {quiet}");
    }
}
