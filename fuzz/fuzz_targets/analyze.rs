//! Arbitrary bytes -> lines -> analyze, score and plan must never panic.
#![no_main]

use std::sync::OnceLock;

use kotodama_style::Resources;
use libfuzzer_sys::fuzz_target;

fn resources() -> &'static Resources {
    static RES: OnceLock<Resources> = OnceLock::new();
    RES.get_or_init(|| Resources::bundled().expect("bundled assets"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let (own, others) = lines.split_at(lines.len() / 2);
    if let Ok(p) = kotodama_style::analyze_speaker(own, others, Some("Riri"), resources()) {
        let probe = others.first().copied().unwrap_or("hello");
        let _ = kotodama_style::score(probe, &p, resources());
        let _ = kotodama_style::plan(probe, &p, resources()).render();
    }
});
