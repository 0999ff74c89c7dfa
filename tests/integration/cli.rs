//! Setup, cleanup, status, validate and docker-secret through the real binary, offline.

use crate::common::*;

#[test]
fn setup_offline_writes_spec_keyring_and_cleans_up() {
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd([
            "setup",
            "--api-key-env",
            "MY_SECRET",
            "--validate",
            "offline",
            "--json",
        ])
        .env("MY_SECRET", format!("{key}\n"))
        .run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_no_leak("stdout", &out.stdout, &key);
    assert_no_leak("stderr", &out.stderr, &key);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = std::path::PathBuf::from(json["dir"].as_str().unwrap());
    assert!(dir.starts_with(sb.tmpdir()));
    let keyring = std::path::PathBuf::from(json["keyring_path"].as_str().unwrap());
    let text = std::fs::read_to_string(&keyring).unwrap();
    assert!(text.starts_with(r#"{"Anaconda Cloud": {"anaconda.com": ""#));
    let allowed: Vec<std::path::PathBuf> = CREDENTIAL_FILES.iter().map(|f| dir.join(f)).collect();
    assert!(allowed.contains(&keyring));
    assert_no_leak_in_tree(&dir, &key, &allowed);
    assert_eq!(json["validation"]["mode"], "offline");
    assert_eq!(json["clients"], serde_json::json!(["conda", "mamba", "pixi"]));
    assert_eq!(json["env"]["ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY"], "true");

    let out = sb.cmd(["cleanup", "--dir", dir.to_str().unwrap()]).run();
    out.success();
    assert!(!dir.exists());
    let again = sb.cmd(["cleanup", "--dir", dir.to_str().unwrap()]).run();
    assert!(again.status.success(), "cleanup must be idempotent");
}

fn setup_json(sb: &Sandbox, key: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["setup", "--validate", "offline", "--json"];
    args.extend_from_slice(extra);
    let out = sb.cmd(&args).env("ANACONDA_AUTH_API_KEY", key).run();
    assert!(
        out.status.success(),
        "setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_no_leak("stdout", &out.stdout, key);
    assert_no_leak("stderr", &out.stderr, key);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn print_env_exports_the_key_by_reference_only() {
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd([
            "setup",
            "--validate",
            "offline",
            "--mode",
            "both",
            "--print-env",
            "sh",
        ])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .run();
    out.success();
    assert_no_leak("stdout", &out.stdout, &key);
    let text = out.stdout();
    assert!(text.contains("export ANACONDA_AUTH_API_KEY=\"$(cat '"), "{text}");
    assert!(text.contains("export CONDARC='"));
    assert!(text.contains("export ANACONDA_AUTH_KEYRING_PATH='"));
    // Evaluating the exports in a shell yields the key.
    let script = format!("{text}\nprintf '%s' \"$ANACONDA_AUTH_API_KEY\" | sha256sum");
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    let expected = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf '%s' \"$K\" | sha256sum")
        .env("K", &key)
        .output()
        .unwrap();
    assert_eq!(sh.stdout, expected.stdout);
}

#[test]
fn refuses_a_non_empty_foreign_dir_and_reuses_its_own() {
    let sb = Sandbox::new();
    let key = canary();
    let foreign = sb.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("precious"), "user data").unwrap();
    let out = sb
        .cmd([
            "setup",
            "--validate",
            "offline",
            "--dir",
            foreign.to_str().unwrap(),
        ])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .run();
    out.code(8);
    assert_eq!(
        std::fs::read_to_string(foreign.join("precious")).unwrap(),
        "user data"
    );

    let own = sb.path().join("job");
    let first = setup_json(&sb, &key, &["--dir", own.to_str().unwrap()]);
    let second = setup_json(&sb, &key, &["--dir", own.to_str().unwrap(), "--mode", "both"]);
    assert_eq!(first["dir"], second["dir"]);
    assert!(own.join("api-key").exists());
    let out = sb.cmd(["cleanup", "--dir", own.to_str().unwrap()]).run();
    out.success();
    assert!(!own.exists());
}

#[cfg(unix)]
#[test]
fn never_writes_through_a_symlinked_dir() {
    let sb = Sandbox::new();
    let target = sb.path().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    let link = sb.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = sb
        .cmd(["setup", "--validate", "offline", "--dir", link.to_str().unwrap()])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .run();
    assert_eq!(
        out.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn files_and_dir_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    let json = setup_json(&sb, &canary(), &["--mode", "both"]);
    let dir = std::path::PathBuf::from(json["dir"].as_str().unwrap());
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            p.display()
        );
    }
}

#[test]
fn cleanup_refuses_what_it_did_not_create() {
    let sb = Sandbox::new();
    let dir = sb.path().join("not-ours");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("keyring"), "x").unwrap();
    let out = sb.cmd(["cleanup", "--dir", dir.to_str().unwrap()]).run();
    out.code(8);
    assert!(dir.join("keyring").exists());
    // A forged state file naming another directory is refused too.
    let victim = sb.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("data"), "x").unwrap();
    let forged = serde_json::json!({
        "tool": "anaconda-ci-auth", "format": 1, "command": "setup", "dir": victim, "created_at": 0, "ci": "none",
        "job": null, "mode": "keyring", "domain": "anaconda.com", "fingerprint": "sha256:0", "expires_at": null,
        "key_source": "x", "files": [victim.join("data")], "env": {}, "keyring_merge": null
    });
    std::fs::write(dir.join("state.json"), forged.to_string()).unwrap();
    let out = sb.cmd(["cleanup", "--dir", dir.to_str().unwrap()]).run();
    out.code(8);
    assert!(victim.join("data").exists());
}

