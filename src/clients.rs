//! What each package client reads, rendered from the key: rattler's auth file (pixi,
//! rattler-build), libmamba's `authentication.json` entries, a netrc for pip and uv, uv's index
//! configuration, and conda's `CONDARC` content when the job already had one. Pure functions;
//! `job::write` writes them.
//!
//! Formats (see each client's source): rattler `{"host": {"BearerToken": "…"}}`, keyed by host
//! without port, `*.domain` wildcards allowed (conda/rattler, `rattler_networking`'s file
//! storage); libmamba `{"host[:port]": {"type": "BearerToken", "token": "…"}}`, no wildcards
//! (mamba-org/mamba: the entry types in `libmamba/include/mamba/specs/authentication_info.hpp`,
//! read from `~/.mamba/auth/authentication.json` by libmamba's context; a `BearerToken` entry is
//! matched by `host[:port]` only); netrc `machine H login __token__ password K` (pip and uv).

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::condarc::Channel;
use crate::error::{Error, Kind, Result};
use crate::secret::ApiKey;

/// A host a channel pattern names: `host` (possibly `*.domain`) and its port, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Host {
    pub(crate) name: String,
    pub(crate) port: Option<u16>,
}

/// The hosts of every routed channel pattern, without duplicates.
pub(crate) fn hosts(channels: &[Channel]) -> Vec<Host> {
    let mut out: Vec<Host> = Vec::new();
    for c in channels {
        let rest = c.pattern.split_once("://").map_or(c.pattern.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        let (name, port) = crate::condarc::split_authority(authority);
        let host = Host {
            name: name.to_ascii_lowercase(),
            port,
        };
        if !host.name.is_empty() && !out.contains(&host) {
            out.push(host);
        }
    }
    out
}

/// rattler's auth file: the user's own entries (from their `RATTLER_AUTH_FILE`, if any) with
/// ours for every host on top.
pub(crate) fn rattler_auth(user: Option<&str>, hosts: &[Host], key: &ApiKey) -> Result<Zeroizing<String>> {
    let mut root = match user {
        Some(text) if !text.trim().is_empty() => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(Error::new(
                    Kind::Filesystem,
                    "the job's RATTLER_AUTH_FILE is not a JSON object; pixi would refuse it too",
                )
                .hint("repair or unset RATTLER_AUTH_FILE, or leave pixi out of --clients"));
            }
        },
        _ => Map::new(),
    };
    for h in hosts {
        let mut entry = Map::new();
        entry.insert("BearerToken".into(), Value::String(key.expose().to_owned()));
        root.insert(h.name.clone(), Value::Object(entry));
    }
    Ok(Zeroizing::new(
        serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default(),
    ))
}

/// libmamba's entries: `host[:port]` → Bearer. Wildcard hosts are left out (libmamba has none).
pub(crate) fn mamba_entries(hosts: &[Host], key: &ApiKey) -> Vec<(String, Value)> {
    hosts
        .iter()
        .filter(|h| !h.name.starts_with("*."))
        .map(|h| {
            let name = match h.port {
                Some(p) => format!("{}:{p}", h.name),
                None => h.name.clone(),
            };
            let mut entry = Map::new();
            entry.insert("type".into(), Value::String("BearerToken".into()));
            entry.insert("token".into(), Value::String(key.expose().to_owned()));
            (name, Value::Object(entry))
        })
        .collect()
}

/// A netrc with `__token__` and the key for `host`, after the user's own entries for other hosts.
/// Returns a warning when the user's netrc could not be carried over.
pub(crate) fn netrc(user: Option<&str>, host: &str, key: &ApiKey) -> (Zeroizing<String>, Option<String>) {
    let mut out = Zeroizing::new(String::new());
    let mut warning = None;
    if let Some(text) = user {
        match other_hosts(text, host) {
            Some(kept) => out.push_str(&kept),
            None => warning = Some(
                "the user's netrc has a `macdef` or `default` entry and was not carried into the job's; pip and uv see only the wheels index credentials".to_owned(),
            ),
        }
    }
    out.push_str(&format!(
        "machine {host} login __token__ password {}\n",
        key.expose()
    ));
    (out, warning)
}

/// The netrc entries of `text` for hosts other than `host`, one per line; `None` for a netrc
/// this simple reading cannot carry over faithfully (macros, a `default` entry).
fn other_hosts(text: &str, host: &str) -> Option<String> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.iter().any(|t| *t == "macdef" || *t == "default") {
        return None;
    }
    let mut out = String::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] != "machine" {
            i += 1;
            continue;
        }
        let end = tokens[i + 1..]
            .iter()
            .position(|t| *t == "machine")
            .map_or(tokens.len(), |p| i + 1 + p);
        if tokens.get(i + 1).is_some_and(|m| !m.eq_ignore_ascii_case(host)) {
            out.push_str(&tokens[i..end].join(" "));
            out.push('\n');
        }
        i = end;
    }
    Some(out)
}

/// uv's configuration: the wheels index, credentials sent with the first request (from netrc).
pub(crate) fn uv_toml(index: &str, primary: bool) -> String {
    format!(
        "# Written by anaconda-ci-auth for this CI job and removed by `anaconda-ci-auth cleanup`.\n\
         [[index]]\nname = \"anaconda\"\nurl = \"{index}\"\ndefault = {primary}\nauthenticate = \"always\"\n"
    )
}

