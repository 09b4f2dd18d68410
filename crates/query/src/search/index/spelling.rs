//! Pinyin matching: the ways a query of ASCII letters splits into syllables, matched against
//! the reading pairs of each Han name, and initials.

use super::*;

impl SearchIndex {
    /// The ways `q` (ASCII letters) splits into syllables, the last one possibly cut short
    /// (`meid` is mei + a syllable starting with d). Each is a list of syllable sets and
    /// whether the last syllable is whole.
    pub(super) fn patterns(&self, q: &str) -> Vec<Pattern> {
        let words = self.syllables.len().div_ceil(64).max(1);
        let mut out = Vec::new();
        let mut path: Vec<Vec<u64>> = Vec::new();
        self.split(q, words, &mut path, &mut out);
        let has = |set: &[u64], s: u16| {
            set.get(s as usize / 64)
                .is_some_and(|w| w & (1 << (s % 64)) != 0)
        };
        for p in &mut out {
            p.fits = p
                .sets
                .iter()
                .map(|set| {
                    self.readings
                        .iter()
                        .map(|&(first, second)| has(set, first) || has(set, second))
                        .collect()
                })
                .collect();
        }
        out
    }

    pub(super) fn split(
        &self,
        rest: &str,
        words: usize,
        path: &mut Vec<Vec<u64>>,
        out: &mut Vec<Pattern>,
    ) {
        const MAX_PATTERNS: usize = 64;
        if out.len() >= MAX_PATTERNS {
            return;
        }
        if rest.is_empty() {
            if !path.is_empty() {
                out.push(Pattern {
                    sets: path.clone(),
                    whole: true,
                    fits: Vec::new(),
                });
            }
            return;
        }
        let mut whole: Vec<(usize, u16)> = Vec::new();
        let mut partial = vec![0u64; words];
        let mut any_partial = false;
        for (id, s) in self.syllables.iter().enumerate() {
            if !s.is_empty() && rest.starts_with(s.as_str()) {
                whole.push((s.len(), id as u16));
            } else if s.len() > rest.len() && s.starts_with(rest) {
                partial[id / 64] |= 1 << (id % 64);
                any_partial = true;
            }
        }
        // Longest syllables first: the usual reading of the spelling comes first.
        whole.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (len, id) in whole {
            let mut set = vec![0u64; words];
            set[id as usize / 64] |= 1 << (id % 64);
            path.push(set);
            self.split(&rest[len..], words, path, out);
            path.pop();
        }
        if any_partial && out.len() < MAX_PATTERNS {
            path.push(partial);
            out.push(Pattern {
                sets: path.clone(),
                whole: false,
                fits: Vec::new(),
            });
            path.pop();
        }
    }

    /// How ASCII letters match a name in pinyin or initials, if they do.
    pub(super) fn spoken(&self, entry: u32, q: &str, patterns: &[Pattern]) -> Option<MatchKind> {
        let (a, b) = (
            self.syl_start[entry as usize] as usize,
            self.syl_start[entry as usize + 1] as usize,
        );
        if a == b {
            return None;
        }
        let said = &self.said[a..b];
        let mut found = None;
        for p in patterns {
            let k = p.fits.len();
            if k > said.len() {
                continue;
            }
            for j in 0..=said.len() - k {
                let fits = p
                    .fits
                    .iter()
                    .zip(&said[j..j + k])
                    .all(|(fit, &pair)| fit.get(pair as usize).copied().unwrap_or(false));
                if fits {
                    if j == 0 && k == said.len() && p.whole {
                        return Some(MatchKind::Pinyin);
                    }
                    found = Some(MatchKind::PinyinWithin);
                    break;
                }
            }
        }
        if found.is_some() || q.len() < 2 {
            return found;
        }
        let q = q.as_bytes();
        let at = |j: usize| {
            q.iter().enumerate().all(|(i, c)| {
                let [first, second] = self
                    .initials
                    .get(said[j + i] as usize)
                    .copied()
                    .unwrap_or([0, 0]);
                first == *c || second == *c
            })
        };
        if said.len() == q.len() && at(0) {
            return Some(MatchKind::Initials);
        }
        if q.len() >= 3 && said.len() > q.len() && (0..=said.len() - q.len()).any(at) {
            return Some(MatchKind::InitialsWithin);
        }
        None
    }
}

/// A split of a pinyin query: the syllables each character may read as, in order.
#[derive(Debug)]
pub(super) struct Pattern {
    pub(super) sets: Vec<Vec<u64>>,
    pub(super) whole: bool,
    /// Per set, per reading pair: whether a character with those readings fits it (one
    /// lookup per character in the scan over every name).
    pub(super) fits: Vec<Vec<bool>>,
}
