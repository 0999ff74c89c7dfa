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

    /// The forms in which the key could show up in text: raw, `Bearer <key>`, base64 variants.
    ///
    /// Used for `::add-mask::`, `buildkite-agent redactor add` and the `exec` output scrubber.
    pub(crate) fn derived_forms(&self, domain: &str) -> Vec<SecretString> {
        let key = self.expose();
        let mut forms: Vec<String> = vec![key.to_owned(), format!("Bearer {key}")];
        forms.extend(base64_variants(key.as_bytes()));
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
