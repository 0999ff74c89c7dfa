//! Offline checks of an API key: its characters, its JWT structure, `exp`, `sub`.
//!
//! Anaconda API keys are JWTs. anaconda-auth reads only `exp` (and never checks the signature);
//! anaconda-anon-usage also wants `typ: JWT` and a UUID `sub`. We never verify signatures either:
//! only the Anaconda API can say whether a key is valid, which is what online validation is for.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use crate::error::{Error, Kind, Result};
use crate::secret::ApiKey;

/// Longer than any real key by far; a value this long is a file pasted by mistake.
const MAX_KEY_LEN: usize = 16 * 1024;
/// Shorter than any JWT with a header, an `exp` and a signature; also short enough to turn up in
/// unrelated output, where masking it would garble the output and not masking it would leak it.
/// Applies under `--validate none` too.
pub(crate) const MIN_KEY_LEN: usize = 40;
/// base64url without padding, as in JWTs; like PyJWT, it ignores the unused low bits of the last character.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);
/// Warn when the key expires sooner than this.
pub(crate) const EXPIRY_WARNING_SECS: i64 = 14 * 24 * 3600;

/// Trims surrounding whitespace (a secret stored with `echo` ends in a newline) and rejects values
/// that cannot be a key. Never includes the value in the error.
pub(crate) fn sanitize(raw: String, source: &str) -> Result<ApiKey> {
    // A byte-order mark (a file saved by a Windows editor) is an encoding artefact, never part of a key.
    let trimmed = raw.trim().trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(Error::new(Kind::KeyMissing, format!("the API key from {source} is empty"))
            .hint("store the key in the CI secret without quotes; create one at https://anaconda.com/app/profile/api-keys"));
    }
    let bad = |what: &str| {
        Error::new(Kind::KeyMalformed, format!("the API key from {source} contains {what}"))
            .hint("copy the key again from the Anaconda website; it is a single line of letters, digits, `-`, `_` and `.`")
    };
    if let Some(err) = pasted_wrongly(trimmed, source) {
        return Err(err);
    }
    if trimmed.len() > MAX_KEY_LEN {
        return Err(bad(&format!(
            "more than {MAX_KEY_LEN} bytes; is it a file rather than a key?"
        )));
    }
    if !trimmed.is_ascii() {
        return Err(bad("non-ASCII characters"));
    }
    if trimmed.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(bad("whitespace inside the value (several lines or words)"));
    }
    if trimmed.bytes().any(|b| b.is_ascii_control()) {
        return Err(bad("control characters"));
    }
    if trimmed.len() < MIN_KEY_LEN {
        return Err(Error::new(
            Kind::KeyMalformed,
            format!("the API key from {source} is shorter than {MIN_KEY_LEN} characters, too short to be an Anaconda API key"),
        )
        .hint("the CI secret holds a placeholder or part of the key; copy the whole key again (a JWT of several hundred characters) from https://anaconda.com/app/profile/api-keys"));
    }
    let key = trimmed.to_owned();
    drop(zeroize::Zeroizing::new(raw));
    Ok(ApiKey::new(key))
}

/// Where API keys come from, for every "this is not an API key" error.
pub(crate) const WHERE_KEYS_COME_FROM: &str = "Anaconda API keys are created in your anaconda.com account settings \
     (https://anaconda.com/app/profile/api-keys) or with `anaconda auth api-key` (anaconda-auth); \
     they are JWTs: three dot-separated parts, the first starting with `eyJ`";

