//! SillyTavern World Info files (the lorebook import): any text reads into entries or a clear error,
//! never a panic; entries that read write back out and read again to the same entries, and a book of
//! them that passes the editor's check writes into a card the chat's lorebook reader accepts.
#![no_main]

use kotodama::cards::lorebook;
use kotodama::cards::lorebook_edit::{from_world_info, to_world_info, LorebookView};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(entries) = from_world_info(text) else {
        return;
    };
    let again = from_world_info(&to_world_info(&entries).to_string()).expect("its own export reads");
    assert_eq!(again, entries);
    let book = LorebookView {
        entries,
        ..Default::default()
    };
    if book.check().is_ok() {
        let mut card = serde_json::Map::new();
        book.write_into(&mut card);
        lorebook(&serde_json::Value::Object(card)).expect("the chat reads what the editor wrote");
    }
});
