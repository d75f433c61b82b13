//! How well the Japanese and Chinese segmenters (`segment`) cut and tag UD treebank text: word
//! boundaries compared as character spans (a predicted word counts when both its ends match a
//! gold word's, the standard segmentation measure), precision, recall and F1, and UPOS accuracy
//! on the words cut right.
//!
//! The gold word unit is UD's, which is not the dictionaries' own: UD Japanese uses UniDic short
//! units (不快|感, IPADIC keeps 不快感), UD Chinese splits suffixes such as 们 that jieba keeps on
//! (我们). `Unit::LongUnits` compares Japanese with UD's long units instead, to show how much of
//! the gap is that convention.

use std::ops::Range;

use crate::error::Result;
use crate::segment;
use crate::text::Language;
use crate::treebank::{self, UdWord};
use crate::upos::Upos;

/// Which gold words to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// The treebank's words (UD Japanese: short unit words).
    Words,
    /// UD Japanese's long unit words (MISC `LUWBILabel`): runs of short units that start at a
    /// `B` label. No UPOS is compared (UD gives long units UniDic tags only).
    LongUnits,
}

/// Counts over a treebank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentationScore {
    pub sentences: usize,
    pub gold_words: usize,
    pub predicted_words: usize,
    /// Predicted words with the same span as a gold word.
    pub matched: usize,
    /// Of the matched words, those whose gold word has a UPOS to compare, and those tagged right.
    pub tagged: usize,
    pub upos_correct: usize,
}

