//! Universal Dependencies part-of-speech tags (UPOS), and the maps from the Japanese and Chinese
//! segmenters' own tag sets to them, so that Japanese and Chinese words can be counted and
//! compared with the UD treebanks the same way.

/// The 17 UD UPOS tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Upos {
    Adj,
    Adp,
    Adv,
    Aux,
    Cconj,
    Det,
    Intj,
    Noun,
    Num,
    Part,
    Pron,
    Propn,
    Punct,
    Sconj,
    Sym,
    Verb,
    X,
}

const NAMES: [(Upos, &str); 17] = [
    (Upos::Adj, "ADJ"),
    (Upos::Adp, "ADP"),
    (Upos::Adv, "ADV"),
    (Upos::Aux, "AUX"),
    (Upos::Cconj, "CCONJ"),
    (Upos::Det, "DET"),
    (Upos::Intj, "INTJ"),
    (Upos::Noun, "NOUN"),
    (Upos::Num, "NUM"),
    (Upos::Part, "PART"),
    (Upos::Pron, "PRON"),
    (Upos::Propn, "PROPN"),
    (Upos::Punct, "PUNCT"),
    (Upos::Sconj, "SCONJ"),
    (Upos::Sym, "SYM"),
    (Upos::Verb, "VERB"),
    (Upos::X, "X"),
];

impl Upos {
    /// The tag as UD writes it ("NOUN").
    pub fn name(self) -> &'static str {
        NAMES[self as usize].1
    }

    pub fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(_, n)| *n == name).map(|&(u, _)| u)
    }
}

/// UPOS of an IPADIC word from its POS levels ("助詞", "終助詞", ...; at least one) and base form,
/// following the choices UD Japanese GSD makes for the corresponding UniDic categories (checked
/// on its dev split): case, binding, adverbial and coordinating particles are ADP, conjunctive
/// particles SCONJ, sentence-final particles PART; auxiliaries and verb suffixes (れる, させる) are
/// AUX, but the non-independent verbs of compound predicates (ている, てしまう) and the ある of
/// である are VERB; adjectival-noun stems (静か) are ADJ, their copula に AUX; the nominalizer の
/// is SCONJ; prefixes and nominal suffixes are NOUN, except 的 and さ (PART).
pub fn from_ipadic(levels: &[&str], lemma: &str) -> Upos {
    let level = |i: usize| levels.get(i).copied().unwrap_or("*");
    match (level(0), level(1), level(2)) {
        ("名詞", "固有名詞", _) => Upos::Propn,
        ("名詞", "代名詞", _) => Upos::Pron,
        ("名詞", "数", _) => Upos::Num,
        ("名詞", "形容動詞語幹" | "ナイ形容詞語幹", _) => Upos::Adj,
        ("名詞", "接続詞的", _) => Upos::Cconj,
        ("名詞", "非自立", "助動詞語幹") => Upos::Aux,
        ("名詞", "非自立", _) if matches!(lemma, "の" | "ん") => Upos::Sconj,
        ("名詞", "接尾", "形容動詞語幹" | "特殊") => Upos::Part,
        ("名詞", _, _) | ("接頭詞", _, _) => Upos::Noun,
        ("動詞", "接尾", _) => Upos::Aux,
        ("動詞", _, _) => Upos::Verb,
        ("助動詞", _, _) if lemma == "ある" => Upos::Verb,
        ("助動詞", _, _) => Upos::Aux,
        ("形容詞", "自立", _) => Upos::Adj,
        ("形容詞", _, _) => Upos::Aux,
        ("助詞", "接続助詞", _) => Upos::Sconj,
        ("助詞", "終助詞" | "副助詞／並立助詞／終助詞", _) => Upos::Part,
        ("助詞", "副詞化", _) => Upos::Aux,
        ("助詞", _, _) => Upos::Adp,
        ("副詞", _, _) => Upos::Adv,
        ("連体詞", _, _) => Upos::Det,
        ("接続詞", _, _) => Upos::Cconj,
        ("感動詞", _, _) | ("フィラー", _, _) | ("その他", "間投", _) => Upos::Intj,
        ("記号", "句点" | "読点" | "括弧開" | "括弧閉" | "空白", _) => Upos::Punct,
        ("記号", _, _) => Upos::Sym,
        _ => Upos::X,
    }
}

/// Chinese words UD tags as determiners (demonstratives and quantifiers), whatever jieba says.
const ZH_DETERMINERS: &[&str] = &[
    "这", "那", "这些", "那些", "该", "各", "每", "此", "其他", "任何", "所有", "某",
];
/// Modal verbs (UD: AUX), the copula 是 and the passive marker 被 (AUX in UD Chinese GSD).
const ZH_AUXILIARIES: &[&str] = &[
    "是", "被", "可以", "可", "可能", "能", "能够", "会", "应该", "应", "应当", "必须",
];

