//! Online validation: `GET <api>/api/account` with the key as a Bearer token.
//!
//! 200 means valid; 401/403 mean invalid or revoked and are not retried. 429, 5xx, resets and
//! timeouts are retried with jittered exponential backoff (honouring `Retry-After`) until a total
//! deadline, then reported as "could not reach", a different exit code from "rejected".
//! Redirects are followed only within the same origin, so the Authorization header never
//! reaches another host; a redirect loop, a TLS failure, a host name that does not exist, a
//! connection refused by another machine and an oversized or non-JSON answer are reported at
//! once, not retried. Each attempt only gets what is left of the deadline, and
//! response bodies are capped. A loopback `--api-url` (the only place plain http is allowed) is
//! reached directly, never through a proxy from the environment.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER, USER_AGENT};

use crate::error::{Error, Kind, Result};
use crate::secret::ApiKey;

/// Largest response body read (the account document is a few KiB).
const MAX_BODY: u64 = 1024 * 1024;
const MAX_REDIRECTS: usize = 5;
const BASE_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(20);
const PER_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) struct OnlineOptions {
    /// e.g. `https://anaconda.com`, without a trailing slash.
    pub(crate) base_url: String,
    /// PEM files with extra CA certificates.
    pub(crate) ca_bundles: Vec<PathBuf>,
    /// Total time for all attempts.
    pub(crate) deadline: Duration,
}

/// What the API told us about the key's account.
#[derive(Clone, Debug, Default)]
pub(crate) struct Account {
    pub(crate) username: Option<String>,
}

/// The API base URL: `--api-url` or `https://<domain>`. Plain http is only allowed to loopback.
pub(crate) fn base_url(domain: &str, api_url: Option<&str>) -> Result<String> {
    let raw = api_url.map_or_else(|| format!("https://{domain}"), str::to_owned);
    let url = reqwest::Url::parse(&raw).map_err(|e| {
        Error::usage(format!("--api-url `{raw}` is not a valid URL"))
            .cause(e)
            .hint("use a URL like https://anaconda.com")
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(
                Error::usage(format!("refusing to send the key over plain http to `{raw}`")).hint(
                    "use https://, or a loopback address (127.0.0.1, ::1, localhost) for a local test server",
                ),
            );
        }
        other => {
            return Err(
                Error::usage(format!("--api-url scheme `{other}` is not supported")).hint("use https://"),
            );
        }
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

/// Whether `url` names this machine: `localhost` or a loopback IP address.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn client(opts: &OnlineOptions, origin: reqwest::Url) -> Result<Client> {
    let loopback = is_loopback(&origin);
    let plain_http = origin.scheme() == "http";
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        let same_origin = attempt.url().scheme() == origin.scheme()
            && attempt.url().host_str() == origin.host_str()
            && attempt.url().port_or_known_default() == origin.port_or_known_default();
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    });
    let mut builder = Client::builder();
    if loopback {
        // A loopback API (plain http is allowed only there) is reached directly, never through
        // a proxy from the environment that would carry the key off this machine.
        builder = builder.no_proxy();
    }
    if plain_http {
        // Plain http (loopback only, redirects same-origin): loading the CA stores would only cost time.
        builder = builder.tls_built_in_root_certs(false);
    }
    let mut builder = builder
        .redirect(policy)
        .connect_timeout(Duration::from_secs(10))
        .timeout(PER_ATTEMPT_TIMEOUT.min(opts.deadline.max(Duration::from_secs(1))));
    for path in &opts.ca_bundles {
        let pem = std::fs::read(path).map_err(|e| Error::fs("read CA bundle", path, e))?;
        let not_pem = || {
            Error::usage(format!("`{}` is not a PEM certificate bundle", path.display()))
                .hint("pass a PEM file (-----BEGIN CERTIFICATE-----) with --ca-bundle, SSL_CERT_FILE or REQUESTS_CA_BUNDLE")
        };
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| not_pem().cause(e))?;
        // A file without a single certificate parses as an empty bundle: say so instead of
        // failing later with an unexplained certificate error.
        if certs.is_empty() {
            return Err(not_pem());
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| Error::internal("could not build the HTTP client").cause(e))
}

