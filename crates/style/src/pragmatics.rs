//! Pragmatic traits: sentence types, length, interjections, hedges, politeness, self-reference,
//! address, emotion, emoticons, stutters, elongations, ellipses, tics, assistant-speak.
//!
//! Each language has its own trait list (`en`, `ja`, `zh`): the markers of a trait are the
//! language's own (私 and 僕 in Japanese, 你 and 您 in Chinese), never English words looked for in
//! Japanese text. Each trait is a tally (hits over units) so that the same code measures a
//! character and a background reference, and a z-score compares the two.

use std::collections::BTreeMap;

use crate::doc::{Document, Sentence};
use crate::text::Language;

pub mod background;
mod en;
pub mod forms;
mod ja;
mod shared;
mod zh;

pub use shared::emoticons;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trait {
    /// Stable snake_case id, e.g. `question_rate`.
    pub name: String,
    /// What the trait means in plain words, for people ("asks questions"); empty in profiles
    /// stored before glosses existed.
    #[serde(default)]
    pub gloss: String,
    pub value: f64,
    pub background: f64,
    /// z-score of the difference from the background.
    pub z_or_ratio: f64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PragmaticTraits {
    pub traits: Vec<Trait>,
}

impl PragmaticTraits {
    pub fn get(&self, name: &str) -> Option<&Trait> {
        self.traits.iter().find(|t| t.name == name)
    }
}

/// How a trait's value is expressed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// Share of sentences (0..1).
    PerSentence,
    /// Occurrences per 1,000 tokens: words in English, letters in Japanese and Chinese (so the
    /// rate does not depend on how the text was split into words).
    Per1kTokens,
    /// Mean over sentences.
    MeanPerSentence,
}

/// Running totals of one trait over a corpus.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub hits: f64,
    pub hits_sq: f64,
    pub sentences: f64,
    pub tokens: f64,
}

/// Tallies of every trait, keyed by trait name (the background reference is stored this way).
pub type TraitCounts = BTreeMap<String, Tally>;

/// What the trait functions need beyond the sentence itself.
pub struct Context<'a> {
    /// Forms of the speaker's own name, lowercase (for third-person self-reference).
    pub self_names: &'a [String],
    /// The language whose trait list applies.
    pub language: Language,
}

/// How a trait is found in a sentence.
pub enum Measure {
    /// A function of the sentence (sentence types, stutters, English word lists).
    Custom(fn(&Sentence, &Context) -> f64),
    /// Occurrences of marker words in the sentence's text (Japanese and Chinese).
    Forms(&'static forms::FormSet),
}

/// Where a trait's background rate comes from (see `assets/style/NOTICE.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// GUM's spoken and fiction sentences (English), measured with the same code.
    Conversation,
    /// The language's UD GSD sentences (Wikipedia and news), measured with the same code.
    Treebank,
    /// The summed wordfreq frequency of the trait's marker forms (subtitles, social media, web).
    WordFrequency,
}

pub struct TraitDef {
    pub name: &'static str,
    pub unit: Unit,
    /// Plain-language description shown to people instead of the name.
    pub gloss: &'static str,
    pub source: Source,
    pub measure: Measure,
}

/// The traits measured for a language (English's for text in no language we know).
pub fn defs(lang: Language) -> &'static [TraitDef] {
    match lang {
        Language::Ja => ja::TRAITS,
        Language::Zh => zh::TRAITS,
        Language::En | Language::Other => en::TRAITS,
    }
}

pub fn trait_def(lang: Language, name: &str) -> Option<&'static TraitDef> {
    defs(lang).iter().find(|t| t.name == name)
}

/// Measures one trait on one sentence (hits in that sentence).
pub fn measure(def: &TraitDef, s: &Sentence, ctx: &Context) -> f64 {
    match &def.measure {
        Measure::Custom(f) => f(s, ctx),
        Measure::Forms(set) => set.count(&s.text) as f64,
    }
}

