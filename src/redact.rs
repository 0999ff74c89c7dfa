//! Scrubbing the key and its derived forms out of text: whole strings, and byte streams as they flow.
//!
//! The stream scrubber holds back only the tail of a chunk that could be the start of a secret, so
//! output still appears promptly (progress bars, prompts) while a secret split across two reads is
//! still caught.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use secrecy::{ExposeSecret as _, SecretString};

/// What replaces a secret.
pub(crate) const MASK: &str = "****";

/// A set of secret strings to replace with [`MASK`].
pub(crate) struct Redactor {
    matcher: Option<AhoCorasick>,
    patterns: Vec<SecretString>,
}

impl Redactor {
    pub(crate) fn new(patterns: Vec<SecretString>) -> Self {
        let patterns: Vec<SecretString> = patterns
            .into_iter()
            .filter(|p| !p.expose_secret().is_empty())
            .collect();
        let matcher = if patterns.is_empty() {
            None
        } else {
            // A contiguous NFA builds in a fraction of the time and memory of the default DFA for
            // these few long patterns; search speed does not matter for a few lines of output.
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::LeftmostLongest)
                .build(patterns.iter().map(|p| p.expose_secret().as_bytes()))
                .ok()
        };
        Self { matcher, patterns }
    }

    pub(crate) fn empty() -> Self {
        Self {
            matcher: None,
            patterns: Vec::new(),
        }
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) => m.replace_all(text, &vec![MASK; self.patterns.len()]),
            None => text.to_owned(),
        }
    }

    fn redact_bytes(&self, data: &[u8]) -> Vec<u8> {
        match &self.matcher {
            Some(m) => m.replace_all_bytes(data, &vec![MASK.as_bytes(); self.patterns.len()]),
            None => data.to_vec(),
        }
    }

    /// The length of the longest suffix of `data` that is a proper prefix of some secret.
    fn pending_prefix(&self, data: &[u8]) -> usize {
        let mut best = 0;
        for p in &self.patterns {
            let p = p.expose_secret().as_bytes();
            let max = p.len().saturating_sub(1).min(data.len());
            for n in (best + 1..=max).rev() {
                if data[data.len() - n..] == p[..n] {
                    best = n;
                    break;
                }
            }
        }
        best
    }
}

/// Scrubs a byte stream chunk by chunk.
pub(crate) struct StreamScrubber<'a> {
    redactor: &'a Redactor,
    pending: Vec<u8>,
}

impl<'a> StreamScrubber<'a> {
    pub(crate) fn new(redactor: &'a Redactor) -> Self {
        Self {
            redactor,
            pending: Vec::new(),
        }
    }

    /// Feeds a chunk; returns what can be written now.
    ///
    /// Matches are found in the whole buffer first. Everything up to the end of the last match is
    /// emitted with the matches masked; of the rest, only the longest tail that could still
    /// become a secret with more input is held back. (Holding back a tail that overlaps a complete
    /// match would split that match and emit its first part in the clear.)
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(self.pending.len());
        let mut done = 0;
        if let Some(m) = &self.redactor.matcher {
            for found in m.find_iter(&self.pending) {
                out.extend_from_slice(&self.pending[done..found.start()]);
                out.extend_from_slice(MASK.as_bytes());
                done = found.end();
            }
        }
        let rest = &self.pending[done..];
        let hold = self.redactor.pending_prefix(rest);
        let ready = done + rest.len() - hold;
        out.extend_from_slice(&self.pending[done..ready]);
        let tail = self.pending.split_off(ready);
        zero(&mut self.pending);
        self.pending = tail;
        out
    }

    /// Flushes what is held back at end of stream.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let out = self.redactor.redact_bytes(&self.pending);
        zero(&mut self.pending);
        out
    }
}

fn zero(buf: &mut Vec<u8>) {
    zeroize::Zeroize::zeroize(buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(vec![
            SecretString::from("SECRETVALUE"),
            SecretString::from("Bearer SECRETVALUE"),
        ])
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
                let mut s = StreamScrubber::new(&r);
                let mut out = s.push(&input[..split]);
                out.extend(s.push(&input[split..split2]));
                out.extend(s.push(&input[split2..]));
                out.extend(s.finish());
                let text = String::from_utf8(out).unwrap();
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
    fn every_split_of_every_form_is_masked() {
        let forms = ["KEYVALUEe", "eXTRA-SECRET", "Bearer KEYVALUEe", "VALU"];
        let r = Redactor::new(forms.iter().map(|f| SecretString::from(*f)).collect());
        for form in forms {
            for prefix in ["", "x", "e", "KEY", "Bearer "] {
                let input = format!("{prefix}{form}");
                for split in 0..=input.len() {
                    let mut s = StreamScrubber::new(&r);
                    let mut out = s.push(&input.as_bytes()[..split]);
                    out.extend(s.push(&input.as_bytes()[split..]));
                    out.extend(s.finish());
                    let text = String::from_utf8(out).unwrap();
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
}