/// Checks the key against the account endpoint.
pub(crate) fn check_account(key: &ApiKey, opts: &OnlineOptions) -> Result<Account> {
    let url = format!("{}/api/account", opts.base_url);
    let parsed =
        reqwest::Url::parse(&url).map_err(|e| Error::usage(format!("invalid API URL `{url}`")).cause(e))?;
    let client = client(opts, parsed.clone())?;
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        .map_err(|_| Error::new(Kind::KeyMalformed, "the API key cannot be sent in an HTTP header"))?;
    auth.set_sensitive(true);
    let start = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        // Each attempt may only use what is left of the total deadline.
        let remaining = opts
            .deadline
            .saturating_sub(start.elapsed())
            .max(Duration::from_millis(100));
        let outcome = client
            .get(parsed.clone())
            .timeout(PER_ATTEMPT_TIMEOUT.min(remaining))
            .header(AUTHORIZATION, auth.clone())
            .header(
                USER_AGENT,
                concat!("anaconda-ci-auth/", env!("CARGO_PKG_VERSION")),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .send();
        let (retry_after, last_problem) = match outcome {
            Ok(resp) => match classify(resp, &url)? {
                Outcome::Done(account) => return Ok(account),
                Outcome::Retry { retry_after, problem } => (retry_after, problem),
            },
            Err(e) => {
                if let Some(tls) = tls_problem(&e) {
                    return Err(tls_error(tls, &url, &e));
                }
                if let Some(err) = permanent_connect_error(&e, &parsed, &url) {
                    return Err(err);
                }
                if e.is_redirect() {
                    return Err(Error::new(
                        Kind::Unreachable,
                        format!("`{url}` redirected more than {MAX_REDIRECTS} times (a redirect loop)"),
                    )
                    .hint("point --api-url at the final address of the Anaconda API"));
                }
                (None, redacted_cause(&e))
            }
        };
        let elapsed = start.elapsed();
        let backoff = jittered(attempt);
        let delay = retry_after.unwrap_or(backoff).min(MAX_DELAY);
        if elapsed + delay >= opts.deadline {
            return Err(Error::new(
                Kind::Unreachable,
                format!("could not reach the Anaconda API at `{url}` after {attempt} attempt(s) in {}s", elapsed.as_secs()),
            )
            .cause(last_problem)
            .hint("check the network, HTTPS_PROXY/NO_PROXY and --api-url; retry later, or use --validate offline to skip the online check"));
        }
        crate::ui::info(&format!(
            "anaconda API not ready ({last_problem}); retrying in {:.1}s",
            delay.as_secs_f32()
        ));
        std::thread::sleep(delay);
    }
}

enum Outcome {
    Done(Account),
    Retry {
        retry_after: Option<Duration>,
        problem: String,
    },
}

fn classify(resp: Response, url: &str) -> Result<Outcome> {
    let status = resp.status();
    if status.is_redirection() {
        let code = status.as_u16();
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|to| strip_query(to).to_owned());
        return Err(match location {
            Some(to) => Error::new(
                Kind::Unreachable,
                format!("the Anaconda API redirected to another host (`{to}`)"),
            )
            .hint("the key is never sent to another host; point --api-url at the final address"),
            None => Error::new(
                Kind::Unreachable,
                format!("`{url}` answered {code} without saying where to go"),
            )
            .hint("check --api-url: it must point at the Anaconda API, not a proxy or web page"),
        });
    }
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let code = status.as_u16();
    match code {
        200..=299 => {
            let body = read_capped(resp, url)?;
            let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                Error::new(
                    Kind::Unreachable,
                    format!("`{url}` answered {code} but not with JSON"),
                )
                .cause(e)
                .hint("check --api-url: it must point at the Anaconda API, not a web page or proxy")
            })?;
            let username = ["/user/username", "/user/email", "/username"]
                .iter()
                .find_map(|p| json.pointer(p).and_then(|v| v.as_str()))
                .map(clean_username)
                .filter(|u| !u.is_empty());
            Ok(Outcome::Done(Account { username }))
        }
        401 | 403 => {
            let body = read_capped(resp, url).unwrap_or_default();
            let detail = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|j| {
                    j.pointer("/error/code")
                        .or_else(|| j.pointer("/detail"))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                });
            let mut err = Error::new(
                Kind::KeyRejected,
                format!("the Anaconda API rejected the key ({code})"),
            );
            if let Some(d) = detail {
                err = err.cause(printable(&d, 200));
            }
            Err(err.hint(
                "the key is invalid, revoked or for another site (--domain); create a new one at https://anaconda.com/app/profile/api-keys",
            ))
        }
        429 | 500..=599 | 408 => Ok(Outcome::Retry {
            retry_after,
            problem: format!("HTTP {code}"),
        }),
        404 => Err(
            Error::new(Kind::Unreachable, format!("`{url}` was not found (404)"))
                .hint("check --domain and --api-url: they must name the Anaconda site the key belongs to"),
        ),
        _ => Err(Error::new(
            Kind::Unreachable,
            format!("unexpected answer {code} from `{url}`"),
        )
        .hint("check --api-url; use --validate offline to skip the online check")),
    }
}

