//! The anaconda-auth file keyring format, byte for byte.
//!
//! Outer layer: `{"Anaconda Cloud": {"<domain>": "<entry>"}}` as Python's `json.dump` writes it
//! (`", "` and `": "` separators, ASCII-only with `\uXXXX` escapes, no trailing newline).
//! Entry: standard padded base64 of pydantic's compact `TokenInfo` JSON, fields in the order
//! `domain`, `api_key`, `username`, `repo_tokens`, `version`. This module only renders and parses;
//! `fsx` does the writing and locking.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::error::{Error, Kind, Result};
use crate::secret::ApiKey;

/// The keyring service anaconda-auth uses (`KEYRING_NAME`).
pub(crate) const SERVICE: &str = "Anaconda Cloud";
/// The `TokenInfo` format version written by anaconda-auth 0.15.
const TOKEN_INFO_VERSION: u64 = 2;

/// The compact `TokenInfo` JSON for `key`, keeping `username`, `repo_tokens` and unknown fields of an
/// existing entry. The result contains the key, so it is zeroised when dropped.
pub(crate) fn entry_payload(
    domain: &str,
    key: &str,
    existing: Option<&Map<String, Value>>,
) -> Zeroizing<String> {
    let mut out = Map::new();
    out.insert("domain".into(), Value::String(domain.into()));
    out.insert("api_key".into(), Value::String(key.into()));
    if let Some(Value::String(u)) = existing.and_then(|e| e.get("username")) {
        out.insert("username".into(), Value::String(u.clone()));
    }
    let repo_tokens = existing
        .and_then(|e| e.get("repo_tokens"))
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    out.insert("repo_tokens".into(), without_nulls(repo_tokens));
    out.insert("version".into(), Value::from(TOKEN_INFO_VERSION));
    if let Some(e) = existing {
        for (k, v) in e {
            if !out.contains_key(k)
                && !matches!(k.as_str(), "domain" | "api_key" | "username" | "version")
                && !v.is_null()
            {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Zeroizing::new(Value::Object(out).to_string())
}

/// pydantic's `exclude_none` drops `null` members at every depth.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The base64 entry value for `key`.
pub(crate) fn entry_value(
    domain: &str,
    key: &ApiKey,
    existing: Option<&Map<String, Value>>,
) -> Zeroizing<String> {
    Zeroizing::new(STANDARD.encode(entry_payload(domain, key.expose(), existing).as_bytes()))
}

/// A keyring file holding only `key` for `domain`: what `TokenInfo(api_key=K, domain=D).save()`
/// writes into an empty keyring.
pub(crate) fn render_new(domain: &str, key: &ApiKey) -> Zeroizing<String> {
    let mut svc = Map::new();
    svc.insert(
        domain.into(),
        Value::String(entry_value(domain, key, None).to_string()),
    );
    let mut root = Map::new();
    root.insert(SERVICE.into(), Value::Object(svc));
    python_dumps(&Value::Object(root))
}

/// A parsed keyring file. Services and domains keep their order.
pub(crate) struct Keyring {
    root: Map<String, Value>,
}

impl Keyring {
    /// Parses a keyring file. An empty file is an empty keyring (anaconda-auth creates one when it
    /// probes the backend). Anything else that is not a JSON object of objects of strings is refused:
    /// anaconda-auth would read it as empty, and replacing it would destroy the user's data.
    pub(crate) fn parse(text: &str, path: &std::path::Path) -> Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self { root: Map::new() });
        }
        let refuse = |why: &str| {
            Error::new(Kind::Filesystem, format!("refusing to modify `{}`: {why}", path.display())).hint(
                "move the file aside or repair it, or omit --keyring-path to use a job-scoped keyring instead",
            )
        };
        let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|_| refuse("it is not valid JSON"))?;
        let Value::Object(root) = value else {
            return Err(refuse("it is not a JSON object"));
        };
        for svc in root.values() {
            let Value::Object(users) = svc else {
                return Err(refuse("a service is not a JSON object"));
            };
            if users.values().any(|v| !v.is_string()) {
                return Err(refuse("an entry is not a string"));
            }
        }
        Ok(Self { root })
    }

    /// The raw entry string for `domain`, if any.
    #[cfg(test)]
    pub(crate) fn entry(&self, domain: &str) -> Option<&str> {
        self.root.get(SERVICE)?.get(domain)?.as_str()
    }

    /// Decodes the entry for `domain` into its JSON object, if it is one.
    #[cfg(test)]
    fn decoded_entry(&self, domain: &str) -> Option<Map<String, Value>> {
        decode_entry(self.entry(domain)?)
    }

    /// Sets the entry for `domain` to `key`, keeping the other fields of an existing entry.
    #[cfg(test)]
    fn set_key(&mut self, domain: &str, key: &ApiKey) {
        let existing = self.decoded_entry(domain);
        let value = entry_value(domain, key, existing.as_ref());
        self.set_raw(domain, Some(value.to_string()));
    }

    /// Sets (or with `None` removes) the raw entry string for `domain`. Removing the last domain
    /// of the service removes the service.
    #[cfg(test)]
    pub(crate) fn set_raw(&mut self, domain: &str, value: Option<String>) {
        match value {
            Some(v) => {
                let svc = self
                    .root
                    .entry(SERVICE)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(users) = svc {
                    users.insert(domain.into(), Value::String(v));
                }
            }
            None => {
                let now_empty = match self.root.get_mut(SERVICE) {
                    Some(Value::Object(users)) => {
                        users.shift_remove(domain);
                        users.is_empty()
                    }
                    _ => false,
                };
                if now_empty {
                    self.root.shift_remove(SERVICE);
                }
            }
        }
    }

    /// Every entry string of the anaconda-auth service.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &str> {
        self.root
            .get(SERVICE)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values().filter_map(Value::as_str))
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn render(&self) -> Zeroizing<String> {
        python_dumps(&Value::Object(self.root.clone()))
    }
}

