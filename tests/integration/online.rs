//! Online validation against the fake API: status handling, retries, deadlines, redirects, body
//! cap, the loopback-only http rule and TLS errors, through `validate` and `setup`.

use std::time::{Duration, Instant};

use crate::common::*;
use crate::fake_api::{FakeApi, Reply, closed_port};

/// Runs the binary with the canary key in ANACONDA_AUTH_API_KEY (the harness checks it never leaks).
fn run(sb: &Sandbox, key: &str, args: &[&str]) -> (Run, Duration) {
    let out = sb.cmd(args).key(key).timeout(Duration::from_secs(30)).run();
    let took = out.took;
    (out, took)
}

fn validate(api: &str, timeout: &str, json: bool) -> (Run, Duration, String) {
    let sb = Sandbox::new();
    let key = canary();
    let mut args = vec!["validate", "--api-url", api, "--timeout", timeout];
    if json {
        args.push("--json");
    }
    let (out, took) = run(&sb, &key, &args);
    sb.assert_knows(&key);
    (out, took, key)
}

/// The seconds the binary itself reports having spent ("after N attempt(s) in Ss"), which
/// unlike wall-clock time here does not include process start-up on a loaded machine.
fn reported_secs(out: &Run) -> u64 {
    let err = out.stderr();
    let tail = err
        .split(" attempt(s) in ")
        .nth(1)
        .unwrap_or_else(|| panic!("no attempt report: {err}"));
    tail.split('s').next().unwrap().parse().unwrap()
}

#[test]
fn ok_reports_username_and_sends_bearer_and_user_agent() {
    let api = FakeApi::always(Reply::ok("ci-bot"));
    let (out, _, key) = validate(&api.url(), "10s", true);
    assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["validation"]["mode"], "online");
    assert_eq!(json["validation"]["username"], "ci-bot");
    let reqs = api.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/api/account");
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    let ua = reqs[0].header("user-agent").unwrap_or_default();
    assert!(ua.starts_with("anaconda-ci-auth/"), "user agent {ua:?}");
}

#[test]
fn setup_online_reports_username_in_json() {
    let api = FakeApi::always(Reply::ok("ci-bot"));
    let sb = Sandbox::new();
    let key = canary();
    let (out, _) = run(&sb, &key, &["setup", "--api-url", &api.url(), "--json"]);
    assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
    assert_no_leak("stdout", &out.stdout, &key);
    assert_no_leak("stderr", &out.stderr, &key);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["validation"]["mode"], "online");
    assert_eq!(json["validation"]["username"], "ci-bot");
    assert_eq!(api.count(), 1);
}

#[test]
fn unauthorized_is_rejected_without_retry() {
    let api = FakeApi::always(Reply::unauthorized());
    let (out, _, _) = validate(&api.url(), "10s", true);
    assert_eq!(out.exit().unwrap_or(-1), 6, "{}", out.stderr());
    assert_eq!(api.count(), 1, "a 401 must not be retried");
    let err = out.stderr();
    assert!(err.contains("rejected the key (401)"), "{err}");
    assert!(err.contains("auth_required"), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "key-rejected");
    assert_eq!(json["error"]["exit_code"], 6);
}

#[test]
fn forbidden_is_rejected_without_retry() {
    let api = FakeApi::always(Reply::forbidden());
    let sb = Sandbox::new();
    let key = canary();
    let (out, _) = run(&sb, &key, &["setup", "--api-url", &api.url()]);
    assert_eq!(out.exit().unwrap_or(-1), 6, "{}", out.stderr());
    assert_eq!(api.count(), 1, "a 403 must not be retried");
    assert_no_leak("stderr", &out.stderr, &key);
    // Nothing is left behind when setup fails.
    let left: Vec<_> = walk(&sb.tmpdir());
    assert!(left.is_empty(), "setup left {left:?}");
}

#[test]
fn rate_limit_honours_retry_after_then_succeeds() {
    let api = FakeApi::sequence(vec![Reply::too_many(1), Reply::ok("ci-bot")]);
    let (out, took, _) = validate(&api.url(), "10s", false);
    assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
    assert_eq!(api.count(), 2);
    assert!(
        took >= Duration::from_millis(950),
        "Retry-After: 1 not honoured ({took:?})"
    );
    assert!(out.stderr().contains("HTTP 429"), "{}", out.stderr());
}

#[test]
fn retry_after_beyond_the_deadline_gives_up_at_once() {
    let api = FakeApi::always(Reply::too_many(60));
    let (out, took, _) = validate(&api.url(), "3s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    assert_eq!(api.count(), 1);
    assert!(
        took < Duration::from_secs(2),
        "waited {took:?} for a retry that cannot happen in time"
    );
}

#[test]
fn server_error_is_retried_then_succeeds() {
    let api = FakeApi::sequence(vec![Reply::server_error(), Reply::ok("ci-bot")]);
    let (out, _, _) = validate(&api.url(), "10s", true);
    assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
    assert_eq!(api.count(), 2);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["validation"]["username"], "ci-bot");
}

