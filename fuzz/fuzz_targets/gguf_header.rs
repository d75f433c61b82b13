//! Fuzzes the GGUF header reader: any byte string must parse or give an error, never panic or
//! allocate beyond what the input could hold.
//!   cargo +nightly fuzz run gguf_header   (from this directory)
#![no_main]

use kotodama_engine::gguf::GgufHeader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = GgufHeader::parse(&mut &data[..], data.len() as u64);
});
