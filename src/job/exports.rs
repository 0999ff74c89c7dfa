//! The environment a job hands to later steps and children: rendered as `env.sh`/`--print-env`
//! lines, as name → value pairs for a child process or `$GITHUB_ENV`, and redacted for reports.
//!
//! The key is exported only by reference to its 0600 file in shell form, and the shell lines
//! switch xtrace off around themselves, so `set -x` (Jenkins' `sh -xe`) never prints its value.

use std::collections::BTreeMap;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::secret::ApiKey;

/// Shown instead of the key wherever an exported value is reported.
pub(crate) const REDACTED: &str = "<redacted>";

/// A value exported to later steps.
pub(crate) enum Value {
    Plain(String),
    /// The key (env mode), with the 0600 file that holds it.
    Key(PathBuf),
}

/// The variables to export, in order, and those later shells must drop.
#[derive(Default)]
pub(crate) struct Exports {
    vars: Vec<(String, Value)>,
    unset: Vec<&'static str>,
}

impl Exports {
    pub(crate) fn set(&mut self, name: &str, value: Value) {
        self.vars.retain(|(n, _)| n != name);
        self.vars.push((name.to_owned(), value));
    }

    pub(crate) fn set_plain(&mut self, name: &str, value: impl Into<String>) {
        self.set(name, Value::Plain(value.into()));
    }

    /// Drops `name` in later shells (keyring mode: the key's variable, which anaconda-auth would
    /// prefer over the keyring).
    pub(crate) fn unset(&mut self, name: &'static str) {
        self.unset.push(name);
    }

    /// POSIX shell lines: xtrace off, `unset`, `export`, xtrace back on if it was.
    pub(crate) fn shell_lines(&self) -> String {
        // `{ ...; } 2>/dev/null` hides the trace of `set +x` itself under `set -x`.
        let mut out = String::from("{ __aca_x=\"$-\"; set +x; } 2>/dev/null\n");
        for name in &self.unset {
            out.push_str(&format!("unset {name}\n"));
        }
        for (name, value) in &self.vars {
            match value {
                Value::Plain(v) => out.push_str(&format!("export {name}={}\n", sh_quote(v))),
                Value::Key(file) => out.push_str(&format!(
                    "export {name}=\"$(cat {})\"\n",
                    sh_quote(&file.to_string_lossy())
                )),
            }
        }
        out.push_str("case \"$__aca_x\" in *x*) set -x ;; esac; unset __aca_x\n");
        out
    }

    /// Name → value for a child process or `$GITHUB_ENV`, the key included (zeroised on drop).
    pub(crate) fn pairs(&self, key: &ApiKey) -> Zeroizing<Vec<(String, String)>> {
        Zeroizing::new(
            self.vars
                .iter()
                .map(|(n, v)| match v {
                    Value::Plain(s) => (n.clone(), s.clone()),
                    Value::Key(_) => (n.clone(), key.expose().to_owned()),
                })
                .collect(),
        )
    }

    /// Name → value with the key replaced by [`REDACTED`].
    pub(crate) fn redacted(&self) -> BTreeMap<String, String> {
        self.vars
            .iter()
            .map(|(n, v)| {
                let shown = match v {
                    Value::Plain(s) => s.clone(),
                    Value::Key(_) => REDACTED.to_owned(),
                };
                (n.clone(), shown)
            })
            .collect()
    }
}

/// Quotes a value for POSIX shells.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_quote_and_guard_xtrace() {
        let mut e = Exports::default();
        e.set_plain("A", "it's");
        e.set("K", Value::Key(PathBuf::from("/d/api-key")));
        e.unset("X");
        let s = e.shell_lines();
        assert!(s.starts_with("{ __aca_x=\"$-\"; set +x; } 2>/dev/null\n"));
        assert!(s.contains("unset X\n"));
        assert!(s.contains("export A='it'\\''s'\n"));
        assert!(s.contains("export K=\"$(cat '/d/api-key')\"\n"));
        assert!(s.ends_with("esac; unset __aca_x\n"));
        assert_eq!(e.redacted()["K"], REDACTED);
    }
}
