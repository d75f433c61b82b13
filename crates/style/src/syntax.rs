//! Syntactic patterns: rules used in a character's parses, ranked against the background rule
//! distribution with the log-odds ratio with informative Dirichlet prior (Monroe, Colaresi & Quinn
//! 2008), each with a gloss when the pattern is a known construction. Japanese and Chinese
//! sentences have no parses: their word-class n-grams (`cjk_patterns`) stand in for rules.

use std::collections::{BTreeMap, HashMap};

use crate::cjk_patterns;
use crate::doc::Document;
use crate::grammar::Grammar;
use crate::parser::{self, MAX_PARSE_LEN};
use crate::text::Language;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleStat {
    /// n-ary rule, e.g. "SQ -> VBZ NP VP".
    pub rule: String,
    pub gloss: Option<String>,
    /// Log-odds of the rule in the character's parses vs the background.
    pub log_odds: f64,
    pub z: f64,
    pub count: u32,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseStats {
    pub sentences: usize,
    pub parsed: usize,
    /// Longer than the parser's length bound.
    pub skipped_too_long: usize,
    /// No parse survived the beam.
    pub failed: usize,
    /// Rule occurrences over all parses.
    pub rules_total: usize,
}

impl ParseStats {
    pub fn parsed_share(&self) -> f64 {
        self.parsed as f64 / self.sentences.max(1) as f64
    }
}

/// Rules of each parsed sentence (index into `doc.sentences`).
#[derive(Debug, Default)]
pub struct Parses {
    pub by_sentence: Vec<Option<Vec<String>>>,
    pub stats: ParseStats,
}

/// Rules of each sentence: its parse's for English, its patterns for Japanese and Chinese.
pub fn parse_document(doc: &Document, g: &Grammar) -> Parses {
    let mut out = Parses::default();
    for s in &doc.sentences {
        let rules = if !s.tags.is_empty() {
            out.stats.sentences += 1;
            parse_rules(g, s, &mut out.stats)
        } else if !s.cjk_tags.is_empty() {
            out.stats.sentences += 1;
            out.stats.parsed += 1;
            Some(cjk_patterns::sentence_patterns(doc.language, s))
        } else {
            None
        };
        out.stats.rules_total += rules.as_ref().map_or(0, Vec::len);
        out.by_sentence.push(rules);
    }
    out
}

/// Rules of one tagged sentence's Viterbi parse, updating `stats`.
pub fn parse_rules(
    g: &Grammar,
    s: &crate::doc::Sentence,
    stats: &mut ParseStats,
) -> Option<Vec<String>> {
    if s.tags.len() > MAX_PARSE_LEN {
        stats.skipped_too_long += 1;
        return None;
    }
    let words: Vec<&str> = s.ptb.iter().map(String::as_str).collect();
    match parser::parse(g, &s.tags, &words) {
        Some(tree) => {
            stats.parsed += 1;
            Some(tree.rules())
        }
        None => {
            stats.failed += 1;
            None
        }
    }
}

/// Prior strength: the background proportions act as this many pseudo-counts.
const PRIOR_MASS: f64 = 500.0;
const MIN_COUNT: u32 = 2;
const TOP_RULES: usize = 30;
const MAX_EXAMPLES: usize = 3;

/// Monroe et al. (2008) log-odds of `y` in a corpus of `n` against `y_bg` in `n_bg`, with prior
/// pseudo-count `alpha` for this rule out of `alpha0`. Returns (delta, z).
pub fn log_odds(y: f64, n: f64, y_bg: f64, n_bg: f64, alpha: f64, alpha0: f64) -> (f64, f64) {
    let odds = |y: f64, n: f64| ((y + alpha) / (n + alpha0 - y - alpha).max(1e-9)).ln();
    let delta = odds(y, n) - odds(y_bg, n_bg);
    let var = 1.0 / (y + alpha) + 1.0 / (y_bg + alpha);
    (delta, delta / var.sqrt())
}

/// How often each rule (or Japanese/Chinese pattern) occurs in a language's background corpus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleBackground {
    /// Rule -> count (an asset may leave out its rarest rules).
    pub counts: BTreeMap<String, u32>,
    /// Rule occurrences and distinct rules, including any left out of `counts`.
    pub total: f64,
    pub types: f64,
}

