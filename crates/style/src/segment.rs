//! Word segmentation with part-of-speech tags for Japanese (vibrato running IPADIC) and Chinese
//! (jieba-rs with its bundled dictionary): these languages write no spaces, and words, not
//! characters, are what a character's vocabulary and the background tables are made of.
//!
//! Both segmenters load on first use and stay for the life of the process, so English-only users
//! never pay for them (measured: the Japanese dictionary ~0.17 s and ~53 MB resident, jieba
//! ~0.1-0.17 s and ~34 MB).

use std::sync::OnceLock;

use crate::text::Language;
use crate::upos::{self, Upos};

/// IPADIC compiled for vibrato, features cut to POS, conjugation and base form (see
/// `bin/build_ja_dict.rs` and assets/style/NOTICE.md).
const IPADIC: &[u8] = include_bytes!("../../../assets/style/ipadic_ja.dic.zst");

/// A word's part of speech, as UD names it and as the segmenter's dictionary does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordTag {
    pub upos: Upos,
    /// The segmenter's own tag: IPADIC's POS levels joined by '-' up to the last one it fills in
    /// ("助詞-終助詞", "名詞-固有名詞-人名-姓"), or jieba's ICTCLAS-style tag ("y", "nr").
    pub fine: String,
    /// Dictionary form: IPADIC's base form of a conjugated word ("ます" for "まし"); the word
    /// itself for Chinese and for words the dictionary does not know.
    pub lemma: String,
}

/// One word of a segmented text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The word as written (a slice of the input; spaces are never part of a word).
    pub text: String,
    pub tag: WordTag,
}

/// Words of `text` for the languages that need a segmenter (Japanese, Chinese), `None` for the
/// others.
pub fn segment(lang: Language, text: &str) -> Option<Vec<Segment>> {
    match lang {
        Language::Ja => Some(japanese(text)),
        Language::Zh => Some(chinese(text)),
        Language::En | Language::Other => None,
    }
}

/// The Japanese tokenizer, decoded from the embedded dictionary on first use.
fn ja_tokenizer() -> &'static vibrato::Tokenizer {
    static TOKENIZER: OnceLock<vibrato::Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        // The asset is built by the crate's own tool and checked by the tests: failing to decode
        // it is a broken build, not a run-time condition. Decoded as a stream, so the 35 MB of
        // decompressed bytes are never held in a second copy.
        let raw = zstd::Decoder::new(IPADIC).expect("embedded IPADIC decompresses");
        let dict = vibrato::Dictionary::read(raw).expect("embedded IPADIC decodes");
        // MeCab skips spaces between words; so do we (normalized text has single spaces).
        vibrato::Tokenizer::new(dict)
            .ignore_space(true)
            .expect("IPADIC's char.def defines SPACE")
    })
}

fn jieba() -> &'static jieba_rs::Jieba {
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

/// Japanese words with IPADIC's tags (MeCab's segmentation: the same dictionary and costs).
pub fn japanese(text: &str) -> Vec<Segment> {
    let mut worker = ja_tokenizer().new_worker();
    worker.reset_sentence(text);
    worker.tokenize();
    let mut segments: Vec<Segment> = worker
        .token_iter()
        .map(|t| {
            let surface = t.surface();
            // POS 1-4, conjugation type and form, base form (unknown words stop at the form).
            let features: Vec<&str> = t.feature().split(',').collect();
            let levels: Vec<&str> = features
                .iter()
                .take(4)
                .copied()
                .take_while(|l| *l != "*")
                .collect();
            let lemma = match features.get(6) {
                Some(&base) if base != "*" => base,
                _ => surface,
            };
            Segment {
                text: surface.to_string(),
                tag: WordTag {
                    upos: symbol_upos(surface).unwrap_or_else(|| upos::from_ipadic(&levels, lemma)),
                    fine: levels.join("-"),
                    lemma: lemma.to_string(),
                },
            }
        })
        .collect();
    tag_light_verbs(&mut segments);
    segments
}

/// A verbal noun followed by する or できる (勉強する) is a verb and the light verb after it an
/// auxiliary, as UD Japanese tags them; IPADIC sees a noun and an independent verb.
fn tag_light_verbs(segments: &mut [Segment]) {
    for i in 1..segments.len() {
        let light = matches!(segments[i].tag.lemma.as_str(), "する" | "できる")
            && segments[i].tag.upos == Upos::Verb;
        if light && segments[i - 1].tag.fine == "名詞-サ変接続" {
            segments[i - 1].tag.upos = Upos::Verb;
            segments[i].tag.upos = Upos::Aux;
        }
    }
}

