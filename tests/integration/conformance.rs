//! Leak conformance matrix: every subcommand's success and every error path we can reach, under
//! each CI platform setting (none, GitHub, GitLab, Buildkite, Jenkins). Every run goes through
//! the harness, so stdout, stderr and every file of the sandbox are checked for every derived
//! form of the key. On top of that, the processes the binary starts (the `exec` child, conda,
//! buildkite-agent) record `/proc/self/cmdline` and their parent's (the binary's) into files the
//! harness checks, and in keyring mode they record their whole environment, which must not hold
//! the key.

use std::path::{Path, PathBuf};

use crate::common::*;
use crate::fake_api::{FakeApi, Reply};
use crate::register::FAKE_CONDA;

/// The CI platform settings of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    None,
    Github,
    Gitlab,
    Buildkite,
    Jenkins,
}

/// Writes `/proc/$$/cmdline` and `/proc/$PPID/cmdline` of the calling shell script into the
/// probe directory, NUL separators shown as spaces; with `PROBE_ENV=1`, also its environment.
const PROBE: &str = r#"
probe() {
    [ -n "${PROBE_DIR-}" ] || return 0
    tr '\0' ' ' < /proc/$$/cmdline > "$PROBE_DIR/$1.$$.self.cmdline"
    tr '\0' ' ' < /proc/$PPID/cmdline > "$PROBE_DIR/$1.$$.parent.cmdline"
    if [ "${PROBE_ENV-}" = 1 ]; then env > "$PROBE_DIR/$1.$$.env"; fi
}
"#;

/// One platform's environment in one sandbox.
struct Ci<'a> {
    sb: &'a Sandbox,
    platform: Platform,
    api: FakeApi,
    echoing_api: FakeApi,
    not_found_api: FakeApi,
    probe: PathBuf,
}

impl<'a> Ci<'a> {
    fn new(sb: &'a Sandbox, platform: Platform) -> Self {
        let probe = sb.path().join("probe");
        std::fs::create_dir_all(&probe).unwrap();
        let runner = sb.path().join("runner");
        std::fs::create_dir_all(runner.join("temp")).unwrap();
        for f in ["github_env", "github_output", "step_summary"] {
            std::fs::write(runner.join(f), "").unwrap();
        }
        std::fs::create_dir_all(sb.path().join("builds/group/project.tmp")).unwrap();
        // conda: the fake from the register tests behind a probe.
        sb.script("conda-real", FAKE_CONDA);
        sb.script(
            "conda",
            &format!("#!/bin/sh\n{PROBE}\nprobe conda\nexec conda-real \"$@\"\n"),
        );
        let stdin_log = sb.path().join("agent-stdin.log");
        sb.allow_secret_in(
            &stdin_log,
            "the fake buildkite-agent's record of what it was asked to redact: the key's forms, on purpose",
        );
        sb.script(
            "buildkite-agent",
            &format!(
                "#!/bin/sh\n{PROBE}\n# The agent runs with the step's own environment, which held the key before we ran.\nunset PROBE_ENV\nprobe buildkite-agent\nprintf '%s\\n' \"$*\" >> '{argv}'\ncat >> '{stdin}'\nprintf '\\n--\\n' >> '{stdin}'\n",
                argv = sb.path().join("agent-argv.log").display(),
                stdin = stdin_log.display(),
            ),
        );
        if platform == Platform::Github {
            sb.allow_secret_in(
                runner.join("github_env"),
                "the runner's GITHUB_ENV: in env mode the key must reach later steps",
            );
        }
        Self {
            sb,
            platform,
            api: FakeApi::always(Reply::ok("ci-bot")),
            echoing_api: FakeApi::start(|req, _| {
                let auth = req.header("authorization").unwrap_or_default().to_owned();
                Reply::json(
                    401,
                    &format!(r#"{{"error":{{"code":"bad token {auth}"}},"detail":"{auth}"}}"#),
                )
            }),
            not_found_api: FakeApi::always(Reply::json(404, r#"{"detail":"Not Found"}"#)),
            probe,
        }
    }

    /// The binary with this platform's environment, the fake tools first on PATH, the probe
    /// directory, and `key` in `ANACONDA_AUTH_API_KEY`.
    fn cmd(&self, key: &str, args: &[&str]) -> Cmd<'a> {
        let sb = self.sb;
        let runner = sb.path().join("runner");
        let mut cmd = sb
            .cmd(args)
            .key(key)
            .env("PATH", sb.path_with_bin())
            .env("PROBE_DIR", &self.probe)
            .env("FAKE_CONDA_LOG", sb.path().join("conda.log"));
        let vars: Vec<(&str, String)> = match self.platform {
            Platform::None => vec![],
            Platform::Github => vec![
                ("GITHUB_ACTIONS", "true".into()),
                ("GITHUB_ENV", path(&runner.join("github_env"))),
                ("GITHUB_OUTPUT", path(&runner.join("github_output"))),
                ("GITHUB_STEP_SUMMARY", path(&runner.join("step_summary"))),
                ("RUNNER_TEMP", path(&runner.join("temp"))),
                ("GITHUB_RUN_ID", "42".into()),
                ("GITHUB_JOB", "build".into()),
            ],
            Platform::Gitlab => vec![
                ("GITLAB_CI", "true".into()),
                ("CI_PROJECT_DIR", path(&sb.path().join("builds/group/project"))),
                ("CI_JOB_ID", "7".into()),
            ],
            Platform::Buildkite => vec![("BUILDKITE", "true".into()), ("BUILDKITE_JOB_ID", "0190".into())],
            Platform::Jenkins => vec![
                ("JENKINS_URL", "https://jenkins.example/".into()),
                ("BUILD_TAG", "jenkins-job-7".into()),
            ],
        };
        for (n, v) in vars {
            cmd = cmd.env(n, v);
        }
        cmd
    }

    /// `setup --validate offline --json` and its job directory.
    fn setup_dir(&self, key: &str) -> String {
        let out = self.cmd(key, &argv("setup --validate offline --json")).run();
        out.success();
        out.json()["dir"].as_str().unwrap().to_owned()
    }

    /// Checks what the probed processes recorded: the files exist where expected and name the
    /// right processes (the leak check itself already ran on them).
    fn check_probes(&self, scenario: &str, expect: &[&str]) {
        let files: Vec<String> = walk(&self.probe)
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        for who in expect {
            let parent = walk(&self.probe)
                .into_iter()
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("{who}.")) && n.ends_with(".parent.cmdline"))
                })
                .unwrap_or_else(|| panic!("{scenario}: {who} recorded no cmdline: {files:?}"));
            let text = std::fs::read_to_string(&parent).unwrap();
            assert!(
                text.contains("anaconda-ci-auth"),
                "{scenario}: {who}'s parent is not the binary: {text}"
            );
        }
    }
}

