//! The job's conda configuration: `channel_settings` that route Anaconda channels to anaconda-auth,
//! and a read-only check of the user's own condarc files for entries that would override ours.
//!
//! conda reads `$CONDARC` only when the file is named `.condarc`, `condarc`, or ends in `.yml`/`.yaml`,
//! so the file is always `condarc.yml`. It is added to conda's search path, not a replacement: a
//! user-level `channel_settings` entry for the same pattern wins over ours, hence [`conflicts`].

use std::path::{Path, PathBuf};

use crate::env::Env;

/// The channels routed to anaconda-auth by default.
pub(crate) const DEFAULT_CHANNELS: &[&str] =
    &["https://repo.anaconda.cloud/*", "https://repo.anaconda.com/*"];
/// anaconda-auth's default site.
pub(crate) const DEFAULT_DOMAIN: &str = "anaconda.com";

/// One `channel_settings` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Channel {
    pub(crate) pattern: String,
    pub(crate) auth_domain: Option<String>,
}

impl Channel {
    /// Parses `PATTERN` or `PATTERN=AUTH_DOMAIN`.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let (pattern, domain) = match s.rsplit_once('=') {
            Some((p, d)) => (p.trim(), Some(d.trim())),
            None => (s.trim(), None),
        };
        // anaconda-auth sends the key to every URL the pattern matches: only over TLS (plain
        // http only to this machine), and only to a named host.
        let (scheme, rest) = pattern.split_once("://").unwrap_or(("", pattern));
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return Err(format!(
                "channel pattern `{pattern}` contains `@`: name the host alone, without user information"
            ));
        }
        let host = host_of(authority);
        let loopback = is_loopback(host);
        if !(scheme == "https" || (scheme == "http" && loopback)) {
            return Err(format!(
                "channel pattern `{pattern}` must start with https:// (for example https://repo.example.com/*); \
                 anaconda-auth would send the key over plain http"
            ));
        }
        let named = host.strip_prefix("*.").unwrap_or(host);
        let labels = named.split('.').filter(|l| !l.is_empty()).count();
        if named.contains(['*', '?', '[']) || (labels < 2 && !loopback) {
            return Err(format!(
                "channel pattern `{pattern}` must name its host: anaconda-auth would send the key to every host it matches"
            ));
        }
        if pattern
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\\' | '#'))
        {
            return Err(format!(
                "channel pattern `{pattern}` contains a space, quote, backslash or `#`"
            ));
        }
        let auth_domain = match domain {
            Some(d) => Some(normalize_domain(d).map_err(|e| format!("in --channel: {e}"))?),
            None => None,
        };
        Ok(Self {
            pattern: pattern.into(),
            auth_domain,
        })
    }
}

/// A URL authority (`host`, `host:port`, `[v6]`, `[v6]:port`) split into the host as written
/// (brackets kept) and the port, if any.
pub(crate) fn split_authority(authority: &str) -> (&str, Option<u16>) {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    (host, rest.strip_prefix(':').and_then(|p| p.parse().ok()))
}

