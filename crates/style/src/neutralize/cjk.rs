//! The deterministic neutralizer for Japanese and Chinese: the line's words (from the segmenter)
//! without what the analyzer's traits count as style there: sentence-final particles that only
//! colour a sentence, interjections opening a sentence, marked words for "I" and "you" (僕, 俺,
//! あたし, お前; 老子, 本姑娘, 您), the polite-casual っす, emphatic punctuation and stretched vowels.
//! Question particles (か, 吗), answers (はい, うん) and the prohibitive な are kept: they carry
//! meaning, not colour.

use crate::segment::{self, Segment};
use crate::text::Language;
use crate::upos::Upos;

/// Sentence-final particles that colour a sentence without changing what it says.
const JA_FINAL: &[&str] = &[
    "よ", "ね", "ねえ", "ねぇ", "わ", "ぞ", "ぜ", "さ", "よぉ", "ょ",
];
const ZH_FINAL: &[&str] = &[
    "吧", "呢", "啊", "嘛", "呀", "哦", "啦", "哇", "呗", "咯", "哟", "喔", "嘞", "哈",
];
/// Interjections that answer a question keep their place: they are content.
const JA_ANSWERS: &[&str] = &["はい", "いいえ", "うん", "ううん", "いや", "ええ"];
const JA_FIRST_PERSON: &[&str] = &[
    "あたし",
    "僕",
    "ぼく",
    "ボク",
    "俺",
    "おれ",
    "オレ",
    "わし",
    "儂",
    "拙者",
    "あたい",
    "おいら",
    "わたくし",
    "俺様",
    "吾輩",
    "我輩",
];
const JA_SECOND_PERSON: &[&str] = &[
    "お前",
    "おまえ",
    "貴様",
    "きさま",
    "てめえ",
    "テメエ",
    "てめぇ",
    "あんた",
    "君",
    "きみ",
    "キミ",
    "お主",
    "おぬし",
];
const ZH_FIRST_PERSON: &[&str] = &[
    "老子",
    "本姑娘",
    "本大爷",
    "本小姐",
    "俺",
    "洒家",
    "老娘",
    "本座",
    "在下",
    "本王",
    "朕",
    "小爷",
    "本宫",
    "老衲",
    "贫道",
];
const ZH_SECOND_PERSON: &[&str] = &["您", "阁下", "汝"];

fn is_mark(s: &Segment) -> bool {
    matches!(s.tag.upos, Upos::Punct | Upos::Sym)
}

fn is_sentence_end(s: &Segment) -> bool {
    is_mark(s) && s.text.chars().any(|c| "。！？!?…．.".contains(c))
}

/// Whether only more final particles stand between `rest` and the clause's end (わよ, 啊呢).
fn ends_clause(rest: &[Segment], final_particles: &[&str]) -> bool {
    rest.iter()
        .find(|s| !final_particles.contains(&s.text.as_str()))
        .is_none_or(is_mark)
}

/// A marked pronoun replaced. Japanese ones only as pronouns (君 is also the name suffix of シンジ君);
/// Chinese ones wherever they stand in a word, since jieba keeps 您好 whole.
fn replace_pronoun(w: &Segment, lang: Language, forms: &[&str], plain: &str) -> Option<String> {
    match lang {
        Language::Ja => (w.tag.upos == Upos::Pron && forms.contains(&w.text.as_str()))
            .then(|| plain.to_string()),
        _ => forms
            .iter()
            .find(|f| w.text.contains(**f))
            .map(|f| w.text.replace(f, plain)),
    }
}

/// Emphatic marks become a plain full stop; a question keeps one question mark.
fn plain_punct(text: &str) -> Option<&'static str> {
    if text.contains(['？', '?']) {
        Some("？")
    } else if text.contains(['！', '!']) {
        Some("。")
    } else {
        None
    }
}

/// Stretched vowels (すごーい, 好～) and repeated small kana lose the stretch.
fn unstretch(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if matches!(c, 'ー' | '〜' | '～' | '~') && out.chars().last().is_some_and(|p| p != 'ー')
        {
            continue;
        }
        out.push(c);
    }
    if out.is_empty() {
        word.to_string()
    } else {
        out
    }
}

pub(crate) fn neutralize(line: &str, lang: Language) -> String {
    let Some(words) = segment::segment(lang, line) else {
        return line.to_string();
    };
    let (final_particles, first, second, me, you) = match lang {
        Language::Ja => (JA_FINAL, JA_FIRST_PERSON, JA_SECOND_PERSON, "私", "あなた"),
        _ => (ZH_FINAL, ZH_FIRST_PERSON, ZH_SECOND_PERSON, "我", "你"),
    };
    let mut out = String::new();
    let mut sentence_start = true;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let next = words.get(i + 1);
        let at_clause_end = ends_clause(&words[i + 1..], final_particles);
        i += 1;
        let text = w.text.as_str();
        if sentence_start && w.tag.upos == Upos::Intj && !JA_ANSWERS.contains(&text) {
            // An opening interjection and the comma after it.
            if next.is_some_and(|n| matches!(n.text.as_str(), "、" | "，" | "," | "…" | "！" | "!"))
            {
                i += 1;
            }
            continue;
        }
        if final_particles.contains(&text) && at_clause_end {
            // A sentence that was nothing but colour (まぁね。) goes with its mark.
            if sentence_start && next.is_some_and(is_mark) {
                i += 1;
            }
            continue;
        }
        if text == "かしら" && at_clause_end {
            out.push('か');
            continue;
        }
        let stretch = |c: char| matches!(c, 'ー' | '〜' | '～' | '~');
        if text.chars().all(stretch) && out.chars().last().is_some_and(char::is_alphabetic) {
            continue;
        }
        sentence_start = is_sentence_end(w);
        if is_mark(w) {
            out.push_str(plain_punct(text).unwrap_or(text));
        } else if let Some(plain) =
            replace_pronoun(w, lang, first, me).or_else(|| replace_pronoun(w, lang, second, you))
        {
            out.push_str(&plain);
        } else if lang == Language::Ja && matches!(text, "っす" | "ッス" | "っス") {
            out.push_str("です");
        } else {
            out.push_str(&unstretch(text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_loses_its_colour_and_keeps_its_content() {
        let n = |s: &str| neutralize(s, Language::Ja);
        assert_eq!(n("着いたわよ、シンジ君。"), "着いた、シンジ君。");
        assert_eq!(n("俺は行くぜ！"), "私は行く。");
        assert_eq!(n("お前、何してるんだよ？"), "あなた、何してるんだ？");
        assert_eq!(n("そうなんすか？"), n("そうなんすか？"), "deterministic");
        assert_eq!(n("はい、そうです。"), "はい、そうです。", "an answer stays");
        assert_eq!(n("行くな！"), "行くな。", "the prohibitive な stays");
        assert_eq!(n("すごーい！"), "すごい。");
        assert_eq!(n("元気かしら？"), "元気か？");
        assert_eq!(
            n("まぁね。お父さんの仕事、知ってる？"),
            "お父さんの仕事、知ってる？"
        );
    }

    #[test]
    fn chinese_loses_its_colour_and_keeps_its_content() {
        let n = |s: &str| neutralize(s, Language::Zh);
        assert_eq!(n("老子不去了啊！"), "我不去了。");
        assert_eq!(n("您好吗？"), "你好吗？");
        assert_eq!(n("我们走吧。"), "我们走。");
        assert_eq!(n("哎呀，你怎么来了呢？"), "你怎么来了？");
    }
}
