//! Scrubbing the key and its derived forms out of text: whole strings, and byte streams as they flow.
//!
//! Matching runs on a *view* of the text in which single line breaks (`\n`, `\r\n`, `\r`, and the
//! indentation after them) are skipped, so a form wrapped at any width (`base64`, PEM, MIME, `fold`)
//! is found like an unbroken one. The output keeps the original bytes: every masked piece becomes
//! `****` and the line breaks between pieces stay. The stream scrubber holds back only the tail that
//! could still become a secret with more input, so output appears promptly and memory stays flat.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::{Zeroize as _, Zeroizing};

/// What replaces a secret.
pub(crate) const MASK: &str = "****";

/// The most CR/LF bytes in one line break (`\r\r\n` comes from a doubled conversion). A longer
/// run, or one with two LFs, is a blank line: it is kept in the view and ends a form.
const MAX_BREAK: usize = 3;
/// Spaces and tabs skipped after a line break (indented PEM, YAML block scalars).
const MAX_INDENT: usize = 16;

/// A set of secret strings to replace with [`MASK`].
pub(crate) struct Redactor {
    matcher: Option<AhoCorasick>,
    /// The patterns as the view sees them (no line breaks), longest first.
    patterns: Vec<Zeroizing<Vec<u8>>>,
    /// Which bytes start a pattern (to find a tail worth holding back quickly).
    starts: [bool; 256],
    longest: usize,
}

impl Redactor {
    pub(crate) fn new(patterns: Vec<SecretString>) -> Self {
        let mut view = View::default();
        let mut normalized: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for p in &patterns {
            view.build(p.expose_secret().as_bytes());
            let p = Zeroizing::new(view.bytes.clone());
            if !p.is_empty() && !normalized.contains(&p) {
                normalized.push(p);
            }
        }
        view.wipe();
        normalized.sort_by_key(|p| std::cmp::Reverse(p.len()));
        let mut starts = [false; 256];
        for p in &normalized {
            starts[usize::from(p[0])] = true;
        }
        let matcher = if normalized.is_empty() {
            None
        } else {
            // A contiguous NFA builds in a fraction of the time and memory of a DFA for these few
            // long patterns; its prefilter skips quickly over text that cannot start a pattern.
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::LeftmostLongest)
                .build(normalized.iter().map(|p| p.as_slice()))
                .ok()
        };
        Self {
            matcher,
            longest: normalized.first().map_or(0, |p| p.len()),
            patterns: normalized,
            starts,
        }
    }

    pub(crate) fn empty() -> Self {
        Self {
            matcher: None,
            patterns: Vec::new(),
            starts: [false; 256],
            longest: 0,
        }
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        if self.matcher.is_none() {
            return text.to_owned();
        }
        let mut view = View::default();
        let mut ranges = Vec::new();
        view.build(text.as_bytes());
        self.find(&view, 0..0, &mut ranges);
        let out = if ranges.is_empty() {
            text.to_owned()
        } else {
            let mut out = Vec::with_capacity(text.len());
            emit(&view, text.as_bytes(), &ranges, text.len(), false, &mut out);
            // Masks and kept line breaks are ASCII and replace whole (ASCII) patterns.
            String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        };
        view.wipe();
        out
    }

    /// Collects into `ranges` the parts of the text (sorted, overlaps merged) where a pattern
    /// occurs in its view, and `forced` (a part already known to be secret).
    fn find(&self, view: &View, forced: Range<usize>, ranges: &mut Vec<Range<usize>>) {
        ranges.clear();
        if !forced.is_empty() {
            ranges.push(forced);
        }
        if let Some(m) = &self.matcher {
            // After a match, search again from its second byte (not from its end), so a pattern
            // that starts inside it and goes on past it is found too.
            let mut input = aho_corasick::Input::new(view.bytes.as_slice());
            while let Some(found) = m.find(input.clone()) {
                ranges.push(view.orig(found.start())..view.orig(found.end() - 1) + 1);
                input.set_start(found.start() + 1);
            }
        }
        if ranges.len() > 1 {
            ranges.sort_unstable_by_key(|r| r.start);
            let mut w = 0;
            for i in 1..ranges.len() {
                if ranges[i].start < ranges[w].end {
                    ranges[w].end = ranges[w].end.max(ranges[i].end);
                } else {
                    w += 1;
                    ranges[w] = ranges[i].clone();
                }
            }
            ranges.truncate(w + 1);
        }
    }

    /// Where the longest tail of `view` that is a proper prefix of a pattern starts, if any.
    fn hold_start(&self, view: &[u8]) -> Option<usize> {
        let lo = view.len().saturating_sub(self.longest.saturating_sub(1));
        (lo..view.len()).find(|&q| {
            self.starts[usize::from(view[q])]
                && self
                    .patterns
                    .iter()
                    .any(|p| p.len() > view.len() - q && p.starts_with(&view[q..]))
        })
    }
}