/// The usual ways a key is pasted wrongly into a secret, each named with its fix. The messages
/// describe the mistake without quoting any part of the value.
fn pasted_wrongly(value: &str, source: &str) -> Option<Error> {
    let err = |what: &str, fix: &str| {
        Some(Error::new(Kind::KeyMalformed, format!("the API key from {source} {what}")).hint(fix.to_owned()))
    };
    let b = value.as_bytes();
    // A quote escaped with a backslash is JSON escaping, which the offline check names.
    let escaped_end = b.len() >= 2 && b[b.len() - 2] == b'\\';
    if matches!(b.first(), Some(b'"' | b'\'')) || (matches!(b.last(), Some(b'"' | b'\'')) && !escaped_end) {
        return err(
            "is wrapped in quotes",
            "store the key in the secret without the surrounding quotes (YAML and shell quoting is not part of the value)",
        );
    }
    if let Some(scheme) = auth_scheme(value) {
        return err(
            &format!("starts with `{scheme} `, an HTTP authorization scheme"),
            &format!("store only the key in the secret: remove the `{scheme} ` prefix"),
        );
    }
    if is_assignment(value) {
        return err(
            "starts with a variable name and `=` (`NAME=...`), a whole assignment pasted as the value",
            "store only the part after `=` in the secret",
        );
    }
    if is_foreign_token(value) {
        return Some(
            Error::new(
                Kind::KeyMalformed,
                format!(
                    "the value from {source} is not an Anaconda API key: it looks like an anaconda.org or \
                     repository token, not a JWT"
                ),
            )
            .hint(WHERE_KEYS_COME_FROM),
        );
    }
    None
}

/// The HTTP authorization scheme a value starts with (`Bearer <key>` copied from a header).
fn auth_scheme(value: &str) -> Option<&'static str> {
    let (word, rest) = value.split_once(char::is_whitespace)?;
    let scheme = ["Bearer", "Token", "Basic"]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(word))?;
    (!rest.trim().is_empty()).then_some(scheme)
}

/// `NAME=value` or `export NAME=value`, where the value does not start with `=` (so standard
/// base64 padding is not taken for an assignment).
fn is_assignment(value: &str) -> bool {
    let value = value.strip_prefix("export").map_or(value, str::trim_start);
    let Some((name, rest)) = value.split_once('=') else {
        return false;
    };
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !rest.is_empty()
        && !rest.starts_with('=')
}

/// Tokens of other Anaconda services, which have no dots: anaconda.org tokens (two letters, `-`,
/// then hex groups) and hexadecimal repository tokens.
fn is_foreign_token(value: &str) -> bool {
    if value.contains('.') {
        return false;
    }
    let hex_groups = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-');
    let b = value.as_bytes();
    let org_style =
        b.len() > 3 && b[..2].iter().all(u8::is_ascii_lowercase) && b[2] == b'-' && hex_groups(&value[3..]);
    let hex = value.len() >= 16 && value.bytes().all(|c| c.is_ascii_hexdigit());
    org_style || hex
}

/// What an offline check learned about a key.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Claims {
    /// Expiry, seconds since the epoch.
    pub(crate) exp: i64,
    pub(crate) sub: Option<String>,
}