impl Ci<'_> {
    /// Runs `args` with the probes recording environments too, and checks that `who` (a process
    /// the binary starts) recorded its cmdlines and environment for the leak check.
    fn run_probed(&self, key: &str, args: &[&str], who: &str) -> Run {
        let out = self.cmd(key, args).env("PROBE_ENV", "1").run();
        let scenario = args.join(" ");
        self.check_probes(&scenario, &[who]);
        self.check_env_dumped(&scenario, who);
        out
    }

    /// Asserts that `who` dumped its environment (so the leak check had it to look at).
    fn check_env_dumped(&self, scenario: &str, who: &str) {
        let dumped = walk(&self.probe).into_iter().any(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{who}.")) && n.ends_with(".env"))
        });
        assert!(dumped, "{scenario}: {who} did not record its environment");
    }
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// The `exec` child: records its cmdlines (and in keyring mode its environment), and a hash of
/// the key variable (proof that env mode hands it over) into the probe directory.
const EXEC_CHILD: &str = r#"probe child
if [ -n "${ANACONDA_AUTH_API_KEY-}" ]; then
    printf '%s' "$ANACONDA_AUTH_API_KEY" | sha256sum | cut -d' ' -f1 > "$PROBE_DIR/child.key-sha256"
fi
echo "child ran""#;

