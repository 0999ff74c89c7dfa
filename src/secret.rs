//! The API key as a type: zeroised on drop, never printed, one greppable way to read it.
//!
//! `ApiKey` has no `Display`, `Serialize`, `Clone` or `PartialEq`, and its `Debug` prints `ApiKey(****)`.
//! Everything that needs the bytes calls [`ApiKey::expose`]; keep those call sites few.

use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

/// An Anaconda API key held in memory.
pub(crate) struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a key that has already been trimmed and checked by [`crate::jwt::sanitize`].
    pub(crate) fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// The key's bytes. Only for the keyring writer, the HTTP header, the redactor and child env.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// A short, stable, non-reversible identifier: `sha256:` and the first 16 hex digits.
    pub(crate) fn fingerprint(&self) -> String {
        fingerprint_of(self.expose())
    }

    /// The forms in which the key could show up in text: raw, `Bearer <key>`, base64 variants,
    /// and URL-encoded and JSON-escaped where those differ from the key.
    ///
    /// Used for `::add-mask::`, `buildkite-agent redactor add` and the `exec` output scrubber.
    pub(crate) fn derived_forms(&self, domain: &str) -> Vec<SecretString> {
        let key = self.expose();
        let mut forms: Vec<String> = vec![key.to_owned(), format!("Bearer {key}")];
        forms.extend(base64_variants(key.as_bytes()));
        forms.extend(escaped_variants(key));
        let payload = crate::keyring::entry_payload(domain, key, None);
        forms.push(base64::engine::general_purpose::STANDARD.encode(payload.as_bytes()));
        forms.retain(|f| f.len() >= 6);
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        forms.into_iter().map(SecretString::from).collect()
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

pub(crate) fn fingerprint_of(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Base64 forms of `data` as they appear when it is embedded at any offset of a larger encoded text.
///
/// Base64 maps 3 input bytes to 4 characters, so the encoding of a larger text contains one of
/// three shifted encodings of `data`; the characters that straddle the boundary are dropped.
fn base64_variants(data: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let mut out = vec![STANDARD.encode(data), URL_SAFE_NO_PAD.encode(data)];
    for shift in 0..3usize {
        let mut padded = vec![0u8; shift];
        padded.extend_from_slice(data);
        let encoded = STANDARD.encode(&padded);
        // Characters covering the zero prefix, and the last group (which depends on what follows), vary.
        let skip = if shift == 0 { 0 } else { (shift * 4).div_ceil(3) };
        let whole = (padded.len() / 3) * 4;
        if whole > skip + 8 {
            let core = &encoded[skip..whole];
            out.push(core.to_owned());
            out.push(core.replace('+', "-").replace('/', "_"));
        }
    }
    out
}

/// The key URL-encoded and JSON-escaped, in the variants common encoders produce, where they
/// differ from the key. A JWT's characters are never escaped; a key accepted with
/// `--validate none` may have some that are.
fn escaped_variants(key: &str) -> Vec<String> {
    use std::fmt::Write as _;
    let mut out = Vec::new();
    // Percent-encoding of all but RFC 3986's unreserved characters, with upper- and lower-case hex
    // digits, and leaving `/` alone as Python's `urllib.parse.quote` does by default.
    for (keep_slash, upper) in [(false, true), (false, false), (true, true), (true, false)] {
        let mut s = String::with_capacity(key.len() * 3);
        for b in key.bytes() {
            if b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_' | b'.' | b'~')
                || (keep_slash && b == b'/')
            {
                s.push(char::from(b));
            } else if upper {
                let _ = write!(s, "%{b:02X}");
            } else {
                let _ = write!(s, "%{b:02x}");
            }
        }
        out.push(s);
    }
    // JSON string content (`"` and `\` escaped), and with `/` escaped as some encoders do.
    // Without the surrounding quotes: exactly one each (the key may end in an escaped `"`).
    let quoted = serde_json::to_string(key).unwrap_or_default();
    let json = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted);
    out.push(json.to_owned());
    out.push(json.replace('/', "\\/"));
    out.retain(|f| f != key);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn debug_hides_the_key() {
        let key = ApiKey::new("eyJhbGciOiJIUzI1NiJ9.secret.sig".into());
        assert_eq!(format!("{key:?}"), "ApiKey(****)");
    }

    #[test]
    fn fingerprint_is_short_and_stable() {
        let fp = fingerprint_of("abc");
        assert_eq!(fp, "sha256:ba7816bf8f01cfea");
    }

    // Regression: a key with characters that URL-encoding or JSON escaping changes (accepted with
    // `--validate none`) was not scrubbed in those forms.
    #[test]
    fn escaped_forms_are_derived_when_they_differ() {
        let key = ApiKey::new(r#"abc+def/ghi=jkl"mno\pqr%stu-vwx_yz.0123456789"#.into());
        let forms: Vec<String> = key
            .derived_forms("anaconda.com")
            .iter()
            .map(|f| f.expose_secret().to_owned())
            .collect();
        for expected in [
            r#"abc%2Bdef%2Fghi%3Djkl%22mno%5Cpqr%25stu-vwx_yz.0123456789"#,
            r#"abc%2bdef%2fghi%3djkl%22mno%5cpqr%25stu-vwx_yz.0123456789"#,
            r#"abc%2Bdef/ghi%3Djkl%22mno%5Cpqr%25stu-vwx_yz.0123456789"#,
            r#"abc+def/ghi=jkl\"mno\\pqr%stu-vwx_yz.0123456789"#,
            r#"abc+def\/ghi=jkl\"mno\\pqr%stu-vwx_yz.0123456789"#,
        ] {
            assert!(forms.iter().any(|f| f == expected), "missing {expected}");
        }
        // Regression (found by the long fuzz run): a key ending in `"` lost the escaped quote too.
        let quoted_end = escaped_variants(r#"0123456789abcdef0123456789abcdef+""#);
        assert!(
            quoted_end
                .iter()
                .any(|f| f == r#"0123456789abcdef0123456789abcdef+\""#),
            "{quoted_end:?}"
        );
        assert!(!quoted_end.iter().any(|f| f.ends_with('\\')), "{quoted_end:?}");
        let jwt = ApiKey::new("eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl".into());
        assert!(escaped_variants(jwt.expose()).is_empty());
    }

    #[test]
    fn shifted_base64_forms_cover_embedded_key() {
        let key = "the-canary-key-value-0123456789";
        let forms = base64_variants(key.as_bytes());
        for prefix in ["", "x", "xy", "xyz", "{\"k\":\""] {
            let text = format!("{prefix}{key}\"}}");
            let encoded = STANDARD.encode(text.as_bytes());
            assert!(
                forms.iter().any(|f| encoded.contains(f.as_str())),
                "no variant found in encoding with prefix {prefix:?}"
            );
        }
    }
}
