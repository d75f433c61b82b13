//! Japanese traits. Japanese marks who is speaking and to whom in its words: which pronoun a
//! character uses for "I" (私, 僕, 俺, あたし, わし) and "you" (あなた, 君, お前), how sentences end
//! (よ, ね, ぞ, わ, っす), and how polite the verbs are (です/ます, keigo). Each is its own trait
//! so a profile says "uses 僕 for 'I'" rather than a rate of English pronouns.
//!
//! Backgrounds (why each source, see `Source`): marker words take their rate from wordfreq's
//! Japanese list, which includes subtitles and social media and so is the closest to speech we
//! have; sentence types (questions, exclamations, trailing off) take GUM's conversational shares,
//! since the only Japanese sentences here (UD GSD) are Wikipedia and news, where almost nothing is
//! asked or exclaimed; marks that ordinary prose lacks (kaomoji, elongation, stutters) and sentence
//! length take UD GSD, the only Japanese text segmented into sentences.

use super::forms::{FormSet, Position};
use super::shared::{
    cjk_elongations, cjk_name_mentions, cjk_stutters, emoticons, ends_as_question, exclaims,
    has_ellipsis,
};
use super::{forms, Measure, Source, TraitDef, Unit};
use crate::doc::Sentence;

const QUESTION_PARTICLES: FormSet = FormSet {
    forms: &["か", "かな", "かしら"],
    position: Position::ClauseFinal,
    // Indefinites and adjectives ending in か are not questions (何か "something", 静か "quiet").
    not_in: &[
        "何か",
        "誰か",
        "どこか",
        "いつか",
        "なぜか",
        "どうか",
        "なんか",
        "確か",
        "僅か",
        "遥か",
        "静か",
        "愚か",
        "豊か",
        "細か",
        "明らか",
        "穏やか",
        "速やか",
        "わずか",
        "ほか",
    ],
};

/// A question: a question mark, or the last clause ending in the question particle か (かな,
/// かしら), which often stands without a mark ("そうですか。").
fn is_question(s: &Sentence) -> bool {
    let text = s.text.trim_end_matches(|c: char| !c.is_alphanumeric());
    let last_clause = text.rsplit(['、', ',']).next().unwrap_or(text);
    ends_as_question(s) || QUESTION_PARTICLES.count(last_clause) > 0
}

