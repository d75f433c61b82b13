//! CharX zip reader: never panic, never inflate past the limits, whatever the archive declares.
#![no_main]

use kotodama::cards::{charx, read_card_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = charx::read_charx(std::io::Cursor::new(data), "fuzz.charx");
    let _ = read_card_bytes(data, "fuzz.charx");
});
