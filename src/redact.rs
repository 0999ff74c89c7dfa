//! Scrubbing the key and its derived forms out of text: whole strings, and byte streams as they flow.
//!
//! Matching runs on a *view* of the text in which single line breaks (`\n`, `\r\n`, `\r`, and the
//! indentation after them) are skipped, so a form wrapped at any width (`base64`, PEM, MIME, `fold`)
//! is found like an unbroken one. The output keeps the original bytes: every masked piece becomes
//! `****` and the line breaks between pieces stay. The stream scrubber holds back only the tail that
//! could still become a secret with more input, so output appears promptly and memory stays flat.
//!
//! The stream scrubber does not build the view of every chunk. Every form is at least `L` bytes
//! long, so probing the view's 4-byte substring at every `L - 3`rd byte of the text finds a probe
//! inside each occurrence; only around a probe whose 4 bytes occur in some form (rare: once in
//! thousands of probes for text or unrelated base64) is the view built and searched. Its output
//! is byte-identical to searching the whole view (tested), and text without a match is written
//! straight from the read buffer.

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
    /// The probe filter of the stream scrubber (None: search the whole view of every chunk).
    probes: Option<Probes>,
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
            probes: Probes::new(&normalized),
            patterns: normalized,
            starts,
        }
    }

    /// The same redactor with the stream scrubber searching the whole view of every chunk (the
    /// reference the probe filter is tested against).
    #[cfg(test)]
    fn without_probes(mut self) -> Self {
        self.probes = None;
        self
    }

    pub(crate) fn empty() -> Self {
        Self {
            matcher: None,
            patterns: Vec::new(),
            starts: [false; 256],
            longest: 0,
            probes: None,
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
            emit(Some(&view), text.as_bytes(), &ranges, text.len(), false, &mut out);
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
        self.search(view, 0, ranges);
        merge(ranges);
    }

    /// Appends to `ranges` every occurrence of a pattern in `view` (of the text at `offset`), as
    /// a range of the text: the longest one at each position where one starts.
    fn search(&self, view: &View, offset: usize, ranges: &mut Vec<Range<usize>>) {
        if let Some(m) = &self.matcher {
            // After a match, search again from its second byte (not from its end), so a pattern
            // that starts inside it and goes on past it is found too.
            let mut input = aho_corasick::Input::new(view.bytes.as_slice());
            while let Some(found) = m.find(input.clone()) {
                ranges.push(offset + view.orig(found.start())..offset + view.orig(found.end() - 1) + 1);
                input.set_start(found.start() + 1);
            }
        }
    }

    /// The stream scrubber's search: like [`Redactor::find`] on the view of all of `text`, but the
    /// view is built only around the probes that could lie inside an occurrence.
    fn find_probed(
        &self,
        probes: &Probes,
        text: &[u8],
        forced: Range<usize>,
        scratch: &mut View,
        ranges: &mut Vec<Range<usize>>,
    ) {
        ranges.clear();
        if !forced.is_empty() {
            ranges.push(forced);
        }
        let mut window: Option<Range<usize>> = None;
        for p in (0..text.len()).step_by(probes.stride) {
            if !probes.hit(text, p) {
                continue;
            }
            // An occurrence containing the probe lies within `reach` bytes of it; the window
            // ends at bytes the view keeps whatever precedes them, so its view is the same as
            // that part of the whole text's view.
            let w = safe_start(text, p.saturating_sub(probes.reach))..safe_end(text, p + probes.reach + 1);
            match &mut window {
                Some(cur) if w.start <= cur.end => cur.end = cur.end.max(w.end),
                _ => {
                    if let Some(done) = window.replace(w) {
                        self.search_window(text, done, scratch, ranges);
                    }
                }
            }
        }
        if let Some(done) = window {
            self.search_window(text, done, scratch, ranges);
        }
        merge(ranges);
    }

    fn search_window(
        &self,
        text: &[u8],
        w: Range<usize>,
        scratch: &mut View,
        ranges: &mut Vec<Range<usize>>,
    ) {
        scratch.build(&text[w.clone()]);
        self.search(scratch, w.start, ranges);
        scratch.wipe();
    }

    /// Where the text's held-back tail starts: [`Redactor::hold_start`] on the view of all of
    /// `text`, mapped to the text, but built only for a tail long enough to hold the answer.
    fn hold_probed(&self, probes: &Probes, text: &[u8], scratch: &mut View) -> Option<usize> {
        let mut want = 32usize;
        loop {
            let s = safe_start(text, text.len().saturating_sub(want));
            scratch.build(&text[s..]);
            let q = self.hold_start(&scratch.bytes).map(|q| s + scratch.orig(q));
            // A longer tail would hold this whole view as a piece of a pattern that is neither
            // at its start nor at its end.
            let longer =
                s > 0 && probes.all_grams_known(&scratch.bytes) && self.inside_a_pattern(&scratch.bytes);
            scratch.wipe();
            if !longer {
                return q;
            }
            want = want.saturating_mul(4);
        }
    }

    /// Whether `piece` occurs in a pattern other than at its first or last byte.
    fn inside_a_pattern(&self, piece: &[u8]) -> bool {
        self.patterns
            .iter()
            .any(|p| p.len() >= 2 && memchr::memmem::find(&p[1..p.len() - 1], piece).is_some())
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

/// Sorts `ranges` and merges those that overlap.
fn merge(ranges: &mut Vec<Range<usize>>) {
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

/// Bytes whose place in the view depends on the bytes before them (line breaks, indentation).
fn is_space(b: u8) -> bool {
    matches!(b, b'\n' | b'\r' | b' ' | b'\t')
}

/// The last position at or before `at` from which the view of `text` can be built afresh: the
/// start, or a byte that is neither a line break nor indentation (the view keeps it as it is).
fn safe_start(text: &[u8], at: usize) -> usize {
    let mut s = at.min(text.len());
    while s > 0 && (s == text.len() || is_space(text[s])) {
        s -= 1;
    }
    s
}

/// The first position at or after `at` where the view of `text[..end]` agrees with the view of
/// all of `text`: the end, or a byte that is neither a line break nor indentation.
fn safe_end(text: &[u8], at: usize) -> usize {
    let mut e = at.min(text.len());
    while e < text.len() && is_space(text[e]) {
        e += 1;
    }
    e
}

/// The length of the substrings the probe filter looks up.
const GRAM: usize = 4;

/// The probe filter: every `GRAM`-byte substring of the patterns (as the view sees them).
struct Probes {
    /// A hash of each substring as a bit (quick rejection), and the substrings sorted (exact).
    bits: Zeroizing<Vec<u64>>,
    grams: Zeroizing<Vec<u32>>,
    /// The distance between probes: each occurrence of a pattern holds a whole probe substring.
    stride: usize,
    /// How many bytes of text an occurrence reaches on either side of a probe inside it.
    reach: usize,
}

impl Probes {
    /// None when a pattern is too short to hold a probe, or has line breaks or spaces at its ends
    /// (where the view of a piece of text could differ from the whole text's).
    fn new(patterns: &[Zeroizing<Vec<u8>>]) -> Option<Self> {
        let shortest = patterns.iter().map(|p| p.len()).min()?;
        let longest = patterns.iter().map(|p| p.len()).max()?;
        let odd = |p: &[u8]| {
            p.iter().any(|&b| matches!(b, b'\n' | b'\r'))
                || p.first().is_some_and(|&b| is_space(b))
                || p.last().is_some_and(|&b| is_space(b))
        };
        if shortest < GRAM || patterns.iter().any(|p| odd(p)) {
            return None;
        }
        let mut grams = Zeroizing::new(Vec::new());
        for p in patterns {
            grams.extend(
                p.windows(GRAM)
                    .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
            );
        }
        grams.sort_unstable();
        grams.dedup();
        let mut bits = Zeroizing::new(vec![0u64; 1024]);
        for &g in grams.iter() {
            let h = gram_hash(g);
            bits[h / 64] |= 1 << (h % 64);
        }
        Some(Self {
            bits,
            grams,
            stride: shortest - GRAM + 1,
            reach: longest * (1 + MAX_BREAK + MAX_INDENT),
        })
    }

    fn known(&self, g: u32) -> bool {
        let h = gram_hash(g);
        self.bits[h / 64] & (1 << (h % 64)) != 0 && self.grams.binary_search(&g).is_ok()
    }

    /// Whether an occurrence of a pattern could hold the view's `GRAM` bytes at or after text
    /// position `p`: they are a substring of a pattern, or too far from a safe start to tell.
    /// False when the text ends first (no whole occurrence can hold them).
    fn hit(&self, text: &[u8], p: usize) -> bool {
        match gram_at(text, p) {
            Gram::Whole(g) => self.known(g),
            Gram::Short => false,
            Gram::Unknown => true,
        }
    }

    /// Whether every `GRAM`-byte substring of `view` is a substring of a pattern.
    fn all_grams_known(&self, view: &[u8]) -> bool {
        view.windows(GRAM)
            .all(|w| self.known(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
    }
}

fn gram_hash(g: u32) -> usize {
    (g.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// The view's first `GRAM` bytes at or after a text position.
#[derive(Debug, PartialEq, Eq)]
enum Gram {
    Whole(u32),
    /// The text ends first.
    Short,
    /// The position is in a run of line breaks and spaces too long to look back over.
    Unknown,
}

/// The bytes the view of all of `text` keeps at or after `p`, up to `GRAM` of them. Builds the
/// view from the last safe start before `p` (as [`View::build`] does, for a few bytes).
fn gram_at(text: &[u8], p: usize) -> Gram {
    let mut i = p;
    while i > 0 && i < text.len() && is_space(text[i]) {
        if p - i >= 64 {
            return Gram::Unknown;
        }
        i -= 1;
    }
    let mut g = [0u8; GRAM];
    let mut k = 0;
    while k < GRAM {
        let Some(&b) = text.get(i) else {
            return Gram::Short;
        };
        if !matches!(b, b'\n' | b'\r') {
            if i >= p {
                g[k] = b;
                k += 1;
            }
            i += 1;
            continue;
        }
        let mut end = i;
        let mut lfs = 0;
        while end < text.len() && matches!(text[end], b'\n' | b'\r') {
            lfs += usize::from(text[end] == b'\n');
            end += 1;
        }
        if (lfs > 1 || end - i > MAX_BREAK) && end > p {
            // A blank line: the view keeps it.
            for &kept in &text[i.max(p)..end] {
                if k < GRAM {
                    g[k] = kept;
                    k += 1;
                }
            }
        } else if lfs <= 1 && end - i <= MAX_BREAK {
            let indent_end = (end + MAX_INDENT).min(text.len());
            while end < indent_end && matches!(text[end], b' ' | b'\t') {
                end += 1;
            }
        }
        i = end;
    }
    Gram::Whole(u32::from_le_bytes(g))
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

/// Appends `text[..upto]` to `out` with the ranges masked, cut at `upto` (with `view`, the view
/// of all of `text`, or else the view of each range). `continued`: `out`
/// already ends in the mask of a range that goes on at the start of `text`. Returns how far the
/// last range written reaches past `upto`.
fn emit(
    view: Option<&View>,
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
        let continues = continued && r.start == 0;
        if let Some(view) = view {
            mask(view, text, r.start..at, continues, out);
        } else {
            // The piece's own view: it starts and ends at bytes the view keeps.
            let piece = &text[r.start..at];
            let mut local = View::default();
            local.build(piece);
            mask(&local, piece, 0..piece.len(), continues, out);
            local.wipe();
        }
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
///
/// The scrubber owns the read buffer: the caller reads into [`StreamScrubber::spare`] (after the
/// tail held back last time) and writes what [`StreamScrubber::filled`] returns, which is the
/// buffer itself when nothing in it is masked.
pub(crate) struct StreamScrubber<'a> {
    redactor: &'a Redactor,
    /// `buf[start..end]`: the tail held back from the last chunk (it could still become a
    /// secret); then room for the next chunk. Before `start`: text already written.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// How much of `buf` was ever written (what to wipe: the rest is still zero).
    used: usize,
    /// How many bytes at `start` belong to a secret already partly masked.
    carry: usize,
    /// The masked output, when something was masked.
    out: Vec<u8>,
    view: View,
    ranges: Vec<Range<usize>>,
}

/// Room for the held-back tail to grow in a buffer before it is replaced by a larger one.
const SLACK: usize = 64 * 1024;

impl<'a> StreamScrubber<'a> {
    pub(crate) fn new(redactor: &'a Redactor) -> Self {
        Self {
            redactor,
            buf: Vec::new(),
            start: 0,
            end: 0,
            used: 0,
            carry: 0,
            out: Vec::new(),
            view: View::default(),
            ranges: Vec::new(),
        }
    }

    /// Room for at least `want` more bytes of input, after the held-back tail.
    pub(crate) fn spare(&mut self, want: usize) -> &mut [u8] {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < self.end + want {
            // A new buffer rather than a reallocation, so the old one is wiped; with room for
            // the held-back tail to grow without another one.
            let mut bigger = vec![0u8; self.end + want + SLACK];
            bigger[..self.end].copy_from_slice(&self.buf[..self.end]);
            self.buf[..self.used].zeroize();
            self.buf = bigger;
            self.used = self.end;
        }
        &mut self.buf[self.end..]
    }

    /// Takes the `n` bytes just written to the start of [`StreamScrubber::spare`]; returns what
    /// can be written now.
    ///
    /// Matches are found in the view of the held-back tail and the chunk; everything is emitted
    /// with the matches masked except the longest tail that could still become a secret with more
    /// input. When that tail starts inside a match, the match's first part is emitted masked and
    /// the rest is remembered as secret, so it is masked too whatever follows.
    pub(crate) fn filled(&mut self, n: usize) -> &[u8] {
        self.end += n;
        self.used = self.used.max(self.end);
        self.scrub(false)
    }

    /// Feeds a chunk; returns what can be written now.
    #[cfg(test)]
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.spare(chunk.len())[..chunk.len()].copy_from_slice(chunk);
        self.filled(chunk.len()).to_vec()
    }

    /// How many bytes are held back.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.end - self.start
    }

    /// Flushes what is held back at end of stream.
    pub(crate) fn finish(&mut self) -> &[u8] {
        self.scrub(true)
    }

    /// Scrubs `buf[start..end]`: returns the part that can be written now, masked, and moves
    /// `start` past it.
    fn scrub(&mut self, at_end: bool) -> &[u8] {
        let r = self.redactor;
        let text = &self.buf[self.start..self.end];
        if r.matcher.is_none() {
            self.start = self.end;
            return text;
        }
        let forced = 0..self.carry;
        let (ready, view) = if let Some(probes) = &r.probes {
            r.find_probed(probes, text, forced, &mut self.view, &mut self.ranges);
            let hold = if at_end {
                None
            } else {
                r.hold_probed(probes, text, &mut self.view)
            };
            (hold.unwrap_or(text.len()), None)
        } else {
            self.view.build(text);
            r.find(&self.view, forced, &mut self.ranges);
            let hold = r.hold_start(&self.view.bytes).filter(|_| !at_end);
            (hold.map_or(text.len(), |q| self.view.orig(q)), Some(&self.view))
        };
        self.start += ready;
        if ready == 0 {
            // Nothing can be written yet; a secret going on at the start is still one.
            self.view.wipe();
            return &[];
        }
        if self.ranges.first().is_none_or(|r| r.start >= ready) {
            self.carry = 0;
            self.view.wipe();
            return &text[..ready];
        }
        self.out.zeroize();
        self.out.clear();
        self.carry = emit(view, text, &self.ranges, ready, self.carry > 0, &mut self.out);
        self.view.wipe();
        &self.out
    }
}

impl StreamScrubber<'_> {
    /// Overwrites every byte of output it has held.
    fn wipe(&mut self) {
        self.buf[..self.used].zeroize();
        self.out.zeroize();
        self.view.wipe();
    }
}

impl Drop for StreamScrubber<'_> {
    fn drop(&mut self) {
        self.wipe();
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

    // Regression: when the rest of a partly masked secret was held back again as a whole (it
    // could still be the start of the other secret), it was forgotten as secret and its last byte
    // was written in clear.
    #[test]
    fn the_rest_of_a_masked_secret_stays_masked_when_held_back_twice() {
        let secrets = || {
            vec![
                SecretString::from("KEYVALUEe"),
                SecretString::from("eXTRA-SECRET"),
            ]
        };
        for r in [
            Redactor::new(secrets()),
            Redactor::new(secrets()).without_probes(),
        ] {
            let out = stream(&r, b"token=KEYVALUEeX done\n", &[15, 16]);
            assert_eq!(String::from_utf8(out).unwrap(), "token=****X done\n");
        }
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
    fn wiping_leaves_nothing_of_the_output_behind() {
        let r = Redactor::new(vec![SecretString::from("SECRETVALUE")]);
        let mut s = StreamScrubber::new(&r);
        s.push(b"x SECRETVALUE y SECRE");
        // Larger than the buffer: the held-back tail moves to a new one.
        s.push(&[b'S'; 200_000]);
        s.push(b"CRETVALUE\n");
        assert!(s.buf.iter().any(|&b| b != 0));
        s.wipe();
        assert!(s.buf.iter().all(|&b| b == 0));
    }

    #[test]
    fn held_back_output_stays_bounded() {
        let r = Redactor::new(vec![SecretString::from("SECRETVALUE")]);
        let mut s = StreamScrubber::new(&r);
        let mut out = s.push(b"SECRE");
        for _ in 0..10_000 {
            out.extend(s.push(b"\n"));
        }
        assert!(s.held() < 64, "{}", s.held());
        out.extend(s.finish());
        assert_eq!(out.len(), 5 + 10_000);
    }
}
