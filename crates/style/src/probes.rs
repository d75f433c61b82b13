//! Replies that no character should be credited for, per language: the negative sets of the
//! validity benchmark (`eval::validity`) and of the scorer's ordering tests.
//!
//! - `BLAND`: short stock replies anyone could give ("Okay.", "That sounds great!");
//! - `ASSISTANT`: a helpful assistant's register ("How can I assist you today?");
//! - `PROMPTS`: what a user might say to a character; the benchmark scores each one as a reply
//!   that copies the user's message.
//!
//! All lines were written for this project. They are fixed so that runs compare.

use crate::text::Language;

pub struct Probes {
    pub bland: &'static [&'static str],
    pub assistant: &'static [&'static str],
    pub prompts: &'static [&'static str],
}

pub fn probes(lang: Language) -> Probes {
    match lang {
        Language::Ja => Probes {
            bland: BLAND_JA,
            assistant: ASSISTANT_JA,
            prompts: PROMPTS_JA,
        },
        Language::Zh => Probes {
            bland: BLAND_ZH,
            assistant: ASSISTANT_ZH,
            prompts: PROMPTS_ZH,
        },
        Language::En | Language::Other => Probes {
            bland: BLAND_EN,
            assistant: ASSISTANT_EN,
            prompts: PROMPTS_EN,
        },
    }
}

const BLAND_EN: &[&str] = &[
    "Okay.",
    "Yes.",
    "No.",
    "Sure.",
    "I see.",
    "That sounds great!",
    "Thank you.",
    "Sounds good to me.",
    "I don't know.",
    "Maybe later.",
    "That's nice.",
    "Alright, let's go.",
    "I'm fine, thanks.",
    "Good morning.",
    "That's interesting.",
    "I understand.",
    "Really?",
    "Of course.",
    "I'm not an assistant.",
    "Let me think about it.",
    "That makes sense.",
    "It was a good day.",
    "See you tomorrow.",
    "I agree with you.",
    "What do you mean?",
];

const ASSISTANT_EN: &[&str] = &[
    "Hello! How can I assist you today?",
    "As an AI language model, I don't have personal feelings.",
    "I'm here to help! Let me know if you have any other questions.",
    "Sure! Here are a few tips that might help you.",
    "I'm sorry, but I can't help with that request.",
    "Great question! There are several factors to consider.",
    "Is there anything else I can help you with?",
    "I hope this information is helpful to you.",
    "As an assistant, my goal is to provide accurate information.",
    "Certainly! I'd be happy to help you with that.",
    "I don't have access to real-time data, but I can offer some general advice.",
    "Thank you for reaching out. How may I help you?",
    "Please note that I am an AI and cannot browse the internet.",
    "Here is a summary of the key points.",
    "Feel free to ask if you need further clarification.",
    "It's important to consult a professional for specific advice.",
    "I understand your concern. Let me explain.",
    "Absolutely! Let's break this down step by step.",
    "I apologize for any confusion my previous response may have caused.",
    "That's a great idea! Here's how you can get started.",
];

const PROMPTS_EN: &[&str] = &[
    "What did you do today?",
    "Can you tell me about yourself?",
    "Do you want to get dinner later?",
    "Why are you so upset?",
    "I think we should talk about what happened yesterday.",
    "Where were you last night?",
    "What is your favourite food?",
    "Could you help me carry these boxes?",
    "I got the job!",
    "Are you coming to the party on Friday?",
    "I'm sorry about what I said.",
    "Have you ever been in love?",
    "The weather is terrible today.",
    "What do you think of my new haircut?",
    "Tell me a story.",
    "I'm bored.",
    "Do you trust me?",
    "We need a plan.",
    "Who taught you that?",
    "Good night.",
];

const BLAND_JA: &[&str] = &[
    "はい。",
    "いいえ。",
    "そうですね。",
    "わかりました。",
    "ありがとうございます。",
    "いいと思います。",
    "大丈夫です。",
    "なるほど。",
    "そうなんですか。",
    "よくわかりません。",
    "おはようございます。",
    "また明日。",
    "それはいいですね。",
    "ちょっと考えさせてください。",
    "本当ですか？",
    "もちろんです。",
    "すみません。",
    "楽しかったです。",
    "今日はいい天気ですね。",
    "私はアシスタントではありません。",
];

