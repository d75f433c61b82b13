//! Chinese traits. Chinese marks stance in its words: how a character says "I" (我, or a role word
//! such as 在下, 老子, 本姑娘), "you" (你, the polite 您, the old 阁下), which modal particles end
//! sentences (吧, 呢, 啊), and its polite formulas (请, 谢谢).
//!
//! Backgrounds (why each source, see `Source`): marker words take their rate from wordfreq's
//! Chinese list, which includes subtitles and social media and so is the closest to speech we
//! have; sentence types (questions, exclamations, trailing off) take GUM's conversational shares,
//! since the only Chinese sentences here (UD GSD) are Wikipedia and news, where almost nothing is
//! asked or exclaimed; marks that ordinary prose lacks (emoticons, elongation, stutters) and
//! sentence length take UD GSD, the only Chinese text segmented into sentences.

use super::forms::{FormSet, Position};
use super::shared::{
    cjk_elongations, cjk_name_mentions, cjk_stutters, emoticons, ends_as_question, exclaims,
    has_ellipsis,
};
use super::{forms, Measure, Source, TraitDef, Unit};
use crate::doc::Sentence;

const QUESTION_PARTICLES: FormSet = FormSet {
    forms: &["吗", "么"],
    position: Position::ClauseFinal,
    not_in: &[
        "什么",
        "怎么",
        "那么",
        "这么",
        "多么",
        "要么",
        "干么",
        "为什么",
    ],
};

/// A question: a question mark, or 吗 ending the sentence (transcripts often drop the mark).
fn is_question(s: &Sentence) -> bool {
    let text = s.text.trim_end_matches(|c: char| !c.is_alphanumeric());
    let last_clause = text.rsplit(['，', ',', '、']).next().unwrap_or(text);
    ends_as_question(s) || QUESTION_PARTICLES.count(last_clause) > 0
}