impl RuleBackground {
    pub fn from_counts(counts: BTreeMap<String, u32>) -> Self {
        let total = counts.values().map(|&c| f64::from(c)).sum();
        let types = counts.len() as f64;
        Self {
            counts,
            total,
            types,
        }
    }

    pub fn count(&self, rule: &str) -> f64 {
        f64::from(self.counts.get(rule).copied().unwrap_or(0))
    }

    /// Add-half smoothed probability of a rule use being `rule`.
    pub fn prob(&self, rule: &str) -> f64 {
        (self.count(rule) + 0.5) / (self.total + 0.5 * self.types)
    }
}

/// Log-odds of a rule seen `count` times among `total` rule uses, against the background.
pub fn rule_log_odds(rule: &str, count: f64, total: f64, bg: &RuleBackground) -> (f64, f64) {
    let n_bg: f64 = bg.total.max(1.0);
    let y_bg = bg.count(rule);
    let alpha = PRIOR_MASS * (y_bg + 0.5) / (n_bg + 0.5);
    log_odds(count, total, y_bg, n_bg, alpha, PRIOR_MASS)
}

/// Ranks the rules of a document's parses against its language's background rule counts.
pub fn rank_rules(doc: &Document, parses: &Parses, bg: &RuleBackground) -> Vec<RuleStat> {
    let mut counts: HashMap<&str, (u32, Vec<usize>)> = HashMap::new();
    for (si, rules) in parses.by_sentence.iter().enumerate() {
        for r in rules.iter().flatten() {
            let e = counts.entry(r.as_str()).or_default();
            e.0 += 1;
            if e.1.last() != Some(&si) {
                e.1.push(si);
            }
        }
    }
    let n: f64 = counts.values().map(|c| f64::from(c.0)).sum();
    let mut stats: Vec<RuleStat> = counts
        .into_iter()
        .filter(|(_, (c, _))| *c >= MIN_COUNT)
        .map(|(rule, (count, sents))| {
            let (delta, z) = rule_log_odds(rule, f64::from(count), n, bg);
            let mut examples: Vec<String> = Vec::new();
            for &si in &sents {
                let line = &doc.lines[doc.sentences[si].line];
                if !examples.contains(line) {
                    examples.push(line.clone());
                }
                if examples.len() == MAX_EXAMPLES {
                    break;
                }
            }
            RuleStat {
                rule: rule.to_string(),
                gloss: match doc.language {
                    Language::Ja | Language::Zh => Some(cjk_patterns::gloss(rule)),
                    Language::En | Language::Other => gloss(rule),
                },
                log_odds: delta,
                z,
                count,
                examples,
            }
        })
        .filter(|r| r.z > 0.0)
        .collect();
    stats.sort_by(|a, b| b.z.total_cmp(&a.z).then_with(|| a.rule.cmp(&b.rule)));
    stats.truncate(TOP_RULES);
    stats
}

/// Rule counts over many sentences' parses (used to build the background).
pub fn count_rules<'a>(parses: impl IntoIterator<Item = &'a Vec<String>>) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for r in parses.into_iter().flatten() {
        *out.entry(r.clone()).or_insert(0) += 1;
    }
    out
}

fn is_verbal(label: &str) -> bool {
    label.starts_with("VB") || label == "MD" || label == "VP"
}

