//! `exec`'s output scrubber through the real binary: forms of the key that tools wrap over several
//! lines (`base64`, `openssl base64`, MIME line endings, indented blocks), written in small pieces.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::common::*;

/// Runs `exec --mode env --validate offline -- sh -c SCRIPT` with the canary key; it must succeed.
fn exec_sh(sb: &Sandbox, key: &str, script: &str) -> Run {
    let out = sb
        .cmd([
            "exec",
            "--mode",
            "env",
            "--validate",
            "offline",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env("ANACONDA_AUTH_API_KEY", key)
        .timeout(Duration::from_secs(60))
        .run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    out
}

/// The base64 of `key` as it appears inside the encoding of a larger text, at each of the three
/// alignments, without the characters that depend on its neighbours.
fn base64_cores(key: &str) -> Vec<String> {
    (0..3)
        .map(|shift| {
            let mut data = vec![b'x'; shift];
            data.extend_from_slice(key.as_bytes());
            let encoded = STANDARD.encode(&data);
            let skip = if shift == 0 { 0 } else { shift + 1 };
            encoded[skip..(data.len() / 3) * 4].to_owned()
        })
        .collect()
}

/// Fails if `stream`, with all line breaks and indentation removed, contains any base64 form of `key`.
fn assert_no_wrapped_leak(what: &str, stream: &[u8], key: &str) {
    assert_no_leak(what, stream, key);
    let joined: String = String::from_utf8_lossy(stream)
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r' | ' ' | '\t'))
        .collect();
    for core in base64_cores(key) {
        // A third of the core is enough to decode a long piece of the key.
        let piece = &core[..core.len() / 3];
        assert!(
            !joined.contains(piece),
            "{what} contains wrapped base64 of the key: {joined}"
        );
    }
}

// Regression: `base64` wraps at 76 columns; no line held a whole form, so the encoded key
// passed the scrubber and decoded back.
#[test]
fn exec_scrubs_line_wrapped_base64_of_the_key() {
    let sb = Sandbox::new();
    let key = canary();
    let script = r#"
        k="$ANACONDA_AUTH_API_KEY"
        for fd in 1 2; do
            {
                echo "default:"; printf %s "$k" | base64
                echo "w64:"; printf %s "$k" | base64 -w 64
                echo "w7:"; printf 'prefix %s suffix' "$k" | base64 -w 7
                echo "openssl:"; printf %s "$k" | openssl base64
                echo "crlf:"; printf '{"k":"%s"}' "$k" | base64 -w 76 | sed 's/$/\r/'
                echo "indented:"; printf 'xy%s' "$k" | base64 -w 40 | sed 's/^/    /'
                echo "done"
            } >&"$fd"
        done
    "#;
    let out = exec_sh(&sb, &key, script);
    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert_no_wrapped_leak(name, stream, &key);
        let text = String::from_utf8_lossy(stream);
        for label in [
            "default:",
            "w64:",
            "w7:",
            "openssl:",
            "crlf:",
            "indented:",
            "done",
        ] {
            assert!(text.contains(label), "{name}: {text}");
        }
        assert!(text.contains("****\n****\n"), "{name}: {text}");
    }
}

#[test]
fn exec_scrubs_wrapped_base64_written_a_few_bytes_at_a_time() {
    let sb = Sandbox::new();
    let key = canary();
    // dd writes each block as soon as it is read: a few bytes per write, breaks included.
    let script = r#"
        printf %s "$ANACONDA_AUTH_API_KEY" | base64 -w 76 | dd bs=5 status=none
        printf %s "$ANACONDA_AUTH_API_KEY" | base64 -w 13 | sed 's/$/\r/' | dd bs=3 status=none
        echo end
    "#;
    let out = exec_sh(&sb, &key, script);
    assert_no_wrapped_leak("stdout", &out.stdout, &key);
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("****\r\nend\n"));
}

#[test]
fn exec_passes_wrapped_base64_of_other_data_unchanged() {
    let sb = Sandbox::new();
    let key = canary();
    let script = r#"head -c 30000 /dev/urandom | base64; printf 'a\r\n\r\nb\n  c\n'"#;
    let out = exec_sh(&sb, &key, script);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("****"), "{text}");
    let (b64, tail) = text.split_at(text.len() - "a\r\n\r\nb\n  c\n".len());
    assert_eq!(tail, "a\r\n\r\nb\n  c\n");
    assert_eq!(STANDARD.decode(b64.replace('\n', "")).unwrap().len(), 30_000);
}
