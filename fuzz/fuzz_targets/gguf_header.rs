//! Fuzzes the GGUF header reader and the tokenizer built from what it parsed: any byte string must
//! parse or give an error, never panic or allocate beyond what the input could hold; a vocabulary
//! that builds must encode and decode text without panicking.
//!   cargo +nightly fuzz run gguf_header   (from this directory)
#![no_main]

use kotodama_engine::gguf::GgufHeader;
use kotodama_engine::tokenizer::Tokenizer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = GgufHeader::parse(&mut &data[..], data.len() as u64) else {
        return;
    };
    if let Ok(tokenizer) = Tokenizer::from_gguf_header(&header) {
        for text in ["Hello, world! <|im_start|>user\n", "  ▁日本語 \u{1F600}\t"] {
            if let Ok(ids) = tokenizer.encode(text) {
                let _ = tokenizer.decode(&ids);
            }
        }
    }
});