/// The tokens a sentence's per-1k rates are counted over (see `Unit::Per1kTokens`).
pub fn rate_tokens(s: &Sentence, lang: Language) -> usize {
    match lang {
        Language::Ja | Language::Zh => forms::letters(&s.text),
        Language::En | Language::Other => s.words.len(),
    }
}

/// Tallies every trait of the context's language over sentences.
pub fn tally<'a>(sentences: impl IntoIterator<Item = &'a Sentence>, ctx: &Context) -> TraitCounts {
    let defs = defs(ctx.language);
    let mut counts: TraitCounts = defs
        .iter()
        .map(|t| (t.name.to_string(), Tally::default()))
        .collect();
    for s in sentences {
        let tokens = rate_tokens(s, ctx.language) as f64;
        for def in defs {
            let h = measure(def, s, ctx);
            if let Some(t) = counts.get_mut(def.name) {
                t.hits += h;
                t.hits_sq += h * h;
                t.sentences += 1.0;
                t.tokens += tokens;
            }
        }
    }
    counts
}

impl Tally {
    /// The trait's value in its unit.
    pub fn value(&self, unit: Unit) -> f64 {
        match unit {
            Unit::PerSentence | Unit::MeanPerSentence => self.hits / self.sentences.max(1.0),
            Unit::Per1kTokens => 1000.0 * self.hits / self.tokens.max(1.0),
        }
    }

    /// z-score of self against a background tally (smoothed so that zero counts stay finite).
    pub fn z_against(&self, bg: &Tally, unit: Unit) -> f64 {
        let (n1, n0) = match unit {
            Unit::Per1kTokens => (self.tokens, bg.tokens),
            _ => (self.sentences, bg.sentences),
        };
        if n1 <= 0.0 || n0 <= 0.0 {
            return 0.0;
        }
        match unit {
            Unit::MeanPerSentence => {
                let (m1, m0) = (self.hits / n1, bg.hits / n0);
                let v1 = (self.hits_sq / n1 - m1 * m1).max(1e-6);
                let v0 = (bg.hits_sq / n0 - m0 * m0).max(1e-6);
                (m1 - m0) / (v1 / n1 + v0 / n0).sqrt()
            }
            _ => {
                let p1 = self.hits / n1;
                let p0 = (bg.hits + 0.5) / (n0 + 1.0);
                let p = ((self.hits + bg.hits + 0.5) / (n1 + n0 + 1.0)).min(0.999);
                (p1 - p0) / (p * (1.0 - p) * (1.0 / n1 + 1.0 / n0)).sqrt()
            }
        }
    }
}

const MAX_EXAMPLES: usize = 3;

/// Traits of a document compared to the background tallies.
pub fn traits(doc: &Document, ctx: &Context, background: &TraitCounts) -> PragmaticTraits {
    let counts = tally(&doc.sentences, ctx);
    let traits = defs(ctx.language)
        .iter()
        .map(|def| {
            let own = counts.get(def.name).copied().unwrap_or_default();
            let bg = background.get(def.name).copied().unwrap_or_default();
            let examples = if def.unit == Unit::MeanPerSentence {
                Vec::new()
            } else {
                doc.sentences
                    .iter()
                    .filter(|s| measure(def, s, ctx) > 0.0)
                    .take(MAX_EXAMPLES)
                    .map(|s| s.text.clone())
                    .collect()
            };
            Trait {
                name: def.name.to_string(),
                gloss: def.gloss.to_string(),
                value: own.value(def.unit),
                background: bg.value(def.unit),
                z_or_ratio: own.z_against(&bg, def.unit),
                examples,
            }
        })
        .collect();
    PragmaticTraits { traits }
}

