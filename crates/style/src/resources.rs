//! Bundled models and tables, embedded in the binary so the app needs no asset path at run time.

use crate::background::Background;
use crate::cjk_patterns::CjkPatternBackgrounds;
use crate::error::Result;
use crate::grammar::Grammar;
use crate::pragmatics::background::CjkTraitBackgrounds;
use crate::pragmatics::TraitCounts;
use crate::syntax::RuleBackground;
use crate::tagger::Tagger;
use crate::text::Language;

const TAGGER: &[u8] = include_bytes!("../../../assets/style/tagger.bin.gz");
const GRAMMAR: &[u8] = include_bytes!("../../../assets/style/grammar.txt.gz");
const BACKGROUND_EN: &[u8] = include_bytes!("../../../assets/style/background_en.bin.gz");
const PHRASES_EN: &[u8] = include_bytes!("../../../assets/style/phrases_en.bin.gz");
const BACKGROUND_ZH: &[u8] = include_bytes!("../../../assets/style/background_zh.bin.gz");
const BACKGROUND_JA: &[u8] = include_bytes!("../../../assets/style/background_ja.bin.gz");
const TRAITS_CJK: &[u8] = include_bytes!("../../../assets/style/traits_cjk.json.gz");
const CJK_PATTERNS: &[u8] = include_bytes!("../../../assets/style/cjk_patterns.txt.gz");

/// Everything the analyzer needs besides the text. Load once and share (it is read-only).
#[derive(Debug, Clone)]
pub struct Resources {
    pub tagger: Tagger,
    pub grammar: Grammar,
    pub background_en: Background,
    pub background_zh: Background,
    pub background_ja: Background,
    /// Pragmatic-trait backgrounds of Japanese and Chinese (English's is in the grammar).
    pub trait_backgrounds_cjk: CjkTraitBackgrounds,
    /// English rule background: the grammar's counts, in the form all languages share.
    pub rule_background_en: RuleBackground,
    /// Japanese and Chinese pattern backgrounds (UD GSD).
    pub rule_backgrounds_cjk: CjkPatternBackgrounds,
}

impl Resources {
    /// Decodes the embedded assets (tens of milliseconds; see `kotodama bench style`).
    pub fn bundled() -> Result<Self> {
        let grammar = Grammar::from_bytes(GRAMMAR)?;
        Ok(Self {
            tagger: Tagger::from_bytes(TAGGER)?,
            rule_background_en: RuleBackground::from_counts(grammar.background_rules.clone()),
            grammar,
            background_en: Background::from_gzip(BACKGROUND_EN)?.with_phrases(PHRASES_EN)?,
            background_zh: Background::from_gzip(BACKGROUND_ZH)?,
            background_ja: Background::from_gzip(BACKGROUND_JA)?,
            trait_backgrounds_cjk: CjkTraitBackgrounds::from_gzip(TRAITS_CJK)?,
            rule_backgrounds_cjk: CjkPatternBackgrounds::from_gzip(CJK_PATTERNS)?,
        })
    }

    /// Background table for a language (English's for anything not Chinese or Japanese).
    pub fn background(&self, lang: Language) -> &Background {
        match lang {
            Language::Zh => &self.background_zh,
            Language::Ja => &self.background_ja,
            Language::En | Language::Other => &self.background_en,
        }
    }

    /// The pragmatic-trait background a language's profiles are compared with.
    pub fn trait_background(&self, lang: Language) -> &TraitCounts {
        match lang {
            Language::Ja => &self.trait_backgrounds_cjk.ja,
            Language::Zh => &self.trait_backgrounds_cjk.zh,
            Language::En | Language::Other => &self.grammar.background_trait_counts,
        }
    }

    /// The rule (English) or pattern (Japanese, Chinese) background a language's syntax is
    /// compared with.
    pub fn rule_background(&self, lang: Language) -> &RuleBackground {
        match lang {
            Language::Ja => &self.rule_backgrounds_cjk.ja,
            Language::Zh => &self.rule_backgrounds_cjk.zh,
            Language::En | Language::Other => &self.rule_background_en,
        }
    }

    /// Total size of the embedded assets in bytes.
    pub fn bundled_size() -> usize {
        TAGGER.len()
            + GRAMMAR.len()
            + BACKGROUND_EN.len()
            + PHRASES_EN.len()
            + BACKGROUND_ZH.len()
            + BACKGROUND_JA.len()
            + TRAITS_CJK.len()
            + CJK_PATTERNS.len()
    }
}

#[cfg(test)]
pub(crate) mod shared {
    use std::sync::OnceLock;

    /// One decoded copy for all tests.
    pub fn resources() -> &'static super::Resources {
        static RES: OnceLock<super::Resources> = OnceLock::new();
        RES.get_or_init(|| super::Resources::bundled().expect("bundled assets decode"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::tag_name;

    #[test]
    fn bundled_assets_decode_and_tag_a_known_sentence() {
        let res = shared::resources();
        assert!(res.background_en.len() > 100_000);
        assert!(res.background_en.contains("the"));
        assert!(res.background_zh.contains("我"));
        let tokens = crate::text::ptb_tokens("I don't think the dog can swim in this weather.");
        let tags: Vec<&str> = res.tagger.tag(&tokens).into_iter().map(tag_name).collect();
        assert_eq!(
            tags,
            vec!["PRP", "VBP", "RB", "VB", "DT", "NN", "MD", "VB", "IN", "DT", "NN", "."]
        );
    }
}
