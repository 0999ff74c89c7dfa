//! The only place that prints. Every line goes through the redactor first.
//!
//! Human messages go to stderr; machine output (`--json`, `--print-env`, the `--secret` argument)
//! goes to stdout. On GitHub Actions warnings and errors are also annotations (`::warning::`).

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use secrecy::SecretString;

use crate::error::Error;
use crate::redact::Redactor;

struct Ui {
    /// Every form registered so far; the redactor is rebuilt from them when more are added.
    forms: Vec<SecretString>,
    redactor: Redactor,
    quiet: bool,
    github: bool,
}

static UI: Mutex<Option<Ui>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&Ui) -> R) -> R {
    let mut guard = UI.lock().unwrap_or_else(PoisonError::into_inner);
    let ui = guard.get_or_insert_with(|| Ui {
        forms: Vec::new(),
        redactor: Redactor::empty(),
        quiet: false,
        github: false,
    });
    f(ui)
}

pub(crate) fn configure(quiet: bool, github: bool) {
    let mut guard = UI.lock().unwrap_or_else(PoisonError::into_inner);
    let (forms, redactor) = guard
        .take()
        .map_or_else(|| (Vec::new(), Redactor::empty()), |u| (u.forms, u.redactor));
    *guard = Some(Ui {
        forms,
        redactor,
        quiet,
        github,
    });
}

/// Adds secret forms to scrub from everything printed from now on (the earlier ones stay).
pub(crate) fn add_secrets(forms: Vec<SecretString>) {
    let mut guard = UI.lock().unwrap_or_else(PoisonError::into_inner);
    let ui = guard.get_or_insert_with(|| Ui {
        forms: Vec::new(),
        redactor: Redactor::empty(),
        quiet: false,
        github: false,
    });
    ui.forms.extend(forms);
    ui.redactor = Redactor::new(ui.forms.clone());
}

/// Scrubs registered secrets from `text`.
pub(crate) fn redact(text: &str) -> String {
    with(|ui| ui.redactor.redact(text))
}

fn write_err(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// A progress or result line for people (stderr), hidden by `--quiet`.
pub(crate) fn info(msg: &str) {
    let (quiet, line) = with(|ui| (ui.quiet, ui.redactor.redact(msg)));
    if !quiet {
        write_err(&line);
    }
}

pub(crate) fn warn(msg: &str) {
    let (github, line) = with(|ui| (ui.github, ui.redactor.redact(msg)));
    if github {
        write_err(&format!(
            "::warning title=anaconda-ci-auth::{}",
            crate::platform::escape_command(&line)
        ));
    } else {
        write_err(&format!("warning: {line}"));
    }
}

pub(crate) fn error(err: &Error) {
    let (github, redactor_text) = with(|ui| {
        let mut text = format!("error: {}", ui.redactor.redact(&err.message));
        for c in &err.causes {
            text.push_str(&format!("\n  caused by: {}", ui.redactor.redact(c)));
        }
        for h in &err.hints {
            text.push_str(&format!("\n  help: {}", ui.redactor.redact(h)));
        }
        (ui.github, text)
    });
    if github {
        let msg = with(|ui| ui.redactor.redact(&err.message));
        write_err(&format!(
            "::error title=anaconda-ci-auth::{}",
            crate::platform::escape_command(&msg)
        ));
    }
    write_err(&redactor_text);
}

/// Machine output on stdout.
pub(crate) fn stdout(text: &str) {
    let line = redact(text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    if !line.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
}

/// A report as pretty JSON on stdout.
pub(crate) fn json<T: serde::Serialize>(report: &T) {
    match serde_json::to_string_pretty(report) {
        Ok(text) => stdout(&text),
        Err(e) => error(&Error::internal("could not encode the report").cause(e)),
    }
}

/// A report as one line of JSON on stdout.
pub(crate) fn json_line<T: serde::Serialize>(report: &T) {
    match serde_json::to_string(report) {
        Ok(text) => stdout(&text),
        Err(e) => error(&Error::internal("could not encode the report").cause(e)),
    }
}

/// Human lines of a report (stderr, hidden by `--quiet`).
pub(crate) fn lines(lines: &[String]) {
    for l in lines {
        info(l);
    }
}