/// A text with its single line breaks skipped, and where each kept run of bytes came from.
#[derive(Default)]
struct View {
    bytes: Vec<u8>,
    /// (offset in `bytes`, offset in the text) of each run of kept bytes, in order.
    runs: Vec<(usize, usize)>,
}

impl View {
    fn build(&mut self, text: &[u8]) {
        self.bytes.clear();
        self.runs.clear();
        let mut kept = 0;
        let mut at = 0;
        while let Some(found) = memchr::memchr2(b'\n', b'\r', &text[at..]) {
            let brk = at + found;
            let mut end = brk;
            let mut lfs = 0;
            while end < text.len() && matches!(text[end], b'\n' | b'\r') {
                lfs += usize::from(text[end] == b'\n');
                end += 1;
            }
            if lfs > 1 || end - brk > MAX_BREAK {
                at = end;
                continue;
            }
            let indent_end = (end + MAX_INDENT).min(text.len());
            while end < indent_end && matches!(text[end], b' ' | b'\t') {
                end += 1;
            }
            self.keep(text, kept, brk);
            kept = end;
            at = end;
        }
        self.keep(text, kept, text.len());
    }

    fn keep(&mut self, text: &[u8], from: usize, to: usize) {
        if from < to {
            self.runs.push((self.bytes.len(), from));
            self.bytes.extend_from_slice(&text[from..to]);
        }
    }

    /// The length of kept run `i`.
    fn run_len(&self, i: usize) -> usize {
        self.runs.get(i + 1).map_or(self.bytes.len(), |r| r.0) - self.runs[i].0
    }

    /// The offset in the text of view byte `v` (which exists).
    fn orig(&self, v: usize) -> usize {
        let i = self.runs.partition_point(|r| r.0 <= v).saturating_sub(1);
        let (vs, os) = self.runs[i];
        os + (v - vs)
    }

    fn wipe(&mut self) {
        self.bytes.zeroize();
        self.runs.clear();
    }
}

/// Appends `text[..upto]` to `out` with the ranges masked, cut at `upto`. `continued`: `out`
/// already ends in the mask of a range that goes on at the start of `text`. Returns how far the
/// last range written reaches past `upto`.
fn emit(
    view: &View,
    text: &[u8],
    ranges: &[Range<usize>],
    upto: usize,
    continued: bool,
    out: &mut Vec<u8>,
) -> usize {
    let mut at = 0;
    let mut beyond = 0;
    for r in ranges.iter().take_while(|r| r.start < upto) {
        out.extend_from_slice(&text[at..r.start]);
        at = r.end.min(upto);
        mask(view, text, r.start..at, continued && r.start == 0, out);
        beyond = r.end - at;
    }
    out.extend_from_slice(&text[at..upto]);
    beyond
}

/// Appends one [`MASK`] for each piece of `r` between skipped line breaks (but none for the first
/// piece when it continues a mask already written), and those line breaks.
fn mask(view: &View, text: &[u8], r: Range<usize>, continued: bool, out: &mut Vec<u8>) {
    let mut i = view
        .runs
        .partition_point(|run| run.1 <= r.start)
        .saturating_sub(1);
    let mut at = r.start;
    while at < r.end {
        let piece_end = (view.runs[i].1 + view.run_len(i)).min(r.end);
        if at < piece_end && !(continued && at == r.start) {
            out.extend_from_slice(MASK.as_bytes());
        }
        let next = view.runs.get(i + 1).map_or(r.end, |run| run.1).min(r.end);
        out.extend_from_slice(&text[piece_end..next]);
        at = next;
        i += 1;
    }
}

/// Scrubs a byte stream chunk by chunk.
pub(crate) struct StreamScrubber<'a> {
    redactor: &'a Redactor,
    /// The tail held back from the last chunk: it could still become a secret.
    pending: Vec<u8>,
    /// How many bytes at the start of `pending` belong to a secret already partly masked.
    carry: usize,
    /// `pending` and the new chunk, when something was held back.
    joined: Vec<u8>,
    view: View,
    ranges: Vec<Range<usize>>,
}