/// A scenario: a name, the exit code it must end with, and how to run it.
type Scenario = (&'static str, i32, fn(&Ci, &str) -> Run);

/// Every subcommand's success and every error path we can reach from outside.
const SCENARIOS: &[Scenario] = &[
    ("setup keyring", 0, |ci, k| {
        ci.cmd(k, &argv("setup --validate offline")).run()
    }),
    ("setup env", 0, |ci, k| {
        ci.cmd(k, &argv("setup --validate offline --mode env")).run()
    }),
    ("setup both --json", 0, |ci, k| {
        ci.cmd(k, &argv("setup --validate offline --mode both --json"))
            .run()
    }),
    ("setup env --print-env", 0, |ci, k| {
        ci.cmd(k, &argv("setup --validate offline --mode env --print-env sh"))
            .run()
    }),
    ("setup online", 0, |ci, k| {
        ci.cmd(k, &["setup", "--api-url", &ci.api.url()]).run()
    }),
    ("setup --register keyring", 0, |ci, k| {
        ci.run_probed(k, &argv("setup --validate offline --register"), "conda")
    }),
    ("validate offline", 0, |ci, k| {
        ci.cmd(k, &argv("validate --validate offline")).run()
    }),
    ("validate online --json", 0, |ci, k| {
        ci.cmd(k, &["validate", "--api-url", &ci.api.url(), "--json"])
            .run()
    }),
    ("exec keyring", 0, |ci, k| {
        let script = format!("{PROBE}\n{EXEC_CHILD}");
        let mut args = argv("exec --validate offline -- sh -c");
        args.push(&script);
        let out = ci.run_probed(k, &args, "child");
        assert!(
            !ci.probe.join("child.key-sha256").exists(),
            "the child saw the key variable in keyring mode"
        );
        out
    }),
    ("exec env", 0, |ci, k| {
        let script = format!("{PROBE}\n{EXEC_CHILD}");
        let mut args = argv("exec --validate offline --mode env -- sh -c");
        args.push(&script);
        let out = ci.cmd(k, &args).run();
        let hash = std::fs::read_to_string(ci.probe.join("child.key-sha256")).unwrap();
        assert_eq!(
            hash.trim(),
            sha256_hex(k),
            "env mode must hand the key to the child"
        );
        ci.check_probes("exec env", &["child"]);
        out
    }),
    ("exec --register", 0, |ci, k| {
        ci.run_probed(k, &argv("exec --validate offline --register -- true"), "conda")
    }),
    ("docker-secret key", 0, |ci, k| {
        ci.cmd(k, &argv("docker-secret --validate offline")).run()
    }),
    ("docker-secret keyring --json", 0, |ci, k| {
        ci.cmd(k, &argv("docker-secret --validate offline --kind keyring --json"))
            .run()
    }),
    ("status", 0, |ci, k| {
        let dir = ci.setup_dir(k);
        ci.cmd(k, &["status", "--dir", &dir]).run()
    }),
    ("status --json", 0, |ci, k| {
        let dir = ci.setup_dir(k);
        ci.cmd(k, &["status", "--dir", &dir, "--json"]).run()
    }),
    ("cleanup", 0, |ci, k| {
        let dir = ci.setup_dir(k);
        ci.cmd(k, &["cleanup", "--dir", &dir]).run()
    }),
    ("cleanup with nothing to clean up", 0, |ci, k| {
        ci.cmd(k, &argv("cleanup")).run()
    }),
    ("cleanup --sweep", 0, |ci, k| {
        ci.setup_dir(k);
        ci.cmd(k, &argv("cleanup --sweep")).run()
    }),
    ("register", 0, |ci, k| {
        let out = ci.cmd(k, &argv("register")).run();
        ci.check_probes("register", &["conda"]);
        out
    }),
    // Error paths.
    ("usage: key as an argument", 2, |ci, k| {
        ci.cmd(k, &["setup", "--api-key-env", k]).run()
    }),
    (
        "usage: key inside an exec argument (exec's own failure: 125)",
        125,
        |ci, k| {
            let curl = format!("curl -H 'Authorization: Bearer {k}' http://127.0.0.1:9");
            ci.cmd(k, &["exec", "--validate", "offline", "--", "sh", "-c", &curl])
                .run()
        },
    ),
    ("usage: cleanup with --dir and --state", 2, |ci, k| {
        ci.cmd(k, &argv("cleanup --dir a --state b")).run()
    }),
    ("usage: unknown flag --json", 2, |ci, k| {
        ci.cmd(k, &argv("--json setup --bogus")).run()
    }),
    ("key missing", 3, |ci, k| {
        ci.cmd(k, &argv("setup --validate offline --api-key-env NOT_SET"))
            .run()
    }),
    ("key malformed", 4, |ci, k| {
        let parts: Vec<&str> = k.split('.').collect();
        let cut = format!("{}.{}", parts[0], parts[1]);
        ci.cmd(k, &argv("setup --validate offline --api-key-env CUT"))
            .env("CUT", &cut)
            .secret(&cut)
            .run()
    }),
    ("key expired --json", 5, |ci, k| {
        let expired = jwt(now() - 3600, "EXPIRED-c0nf");
        ci.cmd(k, &argv("setup --json --api-key-env OLD"))
            .env("OLD", &expired)
            .run()
    }),
    ("key rejected by an echoing server", 6, |ci, k| {
        ci.cmd(k, &["setup", "--api-url", &ci.echoing_api.url()]).run()
    }),
    ("key rejected --json", 6, |ci, k| {
        ci.cmd(k, &["validate", "--api-url", &ci.echoing_api.url(), "--json"])
            .run()
    }),
    ("api unreachable", 7, |ci, k| {
        ci.cmd(k, &["validate", "--api-url", &ci.not_found_api.url()])
            .run()
    }),
    ("filesystem: foreign --dir", 8, |ci, k| {
        let foreign = ci.sb.path().join("foreign");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("precious"), "user data").unwrap();
        ci.cmd(k, &argv("setup --validate offline --dir foreign")).run()
    }),
    ("filesystem: docker-secret --out exists", 8, |ci, k| {
        let out = ci.sb.path().join("existing.secret");
        std::fs::write(&out, "something").unwrap();
        ci.cmd(k, &argv("docker-secret --validate offline --out existing.secret"))
            .run()
    }),
    ("conda fails and prints the key", 9, |ci, k| {
        ci.cmd(k, &argv("setup --validate offline --mode both --register"))
            .env("FAKE_CONDA_MODE", "fail")
            .env("FAKE_CONDA_LEAK", "1")
            .run()
    }),
    ("exec: command not found", 127, |ci, k| {
        ci.cmd(k, &argv("exec --validate offline -- no-such-command-here"))
            .run()
    }),
    ("internal: CA bundle the TLS stack refuses", 1, |ci, k| {
        let pem = ci.sb.path().join("garbage.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        ci.cmd(
            k,
            &argv("validate --api-url https://127.0.0.1:9 --ca-bundle garbage.pem"),
        )
        .run()
    }),
];