#[test]
fn cleanup_leaves_foreign_files_and_the_dir() {
    let sb = Sandbox::new();
    let json = setup_json(&sb, &canary(), &[]);
    let dir = std::path::PathBuf::from(json["dir"].as_str().unwrap());
    std::fs::write(dir.join("user-file"), "keep me").unwrap();
    let out = sb.cmd(["cleanup", "--dir", dir.to_str().unwrap()]).run();
    out.success();
    assert_eq!(std::fs::read_to_string(dir.join("user-file")).unwrap(), "keep me");
    assert!(!dir.join("keyring").exists());
    out.stderr_has("did not create");
}

#[test]
fn cleanup_uses_the_state_variable_and_is_idempotent() {
    let sb = Sandbox::new();
    let json = setup_json(&sb, &canary(), &[]);
    let state = json["state_path"].as_str().unwrap();
    let out = sb.cmd(["cleanup"]).env("ANACONDA_CI_AUTH_STATE", state).run();
    out.success();
    assert!(!std::path::Path::new(json["dir"].as_str().unwrap()).exists());
    // Regression: with nothing to name the job, cleanup failed (exit 2) although it is
    // documented as safe under `if: always()`.
    sb.cmd(["cleanup"])
        .run()
        .success()
        .stderr_has("nothing to clean up");
    let json = sb.cmd(["cleanup", "--json"]).run();
    assert_eq!(json.success().json()["removed"], serde_json::json!([]));
}