/// The host of a URL authority, without the port or IPv6 brackets.
fn host_of(authority: &str) -> &str {
    let (host, _) = split_authority(authority);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// `localhost` or a loopback IP address (parsed, not matched as text: `127.0.0.1.example` is not).
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Normalises a domain like anaconda-auth does: `https://x/` becomes `x`. A path, an empty label
/// (`.`, `a..b`) or a label starting or ending with `-` is refused rather than cut off.
pub(crate) fn normalize_domain(s: &str) -> Result<String, String> {
    let s = s.trim();
    let bare = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let bare = bare.strip_suffix('/').unwrap_or(bare);
    if bare.contains('/') {
        return Err(format!(
            "`{s}` has a path: give the domain alone, like anaconda.com"
        ));
    }
    let host = bare.to_ascii_lowercase();
    let name = host_of(&host);
    let labels_ok = name.starts_with('[')
        || host.starts_with('[')
        || (!name.is_empty()
            && name
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-')));
    let ok = labels_ok
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if ok {
        Ok(host)
    } else {
        Err(format!("`{s}` is not a domain name like anaconda.com"))
    }
}

/// Renders `condarc.yml` for the job.
pub(crate) fn render(channels: &[Channel], domain: &str) -> String {
    let mut out = String::from(
        "# Written by anaconda-ci-auth for this CI job and removed by `anaconda-ci-auth cleanup`.\n\
         # Routes Anaconda channels to the anaconda-auth conda plugin, which reads the job keyring.\n\
         channel_settings:\n",
    );
    for c in channels {
        out.push_str(&format!(
            "  - channel: \"{}\"\n    auth: anaconda-auth\n",
            c.pattern
        ));
        // anaconda-auth looks the key up under `auth_domain`, or else under the channel's own
        // host: an extra channel always names the domain the key was stored for.
        let extra = !DEFAULT_CHANNELS.contains(&c.pattern.as_str());
        let auth_domain = c
            .auth_domain
            .as_deref()
            .or((extra || domain != DEFAULT_DOMAIN).then_some(domain));
        if let Some(d) = auth_domain {
            out.push_str(&format!("    auth_domain: \"{d}\"\n"));
        }
    }
    out
}

/// The full channel list: the defaults, then extra `--channel` patterns (an extra entry for a
/// default pattern replaces it).
pub(crate) fn channel_list(extra: &[Channel]) -> Vec<Channel> {
    let mut out: Vec<Channel> = DEFAULT_CHANNELS
        .iter()
        .filter(|p| !extra.iter().any(|e| e.pattern == **p))
        .map(|p| Channel {
            pattern: (*p).into(),
            auth_domain: None,
        })
        .collect();
    out.extend(extra.iter().cloned());
    out
}

/// Every condarc conda reads besides `$CONDARC`, in its search order: files and `condarc.d`
/// directories under `/etc/conda`, `/var/lib/conda`, `$CONDA_ROOT`, `$XDG_CONFIG_HOME/conda`,
/// `~/.config/conda`, `~/.conda`, `~/.condarc` and `$CONDA_PREFIX`.
fn condarc_files(env: &Env) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec![PathBuf::from("/etc/conda"), PathBuf::from("/var/lib/conda")];
    dirs.extend(env.path("CONDA_ROOT"));
    dirs.extend(env.path("XDG_CONFIG_HOME").map(|x| x.join("conda")));
    if let Some(home) = env.home() {
        dirs.push(home.join(".config/conda"));
        dirs.push(home.join(".conda"));
    }
    let mut files = Vec::new();
    let add_dir = |d: &Path, files: &mut Vec<PathBuf>| {
        files.push(d.join(".condarc"));
        files.push(d.join("condarc"));
        let mut extra: Vec<PathBuf> = std::fs::read_dir(d.join("condarc.d"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
            .collect();
        extra.sort();
        files.extend(extra);
    };
    for d in &dirs {
        add_dir(d, &mut files);
    }
    if let Some(home) = env.home() {
        files.push(home.join(".condarc"));
    }
    if let Some(prefix) = env.path("CONDA_PREFIX") {
        add_dir(&prefix, &mut files);
    }
    files
}

/// One `channel_settings` entry found in a condarc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Setting {
    pub(crate) channel: String,
    pub(crate) auth: Option<String>,
    pub(crate) auth_domain: Option<String>,
}

/// Warnings for condarc entries that would take a routed pattern away from the job: a
/// `channel_settings` entry for an overlapping pattern with another `auth`, or with
/// `auth: anaconda-auth` and another `auth_domain` than the job's. `domain` is the job's.
pub(crate) fn conflicts(env: &Env, channels: &[Channel], domain: &str, ours: Option<&Path>) -> Vec<String> {
    let mut warnings = Vec::new();
    for file in condarc_files(env) {
        if Some(file.as_path()) == ours {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        warnings.extend(settings_conflicts(
            &file.display().to_string(),
            &scan_channel_settings(&text),
            channels,
            domain,
        ));
    }
    warnings
}

/// The conflicts among `settings` (read from `source`) for the job's `channels`.
pub(crate) fn settings_conflicts(
    source: &str,
    settings: &[Setting],
    channels: &[Channel],
    domain: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for s in settings {
        let Some(ours) = channels.iter().find(|c| glob_overlap(&c.pattern, &s.channel)) else {
            continue;
        };
        let our_domain = ours.auth_domain.as_deref().unwrap_or(domain);
        match s.auth.as_deref() {
            Some("anaconda-auth") => {
                let theirs = s.auth_domain.as_deref();
                if theirs.is_some_and(|d| d != our_domain) || (theirs.is_none() && ours.pattern != s.channel) {
                    warnings.push(format!(
                        "`{source}` routes `{}` to anaconda-auth with auth_domain `{}`, not this job's `{our_domain}`; conda may look the key up under the wrong domain",
                        s.channel,
                        theirs.unwrap_or("(the channel's own host)")
                    ));
                }
            }
            other => warnings.push(format!(
                "`{source}` has channel_settings for `{}` with auth `{}`; conda will use it instead of this job's settings. Remove that entry, or run the job without that file",
                s.channel,
                other.unwrap_or("(none)")
            )),
        }
    }
    warnings
}

/// A minimal reader of `channel_settings` entries, block or flow YAML.
pub(crate) fn scan_channel_settings(text: &str) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    let mut in_block = false;
    let mut flow = String::new();
    let mut in_flow = false;
    for line in text.lines() {
        let trimmed = line.trim_end();
        if trimmed.trim_start().starts_with('#') || trimmed.is_empty() {
            continue;
        }
        if in_flow {
            flow.push_str(trimmed);
            flow.push(' ');
            if bracket_depth(&flow) <= 0 {
                out.extend(scan_flow(&flow));
                in_flow = false;
            }
            continue;
        }
        let indent = trimmed.len() - trimmed.trim_start().len();
        if indent == 0 && !trimmed.starts_with('-') {
            in_block = false;
            if let Some(rest) = trimmed.strip_prefix("channel_settings:") {
                let rest = rest.trim();
                if rest.starts_with('[') {
                    flow = rest.to_owned();
                    flow.push(' ');
                    if bracket_depth(&flow) <= 0 {
                        out.extend(scan_flow(&flow));
                    } else {
                        in_flow = true;
                    }
                } else {
                    in_block = true;
                }
            }
            continue;
        }
        if !in_block {
            continue;
        }
        let item = trimmed.trim_start().trim_start_matches("- ").trim();
        if item.starts_with('{') {
            out.extend(scan_flow(item));
            continue;
        }
        let value = |key: &str| item.strip_prefix(key).map(clean_value);
        if let Some(ch) = value("channel:") {
            out.push(Setting {
                channel: ch,
                auth: None,
                auth_domain: None,
            });
        } else if let Some(last) = out.last_mut() {
            if let Some(auth) = value("auth:") {
                last.auth = Some(auth);
            } else if let Some(d) = value("auth_domain:") {
                last.auth_domain = Some(d);
            }
        }
    }
    out
}

fn clean_value(v: &str) -> String {
    v.split(" #")
        .next()
        .unwrap_or(v)
        .trim()
        .trim_matches(['"', '\''])
        .to_owned()
}

fn bracket_depth(text: &str) -> i32 {
    text.chars()
        .map(|c| match c {
            '[' => 1,
            ']' => -1,
            _ => 0,
        })
        .sum()
}

/// The `{channel: ..., auth: ..., auth_domain: ...}` mappings of a flow sequence.
fn scan_flow(text: &str) -> Vec<Setting> {
    text.split('{')
        .skip(1)
        .map(|m| m.split('}').next().unwrap_or(m))
        .filter_map(|m| {
            let mut s = Setting {
                channel: String::new(),
                auth: None,
                auth_domain: None,
            };
            for pair in m.split(',') {
                let Some((k, v)) = pair.split_once(':') else {
                    continue;
                };
                // A URL's own `:` stays in the value: split only at the first one after the key.
                match k.trim().trim_matches(['"', '\'']) {
                    "channel" => s.channel = clean_value(v),
                    "auth" => s.auth = Some(clean_value(v)),
                    "auth_domain" => s.auth_domain = Some(clean_value(v)),
                    _ => {}
                }
            }
            (!s.channel.is_empty()).then_some(s)
        })
        .collect()
}

/// Whether two URL globs can match a common URL (conservatively: same prefix up to the first `*`).
fn glob_overlap(a: &str, b: &str) -> bool {
    let pa = a.split('*').next().unwrap_or(a);
    let pb = b.split('*').next().unwrap_or(b);
    pa.starts_with(pb) || pb.starts_with(pa)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_default_channels() {
        let text = render(&channel_list(&[]), DEFAULT_DOMAIN);
        assert!(text.contains("  - channel: \"https://repo.anaconda.cloud/*\"\n    auth: anaconda-auth\n"));
        assert!(text.contains("https://repo.anaconda.com/*"));
        assert!(!text.contains("auth_domain"));
    }

    #[test]
    fn extra_channels_and_domains() {
        let extra = vec![Channel::parse("https://mirror.example.com/*=anaconda.com").unwrap()];
        let text = render(&channel_list(&extra), DEFAULT_DOMAIN);
        assert!(text.contains("  - channel: \"https://mirror.example.com/*\"\n    auth: anaconda-auth\n    auth_domain: \"anaconda.com\"\n"));
        let text = render(&channel_list(&[]), "anaconda.example.org");
        assert_eq!(text.matches("auth_domain: \"anaconda.example.org\"").count(), 2);
        // An extra pattern without `=DOMAIN` still names the key's domain (keyring mode).
        let extra = vec![Channel::parse("https://mirror.example.com/*").unwrap()];
        let text = render(&channel_list(&extra), DEFAULT_DOMAIN);
        assert!(text.contains(
            "\"https://mirror.example.com/*\"\n    auth: anaconda-auth\n    auth_domain: \"anaconda.com\"\n"
        ));
        assert!(Channel::parse("repo.example.com").is_err());
        assert!(Channel::parse("http://mirror.example.com/*").is_err());
        assert!(Channel::parse("https://*").is_err());
        assert!(Channel::parse("https://*.example.com/*").is_ok());
        assert!(Channel::parse("https://*.com/*").is_err());
        assert!(Channel::parse("http://127.0.0.1:8080/*").is_ok());
        assert!(Channel::parse("https://x/\"*").is_err());
    }

    #[test]
    fn normalizes_domains() {
        assert_eq!(normalize_domain("https://Anaconda.com/").unwrap(), "anaconda.com");
        assert!(normalize_domain("bad domain").is_err());
        assert_eq!(normalize_domain("localhost:8080").unwrap(), "localhost:8080");
        for bad in [
            ".",
            "..",
            "-",
            "anaconda.com/repo",
            "a..b",
            "-a.com",
            "a-.com",
            "",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_only_to_a_real_loopback_host() {
        for bad in [
            "http://127.0.0.1.nip.io/*",
            "http://127.evil.example/*",
            "http://127.0.0.1@evil.example/*",
            "http://localhost.evil.example/*",
            "https://user@repo.example.com/*",
        ] {
            assert!(Channel::parse(bad).is_err(), "{bad}");
        }
        for good in [
            "http://127.0.0.1:8080/*",
            "http://localhost/*",
            "http://[::1]:9/*",
            "http://127.1.2.3/*",
        ] {
            assert!(Channel::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn finds_conflicting_user_settings() {
        let text = "channels:\n  - defaults\nchannel_settings:\n  - channel: https://repo.anaconda.cloud/*\n    auth: other\n  - channel: \"https://x/*\"\n    auth: anaconda-auth\n";
        let found = scan_channel_settings(text);
        let pairs: Vec<(String, Option<String>)> = found.into_iter().map(|s| (s.channel, s.auth)).collect();
        assert_eq!(
            pairs,
            vec![
                ("https://repo.anaconda.cloud/*".into(), Some("other".into())),
                ("https://x/*".into(), Some("anaconda-auth".into()))
            ]
        );
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join(".condarc"), text).unwrap();
        let env = Env::from_pairs(&[("HOME", home.path().to_str().unwrap())]);
        let w = conflicts(&env, &channel_list(&[]), DEFAULT_DOMAIN, None);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("auth `other`"));
    }

    #[test]
    fn finds_flow_yaml_condarc_d_conda_root_and_other_domains() {
        let home = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let d = home.path().join(".config/conda/condarc.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("10-flow.yml"),
            "channel_settings: [{channel: 'https://repo.anaconda.com/*', auth: none}]\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join("condarc"),
            "channel_settings:\n  - {channel: \"https://repo.anaconda.cloud/*\", auth: anaconda-auth, auth_domain: other.example}\n",
        )
        .unwrap();
        let env = Env::from_pairs(&[
            ("HOME", home.path().to_str().unwrap()),
            ("CONDA_ROOT", root.path().to_str().unwrap()),
        ]);
        let w = conflicts(&env, &channel_list(&[]), DEFAULT_DOMAIN, None);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w.iter()
                .any(|m| m.contains("10-flow.yml") && m.contains("auth `none`")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|m| m.contains("auth_domain `other.example`")),
            "{w:?}"
        );
        let multi =
            "channel_settings: [\n  {channel: \"https://repo.anaconda.com/*\", auth: x},\n]\nchannels: [a]\n";
        assert_eq!(scan_channel_settings(multi)[0].auth.as_deref(), Some("x"));
    }
}
