//! `StyleProfile` and `analyze`: lines -> lexical signatures + syntactic patterns + pragmatic traits.

use crate::doc::{self, Document, InputStats};
use crate::error::{Error, Result};
use crate::lexical::{self, LexicalSignature, NgramCounts};
use crate::model::ScoringModel;
use crate::pragmatics::{self, Context, PragmaticTraits};
use crate::resources::Resources;
use crate::syntax::{self, ParseStats, RuleStat};
use crate::text::Language;

/// Bump when the serialized shape or the meaning of a field changes.
pub const SCHEMA_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StyleProfile {
    pub schema_version: u32,
    pub line_count: usize,
    pub token_count: usize,
    pub language: Language,
    /// Forms of the speaker's name counted as third-person self-reference (lowercase).
    pub self_names: Vec<String>,
    /// Verbal habits: distinctive words and phrases used all over the script.
    pub lexical: Vec<LexicalSignature>,
    /// Names and scene topics the character talks about (`kind` says which): vocabulary, not voice.
    #[serde(default)]
    pub vocabulary: Vec<LexicalSignature>,
    pub catchphrases: Vec<LexicalSignature>,
    pub syntax: Vec<RuleStat>,
    /// The scorer's model: word and grammar-rule counts (absent from version-1 profiles, which
    /// score as a character with no measured habits until they are analysed again).
    #[serde(default)]
    pub model: ScoringModel,
    pub parse_stats: ParseStats,
    pub pragmatics: PragmaticTraits,
    pub input: InputStats,
}

/// Prepares lines for analysis with the bundled tagger.
pub fn prepare(lines: &[&str], res: &Resources) -> Document {
    doc::prepare(lines, &|tokens| res.tagger.tag(tokens))
}

/// Profile of one character's lines; `others` are the other speakers' lines of the same script.
pub fn analyze(lines: &[&str], others: &[&str], res: &Resources) -> Result<StyleProfile> {
    analyze_speaker(lines, others, None, res)
}

