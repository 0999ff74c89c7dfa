//! `exec`: exit codes, signals, forwarding SIGTERM, removal of the private directory, the child's
//! environment in each mode, and scrubbing of the key from the child's output.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;

/// Runs `exec --validate offline [extra] -- sh -c SCRIPT` with the key in `var`.
fn exec(sb: &Sandbox, var: &str, key: &str, extra: &[&str], script: &str) -> Run {
    let mut args = vec!["exec", "--validate", "offline", "--api-key-env", var];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    sb.cmd(&args)
        .env(var, key)
        .secret(key)
        .timeout(Duration::from_secs(30))
        .run()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The job directory, from a `CONDARC=...` line the child printed.
fn job_dir(stdout: &str) -> PathBuf {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CONDARC="))
        .unwrap_or_else(|| panic!("child did not print CONDARC: {stdout}"));
    Path::new(line).parent().unwrap().to_path_buf()
}

#[test]
fn passes_the_exit_code_through_and_removes_the_dir() {
    let sb = Sandbox::new();
    let key = canary();
    let out = exec(
        &sb,
        "ANACONDA_AUTH_API_KEY",
        &key,
        &[],
        r#"echo "CONDARC=$CONDARC"; exit 42"#,
    );
    assert_eq!(out.status.code(), Some(42), "{}", text(&out.stderr));
    let dir = job_dir(&text(&out.stdout));
    assert!(dir.starts_with(sb.tmpdir()), "{}", dir.display());
    assert!(!dir.exists(), "job dir left after failure");
    assert!(walk(&sb.tmpdir()).is_empty());

    let out = exec(
        &sb,
        "ANACONDA_AUTH_API_KEY",
        &key,
        &[],
        r#"echo "CONDARC=$CONDARC""#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dir = job_dir(&text(&out.stdout));
    assert!(!dir.exists(), "job dir left after success");
    assert!(walk(&sb.tmpdir()).is_empty());
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_the_signal() {
    let sb = Sandbox::new();
    let key = canary();
    let out = exec(
        &sb,
        "ANACONDA_AUTH_API_KEY",
        &key,
        &[],
        r#"echo "CONDARC=$CONDARC"; kill -KILL $$"#,
    );
    assert_eq!(out.status.code(), Some(128 + 9), "{}", text(&out.stderr));
    assert!(!job_dir(&text(&out.stdout)).exists());
}

fn term_while_running(script: &str) -> (Option<i32>, String, PathBuf, Sandbox) {
    signal_while_running("TERM", script)
}

/// Starts exec with `script`, waits for the child to print `ready`, sends SIG`signal` to
/// anaconda-ci-auth itself, and returns (exit code, everything the child printed, job dir).
fn signal_while_running(signal: &str, script: &str) -> (Option<i32>, String, PathBuf, Sandbox) {
    let sb = Sandbox::new();
    let key = canary();
    let (code, seen, dir) = {
        let mut child = sb
            .cmd(["exec", "--validate", "offline", "--", "sh", "-c", script])
            .key(&key)
            .timeout(Duration::from_secs(20))
            .spawn();
        let seen = child.read_until_line("ready");
        assert!(seen.contains("ready"), "child never got ready: {seen}");
        let dir = job_dir(&seen);
        assert!(dir.is_dir(), "the job dir exists while the command runs");
        child.signal(signal);
        // The harness fails the test if exec does not end within the timeout.
        let out = child.wait();
        (out.exit(), out.stdout(), dir)
    };
    (code, seen, dir, sb)
}

#[test]
fn sigterm_is_forwarded_and_the_dir_removed() {
    let (code, _, dir, sb) = term_while_running(r#"echo "CONDARC=$CONDARC"; echo ready; exec sleep 30"#);
    assert_eq!(code, Some(128 + 15));
    assert!(!dir.exists(), "job dir left after SIGTERM");
    assert!(walk(&sb.tmpdir()).is_empty());
}

#[test]
fn every_terminating_signal_is_forwarded_and_the_dir_removed() {
    // SIGQUIT, SIGUSR1, SIGUSR2 and SIGALRM used to kill exec itself (leaving the job directory
    // with the keyring behind, and with SIGQUIT a core dump holding the key).
    for (name, number) in [
        ("QUIT", 3),
        ("USR1", 10),
        ("USR2", 12),
        ("ALRM", 14),
        ("HUP", 1),
        ("INT", 2),
    ] {
        let (code, _, dir, sb) =
            signal_while_running(name, r#"echo "CONDARC=$CONDARC"; echo ready; exec sleep 30"#);
        assert_eq!(code, Some(128 + number), "SIG{name}");
        assert!(!dir.exists(), "job dir left after SIG{name}");
        assert!(walk(&sb.tmpdir()).is_empty(), "SIG{name}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn exec_writes_no_core_file_while_it_holds_the_key() {
    // The child reads its parent's limits: `exec` allows no core file (and is non-dumpable,
    // checked in the unit tests of `process`).
    let sb = Sandbox::new();
    let out = sb
        .cmd([
            "exec",
            "--validate",
            "offline",
            "--",
            "sh",
            "-c",
            "grep -i 'core file size' /proc/$PPID/limits",
        ])
        .env("ANACONDA_AUTH_API_KEY", canary())
        .run();
    out.success();
    let text = out.stdout();
    let core = text.lines().next().unwrap_or_default();
    assert_eq!(
        core.split_whitespace().nth(4),
        Some("0"),
        "core dumps are on: {core}"
    );
}

#[test]
fn a_child_that_handles_sigterm_decides_the_exit_code() {
    let script = r#"
        trap 'kill "$pid" 2>/dev/null; echo got-term; exit 3' TERM
        echo "CONDARC=$CONDARC"
        sleep 30 >/dev/null 2>&1 &
        pid=$!
        echo ready
        wait "$pid"
    "#;
    let (code, out, dir, _sb) = term_while_running(script);
    assert!(
        out.contains("got-term"),
        "the child did not receive SIGTERM: {out}"
    );
    assert_eq!(code, Some(3));
    assert!(!dir.exists());
}

const PRINT_KEYRING_KEY_HASH: &str = r#"
    entry=$(sed 's/.*": "\([^"]*\)"}}.*/\1/' "$ANACONDA_AUTH_KEYRING_PATH" | base64 -d)
    printf '%s' "$entry" | sed 's/.*"api_key":"\([^"]*\)".*/\1/' | tr -d '\n' | sha256sum | cut -d' ' -f1 | sed 's/^/keyring-key-sha256=/'
"#;

#[test]
fn keyring_mode_child_sees_the_keyring_but_not_the_variable() {
    let sb = Sandbox::new();
    let key = canary();
    let script = format!(
        r#"echo "CONDARC=$CONDARC"; echo "KEYRING=$ANACONDA_AUTH_KEYRING_PATH"
           echo "API_KEY=${{ANACONDA_AUTH_API_KEY-unset}}"
           test -f "$CONDARC" && echo condarc-exists
           {PRINT_KEYRING_KEY_HASH}"#
    );
    let out = exec(&sb, "ANACONDA_AUTH_API_KEY", &key, &[], &script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let dir = job_dir(&stdout);
    assert!(
        stdout.contains(&format!("KEYRING={}", dir.join("keyring").display())),
        "{stdout}"
    );
    assert!(stdout.contains("API_KEY=unset"), "{stdout}");
    assert!(stdout.contains("condarc-exists"), "{stdout}");
    assert!(
        stdout.contains(&format!("keyring-key-sha256={}", sha256_hex(&key))),
        "the keyring does not hold the key: {stdout}"
    );
}

#[test]
fn keyring_mode_hides_a_stale_anaconda_auth_api_key_too() {
    // The key comes from another variable; a different ANACONDA_AUTH_API_KEY in the environment
    // would win over the keyring in anaconda-auth.
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd([
            "exec",
            "--validate",
            "offline",
            "--api-key-env",
            "MY_SECRET",
            "--",
            "sh",
            "-c",
        ])
        .env("MY_SECRET", &key)
        .env("ANACONDA_AUTH_API_KEY", "stale-value-from-elsewhere")
        .arg(r#"echo "API_KEY=${ANACONDA_AUTH_API_KEY-unset}"; echo "MY_SECRET=${MY_SECRET-unset}""#)
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("API_KEY=unset"), "{stdout}");
    assert!(stdout.contains("MY_SECRET=unset"), "{stdout}");
}

#[test]
fn env_mode_child_sees_the_key_variable() {
    let sb = Sandbox::new();
    let key = canary();
    let script = r#"echo "CONDARC=$CONDARC"; echo "KEYRING=${ANACONDA_AUTH_KEYRING_PATH-unset}"
        printf '%s' "$ANACONDA_AUTH_API_KEY" | sha256sum | cut -d' ' -f1 | sed 's/^/env-key-sha256=/'"#;
    let out = exec(&sb, "MY_SECRET", &key, &["--mode", "env"], script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("KEYRING=unset"), "{stdout}");
    assert!(
        stdout.contains(&format!("env-key-sha256={}", sha256_hex(&key))),
        "{stdout}"
    );
    assert!(!job_dir(&stdout).exists());
}

#[test]
fn the_key_and_its_forms_are_scrubbed_from_both_streams() {
    let sb = Sandbox::new();
    let key = canary();
    let script = r#"
        for fd in 1 2; do
            {
                echo "raw: $ANACONDA_AUTH_API_KEY"
                echo "header: Authorization: Bearer $ANACONDA_AUTH_API_KEY"
                printf 'b64: %s\n' "$(printf '%s' "$ANACONDA_AUTH_API_KEY" | base64 -w0)"
                printf 'b64url: %s\n' "$(printf '%s' "$ANACONDA_AUTH_API_KEY" | base64 -w0 | tr '+/' '-_' | tr -d '=')"
                printf 'keyring: '; cat "$ANACONDA_AUTH_KEYRING_PATH"; echo
                echo "done"
            } >&"$fd"
        done
    "#;
    let out = exec(&sb, "ANACONDA_AUTH_API_KEY", &key, &["--mode", "both"], script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for (name, stream) in [("stdout", text(&out.stdout)), ("stderr", text(&out.stderr))] {
        assert!(stream.contains("raw: ****"), "{name}: {stream}");
        assert!(stream.contains("header: Authorization: ****"), "{name}: {stream}");
        assert!(stream.contains("b64: ****"), "{name}: {stream}");
        assert!(
            stream.contains("keyring: {\"Anaconda Cloud\""),
            "{name}: {stream}"
        );
        assert!(stream.contains("done"), "{name}: {stream}");
    }
}

#[test]
fn a_key_split_across_writes_is_still_scrubbed() {
    let sb = Sandbox::new();
    let key = canary();
    let script = r#"
        k="$ANACONDA_AUTH_API_KEY"; half=$(( ${#k} / 2 ))
        for fd in 1 2; do
            { printf 'start '; printf '%s' "$k" | head -c "$half"; } >&"$fd"
            sleep 0.3
            { printf '%s' "$k" | tail -c +"$(( half + 1 ))"; echo ' end'; } >&"$fd"
        done
    "#;
    let out = exec(&sb, "ANACONDA_AUTH_API_KEY", &key, &["--mode", "env"], script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "start **** end\n");
    assert_eq!(text(&out.stderr), "start **** end\n");
}

#[test]
fn output_without_secrets_is_passed_through_unchanged() {
    let sb = Sandbox::new();
    let key = canary();
    let out = exec(
        &sb,
        "ANACONDA_AUTH_API_KEY",
        &key,
        &[],
        r#"printf 'progress 10%%\r'; printf 'x%.0s' $(seq 1 20000); echo"#,
    );
    out.code(0);
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("progress 10%\rxxx"));
    assert_eq!(stdout.len(), "progress 10%\r".len() + 20_000 + 1);
}

#[test]
fn a_background_process_holding_the_output_does_not_keep_exec_alive() {
    let sb = Sandbox::new();
    let key = canary();
    let start = Instant::now();
    let out = exec(
        &sb,
        "ANACONDA_AUTH_API_KEY",
        &key,
        &[],
        r#"echo "CONDARC=$CONDARC"; sleep 8 & echo started"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "exec waited for the background process"
    );
    out.stdout_has("started");
    assert!(
        text(&out.stderr).contains("still holds its output open"),
        "{}",
        text(&out.stderr)
    );
    assert!(!job_dir(&text(&out.stdout)).exists());
}

#[test]
fn sigint_is_forwarded_too() {
    let (code, _, dir, _sb) =
        signal_while_running("INT", r#"echo "CONDARC=$CONDARC"; echo ready; exec sleep 30"#);
    assert_eq!(code, Some(128 + 2));
    assert!(!dir.exists());
}

#[test]
fn a_command_that_cannot_start_is_a_clear_error_and_leaves_nothing() {
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd([
            "exec",
            "--validate",
            "offline",
            "--",
            "no-such-command-here",
            "arg",
        ])
        .env("ANACONDA_AUTH_API_KEY", &key)
        .timeout(Duration::from_secs(30))
        .run();
    // The shell convention: 127 for a command that is not found.
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("failed to start `no-such-command-here`"),
        "{}",
        text(&out.stderr)
    );
    assert_no_leak("stderr", &out.stderr, &key);
    assert!(walk(&sb.tmpdir()).is_empty(), "{:?}", walk(&sb.tmpdir()));
}

#[test]
fn sigterm_before_the_command_starts_cleans_up_and_skips_it() {
    let sb = Sandbox::new();
    let key = canary();
    let marker = sb.path().join("conda-running");
    let ran = sb.path().join("command-ran");
    // A slow conda: SIGTERM arrives while `exec --register` waits for it.
    sb.script(
        "conda",
        &format!(
            "#!/bin/sh\n[ \"$1\" = list ] && {{ echo \"$CONDARC\" > '{m}'; sleep 1; echo '[]'; }}\nexit 0\n",
            m = marker.display()
        ),
    );
    let child = sb
        .cmd(["exec", "--validate", "offline", "--register", "--", "touch"])
        .arg(&ran)
        .key(&key)
        .env("PATH", sb.path_with_bin())
        .spawn();
    let start = Instant::now();
    while !marker.exists() {
        assert!(start.elapsed() < Duration::from_secs(10), "conda never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50));
    let condarc = std::fs::read_to_string(&marker).unwrap();
    let dir = Path::new(condarc.trim()).parent().unwrap().to_path_buf();
    assert!(dir.is_dir());
    child.signal("TERM");
    let out = child.wait();
    assert_eq!(out.status.code(), Some(128 + 15), "{}", text(&out.stderr));
    assert!(!ran.exists(), "the command ran after SIGTERM");
    assert!(!dir.exists(), "job dir left after SIGTERM");
    assert_no_leak("stderr", &out.stderr, &key);
}

#[test]
fn a_key_written_one_character_at_a_time_is_still_scrubbed() {
    let sb = Sandbox::new();
    let key = canary();
    let script = r#"
        k="$ANACONDA_AUTH_API_KEY"; printf '<'
        while [ -n "$k" ]; do
            rest="${k#?}"; printf '%s' "${k%"$rest"}"; k="$rest"
        done
        printf '>\n'
    "#;
    let out = exec(&sb, "ANACONDA_AUTH_API_KEY", &key, &["--mode", "env"], script);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "<****>\n");
}
