//! A persona's page: its card, the top rows of its newest style profile, the profile's versions, and
//! card export into the data folder (the app writes exports there rather than through a file dialog).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use kotodama_store::{AdapterChoice, GrammarRuleRow, LexicalSignatureRow, PragmaticTraitRow};
use serde::{Deserialize, Serialize};

use crate::cards::CardFormat;
use crate::distill::{DistillReport, ImportedAdapterReport};
use crate::{Kotodama, PersonaSummary, Result};

/// Rows shown per table; the full profile stays in the database and in exported cards.
pub(crate) const TOP_SIGNATURES: i64 = 20;
pub(crate) const TOP_RULES: i64 = 12;
/// Example lines shown per row (in its tooltip).
const EXAMPLES_PER_ROW: usize = 2;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PersonaPage {
    pub persona: PersonaSummary,
    pub description: String,
    /// The script speaker the persona was built from.
    pub speaker: Option<String>,
    pub profile: Option<ProfileView>,
    /// Distilled and imported adapters, newest first, each with its evaluation report.
    pub adapters: Vec<AdapterView>,
    /// Which of them the persona's chats use.
    pub chat_adapter: AdapterChoice,
    /// The persona's newest distillation when it stopped before the end (cancelled, or cut short by
    /// a crash): it can resume from its checkpoint.
    pub stopped_job: Option<StoppedJob>,
}

/// A distillation that stopped before the end, as the persona page offers to resume it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StoppedJob {
    pub job_id: i64,
    /// `cancelled` or `interrupted`.
    pub state: String,
    /// How far it got, 0..1.
    pub progress: f64,
}

/// An adapter as the persona page shows it, its stored report read back typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AdapterView {
    pub id: i64,
    /// The recipe it was trained with (`vanilla`, `step-by-step`, `plan-dropout`; `cot` before 2026-12).
    pub variant: String,
    pub rank: i64,
    pub created_at: i64,
    /// None when there is none, or this version cannot read it (written by a much older build).
    pub report: Option<AdapterReport>,
}

/// What was measured when the adapter was trained here or imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(untagged)]
pub enum AdapterReport {
    /// Tried first: only an imported adapter's report names the folder it came from.
    Imported(ImportedAdapterReport),
    Distilled(Box<DistillReport>),
}

impl From<kotodama_store::Adapter> for AdapterView {
    fn from(a: kotodama_store::Adapter) -> Self {
        AdapterView {
            id: a.id,
            report: a
                .adapter
                .report
                .and_then(|r| serde_json::from_value(r).ok()),
            variant: a.adapter.variant,
            rank: a.adapter.rank,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub version: i64,
    /// Every stored version, newest first.
    pub versions: Vec<i64>,
    pub line_count: i64,
    pub token_count: i64,
    pub lexical: Vec<SignatureView>,
    pub rules: Vec<RuleView>,
    pub traits: Vec<TraitView>,
    /// Each trait in plain words, by name (the name is an internal id, never shown).
    pub trait_glosses: HashMap<String, String>,
    pub examples: ProfileExamples,
}

/// A lexical signature: a word or word sequence the character uses more than the others.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignatureView {
    pub term: String,
    /// Words in the term.
    pub n: i64,
    /// Pointwise mutual information of the term with the character (bits).
    pub pmi: f64,
    pub count: i64,
    pub rate_per_1k: f64,
    pub catchphrase: bool,
}

impl From<LexicalSignatureRow> for SignatureView {
    fn from(r: LexicalSignatureRow) -> Self {
        let LexicalSignatureRow {
            term,
            n,
            pmi,
            count,
            rate_per_1k,
            catchphrase,
        } = r;
        SignatureView {
            term,
            n,
            pmi,
            count,
            rate_per_1k,
            catchphrase,
        }
    }
}

/// A grammar rule the character's lines use more than the others'.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub rule: String,
    /// The rule in plain words, when it has them.
    pub gloss: Option<String>,
    pub log_odds: f64,
    pub z: f64,
    pub count: i64,
}

impl From<GrammarRuleRow> for RuleView {
    fn from(r: GrammarRuleRow) -> Self {
        let GrammarRuleRow {
            rule,
            gloss,
            log_odds,
            z,
            count,
        } = r;
        RuleView {
            rule,
            gloss,
            log_odds,
            z,
            count,
        }
    }
}