impl<'a> StreamScrubber<'a> {
    pub(crate) fn new(redactor: &'a Redactor) -> Self {
        Self {
            redactor,
            pending: Vec::new(),
            carry: 0,
            joined: Vec::new(),
            view: View::default(),
            ranges: Vec::new(),
        }
    }

    /// Feeds a chunk; returns what can be written now.
    ///
    /// Matches are found in the view of the held-back tail and the chunk; everything is emitted
    /// with the matches masked except the longest tail that could still become a secret with more
    /// input. When that tail starts inside a match, the match's first part is emitted masked and
    /// the rest is remembered as secret, so it is masked too whatever follows.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.redactor.matcher.is_none() {
            return chunk.to_vec();
        }
        let mut out = Vec::with_capacity(self.pending.len() + chunk.len() + MASK.len());
        if self.pending.is_empty() {
            let ready = self.scrub(chunk, false, &mut out);
            self.pending.extend_from_slice(&chunk[ready..]);
        } else {
            let mut text = std::mem::take(&mut self.joined);
            text.extend_from_slice(&self.pending);
            text.extend_from_slice(chunk);
            self.pending.zeroize();
            let ready = self.scrub(&text, false, &mut out);
            self.pending.extend_from_slice(&text[ready..]);
            text.zeroize();
            self.joined = text;
        }
        out
    }

    /// Flushes what is held back at end of stream.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let text = std::mem::take(&mut self.pending);
        let mut out = Vec::with_capacity(text.len());
        self.scrub(&text, true, &mut out);
        drop(Zeroizing::new(text));
        out
    }

    /// Appends the part of `text` that can be written now to `out`, masked; returns its length.
    fn scrub(&mut self, text: &[u8], at_end: bool, out: &mut Vec<u8>) -> usize {
        self.view.build(text);
        self.redactor.find(&self.view, 0..self.carry, &mut self.ranges);
        let ready = match self.redactor.hold_start(&self.view.bytes) {
            Some(q) if !at_end => self.view.orig(q),
            _ => text.len(),
        };
        self.carry = emit(&self.view, text, &self.ranges, ready, self.carry > 0, out);
        ready
    }
}

