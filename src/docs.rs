//! Documentation generated from the code and checked against it: the exit-code table (from
//! [`crate::error::Kind`]) and the environment-variable reference (from [`crate::env::REFERENCE`]).
//! `UPDATE_DOCS=1 cargo test docs` rewrites them; otherwise a stale copy fails the test. The
//! README's table is the only list of exit codes: other Markdown links to it, and may cite single
//! codes that exist. Every relative link and `#anchor` in the repository's Markdown resolves.

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

/// The names of the variables `src/` reads through [`crate::env::Env`] by a literal name
/// (`env.get("NAME")`, `.path("NAME")`, `.is_true("NAME")`), outside test modules.
fn variables_read_in(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            variables_read_in(&p, out);
            continue;
        }
        // This file names the calls it looks for.
        let Ok(text) =
            std::fs::read_to_string(&p).map(|t| if p.ends_with("docs.rs") { String::new() } else { t })
        else {
            continue;
        };
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        for call in [".get(\"", ".path(\"", ".is_true(\""] {
            for (i, _) in code.match_indices(call) {
                let name: String = code[i + call.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !name.is_empty() && code[i + call.len() + name.len()..].starts_with('"') {
                    out.push((name, p.display().to_string()));
                }
            }
        }
    }
}

#[test]
fn every_variable_the_code_reads_is_in_the_reference() {
    let mut read = Vec::new();
    variables_read_in(&root().join("src"), &mut read);
    assert!(
        read.len() > 20,
        "only {} variables found: is the scan broken?",
        read.len()
    );
    let missing: Vec<String> = read
        .iter()
        .filter(|(name, _)| !REFERENCE.iter().any(|(n, _, _)| n.split(", ").any(|n| n == name)))
        .map(|(name, file)| format!("{name} (read in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from env::REFERENCE:\n{}",
        missing.join("\n")
    );
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

/// The text of a Markdown file without fenced code blocks (other lines kept, so line numbers
/// stay right) and without inline code spans.
fn prose(text: &str) -> Vec<String> {
    let mut fenced = false;
    text.lines()
        .map(|line| {
            let t = line.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                fenced = !fenced;
                return String::new();
            }
            if fenced {
                return String::new();
            }
            // Drop `code spans`: what is inside them is an example, not a link or a claim.
            line.split('`')
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, part)| part)
                .collect()
        })
        .collect()
}

/// The number right after each `exit`, `exit code`, `exit status` or `status` in a line, with
/// what follows it.
fn cited_codes(line: &str) -> Vec<(u32, &str)> {
    let lower = line.to_ascii_lowercase();
    let mut out = Vec::new();
    for word in ["exit code ", "exit status ", "exit ", "status "] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(word) {
            let start = from + i + word.len();
            from = start;
            let digits: String = line[start..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(code) = digits.parse::<u32>() {
                out.push((code, &line[start + digits.len()..]));
            }
        }
    }
    out
}

fn is_exit_code_table_header(line: &str) -> bool {
    let cells: Vec<String> = line.split('|').map(|c| c.trim().to_ascii_lowercase()).collect();
    cells.len() >= 3 && matches!(cells[1].as_str(), "code" | "exit code" | "status" | "exit status")
}

/// Problems with the exit codes a Markdown file other than README.md mentions.
fn exit_code_problems(name: &str, text: &str) -> Vec<String> {
    let meaning = |code: u32| {
        Kind::ALL
            .iter()
            .find(|k| u32::from(k.exit_code()) == code)
            .map(|k| k.meaning())
    };
    let links_to_table = text.contains("README.md#exit-codes");
    let lines = prose(text);
    let mut out = Vec::new();
    // "3 key missing, 4 malformed, ...": a list of codes with meanings, in one paragraph, is a
    // copy too.
    let mut first = 0;
    for (n, line) in lines.iter().enumerate().chain([(lines.len(), &String::new())]) {
        if !line.trim().is_empty() {
            continue;
        }
        let paragraph = lines[first..n].join(" ");
        let listed = paragraph
            .split([',', ':', ';'])
            .filter(|part| {
                let mut words = part.split_whitespace();
                let code = words.next().and_then(|w| w.parse::<u32>().ok());
                code.is_some_and(|c| meaning(c).is_some())
                    && words.next().is_some_and(|w| w.starts_with(char::is_lowercase))
            })
            .count();
        if listed >= 2 && paragraph.to_ascii_lowercase().contains("exit") {
            out.push(format!(
                "{name}:{}: a list of exit codes; link to README.md#exit-codes instead",
                first + 1
            ));
        }
        first = n + 1;
    }
    for (n, line) in lines.iter().enumerate() {
        let at = format!("{name}:{}", n + 1);
        if line.starts_with('|') && is_exit_code_table_header(line) {
            out.push(format!(
                "{at}: a copy of the exit-code table; link to README.md#exit-codes instead"
            ));
        }
        for (code, rest) in cited_codes(line) {
            // 0, the failure classes, and `exec`'s conventions (125 and up: its own failures,
            // a command that could not run or was not found, 128+N for a signal).
            let Some(m) = meaning(code) else {
                if code != 0 && code < 125 {
                    out.push(format!("{at}: exit code {code} does not exist"));
                }
                continue;
            };
            if let Some(said) = rest.strip_prefix(" (").and_then(|r| r.split(')').next())
                && said != m
                && !said.starts_with(|c: char| c.is_ascii_digit())
            {
                out.push(format!("{at}: exit code {code} is \"{m}\", not \"{said}\""));
            }
            if !links_to_table {
                out.push(format!(
                    "{at}: cites exit code {code} without a link to README.md#exit-codes"
                ));
            }
        }
    }
    out
}