/// A pragmatic trait: the character's rate of it beside the other characters'.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TraitView {
    /// An internal id; the page shows its gloss.
    pub name: String,
    pub value: f64,
    pub background: f64,
    pub z_or_ratio: f64,
}

impl From<PragmaticTraitRow> for TraitView {
    fn from(r: PragmaticTraitRow) -> Self {
        let PragmaticTraitRow {
            name,
            value,
            background,
            z_or_ratio,
        } = r;
        TraitView {
            name,
            value,
            background,
            z_or_ratio,
        }
    }
}

/// Script lines that show each shown row: by signature term, by rule, by trait name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProfileExamples {
    pub signatures: HashMap<String, Vec<String>>,
    pub rules: HashMap<String, Vec<String>>,
    pub traits: HashMap<String, Vec<String>>,
}

impl ProfileExamples {
    /// The examples of the rows shown, from the full profile.
    fn of(profile: &kotodama_style::StyleProfile, view: &ProfileView) -> Self {
        let keep = |examples: &[String]| examples.iter().take(EXAMPLES_PER_ROW).cloned().collect();
        let terms: HashSet<&str> = view.lexical.iter().map(|r| r.term.as_str()).collect();
        let rules: HashSet<&str> = view.rules.iter().map(|r| r.rule.as_str()).collect();
        ProfileExamples {
            signatures: profile
                .lexical
                .iter()
                .chain(&profile.catchphrases)
                .filter(|s| terms.contains(s.term.as_str()))
                .map(|s| (s.term.clone(), keep(&s.examples)))
                .collect(),
            rules: profile
                .syntax
                .iter()
                .filter(|r| rules.contains(r.rule.as_str()))
                .map(|r| (r.rule.clone(), keep(&r.examples)))
                .collect(),
            traits: profile
                .pragmatics
                .traits
                .iter()
                .filter(|t| !t.examples.is_empty())
                .map(|t| (t.name.clone(), keep(&t.examples)))
                .collect(),
        }
    }
}

impl CardFormat {
    fn extension(self) -> &'static str {
        match self {
            CardFormat::Png => "png",
            CardFormat::Json => "json",
            CardFormat::Charx => "charx",
        }
    }
}

impl Kotodama {
    pub fn persona_page(&self, persona_id: i64) -> Result<PersonaPage> {
        let persona = self.store.persona(persona_id)?;
        let profile = match self.store.latest_profile(persona_id)? {
            Some(p) => Some(
                self.with_examples(
                    persona_id,
                    ProfileView {
                        versions: self
                            .store
                            .profile_versions(persona_id)?
                            .iter()
                            .rev()
                            .map(|v| v.version)
                            .collect(),
                        lexical: views(self.store.lexical_signatures(p.id, TOP_SIGNATURES)?),
                        rules: views(self.store.grammar_rules(p.id, TOP_RULES)?),
                        traits: views(self.store.pragmatic_traits(p.id)?),
                        version: p.version,
                        line_count: p.line_count,
                        token_count: p.token_count,
                        trait_glosses: HashMap::new(),
                        examples: ProfileExamples::default(),
                    },
                )?,
            ),
            None => None,
        };
        Ok(PersonaPage {
            description: persona.card.description.clone(),
            speaker: persona.card.speaker.clone(),
            persona: self.summary(persona)?,
            profile,
            adapters: self
                .store
                .adapters(persona_id)?
                .into_iter()
                .map(AdapterView::from)
                .collect(),
            chat_adapter: self.store.chat_adapter(persona_id)?,
            stopped_job: self.stopped_job(persona_id)?,
        })
    }

    fn stopped_job(&self, persona_id: i64) -> Result<Option<StoppedJob>> {
        use kotodama_store::JobState::*;
        let newest = self
            .store
            .jobs_in(&[Queued, Running, Interrupted, Cancelled, Failed, Done])?
            .into_iter()
            .filter(|j| j.kind == crate::distill::JOB_KIND && j.persona_id == Some(persona_id))
            .max_by_key(|j| j.id);
        Ok(newest
            .filter(|j| matches!(j.state, Cancelled | Interrupted))
            .map(|j| StoppedJob {
                job_id: j.id,
                state: j.state.as_str().to_string(),
                progress: j.progress,
            }))
    }