impl Drop for StreamScrubber<'_> {
    fn drop(&mut self) {
        self.pending.zeroize();
        self.joined.zeroize();
        self.view.wipe();
    }
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(vec![
            SecretString::from("SECRETVALUE"),
            SecretString::from("Bearer SECRETVALUE"),
        ])
    }

    /// Feeds `input` split at `splits` and returns everything written.
    fn stream(r: &Redactor, input: &[u8], splits: &[usize]) -> Vec<u8> {
        let mut s = StreamScrubber::new(r);
        let mut out = Vec::new();
        let mut at = 0;
        for &split in splits {
            out.extend(s.push(&input[at..split]));
            at = split;
        }
        out.extend(s.push(&input[at..]));
        out.extend(s.finish());
        out
    }

    #[test]
    fn redacts_whole_strings() {
        let r = redactor();
        assert_eq!(
            r.redact("auth: Bearer SECRETVALUE and SECRETVALUE."),
            "auth: **** and ****."
        );
    }

    #[test]
    fn stream_catches_secrets_split_across_chunks() {
        let r = redactor();
        let input = b"line one SECRETVALUE\nprogress 50%\rBearer SECRETVALUE end\n";
        for split in 1..input.len() {
            for split2 in split..input.len() {
                let text = String::from_utf8(stream(&r, input, &[split, split2])).unwrap();
                assert_eq!(
                    text, "line one ****\nprogress 50%\r**** end\n",
                    "split at {split}/{split2}"
                );
            }
        }
    }

    #[test]
    fn a_complete_secret_whose_end_starts_another_is_masked() {
        // "KEYVALUEe" ends in `e`, which starts the other secret "eXTRA-SECRET".
        let r = Redactor::new(vec![
            SecretString::from("KEYVALUEe"),
            SecretString::from("eXTRA-SECRET"),
        ]);
        let mut s = StreamScrubber::new(&r);
        let mut out = s.push(b"token=KEYVALUEe");
        out.extend(s.push(b" done\n"));
        out.extend(s.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "token=**** done\n");
        let mut s = StreamScrubber::new(&r);
        let mut out = s.push(b"token=KEYVALUEe");
        out.extend(s.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "token=****");
    }

    #[test]
    fn overlapping_secrets_are_both_masked_entirely() {
        let r = Redactor::new(vec![
            SecretString::from("KEYVALUEe"),
            SecretString::from("eXTRA-SECRET"),
        ]);
        assert_eq!(r.redact("<KEYVALUEeXTRA-SECRET>"), "<****>");
        let out = stream(&r, b"<KEYVALUEeXTRA-SECRET>", &[10]);
        assert_eq!(String::from_utf8(out).unwrap(), "<****>");
    }

    #[test]
    fn every_split_of_every_form_is_masked() {
        let forms = ["KEYVALUEe", "eXTRA-SECRET", "Bearer KEYVALUEe", "VALU"];
        let r = Redactor::new(forms.iter().map(|f| SecretString::from(*f)).collect());
        for form in forms {
            for prefix in ["", "x", "e", "KEY", "Bearer "] {
                let input = format!("{prefix}{form}");
                for split in 0..=input.len() {
                    let text = String::from_utf8(stream(&r, input.as_bytes(), &[split])).unwrap();
                    assert!(
                        !text.contains(form),
                        "{form:?} after {prefix:?} split at {split}: {text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn stream_does_not_hold_back_unrelated_output() {
        let r = redactor();
        let mut s = StreamScrubber::new(&r);
        assert_eq!(s.push(b"Downloading... 10%\r"), b"Downloading... 10%\r");
        assert_eq!(s.push(b"ends with SEC"), b"ends with ");
        assert_eq!(s.finish(), b"SEC");
    }

    // Regression: `base64` wraps at 76 columns, so the encoded key spans lines and no single line
    // holds a whole form.
    #[test]
    fn line_wrapped_forms_are_masked_at_any_width() {
        let secret =
            "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkltUmxabUYxYkhRaWZRLmV5SmxlSEFpT2pFM01EQXdNREF3TURCOQ";
        let r = Redactor::new(vec![SecretString::from(secret)]);
        for width in 1..=secret.len() {
            for (brk, indent) in [("\n", ""), ("\r\n", ""), ("\n", "    "), ("\r", "")] {
                let wrapped: Vec<&str> = secret
                    .as_bytes()
                    .chunks(width)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect();
                let body = wrapped.join(&format!("{brk}{indent}"));
                let input = format!("data: {body}{brk}next line\n");
                let out = String::from_utf8(stream(&r, input.as_bytes(), &[input.len() / 2])).unwrap();
                let pieces = vec![MASK; wrapped.len()].join(&format!("{brk}{indent}"));
                assert_eq!(
                    out,
                    format!("data: {pieces}{brk}next line\n"),
                    "width {width} {brk:?}"
                );
                assert_eq!(r.redact(&input), out, "width {width} {brk:?}");
            }
        }
    }

    #[test]
    fn a_blank_line_ends_a_form() {
        let r = Redactor::new(vec![SecretString::from("SECRETVALUE")]);
        assert_eq!(r.redact("SECRET\nVALUE"), "****\n****");
        assert_eq!(r.redact("SECRET\n\nVALUE"), "SECRET\n\nVALUE");
        assert_eq!(r.redact("SECRET\r\n\r\nVALUE"), "SECRET\r\n\r\nVALUE");
    }

    #[test]
    fn a_wrapped_form_split_at_the_line_break_is_held_back() {
        let r = Redactor::new(vec![SecretString::from("SECRETVALUE")]);
        let mut s = StreamScrubber::new(&r);
        let mut out = s.push(b"x SECRET\r");
        assert_eq!(out, b"x ");
        out.extend(s.push(b"\nVAL"));
        out.extend(s.push(b"UE y\n"));
        out.extend(s.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "x ****\r\n**** y\n");
        // A second line break makes it a blank line: the tail is released.
        let mut s = StreamScrubber::new(&r);
        let mut out = s.push(b"x SECRET\n");
        out.extend(s.push(b"\nVALUE\n"));
        out.extend(s.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "x SECRET\n\nVALUE\n");
    }

    #[test]
    fn held_back_output_stays_bounded() {
        let r = Redactor::new(vec![SecretString::from("SECRETVALUE")]);
        let mut s = StreamScrubber::new(&r);
        let mut out = s.push(b"SECRE");
        for _ in 0..10_000 {
            out.extend(s.push(b"\n"));
        }
        assert!(s.pending.len() < 64, "{}", s.pending.len());
        out.extend(s.finish());
        assert_eq!(out.len(), 5 + 10_000);
    }
}
