//! `exec`: set up in a private temporary directory, run one command with that environment, scrub
//! the key from its output as it streams, and remove the directory however the command ends.
//!
//! Exit code: the command's own, or 128+N when it was killed by signal N (the shell convention).
//! SIGINT, SIGTERM and SIGHUP sent to us are forwarded to the command; we clean up after it exits.
//! One that arrives before the command starts stops the run and the directory is removed. Output
//! is no longer waited for shortly after the command exits, even if a background process it left
//! behind still holds the pipes open.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use super::setup::{parse_channels, write_job};
use super::{Ctx, prepare};
use crate::cli::{ExecArgs, Mode};
use crate::error::{Error, Kind, Result};
use crate::fsx;
use crate::redact::{Redactor, StreamScrubber};
use crate::state;
use crate::ui;

/// How long the output pumps may go on after the command exited: a background process it left
/// behind may hold its stdout open, and must not keep us (and the key's directory) alive.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

pub(crate) fn run(ctx: &Ctx, args: &ExecArgs) -> Result<u8> {
    // Catch SIGINT/SIGTERM/SIGHUP from the start, so one that arrives before the command runs
    // still leads to removing the directory rather than dying with it in place.
    let forwarder = signals::Forwarder::install();
    let env_mode = args.job.mode != Mode::Keyring;
    let v = prepare(
        ctx,
        &args.key,
        &args.validation,
        env_mode,
        args.job.allow_untrusted_trigger,
        false,
    )?;
    let channels = parse_channels(&args.job)?;
    for w in &v.warnings {
        ui::warn(w);
    }
    let dir = fsx::create_unique_dir(&ctx.env.temp_dir(), state::DIR_PREFIX)?;
    let guard = DirGuard(dir.clone());
    let job = write_job(ctx, &v, &args.job, &channels, &dir, None, None, "exec")?;
    if args.job.register {
        let env = job.env_pairs();
        let remove: Vec<&str> = removed_key_vars(&v, env_mode);
        super::register::register(ctx, args.job.conda.as_deref(), &env, &remove)?;
    }
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("no command given after `--`"))?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    for name in removed_key_vars(&v, env_mode) {
        cmd.env_remove(name);
    }
    for (k, val) in job.env_pairs().iter() {
        cmd.env(k, val);
    }
    let redactor = Arc::new(Redactor::new(v.sourced.key.derived_forms(&v.domain)));
    if !args.no_scrub {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    if let Some(sig) = forwarder.pending() {
        ui::warn(&format!(
            "interrupted by signal {sig} before `{program}` started; cleaning up"
        ));
        drop(guard);
        return Ok(signal_code(sig));
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            // The shell's convention: 127 when the command is not found, 126 when it cannot run.
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            ui::error(
                &Error::new(Kind::Usage, format!("failed to start `{program}`"))
                    .cause(e)
                    .hint("check the command name and PATH"),
            );
            drop(guard);
            return Ok(code);
        }
    };
    forwarder.set_child(child.id());
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let mut pumps = 0;
    if let Some(out) = child.stdout.take() {
        let (r, tx) = (Arc::clone(&redactor), done_tx.clone());
        std::thread::spawn(move || {
            pump(out, std::io::stdout(), &r);
            let _ = tx.send(());
        });
        pumps += 1;
    }
    if let Some(err) = child.stderr.take() {
        let (r, tx) = (Arc::clone(&redactor), done_tx.clone());
        std::thread::spawn(move || {
            pump(err, std::io::stderr(), &r);
            let _ = tx.send(());
        });
        pumps += 1;
    }
    drop(done_tx);
    let status = child
        .wait()
        .map_err(|e| Error::internal("failed waiting for the command").cause(e))?;
    let drain_until = Instant::now() + DRAIN_GRACE;
    for _ in 0..pumps {
        let left = drain_until.saturating_duration_since(Instant::now());
        if done_rx.recv_timeout(left).is_err() {
            ui::warn(&format!(
                "`{program}` exited but a process it started still holds its output open; not waiting for it"
            ));
            break;
        }
    }
    drop(forwarder);
    drop(guard);
    Ok(exit_code(status))
}