#[test]
fn sweep_removes_stale_dirs_of_other_jobs_only() {
    let sb = Sandbox::new();
    let key = canary();
    // GitLab: job directories beside the project dir; only one job at a time uses that place.
    let project = sb.path().join("builds/group/project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(sb.path().join("builds/group/project.tmp")).unwrap();
    let run = |job: &str| {
        let out = sb
            .cmd(["setup", "--validate", "offline", "--json"])
            .env("ANACONDA_AUTH_API_KEY", &key)
            .env("GITLAB_CI", "true")
            .env("CI_PROJECT_DIR", &project)
            .env("CI_JOB_ID", job)
            .run();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        std::path::PathBuf::from(json["dir"].as_str().unwrap())
    };
    let first = run("100");
    assert!(first.starts_with(sb.path().join("builds/group/project.tmp")));
    let unrelated = sb
        .path()
        .join("builds/group/project.tmp/anaconda-ci-auth-foreign");
    std::fs::create_dir(&unrelated).unwrap();
    let second = run("101");
    assert!(!first.exists(), "the timed-out job's directory is swept");
    assert!(second.exists());
    assert!(
        unrelated.exists(),
        "a directory without our state file is never touched"
    );
}

#[test]
fn github_mode_masks_first_and_exports_through_files() {
    let sb = Sandbox::new();
    let key = canary();
    let gh = github_step(&sb);
    let out = github_cmd(&sb, &gh, &["setup", "--validate", "offline"])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .run();
    out.success();
    // Masks first, on stderr (the runner reads workflow commands there too): stdout may be
    // redirected into a file that is uploaded.
    assert!(!out.stdout().contains("::add-mask::"));
    let masks = out.stderr();
    assert!(masks.lines().next().unwrap().starts_with("::add-mask::"));
    assert!(masks.lines().any(|l| l == format!("::add-mask::{key}")));
    assert!(masks.lines().any(|l| l == format!("::add-mask::Bearer {key}")));
    // (run() has checked stdout, and stderr apart from its mask lines, for every form.)
    let env = std::fs::read_to_string(gh.join("env")).unwrap();
    assert!(env.contains("CONDARC<<ghadelimiter_"));
    assert_no_leak("GITHUB_ENV", env.as_bytes(), &key);
    let output = std::fs::read_to_string(gh.join("output")).unwrap();
    assert!(output.contains("fingerprint<<"));
    assert!(output.contains("keyring-path<<"));
    let summary = std::fs::read(gh.join("summary")).unwrap();
    assert_no_leak("summary", &summary, &key);
}

#[test]
fn docker_secret_writes_a_private_file_and_prints_the_argument() {
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd(["docker-secret", "--validate", "offline"])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_no_leak("stdout", &out.stdout, &key);
    assert_no_leak("stderr", &out.stderr, &key);
    let line = out.stdout();
    let src = line
        .trim()
        .strip_prefix("--secret id=ANACONDA_AUTH_API_KEY,src=")
        .unwrap();
    assert_eq!(std::fs::read_to_string(src).unwrap(), key);
    let dir = std::path::Path::new(src).parent().unwrap();
    let out = sb.cmd(["cleanup", "--dir", dir.to_str().unwrap()]).run();
    out.success();
    assert!(!std::path::Path::new(src).exists());

    let out_path = sb.path().join("kr");
    sb.credential(&out_path);
    let out = sb
        .cmd([
            "docker-secret",
            "--validate",
            "offline",
            "--kind",
            "keyring",
            "--json",
            "--out",
        ])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .arg(&out_path)
        .run();
    out.success();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["mount_target"], "/root/.anaconda/keyring");
    assert!(
        std::fs::read_to_string(&out_path)
            .unwrap()
            .starts_with(r#"{"Anaconda Cloud": "#)
    );
    // An existing --out is never replaced.
    let again = sb
        .cmd(["docker-secret", "--validate", "offline", "--out"])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .arg(&out_path)
        .run();
    again.code(8);
}

#[test]
fn status_reports_and_warns_about_traps() {
    let sb = Sandbox::new();
    let key = canary();
    std::fs::write(
        sb.home().join(".condarc"),
        "channel_settings:\n  - channel: https://repo.anaconda.cloud/*\n    auth: something-else\n",
    )
    .unwrap();
    std::fs::write(sb.path().join(".env"), "ANACONDA_AUTH_DOMAIN=x\n").unwrap();
    let json = setup_json(&sb, &key, &[]);
    assert!(
        json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains(".condarc"))
    );
    let out = sb
        .cmd([
            "status",
            "--json",
            "--state",
            json["state_path"].as_str().unwrap(),
        ])
        .env("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        .run();
    out.success();
    assert_no_leak("stdout", &out.stdout, &key);
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["configured"], true);
    assert_eq!(st["fingerprint"], json["fingerprint"]);
    let warnings = st["warnings"].to_string();
    assert!(warnings.contains("PYTHON_KEYRING_BACKEND"), "{warnings}");
    assert!(warnings.contains(".env"), "{warnings}");
    assert!(warnings.contains("something-else"), "{warnings}");
    assert!(
        st["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["mode"] == "0600")
    );
}

#[test]
fn key_problems_have_their_own_exit_codes() {
    let sb = Sandbox::new();
    let cases: Vec<(Option<String>, i32)> = vec![
        (None, 3),
        (Some("   \n".into()), 3),
        (Some("not a key".into()), 4),
        (Some("abc.def".into()), 4),
        (Some(jwt(1_689_088_786, "CANARY-exp")), 5),
    ];
    for (value, code) in cases {
        let mut cmd = sb.cmd(["setup", "--validate", "offline"]);
        if let Some(v) = &value {
            cmd = cmd.key(v);
        }
        let out = cmd.run();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{value:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("help:"), "{stderr}");
        if let Some(v) = value.filter(|v| v.len() > 8) {
            assert_no_leak("stderr", &out.stderr, &v);
        }
        assert_eq!(
            std::fs::read_dir(sb.tmpdir()).unwrap().count(),
            0,
            "nothing written on failure"
        );
    }
    let out = sb
        .cmd(["validate", "--validate", "offline", "--min-validity", "7d"])
        .env("ANACONDA_AUTH_API_KEY", jwt(now() + 3 * 86_400, "CANARY-soon"))
        .run();
    out.code(5);
}

#[test]
fn a_key_on_the_command_line_is_refused_without_echo() {
    let sb = Sandbox::new();
    let key = canary();
    for args in [
        vec!["setup", "--api-key-env", key.as_str()],
        vec!["setup", "--api-key", key.as_str()],
    ] {
        let out = sb.cmd(&args).run();
        out.code(2);
        assert_no_leak("stderr", &out.stderr, &key);
        out.stderr_has("looks like an API key");
    }
}

#[test]
fn cleanup_in_a_new_shell_finds_the_current_jobs_dir() {
    let sb = Sandbox::new();
    let key = canary();
    let gitlab = |args: &[&str], job: &str| {
        sb.cmd(args)
            .env("GITLAB_CI", "true")
            .env("CI_JOB_ID", job)
            .env("CI_PROJECT_DIR", sb.path().join("project"))
    };
    let setup = gitlab(&["setup", "--validate", "offline", "--json"], "42");
    let out = setup.env("ANACONDA_AUTH_API_KEY", &key).run();
    out.success();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = std::path::PathBuf::from(json["dir"].as_str().unwrap());
    let other = gitlab(&["cleanup"], "43");
    assert!(other.run().status.success());
    assert!(
        dir.exists(),
        "another job's cleanup leaves this job's directory alone"
    );
    let cleanup = gitlab(&["cleanup"], "42");
    assert!(cleanup.run().status.success());
    assert!(!dir.exists());
}

#[test]
fn keyring_mode_env_unsets_the_variable_anaconda_auth_would_prefer() {
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd(["setup", "--validate", "offline", "--print-env", "sh"])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .run();
    out.success();
    let text = out.stdout();
    assert!(text.contains("\nunset ANACONDA_AUTH_API_KEY\n"), "{text}");
    out.stderr_lacks("is set in this step");
    let script = format!("{text}\necho \"[${{ANACONDA_AUTH_API_KEY:-}}]\"");
    let sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("ANACONDA_AUTH_API_KEY", &key)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sh.stdout).trim(), "[]");
}

#[test]
fn a_file_type_variable_is_read_as_a_file() {
    let sb = Sandbox::new();
    let key = canary();
    let file = sb.path().join("ANACONDA_AUTH_API_KEY.file");
    std::fs::write(&file, format!("{key}\n")).unwrap();
    sb.allow_secret_in(&file, "test input: the file a file-type variable names");
    let out = sb
        .cmd(["validate", "--validate", "offline", "--json"])
        .env("ANACONDA_AUTH_API_KEY", &file)
        .run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["key_source"].as_str().unwrap().starts_with("file "));
    // Passing the same path explicitly is not mistaken for a key on the command line.
    let out = sb
        .cmd(["validate", "--validate", "offline", "--api-key-file"])
        .env("ANACONDA_AUTH_API_KEY", &file)
        .arg(&file)
        .run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn gitlab_debug_trace_t_counts_as_on() {
    let sb = Sandbox::new();
    let out = sb
        .cmd(["setup", "--validate", "offline", "--mode", "env"])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .env("GITLAB_CI", "true")
        .env("CI_DEBUG_TRACE", "t")
        .run();
    out.code(2);
}

