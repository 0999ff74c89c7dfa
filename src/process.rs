//! Running a command with the job's environment: the signals we forward to it, the pumps that
//! scrub the key from its output as it streams, exit-code conventions, and keeping the key out of
//! core dumps.
//!
//! Exit code: the command's own, or 128+N when it was killed by signal N (the shell convention).
//! Every catchable terminating signal sent to us (INT, TERM, HUP, QUIT, USR1, USR2, ALRM) is
//! forwarded to the command, so we outlive it and the caller can clean up; one that arrives
//! before the command starts is remembered. Output is no longer waited for shortly after the
//! command exits, even if a background process it left behind still holds the pipes open.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::error::{Error, Kind};
use crate::redact::{Redactor, StreamScrubber};
use crate::ui;

/// How long the output pumps may go on after the command exited: a background process it left
/// behind may hold its stdout open, and must not keep us (and the key's directory) alive.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How much a pump reads at a time, and (Linux) the capacity it asks for the command's pipes:
/// fewer, larger reads and writes, and fewer wake-ups of the command and the pump.
const PIPE_SIZE: usize = 1024 * 1024;

/// Keeps the key out of core dumps and away from same-user debuggers: no core file, and (Linux)
/// not dumpable, which also refuses ptrace attach and `/proc/PID/mem` reads by other processes.
pub(crate) fn harden() {
    #[cfg(unix)]
    {
        let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = nix::sys::prctl::set_dumpable(false);
    }
}

/// A command to run.
pub(crate) struct Spec<'a> {
    pub(crate) program: &'a str,
    pub(crate) args: &'a [String],
    /// Variables the command must not inherit.
    pub(crate) remove_env: &'a [&'a str],
    pub(crate) set_env: &'a [(String, String)],
    /// Scrub its output with this redactor (None: inherit our stdout/stderr).
    pub(crate) scrub: Option<Arc<Redactor>>,
}

/// Runs `spec` to the end; returns its exit code (127/126 when it cannot start, 128+N for a
/// signal that arrived before it started).
/// How the command ended: its exit code (or 128+signal, or 126/127 when it could not start).
pub(crate) struct Ended {
    pub(crate) code: u8,
    pub(crate) started: bool,
}

pub(crate) fn run(spec: &Spec<'_>, forwarder: &signals::Forwarder) -> Result<Ended, Error> {
    let mut cmd = Command::new(spec.program);
    cmd.args(spec.args);
    for name in spec.remove_env {
        cmd.env_remove(name);
    }
    for (k, val) in spec.set_env {
        cmd.env(k, val);
    }
    if spec.scrub.is_some() {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    if let Some(sig) = forwarder.pending() {
        ui::warn(&format!(
            "interrupted by signal {sig} before `{}` started; cleaning up",
            spec.program
        ));
        return Ok(Ended {
            code: signal_code(sig),
            started: false,
        });
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
            ui::error(&start_hints(
                Error::new(Kind::Usage, format!("failed to start `{}`", spec.program)).cause(e),
                spec.program,
            ));
            return Ok(Ended { code, started: false });
        }
    };
    forwarder.set_child(child.id());
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let mut pumps = 0;
    if let (Some(out), Some(r)) = (child.stdout.take(), &spec.scrub) {
        widen(&out);
        let (r, tx) = (Arc::clone(r), done_tx.clone());
        std::thread::spawn(move || {
            pump(out, unbuffered(std::io::stdout()), &r);
            let _ = tx.send(());
        });
        pumps += 1;
    }
    if let (Some(err), Some(r)) = (child.stderr.take(), &spec.scrub) {
        widen(&err);
        let (r, tx) = (Arc::clone(r), done_tx.clone());
        std::thread::spawn(move || {
            pump(err, unbuffered(std::io::stderr()), &r);
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
                "`{}` exited but a process it started still holds its output open; not waiting for it",
                spec.program
            ));
            break;
        }
    }
    Ok(Ended {
        code: exit_code(status),
        started: true,
    })
}

/// Shell builtins, which are not programs: `exec` cannot run them without a shell.
const SHELL_BUILTINS: &[&str] = &[
    "cd", "source", ".", "export", "set", "unset", "alias", "eval", "exec", "ulimit", "umask", "pushd",
    "popd", "shopt", "declare", "local", "read", "type", "[[",
];