/// Plain-language names of the treebank's phrase labels and part-of-speech tags, pairwise
/// distinct so that two different rules never read the same.
const LABEL_NAMES: &[(&str, &str)] = &[
    ("ROOT", "line"),
    ("S", "clause"),
    ("SQ", "yes/no question"),
    ("SBAR", "subordinate clause"),
    ("SBARQ", "wh-question"),
    ("SINV", "inverted clause"),
    ("NP", "noun phrase"),
    ("VP", "verb phrase"),
    ("PP", "prepositional phrase"),
    ("ADJP", "adjective phrase"),
    ("ADVP", "adverb phrase"),
    ("INTJ", "interjection"),
    ("FRAG", "fragment"),
    ("WHNP", "question word (who, what)"),
    ("WHADVP", "question adverb (where, when, how)"),
    ("WHADJP", "question amount (how much)"),
    ("WHPP", "preposition with a question word (to whom)"),
    ("PRT", "verb particle (up, off)"),
    ("QP", "amount"),
    ("NX", "noun group"),
    ("NAC", "part of a name"),
    ("PRN", "aside"),
    ("CONJP", "joining phrase (as well as)"),
    ("UCP", "mixed coordination"),
    ("RRC", "reduced relative clause"),
    ("LST", "list item"),
    ("X", "unclassified part"),
    ("NN", "noun"),
    ("NNS", "plural noun"),
    ("NNP", "name"),
    ("NNPS", "plural name"),
    ("IN", "preposition"),
    ("DT", "article (the, a)"),
    ("PDT", "predeterminer (all, both)"),
    ("PRP", "pronoun"),
    ("PRP$", "possessive (my, your)"),
    ("JJ", "adjective"),
    ("JJR", "comparative (bigger)"),
    ("JJS", "superlative (biggest)"),
    ("RB", "adverb"),
    ("RBR", "comparative adverb (faster)"),
    ("RBS", "superlative adverb (most)"),
    ("VB", "verb"),
    ("VBD", "past-tense verb"),
    ("VBP", "present-tense verb"),
    ("VBZ", "present-tense verb in -s"),
    ("VBN", "past participle"),
    ("VBG", "-ing verb"),
    ("MD", "modal (can, will)"),
    ("TO", "'to'"),
    ("CD", "number"),
    ("CC", "'and', 'but' or 'or'"),
    ("EX", "existential 'there'"),
    ("WDT", "'which' or 'that'"),
    ("WP", "'who' or 'what'"),
    ("WP$", "'whose'"),
    ("WRB", "'where', 'when' or 'how'"),
    ("RP", "particle"),
    ("UH", "exclamation word (oh, hey)"),
    ("POS", "possessive 's"),
    ("FW", "foreign word"),
    (".", "end punctuation"),
    (",", "comma"),
    (":", "colon or dash"),
    ("``", "opening quote"),
    ("''", "closing quote"),
    ("-LRB-", "opening bracket"),
    ("-RRB-", "closing bracket"),
    ("HYPH", "hyphen"),
    ("NFP", "trailing mark (..., :))"),
    ("$", "currency sign"),
    ("SYM", "symbol"),
    ("ADD", "web address"),
    ("GW", "split-off word part"),
    ("LS", "list number"),
    ("AFX", "prefix"),
    ("XX", "unknown word"),
];

fn label_name(label: &str) -> &'static str {
    LABEL_NAMES
        .iter()
        .find(|(l, _)| *l == label)
        .map_or("other part", |(_, name)| name)
}

/// A plain-language reading of a rule: the construction it realizes (or its phrase's name) and
/// its parts, e.g. "SQ -> VBZ NP VP ." reads "yes/no question, auxiliary before the subject:
/// present-tense verb in -s + noun phrase + verb phrase + end punctuation". Naming every part
/// keeps two rows of one construction apart.
pub fn gloss(rule: &str) -> Option<String> {
    let (lhs, rhs) = rule.split_once(" -> ")?;
    let kids: Vec<&str> = rhs.split(' ').collect();
    let what = construction(lhs, &kids).unwrap_or_else(|| label_name(lhs));
    let parts: Vec<&str> = kids.iter().map(|k| label_name(k)).collect();
    Some(format!("{what}: {}", parts.join(" + ")))
}