/// The job's condarc when the job already had a `CONDARC`: the user's file with our
/// `channel_settings` entries added to theirs. Returns the text and a warning when theirs could
/// not be kept.
pub(crate) fn condarc_with_user(user: &str, ours: &str) -> (String, Option<String>) {
    let our_items: Vec<&str> = ours
        .lines()
        .skip_while(|l| !l.starts_with("channel_settings:"))
        .skip(1)
        .collect();
    let lines: Vec<&str> = user.lines().collect();
    let Some(at) = lines.iter().position(|l| l.starts_with("channel_settings:")) else {
        return (format!("{}\n{ours}", user.trim_end()), None);
    };
    if lines[at].trim_end() != "channel_settings:" {
        // Flow style or an inline value: ours replace it for this job.
        let kept: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, l)| *l)
            .collect();
        return (
            format!("{}\n{ours}", kept.join("\n").trim_end()),
            Some("the job's CONDARC has `channel_settings` in flow style; this job uses anaconda-ci-auth's entries instead of them".into()),
        );
    }
    // Block style: our items go first, indented like theirs.
    let indent = lines[at + 1..]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map_or(2, |l| l.len() - l.trim_start().len());
    let mut out: Vec<String> = lines[..=at].iter().map(|l| (*l).to_owned()).collect();
    for item in &our_items {
        let trimmed = item.strip_prefix("  ").unwrap_or(item);
        out.push(format!("{}{trimmed}", " ".repeat(indent)));
    }
    out.extend(lines[at + 1..].iter().map(|l| (*l).to_owned()));
    (format!("{}\n", out.join("\n")), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::new("k.e.y".into())
    }

    fn chans(p: &[&str]) -> Vec<Channel> {
        p.iter().map(|c| Channel::parse(c).unwrap()).collect()
    }

    // libmamba keys Bearer entries by host[:port] and has no wildcards
    // (libmamba/include/mamba/specs/authentication_info.hpp and its authentication.json loader).
    #[test]
    fn hosts_keep_ports_and_wildcards() {
        let h = hosts(&chans(&[
            "https://repo.anaconda.cloud/*",
            "https://m.example.com:8443/t/*",
            "https://*.example.org/*",
        ]));
        assert_eq!(
            h[1],
            Host {
                name: "m.example.com".into(),
                port: Some(8443)
            }
        );
        assert_eq!(h[2].name, "*.example.org");
        let v6 = hosts(&chans(&["http://[::1]/*", "http://[::1]:8080/*"]));
        assert_eq!(
            v6[0],
            Host {
                name: "[::1]".into(),
                port: None
            }
        );
        assert_eq!(
            v6[1],
            Host {
                name: "[::1]".into(),
                port: Some(8080)
            }
        );
        let m = mamba_entries(&h, &key());
        assert_eq!(
            m.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["repo.anaconda.cloud", "m.example.com:8443"]
        );
        assert_eq!(m[0].1["type"], "BearerToken");
    }

    #[test]
    fn rattler_keeps_the_users_entries() {
        let user = r#"{"other.org": {"CondaToken": "t"}, "repo.anaconda.cloud": {"BearerToken": "old"}}"#;
        let text = rattler_auth(
            Some(user),
            &hosts(&chans(&["https://repo.anaconda.cloud/*"])),
            &key(),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["other.org"]["CondaToken"], "t");
        assert_eq!(v["repo.anaconda.cloud"]["BearerToken"], "k.e.y");
        assert!(rattler_auth(Some("[1]"), &[], &key()).is_err());
    }

    #[test]
    fn netrc_keeps_other_hosts_and_replaces_ours() {
        let user = "machine a.org login u password p\nmachine repo.anaconda.cloud\n  login x password y\n";
        let (text, w) = netrc(Some(user), "repo.anaconda.cloud", &key());
        assert!(w.is_none());
        assert_eq!(
            text.as_str(),
            "machine a.org login u password p\nmachine repo.anaconda.cloud login __token__ password k.e.y\n"
        );
        let (_, w) = netrc(Some("default login a password b\n"), "h", &key());
        assert!(w.is_some());
    }

    #[test]
    fn condarc_merges_block_style_channel_settings() {
        let ours = "# x\nchannel_settings:\n  - channel: \"https://repo.anaconda.cloud/*\"\n    auth: anaconda-auth\n";
        let (text, w) = condarc_with_user("channels:\n  - conda-forge\n", ours);
        assert!(w.is_none());
        assert!(text.starts_with("channels:\n  - conda-forge\n# x\nchannel_settings:\n"));
        let user = "channel_settings:\n- channel: https://x.org/*\n  auth: other\nchannels: [a]\n";
        let (text, _) = condarc_with_user(user, ours);
        assert_eq!(
            text,
            "channel_settings:\n- channel: \"https://repo.anaconda.cloud/*\"\n  auth: anaconda-auth\n- channel: https://x.org/*\n  auth: other\nchannels: [a]\n"
        );
        let (text, w) = condarc_with_user("channel_settings: []\n", ours);
        assert!(w.is_some());
        assert_eq!(text.matches("channel_settings").count(), 1);
    }
}
