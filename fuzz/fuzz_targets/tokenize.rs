//! Arbitrary text through every text-processing step must never panic.
#![no_main]

use kotodama_style::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let norm = text::normalize(s);
    for sentence in text::sentences(&norm) {
        let _ = text::words(sentence);
        let _ = text::ptb_tokens(sentence);
        for n in 1..=3 {
            let _ = text::cjk_ngrams(sentence, n);
        }
    }
    let _ = text::detect_language([s]);
});
