//! Property tests of the key checks: no input makes them panic, what they accept is a JWT of a
//! sane length, their errors never quote the key, valid JWTs round-trip, a JWT anywhere in an
//! argument is found, and durations parse exactly.
//!
//! `PROPTEST_CASES=N` runs more cases than the default 256; `scripts/fuzz.sh` does a long run.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;

use super::*;

/// Whether `key` has the shape `check` promises: three non-empty base64url parts, long enough.
fn is_jwt_shaped(key: &str) -> bool {
    let parts: Vec<&str> = key.split('.').collect();
    key.len() >= MIN_KEY_LEN
        && parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn error_text(e: &Error) -> String {
    let mut all = vec![e.message.clone()];
    all.extend(e.causes.iter().cloned());
    all.extend(e.hints.iter().cloned());
    all.join("\n")
}

/// A JWT with the given claims, encoded as PyJWT does.
fn jwt(exp: i64, sub: &str, extra: &str, sig: &[u8]) -> String {
    let payload = serde_json::json!({ "exp": exp, "sub": sub, "x": extra }).to_string();
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"default","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// Inputs worth trying: anything, and strings near the JWT grammar (base64url runs and dots,
/// with some foreign characters).
fn candidate() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_.=+/%\"\\\\ -]{0,300}",
        "eyJ[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_=-]{0,120}\\.[A-Za-z0-9_+/=-]{0,80}",
    ]
}

proptest! {
    #[test]
    fn checks_never_panic_and_accept_only_jwts(raw in candidate(), now in any::<i64>(), min in any::<i64>()) {
        let _ = looks_like_key(&raw);
        let _ = parse_duration(&raw);
        if let Ok(key) = sanitize(raw.clone(), "test") {
            prop_assert!(key.expose().len() >= MIN_KEY_LEN);
            prop_assert_eq!(key.expose(), raw.trim());
            if check(&key, now, min).is_ok() {
                prop_assert!(is_jwt_shaped(key.expose()), "accepted {:?}", key.expose());
            }
        }
    }

    #[test]
    fn errors_never_quote_the_key(raw in "[!-~]{12,300}", now in any::<i64>()) {
        // A key refused for any reason: the error names what is wrong, never the value.
        let errors = match sanitize(raw.clone(), "test") {
            Err(e) => vec![e],
            Ok(key) => check(&key, now, 0).err().into_iter().collect(),
        };
        for e in errors {
            let text = error_text(&e);
            prop_assert!(!text.contains(&raw), "{}", text);
            prop_assert!(!text.contains("--validate none"), "{}", text);
        }
    }

    #[test]
    fn valid_jwts_round_trip(
        exp in 1_000_000_000i64..=i64::MAX / 2,
        sub in "[ -~]{0,40}",
        extra in any::<String>(),
        sig in prop::collection::vec(any::<u8>(), 1..300),
    ) {
        let key = jwt(exp, &sub, &extra, &sig);
        let sanitized = sanitize(key.clone(), "test");
        prop_assert!(sanitized.is_ok());
        let checked = check(&ApiKey::new(key), exp - 1, 0);
        prop_assert!(checked.is_ok(), "{:?}", checked.err().map(|e| e.message));
        if let Ok((claims, _)) = checked {
            prop_assert_eq!(claims.exp, exp);
            prop_assert_eq!(claims.sub.as_deref(), Some(sub.as_str()));
        }
    }

    #[test]
    fn a_jwt_anywhere_in_an_argument_is_found(
        before in any::<String>(),
        after in any::<String>(),
        exp in any::<i64>(),
        sig in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let key = jwt(exp, "s", "", &sig);
        let arg = format!("{before}{key}{after}");
        prop_assert!(looks_like_key(&arg), "{:?}", arg);
    }

    #[test]
    fn durations_parse_exactly(n in 0i64..=10 * 366 * 86_400, unit in prop::sample::select(vec![("s", 1i64), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)])) {
        let (suffix, mult) = unit;
        let n = n / mult;
        prop_assert_eq!(parse_duration(&format!("{n}{suffix}")), Ok(n * mult));
        prop_assert!(parse_duration(&(n * mult).to_string()).is_err());
    }
}