/// Text from the server made safe to print: no control characters (a newline could start a CI
/// workflow command in the log, an escape sequence could rewrite the terminal), and not long.
/// Secrets are scrubbed before shortening: a key cut in half would no longer be recognised.
fn printable(raw: &str, max: usize) -> String {
    let visible: String = raw.chars().filter(|c| !c.is_control()).collect();
    crate::ui::redact(&visible)
        .chars()
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn clean_username(raw: &str) -> String {
    printable(raw, 256)
}

fn read_capped(resp: Response, url: &str) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    resp.take(MAX_BODY + 1).read_to_end(&mut body).map_err(|e| {
        Error::new(
            Kind::Unreachable,
            format!("failed reading the answer from `{url}`"),
        )
        .cause(e)
        .hint("retry later")
    })?;
    if body.len() as u64 > MAX_BODY {
        return Err(Error::new(
            Kind::Unreachable,
            format!("the answer from `{url}` is larger than {} KiB", MAX_BODY / 1024),
        )
        .hint("check --api-url: it must point at the Anaconda API"));
    }
    Ok(body)
}

fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v.trim()).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Full-jitter exponential backoff: a random delay up to `BASE * 2^(attempt-1)`, capped.
fn jittered(attempt: u32) -> Duration {
    let cap = BASE_DELAY
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(8))
        .min(MAX_DELAY);
    let mut b = [0u8; 4];
    let r = if getrandom::fill(&mut b).is_ok() {
        u32::from_le_bytes(b)
    } else {
        u32::MAX / 2
    };
    let frac = f64::from(r) / f64::from(u32::MAX);
    Duration::from_secs_f64(cap.as_secs_f64() * (0.5 + frac / 2.0))
}

/// What kind of TLS failure `e` is, if it is one. These are not retried: they do not go away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsProblem {
    /// The server answered in something other than TLS (typically plain HTTP on an https:// URL).
    NotTls,
    /// Certificate verification, handshake or alert.
    Handshake,
}

fn tls_problem(e: &reqwest::Error) -> Option<TlsProblem> {
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("invalidcontenttype") || text.contains("corrupt message") {
            return Some(TlsProblem::NotTls);
        }
        if [
            "certificate",
            "tls",
            "handshake",
            "fatal alert",
            "peer is incompatible",
            "peer misbehaved",
        ]
        .iter()
        .any(|w| text.contains(w))
        {
            return Some(TlsProblem::Handshake);
        }
        src = s.source();
    }
    None
}

const CA_HINT: &str = "if a proxy or private CA intercepts TLS, pass its certificate with --ca-bundle, SSL_CERT_FILE or REQUESTS_CA_BUNDLE";

fn tls_error(problem: TlsProblem, url: &str, e: &reqwest::Error) -> Error {
    match problem {
        TlsProblem::NotTls => Error::new(
            Kind::Unreachable,
            format!("TLS error talking to `{url}`: the server did not answer in TLS"),
        )
        .cause(redacted_cause(e))
        .hint("check the host and port of --api-url: this looks like a plain http:// server (http:// is only allowed for loopback test servers)")
        .hint(CA_HINT),
        TlsProblem::Handshake => {
            let cause = redacted_cause(e);
            let lower = cause.to_ascii_lowercase();
            let (what, hint) = if lower.contains("unknownissuer") {
                (
                    ": the server's certificate is signed by a CA this machine does not trust",
                    CA_HINT,
                )
            } else if lower.contains("not valid for name") {
                (
                    ": the server's certificate is for another host name",
                    "check the host in --api-url (or --domain); it must match the server's certificate",
                )
            } else if lower.contains("expired") || lower.contains("notvalidyet") {
                (
                    ": the server's certificate is expired or not yet valid",
                    "check this machine's clock; if the clock is right, the server's certificate has expired",
                )
            } else {
                ("", CA_HINT)
            };
            let mut err = Error::new(Kind::Unreachable, format!("TLS error talking to `{url}`{what}"))
                .cause(cause)
                .hint(hint);
            if hint != CA_HINT {
                err = err.hint(CA_HINT);
            }
            err
        }
    }
}

