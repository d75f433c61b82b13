//! `kotodama analyze | score | tagger-eval | bench style`: file reading and printing around
//! kotodama-style (all analysis lives in the library).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use kotodama_style::eval::{self, Character};
use kotodama_style::{Resources, StyleProfile};

/// Files above this size are refused: scripts are far smaller, and memory stays bounded.
const MAX_FILE_BYTES: u64 = 64 << 20;

#[derive(clap::Subcommand, Debug)]
pub enum StyleCommand {
    /// Print a character's style profile (signatures, syntax, traits) from a script file.
    Analyze {
        file: PathBuf,
        /// Speaker to profile in a `NAME: line` screenplay (default: every line is the character's).
        #[arg(long)]
        speaker: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Score a text against a character (from a script, or a profile saved with `analyze --json`).
    Score {
        /// Script file or profile .json
        source: PathBuf,
        text: String,
        #[arg(long)]
        speaker: Option<String>,
    },
    /// POS tagger accuracy on UD English-EWT test.
    TaggerEval {
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum StyleBench {
    /// Analyzer speed, memory and the attribution benchmark.
    Style {
        #[arg(long)]
        data: Option<PathBuf>,
        /// Skip the (slower) attribution benchmark.
        #[arg(long)]
        no_attribution: bool,
    },
}

pub fn run(cmd: StyleCommand) -> Result<()> {
    match cmd {
        StyleCommand::Analyze {
            file,
            speaker,
            json,
        } => analyze(&file, speaker.as_deref(), json),
        StyleCommand::Score {
            source,
            text,
            speaker,
        } => score(&source, &text, speaker.as_deref()),
        StyleCommand::TaggerEval { data } => tagger_eval(&data_dir(data)),
    }
}

pub fn run_bench(cmd: StyleBench) -> Result<()> {
    match cmd {
        StyleBench::Style {
            data,
            no_attribution,
        } => bench(&data_dir(data), !no_attribution),
    }
}

fn data_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// Reads a text file as lines: invalid UTF-8 is replaced and counted, binary files are refused.
fn read_lines(path: &Path) -> Result<Vec<String>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!(
            "{}: {} MB is larger than the {} MB limit for scripts",
            path.display(),
            size >> 20,
            MAX_FILE_BYTES >> 20
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.iter().take(8192).any(|&b| b == 0) {
        bail!(
            "{}: looks like a binary file (NUL bytes), not a script",
            path.display()
        );
    }
    let mut invalid = 0;
    let lines: Vec<String> = bytes
        .split(|&b| b == b'\n')
        .map(|l| {
            let s = String::from_utf8_lossy(l);
            if matches!(s, std::borrow::Cow::Owned(_)) {
                invalid += 1;
            }
            s.trim_end_matches('\r').to_string()
        })
        .collect();
    if invalid > 0 {
        eprintln!(
            "warning: {}: {invalid} line(s) had invalid UTF-8 (replaced with U+FFFD)",
            path.display()
        );
    }
    Ok(lines)
}

/// The speaker's lines and everyone else's: `NAME: text` lines when `speaker` is given (scene
/// headers in brackets skipped), otherwise every line.
fn speaker_lines(lines: &[String], speaker: Option<&str>) -> (Vec<String>, Vec<String>) {
    let Some(speaker) = speaker else {
        return (lines.to_vec(), Vec::new());
    };
    let (mut own, mut others) = (Vec::new(), Vec::new());
    for line in lines {
        if let Some((who, said)) = line.split_once(':') {
            let who = who.trim();
            if !who.is_empty() && who.len() <= 40 && !who.starts_with('[') {
                if who.eq_ignore_ascii_case(speaker) {
                    own.push(said.trim().to_string());
                } else {
                    others.push(said.trim().to_string());
                }
            }
        }
    }
    (own, others)
}

fn profile_from_script(
    file: &Path,
    speaker: Option<&str>,
    res: &Resources,
) -> Result<StyleProfile> {
    let lines = read_lines(file)?;
    let (own, others) = speaker_lines(&lines, speaker);
    if own.is_empty() {
        bail!(
            "{}: no lines for speaker {}",
            file.display(),
            speaker.unwrap_or("(any)")
        );
    }
    let own: Vec<&str> = own.iter().map(String::as_str).collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    kotodama_style::analyze_speaker(&own, &others, speaker, res)
        .with_context(|| format!("analyzing {}", file.display()))
}

fn analyze(file: &Path, speaker: Option<&str>, json: bool) -> Result<()> {
    let res = Resources::bundled()?;
    let p = profile_from_script(file, speaker, &res)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(());
    }
    let i = &p.input;
    println!(
        "{} lines used of {} ({} empty, {} too long, {} with invalid text), {} tokens, language {}",
        i.lines_used,
        i.lines_total,
        i.lines_empty,
        i.lines_too_long,
        i.lines_with_invalid_text,
        p.token_count,
        p.language.code()
    );
    println!("\nLexical signatures (PMI bits vs wordfreq background):");
    for s in p.lexical.iter().take(20) {
        let vs = s
            .pmi_vs_others
            .map_or(String::new(), |v| format!(", vs others {v:+.1}"));
        println!(
            "  {:<24} pmi {:5.1}{vs}, count {}, {:.1}/1k  e.g. {}",
            s.term,
            s.pmi,
            s.count,
            s.rate_per_1k,
            first(&s.examples)
        );
    }
    println!("\nCatchphrases:");
    for s in p.catchphrases.iter().take(10) {
        println!(
            "  {:<24} pmi {:5.1}, count {}  e.g. {}",
            s.term,
            s.pmi,
            s.count,
            first(&s.examples)
        );
    }
    let ps = &p.parse_stats;
    println!(
        "\nSyntax ({} of {} sentences parsed, {} too long, {} failed); rules over-used vs GUM conversation+fiction:",
        ps.parsed, ps.sentences, ps.skipped_too_long, ps.failed
    );
    for r in p.syntax.iter().take(15) {
        let gloss = r
            .gloss
            .as_deref()
            .map_or(String::new(), |g| format!(" [{g}]"));
        println!(
            "  {:<32} z {:5.1}, log-odds {:+.2}, count {}{gloss}  e.g. {}",
            r.rule,
            r.z,
            r.log_odds,
            r.count,
            first(&r.examples)
        );
    }
    println!("\nPragmatic traits (value vs background, z):");
    for t in &p.pragmatics.traits {
        println!(
            "  {:<30} {:8.2} vs {:8.2}  z {:+6.1}  {}",
            t.name,
            t.value,
            t.background,
            t.z_or_ratio,
            first(&t.examples)
        );
    }
    Ok(())
}

fn first(examples: &[String]) -> String {
    examples.first().map_or(String::new(), |e| {
        let short: String = e.chars().take(70).collect();
        format!("\"{short}\"")
    })
}

fn score(source: &Path, text: &str, speaker: Option<&str>) -> Result<()> {
    let res = Resources::bundled()?;
    let profile: StyleProfile = if source.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&std::fs::read_to_string(source)?)
            .with_context(|| format!("{} is not a profile", source.display()))?
    } else {
        profile_from_script(source, speaker, &res)?
    };
    let s = kotodama_style::score(text, &profile, &res);
    println!("{}", serde_json::to_string_pretty(&s)?);
    println!(
        "plan: {}",
        kotodama_style::plan(text, &profile, &res).render()
    );
    Ok(())
}

