//! The style analyzer's per-reply stages, fast enough to fuzz for real (the `analyze` target builds a
//! whole profile per input, a few executions a second): a bundled persona's profile is built once, then
//! each input's first byte picks one stage for the rest, as text: scored (segmented, tagged, parsed),
//! explained (the style plan) or neutralized. One stage per input rather than all three: each parses
//! the text again, and three parses an input cut the rate below a thousand a second. None may panic;
//! a score stays in 0..1.
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
    let Some((&stage, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    match stage % 3 {
        0 => {
            let score = kotodama_style::score(&text, profile(), resources());
            assert!((0.0..=1.0).contains(&score.overall), "overall {}", score.overall);
        }
        1 => {
            let _ = kotodama_style::plan(&text, profile(), resources()).render();
        }
        _ => {
            let _ = kotodama_style::neutralize(&text, profile());
        }
    }
});