#[test]
fn exec_masks_a_key_that_ends_where_a_write_ends() {
    // A key whose last character starts another masked form (`e`, as in `eyJ…`), written without
    // a trailing newline: the complete key must not be split by the hold-back logic.
    let sb = Sandbox::new();
    let base = canary();
    let key = format!("{}.c2lnbmF0dXJlZe", base.rsplit_once('.').unwrap().0);
    let out = sb
        .cmd(["exec", "--mode", "env", "--validate", "offline", "--"])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .args([
            "sh",
            "-c",
            "printf 'token=%s' \"$ANACONDA_AUTH_API_KEY\"; sleep 0.3; echo ' done'",
        ])
        .run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "token=**** done\n");
}

#[test]
fn cleanup_and_sweep_never_delete_files_a_state_names_outside_its_dir() {
    let sb = Sandbox::new();
    let victim = sb.path().join("important.txt");
    std::fs::write(&victim, "precious").unwrap();
    let plant = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir).unwrap();
        let forged = serde_json::json!({
            "tool": "anaconda-ci-auth", "format": 2, "command": "docker-secret", "dir": dir, "created_at": 0,
            "ci": "none", "job": null, "mode": "key", "domain": "anaconda.com", "fingerprint": "sha256:0",
            "expires_at": null, "key_source": "x", "files": [victim], "env": {}, "merges": [],
            "created_dir": true
        });
        std::fs::write(dir.join("state.json"), forged.to_string()).unwrap();
    };
    let crafted = sb.path().join("crafted");
    plant(&crafted);
    let out = sb.cmd(["cleanup", "--dir"]).arg(&crafted).run();
    out.success();
    assert!(
        victim.exists(),
        "cleanup removed a file that does not hold the job's key"
    );
    plant(&sb.tmpdir().join("anaconda-ci-auth-planted"));
    let out = sb
        .cmd(["setup", "--validate", "offline"])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .run();
    out.success();
    assert!(
        victim.exists(),
        "the sweep removed a file outside a job directory"
    );
}

#[test]
fn a_failed_rerun_in_the_same_dir_leaves_no_key_behind() {
    let sb = Sandbox::new();
    let key = canary();
    let dir = sb.path().join("job");
    let setup = |mode: &str| {
        sb.cmd(["setup", "--validate", "offline", "--mode", mode, "--dir"])
            .env("ANACONDA_AUTH_API_KEY", &key)
            .arg(&dir)
            .run()
    };
    assert!(setup("keyring").status.success());
    // Something standing where env.sh goes makes the second run fail after writing api-key.
    std::fs::remove_file(dir.join("env.sh")).unwrap();
    std::fs::create_dir(dir.join("env.sh")).unwrap();
    let out = setup("env");
    assert_eq!(
        out.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.join("api-key").exists(), "the key file was left behind");
    assert!(!dir.join("keyring").exists());
}

#[test]
fn absurd_durations_and_unsafe_channels_are_usage_errors() {
    let sb = Sandbox::new();
    for args in [
        vec![
            "validate",
            "--validate",
            "offline",
            "--min-validity",
            "99999999999999999w",
        ],
        vec![
            "setup",
            "--validate",
            "offline",
            "--channel",
            "http://mirror.example.com/*",
        ],
        vec!["setup", "--validate", "offline", "--channel", "https://*"],
    ] {
        let out = sb.cmd(&args).env("ANACONDA_AUTH_API_KEY", canary()).run();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = sb
        .cmd(["cleanup", "--sweep", "--max-age", "106751991167301d"])
        .run();
    out.code(2);
}

#[test]
fn json_errors_are_printed_for_early_failures_too() {
    let sb = Sandbox::new();
    for args in [
        vec!["--json", "setup", "--bogus"],
        vec!["setup", "--json", "--api-key-env", "x"],
    ] {
        let mut args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        if args.last().is_some_and(|a| a == "x") {
            args.pop();
            args.push(canary());
        }
        let out = sb.cmd(&args).run();
        out.code(2);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["error"]["kind"], "usage");
        assert_no_leak("stdout", &out.stdout, &canary());
    }
}