/// UPOS of a jieba word from its ICTCLAS-style tag, following UD Chinese GSD (checked on its dev
/// split): aspect markers 了/着/过 (ul, uz, ug), modal verbs and the copula are AUX; structural
/// particles 的/地/得 and modal particles 吧/呢/啊 (y) are PART; localizers 上/里 (f) are ADP;
/// measure words (q) and verbal nouns (vn: 教育, 发展) NOUN; jieba's numerals (m) without a digit
/// are the time units it tags with them (年, 月), NOUN. jieba tags punctuation and any other
/// non-Chinese, non-alphanumeric run "x".
pub fn from_jieba(tag: &str, word: &str) -> Upos {
    if ZH_DETERMINERS.contains(&word) {
        return Upos::Det;
    }
    if ZH_AUXILIARIES.contains(&word) {
        return Upos::Aux;
    }
    match tag {
        "x" if !word.chars().any(char::is_alphanumeric) => Upos::Punct,
        "m" | "mq" | "mg" if !word.chars().any(is_numeral) => Upos::Noun,
        "m" | "mq" | "mg" => Upos::Num,
        "nr" | "nrfg" | "nrt" | "ns" | "nt" | "nz" => Upos::Propn,
        "n" | "ng" | "vn" | "an" | "t" | "tg" | "s" | "q" | "g" | "h" | "j" => Upos::Noun,
        "v" | "vg" | "vi" | "vq" | "i" | "l" => Upos::Verb,
        "a" | "ag" | "b" | "z" | "zg" => Upos::Adj,
        "ul" | "uz" | "ug" => Upos::Aux,
        "u" | "uj" | "uv" | "ud" | "y" | "k" => Upos::Part,
        "r" | "rr" | "rz" | "rg" => Upos::Pron,
        "p" | "f" => Upos::Adp,
        "c" => Upos::Cconj,
        "d" | "dg" | "df" | "ad" => Upos::Adv,
        "e" | "o" => Upos::Intj,
        _ => Upos::X,
    }
}

/// Digits and the Chinese numeral characters.
fn is_numeral(c: char) -> bool {
    c.is_numeric() || "〇零一二三四五六七八九十百千万亿两几半".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_ud_spelling() {
        for &(u, n) in &NAMES {
            assert_eq!(Upos::from_name(n), Some(u));
            assert_eq!(u.name(), n);
        }
        assert_eq!(Upos::from_name("NN"), None);
        assert_eq!(serde_json::to_string(&Upos::Cconj).unwrap(), "\"CCONJ\"");
    }

    #[test]
    fn particles_keep_their_ud_roles() {
        assert_eq!(from_ipadic(&["助詞", "終助詞"], "ね"), Upos::Part);
        assert_eq!(from_ipadic(&["助詞", "格助詞", "一般"], "を"), Upos::Adp);
        assert_eq!(from_ipadic(&["助詞", "接続助詞"], "て"), Upos::Sconj);
        assert_eq!(
            from_ipadic(&["名詞", "固有名詞", "地域"], "東京"),
            Upos::Propn
        );
        assert_eq!(from_ipadic(&["名詞", "非自立", "一般"], "の"), Upos::Sconj);
        assert_eq!(from_ipadic(&["名詞", "非自立", "一般"], "こと"), Upos::Noun);
        assert_eq!(from_ipadic(&["動詞", "非自立"], "いる"), Upos::Verb);
        assert_eq!(from_ipadic(&["動詞", "接尾"], "れる"), Upos::Aux);
        assert_eq!(from_ipadic(&["助動詞"], "ある"), Upos::Verb);
        assert_eq!(from_ipadic(&["助動詞"], "ます"), Upos::Aux);
        assert_eq!(from_jieba("y", "吧"), Upos::Part);
        assert_eq!(from_jieba("ul", "了"), Upos::Aux);
        assert_eq!(from_jieba("nr", "李云龙"), Upos::Propn);
        assert_eq!(from_jieba("v", "走"), Upos::Verb);
        assert_eq!(from_jieba("v", "是"), Upos::Aux);
        assert_eq!(from_jieba("vn", "处理"), Upos::Noun);
        assert_eq!(from_jieba("m", "三"), Upos::Num);
        assert_eq!(from_jieba("m", "年"), Upos::Noun);
        assert_eq!(from_jieba("r", "这些"), Upos::Det);
        assert_eq!(from_jieba("x", "，"), Upos::Punct);
        assert_eq!(from_jieba("x", "ＡＩ"), Upos::X);
    }
}