/// The name of a known construction that a rule realizes; each differs from every label's name
/// and from the constructions of other phrase labels.
fn construction(lhs: &str, kids: &[&str]) -> Option<&'static str> {
    let first_np = kids.iter().position(|k| *k == "NP");
    let first_verbal = kids.iter().position(|k| is_verbal(k));
    Some(match lhs {
        "ROOT" => match kids {
            ["FRAG"] => "line that is a fragment",
            ["SQ"] => "line that is a yes/no question",
            ["SBARQ"] => "line that is a wh-question",
            ["SINV"] => "line with subject-verb inversion",
            ["INTJ"] => "line that is only an interjection",
            ["NP"] => "line that is a bare noun phrase",
            [_, _, ..] => "run-on line",
            _ => return None,
        },
        "SQ" if kids.last() == Some(&"SQ") || kids.contains(&",") && kids.first() == Some(&"S") => {
            "tag question"
        }
        "SQ" => "yes/no question, auxiliary before the subject",
        "SINV" => "inversion, verb before the subject",
        "FRAG" => "fragment, no main clause",
        "PRN" => "parenthetical aside",
        "S" if kids.contains(&"SQ") => "statement with a tag question",
        "S" if kids.first() == Some(&"VP") => "clause without a subject (imperative)",
        "S" if first_verbal.is_some_and(|v| first_np.is_some_and(|np| v < np)) => {
            "inversion, predicate before the subject"
        }
        "S" if kids
            .first()
            .is_some_and(|k| matches!(*k, "ADJP" | "PP" | "NP" | "VP" | "S"))
            && (kids.get(1) == Some(&"NP")
                || kids.get(1) == Some(&",")
                    && kids.get(2) == Some(&"NP")
                    && kids.get(3) == Some(&"VP")) =>
        {
            "fronted phrase before the subject (inversion)"
        }
        "S" if kids.iter().filter(|k| **k == "S").count() >= 2 => "clauses joined together",
        "S" if kids.first() == Some(&"INTJ") => "interjection opening a sentence",
        "S" if first_np.is_some() && first_verbal.is_none() => "clause without a verb",
        "VP" if kids.first() == Some(&"MD") => "verb with a modal",
        "VP" if kids.len() == 1 && kids[0].starts_with("VB") => {
            "bare verb, its object fronted or dropped"
        }
        "VP" if kids.contains(&"PRT") => "phrasal verb (give up)",
        "VP" if kids.contains(&"RB") => "verb with an adverb or 'not'",
        "NP" if kids == ["NNP"] || kids == ["NNP", "NNP"] => "proper name",
        "NP" if kids.contains(&"UH") || kids.contains(&",") && kids.len() == 2 => {
            "calling someone by name (vocative)"
        }
        "INTJ" if kids.len() == 1 => "interjection on its own",
        "ADJP" if kids.first() == Some(&"RB") => "intensified adjective",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glosses_name_constructions_and_parts() {
        assert_eq!(
            gloss("SQ -> VBZ NP VP .").as_deref(),
            Some(
                "yes/no question, auxiliary before the subject: present-tense verb in -s + \
                 noun phrase + verb phrase + end punctuation"
            )
        );
        assert_eq!(
            gloss("VP -> VB PRT").as_deref(),
            Some("phrasal verb (give up): verb + verb particle (up, off)")
        );
        assert_eq!(
            gloss("NP -> DT NN").as_deref(),
            Some("noun phrase: article (the, a) + noun")
        );
        assert!(gloss("S -> ADJP VBP NP .")
            .unwrap()
            .starts_with("inversion, predicate"));
        assert!(gloss("S -> S , SQ .")
            .unwrap()
            .starts_with("statement with a tag question"));
        assert!(gloss("S -> ADJP , NP VP .")
            .unwrap()
            .starts_with("fronted phrase"));
        // Three rules a creator used to see as "interjection" now read apart.
        let interjections = ["ROOT -> INTJ", "INTJ -> UH", "S -> INTJ , NP VP ."].map(gloss);
        assert_eq!(
            interjections.map(|g| g.unwrap().split(':').next().unwrap().to_string()),
            [
                "line that is only an interjection",
                "interjection on its own",
                "interjection opening a sentence"
            ]
        );
        assert_eq!(gloss("no rule"), None);
    }

    #[test]
    fn label_names_cover_the_grammar_and_are_distinct() {
        let g = &crate::resources::shared::resources().grammar;
        for label in g.symbols.iter().filter(|s| !s.starts_with('@')) {
            assert_ne!(label_name(label), "other part", "{label} has no plain name");
        }
        let names: std::collections::HashSet<&str> = LABEL_NAMES.iter().map(|(_, n)| *n).collect();
        assert_eq!(names.len(), LABEL_NAMES.len());
    }

    /// Treebank labels a creator should never see: every phrase label and part-of-speech tag.
    fn shows_a_label(gloss: &str) -> Option<&'static str> {
        let words: Vec<&str> = gloss
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '(' | ')' | '+'))
            .collect();
        LABEL_NAMES
            .iter()
            .map(|(l, _)| *l)
            .filter(|l| l.chars().any(|c| c.is_ascii_uppercase()))
            .find(|l| words.contains(l))
    }

    #[test]
    fn shown_rules_read_in_plain_distinct_words() {
        let res = crate::resources::shared::resources();
        let mut profiles = Vec::new();
        for (persona, speaker) in [
            ("tsubaki", "TSUBAKI"),
            ("mikoto", "MIKOTO"),
            ("ririka", "RIRIKA"),
        ] {
            let (own, others) = crate::profile::tests::persona_lines(persona, speaker);
            let own: Vec<&str> = own.iter().map(String::as_str).collect();
            let others: Vec<&str> = others.iter().map(String::as_str).collect();
            profiles.push(crate::analyze(&own, &others, res).unwrap());
        }
        for name in ["sheldon_cooper", "hamlet"] {
            let text = crate::profile::tests::shared_character_text("en", name);
            let lines: Vec<&str> = text.lines().collect();
            profiles.push(crate::analyze(&lines, &[], res).unwrap());
        }
        for p in &profiles {
            assert!(p.syntax.len() >= 10, "{:?}", p.syntax);
            let mut seen = std::collections::HashMap::new();
            for r in &p.syntax {
                let g = r
                    .gloss
                    .as_deref()
                    .unwrap_or_else(|| panic!("{} has no gloss", r.rule));
                assert_eq!(shows_a_label(g), None, "{} reads {g}", r.rule);
                if let Some(other) = seen.insert(g, &r.rule) {
                    panic!("{other} and {} both read {g}", r.rule);
                }
            }
        }
    }

    /// Top pattern rows of a real character's profile, after checking that every row reads in
    /// plain, distinct words.
    fn top_patterns(lang: &str, name: &str, n: usize) -> Vec<String> {
        let res = crate::resources::shared::resources();
        let text = crate::profile::tests::shared_character_text(lang, name);
        let lines: Vec<&str> = text.lines().collect();
        let p = crate::analyze(&lines, &[], res).unwrap();
        assert!(p.parse_stats.parsed_share() > 0.99, "{:?}", p.parse_stats);
        assert!(p.syntax.len() >= 20, "{name}: {:?}", p.syntax);
        let mut seen = std::collections::HashSet::new();
        for r in &p.syntax {
            let g = r.gloss.as_deref().expect("every pattern has a gloss");
            assert_eq!(shows_a_label(g), None, "{} reads {g}", r.rule);
            assert!(!g.contains("<s>") && !g.contains("/s>"), "{g}");
            assert!(seen.insert(g), "{g} twice");
        }
        p.syntax.iter().take(n).map(|r| r.rule.clone()).collect()
    }

    #[test]
    fn japanese_and_chinese_characters_get_plainly_glossed_patterns() {
        // Toji speaks Kansai dialect: its copula や shows in several of his top patterns; Shinji
        // speaks the standard language, where it does not.
        let kansai = |top: &[String]| top.iter().filter(|r| r.contains(" や")).count();
        let toji = top_patterns("ja", "toji_suzuhara", 30);
        assert!(kansai(&toji) >= 2, "{toji:?}");
        let shinji = top_patterns("ja", "shinji_ikari", 30);
        assert_eq!(kansai(&shinji), 0, "{shinji:?}");
        // Spoken lines against written prose: the explanatory んだ, a negative ending.
        assert!(shinji.contains(&"ん だ </s>".to_string()), "{shinji:?}");
        assert!(shinji.contains(&"VERB ない </s>".to_string()), "{shinji:?}");
        // Chinese dialogue: the sentence-final 了 of a changed situation, rare in news prose.
        let guo = top_patterns("zh", "guo_furong", 15);
        assert!(guo.contains(&"VERB 了 </s>".to_string()), "{guo:?}");
    }

    #[test]
    fn log_odds_favours_overused_rules() {
        // 30 of 100 vs 10 of 1000: strongly over-used.
        let (d, z) = log_odds(30.0, 100.0, 10.0, 1000.0, 5.0, 500.0);
        assert!(d > 1.0 && z > 3.0, "{d} {z}");
        let (d2, _) = log_odds(1.0, 100.0, 100.0, 1000.0, 50.0, 500.0);
        assert!(d2 < 0.0);
    }
}
