//! Script decoding, detection and every parser: never panic; parsed turns give lines for every speaker.
#![no_main]

use kotodama::import::{parse_script, ParseOptions, ScriptFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a format (or detection), the rest is the file.
    let Some((&selector, file)) = data.split_first() else { return };
    let format = ScriptFormat::ALL.get(usize::from(selector) % (ScriptFormat::ALL.len() + 1)).copied();
    let options = ParseOptions { format, plain_speaker: Some("FUZZ".into()), ..Default::default() };
    if let Ok(parsed) = parse_script(file, "fuzz.txt", &options) {
        for (speaker, count) in parsed.script.speakers() {
            assert!(parsed.script.lines_of(&speaker).len() <= count);
        }
    }
});