/// Parses the key as a JWT and checks `exp` against `now` (seconds since the epoch).
///
/// Returns the claims and any warnings (expiring soon, `sub` not a UUID, `typ` not JWT).
pub(crate) fn check(key: &ApiKey, now: i64, min_validity_secs: i64) -> Result<(Claims, Vec<String>)> {
    let malformed = |why: &str| {
        Error::new(
            Kind::KeyMalformed,
            format!("the API key is not a valid Anaconda API key: {why}"),
        )
        .hint(
            "Anaconda API keys are JWTs: three base64url parts (letters, digits, `-` and `_`) separated by dots; \
             store the key exactly as shown when it was created, not URL-encoded, quoted or encoded again, \
             or create a new one at https://anaconda.com/app/profile/api-keys",
        )
    };
    if let Some(what) = foreign_characters(key.expose()) {
        return Err(malformed(&format!("it contains {what}, which a JWT never has")));
    }
    let mut parts = key.expose().split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        if !key.expose().contains('.') {
            return Err(not_a_jwt());
        }
        return Err(malformed("it does not have three dot-separated parts"));
    };
    if sig.is_empty() || BASE64URL.decode(sig).is_err() {
        return Err(malformed(
            "its signature (the third part) is missing or not base64url",
        ));
    }
    let header = decode_part(header).ok_or_else(|| malformed("its header is not base64url-encoded JSON"))?;
    let payload =
        decode_part(payload).ok_or_else(|| malformed("its payload is not base64url-encoded JSON"))?;
    let exp = match payload.get("exp") {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| malformed("its `exp` claim is not an integer"))?,
        Some(_) => return Err(malformed("its `exp` claim is not an integer")),
        None => return Err(malformed("it has no `exp` (expiry) claim")),
    };
    let sub = payload.get("sub").and_then(Value::as_str).map(str::to_owned);
    let mut warnings = Vec::new();
    if exp <= now {
        return Err(Error::new(
            Kind::KeyExpired,
            format!("the API key expired at {}", rfc3339(exp)),
        )
        .hint("create a new key at https://anaconda.com/app/profile/api-keys and update the CI secret"));
    }
    let left = exp - now;
    if min_validity_secs > 0 && left < min_validity_secs {
        return Err(Error::new(
            Kind::KeyExpired,
            format!(
                "the API key expires at {}, sooner than --min-validity allows",
                rfc3339(exp)
            ),
        )
        .hint("rotate the key now: create a new one at https://anaconda.com/app/profile/api-keys"));
    }
    if left < EXPIRY_WARNING_SECS {
        warnings.push(format!(
            "the API key expires in {} ({}); rotate it soon",
            human_duration(left),
            rfc3339(exp)
        ));
    }
    match sub.as_deref() {
        Some(s) if is_uuid(s) => {}
        _ => warnings
            .push("the key's `sub` claim is not a UUID; anaconda-anon-usage will ignore this key".into()),
    }
    if header
        .get("typ")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        warnings.push("the key's header `typ` is not `JWT`".into());
    }
    Ok((Claims { exp, sub }, warnings))
}

/// A value without dots: a token or password of something else.
fn not_a_jwt() -> Error {
    Error::new(
        Kind::KeyMalformed,
        "the value is not an Anaconda API key: it is not a JWT (it has no dots)",
    )
    .hint(WHERE_KEYS_COME_FROM)
}

/// What in `key` a JWT cannot contain, described without quoting the key.
fn foreign_characters(key: &str) -> Option<&'static str> {
    let foreign = |b: &u8| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let b = key.as_bytes();
    if !b.iter().any(foreign) {
        return None;
    }
    Some(if b.contains(&b'%') {
        "`%` (it looks URL-encoded)"
    } else if b.iter().any(|c| matches!(c, b'"' | b'\\' | b'\'')) {
        "quotes or backslashes (it looks quoted or JSON-escaped)"
    } else if b.iter().any(|c| matches!(c, b'+' | b'/' | b'=')) {
        "`+`, `/` or `=` (standard base64 or padding, where a JWT uses base64url without padding)"
    } else {
        "characters other than letters, digits, `-`, `_` and `.`"
    })
}

fn decode_part(part: &str) -> Option<serde_json::Map<String, Value>> {
    let bytes = BASE64URL.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit());
    (groups.len() == 5
        && hex(groups[0], 8)
        && hex(groups[1], 4)
        && hex(groups[2], 4)
        && hex(groups[3], 4)
        && hex(groups[4], 12))
        || hex(s, 32)
}

/// Whether an argument contains something that looks like an API key (a JWT), so it can be
/// refused on the command line before anything echoes it.
pub(crate) fn looks_like_key(arg: &str) -> bool {
    // The key may be embedded anywhere in a larger argument (`-H "Authorization: Bearer <key>"`,
    // `--opt=<key>`, `--mode x<key>`, `<key>.txt`): try every place a JWT header could start.
    let b = arg.as_bytes();
    memchr::memchr_iter(b'e', b).any(|i| jwt_starts(&b[i..]))
}