/// Like `analyze`, with the speaker's name so that third-person self-reference can be counted.
pub fn analyze_speaker(
    lines: &[&str],
    others: &[&str],
    speaker: Option<&str>,
    res: &Resources,
) -> Result<StyleProfile> {
    let doc = prepare(lines, res);
    if doc.sentences.is_empty() {
        return Err(Error::EmptyInput(format!(
            "{} lines given, {} empty, {} too long, none with text",
            doc.stats.lines_total, doc.stats.lines_empty, doc.stats.lines_too_long
        )));
    }
    let other_counts =
        (!others.is_empty()).then(|| NgramCounts::of(&doc::prepare(others, &|t| vec![0; t.len()])));
    let signatures = lexical::signatures(&doc, other_counts.as_ref(), res.background(doc.language));
    let parses = syntax::parse_document(&doc, &res.grammar);
    let syntax = syntax::rank_rules(&doc, &parses, res.rule_background(doc.language));
    let model = ScoringModel::of(&doc, &parses);
    let self_names = pragmatics::self_names(speaker);
    let pragmatics = pragmatics::traits(
        &doc,
        &Context {
            self_names: &self_names,
            language: doc.language,
        },
        res.trait_background(doc.language),
    );
    Ok(StyleProfile {
        schema_version: SCHEMA_VERSION,
        line_count: doc.lines.len(),
        token_count: doc.token_count(),
        language: doc.language,
        self_names,
        lexical: signatures.habits,
        vocabulary: signatures.vocabulary,
        catchphrases: signatures.catchphrases,
        syntax,
        model,
        parse_stats: parses.stats,
        pragmatics,
        input: doc.stats,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::resources::shared::resources;

    /// Lines of `speaker` and of everyone else in a bundled persona script (`SPEAKER: text`).
    pub fn persona_lines(persona: &str, speaker: &str) -> (Vec<String>, Vec<String>) {
        let path = format!(
            "{}/../../personas/{persona}/script.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (mut own, mut others) = (Vec::new(), Vec::new());
        for line in text.lines() {
            if let Some((who, said)) = line.split_once(": ") {
                if who.chars().all(|c| c.is_ascii_uppercase()) {
                    let said = said.to_string();
                    if who == speaker {
                        own.push(said)
                    } else {
                        others.push(said)
                    }
                }
            }
        }
        (own, others)
    }

    /// The text of a reference character file (characters/{lang}/{name}.txt), or a panic that says
    /// it is missing.
    pub fn shared_character_text(lang: &str, name: &str) -> String {
        let path = crate::test_data::dir().join(format!("characters/{lang}/{name}.txt"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reference character missing at {}: {e}", path.display()))
    }

    /// The three bundled personas' profiles (tsubaki, mikoto, ririka), computed once.
    fn personas() -> &'static [StyleProfile; 3] {
        static P: std::sync::OnceLock<[StyleProfile; 3]> = std::sync::OnceLock::new();
        P.get_or_init(|| {
            [
                profile_of("tsubaki", "TSUBAKI"),
                profile_of("mikoto", "MIKOTO"),
                profile_of("ririka", "RIRIKA"),
            ]
        })
    }

    fn profile_of(persona: &str, speaker: &str) -> StyleProfile {
        let (own, others) = persona_lines(persona, speaker);
        let own: Vec<&str> = own.iter().map(String::as_str).collect();
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        analyze_speaker(&own, &others, Some(speaker), resources()).unwrap()
    }

    fn z(p: &StyleProfile, name: &str) -> f64 {
        p.pragmatics.get(name).unwrap().z_or_ratio
    }

    fn has_rule(p: &StyleProfile, pred: impl Fn(&RuleStat) -> bool) -> bool {
        p.syntax.iter().any(pred)
    }

    #[test]
    fn bundled_personas_differ_measurably() {
        let [tsubaki, mikoto, ririka] = personas();
        // Tsundere: stutters, and "hmph" as a signature.
        assert!(
            z(tsubaki, "stutter_rate") > 3.0
                && z(tsubaki, "stutter_rate") > z(mikoto, "stutter_rate")
        );
        assert!(
            tsubaki.lexical.iter().any(|s| s.term == "hmph"),
            "{:?}",
            tsubaki.lexical
        );
        // Shrine spirit: archaic forms, third-person "this one", inverted word order.
        assert!(
            z(mikoto, "archaic_rate") > 5.0
                && mikoto.pragmatics.get("archaic_rate").unwrap().value > 20.0
        );
        assert!(
            mikoto
                .pragmatics
                .get("third_person_self_reference")
                .unwrap()
                .value
                > 1.0
        );
        assert!(
            has_rule(mikoto, |r| {
                r.gloss
                    .as_deref()
                    .is_some_and(|g| g.contains("inversion") || g.contains("fronted"))
            }),
            "{:?}",
            mikoto
                .syntax
                .iter()
                .map(|r| (&r.rule, &r.gloss))
                .collect::<Vec<_>>()
        );
        // Idol: exclamations, emoticons, fragments, "Riri".
        assert!(z(ririka, "exclamation_rate") > z(mikoto, "exclamation_rate"));
        assert!(z(ririka, "emoticon_rate") > 5.0);
        assert!(
            ririka
                .pragmatics
                .get("third_person_self_reference")
                .unwrap()
                .value
                > 1.0
        );
        assert!(has_rule(ririka, |r| r.rule.starts_with("ROOT -> FRAG")
            || r.rule.starts_with("FRAG")));
        // Scores prefer the right persona for a characteristic line.
        let line = "Hmph. I-it's not like I waited for you, idiot!";
        let all = [("tsubaki", tsubaki), ("mikoto", mikoto), ("ririka", ririka)];
        let ranked = crate::attribute(line, &all, resources());
        assert_eq!(ranked[0].0, "tsubaki", "{ranked:?}");
        let archaic = "Long hath this one waited; rung the bell, thou didst.";
        let ranked = crate::attribute(archaic, &all, resources());
        assert_eq!(ranked[0].0, "mikoto", "{ranked:?}");
        // Profiles serialize camelCase and round-trip.
        let json = serde_json::to_string(mikoto).unwrap();
        assert!(json.contains("\"schemaVersion\":3") && json.contains("\"zOrRatio\""));
        let back: StyleProfile = serde_json::from_str(&json).unwrap();
        assert_eq!(
            (back.line_count, back.language, &back.syntax.len()),
            (mikoto.line_count, mikoto.language, &mikoto.syntax.len())
        );
        assert_eq!(
            back.lexical.iter().map(|s| &s.term).collect::<Vec<_>>(),
            mikoto.lexical.iter().map(|s| &s.term).collect::<Vec<_>>()
        );
    }

    #[test]
    fn scores_flags_and_plans_are_faithful() {
        let [tsubaki, mikoto, _] = personas();
        let res = resources();
        let in_voice = crate::score("Hmph. W-what are you staring at, idiot?", tsubaki, res);
        let assistant = crate::score(
            "As an AI language model, I am happy to assist you with that request.",
            tsubaki,
            res,
        );
        assert!(
            in_voice.overall > assistant.overall,
            "{in_voice:?} {assistant:?}"
        );
        assert!(assistant
            .ooc_flags
            .iter()
            .any(|f| f.kind == "assistant_speak" && f.cause.contains("As an AI")));
        assert!(!in_voice
            .ooc_flags
            .iter()
            .any(|f| f.kind == "assistant_speak"));
        assert!(crate::score("我们走吧。", tsubaki, res)
            .ooc_flags
            .iter()
            .any(|f| f.kind == "language_mismatch"));

        let plan = crate::plan("Hmph. W-what are you staring at?", tsubaki, res);
        assert!(plan.signatures.contains(&"hmph".to_string()), "{plan:?}");
        assert!(
            plan.traits
                .iter()
                .any(|t| t.name == "stutter_rate" && t.evidence.contains("W-what")),
            "{plan:?}"
        );
        let text = plan.render();
        let stutter = crate::pragmatics::trait_def(tsubaki.language, "stutter_rate").unwrap();
        assert!(
            text.contains("\"hmph\"") && text.contains(stutter.gloss),
            "{text}"
        );
        assert!(!text.contains("_rate") && !text.contains("->"), "{text}");
        // Nothing is claimed that the line does not do.
        let plain = crate::plan("The report is on the desk.", mikoto, res);
        assert!(
            plain.signatures.is_empty() && plain.traits.is_empty(),
            "{plain:?}"
        );
        let archaic = crate::plan("Thou art late, and this one hath waited.", mikoto, res);
        assert!(
            archaic.traits.iter().any(|t| t.name == "archaic_rate"),
            "{archaic:?}"
        );
        assert!(!archaic.traits.iter().any(|t| t.name == "stutter_rate"));
    }

    #[test]
    fn bad_input_is_counted_not_fatal() {
        let res = resources();
        // Binary junk decoded lossily, a 1 MB line, control characters, mixed scripts.
        let junk: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let junk = String::from_utf8_lossy(&junk).to_string();
        let huge = "word ".repeat(200_000);
        let lines = [
            junk.as_str(),
            huge.as_str(),
            "\u{0}\u{7}\u{1b}[0m",
            "Hello there! 你好。こんにちは！",
            "Fine, I'll go.",
        ];
        let p = analyze(&lines, &[], res).unwrap();
        assert_eq!(p.input.lines_total, 5);
        assert_eq!(p.input.lines_too_long, 1);
        assert!(p.input.lines_with_invalid_text >= 1);
        assert!(p.line_count >= 2);
        // Text made only of junk scores without panicking and is flagged.
        let s = crate::score("\u{FFFD}\u{FFFD}", &p, res);
        assert!(s.ooc_flags.iter().any(|f| f.kind == "low_style"));
        assert!((0.0..=1.0).contains(&s.overall));
    }

    #[test]
    fn question_heavy_speaker_shows_question_rules() {
        let lines: Vec<String> = (0..40)
            .map(|i| match i % 4 {
                0 => "Is the train late again?".to_string(),
                1 => "Where did you put my keys?".to_string(),
                2 => "Do you think it will rain?".to_string(),
                _ => format!("Why is the number {i} so important?"),
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let p = analyze(&refs, &[], resources()).unwrap();
        let top: Vec<&str> = p.syntax.iter().take(8).map(|r| r.rule.as_str()).collect();
        assert!(top.iter().any(|r| r.starts_with("SQ ")), "{top:?}");
        assert!(top.iter().any(|r| r.starts_with("SBARQ ")), "{top:?}");
        assert!(p.pragmatics.get("question_rate").unwrap().value > 0.99);
        assert!(p.parse_stats.parsed_share() > 0.9);
    }

    #[test]
    fn chinese_and_japanese_signatures_are_words() {
        let data = crate::test_data::dir().join("characters");
        for (file, lang, name) in [
            ("zh/li_yunlong.txt", Language::Zh, "李云龙"),
            ("ja/shinji_ikari.txt", Language::Ja, "父さん"),
        ] {
            let path = data.join(file).display().to_string();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reference character missing at {path}: {e}"));
            let lines: Vec<&str> = text.lines().take(300).collect();
            let p = analyze(&lines, &[], resources()).unwrap();
            assert_eq!(p.language, lang, "{path}");
            let terms: Vec<(&str, u8)> = p.lexical.iter().map(|s| (s.term.as_str(), s.n)).collect();
            // A word of several characters counts as one word, not as character n-grams.
            assert!(terms.contains(&(name, 1)), "{path}: {terms:?}");
            assert!(
                terms.iter().any(|&(t, n)| n == 2 && t.chars().count() > 2),
                "{path}: {terms:?}"
            );
            // Terms are shown joined without spaces or key separators.
            assert!(
                terms.iter().all(|(t, _)| !t.contains([' ', '\u{1F}'])),
                "{path}: {terms:?}"
            );
            assert!(!p.syntax.is_empty() && p.pragmatics.get("question_rate").is_some());
        }
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(matches!(
            analyze(&[], &[], resources()),
            Err(Error::EmptyInput(_))
        ));
        assert!(matches!(
            analyze(&["", "  ", "..."], &[], resources()),
            Err(Error::EmptyInput(_))
        ));
    }
}