fn tagger_eval(data: &Path) -> Result<()> {
    let path = data.join("treebanks/ud_english_ewt/en_ewt-ud-test.conllu");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let gold = kotodama_style::treebank::read_conllu(&text, &path.display().to_string())?;
    let res = Resources::bundled()?;
    let started = Instant::now();
    let (correct, total) = res.tagger.accuracy(&gold);
    println!(
        "en  UD English-EWT test, tagger: {:.2}% token accuracy ({correct}/{total}, {} sentences), {:.0} tokens/s",
        100.0 * correct as f64 / total as f64,
        gold.len(),
        total as f64 / started.elapsed().as_secs_f64()
    );
    use kotodama_style::segment_eval::{evaluate_conllu, Unit};
    use kotodama_style::text::Language;
    for (lang, file, name) in [
        (
            Language::Ja,
            "ud_japanese_gsd/ja_gsd-ud-test.conllu",
            "UD Japanese-GSD test, vibrato + IPADIC",
        ),
        (
            Language::Zh,
            "ud_chinese_gsdsimp/zh_gsdsimp-ud-test.conllu",
            "UD Chinese-GSDSimp test, jieba",
        ),
    ] {
        let path = data.join("treebanks").join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let source = path.display().to_string();
        // The first call loads the segmenter's dictionary.
        let started = Instant::now();
        kotodama_style::segment::segment(lang, "");
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let started = Instant::now();
        let s = evaluate_conllu(lang, &text, &source, Unit::Words)?;
        let words_per_s = s.predicted_words as f64 / started.elapsed().as_secs_f64();
        print!(
            "{}  {name}: segmentation P {:.3} R {:.3} F1 {:.3} ({} gold words, {} sentences); UPOS {:.2}% on the {} words cut right; {words_per_s:.0} words/s, dictionary loaded in {load_ms:.0} ms",
            lang.code(),
            s.precision(),
            s.recall(),
            s.f1(),
            s.gold_words,
            s.sentences,
            100.0 * s.upos_accuracy(),
            s.matched,
        );
        if lang == Language::Ja {
            // UD Japanese's words are UniDic short units; IPADIC's lie between those and the long units.
            let long = evaluate_conllu(lang, &text, &source, Unit::LongUnits)?;
            print!("; vs long units F1 {:.3}", long.f1());
        }
        println!();
    }
    Ok(())
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn bench(data: &Path, attribution: bool) -> Result<()> {
    let started = Instant::now();
    let res = Resources::bundled()?;
    println!(
        "load bundled resources: {:.1} ms ({:.2} MB embedded)",
        started.elapsed().as_secs_f64() * 1e3,
        Resources::bundled_size() as f64 / 1e6
    );
    let michael = read_lines(&data.join("characters/en/michael_scott.txt"))?;
    let lines: Vec<&str> = michael.iter().take(1000).map(String::as_str).collect();
    let started = Instant::now();
    let p = kotodama_style::analyze(&lines, &[], &res)?;
    let analyze_s = started.elapsed().as_secs_f64();
    println!(
        "analyze michael_scott first 1,000 lines ({} tokens): {analyze_s:.2} s (one thread)",
        p.token_count
    );

    let doc = kotodama_style::profile::prepare(&lines, &res);
    let sentences: Vec<Vec<&str>> = doc
        .sentences
        .iter()
        .map(|s| s.ptb.iter().map(String::as_str).collect())
        .collect();
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    let started = Instant::now();
    let rounds = 5;
    for _ in 0..rounds {
        for s in &sentences {
            std::hint::black_box(res.tagger.tag(s));
        }
    }
    println!(
        "tagger: {:.0} tokens/s",
        (rounds * tokens) as f64 / started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let parses = kotodama_style::syntax::parse_document(&doc, &res.grammar);
    let parse_s = started.elapsed().as_secs_f64();
    let ps = &parses.stats;
    println!(
        "parser: {} sentences, {} parsed ({:.1}%), {} too long, {} failed; {:.0} sentences/s; parsing is {:.0}% of analyze time",
        ps.sentences,
        ps.parsed,
        100.0 * ps.parsed_share(),
        ps.skipped_too_long,
        ps.failed,
        ps.sentences as f64 / parse_s,
        100.0 * parse_s / analyze_s
    );
    if attribution {
        attribution_bench(data, &res)?;
    }
    if let Some(mb) = peak_rss_mb() {
        println!("peak RSS: {mb:.0} MB");
    }
    Ok(())
}

/// English characters with >= 300 lines, excluding the noisy auto-extracted Harry Potter ones.
fn attribution_characters(data: &Path) -> Result<Vec<Character>> {
    let manifest = std::fs::read_to_string(data.join("characters/manifest.tsv"))?;
    let mut chars = Vec::new();
    for row in manifest.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        let (Some(file), Some(lang), Some(n), Some(notes)) =
            (f.first(), f.get(1), f.get(2), f.get(7))
        else {
            continue;
        };
        if *lang != "en" || n.parse::<usize>().unwrap_or(0) < 300 || notes.contains("Harry Potter")
        {
            continue;
        }
        let lines: Vec<String> = read_lines(&data.join("characters").join(file))?
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let name = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        chars.push(Character { name, lines });
    }
    Ok(chars)
}

fn attribution_bench(data: &Path, res: &Resources) -> Result<()> {
    let chars = attribution_characters(data)?;
    let started = Instant::now();
    let report = eval::attribution(&chars, res, &|m| eprintln!("  {m}"))?;
    println!(
        "\nattribution: {} characters, at most {} lines each, blocks of {} lines, 80/20 split, windows of {} lines ({:.0} s)",
        chars.len(),
        eval::MAX_LINES,
        eval::BLOCK,
        eval::WINDOW,
        started.elapsed().as_secs_f64()
    );
    for (name, train, test) in &report.characters {
        println!("  {name:<22} train {train:4}  test {test:4}");
    }
    println!(
        "  {:<40} {:>9} {:>9} {:>11} {:>11}",
        "method", "line acc", "line F1", "window acc", "window F1"
    );
    for r in &report.rows {
        println!(
            "  {:<40} {:>8.1}% {:>9.3} {:>10.1}% {:>11.3}",
            r.method,
            100.0 * r.lines.accuracy,
            r.lines.macro_f1,
            100.0 * r.windows.accuracy,
            r.windows.macro_f1
        );
    }
    println!("  (chance: {:.1}%)", 100.0 / chars.len().max(1) as f64);
    Ok(())
}