/// Decodes a base64 entry into its JSON object.
pub(crate) fn decode_entry(entry: &str) -> Option<Map<String, Value>> {
    let cleaned: String = entry.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = Zeroizing::new(STANDARD.decode(cleaned).ok()?);
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// The API key inside an entry, if any.
pub(crate) fn entry_api_key(entry: &str) -> Option<Zeroizing<String>> {
    let map = decode_entry(entry)?;
    map.get("api_key")
        .and_then(Value::as_str)
        .map(|s| Zeroizing::new(s.to_owned()))
}

/// Serialises like Python's `json.dumps(value)` with default arguments.
pub(crate) fn python_dumps(value: &Value) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(k, out);
                out.push_str(": ");
                write_value(v, out);
            }
            out.push('}');
        }
    }
}

/// Python's `ensure_ascii=True` string encoding: only printable ASCII (space to `~`) stays as is.
fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};

    /// The key from the format spec: header `{"alg":"RS256","kid":"default","typ":"JWT"}`, payload
    /// `{"exp":4102444800,"sub":"d04c356b-afd2-4b3e-80f2-403113e0974b"}`, fake signature.
    pub(crate) const SPEC_KEY: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJleHAiOjQxMDI0NDQ4MDAsInN1YiI6ImQwNGMzNTZiLWFmZDItNGIzZS04MGYyLTQwMzExM2UwOTc0YiJ9.bm90LWEtcmVhbC1zaWduYXR1cmU";

    #[test]
    fn spec_key_is_the_documented_jwt() {
        assert_eq!(
            SPEC_KEY,
            crate::jwt::tests::make_jwt(r#"{"exp":4102444800,"sub":"d04c356b-afd2-4b3e-80f2-403113e0974b"}"#)
        );
    }

    #[test]
    fn new_keyring_matches_anaconda_auth_bytes() {
        let text = render_new("anaconda.com", &ApiKey::new(SPEC_KEY.into()));
        assert_eq!(text.len(), 360);
        let digest: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "b44ccb04388c6ed0f4f50f8e4db093a7132c9206256fb69b20c03bea24bb4db2"
        );
        assert!(text.starts_with(r#"{"Anaconda Cloud": {"anaconda.com": "eyJkb21haW4iOiJhbmFjb25kYS5jb20i"#));
        assert!(!text.ends_with('\n'));
    }

    #[test]
    fn merge_keeps_other_entries_order_and_fields() {
        let other = entry_value("example.org", &ApiKey::new("other-key".into()), None);
        let mut existing = Map::new();
        existing.insert("domain".into(), "anaconda.com".into());
        existing.insert("api_key".into(), "old".into());
        existing.insert("username".into(), "jdoe".into());
        existing.insert(
            "repo_tokens".into(),
            serde_json::json!([{"token": "T1", "org_name": "org1"}, {"token": "T2", "org_name": null}]),
        );
        let old = STANDARD.encode(Value::Object(existing).to_string());
        let text = format!(
            r#"{{"zzz": {{"u": "p\u00e9"}}, "Anaconda Cloud": {{"example.org": "{}", "anaconda.com": "{old}"}}}}"#,
            other.as_str()
        );
        let mut kr = Keyring::parse(&text, std::path::Path::new("k")).unwrap();
        kr.set_key("anaconda.com", &ApiKey::new("new".into()));
        let out = kr.render();
        assert!(out.starts_with(&format!(
            r#"{{"zzz": {{"u": "p\u00e9"}}, "Anaconda Cloud": {{"example.org": "{}", "anaconda.com": ""#,
            other.as_str()
        )));
        let payload = decode_entry(kr.entry("anaconda.com").unwrap()).unwrap();
        assert_eq!(
            Value::Object(payload).to_string(),
            r#"{"domain":"anaconda.com","api_key":"new","username":"jdoe","repo_tokens":[{"token":"T1","org_name":"org1"},{"token":"T2"}],"version":2}"#
        );
    }

    #[test]
    fn refuses_files_it_does_not_understand() {
        let p = std::path::Path::new("k");
        assert!(Keyring::parse("not json", p).is_err());
        assert!(Keyring::parse("[1]", p).is_err());
        assert!(Keyring::parse(r#"{"a": {"b": 1}}"#, p).is_err());
        assert!(Keyring::parse("", p).unwrap().is_empty());
    }

    #[test]
    fn removing_last_entry_removes_service() {
        let mut kr = Keyring::parse(
            &render_new("anaconda.com", &ApiKey::new("k".into())),
            std::path::Path::new("k"),
        )
        .unwrap();
        kr.set_raw("anaconda.com", None);
        assert_eq!(kr.render().as_str(), "{}");
    }

    #[test]
    fn python_escaping() {
        let v = serde_json::json!({"a": "x\"\\\n\u{7f}é😀"});
        assert_eq!(
            python_dumps(&v).as_str(),
            r#"{"a": "x\"\\\n\u007f\u00e9\ud83d\ude00"}"#
        );
    }
}