#[test]
fn overlapping_merges_keep_the_users_entry_until_it_can_be_restored() {
    let sb = Sandbox::new();
    let keyring = sb.home().join(".anaconda/keyring");
    std::fs::create_dir_all(keyring.parent().unwrap()).unwrap();
    let original = r#"{"Anaconda Cloud": {"anaconda.com": "eyJhcGlfa2V5IjoidXNlci1vd24ta2V5IiwidXNlcm5hbWUiOiJib2IifQ=="}}"#;
    std::fs::write(&keyring, original).unwrap();
    sb.allow_secret_in(
        &keyring,
        "the user's keyring, merged into on purpose with --keyring-path",
    );
    let (ka, kb) = (
        jwt(now() + 86_400 * 300, "JOB-A-5d1c"),
        jwt(now() + 86_400 * 200, "JOB-B-8e2f"),
    );
    let setup = |key: &str, dir: &str| {
        let out = sb
            .cmd([
                "setup",
                "--validate",
                "offline",
                "--keyring-path",
                "~/.anaconda/keyring",
                "--dir",
                dir,
            ])
            .env("ANACONDA_AUTH_API_KEY", key)
            .run();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let cleanup = |dir: &str| sb.cmd(["cleanup", "--dir", dir]).run();
    let holds = |key: &str| {
        let text = std::fs::read_to_string(&keyring).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let entry = v["Anaconda Cloud"]["anaconda.com"].as_str().unwrap().to_owned();
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::STANDARD.decode(entry).unwrap();
        String::from_utf8(payload).unwrap().contains(key)
    };
    // Cleanups in both orders: the entry always belongs to a job still running, and the user's
    // own entry comes back byte for byte once both are gone.
    for (first, second) in [("a", "b"), ("b", "a")] {
        setup(&ka, "a");
        setup(&kb, "b");
        assert!(holds(&kb));
        let out = cleanup(first);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let still = if first == "a" { &kb } else { &ka };
        assert!(
            holds(still),
            "after cleaning up {first} the entry must hold the running job's key"
        );
        assert!(!sb.path().join(first).exists());
        assert!(cleanup(second).status.success());
        assert_eq!(std::fs::read_to_string(&keyring).unwrap(), original);
        assert!(!sb.path().join(second).exists());
        let leftovers: Vec<_> = std::fs::read_dir(keyring.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != "keyring")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_root_merge_into_another_users_keyring_keeps_its_owner() {
    use std::os::unix::fs::MetadataExt as _;
    if !nix_is_root() {
        return; // Only root can write another user's files; CI runs the suite as root.
    }
    let sb = Sandbox::new();
    let anaconda = sb.home().join(".anaconda");
    std::fs::create_dir_all(&anaconda).unwrap();
    let keyring = anaconda.join("keyring");
    std::fs::write(&keyring, "").unwrap();
    sb.allow_secret_in(
        &keyring,
        "the user's keyring, merged into on purpose with --keyring-path",
    );
    for p in [&sb.home(), &anaconda, &keyring] {
        std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
    }
    let out = sb
        .cmd([
            "setup",
            "--validate",
            "offline",
            "--keyring-path",
            "~/.anaconda/keyring",
            "--dir",
            "job",
        ])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::metadata(&keyring).unwrap().uid(), 65534);
    assert!(sb.cmd(["cleanup", "--dir", "job"]).run().status.success());
    let meta = std::fs::metadata(&keyring).unwrap();
    assert_eq!((meta.uid(), meta.len()), (65534, 0));
}

#[cfg(unix)]
fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn the_loading_lines_never_trace_the_key_under_set_x() {
    // Jenkins runs `sh -xe`: `. env.sh` and `eval "$(setup --print-env sh)"` used to print
    // `+ export ANACONDA_AUTH_API_KEY=<key>`.
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd([
            "setup",
            "--validate",
            "offline",
            "--mode",
            "env",
            "--print-env",
            "sh",
        ])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .run();
    out.success();
    let lines = out.stdout();
    let env_file = lines
        .lines()
        .find_map(|l| l.strip_prefix("export ANACONDA_CI_AUTH_STATE='"))
        .map(|s| std::path::PathBuf::from(s.trim_end_matches('\'')).with_file_name("env.sh"))
        .unwrap();
    for shell in ["sh", "bash", "dash"] {
        if which(shell).is_none() {
            continue;
        }
        for load in [
            format!(". '{}'", env_file.display()),
            format!("eval '{}'", lines.replace('\'', "'\\''")),
        ] {
            let script = format!(
                "set -x\n{load}\ntest -n \"${{ANACONDA_AUTH_API_KEY:+set}}\" && echo loaded\ncase $- in *x*) echo still-tracing ;; esac"
            );
            let run = std::process::Command::new(shell)
                .arg("-c")
                .arg(&script)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&run.stdout);
            assert!(stdout.contains("loaded"), "{shell}: {stdout}");
            assert!(
                stdout.contains("still-tracing"),
                "{shell}: xtrace must come back on"
            );
            assert_no_leak(&format!("{shell} -x stderr"), &run.stderr, &key);
        }
    }
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(program))
        .find(|p| p.exists())
}

