//! PNG chunk reader and card extraction: never panic, and whatever reads back must write back readable.
#![no_main]

use kotodama::cards::{png, read_card_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Most inputs lack the signature; prefix it half the time so the chunk walker is exercised.
    let prefixed = [png::SIGNATURE.as_slice(), data].concat();
    for bytes in [data, prefixed.as_slice()] {
        if let Ok(chunks) = png::read_chunks(bytes, "fuzz.png") {
            let rewritten = png::write_chunks(&chunks);
            assert_eq!(png::read_chunks(&rewritten, "fuzz.png").ok().as_ref(), Some(&chunks));
            let with_card = png::with_text_chunks(bytes, "fuzz.png", &["chara", "ccv3"], &[("chara", "e30=")]).unwrap();
            assert!(read_card_bytes(&with_card, "fuzz.png").is_ok());
        }
        let _ = read_card_bytes(bytes, "fuzz.png");
    }
});