/// PUNCT or SYM for a word without letters or digits. IPADIC lists full-width punctuation only,
/// and files unknown ASCII symbols ("!" after NFKC normalization) under 名詞-サ変接続; UD counts
/// sentence punctuation, brackets and quotes as PUNCT and other signs (-, ~, #, ・) as SYM.
fn symbol_upos(word: &str) -> Option<Upos> {
    if word.chars().any(char::is_alphanumeric) {
        return None;
    }
    let punct = word.chars().all(|c| {
        matches!(
            c,
            '.' | ','
                | '!'
                | '?'
                | ';'
                | ':'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '"'
                | '\''
                | '、'
                | '。'
                | '「'
                | '」'
                | '『'
                | '』'
                | '【'
                | '】'
                | '〈'
                | '〉'
                | '《'
                | '》'
                | '…'
        )
    });
    Some(if punct { Upos::Punct } else { Upos::Sym })
}

/// Chinese words with jieba's tags (its HMM guesses words the dictionary lacks).
pub fn chinese(text: &str) -> Vec<Segment> {
    jieba()
        .tag(text, true)
        .into_iter()
        .filter(|t| !t.word.trim().is_empty())
        .map(|t| Segment {
            text: t.word.to_string(),
            tag: WordTag {
                upos: upos::from_jieba(t.tag, t.word),
                fine: t.tag.to_string(),
                lemma: t.word.to_string(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_and(segs: &[Segment], f: impl Fn(&WordTag) -> String) -> Vec<(String, String)> {
        segs.iter().map(|s| (s.text.clone(), f(&s.tag))).collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn japanese_words_particles_and_auxiliaries() {
        let segs = japanese("私は学生です。よろしくね!");
        assert_eq!(
            words_and(&segs, |t| t.upos.name().to_string()),
            pairs(&[
                ("私", "PRON"),
                ("は", "ADP"),
                ("学生", "NOUN"),
                ("です", "AUX"),
                ("。", "PUNCT"),
                ("よろしく", "ADV"),
                ("ね", "PART"),
                ("!", "PUNCT"),
            ])
        );
        assert_eq!(segs[1].tag.fine, "助詞-係助詞");
        assert_eq!(segs[6].tag.fine, "助詞-終助詞");
        // Conjugated forms carry their dictionary form; spaces are skipped.
        let segs = japanese("行きました よ");
        assert_eq!(
            words_and(&segs, |t| t.lemma.clone()),
            pairs(&[
                ("行き", "行く"),
                ("まし", "ます"),
                ("た", "た"),
                ("よ", "よ")
            ])
        );
        assert_eq!(segs[1].tag.fine, "助動詞");
    }

    #[test]
    fn japanese_unknown_words_and_names() {
        let segs = japanese("ピカチュウは東京にいる");
        let fine: Vec<&str> = segs.iter().map(|s| s.tag.fine.as_str()).collect();
        assert_eq!(segs[0].text, "ピカチュウ");
        assert_eq!(segs[0].tag.lemma, "ピカチュウ");
        assert!(fine[2].starts_with("名詞-固有名詞-地域"), "{fine:?}");
        assert_eq!(segs[2].tag.upos, Upos::Propn);
    }

    #[test]
    fn chinese_words_and_modal_particles() {
        let segs = chinese("我们走吧, 你在干什么呢?");
        assert_eq!(
            words_and(&segs, |t| t.fine.clone()),
            pairs(&[
                ("我们", "r"),
                ("走", "v"),
                ("吧", "y"),
                (",", "x"),
                ("你", "r"),
                ("在", "p"),
                ("干什么", "l"),
                ("呢", "y"),
                ("?", "x"),
            ])
        );
        assert_eq!(segs[2].tag.upos, Upos::Part);
        assert_eq!(segs[3].tag.upos, Upos::Punct);
        assert_eq!(segs[0].tag.upos, Upos::Pron);
    }

    #[test]
    fn only_japanese_and_chinese_are_segmented() {
        assert!(segment(Language::En, "Hello there").is_none());
        assert_eq!(segment(Language::Zh, "你好").unwrap().len(), 1);
    }
}
