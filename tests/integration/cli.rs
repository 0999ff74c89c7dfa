//! Setup, cleanup, status, validate and docker-secret through the real binary, offline.

use crate::common::*;

#[test]
fn setup_offline_writes_spec_keyring_and_cleans_up() {
    let sb = Sandbox::new();
    let key = canary();
    let out = sb
        .cmd()
        .env("MY_SECRET", format!("{key}\n"))
        .args([
            "setup",
            "--api-key-env",
            "MY_SECRET",
            "--validate",
            "offline",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_no_leak("stdout", &out.stdout, &key);
    assert_no_leak("stderr", &out.stderr, &key);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = std::path::PathBuf::from(json["dir"].as_str().unwrap());
    assert!(dir.starts_with(sb.tmpdir()));
    let keyring = std::path::PathBuf::from(json["keyring_path"].as_str().unwrap());
    let text = std::fs::read_to_string(&keyring).unwrap();
    assert!(text.starts_with(r#"{"Anaconda Cloud": {"anaconda.com": ""#));
    assert_no_leak_in_tree(&dir, &key, std::slice::from_ref(&keyring));
    assert_eq!(json["validation"]["mode"], "offline");
    assert_eq!(json["env"]["ANACONDA_AUTH_USE_UNIFIED_REPO_API_KEY"], "true");

    let out = sb
        .cmd()
        .args(["cleanup", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!dir.exists());
    let again = sb
        .cmd()
        .args(["cleanup", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(again.status.success(), "cleanup must be idempotent");
}
