//! Property tests of the scrubber: any split of any output with embedded forms of a key (raw,
//! `Bearer`, base64 at any alignment, line-wrapped at any width, URL-encoded, JSON-escaped) is
//! scrubbed, and output without a form passes byte-identical; the stream scrubber's probe filter
//! writes, chunk by chunk, exactly what a search of the whole view writes.
//!
//! `PROPTEST_CASES=N` runs more cases than the default 256; `scripts/fuzz.sh` does a long run.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use proptest::sample::Index;

use super::*;
use crate::secret::ApiKey;

/// One piece of generated output.
#[derive(Clone, Debug)]
enum Piece {
    /// Text that is not a form (base64 characters, line breaks, quotes, `%` and the like).
    Filler(String),
    /// A proper prefix of the key, `n` characters long (not a form, must pass unchanged).
    KeyPrefix(Index),
    Raw,
    Bearer,
    /// The key inside other text (before, after), base64-encoded (URL-safe?) and wrapped at a
    /// width (never when `None`) with a line break and that many spaces after each break.
    Base64((String, String), bool, Option<usize>, &'static str, usize),
    Json,
    UrlEncoded,
}

fn filler() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=_.\\- \t\r\n\"%\\\\e]{0,40}"
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        4 => filler().prop_map(Piece::Filler),
        1 => any::<Index>().prop_map(Piece::KeyPrefix),
        1 => Just(Piece::Raw),
        1 => Just(Piece::Bearer),
        3 => (
            ("[ -~]{0,5}", "[ -~]{0,5}"),
            any::<bool>(),
            prop::option::of(1usize..100),
            prop::sample::select(vec!["\n", "\r\n", "\r"]),
            0usize..=MAX_INDENT,
        )
            .prop_map(|(context, url, width, brk, indent)| Piece::Base64(context, url, width, brk, indent)),
        1 => Just(Piece::Json),
        1 => Just(Piece::UrlEncoded),
    ]
}

/// A JWT-shaped key, or (as `--validate none` accepts) any printable key of a sane length, but
/// without `*`: a key's prefix next to a mask (`****`) would otherwise spell the key.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "eyJ[A-Za-z0-9_-]{10,60}\\.[A-Za-z0-9_-]{10,120}\\.[A-Za-z0-9_-]{10,80}",
        "[!-)+-~]{40,100}",
    ]
}

fn percent_encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn json_escape(key: &str) -> String {
    key.replace('\\', "\\\\").replace('"', "\\\"")
}

fn render(key: &str, pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Filler(s) => out.extend_from_slice(s.as_bytes()),
            Piece::KeyPrefix(n) => out.extend_from_slice(&key.as_bytes()[..n.index(key.len())]),
            Piece::Raw => out.extend_from_slice(key.as_bytes()),
            Piece::Bearer => out.extend_from_slice(format!("Bearer {key}").as_bytes()),
            Piece::Base64((before, after), url, width, brk, indent) => {
                let data = format!("{before}{key}{after}");
                let encoded = if *url {
                    URL_SAFE_NO_PAD.encode(data)
                } else {
                    STANDARD.encode(data)
                };
                let joint = format!("{brk}{}", " ".repeat(*indent));
                let lines: Vec<&[u8]> = encoded.as_bytes().chunks(width.unwrap_or(usize::MAX)).collect();
                out.extend_from_slice(&lines.join(joint.as_bytes()));
            }
            Piece::Json => out.extend_from_slice(json_escape(key).as_bytes()),
            Piece::UrlEncoded => out.extend_from_slice(percent_encode(key).as_bytes()),
        }
    }
    out
}

/// Pieces of the key's forms that must never appear in output whose line breaks and
/// indentation are removed: the key, its escaped forms, and the middle third of its base64 at
/// each alignment.
fn needles(key: &str) -> Vec<String> {
    let mut out = vec![key.to_owned(), json_escape(key), percent_encode(key)];
    for shift in 0..3 {
        let mut data = vec![b'x'; shift];
        data.extend_from_slice(key.as_bytes());
        for encoded in [STANDARD.encode(&data), URL_SAFE_NO_PAD.encode(&data)] {
            let third = encoded.len() / 3;
            out.push(encoded[third..2 * third].to_owned());
        }
    }
    out
}

