//! `kotodama analyze | score | tagger-eval | bench style`: file reading and printing around
//! kotodama-style (all analysis lives in the library).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use kotodama_style::eval::{self, Character};
use kotodama_style::text::Language;
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
        /// The reference data folder (characters/, treebanks/); default: $KOTODAMA_DATA.
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum StyleBench {
    /// Analyzer speed and memory per language; the validity (ROC AUC) and attribution benchmarks
    /// over folds of the characters in DATA/characters/{en,ja,zh}.
    Style {
        /// The reference data folder (characters/, treebanks/); default: $KOTODAMA_DATA.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Languages to benchmark, comma-separated.
        #[arg(long, default_value = "en,ja,zh", value_delimiter = ',')]
        lang: Vec<String>,
        /// Folds to run (1..=5; each holds out every fifth block of 20 lines).
        #[arg(long, default_value_t = kotodama_style::eval::FOLDS)]
        folds: usize,
        /// Speed and memory only (skips the validity and attribution benchmarks).
        #[arg(long)]
        speed_only: bool,
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
        StyleCommand::TaggerEval { data } => tagger_eval(&data_dir(data)?),
    }
}

pub fn run_bench(cmd: StyleBench) -> Result<()> {
    match cmd {
        StyleBench::Style {
            data,
            lang,
            folds,
            speed_only,
        } => bench(
            &data_dir(data)?,
            &lang,
            folds.clamp(1, eval::FOLDS),
            !speed_only,
        ),
    }
}

/// `--data`, else `$KOTODAMA_DATA`.
fn data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    given
        .or_else(|| std::env::var_os("KOTODAMA_DATA").map(PathBuf::from))
        .context("say where the reference data is: --data DIR (or KOTODAMA_DATA)")
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

fn language(code: &str) -> Result<Language> {
    Ok(match code {
        "en" => Language::En,
        "ja" => Language::Ja,
        "zh" => Language::Zh,
        other => bail!("unknown language {other:?} (en, ja, zh)"),
    })
}

fn bench(data: &Path, langs: &[String], folds: usize, quality: bool) -> Result<()> {
    let started = Instant::now();
    let res = Resources::bundled()?;
    println!(
        "load bundled resources: {:.1} ms ({:.2} MB embedded)",
        started.elapsed().as_secs_f64() * 1e3,
        Resources::bundled_size() as f64 / 1e6
    );
    for code in langs {
        let lang = language(code)?;
        let chars = bench_characters(data, code)?;
        let Some(longest) = chars.iter().max_by_key(|c| c.lines.len()) else {
            bail!(
                "no characters for {code} in {}",
                data.join("characters").display()
            );
        };
        println!("\n## {code}");
        speed(longest, &res)?;
        if quality {
            quality_bench(&chars, lang, folds, &res)?;
        }
    }
    if let Some(mb) = peak_rss_mb() {
        println!("\npeak RSS: {mb:.0} MB");
    }
    Ok(())
}

/// Time to profile 1,000 lines of one character on one thread, and the parser's share of it.
fn speed(c: &Character, res: &Resources) -> Result<()> {
    let lines: Vec<&str> = c.lines.iter().take(1000).map(String::as_str).collect();
    let started = Instant::now();
    let p = kotodama_style::analyze(&lines, &[], res)?;
    let analyze_s = started.elapsed().as_secs_f64();
    println!(
        "analyze {} first {} lines ({} tokens): {analyze_s:.2} s (one thread)",
        c.name,
        lines.len(),
        p.token_count
    );
    let doc = kotodama_style::profile::prepare(&lines, res);
    let started = Instant::now();
    let parses = kotodama_style::syntax::parse_document(&doc, &res.grammar);
    let ps = &parses.stats;
    if ps.sentences > 0 {
        println!(
            "parser: {} sentences, {:.1}% parsed, {} too long, {} failed; {:.0}% of analyze time",
            ps.sentences,
            100.0 * ps.parsed_share(),
            ps.skipped_too_long,
            ps.failed,
            100.0 * started.elapsed().as_secs_f64() / analyze_s
        );
    }
    Ok(())
}

/// Characters of one language with at least 150 lines, less the files the manifest marks noisy
/// (auto-extracted from novels, with narration in the lines).
fn bench_characters(data: &Path, lang: &str) -> Result<Vec<Character>> {
    let manifest =
        std::fs::read_to_string(data.join("characters/manifest.tsv")).with_context(|| {
            format!(
                "{}: the character data is missing",
                data.join("characters").display()
            )
        })?;
    let mut chars = Vec::new();
    for row in manifest.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        let (Some(file), Some(l), Some(notes)) = (f.first(), f.get(1), f.get(7)) else {
            continue;
        };
        if *l != lang || notes.contains("NOISY") {
            continue;
        }
        let lines: Vec<String> = read_lines(&data.join("characters").join(file))?
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if lines.len() < 150 {
            continue;
        }
        let name = Path::new(file)
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        chars.push(Character { name, lines });
    }
    Ok(chars)
}

fn quality_bench(chars: &[Character], lang: Language, folds: usize, res: &Resources) -> Result<()> {
    let started = Instant::now();
    let folds = eval::folds(chars, folds, res, &|m| eprintln!("  {m}"))?;
    let validity = eval::validity(chars, &folds, lang, res);
    let report = eval::attribution(chars, &folds, res);
    println!(
        "{} characters, at most {} lines each, blocks of {} lines, {} fold(s) of 80/20, windows of {} lines ({:.0} s)",
        chars.len(),
        eval::MAX_LINES,
        eval::BLOCK,
        folds.len(),
        eval::WINDOW,
        started.elapsed().as_secs_f64()
    );
    for (name, train, test) in &report.characters {
        println!("  {name:<22} train {train:4}  test {test:4}");
    }
    println!(
        "\nvalidity: ROC AUC of own held-out lines (profile overall score) against each negative set;"
    );
    println!("mean over folds of the mean over characters, ± sd over folds, [min, max] over folds");
    println!(
        "  {:<42} {:>6} {:>7} {:>15}  {:>5}  worst character",
        "negatives", "AUC", "sd", "[min, max]", "n"
    );
    for r in &validity.rows {
        println!(
            "  {:<42} {:>6.3} {:>7.3} [{:.3}, {:.3}]  {:>5}  {} {:.3}",
            r.negatives,
            r.auc.mean,
            r.auc.sd,
            r.auc.min,
            r.auc.max,
            r.negatives_per_character,
            r.worst.0,
            r.worst.1
        );
    }
    println!("\nattribution: macro-F1 (mean ± sd over folds)");
    println!(
        "  {:<48} {:>15} {:>15} {:>12}",
        "method", "lines F1", "windows F1", "windows acc"
    );
    for r in &report.rows {
        println!(
            "  {:<48} {:>8.3} ±{:.3} {:>8.3} ±{:.3} {:>11.1}%",
            r.method,
            r.lines_f1.mean,
            r.lines_f1.sd,
            r.windows_f1.mean,
            r.windows_f1.sd,
            100.0 * r.windows_accuracy.mean
        );
    }
    println!("  (chance: {:.3})", 1.0 / chars.len().max(1) as f64);
    Ok(())
}