/// Whether `s` starts with a JWT: a header that decodes to `{"` (or `{` and whitespace), then
/// two more base64url parts, [`MIN_KEY_LEN`] characters in all. Anything may follow.
fn jwt_starts(s: &[u8]) -> bool {
    let part = |from: usize| {
        s.get(from..).map_or(0, |r| {
            r.iter()
                .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
                .count()
        })
    };
    let header = part(0);
    let Some(first) = s.get(..4).filter(|_| header >= 4) else {
        return false;
    };
    let Ok(decoded) = BASE64URL.decode(first) else {
        return false;
    };
    if !(decoded[0] == b'{' && (decoded[1] == b'"' || decoded[1].is_ascii_whitespace())) {
        return false;
    }
    let payload = part(header + 1);
    let sig = part(header + payload + 2);
    s.get(header) == Some(&b'.')
        && payload > 0
        && s.get(header + 1 + payload) == Some(&b'.')
        && sig > 0
        && header + payload + sig + 2 >= MIN_KEY_LEN
}

/// Formats seconds since the epoch as RFC 3339 in UTC.
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub(crate) fn human_duration(secs: i64) -> String {
    if secs >= 2 * 86_400 {
        format!("{} days", secs / 86_400)
    } else if secs >= 2 * 3600 {
        format!("{} hours", secs / 3600)
    } else {
        format!("{} minutes", (secs / 60).max(1))
    }
}