const I_SINGULAR: FormSet = FormSet {
    forms: &["我"],
    position: Position::Word,
    // 我们 is "we" (its own trait); the others are words, not the speaker.
    not_in: &["我们", "自我", "忘我", "唯我", "敌我", "无我"],
};
const WE: FormSet = FormSet {
    forms: &["我们", "咱们", "咱"],
    position: Position::Word,
    not_in: &[],
};
const HUMBLE_SELF: FormSet = FormSet {
    forms: &[
        "在下",
        "小的",
        "小人",
        "贫道",
        "贫僧",
        "晚辈",
        "鄙人",
        "不才",
        "奴婢",
        "奴家",
        "小女子",
        "属下",
        "末将",
        "卑职",
        "老朽",
        "小弟",
    ],
    position: Position::Word,
    not_in: &[
        "在下面",
        "在下边",
        "在下午",
        "在下一",
        "在下方",
        "在下去",
        "在下来",
        "在下的",
        "在下雨",
        "小的时候",
        "小的时",
        "小小的",
        "大小的",
        "最小的",
        "较小的",
        "很小的",
        "小人物",
        "小弟弟",
    ],
};
const GRAND_SELF: FormSet = FormSet {
    forms: &[
        "老子",
        "本姑娘",
        "本座",
        "朕",
        "洒家",
        "本王",
        "本宫",
        "寡人",
        "老夫",
        "本大爷",
        "本小姐",
        "老孙",
        "本仙",
        "本大王",
        "俺",
    ],
    position: Position::Word,
    not_in: &["老子曰", "老子说过"],
};
const NI: FormSet = FormSet {
    forms: &["你", "你们"],
    position: Position::Word,
    not_in: &[],
};
const NIN: FormSet = FormSet {
    forms: &["您", "您们"],
    position: Position::Word,
    not_in: &[],
};
const OLD_YOU: FormSet = FormSet {
    forms: &["汝", "汝等", "尔等", "阁下", "足下"],
    position: Position::Word,
    not_in: &["足下的", "足下生"],
};
const BA: FormSet = FormSet {
    forms: &["吧"],
    position: Position::ClauseFinal,
    not_in: &["酒吧", "网吧", "贴吧", "水吧", "吧台"],
};
const NE: FormSet = FormSet {
    forms: &["呢"],
    position: Position::ClauseFinal,
    not_in: &["呢喃", "呢子"],
};
const EMOTIVE_END: FormSet = FormSet {
    forms: &["啊", "呀", "啦", "嘛", "哦", "哇", "呗", "喽", "咯", "哟"],
    position: Position::ClauseFinal,
    not_in: &["哎呀", "哎哟", "哎呦", "咿呀", "喇嘛"],
};
const POLITE: FormSet = FormSet {
    forms: &[
        "请",
        "谢谢",
        "多谢",
        "劳驾",
        "麻烦您",
        "对不起",
        "抱歉",
        "不好意思",
        "打扰了",
        "请问",
    ],
    position: Position::Word,
    not_in: &[
        "申请", "邀请", "请求", "宴请", "聘请", "提请", "请柬", "请假", "请愿", "请帖", "请客",
        "请示",
    ],
};
const INTERJECTIONS: FormSet = FormSet {
    forms: &[
        "哎", "唉", "哼", "嘿", "喂", "哎呀", "哎哟", "哎呦", "嗯", "呃", "咦", "嗨", "呸", "啧",
        "噢", "哇塞", "啊",
    ],
    position: Position::ClauseAlone,
    not_in: &[],
};
const LAUGHTER: FormSet = FormSet {
    forms: &[
        "哈哈",
        "哈哈哈",
        "哈哈哈哈",
        "呵呵",
        "呵呵呵",
        "嘿嘿",
        "嘿嘿嘿",
        "嘻嘻",
        "嘻嘻嘻",
    ],
    position: Position::Word,
    not_in: &[],
};
const ASSISTANT_SPEAK: FormSet = FormSet {
    forms: &[
        "作为一个AI",
        "作为一个人工智能",
        "作为AI",
        "作为人工智能",
        "我是一个人工智能",
        "我是一个AI",
        "人工智能助手",
        "AI助手",
        "语言模型",
        "有什么可以帮您",
        "有什么可以帮你",
        "有什么可以帮助您",
        "有什么我可以帮",
        "很高兴为您服务",
        "我能为您做些什么",
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
        gloss: "trails off with \"……\"",
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
        name: "first_person_rate",
        unit: Unit::Per1kTokens,
        gloss: "talks about themself (我)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&I_SINGULAR),
    },
    TraitDef {
        name: "first_person_plural_rate",
        unit: Unit::Per1kTokens,
        gloss: "speaks as \"we\" (我们, 咱们)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&WE),
    },
    TraitDef {
        name: "self_humble",
        unit: Unit::Per1kTokens,
        gloss: "calls themself humbly (在下, 小的, 晚辈)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&HUMBLE_SELF),
    },
    TraitDef {
        name: "self_grand",
        unit: Unit::Per1kTokens,
        gloss: "calls themself grandly or roughly (老子, 本姑娘, 朕, 俺)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&GRAND_SELF),
    },
    TraitDef {
        name: "second_person_address_rate",
        unit: Unit::Per1kTokens,
        gloss: "addresses the listener directly (你)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&NI),
    },
    TraitDef {
        name: "address_nin",
        unit: Unit::Per1kTokens,
        gloss: "says the polite 您 for \"you\"",
        source: Source::WordFrequency,
        measure: Measure::Forms(&NIN),
    },
    TraitDef {
        name: "address_archaic",
        unit: Unit::Per1kTokens,
        gloss: "uses an old-fashioned \"you\" (汝, 阁下, 足下)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&OLD_YOU),
    },
    TraitDef {
        name: "final_ba",
        unit: Unit::Per1kTokens,
        gloss: "ends sentences with 吧 (suggesting, supposing)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&BA),
    },
    TraitDef {
        name: "final_ne",
        unit: Unit::Per1kTokens,
        gloss: "ends sentences with 呢",
        source: Source::WordFrequency,
        measure: Measure::Forms(&NE),
    },
    TraitDef {
        name: "final_emotive",
        unit: Unit::Per1kTokens,
        gloss: "ends sentences with emotive particles (啊, 呀, 啦, 嘛)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&EMOTIVE_END),
    },
    TraitDef {
        name: "politeness_rate",
        unit: Unit::Per1kTokens,
        gloss: "uses polite formulas (请, 谢谢, 对不起)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&POLITE),
    },
    TraitDef {
        name: "interjection_rate",
        unit: Unit::Per1kTokens,
        gloss: "uses interjections (唉, 哼, 喂, 哎呀)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&INTERJECTIONS),
    },
    TraitDef {
        name: "laughter_rate",
        unit: Unit::Per1kTokens,
        gloss: "laughs in text (哈哈, 呵呵, 嘿嘿)",
        source: Source::WordFrequency,
        measure: Measure::Forms(&LAUGHTER),
    },
    TraitDef {
        name: "elongation_rate",
        unit: Unit::Per1kTokens,
        gloss: "drags out sounds (啊啊啊, ～)",
        source: Source::Treebank,
        measure: Measure::Custom(|s, _| cjk_elongations(&s.text) as f64),
    },
    TraitDef {
        name: "stutter_rate",
        unit: Unit::Per1kTokens,
        gloss: "stutters (我、我……)",
        source: Source::Treebank,
        measure: Measure::Custom(|s, _| cjk_stutters(&s.text) as f64),
    },
    TraitDef {
        name: "emoticon_rate",
        unit: Unit::Per1kTokens,
        gloss: "uses emoticons and symbols ((^_^), ☆, ♪)",
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
        gloss: "sounds like an AI assistant (作为一个AI, 有什么可以帮您)",
        source: Source::Treebank,
        measure: Measure::Forms(&ASSISTANT_SPEAK),
    },
];