#[cfg(unix)]
#[test]
fn root_merges_as_the_owner_of_the_directory_and_reads_nothing_a_ledger_names() {
    use std::os::unix::fs::MetadataExt as _;
    if !nix_is_root() {
        return; // Only root can act as another user; CI runs the suite as root.
    }
    let sb = Sandbox::new();
    let secret = sb.path().join("root-only");
    std::fs::write(&secret, "ROOT-ONLY-SECRET").unwrap();
    let anaconda = sb.home().join(".anaconda");
    std::fs::create_dir_all(&anaconda).unwrap();
    for p in [&sb.home(), &anaconda] {
        std::os::unix::fs::chown(p, Some(4242), Some(4242)).unwrap();
    }
    let keyring = anaconda.join("keyring");
    sb.allow_secret_in(&keyring, "the user's keyring, merged into on purpose");
    // A ledger the directory's owner forged before root's setup, naming a root-only file.
    let ledger = anaconda.join(".keyring.anaconda-ci-auth-ledger");
    let forged = serde_json::json!({
        "tool": "anaconda-ci-auth", "format": 2, "target": keyring, "kind": "keyring",
        "existed": false, "mode": null, "owner": null, "created_dirs": [],
        "entries": {"pwned": {"holders": [{"state": "/etc/hostname", "value_file": secret}]}}
    });
    std::fs::write(&ledger, forged.to_string()).unwrap();
    std::os::unix::fs::chown(&ledger, Some(4242), Some(4242)).unwrap();
    let setup = || {
        sb.cmd([
            "setup",
            "--validate",
            "offline",
            "--keyring-path",
            "~/.anaconda/keyring",
            "--dir",
            "job",
            "--clients",
            "conda",
        ])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .run()
    };
    let out = setup();
    assert_eq!(out.exit(), Some(8), "{}", out.stderr());
    assert!(
        out.stderr().contains("not a valid anaconda-ci-auth ledger"),
        "{}",
        out.stderr()
    );
    assert!(!keyring.exists() || !std::fs::read_to_string(&keyring).unwrap().contains("ROOT-ONLY"));
    // Without the forgery, the merge runs as the directory's owner: what it creates is theirs.
    std::fs::remove_file(&ledger).unwrap();
    let out = setup();
    out.success();
    for f in [&keyring, &ledger] {
        assert_eq!(std::fs::metadata(f).unwrap().uid(), 4242, "{}", f.display());
    }
    sb.cmd(["cleanup", "--dir", "job"]).run().success();
    assert!(!keyring.exists());
    assert_eq!(std::fs::read_dir(&anaconda).unwrap().count(), 0);
}

#[test]
fn a_rerun_in_the_same_dir_with_another_domain_keeps_its_new_entry() {
    let sb = Sandbox::new();
    let keyring = sb.home().join(".anaconda/keyring");
    std::fs::create_dir_all(keyring.parent().unwrap()).unwrap();
    std::fs::write(&keyring, "").unwrap();
    sb.allow_secret_in(&keyring, "the user's keyring, merged into on purpose");
    for domain in ["anaconda.com", "d1.example"] {
        sb.cmd([
            "setup",
            "--validate",
            "offline",
            "--keyring-path",
            "~/.anaconda/keyring",
            "--dir",
            "job",
            "--domain",
            domain,
        ])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .run()
        .success();
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&keyring).unwrap()).unwrap();
    assert!(v["Anaconda Cloud"]["d1.example"].is_string(), "{v}");
    assert!(v["Anaconda Cloud"].get("anaconda.com").is_none(), "{v}");
    sb.cmd(["cleanup", "--dir", "job"]).run().success();
    assert_eq!(std::fs::read_to_string(&keyring).unwrap(), "");
}

#[test]
fn setup_carries_a_condarc_the_job_already_had_and_status_sees_a_later_replacement() {
    // setup-micromamba exports CONDARC before our step: the job's condarc keeps its settings.
    let sb = Sandbox::new();
    let theirs = sb.path().join("micromamba.condarc");
    std::fs::write(&theirs, "channels:\n  - conda-forge\nchannel_priority: strict\n").unwrap();
    let json = sb
        .cmd(["setup", "--validate", "offline", "--json", "--dir", "job"])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .env("CONDARC", &theirs)
        .run()
        .json();
    let ours = std::path::PathBuf::from(json["condarc_path"].as_str().unwrap());
    let text = std::fs::read_to_string(&ours).unwrap();
    assert!(
        text.starts_with("channels:\n  - conda-forge\nchannel_priority: strict\n"),
        "{text}"
    );
    assert!(
        text.contains("channel_settings:\n  - channel: \"https://repo.anaconda.cloud/*\""),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&theirs).unwrap(),
        "channels:\n  - conda-forge\nchannel_priority: strict\n"
    );
    // A later step exports its own CONDARC: status names it.
    let state = sb.path().join("job/state.json");
    let out = sb
        .cmd(["status", "--state", state.to_str().unwrap()])
        .env("CONDARC", &theirs)
        .run();
    out.success();
    assert!(out.stderr().contains("CONDARC now names"), "{}", out.stderr());
}

#[cfg(unix)]
#[test]
fn status_asks_conda_which_config_overrides_a_routed_channel() {
    use std::os::unix::fs::PermissionsExt as _;
    let sb = Sandbox::new();
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let conda = bin.join("conda");
    std::fs::write(
        &conda,
        "#!/bin/sh\n[ \"$1 $2 $3\" = 'config --show-sources --json' ] || exit 9\n\
         echo '{\"/opt/conda/condarc\": {\"channel_settings\": [{\"channel\": \"https://repo.anaconda.cloud/*\", \"auth\": \"conda-token\"}]}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&conda, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.cmd([
        "setup",
        "--validate",
        "offline",
        "--dir",
        "job",
        "--clients",
        "conda",
    ])
    .env("ANACONDA_AUTH_API_KEY", canary())
    .run()
    .success();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = sb.cmd(["status", "--dir", "job"]).env("PATH", &path).run();
    out.success();
    assert!(
        out.stderr().contains("`/opt/conda/condarc` has channel_settings for `https://repo.anaconda.cloud/*` with auth `conda-token`"),
        "{}",
        out.stderr()
    );
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = sb.cmd(["completions", shell]).run();
        out.success();
        for word in ["setup", "cleanup", "keyring-path", "clients"] {
            assert!(out.stdout().contains(word), "{shell}: no {word}");
        }
    }
    let out = sb.cmd(["man"]).run();
    out.success();
    assert!(out.stdout().starts_with(".ie"), "{}", &out.stdout()[..40]);
    assert!(out.stdout().contains(".SH NAME") && out.stdout().contains("anaconda\\-ci\\-auth"));
    let out = sb.cmd(["completions", "tcsh"]).run();
    assert_eq!(out.exit(), Some(2));
}