/// Parses `30d`, `12h`, `45m`, `90s` or `2w`. A bare number is refused: whether `7` meant
/// seconds or days is exactly the mistake that lets a nearly expired key through.
pub(crate) fn parse_duration(s: &str) -> std::result::Result<i64, String> {
    let s = s.trim();
    let Some((i, _)) = s.char_indices().find(|(_, c)| !c.is_ascii_digit()) else {
        return Err(if s.is_empty() {
            "the duration is empty: add a number and a unit, e.g. 7d".to_owned()
        } else {
            format!("`{s}` has no unit: add a unit, e.g. 7d (s, m, h, d or w)")
        });
    };
    let (num, unit) = (&s[..i], &s[i..]);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 7d, 12h, 30m or 90s"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("unknown unit in `{s}`: use s, m, h, d or w")),
    };
    // Ten years is far beyond any key's lifetime or job's length; larger values are typos (and
    // would overflow).
    const MAX: i64 = 10 * 366 * 86_400;
    match n.checked_mul(mult) {
        Some(v) if v <= MAX => Ok(v),
        _ => Err(format!("`{s}` is longer than ten years")),
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod props;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub(crate) fn make_jwt(payload: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"default","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode("not-a-real-signature")
        )
    }

    const SUB: &str = "d04c356b-afd2-4b3e-80f2-403113e0974b";

    #[test]
    fn trims_trailing_newline_and_spaces() {
        let jwt = make_jwt(r#"{"exp":4102444800}"#);
        let key = sanitize(format!("  {jwt}\n"), "test").unwrap();
        assert_eq!(key.expose(), jwt);
    }

    // Regression: a short value (a placeholder, a truncated secret) was accepted under
    // `--validate none` and then too short to be scrubbed safely.
    #[test]
    fn rejects_keys_shorter_than_the_minimum() {
        let err = sanitize("abc.def.ghi".into(), "t").unwrap_err();
        assert_eq!(err.kind, Kind::KeyMalformed);
        assert!(!err.message.contains("abc.def.ghi"), "{}", err.message);
        assert!(sanitize("x".repeat(MIN_KEY_LEN - 1), "t").is_err());
        assert!(sanitize("x".repeat(MIN_KEY_LEN), "t").is_ok());
    }

    #[test]
    fn names_the_ways_a_key_is_pasted_wrongly_without_quoting_it() {
        let jwt = make_jwt(r#"{"exp":4102444800}"#);
        for (value, says) in [
            (format!("'{jwt}'"), "quotes"),
            (format!("\"{jwt}"), "quotes"),
            (format!("Bearer {jwt}"), "`Bearer `"),
            (format!("BEARER\t{jwt}"), "`Bearer `"),
            (format!("MY_KEY={jwt}"), "`NAME=...`"),
            (format!("export MY_KEY={jwt}"), "`NAME=...`"),
            (
                "ab-0123abcd-4567-89ef-0123-456789abcdef".to_owned(),
                "anaconda.org",
            ),
            ("0123456789abcdef0123456789abcdef".to_owned(), "anaconda.org"),
        ] {
            let err = sanitize(value.clone(), "t").unwrap_err();
            assert_eq!(err.kind, Kind::KeyMalformed, "{value}");
            assert!(err.message.contains(says), "{value}: {}", err.message);
            assert!(
                !err.message.contains(&jwt[..10]) && !err.message.contains("0123"),
                "{}",
                err.message
            );
        }
        // Standard base64 padding is not an assignment, and a BOM is dropped.
        assert!(!is_assignment(&format!("{}==", "e".repeat(40))));
        assert_eq!(sanitize(format!("\u{feff}{jwt}\r\n"), "t").unwrap().expose(), jwt);
    }

    // Regression: characters a JWT never has passed the offline check, and the URL-encoded and
    // JSON-escaped forms of such a key were then not scrubbed.
    #[test]
    fn rejects_characters_a_jwt_never_has_without_suggesting_to_skip_the_check() {
        let jwt = make_jwt(r#"{"exp":4102444800}"#);
        for (bad, says) in [
            ("+", "`+`"),
            ("/", "`/`"),
            ("==", "`=`"),
            ("\"", "quotes"),
            ("\\", "backslashes"),
            ("%2B", "URL-encoded"),
            ("!", "other than letters"),
            ("'", "quotes"),
        ] {
            for key in [format!("{jwt}{bad}"), jwt.replacen('.', &format!("{bad}."), 1)] {
                let err = check(&ApiKey::new(key.clone()), 0, 0).unwrap_err();
                assert_eq!(err.kind, Kind::KeyMalformed, "{key}");
                assert!(err.message.contains(says), "{bad}: {}", err.message);
                assert!(!err.message.contains(&key[..20]), "{}", err.message);
                for h in &err.hints {
                    assert!(!h.contains("--validate"), "{h}");
                }
            }
        }
        let unsigned = jwt.rsplit_once('.').unwrap().0.to_owned() + ".";
        let err = check(&ApiKey::new(unsigned), 0, 0).unwrap_err();
        assert!(err.message.contains("signature"), "{}", err.message);
    }

    #[test]
    fn rejects_empty_interior_whitespace_and_non_ascii() {
        assert_eq!(sanitize(" \n".into(), "t").unwrap_err().kind, Kind::KeyMissing);
        assert_eq!(
            sanitize("ab cd".into(), "t").unwrap_err().kind,
            Kind::KeyMalformed
        );
        assert_eq!(
            sanitize("ab\ncd".into(), "t").unwrap_err().kind,
            Kind::KeyMalformed
        );
        assert_eq!(sanitize("abé".into(), "t").unwrap_err().kind, Kind::KeyMalformed);
        assert_eq!(
            sanitize("ab\u{7}cd".into(), "t").unwrap_err().kind,
            Kind::KeyMalformed
        );
        assert_eq!(
            sanitize("a".repeat(MAX_KEY_LEN + 1), "t").unwrap_err().kind,
            Kind::KeyMalformed
        );
    }

    #[test]
    fn valid_key_passes_with_no_warnings() {
        let jwt = make_jwt(&format!(r#"{{"exp":4102444800,"sub":"{SUB}"}}"#));
        let (claims, warnings) = check(&ApiKey::new(jwt), 1_700_000_000, 0).unwrap();
        assert_eq!(claims.exp, 4_102_444_800);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn expired_key_fails() {
        let jwt = make_jwt(&format!(r#"{{"exp":1689088786,"sub":"{SUB}"}}"#));
        let err = check(&ApiKey::new(jwt), 1_700_000_000, 0).unwrap_err();
        assert_eq!(err.kind, Kind::KeyExpired);
        assert!(err.message.contains("2023-07-11T15:19:46Z"), "{}", err.message);
    }

    #[test]
    fn min_validity_fails_earlier_and_soon_expiry_warns() {
        let now = 1_700_000_000;
        let jwt = make_jwt(&format!(r#"{{"exp":{},"sub":"{SUB}"}}"#, now + 3 * 86_400));
        let key = ApiKey::new(jwt);
        assert_eq!(check(&key, now, 7 * 86_400).unwrap_err().kind, Kind::KeyExpired);
        let (_, warnings) = check(&key, now, 86_400).unwrap();
        assert!(warnings[0].contains("expires in 3 days"), "{warnings:?}");
    }

    #[test]
    fn structure_errors_are_malformed() {
        for bad in ["abc", "a.b", "a.b.c.d", "!!!.e30.sig"] {
            assert_eq!(
                check(&ApiKey::new(bad.into()), 0, 0).unwrap_err().kind,
                Kind::KeyMalformed,
                "{bad}"
            );
        }
        let no_exp = make_jwt(r#"{"sub":"x"}"#);
        assert_eq!(
            check(&ApiKey::new(no_exp), 0, 0).unwrap_err().kind,
            Kind::KeyMalformed
        );
        let float_exp = make_jwt(r#"{"exp":1.5e9}"#);
        assert_eq!(
            check(&ApiKey::new(float_exp), 0, 0).unwrap_err().kind,
            Kind::KeyMalformed
        );
        let string_exp = make_jwt(r#"{"exp":"4102444800"}"#);
        assert_eq!(
            check(&ApiKey::new(string_exp), 0, 0).unwrap_err().kind,
            Kind::KeyMalformed
        );
    }

    #[test]
    fn non_uuid_sub_warns() {
        let jwt = make_jwt(r#"{"exp":4102444800,"sub":"someone"}"#);
        let (_, warnings) = check(&ApiKey::new(jwt), 0, 0).unwrap();
        assert!(warnings.iter().any(|w| w.contains("UUID")));
    }

    #[test]
    fn detects_keys_in_arguments() {
        let jwt = make_jwt(r#"{"exp":4102444800}"#);
        assert!(looks_like_key(&jwt));
        assert!(looks_like_key(&format!("--api-key={jwt}")));
        assert!(looks_like_key(&format!(
            "curl -H 'Authorization: Bearer {jwt}' http://x"
        )));
        assert!(!looks_like_key("https://repo.anaconda.cloud/*"));
        assert!(!looks_like_key("setup"));
    }

    // Regression: a key glued after other text (`--mode "x<key>"`) was not recognised, and clap
    // echoed the argument in its error message.
    #[test]
    fn detects_keys_glued_to_other_text() {
        let jwt = make_jwt(r#"{"exp":4102444800}"#);
        let spaced = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{ "alg": "RS256" }"#),
            URL_SAFE_NO_PAD.encode(r#"{"exp":4102444800}"#)
        );
        for arg in [
            format!("x{jwt}"),
            format!("--mode=x{jwt}"),
            format!("{jwt}.txt"),
            format!("{jwt}x"),
            format!("prefixe{jwt}"),
            format!("--channel=https://x.example/t/abc{jwt}"),
            format!("--channel=https://x.example/t/{jwt}/*=anaconda.com"),
            format!("x{spaced}y"),
        ] {
            assert!(looks_like_key(&arg), "{arg}");
        }
        for arg in [
            "https://conda.anaconda.org/conda-forge/*",
            "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            "a-very-long-subdomain-name.internal-company-example.example.com",
            "every.elephant.eventually.eats.eleven.eggs.each.evening",
            "ey.ey.ey",
            "",
        ] {
            assert!(!looks_like_key(arg), "{arg}");
        }
    }

    #[test]
    fn formats_dates_and_durations() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(parse_duration("7d").unwrap(), 604_800);
        assert_eq!(parse_duration("3600s").unwrap(), 3600);
        // Regression: a bare number silently meant seconds.
        for bare in ["3600", "7", "0", " 30 "] {
            assert!(
                parse_duration(bare).unwrap_err().contains("add a unit, e.g. 7d"),
                "{bare}"
            );
        }
        assert!(parse_duration("7x").is_err());
        assert!(parse_duration("99999999999999999w").is_err());
        assert!(parse_duration("106751991167301d").is_err());
    }
}