#[test]
fn the_readme_table_is_the_only_list_of_exit_codes() {
    let mut files = Vec::new();
    markdown_files(&root(), &mut files);
    assert!(files.len() > 3, "no Markdown found under {}", root().display());
    let mut problems = Vec::new();
    for f in files.iter().filter(|f| **f != root().join("README.md")) {
        let name = f.strip_prefix(root()).unwrap_or(f).display().to_string();
        problems.extend(exit_code_problems(
            &name,
            &std::fs::read_to_string(f).unwrap_or_default(),
        ));
    }
    assert!(
        problems.is_empty(),
        "exit codes in the docs:\n{}",
        problems.join("\n")
    );
}

#[test]
fn exit_code_checks_catch_copies_wrong_meanings_and_unknown_codes() {
    let table = "| exit code | meaning |\n| --- | --- |\n| 3 | no key |\n";
    assert!(exit_code_problems("t.md", table)[0].contains("a copy of the exit-code table"));
    let list = "Errors end the step with exit codes: 3 key missing,\n4 malformed.\n";
    assert!(
        exit_code_problems("t.md", list)
            .iter()
            .any(|p| p.contains("a list of exit codes"))
    );
    let wrong = "It fails with exit code 6 (the key has expired). [codes](README.md#exit-codes)\n";
    assert_eq!(
        exit_code_problems("t.md", wrong).len(),
        1,
        "{:?}",
        exit_code_problems("t.md", wrong)
    );
    let unknown = "It fails with exit status 42. [codes](README.md#exit-codes)\n";
    assert!(exit_code_problems("t.md", unknown)[0].contains("does not exist"));
    let unlinked = "It fails with exit code 3.\n";
    assert!(exit_code_problems("t.md", unlinked)[0].contains("without a link"));
    let good = "A missing key ends it with exit code 3 (no key found), see [codes](README.md#exit-codes); \
                a signal with 128+N, `exit 9` in code is not prose.\n";
    assert_eq!(exit_code_problems("t.md", good), Vec::<String>::new());
}

/// GitHub's anchor for a heading: lowercase, letters, digits, `-` and `_` kept, spaces to `-`,
/// everything else (punctuation, backticks) dropped; link text kept, link targets dropped.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    while let Some(i) = rest.find("](") {
        text.push_str(&rest[..i]);
        rest = rest[i..].split_once(')').map_or("", |(_, r)| r);
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings, with GitHub's `-1`, `-2` for repeated ones.
fn anchors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~") {
            fenced = !fenced;
        }
        let Some(heading) = line.strip_prefix('#').filter(|_| !fenced) else {
            continue;
        };
        let base = slug(heading.trim_start_matches('#').trim_end_matches('#'));
        let repeats = seen.entry(base.clone()).or_default();
        out.push(if *repeats == 0 {
            base
        } else {
            format!("{base}-{repeats}")
        });
        *repeats += 1;
    }
    out
}

/// The targets of the inline links `[text](target)` in a line of prose.
fn link_targets(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &line[i + 2..];
            let end = rest.find(')')?;
            Some(rest[..end].split_whitespace().next().unwrap_or_default())
        })
        .collect()
}

/// Broken relative links and anchors in the Markdown file `file`.
fn link_problems(file: &Path, text: &str) -> Vec<String> {
    let name = file.strip_prefix(root()).unwrap_or(file).display().to_string();
    let mut out = Vec::new();
    for (n, line) in prose(text).iter().enumerate() {
        for target in link_targets(line) {
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let resolved = match path {
                "" => file.to_path_buf(),
                p if p.starts_with('/') => root().join(p.trim_start_matches('/')),
                p => file.parent().unwrap_or(&root()).join(p),
            };
            if !resolved.exists() {
                out.push(format!(
                    "{name}:{}: `{target}`: {} does not exist",
                    n + 1,
                    resolved.display()
                ));
                continue;
            }
            if anchor.is_empty() {
                continue;
            }
            let there = std::fs::read_to_string(&resolved).unwrap_or_default();
            if !anchors(&there).iter().any(|a| a == anchor) {
                out.push(format!(
                    "{name}:{}: `{target}`: no heading with the anchor #{anchor}",
                    n + 1
                ));
            }
        }
    }
    out
}

#[test]
fn every_relative_link_and_anchor_in_the_markdown_resolves() {
    let mut files = Vec::new();
    markdown_files(&root(), &mut files);
    let mut problems = Vec::new();
    let mut links = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        links += prose(&text).iter().map(|l| link_targets(l).len()).sum::<usize>();
        problems.extend(link_problems(f, &text));
    }
    assert!(links > 20, "only {links} links found: is the parser broken?");
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
}

#[test]
fn link_checks_catch_missing_files_and_anchors() {
    assert_eq!(
        slug(" `--sweep` and the *job* directory (v2)"),
        "--sweep-and-the-job-directory-v2"
    );
    assert_eq!(
        slug(" Step order with [setup-pixi](x.md)"),
        "step-order-with-setup-pixi"
    );
    assert_eq!(
        anchors("# A\n## B\n```\n# not a heading\n```\n## B\n## B\n"),
        ["a", "b", "b-1", "b-2"]
    );
    let readme = root().join("README.md");
    let text = "[ok](#exit-codes) [ok](docs/environment.md) [bad](#no-such-section)\n\
                [bad](docs/missing.md) [bad](gitlab/README.md#nope) `[code](#ignored)` [web](https://x.invalid/#y)\n";
    let problems = link_problems(&readme, text);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("#no-such-section"));
    assert!(problems[1].contains("does not exist"));
    assert!(problems[2].contains("#nope"));
}
