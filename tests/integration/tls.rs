//! Online validation over real TLS: `openssl s_server` on 127.0.0.1 with a certificate from a
//! throwaway CA, trusted only through `--ca-bundle` or `SSL_CERT_FILE`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::fake_api::closed_port;

/// A running `openssl s_server -WWW` serving `api/account`; killed when dropped.
struct TlsServer {
    child: Child,
    port: u16,
    ca: PathBuf,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed for the TLS tests");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_tls_server(dir: &Path) -> TlsServer {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=anaconda-ci-auth test CA",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
        ],
    );
    std::fs::create_dir_all(dir.join("api")).unwrap();
    std::fs::write(dir.join("api/account"), r#"{"user":{"username":"tls-bot"}}"#).unwrap();
    let port = closed_port();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
            "leaf.pem",
            "-key",
            "leaf.key",
        ])
        .args(["-WWW", "-quiet", "-naccept", "20"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    let server = TlsServer {
        child,
        port,
        ca: dir.join("ca.pem"),
    };
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

fn validate(sb: &Sandbox, key: &str, env: &[(&str, &str)], args: &[&str]) -> (Run, Duration) {
    let out = sb
        .cmd(["validate"])
        .args(args)
        .key(key)
        .envs(env)
        .timeout(Duration::from_secs(30))
        .run();
    let took = out.took;
    (out, took)
}

#[test]
fn untrusted_certificate_then_trusted_through_ca_bundle_and_ssl_cert_file() {
    let sb = Sandbox::new();
    let pki = sb.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let server = start_tls_server(&pki);
    let url = format!("https://127.0.0.1:{}", server.port);
    let key = canary();

    let (out, took) = validate(&sb, &key, &[], &["--api-url", &url, "--timeout", "10s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains("signed by a CA this machine does not trust"),
        "{err}"
    );
    assert!(
        err.contains("--ca-bundle, SSL_CERT_FILE or REQUESTS_CA_BUNDLE"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(5),
        "a certificate error is not worth retrying: {took:?}"
    );

    let ca = server.ca.to_str().unwrap();
    let (out, _) = validate(&sb, &key, &[], &["--api-url", &url, "--ca-bundle", ca, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["validation"]["username"], "tls-bot");

    // Trusted CA, but the certificate is for 127.0.0.1, not localhost.
    let other_name = format!("https://localhost:{}", server.port);
    let (out, _) = validate(
        &sb,
        &key,
        &[],
        &["--api-url", &other_name, "--ca-bundle", ca, "--timeout", "10s"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("certificate is for another host name"), "{err}");

    let (out, _) = validate(
        &sb,
        &key,
        &[("SSL_CERT_FILE", ca)],
        &["--api-url", &url, "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (out, _) = validate(
        &sb,
        &key,
        &[("REQUESTS_CA_BUNDLE", ca)],
        &["--api-url", &url, "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_ca_bundle_that_is_not_pem_is_a_usage_error() {
    let sb = Sandbox::new();
    let bad = sb.path().join("not-a-cert.pem");
    std::fs::write(&bad, "hello").unwrap();
    let key = canary();
    let url = format!("https://127.0.0.1:{}", closed_port());
    let (out, _) = validate(
        &sb,
        &key,
        &[],
        &[
            "--api-url",
            &url,
            "--timeout",
            "2s",
            "--ca-bundle",
            bad.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a PEM certificate bundle"), "{err}");
}
