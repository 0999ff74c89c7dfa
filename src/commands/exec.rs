//! `exec`: set up in a private temporary directory, run one command with that environment, scrub
//! the key from its output as it streams, and remove the directory however the command ends.
//!
//! Exit code: the command's own, or 128+N when it was killed by signal N (the shell convention).
//! SIGINT, SIGTERM and SIGHUP sent to us are forwarded to the command; we clean up after it exits.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use secrecy::ExposeSecret as _;

use super::setup::{Export, parse_channels, write_job};
use super::{Ctx, prepare};
use crate::cli::{ExecArgs, Mode};
use crate::error::{Error, Kind, Result};
use crate::fsx;
use crate::redact::{Redactor, StreamScrubber};
use crate::state;
use crate::ui;

pub(crate) fn run(ctx: &Ctx, args: &ExecArgs) -> Result<u8> {
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
        let env: Vec<(String, String)> = child_env(&job.exports);
        super::register::register(ctx, args.job.conda.as_deref(), &env)?;
    }
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("no command given after `--`"))?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    if let Some(name) = v.sourced.env_name.as_deref().filter(|_| !env_mode) {
        // Keyring mode: anaconda-auth would prefer the variable over the keyring.
        cmd.env_remove(name);
    }
    for (k, val) in child_env(&job.exports) {
        cmd.env(k, val);
    }
    let redactor = Arc::new(Redactor::new(v.sourced.key.derived_forms(&v.domain)));
    if !args.no_scrub {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::new(Kind::Usage, format!("failed to start `{program}`"))
            .cause(e)
            .hint("check the command name and PATH")
    })?;
    let forwarder = signals::forward(child.id());
    let mut pumps = Vec::new();
    if let Some(out) = child.stdout.take() {
        let r = Arc::clone(&redactor);
        pumps.push(std::thread::spawn(move || pump(out, std::io::stdout(), &r)));
    }
    if let Some(err) = child.stderr.take() {
        let r = Arc::clone(&redactor);
        pumps.push(std::thread::spawn(move || pump(err, std::io::stderr(), &r)));
    }
    let status = child
        .wait()
        .map_err(|e| Error::internal("failed waiting for the command").cause(e))?;
    for p in pumps {
        let _ = p.join();
    }
    drop(forwarder);
    drop(guard);
    Ok(exit_code(status))
}

fn child_env(exports: &[(String, Export)]) -> Vec<(String, String)> {
    exports
        .iter()
        .map(|(n, e)| match e {
            Export::Plain(s) => (n.clone(), s.clone()),
            Export::Key { value, .. } => (n.clone(), value.expose_secret().to_owned()),
        })
        .collect()
}

/// Copies a child's stream to ours, scrubbing secrets; flushes after every chunk.
fn pump(mut from: impl Read, to: impl Write, redactor: &Redactor) {
    let mut to = to;
    let mut scrubber = StreamScrubber::new(redactor);
    let mut buf = vec![0u8; 8192];
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
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = status.signal() {
            return u8::try_from(128 + sig).unwrap_or(1);
        }
    }
    1
}

/// Removes the exec job directory on every path out of `run`, including errors and panics.
struct DirGuard(std::path::PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        if let Ok(st) = state::State::load(&self.0.join(state::STATE_FILE))
            && super::cleanup::undo(&st).is_ok()
        {
            return;
        }
        let _ = super::cleanup::remove_dir_contents_we_created(&self.0);
    }
}

#[cfg(unix)]
mod signals {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::iterator::{Handle, Signals};

    /// Forwards SIGINT/SIGTERM/SIGHUP to the child until dropped.
    pub(super) struct Forwarder(Option<Handle>);

    pub(super) fn forward(pid: u32) -> Forwarder {
        let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return Forwarder(None);
        };
        let handle = signals.handle();
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if let (Ok(s), Ok(p)) = (nix::sys::signal::Signal::try_from(sig), i32::try_from(pid)) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), s);
                }
            }
        });
        Forwarder(Some(handle))
    }

    impl Drop for Forwarder {
        fn drop(&mut self) {
            if let Some(h) = self.0.take() {
                h.close();
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    pub(super) struct Forwarder;
    pub(super) fn forward(_pid: u32) -> Forwarder {
        Forwarder
    }
}
