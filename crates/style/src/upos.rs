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

/// UPOS of an IPADIC word from its first two POS levels ("助詞", "終助詞"), following the choices
/// UD Japanese makes for the corresponding UniDic categories: case, binding and adverbial
/// particles are ADP, conjunctive particles SCONJ, sentence-final particles PART; auxiliary
/// verbs and the non-independent verbs of compound predicates (いる, しまう, れる) are AUX;
/// adjectival-noun stems (静か) are ADJ; prefixes and nominal suffixes are NOUN.
pub fn from_ipadic(pos1: &str, pos2: &str) -> Upos {
    match (pos1, pos2) {
        ("名詞", "固有名詞") => Upos::Propn,
        ("名詞", "代名詞") => Upos::Pron,
        ("名詞", "数") => Upos::Num,
        ("名詞", "形容動詞語幹" | "ナイ形容詞語幹") => Upos::Adj,
        ("名詞", "接続詞的") => Upos::Cconj,
        ("名詞", _) | ("接頭詞", _) => Upos::Noun,
        ("動詞", "自立") => Upos::Verb,
        ("動詞", _) | ("助動詞", _) => Upos::Aux,
        ("形容詞", "自立") => Upos::Adj,
        ("形容詞", _) => Upos::Aux,
        ("助詞", "接続助詞") => Upos::Sconj,
        ("助詞", "終助詞" | "副助詞／並立助詞／終助詞") => Upos::Part,
        ("助詞", "並立助詞") => Upos::Cconj,
        ("助詞", _) => Upos::Adp,
        ("副詞", _) => Upos::Adv,
        ("連体詞", _) => Upos::Det,
        ("接続詞", _) => Upos::Cconj,
        ("感動詞", _) | ("フィラー", _) | ("その他", "間投") => Upos::Intj,
        ("記号", "句点" | "読点" | "括弧開" | "括弧閉" | "空白") => Upos::Punct,
        ("記号", _) => Upos::Sym,
        _ => Upos::X,
    }
}

/// UPOS of a jieba word from its ICTCLAS-style tag, following UD Chinese: aspect markers 了/着/过
/// (ul, uz, ug) and the copula 是 (vshi) are AUX, structural particles 的/地/得 and modal
/// particles 吧/呢/啊 (y) are PART, localizers 上/里 (f) are ADP, measure words (q) NOUN. jieba
/// tags punctuation and any other non-Chinese, non-alphanumeric run "x".
pub fn from_jieba(tag: &str, word: &str) -> Upos {
    match tag {
        "x" if !word.chars().any(char::is_alphanumeric) => Upos::Punct,
        "nr" | "nr1" | "nr2" | "nrj" | "nrf" | "nrfg" | "nrt" | "ns" | "nsf" | "nt" | "nz" => {
            Upos::Propn
        }
        "ul" | "uz" | "ug" | "vshi" => Upos::Aux,
        "u" | "uj" | "uv" | "ud" | "ude1" | "ude2" | "ude3" | "y" | "k" => Upos::Part,
        "r" | "rr" | "rz" | "rzs" | "rzt" | "rzv" | "ry" | "rys" | "ryt" | "ryv" | "rg" => {
            Upos::Pron
        }
        "m" | "mq" => Upos::Num,
        "p" | "f" => Upos::Adp,
        "c" | "cc" => Upos::Cconj,
        "d" | "dg" | "df" | "ad" => Upos::Adv,
        "e" | "o" => Upos::Intj,
        "w" => Upos::Punct,
        "eng" | "x" => Upos::X,
        t if t.starts_with('n') || matches!(t, "t" | "tg" | "s" | "q" | "g" | "h" | "an" | "j") => {
            Upos::Noun
        }
        t if t.starts_with('v') || matches!(t, "i" | "l") => Upos::Verb,
        t if t.starts_with('a') || matches!(t, "b" | "z" | "zg") => Upos::Adj,
        _ => Upos::X,
    }
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
        assert_eq!(from_ipadic("助詞", "終助詞"), Upos::Part);
        assert_eq!(from_ipadic("助詞", "格助詞"), Upos::Adp);
        assert_eq!(from_ipadic("助詞", "接続助詞"), Upos::Sconj);
        assert_eq!(from_ipadic("名詞", "固有名詞"), Upos::Propn);
        assert_eq!(from_ipadic("動詞", "非自立"), Upos::Aux);
        assert_eq!(from_jieba("y", "吧"), Upos::Part);
        assert_eq!(from_jieba("ul", "了"), Upos::Aux);
        assert_eq!(from_jieba("nr", "李云龙"), Upos::Propn);
        assert_eq!(from_jieba("vn", "处理"), Upos::Verb);
        assert_eq!(from_jieba("x", "，"), Upos::Punct);
        assert_eq!(from_jieba("x", "ＡＩ"), Upos::X);
    }
}