#[test]
fn sweep_removes_a_job_directory_whose_setup_died_before_its_record() {
    let sb = Sandbox::new();
    let parent = sb.path().join("jobs");
    let unfinished = parent.join("anaconda-ci-auth-0123456789ab");
    let foreign = parent.join("anaconda-ci-auth-ba9876543210");
    for d in [&unfinished, &foreign] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(unfinished.join(".anaconda-ci-auth-tmp-x1y2z3"), "partial").unwrap();
    std::fs::write(foreign.join("notes.txt"), "not ours").unwrap();
    let out = sb
        .cmd([
            "cleanup",
            "--sweep",
            "--sweep-dir",
            parent.to_str().unwrap(),
            "--max-age",
            "0s",
        ])
        .run();
    out.success();
    assert!(!unfinished.exists(), "{}", out.stderr());
    assert!(foreign.join("notes.txt").exists());
}

#[test]
fn sweep_restores_a_merged_keyring_whose_job_directory_was_wiped() {
    // A runner that empties its temporary directory after a crash takes the job's record with it;
    // the caller's merge index still leads --sweep to the keyring.
    let sb = Sandbox::new();
    let keyring = sb.home().join(".anaconda/keyring");
    std::fs::create_dir_all(keyring.parent().unwrap()).unwrap();
    let original = r#"{"Anaconda Cloud": {"anaconda.com": "dXNlcg=="}}"#;
    std::fs::write(&keyring, original).unwrap();
    sb.allow_secret_in(&keyring, "the user's keyring, merged into on purpose");
    sb.cmd([
        "setup",
        "--validate",
        "offline",
        "--keyring-path",
        "~/.anaconda/keyring",
        "--dir",
        "job",
    ])
    .env("ANACONDA_AUTH_API_KEY", canary())
    .run()
    .success();
    assert_ne!(std::fs::read_to_string(&keyring).unwrap(), original);
    std::fs::remove_dir_all(sb.path().join("job")).unwrap();
    let parent = sb.path().join("jobs");
    std::fs::create_dir_all(&parent).unwrap();
    let out = sb
        .cmd(["cleanup", "--sweep", "--sweep-dir", parent.to_str().unwrap()])
        .run();
    out.success();
    assert!(out.stderr().contains("restored"), "{}", out.stderr());
    assert_eq!(std::fs::read_to_string(&keyring).unwrap(), original);
    let left: Vec<_> = std::fs::read_dir(keyring.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["keyring"], "{left:?}");
    let index = sb.home().join(".local/state/anaconda-ci-auth/merges");
    assert_eq!(std::fs::read_dir(&index).unwrap().count(), 0);
}

#[test]
fn setup_and_cleanup_with_the_default_clients_leave_home_as_it_was() {
    // mamba's file, the merge index and the directories created for them all go again.
    let sb = Sandbox::new();
    let before: Vec<_> = walk(&sb.home());
    sb.cmd(["setup", "--validate", "offline", "--dir", "job"])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .run()
        .success();
    assert!(sb.home().join(".mamba/auth/authentication.json").exists());
    assert!(sb.home().join(".local/state/anaconda-ci-auth/merges").is_dir());
    sb.cmd(["cleanup", "--dir", "job"]).run().success();
    assert_eq!(walk(&sb.home()), before);
    let left: Vec<_> = std::fs::read_dir(sb.home())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A GitHub step: the runner's files, empty, in a fresh directory of the sandbox.
fn github_step(sb: &Sandbox) -> std::path::PathBuf {
    let gh = sb.path().join("gh");
    std::fs::create_dir_all(&gh).unwrap();
    for f in ["env", "output", "summary"] {
        std::fs::write(gh.join(f), "").unwrap();
    }
    gh
}

fn github_cmd<'a>(sb: &'a Sandbox, gh: &std::path::Path, args: &[&str]) -> Cmd<'a> {
    sb.cmd(args)
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", sb.tmpdir())
        .env("GITHUB_ENV", gh.join("env"))
        .env("GITHUB_OUTPUT", gh.join("output"))
        .env("GITHUB_STEP_SUMMARY", gh.join("summary"))
}