/// The next step when the command could not start: a whole command line passed as one
/// argument, a shell builtin, or a name not on PATH.
fn start_hints(err: Error, program: &str) -> Error {
    let quoted = program.replace('\'', r"'\''");
    if program.contains(char::is_whitespace) {
        err.hint(format!(
            "the whole command line was passed as one argument: pass the words separately (`-- conda install x`), \
             or run it with a shell: `-- sh -c '{quoted}'`"
        ))
    } else if SHELL_BUILTINS.contains(&program) {
        err.hint(format!(
            "`{program}` is a shell builtin, not a program: run it with a shell, e.g. `-- sh -c '{quoted} ...; next-command'`"
        ))
    } else {
        err.hint("check the command name and PATH")
    }
}

/// Copies a child's stream to ours, scrubbing secrets. What can be written is written at once,
/// straight from the read buffer when nothing in it is masked.
fn pump(mut from: impl Read, mut to: impl Write, redactor: &Redactor) {
    let mut scrubber = StreamScrubber::new(redactor);
    loop {
        match from.read(scrubber.spare(PIPE_SIZE)) {
            Ok(0) => break,
            Ok(n) => {
                if to
                    .write_all(scrubber.filled(n))
                    .and_then(|()| to.flush())
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = to.write_all(scrubber.finish());
    let _ = to.flush();
}

/// Asks for a pipe of [`PIPE_SIZE`] (at most `/proc/sys/fs/pipe-max-size`, 1 MiB by default, for
/// a user without `CAP_SYS_RESOURCE`); keeps the default of 64 KiB when refused.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn widen(pipe: &impl std::os::fd::AsFd) {
    if let Ok(size) = i32::try_from(PIPE_SIZE) {
        let _ = nix::fcntl::fcntl(pipe, nix::fcntl::FcntlArg::F_SETPIPE_SZ(size));
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn widen<T>(_pipe: &T) {}

/// Our stdout or stderr without a buffer in between (Rust's stdout is line-buffered: two writes
/// per chunk), or the standard handle where it cannot be duplicated.
#[cfg(unix)]
fn unbuffered<T: Write + Send + std::os::fd::AsFd + 'static>(standard: T) -> Box<dyn Write + Send> {
    match standard.as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(standard),
    }
}

#[cfg(not(unix))]
fn unbuffered<T: Write + Send + 'static>(standard: T) -> Box<dyn Write + Send> {
    Box::new(standard)
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
pub(crate) fn signal_code(sig: i32) -> u8 {
    u8::try_from(128 + sig).unwrap_or(1)
}

#[cfg(unix)]
pub(crate) mod signals {
    use std::sync::{Arc, Mutex, PoisonError};

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use signal_hook::consts::{SIGALRM, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    use signal_hook::iterator::{Handle, Signals};

    /// Every signal whose default action ends the process (and that can be caught): forwarded to
    /// the command instead, so we always live to remove the job directory.
    const FORWARDED: [i32; 7] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM];

    /// The command's pid once it runs, and a signal that arrived before it did.
    #[derive(Default)]
    struct Shared {
        child: Option<i32>,
        pending: Option<i32>,
    }

    /// Catches the terminating signals until dropped: forwards them to the command once it runs,
    /// and remembers one that arrives before.
    pub(crate) struct Forwarder {
        handle: Option<Handle>,
        shared: Arc<Mutex<Shared>>,
    }

    fn send(pid: i32, sig: i32) {
        if let Ok(s) = Signal::try_from(sig) {
            let _ = kill(Pid::from_raw(pid), s);
        }
    }

    impl Forwarder {
        pub(crate) fn install() -> Self {
            let shared = Arc::new(Mutex::new(Shared::default()));
            let Ok(mut signals) = Signals::new(FORWARDED) else {
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
        pub(crate) fn pending(&self) -> Option<i32> {
            self.shared.lock().unwrap_or_else(PoisonError::into_inner).pending
        }

        /// Starts forwarding to `pid`, including a signal that arrived just before.
        pub(crate) fn set_child(&self, pid: u32) {
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
pub(crate) mod signals {
    pub(crate) struct Forwarder;

    impl Forwarder {
        pub(crate) fn install() -> Self {
            Self
        }
        pub(crate) fn pending(&self) -> Option<i32> {
            None
        }
        pub(crate) fn set_child(&self, _pid: u32) {}
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    #[test]
    fn harden_makes_the_process_non_dumpable() {
        super::harden();
        assert_eq!(nix::sys::prctl::get_dumpable().ok(), Some(false));
        let (soft, hard) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE).unwrap();
        assert_eq!((soft, hard), (0, 0));
    }
}
