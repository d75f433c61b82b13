//! The style analyzer's per-reply stages, fast enough to fuzz for real (the `analyze` target builds a
//! whole profile per input, a few executions a second): a bundled persona's profile is built once, then
//! every input, as text, is segmented, tagged, parsed, scored, explained (the style plan) and
//! neutralized. None may panic; a score stays in 0..1.
#![no_main]

use std::sync::OnceLock;

use kotodama_style::{Resources, StyleProfile};
use libfuzzer_sys::fuzz_target;

fn resources() -> &'static Resources {
    static RES: OnceLock<Resources> = OnceLock::new();
    RES.get_or_init(|| Resources::bundled().expect("bundled assets"))
}

/// Tsubaki's profile from her bundled script: her lines against everyone else's.
fn profile() -> &'static StyleProfile {
    static PROFILE: OnceLock<StyleProfile> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let script = include_str!("../../personas/tsubaki/script.txt");
        let (mut own, mut others) = (Vec::new(), Vec::new());
        for line in script.lines() {
            match line.split_once(": ") {
                Some(("TSUBAKI", text)) => own.push(text),
                Some((_, text)) => others.push(text),
                None => {}
            }
        }
        kotodama_style::analyze_speaker(&own, &others, Some("Tsubaki"), resources())
            .expect("the bundled script analyses")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let score = kotodama_style::score(&text, profile(), resources());
    assert!((0.0..=1.0).contains(&score.overall), "overall {}", score.overall);
    let _ = kotodama_style::plan(&text, profile(), resources()).render();
    let _ = kotodama_style::neutralize(&text, profile());
});