const ASSISTANT_JA: &[&str] = &[
    "こんにちは！今日はどのようなご用件でしょうか？",
    "AIアシスタントとして、個人的な感情は持っていません。",
    "お手伝いできることがあれば、お気軽にお聞きください。",
    "申し訳ありませんが、そのご依頼にはお応えできません。",
    "良い質問ですね！いくつかのポイントを説明します。",
    "他に何かお手伝いできることはありますか？",
    "この情報がお役に立てば幸いです。",
    "もちろんです！喜んでお手伝いします。",
    "私はAIなので、インターネットを閲覧することはできません。",
    "以下に主なポイントをまとめます。",
    "ご不明な点があれば、遠慮なくお尋ねください。",
    "具体的なアドバイスについては、専門家にご相談ください。",
    "ご質問ありがとうございます。順を追って説明します。",
    "前回の回答で混乱を招いてしまい、申し訳ありません。",
    "それは素晴らしいアイデアですね！始め方をご紹介します。",
];

const PROMPTS_JA: &[&str] = &[
    "今日は何をしていたの？",
    "自分のことを教えてくれる？",
    "あとで一緒にご飯でもどう？",
    "どうしてそんなに怒ってるの？",
    "昨日のこと、ちゃんと話したほうがいいと思う。",
    "昨日の夜はどこにいたの？",
    "好きな食べ物は何？",
    "この箱を運ぶのを手伝ってくれない？",
    "仕事が決まったよ！",
    "金曜日のパーティーには来る？",
    "この前はひどいことを言ってごめん。",
    "恋をしたことはある？",
    "今日はひどい天気だね。",
    "新しい髪型、どう思う？",
    "何か話を聞かせて。",
    "退屈だなあ。",
];

const BLAND_ZH: &[&str] = &[
    "好的。",
    "是的。",
    "不是。",
    "我知道了。",
    "谢谢。",
    "听起来不错！",
    "没问题。",
    "我不知道。",
    "以后再说吧。",
    "挺好的。",
    "早上好。",
    "明天见。",
    "我明白了。",
    "真的吗？",
    "当然。",
    "让我想想。",
    "有道理。",
    "今天天气很好。",
    "我同意你的看法。",
    "我不是助手。",
];

const ASSISTANT_ZH: &[&str] = &[
    "你好！有什么可以帮您的吗？",
    "作为一个人工智能语言模型，我没有个人情感。",
    "我很乐意为您提供帮助！如果还有其他问题，请随时告诉我。",
    "抱歉，我无法满足这个请求。",
    "这是一个很好的问题！需要考虑以下几个因素。",
    "请问还有什么我可以帮您的吗？",
    "希望这些信息对您有所帮助。",
    "当然！我很乐意帮助您。",
    "我是一个AI，无法浏览互联网。",
    "以下是主要内容的总结。",
    "如需进一步说明，请随时提问。",
    "具体问题建议您咨询专业人士。",
    "感谢您的提问，下面我来逐步解释。",
    "对于之前回答造成的困惑，我深表歉意。",
    "这是个好主意！以下是入门的方法。",
];

const PROMPTS_ZH: &[&str] = &[
    "你今天做了什么？",
    "能介绍一下你自己吗？",
    "待会儿一起吃晚饭好吗？",
    "你为什么这么生气？",
    "我觉得我们应该谈谈昨天的事。",
    "你昨天晚上去哪儿了？",
    "你最喜欢吃什么？",
    "能帮我搬一下这些箱子吗？",
    "我找到工作了！",
    "你周五来参加聚会吗？",
    "对不起，我之前说错话了。",
    "你谈过恋爱吗？",
    "今天天气真糟糕。",
    "你觉得我的新发型怎么样？",
    "给我讲个故事吧。",
    "好无聊啊。",
];