    fn with_examples(&self, persona_id: i64, mut view: ProfileView) -> Result<ProfileView> {
        let profile = self.style_profile(persona_id)?;
        view.examples = ProfileExamples::of(&profile, &view);
        view.trait_glosses = view
            .traits
            .iter()
            .filter_map(|t| {
                let def = kotodama_style::pragmatics::trait_def(profile.language, &t.name)?;
                Some((t.name.clone(), def.gloss.to_string()))
            })
            .collect();
        Ok(view)
    }

    /// Chooses which adapter the persona's chats use from the next reply on.
    pub fn set_chat_adapter(&mut self, persona_id: i64, choice: AdapterChoice) -> Result<()> {
        Ok(self.store.set_chat_adapter(persona_id, choice)?)
    }

    /// Exports the persona's card to `<data dir>/exports/<slug>.<png|json|charx>` and returns the path.
    pub fn export_to_data_dir(&self, persona_id: i64, format: CardFormat) -> Result<PathBuf> {
        let slug = self.store.persona(persona_id)?.card.slug;
        let out = self
            .home
            .root()
            .join("exports")
            .join(format!("{slug}.{}", format.extension()));
        self.export_card(persona_id, format, &out)?;
        Ok(out)
    }
}

fn views<R, V: From<R>>(rows: Vec<R>) -> Vec<V> {
    rows.into_iter().map(V::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Home, ScriptImport};

    #[test]
    fn a_bundled_persona_page_shows_its_profile_and_exports_a_card_that_imports_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
        let mikoto = app.find_persona("mikoto").unwrap();
        let page = app.persona_page(mikoto.id).unwrap();
        assert_eq!(page.persona.slug, "mikoto");
        assert!(page.adapters.is_empty());
        assert_eq!(page.chat_adapter, AdapterChoice::Newest);
        let profile = page.profile.expect("bundled personas are analyzed");
        assert_eq!(profile.versions, vec![profile.version]);
        assert!(profile.line_count >= 300);
        assert_eq!(profile.lexical.len(), TOP_SIGNATURES as usize);
        assert!(!profile.rules.is_empty() && profile.rules.len() <= TOP_RULES as usize);
        assert!(profile.traits.iter().any(|t| t.name.contains("question")));
        // Every trait has a plain-language gloss, and no two share one.
        let glosses: HashSet<&str> = profile.trait_glosses.values().map(String::as_str).collect();
        assert_eq!(
            glosses.len(),
            profile.traits.len(),
            "{:?}",
            profile.trait_glosses
        );
        assert_eq!(profile.trait_glosses["question_rate"], "asks questions");
        // Mikoto's archaic forms are among her strongest signatures.
        let terms: Vec<&str> = profile.lexical.iter().map(|s| s.term.as_str()).collect();
        assert!(terms.contains(&"mayhap"), "{terms:?}");
        assert!(terms.iter().any(|t| t.starts_with("thou ")), "{terms:?}");
        // Every shown signature and rule comes with up to two script lines that show it.
        let mayhap = &profile.examples.signatures["mayhap"];
        assert!(!mayhap.is_empty() && mayhap.len() <= EXAMPLES_PER_ROW);
        assert!(
            mayhap.iter().all(|l| l.to_lowercase().contains("mayhap")),
            "{mayhap:?}"
        );
        assert_eq!(profile.examples.signatures.len(), profile.lexical.len());
        assert!(profile
            .rules
            .iter()
            .all(|r| !profile.examples.rules[&r.rule].is_empty()));

        let path = app.export_to_data_dir(mikoto.id, CardFormat::Png).unwrap();
        assert_eq!(path, dir.path().join("exports/mikoto.png"));
        let (id, from) = app.import_file(&path, &ScriptImport::default()).unwrap();
        assert_eq!(from, crate::ImportedFrom::Card);
        let copy = app.persona_page(id).unwrap();
        assert_eq!(copy.persona.name, page.persona.name);
        assert_eq!(copy.persona.slug, "shirasagi-no-mikoto");
        assert_eq!(
            copy.profile.unwrap().lexical[0].term,
            profile.lexical[0].term
        );
    }
}