/// The variables a child must not inherit: in keyring mode, where the key came from (and
/// ANACONDA_AUTH_API_KEY, which anaconda-auth would prefer over the keyring).
pub(crate) fn removed_key_vars(v: &super::Validated, env_mode: bool) -> Vec<&str> {
    if env_mode {
        return Vec::new();
    }
    let mut out = vec![crate::env::names::API_KEY];
    if let Some(name) = v.sourced.env_name.as_deref() {
        out.push(name);
    }
    out
}

/// Copies a child's stream to ours, scrubbing secrets; flushes after every chunk.
fn pump(mut from: impl Read, to: impl Write, redactor: &Redactor) {
    let mut to = to;
    let mut scrubber = StreamScrubber::new(redactor);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let out = scrubber.push(&buf[..n]);
                if to.write_all(&out).and_then(|()| to.flush()).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = to.write_all(&scrubber.finish());
    let _ = to.flush();
    zeroize::Zeroize::zeroize(&mut buf);
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        // Only the low byte reaches a parent on unix; on Windows a code whose low byte is 0 (256,
        // NTSTATUS values) must still read as a failure.
        let low = u8::try_from(code & 0xff).unwrap_or(1);
        return if low == 0 && code != 0 { 1 } else { low };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = status.signal() {
            return signal_code(sig);
        }
    }
    1
}

/// The shell convention for "killed by signal `sig`".
fn signal_code(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(1)
}

/// Removes the exec job directory on every path out of `run`, including errors and panics.
struct DirGuard(std::path::PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = super::cleanup::remove_dir_contents_we_created(&self.0);
    }
}

#[cfg(unix)]
mod signals {
    use std::sync::{Arc, Mutex, PoisonError};

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::iterator::{Handle, Signals};

    /// The command's pid once it runs, and a signal that arrived before it did.
    #[derive(Default)]
    struct Shared {
        child: Option<i32>,
        pending: Option<i32>,
    }

    /// Catches SIGINT/SIGTERM/SIGHUP until dropped: forwards them to the command once it runs,
    /// and remembers one that arrives before.
    pub(super) struct Forwarder {
        handle: Option<Handle>,
        shared: Arc<Mutex<Shared>>,
    }

    fn send(pid: i32, sig: i32) {
        if let Ok(s) = Signal::try_from(sig) {
            let _ = kill(Pid::from_raw(pid), s);
        }
    }

    impl Forwarder {
        pub(super) fn install() -> Self {
            let shared = Arc::new(Mutex::new(Shared::default()));
            let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
                return Self { handle: None, shared };
            };
            let handle = signals.handle();
            let for_thread = Arc::clone(&shared);
            std::thread::spawn(move || {
                for sig in signals.forever() {
                    let mut s = for_thread.lock().unwrap_or_else(PoisonError::into_inner);
                    match s.child {
                        Some(pid) => send(pid, sig),
                        None => s.pending = s.pending.or(Some(sig)),
                    }
                }
            });
            Self {
                handle: Some(handle),
                shared,
            }
        }

        /// A signal received while no command was running yet.
        pub(super) fn pending(&self) -> Option<i32> {
            self.shared.lock().unwrap_or_else(PoisonError::into_inner).pending
        }

        /// Starts forwarding to `pid`, including a signal that arrived just before.
        pub(super) fn set_child(&self, pid: u32) {
            let Ok(pid) = i32::try_from(pid) else {
                return;
            };
            let mut s = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            s.child = Some(pid);
            if let Some(sig) = s.pending.take() {
                send(pid, sig);
            }
        }
    }

    impl Drop for Forwarder {
        fn drop(&mut self) {
            if let Some(h) = self.handle.take() {
                h.close();
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) struct Forwarder;

    impl Forwarder {
        pub(super) fn install() -> Self {
            Self
        }
        pub(super) fn pending(&self) -> Option<i32> {
            None
        }
        pub(super) fn set_child(&self, _pid: u32) {}
    }
}
