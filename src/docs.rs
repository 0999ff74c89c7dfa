//! Documentation generated from the code and checked against it: the exit-code table (from
//! [`crate::error::Kind`]) and the environment-variable reference (from [`crate::env::REFERENCE`]).
//! `UPDATE_DOCS=1 cargo test docs` rewrites them; otherwise a stale copy fails the test. Every
//! other exit-code table in the repository's Markdown may only cite codes that exist.

use std::path::{Path, PathBuf};

use crate::env::REFERENCE;
use crate::error::Kind;

const BEGIN: &str = "<!-- exit-codes: generated from src/error.rs, do not edit -->\n";
const END: &str = "<!-- exit-codes: end -->\n";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn exit_code_table() -> String {
    crate::error::exit_code_markdown()
}

fn environment_reference() -> String {
    let mut out = String::from(
        "# Environment variables\n\n<!-- generated from src/env.rs by `UPDATE_DOCS=1 cargo test docs`; do not edit -->\n\n\
         Every variable anaconda-ci-auth reads or exports. Command-line options win over the variables\n\
         that provide their defaults.\n\n| variable | | what it does |\n| --- | --- | --- |\n",
    );
    for (name, how, what) in REFERENCE {
        let names: Vec<String> = name.split(", ").map(|n| format!("`{n}`")).collect();
        out.push_str(&format!("| {} | {how} | {what} |\n", names.join(", ")));
    }
    out
}

/// Compares `path` with `want`, or rewrites it when `UPDATE_DOCS` is set.
#[expect(
    clippy::disallowed_methods,
    reason = "a test switch, not configuration of the tool"
)]
fn check(path: &Path, want: &str) {
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have == want {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    panic!("{} is stale: run `UPDATE_DOCS=1 cargo test docs`", path.display());
}

#[test]
fn readme_exit_codes_are_generated_from_the_error_kinds() {
    let path = root().join("README.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        panic!("README.md has no generated exit-code table");
    };
    let want = format!("{}{BEGIN}{}{}", &text[..b], exit_code_table(), &text[e..]);
    check(&path, &want);
}

#[test]
fn environment_reference_is_generated_from_the_names() {
    check(&root().join("docs/environment.md"), &environment_reference());
    // Every `names::` constant appears in the reference.
    let source = std::fs::read_to_string(root().join("src/env.rs")).unwrap_or_default();
    let names_block = source.split("pub(crate) mod names {").nth(1).unwrap_or_default();
    for line in names_block.lines().take_while(|l| !l.starts_with('}')) {
        if let Some(value) = line.split('"').nth(1).filter(|_| line.contains("const")) {
            assert!(
                REFERENCE
                    .iter()
                    .any(|(n, _, _)| n.split(", ").any(|n| n == value)),
                "{value} is missing from env::REFERENCE"
            );
        }
    }
}

/// Markdown files of the repository (not under target/ or node_modules/).
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if p.is_dir() {
            markdown_files(&p, out);
        } else if name.ends_with(".md") {
            out.push(p);
        }
    }
}

#[test]
fn every_exit_code_table_cites_codes_that_exist() {
    let mut files = Vec::new();
    markdown_files(&root(), &mut files);
    assert!(files.len() > 3, "no Markdown found under {}", root().display());
    let mut known: Vec<u8> = Kind::ALL.iter().map(|k| k.exit_code()).collect();
    known.extend([crate::error::EXEC_FAILED, 126, 127]);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let mut in_table = false;
        for line in text.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() >= 3 && matches!(cells[1], "code" | "exit code") {
                in_table = true;
                continue;
            }
            if !line.starts_with('|') {
                in_table = false;
                continue;
            }
            if in_table && let Ok(code) = cells[1].parse::<u8>() {
                assert!(
                    code == 0 || known.contains(&code),
                    "{}: exit code {code} does not exist",
                    f.display()
                );
            }
        }
    }
}