const WATASHI: FormSet = FormSet {
    forms: &["私", "わたし", "わたくし", "ワタシ"],
    position: Position::Word,
    not_in: &[
        "私立",
        "私服",
        "私的",
        "私鉄",
        "私物",
        "私生",
        "私有",
        "私用",
        "私語",
        "私情",
        "私利",
        "私欲",
        "私設",
        "私邸",
        "私見",
        "私費",
        "私塾",
        "公私",
        "無私",
        "わたして",
        "わたします",
        "わたしま",
    ],
};
const ATASHI: FormSet = FormSet {
    forms: &["あたし", "アタシ", "あたい"],
    position: Position::Word,
    not_in: &["あたしい"],
};
const BOKU: FormSet = FormSet {
    forms: &["僕", "ぼく", "ボク"],
    position: Position::Word,
    not_in: &["下僕", "公僕", "従僕", "忠僕", "老僕", "僕人", "ぼくじょう"],
};
const ORE: FormSet = FormSet {
    forms: &["俺", "おれ", "オレ"],
    position: Position::Word,
    // 折れる, お礼 spelt in kana.
    not_in: &["おれい", "おれる", "おれて", "おれた"],
};
const WASHI: FormSet = FormSet {
    forms: &["わし", "ワシ", "儂"],
    position: Position::Word,
    not_in: &[
        "わしい",
        "わしく",
        "わした",
        "わして",
        "わします",
        "ワシントン",
    ],
};
const ROLE_SELF: FormSet = FormSet {
    forms: &[
        "拙者",
        "わらわ",
        "吾輩",
        "我輩",
        "わがはい",
        "おいら",
        "オイラ",
        "あっし",
        "小生",
        "わい",
        "それがし",
    ],
    position: Position::Word,
    not_in: &["かわいい", "かわい", "こわい", "わいわい", "わいせつ"],
};
const ANATA: FormSet = FormSet {
    forms: &["あなた", "貴方", "貴女", "あなたたち"],
    position: Position::Word,
    not_in: &[],
};
const KIMI: FormSet = FormSet {
    forms: &["君", "きみ", "キミ"],
    // After a name, 君 is the suffix (シンジ君), not "you".
    position: Position::NotAfterName,
    not_in: &["君主", "君臨", "諸君", "君が代", "きみょう"],
};
const ROUGH_YOU: FormSet = FormSet {
    forms: &[
        "お前",
        "おまえ",
        "オマエ",
        "貴様",
        "きさま",
        "あんた",
        "アンタ",
        "てめえ",
        "テメエ",
        "てめぇ",
    ],
    position: Position::Word,
    not_in: &["お前さん"],
};
const NAME_SUFFIXES: FormSet = FormSet {
    forms: &[
        "さん",
        "くん",
        "君",
        "ちゃん",
        "様",
        "さま",
        "先輩",
        "先生",
        "殿",
        "氏",
    ],
    position: Position::AfterName,
    // Kinship words and fixed phrases take the suffix without being a name; a verb's く before
    // ん (行くんだ) is not くん.
    not_in: &[
        "父さん",
        "母さん",
        "兄さん",
        "姉さん",
        "皆さん",
        "お客様",
        "神様",
        "王様",
        "皆様",
        "奥さん",
        "お疲れ様",
        "ご苦労様",
        "お陰様",
        "同様",
        "模様",
        "仕様",
        "様子",
        "様々",
        "殿下",
        "殿堂",
        "宮殿",
        "氏名",
        "くんだ",
        "くんで",
        "くんじゃ",
        "くんです",
    ],
};
const YO_NE: FormSet = FormSet {
    forms: &["よ", "ね", "ねえ", "ねぇ", "よぉ"],
    position: Position::ClauseFinal,
    not_in: &["ほね", "かね", "みね", "より"],
};
const ASSERTIVE_END: FormSet = FormSet {
    forms: &["ぞ", "ぜ"],
    position: Position::ClauseFinal,
    not_in: &["なぜ", "かぜ", "どうぞ"],
};
const SOFT_END: FormSet = FormSet {
    forms: &["わ", "かしら"],
    position: Position::ClauseFinal,
    not_in: &[
        "こわ", "かわ", "すわ", "さわ", "あわ", "いわ", "とわ", "うわ",
    ],
};
const SSU_END: FormSet = FormSet {
    forms: &["っす", "ッス", "っスよ"],
    position: Position::ClauseFinal,
    not_in: &[],
};
/// です/ます forms as MeCab splits them (でし-た, ませ-ん, ましょ-う), so that each counts as the
/// word list counts it.
const DESU_MASU: FormSet = FormSet {
    forms: &["です", "でし", "ます", "まし", "ませ", "ましょ"],
    position: Position::Anywhere,
    not_in: &["ますます", "まして"],
};
/// Honorific (尊敬語) and humble (謙譲語) verbs, as the stems MeCab keeps whole. (Kana いたし
/// is left out: it is as often ～ていたし "was doing, and".)
const KEIGO: FormSet = FormSet {
    forms: &[
        "ござい",
        "いらっしゃい",
        "いらっしゃる",
        "いらっしゃっ",
        "おっしゃい",
        "おっしゃる",
        "おっしゃっ",
        "申し",
        "申す",
        "存じ",
        "参り",
        "参る",
        "伺い",
        "伺う",
        "致し",
        "致す",
        "召し上が",
        "くださ",
        "下さ",
    ],
    position: Position::Anywhere,
    not_in: &["申し込", "申請"],
};
const INTERJECTIONS: FormSet = FormSet {
    forms: &[
        "ええ",
        "ああ",
        "おい",
        "まあ",
        "ほら",
        "へえ",
        "はあ",
        "うわ",
        "うわあ",
        "あら",
        "おや",
        "さあ",
        "よし",
        "やれやれ",
        "えっ",
        "あっ",
        "ねえ",
        "ちぇっ",
        "くっ",
        "げっ",
        "おお",
    ],
    position: Position::ClauseAlone,
    not_in: &[],
};
const LAUGHTER: FormSet = FormSet {
    forms: &[
        "笑",
        "w",
        "ww",
        "www",
        "wwww",
        "ふふ",
        "ふふふ",
        "うふふ",
        "はは",
        "ははは",
        "あはは",
        "へへ",
        "えへへ",
        "ひひ",
    ],
    position: Position::EndsClause,
    not_in: &[],
};
const ASSISTANT_SPEAK: FormSet = FormSet {
    forms: &[
        "AIアシスタント",
        "AI アシスタント",
        "言語モデル",
        "人工知能として",
        "AIとして",
        "お手伝いできること",
        "何かお手伝い",
        "お役に立て",
        "AIなので",
    ],
    position: Position::Anywhere,
    not_in: &[],
};

