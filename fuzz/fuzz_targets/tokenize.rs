//! Arbitrary text through every text-processing step must never panic.
#![no_main]

use kotodama_style::{lexical, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let norm = text::normalize(s);
    for sentence in text::sentences(&norm) {
        let words = text::words(sentence);
        let _ = lexical::ngrams(&words, " ").count();
        let _ = text::ptb_tokens(sentence);
        for token in text::tokens(sentence) {
            let _ = token;
        }
        for word in &words {
            let _ = text::background_key(&text::lexical_key(word));
        }
    }
    let _ = text::detect_language([s]);
});