/// Lowercase forms of a speaker's name used for self-reference: the name, its first word, and the
/// usual clipped nickname (first two syllable-ish chunks, e.g. "Ririka" -> "riri").
pub fn self_names(speaker: Option<&str>) -> Vec<String> {
    let Some(name) = speaker.map(str::trim).filter(|n| !n.is_empty()) else {
        return Vec::new();
    };
    let lower = name.to_lowercase();
    let first = lower
        .split_whitespace()
        .next()
        .unwrap_or(&lower)
        .to_string();
    let mut names = vec![first.clone()];
    let clipped: String = first.chars().take(4).collect();
    if first.chars().count() > 5 && clipped.chars().count() == 4 {
        names.push(clipped);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hits of one trait in one line, prepared as the analyzer prepares text (untagged).
    fn hits_in(lang: Language, name: &str, text: &str, names: &[String]) -> f64 {
        let def = trait_def(lang, name).unwrap_or_else(|| panic!("no trait {name}"));
        let doc = crate::doc::prepare(&[text], &|t| vec![0; t.len()]);
        let ctx = Context {
            self_names: names,
            language: lang,
        };
        doc.sentences.iter().map(|s| measure(def, s, &ctx)).sum()
    }

    fn hits(name: &str, text: &str, names: &[String]) -> f64 {
        hits_in(Language::En, name, text, names)
    }

    #[test]
    fn surface_traits_fire_on_their_markers() {
        assert_eq!(
            hits(
                "stutter_rate",
                "W-what? I-I didn't see anything, re-do it.",
                &[]
            ),
            2.0
        );
        assert_eq!(
            hits("stutter_rate", "I-I-it's fine. Th-that one.", &[]),
            2.0
        );
        assert_eq!(
            hits(
                "stutter_rate",
                "Bye-bye! A well-known x-ray, so-so, re-read, co-op.",
                &[]
            ),
            0.0
        );
        assert_eq!(hits("elongation_rate", "Sooo cute, noooo way", &[]), 2.0);
        assert_eq!(
            hits("emoticon_rate", "Welcome~☆ (≧▽≦) see you :)", &[]),
            3.0
        );
        assert_eq!(hits("emoticon_rate", "He said (quietly) hello", &[]), 0.0);
        assert_eq!(
            hits("honorific_rate", "Good morning, Ren-san and senpai!", &[]),
            2.0
        );
        assert_eq!(
            hits("archaic_rate", "Heard it, thou didst; 'tis so.", &[]),
            3.0
        );
        assert_eq!(
            hits(
                "assistant_speak_rate",
                "As an AI language model, I cannot.",
                &[]
            ),
            2.0
        );
        assert_eq!(hits("sentence_final_tic_rate", "Let's go~!", &[]), 1.0);
        assert_eq!(hits("question_rate", "Are you stupid?", &[]), 1.0);
        assert_eq!(hits("exclamation_rate", "No way!", &[]), 1.0);
        let riri = self_names(Some("Ririka"));
        assert_eq!(riri, vec!["ririka", "riri"]);
        assert_eq!(
            hits(
                "third_person_self_reference",
                "Riri will do her best!",
                &riri
            ),
            1.0
        );
    }

    #[test]
    fn japanese_traits_fire_on_their_own_markers() {
        let ja = |name, text| hits_in(Language::Ja, name, text, &[]);
        assert_eq!(ja("self_watashi", "私は私立の学校に行くわ。"), 1.0);
        assert_eq!(ja("self_boku", "僕は、僕たちは公僕じゃない。"), 2.0);
        assert_eq!(ja("address_kimi", "シンジ君、君は誰？"), 1.0);
        assert_eq!(ja("honorific_rate", "シンジ君、お父さんと碇さんは？"), 2.0);
        assert_eq!(ja("final_yo_ne", "行くよね。よく見て。"), 2.0);
        assert_eq!(ja("final_zo_ze", "なぜ？行くぞ！どうぞ。"), 1.0);
        assert_eq!(ja("honorific_rate", "行くんですか？書くんだ。"), 0.0);
        assert_eq!(ja("politeness_rate", "そうですか。行きました。"), 2.0);
        assert_eq!(ja("keigo_rate", "ありがとうございます。申し訳ない。"), 2.0);
        assert_eq!(ja("interjection_rate", "おい、おいしい。ああ！"), 2.0);
        assert_eq!(ja("laughter_rate", "マジかwww 今なら"), 1.0);
        assert_eq!(ja("question_rate", "そうですか。"), 1.0);
        assert_eq!(ja("question_rate", "疲れたから。"), 0.0);
        assert_eq!(ja("stutter_rate", "そ、そうです！"), 1.0);
        assert_eq!(ja("elongation_rate", "すごーい！コーヒーね〜"), 2.0);
        assert_eq!(
            hits_in(
                Language::Ja,
                "third_person_self_reference",
                "ミサトはね",
                &["ミサト".into()]
            ),
            1.0
        );
    }

    #[test]
    fn chinese_traits_fire_on_their_own_markers() {
        let zh = |name, text| hits_in(Language::Zh, name, text, &[]);
        assert_eq!(zh("first_person_rate", "我们走，我先去。"), 1.0);
        assert_eq!(zh("first_person_plural_rate", "我们走，咱们也走。"), 2.0);
        assert_eq!(zh("second_person_address_rate", "你们去吧，你呢？"), 2.0);
        assert_eq!(zh("final_ba", "去酒吧吧！走吧"), 2.0);
        assert_eq!(zh("self_grand", "老子不怕！"), 1.0);
        assert_eq!(zh("self_humble", "在下段誉。在下面的人"), 1.0);
        assert_eq!(zh("politeness_rate", "请坐，谢谢。他申请了。"), 2.0);
        assert_eq!(zh("interjection_rate", "唉，哼！哼哼唧唧"), 2.0);
        assert_eq!(zh("laughter_rate", "哈哈哈，好啊"), 1.0);
        assert_eq!(zh("final_emotive", "好啊！哎呀"), 1.0);
        assert_eq!(zh("question_rate", "你吃饭了吗"), 1.0);
        assert_eq!(zh("question_rate", "为什么这么说。"), 0.0);
        assert_eq!(zh("stutter_rate", "我、我不知道"), 1.0);
        assert_eq!(zh("elongation_rate", "啊啊啊啊！哈哈哈，来来来"), 1.0);
        assert_eq!(zh("stutter_rate", "来来来，喝酒"), 0.0);
        assert_eq!(zh("assistant_speak_rate", "作为一个AI，我无法回答。"), 1.0);
    }

    #[test]
    fn glosses_are_plain_and_distinct_in_every_language() {
        for lang in [Language::En, Language::Ja, Language::Zh] {
            let mut seen = std::collections::HashSet::new();
            for def in defs(lang) {
                // Words for people, not the snake_case id.
                assert!(
                    def.gloss.contains(' ') && def.gloss != def.name,
                    "{lang:?} {}: {:?}",
                    def.name,
                    def.gloss
                );
                assert!(
                    seen.insert(def.gloss),
                    "{lang:?}: gloss {:?} twice",
                    def.gloss
                );
            }
        }
    }

    fn shared_characters(lang: &str) -> std::path::PathBuf {
        let dir = crate::test_data::dir().join("characters").join(lang);
        assert!(dir.is_dir(), "{} is missing", dir.display());
        dir
    }

    fn character(lang: &str, name: &str) -> crate::StyleProfile {
        let path = shared_characters(lang).join(format!("{name}.txt"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let lines: Vec<&str> = text.lines().collect();
        crate::analyze(&lines, &[], crate::resources::shared::resources()).unwrap()
    }

    fn z(p: &crate::StyleProfile, name: &str) -> f64 {
        p.pragmatics
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .z_or_ratio
    }

    /// Each example line, analyzed on its own, shows the trait it illustrates.
    fn assert_examples_show_their_trait(p: &crate::StyleProfile, who: &str) {
        let res = crate::resources::shared::resources();
        let ctx = Context {
            self_names: &p.self_names,
            language: p.language,
        };
        for t in &p.pragmatics.traits {
            let def = trait_def(p.language, &t.name).unwrap();
            for ex in &t.examples {
                let doc = crate::profile::prepare(&[ex.as_str()], res);
                let hits: f64 = doc.sentences.iter().map(|s| measure(def, s, &ctx)).sum();
                assert!(
                    hits > 0.0,
                    "{who} {}: example {ex:?} does not show it",
                    t.name
                );
                if p.language != Language::En {
                    assert!(
                        ex.chars().any(crate::text::is_cjk),
                        "{who} {}: example {ex:?} is not Japanese or Chinese",
                        t.name
                    );
                }
            }
        }
    }

    #[test]
    fn japanese_characters_show_the_pronouns_they_use() {
        let misato = character("ja", "misato_katsuragi");
        let shinji = character("ja", "shinji_ikari");
        let toji = character("ja", "toji_suzuhara");
        assert_eq!(misato.language, Language::Ja);
        // Misato says 私 in about 100 of her 1,135 lines; Shinji says 僕; Toji the Kansai ワシ.
        assert!(
            z(&misato, "self_watashi") > 2.0,
            "{}",
            z(&misato, "self_watashi")
        );
        assert!(z(&misato, "self_boku") < 0.0);
        assert!(z(&shinji, "self_boku") > 5.0, "{}", z(&shinji, "self_boku"));
        assert!(z(&shinji, "self_watashi") < 0.0);
        assert!(z(&toji, "self_washi") > 5.0, "{}", z(&toji, "self_washi"));
        // Misato calls Shinji "シンジ君": a name suffix, not the pronoun 君.
        assert!(z(&misato, "honorific_rate") > 2.0);
        let gloss = &misato.pragmatics.get("self_watashi").unwrap().gloss;
        assert!(gloss.contains('私'), "{gloss}");
        for (p, who) in [(&misato, "misato"), (&shinji, "shinji"), (&toji, "toji")] {
            assert_examples_show_their_trait(p, who);
        }
    }

    #[test]
    fn chinese_characters_show_address_and_self_reference() {
        let li = character("zh", "li_yunlong");
        let wei = character("zh", "wei_xiaobao");
        let duan = character("zh", "duan_yu");
        assert_eq!(li.language, Language::Zh);
        // Li Yunlong says 你 in 428 of his 975 lines.
        let ni = z(&li, "second_person_address_rate");
        assert!(ni > 2.0, "{ni}");
        // Wei Xiaobao's 老子, Duan Yu's 在下.
        assert!(z(&wei, "self_grand") > 5.0, "{}", z(&wei, "self_grand"));
        assert!(z(&duan, "self_humble") > 5.0, "{}", z(&duan, "self_humble"));
        for (p, who) in [(&li, "li"), (&wei, "wei"), (&duan, "duan")] {
            assert_examples_show_their_trait(p, who);
        }
    }

    #[test]
    fn bundled_personas_examples_show_their_trait() {
        let res = crate::resources::shared::resources();
        for (persona, speaker) in [
            ("tsubaki", "TSUBAKI"),
            ("mikoto", "MIKOTO"),
            ("ririka", "RIRIKA"),
        ] {
            let (own, _) = crate::profile::tests::persona_lines(persona, speaker);
            let own: Vec<&str> = own.iter().map(String::as_str).collect();
            let p = crate::analyze_speaker(&own, &[], Some(speaker), res).unwrap();
            assert!(p.pragmatics.traits.iter().all(|t| !t.gloss.is_empty()));
            assert_examples_show_their_trait(&p, persona);
        }
    }

    #[test]
    fn z_scores_have_the_right_sign() {
        let hi = Tally {
            hits: 50.0,
            hits_sq: 50.0,
            sentences: 100.0,
            tokens: 800.0,
        };
        let lo = Tally {
            hits: 100.0,
            hits_sq: 100.0,
            sentences: 1000.0,
            tokens: 9000.0,
        };
        assert!(hi.z_against(&lo, Unit::PerSentence) > 5.0);
        assert!(lo.z_against(&hi, Unit::PerSentence) < 0.0);
        assert!((hi.value(Unit::Per1kTokens) - 62.5).abs() < 1e-9);
    }
}
