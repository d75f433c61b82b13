//! Embeds every folder of `personas/` (card.json + script.txt) so the app ships its bundled personas.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../personas");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("personas/ folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("card.json").is_file())
        .collect();
    dirs.sort_by_key(|e| e.file_name());
    let mut out = String::from("&[\n");
    for dir in dirs {
        let slug = dir
            .file_name()
            .into_string()
            .expect("UTF-8 persona folder name");
        let path = dir.path().canonicalize().expect("persona folder");
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    BundledPersona {{ slug: {slug:?}, card_json: include_str!({card:?}), script: include_str!({script:?}) }},",
            card = path.join("card.json"),
            script = path.join("script.txt"),
        )
        .unwrap();
    }
    out.push(']');
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("bundled_personas.rs");
    std::fs::write(dest, out).unwrap();
}