#[test]
fn the_step_summary_names_the_job_and_cleanup_adds_what_it_removed() {
    let sb = Sandbox::new();
    let key = sb.canary();
    let gh = github_step(&sb);
    github_cmd(&sb, &gh, &["setup", "--validate", "offline"])
        .key(&key)
        .run()
        .success();
    let summary = std::fs::read_to_string(gh.join("summary")).unwrap();
    for row in [
        "### anaconda-ci-auth",
        "| fingerprint |",
        "| expires-at |",
        "| clients | `conda,mamba,pixi` |",
    ] {
        assert!(summary.contains(row), "no `{row}` in the summary:\n{summary}");
    }
    assert!(summary.contains("| client file |"), "{summary}");
    assert!(summary.contains("| cleanup |"), "{summary}");
    let env = std::fs::read_to_string(gh.join("env")).unwrap();
    let state_path = env
        .split("ANACONDA_CI_AUTH_STATE<<")
        .nth(1)
        .and_then(|rest| rest.lines().nth(1))
        .unwrap()
        .to_owned();
    github_cmd(&sb, &gh, &["cleanup"])
        .env("ANACONDA_CI_AUTH_STATE", &state_path)
        .run()
        .success();
    let summary = std::fs::read_to_string(gh.join("summary")).unwrap();
    assert!(
        summary.contains("**anaconda-ci-auth cleanup**: removed ")
            && summary.contains("nothing is left behind"),
        "{summary}"
    );
}

#[test]
fn the_summary_can_be_turned_off_by_flag_or_variable() {
    for (args, var) in [
        (&["setup", "--validate", "offline", "--no-summary"][..], None),
        (&["setup", "--validate", "offline"][..], Some("false")),
        (&["setup", "--validate", "offline"][..], Some("OFF")),
    ] {
        let sb = Sandbox::new();
        let key = sb.canary();
        let gh = github_step(&sb);
        let mut cmd = github_cmd(&sb, &gh, args).key(&key);
        if let Some(v) = var {
            cmd = cmd.env("ANACONDA_CI_AUTH_SUMMARY", v);
        }
        cmd.run().success();
        assert_eq!(
            std::fs::read_to_string(gh.join("summary")).unwrap(),
            "",
            "{args:?} {var:?}"
        );
        assert!(
            std::fs::read_to_string(gh.join("output"))
                .unwrap()
                .contains("fingerprint<<")
        );
    }
}

#[test]
fn a_misspelt_summary_variable_is_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    let key = sb.canary();
    let gh = github_step(&sb);
    github_cmd(&sb, &gh, &["setup", "--validate", "offline"])
        .key(&key)
        .env("ANACONDA_CI_AUTH_SUMMARY", "flase")
        .run()
        .code(2)
        .stderr_has("ANACONDA_CI_AUTH_SUMMARY is not `true` or `false`");
    assert_eq!(std::fs::read_to_string(gh.join("env")).unwrap(), "");
    assert!(
        !std::fs::read_dir(sb.tmpdir()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(JOB_DIR_PREFIX)),
        "a job directory was left behind"
    );
}

#[test]
fn buildkite_annotates_the_build_unless_told_not_to() {
    for off in [false, true] {
        let sb = Sandbox::new();
        let key = sb.canary();
        let argv_log = sb.path().join("agent-argv.log");
        let body_log = sb.path().join("agent-annotation.md");
        sb.script(
            "buildkite-agent",
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{argv}'\nif [ \"$1\" = annotate ]; then cat > '{body}'; else cat > /dev/null; fi\n",
                argv = argv_log.display(),
                body = body_log.display()
            ),
        );
        let mut cmd = sb
            .cmd(["--ci", "buildkite", "setup", "--validate", "offline"])
            .key(&key)
            .env("BUILDKITE", "true")
            .env("BUILDKITE_JOB_ID", "0190")
            .env("BUILDKITE_LABEL", ":conda: tests")
            .env("PATH", sb.path_with_bin());
        if off {
            cmd = cmd.arg("--no-summary");
        }
        cmd.run().success();
        let argv = std::fs::read_to_string(&argv_log).unwrap();
        let annotated = argv.lines().any(|l| l.starts_with("annotate "));
        assert_eq!(annotated, !off, "{argv}");
        if !off {
            let body = std::fs::read_to_string(&body_log).unwrap();
            assert!(
                body.starts_with("### anaconda-ci-auth: :conda: tests\n"),
                "{body}"
            );
            assert!(body.contains("| fingerprint |"), "{body}");
        }
    }
}

#[test]
fn a_failing_annotation_is_a_warning_not_a_failure() {
    let sb = Sandbox::new();
    let key = sb.canary();
    sb.script(
        "buildkite-agent",
        "#!/bin/sh\ncat > /dev/null\n[ \"$1\" = annotate ] && exit 1\nexit 0\n",
    );
    sb.cmd(["--ci", "buildkite", "setup", "--validate", "offline"])
        .key(&key)
        .env("BUILDKITE", "true")
        .env("BUILDKITE_JOB_ID", "0190")
        .env("PATH", sb.path_with_bin())
        .run()
        .success()
        .stderr_has("could not add the summary with `buildkite-agent annotate`");
}

#[test]
fn the_keyring_secret_hint_names_every_variable_the_run_step_needs() {
    let sb = Sandbox::new();
    let key = sb.canary();
    let out = sb
        .cmd(["docker-secret", "--kind", "keyring", "--validate", "offline"])
        .key(&key)
        .run();
    out.success()
        .stderr_has("PYTHON_KEYRING_BACKEND=anaconda_auth.token.AnacondaKeyring")
        .stderr_has("ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY=true conda ...");
    let json = sb
        .cmd([
            "docker-secret",
            "--kind",
            "keyring",
            "--validate",
            "offline",
            "--json",
        ])
        .key(&key)
        .run();
    let run_env = &json.success().json()["run_env"];
    assert_eq!(
        run_env["ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY"], "true",
        "{run_env}"
    );
}