pub const TRAITS: &[TraitDef] = &[
    TraitDef {
        name: "question_rate",
        unit: Unit::PerSentence,
        gloss: "asks questions",
        source: Source::Conversation,
        measure: Measure::Custom(|s, _| f64::from(is_question(s))),
    },
    TraitDef {
        name: "exclamation_rate",
        unit: Unit::PerSentence,
        gloss: "exclaims (ends sentences with \"！\")",
        source: Source::Conversation,
        measure: Measure::Custom(|s, _| f64::from(exclaims(s, is_question(s)))),
    },
    TraitDef {
        name: "ellipsis_rate",
        unit: Unit::PerSentence,
        gloss: "trails off with \"…\"",
        source: Source::Conversation,
        measure: Measure::Custom(|s, _| f64::from(has_ellipsis(s))),
    },
    TraitDef {
        name: "sentence_length",
        unit: Unit::MeanPerSentence,
        gloss: "long sentences (characters per sentence)",
        source: Source::Treebank,
        measure: Measure::Custom(|s, _| forms::letters(&s.text) as f64),
    },
    TraitDef {
        name: "self_watashi",
        unit: Unit::Per1kTokens,
        gloss: "uses 私 (watashi) for \"I\"",
        source: Source::WordFrequency,
        measure: Measure::Forms(&WATASHI),
    },
    TraitDef {
        name: "self_atashi",
        unit: Unit::Per1kTokens,
        gloss: "uses the casual あたし (atashi) for \"I\"",
        source: Source::WordFrequency,
        measure: Measure::Forms(&ATASHI),
    },
    TraitDef {
        name: "self_boku",
        unit: Unit::Per1kTokens,
        gloss: "uses 僕 (boku) for \"I\"",
        source: Source::WordFrequency,
        measure: Measure::Forms(&BOKU),
    },
    TraitDef {
        name: "self_ore",
        unit: Unit::Per1kTokens,
        gloss: "uses the rough 俺 (ore) for \"I\"",
        source: Source::WordFrequency,
        measure: Measure::Forms(&ORE),
    },
    TraitDef {
        name: "self_washi",
        unit: Unit::Per1kTokens,
        gloss: "uses わし (washi, old or dialect) for \"I\"",
        source: Source::WordFrequency,
        measure: Measure::Forms(&WASHI),
    },
    TraitDef {
        name: "self_role_word",
        unit: Unit::Per1kTokens,
        gloss: "uses a period or role word for \"I\" (拙者, わらわ, 吾輩, おいら)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&ROLE_SELF),
    },
    TraitDef {
        name: "address_anata",
        unit: Unit::Per1kTokens,
        gloss: "calls the listener あなた (anata)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&ANATA),
    },
    TraitDef {
        name: "address_kimi",
        unit: Unit::Per1kTokens,
        gloss: "calls the listener 君 (kimi)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&KIMI),
    },
    TraitDef {
        name: "address_rough",
        unit: Unit::Per1kTokens,
        gloss: "calls the listener bluntly (お前, あんた, 貴様)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&ROUGH_YOU),
    },
    TraitDef {
        name: "honorific_rate",
        unit: Unit::Per1kTokens,
        gloss: "adds さん, 君, ちゃん or 様 to people's names",
        source: Source::WordFrequency,
        measure: Measure::Forms(&NAME_SUFFIXES),
    },
    TraitDef {
        name: "final_yo_ne",
        unit: Unit::Per1kTokens,
        gloss: "ends sentences with よ or ね (telling, seeking agreement)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&YO_NE),
    },
    TraitDef {
        name: "final_zo_ze",
        unit: Unit::Per1kTokens,
        gloss: "ends sentences with the forceful ぞ or ぜ",
        source: Source::WordFrequency,
        measure: Measure::Forms(&ASSERTIVE_END),
    },
    TraitDef {
        name: "final_wa_kashira",
        unit: Unit::Per1kTokens,
        gloss: "ends sentences with the soft わ or かしら",
        source: Source::WordFrequency,
        measure: Measure::Forms(&SOFT_END),
    },
    TraitDef {
        name: "final_ssu",
        unit: Unit::Per1kTokens,
        gloss: "ends sentences with the casual-polite っす",
        source: Source::WordFrequency,
        measure: Measure::Forms(&SSU_END),
    },
    TraitDef {
        name: "politeness_rate",
        unit: Unit::Per1kTokens,
        gloss: "speaks politely (です/ます forms)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&DESU_MASU),
    },
    TraitDef {
        name: "keigo_rate",
        unit: Unit::Per1kTokens,
        gloss: "uses honorific and humble verbs (ございます, いらっしゃる, 申す)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&KEIGO),
    },
    TraitDef {
        name: "interjection_rate",
        unit: Unit::Per1kTokens,
        gloss: "uses interjections (ええ, ああ, おい, まあ)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&INTERJECTIONS),
    },
    TraitDef {
        name: "laughter_rate",
        unit: Unit::Per1kTokens,
        gloss: "laughs in text (笑, w, ふふ)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&LAUGHTER),
    },
    TraitDef {
        name: "elongation_rate",
        unit: Unit::Per1kTokens,
        gloss: "drags out sounds (すごーい, ねぇ〜)",
        source: Source::Treebank,
        measure: Measure::Custom(|s, _| cjk_elongations(&s.text) as f64),
    },
    TraitDef {
        name: "stutter_rate",
        unit: Unit::Per1kTokens,
        gloss: "stutters (そ、そう)",
        source: Source::Treebank,
        measure: Measure::Custom(|s, _| cjk_stutters(&s.text) as f64),
    },
    TraitDef {
        name: "emoticon_rate",
        unit: Unit::Per1kTokens,
        gloss: "uses kaomoji and symbols ((^_^), ☆, ♪)",
        source: Source::Treebank,
        measure: Measure::Custom(|s, _| emoticons(&s.text) as f64),
    },
    TraitDef {
        name: "third_person_self_reference",
        unit: Unit::Per1kTokens,
        gloss: "refers to themself by name",
        source: Source::Treebank,
        measure: Measure::Custom(|s, c| cjk_name_mentions(&s.text, c.self_names) as f64),
    },
    TraitDef {
        name: "assistant_speak_rate",
        unit: Unit::Per1kTokens,
        gloss: "sounds like an AI assistant (AIアシスタント, お手伝い)",
        source: Source::Treebank,
        measure: Measure::Forms(&ASSISTANT_SPEAK),
    },
];