/// Runs the scenarios `select` picks, each in a fresh sandbox on `platform`, and fails with the
/// list of those that failed.
fn run_matrix(platform: Platform, select: impl Fn(&str) -> bool) {
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, code, scenario) in SCENARIOS {
        if !select(name) {
            continue;
        }
        ran += 1;
        let result = std::panic::catch_unwind(|| {
            let sb = Sandbox::new();
            let key = sb.canary();
            let ci = Ci::new(&sb, platform);
            let out = scenario(&ci, &key);
            out.code(*code);
            sb.assert_knows(&key);
            if platform == Platform::Buildkite && *code == 0 {
                let argv = std::fs::read_to_string(sb.path().join("agent-argv.log")).unwrap_or_default();
                assert!(
                    argv.lines().all(|l| l == "redactor add"
                        || l == "annotate --context anaconda-ci-auth --style info --append"),
                    "{argv}"
                );
            }
        });
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failed.push(format!("{name}: {}", msg.lines().next().unwrap_or_default()));
        }
    }
    assert!(ran > 0, "no scenario selected");
    assert!(
        failed.is_empty(),
        "{platform:?}: {} of {ran} scenarios failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn no_platform() {
    run_matrix(Platform::None, |_| true);
}

/// Every scenario on GitHub: `::add-mask::` lines (which hold the key) only ever on stderr.
#[test]
fn github() {
    run_matrix(Platform::Github, |_| true);
}

#[test]
fn gitlab() {
    run_matrix(Platform::Gitlab, |_| true);
}

#[test]
fn buildkite() {
    run_matrix(Platform::Buildkite, |_| true);
}

#[test]
fn jenkins() {
    run_matrix(Platform::Jenkins, |_| true);
}

#[test]
fn the_probes_would_catch_a_key_in_a_childs_environment() {
    // In env mode the child gets the key by design: its recorded environment must be flagged.
    let sb = Sandbox::new();
    let key = sb.canary();
    let ci = Ci::new(&sb, Platform::None);
    let script = format!("{PROBE}\n{EXEC_CHILD}");
    let mut args = argv("exec --validate offline --mode env -- sh -c");
    args.push(&script);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ci.cmd(&key, &args).env("PROBE_ENV", "1").run()
    }));
    let message = caught
        .err()
        .and_then(|e| e.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(
        message.contains("/probe/child.") && message.contains(".env contains"),
        "the child's environment with the key was not flagged: {message:?}"
    );
}
