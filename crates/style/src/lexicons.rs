//! Small hand-made word lists for pragmatic traits (the project's own lists).

pub const INTERJECTIONS: &[&str] = &[
    "oh", "ah", "ahh", "aah", "hmm", "hm", "hmph", "wow", "ugh", "huh", "hey", "yay", "whoa", "woah", "oops", "ooh",
    "aww", "aw", "eh", "uh", "um", "umm", "er", "erm", "ha", "haha", "hahaha", "heh", "hehe", "tch", "geez", "jeez",
    "gosh", "yikes", "ahem", "alas", "hark", "lo", "ow", "ouch", "phew", "psst", "shh", "yo", "yeah", "yep", "nope",
    "wha", "eek", "kyaa", "kya", "ehehe", "fufu", "fufufu", "mm", "mhm", "uh-huh", "o", "fie", "tut", "zounds",
];

pub const HEDGES: &[&str] = &[
    "maybe", "perhaps", "probably", "possibly", "apparently", "somewhat", "seemingly", "arguably", "presumably",
    "i think", "i guess", "i suppose", "i mean", "sort of", "kind of", "it seems", "i believe", "more or less",
    "i feel like", "not sure", "might",
];

pub const POLITENESS: &[&str] = &[
    "please", "thank you", "thanks", "sorry", "excuse me", "pardon", "kindly", "sir", "ma'am", "madam", "if you don't mind",
    "would you mind", "i apologize", "forgive me", "my apologies", "grateful",
];

/// Japanese-style honorific suffixes (matched after a hyphen) and standalone honorific words.
pub const HONORIFIC_SUFFIXES: &[&str] = &["san", "sama", "kun", "chan", "dono", "senpai", "sensei", "tan", "chama"];
pub const HONORIFIC_WORDS: &[&str] =
    &["senpai", "sensei", "sama", "my lord", "my lady", "milady", "your highness", "your majesty", "master", "mistress"];

pub const FIRST_PERSON: &[&str] =
    &["i", "me", "my", "mine", "myself", "i'm", "i've", "i'll", "i'd", "we", "us", "our", "ours", "ourselves", "we're"];

pub const SECOND_PERSON: &[&str] = &[
    "you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'll", "you'd", "ya", "y'all", "thou",
    "thee", "thy", "thine", "ye",
];

pub const ARCHAIC: &[&str] = &[
    "thou", "thee", "thy", "thine", "hath", "doth", "dost", "didst", "'tis", "'twas", "tis", "twas", "art", "shalt",
    "wilt", "ye", "nay", "aye", "methinks", "ere", "hast", "wouldst", "couldst", "shouldst", "canst", "thyself",
    "hither", "thither", "whither", "wherefore", "forsooth", "prithee", "mayhap", "verily", "naught", "oft", "unto",
];

pub const POSITIVE_EMOTION: &[&str] = &[
    "happy", "glad", "love", "loved", "lovely", "great", "wonderful", "amazing", "awesome", "fun", "yay", "excited",
    "exciting", "joy", "delighted", "beautiful", "cute", "best", "fantastic", "perfect", "sweet", "kind", "proud",
    "cheerful", "smile", "laugh", "thrilled", "grateful", "hope", "enjoy", "favorite", "brilliant", "adorable", "like",
];

pub const NEGATIVE_EMOTION: &[&str] = &[
    "sad", "angry", "mad", "hate", "hated", "terrible", "awful", "horrible", "afraid", "scared", "fear", "worried",
    "upset", "annoying", "annoyed", "stupid", "idiot", "baka", "cry", "crying", "hurt", "pain", "lonely", "sorry",
    "disgusting", "furious", "miserable", "damn", "dammit", "hell", "worst", "nervous", "ashamed", "jealous", "sick",
];

pub const SENTENCE_FINAL_TICS: &[&str] =
    &["desu", "nya", "nyan", "ne", "ze", "dattebayo", "degozaru", "kupo", "nanoda", "nano", "ssu", "dayo", "desu wa"];

/// Markers of an AI assistant speaking out of character.
pub const ASSISTANT_SPEAK: &[&str] = &[
    "as an ai", "language model", "i'm an ai", "i am an ai", "as a large", "i cannot assist", "i can't assist",
    "i'm here to help", "how can i assist", "how can i help you today", "openai", "as an assistant", "ai assistant",
    "i don't have personal", "i do not have personal", "my training data", "i'm just a program",
];

pub const WESTERN_EMOTICONS: &[&str] = &[
    ":)", ":(", ":D", ";)", ":P", ":p", "xD", "XD", "<3", "^_^", "^^", "T_T", ">_<", "owo", "uwu", "OwO", "UwU", ":3",
    "-_-", "^o^", "o_o", "O_O", ":-)", ":-(", ";-)",
];