#[test]
fn persistent_server_error_gives_unreachable_at_the_deadline() {
    let api = FakeApi::always(Reply::server_error());
    let (out, took, _) = validate(&api.url(), "2s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    assert!(
        api.count() >= 2,
        "5xx must be retried (got {} attempt(s))",
        api.count()
    );
    let err = out.stderr();
    assert!(err.contains("could not reach"), "{err}");
    assert!(err.contains("HTTP 500"), "{err}");
    assert!(reported_secs(&out) <= 2, "deadline 2s overrun: {}", out.stderr());
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn hanging_server_hits_the_deadline() {
    let api = FakeApi::always(Reply::Hang);
    let (out, took, _) = validate(&api.url(), "2s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    assert!(out.stderr().contains("could not reach"), "{}", out.stderr());
    assert!(reported_secs(&out) <= 2, "deadline 2s overrun: {}", out.stderr());
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(took >= Duration::from_millis(1500), "gave up early: {took:?}");
}

#[test]
fn connection_reset_is_retried() {
    let api = FakeApi::sequence(vec![Reply::Reset, Reply::ok("ci-bot")]);
    let (out, _, _) = validate(&api.url(), "10s", false);
    assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
    assert_eq!(api.count(), 2);
}

#[test]
fn a_hang_after_a_retry_still_ends_within_the_deadline() {
    // A 429 with Retry-After: 1 uses up a second of the 3s deadline; the hanging second attempt
    // may only use the two that are left (not a fresh 3s).
    let api = FakeApi::sequence(vec![Reply::too_many(1), Reply::Hang]);
    let (out, took, _) = validate(&api.url(), "3s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    assert_eq!(api.count(), 2);
    assert!(took >= Duration::from_millis(2900), "gave up early: {took:?}");
    // Without the limit the second attempt would get a fresh 3s and end after 4s.
    assert!(reported_secs(&out) <= 3, "deadline 3s overrun: {}", out.stderr());
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[test]
fn nothing_listening_is_unreachable() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let (out, took, _) = validate(&url, "2s", true);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    assert!(out.stderr().contains("could not reach"), "{}", out.stderr());
    assert!(reported_secs(&out) <= 2, "{}", out.stderr());
    assert!(took < Duration::from_secs(6), "{took:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "api-unreachable");
}

fn cross_origin_redirect(target_ip: &str) {
    let other = FakeApi::start_on(target_ip, |_, _| Reply::ok("attacker"));
    let location = format!("http://{}/api/account", other.addr);
    let api = FakeApi::always(Reply::redirect(&location));
    let (out, _, _) = validate(&api.url(), "5s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    assert_eq!(api.count(), 1);
    assert_eq!(other.count(), 0, "the key was sent to another origin");
    let err = out.stderr();
    assert!(err.contains("redirected to another host"), "{err}");
}

#[test]
fn redirect_to_another_host_is_not_followed() {
    cross_origin_redirect("127.0.0.2");
}

#[test]
fn redirect_to_another_port_is_not_followed() {
    cross_origin_redirect("127.0.0.1");
}

#[test]
fn same_origin_redirect_is_followed_with_the_key() {
    let api = FakeApi::start(|req, _| {
        if req.path == "/api/account" {
            Reply::redirect("/api/v2/account")
        } else {
            Reply::ok("ci-bot")
        }
    });
    let (out, _, key) = validate(&api.url(), "5s", true);
    assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
    let reqs = api.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].path, "/api/v2/account");
    assert_eq!(
        reqs[1].header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["validation"]["username"], "ci-bot");
}

#[test]
fn huge_body_is_refused_clearly() {
    let api = FakeApi::always(Reply::Huge(3 * 1024 * 1024));
    let (out, _, _) = validate(&api.url(), "5s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("larger than 1024 KiB"), "{err}");
    assert_eq!(api.count(), 1, "an oversized answer is not worth retrying");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let (out, took, _) = validate("http://api.example.invalid", "5s", true);
    assert_eq!(out.exit().unwrap_or(-1), 2, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("plain http"), "{err}");
    assert!(took < Duration::from_secs(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["error"]["kind"], "usage");
}

#[test]
fn https_to_a_plain_http_server_names_tls_and_the_ca_settings() {
    let api = FakeApi::always(Reply::ok("ci-bot"));
    let url = format!("https://{}", api.addr);
    let (out, took, _) = validate(&url, "5s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("TLS"), "{err}");
    assert!(err.contains("--ca-bundle"), "{err}");
    assert!(
        err.contains("http://"),
        "the hint should mention a server that does not speak TLS: {err}"
    );
    assert!(
        took < Duration::from_secs(3),
        "a TLS failure is not worth retrying: {took:?}"
    );
}

#[test]
fn a_web_page_instead_of_the_api_is_a_clear_error() {
    let api = FakeApi::always(Reply::Status {
        code: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: "<html><body>Sign in to the Wi-Fi</body></html>".into(),
    });
    let (out, _, _) = validate(&api.url(), "5s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("not with JSON"), "{err}");
    assert!(err.contains("--api-url"), "{err}");
    assert_eq!(api.count(), 1);
}

#[test]
fn not_found_names_the_domain_and_url_settings() {
    let api = FakeApi::always(Reply::json(404, r#"{"detail":"Not Found"}"#));
    let (out, _, _) = validate(&api.url(), "5s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("was not found (404)"), "{err}");
    assert!(err.contains("--domain"), "{err}");
    assert_eq!(api.count(), 1);
}

#[test]
fn a_redirect_loop_is_not_retried_until_the_deadline() {
    let api = FakeApi::always(Reply::redirect("/api/account"));
    let (out, took, _) = validate(&api.url(), "5s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("redirect"), "{err}");
    assert!(
        took < Duration::from_secs(3),
        "a redirect loop was retried: {took:?}"
    );
    assert!(api.count() <= 6, "{} requests", api.count());
}

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    // http:// is allowed only because the request stays on this machine; a proxy from the
    // environment would carry the key in plain text over the network.
    let proxy = FakeApi::always(Reply::ok("proxy"));
    let api = FakeApi::always(Reply::ok("ci-bot"));
    let sb = Sandbox::new();
    let key = canary();
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        let (out, _) = {
            let start = Instant::now();
            let out = sb
                .cmd(["validate", "--api-url", &api.url(), "--timeout", "5s", "--json"])
                .env("ANACONDA_AUTH_API_KEY", &key)
                .env(var, proxy.url())
                .timeout(Duration::from_secs(30))
                .run();
            (out, start.elapsed())
        };
        assert_eq!(out.exit().unwrap_or(-1), 0, "{var}: {}", out.stderr());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["validation"]["username"], "ci-bot", "{var}");
        assert_eq!(proxy.count(), 0, "{var}: the request went through the proxy");
    }
}

#[test]
fn a_username_cannot_inject_lines_into_the_log() {
    let api = FakeApi::always(Reply::json(
        200,
        r#"{"user":{"username":"ci-bot\n::warning::injected\r\n::set-output name=x::y\u001b[2J"}}"#,
    ));
    for json_flag in [false, true] {
        let (out, _, _) = validate(&api.url(), "5s", json_flag);
        assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
        for stream in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.lines().any(|l| l.trim_start().starts_with("::")), "{text}");
            assert!(!text.contains('\u{1b}'), "{text}");
        }
        if json_flag {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let name = json["validation"]["username"].as_str().unwrap();
            assert!(name.starts_with("ci-bot"), "{name}");
            assert!(!name.chars().any(char::is_control), "{name:?}");
        }
    }
}

#[test]
fn an_error_detail_cannot_inject_lines_into_the_log() {
    let api = FakeApi::always(Reply::json(
        401,
        r#"{"error":{"code":"auth_required\n::warning::injected\u001b]0;title\u0007"}}"#,
    ));
    let (out, _, _) = validate(&api.url(), "5s", true);
    assert_eq!(out.exit().unwrap_or(-1), 6, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("auth_required"), "{err}");
    assert!(!err.lines().any(|l| l.trim_start().starts_with("::")), "{err}");
    assert!(!err.contains('\u{1b}'), "{err}");
}

#[test]
fn a_long_username_holding_the_key_is_scrubbed_before_it_is_shortened() {
    let sb = Sandbox::new();
    let key = canary();
    let api = FakeApi::start(|req, _| {
        let auth = req.header("authorization").unwrap_or_default().to_owned();
        // Long enough that a cut at 256 characters falls inside the key's payload.
        let name = format!("{}{auth}", "x".repeat(130));
        Reply::json(200, &format!(r#"{{"user":{{"username":"{name}"}}}}"#))
    });
    let (out, _) = run(&sb, &key, &["validate", "--api-url", &api.url(), "--json"]);
    assert_eq!(out.exit().unwrap_or(-1), 0, "{}", out.stderr());
    assert_no_leak("stdout", &out.stdout, &key);
    assert_no_leak("stderr", &out.stderr, &key);
}

#[test]
fn a_redirect_without_location_is_a_clear_error() {
    let api = FakeApi::always(Reply::Status {
        code: 302,
        headers: vec![],
        body: String::new(),
    });
    let (out, _, _) = validate(&api.url(), "5s", false);
    assert_eq!(out.exit().unwrap_or(-1), 7, "{}", out.stderr());
    let err = out.stderr();
    assert!(err.contains("answered 302 without saying where to go"), "{err}");
    assert_eq!(api.count(), 1);
}