impl SegmentationScore {
    pub fn precision(&self) -> f64 {
        ratio(self.matched, self.predicted_words)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.matched, self.gold_words)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    pub fn upos_accuracy(&self) -> f64 {
        ratio(self.upos_correct, self.tagged)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Segments every sentence of a CoNLL-U text (its words' forms, spaced as MISC says) with
/// `lang`'s segmenter and scores it against the treebank's `unit`s.
pub fn evaluate_conllu(
    lang: Language,
    conllu: &str,
    source: &str,
    unit: Unit,
) -> Result<SegmentationScore> {
    let mut score = SegmentationScore::default();
    for sentence in treebank::read_conllu_words(conllu, source)? {
        let gold = gold_spans(&sentence, unit);
        let text = sentence_text(&sentence);
        let predicted = segment::segment(lang, &text).unwrap_or_default();
        score.sentences += 1;
        score.gold_words += gold.len();
        score.predicted_words += predicted.len();
        let mut start = 0;
        let mut g = gold.iter().peekable();
        for word in &predicted {
            let span = start..start + letters(&word.text);
            start = span.end;
            while g.next_if(|(s, _)| s.start < span.start).is_some() {}
            let Some((_, upos)) = g.next_if(|(s, _)| *s == span) else {
                continue;
            };
            score.matched += 1;
            if let Some(upos) = upos {
                score.tagged += 1;
                score.upos_correct += usize::from(*upos == word.tag.upos);
            }
        }
    }
    Ok(score)
}

/// The sentence as written: forms joined, with a space where MISC puts one.
fn sentence_text(words: &[UdWord]) -> String {
    let mut text = String::new();
    for w in words {
        text.push_str(&w.form);
        if w.space_after {
            text.push(' ');
        }
    }
    text
}

/// Characters of a word, spaces left out (spans count non-space characters only, so that they
/// do not depend on how either side treats spaces).
fn letters(word: &str) -> usize {
    word.chars().filter(|c| !c.is_whitespace()).count()
}

/// Gold words' character spans, with their UPOS where it is comparable.
fn gold_spans(words: &[UdWord], unit: Unit) -> Vec<(Range<usize>, Option<Upos>)> {
    let mut spans: Vec<(Range<usize>, Option<Upos>)> = Vec::new();
    let mut start = 0;
    for w in words {
        let end = start + letters(&w.form);
        match unit {
            Unit::Words => spans.push((start..end, Some(w.upos))),
            Unit::LongUnits => {
                let continues = w.misc.split('|').any(|f| f == "LUWBILabel=I");
                match spans.last_mut() {
                    Some((last, _)) if continues => last.end = end,
                    _ => spans.push((start..end, None)),
                }
            }
        }
        start = end;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UD test files (the reference data's treebanks), read or a clear panic.
    fn treebank(dir: &str, file: &str) -> String {
        let path = crate::test_data::dir().join(format!("treebanks/{dir}/{file}"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("UD treebank missing at {}: {e}", path.display()))
    }

    fn row(id: usize, form: &str, upos: &str, misc: &str) -> String {
        format!("{id}\t{form}\t_\t{upos}\t_\t_\t0\tdep\t_\t{misc}\n")
    }

    #[test]
    fn spans_score_boundaries_and_tags() {
        // UD's short units 弁護|士|と|し|て|働く; IPADIC keeps the noun 弁護士 and the compound
        // particle として whole: one of its three words matches (働く, tagged right). Against the
        // long units 弁護士|として|働く all three match.
        let conllu = [
            row(1, "弁護", "NOUN", "LUWBILabel=B|SpaceAfter=No"),
            row(2, "士", "NOUN", "LUWBILabel=I|SpaceAfter=No"),
            row(3, "と", "ADP", "LUWBILabel=B|SpaceAfter=No"),
            row(4, "し", "VERB", "LUWBILabel=I|SpaceAfter=No"),
            row(5, "て", "SCONJ", "LUWBILabel=I|SpaceAfter=No"),
            row(6, "働く", "VERB", "LUWBILabel=B|SpaceAfter=No"),
        ]
        .concat();
        let words = evaluate_conllu(Language::Ja, &conllu, "t", Unit::Words).unwrap();
        assert_eq!(
            (words.gold_words, words.predicted_words, words.matched),
            (6, 3, 1)
        );
        assert_eq!((words.tagged, words.upos_correct), (1, 1));
        let (p, r) = (1.0 / 3.0, 1.0 / 6.0);
        assert!((words.f1() - 2.0 * p * r / (p + r)).abs() < 1e-12);
        let long = evaluate_conllu(Language::Ja, &conllu, "t", Unit::LongUnits).unwrap();
        assert_eq!((long.gold_words, long.matched, long.tagged), (3, 3, 0));
        assert_eq!(long.f1(), 1.0);
    }

    // Floors: the scores measured on the UD test files, less a margin for dictionary or crate
    // updates. (The UPOS maps were checked on the dev files.)

    #[test]
    fn japanese_gsd_test_segmentation_and_upos() {
        let conllu = treebank("ud_japanese_gsd", "ja_gsd-ud-test.conllu");
        let s = evaluate_conllu(Language::Ja, &conllu, "ja_gsd test", Unit::Words).unwrap();
        assert_eq!(s.sentences, 543);
        // Measured: P 0.938 R 0.908 F1 0.923; UPOS 0.954 on the 11,833 words cut right.
        assert!(s.f1() > 0.90, "{s:?} F1 {:.4}", s.f1());
        assert!(s.upos_accuracy() > 0.93, "{s:?}");
    }

    #[test]
    fn chinese_gsdsimp_test_segmentation_and_upos() {
        let conllu = treebank("ud_chinese_gsdsimp", "zh_gsdsimp-ud-test.conllu");
        let s = evaluate_conllu(Language::Zh, &conllu, "zh_gsdsimp test", Unit::Words).unwrap();
        assert_eq!(s.sentences, 500);
        // Measured: P 0.840 R 0.761 F1 0.798; UPOS 0.779 on the 9,140 words cut right.
        assert!(s.f1() > 0.77, "{s:?} F1 {:.4}", s.f1());
        assert!(s.upos_accuracy() > 0.75, "{s:?}");
    }
}