/// Failures that retrying cannot fix, reported at once: a host name that does not exist, and a
/// connection refused by a host other than this machine (a loopback test server may still be
/// starting, so that is retried). A temporary DNS failure, a timeout or a reset is retried.
fn permanent_connect_error(e: &reqwest::Error, parsed: &reqwest::Url, url: &str) -> Option<Error> {
    let host = parsed.host_str().unwrap_or_default();
    let mut src: Option<&dyn std::error::Error> = Some(e);
    // hyper's "tunnel error": what failed was the connection to the proxy.
    let mut via_proxy = false;
    while let Some(s) = src {
        let text = s.to_string().to_ascii_lowercase();
        via_proxy |= text.contains("tunnel error");
        if via_proxy && (is_no_such_name(&text) || refused(s)) {
            let what = if is_no_such_name(&text) {
                "its host name does not resolve"
            } else {
                "it refused the connection"
            };
            return Some(
                Error::new(Kind::Unreachable, format!("cannot reach `{url}` through the proxy: {what}"))
                    .cause(redacted_cause(e))
                    .hint("check the proxy address in HTTPS_PROXY / https_proxy / ALL_PROXY, or list the API host in NO_PROXY"),
            );
        }
        if is_no_such_name(&text) {
            return Some(
                Error::new(
                    Kind::Unreachable,
                    format!("cannot reach `{url}`: the host name `{host}` does not resolve (DNS answers that there is no such name)"),
                )
                .cause(redacted_cause(e))
                .hint("check --domain and --api-url (ANACONDA_AUTH_DOMAIN, ANACONDA_CI_AUTH_API_URL) for a typo")
                .hint("where names are only resolved by a proxy, set HTTPS_PROXY (and NO_PROXY); if HTTPS_PROXY is set, check its host name"),
            );
        }
        if refused(s) && !is_loopback(parsed) {
            return Some(
                Error::new(Kind::Unreachable, format!("cannot reach `{url}`: the connection was refused"))
                    .cause(redacted_cause(e))
                    .hint("check the host and port in --api-url (or --domain); if HTTPS_PROXY is set, check that the proxy runs at that address"),
            );
        }
        src = s.source();
    }
    None
}

fn refused(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// getaddrinfo's "no such name" on Linux (EAI_NONAME, EAI_NODATA), macOS and Windows; not
/// "temporary failure in name resolution" (EAI_AGAIN), which is retried.
fn is_no_such_name(text: &str) -> bool {
    [
        "name or service not known",
        "no address associated with hostname",
        "nodename nor servname provided",
        "no such host is known",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// The error chain as one line, without URLs' query strings.
fn redacted_cause(e: &reqwest::Error) -> String {
    let mut parts = vec![e.without_url_ref_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    parts.dedup();
    crate::ui::redact(&parts.join(": "))
}

trait WithoutUrl {
    fn without_url_ref_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref_string(&self) -> String {
        if self.is_timeout() {
            "timed out".into()
        } else if self.is_connect() {
            "connection failed".into()
        } else if self.is_request() || self.is_body() {
            "request failed".into()
        } else {
            "HTTP error".into()
        }
    }
}

fn strip_query(u: &str) -> &str {
    u.split(['?', '#']).next().unwrap_or(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert_eq!(base_url("anaconda.com", None).unwrap(), "https://anaconda.com");
        assert_eq!(
            base_url("x", Some("http://127.0.0.1:8080/")).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url("x", Some("http://localhost:1")).unwrap(),
            "http://localhost:1"
        );
        assert_eq!(base_url("x", Some("http://[::1]:1")).unwrap(), "http://[::1]:1");
        assert_eq!(
            base_url("x", Some("http://example.com")).unwrap_err().kind,
            Kind::Usage
        );
        assert_eq!(
            base_url("x", Some("ftp://example.com")).unwrap_err().kind,
            Kind::Usage
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = jittered(attempt);
            assert!(d <= MAX_DELAY);
            assert!(d >= BASE_DELAY / 2);
        }
    }
}
