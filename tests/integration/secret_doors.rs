//! The key behind few doors: counts the places in `src/` (outside `#[cfg(test)]` items and
//! comments) that read the raw key through `.expose()` or `expose_secret()`, and fails when the
//! count grows past [`MAX_EXPOSE_SITES`].
//!
//! Lower the constant when a change removes call sites; never raise it without a reviewer
//! agreeing that the new door is needed.

use std::path::{Path, PathBuf};

/// The documented number of call sites of `.expose()` and `expose_secret()` in non-test code:
/// secret.rs (3: the accessor, fingerprint, derived forms), redact.rs (3: building the matchers),
/// the checks (jwt, online, source: 3), the platforms' masks and GitLab's maskability (3), the
/// key's own files (keyring entry, the env-mode key file, docker-secret's key file, exported
/// pairs: 4) and one per client file format (rattler, mamba, netrc: 3).
const MAX_EXPOSE_SITES: usize = 19;

/// The patterns that read the raw key (or a derived form of it).
const DOORS: &[&str] = &[".expose()", "expose_secret()"];

#[test]
fn the_raw_key_is_read_in_no_more_places_than_documented() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sites = Vec::new();
    for file in rust_files(&src) {
        if is_test_module_file(&file) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = strip_test_items(&mask_comments_and_strings(&text));
        for door in DOORS {
            for (i, _) in code.match_indices(door) {
                let line = code[..i].matches('\n').count() + 1;
                sites.push(format!("{}:{line}", file.strip_prefix(&src).unwrap().display()));
            }
        }
    }
    sites.sort();
    assert!(
        !sites.is_empty(),
        "found no call site at all: is the scan still reading src/?"
    );
    assert!(
        sites.len() <= MAX_EXPOSE_SITES,
        "{} call sites read the raw key (at most {MAX_EXPOSE_SITES} are documented): {sites:#?}",
        sites.len()
    );
}

#[test]
fn the_scan_skips_tests_comments_and_strings() {
    let text = r#"
fn a(k: &ApiKey) -> &str { k.expose() }
// k.expose() in a comment
/* k.expose() in a block comment */
fn b() -> &'static str { "k.expose() in a string" }
fn c() -> char { '"' }
#[cfg(test)]
mod tests {
    fn t(k: &ApiKey) { let _ = k.expose(); let _ = "{"; }
}
fn d(s: &SecretString) -> &str { s.expose_secret() }
"#;
    let code = strip_test_items(&mask_comments_and_strings(text));
    let count: usize = DOORS.iter().map(|d| code.matches(d).count()).sum();
    assert_eq!(count, 2, "{code}");
}

/// Whether `file` (`src/a/b.rs`) is a module its parent (`src/a.rs` or `src/a/mod.rs`) declares
/// under `#[cfg(test)]`.
fn is_test_module_file(file: &Path) -> bool {
    let (Some(name), Some(dir)) = (file.file_stem().and_then(|n| n.to_str()), file.parent()) else {
        return false;
    };
    let parents = [dir.with_extension("rs"), dir.join("mod.rs")];
    parents
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|text| {
            let lines: Vec<&str> = text.lines().map(str::trim).collect();
            lines
                .windows(2)
                .any(|w| w[0] == "#[cfg(test)]" && w[1] == format!("mod {name};"))
        })
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// `text` with comments, string and char literals replaced by spaces (newlines kept), so that
/// neither a pattern nor a brace inside them counts.
fn mask_comments_and_strings(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < c.len() {
        if c[i] == '/' && at(&c, i + 1) == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && at(&c, i + 1) == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(&c, i + 1) == Some('*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && at(&c, i + 1) == Some('/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (at(&c, i + 1) == Some('"') || at(&c, i + 1) == Some('#'))
            && !ident_before(&c, i)
        {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            while j < c.len() && !c[j..].iter().collect::<String>().starts_with(&closing) {
                j += 1;
            }
            let end = (j + closing.len()).min(c.len());
            for ch in &c[i..end] {
                out.push(blank(*ch));
            }
            i = end;
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' && (at(&c, i + 1) == Some('\\') || at(&c, i + 2) == Some('\'')) {
            // A char literal ('x' or '\n'); a lifetime ('a) has no closing quote.
            let mut j = i + 1;
            if c[j] == '\\' {
                j += 2;
            } else {
                j += 1;
            }
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            for _ in i..=j.min(c.len() - 1) {
                out.push(' ');
            }
            i = j + 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn at(c: &[char], i: usize) -> Option<char> {
    c.get(i).copied()
}

fn ident_before(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

/// `code` (already without comments and strings) with every `#[cfg(test)]` item removed: up to
/// the end of its `{ ... }` block, or to the `;` of a block-less item.
fn strip_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let open = item.find('{');
        let semi = item.find(';');
        let end = match (open, semi) {
            (Some(o), Some(s)) if s < o => s + 1,
            (Some(o), _) => {
                let mut depth = 0;
                let mut end = item.len();
                for (k, ch) in item[o..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(s)) => s + 1,
            (None, None) => item.len(),
        };
        // Keep the line count, so reported line numbers stay right.
        out.extend(item[..end].chars().filter(|c| *c == '\n'));
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}