/// `out` as the scrubber's view sees it: each single line break (at most `MAX_BREAK` CR/LF
/// bytes with one LF) and up to `MAX_INDENT` spaces or tabs after it removed; a blank line kept.
fn squeeze(out: &[u8]) -> String {
    let mut kept = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if !matches!(out[i], b'\r' | b'\n') {
            kept.push(out[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < out.len() && matches!(out[j], b'\r' | b'\n') {
            j += 1;
        }
        let lfs = out[i..j].iter().filter(|&&b| b == b'\n').count();
        if lfs > 1 || j - i > MAX_BREAK {
            kept.extend_from_slice(&out[i..j]);
        } else {
            let limit = (j + MAX_INDENT).min(out.len());
            while j < limit && matches!(out[j], b' ' | b'\t') {
                j += 1;
            }
        }
        i = j;
    }
    String::from_utf8_lossy(&kept).into_owned()
}

fn redactor_for(key: &str) -> Redactor {
    Redactor::new(ApiKey::new(key.to_owned()).derived_forms("anaconda.com"))
}

/// Feeds `input` to a stream scrubber in pieces cut at `cuts`.
fn scrub_split(r: &Redactor, input: &[u8], cuts: &[Index]) -> Vec<u8> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
    at.sort_unstable();
    let mut s = StreamScrubber::new(r);
    let mut out = Vec::new();
    let mut from = 0;
    for cut in at {
        out.extend(s.push(&input[from..cut]));
        from = cut;
    }
    out.extend(s.push(&input[from..]));
    out.extend(s.finish());
    out
}

proptest! {
    #[test]
    fn every_embedded_form_is_scrubbed_for_any_split(
        key in key(),
        pieces in prop::collection::vec(piece(), 1..12),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let r = redactor_for(&key);
        let input = render(&key, &pieces);
        let streamed = squeeze(&scrub_split(&r, &input, &cuts));
        let whole = squeeze(r.redact(&String::from_utf8_lossy(&input)).as_bytes());
        for needle in needles(&key) {
            prop_assert!(!streamed.contains(&needle), "stream leaks {:?} in {:?}", needle, streamed);
            prop_assert!(!whole.contains(&needle), "redact leaks {:?} in {:?}", needle, whole);
        }
    }

    #[test]
    fn output_without_forms_passes_byte_identical(
        key in key(),
        pieces in prop::collection::vec(
            prop_oneof![4 => filler().prop_map(Piece::Filler), 1 => any::<Index>().prop_map(Piece::KeyPrefix)],
            0..16,
        ),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let r = redactor_for(&key);
        let input = render(&key, &pieces);
        // Two prefixes of the key could in principle add up to the whole key; then it is a form.
        prop_assume!(!squeeze(&input).contains(&key));
        prop_assert_eq!(scrub_split(&r, &input, &cuts), input.clone());
        let text = String::from_utf8_lossy(&input).into_owned();
        prop_assert_eq!(r.redact(&text), text);
    }

    #[test]
    fn held_back_output_is_bounded_and_nothing_is_lost(
        key in key(),
        input in prop::collection::vec(any::<u8>(), 0..4096),
        cuts in prop::collection::vec(any::<Index>(), 0..32),
    ) {
        // Arbitrary bytes (not UTF-8, NULs, lone CRs) without a form: all of it comes out, and
        // what is held back never exceeds the bound of a form with a line break between each byte.
        let r = redactor_for(&key);
        prop_assume!(!squeeze(&input).contains(&key));
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        at.sort_unstable();
        let mut s = StreamScrubber::new(&r);
        let mut out = Vec::new();
        let mut from = 0;
        for cut in at.into_iter().chain([input.len()]) {
            out.extend(s.push(&input[from..cut]));
            prop_assert!(s.held() <= r.longest * (1 + MAX_BREAK + MAX_INDENT));
            from = cut;
        }
        out.extend(s.finish());
        prop_assert_eq!(out, input);
    }
}

/// Output as it comes from each `push` (and `finish`), for comparing two scrubbers chunk by chunk.
fn pushes(r: &Redactor, input: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
    at.sort_unstable();
    let mut s = StreamScrubber::new(r);
    let mut out = Vec::new();
    let mut from = 0;
    for cut in at.into_iter().chain([input.len()]) {
        out.push(s.push(&input[from..cut]));
        out.push(s.held().to_le_bytes().to_vec());
        from = cut;
    }
    out.push(s.finish().to_vec());
    out
}

/// Large output: pieces of the generated kind between long runs of one repeated filler (log
/// lines, wrapped base64 of other data, blank lines, indentation), so that forms lie far from
/// the ends of a chunk and from each other.
fn bulky() -> impl Strategy<Value = Vec<Piece>> {
    let bulk = ("[A-Za-z0-9+/ \t\r\n.=e]{1,80}", 1usize..3000)
        .prop_map(|(unit, times)| Piece::Filler(unit.repeat(times)));
    prop::collection::vec(prop_oneof![2 => bulk, 3 => piece()], 1..10)
}

proptest! {
    // Large inputs: a quarter of the cases (`PROPTEST_CASES` still scales them).
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.div_ceil(4), ..ProptestConfig::default() })]

    // The probe filter only decides where to build the view: what the stream scrubber writes after
    // each chunk, and what it holds back, is byte for byte what a search of the whole view of
    // every chunk gives.
    #[test]
    fn probed_search_writes_what_the_whole_view_search_writes(
        key in key(),
        pieces in bulky(),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let r = redactor_for(&key);
        prop_assert!(r.probes.is_some());
        let reference = redactor_for(&key).without_probes();
        let input = render(&key, &pieces);
        prop_assert_eq!(pushes(&r, &input, &cuts), pushes(&reference, &input, &cuts));
    }
}

proptest! {
    #[test]
    fn probed_search_agrees_on_small_outputs_too(
        key in key(),
        pieces in prop::collection::vec(piece(), 1..12),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let r = redactor_for(&key);
        let reference = redactor_for(&key).without_probes();
        let input = render(&key, &pieces);
        prop_assert_eq!(pushes(&r, &input, &cuts), pushes(&reference, &input, &cuts));
    }

    // A probe reads the bytes the whole text's view has at or after its position, however many
    // line breaks and spaces are around it.
    #[test]
    fn a_probe_reads_the_views_bytes(text in "[ab \t\r\n]{1,120}", at in any::<Index>()) {
        let text = text.as_bytes();
        let p = at.index(text.len());
        let mut view = View::default();
        view.build(text);
        let after: Vec<u8> = (0..view.bytes.len())
            .filter(|&v| view.orig(v) >= p)
            .map(|v| view.bytes[v])
            .take(GRAM)
            .collect();
        match gram_at(text, p) {
            Gram::Whole(g) => prop_assert_eq!(g.to_le_bytes().to_vec(), after),
            Gram::Short => prop_assert!(after.len() < GRAM, "{:?}", after),
            Gram::Unknown => prop_assert!(text[p - 64..=p].iter().all(|&b| is_space(b))),
        }
    }
}
